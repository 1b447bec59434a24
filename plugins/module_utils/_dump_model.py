# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kdump role's dump variable model, checked and mapped to kdump.conf or kdump-tools; private to the collection."""

from __future__ import annotations

import copy
import re

from ansible_collections.kdump.fleet.plugins.module_utils import _kdump_conf, _kdump_tools

FAMILIES = ("redhat", "debian")
TARGET_TYPES = ("local", "device", "raw", "nfs", "ssh")
DEVICE_FSTYPES = ("ext2", "ext3", "ext4", "xfs", "btrfs")
COMPRESSION_FLAGS = {"zlib": "-c", "lzo": "-l", "zstd": "-z", "snappy": "-p", "none": None}
FAILURE_ACTIONS = ("reboot", "halt", "poweroff", "shell", "dump_to_rootfs")
FINAL_ACTIONS = ("reboot", "halt", "poweroff")

# Keys each target type uses besides "type".
TARGET_KEYS = {
    "local": (),
    "device": ("device", "fstype"),
    "raw": ("device",),
    "nfs": ("server", "export"),
    "ssh": ("server", "key"),
}
ALL_TARGET_KEYS = ("type", "device", "fstype", "server", "export", "key")
COLLECTOR_KEYS = ("dump_level", "compression", "extra_args", "raw")

DEFAULTS = {
    "kdump_enabled": True,
    "kdump_target": {"type": "local"},
    "kdump_path": "/var/crash",
    "kdump_core_collector": {"dump_level": 31, "compression": "lzo", "extra_args": [], "raw": ""},
    "kdump_failure_action": "reboot",
    "kdump_final_action": "reboot",
    "kdump_dump_dmesg": True,
    "kdump_keep_dumps": 0,
}

# What kdump-tools runs when the dump fails (the init script word-splits it, no shell).
DEBIAN_FAIL_CMDS = {"reboot": "reboot -f", "halt": "halt -f", "poweroff": "poweroff -f"}
# kdump-tools' shipped /etc/default/kdump-tools sets these; kept explicit.
DEBIAN_KERNEL = "/var/lib/kdump/vmlinuz"
DEBIAN_INITRD = "/var/lib/kdump/initrd.img"


class DumpModelError(ValueError):
    """The model cannot be rendered; errors lists every problem."""

    def __init__(self, errors):
        super().__init__("; ".join(errors))
        self.errors = list(errors)


def normalize(model):
    """A copy of model with every dump variable present (defaults filled in, nested dicts merged)."""
    result = copy.deepcopy(dict(model or {}))
    for name, default in DEFAULTS.items():
        value = result.get(name)
        if value is None:
            result[name] = copy.deepcopy(default)
        elif name == "kdump_core_collector" and isinstance(value, dict):
            merged = copy.deepcopy(default)
            # Unset sub-options (None, as role argument specs pass them) keep their default.
            merged.update((key, item) for key, item in value.items() if item is not None)
            result[name] = merged
    return result


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _plain_text(value):
    """A non-empty string without whitespace, '#' or control characters (safe in both file formats)."""
    return isinstance(value, str) and bool(re.match(r"^[^\s#\x00-\x1f\x7f]+$", value))


def _target_type(target):
    return target.get("type") or "local"


def _target_errors(target):
    if not isinstance(target, dict):
        return ["kdump_target must be a dict such as {type: local}"]
    errors = []
    unknown = sorted(set(target) - set(ALL_TARGET_KEYS))
    for key in unknown:
        errors.append("kdump_target.%s is not a known key; use %s" % (key, ", ".join(ALL_TARGET_KEYS)))
    kind = _target_type(target)
    if kind not in TARGET_TYPES:
        return errors + ["kdump_target.type=%s is not valid; use one of %s" % (kind, ", ".join(TARGET_TYPES))]
    for key in sorted(set(target) & set(ALL_TARGET_KEYS) - {"type"} - set(TARGET_KEYS[kind])):
        if target[key] not in (None, ""):
            errors.append("kdump_target.%s is not used with type %s; remove it" % (key, kind))

    def need(key, hint):
        value = target.get(key)
        if value in (None, ""):
            errors.append("kdump_target.%s is required for type %s (%s)" % (key, kind, hint))
            return None
        if not _plain_text(value):
            errors.append("kdump_target.%s=%r must be one word without spaces or '#'" % (key, value))
            return None
        return value

    if kind == "device":
        need("device", "e.g. UUID=... or /dev/vg/kdump")
        fstype = need("fstype", "one of %s" % ", ".join(DEVICE_FSTYPES))
        if fstype and fstype not in DEVICE_FSTYPES:
            errors.append(
                "kdump_target.fstype=%s is not supported; use one of %s" % (fstype, ", ".join(DEVICE_FSTYPES))
            )
    elif kind == "raw":
        device = need("device", "a block device such as /dev/disk/by-id/...")
        if device and not device.startswith("/dev/"):
            errors.append("kdump_target.device=%s must be a block device path under /dev/ for type raw" % device)
    elif kind == "nfs":
        need("server", "the NFS server's name or address")
        export = need("export", "the exported directory, e.g. /exports/crash")
        if export and not export.startswith("/"):
            errors.append("kdump_target.export=%s must be an absolute path" % export)
    elif kind == "ssh":
        server = need("server", "as user@host")
        if server and not re.match(r"^[^@]+@[^@]+$", server):
            errors.append("kdump_target.server=%s must be written as user@host for type ssh" % server)
        key = target.get("key")
        if key not in (None, "") and not (_plain_text(key) and key.startswith("/")):
            errors.append("kdump_target.key=%r must be an absolute path without spaces" % (key,))
    return errors


