"""Tests of the comparison with a previous audit (_audit_drift.py) and the report's ``drift``."""

from __future__ import annotations

import copy
import json
import os

import pytest
import sibling_tests
from ansible_collections.kdump.fleet.plugins.module_utils import _audit_drift
from ansible_collections.kdump.fleet.plugins.module_utils._audit_drift import (
    AuditDriftError,
    compare,
    parse_previous,
    read_previous,
)
from ansible_collections.kdump.fleet.plugins.module_utils._audit_reports import (
    render_html,
    render_json,
    render_markdown,
)
from ansible_collections.kdump.fleet.plugins.module_utils._fleet_audit import evaluate_fleet

TEST_AUDIT = sibling_tests.load("plugins/module_utils/test_audit.py")
NOW = TEST_AUDIT.NOW


def registered(info):
    return {"changed": False, "kdump": info}


def not_loaded():
    info = TEST_AUDIT.ready_info()
    info["crashkernel"]["loaded"] = False
    return info


def no_crash_test():
    info = TEST_AUDIT.ready_info()
    info["crash_test"] = None
    return info


def before_and_after():
    """Two runs: web1 breaks, web2 is fixed, web3 goes from degraded to not ready through unreachable,
    db1 improves to degraded, old1 leaves, new1 joins."""
    before = {
        "web1": registered(TEST_AUDIT.ready_info()),
        "web2": registered(not_loaded()),
        "web3": registered(no_crash_test()),
        "db1": registered(not_loaded()),
        "old1": registered(TEST_AUDIT.ready_info()),
    }
    after = {
        "web1": registered(not_loaded()),
        "web2": registered(TEST_AUDIT.ready_info()),
        "web3": {"unreachable": True, "msg": "ssh: connect to host web3 port 22: No route to host"},
        "db1": registered(no_crash_test()),
        "new1": registered(TEST_AUDIT.ready_info()),
    }
    return before, after


def run(results, previous=None):
    return evaluate_fleet(results, hosts=list(results), now=NOW, previous=previous)


def previous_of(fleet, path="/r/kdump-audit.json"):
    return parse_previous(render_json(fleet), path)


def test_drift_lists_new_failures_fixes_changes_and_hosts_that_came_and_went():
    before, after = before_and_after()
    drift = run(after, previous_of(run(before)))["drift"]
    assert drift["previous"] == {
        "path": "/r/kdump-audit.json",
        "version": 2,
        "generated": "2026-11-22T12:00:00+00:00",
        "hosts": 5,
    }
    assert drift["changed"] is True
    assert [(c["host"], c["before"], c["after"]) for c in drift["newly_not_ready"]] == [
        ("web1", "ready", "not_ready"),
        ("web3", "degraded", "not_ready"),
    ]
    assert drift["newly_not_ready"][0]["reasons"] == [
        "KDUMP-007 no capture kernel is loaded (kexec_crash_loaded = 0): a crash now would not be dumped"
    ]
    assert [(c["host"], c["before"], c["after"]) for c in drift["fixed"]] == [("web2", "not_ready", "ready")]
    assert [(c["host"], c["before"], c["after"]) for c in drift["status_changed"]] == [
        ("db1", "not_ready", "degraded"),
        ("web1", "ready", "not_ready"),
        ("web2", "not_ready", "ready"),
        ("web3", "degraded", "not_ready"),
    ]
    assert [(c["host"], c["check"], c["before"], c["after"]) for c in drift["checks_changed"]] == [
        ("db1", "KDUMP-007", "fail", "pass"),
        ("db1", "KDUMP-014", "pass", "fail"),
        ("web1", "KDUMP-007", "pass", "fail"),
        ("web2", "KDUMP-007", "fail", "pass"),
        # web3 was not audited this time: only KDUMP-000 was evaluated in both runs
        ("web3", "KDUMP-000", "pass", "fail"),
    ]
    web3 = drift["checks_changed"][-1]
    assert web3["title"] == "host reachable and kdump_info ran"
    assert web3["finding"] == "unreachable: ssh: connect to host web3 port 22: No route to host"
    assert drift["appeared"] == [{"host": "new1", "status": "ready"}]
    assert drift["disappeared"] == [{"host": "old1", "status": "ready"}]


def test_no_change_is_said_and_no_previous_report_is_no_drift():
    results = {"web1": registered(TEST_AUDIT.ready_info())}
    drift = run(results, previous_of(run(results)))["drift"]
    assert drift["changed"] is False
    assert drift["newly_not_ready"] == drift["checks_changed"] == drift["appeared"] == drift["disappeared"] == []
    assert run(results)["drift"] is None


def test_a_version_1_report_is_read():
    before, after = before_and_after()
    old = json.loads(render_json(run(before)))
    # What version 1 reports had: no controls, exceptions or drift, no "excepted" count.
    old["version"] = 1
    for key in ("exceptions", "drift"):
        del old[key]
    for host in old["hosts"]:
        del host["counts"]["excepted"]
        for check in host["checks"]:
            del check["controls"]
    drift = run(after, parse_previous(json.dumps(old), "old.json"))["drift"]
    assert drift["previous"]["version"] == 1
    assert [c["host"] for c in drift["fixed"]] == ["web2"]


