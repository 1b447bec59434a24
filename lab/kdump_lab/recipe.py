"""What goes into a lab image, and the content hash that names it in the cache.

The hash covers every input that shapes the image: suite, mirror, package list,
disk size, the lab's public key and the source of the lab files that build the
image. Change any of them and the next build is a cache miss.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
GUEST_DIR = PACKAGE_DIR / "guest"
# Lab files whose content shapes the image. cli.py, vm.py etc. only run it.
IMAGE_SHAPING_FILES = ("recipe.py", "image.py")

MIRROR = "http://deb.debian.org/debian"
SECURITY_MIRROR = "http://deb.debian.org/debian-security"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"

# What a minimal Debian server needs to be managed by Ansible and to boot
# through GRUB on a serial console. No kdump packages: the role installs them.
PACKAGES = (
    "apt",
    "dbus",  # without it `systemctl reboot` complains "Failed to connect to bus"
    "grub-pc",
    "initramfs-tools",
    "iproute2",
    "kmod",
    "linux-image-amd64",
    "openssh-server",
    "procps",
    "python3",
    "python3-apt",  # saves every converge an apt install of python3-apt under TCG
    "sudo",
    "systemd-sysv",
    "udev",
    "zstd",  # initramfs-tools falls back to gzip without it
)

DISK_SIZE_BYTES = 6 * 1024**3
PARTITION_START_BYTES = 1024**2  # MBR gap for GRUB's core.img


@dataclass(frozen=True)
class Distro:
    name: str
    suite: str
    description: str


DISTROS = {
    "debian12": Distro("debian12", "bookworm", "Debian 12 (bookworm)"),
    "debian13": Distro("debian13", "trixie", "Debian 13 (trixie)"),
}


def get_distro(name: str) -> Distro:
    try:
        return DISTROS[name]
    except KeyError:
        known = ", ".join(sorted(DISTROS))
        raise ValueError(f"unknown distro {name!r}; known: {known}") from None


def apt_sources(distro: Distro) -> str:
    """deb822 sources for the suite, its updates and its security updates."""
    return (
        "Types: deb\n"
        f"URIs: {MIRROR}\n"
        f"Suites: {distro.suite} {distro.suite}-updates\n"
        "Components: main\n"
        f"Signed-By: {KEYRING}\n"
        "\n"
        "Types: deb\n"
        f"URIs: {SECURITY_MIRROR}\n"
        f"Suites: {distro.suite}-security\n"
        "Components: main\n"
        f"Signed-By: {KEYRING}\n"
    )


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def shaping_files() -> dict[str, str]:
    """sha256 of every lab file that shapes the image, keyed by relative path."""
    paths = [PACKAGE_DIR / name for name in IMAGE_SHAPING_FILES]
    paths += sorted(p for p in GUEST_DIR.iterdir() if p.is_file())
    return {str(p.relative_to(PACKAGE_DIR)): _file_digest(p) for p in paths}


def recipe_inputs(distro: Distro, public_key: str, files: dict[str, str] | None = None) -> dict:
    """Everything the image depends on, as plain JSON-able data."""
    return {
        "distro": distro.name,
        "suite": distro.suite,
        "mirror": MIRROR,
        "security_mirror": SECURITY_MIRROR,
        "packages": sorted(PACKAGES),
        "disk_size_bytes": DISK_SIZE_BYTES,
        "partition_start_bytes": PARTITION_START_BYTES,
        "public_key": public_key.strip(),
        "files": shaping_files() if files is None else files,
    }


def recipe_hash(inputs: dict) -> str:
    """Short, stable content hash of the recipe inputs (key order does not matter)."""
    canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
