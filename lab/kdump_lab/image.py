"""Build a bootable Debian disk image from Debian's archive, without mounting anything.

Steps (see docs/lab.md for why each is done this way):
1. debootstrap a minbase root file system with the recipe's packages;
2. write the lab's configuration into it (serial console GRUB, MODULES=dep,
   DHCP, root's authorized_keys, apt sources) and a one-shot first-boot unit;
3. `mkfs.ext4 -d` the tree into a partition image and place it in an MBR disk;
4. first boot by QEMU direct kernel boot: the guest installs GRUB on its own
   disk, rebuilds its initramfs and powers off;
5. verification boot through SeaBIOS and the guest's GRUB (snapshot mode, so the
   image stays untouched) until SSH answers;
6. convert to a read-only qcow2 base and rename the build directory into place.

Everything happens in a temporary directory next to the cache entry; only the
final rename makes an image visible, so an interrupted build never looks valid.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kdump_lab import qemu
from kdump_lab.locking import file_lock
from kdump_lab.paths import cache_root, images_dir
from kdump_lab.recipe import (
    DISK_SIZE_BYTES,
    GUEST_DIR,
    MIRROR,
    PACKAGES,
    PARTITION_START_BYTES,
    Distro,
    apt_sources,
    recipe_hash,
    recipe_inputs,
)
from kdump_lab.sshutil import ensure_lab_key, public_key_text, run_ssh, wait_for_ssh

BASE_IMAGE = "base.qcow2"
MANIFEST = "manifest.json"
FIRSTBOOT_TIMEOUT_S = 1200
VERIFY_SSH_TIMEOUT_S = 600
BOOT_ATTEMPTS = 3  # boots tried when the guest kernel stalls under TCG
SERIAL_CMDLINE = "console=ttyS0,115200"

Log = Callable[[str], None]


class BuildError(RuntimeError):
    pass


@dataclass(frozen=True)
class Image:
    distro: str
    digest: str
    path: Path  # the cache entry directory

    @property
    def base(self) -> Path:
        return self.path / BASE_IMAGE

    @property
    def manifest(self) -> Path:
        return self.path / MANIFEST

    def exists(self) -> bool:
        return self.manifest.is_file() and self.base.is_file()


def image_for(distro: Distro) -> Image:
    """The cache entry that the current recipe names (built or not)."""
    key = ensure_lab_key()
    digest = recipe_hash(recipe_inputs(distro, public_key_text(key)))
    return Image(distro.name, digest, images_dir() / f"{distro.name}-{digest}")


def build_image(distro: Distro, force: bool = False, log: Log = print) -> Image:
    image = image_for(distro)
    with file_lock(images_dir() / f".{image.path.name}.lock"):
        if image.exists() and not force:
            log(f"cache hit: {image.path}")
            return image
        _remove_stale_builds(image)
        work = image.path.with_name(f".build-{image.path.name}-{os.getpid()}")
        work.mkdir(parents=True)
        try:
            manifest = _build_into(distro, image, work, log)
            (work / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
            (work / BASE_IMAGE).chmod(0o444)
            if image.path.exists():  # --force: replace the old entry
                _remove_tree(image.path)
            os.rename(work, image.path)
        finally:
            if work.exists():
                _remove_tree(work)
    log(f"built {image.path} in {manifest['timings_s']['total']:.0f} s")
    return image


def list_images() -> list[dict]:
    """Manifests of every complete image in the cache."""
    found = []
    if images_dir().is_dir():
        for entry in sorted(images_dir().iterdir()):
            manifest = entry / MANIFEST
            if not entry.name.startswith(".") and manifest.is_file():
                data = json.loads(manifest.read_text())
                data["path"] = str(entry)
                found.append(data)
    return found


# --- the build itself -----------------------------------------------------------


def _build_into(distro: Distro, image: Image, work: Path, log: Log) -> dict:
    timings: dict[str, float] = {}
    started = time.monotonic()
    key = ensure_lab_key()
    rootfs = work / "rootfs"
    disk = work / "disk.raw"

    step = time.monotonic()
    log(f"[1/6] debootstrap {distro.suite} from {MIRROR} (about 2 min)")
    _debootstrap(distro, rootfs)
    timings["debootstrap"] = time.monotonic() - step

    log("[2/6] configure the root file system")
    _configure_rootfs(distro, rootfs, public_key_text(key))
    kernel, initrd, kernel_version = _extract_kernel(rootfs, work)

    step = time.monotonic()
    log("[3/6] mkfs.ext4 -d and MBR disk")
    _make_disk(rootfs, disk, work)
    _remove_tree(rootfs)
    timings["disk"] = time.monotonic() - step

    step = time.monotonic()
    log("[4/6] first boot (direct kernel boot): grub-install, update-initramfs, power off (2-4 min under TCG)")
    _first_boot(disk, kernel, initrd, work, log)
    timings["first_boot"] = time.monotonic() - step

    step = time.monotonic()
    log("[5/6] verification boot through SeaBIOS + the guest's GRUB")
    timings["verify_boot_to_ssh"], cmdline = _verify_boot(disk, key, work, log)
    timings["verify_boot"] = time.monotonic() - step

    step = time.monotonic()
    log("[6/6] convert to qcow2")
    _run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(disk), str(work / BASE_IMAGE)])
    for leftover in [disk, kernel, initrd, *work.glob("*.pid"), *work.glob("*.sock")]:
        leftover.unlink()
    timings["convert"] = time.monotonic() - step
    timings["total"] = time.monotonic() - started
    return {
        "distro": distro.name,
        "suite": distro.suite,
        "hash": image.digest,
        "kernel": kernel_version,
        "guest_cmdline": cmdline,
        "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "recipe": recipe_inputs(distro, public_key_text(key)),
    }


def _run(argv: list[str], stdin_data: bytes | None = None, **kwargs) -> None:
    """Run a build command in its own process group, so an interrupted build kills all of it.

    (debootstrap forks shells that would otherwise outlive a killed parent.)
    """
    with subprocess.Popen(
        argv, stdin=subprocess.PIPE if stdin_data else None, start_new_session=True, **kwargs
    ) as proc:
        try:
            proc.communicate(stdin_data)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            raise
    if proc.returncode != 0:
        raise BuildError(f"command failed ({proc.returncode}): {' '.join(argv)}")


def _debootstrap(distro: Distro, rootfs: Path) -> None:
    debs = cache_root() / "debs" / distro.suite  # reused .debs make rebuilds faster
    debs.mkdir(parents=True, exist_ok=True)
    _run(
        [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(PACKAGES)}",
            f"--cache-dir={debs}",
            distro.suite,
            str(rootfs),
            MIRROR,
        ],
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C.UTF-8"},
        stdout=subprocess.DEVNULL,
    )


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink():
        path.unlink()
    path.write_text(text)
    path.chmod(mode)


def _replace_line(path: Path, prefix: str, new_line: str) -> None:
    """Replace the line starting with `prefix` (or append it) in a config file."""
    lines = path.read_text().splitlines()
    replaced = [new_line if line.startswith(prefix) else line for line in lines]
    if replaced == lines and new_line not in lines:
        replaced.append(new_line)
    path.write_text("\n".join(replaced) + "\n")


def _configure_rootfs(distro: Distro, rootfs: Path, public_key: str) -> None:
    _write(rootfs / "etc/hostname", "kdump-lab\n")
    _write(rootfs / "etc/hosts", "127.0.0.1\tlocalhost\n127.0.1.1\tkdump-lab\n::1\tlocalhost ip6-localhost\n")
    _write(rootfs / "etc/fstab", "LABEL=root\t/\text4\terrors=remount-ro\t0\t1\n")
    # QEMU user networking: DHCP from 10.0.2.2, DNS relay at 10.0.2.3.
    _write(rootfs / "etc/resolv.conf", "nameserver 10.0.2.3\n")
    _write(rootfs / "etc/systemd/network/20-wired.network", (GUEST_DIR / "20-wired.network").read_text())
    (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
    _write(rootfs / "etc/apt/sources.list.d/debian.sources", apt_sources(distro))
    _write(rootfs / "root/.ssh/authorized_keys", public_key + "\n", 0o600)
    (rootfs / "root/.ssh").chmod(0o700)

    grub = rootfs / "etc/default/grub"
    _replace_line(grub, "GRUB_TIMEOUT=", "GRUB_TIMEOUT=1")
    _replace_line(grub, "GRUB_CMDLINE_LINUX_DEFAULT=", f'GRUB_CMDLINE_LINUX_DEFAULT="{SERIAL_CMDLINE}"')
    _replace_line(grub, "GRUB_TERMINAL=", "GRUB_TERMINAL=serial")
    _replace_line(grub, "GRUB_SERIAL_COMMAND=", 'GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"')
    # Only the modules this machine needs: initramfs rebuilds take ~1 min instead of ~11 under TCG.
    _replace_line(rootfs / "etc/initramfs-tools/initramfs.conf", "MODULES=", "MODULES=dep")

    _write(rootfs / "usr/local/sbin/kdump-lab-firstboot", (GUEST_DIR / "firstboot.sh").read_text(), 0o755)
    _write(
        rootfs / "etc/systemd/system/kdump-lab-firstboot.service",
        (GUEST_DIR / "kdump-lab-firstboot.service").read_text(),
    )
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    _run(
        ["chroot", str(rootfs), "systemctl", "enable", "systemd-networkd.service", "kdump-lab-firstboot.service"],
        **quiet,
    )
    # Unattended apt runs would take the dpkg lock in the middle of a converge.
    _run(["chroot", str(rootfs), "systemctl", "mask", "apt-daily.timer", "apt-daily-upgrade.timer"], **quiet)


def _extract_kernel(rootfs: Path, work: Path) -> tuple[Path, Path, str]:
    kernels = sorted((rootfs / "boot").glob("vmlinuz-*"))
    if not kernels:
        raise BuildError("debootstrap installed no kernel in /boot")
    version = kernels[-1].name.removeprefix("vmlinuz-")
    kernel = work / "vmlinuz"
    initrd = work / "initrd.img"
    shutil.copyfile(kernels[-1], kernel)
    shutil.copyfile(rootfs / "boot" / f"initrd.img-{version}", initrd)
    return kernel, initrd, version


def _make_disk(rootfs: Path, disk: Path, work: Path) -> None:
    part_bytes = DISK_SIZE_BYTES - PARTITION_START_BYTES
    part = work / "root.ext4"
    with part.open("wb") as handle:
        handle.truncate(part_bytes)
    _run(["mkfs.ext4", "-q", "-F", "-L", "root", "-d", str(rootfs), str(part)])
    with disk.open("wb") as handle:
        handle.truncate(DISK_SIZE_BYTES)
    table = f"label: dos\nstart={PARTITION_START_BYTES // 512}, size={part_bytes // 512}, type=83, bootable\n"
    _run(["sfdisk", "--quiet", str(disk)], stdin_data=table.encode())
    _run(
        [
            "dd",
            f"if={part}",
            f"of={disk}",
            "bs=1M",
            f"seek={PARTITION_START_BYTES // 1024**2}",
            "conv=notrunc,sparse",
            "status=none",
        ]
    )
    part.unlink()


def _vm_spec(work: Path, disk: Path, stage: str, **extra) -> qemu.VmSpec:
    return qemu.VmSpec(
        name=f"build-{stage}",
        disk=disk,
        disk_format="raw",
        ssh_port=qemu.pick_free_port(),
        console_log=work / f"console-{stage}.log",
        qmp_socket=work / f"qmp-{stage}.sock",
        pidfile=work / f"qemu-{stage}.pid",
        daemonize=False,
        **extra,
    )


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no console log)"


class _Stalled(Exception):
    """The guest kernel reported a stall: this boot will not finish, a new one will."""


def _with_stall_retries(boot, stage: str, log: Log):
    for attempt in range(1, BOOT_ATTEMPTS + 1):
        try:
            return boot()
        except _Stalled as exc:
            if attempt == BOOT_ATTEMPTS:
                raise BuildError(f"{stage}: the guest kernel stalled in {BOOT_ATTEMPTS} boots: {exc}") from exc
            log(f"{stage}: the guest kernel stalled ({exc}); booting again")
    raise AssertionError("unreachable")


def _first_boot(disk: Path, kernel: Path, initrd: Path, work: Path, log: Log) -> None:
    # Everything the first-boot script does is idempotent, so a stalled boot is simply repeated.
    def boot() -> None:
        spec = _vm_spec(
            work, disk, "firstboot", kernel=kernel, initrd=initrd, append=f"root=LABEL=root rw {SERIAL_CMDLINE}"
        )
        deadline = time.monotonic() + FIRSTBOOT_TIMEOUT_S
        with subprocess.Popen(qemu.qemu_command(spec), stdin=subprocess.DEVNULL) as proc:
            try:
                while proc.poll() is None:
                    stall = qemu.console_stall(spec.console_log)
                    if stall:
                        raise _Stalled(stall)
                    if time.monotonic() > deadline:
                        raise BuildError(
                            f"first boot did not power off within {FIRSTBOOT_TIMEOUT_S} s; console:\n"
                            f"{_tail(spec.console_log)}"
                        )
                    time.sleep(2)
            finally:
                if proc.poll() is None:
                    proc.kill()
                tail = _tail(spec.console_log, 60)
                finished = "kdump-lab-firstboot: OK" in _tail(spec.console_log, 10_000)
                _keep_log(spec.console_log, work)
        if not finished:
            raise BuildError(f"first boot failed; console:\n{tail}")

    _with_stall_retries(boot, "first boot", log)


def _verify_boot(disk: Path, key: Path, work: Path, log: Log) -> tuple[float, str]:
    def boot() -> tuple[float, str, str]:
        spec = _vm_spec(work, disk, "verify", snapshot=True)

        def problem() -> str | None:
            if proc.poll() is not None:
                return "QEMU exited"
            stall = qemu.console_stall(spec.console_log)
            if stall:
                raise _Stalled(stall)
            return None

        with subprocess.Popen(qemu.qemu_command(spec), stdin=subprocess.DEVNULL) as proc:
            try:
                seconds = wait_for_ssh(spec.ssh_port, key, VERIFY_SSH_TIMEOUT_S, abort_reason=problem)
                cmdline = run_ssh(spec.ssh_port, key, "cat /proc/cmdline").stdout.strip()
                failed = run_ssh(spec.ssh_port, key, "systemctl --failed --no-legend --plain").stdout.strip()
            except _Stalled:
                raise
            except Exception as exc:
                raise BuildError(f"verification boot failed: {exc}; console:\n{_tail(spec.console_log)}") from exc
            finally:
                proc.kill()
                proc.wait()
                _keep_log(spec.console_log, work)
        return seconds, cmdline, failed

    seconds, cmdline, failed = _with_stall_retries(boot, "verification boot", log)
    if "BOOT_IMAGE=" not in cmdline or SERIAL_CMDLINE not in cmdline:
        raise BuildError(f"the guest did not boot through its own GRUB: /proc/cmdline is {cmdline!r}")
    if failed:
        raise BuildError(f"systemd units failed on the verification boot:\n{failed}")
    return seconds, cmdline


def _keep_log(console_log: Path, work: Path) -> None:
    if console_log.exists():
        with (work / "build-console.log").open("a") as out:
            out.write(console_log.read_text(errors="replace"))
        console_log.unlink()


# --- cleanup ---------------------------------------------------------------------


def _mounts_below(path: Path) -> list[str]:
    prefix = str(path.resolve()) + "/"
    mounts = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        target = line.split()[1].replace("\\040", " ")
        if target.startswith(prefix):
            mounts.append(target)
    return sorted(mounts, key=len, reverse=True)


def _remove_tree(path: Path) -> None:
    """rm -rf that first unmounts what an interrupted debootstrap left mounted inside."""
    for target in _mounts_below(path):
        subprocess.run(["umount", "-l", target], check=False)
    if _mounts_below(path):
        raise BuildError(f"refusing to delete {path}: file systems are still mounted below it")
    shutil.rmtree(path, ignore_errors=True)


def build_dirs() -> list[Path]:
    """Temporary build directories (complete or not) in the cache."""
    if not images_dir().is_dir():
        return []
    return sorted(images_dir().glob(".build-*"))


def _remove_stale_builds(image: Image) -> None:
    for work in image.path.parent.glob(f".build-{image.path.name}-*"):
        pid = work.name.rsplit("-", 1)[-1]
        if not (pid.isdigit() and Path(f"/proc/{pid}").exists()):
            _remove_tree(work)
