"""Pure fleet decisions of the crash-test playbook: host selection, summary, verdict, batch stop rule."""

from __future__ import annotations

import fnmatch

import pytest
from ansible_collections.kdump.fleet.plugins.module_utils import _crash_test_fleet as fleet

GROUPS = {"web": ["web01", "web02", "web03"], "db": ["db01"], "empty": []}
HOSTS = ["web01", "web02", "web03", "db01"]


def fake_match(term):
    """Enough of Ansible's matching for the pure tests: groups, host names, fnmatch patterns."""
    if term == "all":
        return list(HOSTS)
    if term in GROUPS:
        return list(GROUPS[term])
    if fleet.is_pattern(term):
        return [h for h in HOSTS if fnmatch.fnmatchcase(h, term)]
    return [term] if term in HOSTS else []


def fake_select(terms):
    chosen = []
    for term in terms:
        if term.startswith("!"):
            chosen = [h for h in chosen if h not in fake_match(term[1:])]
        elif term.startswith("&"):
            chosen = [h for h in chosen if h in fake_match(term[1:])]
        else:
            chosen += [h for h in fake_match(term) if h not in chosen]
    return chosen


def select(spec, **kwargs):
    kwargs.setdefault("confirm", True)
    return fleet.select_hosts(spec, fake_match, fake_select, HOSTS, list(GROUPS) + ["all"], **kwargs)


@pytest.mark.parametrize(
    ("spec", "terms"),
    [
        ("web01,web02", ["web01", "web02"]),
        ("web:!web03", ["web", "!web03"]),
        ("web[0:1]:db01", ["web[0:1]", "db01"]),
        ("fe80::1", ["fe80::1"]),
        (["web01", "web02, db01"], ["web01", "web02", "db01"]),
        (" web01 , ,", ["web01"]),
    ],
)
def test_split_terms(spec, terms):
    assert fleet.split_terms(spec) == (terms, [])


def test_split_terms_refuses_other_types():
    errors = fleet.split_terms({"web01": 1})[1]
    assert errors == ["kdump_crash_test_hosts must be a host pattern or a list of them, got dict"]
    assert fleet.split_terms(["web01", 3])[0] == ["web01"]
    assert "every list element" in fleet.split_terms(["web01", 3])[1][0]


@pytest.mark.parametrize(("term", "pattern"), [("web*", True), ("~web0[12]", True), ("web[1]", True), ("!db?", True)])
def test_is_pattern(term, pattern):
    assert fleet.is_pattern(term) is pattern
    assert fleet.is_pattern("web01") is False


def test_one_host_needs_no_count():
    assert select("web01") == {"hosts": ["web01"], "errors": []}


def test_a_typo_is_refused_with_the_nearest_name():
    result = select("web01,web02x")
    assert result["hosts"] == []
    assert result["errors"] == [
        "kdump_crash_test_hosts names web02x, which is neither a host nor a group of the inventory "
        "(did you mean web02?); fix the name, every named host must exist"
    ]


def test_a_typo_in_an_exclusion_is_refused_too():
    # all:!db01x would otherwise crash db01 as well.
    result = select("all:!db01x", confirm_count=4)
    assert result["hosts"] == []
    assert "names db01x" in result["errors"][0]
    assert "did you mean db01?" in result["errors"][0]


def test_the_list_form_works():
    assert select(["web01", "db01"], confirm_count=2) == {"hosts": ["web01", "db01"], "errors": []}


def test_patterns_and_groups_must_match_hosts():
    errors = select("web9*,empty").get("errors")
    assert errors == [
        "kdump_crash_test_hosts pattern web9* matches no host of the inventory",
        "kdump_crash_test_hosts names the group empty, which has no hosts",
    ]


def test_more_hosts_than_a_batch_need_the_count():
    result = select("all")
    assert result["hosts"] == []
    assert result["errors"] == [
        "kdump_crash_test_hosts=all selects 4 hosts (web01, web02, web03, db01), more than one batch of "
        "kdump_crash_test_serial=1; check the list and confirm the count with -e kdump_crash_test_confirm_count=4"
    ]
    assert select("all", confirm_count="4") == {"hosts": HOSTS, "errors": []}
    assert select("web", serial=3)["hosts"] == ["web01", "web02", "web03"]


