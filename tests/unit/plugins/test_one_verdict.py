"""One fault, one verdict: the role's verify step, the crash test's guard and the audit agree on check IDs.

Each case is a host state (the audit tests' ready Debian 12 state with one fault, or the state recorded
on the development machine) run through all three consumers of the one evaluator.
"""

from __future__ import annotations

import copy
import datetime
import json

import pytest
import sibling_tests
from ansible_collections.kdump.fleet.plugins.filter.readiness import readiness
from ansible_collections.kdump.fleet.plugins.module_utils import _crash_protocol, _fleet_audit, _readiness
from conftest import load_fixture

NOW = datetime.datetime(2026, 11, 22, 12, 0, tzinfo=datetime.UTC)


TEST_AUDIT = sibling_tests.load("plugins/module_utils/test_audit.py")


def state_with(*changes):
    state = TEST_AUDIT.ready_info()
    for path, value in changes:
        node = state
        *parents, last = path.split(".")
        for key in parents:
            node = node[key]
        node[last] = value
    return state


# (case, state, check IDs that must fail in the role verify selection)
CASES = [
    ("ready", state_with(), []),
    # kexec_crash_size unreadable, the iomem region is there: ready everywhere (the audit's old
    # answer; the guard and verify used to fail here).
    (
        "kexec_crash_size unreadable",
        state_with(("crashkernel.kexec_crash_size", None), ("crashkernel.reserved_source", "iomem")),
        [],
    ),
    (
        "service masked",
        state_with(
            ("service.masked", True),
            ("service.unit_file_state", "masked"),
            ("service.enabled", False),
            ("service.active", False),
        ),
        ["KDUMP-002"],
    ),
    ("no dump target", state_with(("config.target", None)), ["KDUMP-009"]),
    ("dump config missing", state_with(("config.exists", False)), ["KDUMP-009"]),
    ("capture kernel not loaded", state_with(("crashkernel.loaded", False)), ["KDUMP-007"]),
    ("loaded reported as a string", state_with(("crashkernel.loaded", "true")), ["KDUMP-007"]),
    ("nothing reserved", state_with(("crashkernel.reserved_bytes", 0)), ["KDUMP-004"]),
    # A stale initrd is advisory (KDUMP-008): it fails the audit check but not the role or the guard.
    ("stale initrd", state_with(("initrd.stale", True)), []),
    (
        "recorded dev machine",
        json.loads(load_fixture("kdump_info", "dev-controller-debian12.json")),
        ["KDUMP-001", "KDUMP-002", "KDUMP-004", "KDUMP-007", "KDUMP-009"],
    ),
]


@pytest.mark.parametrize(("name", "state", "role_fails"), CASES, ids=[case[0] for case in CASES])
def test_role_verify_crash_guard_and_audit_name_the_same_checks(name, state, role_fails):
    audit = _fleet_audit.evaluate_host("h", copy.deepcopy(state), _fleet_audit.validate_settings(), NOW)
    audit_failing = {c["id"]: c for c in audit["checks"] if c["result"] in (_readiness.FAIL, _readiness.UNKNOWN)}

    verdict = readiness(copy.deepcopy(state), "role_verify")
    assert [f["id"] for f in verdict["failures"]] == role_fails
    assert verdict["ready"] is (not role_fails)

    guard = _crash_protocol.readiness_failures(copy.deepcopy(state))
    guard_ids = [f["check"] for f in guard if f["check"].startswith("KDUMP-")]
    assert guard_ids == [i for i in role_fails if i in _readiness.CRASH_TEST_CHECKS]

    # The same finding, word for word, wherever the check is named.
    for failure in verdict["failures"]:
        assert failure["id"] in audit_failing
        assert failure["finding"] == audit_failing[failure["id"]]["finding"]
    for failure in guard:
        if failure["check"].startswith("KDUMP-"):
            assert failure["msg"].startswith(audit_failing[failure["check"]]["finding"])


def test_stale_initrd_is_the_audit_advisory_check():
    audit = _fleet_audit.evaluate_host("h", state_with(("initrd.stale", True)), _fleet_audit.validate_settings(), NOW)
    [initrd] = [c for c in audit["checks"] if c["id"] == "KDUMP-008"]
    assert (initrd["result"], initrd["severity"]) == (_readiness.FAIL, _readiness.ADVISORY)
    assert audit["status"] == _fleet_audit.DEGRADED


def test_kdump_off_verdict_names_what_is_still_on():
    verdict = readiness(state_with(), expect="off")
    assert [f["id"] for f in verdict["failures"]] == ["KDUMP-007", "KDUMP-002", "KDUMP-004"]
    off = state_with(("crashkernel.loaded", False), ("service.enabled", False), ("crashkernel.reserved_bytes", 0))
    assert readiness(off, expect="off") == {"ready": True, "failures": [], "message": ""}


def test_the_filter_refuses_unknown_selections_and_check_ids():
    from ansible.errors import AnsibleFilterError  # noqa: PLC0415 - only this test needs it

    with pytest.raises(AnsibleFilterError, match="checks='everything' is not a selection"):
        readiness({}, "everything")
    with pytest.raises(AnsibleFilterError, match="unknown check ID"):
        readiness({}, ["KDUMP-999"])
