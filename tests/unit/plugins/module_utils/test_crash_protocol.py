"""Tests of the crash test's pure decision logic (_crash_protocol)."""

from __future__ import annotations

import copy
import gzip
import importlib.util
import json
import os
import shlex
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest
from ansible_collections.kdump.fleet.plugins.module_utils import _crash_protocol as ev
from conftest import load_fixture

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "crash_test"


def _sibling(name):
    """A test module next to this one (the unit tests run in importlib mode, so no plain import)."""
    path = Path(__file__).with_name(name + ".py")
    spec = importlib.util.spec_from_file_location("kdump_fleet_protocol_tests_" + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TEST_AUDIT = _sibling("test_audit")
READY = TEST_AUDIT.ready_info()


def fixture_text(name):
    return (FIXTURES / name).read_text()


def recorded_run(name):
    """rc, stdout and stderr of a recorded run of the validation script."""
    return (
        int(fixture_text(name + ".rc")),
        fixture_text(name + ".stdout"),
        fixture_text(name + ".stderr"),
    )


def changed(info, path, value):
    """A deep copy of ``info`` with the dotted ``path`` set to ``value``."""
    result = copy.deepcopy(info)
    node = result
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    return result


# --------------------------------------------------------------- readiness


def test_ready_host_passes_every_check():
    assert ev.readiness_failures(READY) == []


@pytest.mark.parametrize(
    ("path", "value", "check", "words"),
    [
        ("crashkernel.loaded", False, "KDUMP-007", "kexec_crash_loaded = 0"),
        ("crashkernel.reserved_bytes", 0, "KDUMP-004", "kexec_crash_size is 0"),
        ("service.active", False, "KDUMP-002", "kdump-tools is not active"),
        ("config.exists", False, "KDUMP-009", "/etc/default/kdump-tools does not exist"),
        ("config.target", None, "KDUMP-009", "no dump target is configured"),
        ("config.errors", ["KDUMP_COREDIR is empty"], "KDUMP-009", "KDUMP_COREDIR is empty"),
        (
            "config.target",
            TEST_AUDIT.target(type="nfs", location="nfs:/crash", host="nfs"),
            "dump_locator",
            "the dump target is nfs: name the dump server",
        ),
        ("dumps", None, "dump_locator", "kdump.dumps.path"),
        # A wrong-typed field is unknown, and the guard refuses on unknown.
        ("crashkernel.loaded", "true", "KDUMP-007", "crashkernel.loaded: expected bool"),
    ],
)
def test_each_failed_check_is_named(path, value, check, words):
    failures = ev.readiness_failures(changed(READY, path, value))
    assert [f["check"] for f in failures] == [check]
    assert words in failures[0]["msg"]


def test_refusal_message_names_every_failed_check():
    info = changed(changed(READY, "crashkernel.loaded", False), "crashkernel.reserved_bytes", 0)
    info["crashkernel"]["cmdline"] = None
    failures = ev.readiness_failures(info)
    msg = ev.refusal_message("web01", failures)
    assert msg.startswith("web01 is not ready for a crash test (failed: KDUMP-004, KDUMP-007)")
    assert "nothing was changed" in msg
    assert "(fix: set kdump_crashkernel: recommended" in msg


# ----------------------------------------------------------------- waiting


def test_backoff_doubles_then_caps():
    assert [ev.backoff_delay(n) for n in range(6)] == [1.0, 2.0, 4.0, 8.0, 12.0, 12.0]
    assert ev.backoff_delay(1000) == 12.0


def test_backoff_adds_the_jitter_on_top():
    assert ev.backoff_delay(2, jitter=0.25) == 4.25
    assert ev.backoff_delay(9, cap=30.0, jitter=0.5) == 30.5


def test_boot_watch_needs_the_same_new_boot_id_in_a_row():
    watch = ev.BootWatch("old", stable_checks=3)
    states = [watch.observe(b) for b in ["old", None, "new", "new", "new"]]
    assert states == ["old", "down", "new", "new", "stable"]
    assert watch.candidate == "new"
    assert watch.went_down


def test_boot_watch_restarts_the_count_when_the_capture_boot_reboots():
    watch = ev.BootWatch("old", stable_checks=2)
    states = [watch.observe(b) for b in [None, "capture", None, "final", "final"]]
    assert states == ["down", "new", "down", "new", "stable"]
    assert watch.new_boot_ids == ["capture", "final"]
    assert watch.candidate == "final"


def test_boot_watch_with_one_check_is_stable_at_first_sight():
    watch = ev.BootWatch("old", stable_checks=0)  # clamped to 1
    assert watch.observe("new") == "stable"


def test_timeout_message_when_the_host_never_went_down():
    watch = ev.BootWatch("old-id", 3)
    watch.observe("old-id")
    msg = ev.timeout_message(watch, 900, "serial log on the BMC")
    assert "did not go down within 900 s" in msg
    assert "still old-id" in msg


def test_timeout_message_when_the_host_never_came_back_names_the_console_log():
    watch = ev.BootWatch("old-id", 3)
    watch.observe(None)
    msg = ev.timeout_message(watch, 600, "/srv/lab/vm1/console.log")
    assert "did not come back within 600 s" in msg
    assert msg.endswith("Console log: /srv/lab/vm1/console.log.")


def test_timeout_message_when_the_host_keeps_rebooting():
    watch = ev.BootWatch("old-id", 3)
    for boot_id in ["a", None, "b", None]:
        watch.observe(boot_id)
    msg = ev.timeout_message(watch, 900)
    assert "boot ids seen: a, b" in msg
    assert "3 checks in a row" in msg
    assert "Console log" not in msg


# ---------------------------------------------------------- host commands


def test_parse_boot_probe():
    assert ev.parse_boot_probe("0f6f1e0b-3c2e\n1795440600\n") == ("0f6f1e0b-3c2e", 1795440600)
    assert ev.parse_boot_probe("0f6f1e0b-3c2e\n") == ("0f6f1e0b-3c2e", None)
    assert ev.parse_boot_probe("") == (None, None)


@pytest.mark.parametrize(
    "command",
    [
        ev.trigger_command(2),
        ev.BOOT_PROBE_COMMAND,
        ev.CAPTURE_JOURNAL_COMMAND,
        ev.capture_side_files_command("/var/crash", 1000, 1300),
        ev.validation_command("/var/crash/x/dump.x"),
        ev.validation_command("/var/crash/x/dump.x.xz"),
        ev.evidence_write_command({"message": 'it\'s "quoted" $HOME `x`'}),
    ],
    ids=["trigger", "boot-probe", "journal", "side-files", "validate", "validate-xz", "evidence"],
)
def test_host_commands_are_valid_posix_shell(command):
    # sh -n parses without running anything
    assert subprocess.run(["sh", "-n", "-c", command], capture_output=True, check=False).returncode == 0


def test_trigger_command_is_detached_and_checks_for_root():
    command = ev.trigger_command(5)
    assert command.startswith("[ -w /proc/sysrq-trigger ] ||")
    assert ev.sync_command() in command
    assert command.index("sync") < command.index("echo 1 > /proc/sys/kernel/sysrq")
    assert "echo 1 > /proc/sys/kernel/sysrq" in command
    # The kernel log of the dump says a crash test caused it (the dump inventory reads that line).
    crash = "echo 'kdump-fleet: crash test: sysrq crash follows' > /dev/kmsg 2>/dev/null; echo c > /proc/sysrq-trigger"
    # AccuracySec: systemd's default (1 min) could fire the timer up to a minute late.
    timer = "systemd-run --quiet --on-active=5 --timer-property=AccuracySec=100ms"
    assert f"{timer} /bin/sh -c {shlex.quote(crash)} " in command
    assert "nohup /bin/sh -c {} </dev/null >/dev/null 2>&1 &".format(shlex.quote("sleep 5; " + crash)) in command


def _fake_sync(tmp_path, body):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "sync"
    fake.write_text("#!/bin/sh\n" + body + "\n")
    fake.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


def test_a_sync_that_hangs_stops_the_trigger_with_rc_4(tmp_path):
    env = _fake_sync(tmp_path, "sleep 30")
    res = subprocess.run(
        ["sh", "-c", ev.sync_command(1) + "; echo crashed"], env=env, capture_output=True, text=True, check=False
    )
    # rc 4, not 0: timeout(1) stopped the sync that would have slept 30 s
    assert res.returncode == ev.SYNC_FAILED_RC
    assert "crashed" not in res.stdout
    assert "sync did not finish within 1 s" in res.stderr
    assert "the host was not crashed" in res.stderr


def test_a_sync_that_finishes_lets_the_trigger_go_on(tmp_path):
    env = _fake_sync(tmp_path, "exit 0")
    res = subprocess.run(
        ["sh", "-c", ev.sync_command(5) + "; echo crashed"], env=env, capture_output=True, text=True, check=False
    )
    assert res.returncode == 0
    assert res.stdout == "crashed\n"


def test_parse_trigger_output():
    out = "kdump-fleet-trigger-epoch=1795440600\nkdump-fleet-trigger-via=systemd-run\n"
    assert ev.parse_trigger_output(out) == (1795440600, "systemd-run")
    assert ev.parse_trigger_output("") == (None, None)


def test_capture_side_files_command_looks_back_to_the_trigger():
    command = ev.capture_side_files_command("/var/crash dir", 1000, 1000 + 600)
    assert "find '/var/crash dir' -type f" in command
    assert "-mmin -12 " in command  # 10 minutes since the trigger, plus 2


# ------------------------------------------------------------ finding dumps

OLD = {"path": "/var/crash/202601200901/dump.202601200901", "mtime": 1768899700.0, "size": 50331648}
NEW = {"path": "/var/crash/202601210724/dump.202601210724", "mtime": 1768980300.0, "size": 51753823}
TRIGGER = 1768980220


def test_select_new_dump_ignores_dumps_that_existed_before():
    assert ev.select_new_dump([OLD], [OLD, NEW], TRIGGER) == NEW
    assert ev.select_new_dump([OLD, NEW], [OLD, NEW], TRIGGER) is None


def test_select_new_dump_ignores_new_paths_older_than_the_trigger():
    restored = dict(OLD, path="/var/crash/restored/dump.1")  # e.g. copied back from a backup
    assert ev.select_new_dump([], [restored], TRIGGER) is None


def test_select_new_dump_counts_an_overwritten_path_with_a_new_mtime():
    rewritten = dict(NEW, mtime=TRIGGER + 90.0)
    assert ev.select_new_dump([NEW], [rewritten], TRIGGER) == rewritten


def test_select_new_dump_allows_for_a_capture_kernel_clock_slightly_behind():
    early = dict(NEW, mtime=TRIGGER - 30.0)
    assert ev.select_new_dump([], [early], TRIGGER) == early
    assert ev.select_new_dump([], [early], TRIGGER, slack_s=10) is None


def test_select_new_dump_skips_an_unfinished_dump_and_picks_the_newest():
    unfinished = {"path": "/var/crash/202601210724/dump-incomplete", "mtime": TRIGGER + 200.0, "size": 4096}
    second = dict(NEW, path="/var/crash/202601210726/dump.202601210726", mtime=NEW["mtime"] + 120)
    assert ev.select_new_dump([OLD], [OLD, NEW, unfinished, second], TRIGGER) == second
    assert ev.select_new_dump([OLD], [OLD, unfinished], TRIGGER) is None
    assert [d["path"] for d in ev.new_dumps([OLD], [OLD, unfinished], TRIGGER)] == [unfinished["path"]]


def test_capture_log_highlights_pick_the_failure_lines():
    lines = ev.capture_log_highlights(fixture_text("capture-log-makedumpfile-failed-fcos.txt"))
    # The failure lines in log order, then makedumpfile's version warnings (here the likely cause).
    advisory = [line for line in lines if "The kernel version is not supported" in line or "may be incomplete" in line]
    assert lines[-len(advisory) - 1] == "[    4.715342] kdump[513]: saving vmcore failed, exitcode:1"
    assert "[    4.713863] kdump.sh[511]: makedumpfile Failed." in lines
    assert lines[-len(advisory) :] == advisory
    assert "[    4.713611] kdump.sh[511]: The kernel version is not supported." in advisory
    assert not any("saving vmcore-dmesg.txt complete" in line for line in lines)


def test_capture_log_highlights_of_a_full_nfs_export_start_with_the_write_error():
    # Recorded by the network scenario's "export full" fault (Debian 12, kdump-tools 1.8.1): makedumpfile's
    # version warnings come first in the log; they go after the write error.
    lines = ev.capture_log_highlights(fixture_text("capture-log-nfs-export-full-debian12.txt"))
    assert lines[0].endswith("cat: write error: No space left on device")
    assert lines[-5].endswith("failed to save vmcore in /var/crash/10.77.0.21-202612022358")
    assert all("The kernel version is not supported" in x or "may be incomplete" in x for x in lines[-4:])
    # The file name dump-incomplete in "running makedumpfile ... > .../dump-incomplete" is no problem line.
    assert not any("running makedumpfile -F" in line for line in lines)


def test_capture_log_highlights_of_a_normal_capture_are_empty():
    assert ev.capture_log_highlights(fixture_text("capture-log-success-el.txt")) == []


# ------------------------------------------------------- validating a dump


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/var/crash/202601210724/dump.202601210724", None),
        ("/var/crash/202601210724/dump.202601210724.gz", "gzip -dc"),
        ("/var/crash/202601210724/dump.202601210724.bz2", "bzip2 -dc"),
        ("/var/crash/202601210724/dump.202601210724.xz", "xz -dc"),
        ("/var/crash/202601210724/dump.202601210724.lz4", "lz4 -dc"),
        ("/var/crash/127.0.0.1-2024-03-24-13:37:43/vmcore.flat", None),
    ],
)
def test_decompressor_follows_the_kdump_tools_suffix(path, expected):
    assert ev.decompressor_for(path) == expected


