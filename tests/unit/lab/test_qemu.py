from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path

import pytest
from kdump_lab import qemu


def spec(tmp_path: Path, **changes) -> qemu.VmSpec:
    values = {
        "name": "vm1",
        "disk": tmp_path / "overlay.qcow2",
        "ssh_port": 42022,
        "console_log": tmp_path / "console.log",
        "qmp_socket": tmp_path / "qmp.sock",
        "pidfile": tmp_path / "qemu.pid",
    }
    values.update(changes)
    return qemu.VmSpec(**values)


def option(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == flag]


def test_command_line_uses_tcg_bios_and_records_the_vm(tmp_path):
    argv = qemu.qemu_command(spec(tmp_path))
    assert argv[0] == "qemu-system-x86_64"
    assert option(argv, "-accel") == ["tcg,thread=multi"]
    assert option(argv, "-cpu") == ["max"]
    assert option(argv, "-m") == ["2048"] and option(argv, "-smp") == ["2"]
    assert option(argv, "-netdev") == ["user,id=net0,hostfwd=tcp:127.0.0.1:42022-:22"]
    assert option(argv, "-pidfile") == [str(tmp_path / "qemu.pid")]
    assert option(argv, "-qmp") == [f"unix:{tmp_path / 'qmp.sock'},server=on,wait=off"]
    assert f"file,id=console,path={tmp_path / 'console.log'},append=on" in option(argv, "-chardev")
    assert argv[-1] == "-daemonize"
    assert "-kernel" not in argv and "-bios" not in argv  # SeaBIOS + the guest's GRUB
    (drive,) = option(argv, "-drive")
    assert drive.startswith(f"file={tmp_path / 'overlay.qcow2'},if=virtio,format=qcow2")
    assert "snapshot" not in drive


def test_build_boots_use_direct_kernel_boot_and_snapshot(tmp_path):
    argv = qemu.qemu_command(
        spec(
            tmp_path,
            disk_format="raw",
            snapshot=True,
            kernel=tmp_path / "vmlinuz",
            initrd=tmp_path / "initrd.img",
            append="root=LABEL=root rw",
            daemonize=False,
            memory_mb=1024,
            cpus=1,
        )
    )
    assert option(argv, "-kernel") == [str(tmp_path / "vmlinuz")]
    assert option(argv, "-initrd") == [str(tmp_path / "initrd.img")]
    assert option(argv, "-append") == ["root=LABEL=root rw"]
    assert option(argv, "-drive")[0].endswith("format=raw,cache=writeback,snapshot=on")
    assert "-daemonize" not in argv
    assert option(argv, "-m") == ["1024"] and option(argv, "-smp") == ["1"]


def test_mac_is_stable_per_name_and_locally_administered():
    assert qemu.mac_for("a") == qemu.mac_for("a")
    assert qemu.mac_for("a") != qemu.mac_for("b")
    assert qemu.mac_for("a").startswith("52:54:00:")
    assert len(qemu.mac_for("a").split(":")) == 6


def test_picked_port_is_free_and_not_excluded():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        assert not qemu.port_is_free(busy)
        port = qemu.pick_free_port(exclude={busy})
        assert port != busy
        assert qemu.port_is_free(port)


def test_pick_free_port_gives_up_when_everything_is_excluded(monkeypatch):
    class OnePortSocket(socket.socket):
        def getsockname(self):
            return ("127.0.0.1", 40000)

    monkeypatch.setattr(qemu.socket, "socket", OnePortSocket)
    with pytest.raises(RuntimeError, match="free TCP port"):
        qemu.pick_free_port(exclude={40000})


def test_read_pid(tmp_path):
    pidfile = tmp_path / "qemu.pid"
    assert qemu.read_pid(pidfile) is None
    pidfile.write_text("1234\n")
    assert qemu.read_pid(pidfile) == 1234
    pidfile.write_text("garbage")
    assert qemu.read_pid(pidfile) is None


def test_a_reused_pid_is_not_taken_for_our_qemu(tmp_path):
    pidfile = tmp_path / "qemu.pid"
    pidfile.write_text(str(os.getpid()))
    assert not qemu.is_lab_qemu(os.getpid(), pidfile)  # this is pytest, not QEMU
    assert qemu.kill_qemu(os.getpid(), pidfile)  # nothing to kill: reports gone, kills nothing
    assert not qemu.is_lab_qemu(2**22 + 1, pidfile)


class FakeQmp(threading.Thread):
    """A unix-socket server speaking just enough QMP for one client."""

    def __init__(self, path: Path, replies: list[dict]):
        super().__init__(daemon=True)
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(1)
        self.replies = replies
        self.received: list[dict] = []

    def run(self):
        conn = self.server.accept()[0]
        with conn, conn.makefile("rw") as stream:
            stream.write(json.dumps({"QMP": {"version": {}, "capabilities": []}}) + "\n")
            stream.flush()
            for reply in self.replies:
                self.received.append(json.loads(stream.readline()))
                stream.write(reply + "\n")
                stream.flush()


def test_qmp_command_skips_events_and_returns_the_result(tmp_path):
    sock = tmp_path / "q.sock"
    event = json.dumps({"event": "POWERDOWN", "timestamp": {}})
    server = FakeQmp(sock, ['{"return": {}}', event + "\n" + '{"return": {"status": "running"}}'])
    server.start()
    assert qemu.qmp_command(sock, "query-status") == {"status": "running"}
    server.join(5)
    assert [m["execute"] for m in server.received] == ["qmp_capabilities", "query-status"]


def test_qmp_error_is_raised(tmp_path):
    sock = tmp_path / "q.sock"
    server = FakeQmp(sock, ['{"return": {}}', '{"error": {"class": "GenericError", "desc": "nope"}}'])
    server.start()
    with pytest.raises(qemu.QmpError, match="nope"):
        qemu.qmp_command(sock, "system_powerdown")
    server.join(5)


def test_qmp_without_a_socket_says_which(tmp_path):
    with pytest.raises(qemu.QmpError, match="q.sock"):
        qemu.qmp_command(tmp_path / "q.sock", "quit")
