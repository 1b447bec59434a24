"""Waiting for SSH, and restarting a boot whose guest kernel stalled under TCG."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from kdump_lab import image, qemu, sshutil, vm

STALL = "[   22.705842] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:\n"


def test_console_stall_only_looks_after_the_offset(tmp_path):
    log = tmp_path / "console.log"
    assert qemu.console_stall(log) is None  # no log yet
    log.write_text("first boot\n" + STALL)
    offset = qemu.file_size(log)
    assert "detected stalls" in qemu.console_stall(log)
    assert qemu.console_stall(log, offset) is None
    with log.open("a") as handle:
        handle.write("[ 58.7] watchdog: BUG: soft lockup - CPU#0 stuck for 46s! [udev-worker:120]\n")
    assert "soft lockup" in qemu.console_stall(log, offset)


def fake_ssh(results):
    calls = iter(results)

    def run_ssh(port, key, command, timeout=60):
        return subprocess.CompletedProcess(["ssh"], next(calls), "", "")

    return run_ssh


def test_wait_for_ssh_returns_once_ssh_works(monkeypatch, tmp_path):
    monkeypatch.setattr(sshutil, "run_ssh", fake_ssh([255, 255, 0]))
    assert sshutil.wait_for_ssh(40022, tmp_path / "k", timeout=60, poll_interval=0) >= 0


def test_wait_for_ssh_stops_at_the_abort_reason(monkeypatch, tmp_path):
    monkeypatch.setattr(sshutil, "run_ssh", fake_ssh([255] * 10))
    reasons = iter([None, None, "QEMU exited"])
    with pytest.raises(sshutil.SshTimeout, match="QEMU exited"):
        sshutil.wait_for_ssh(40022, tmp_path / "k", timeout=60, abort_reason=lambda: next(reasons), poll_interval=0)


def test_wait_for_ssh_times_out(monkeypatch, tmp_path):
    monkeypatch.setattr(sshutil, "run_ssh", fake_ssh([255] * 10))
    with pytest.raises(sshutil.SshTimeout, match="after 0 s"):
        sshutil.wait_for_ssh(40022, tmp_path / "k", timeout=0, poll_interval=0)


class FakeLab:
    """Stands in for QEMU: each launch appends one boot to the console log."""

    def __init__(self, monkeypatch, tmp_path: Path, boots: list[str]):
        self.boots = iter(boots)
        self.launches = 0
        self.stopped = 0
        base = tmp_path / "img"
        base.mkdir()
        fake_image = image.Image("debian12", "f" * 16, base)
        monkeypatch.setattr(vm, "build_image", lambda distro, log: fake_image)
        monkeypatch.setattr(vm, "_prepare_overlay", lambda paths, record, img: None)
        monkeypatch.setattr(vm, "_launch", self.launch)
        monkeypatch.setattr(vm, "_stop_process", self.stop)
        monkeypatch.setattr(vm, "running_pid", lambda paths: 4242)
        monkeypatch.setattr(vm, "wait_for_ssh", self.wait_for_ssh)

    def launch(self, paths, record, state_dir):
        self.launches += 1
        self.current = next(self.boots)
        with paths.console.open("a") as handle:
            handle.write(self.current)
        return 40000 + self.launches

    def stop(self, paths):
        self.stopped += 1
        return True

    def wait_for_ssh(self, port, key, timeout, abort_reason):
        reason = abort_reason()
        if reason:
            raise sshutil.SshTimeout(reason)
        if self.current.startswith("hang"):
            raise sshutil.SshTimeout(f"no SSH on 127.0.0.1:{port} after {timeout:.0f} s")
        return 1.0


def test_up_restarts_a_stalled_boot(monkeypatch, tmp_path):
    lab = FakeLab(monkeypatch, tmp_path, [STALL, "login:\n"])
    messages = []
    info = vm.up(tmp_path / "state", "vm1", "debian12", log=messages.append)
    assert lab.launches == 2 and lab.stopped == 1
    assert info["port"] == 40002
    record = vm.read_record(vm.vm_paths(tmp_path / "state", "vm1"))
    assert record["boot_attempts"] == 2
    assert any("stalled" in m for m in messages)


def test_up_gives_up_after_the_last_attempt_and_points_at_the_console(monkeypatch, tmp_path):
    lab = FakeLab(monkeypatch, tmp_path, [STALL, STALL])
    with pytest.raises(vm.LabError, match="stalled during boot") as error:
        vm.up(tmp_path / "state", "vm1", "debian12", boot_attempts=2, log=lambda _m: None)
    assert "console.log" in str(error.value) and "detected stalls" in str(error.value)
    assert lab.launches == 2 and lab.stopped == 2


def test_a_plain_timeout_is_not_retried(monkeypatch, tmp_path):
    lab = FakeLab(monkeypatch, tmp_path, ["hang without a stall report\n", "login:\n"])
    with pytest.raises(vm.LabError, match="no SSH"):
        vm.up(tmp_path / "state", "vm1", "debian12", log=lambda _m: None)
    assert lab.launches == 1


def test_keep_on_failure_leaves_the_vm_running(monkeypatch, tmp_path):
    lab = FakeLab(monkeypatch, tmp_path, ["hang\n"])
    with pytest.raises(vm.LabError):
        vm.up(tmp_path / "state", "vm1", "debian12", keep_on_failure=True, log=lambda _m: None)
    assert lab.stopped == 0