def test_validation_of_a_file_that_is_no_dump_reports_makedumpfiles_error():
    check = ev.parse_validation(*recorded_run("validate-not-a-dump"))
    assert not check["valid"]
    assert check["format"] == "unknown"
    assert check["stage"] == "dump-dmesg"
    assert check["error"] == (
        "makedumpfile --dump-dmesg failed (rc=1): check_elf_format: Can't get valid ehdr. | makedumpfile Failed."
    )


def test_validation_of_a_broken_flattened_dump_names_the_rearrange_step():
    check = ev.parse_validation(*recorded_run("validate-flattened-bad-header"))
    assert check["format"] == "flattened"
    assert check["error"].startswith("makedumpfile -R (flattened dump) failed (rc=1): read_start_flat_header:")


def test_validation_that_hung_says_it_timed_out():
    check = ev.parse_validation(*recorded_run("validate-truncated-flattened"), timeout_s=3)
    assert check["stage"] == "rearrange"
    assert check["error"] == "makedumpfile -R (flattened dump) failed (rc=124): timed out after 3 s"


def test_validation_success_returns_the_log_tail():
    log = fixture_text("dmesg-sysrq-panic-6.17-azure.txt")
    stdout = "kdump-fleet-format=flattened\nkdump-fleet-dmesg-tail:\n" + log
    check = ev.parse_validation(0, stdout, "\nThe dmesg log is saved to /var/tmp/x/dmesg.\n")
    assert check["valid"]
    assert check["error"] is None
    assert check["format"] == "flattened"
    assert check["log"] == log.splitlines()


