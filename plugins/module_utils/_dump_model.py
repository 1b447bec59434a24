# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kdump role's dump variable model, checked and mapped to kdump.conf, kdump-tools or SUSE's sysconfig file.

Private to the collection.
"""

from __future__ import annotations

import copy
import ipaddress
import re

from ansible_collections.kdump.fleet.plugins.module_utils import _kdump_conf, _kdump_tools

FAMILIES = ("redhat", "debian", "suse")
TARGET_TYPES = ("local", "device", "raw", "nfs", "ssh")
DEVICE_FSTYPES = ("ext2", "ext3", "ext4", "xfs", "btrfs")
COMPRESSION_FLAGS = {"zlib": "-c", "lzo": "-l", "zstd": "-z", "snappy": "-p", "none": None}
# The actions are kdump.conf's own (one list, in the file format's module).
FAILURE_ACTIONS = _kdump_conf.FAILURE_ACTIONS
FINAL_ACTIONS = _kdump_conf.FINAL_ACTIONS

# Keys each target type uses besides "type".
TARGET_KEYS = {
    "local": (),
    "device": ("device", "fstype"),
    "raw": ("device",),
    "nfs": ("server", "export", "port"),
    "ssh": ("server", "key", "port"),
}
ALL_TARGET_KEYS = ("type", "device", "fstype", "server", "export", "key", "port")
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
# SUSE's KDUMP_DUMPFORMAT per compression (makedumpfile -c, -l, -p, -z; ELF is uncompressed -E).
SUSE_DUMPFORMATS = {"zlib": "compressed", "lzo": "lzo", "snappy": "snappy", "zstd": "zstd", "none": "ELF"}


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


# Character rules (issue 12). The values below end up in shells on the dump side:
# kdump-utils' capture script evals "dump_ssh <key> <user@host>" and a scp command
# holding the dump path, kdump-config sends the dump directory inside the remote
# command of ssh, and both word-split the collector line. Quoting on our side cannot
# help there, so each field has a strict alphabet instead, and nothing may start with
# '-' (ssh, scp and mount would read it as an option).
_PATH_CHARS = "letters, digits and . _ + -"
_PATH_SEGMENT = re.compile(r"^[A-Za-z0-9._+-]+$")
_HOST_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
# POSIX portable user names as useradd accepts them by default, plus '.', at most 32 characters.
_SSH_USER = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")
_DEVICE_TAG = re.compile(r"^(?:UUID|LABEL|PARTUUID|PARTLABEL)=[A-Za-z0-9._+-]+$")
_COLLECTOR_CHARS = "letters, digits and . _ / + = , : -"
_COLLECTOR_WORD = re.compile(r"^[A-Za-z0-9._/+=,:-]+$")
_SHOWN_AS_IS = re.compile(r"^[A-Za-z0-9._/+=,:@-]+$")

# kdump_path values that are a system directory or another program's (on the host, or on the ssh server);
# the role's host-side check (_role_checks) refuses them too, after resolving symlinks.
SYSTEM_DIRECTORIES = (
    "/",
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/home",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/media",
    "/mnt",
    "/opt",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/srv",
    "/sys",
    "/tmp",
    "/usr",
    "/usr/bin",
    "/usr/lib",
    "/usr/lib64",
    "/usr/libexec",
    "/usr/local",
    "/usr/sbin",
    "/usr/share",
    "/usr/src",
    "/var",
    "/var/backups",
    "/var/cache",
    "/var/lib",
    "/var/lib/kdump",
    "/var/local",
    "/var/lock",
    "/var/log",
    "/var/mail",
    "/var/opt",
    "/var/run",
    "/var/spool",
    "/var/tmp",
    "/var/www",
)
# Directories whose contents live in memory or are not files at all: a dump there is lost.
VOLATILE_DIRECTORIES = ("/dev", "/proc", "/run", "/sys", "/tmp", "/var/run")
# Trees that belong to the system or its packages as a whole: no directory below them is a dump directory
# (an empty /usr/local/bin or /etc/opt would otherwise be made root-only).
SYSTEM_TREES = ("/bin", "/boot", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/sbin", "/usr")


def _show(value):
    """value for a message: plain words as they are, anything else as a Python literal (escapes included)."""
    if isinstance(value, str) and _SHOWN_AS_IS.fullmatch(value):
        return value
    return ascii(value)


def char_problem(value):
    """Why a string holds a character no field may hold, or None (printable ASCII only)."""
    for char in value:
        code = ord(char)
        if code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0 or code in (0x2028, 0x2029):
            return (
                "holds the control character U+%04X (kdumpctl, sh and Python split lines differently on it); "
                "remove it" % code
            )
        if code > 0x7E:
            return "holds the non-ASCII character U+%04X; use ASCII only" % code
    return None


def string_problem(value):
    """Why value is not a usable string for a field, or None."""
    if not isinstance(value, str):
        return "must be a string, not %s" % type(value).__name__
    return char_problem(value)


def path_problem(value):
    """Why value is not an absolute path from the safe alphabet, or None ('/' is allowed here)."""
    problem = string_problem(value)
    if problem:
        return problem
    if value.startswith("-"):
        return "starts with '-', which a command would read as an option; write an absolute path"
    if not value.startswith("/"):
        return "must be an absolute path"
    if value == "/":
        return None
    if value.endswith("/"):
        return "ends in '/'; remove it"
    segments = value[1:].split("/")
    if "" in segments:
        return "holds '//'; write single slashes"
    if "." in segments or ".." in segments:
        return "holds a '.' or '..' segment; write the path without them"
    for segment in segments:
        if not _PATH_SEGMENT.fullmatch(segment):
            bad = next(char for char in segment if not _PATH_SEGMENT.fullmatch(char))
            return "holds %r; a path may only hold %s between single slashes" % (bad, _PATH_CHARS)
    return None


def _host_problem(host, brackets=False):
    """Why host is not an RFC 1123 host name or an IPv4/IPv6 literal, or None."""
    if host.startswith("-"):
        return "starts with '-', which ssh and mount would read as an option"
    if brackets and host.startswith("[") and host.endswith("]"):
        inner = host[1:-1]
        problem = _ipv6_problem(inner)
        return problem if problem else None
    if re.fullmatch(r"(?:\[[^\]]*\]|[^:]+):[0-9]+", host):
        return "holds a port (host:port); give the host alone and set kdump_target.port"
    if ":" in host:
        return _ipv6_problem(host)
    labels = host.split(".")
    if all(label.isdigit() for label in labels):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return "is not a valid IPv4 address"
        return None
    if len(host) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        return (
            "is not a host name (RFC 1123: labels of letters, digits and inner '-' joined by '.') "
            "nor an IPv4 or IPv6 address"
        )
    return None


def _ipv6_problem(text):
    if "%" in text:
        return "holds an IPv6 zone index (%...); use a global or unique local address"
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return "is not a valid IPv6 address"
    return None


def _target_type(target):
    kind = target.get("type")
    return "local" if kind in (None, "") else kind


def _is_set(value):
    return value not in (None, "")


def _target_errors(target):
    if not isinstance(target, dict):
        return ["kdump_target must be a dict such as {type: local}"]
    errors = []
    unknown = sorted(set(target) - set(ALL_TARGET_KEYS), key=repr)
    for key in unknown:
        errors.append("kdump_target.%s is not a known key; use %s" % (_show(key), ", ".join(ALL_TARGET_KEYS)))
    kind = _target_type(target)
    if not isinstance(kind, str) or kind not in TARGET_TYPES:
        return errors + ["kdump_target.type=%s is not valid; use one of %s" % (_show(kind), ", ".join(TARGET_TYPES))]
    for key in sorted(set(target) & set(ALL_TARGET_KEYS) - {"type"} - set(TARGET_KEYS[kind])):
        if _is_set(target[key]):
            errors.append("kdump_target.%s is not used with type %s; remove it" % (key, kind))

    def need(key, hint):
        value = target.get(key)
        if not _is_set(value):
            errors.append("kdump_target.%s is required for type %s (%s)" % (key, kind, hint))
            return None
        problem = string_problem(value)
        if problem:
            errors.append("kdump_target.%s=%s %s" % (key, _show(value), problem))
            return None
        return value

    def path(key, example):
        value = target.get(key)
        problem = path_problem(value)
        if problem:
            errors.append("kdump_target.%s=%s %s, e.g. %s" % (key, _show(value), problem, example))

    if kind == "device":
        device = need("device", "e.g. UUID=... or /dev/vg/kdump")
        if device is not None and not _DEVICE_TAG.fullmatch(device) and path_problem(device):
            errors.append(
                "kdump_target.device=%s must be UUID=..., LABEL=..., PARTUUID=... or PARTLABEL=... (%s after "
                "the '=') or a device path such as /dev/vg/kdump" % (_show(device), _PATH_CHARS)
            )
        fstype = need("fstype", "one of %s" % ", ".join(DEVICE_FSTYPES))
        if fstype and fstype not in DEVICE_FSTYPES:
            errors.append(
                "kdump_target.fstype=%s is not supported; use one of %s" % (_show(fstype), ", ".join(DEVICE_FSTYPES))
            )
    elif kind == "raw":
        device = need("device", "a block device such as /dev/disk/by-id/...")
        if device is not None:
            problem = path_problem(device)
            if problem or not device.startswith("/dev/"):
                errors.append(
                    "kdump_target.device=%s must be a block device path under /dev/ for type raw (%s), "
                    "e.g. /dev/disk/by-id/..." % (_show(device), problem or "it is not under /dev/")
                )
    elif kind == "nfs":
        server = need("server", "the NFS server's name or address")
        if server is not None:
            problem = _host_problem(server, brackets=True)
            if problem:
                errors.append("kdump_target.server=%s %s, e.g. nfs.example.com" % (_show(server), problem))
        if _is_set(target.get("export")):
            path("export", "/exports/crash")
        else:
            need("export", "the exported directory, e.g. /exports/crash")
        if _is_set(target.get("port")):
            errors.append(
                "kdump_target.port is not supported for type nfs: kdump.conf and kdump-tools pass no mount "
                "options for the export; remove it and serve NFS on port 2049"
            )
    elif kind == "ssh":
        server = need("server", "as user@host")
        if server is not None:
            errors.extend(_ssh_server_errors(server))
        if _is_set(target.get("key")):
            path("key", "/root/.ssh/kdump_id_rsa")
        port = target.get("port")
        if _is_set(port) and not (_is_int(port) and 1 <= port <= 65535):
            errors.append("kdump_target.port=%s must be a whole number from 1 to 65535, e.g. 2222" % ascii(port))
    return errors


def _ssh_server_errors(server):
    shown = _show(server)
    if server.startswith("-"):
        return ["kdump_target.server=%s starts with '-', which ssh reads as an option; write user@host" % shown]
    if server.count("@") != 1:
        return ["kdump_target.server=%s must be written as user@host for type ssh" % shown]
    user, host = server.split("@")
    errors = []
    if not _SSH_USER.fullmatch(user):
        errors.append(
            "kdump_target.server=%s: the user %s is not a portable user name (a lower-case letter or '_', then "
            "up to 31 of a-z, 0-9, '_', '.', '-'); write user@host" % (shown, _show(user))
        )
    if host.startswith("[") and host.endswith("]"):
        errors.append("kdump_target.server=%s: write an IPv6 address without brackets, as user@2001:db8::1" % shown)
    else:
        problem = _host_problem(host)
        if problem:
            errors.append("kdump_target.server=%s: the host %s %s" % (shown, _show(host), problem))
    return errors


def _collector_errors(collector, kind, family):
    if not isinstance(collector, dict):
        return ["kdump_core_collector must be a dict such as {dump_level: 31, compression: zlib}"]
    errors = []
    for key in sorted(set(collector) - set(COLLECTOR_KEYS), key=repr):
        errors.append("kdump_core_collector.%s is not a known key; use %s" % (_show(key), ", ".join(COLLECTOR_KEYS)))
    raw = collector.get("raw")
    raw = "" if raw is None else raw
    if raw != "":
        problem = string_problem(raw)
        if problem:
            return errors + ["kdump_core_collector.raw=%s %s" % (_show(raw), problem)]
        return errors + _raw_collector_errors(raw, kind, family)

    level = collector.get("dump_level")
    if not _is_int(level) or not 0 <= level <= 31:
        errors.append("kdump_core_collector.dump_level=%s must be a whole number from 0 to 31" % ascii(level))
    compression = collector.get("compression")
    if not isinstance(compression, str) or compression not in COMPRESSION_FLAGS:
        errors.append(
            "kdump_core_collector.compression=%s is not valid; use one of %s"
            % (_show(compression), ", ".join(COMPRESSION_FLAGS))
        )
    elif family == "debian" and compression in ("zstd", "snappy"):
        errors.append(
            "kdump_core_collector.compression=%s: Debian's makedumpfile is built with zlib and lzo only "
            "(see makedumpfile -v), so %s would be ignored; use zlib or lzo"
            % (compression, COMPRESSION_FLAGS[compression])
        )
    extra = collector.get("extra_args")
    if not isinstance(extra, list):
        errors.append(
            "kdump_core_collector.extra_args must be a list of single words, e.g. [--message-level, '7'], not %s"
            % _show(extra)
        )
        return errors
    for index, arg in enumerate(extra):
        problem = string_problem(arg)
        if not problem and not _COLLECTOR_WORD.fullmatch(arg):
            problem = "may only hold %s (no spaces, quotes, '#' or shell characters)" % _COLLECTOR_CHARS
        if problem:
            errors.append(
                "kdump_core_collector.extra_args[%d]=%s %s; give one option or value per item"
                % (index, _show(arg), problem)
            )
    return errors


def _raw_collector_errors(raw, kind, family):
    words = raw.split(" ")
    if not all(_COLLECTOR_WORD.fullmatch(word) for word in words):
        return [
            "kdump_core_collector.raw=%s must be words of %s separated by single spaces (no quotes, '#', "
            "tabs or shell characters such as ; | & $ ` > <)" % (_show(raw), _COLLECTOR_CHARS)
        ]
    if family == "debian":
        if words[0] == "makedumpfile":
            return [
                "kdump_core_collector.raw becomes MAKEDUMP_ARGS on Debian/Ubuntu: give only the makedumpfile options, "
                "without the command name"
            ]
        return []
    if words[0].startswith("-"):
        return [
            "kdump_core_collector.raw=%s is the whole core_collector line on the RHEL family: start it with the "
            "command, e.g. makedumpfile -F -l -d 31" % _show(raw)
        ]
    if words[0] == "makedumpfile" and kind in ("ssh", "raw") and "-F" not in words[1:]:
        return ["kdump_core_collector.raw must contain -F for the %s target (mkdumprd refuses it otherwise)" % kind]
    return []


def _path_errors(path, kind, family):
    problem = path_problem(path)
    if problem:
        return ["kdump_path=%s %s, e.g. /var/crash" % (_show(path), problem)]
    # kdump_path is a directory on the host itself (local, and the Debian NFS mount point) or on the
    # ssh server; for RHEL nfs and device targets it is relative to the export or file system root.
    on_a_root = kind in ("local", "ssh") or (kind == "nfs" and family == "debian")
    if not on_a_root:
        return []
    if path in SYSTEM_DIRECTORIES:
        return ["kdump_path=%s is a system directory; use a dedicated directory such as /var/crash" % path]
    for top in SYSTEM_TREES:
        if path.startswith(top + "/"):
            return [
                "kdump_path=%s is under %s, a system tree; use a dedicated directory such as /var/crash" % (path, top)
            ]
    for top in VOLATILE_DIRECTORIES:
        if path.startswith(top + "/"):
            return [
                "kdump_path=%s is under %s, which is not kept on disk; use a dedicated directory such as /var/crash"
                % (path, top)
            ]
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
    elif family == "suse":
        errors.extend(_suse_errors(model, kind))
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


def _suse_errors(model, kind):
    """What SUSE's kdump (/etc/sysconfig/kdump, KDUMP_SAVEDIR URLs) cannot express of a checked model."""
    errors = []
    target = model["kdump_target"]
    failure = model["kdump_failure_action"]
    final = model["kdump_final_action"]
    keep = model["kdump_keep_dumps"]
    if kind in ("device", "raw"):
        errors.append(
            "kdump_target.type=%s is not supported by SUSE's kdump (KDUMP_SAVEDIR is a directory or URL); mount the "
            "file system and use type local with kdump_path on it, or nfs or ssh" % kind
        )
    if kind in ("nfs", "ssh"):
        server = str(target.get("server") or "")
        host = server.split("@", 1)[-1]
        if ":" in host:
            errors.append(
                "kdump_target.server=%s: an IPv6 address in a SUSE KDUMP_SAVEDIR URL is not handled by kdump's own "
                "URL splitting; use a host name" % _show(server)
            )
    if failure in FAILURE_ACTIONS and failure not in ("reboot", "shell"):
        errors.append(
            "kdump_failure_action=%s is not supported by SUSE's kdump: it reboots (KDUMP_CONTINUE_ON_ERROR=true) "
            "or opens a shell (false); use reboot or shell" % failure
        )
    if final in FINAL_ACTIONS and final != "reboot":
        errors.append(
            "kdump_final_action=%s is not supported by SUSE's kdump: after the dump it reboots "
            "(KDUMP_IMMEDIATE_REBOOT); use reboot" % final
        )
    if model["kdump_dump_dmesg"] is False:
        errors.append("kdump_dump_dmesg=false is not supported by SUSE's kdump (it always saves dmesg); set true")
    if _is_int(keep) and keep > 0 and kind != "local":
        errors.append(
            "kdump_keep_dumps=%d is only honoured by SUSE's kdump for local dumps; set 0 for type %s" % (keep, kind)
        )
    elif _is_int(keep) and keep == 1:
        # KDUMP_KEEP_OLD_DUMPS counts the old dumps kept beside the new one; keeping none (-1) needs kdump 2.0.13.
        errors.append(
            "kdump_keep_dumps=1 cannot be expressed on every SUSE release (KDUMP_KEEP_OLD_DUMPS=-1 needs kdump "
            "2.0.13 or later); use 2 or more, or 0 to keep every dump"
        )
    collector = model["kdump_core_collector"]
    if isinstance(collector, dict) and (collector.get("raw") or "") != "":
        errors.append(
            "kdump_core_collector.raw is not supported on SUSE (its only replacement, KDUMP_TRANSFER, is a shell "
            "command kdump evals); set dump_level, compression and extra_args instead"
        )
    return errors


