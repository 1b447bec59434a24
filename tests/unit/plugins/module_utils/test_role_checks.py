"""Pure checks of the kdump role's inputs: unknown kdump_* variables, kdump_path on the host."""

from __future__ import annotations

import pathlib

import pytest
import yaml
from ansible_collections.kdump.fleet.plugins.filter.role_checks import FilterModule, dump_dir_problems
from ansible_collections.kdump.fleet.plugins.module_utils import _role_checks as checks

ROOT = pathlib.Path(__file__).resolve().parents[4]


def spec(role):
    return yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))


def test_filters_are_registered_and_documented():
    for name in FilterModule().filters():
        doc = yaml.safe_load((ROOT / "plugins" / "filter" / (name + ".yml")).read_text(encoding="utf-8"))
        assert doc["DOCUMENTATION"]["name"] == name


# ---------------------------------------------------------------- unknown variables


def test_every_name_of_the_argument_spec_is_known():
    names = checks.spec_option_names(spec("kdump"))
    assert "kdump_target" in names
    assert "kdump_path_adopt" in names
    assert checks.unknown_variables(names, spec("kdump"), [spec("audit")]) == []


def test_every_role_default_is_known():
    defaults = yaml.safe_load((ROOT / "roles" / "kdump" / "defaults" / "main.yml").read_text(encoding="utf-8"))
    assert checks.unknown_variables(list(defaults), spec("kdump")) == []


def test_a_typo_gets_the_nearest_name():
    assert checks.unknown_variables(["kdump_taget", "kdump_enabled"], spec("kdump")) == [
        "kdump_taget is not a variable of kdump.fleet.kdump and is ignored; did you mean kdump_target?"
    ]
    assert "did you mean kdump_reboot_ok?" in checks.unknown_variables(["kdump_reboot_okay"], spec("kdump"))[0]


def test_a_name_far_from_all_lists_the_known_ones():
    (warning,) = checks.unknown_variables(["kdump_zzzzzzzzzzzzzz"], spec("kdump"))
    assert "the role's variables are kdump_core_collector, kdump_crashkernel" in warning


def test_other_parts_of_the_collection_and_outputs_are_not_reported():
    names = [
        "kdump_audit_report_dir",
        "kdump_audit_anything_new",
        "kdump_crash_test_hosts",
        "kdump_crash_test_result",
        "kdump_reboot_required",
        "kdump_hosts",
        "kdump_serial",
        "kdump_max_fail_percentage",
        "kdump_dumps_keep",
        "not_ours",
    ]
    assert checks.unknown_variables(names, spec("kdump"), [spec("audit")]) == []


def test_audit_spec_names_are_taken_from_the_file():
    audit = {"argument_specs": {"main": {"options": {"kdump_special": {"type": "str"}}}}}
    assert checks.unknown_variables(["kdump_special"], spec("kdump"), [audit]) == []
    assert checks.unknown_variables(["kdump_special"], spec("kdump")) != []


def test_spec_option_names_of_broken_input():
    assert checks.spec_option_names(None) == []
    assert checks.spec_option_names({"argument_specs": {}}) == []


# ---------------------------------------------------------------- kdump_path on the host

ROOT_0700 = {"exists": True, "isdir": True, "islnk": False, "mode": "0700", "uid": 0, "pw_name": "root"}
ROOT_0755 = dict(ROOT_0700, mode="0755")
VAR_TMP = dict(ROOT_0700, mode="1777")
MISSING = {"exists": False}


def entry(name, isdir=True, islnk=False):
    return {"path": "/var/crash/" + name, "isdir": isdir, "islnk": islnk}


def test_a_new_directory_is_fine():
    assert checks.dump_dir_problems("/var/crash", "/var/crash", MISSING) == []


def test_a_root_only_directory_is_a_dump_directory_whatever_it_holds():
    assert checks.dump_dir_problems("/var/crash", "/var/crash", ROOT_0700, [entry("notes.txt", False)]) == []


