"""Tests of the kdump.fleet.audit_merge action and playbook: slices on disk, merged as AWX would run it.

The action is run the way the task executor runs it; the playbook kdump.fleet.audit_merge runs for real
with ansible-playbook against the slices' files (it reads no host).
"""

from __future__ import annotations

import json
import os
import shutil

import pytest
import sibling_tests
from ansible.errors import AnsibleActionFail
from ansible_collections.kdump.fleet.plugins.action.audit_merge import ActionModule
from ansible_collections.kdump.fleet.plugins.module_utils._audit_reports import render_json
from conftest import run_controller_action, run_playbook

merge_tests = sibling_tests.load("plugins/module_utils/test_audit_merge.py")


def write_slices(directory, count=3):
    """The fleet of the merge tests audited in count slices, each in its own report directory."""
    results = merge_tests.fleet_results()
    names = list(results)
    paths = []
    for index in range(count):
        path = directory / f"slice-{index}" / "kdump-audit.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(merge_tests.audit(results, names[index::count])))
        paths.append(path)
    return paths, merge_tests.audit(results, names)


def run_action(args):
    return run_controller_action(ActionModule, "kdump.fleet.audit_merge", args)


def without_generated(report):
    return {key: value for key, value in report.items() if key != "generated"}


def test_a_glob_over_the_slices_writes_the_unsliced_report(tmp_path):
    paths, whole = write_slices(tmp_path)
    result = run_action(
        {
            "reports": [str(tmp_path / "slice-*" / "kdump-audit.json")],
            "report_dir": str(tmp_path / "fleet"),
            "min_ready_percent": 60,
        }
    )
    assert result["slices"] == [str(p) for p in paths]
    merged = json.loads((tmp_path / "fleet" / "kdump-audit.json").read_text())
    assert without_generated(merged) == without_generated(whole)
    assert sorted(os.listdir(tmp_path / "fleet")) == sorted(
        ["kdump-audit.json", "kdump-audit.junit.xml", "kdump-audit.md", "kdump-audit.html"]
    )
    assert result["gate_passed"] is True and result["summary"]["total"] == 13
    assert result["hosts"]["h12.example.com"]["status"] == "not_ready"


def test_a_pattern_that_matches_nothing_fails_before_anything_is_written(tmp_path):
    write_slices(tmp_path)
    with pytest.raises(AnsibleActionFail) as error:
        run_action(
            {
                "reports": [str(tmp_path / "slice-*" / "kdump-audit.json"), str(tmp_path / "slcie-*/kdump-audit.json")],
                "report_dir": str(tmp_path / "fleet"),
            }
        )
    assert f"kdump_audit_merge_reports: {tmp_path / 'slcie-*/kdump-audit.json'} matched no file" in str(error.value)
    assert not (tmp_path / "fleet").exists()


def test_the_merged_report_itself_is_never_read_as_a_slice(tmp_path):
    write_slices(tmp_path)
    run_action({"reports": [str(tmp_path / "slice-*" / "kdump-audit.json")], "report_dir": str(tmp_path / "slice-9")})
    with pytest.raises(
        AnsibleActionFail, match="includes .*slice-9/kdump-audit.json, the merged report this run writes"
    ):
        run_action({"reports": [str(tmp_path / "*" / "kdump-audit.json")], "report_dir": str(tmp_path / "slice-9")})


def test_a_bad_slice_fails_naming_it_and_nothing_is_written(tmp_path):
    paths, _whole = write_slices(tmp_path)
    paths[1].write_text(paths[1].read_text().replace('"status": "ready"', '"status": "READY"', 1))
    with pytest.raises(AnsibleActionFail) as error:
        run_action({"reports": [str(p) for p in paths], "report_dir": str(tmp_path / "fleet")})
    assert f"kdump_audit_merge_reports: {paths[1]} hosts[" in str(error.value)
    assert "has the status 'READY'" in str(error.value) and "Nothing was written." in str(error.value)
    assert not (tmp_path / "fleet").exists()


