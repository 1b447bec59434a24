"""The fleet dump inventory's parsing, origin and retention rules, on kernel logs and dump heads from real crashes."""

from __future__ import annotations

import gzip

import pytest
from ansible_collections.kdump.fleet.plugins.module_utils import _dump_inventory as inv
from ansible_collections.kdump.fleet.plugins.module_utils._crash_protocol import CRASH_TEST_KMSG
from conftest import fixture_path, load_fixture

SYSRQ_PANIC = "Kernel panic - not syncing: sysrq triggered crash"


@pytest.mark.parametrize(
    "fixture, panic, first_error",
    [
        ("dmesg-sysrq-panic-6.17-azure.txt", SYSRQ_PANIC, None),
        ("dmesg-sysrq-panic-6.6-arm64.txt", SYSRQ_PANIC, None),
        # CONFIG_PRINTK_CALLER adds "[T25678]" after the time stamp.
        ("dmesg-kasan-panic-6.1-android.txt", "Kernel panic - not syncing: kasan.fault=panic set ...", None),
        # Before Linux 5.x the sysrq crash was a NULL write: an oops, no panic line of its own.
        (
            "dmesg-sysrq-oops-4.9-debian.txt",
            None,
            "BUG: unable to handle kernel NULL pointer dereference at (null)",
        ),
        ("dmesg-sysrq-show-backtrace-4.11.txt", None, None),
    ],
)
def test_panic_and_first_error_of_recorded_kernel_logs(fixture, panic, first_error):
    summary = inv.parse_kernel_log(load_fixture("crash_test", fixture))
    assert summary["panic"] == panic
    assert (" ".join(summary["first_error"].split()) if summary["first_error"] else None) == first_error
    assert summary["crash_test"] is False


def test_last_messages_are_the_tail_as_saved():
    text = load_fixture("crash_test", "dmesg-sysrq-panic-6.17-azure.txt")
    lines = [line for line in text.splitlines() if line.strip()]
    assert inv.parse_kernel_log(text, lines=3)["last_messages"] == lines[-3:]
    assert inv.parse_kernel_log(text, lines=0)["last_messages"] == []


def test_the_crash_tests_own_line_marks_a_crash_test():
    text = f"[  211.1] {CRASH_TEST_KMSG}\n[  216.2] sysrq: Trigger a crash\n[  216.3] {SYSRQ_PANIC}\n"
    summary = inv.parse_kernel_log(text)
    assert summary["crash_test"] is True
    assert inv.origin(summary, "/var/crash/x/dump.x") == inv.ORIGIN_CRASH_TEST


def test_origin_real_crash_unknown_and_crash_test_record():
    summary = inv.parse_kernel_log(load_fixture("crash_test", "dmesg-sysrq-panic-6.17-azure.txt"))
    assert inv.origin(summary, "/var/crash/a/dump.a") == inv.ORIGIN_CRASH
    # An older crash test wrote no line of its own: its evidence record names the dump.
    assert inv.origin(summary, "/var/crash/a/dump.a", ["/var/crash/a/dump.a"]) == inv.ORIGIN_CRASH_TEST
    assert inv.origin(None, "/var/crash/a/dump.a") == inv.ORIGIN_UNKNOWN


def test_kernel_release_from_the_linux_version_line():
    text = (
        "[    0.000000] Linux version 6.1.0-41-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14)"
        " 12.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.1.158-1 (2025-11-09)\n[    1.0] Command line: ro\n"
    )
    assert inv.parse_kernel_log(text)["kernel"] == "6.1.0-41-amd64"


@pytest.mark.parametrize(
    "head, expected",
    [
        (b"KDUMP   \x06\x00\x00\x00", "kdump-compressed"),
        (b"makedumpfile\x00\x00\x00\x00", "flattened"),
        (b"\x7fELF\x02\x01\x01", "elf"),
        (b"", "unknown"),
        (b"\x00" * 64, "unknown"),
    ],
)
def test_dump_format_from_the_first_bytes(head, expected):
    assert inv.dump_format(head) == expected


def test_vmcoreinfo_keys_and_hostile_values():
    head = b"\x00junk\nOSRELEASE=6.12.48+deb13-amd64\nPAGESIZE=4096\nCRASHTIME=1796254860\nBUILD-ID=abc\n\x00"
    assert inv.parse_vmcoreinfo(head) == {
        "osrelease": "6.12.48+deb13-amd64",
        "crash_time": 1796254860,
        "build_id": "abc",
        "page_size": 4096,
    }
    # A value with control bytes or no line end is not taken; nothing found gives None.
    assert inv.parse_vmcoreinfo(b"OSRELEASE=6.1\x1b[31m\n")["osrelease"] is None
    assert inv.parse_vmcoreinfo(b"") == {"osrelease": None, "crash_time": None, "build_id": None, "page_size": None}


