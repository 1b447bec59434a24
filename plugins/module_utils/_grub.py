# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""GRUB drop-in rendering and effective command line reading, Debian/Ubuntu (private to the collection)."""

from __future__ import annotations

import re
import shlex
from typing import Callable, Dict, List, NamedTuple, Optional

from ansible_collections.kdump.fleet.plugins.module_utils._crashkernel import find_in_cmdline

CMDLINE_VARIABLES = ("GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT")
_EFI_GRUB2_CONFIGS = (
    "/boot/efi/EFI/redhat/grub.cfg",
    "/boot/efi/EFI/centos/grub.cfg",
    "/boot/efi/EFI/rocky/grub.cfg",
    "/boot/efi/EFI/almalinux/grub.cfg",
    "/boot/efi/EFI/fedora/grub.cfg",
)
MANAGED_MARKER = "# Managed by kdump.fleet (kdump.fleet.crashkernel)"

# A rendered crashkernel value only holds these; anything else must never reach the shell.
_SAFE_VALUE = re.compile(r"^[0-9A-Za-z@:,\- ]+$")

# grub-mkconfig sources this file with /bin/sh after /etc/default/grub and every
# grub.d/*.cfg before it (Debian's kdump-tools.cfg appends crashkernel=384M-:128M).
# sed is used instead of a for-loop over words so no word is ever glob-expanded.
_STRIP_FUNCTION = """\
kdump_fleet_strip_crashkernel() {
    printf ' %s\\n' "$1" | sed -e 's/[[:space:]]crashkernel=[^[:space:]]*//g' \\
        -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//'
}
"""


def render_dropin(value: Optional[str]) -> str:
    """Text of the drop-in: strip every crashkernel= word, then append ``value`` if given.

    ``value`` is a canonical crashkernel value (``Crashkernel.render()``), e.g.
    ``512M,high 128M,low``; None renders a drop-in that only strips.
    """
    lines = [
        MANAGED_MARKER + "; local changes are overwritten.",
        "# Sourced by grub-mkconfig (/bin/sh) after /etc/default/grub and the grub.d files",
        "# sorted before it: removes every crashkernel= word so that only ours is used.",
        _STRIP_FUNCTION.rstrip("\n"),
        'GRUB_CMDLINE_LINUX="$(kdump_fleet_strip_crashkernel "$GRUB_CMDLINE_LINUX")"',
        'GRUB_CMDLINE_LINUX_DEFAULT="$(kdump_fleet_strip_crashkernel "$GRUB_CMDLINE_LINUX_DEFAULT")"',
    ]
    if value is not None:
        if not _SAFE_VALUE.match(value):
            raise ValueError("refusing to write crashkernel value {0!r} into a shell file".format(value))
        words = " ".join("crashkernel=" + part for part in value.split())
        lines.append(
            'GRUB_CMDLINE_LINUX_DEFAULT="${{GRUB_CMDLINE_LINUX_DEFAULT:+$GRUB_CMDLINE_LINUX_DEFAULT }}{0}"'.format(
                words
            )
        )
    lines.append("unset -f kdump_fleet_strip_crashkernel")
    return "\n".join(lines) + "\n"


def effective_cmdline_script(etc_default: str = "/etc/default") -> str:
    """A /bin/sh script printing both GRUB cmdline variables as grub-mkconfig will see them.

    It sources ``<etc_default>/grub`` then ``<etc_default>/grub.d/*.cfg`` in glob order,
    like Debian's grub-mkconfig; anything those files print goes to stderr.
    """
    base = etc_default.rstrip("/") or "/"
    grub = shlex.quote(base + "/grub")
    dropins = shlex.quote(base + "/grub.d") + "/*.cfg"
    return (
        "GRUB_CMDLINE_LINUX=; GRUB_CMDLINE_LINUX_DEFAULT=\n"
        "{{\n"
        "if [ -f {grub} ]; then . {grub}; fi\n"
        'for kdump_fleet_cfg in {dropins}; do if [ -e "$kdump_fleet_cfg" ]; then . "$kdump_fleet_cfg"; fi; done\n'
        "}} >&2\n"
        "printf 'GRUB_CMDLINE_LINUX=%s\\n' \"$GRUB_CMDLINE_LINUX\"\n"
        "printf 'GRUB_CMDLINE_LINUX_DEFAULT=%s\\n' \"$GRUB_CMDLINE_LINUX_DEFAULT\"\n"
    ).format(grub=grub, dropins=dropins)


