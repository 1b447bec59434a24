"""Tests of the sliced-audit merge (plugins/module_utils/_audit_merge.py).

The central property: an inventory audited in slices (as AWX job slicing runs it) and merged gives
the report one unsliced audit gives, exceptions, groups and drift included.
"""

from __future__ import annotations

import copy
import datetime
import json
import os

import pytest
import sibling_tests
from ansible_collections.kdump.fleet.plugins.module_utils import _audit_drift as _drift
from ansible_collections.kdump.fleet.plugins.module_utils._audit_merge import (
    AuditMergeError,
    check_slice,
    merge,
    read_slice,
)
from ansible_collections.kdump.fleet.plugins.module_utils._audit_reports import render_json, render_markdown
from ansible_collections.kdump.fleet.plugins.module_utils._fleet_audit import evaluate_fleet, validate_settings

reports_tests = sibling_tests.load("plugins/module_utils/test_audit_reports.py")
ready_info = reports_tests.ready_info
masked_rhel9 = reports_tests.masked_rhel9
NOW = datetime.datetime(2026, 11, 22, 12, 0, tzinfo=datetime.UTC)
SETTINGS = {"min_ready_percent": 60}


def registered(info):
    return {"changed": False, "kdump": info}


def fleet_results():
    """Twelve hosts: ready, degraded, not ready, masked (excepted by group, and expired), unreachable."""
    results = {}
    for i in range(12):
        info = ready_info() if i % 4 else masked_rhel9()
        if i % 6 == 1:
            info["crash_test"] = None
        if i % 6 == 2:
            info["crashkernel"]["loaded"] = False
        results[f"h{i:02d}.example.com"] = registered(info)
    results["h12.example.com"] = {"unreachable": True, "msg": "ssh: connect to host h12 port 22: No route to host"}
    return results


EXCEPTIONS = [
    {
        "hosts": "dbservers",
        "check": "KDUMP-013",
        "reason": "documented need",
        "approved_by": "ISSO",
        "expires": "2026-12-31",
    },
    {
        "hosts": "h08.example.com",
        "check": "KDUMP-013",
        "reason": "window",
        "approved_by": "CAB",
        "expires": "2026-11-01",
    },
]
GROUPS = {"dbservers": ["h00.example.com", "h04.example.com"]}


def previous_report():
    before = {name: registered(ready_info()) for name in ("h00.example.com", "h01.example.com", "gone.example.com")}
    return _drift.parse_previous(render_json(evaluate_fleet(before, now=NOW)), "/r/prev/kdump-audit.json")


def audit(results, hosts, previous=None):
    """One audit run as the action gives it, through its JSON file (what a slice leaves behind)."""
    fleet = evaluate_fleet(
        {name: results[name] for name in hosts},
        hosts=hosts,
        settings=validate_settings(SETTINGS),
        now=NOW,
        exceptions=EXCEPTIONS,
        groups=GROUPS,
        previous=previous,
    )
    return json.loads(render_json(fleet))


def sliced(results, count):
    """The inventory cut into count slices the way AWX cuts it: every count-th host."""
    names = list(results)
    return [
        check_slice(audit(results, names[index::count], previous_report()), f"/r/slice{index}/kdump-audit.json")
        for index in range(count)
    ]


def test_three_slices_merge_into_the_unsliced_report():
    results = fleet_results()
    whole = audit(results, list(results), previous_report())
    slices = sliced(results, 3)
    merged = json.loads(render_json(merge(slices, previous_report(), now=NOW, min_ready_percent=60)))
    assert merged == whole
    # and so every report written from it
    assert render_markdown(merged) == render_markdown(whole)
    summary = merged["summary"]
    assert [summary[k] for k in ("total", "ready", "degraded", "not_ready")] == [13, 8, 2, 3]
    # The gate is the fleet's (8 of 13 ready meets 60 %), not any one slice's.
    assert summary["gate_passed"] is True
    assert [part["report"]["summary"]["gate_passed"] for part in slices] == [True, False, False]
    assert [e["excepted_hosts"] for e in merged["exceptions"]] == [["h00.example.com", "h04.example.com"], []]
    assert merged["exceptions"][1]["expired"] is True and merged["exceptions"][1]["expired_hosts"] == [
        "h08.example.com"
    ]
    assert [h["host"] for h in merged["drift"]["appeared"]][:2] == ["h02.example.com", "h03.example.com"]
    assert merged["drift"]["disappeared"] == [{"host": "gone.example.com", "status": "ready"}]