def validate(model, family):
    """Every problem of the model for one OS family; each message names the variable and the fix."""
    if family not in FAMILIES:
        return [
            "OS family %s is not supported; kdump.fleet renders dump config for %s"
            % (ascii(family), ", ".join(FAMILIES))
        ]
    model = normalize(model)
    errors = []
    for name in ("kdump_enabled", "kdump_dump_dmesg"):
        if not isinstance(model[name], bool):
            errors.append("%s=%s must be true or false" % (name, ascii(model[name])))
    target = model["kdump_target"]
    errors.extend(_target_errors(target))
    kind = _target_type(target) if isinstance(target, dict) else None
    kind = kind if isinstance(kind, str) and kind in TARGET_TYPES else None
    errors.extend(_collector_errors(model["kdump_core_collector"], kind, family))

    errors.extend(_path_errors(model["kdump_path"], kind, family))
    failure = model["kdump_failure_action"]
    if not isinstance(failure, str) or failure not in FAILURE_ACTIONS:
        errors.append(
            "kdump_failure_action=%s is not valid; use one of %s" % (_show(failure), ", ".join(FAILURE_ACTIONS))
        )
    elif failure == "dump_to_rootfs" and kind == "local":
        errors.append(
            "kdump_failure_action=dump_to_rootfs only helps when the target is not the root file system; "
            "use reboot or shell with type local"
        )
    final = model["kdump_final_action"]
    if not isinstance(final, str) or final not in FINAL_ACTIONS:
        errors.append("kdump_final_action=%s is not valid; use one of %s" % (_show(final), ", ".join(FINAL_ACTIONS)))
    keep = model["kdump_keep_dumps"]
    if not _is_int(keep) or keep < 0:
        errors.append("kdump_keep_dumps=%s must be a whole number, 0 to keep every dump" % ascii(keep))
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


