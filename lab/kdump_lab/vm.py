"""Lab VMs: a qcow2 overlay on a cached base image, one QEMU process, one state directory.

<state-dir>/<name>/ holds everything about one VM, so `reap` can find and stop
every QEMU the lab started even after a crashed or interrupted test run:

    vm.json          what was started (distro, image, port, sizes, timings)
    overlay.qcow2    the VM's disk: writes on top of the read-only base image
    qemu.pid         written by QEMU itself
    qmp.sock         QMP socket (ACPI power button, quit)
    console.log      serial console, appended across boots
    connection.json  host, port, user, key: what Ansible and ssh need
    ssh_config       `ssh -F ssh_config NAME`

A VM on a lab network (network.py) also records the network's name, its private
address and MAC; the network itself lives in <state-dir>/.networks/<network>.json.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from kdump_lab import network as labnet
from kdump_lab import qemu
from kdump_lab.image import Image, build_dirs, build_image
from kdump_lab.locking import file_lock
from kdump_lab.recipe import get_distro
from kdump_lab.sshutil import USER, SshTimeout, ensure_lab_key, run_ssh, ssh_config_text, wait_for_ssh

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,40}$")
UNIX_SOCKET_PATH_MAX = 107
PORT_RETRIES = 3


class LabError(RuntimeError):
    pass


@dataclass(frozen=True)
class VmPaths:
    root: Path

    @property
    def record(self) -> Path:
        return self.root / "vm.json"

    @property
    def overlay(self) -> Path:
        return self.root / "overlay.qcow2"

    @property
    def pidfile(self) -> Path:
        return self.root / "qemu.pid"

    @property
    def qmp(self) -> Path:
        return self.root / "qmp.sock"

    @property
    def console(self) -> Path:
        return self.root / "console.log"

    @property
    def connection(self) -> Path:
        return self.root / "connection.json"

    @property
    def ssh_config(self) -> Path:
        return self.root / "ssh_config"


def validate_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise LabError(f"invalid VM name {name!r}: use lower-case letters, digits, '.', '_' and '-' (max 41)")
    return name


def vm_paths(state_dir: Path, name: str) -> VmPaths:
    return VmPaths(state_dir / validate_name(name))


def read_record(paths: VmPaths) -> dict | None:
    try:
        return json.loads(paths.record.read_text())
    except (OSError, ValueError):
        return None


def running_pid(paths: VmPaths) -> int | None:
    """The pid of this VM's QEMU if it is running (never a reused pid of something else)."""
    pid = qemu.read_pid(paths.pidfile)
    if pid and qemu.is_lab_qemu(pid, paths.pidfile):
        return pid
    return None


def vm_names(state_dir: Path) -> list[str]:
    if not state_dir.is_dir():
        return []
    return sorted(p.name for p in state_dir.iterdir() if p.is_dir() and (p / "vm.json").is_file())


def console_tail(paths: VmPaths, lines: int = 40) -> str:
    try:
        text = paths.console.read_text(errors="replace")
    except OSError:
        return "(no console output yet)"
    return "\n".join(text.splitlines()[-lines:])


def connection_info(paths: VmPaths, record: dict) -> dict:
    info = {
        "name": record["name"],
        "host": "127.0.0.1",
        "port": record["ssh_port"],
        "user": USER,
        "key": record["key"],
        "distro": record["distro"],
        "console_log": str(paths.console),
        "ssh_config": str(paths.ssh_config),
        "state_dir": str(paths.root),
    }
    if record.get("network"):  # only on a lab network: the single-VM JSON stays as it was
        info["network"] = record["network"]
        info["private_address"] = record["private_address"]
    return info


# --- up ----------------------------------------------------------------------------


