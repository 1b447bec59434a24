"""VM state directories, records and the commands that only read or clean them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from kdump_lab import image, paths, sshutil, vm


def make_vm(state: Path, name: str, pid: int | None = None, **record) -> vm.VmPaths:
    vm_dir = vm.vm_paths(state, name)
    vm_dir.root.mkdir(parents=True)
    data = {"name": name, "distro": "debian12", "ssh_port": 40022, "key": "/k", "memory_mb": 2048, "cpus": 2}
    data.update(record)
    vm_dir.record.write_text(json.dumps(data))
    if pid is not None:
        vm_dir.pidfile.write_text(f"{pid}\n")
    return vm_dir


def test_paths_follow_the_environment(tmp_path, monkeypatch):
    assert paths.cache_root() == tmp_path / "cache"
    assert paths.images_dir() == tmp_path / "cache" / "images"
    assert paths.default_state_dir() == tmp_path / "state"
    monkeypatch.delenv("KDUMP_LAB_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert paths.cache_root() == tmp_path / "xdg" / "kdump-fleet"
    monkeypatch.delenv("KDUMP_LAB_STATE_DIR")
    assert paths.default_state_dir().parts[-2:] == (".tmp", "lab")


@pytest.mark.parametrize("name", ["kdump-debian12", "a", "vm_1.test"])
def test_valid_names(name):
    assert vm.validate_name(name) == name


@pytest.mark.parametrize("name", ["", "../x", "Upper", "a/b", "-x", "x" * 42])
def test_invalid_names_are_refused(name):
    with pytest.raises(vm.LabError, match="invalid VM name"):
        vm.validate_name(name)


def test_status_lists_recorded_vms_and_ignores_other_dirs(tmp_path):
    state = tmp_path / "state"
    make_vm(state, "b")
    make_vm(state, "a", pid=os.getpid())  # a pid that is not a QEMU: reported stopped
    (state / "not-a-vm").mkdir()
    rows = vm.status(state)
    assert [row["name"] for row in rows] == ["a", "b"]
    assert {row["state"] for row in rows} == {"stopped"}
    assert rows[0]["ssh_port"] == 40022 and rows[0]["pid"] is None


def test_status_of_an_empty_or_missing_state_dir(tmp_path):
    assert vm.status(tmp_path / "nothing-here") == []


def test_down_of_a_stopped_vm_is_a_no_op(tmp_path):
    state = tmp_path / "state"
    make_vm(state, "a", pid=os.getpid())
    assert vm.down(state, "a", log=lambda _m: None) == "not-running"


def test_destroy_removes_the_state_dir_without_killing_strangers(tmp_path):
    state = tmp_path / "state"
    vm_dir = make_vm(state, "a", pid=os.getpid())
    vm.destroy(state, "a", log=lambda _m: None)
    assert not vm_dir.root.exists()


def test_reap_kills_nothing_when_no_qemu_runs(tmp_path):
    state = tmp_path / "state"
    make_vm(state, "a", pid=os.getpid())
    build = paths.images_dir() / ".build-debian12-0123456789abcdef-1"
    build.mkdir(parents=True)
    (build / "qemu-firstboot.pid").write_text(str(os.getppid()))
    assert vm.reap(state, log=lambda _m: None) == []
    assert image.build_dirs() == [build]


def test_connection_info_carries_what_ansible_needs(tmp_path):
    vm_dir = make_vm(tmp_path / "state", "a")
    info = vm.connection_info(vm_dir, vm.read_record(vm_dir))
    assert info["host"] == "127.0.0.1" and info["port"] == 40022
    assert info["user"] == "root" and info["key"] == "/k"
    assert info["console_log"].endswith("/a/console.log")


def test_console_tail(tmp_path):
    vm_dir = make_vm(tmp_path / "state", "a")
    assert "no console" in vm.console_tail(vm_dir)
    vm_dir.console.write_text("".join(f"line {i}\n" for i in range(100)))
    assert vm.console_tail(vm_dir, lines=3) == "line 97\nline 98\nline 99"


def test_up_refuses_a_socket_path_that_unix_cannot_hold(tmp_path):
    with pytest.raises(vm.LabError, match="too long"):
        vm.up(tmp_path / ("d" * 100), "a", "debian12", log=lambda _m: None)


def test_ssh_command_line_and_config(tmp_path):
    argv = sshutil.ssh_args(40022, tmp_path / "key")
    assert argv[0] == "ssh" and argv[-1] == "root@127.0.0.1"
    assert argv[argv.index("-p") : argv.index("-p") + 2] == ["-p", "40022"]
    assert "BatchMode=yes" in argv and "StrictHostKeyChecking=no" in argv
    config = sshutil.ssh_config_text("vm1", 40022, tmp_path / "key")
    assert config.startswith("Host vm1\n")
    assert "  Port 40022\n" in config and f"  IdentityFile {tmp_path / 'key'}\n" in config


def test_list_images_reads_only_complete_entries():
    images = paths.images_dir()
    done = images / "debian12-aaaa"
    done.mkdir(parents=True)
    (done / "manifest.json").write_text(json.dumps({"distro": "debian12", "hash": "aaaa"}))
    (images / ".build-debian13-bbbb-99").mkdir()  # unfinished build: never listed
    (images / "debian13-cccc").mkdir()  # no manifest: interrupted before the rename? never listed
    assert [(e["distro"], e["path"]) for e in image.list_images()] == [("debian12", str(done))]


def test_replace_line_replaces_or_appends(tmp_path):
    grub = tmp_path / "grub"
    grub.write_text('GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\n')
    image._replace_line(grub, "GRUB_CMDLINE_LINUX_DEFAULT=", 'GRUB_CMDLINE_LINUX_DEFAULT="console=ttyS0,115200"')
    image._replace_line(grub, "GRUB_TERMINAL=", "GRUB_TERMINAL=serial")
    image._replace_line(grub, "GRUB_TERMINAL=", "GRUB_TERMINAL=serial")
    assert grub.read_text() == (
        'GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX_DEFAULT="console=ttyS0,115200"\nGRUB_TERMINAL=serial\n'
    )


def test_stale_build_dirs_of_dead_builders_are_removed():
    target = image.Image("debian12", "0123456789abcdef", paths.images_dir() / "debian12-0123456789abcdef")
    dead = paths.images_dir() / f".build-{target.path.name}-{2**22 + 7}"
    alive = paths.images_dir() / f".build-{target.path.name}-{os.getpid()}"
    for work in (dead, alive):
        (work / "rootfs").mkdir(parents=True)
    image._remove_stale_builds(target)
    assert not dead.exists()
    assert alive.exists()
