# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host state kdump_info returns, as typed records with one strict validator; private to the collection.

The TypedDicts below are the schema: kdump_info builds a ``HostState`` on the host,
and every reader on the controller (the readiness checks, the crash test, the dump
locators) passes what it received through ``conform()`` first. Every field may be
``None``, which always means "unknown" (not read, unreadable, or reported with the
wrong type). ``conform`` never raises: a value of the wrong type, a bool where a
number belongs, NaN or Infinity becomes ``None`` and a line in the returned
problems, so a malformed host can only make checks unknown, never pass them.

Bump ``STATE_VERSION`` when a field changes meaning or type; adding a field does not.
"""

from __future__ import annotations

import functools
import math
import re
import typing
from typing import Dict, List, TypedDict

STATE_VERSION = 1

# Where the crash test leaves its evidence record and kdump_info reads it (one place for it).
EVIDENCE_PATH = "/var/lib/kdump-fleet/last-crash-test.json"

# ------------------------------------------------------------------ the schema


class Distribution(TypedDict):
    id: str
    version: str
    codename: str


class Backend(TypedDict):
    bootloader: str  # grubby | grub_dropin | grub_default | none
    config_format: str  # kdump_tools | kdump_conf | sysconfig_kdump


class Service(TypedDict):
    name: str
    exists: bool
    enabled: bool
    active: bool
    masked: bool
    unit_file_state: str


class ToolStatus(TypedDict):
    """The distribution tool's own verdict: ``kdump-config status`` or ``kdumpctl status`` (SUSE has none)."""

    command: str
    ready: bool
    state: str  # the tool's words, e.g. "ready to kdump", "Kdump is operational"
    messages: List[str]


class Region(TypedDict):
    start: int
    end: int
    size: int


class Crashkernel(TypedDict):
    cmdline: str  # crashkernel= of /proc/cmdline
    configured: str  # crashkernel= of the boot configuration
    reserved_bytes: int  # the one reserved size: kexec_crash_size, else the iomem region, else 0
    reserved_source: str  # kexec_crash_size | iomem | iomem_none
    kexec_crash_size: int  # /sys/kernel/kexec_crash_size as read
    loaded: bool  # /sys/kernel/kexec_crash_loaded == 1
    iomem: Region
    recommended: str
    recommended_bytes: int
    cma_bytes: int  # the crashkernel=Y,cma area of the command line, when the running kernel takes it


class Sysctl(TypedDict):
    kexec_load_disabled: int
    sysrq: int
    panic_on_oops: int


class Target(TypedDict):
    """Where dumps go, in the role's vocabulary (kdump_target + kdump_path)."""

    type: str  # local | device | raw | nfs | ssh | ftp | cifs | virtiofs | dracut_args
    path: str  # directory on the target (kdump_path); "/" where the tool mounts the export (kdump-tools, SUSE)
    server: str  # nfs, cifs: host; ssh: user@host
    export: str  # nfs; cifs: //host/EXPORT
    host: str  # nfs/ssh: the host name or address alone
    user: str  # ssh
    port: int
    key: str  # ssh key
    device: str  # device/raw
    fstype: str  # device
    location: str  # the target as the file writes it ("server:/export", "user@host", "UUID=...", a SUSE URL)


class Collector(TypedDict):
    """The core collector, in the role's vocabulary (kdump_core_collector)."""

    command: str  # the whole line as the tool runs it
    tool: str  # makedumpfile, cp, dd, scp ...
    dump_level: int  # makedumpfile -d; 0 when the tool copies everything
    compression: str  # zlib | lzo | zstd | snappy | none
    flattened: bool  # -F
    extra_args: List[str]


class Probe(TypedDict):
    host: str
    port: int
    reachable: bool
    error: str
    elapsed_s: float


class DumpConfig(TypedDict):
    path: str
    exists: bool
    mtime: float
    target: Target
    collector: Collector
    dump_dmesg: bool
    failure_action: str
    final_action: str
    keep_dumps: int
    errors: List[str]
    target_reachable: bool
    target_probe: Probe


class Initrd(TypedDict):
    path: str
    exists: bool
    mtime: float
    stale: bool  # older than built_from: computed once, on the host
    built_from: str  # what the initrd holds: the dump config (kdumpctl, SUSE), kdump-tools' sysctl overrides


class InstalledKernel(TypedDict):
    release: str
    running: bool
    default: bool  # the kernel the default boot entry starts
    boot_entry: bool  # it has a boot entry (grub.cfg / grubby)
    crashkernel: str  # crashkernel= of that entry; None = boots without a reservation
    capture_initrd: str
    capture_initrd_exists: bool


