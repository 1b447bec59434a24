# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsers for host facts (/proc, os-release, systemctl, dpkg/rpm, kdump tools); private to the collection."""

from __future__ import annotations

import re
import shlex
import stat

# ID / ID_LIKE values of /etc/os-release that decide the distribution family.
DEBIAN_IDS = ("debian", "ubuntu")
REDHAT_IDS = ("rhel", "centos", "fedora", "almalinux", "rocky", "ol")
# openSUSE Leap / Tumbleweed / MicroOS and SLES / SLE Micro: ID_LIKE carries "suse" on all of them.
SUSE_IDS = ("suse", "opensuse", "opensuse-leap", "opensuse-tumbleweed", "sles", "sled", "sle-micro", "sl-micro")

# Query formats, kept here next to the parsers that read their output.
DPKG_QUERY_FORMAT = "${Package}\\t${Status}\\t${Version}\\n"
RPM_QUERY_FORMAT = "%{NAME}\\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\n"
SYSTEMCTL_PROPERTIES = "LoadState,ActiveState,UnitFileState,SubState"

_IOMEM_LINE = re.compile(r"^(?P<indent>\s*)(?P<start>[0-9a-fA-F]+)-(?P<end>[0-9a-fA-F]+)\s+:\s+(?P<name>.*?)\s*$")
# <stamp> for a local dump, <ip or hostname>-<stamp> for NFS and SSH (kdump-config's HOSTTAG).
_DEBIAN_DUMP_DIR = re.compile(r"^(?:[A-Za-z0-9.:-]+-)?(\d{12})$")
_REDHAT_DUMP_FILES = ("vmcore", "vmcore.flat")
# SUSE's kdump: the stamp alone for a local target, "<hostname>-" (kdump 2.x) or "<ip>-" (kdump 1.x, or
# "unknown-" when the target did not answer) before it for a remote one. kdump 2.x (SLES 15 SP6+, Leap 15.6+,
# SLES 16, Tumbleweed) writes YYYY-MM-DD-HH-MM, kdump 1.x (SLES 15 SP4/SP5, Leap 15.4/15.5) YYYY-MM-DD-HH:MM.
# Each pattern comes with the strptime format of its stamp, for the dump inventory's crash time.
SUSE_GEN2_DUMP_DIR = re.compile(r"^(?:[A-Za-z0-9.-]+-)?(?P<stamp>\d{4}-\d{2}-\d{2}-\d{2}-\d{2})$")
SUSE_GEN1_DUMP_DIR = re.compile(r"^(?:[A-Za-z0-9.:-]+-)?(?P<stamp>\d{4}-\d{2}-\d{2}-\d{2}:\d{2})$")
SUSE_DUMP_DIRS = ((SUSE_GEN2_DUMP_DIR, "%Y-%m-%d-%H-%M"), (SUSE_GEN1_DUMP_DIR, "%Y-%m-%d-%H:%M"))
# kdump 1.x with KDUMPTOOL_FLAGS=SPLIT saves one dump as vmcore1..vmcoreN (makedumpfile --split): it counts
# once, by its first part; the other parts are not dumps of their own.
_SUSE_SPLIT_FIRST_PART = "vmcore1"


# --- /etc/os-release -------------------------------------------------------


def parse_os_release(text):
    """Return the KEY=value pairs of an os-release(5) file, values unquoted."""
    values = {}
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, raw = line.split("=", 1)
        try:
            words = shlex.split(raw)
        except ValueError:  # unbalanced quote: keep the raw text rather than lose the line
            words = [raw.strip("\"'")]
        values[key.strip()] = " ".join(words)
    return values


def distribution(os_release):
    """The ``distribution`` fact: id, version and codename from parsed os-release values."""
    return {
        "id": os_release.get("ID") or None,
        "version": os_release.get("VERSION_ID") or None,
        "codename": os_release.get("VERSION_CODENAME") or None,
    }


def family(os_release):
    """``debian``, ``redhat``, ``suse`` or ``unknown``, from ID first and then ID_LIKE."""
    candidates = [os_release.get("ID", "")] + os_release.get("ID_LIKE", "").split()
    for candidate in candidates:
        if candidate in DEBIAN_IDS:
            return "debian"
        if candidate in REDHAT_IDS:
            return "redhat"
        if candidate in SUSE_IDS:
            return "suse"
    return "unknown"


# --- /proc/meminfo and /proc/iomem -----------------------------------------


def parse_meminfo(text):
    """Return /proc/meminfo as {key: int}; ``kB`` values are converted to bytes."""
    values = {}
    for line in text.splitlines():
        if ":" not in line:
            continue
        key, rest = line.split(":", 1)
        parts = rest.split()
        if not parts or not parts[0].isdigit():
            continue
        number = int(parts[0])
        if len(parts) > 1 and parts[1] == "kB":
            number *= 1024
        values[key.strip()] = number
    return values