@pytest.mark.parametrize(
    "directory, names, expected",
    [
        (
            "202612022340",
            ["dmesg.202612022340", "dump.202612022340"],
            ("dump.202612022340", "dmesg.202612022340", None),
        ),
        (
            "kdump-c12-202612022340",
            ["dump.202612022340", "dmesg.202612022340"],
            ("dump.202612022340", "dmesg.202612022340", None),
        ),
        ("202612022340", ["dump-incomplete"], (None, None, "dump-incomplete")),
        ("10.0.0.5-2026-12-02-23:40:11", ["vmcore", "vmcore-dmesg.txt"], ("vmcore", "vmcore-dmesg.txt", None)),
        ("10.0.0.5-2026-12-02-23:40:11", ["vmcore-incomplete"], (None, None, "vmcore-incomplete")),
        # A file named like another directory's dump is not this directory's dump.
        ("202612022340", ["dump.202611011000"], (None, None, None)),
        ("notes", ["README"], (None, None, None)),
    ],
)
def test_dump_files_of_a_directory(directory, names, expected):
    assert inv.dump_files(directory, names) == expected


def test_crash_time_prefers_the_kernels_crashtime():
    assert inv.crash_time({"crash_time": 1796254860}, "/var/crash/202612022340", 1796255000.5) == (
        1796254860,
        "vmcoreinfo",
    )
    assert inv.crash_time({"crash_time": None}, "/var/crash/202612022340", 1796255000.5) == (1796254800, "directory")
    assert inv.crash_time({}, "/var/crash/odd-name", 1796255000.5) == (1796255000, "mtime")
    assert inv.crash_time({}, "/var/crash/odd-name", 0) == (None, None)


def _dump(host, name, when, complete=True, stored_on="dumps01"):
    return {"host": host, "stored_on": stored_on, "dir": f"/srv/kdump/dumps/{host}/{name}", "crash_time": when,
            "mtime": when, "complete": complete}  # fmt: skip


def test_retention_keeps_the_newest_per_host_and_never_the_newest_complete_one():
    dumps = [
        _dump("web01", "202601010000", 100),
        _dump("web01", "202602010000", 200),
        _dump("web01", "202603010000", 300),
        _dump("web02", "202601010000", 100),
        # web03's newest directory holds only an incomplete file: its newest complete dump stays.
        _dump("web03", "202601010000", 100),
        _dump("web03", "202602010000", 200, complete=False),
        _dump("web04", "not-a-tool-dir", 50),
    ]
    plan = inv.retention_plan(dumps, keep=1)
    assert [(p["host"], p["dir"].rsplit("/", 1)[1]) for p in plan] == [
        ("web01", "202601010000"),
        ("web01", "202602010000"),
    ]
    assert plan[0]["reason"] == "older than the newest 1 dump of web01"
    assert [p["dir"].rsplit("/", 1)[1] for p in inv.retention_plan(dumps, keep=2)] == ["202601010000"]
    assert inv.retention_plan(dumps, keep=0) == []


@pytest.mark.parametrize("keep", [-1, "1", 1.5, True, None])
def test_retention_refuses_a_keep_that_is_not_a_whole_number(keep):
    with pytest.raises(ValueError, match="must be a whole number of 0 or more"):
        inv.retention_plan([], keep)


def test_summary_text_reads_like_a_sentence():
    dump = {"host": "web01", "kernel": "6.1.0-41-amd64", "crash_time": 1796254860, "panic": SYSRQ_PANIC}
    assert inv.summary_text(dump) == (
        "web01 (6.1.0-41-amd64) crashed 2026-12-02 23:41:00 UTC: Kernel panic - not syncing: sysrq triggered crash"
    )
    assert inv.summary_text({"host": "x"}) == "x (kernel unknown) crashed at an unknown time: no panic line found"


# --- dumps and kernel logs recorded on the lab's dump server (fixtures/lab/network-run) ----------------

LAB = {
    "debian12-ssh": ("202612022335", "6.1.0-50-amd64", 1796254495),
    "debian13-nfs": ("202612022336", "6.12.117+deb13-amd64", 1796254501),
}


def lab_head(name):
    stamp = LAB[name][0]
    return gzip.decompress(fixture_path("lab", f"network-run/{name}-dump.{stamp}.head64k.gz").read_bytes())


def lab_log(name):
    return load_fixture("lab", f"network-run/{name}-dmesg.{LAB[name][0]}")


@pytest.mark.parametrize("name", sorted(LAB))
def test_lab_dumps_are_flattened_with_their_kernel_and_crash_time_in_vmcoreinfo(name):
    _stamp, release, crash_time = LAB[name]
    head = lab_head(name)
    assert inv.dump_format(head) == "flattened"
    info = inv.parse_vmcoreinfo(head)
    assert (info["osrelease"], info["crash_time"], info["page_size"]) == (release, crash_time, 4096)
    assert info["build_id"] and len(info["build_id"]) == 40


@pytest.mark.parametrize("name", sorted(LAB))
def test_lab_kernel_logs_give_release_panic_and_tail(name):
    _stamp, release, _crash_time = LAB[name]
    summary = inv.parse_kernel_log(lab_log(name), lines=5)
    assert summary["kernel"] == release
    assert summary["panic"] == SYSRQ_PANIC
    assert summary["first_error"] is None
    assert len(summary["last_messages"]) == 5
    # An older crash test: no line of its own, so only its record can say it was one.
    assert summary["crash_test"] is False