def up(
    state_dir: Path,
    name: str,
    distro_name: str,
    *,
    memory_mb: int = 2048,
    cpus: int = 2,
    ssh_timeout: float = 600,
    boot_attempts: int = 3,
    keep_on_failure: bool = False,
    network: str | None = None,
    address: str | None = None,
    subnet: str | None = None,
    log=print,
) -> dict:
    """Start VM `name` (or return the running one) and wait until SSH answers.

    A boot whose guest kernel reports a stall (see qemu.STALL_MARKERS) is killed
    and restarted, up to `boot_attempts` boots in all.

    With `network`, the VM joins that lab network (created on first use, `subnet`
    default 10.77.<slot>.0/24) with `address` (default: the first free one from .10)
    and gets a second NIC on it; once SSH answers, its static address is written to
    the guest's systemd-networkd configuration and applied (see network.py).
    """
    paths = vm_paths(state_dir, name)
    distro = get_distro(distro_name)
    if network is None and (address is not None or subnet is not None):
        raise LabError("--address and --subnet need --network")
    if network is not None:
        labnet.validate_network_name(network)
    if len(str(paths.qmp)) > UNIX_SOCKET_PATH_MAX:
        raise LabError(f"state dir path too long for a unix socket: {paths.qmp}; use a shorter --state-dir")
    with file_lock(state_dir / f".{name}.lock"):
        record = read_record(paths)
        if record and record.get("network") and network not in (None, record["network"]):
            raise LabError(f"VM {name} is on network {record['network']}; destroy it to move it to {network}")
        if record and record.get("network") and network is None:
            network = record["network"]  # a member stays a member until destroyed
        if record and running_pid(paths):
            if record["distro"] != distro.name:
                raise LabError(f"VM {name} is already running {record['distro']}; destroy it first")
            if network != record.get("network"):
                raise LabError(f"VM {name} is running without a lab network; destroy it to put it on {network}")
            log(f"{name}: already running (pid {running_pid(paths)}, ssh port {record['ssh_port']})")
            return connection_info(paths, record)

        image = build_image(distro, log=log)
        key = ensure_lab_key()
        paths.root.mkdir(parents=True, exist_ok=True)
        _prepare_overlay(paths, record, image)
        record = {
            "name": name,
            "distro": distro.name,
            "image": str(image.path),
            "base": str(image.base),
            "memory_mb": memory_mb,
            "cpus": cpus,
            "key": str(key),
            "mac": qemu.mac_for(name),
        }
        lan = None
        if network is not None:
            lan = _join_network(state_dir, network, name, address=address, subnet=subnet, log=log)
            record["network"] = lan.name
            record["private_address"] = str(lan.member(name).address)
            record["private_mac"] = labnet.member_mac(lan.slot, lan.host(name))
        for attempt in range(1, boot_attempts + 1):
            seconds = _boot(
                paths,
                record,
                state_dir=state_dir,
                key=key,
                ssh_timeout=ssh_timeout,
                keep_on_failure=keep_on_failure,
                may_retry=attempt < boot_attempts,
                log=log,
            )
            if seconds is not None:
                break
            log(f"{name}: restarting QEMU (boot {attempt + 1} of {boot_attempts})")
        if lan is not None:
            _configure_guest_network(paths, record, lan, key, keep_on_failure=keep_on_failure, log=log)
        record["boot_to_ssh_s"] = round(seconds, 1)
        record["boot_attempts"] = attempt
        _write_record(paths, record)
        info = connection_info(paths, record)
        paths.connection.write_text(json.dumps(info, indent=2) + "\n")
    log(f"{name}: SSH up after {record['boot_to_ssh_s']} s")
    return info


