"""Tests of the rolling batches (plugins/module_utils/_rolling.py, plugins/filter/rolling.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import sibling_tests
from ansible.executor.playbook_executor import PlaybookExecutor
from ansible_collections.kdump.fleet.plugins.filter.rolling import rolling_batches, rolling_gate
from ansible_collections.kdump.fleet.plugins.module_utils import _rolling

ready_info = sibling_tests.load("plugins/module_utils/test_audit.py").ready_info


def ansible_batches(serial, total):
    """The batch sizes ansible-core itself makes (PlaybookExecutor._get_serialized_batches)."""
    hosts = [f"h{i}" for i in range(total)]
    executor = SimpleNamespace(_inventory=SimpleNamespace(get_hosts=lambda pattern, order=None: list(hosts)))
    play = SimpleNamespace(hosts="all", order=None, serial=list(serial))
    return [len(batch) for batch in PlaybookExecutor._get_serialized_batches(executor, play)]


@pytest.mark.parametrize("total", [1, 2, 3, 9, 10, 11, 99, 200, 1000, 4999])
@pytest.mark.parametrize(
    "serial", [[1, "10%", "25%"], [1], ["100%"], [5, 50], ["1%"], [1, 10, "10%", "25%"], ["33%", "50%"]]
)
def test_the_plan_is_the_batches_ansible_core_makes(serial, total):
    assert _rolling.plan(serial, total) == ansible_batches(serial, total)


def test_the_default_plan_for_a_fleet_of_1000():
    assert _rolling.plan(_rolling.DEFAULT_SERIAL, 1000) == [1, 100, 250, 250, 250, 149]
    assert _rolling.plan_text(_rolling.DEFAULT_SERIAL, 1000) == "1000 hosts in 6 batches: 1, 100, 250, 250, 250, 149"
    assert _rolling.plan_text([1], 40).endswith("1, 1, 1, 1, 1, 1, 1, 1, 1, 1, ..., 1")
    assert _rolling.plan_text([1], 1) == "1 host in 1 batch: 1"


@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        (1, [1]),
        ("1", [1]),
        ([1, "10%", " 25% "], [1, "10%", "25%"]),
        (["100%"], ["100%"]),
        (["007%"], ["7%"]),
    ],
)
def test_batch_sizes_are_accepted_and_normalised(serial, expected):
    assert _rolling.check(serial, 0) == (expected, [])


@pytest.mark.parametrize(
    ("serial", "where"),
    [
        (0, "kdump_serial=0"),
        ([1, 0], "kdump_serial[1]=0"),
        ([1, "0%"], "kdump_serial[1]='0%'"),
        (["150%"], "kdump_serial[0]='150%'"),
        ([-1], "kdump_serial[0]=-1"),
        (["ten"], "kdump_serial[0]='ten'"),
        ([True], "kdump_serial[0]=True"),
        ([1.5], "kdump_serial[0]=1.5"),
        ([None], "kdump_serial[0]=None"),
        (["1; reboot"], "kdump_serial[0]='1; reboot'"),
    ],
)
def test_a_serial_that_is_not_a_batch_size_is_refused_naming_the_item(serial, where):
    _normalised, errors = _rolling.check(serial, 0)
    assert len(errors) == 1
    assert errors[0].startswith(where + " is not a batch size: give a whole number of hosts")


def test_an_empty_serial_and_a_bad_max_fail_percentage_are_refused():
    assert _rolling.check([], 0)[1] == ["kdump_serial is empty: give batch sizes, e.g. [1, '10%', '25%'] (the default)"]
    for bad in (-1, 101, "lots", True, None, [0]):
        errors = _rolling.check([1], bad)[1]
        assert len(errors) == 1 and errors[0].startswith("kdump_max_fail_percentage=")
        assert "must be a number from 0 to 100" in errors[0]
    assert _rolling.check([1], "25")[1] == [] and _rolling.check([1], 12.5)[1] == []


def test_the_filter_takes_the_safe_defaults_and_comma_separated_text():
    plan = rolling_batches(None, None, 1000)
    assert plan == {
        "serial": [1, "10%", "25%"],
        "max_fail_percentage": 0.0,
        "errors": [],
        "plan": "1000 hosts in 6 batches: 1, 100, 250, 250, 250, 149",
    }
    assert rolling_batches("1,10,25%", "5", 3)["serial"] == [1, 10, "25%"]
    bad = rolling_batches([1, "abc"], 0, 10)
    assert bad["errors"] and bad["plan"] == "" and bad["max_fail_percentage"] is None
    assert rolling_batches(None, None, 0)["plan"] == ""


def not_ready_info():
    info = ready_info()
    info["crashkernel"]["loaded"] = False
    return info


HOSTS_ALL = [f"web{i}" for i in range(12)]


def test_the_gate_passes_a_batch_whose_hosts_the_role_verified_ready():
    hostvars = {f"web{i}": {"__kdump_after": {"kdump": ready_info()}} for i in range(12)}
    # 12 hosts: batches 1, 1, 3, 3, 3, 1
    gate = rolling_gate(["web1"], hostvars, HOSTS_ALL, [1, "10%", "25%"])
    assert gate["passed"] is True and gate["ready"] == ["web1"]
    assert gate["msg"] == "batch 2 of 6 (1 host): 1 ready; the next batch starts"
    third = rolling_gate(["web2", "web3", "web4"], hostvars, HOSTS_ALL, [1, "10%", "25%"])
    assert third["msg"] == "batch 3 of 6 (3 hosts): 3 ready; the next batch starts"
    last = rolling_gate(["web11"], hostvars, HOSTS_ALL, [1, "10%", "25%"])
    assert last["msg"] == "batch 6 of 6 (1 host): 1 ready"


def test_the_gate_stops_on_a_host_that_is_not_ready_or_was_not_verified():
    hostvars = {
        "web0": {"__kdump_after": {"kdump": not_ready_info()}},
        "web1": {},  # verify skipped (--skip-tags kdump_verify)
        "web2": {"__kdump_after": {"kdump": ready_info()}},
    }
    gate = rolling_gate(["web0", "web1", "web2"], hostvars, HOSTS_ALL[:3], [3])
    assert gate["passed"] is False
    assert gate["msg"].startswith("batch 1 of 1 (3 hosts): 1 ready, 2 not ready; no new batch starts: web0: KDUMP-007")
    assert "web1: not verified (the role's kdump_verify step did not run; the rolling gate needs it)" in gate["msg"]


def test_hosts_awaiting_an_allowed_reboot_do_not_fail_the_gate_and_kdump_off_is_judged_as_off():
    off = ready_info()
    off["crashkernel"].update(loaded=False, reserved_bytes=0, cmdline=None, configured=None)
    off["service"].update(enabled=False, active=False)
    hostvars = {
        "web0": {"kdump_reboot_required": True},
        "web1": {"kdump_enabled": False, "__kdump_after": {"kdump": off}},
    }
    gate = rolling_gate(["web0", "web1"], hostvars, HOSTS_ALL[:2], ["100%"])
    assert gate["passed"] is True, gate
    assert gate["awaiting_reboot"] == ["web0"]
    assert gate["msg"] == "batch 1 of 1 (2 hosts): 1 ready, 1 await a reboot (kdump_reboot_ok is false)"


def test_hosts_that_left_the_batch_are_found_and_judged():
    """ansible_play_batch leaves out unreachable and failed hosts, and those that ended awaiting a reboot."""
    hostvars = {
        "web2": {"__kdump_after": {"kdump": ready_info()}},
        "web3": {"kdump_reboot_required": "True"},  # ended the play: meta end_host
        "web4": {},  # unreachable: nothing registered
    }
    # 12 hosts, [1, 1, 3, ...]: web2-web4 are batch 3; only web2 is still in the play
    gate = rolling_gate(["web2"], hostvars, HOSTS_ALL, [1, "10%", "25%"])
    assert gate["passed"] is False
    assert gate["ready"] == ["web2"] and gate["awaiting_reboot"] == ["web3"]
    assert gate["problems"] == ["web4: did not get through the role (unreachable or failed; its error is above)"]
    assert gate["msg"].startswith("batch 3 of 6 (3 hosts): 1 ready, 1 await a reboot (kdump_reboot_ok is false), 1 not")


def test_kdump_enabled_is_read_as_the_role_reads_it():
    off = ready_info()
    off["crashkernel"].update(loaded=False, reserved_bytes=0, cmdline=None, configured=None)
    off["service"].update(enabled=False, active=False)
    for spelling in ("n", "no", "false", "f", "0", False):
        hostvars = {"web0": {"kdump_enabled": spelling, "__kdump_after": {"kdump": off}}}
        assert rolling_gate(["web0"], hostvars, ["web0"], [1])["passed"] is True, spelling


def test_in_check_mode_the_gate_does_not_ask_for_a_verdict():
    gate = rolling_gate(["web0"], {"web0": {}}, HOSTS_ALL, [1], check_mode=True)
    assert gate["passed"] is True and gate["ready"] == ["web0"]