class Kernels(TypedDict):
    """Every installed kernel, so that one installed after kdump was set up is covered too."""

    installed: List[InstalledKernel]
    default: str
    source: str  # /boot/grub/grub.cfg | /boot/grub2/grub.cfg | grubby
    capture_initrd_built_at_boot: bool  # the service builds a missing capture initrd when that kernel boots


class Storage(TypedDict):
    path: str
    exists: bool
    free_bytes: int
    total_bytes: int


class Dump(TypedDict):
    path: str
    mtime: float
    size: int
    mode: str
    dir_mode: str
    world_readable: bool
    group_readable: bool


class Dumps(TypedDict):
    path: str
    count: int
    items: List[Dump]
    newest: Dump
    world_readable_count: int
    group_readable_count: int


class Memory(TypedDict):
    bytes: int  # the one RAM figure every reader uses
    source: str  # iomem (System RAM) | meminfo (MemTotal)
    total_bytes: int
    system_ram_bytes: int


class Evidence(TypedDict):
    """The crash test's evidence record (/var/lib/kdump-fleet/last-crash-test.json)."""

    version: int
    time: str
    kernel: str
    result: str  # success | failed
    dump_path: str
    dump_server: str  # the dump server holding dump_path (NFS/SSH targets); null: on the host itself
    dump_bytes: int
    ram_bytes: int
    trigger_to_dump_s: float
    trigger_to_up_s: float
    message: str


class HostState(TypedDict):
    state_version: int
    family: str  # debian | redhat | suse | unknown
    distribution: Distribution
    kernel: str
    backend: Backend
    packages: Dict[str, str]  # package -> version; None = not installed
    tools_installed: bool
    service: Service
    tool_status: ToolStatus
    crashkernel: Crashkernel
    sysctl: Sysctl
    config: DumpConfig
    initrd: Initrd
    kernels: Kernels
    storage: Storage
    dumps: Dumps
    memory: Memory
    crash_test: Evidence
    errors: List[str]


# ------------------------------------------------------------------ validation


def _is_record(kind):
    return isinstance(kind, type) and issubclass(kind, dict) and hasattr(kind, "__annotations__")


@functools.lru_cache(maxsize=None)
def _fields(record):
    return typing.get_type_hints(record)


def _describe(value):
    text = repr(value)
    return "%s %s" % (type(value).__name__, text if len(text) <= 40 else text[:37] + "...")


# Fields added to version 1 later: a state or evidence record written before them lacks them,
# which means null (a local dump), not "not reported".
ADDED_FIELDS = frozenset({"crash_test.dump_server", "initrd.built_from", "crashkernel.cma_bytes", "kernels"})


def _conform(value, kind, where, problems, note_missing=False):
    """``value`` shaped as ``kind``; None (plus a line in ``problems``) where it does not fit."""
    if value is None:
        return None
    origin = getattr(kind, "__origin__", None)
    if _is_record(kind):
        if not isinstance(value, dict):
            problems.append("%s: expected a mapping, got %s" % (where, _describe(value)))
            return None
        record = {}
        for name, hint in _fields(kind).items():
            path = _join(where, name)
            if note_missing and name not in value and path not in ADDED_FIELDS:
                problems.append("%s: missing" % path)
            record[name] = _conform(value.get(name), hint, path, problems, note_missing)
        return record
    if origin in (list, List):
        if not isinstance(value, (list, tuple)):
            problems.append("%s: expected a list, got %s" % (where, _describe(value)))
            return None
        (item_kind,) = kind.__args__
        items = [
            _conform(item, item_kind, "%s[%d]" % (where, i), problems, note_missing) for i, item in enumerate(value)
        ]
        return [item for item in items if item is not None]
    if origin in (dict, Dict):
        if not isinstance(value, dict):
            problems.append("%s: expected a mapping, got %s" % (where, _describe(value)))
            return None
        item_kind = kind.__args__[1]
        return {
            str(key): _conform(item, item_kind, _join(where, str(key)), problems, note_missing)
            for key, item in value.items()
        }
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    elif kind is str:
        ok = isinstance(value, str)
    else:  # pragma: no cover - the schema above uses only these types
        raise TypeError("unsupported schema type %r at %s" % (kind, where))
    if not ok:
        problems.append("%s: expected %s, got %s" % (where, kind.__name__, _describe(value)))
        return None
    return float(value) if kind is float else value


def _join(where, name):
    return "%s.%s" % (where, name) if where else name


