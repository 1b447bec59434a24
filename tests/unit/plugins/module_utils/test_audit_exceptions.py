"""Tests of the documented exceptions (_audit_exceptions.py): validation, host and group patterns, expiry.

The audit's own "now" (NOW, 2026-11-22 12:00 UTC) decides what has expired, so nothing here depends on the clock.
"""

from __future__ import annotations

import datetime

import pytest
import sibling_tests
from ansible_collections.kdump.fleet.plugins.module_utils import _audit_exceptions
from ansible_collections.kdump.fleet.plugins.module_utils._audit_exceptions import (
    EXCEPTED,
    AuditExceptionsError,
    host_matches,
    split_pattern,
    validate,
)
from ansible_collections.kdump.fleet.plugins.module_utils._fleet_audit import (
    DEGRADED,
    NOT_READY,
    READY,
    evaluate_fleet,
)
from ansible_collections.kdump.fleet.plugins.module_utils._readiness import CHECK_IDS, FAIL, PASS

TEST_AUDIT = sibling_tests.load("plugins/module_utils/test_audit.py")
NOW = TEST_AUDIT.NOW  # 2026-11-22T12:00:00+00:00


# The entry most tests start from, as a user writes it.
DB_TIER = {
    "hosts": "db*",
    "check": "KDUMP-013",
    "reason": "STIG RHEL-09-213115 applies to the database tier",
    "approved_by": "ISSO J. Doe",
    "expires": "2026-12-31",
}


def exception(**fields):
    entry = dict(DB_TIER)
    entry.update(fields)
    return {key: value for key, value in entry.items() if value is not ...}


def masked_info():
    """A host whose hardening profile masked the kdump unit after kdump was set up (KDUMP-013 fails)."""
    info = TEST_AUDIT.ready_info()
    info["service"].update(masked=True, unit_file_state="masked")
    return info


def no_crash_test_info():
    """A ready host without crash-test evidence: only the advisory KDUMP-014 fails (degraded)."""
    info = TEST_AUDIT.ready_info()
    info["crash_test"] = None
    return info


def registered(info):
    return {"changed": False, "kdump": info}


def check_of(record, check_id):
    return next(check for check in record["checks"] if check["id"] == check_id)


# --- validation ------------------------------------------------------------------------------------


