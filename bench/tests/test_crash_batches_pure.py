"""The pure parts of bench/crash_batches.py: the bound, the run record, the verdict and the table."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import crash_batches as bench  # noqa: E402


def _report(results, passed=True):
    return {
        "verdict": {"passed": passed},
        "hosts": [{"host": h, "result": r, "trigger_to_up_s": 150.0, "phases": {"host down": 3}} for h, r in results],
    }


def _run(hosts, batch, wall, passed=True):
    results = [(h, "success" if passed else "failed") for h in hosts]
    return bench.run_record("x", hosts, batch, wall, _report(results, passed))


def test_the_bound_is_the_number_of_batches_times_the_single_time_with_slack():
    assert bench.batch_bound(2, 2, 200.0) == pytest.approx(240.0)
    assert bench.batch_bound(2, 1, 200.0) == pytest.approx(480.0)
    assert bench.batch_bound(5, 2, 100.0) == pytest.approx(360.0)  # ceil(5/2) = 3 batches
    with pytest.raises(ValueError, match="at least 1"):
        bench.batch_bound(2, 0, 100.0)


def test_the_run_record_keeps_each_hosts_result_from_the_report():
    record = bench.run_record(
        "batch", ["c12", "c13"], 2, 251.04, _report([("c12", "success"), ("c13", "failed")], False)
    )
    assert record["wall_s"] == 251.0 and record["passed"] is False
    assert record["results"] == {"c12": "success", "c13": "failed"}
    assert record["phases"]["c12"] == {"host down": 3}
    # No report file (the playbook stopped before its summary): not passed, no results.
    assert bench.run_record("batch", ["c12"], 1, 10.0, None)["passed"] is False


def test_the_slowest_single_run_sets_the_bound():
    singles = [_run(["c12"], 1, 180.0), _run(["c13"], 1, 220.0)]
    summary = bench.summarise(singles, [_run(["c12", "c13"], 2, 250.0), _run(["c12", "c13"], 1, 600.0)])
    assert summary["single_s"] == 220.0
    one_batch, two_batches = summary["rows"]
    assert (one_batch["bound_s"], one_batch["ratio"], one_batch["within"]) == (264.0, 0.95, True)
    assert (two_batches["batches"], two_batches["bound_s"], two_batches["within"]) == (2, 528.0, False)
    table = bench.render_table(singles, summary)
    assert "single-host time (the slowest): 220.0 s" in table
    assert "within" in table and "OVER" in table


def test_a_failed_batch_is_not_within_however_fast():
    summary = bench.summarise([_run(["c12"], 1, 200.0)], [_run(["c12", "c13"], 2, 10.0, passed=False)])
    assert summary["rows"][0]["within"] is False
    assert "FAILED run" in bench.render_table([_run(["c12"], 1, 200.0)], summary)


def test_a_failed_single_run_gives_no_bound():
    singles = [_run(["c12"], 1, 200.0, passed=False)]
    summary = bench.summarise(singles, [_run(["c12", "c13"], 2, 250.0)])
    assert summary["rows"] == [] and "no single-host time" in summary["error"]
    assert "FAILED" in bench.render_table(singles, summary)


def test_arguments():
    args = bench.parse_args(["--batch", "1", "--batch", "2"])
    assert args.batch == [1, 2] and args.hosts == "kdump_clients"
    with pytest.raises(SystemExit):
        bench.parse_args(["--batch", "0"])


def test_a_host_that_is_not_a_running_lab_vm_on_its_port_is_stale():
    rows = [
        {"name": "demo-c12", "state": "running", "ssh_port": 40001},
        {"name": "demo-c13", "state": "stopped", "ssh_port": 40002},
        {"name": "kdump-debian12", "state": "running", "ssh_port": 40003},
    ]
    ports = {"demo-c12": 40001, "demo-c13": 40002, "demo-dumps": 40003}
    # c13 is stopped; demo-dumps's port now belongs to another VM: both would crash the wrong machine
    assert bench.stale_hosts(ports, rows) == ["demo-c13", "demo-dumps"]
    assert bench.stale_hosts({"demo-c12": 40001}, rows) == []


def test_inventory_ports_read_every_group_of_the_demo_inventory(tmp_path):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        '{"all": {"children": {"dump_servers": {"hosts": {"demo-dumps": {"ansible_port": 40003}}},'
        ' "kdump_clients": {"hosts": {"demo-c12": {"ansible_port": "40001"}}, "vars": {}}}}}'
    )
    assert bench.inventory_ports(inventory) == {"demo-dumps": 40003, "demo-c12": 40001}
    missing_ok, why = bench.lab_is_up(tmp_path / "nothing.yml")
    assert (missing_ok, why) == (False, "it does not exist")