def test_a_slice_without_hosts_and_a_single_slice_merge_too():
    results = fleet_results()
    whole = audit(results, list(results))
    parts = [check_slice(whole, "/r/all.json"), check_slice(audit(results, []), "/r/empty.json")]
    assert json.loads(render_json(merge(parts, now=NOW, min_ready_percent=60))) == whole


def test_the_fleet_gate_defaults_to_the_audits_100_never_the_slices_own():
    results = fleet_results()
    slices = sliced(results, 3)
    for part in slices:
        part["report"]["settings"]["min_ready_percent"] = 0  # slices kept from failing on their own hosts
        part["report"]["summary"]["gate_passed"] = True
    merged = merge(slices, now=NOW)
    assert merged["settings"]["min_ready_percent"] == 100.0
    assert merged["summary"]["gate_passed"] is False  # 8 of 13 ready
    assert merge(slices, now=NOW, min_ready_percent=50)["summary"]["gate_passed"] is True


def test_a_missing_slice_is_an_error_not_a_smaller_fleet():
    slices = sliced(fleet_results(), 3)
    with pytest.raises(AuditMergeError, match=r"matched 2 report\(s\), the run has 3 slices"):
        merge(slices[:2], now=NOW, expected_slices=3)
    assert merge(slices, now=NOW, expected_slices=3)["summary"]["total"] == 13


def test_without_a_previous_report_the_slices_drift_is_not_carried_over():
    results = fleet_results()
    merged = merge(sliced(results, 2), now=NOW)
    assert merged["drift"] is None  # each slice compared only its own hosts


def test_a_host_in_two_slices_is_refused_naming_both_files():
    results = fleet_results()
    parts = sliced(results, 2)
    stale = check_slice(audit(results, ["h00.example.com"]), "/r/old-run/kdump-audit.json")
    with pytest.raises(AuditMergeError) as error:
        merge([*parts, stale], now=NOW)
    message = str(error.value)
    assert "kdump_audit_merge_reports: /r/old-run/kdump-audit.json" in message
    assert "holds the host h00.example.com, which /r/slice0/kdump-audit.json holds too" in message


def test_slices_of_different_audits_are_refused():
    results = fleet_results()
    names = list(results)
    one = check_slice(audit(results, names[:6]), "/r/a.json")
    other = json.loads(
        render_json(evaluate_fleet({n: results[n] for n in names[6:]}, hosts=names[6:], settings=validate_settings()))
    )
    with pytest.raises(AuditMergeError, match=r"/r/b.json was audited with other settings than /r/a.json"):
        merge([one, check_slice(other, "/r/b.json")], now=NOW)
    no_exceptions = copy.deepcopy(audit(results, names[6:]))
    no_exceptions["exceptions"] = no_exceptions["exceptions"][:1]
    with pytest.raises(AuditMergeError, match="other kdump_audit_exceptions than /r/a.json"):
        merge([one, check_slice(no_exceptions, "/r/c.json")], now=NOW)


