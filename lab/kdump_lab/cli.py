"""`kdump-lab`: build cached Debian images and run throw-away QEMU VMs for kdump tests."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from kdump_lab import image, vm
from kdump_lab import network as labnet
from kdump_lab.paths import default_state_dir, images_dir
from kdump_lab.recipe import DISTROS, get_distro
from kdump_lab.sshutil import SSH_OPTIONS


def _log(message: str) -> None:
    # Progress goes to stderr so stdout stays machine-readable (JSON).
    print(f"kdump-lab: {message}", file=sys.stderr, flush=True)


def _print_json(data) -> None:
    print(json.dumps(data, indent=2))


def cmd_build(args) -> int:
    distros = list(dict.fromkeys(args.distro))
    if args.jobs > 1 and len(distros) > 1:
        return _build_in_parallel(distros, args)
    for name in distros:
        built = image.build_image(get_distro(name), force=args.force, log=lambda m, n=name: _log(f"{n}: {m}"))
        print(built.path)
    return 0


def _build_in_parallel(distros: list[str], args) -> int:
    """One `kdump-lab build` process per distro, `--jobs` at a time.

    Builds are mostly downloads, dpkg and disk I/O, so two share 2 cores well.
    Separate processes (not threads) so an interrupt reaches each build, which
    then removes its temp dir and kills its QEMU.
    """
    failed = 0
    for start in range(0, len(distros), args.jobs):
        batch = distros[start : start + args.jobs]
        argv = [sys.executable, "-m", "kdump_lab.cli", "build"] + (["--force"] if args.force else [])
        procs = [subprocess.Popen([*argv, "--distro", name]) for name in batch]
        try:
            failed += sum(1 for proc in procs if proc.wait() != 0)
        except KeyboardInterrupt:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait()
            raise
    return 1 if failed else 0


def cmd_images(args) -> int:
    found = image.list_images()
    if args.json:
        _print_json(found)
        return 0
    if not found:
        print(f"no images in {images_dir()}")
    for entry in found:
        total = entry.get("timings_s", {}).get("total", 0)
        print(f"{entry['distro']:<10} {entry['hash']}  {entry['kernel']:<18} built {entry['built']} in {total:.0f} s")
    return 0


def cmd_prune(args) -> int:
    """Delete cached images that no current recipe names (old hashes)."""
    current = {image.image_for(get_distro(name)).path for name in DISTROS}
    for entry in image.list_images():
        path = Path(entry["path"])
        if path not in current:
            _log(f"removing outdated image {path}")
            if not args.dry_run:
                shutil.rmtree(path)
    return 0


def cmd_up(args) -> int:
    info = vm.up(
        args.state_dir,
        args.name,
        args.distro,
        memory_mb=args.memory,
        cpus=args.cpus,
        ssh_timeout=args.timeout,
        boot_attempts=args.boot_attempts,
        keep_on_failure=args.keep_on_failure,
        network=args.network,
        address=args.address,
        subnet=args.subnet,
        log=_log,
    )
    _print_json(info)
    return 0


def cmd_down(args) -> int:
    names = vm.vm_names(args.state_dir) if args.all else args.names
    if not names:
        raise vm.LabError("name a VM or pass --all")
    for name in names:
        vm.down(args.state_dir, name, timeout=args.timeout, force=args.force, log=_log)
    return 0


def cmd_destroy(args) -> int:
    names = vm.vm_names(args.state_dir) if args.all else args.names
    if not names:
        raise vm.LabError("name a VM or pass --all")
    for name in names:
        vm.destroy(args.state_dir, name, log=_log)
    return 0


def cmd_reap(args) -> int:
    killed = vm.reap(args.state_dir, log=_log)
    if not killed:
        _log("nothing to reap")
    return 0


def cmd_status(args) -> int:
    rows = vm.status(args.state_dir)
    if args.json:
        _print_json(rows)
        return 0
    if not rows:
        print(f"no VMs in {args.state_dir}")
    for row in rows:
        line = (
            f"{row['name']:<20} {row['distro'] or '?':<9} {row['state']:<8} "
            f"pid {row['pid'] or '-':<8} ssh 127.0.0.1:{row['ssh_port'] or '-'}"
        )
        if row.get("network"):
            line += f"  {row['network']} {row['private_address']}"
        print(line)
    return 0


def cmd_networks(args) -> int:
    networks = [labnet.describe(net) for net in labnet.load_all(args.state_dir)]
    if args.json:
        _print_json(networks)
        return 0
    if not networks:
        print(f"no lab networks in {args.state_dir}")
    for net in networks:
        print(f"{net['name']} {net['subnet']} (hub {net['hub'] or 'none yet'})")
        for member in net["members"]:
            role = "hub" if member["hub"] else f"udp 127.0.0.1:{member['udp_port']}"
            print(f"  {member['name']:<20} {member['address']:<15} {member['mac']}  {role}")
    return 0


def cmd_console(args) -> int:
    paths = vm.vm_paths(args.state_dir, args.name)
    if not paths.console.exists():
        raise vm.LabError(f"no console log for {args.name} at {paths.console}")
    argv = ["tail", "-n", str(args.lines)] + (["-F"] if args.follow else []) + [str(paths.console)]
    os.execvp(argv[0], argv)
    return 0  # not reached


def cmd_ssh(args) -> int:
    paths = vm.vm_paths(args.state_dir, args.name)
    record = vm.read_record(paths)
    if not record or not vm.running_pid(paths):
        raise vm.LabError(f"VM {args.name} is not running; start it with `kdump-lab up {args.name} --distro ...`")
    argv = ["ssh", *SSH_OPTIONS, "-i", record["key"], "-p", str(record["ssh_port"]), "root@127.0.0.1"]
    os.execvp("ssh", argv + args.command)
    return 0  # not reached


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kdump-lab",
        description=__doc__,
        epilog="Images are cached under ${KDUMP_LAB_CACHE:-${XDG_CACHE_HOME:-~/.cache}/kdump-fleet}/images; "
        "VM state lives in --state-dir. See docs/lab.md.",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=default_state_dir(),
        help="directory holding one sub-directory per VM (default: %(default)s; env KDUMP_LAB_STATE_DIR)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    distros = sorted(DISTROS)

    p = sub.add_parser("build", help="build (or find in the cache) a bootable disk image")
    p.add_argument("--distro", action="append", choices=distros, required=True, help="repeat for several")
    p.add_argument("--force", action="store_true", help="rebuild even when the cache has this recipe")
    p.add_argument("--jobs", type=int, default=1, help="images to build at the same time (default: %(default)s)")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("images", help="list the cached images")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_images)

    p = sub.add_parser("prune", help="delete cached images built from an older recipe")
    p.add_argument("--dry-run", action="store_true", help="only say what would be deleted")
    p.set_defaults(func=cmd_prune)

    p = sub.add_parser("up", help="start a VM and wait for SSH; prints connection JSON")
    p.add_argument("name")
    p.add_argument("--distro", choices=distros, required=True)
    p.add_argument("--memory", type=int, default=2048, help="MiB (default: %(default)s)")
    p.add_argument("--cpus", type=int, default=2, help="vCPUs (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=600, help="seconds to wait for SSH (default: %(default)s)")
    p.add_argument(
        "--boot-attempts",
        type=int,
        default=3,
        help="boots to try when the guest kernel stalls under TCG (default: %(default)s)",
    )
    p.add_argument("--keep-on-failure", action="store_true", help="leave QEMU running when SSH never comes up")
    p.add_argument(
        "--network",
        metavar="NET",
        help="join lab network NET (created on first use): a second NIC on a private segment carried by QEMU "
        "over 127.0.0.1; the first VM to join carries it (the hub). A member stays one until destroyed",
    )
    p.add_argument("--address", metavar="IP", help="static address on --network (default: first free from .10)")
    p.add_argument(
        "--subnet",
        metavar="CIDR",
        help="subnet of a new --network, private and /24 to /30 (default: 10.77.<slot>.0/24)",
    )
    p.set_defaults(func=cmd_up)

    for command, helptext in (
        ("down", "stop VMs cleanly (ACPI power button, then ssh poweroff, then kill); keeps their disks"),
        ("destroy", "kill VMs and delete their state (disk overlay, logs)"),
    ):
        p = sub.add_parser(command, help=helptext)
        p.add_argument("names", nargs="*", metavar="NAME")
        p.add_argument("--all", action="store_true", help="every VM in the state dir")
        if command == "down":
            p.add_argument("--timeout", type=float, default=90, help="seconds per stop method (default: %(default)s)")
            p.add_argument("--force", action="store_true", help="kill at once")
            p.set_defaults(func=cmd_down)
        else:
            p.set_defaults(func=cmd_destroy)

    p = sub.add_parser("reap", help="kill every QEMU the lab started (state dir and unfinished builds)")
    p.set_defaults(func=cmd_reap)

    p = sub.add_parser("status", help="list VMs and whether they run")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("networks", help="list lab networks: subnet, hub, members' addresses, MACs and UDP ports")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_networks)

    p = sub.add_parser("console", help="show the tail of a VM's serial console log")
    p.add_argument("name")
    p.add_argument("-n", "--lines", type=int, default=50)
    p.add_argument("-f", "--follow", action="store_true", help="keep following (like tail -F)")
    p.set_defaults(func=cmd_console)

    p = sub.add_parser("ssh", help="ssh into a VM as root (optionally run a command)")
    p.add_argument("name")
    p.add_argument("command", nargs=argparse.REMAINDER, help="remote command (default: interactive shell)")
    p.set_defaults(func=cmd_ssh)
    return parser


def _interrupt(signum, _frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # SIGTERM (e.g. from a CI timeout) cleans up like Ctrl-C: builds remove their
    # temp dir and kill their QEMU, `up` kills the VM it was waiting for.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return args.func(args)
    except (vm.LabError, image.BuildError, ValueError) as exc:
        print(f"kdump-lab: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("kdump-lab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
