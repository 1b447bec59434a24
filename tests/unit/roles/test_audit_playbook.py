"""kdump.fleet.audit run for real with ansible-playbook, on this machine as three local hosts.

kdump_info reads this machine's real state (it changes nothing), so the reports are real. What is
proven here is where the settings are checked: the playbook checks them once for the play, before
any host is read, and a role user who writes ``roles: [kdump.fleet.audit]`` still gets Ansible's own
check of meta/argument_specs.yml on each host.
"""

from __future__ import annotations

import json
import shutil
import sys

import pytest
from conftest import run_playbook

pytestmark = pytest.mark.skipif(shutil.which("ansible-playbook") is None, reason="needs ansible-playbook")
INVENTORY = f"""\
[fleet]
a1
a2
a3

[fleet:vars]
ansible_connection=local
ansible_python_interpreter={sys.executable}
"""
GATHER = "TASK [kdump.fleet.audit : Gather the kdump state in one read-only round trip]"
CHECK_ONCE = "TASK [kdump.fleet.audit : Check the audit settings once against the role's argument spec]"


def audit(tmp_path, *extra, playbook="kdump.fleet.audit"):
    reports = tmp_path / "reports"
    return run_playbook(
        tmp_path,
        playbook,
        "-e",
        f"kdump_audit_report_dir={reports}",
        "-e",
        "kdump_audit_min_ready_percent=0",
        *extra,
        inventory=INVENTORY,
    )


def task_output(stdout, title):
    """The lines of one task's results, from its TASK line to the next blank line."""
    after_title = stdout.split(title, 1)[1].split("\n", 1)[1]  # past the line's row of stars
    return after_title.split("\n\n", 1)[0].splitlines()


def test_the_playbook_checks_the_settings_once_and_reports_every_host(tmp_path):
    done = audit(tmp_path)
    assert done.returncode == 0, done.stdout[-3000:]
    # One result: the check ran on the first host only, and Ansible's per-host check not at all.
    assert task_output(done.stdout, CHECK_ONCE) == ["ok: [a1]"]
    assert "Validating arguments against arg spec" not in done.stdout
    assert sorted(task_output(done.stdout, GATHER)) == ["ok: [a1]", "ok: [a2]", "ok: [a3]"]
    report = json.loads((tmp_path / "reports" / "kdump-audit.json").read_text())
    assert sorted(host["host"] for host in report["hosts"]) == ["a1", "a2", "a3"]


def test_a_bad_setting_is_refused_by_name_before_any_host_is_read(tmp_path):
    done = audit(tmp_path, "-e", '{"kdump_audit_report_formats": ["pdf"]}')
    assert done.returncode == 2, done.stdout[-3000:]
    assert "kdump_audit_report_formats" in done.stdout and "pdf" in done.stdout
    assert GATHER not in done.stdout
    assert not (tmp_path / "reports").exists()


def test_the_role_entry_point_keeps_ansibles_check_on_each_host(tmp_path):
    (tmp_path / "role.yml").write_text(
        "- hosts: fleet\n  gather_facts: false\n  roles:\n    - kdump.fleet.audit\n", encoding="utf-8"
    )
    done = audit(tmp_path, "-e", '{"kdump_audit_report_formats": ["pdf"]}', playbook="role.yml")
    assert done.returncode == 2, done.stdout[-3000:]
    assert "Validating arguments against arg spec 'main'" in done.stdout
    assert "kdump_audit_report_formats" in done.stdout
    assert GATHER not in done.stdout