def test_no_slices_is_an_error_naming_the_variable():
    with pytest.raises(AuditMergeError, match="kdump_audit_merge_reports matched no report"):
        merge([], now=NOW)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda r: r.update(version=1), "is a report of version 1; the merge takes version 2"),
        (lambda r: r.update(version=True), "is a report of version True"),
        (lambda r: r.pop("settings"), "has no settings"),
        (lambda r: r["hosts"][0].update(status="fine"), "hosts[0] has the status 'fine'"),
        (lambda r: r["hosts"][1].update(host=""), "hosts[1] has no host name"),
        (lambda r: r["hosts"][0].update(reasons="x"), "hosts[0] has reasons or errors that are not lists of text"),
        (
            lambda r: r["hosts"][0]["checks"][3].update(id="KDUMP-999"),
            "hosts[0] checks[3] is not a check of this collection",
        ),
        (
            lambda r: r["hosts"][0]["checks"][3].update(result="<b>"),
            "hosts[0] checks[3] (KDUMP-003) has the result '<b>'",
        ),
        (lambda r: r["hosts"][0]["checks"][2].update(finding=None), "hosts[0] checks[2] (KDUMP-002) has no finding"),
        (lambda r: r["hosts"][0].update(facts=[]), "hosts[0] has facts that are not a mapping"),
        (lambda r: r["exceptions"][0].pop("reason"), "exceptions[0] is not an exception this collection wrote"),
        (lambda r: r["exceptions"][0].update(index="x"), "exceptions[0] is not an exception this collection wrote"),
        (lambda r: r["exceptions"][0].update(hosts=5), "exceptions[0] is not an exception this collection wrote"),
        (lambda r: r.update(catalogue=[]), "has a check catalogue other than this collection's"),
        (lambda r: r["catalogue"][2].update(severity="x"), "has catalogue entry KDUMP-002 with the severity 'x'"),
        (
            lambda r: r["catalogue"][2].update(controls=[{"id": 1}]),
            "has catalogue entry KDUMP-002 with unreadable controls",
        ),
        (
            lambda r: r["hosts"][0]["checks"][2].update(controls=["x"]),
            "hosts[0] checks[2] (KDUMP-002) has a control without an id",
        ),
        (
            lambda r: r["hosts"][0]["checks"][2].update(controls=[{"id": "x", "relation": "y", "stig": [1]}]),
            "hosts[0] checks[2] (KDUMP-002) has a control whose STIG IDs cannot be read",
        ),
        (
            lambda r: r["hosts"][0]["checks"][2].update(result="excepted", exception=None),
            "hosts[0] checks[2] (KDUMP-002) is excepted without its exception",
        ),
        (
            lambda r: r["hosts"][0]["checks"][2].update(exception={"state": "excepted"}),
            "hosts[0] checks[2] (KDUMP-002) has an exception without its index or state",
        ),
        (
            lambda r: r["hosts"][0]["checks"][2].update(exception={"state": "excepted", "index": 0}),
            "hosts[0] checks[2] (KDUMP-002) has an exception without its reason, approver or expiry",
        ),
    ],
)
def test_a_slice_the_reports_could_not_show_is_refused_before_anything_is_written(change, problem):
    report = audit(fleet_results(), ["h01.example.com", "h02.example.com"])
    change(report)
    with pytest.raises(AuditMergeError) as error:
        check_slice(report, "/r/s.json")
    assert f"kdump_audit_merge_reports: /r/s.json {problem}" in str(error.value)


def test_read_slice_checks_the_file_like_the_previous_report(tmp_path):
    good = tmp_path / "kdump-audit.json"
    good.write_text(json.dumps(audit(fleet_results(), ["h01.example.com"])))
    assert read_slice(str(good))["report"]["summary"]["total"] == 1
    with pytest.raises(AuditMergeError, match="does not exist"):
        read_slice(str(tmp_path / "missing.json"))
    with pytest.raises(AuditMergeError, match="is a directory"):
        read_slice(str(tmp_path))
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(AuditMergeError, match="is not JSON"):
        read_slice(str(tmp_path / "bad.json"))
    # NaN and Infinity: Python reads them, no report writer or browser does
    (tmp_path / "nan.json").write_text(good.read_text().replace('"reserved_bytes": 268435456', '"reserved_bytes": NaN'))
    with pytest.raises(AuditMergeError, match="is not JSON .*NaN is not a JSON number"):
        read_slice(str(tmp_path / "nan.json"))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(AuditMergeError, match="is not a regular file"):
        read_slice(str(fifo))