def parse_iomem(text):
    """Return the regions of /proc/iomem as dicts: start, end, size, name, depth (nesting level)."""
    regions = []
    indents = []  # indent widths of the open parents, to turn indentation into depth
    for line in text.splitlines():
        match = _IOMEM_LINE.match(line)
        if not match:
            continue
        indent = len(match.group("indent"))
        while indents and indents[-1] >= indent:
            indents.pop()
        depth = len(indents)
        indents.append(indent)
        start = int(match.group("start"), 16)
        end = int(match.group("end"), 16)
        regions.append(
            {"start": start, "end": end, "size": end - start + 1, "name": match.group("name"), "depth": depth}
        )
    return regions


def summarize_iomem(text):
    """Crash kernel region and System RAM total from /proc/iomem.

    Without root the kernel prints every address as zero; then ``masked`` is true and the
    sizes are unknown (None). The largest ``Crash kernel`` region is reported (a second,
    low region exists with ``crashkernel=X,high``); ``crash_kernel_regions`` counts them all.
    System RAM is summed over the outermost ``System RAM`` regions only, so nested
    duplicates are not counted twice; None when the listing has none (empty file).
    """
    regions = parse_iomem(text)
    masked = bool(regions) and all(r["start"] == 0 and r["end"] == 0 for r in regions)
    crash = [r for r in regions if r["name"] == "Crash kernel"]
    summary = {"masked": masked, "crash_kernel": None, "crash_kernel_regions": len(crash), "system_ram_bytes": None}
    if crash:
        largest = max(crash, key=lambda r: r["size"])
        summary["crash_kernel"] = (
            {"start": None, "end": None, "size": None}
            if masked
            else {"start": largest["start"], "end": largest["end"], "size": largest["size"]}
        )
    if not masked:
        summary["system_ram_bytes"] = _outermost_total(regions, "System RAM") or None
    return summary


def _outermost_total(regions, name):
    total = 0
    open_depths = []  # depths of the enclosing regions with this name
    for region in regions:
        while open_depths and open_depths[-1] >= region["depth"]:
            open_depths.pop()
        if region["name"] == name:
            if not open_depths:
                total += region["size"]
            open_depths.append(region["depth"])
    return total


# --- systemctl ---------------------------------------------------------------


def parse_systemctl_show(text):
    """Service state from ``systemctl show -p LoadState,ActiveState,UnitFileState,SubState``.

    Empty output (systemctl in a chroot prints nothing) gives None for every field.
    """
    props = {}
    for line in text.splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            props[key.strip()] = value.strip()
    load_state = props.get("LoadState") or None
    unit_file_state = props.get("UnitFileState") or None
    active_state = props.get("ActiveState") or None
    if load_state is None:
        return _service_state(None, None, None, None)
    masked = load_state == "masked" or (unit_file_state or "").startswith("masked")
    exists = load_state != "not-found" or masked
    return _service_state(
        exists=exists,
        unit_file_state=unit_file_state,
        active=None if active_state is None else active_state in ("active", "reloading"),
        masked=masked,
        sub_state=props.get("SubState") or None,
    )


def parse_systemctl_is_enabled(stdout, rc):
    """Service state from ``systemctl --root=/ is-enabled UNIT`` (works without a running systemd).

    It knows the unit file only: ``active`` stays None. A missing unit prints nothing and rc 1.
    """
    state = stdout.strip() or None
    if state is None:
        return _service_state(exists=False if rc != 0 else None, unit_file_state=None, active=None, masked=False)
    return _service_state(exists=True, unit_file_state=state, active=None, masked=state.startswith("masked"))


def _service_state(exists, unit_file_state, active, masked, sub_state=None):
    enabled = None if unit_file_state is None else unit_file_state in ("enabled", "enabled-runtime")
    if exists is False:
        enabled = False
        active = False if active is None else active
    return {
        "exists": exists,
        "enabled": enabled,
        "active": active,
        "masked": masked,
        "unit_file_state": unit_file_state,
        "sub_state": sub_state,
    }


# --- package managers -------------------------------------------------------


def parse_dpkg_query(text, names):
    """Installed versions from ``dpkg-query -W -f='${Package}\\t${Status}\\t${Version}\\n' NAMES``.

    Returns {name: version or None}; a package removed but not purged (config-files) is None.
    """
    versions = dict.fromkeys(names)
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) < 3:
            continue
        package, status, version = fields[0], fields[1], fields[2]
        package = package.split(":", 1)[0]  # multi-arch names print as name:arch
        if package in versions and status.split()[-1:] == ["installed"] and version:
            versions[package] = version
    return versions


