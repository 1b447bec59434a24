"""The lab's SSH key pair and the ssh command lines that reach a VM."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from kdump_lab.locking import file_lock
from kdump_lab.paths import cache_root

KEY_NAME = "lab_ed25519"
USER = "root"

# VMs are throw-away and share host keys baked into the image: do not record them.
SSH_OPTIONS = (
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "IdentitiesOnly=yes",
)


def key_path() -> Path:
    return cache_root() / KEY_NAME


def ensure_lab_key() -> Path:
    """Generate the lab key pair once (ed25519, no passphrase); return the private key path."""
    private = key_path()
    private.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(private.with_suffix(".lock")):
        if not private.exists():
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kdump-lab", "-f", str(private)],
                check=True,
            )
    return private


def public_key_text(private: Path) -> str:
    return private.with_name(private.name + ".pub").read_text().strip()


def ssh_args(port: int, key: Path, host: str = "127.0.0.1", connect_timeout: int = 10) -> list[str]:
    """argv prefix for `ssh` to the VM; append a remote command."""
    return [
        "ssh",
        *SSH_OPTIONS,
        "-o",
        "BatchMode=yes",  # never prompt: the lab key is the only way in
        "-o",
        f"ConnectTimeout={connect_timeout}",
        "-i",
        str(key),
        "-p",
        str(port),
        f"{USER}@{host}",
    ]


def ssh_config_text(name: str, port: int, key: Path, host: str = "127.0.0.1") -> str:
    """An ssh_config(5) block, for `ssh -F <file> NAME`."""
    return (
        f"Host {name}\n"
        f"  HostName {host}\n"
        f"  Port {port}\n"
        f"  User {USER}\n"
        f"  IdentityFile {key}\n"
        "  IdentitiesOnly yes\n"
        "  StrictHostKeyChecking no\n"
        "  UserKnownHostsFile /dev/null\n"
        "  LogLevel ERROR\n"
    )


def run_ssh(port: int, key: Path, command: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*ssh_args(port, key), command],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


class SshTimeout(RuntimeError):
    pass


def wait_for_ssh(
    port: int,
    key: Path,
    timeout: float,
    abort_reason: Callable[[], str | None] = lambda: None,
    poll_interval: float = 3.0,
) -> float:
    """Wait until `ssh true` succeeds; return the seconds it took.

    Raises SshTimeout after `timeout` seconds, or as soon as `abort_reason()`
    returns a reason (QEMU exited, the guest kernel stalled, ...).
    """
    start = time.monotonic()
    while True:
        reason = abort_reason()
        if reason:
            raise SshTimeout(reason)
        try:
            if run_ssh(port, key, "true", timeout=30).returncode == 0:
                return time.monotonic() - start
        except subprocess.TimeoutExpired:
            pass
        if time.monotonic() - start > timeout:
            raise SshTimeout(f"no SSH on 127.0.0.1:{port} after {timeout:.0f} s")
        time.sleep(poll_interval)