def test_a_valid_list_is_normalised():
    records = validate(
        [
            exception(),
            exception(hosts=["web1", "dbservers"], check="KDUMP-014", expires=datetime.date(2027, 1, 31)),
            exception(reason="  two\n  lines  "),
            # The Unicode line and paragraph separators and NEL end a line like \n: one line after.
            exception(reason="one\u2028two\u2029three\x85four", approved_by="ISSO\u00a0J. Doe"),
        ]
    )
    public = [_audit_exceptions.public(r) for r in records]
    assert public[0] == {"index": 0, **DB_TIER}
    assert public[1]["hosts"] == ["web1", "dbservers"]
    assert public[1]["expires"] == "2027-01-31"  # YAML reads an unquoted date as a date
    assert public[2]["reason"] == "two lines"
    assert public[3]["reason"] == "one two three four"
    assert public[3]["approved_by"] == "ISSO J. Doe"
    assert validate(None) == validate([]) == validate("") == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("KDUMP-013", "kdump_audit_exceptions must be a list of exceptions"),
        ({"hosts": "db1"}, "kdump_audit_exceptions must be a list of exceptions"),
        (["db1"], "kdump_audit_exceptions[0] must be a mapping such as {hosts: 'db*', check: KDUMP-013"),
        (
            [exception(), exception(check="KDUMP-99")],
            "kdump_audit_exceptions[1].check: unknown check ID 'KDUMP-99'; use one of KDUMP-001, KDUMP-002",
        ),
        ([exception(check="KDUMP-000")], "kdump_audit_exceptions[0].check: KDUMP-000 (host reachable, kdump_info ran)"),
        ([exception(check="KDUMP-000")], "leave the host out of the audit (kdump_audit_hosts or --limit)"),
        (
            [exception(expires="31.12.2026")],
            "kdump_audit_exceptions[0].expires must be the last day the exception is valid, as YYYY-MM-DD "
            "(e.g. expires: '2026-12-31'), got '31.12.2026'",
        ),
        ([exception(expires="2026-02-30")], "kdump_audit_exceptions[0].expires must be the last day"),
        ([exception(expires="2026-1-5")], "kdump_audit_exceptions[0].expires must be the last day"),
        ([exception(expires=20261231)], "got 20261231"),
        (
            [exception(expires=datetime.datetime(2026, 12, 31, 8, 0))],
            "kdump_audit_exceptions[0].expires must be a date (YYYY-MM-DD), got the time 2026-12-31T08:00:00; "
            "write expires: '2026-12-31'",
        ),
        (
            [exception(reason=...)],
            "kdump_audit_exceptions[0]: missing reason; every exception needs hosts, check, reason, approved_by, "
            "expires",
        ),
        ([exception(approved_by="")], "kdump_audit_exceptions[0]: missing approved_by"),
        (
            [exception(approved_by="   ")],
            "kdump_audit_exceptions[0].approved_by must say who approved the exception (a non-empty string)",
        ),
        ([exception(reason=["x"])], "kdump_audit_exceptions[0].reason must say why the check may fail"),
        (
            [exception(reason="approved \x1b[2J\x1b[31mby nobody")],
            "kdump_audit_exceptions[0].reason contains the control or invisible character U+001B; write it as "
            "plain text",
        ),
        ([exception(approved_by="J. Doe\x00")], "kdump_audit_exceptions[0].approved_by contains the control"),
        # A right-to-left override would make the approver read backwards in a report.
        (
            [exception(approved_by="ISSO \u202eeoD .J")],
            "approved_by contains the control or invisible character U+202E",
        ),
        ([exception(reason="zero\u200bwidth")], "reason contains the control or invisible character U+200B"),
        ([exception(reason="x" * 501)], "kdump_audit_exceptions[0].reason is 501 characters long; keep it to 500"),
        (
            [exception(approver="J. Doe")],
            "kdump_audit_exceptions[0]: unknown key(s) approver; an exception has exactly hosts, check, reason, "
            "approved_by, expires",
        ),
        ([exception(hosts=[])], "kdump_audit_exceptions[0].hosts must be a host or group pattern"),
        ([exception(hosts=...)], "kdump_audit_exceptions[0]: missing hosts"),
        ([exception(hosts=["web1", 7])], "kdump_audit_exceptions[0].hosts: 7 is not a host or group pattern"),
        ([exception(hosts={"a": 1})], "kdump_audit_exceptions[0].hosts must be a host or group pattern"),
        ([exception(hosts="~db[0-9")], "kdump_audit_exceptions[0].hosts: '~db[0-9' is not a valid regular expression"),
        ([exception(hosts="web[0]")], "kdump_audit_exceptions[0].hosts: 'web[0]' selects hosts by position"),
        ([exception(hosts="webservers[1:3]")], "selects hosts by position"),
    ],
)
def test_invalid_exceptions_name_the_entry_and_the_fix(raw, message):
    with pytest.raises(AuditExceptionsError) as error:
        validate(raw)
    assert message in str(error.value)


# --- patterns --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "parts"),
    [
        ("web1", ["web1"]),
        ("web1,db1", ["web1", "db1"]),
        ("web1, db1 ,", ["web1", "db1"]),
        ("webservers:&prod:!web3", ["webservers", "&prod", "!web3"]),
        ("db[0-9]*:web?", ["db[0-9]*", "web?"]),  # a colon inside [...] would not split either
        ("~db-(a|b):x", ["~db-(a|b):x"]),
    ],
)
def test_patterns_split_as_ansible_splits_them(pattern, parts):
    assert split_pattern(pattern) == parts


GROUPS = {"db1": ["all", "dbservers", "prod"], "db2": ["all", "dbservers"], "web1": ["all", "prod", "webservers"]}


@pytest.mark.parametrize(
    ("pattern", "matching"),
    [
        ("db1", {"db1"}),
        ("db*", {"db1", "db2"}),
        ("dbservers", {"db1", "db2"}),  # a group by name
        ("*servers", {"db1", "db2", "web1"}),  # a group by wildcard
        ("prod", {"db1", "web1"}),
        ("dbservers:&prod", {"db1"}),
        ("prod:!web*", {"db1"}),
        ("!db1", {"db2", "web1", "lonely"}),  # only exclusions: from all hosts, as Ansible does
        ("&prod", {"db1", "web1"}),
        ("all", {"db1", "db2", "web1", "lonely"}),  # also a host the inventory groups do not list
        ("*", {"db1", "db2", "web1", "lonely"}),
        ("~db[12]$", {"db1", "db2"}),
        ("~b1", set()),  # Ansible's regular expressions match from the start
        ("web1,db2", {"web1", "db2"}),
        (["web1", "db2"], {"web1", "db2"}),
        ("DB1", set()),  # case-sensitive, as on the controller
        ("nosuchgroup", set()),
    ],
)
def test_patterns_match_host_names_and_groups(pattern, matching):
    (record,) = validate([exception(hosts=pattern)])
    hosts = dict(GROUPS, lonely=[])
    found = {host for host, groups in hosts.items() if host_matches(record["_terms"], host, groups)}
    assert found == matching