def parse_rpm_query(text, names):
    """Installed versions from ``rpm -q --qf RPM_QUERY_FORMAT NAMES``.

    Missing packages print ``package NAME is not installed`` and stay None.
    """
    versions = dict.fromkeys(names)
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) == 2 and fields[0] in versions and fields[1]:
            versions[fields[0]] = fields[1]
    return versions


# --- kdump tools -------------------------------------------------------------


def parse_kdump_config_show(text):
    """Fields of Debian/Ubuntu ``kdump-config show``.

    Returns the ``KEY: value`` settings as printed (``settings``) plus the parsed
    ``crashkernel_addr`` (int or None), ``current_state``, ``ready`` (bool or None),
    ``suggested_size`` and the recorded ``kexec_command`` (None when none is recorded).
    """
    settings = {}
    result = {
        "settings": settings,
        "crashkernel_addr": None,
        "current_state": None,
        "ready": None,
        "suggested_size": None,
        "kexec_command": None,
    }
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if not line or line[0].isspace() or ":" not in line:
            continue
        key, value = (part.strip() for part in line.split(":", 1))
        if key == "crashkernel addr":
            result["crashkernel_addr"] = int(value, 16) if re.match(r"^0x[0-9a-fA-F]+$", value) else None
        elif key == "current state":
            result["current_state"] = value or None
            result["ready"] = value == "ready to kdump"
        elif key == "crashkernel suggested size":
            result["suggested_size"] = value or None
        elif key == "kexec command":
            following = lines[index + 1].strip() if index + 1 < len(lines) else ""
            if following and following != "no kexec command recorded":
                result["kexec_command"] = following
        elif re.match(r"^[A-Z][A-Z0-9_]*$", key):
            settings[key] = value
    return result


def parse_kdumpctl_status(text, rc=None):
    """Fields of RHEL-family ``kdumpctl status``.

    ``operational`` is True/False from the ``Kdump is [not] operational`` line (None if
    absent), ``dump_mode`` comes from ``Dump mode is ...`` and ``messages`` holds every
    line without the ``kdump:`` prefix. kdumpctl exits 3 when not operational.
    """
    messages = []
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if line.startswith("kdump:"):
            line = line[len("kdump:") :].strip()
        if line:
            messages.append(line)
    operational = None
    dump_mode = None
    for message in messages:
        lowered = message.lower()
        if lowered == "kdump is operational":
            operational = True
        elif lowered == "kdump is not operational":
            operational = False
        elif lowered.startswith("dump mode is "):
            dump_mode = message[len("dump mode is ") :].strip() or None
    if operational is None and rc == 3:
        operational = False
    return {"operational": operational, "dump_mode": dump_mode, "messages": messages}


# --- dumps -----------------------------------------------------------------


def find_dumps(listing, limit=None):
    """Pick the vmcores out of a two-level listing of a dump directory, newest first.

    ``listing`` holds one dict per file found one directory below the dump path:
    ``dir`` (directory name), ``name`` (file name), ``path``, ``size``, ``mtime``,
    ``mode`` and ``dir_mode`` (st_mode ints). Debian's kdump-tools writes
    ``<YYYYMMDDHHMM>/dump.<YYYYMMDDHHMM>`` (plus a compression suffix with
    KDUMP_COMPRESSION, or ``vmcore.<stamp>`` for its copy fallback); kdump-utils writes ``<ip>-<date>/vmcore``
    (``vmcore.flat`` for flattened dumps); SUSE's kdump ``[<host>-]<date>/vmcore`` (see SUSE_DUMP_DIRS;
    a split dump's first part ``vmcore1`` stands for it, so its ``size`` is that part's). Partial files
    (``*-incomplete``), kernel logs, README.txt and the kernel, System.map and scripts SUSE's kdump 1.x
    copies next to a dump are not dumps. ``world_readable`` means others can read the file: it has o+r
    and its directory o+x; ``group_readable`` the same for the file's group (g+r, g+x).
    Returns {count, items (at most ``limit``), newest, world_readable_count,
    group_readable_count}; ``newest`` and the counts look at every dump, also those beyond
    ``limit``.
    """
    items = []
    for entry in listing:
        if not is_dump(entry["dir"], entry["name"]):
            continue
        mode = stat.S_IMODE(entry["mode"])
        dir_mode = stat.S_IMODE(entry["dir_mode"])
        items.append(
            {
                "path": entry["path"],
                "mtime": entry["mtime"],
                "size": entry["size"],
                "mode": "%04o" % mode,
                "dir_mode": "%04o" % dir_mode,
                "world_readable": bool(mode & stat.S_IROTH) and bool(dir_mode & stat.S_IXOTH),
                "group_readable": bool(mode & stat.S_IRGRP) and bool(dir_mode & stat.S_IXGRP),
            }
        )
    items.sort(key=lambda item: (item["mtime"], item["path"]), reverse=True)
    summary = {
        "count": len(items),
        "newest": items[0] if items else None,
        "world_readable_count": sum(1 for item in items if item["world_readable"]),
        "group_readable_count": sum(1 for item in items if item["group_readable"]),
    }
    summary["items"] = items[:limit] if limit is not None else items
    return summary


