"""Tests of the kdump.fleet.audit_report action plugin, run the way the task executor runs it."""

from __future__ import annotations

import datetime
import importlib.util
import json
import os
import pathlib
import xml.etree.ElementTree as ET

import pytest
from ansible.errors import AnsibleActionFail
from ansible_collections.kdump.fleet.plugins.action.audit_report import ActionModule
from conftest import run_controller_action


def _sibling(name):
    """A unit test module by path (the tests run in importlib mode, so no plain import)."""
    path = pathlib.Path(__file__).parents[1] / "module_utils" / (name + ".py")
    spec = importlib.util.spec_from_file_location("kdump_fleet_action_tests_" + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def healthy_kdump():
    """kdump_info's state of a ready host (test_audit's), crash-tested a day ago by the real clock."""
    state = _sibling("test_audit").ready_info()
    yesterday = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    state["crash_test"]["time"] = yesterday.isoformat(timespec="seconds")
    return state


def run_action(args, task_vars=None, check_mode=False):
    return run_controller_action(ActionModule, "kdump.fleet.audit_report", args, task_vars, check_mode)


def fleet_args(**extra):
    args = {
        "results": {
            "web1": {"changed": False, "kdump": healthy_kdump()},
            "web2": {"unreachable": True, "msg": "Failed to connect to the host via ssh"},
        },
        "hosts": ["web1", "web2", "web3"],
    }
    args.update(extra)
    return args


def test_reports_are_written_relative_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_action(fleet_args(), task_vars={"playbook_dir": "/nowhere"})
    report_dir = tmp_path / "kdump-audit-reports"
    assert result["reports"] == {
        "json": str(report_dir / "kdump-audit.json"),
        "junit": str(report_dir / "kdump-audit.junit.xml"),
        "markdown": str(report_dir / "kdump-audit.md"),
        "html": str(report_dir / "kdump-audit.html"),
    }
    assert result["changed"] is False
    assert result["hosts"]["web1"] == {"status": "ready", "reasons": []}
    assert result["hosts"]["web2"]["status"] == "not_ready"
    assert result["hosts"]["web2"]["reasons"] == ["KDUMP-000 unreachable: Failed to connect to the host via ssh"]
    assert result["hosts"]["web3"]["reasons"][0].startswith("KDUMP-000 unreachable: no kdump_info result")
    saved = json.loads((report_dir / "kdump-audit.json").read_text())
    assert [h["host"] for h in saved["hosts"]] == ["web1", "web2", "web3"]
    assert ET.parse(report_dir / "kdump-audit.junit.xml").getroot().get("tests") == str(17 + 1 + 1)
    assert (report_dir / "kdump-audit.md").read_text().startswith("# kdump readiness audit")


def test_summary_gate_and_printed_markdown(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_action(fleet_args(min_ready_percent="30"))
    assert result["summary"]["ready"] == 1 and result["summary"]["total"] == 3
    assert result["gate_passed"] is True  # 1 of 3 = 33.3 % >= 30
    assert (
        result["gate_message"]
        == "kdump readiness gate passed: 1 of 3 hosts ready (33.3 %), kdump_audit_min_ready_percent is 30"
    )
    assert "## Not ready hosts (2)" in result["markdown"]
    assert result["markdown"].endswith(f"- html: {result['reports']['html']}\n")
    failed = run_action(fleet_args())
    assert failed["gate_passed"] is False
    assert "failed" not in failed  # the plugin reports; the role's assert fails the play


def test_check_mode_gives_the_same_result_and_reports(tmp_path):
    normal = run_action(fleet_args(report_dir=str(tmp_path / "a")))
    checked = run_action(fleet_args(report_dir=str(tmp_path / "b")), check_mode=True)
    assert checked["summary"] == normal["summary"]
    assert checked["hosts"] == normal["hosts"]
    assert sorted(os.listdir(tmp_path / "b")) == sorted(os.listdir(tmp_path / "a"))


def test_absolute_and_home_report_dirs(tmp_path, monkeypatch):
    result = run_action(
        fleet_args(report_dir=str(tmp_path / "abs"), formats=["json"]), task_vars={"playbook_dir": "/nowhere"}
    )
    assert result["reports"] == {"json": str(tmp_path / "abs" / "kdump-audit.json")}
    monkeypatch.setenv("HOME", str(tmp_path))
    result = run_action(fleet_args(report_dir="~/reports", formats=["markdown"]))
    assert result["reports"] == {"markdown": str(tmp_path / "reports" / "kdump-audit.md")}


def test_settings_reach_the_evaluation(tmp_path):
    args = fleet_args(
        report_dir=str(tmp_path),
        required_checks=["KDUMP-001"],
        disabled_checks=["KDUMP-014"],
        unknown_status="not_ready",
        summary_max_hosts=0,
    )
    args["results"]["web1"]["kdump"]["service"]["active"] = False  # KDUMP-002, now advisory
    result = run_action(args)
    assert result["hosts"]["web1"]["status"] == "degraded"
    assert "- ... and 2 more not ready hosts" in result["markdown"]
    saved = json.loads((tmp_path / "kdump-audit.json").read_text())
    assert saved["settings"]["unknown_status"] == "not_ready"
    web1 = next(h for h in saved["hosts"] if h["host"] == "web1")
    assert next(c for c in web1["checks"] if c["id"] == "KDUMP-014")["result"] == "not_applicable"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"reserved_max_ratio": 0.5}, "kdump_audit_reserved_max_ratio must be at least 1"),
        ({"disabled_checks": ["KDUMP-000"]}, "KDUMP-000 (host audited) cannot be disabled"),
        ({"formats": ["pdf"]}, "formats"),
        ({"required_checks": ["KDUMP-99"]}, "required_checks"),
        ({"min_ready_percent": "lots"}, "min_ready_percent"),
        ({"summary_max_hosts": -1}, "summary_max_hosts must be 0 or more"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_invalid_arguments_fail_with_the_name(tmp_path, extra, message):
    with pytest.raises(AnsibleActionFail) as error:
        run_action(fleet_args(report_dir=str(tmp_path), **extra))
    assert message in str(error.value)
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_results_are_required():
    with pytest.raises(AnsibleActionFail) as error:
        run_action({"hosts": ["a"]})
    assert "results" in str(error.value)


def test_unwritable_report_dir_names_the_variable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(AnsibleActionFail) as error:
        run_action(fleet_args(report_dir=str(blocker / "reports")))
    assert "set kdump_audit_report_dir to a writable directory" in str(error.value)


def test_result_var_reads_every_host_from_hostvars(tmp_path):
    hostvars = {
        "web1": {"kdump_facts": {"changed": False, "kdump": healthy_kdump()}},
        "web2": {"kdump_facts": {"unreachable": True, "msg": "Failed to connect to the host via ssh"}},
        "web3": {},
    }
    args = {"result_var": "kdump_facts", "hosts": ["web1", "web2", "web3", "web4"], "report_dir": str(tmp_path)}
    result = run_action(args, task_vars={"hostvars": hostvars})
    assert {host: state["status"] for host, state in result["hosts"].items()} == {
        "web1": "ready", "web2": "not_ready", "web3": "not_ready", "web4": "not_ready",
    }  # fmt: skip
    assert "unreachable" in result["hosts"]["web2"]["reasons"][0]


def test_results_and_result_var_are_exclusive(tmp_path):
    with pytest.raises(AnsibleActionFail, match="exactly one of results and result_var"):
        run_action(fleet_args(result_var="kdump_facts", report_dir=str(tmp_path)))
    with pytest.raises(AnsibleActionFail, match="exactly one of results and result_var"):
        run_action({"hosts": ["web1"], "report_dir": str(tmp_path)})


def masked_kdump():
    state = healthy_kdump()
    state["service"].update(masked=True, unit_file_state="masked")
    return state


def test_exceptions_by_group_come_from_the_plays_groups(tmp_path):
    args = {
        "results": {"db1": {"kdump": masked_kdump()}, "db2": {"kdump": masked_kdump()}},
        "hosts": ["db1", "db2"],
        "report_dir": str(tmp_path),
        "exceptions": [
            {
                "hosts": "dbservers:&prod",
                "check": "KDUMP-013",
                "reason": "STIG service_kdump_disabled applies",
                "approved_by": "ISSO",
                # an unquoted YAML date reaches the action as a date
                "expires": datetime.date(2099, 12, 31),
            }
        ],
    }
    groups = {"all": ["db1", "db2"], "dbservers": ["db1", "db2"], "prod": ["db1"]}
    result = run_action(args, task_vars={"groups": groups})
    assert result["hosts"]["db1"]["status"] == "ready"
    assert result["hosts"]["db2"]["status"] == "not_ready"
    assert result["summary"]["excepted"] == 1
    saved = json.loads((tmp_path / "kdump-audit.json").read_text())
    assert saved["exceptions"][0]["excepted_hosts"] == ["db1"]
    assert saved["exceptions"][0]["expires"] == "2099-12-31"
    skipped = (
        ET.parse(tmp_path / "kdump-audit.junit.xml")
        .getroot()
        .find(
            "testsuite[@name='db1']/testcase[@name='KDUMP-013 kdump service not masked by a hardening profile']/skipped"
        )
    )
    assert skipped.get("type") == "excepted"
    assert "STIG service_kdump_disabled applies" in skipped.get("message")


@pytest.mark.parametrize(
    ("exceptions", "message"),
    [
        (
            [{"hosts": "web1", "check": "KDUMP-99", "reason": "r", "approved_by": "a", "expires": "2099-01-01"}],
            "kdump_audit_exceptions[0].check: unknown check ID 'KDUMP-99'",
        ),
        (
            [{"hosts": "web1", "check": "KDUMP-014", "reason": "r", "approved_by": "a", "expires": "01/01/2099"}],
            "kdump_audit_exceptions[0].expires must be the last day the exception is valid, as YYYY-MM-DD",
        ),
        (
            [{"hosts": "web1", "check": "KDUMP-014", "approved_by": "a", "expires": "2099-01-01"}],
            "kdump_audit_exceptions[0]: missing reason",
        ),
        ("KDUMP-014", "kdump_audit_exceptions must be a list of exceptions"),
    ],
)
def test_invalid_exceptions_fail_before_any_report_is_written(tmp_path, exceptions, message):
    with pytest.raises(AnsibleActionFail) as error:
        run_action(fleet_args(report_dir=str(tmp_path), exceptions=exceptions))
    assert message in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_previous_report_fails_before_any_report_is_written(tmp_path):
    missing = tmp_path / "nowhere" / "kdump-audit.json"
    with pytest.raises(AnsibleActionFail) as error:
        run_action(fleet_args(report_dir=str(tmp_path / "reports"), previous_report=str(missing)))
    assert str(error.value).startswith(f"kdump_audit_previous_report: {missing} does not exist;")
    assert not (tmp_path / "reports").exists()


def test_the_previous_report_may_be_the_one_this_run_replaces(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = run_action(fleet_args())
    assert first["drift"] is None
    args = fleet_args(previous_report="kdump-audit-reports/kdump-audit.json")
    args["results"]["web1"]["kdump"]["crashkernel"]["loaded"] = False
    del args["results"]["web2"]
    args["hosts"] = ["web1", "web2", "web4"]
    second = run_action(args)
    drift = second["drift"]
    assert drift["previous"]["path"] == str(tmp_path / "kdump-audit-reports" / "kdump-audit.json")
    assert [c["host"] for c in drift["newly_not_ready"]] == ["web1"]
    assert drift["appeared"] == [{"host": "web4", "status": "not_ready"}]
    assert drift["disappeared"] == [{"host": "web3", "status": "not_ready"}]
    assert "## Since the previous audit" in second["markdown"]
    saved = json.loads((tmp_path / "kdump-audit-reports" / "kdump-audit.json").read_text())
    assert saved["drift"] == drift
    assert saved["version"] == 2
