"""QEMU command lines, free ports, QMP and the QEMU processes the lab starts."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path

QEMU_BINARY = "qemu-system-x86_64"


@dataclass(frozen=True)
class VmSpec:
    """Everything that goes on one QEMU command line."""

    name: str
    disk: Path
    ssh_port: int
    console_log: Path
    qmp_socket: Path
    pidfile: Path
    memory_mb: int = 2048
    cpus: int = 2
    disk_format: str = "qcow2"
    snapshot: bool = False  # writes go to a temp file, the disk stays untouched
    kernel: Path | None = None  # direct kernel boot (image build only)
    initrd: Path | None = None
    append: str | None = None
    daemonize: bool = True
    private_nic: tuple[str, ...] = ()  # network.nic_args: the second NIC on a lab network (empty: none)


def mac_for(name: str) -> str:
    """A stable locally administered MAC per VM name (QEMU's default is the same for all)."""
    digest = hashlib.sha256(name.encode()).digest()
    return "52:54:00:" + ":".join(f"{b:02x}" for b in digest[:3])


def qemu_command(spec: VmSpec) -> list[str]:
    """argv for one VM: TCG (KVM does not work on these machines), BIOS boot, serial console to a file."""
    drive = f"file={spec.disk},if=virtio,format={spec.disk_format},cache=writeback"
    if spec.snapshot:
        drive += ",snapshot=on"
    argv = [
        QEMU_BINARY,
        "-name",
        f"kdump-lab-{spec.name}",
        "-machine",
        "pc",
        "-accel",
        "tcg,thread=multi",
        "-cpu",
        "max",
        "-smp",
        str(spec.cpus),
        "-m",
        str(spec.memory_mb),
        "-nodefaults",
        "-display",
        "none",
        "-rtc",
        "base=utc",
        "-drive",
        drive,
        "-netdev",
        f"user,id=net0,hostfwd=tcp:127.0.0.1:{spec.ssh_port}-:22",
        "-device",
        f"virtio-net-pci,netdev=net0,mac={mac_for(spec.name)}",
        "-device",
        "virtio-rng-pci",  # sshd and the crng would otherwise wait for entropy under TCG
        *spec.private_nic,  # after the first NIC and the RNG, so their PCI slots (and NIC name) stay as they are
        "-chardev",
        f"file,id=console,path={spec.console_log},append=on",
        "-serial",
        "chardev:console",
        "-qmp",
        f"unix:{spec.qmp_socket},server=on,wait=off",
        "-pidfile",
        str(spec.pidfile),
    ]
    if spec.kernel:
        argv += ["-kernel", str(spec.kernel)]
        if spec.initrd:
            argv += ["-initrd", str(spec.initrd)]
        if spec.append:
            argv += ["-append", spec.append]
    if spec.daemonize:
        argv.append("-daemonize")
    return argv


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def pick_free_port(exclude: set[int] | frozenset[int] = frozenset(), host: str = "127.0.0.1") -> int:
    """A port the kernel says is free now and no recorded VM claims.

    QEMU binds it a moment later; the caller retries on the rare race.
    """
    for _attempt in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
        if port not in exclude:
            return port
    raise RuntimeError("could not find a free TCP port on 127.0.0.1")


# --- processes ---------------------------------------------------------------


def read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def process_cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def is_lab_qemu(pid: int, pidfile: Path) -> bool:
    """True when `pid` is a live QEMU that the lab started with this pidfile (not a reused pid)."""
    argv = process_cmdline(pid)
    return bool(argv) and QEMU_BINARY in Path(argv[0]).name and str(pidfile) in argv


def wait_for_exit(pid: int, timeout: float, pidfile: Path) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_lab_qemu(pid, pidfile):
            return True
        time.sleep(0.5)
    return not is_lab_qemu(pid, pidfile)


def kill_qemu(pid: int, pidfile: Path, grace: float = 5.0) -> bool:
    """SIGTERM, then SIGKILL after `grace` seconds. Returns True when it is gone."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        if not is_lab_qemu(pid, pidfile):
            return True
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        if wait_for_exit(pid, wait, pidfile):
            return True
    return False


# --- guest console ---------------------------------------------------------------

# Seen under TCG on a loaded host: a vCPU halts and its timer interrupt never
# arrives, the kernel prints RCU stall reports and the boot never finishes.
# A fresh QEMU process boots normally, so callers restart instead of waiting.
STALL_MARKERS = ("detected stalls on CPUs/tasks", "self-detected stall on CPU", "soft lockup - CPU#")


def console_stall(console_log: Path, offset: int = 0) -> str | None:
    """The first kernel stall report in the console log after `offset`, or None."""
    try:
        with console_log.open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if any(marker in line for marker in STALL_MARKERS):
            return line.strip()
    return None


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


# --- QMP -----------------------------------------------------------------------


class QmpError(RuntimeError):
    pass


def qmp_command(qmp_socket: Path, command: str, arguments: dict | None = None, timeout: float = 10.0) -> dict:
    """Send one QMP command and return its `return` value."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(qmp_socket))
        except OSError as exc:
            raise QmpError(f"cannot connect to QMP socket {qmp_socket}: {exc}") from exc
        stream = sock.makefile("rw", encoding="utf-8", newline="\n")
        _qmp_read(stream)  # greeting
        for execute, args in (("qmp_capabilities", None), (command, arguments)):
            message = {"execute": execute}
            if args:
                message["arguments"] = args
            stream.write(json.dumps(message) + "\n")
            stream.flush()
            reply = _qmp_reply(stream)
        return reply


def _qmp_read(stream) -> dict:
    line = stream.readline()
    if not line:
        raise QmpError("QMP connection closed")
    return json.loads(line)


def _qmp_reply(stream) -> dict:
    while True:
        message = _qmp_read(stream)
        if "return" in message:
            return message["return"]
        if "error" in message:
            raise QmpError(message["error"].get("desc", str(message["error"])))
        # anything else is an asynchronous event: skip it