def _suse_savedir(model, kind):
    target = model["kdump_target"]
    if kind == "local":
        return "file://" + model["kdump_path"]
    if kind == "nfs":
        # kdump mounts host:export and saves into it (like kdump-tools: kdump_path is not part of the target).
        return "nfs://%s%s" % (target["server"], target["export"])
    port = ":%d" % target["port"] if _is_set(target.get("port")) else ""
    return "ssh://%s%s%s" % (target["server"], port, model["kdump_path"])


def to_sysconfig_kdump_values(model):
    """The model as SUSE /etc/sysconfig/kdump variables (ordered); raises DumpModelError when invalid.

    Only the variables the model decides; kdump's own defaults hold for the rest. The role owns
    crashkernel=, so kdump must not rewrite the boot loader itself (KDUMP_UPDATE_BOOTLOADER, SLES 16 and
    Tumbleweed; older releases ignore the name).
    """
    model = _checked(model, "suse")
    target = model["kdump_target"]
    kind = _target_type(target)
    collector = model["kdump_core_collector"]
    keep = model["kdump_keep_dumps"]
    values = {
        "KDUMP_SAVEDIR": _suse_savedir(model, kind),
        "KDUMP_DUMPLEVEL": str(collector["dump_level"]),
        "KDUMP_DUMPFORMAT": SUSE_DUMPFORMATS[collector["compression"]],
        "MAKEDUMPFILE_OPTIONS": " ".join(collector["extra_args"]),
        "KDUMP_KEEP_OLD_DUMPS": str(keep - 1 if keep > 1 else 0),
        # kdump deletes the dump it has just saved when less than this many MB stay free; a dump is only ever
        # deleted by the retention the user set.
        "KDUMP_FREE_DISK_SIZE": "0",
        # yes/no: both kdump generations read it (the C++ kdumptool of SLES 15 SP5 and the scripts after it).
        "KDUMP_CONTINUE_ON_ERROR": "yes" if model["kdump_failure_action"] == "reboot" else "no",
        "KDUMP_IMMEDIATE_REBOOT": "yes",
        "KDUMP_UPDATE_BOOTLOADER": "false",
    }
    if kind == "ssh" and target.get("key"):
        values["KDUMP_SSH_IDENTITY"] = target["key"]
    return values


def to_sysconfig_kdump(model):
    """/etc/sysconfig/kdump body text (no header) for a valid model, every value shell-quoted."""
    return _kdump_tools.render(to_sysconfig_kdump_values(model))


def to_ssh_config(model, family):
    """The ssh_config(5) block that carries kdump_target.port, or "" when none is needed.

    Neither kdump.conf nor /etc/default/kdump-tools has a port setting: both tools run plain
    ssh/scp with the user@host of the model, and ssh takes the port from root's
    /root/.ssh/config. dracut copies that file into the RHEL capture initrd; kdump-tools
    runs ssh from the root file system. The Host pattern is the host itself (no alias),
    because kdumpctl refuses a target whose `ssh -G` host name differs from it.

    SUSE's KDUMP_SAVEDIR URL carries the port itself (ssh://user@host:port/path): no block there.
    """
    model = _checked(model, family)
    target = model["kdump_target"]
    if family == "suse" or _target_type(target) != "ssh" or not _is_set(target.get("port")):
        return ""
    host = target["server"].split("@", 1)[1]
    return "Host %s\n    Port %d\n" % (host, target["port"])