def test_previous_report_gives_the_fleets_drift(tmp_path):
    paths, _whole = write_slices(tmp_path)
    previous = tmp_path / "previous.json"
    previous.write_text(
        render_json(merge_tests.evaluate_fleet({"gone": merge_tests.registered(merge_tests.ready_info())}))
    )
    result = run_action(
        {"reports": [str(p) for p in paths], "report_dir": str(tmp_path / "fleet"), "previous_report": str(previous)}
    )
    assert result["drift"]["disappeared"] == [{"host": "gone", "status": "ready"}]
    assert len(result["drift"]["appeared"]) == 13


@pytest.mark.skipif(shutil.which("ansible-playbook") is None, reason="needs ansible-playbook")
def test_the_playbook_merges_and_gates_the_fleet(tmp_path):
    paths, whole = write_slices(tmp_path)

    def playbook(*extra):
        return run_playbook(tmp_path, "kdump.fleet.audit_merge", *extra)

    done = playbook(
        "-e",
        "kdump_audit_merge_reports=slice-*/kdump-audit.json",
        "-e",
        "kdump_audit_report_dir=fleet",
        "-e",
        "kdump_audit_min_ready_percent=60",
        "-e",
        "kdump_audit_merge_expected_slices=3",
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "kdump readiness gate passed: 8 of 13 hosts ready (61.5 %)" in done.stdout
    merged = json.loads((tmp_path / "fleet" / "kdump-audit.json").read_text())
    assert without_generated(merged) == without_generated(whole)
    # Without a gate of its own the merge gates the fleet at the audit's default, 100 %: reports, then the failure.
    failed = playbook("-e", "kdump_audit_merge_reports=slice-*/kdump-audit.json", "-e", "kdump_audit_report_dir=f2")
    assert failed.returncode == 2, failed.stdout[-3000:]
    assert "gate FAILED: 8 of 13 hosts ready (61.5 %), kdump_audit_min_ready_percent is 100" in failed.stdout
    assert (tmp_path / "f2" / "kdump-audit.html").is_file()
    missing = playbook(
        "-e", "kdump_audit_merge_reports=slice-[01]/kdump-audit.json", "-e", "kdump_audit_merge_expected_slices=3"
    )
    assert missing.returncode == 2 and "matched 2 report(s), the run has 3 slices" in missing.stdout
    # Slices that never fail on their own (gate 0), gated as a fleet by the merge.
    gated = playbook(
        "-e",
        "kdump_audit_merge_reports=slice-*/kdump-audit.json",
        "-e",
        "kdump_audit_report_dir=f3",
        "-e",
        "kdump_audit_min_ready_percent=90",
    )
    assert gated.returncode == 2
    assert "gate FAILED: 8 of 13 hosts ready (61.5 %), kdump_audit_min_ready_percent is 90" in gated.stdout
    assert json.loads((tmp_path / "f3" / "kdump-audit.json").read_text())["settings"]["min_ready_percent"] == 90
    nothing = playbook()
    assert nothing.returncode == 2 and "kdump_audit_merge_reports names no report" in nothing.stdout


def test_a_bad_fleet_gate_is_refused_naming_the_variable(tmp_path):
    paths, _whole = write_slices(tmp_path)
    with pytest.raises(AnsibleActionFail, match="kdump_audit_min_ready_percent"):
        run_action({"reports": [str(p) for p in paths], "report_dir": str(tmp_path / "f"), "min_ready_percent": 101})
    assert not (tmp_path / "f").exists()


def test_a_slice_the_writers_cannot_show_leaves_no_report_behind(tmp_path):
    paths, _whole = write_slices(tmp_path)
    report = json.loads(paths[0].read_text())
    report["hosts"][0]["facts"]["crashkernel"] = "big"  # a shape no check of check_slice looks at
    paths[0].write_text(json.dumps(report))
    with pytest.raises(AnsibleActionFail, match="the merged report cannot be written: .*Nothing was written"):
        run_action({"reports": [str(p) for p in paths], "report_dir": str(tmp_path / "fleet")})
    assert not (tmp_path / "fleet").exists()