def test_host_groups_inverts_ansible_groups():
    groups = {"all": ["db1", "web1"], "ungrouped": [], "dbservers": ["db1"], "prod": ["db1", "web1"], "odd": None}
    assert _audit_exceptions.host_groups(groups) == {"db1": ["all", "dbservers", "prod"], "web1": ["all", "prod"]}
    assert _audit_exceptions.host_groups(None) == {}


# --- evaluation ------------------------------------------------------------------------------------


def fleet_with(exceptions, results=None, groups=None, now=NOW):
    results = results or {
        "db1": registered(masked_info()),
        "db2": registered(masked_info()),
        "web1": registered(TEST_AUDIT.ready_info()),
    }
    return evaluate_fleet(results, hosts=list(results), now=now, exceptions=exceptions, groups=groups)


def by_host(fleet):
    return {record["host"]: record for record in fleet["hosts"]}


def test_a_valid_exception_excepts_the_failing_check_and_the_host_is_ready():
    records = by_host(fleet_with([exception()]))
    assert records["db1"]["status"] == READY
    masked = check_of(records["db1"], "KDUMP-013")
    assert masked["result"] == EXCEPTED
    assert masked["finding"].startswith("kdump-tools is masked, as the hardening rule service_kdump_disabled")
    assert masked["remediation"]  # the fix stays on record
    assert masked["exception"] == {
        "index": 0,
        **DB_TIER,
        "state": "excepted",
        "expired": False,
    }
    assert records["db1"]["counts"][EXCEPTED] == 1
    assert records["db1"]["reasons"] == []
    # A host the pattern does not match is evaluated as before.
    assert check_of(records["web1"], "KDUMP-013")["result"] == PASS
    assert "exception" not in check_of(records["web1"], "KDUMP-013")


def test_without_the_exception_the_same_hosts_are_not_ready():
    records = by_host(fleet_with([]))
    assert records["db1"]["status"] == NOT_READY
    assert check_of(records["db1"], "KDUMP-013")["result"] == FAIL


def test_an_exception_is_valid_through_its_expiry_day_in_utc():
    last_day = datetime.datetime(2026, 12, 31, 23, 59, tzinfo=datetime.UTC)
    assert by_host(fleet_with([exception()], now=last_day))["db1"]["status"] == READY
    # 23:30 in UTC-5 on the 31st is already the 1st of January in UTC.
    new_year_utc = datetime.datetime(2026, 12, 31, 23, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=-5)))
    assert by_host(fleet_with([exception()], now=new_year_utc))["db1"]["status"] == NOT_READY


def test_an_expired_exception_counts_as_failed_and_says_when_it_expired():
    fleet = fleet_with([exception(expires="2026-11-21")])
    db1 = by_host(fleet)["db1"]
    masked = check_of(db1, "KDUMP-013")
    assert db1["status"] == NOT_READY
    assert masked["result"] == FAIL
    assert masked["finding"].endswith(
        "; the exception for it (kdump_audit_exceptions[0], approved by ISSO J. Doe: STIG RHEL-09-213115 applies "
        "to the database tier) expired on 2026-11-21"
    )
    assert masked["exception"]["state"] == "expired" and masked["exception"]["expired"] is True
    assert db1["reasons"][0].startswith("KDUMP-013 kdump-tools is masked")
    assert "expired on 2026-11-21" in db1["reasons"][0]
    assert fleet["summary"]["expired_exceptions"] == 2
    assert fleet["summary"]["excepted"] == 0


def test_an_exception_by_group_needs_the_inventory_groups():
    groups = {"all": ["db1", "db2", "web1"], "dbservers": ["db1"]}
    records = by_host(fleet_with([exception(hosts="dbservers")], groups=groups))
    assert records["db1"]["status"] == READY
    assert records["db2"]["status"] == NOT_READY  # not in the group
    # Without the groups, "dbservers" is only a host name that matches nobody.
    assert by_host(fleet_with([exception(hosts="dbservers")]))["db1"]["status"] == NOT_READY


def test_an_advisory_check_excepted_leaves_the_host_ready_instead_of_degraded():
    results = {"lab1": registered(no_crash_test_info())}
    assert by_host(fleet_with([], results=results))["lab1"]["status"] == DEGRADED
    excepted = fleet_with([exception(hosts="lab*", check="KDUMP-014")], results=results)
    assert by_host(excepted)["lab1"]["status"] == READY
    assert excepted["summary"]["excepted"] == 1
    assert excepted["summary"]["checks"] == {}  # an excepted check is not a failing check