def _collector_errors(collector, kind, family):
    if not isinstance(collector, dict):
        return ["kdump_core_collector must be a dict such as {dump_level: 31, compression: zlib}"]
    errors = []
    for key in sorted(set(collector) - set(COLLECTOR_KEYS)):
        errors.append("kdump_core_collector.%s is not a known key; use %s" % (key, ", ".join(COLLECTOR_KEYS)))
    raw = collector.get("raw") or ""
    if not isinstance(raw, str) or "#" in raw or "\n" in raw or "\r" in raw:
        errors.append("kdump_core_collector.raw must be a one-line string without '#'")
    elif raw:
        return errors + _raw_collector_errors(raw, kind, family)

    level = collector.get("dump_level")
    if not _is_int(level) or not 0 <= level <= 31:
        errors.append("kdump_core_collector.dump_level=%r must be a whole number from 0 to 31" % (level,))
    compression = collector.get("compression")
    if compression not in COMPRESSION_FLAGS:
        errors.append(
            "kdump_core_collector.compression=%s is not valid; use one of %s"
            % (compression, ", ".join(COMPRESSION_FLAGS))
        )
    elif family == "debian" and compression in ("zstd", "snappy"):
        errors.append(
            "kdump_core_collector.compression=%s: Debian's makedumpfile is built with zlib and lzo only "
            "(see makedumpfile -v), so %s would be ignored; use zlib or lzo"
            % (compression, COMPRESSION_FLAGS[compression])
        )
    extra = collector.get("extra_args")
    if not isinstance(extra, list) or not all(_plain_text(arg) for arg in extra):
        errors.append("kdump_core_collector.extra_args must be a list of single words without spaces or '#'")
    return errors


def _raw_collector_errors(raw, kind, family):
    words = raw.split()
    if family == "debian":
        if words and words[0] == "makedumpfile":
            return [
                "kdump_core_collector.raw becomes MAKEDUMP_ARGS on Debian/Ubuntu: give only the makedumpfile options, "
                "without the command name"
            ]
        return []
    if words and words[0] == "makedumpfile" and kind in ("ssh", "raw") and "-F" not in words[1:]:
        return ["kdump_core_collector.raw must contain -F for the %s target (mkdumprd refuses it otherwise)" % kind]
    return []


def _family_errors(model, kind, family):
    errors = []
    failure = model["kdump_failure_action"]
    final = model["kdump_final_action"]
    keep = model["kdump_keep_dumps"]
    if family == "debian":
        if kind in ("device", "raw"):
            errors.append(
                "kdump_target.type=%s is not supported by kdump-tools (Debian/Ubuntu); use local, nfs or ssh" % kind
            )
        if failure in ("shell", "dump_to_rootfs"):
            errors.append(
                "kdump_failure_action=%s is not supported by kdump-tools (Debian/Ubuntu); use reboot, halt or poweroff"
                % failure
            )
        if final in FINAL_ACTIONS and final != "reboot":
            errors.append(
                "kdump_final_action=%s is not supported by kdump-tools (Debian/Ubuntu): it always reboots after "
                "the dump; use reboot" % final
            )
        if _is_int(keep) and keep > 0 and kind != "local":
            errors.append(
                "kdump_keep_dumps=%d is only honoured by kdump-tools for local dumps; set 0 for type %s" % (keep, kind)
            )
    else:
        if _is_int(keep) and keep > 0:
            errors.append(
                "kdump_keep_dumps=%d is not supported by kdump.conf (the RHEL family has no dump retention); set 0"
                % keep
            )
        if model["kdump_dump_dmesg"] is False:
            errors.append(
                "kdump_dump_dmesg=false is not supported by kdump.conf (the RHEL family always saves "
                "vmcore-dmesg.txt); set true"
            )
    return errors