@pytest.mark.parametrize(
    "entries",
    [
        [],
        [entry("202611221330"), entry("202612011200"), entry("kexec_cmd", isdir=False)],
        [entry("127.0.0.1-2026-11-22-13:30:00"), entry("lost+found")],
    ],
)
def test_an_empty_directory_or_one_with_only_dumps_is_a_dump_directory(entries):
    assert checks.dump_dir_problems("/var/crash", "/var/crash", ROOT_0755, entries) == []


def test_the_sticky_var_tmp_is_refused_even_under_another_name():
    (problem,) = checks.dump_dir_problems("/data/tmp", "/data/tmp", VAR_TMP, [])
    assert problem.startswith("kdump_path=/data/tmp is an existing directory that is not a dump directory")
    assert "it is a shared directory (mode 1777)" in problem
    assert "set kdump_path_adopt: true" in problem


def test_a_directory_with_other_files_is_refused_unless_adopted():
    entries = [entry("202611221330"), entry("report.pdf", False), entry("link", False, True)] + [
        entry(f"f{i}", False) for i in range(6)
    ]
    (problem,) = checks.dump_dir_problems("/var/crash", "/var/crash", ROOT_0755, entries)
    assert "it holds 8 entries that are not dumps (f0, f1, f2, f3, f4 and 3 more)" in problem
    assert checks.dump_dir_problems("/var/crash", "/var/crash", ROOT_0755, entries, adopt=True) == []


def test_a_directory_of_another_user_is_refused():
    alice = dict(ROOT_0700, uid=1000, pw_name="alice")
    (problem,) = checks.dump_dir_problems("/srv/dumps", "/srv/dumps", alice, [])
    assert "it belongs to alice, not root" in problem


def test_a_huge_directory_is_not_taken_as_a_dump_directory():
    entries = [entry(f"{i:012d}") for i in range(checks.ENTRY_LIMIT)]
    assert "1000 or more entries" in checks.dump_dir_problems("/var/crash", "/var/crash", ROOT_0755, entries)[0]


def test_unlisted_entries_are_not_assumed_to_be_dumps():
    assert "could not be listed" in checks.dump_dir_problems("/var/crash", "/var/crash", ROOT_0755, None)[0]


@pytest.mark.parametrize("target", ["/etc", "/var/tmp", "/", "/proc/sys", "/boot/crash", "/usr/local"])
def test_a_symlink_to_a_system_directory_is_refused_also_with_adopt(target):
    (problem,) = dump_dir_problems("/var/crash", target, ROOT_0755, [], True)
    assert problem.startswith(f"kdump_path=/var/crash (through a symlink, it is {target}) is a system directory")
    assert "Set kdump_path to a directory of its own" in problem


def test_a_symlink_outside_where_it_was_named_is_refused():
    (problem,) = checks.dump_dir_problems("/var/crash", "/data/crash", ROOT_0700, [])
    assert problem == (
        "kdump_path=/var/crash is a symlink to /data/crash, outside /var where you named it; the role does not "
        "follow it. Set kdump_path: /data/crash if that is the dump directory you mean, or remove the symlink"
    )


def test_a_symlink_within_the_named_parent_is_used_and_checked():
    assert checks.dump_dir_problems("/var/crash", "/var/crash.d", ROOT_0700, []) == []
    (problem,) = checks.dump_dir_problems("/var/crash", "/var/crash.d", VAR_TMP, [])
    assert "(through a symlink, it is /var/crash.d)" in problem


def test_something_that_is_not_a_directory_is_refused():
    regular = dict(ROOT_0700, isdir=False)
    (problem,) = checks.dump_dir_problems("/var/crash", "/var/crash", regular)
    assert problem == (
        "kdump_path=/var/crash exists and is not a directory; set kdump_path to a directory, or remove what is there"
    )


def test_paths_are_normalised():
    assert checks.dump_dir_problems("/var/crash/", "/var/crash", MISSING) == []
    assert checks.dump_dir_problems("//var/crash", "/var/crash", MISSING) == []
    assert checks.dump_dir_problems("var/crash", "/root/var/crash", MISSING) == [
        "kdump_path=var/crash must be an absolute path, for example /var/crash"
    ]


@pytest.mark.parametrize(("path", "system"), [("/var/crash", False), ("/srv/crash", False), ("/run/x", True)])
def test_is_system_directory(path, system):
    assert checks.is_system_directory(path) is system
