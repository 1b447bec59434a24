"""kdump.fleet.analyze run for real with ansible-playbook against hostile settings, on this machine.

Every kdump_analyze_* value that reaches a command, crash(8)'s script (where a line starting with "!" goes
to /bin/sh) or a path is checked by the playbook's first task, on the controller, before any host is read:
the run fails naming the variable, no dump is listed, nothing is installed, no directory is made, and a
canary command hidden in the value never runs.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import sys

import pytest
from conftest import run_playbook

pytestmark = pytest.mark.skipif(shutil.which("ansible-playbook") is None, reason="needs ansible-playbook")
INVENTORY = f"""\
[dump_servers]
s1

[dump_servers:vars]
ansible_connection=local
ansible_python_interpreter={sys.executable}
"""
LIST_TASK = "TASK [List the dumps stored here]"
CHECK_TASK = "TASK [Check the analysis settings before reading any host]"
CANARY = "analyze-canary"
PLAYBOOKS = pathlib.Path(__file__).resolve().parents[3] / "playbooks"

# (variable, value); {canary} becomes the path of a file the value would create if a shell ran it.
HOSTILE = [
    ("kdump_analyze_symbols_dir", "/tmp/symbols\n!touch {canary}"),
    ("kdump_analyze_symbols_dir", "/tmp/sym bols"),
    ("kdump_analyze_symbols_dir", "symbols"),
    ("kdump_analyze_symbols_dir", "/var/cache/../../etc"),
    ("kdump_analyze_symbols_dir", "/tmp/s\u2028!touch {canary}"),
    ("kdump_analyze_work_dir", "/var/tmp;touch {canary}"),
    ("kdump_analyze_work_dir", "/var/tmp/$(touch {canary})"),
    ("kdump_analyze_work_dir", "/var/tmp/`touch {canary}`"),
    ("kdump_analyze_work_dir", ["/var/tmp"]),
    ("kdump_analyze_dumps", "/var/crash/202612031200/dump.202612031200"),
    ("kdump_analyze_dumps", ["var/crash/202612031200/dump.202612031200"]),
    ("kdump_analyze_dumps", [{"path": "/var/crash/x"}]),
    ("kdump_analyze_places", [{"path": "/var/crash", "layout": "$(touch {canary})"}]),
    ("kdump_analyze_places", [{"path": "crash", "layout": "host"}]),
    ("kdump_analyze_places", "/var/crash"),
    ("kdump_analyze_max_dumps", "5; touch {canary}"),
    ("kdump_analyze_max_dumps", 0),
    ("kdump_analyze_timeout", "1e3"),
    ("kdump_analyze_memory_limit_mb", 100),
    ("kdump_analyze_fetch_symbols", "maybe"),
    ("kdump_analyze_install_crash", "$(touch {canary})"),
    ("kdump_analyze_log_lines", "-1"),
]


def _filled(value, canary):
    if isinstance(value, str):
        return value.replace("{canary}", str(canary))
    if isinstance(value, list):
        return [_filled(item, canary) for item in value]
    if isinstance(value, dict):
        return {key: _filled(item, canary) for key, item in value.items()}
    return value


@pytest.mark.parametrize(("variable", "value"), HOSTILE, ids=[f"{v}-{i}" for i, (v, _value) in enumerate(HOSTILE)])
def test_a_hostile_setting_is_refused_by_name_before_any_host_is_read(tmp_path, variable, value):
    canary = tmp_path / CANARY
    reports = tmp_path / "reports"
    settings = {variable: _filled(value, canary), "kdump_analyze_report_dir": str(reports)}
    done = run_playbook(tmp_path, "kdump.fleet.analyze", "-e", json.dumps(settings), inventory=INVENTORY)
    assert done.returncode == 2, done.stdout[-3000:]
    assert CHECK_TASK in done.stdout
    assert variable in done.stdout.split(CHECK_TASK, 1)[1]
    assert "nothing was read or installed" in done.stdout
    assert LIST_TASK not in done.stdout
    assert not canary.exists()
    assert not reports.exists()


def test_a_relative_report_dir_is_made_where_ansible_playbook_started_even_named_like_an_option(tmp_path):
    # No dump in the places given: the run lists nothing, analyses nothing and writes an empty inventory.
    empty = tmp_path / "empty"
    empty.mkdir()
    name = f"--verbose-{tmp_path.name}"
    settings = {
        "kdump_analyze_report_dir": name,
        "kdump_analyze_places": [{"path": str(empty), "layout": "host"}],
        "kdump_analyze_install_crash": False,
    }
    done = run_playbook(tmp_path, "kdump.fleet.analyze", "-e", json.dumps(settings), inventory=INVENTORY)
    assert done.returncode == 0, done.stdout[-3000:]
    reports = tmp_path / name
    assert oct(reports.stat().st_mode & 0o777) == "0o700"
    assert (reports / "kdump-dumps.json").is_file()
    # Not beside the playbook, inside the collection.
    assert not (PLAYBOOKS / name).exists()


def test_an_empty_report_dir_is_refused_before_any_host_is_read(tmp_path):
    done = run_playbook(tmp_path, "kdump.fleet.analyze", "-e", '{"kdump_analyze_report_dir": ""}', inventory=INVENTORY)
    assert done.returncode == 2, done.stdout[-3000:]
    assert "kdump_analyze_report_dir" in done.stdout.split(CHECK_TASK, 1)[1]
    assert LIST_TASK not in done.stdout