# kdump-config names a dump dump.<stamp>[.bz2|.gz|.lz4|.xz] (KDUMP_COMPRESSION), or
# vmcore.<stamp> when makedumpfile failed and it fell back to copying /proc/vmcore.
_DEBIAN_DUMP_SUFFIXES = ("", ".bz2", ".gz", ".lz4", ".xz")


def is_dump(directory, name):
    """Whether ``name`` in the dump directory ``directory`` (its base name) is a dump the tools wrote."""
    if name in _REDHAT_DUMP_FILES:
        return True
    if name == _SUSE_SPLIT_FIRST_PART:
        return bool(SUSE_GEN1_DUMP_DIR.match(directory))
    found = _DEBIAN_DUMP_DIR.match(directory)
    if not found:
        return False
    stamp = found.group(1)
    return name == "vmcore." + stamp or any(name == "dump." + stamp + ext for ext in _DEBIAN_DUMP_SUFFIXES)


# --- facts several modules decide on (one implementation each) ---------------


def memory_figure(iomem_summary, meminfo):
    """The host's memory for sizing crashkernel=: {"bytes": int or None, "source": "iomem" | "meminfo" | None}.

    ``iomem_summary`` is summarize_iomem() output, ``meminfo`` parse_meminfo() output
    (either may be None). The System RAM total of /proc/iomem is what the kernel compares
    crashkernel ranges against, so it is used when root could read the addresses; else
    MemTotal (a little lower: it leaves out what the kernel itself keeps). Neither known:
    bytes and source are None.
    """
    system_ram = (iomem_summary or {}).get("system_ram_bytes")
    if system_ram:
        return {"bytes": system_ram, "source": "iomem"}
    total = (meminfo or {}).get("MemTotal")
    if total:
        return {"bytes": total, "source": "meminfo"}
    return {"bytes": None, "source": None}


def system_ram_regions(regions):
    """(start, end) of the outermost System RAM regions of parse_iomem() output; [] when masked."""
    spans = []
    open_depths = []
    for region in regions:
        while open_depths and open_depths[-1] >= region["depth"]:
            open_depths.pop()
        if region["name"] == "System RAM":
            if not open_depths and region["end"] > region["start"]:
                spans.append((region["start"], region["end"]))
            open_depths.append(region["depth"])
    return spans


# Tools that regenerate grub.cfg from /etc/default/grub and its drop-ins (Debian, Ubuntu; also
# upstream GRUB, whose grub-mkconfig the crashkernel module then checks for the drop-in loop).
GRUB_DROPIN_TOOLS = ("update-grub", "grub-mkconfig")
# The SUSE family's (and Fedora's) name for grub-mkconfig; its GRUB reads /etc/default/grub only.
GRUB_DEFAULT_TOOLS = ("grub2-mkconfig",)


def choose_bootloader(has_tool):
    """How the boot command line is changed on this host: ``grubby``, ``grub_dropin``, ``grub_default`` or ``none``.

    ``has_tool(name)`` is true when the executable ``name`` is installed (a probe injected
    by the caller: AnsibleModule.get_bin_path, or a lookup under a host root).

    grubby first: the RHEL family also has /etc/default/grub, but its boot entries are
    BLS snippets that grubby edits. Else ``grub_dropin`` when a tool that regenerates
    grub.cfg is installed (update-grub, grub-mkconfig), else ``none``.

    Only tools count, not files: /etc/default/grub and /etc/default/grub.d are
    configuration, which dpkg keeps after GRUB is removed (until purge), and
    /etc/default/grub.d/kdump-tools.cfg is installed by kdump-tools whatever the boot
    loader, so either file can be there on a host that boots with systemd-boot. The
    drop-in backend cannot do anything without a regeneration tool, so a host without
    one is ``none`` and not ``grub_dropin`` (which then failed later, after the checks).

    ``grub_default`` (edit GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub, then grub2-mkconfig) is
    last: the SUSE family has grub2-mkconfig and neither grubby nor a GRUB that reads drop-ins.
    """
    if has_tool("grubby"):
        return "grubby"
    if any(has_tool(name) for name in GRUB_DROPIN_TOOLS):
        return "grub_dropin"
    if any(has_tool(name) for name in GRUB_DEFAULT_TOOLS):
        return "grub_default"
    return "none"