def conform(raw, note_missing=False):
    """(state, problems): ``raw`` shaped exactly as HostState, wrong-typed values replaced by None.

    Keys the schema does not know are dropped; keys it knows but ``raw`` lacks are None, and
    with ``note_missing`` also a problem (a reader of another version's report must not take
    "not reported" for "reported as null"). Each problem starts with the field's dotted path.
    """
    problems = []
    data = raw if raw is not None else {}
    state = _conform(data, HostState, "", problems, note_missing)
    if state is None:  # not a mapping at all
        state = _conform({}, HostState, "", [])
    elif note_missing and data.get("state_version") not in (None, STATE_VERSION):
        problems.append("state_version: %r, this collection reads version %d" % (data["state_version"], STATE_VERSION))
    return state, problems


def schema(record=HostState):
    """The schema as plain data (field -> type name or nested schema), for docs and tests."""
    result = {}
    for name, kind in _fields(record).items():
        origin = getattr(kind, "__origin__", None)
        if _is_record(kind):
            result[name] = schema(kind)
        elif origin in (list, List):
            (item,) = kind.__args__
            result[name] = [schema(item) if _is_record(item) else item.__name__]
        elif origin in (dict, Dict):
            result[name] = {"*": kind.__args__[1].__name__}
        else:
            result[name] = kind.__name__
    return result


# ------------------------------------------------- target and collector readers

# makedumpfile compression flags, as the role's kdump_core_collector.compression names them.
COMPRESSION_BY_FLAG = {"-c": "zlib", "-l": "lzo", "-z": "zstd", "-p": "snappy"}
_DUMP_LEVEL = re.compile(r"^-d(\d*)$")


def parse_collector(command):
    """A core_collector / makedumpfile command line as the Collector record; None for no command."""
    if not isinstance(command, str) or not command.strip():
        return None
    words = command.split()
    tool = words[0].rsplit("/", 1)[-1]
    if tool != "makedumpfile":
        # cp, dd, scp copy the whole of memory: there is no dump level to speak of.
        return {
            "command": command,
            "tool": tool,
            "dump_level": 0,
            "compression": "none",
            "flattened": False,
            "extra_args": words[1:],
        }
    level, compression, flattened, extra = 0, "none", False, []
    rest = words[1:]
    index = 0
    while index < len(rest):
        word = rest[index]
        match = _DUMP_LEVEL.match(word)
        if match:
            digits = match.group(1)
            if not digits and index + 1 < len(rest) and rest[index + 1].isdigit():
                index += 1
                digits = rest[index]
            level = int(digits) if digits else level
        elif word in COMPRESSION_BY_FLAG:
            compression = COMPRESSION_BY_FLAG[word]
        elif word == "-F":
            flattened = True
        else:
            extra.append(word)
        index += 1
    return {
        "command": command,
        "tool": tool,
        "dump_level": level,
        "compression": compression,
        "flattened": flattened,
        "extra_args": extra,
    }


def _empty_target(kind, path=None):
    target = dict.fromkeys(_fields(Target))
    target.update(type=kind, path=path)
    return target


def _split_host(text):
    """'[fe80::1]' -> 'fe80::1'; a plain name or IPv4 address as is."""
    return text[1:-1] if text.startswith("[") and text.endswith("]") else text


def parse_target(kind, location, path=None, fstype=None, key=None):
    """The Target record for a target type and its location as the config file writes it."""
    target = _empty_target(kind, path)
    target["location"] = location or None
    if not location:
        return target
    if kind == "nfs":
        server, _sep, export = location.rpartition(":/") if ":/" in location else (location, "", "")
        target.update(server=_split_host(server) or None, host=_split_host(server) or None)
        target["export"] = "/" + export if _sep else None
    elif kind == "ssh":
        user, _sep, host = location.rpartition("@")
        target.update(server=location, host=_split_host(host) or None, user=user or None, key=key)
    elif kind in ("device", "raw"):
        target.update(device=location, fstype=fstype if kind == "device" else None)
    return target


# Network targets and the TCP port kdump_info's probe connects to when the target names none.
PROBE_PORTS = {"nfs": 2049, "ssh": 22, "ftp": 21, "cifs": 445}
# Targets written on the host itself (a file system or a block device): nothing to reach.
HOST_TARGETS = ("local", "device", "raw", "virtiofs")


def target_endpoint(target):
    """(host, port) a remote dump target is reached at, or None for targets on the host."""
    target = target or {}
    default_port = PROBE_PORTS.get(target.get("type"))
    host = target.get("host")
    if default_port is None or not host:
        return None
    return host, target.get("port") or default_port