def validate(model, family):
    """Every problem of the model for one OS family; each message names the variable and the fix."""
    if family not in FAMILIES:
        return [
            "OS family %r is not supported; kdump.fleet renders dump config for %s" % (family, " and ".join(FAMILIES))
        ]
    model = normalize(model)
    errors = []
    for name in ("kdump_enabled", "kdump_dump_dmesg"):
        if not isinstance(model[name], bool):
            errors.append("%s=%r must be true or false" % (name, model[name]))
    target = model["kdump_target"]
    errors.extend(_target_errors(target))
    kind = _target_type(target) if isinstance(target, dict) else None
    errors.extend(_collector_errors(model["kdump_core_collector"], kind, family))

    path = model["kdump_path"]
    if not (_plain_text(path) and path.startswith("/")):
        errors.append("kdump_path=%r must be an absolute path without spaces or '#', e.g. /var/crash" % (path,))
    failure = model["kdump_failure_action"]
    if failure not in FAILURE_ACTIONS:
        errors.append("kdump_failure_action=%s is not valid; use one of %s" % (failure, ", ".join(FAILURE_ACTIONS)))
    elif failure == "dump_to_rootfs" and kind == "local":
        errors.append(
            "kdump_failure_action=dump_to_rootfs only helps when the target is not the root file system; "
            "use reboot or shell with type local"
        )
    final = model["kdump_final_action"]
    if final not in FINAL_ACTIONS:
        errors.append("kdump_final_action=%s is not valid; use one of %s" % (final, ", ".join(FINAL_ACTIONS)))
    keep = model["kdump_keep_dumps"]
    if not _is_int(keep) or keep < 0:
        errors.append("kdump_keep_dumps=%r must be a whole number, 0 to keep every dump" % (keep,))
    if kind in TARGET_TYPES:
        errors.extend(_family_errors(model, kind, family))
    return errors


def _checked(model, family):
    errors = validate(model, family)
    if errors:
        raise DumpModelError(errors)
    return normalize(model)


def makedumpfile_options(collector, flatten):
    """makedumpfile options for the collector dict: [-F] <compression> -d <level> <extra_args>."""
    options = ["-F"] if flatten else []
    flag = COMPRESSION_FLAGS[collector["compression"]]
    if flag:
        options.append(flag)
    options.extend(["-d", str(collector["dump_level"])])
    options.extend(collector["extra_args"])
    return " ".join(options)


def _nfs_location(target):
    server = target["server"]
    # An IPv6 address needs brackets before the ':/export' part.
    if ":" in server and not server.startswith("["):
        server = "[%s]" % server
    return "%s:%s" % (server, target["export"])


def to_kdump_conf_directives(model):
    """The model as kdump.conf (directive, value) pairs; raises DumpModelError when invalid."""
    model = _checked(model, "redhat")
    target = model["kdump_target"]
    kind = _target_type(target)
    directives = []
    if kind == "device":
        directives.append((target["fstype"], target["device"]))
    elif kind == "raw":
        directives.append(("raw", target["device"]))
    elif kind == "nfs":
        directives.append(("nfs", _nfs_location(target)))
    elif kind == "ssh":
        directives.append(("ssh", target["server"]))
        if target.get("key"):
            directives.append(("sshkey", target["key"]))
    if kind != "raw":
        directives.append(("path", model["kdump_path"]))
    collector = model["kdump_core_collector"]
    line = collector["raw"] or "makedumpfile " + makedumpfile_options(collector, flatten=kind in ("ssh", "raw"))
    directives.append(("core_collector", line))
    directives.append(("failure_action", model["kdump_failure_action"]))
    directives.append(("final_action", model["kdump_final_action"]))
    return directives


def to_kdump_conf(model):
    """kdump.conf body text (no header) for a valid model."""
    return _kdump_conf.render(_kdump_conf.KdumpConf(to_kdump_conf_directives(model)))


def to_kdump_tools_values(model):
    """The model as /etc/default/kdump-tools variables (ordered); raises DumpModelError when invalid."""
    model = _checked(model, "debian")
    target = model["kdump_target"]
    kind = _target_type(target)
    collector = model["kdump_core_collector"]
    values = {
        "USE_KDUMP": "1" if model["kdump_enabled"] else "0",
        "KDUMP_KERNEL": DEBIAN_KERNEL,
        "KDUMP_INITRD": DEBIAN_INITRD,
        "KDUMP_COREDIR": model["kdump_path"],
        "KDUMP_FAIL_CMD": DEBIAN_FAIL_CMDS[model["kdump_failure_action"]],
        "KDUMP_DUMP_DMESG": "1" if model["kdump_dump_dmesg"] else "0",
        "KDUMP_NUM_DUMPS": str(model["kdump_keep_dumps"]),
        # kdump-config always pipes makedumpfile, so -F leads (it appends one otherwise).
        "MAKEDUMP_ARGS": collector["raw"] or makedumpfile_options(collector, flatten=True),
    }
    if kind == "nfs":
        values["NFS"] = _nfs_location(target)
    elif kind == "ssh":
        values["SSH"] = target["server"]
        if target.get("key"):
            values["SSH_KEY"] = target["key"]
    return values


def to_kdump_tools(model):
    """/etc/default/kdump-tools body text (no header) for a valid model, every value shell-quoted."""
    return _kdump_tools.render(to_kdump_tools_values(model))