@pytest.mark.skipif(shutil.which("makedumpfile") is None, reason="makedumpfile is not installed")
def test_validation_script_runs_makedumpfile_on_a_compressed_broken_dump(tmp_path):
    dump = tmp_path / "dump.202601210724.gz"
    dump.write_bytes(gzip.compress(b"makedumpfile\0\0\0\0" + bytes(5000)))
    script = ev.validation_command(str(dump), work_dir=str(tmp_path), timeout_s=20)
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False, timeout=60)
    check = ev.parse_validation(done.returncode, done.stdout, done.stderr, 20)
    assert check["format"] == "flattened"
    assert "read_start_flat_header: Can't get type of flattened format." in check["error"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [dump.name]  # the work directory is removed


# ----------------------------------------------------- the triggered panic


@pytest.mark.parametrize(
    ("fixture", "first", "last"),
    [
        (
            "dmesg-sysrq-panic-6.6-arm64.txt",
            "[   31.277197] sysrq: Trigger a crash",
            "[   31.293697] Hardware name: Raspberry Pi 3 Model B Rev 1.2 (DT)",
        ),
        (
            "dmesg-sysrq-panic-6.17-azure.txt",
            "[   17.519224] sysrq: Trigger a crash",
            "[   17.520541] Hardware name: Microsoft Corporation Virtual Machine/Virtual Machine, BIOS Hyper-V UEFI "
            "Release v4.1 02/25/2026",
        ),
        (
            "dmesg-sysrq-oops-4.9-debian.txt",
            "[1568872.292681] sysrq: SysRq : Trigger a crash",
            "PMD 0 [1568872.384888]",
        ),
    ],
)
def test_panic_excerpt_finds_the_sysrq_crash(fixture, first, last):
    excerpt = ev.panic_excerpt(fixture_text(fixture))
    assert excerpt[0] == first
    assert excerpt[-1] == last
    assert len(excerpt) <= 12


@pytest.mark.parametrize(
    "fixture",
    [
        "dmesg-sysrq-show-backtrace-4.11.txt",  # a sysrq action, not a crash
        "dmesg-kasan-panic-6.1-android.txt",  # a panic sysrq did not cause
        "console-sysrq-oops-ppc64-interleaved.txt",  # trigger line, but nothing ties the oops to it
    ],
)
def test_panic_excerpt_is_empty_without_the_triggered_panic(fixture):
    assert ev.panic_excerpt(fixture_text(fixture)) == []


def test_panic_excerpt_takes_the_last_trigger():
    log = fixture_text("dmesg-sysrq-show-backtrace-4.11.txt") + fixture_text("dmesg-sysrq-panic-6.6-arm64.txt")
    assert ev.panic_excerpt(log.splitlines())[1] == "[   31.280708] Kernel panic - not syncing: sysrq triggered crash"


# ---------------------------------------------------------------- evidence


def test_evidence_record_has_exactly_the_design_shape():
    record = ev.build_evidence_record(
        "success",
        1768980220,
        "6.1.0-28-amd64",
        "ok",
        dump_path=NEW["path"],
        dump_bytes=NEW["size"],
        ram_bytes=2147483648,
        trigger_to_dump_s=80.04,
        trigger_to_up_s=138.26,
    )
    assert record == {
        "version": 1,
        "time": "2026-01-21T07:23:40Z",
        "kernel": "6.1.0-28-amd64",
        "result": "success",
        "dump_path": "/var/crash/202601210724/dump.202601210724",
        "dump_server": None,
        "dump_bytes": 51753823,
        "ram_bytes": 2147483648,
        "trigger_to_dump_s": 80.0,
        "trigger_to_up_s": 138.3,
        "message": "ok",
    }


def test_failed_evidence_record_keeps_unknowns_as_null():
    record = ev.build_evidence_record("failed", 1768980220, "6.1.0-28-amd64", "no new dump")
    assert record["dump_path"] is None
    assert record["trigger_to_up_s"] is None
    with pytest.raises(ValueError, match="result must be"):
        ev.build_evidence_record("maybe", 0, None, "")


def test_ram_share():
    assert ev.ram_share(51753823, 2147483648) == 0.0241
    assert ev.ram_share(51753823, None) is None


def test_evidence_write_command_writes_private_json(tmp_path):
    path = tmp_path / "state" / "last-crash-test.json"
    record = ev.build_evidence_record("failed", 1768980220, "6.1.0-28-amd64", 'it\'s "odd" $HOME `id`')
    subprocess.run(["sh", "-c", ev.evidence_write_command(record, str(path))], check=True)
    assert json.loads(path.read_text()) == record
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["last-crash-test.json"]


def test_evidence_write_command_default_path():
    tokens = shlex.split(ev.evidence_write_command({"version": 1}))
    assert tokens[-1] == "/var/lib/kdump-fleet/last-crash-test.json"


def test_a_suse_capture_that_kept_no_vmcore_is_explained_by_its_readme(tmp_path):
    # kdump 2.x deletes the vmcore when less than KDUMP_FREE_DISK_SIZE stays free and says so in README.txt
    # (openSUSE/kdump dracut/kdump-save); no *-incomplete file is left, so README.txt and dmesg are read.
    directory = tmp_path / "2026-12-03-10-15"
    directory.mkdir()
    readme = load_fixture("suse", "dumps/README-2.x.txt").replace(
        "vmcore status: saved successfully", "vmcore status: deleted (12 < KDUMP_FREE_DISK_SIZE 64)"
    )
    (directory / "README.txt").write_text(readme)
    (directory / "dmesg").write_text(load_fixture("suse", "dumps/dmesg-6.4.0-150600.23.25-default"))
    now = time.time()
    command = ev.capture_side_files_command(str(tmp_path), now - 60, now)
    listing = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True).stdout
    assert f"==> {directory}/README.txt" in listing and f"==> {directory}/dmesg" in listing
    assert ev.capture_log_highlights(listing) == ["vmcore status: deleted (12 < KDUMP_FREE_DISK_SIZE 64)"]
    skipped = readme.replace("deleted (12 < KDUMP_FREE_DISK_SIZE 64)", "skipped")
    assert ev.capture_log_highlights(skipped) == ["vmcore status: skipped"]
    assert ev.capture_log_highlights(load_fixture("suse", "dumps/README-2.x.txt")) == []