def parse_effective_output(stdout: str) -> Dict[str, str]:
    """The two variables from the output of effective_cmdline_script()."""
    found = {name: "" for name in CMDLINE_VARIABLES}
    for line in stdout.splitlines():
        name, sep, value = line.partition("=")
        if sep and name in found:
            found[name] = value
    return found


def effective_crashkernel(stdout: str) -> Optional[str]:
    """The crashkernel value(s) a normal GRUB entry gets (LINUX then LINUX_DEFAULT)."""
    variables = parse_effective_output(stdout)
    return find_in_cmdline(" ".join(variables[name] for name in CMDLINE_VARIABLES))


# The loop that makes grub-mkconfig source the drop-ins: Debian and Ubuntu patch it into
# grub-mkconfig; elsewhere an admin may have added it to /etc/default/grub by hand.
_DROPIN_LOOP = re.compile(r"for\s+\w+\s+in\s+\S*/default/grub\.d/\*\.cfg")


def sources_dropins(*script_texts: Optional[str]) -> bool:
    """Whether any of these shell texts (grub-mkconfig, /etc/default/grub) sources grub.d/*.cfg."""
    return any(text and _DROPIN_LOOP.search(text) for text in script_texts)


def regenerate_argv(
    get_bin_path: Callable[[str], Optional[str]], path_exists: Callable[[str], bool]
) -> Optional[List[str]]:
    """The command that rewrites grub.cfg: update-grub, else grub-mkconfig / grub2-mkconfig.

    None when none of them is installed.
    """
    update_grub = get_bin_path("update-grub")
    if update_grub:
        return [update_grub]
    mkconfig = get_bin_path("grub-mkconfig")
    if mkconfig:
        return [mkconfig, "-o", "/boot/grub/grub.cfg"]
    mkconfig2 = get_bin_path("grub2-mkconfig")
    if mkconfig2:
        target = "/boot/grub2/grub.cfg"
        if not path_exists(target):
            # Before EL9 an EFI system's real config lived on the ESP.
            for efi in _EFI_GRUB2_CONFIGS:
                if path_exists(efi):
                    target = efi
                    break
        return [mkconfig2, "-o", target]
    return None


# --- the generated grub.cfg: what each installed kernel boots with ------------------------------

GRUB_CFG = "/boot/grub/grub.cfg"
_MENUENTRY = re.compile(r"^\s*menuentry\s+(?:'([^']*)'|\"([^\"]*)\")")
# 10_linux gives a recovery entry the id gnulinux-RELEASE-recovery-UUID; its title ("(recovery mode)",
# GRUB_RECOVERY_TITLE) may be changed or translated.
_RECOVERY_ID = re.compile(r"-recovery-")
# grub-mkconfig's 10_linux writes "linux <path to vmlinuz-RELEASE> <args>" (the path is /vmlinuz-... when
# /boot is a partition of its own; grub 2.06 may point at vmlinuz-RELEASE.efi.signed).
_LINUX = re.compile(r"^\s*linux(?:efi|16)?\s+(\S*/vmlinuz-(\S+?)(?:\.efi\.signed)?)(?:\s+(.*))?$")


class GrubEntry(NamedTuple):
    """One menu entry of grub.cfg that boots a Linux kernel."""

    title: str
    release: str
    args: str
    recovery: bool

    @property
    def crashkernel(self) -> Optional[str]:
        return find_in_cmdline(self.args)


def parse_grub_cfg(text: str) -> List[GrubEntry]:
    """The Linux menu entries of a grub.cfg, in menu order (submenus flattened).

    10_linux gives every kernel a normal entry with GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT
    and a "(recovery mode)" entry with GRUB_CMDLINE_LINUX only; the first entry is the one GRUB_DEFAULT=0
    boots (the newest kernel).
    """
    entries = []
    title = None
    recovery = False
    for line in (text or "").splitlines():
        menu = _MENUENTRY.match(line)
        if menu:
            title = menu.group(1) if menu.group(1) is not None else menu.group(2)
            recovery = "(recovery mode)" in title or bool(_RECOVERY_ID.search(line[menu.end() :]))
            continue
        linux = _LINUX.match(line)
        if linux and title is not None:
            entries.append(
                GrubEntry(
                    title=title,
                    release=linux.group(2),
                    args=" ".join((linux.group(3) or "").split()),
                    recovery=recovery,
                )
            )
            title = None
    return entries


def boot_args_by_release(entries: List[GrubEntry]) -> Dict[str, str]:
    """release -> the arguments of its first normal (not recovery) entry."""
    found: Dict[str, str] = {}
    for entry in entries:
        if not entry.recovery:
            found.setdefault(entry.release, entry.args)
    return found