def _boot(
    paths: VmPaths,
    record: dict,
    *,
    state_dir: Path,
    key: Path,
    ssh_timeout: float,
    keep_on_failure: bool,
    may_retry: bool,
    log,
) -> float | None:
    """One boot: start QEMU, wait for SSH. Returns seconds to SSH, or None to retry after a stall."""
    console_offset = qemu.file_size(paths.console)
    started = time.monotonic()
    record["ssh_port"] = _launch(paths, record, state_dir)
    record["started"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    _write_record(paths, record)
    paths.ssh_config.write_text(ssh_config_text(record["name"], record["ssh_port"], key))
    log(f"{record['name']}: QEMU started (pid {running_pid(paths)}), waiting for SSH on 127.0.0.1:{record['ssh_port']}")

    def boot_problem() -> str | None:
        if running_pid(paths) is None:
            return "the QEMU process exited before SSH came up"
        stall = qemu.console_stall(paths.console, console_offset)
        return f"the guest kernel stalled during boot ({stall})" if stall else None

    try:
        wait_for_ssh(record["ssh_port"], key, ssh_timeout, abort_reason=boot_problem)
        return time.monotonic() - started
    except SshTimeout as exc:
        if may_retry and qemu.console_stall(paths.console, console_offset):
            log(f"{record['name']}: {exc}")
            _stop_process(paths)
            return None
        failure: BaseException = exc
    except KeyboardInterrupt as exc:
        failure = exc
    if not keep_on_failure:
        _stop_process(paths)
    raise LabError(
        f"{record['name']}: {failure}.\nSerial console log: {paths.console}\n"
        f"--- last console lines ---\n{console_tail(paths)}"
    ) from failure


def _join_network(state_dir: Path, network: str, name: str, *, address: str | None, subnet: str | None, log):
    """Join (or rejoin) the lab network; a new member gets its port on an already running hub."""
    try:
        lan, new = labnet.join(state_dir, network, name, address=address, subnet=subnet)
        lan = labnet.claim_hub(state_dir, network, name)  # only when the network has no hub (new, or hub destroyed)
    except labnet.NetworkError as exc:
        raise LabError(str(exc)) from None
    role = "hub" if lan.hub == name else f"member (hub {lan.hub})"
    log(f"{name}: network {lan.name} ({lan.subnet}) address {lan.member(name).address}, {role}")
    if new and lan.hub != name:
        _hot_add_to_hub(state_dir, lan, name, log)
    return lan


def _hot_add_to_hub(state_dir: Path, lan: labnet.LabNetwork, name: str, log) -> None:
    """Give a running hub's QEMU the port for a new member (QMP netdev_add); a stopped hub gets it at start."""
    hub_paths = VmPaths(state_dir / lan.hub)
    if running_pid(hub_paths) is None:
        return
    for command, arguments in labnet.hot_add_commands(lan, name):
        try:
            qemu.qmp_command(hub_paths.qmp, command, arguments)
        except qemu.QmpError as exc:
            if "Duplicate" in str(exc) or "already" in str(exc):
                continue  # the hub has that port already (it started after the join, or a member rejoined)
            raise LabError(
                f"{name}: could not add a port for it to the running hub {lan.hub} ({command}: {exc}); "
                f"restart the hub: kdump-lab down {lan.hub} && kdump-lab up {lan.hub} --distro ..."
            ) from exc
    log(f"{name}: port added to the running hub {lan.hub}")


def _configure_guest_network(
    paths: VmPaths, record: dict, lan: labnet.LabNetwork, key: Path, *, keep_on_failure: bool, log
) -> None:
    """Write the private NIC's .network file in the guest (it stays in the overlay) and apply it."""
    script = labnet.guest_configure_script(lan, record["name"])
    try:
        result = run_ssh(record["ssh_port"], key, script, timeout=90)
    except subprocess.TimeoutExpired:
        result = subprocess.CompletedProcess([], 124, "", "timed out after 90 s")
    if result.returncode != 0:
        if not keep_on_failure:
            _stop_process(paths)
        raise LabError(
            f"{record['name']}: could not configure {record['private_address']} on network {lan.name}: "
            f"{result.stderr.strip() or result.returncode}"
        )
    log(f"{record['name']}: {record['private_address']}/{lan.subnet.prefixlen} on {result.stdout.strip()}")


def _write_record(paths: VmPaths, record: dict) -> None:
    paths.record.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def _prepare_overlay(paths: VmPaths, record: dict | None, image: Image) -> None:
    """Reuse the overlay of a stopped VM on the same base; refuse to mix bases."""
    if paths.overlay.exists():
        if record and record.get("base") == str(image.base):
            return
        raise LabError(f"{paths.overlay} belongs to another image; run `kdump-lab destroy {paths.root.name}` first")
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(image.base), str(paths.overlay)],
        check=True,
    )


def _ports_in_use(state_dir: Path, except_name: str) -> set[int]:
    ports = set()
    for other in vm_names(state_dir):
        other_paths = VmPaths(state_dir / other)
        other_record = read_record(other_paths)
        if other != except_name and other_record and running_pid(other_paths):
            ports.add(other_record.get("ssh_port"))
    return ports


def _launch(paths: VmPaths, record: dict, state_dir: Path) -> int:
    """Start QEMU daemonized; retry with another port if the forward could not bind."""
    paths.pidfile.unlink(missing_ok=True)
    paths.qmp.unlink(missing_ok=True)
    for _attempt in range(PORT_RETRIES):
        port = qemu.pick_free_port(exclude=_ports_in_use(state_dir, record["name"]))
        if record.get("network"):
            # Under the networks lock, so a member that joins meanwhile is either in this argv or hot-added.
            with labnet.networks_lock(state_dir):
                result = _start_qemu(paths, record, port, state_dir)
        else:
            result = _start_qemu(paths, record, port, state_dir)
        if result.returncode == 0:
            return port
        if "hostfwd" not in result.stderr and "forwarding" not in result.stderr:
            raise LabError(f"QEMU failed to start: {result.stderr.strip()}")
    raise LabError(f"QEMU could not bind an SSH port after {PORT_RETRIES} tries: {result.stderr.strip()}")