def test_a_wrong_count_is_refused_even_within_one_batch():
    result = select("web01", confirm_count=2)
    assert result["errors"] == [
        "kdump_crash_test_confirm_count=2, but kdump_crash_test_hosts=web01 selects 1 host (web01); check the "
        "list and set -e kdump_crash_test_confirm_count=1 if it is right"
    ]


def test_the_message_names_the_first_20_hosts():
    many = [f"h{i:02d}" for i in range(25)]
    result = fleet.select_hosts("h*", lambda t: many, lambda ts: many, many, ["all"], confirm=True)
    message = result["errors"][0]
    assert "selects 25 hosts (h00, h01," in message
    assert "h19 and 5 more)" in message
    assert "h20" not in message


def test_missing_hosts_or_confirmation():
    assert "Name the hosts" in select(None)["errors"][0]
    assert "Name the hosts" in select([])["errors"][0]
    assert select("web01", confirm=False)["errors"] == [
        "The crash test panics the kernel of every host it runs on; confirm with -e kdump_crash_test_confirm=true."
    ]
    assert select("web01", confirm="true")["hosts"] == ["web01"]
    assert select("web01", confirm="maybe")["errors"] == ["kdump_crash_test_confirm must be true or false, got 'maybe'"]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"serial": 0}, "kdump_crash_test_serial must be at least 1, got 0"),
        ({"serial": "50%"}, "kdump_crash_test_serial must be a whole number of at least 1, got '50%'"),
        ({"confirm_count": "three"}, "kdump_crash_test_confirm_count must be a whole number of at least 1"),
        ({"max_fail": 150}, "kdump_crash_test_max_fail_percentage must be a number from 0 to 100, got 150"),
        ({"max_fail": "x"}, "kdump_crash_test_max_fail_percentage must be a number from 0 to 100"),
    ],
)
def test_bad_numbers_are_refused(kwargs, error):
    errors = select("web01", **kwargs)["errors"]
    assert any(e.startswith(error) for e in errors), errors


def test_a_selection_that_ends_empty_is_refused():
    assert select("web:!web")["errors"] == ["kdump_crash_test_hosts=web:!web selects no host of the inventory"]


def test_hosts_outside_the_inventory_are_dropped():
    # The implicit localhost matches in Ansible but is not a host of the inventory: a plain name must exist.
    def implicit(pattern):
        del pattern
        return ["localhost"]

    result = fleet.select_hosts("localhost", implicit, implicit, HOSTS, ["all"], confirm=True)
    assert "names localhost, which is neither a host nor a group" in result["errors"][0]


def test_an_invalid_pattern_is_reported():
    def broken(term):
        raise ValueError("unbalanced parenthesis")

    result = fleet.select_hosts("~web(", broken, broken, HOSTS, ["all"], confirm=True)
    assert result["errors"] == ["kdump_crash_test_hosts: ~web( is not a valid pattern: unbalanced parenthesis"]


# ---------------------------------------------------------------- results

SUCCESS = {
    "changed": True,
    "crashed": True,
    "msg": "crashed on purpose and back",
    "trigger_to_up_s": 113.2,
    "trigger_to_dump_s": 78,
    "dump_path": "/var/crash/202611221330/dump.202611221330",
    "dump_bytes": 31562138,
    "dump_ram_share": 0.0147,
}
FAILED = {"failed": True, "crashed": True, "msg": "no new dump appeared in /var/crash"}
CHECK = {"changed": True, "crashed": False, "msg": "check mode: would crash web01"}


@pytest.mark.parametrize(
    ("result", "check_mode", "status"),
    [
        (SUCCESS, False, "success"),
        (FAILED, False, "failed"),
        ({"unreachable": True, "msg": "ssh: no route"}, False, "failed"),
        (CHECK, True, "check mode"),
        ({}, False, "not tested"),
        (None, True, "not tested"),
        ({"skipped": True, "skip_reason": "Conditional result was False"}, False, "not tested"),
        # Not failed and not crashed outside check mode is no pass (the old Jinja called it "check mode").
        ({"changed": False, "crashed": False}, False, "not tested"),
    ],
)
def test_host_status(result, check_mode, status):
    assert fleet.host_status(result, check_mode) == status