def test_a_check_that_does_not_fail_is_left_alone_and_the_exception_listed_as_not_needed():
    fleet = fleet_with([exception(hosts="web1")])
    check = check_of(by_host(fleet)["web1"], "KDUMP-013")
    assert check["result"] == PASS
    assert check["exception"]["state"] == "unused"
    (usage,) = fleet["exceptions"]
    assert (usage["excepted_hosts"], usage["expired_hosts"], usage["unused_hosts"]) == ([], [], ["web1"])


def test_an_unknown_result_is_not_excepted():
    info = masked_info()
    info["service"] = None  # KDUMP-013 cannot tell
    fleet = fleet_with([exception()], results={"db1": registered(info)})
    check = check_of(by_host(fleet)["db1"], "KDUMP-013")
    assert check["result"] == "unknown"
    assert check["exception"]["state"] == "unused"


def test_a_host_without_data_is_not_excepted():
    fleet = fleet_with([exception(hosts="*", check="KDUMP-013")], results={"db1": None})
    assert by_host(fleet)["db1"]["status"] == NOT_READY
    assert fleet["exceptions"][0]["excepted_hosts"] == []


def test_of_several_matching_exceptions_the_valid_one_that_lasts_longest_decides():
    exceptions = [
        exception(expires="2026-01-01", reason="old"),
        exception(expires="2027-06-30", reason="renewed"),
        exception(expires="2026-12-31", reason="shorter"),
    ]
    masked = check_of(by_host(fleet_with(exceptions))["db1"], "KDUMP-013")
    assert masked["result"] == EXCEPTED
    assert (masked["exception"]["index"], masked["exception"]["reason"]) == (1, "renewed")
    # All expired: the one that expired last is named.
    expired = [exception(expires="2026-01-01", reason="a"), exception(expires="2026-10-01", reason="b")]
    masked = check_of(by_host(fleet_with(expired))["db1"], "KDUMP-013")
    assert masked["result"] == FAIL and masked["finding"].endswith("b) expired on 2026-10-01")


def test_the_report_lists_every_exception_with_its_hosts():
    fleet = fleet_with(
        [exception(), exception(hosts="nobody*", check="KDUMP-006"), exception(hosts="db2", expires="2026-01-01")]
    )
    assert fleet["exceptions"] == [
        {
            "index": 0,
            **DB_TIER,
            "expired": False,
            "excepted_hosts": ["db1", "db2"],
            "expired_hosts": [],
            "unused_hosts": [],
        },
        {
            "index": 1,
            "hosts": "nobody*",
            "check": "KDUMP-006",
            "reason": "STIG RHEL-09-213115 applies to the database tier",
            "approved_by": "ISSO J. Doe",
            "expires": "2026-12-31",
            "expired": False,
            "excepted_hosts": [],
            "expired_hosts": [],
            "unused_hosts": [],
        },
        {
            "index": 2,
            "hosts": "db2",
            "check": "KDUMP-013",
            "reason": "STIG RHEL-09-213115 applies to the database tier",
            "approved_by": "ISSO J. Doe",
            "expires": "2026-01-01",
            "expired": True,
            # db2 is excepted by entry 0, which lasts longer: entry 2 decided nothing
            "excepted_hosts": [],
            "expired_hosts": [],
            "unused_hosts": [],
        },
    ]
    assert fleet["version"] == 2


def test_an_invalid_list_stops_the_evaluation():
    with pytest.raises(AuditExceptionsError, match=r"kdump_audit_exceptions\[0\]\.check"):
        fleet_with([exception(check="KDUMP-017")])


def test_excepting_every_check_on_the_recorded_dev_machine_leaves_only_the_unknown_one():
    """The state recorded on the development machine (not ready for six reasons, KDUMP-012 unknown)."""
    everything = [exception(hosts="*", check=check_id) for check_id in CHECK_IDS[1:]]
    fleet = fleet_with(everything, results={"localhost": registered(TEST_AUDIT.DEV_MACHINE_INFO)})
    (record,) = fleet["hosts"]
    results = {check["id"]: check["result"] for check in record["checks"]}
    assert {check_id for check_id, result in results.items() if result == EXCEPTED} == {
        "KDUMP-001",
        "KDUMP-002",
        "KDUMP-003",
        "KDUMP-004",
        "KDUMP-007",
        "KDUMP-008",
        "KDUMP-009",
        "KDUMP-014",
    }
    assert results["KDUMP-012"] == "unknown"  # nothing known to except
    assert record["status"] == DEGRADED
    assert record["reasons"] == ["KDUMP-012 kdump_info did not report kernel.kexec_load_disabled"]
    assert fleet["summary"]["excepted"] == 8
    assert len(fleet["exceptions"]) == 16
