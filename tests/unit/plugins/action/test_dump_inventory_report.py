"""Tests of the kdump.fleet.dump_inventory_report action plugin, run the way the task executor runs it."""

from __future__ import annotations

import json
import stat

import pytest
from ansible.errors import AnsibleActionFail
from ansible_collections.kdump.fleet.plugins.action.dump_inventory_report import ActionModule
from conftest import run_controller_action

PANIC = "Kernel panic - not syncing: sysrq triggered crash"


def run_action(args, task_vars):
    return run_controller_action(ActionModule, "kdump.fleet.dump_inventory_report", args, task_vars)


def listing(host, stored_on, stamp, crash_time):
    directory = f"/srv/kdump/dumps/{host}/{stamp}"
    return {
        "host": host, "stored_on": stored_on, "dir": directory, "path": f"{directory}/dump.{stamp}",
        "complete": True, "size": 50941144, "mtime": float(crash_time + 90), "format": "flattened",
        "crash_time": crash_time, "crash_time_source": "vmcoreinfo", "kernel": "6.1.0-50-amd64",
        "origin": "crash", "panic": PANIC, "first_error": None, "last_messages": [PANIC],
        "log_path": f"{directory}/dmesg.{stamp}", "log_source": "saved", "log_problem": None,
    }  # fmt: skip


def hostvars():
    old = listing("kdump-c12", "kdump-dumps", "202612010000", 1796083200)
    new = listing("kdump-c12", "kdump-dumps", "202612022335", 1796254495)
    plan = [{"host": "kdump-c12", "stored_on": "kdump-dumps", "dir": old["dir"], "reason": "older"}]
    return {
        "kdump-dumps": {
            "listing": {"changed": False, "places": [], "dumps": [new, old], "retention": plan, "errors": []},
            "removed": plan,
        },
        "kdump-c12": {"listing": {"changed": False, "places": [], "dumps": [], "retention": [], "errors": []}},
        "kdump-c13": {},  # unreachable: nothing registered
    }


def test_the_fleet_inventory_is_written_from_hostvars(tmp_path):
    report_dir = tmp_path / "reports"
    result = run_action(
        {
            "result_var": "listing",
            "removed_var": "removed",
            "hosts": ["kdump-dumps", "kdump-c12", "kdump-c13"],
            "report_dir": str(report_dir),
            "keep": 1,
            "apply": True,
        },
        {"hostvars": hostvars()},
    )
    assert result["changed"] is False
    assert result["summary"]["dumps"] == 2 and result["summary"]["places_not_listed"] == 1
    assert [d["crash_time"] for d in result["dumps"]] == [1796254495, 1796083200]
    assert result["retention"]["applied"] is True and len(result["retention"]["removed"]) == 1
    assert "removed 1 dump directory" in result["markdown"]
    saved = json.loads((report_dir / "kdump-dumps.json").read_text())
    assert saved["summary"] == result["summary"]
    assert {p["host"]: p["status"] for p in saved["places"]} == {
        "kdump-c12": "listed",
        "kdump-c13": "failed",
        "kdump-dumps": "listed",
    }
    assert stat.S_IMODE(report_dir.stat().st_mode) == 0o700


def test_an_unwritable_report_dir_names_the_variable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(AnsibleActionFail, match="set kdump_dumps_report_dir to a writable directory"):
        run_action({"result_var": "listing", "report_dir": str(blocker / "sub")}, {"hostvars": hostvars()})
    with pytest.raises(AnsibleActionFail, match="set kdump_analyze_report_dir to a writable directory"):
        run_action(
            {
                "result_var": "listing",
                "report_dir": str(blocker / "sub"),
                "report_dir_variable": "kdump_analyze_report_dir",
            },
            {"hostvars": hostvars()},
        )


def test_a_result_that_is_not_a_listing_fails_the_task(tmp_path):
    with pytest.raises(AnsibleActionFail, match="web01: the result's dumps are not a dump_inventory list"):
        run_action(
            {"result_var": "listing", "report_dir": str(tmp_path)},
            {"hostvars": {"web01": {"listing": {"dumps": "nope"}}}},
        )