def test_summary_rows_and_lines():
    rows = fleet.summary_rows(["web01", "web02", "web03"], [SUCCESS, FAILED, {}])
    assert [r["result"] for r in rows] == ["success", "failed", "not tested"]
    assert rows[0]["line"] == (
        "web01: success, back 113.2 s and dump written 78 s after the trigger, 30.1 MiB (1.5 % of RAM), "
        "/var/crash/202611221330/dump.202611221330"
    )
    assert rows[1]["line"] == "web02: failed - no new dump appeared in /var/crash"
    assert rows[2]["line"] == "web03: not tested - " + fleet.NOT_TESTED_MSG
    assert rows[2]["msg"] == fleet.NOT_TESTED_MSG
    assert rows[0]["dump_bytes"] == 31562138
    assert rows[2]["dump_path"] is None


def test_summary_rows_take_a_dict_and_short_lists():
    rows = fleet.summary_rows(["web01", "web02"], {"web01": SUCCESS})
    assert [r["result"] for r in rows] == ["success", "not tested"]
    assert fleet.summary_rows(["web01"], [])[0]["result"] == "not tested"


def test_summary_line_without_ram_share():
    row = fleet.summary_row("web01", dict(SUCCESS, dump_ram_share=None))
    assert "MiB, /var/crash" in row["line"]


def test_a_dump_on_the_dump_server_names_the_server():
    # The result of the lab's SSH cell (debian12 client c12 to dump server srv, 2026-12-02).
    result = dict(
        SUCCESS,
        trigger_to_up_s=266.9,
        trigger_to_dump_s=156.3,
        dump_bytes=48388457,
        dump_ram_share=0.03,
        dump_path="/srv/kdump/dumps/c12/10.77.0.21-202612021439/dump.202612021439",
        dump={"server": "srv", "location": "/srv/kdump/dumps/c12 on the dump server srv"},
    )
    row = fleet.summary_row("c12", result)
    assert row["line"] == (
        "c12: success, back 266.9 s and dump written 156.3 s after the trigger, 46.1 MiB (3.0 % of RAM), "
        "/srv/kdump/dumps/c12/10.77.0.21-202612021439/dump.202612021439 on the dump server srv"
    )
    assert row["dump_server"] == "srv"
    assert fleet.summary_row("web01", SUCCESS)["dump_server"] is None


def test_check_mode_rows():
    row = fleet.summary_row("web01", CHECK, check_mode=True)
    assert row["line"] == "web01: check mode - check mode: would crash web01"


def test_verdict():
    rows = fleet.summary_rows(["web01", "web02"], [SUCCESS, FAILED])
    assert fleet.verdict(rows) == {"passed": False, "not_passed": ["web02"], "msg": "1 of 2 hosts did not pass: web02"}
    ok = fleet.summary_rows(["web01"], [SUCCESS])
    assert fleet.verdict(ok) == {"passed": True, "not_passed": [], "msg": "All 1 hosts passed the crash test."}
    check = fleet.summary_rows(["web01"], [CHECK], check_mode=True)
    assert fleet.verdict(check, check_mode=True)["msg"] == (
        "Check mode: all 1 hosts would be crash-tested; nothing was crashed."
    )
    assert fleet.verdict([])["passed"] is False


@pytest.mark.parametrize(
    ("results", "max_fail", "stop"),
    [
        ([], 0, False),
        ([{}, {}], 0, False),
        ([SUCCESS, {}], 0, False),
        ([FAILED, {}], 0, True),
        ([SUCCESS, FAILED], 50, False),  # 50 % failed is not more than 50 %
        ([SUCCESS, FAILED, FAILED], 50, True),
        ([FAILED], 100, False),
        ([SUCCESS, FAILED, {}], "49.5", True),
        ([{"unreachable": True}], 0, True),
    ],
)
def test_stop_batches(results, max_fail, stop):
    assert fleet.stop_batches(results, max_fail) is stop


def test_stop_batches_in_check_mode_counts_check_results_as_passed():
    assert fleet.stop_batches([CHECK, CHECK], 0, check_mode=True) is False


def test_stop_batches_refuses_a_bad_percentage():
    with pytest.raises(ValueError, match="from 0 to 100"):
        fleet.stop_batches([], "lots")