def _private_nic(record: dict, state_dir: Path) -> tuple[str, ...]:
    if not record.get("network"):
        return ()
    lan = labnet.load(state_dir, record["network"])
    if lan is None:
        raise LabError(f"{record['name']}: network {record['network']} has no record; destroy the VM and start again")
    return tuple(labnet.nic_args(lan, record["name"]))


def _start_qemu(paths: VmPaths, record: dict, port: int, state_dir: Path) -> subprocess.CompletedProcess:
    spec = qemu.VmSpec(
        name=record["name"],
        disk=paths.overlay,
        ssh_port=port,
        console_log=paths.console,
        qmp_socket=paths.qmp,
        pidfile=paths.pidfile,
        memory_mb=record["memory_mb"],
        cpus=record["cpus"],
        private_nic=_private_nic(record, state_dir),
    )
    return subprocess.run(qemu.qemu_command(spec), capture_output=True, text=True, check=False)


# --- down / destroy / reap -------------------------------------------------------------


def _stop_process(paths: VmPaths) -> bool:
    pid = running_pid(paths)
    return pid is None or qemu.kill_qemu(pid, paths.pidfile)


def down(state_dir: Path, name: str, timeout: float = 90, force: bool = False, log=print) -> str:
    """Stop a VM: ACPI power button via QMP, `poweroff` over ssh, then kill. Keeps the overlay."""
    paths = vm_paths(state_dir, name)
    pid = running_pid(paths)
    if pid is None:
        log(f"{name}: not running")
        return "not-running"
    if not force:
        with contextlib.suppress(qemu.QmpError, OSError):
            qemu.qmp_command(paths.qmp, "system_powerdown")
            if qemu.wait_for_exit(pid, timeout, paths.pidfile):
                log(f"{name}: powered off (ACPI)")
                return "acpi"
        record = read_record(paths) or {}
        if record.get("ssh_port"):
            with contextlib.suppress(subprocess.TimeoutExpired):
                run_ssh(record["ssh_port"], Path(record["key"]), "systemctl poweroff", timeout=20)
            if qemu.wait_for_exit(pid, timeout / 2, paths.pidfile):
                log(f"{name}: powered off (ssh poweroff)")
                return "ssh"
    if not qemu.kill_qemu(pid, paths.pidfile):
        raise LabError(f"{name}: QEMU pid {pid} survived SIGKILL")
    log(f"{name}: killed")
    return "killed"


def destroy(state_dir: Path, name: str, log=print) -> None:
    """Kill the VM (its disk is thrown away anyway) and delete its state directory."""
    paths = vm_paths(state_dir, name)
    if not _stop_process(paths):
        raise LabError(f"{name}: could not kill QEMU pid {qemu.read_pid(paths.pidfile)}")
    record = read_record(paths) or {}
    if record.get("network"):
        labnet.leave(state_dir, record["network"], name)
        log(f"{name}: left network {record['network']}")
    if paths.root.exists():
        shutil.rmtree(paths.root)
        log(f"{name}: destroyed")
    (state_dir / f".{name}.lock").unlink(missing_ok=True)


def reap(state_dir: Path, log=print) -> list[str]:
    """Kill every QEMU recorded in the state dir and in unfinished image builds."""
    killed = []
    pidfiles = [VmPaths(state_dir / name).pidfile for name in vm_names(state_dir)]
    for work in build_dirs():
        pidfiles += sorted(work.glob("*.pid"))
    for pidfile in pidfiles:
        pid = qemu.read_pid(pidfile)
        if pid and qemu.is_lab_qemu(pid, pidfile):
            if not qemu.kill_qemu(pid, pidfile, grace=3):
                raise LabError(f"could not kill QEMU pid {pid} ({pidfile})")
            killed.append(f"{pid} ({pidfile.parent.name})")
            log(f"reaped QEMU pid {pid} ({pidfile.parent})")
    return killed


def status(state_dir: Path) -> list[dict]:
    rows = []
    for name in vm_names(state_dir):
        paths = VmPaths(state_dir / name)
        record = read_record(paths) or {}
        pid = running_pid(paths)
        rows.append(
            {
                "name": name,
                "distro": record.get("distro"),
                "state": "running" if pid else "stopped",
                "pid": pid,
                "ssh_port": record.get("ssh_port"),
                "memory_mb": record.get("memory_mb"),
                "cpus": record.get("cpus"),
                "started": record.get("started"),
                "boot_to_ssh_s": record.get("boot_to_ssh_s"),
                "network": record.get("network"),
                "private_address": record.get("private_address"),
            }
        )
    return rows