def test_the_crash_time_of_the_lab_dump_is_in_its_directory_minute():
    # kdump-tools names the directory after the capture kernel's clock, minutes after the crash.
    when, source = inv.crash_time(inv.parse_vmcoreinfo(lab_head("debian12-ssh")), "10.77.0.21-202612022335", 0)
    assert source == "vmcoreinfo"
    assert 0 <= inv.crash_time({}, "10.77.0.21-202612022335", 0)[0] - when < 120


# --- SUSE's kdump (fixtures/suse/dumps: the layouts of openSUSE/kdump 2.x kdump-save and 1.x savedump.cc) ----

SUSE_RELEASE = "6.4.0-150600.23.25-default"


@pytest.mark.parametrize(
    "directory, names, expected",
    [
        ("2026-12-03-10-15", ["README.txt", "dmesg", "vmcore"], ("vmcore", "dmesg", None)),
        ("sles16-2026-12-03-10-15", ["vmcore", "dmesg", "README.txt"], ("vmcore", "dmesg", None)),
        (
            "2026-12-03-10:15",
            ["README.txt", "System.map-" + SUSE_RELEASE, "dmesg.txt", "vmcore", "vmlinux-" + SUSE_RELEASE + ".gz"],
            ("vmcore", "dmesg.txt", None),
        ),
        (
            "10.77.0.31-2026-12-03-10:15",
            ["README.txt", "dmesg.txt", "makedumpfile-R.pl", "rearrange.sh", "vmcore"],
            ("vmcore", "dmesg.txt", None),
        ),
        ("2026-12-03-10:15", ["dmesg.txt", "vmcore1", "vmcore2"], ("vmcore1", "dmesg.txt", None)),
        # KDUMP_DUMPFORMAT=none, or the vmcore deleted for KDUMP_FREE_DISK_SIZE: a log and no dump.
        ("2026-12-03-10-15", ["README.txt", "dmesg"], (None, "dmesg", None)),
    ],
)
def test_suse_dump_directories_give_their_vmcore_and_kernel_log(directory, names, expected):
    assert inv.dump_files(directory, names) == expected


@pytest.mark.parametrize(
    "directory, when",
    [
        ("2026-12-03-10-15", "2026-12-03 10:15"),
        ("sles16.example.com-2026-12-03-10-15", "2026-12-03 10:15"),
        ("2026-12-03-10:15", "2026-12-03 10:15"),
        ("10.77.0.31-2026-12-03-10:15", "2026-12-03 10:15"),
        ("unknown-2026-12-03-10:15", "2026-12-03 10:15"),
        # The tools' other names still read as before.
        ("202612031015", "2026-12-03 10:15"),
        ("10.77.0.31-2026-12-03-10:15:42", "2026-12-03 10:15"),
    ],
)
def test_the_dump_time_comes_out_of_every_suse_directory_name(directory, when):
    epoch, source = inv.crash_time({}, "/var/crash/" + directory, 1796305000.0)
    assert source == "directory"
    assert inv.datetime.datetime.fromtimestamp(epoch, inv.datetime.timezone.utc).strftime("%Y-%m-%d %H:%M") == when


@pytest.mark.parametrize("name", ["2026-13-45-10-15", "2026-12-03-25:15", "2026-12-03-10-15-x", "a b-2026-12-03-10-15"])
def test_a_name_shaped_like_a_suse_stamp_that_is_no_time_has_none(name):
    assert inv.directory_stamp(name) is None
    assert inv.crash_time({}, "/var/crash/" + name, 1796305000.0) == (1796305000, "mtime")


def test_retention_counts_suse_dump_directories():
    dumps = [_dump("sles15", "2026-01-01-10:00", 100), _dump("sles15", "2026-02-01-10:00", 200)]
    dumps += [_dump("sles16", "sles16-2026-01-01-10-00", 100), _dump("sles16", "sles16-2026-02-01-10-00", 200)]
    plan = inv.retention_plan(dumps, keep=1)
    assert [(p["host"], p["dir"].rsplit("/", 1)[1]) for p in plan] == [
        ("sles15", "2026-01-01-10:00"),
        ("sles16", "sles16-2026-01-01-10-00"),
    ]


def test_a_suse_kernel_log_gives_release_panic_and_the_crash_tests_line():
    summary = inv.parse_kernel_log(load_fixture("suse", "dumps/dmesg-" + SUSE_RELEASE), lines=2)
    assert (summary["kernel"], summary["panic"], summary["first_error"]) == (SUSE_RELEASE, SYSRQ_PANIC, None)
    assert summary["last_messages"] == ["[  616.305890]  </TASK>", "[  616.306049] Kernel Offset: disabled"]
    assert summary["crash_test"] is True


def test_suses_flattened_vmcore_reads_as_flattened():
    # kdump 2.x always saves with makedumpfile -F: the same flattened format as this lab dump's.
    head = lab_head("debian12-ssh")
    assert inv.dump_format(head) == "flattened"
    assert inv.is_log_file("dmesg") and inv.is_log_file("dmesg.txt") and not inv.is_log_file("README.txt")