def test_read_previous_reads_a_file(tmp_path):
    before, _after = before_and_after()
    fleet = run(before)
    path = tmp_path / "kdump-audit.json"
    path.write_text(render_json(fleet), encoding="utf-8")
    previous = read_previous(str(path))
    assert previous["path"] == str(path)
    assert sorted(previous["hosts"]) == ["db1", "old1", "web1", "web2", "web3"]
    web2 = next(record for record in fleet["hosts"] if record["host"] == "web2")
    assert previous["hosts"]["web2"] == {
        "status": "not_ready",
        "checks": {check["id"]: check["result"] for check in web2["checks"]},
    }


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: None, "does not exist; give the kdump-audit.json of an earlier run of this audit"),
        (lambda p: p.mkdir(), "is a directory (the report is the file kdump-audit.json in it)"),
        (lambda p: p.write_bytes(b"\xff\xfe"), "cannot be read"),
        (lambda p: p.write_text("{not json"), "is not JSON"),
        (lambda p: p.write_text("[]"), "is not a kdump.fleet audit report (no version and hosts)"),
        (lambda p: p.write_text('{"version": "2", "hosts": []}'), "is not a kdump.fleet audit report (version '2')"),
        (
            lambda p: p.write_text('{"version": 3, "hosts": []}'),
            "is a report of version 3, which this collection cannot read (it reads versions 1, 2): it was written "
            "by a newer kdump.fleet",
        ),
        (lambda p: p.write_text('{"version": 0, "hosts": []}'), "is a report of version 0"),
        (lambda p: p.write_text('{"version": 2, "hosts": {}}'), "hosts is not a list"),
        (
            lambda p: p.write_text('{"version": 2, "hosts": [{"host": "a", "status": "fine"}]}'),
            "has an unreadable host record (hosts[0]: no host name or status)",
        ),
    ],
)
def test_an_unusable_previous_report_names_the_variable(tmp_path, setup, message):
    path = tmp_path / "kdump-audit.json"
    setup(path)
    with pytest.raises(AuditDriftError) as error:
        read_previous(str(path))
    text = str(error.value)
    assert text.startswith(f"kdump_audit_previous_report: {path} ")
    assert message in text
    assert text.endswith("or set kdump_audit_previous_report to '' to skip the comparison")


def test_compare_takes_the_first_record_of_a_host_listed_twice_and_ignores_odd_checks():
    report = {
        "version": 2,
        "hosts": [
            {"host": "a", "status": "ready", "checks": [{"id": "KDUMP-001", "result": "pass"}, "odd", {"id": 1}]},
            {"host": "a", "status": "not_ready", "checks": []},
        ],
    }
    previous = parse_previous(json.dumps(report))
    assert previous["hosts"] == {"a": {"status": "ready", "checks": {"KDUMP-001": "pass"}}}
    assert previous["generated"] is None
    current = copy.deepcopy(run({"a": registered(TEST_AUDIT.ready_info())})["hosts"])
    assert compare(previous, current)["changed"] is False


# --- a previous report that is hostile or not a file ----------------------------------------------


def test_a_fifo_is_refused_before_it_is_opened(tmp_path):
    path = tmp_path / "kdump-audit.json"
    os.mkfifo(path)  # opening it to read would block until a writer came
    with pytest.raises(AuditDriftError, match="is not a regular file"):
        read_previous(str(path))


def test_a_report_larger_than_any_fleet_needs_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(_audit_drift, "MAX_REPORT_BYTES", 64)
    path = tmp_path / "kdump-audit.json"
    path.write_text(json.dumps({"version": 2, "hosts": [], "pad": "x" * 100}))
    with pytest.raises(AuditDriftError, match=r"is 1\d\d bytes, more than the 64 an audit report of any fleet needs"):
        read_previous(str(path))


def test_hostile_names_and_results_of_a_previous_report_stay_text_in_the_reports():
    hostile = "<img src=x onerror=alert(1)>|[x](javascript:alert(1))"
    previous = parse_previous(
        json.dumps(
            {
                "version": 2,
                "hosts": [
                    {"host": hostile, "status": "ready", "checks": []},
                    # a result this collection never writes is not compared
                    {"host": "web1", "status": "ready", "checks": [{"id": "KDUMP-003", "result": "<b>pass</b>"}]},
                ],
            }
        )
    )
    assert previous["hosts"]["web1"]["checks"] == {}
    fleet = run({"web1": registered(not_loaded())}, previous)
    assert [h["host"] for h in fleet["drift"]["disappeared"]] == [hostile]
    markdown = render_markdown(fleet)
    # brackets escaped: no link
    assert "<img" not in markdown and "[x](javascript:" not in markdown and "\\[x\\](javascript:" in markdown
    page = render_html(fleet)
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
