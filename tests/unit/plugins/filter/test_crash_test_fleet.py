"""kdump.fleet crash_test_* filters, and the crash-test playbook's plays run for real against fake hosts.

Safety: every host of the fake inventory uses the ``local`` connection and every run is ``--check``. The
crash action refuses the local connection before it does anything (its first guard), so no run here can
crash or reboot this machine; most runs end in the first play, on localhost, before the crash play.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.kdump.fleet.plugins.filter.crash_test_fleet import (
    FilterModule,
    crash_test_report,
    crash_test_selection,
    crash_test_stop_batches,
    crash_test_summary,
    crash_test_timings,
    crash_test_verdict,
)

ROOT = pathlib.Path(__file__).resolve().parents[4]
PLAYBOOK = ROOT / "playbooks" / "crash_test.yml"
GROUPS = {
    "all": ["web01", "web02", "web03", "db01"],
    "ungrouped": [],
    "web": ["web01", "web02", "web03"],
    "db": ["db01"],
    "empty": [],
}
INVENTORY = {
    "all": {
        "vars": {"ansible_connection": "local"},
        "children": {
            "web": {"hosts": {"web01": {}, "web02": {}, "web03": {}}},
            "db": {"hosts": {"db01": {}}},
            "empty": {},
        },
    }
}


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {
        "crash_test_selection",
        "crash_test_summary",
        "crash_test_verdict",
        "crash_test_stop_batches",
        "crash_test_timings",
        "crash_test_report",
    }


def test_the_timing_table_has_a_column_per_phase_and_a_dash_for_an_unseen_one():
    rows = [
        {
            "host": "kdump-c12",
            "result": "success",
            "phases": {
                "trigger sent": -2.0,
                "host down": 3.1,
                "capture boot": 44.8,
                "host back": 139.2,
                "up and stable": 170.4,
                "dump written": 97.4,
                "dump verified": 181.0,
            },
        },
        {"host": "web1", "result": "failed", "phases": {"trigger sent": -2.0, "host down": 2.9}},
        {"host": "web2", "result": "not tested", "phases": {}},
    ]
    lines = crash_test_timings(rows)
    assert lines[0].startswith("host       result      trigger sent  host down  capture boot")
    assert lines[0].endswith("dump written  dump verified")
    assert lines[1].startswith("---------  ----------  ")
    assert lines[2].split() == ["kdump-c12", "success", "-2", "3", "45", "139", "170", "97", "181"]
    assert lines[3].split() == ["web1", "failed", "-2", "3", "-", "-", "-", "-", "-"]
    assert lines[4].split() == ["web2", "not", "tested"] + ["-"] * 7
    widths = {len(line) for line in lines[:3]}
    assert len(widths) == 1  # fixed width: the columns line up
    with pytest.raises(AnsibleFilterError):
        crash_test_timings("web1")


def test_every_filter_has_its_documentation_file():
    for name in FilterModule().filters():
        doc = yaml.safe_load((ROOT / "plugins" / "filter" / (name + ".yml")).read_text(encoding="utf-8"))
        assert doc["DOCUMENTATION"]["name"] == name
        assert doc["RETURN"]["_value"]["description"]


def test_selection_uses_ansible_patterns():
    assert crash_test_selection("web[0:1]", GROUPS, confirm=True, confirm_count=2)["hosts"] == ["web01", "web02"]
    assert crash_test_selection("web:!web02", GROUPS, confirm=True, confirm_count=2)["hosts"] == ["web01", "web03"]
    assert crash_test_selection("web:&~web0[13]", GROUPS, confirm=True, confirm_count=2)["hosts"] == ["web01", "web03"]
    assert crash_test_selection("~db\\d+", GROUPS, confirm=True)["hosts"] == ["db01"]
    assert crash_test_selection(["web01", "db01"], GROUPS, confirm=True, confirm_count="2")["errors"] == []


def test_selection_refuses_typos_and_the_implicit_localhost():
    assert "did you mean web02?" in crash_test_selection("web01,web02x", GROUPS, confirm=True)["errors"][0]
    assert "names localhost" in crash_test_selection("localhost", GROUPS, confirm=True)["errors"][0]
    assert "group empty, which has no hosts" in crash_test_selection("empty", GROUPS, confirm=True)["errors"][0]


def test_selection_needs_the_groups_variable():
    with pytest.raises(AnsibleFilterError, match="groups magic variable"):
        crash_test_selection("web01", ["web01"])


def test_summary_verdict_and_stop():
    rows = crash_test_summary(["web01", "web02"], iter([{"failed": True, "msg": "boom"}, {}]))
    assert [r["line"] for r in rows][0] == "web01: failed - boom"
    assert crash_test_verdict(rows)["msg"] == "2 of 2 hosts did not pass: web01, web02"
    assert crash_test_stop_batches(iter([{"failed": True}]), "0") is True
    with pytest.raises(AnsibleFilterError, match="from 0 to 100"):
        crash_test_stop_batches([], 101)
    with pytest.raises(AnsibleFilterError, match="list of host names"):
        crash_test_summary("web01", [])


@pytest.mark.parametrize(
    "path, message",
    [
        ("report.json", "must be an absolute path on the controller"),
        ("../x.json", "must be an absolute path on the controller"),
        ("/var/tmp/\nx.json", "must be an absolute path on the controller"),
        (["/x.json"], "must be an absolute path on the controller"),
        ("/var/tmp/", "names a directory; name the JSON file to write"),
        ("/var/tmp", "names a directory; name the JSON file to write"),
        ("/nonexistent-kdump-fleet/report.json", "its directory /nonexistent-kdump-fleet does not exist"),
    ],
)
def test_selection_refuses_a_report_file_that_is_not_an_absolute_file_path(path, message):
    selection = crash_test_selection("web01", GROUPS, confirm=True, report_file=path)
    assert selection["hosts"] == []
    assert any(error.startswith("kdump_crash_test_report_file=") and message in error for error in selection["errors"])


def test_selection_takes_an_absolute_report_file_or_none():
    for path in ("/var/tmp/kdump-crash-test.json", None, ""):
        assert crash_test_selection("web01", GROUPS, confirm=True, report_file=path) == {
            "hosts": ["web01"],
            "errors": [],
        }


def test_the_report_has_the_verdict_and_each_hosts_row_without_its_printed_line():
    rows = crash_test_summary(
        ["web01", "web02"],
        [
            {
                "crashed": True,
                "dump_path": "/var/crash/1/dump.1",
                "dump_bytes": 1048576,
                "trigger_to_up_s": 150.0,
                "phases": {"host down": 3},
            },
            {"failed": True, "msg": "boom"},
        ],
    )
    report = crash_test_report(rows, "2")
    assert report["format"] == "kdump.fleet crash test 1"
    assert (report["serial"], report["check_mode"]) == ("2", False)
    assert report["verdict"] == {"passed": False, "not_passed": ["web02"], "msg": "1 of 2 hosts did not pass: web02"}
    assert [host["host"] for host in report["hosts"]] == ["web01", "web02"]
    assert report["hosts"][0]["dump_bytes"] == 1048576 and report["hosts"][0]["phases"] == {"host down": 3}
    assert report["hosts"][1]["msg"] == "boom"
    assert all("line" not in host for host in report["hosts"])
    json.dumps(report)  # plain data, as to_nice_json writes it
    with pytest.raises(AnsibleFilterError, match="rows of crash_test_summary"):
        crash_test_report("web01")


# ---------------------------------------------------------------- the playbook, for real

needs_ansible = pytest.mark.skipif(shutil.which("ansible-playbook") is None, reason="needs ansible-playbook")


@pytest.fixture(name="play")
def _play(tmp_path):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump(INVENTORY), encoding="utf-8")
    # The safety of these runs rests on this: every host is local, so the crash action refuses it.
    assert INVENTORY["all"]["vars"]["ansible_connection"] == "local"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".tmp" / "collections"), ANSIBLE_NOCOLOR="1")
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    env["ANSIBLE_STDOUT_CALLBACK"] = "default"

    def run(extra_vars):
        command = ["ansible-playbook", "--check", "-i", str(inventory), str(PLAYBOOK), "-e", json.dumps(extra_vars)]
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=180, check=False)
        return done.returncode, done.stdout + done.stderr

    return run


@needs_ansible
def test_playbook_syntax(play):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".tmp" / "collections"))
    done = subprocess.run(
        ["ansible-playbook", "--syntax-check", "-i", "localhost,", str(PLAYBOOK)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@needs_ansible
def test_playbook_refuses_a_typo_before_the_crash_play(play):
    rc, out = play({"kdump_crash_test_hosts": "web01,web02x", "kdump_crash_test_confirm": True})
    assert rc != 0
    assert "names web02x, which is neither a host nor a group of the inventory" in " ".join(out.split())
    assert "PLAY [Crash-test the named hosts" not in out


@needs_ansible
def test_playbook_wants_the_count_for_more_than_one_batch(play):
    rc, out = play({"kdump_crash_test_hosts": "web", "kdump_crash_test_confirm": True})
    text = " ".join(out.split())
    assert rc != 0
    assert "selects 3 hosts (web01, web02, web03), more than one batch of kdump_crash_test_serial=1" in text
    assert "-e kdump_crash_test_confirm_count=3" in text
    assert "PLAY [Crash-test the named hosts" not in out


@needs_ansible
def test_playbook_takes_the_list_form_and_summarises(play):
    # The crash play is reached; the action refuses the local connection for each host (nothing is crashed)
    # and the summary reports both hosts as failed.
    rc, out = play(
        {
            "kdump_crash_test_hosts": ["web01", "db01"],
            "kdump_crash_test_confirm": True,
            "kdump_crash_test_confirm_count": 2,
            "kdump_crash_test_max_fail_percentage": 100,
        }
    )
    text = " ".join(out.split())
    assert rc != 0
    assert text.count("the local connection would crash the control node itself") >= 2
    assert "web01: failed - the local connection" in text
    assert "db01: failed - the local connection" in text
    assert "2 of 2 hosts did not pass: web01, db01" in text


@needs_ansible
def test_playbook_starts_no_new_batch_after_a_failure(play):
    rc, out = play(
        {"kdump_crash_test_hosts": "web:!web03", "kdump_crash_test_confirm": True, "kdump_crash_test_confirm_count": 2}
    )
    text = " ".join(out.split())
    assert rc != 0
    assert "web01: failed - the local connection" in text
    assert "web02: not tested - not tested: an earlier batch failed too often" in text


@needs_ansible
def test_playbook_writes_the_report_file_also_when_hosts_failed(play, tmp_path):
    (tmp_path / "ci").mkdir(mode=0o1777)
    (tmp_path / "ci").chmod(0o1777)
    report_file = tmp_path / "ci" / "crash-test.json"
    rc, out = play(
        {
            "kdump_crash_test_hosts": ["web01", "db01"],
            "kdump_crash_test_confirm": True,
            "kdump_crash_test_confirm_count": 2,
            "kdump_crash_test_serial": 2,
            "kdump_crash_test_max_fail_percentage": 100,
            "kdump_crash_test_report_file": str(report_file),
        }
    )
    assert rc != 0  # the hosts failed (the action refuses the local connection) ...
    report = json.loads(report_file.read_text())  # ... and the report was written first, in --check too
    assert report["check_mode"] is True and report["serial"] == 2
    assert [(h["host"], h["result"]) for h in report["hosts"]] == [("web01", "failed"), ("db01", "failed")]
    assert "the local connection would crash the control node itself" in report["hosts"][0]["msg"]
    assert report["verdict"]["not_passed"] == ["web01", "db01"]
    assert oct((tmp_path / "ci").stat().st_mode & 0o7777) == "0o1777"  # an existing directory is left as it is


@needs_ansible
def test_playbook_refuses_a_relative_report_file_before_the_crash_play(play):
    rc, out = play(
        {"kdump_crash_test_hosts": "web01", "kdump_crash_test_confirm": True, "kdump_crash_test_report_file": "r.json"}
    )
    assert rc != 0
    assert "kdump_crash_test_report_file='r.json' must be an absolute path on the controller" in " ".join(out.split())
    assert "PLAY [Crash-test the named hosts" not in out
