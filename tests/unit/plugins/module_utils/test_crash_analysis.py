"""_crash_analysis: crash(8)'s outputs from a real lab dump, the summary, build IDs, which dumps."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from ansible_collections.kdump.fleet.plugins.module_utils import _crash_analysis as crash
from conftest import load_fixture


@pytest.mark.parametrize(
    ("release", "family"),
    [
        ("6.1.0-50-amd64", "debian"),
        ("6.12.57+deb13-amd64", "debian"),
        ("6.1.0-57-rt-amd64", "debian"),
        ("6.1.0-50-cloud-amd64", "debian"),
        ("5.14.0-427.13.1.el9_4.x86_64", "redhat"),
        ("4.18.0-553.el8_10.x86_64", "redhat"),
        ("6.11.4-301.fc41.x86_64", "redhat"),
        ("6.4.0-150600.23.25-default", "suse"),  # SLES 15 SP6 / Leap 15.6
        ("6.12.0-160000.5-default", "suse"),  # SLES 16
        ("6.17.9-1-default", "suse"),  # Tumbleweed
        ("6.8.0-45-generic", None),
    ],
)
def test_the_family_of_a_kernel_release(release, family):
    assert crash.kernel_family(release) == family


@pytest.mark.parametrize("release", ["6.1.0-50-amd64", "5.14.0-427.13.1.el9_4.x86_64", "6.12.57+deb13-amd64"])
def test_real_releases_are_valid(release):
    assert crash.valid_release(release)


@pytest.mark.parametrize(
    "release", [None, "", "../../etc", "6.1 -x", "6.1;id", "-6.1", "6.1/x", "6.1\n", "a" * 200, 61]
)
def test_releases_that_could_climb_or_split_are_not(release):
    assert not crash.valid_release(release)


def test_the_script_sends_each_command_to_its_own_file_and_quits():
    lines = crash.script("/var/tmp/kdump-fleet-crash-abc").splitlines()
    assert lines[0] == "set scroll off" and lines[-1] == "quit"
    assert lines[1:-1] == [
        "sys > /var/tmp/kdump-fleet-crash-abc/sys.txt",
        "bt > /var/tmp/kdump-fleet-crash-abc/bt.txt",
        "log > /var/tmp/kdump-fleet-crash-abc/log.txt",
        "mod -t > /var/tmp/kdump-fleet-crash-abc/tainted_modules.txt",
    ]


@pytest.mark.skipif(shutil.which("readelf") is None, reason="needs readelf")
@pytest.mark.parametrize("binary", ["/usr/bin/true", "/usr/bin/ls"])
def test_the_build_id_is_the_one_readelf_reads(binary):
    notes = subprocess.run(["readelf", "-n", binary], capture_output=True, text=True, check=True).stdout
    expected = re.search(r"Build ID: ([0-9a-f]+)", notes).group(1)
    with open(binary, "rb") as handle:
        assert crash.elf_build_id(handle) == expected


def test_no_build_id_from_what_is_not_a_64_bit_elf(tmp_path):
    for data in (b"", b"KDUMP   " + bytes(100), b"\x7fELF\x01\x01" + bytes(100)):
        path = tmp_path / "f"
        path.write_bytes(data)
        with open(path, "rb") as handle:
            assert crash.elf_build_id(handle) is None


def test_build_ids_match_on_a_prefix_and_are_unknown_without_both():
    full = "06f8bde30046985060c60820f7a11515a33afb06"
    assert crash.build_ids_match(full, full) is True
    assert crash.build_ids_match(full[:20], full) is True
    assert crash.build_ids_match(full, "06f8" + "0" * 36) is False
    assert crash.build_ids_match(None, full) is None and crash.build_ids_match(full, None) is None


def _dump(path, crash_time, complete=True):
    return {"path": path, "crash_time": crash_time, "complete": complete, "dir": path.rsplit("/", 1)[0]}


def test_the_newest_complete_dumps_are_chosen():
    dumps = [
        _dump("/var/crash/1/dump.1", 100),
        _dump("/var/crash/3/dump.3", 300),
        _dump("/var/crash/2/dump.2", 200, complete=False),
        {"path": None, "crash_time": 400, "complete": True, "dir": "/var/crash/4"},
        _dump("/var/crash/0/dump.0", None),
    ]
    assert crash.newest_dumps(dumps, (), 2) == (["/var/crash/3/dump.3", "/var/crash/1/dump.1"], [])
    assert crash.newest_dumps(dumps, (), 5)[0][-1] == "/var/crash/0/dump.0"  # no crash time: last
    chosen, missing = crash.newest_dumps(dumps, ["/var/crash/1/dump.1", "/var/crash/2/dump.2", "/x"], 5)
    assert chosen == ["/var/crash/1/dump.1"] and missing == ["/var/crash/2/dump.2", "/x"]


FIXTURE = "debian12-6.1.0-50-sysrq"  # a real sysrq crash of a lab VM, read by crash 8.0.2 (SOURCE.md)


def _outputs(name=FIXTURE):
    return {key: load_fixture("crash", f"{name}/{key}.txt") for key in ("sys", "bt", "log", "tainted_modules")}


def test_sys_of_a_real_dump():
    fields = crash.parse_sys(_outputs()["sys"])
    assert fields["PANIC"] == "Kernel panic - not syncing: sysrq triggered crash"
    assert fields["RELEASE"] == "6.1.0-50-amd64" and fields["CPUS"] == "2"
    assert fields["UPTIME"] == "00:02:19" and fields["LOAD AVERAGE"] == "1.33, 0.62, 0.24"
    assert fields["DUMPFILE"].endswith("[PARTIAL DUMP]")


def test_bt_of_a_real_dump_names_the_task_and_the_sysrq_handler():
    task = crash.parse_bt(_outputs()["bt"])
    assert (task["pid"], task["cpu"], task["command"], task["task"]) == (2385, 0, "sh", "ff20830e03dec200")
    assert task["frames"][:6] == [
        "machine_kexec",
        "__crash_kexec",
        "panic",
        "sysrq_handle_crash",
        "__handle_sysrq.cold",
        "write_sysrq_trigger",
    ]
    assert task["frames"][-1] == "entry_SYSCALL_64_after_hwframe" and len(task["frames"]) == 21
    assert crash.culprit(task["frames"]) == "sysrq_handle_crash"


def test_the_first_look_and_its_paragraph_for_a_real_sysrq_crash():
    record = {"status": crash.ANALYSED, "analysis": crash.analysis(_outputs(), log_lines=5)}
    first_look = record["analysis"]
    assert first_look["panic"] == "Kernel panic - not syncing: sysrq triggered crash"
    assert first_look["culprit"] == "sysrq_handle_crash"
    assert first_look["task"] == {"pid": 2385, "command": "sh", "cpu": 0, "task": "ff20830e03dec200"}
    assert first_look["tainted_modules"] == []  # crash printed "no tainted modules"
    assert first_look["crash_test"] is True  # the crash test's own line is in the ring buffer
    assert len(first_look["last_log_lines"]) == 5 and first_look["last_log_lines"][-1].endswith("</TASK>")
    paragraph = crash.summary(record)
    assert paragraph.startswith('The kernel panicked: "Kernel panic - not syncing: sysrq triggered crash".')
    assert "The panicking task was sh (PID 2385) on CPU 0." in paragraph
    assert "The backtrace points at sysrq_handle_crash (machine_kexec \u2190 __crash_kexec" in paragraph
    assert "No module taints the kernel." in paragraph and "up 00:02:19, load average 1.33" in paragraph


def test_outputs_crash_did_not_write_give_an_empty_first_look_not_an_error():
    first_look = crash.analysis({"sys": None, "bt": "", "log": None, "tainted_modules": None})
    assert first_look["panic"] is None and first_look["task"] is None and first_look["backtrace"] == []
    assert first_look["culprit"] is None and first_look["crash_test"] is None
    record = {"status": crash.ANALYSED, "analysis": first_look}
    assert crash.summary(record).startswith("crash(8) found no panic message.")


def test_a_record_that_was_not_analysed_is_summarised_by_its_message():
    record = {"status": crash.NO_SYMBOLS, "message": "no debug symbols for kernel 6.8.0-45-generic on this host"}
    assert crash.summary(record) == "no debug symbols for kernel 6.8.0-45-generic on this host"


def test_a_real_dump_with_a_staging_driver_loaded_names_the_tainting_module():
    outputs = _outputs("debian12-6.1.0-50-staging-taint")
    assert crash.parse_tainted_modules(outputs["tainted_modules"]) == [{"name": "qlge", "taints": "C"}]
    first_look = crash.analysis(outputs)
    assert first_look["crash_test"] is False  # a plain sysrq crash, not the crash test's
    assert first_look["culprit"] == "sysrq_handle_crash" and first_look["task"]["pid"] == 611
    paragraph = crash.summary({"status": crash.ANALYSED, "analysis": first_look})
    assert "Modules tainting the kernel: qlge (C)." in paragraph and "up 00:04:12" in paragraph


@pytest.mark.parametrize(
    ("rc", "elapsed", "console", "status"),
    [
        (124, 3.7, "", crash.TIMED_OUT),  # timeout(1) stopped crash with TERM (measured: 3 s bound, 3.7 s)
        (-9, 13.0, "", crash.TIMED_OUT),  # crash ignored TERM; --kill-after's KILL reached the group
        (-9, 2.0, "", crash.OUT_OF_MEMORY),  # killed before its time: the kernel's OOM killer
        (
            -6,
            1.2,
            "utils.c:671: internal-error: virtual memory exhausted: can't allocate 173516317 bytes.",
            crash.OUT_OF_MEMORY,
        ),  # measured with memory_limit_mb=256 on the lab dump
        (125, 0.0, "timeout: failed to run command", crash.FAILED),
        (127, 0.0, "prlimit: failed to execute crash", crash.FAILED),
        (0, 7.2, "WARNING: active task ff20830e03dec200 on cpu 0 not found in PID hash", None),
        (1, 0.9, "crash: /x: not a supported file format", None),
    ],
)
def test_how_a_bounded_crash_run_ended(rc, elapsed, console, status):
    assert crash.classify_exit(rc, elapsed, 3 if elapsed < 10 else 10, console) == status


@pytest.mark.parametrize("path", ["/var/tmp", "/var/cache/kdump-fleet/symbols", "/srv/kdump+x/a_b-c.d"])
def test_paths_crash_may_be_given(path):
    assert crash.safe_path(path)


@pytest.mark.parametrize(
    "path", ["var/tmp", "/var/tmp\n!id", "/a b", "/a;b", "/a$b", "/x/../etc", "/..", "", None, "/a'b"]
)
def test_paths_that_could_split_crashs_script_or_climb_are_not(path):
    assert not crash.safe_path(path)
