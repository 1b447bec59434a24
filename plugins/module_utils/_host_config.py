# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Readers of the dump configuration on a host (kdump.conf, /etc/default/kdump-tools, /etc/sysconfig/kdump).

Private to the collection.

They turn a file into kdump_info's ``config`` view, in the role's own vocabulary
(see _host_state.py for the schema); the role's model itself is in _dump_model.py.
"""

from __future__ import annotations

import re

from ansible_collections.kdump.fleet.plugins.module_utils import _kdump_conf, _kdump_tools
from ansible_collections.kdump.fleet.plugins.module_utils._host_state import parse_collector, parse_target

# What kdump-config uses when MAKEDUMP_ARGS is unset.
DEBIAN_DEFAULT_MAKEDUMP_ARGS = "-F -c -d 31"


# kdump.conf target directives that are not a file system type (those are "device" targets).
_CONF_TARGET_TYPES = {"raw": "raw", "nfs": "nfs", "ssh": "ssh", "virtiofs": "virtiofs", "dracut_args": "dracut_args"}


def summarize_kdump_conf(text):
    """kdump_info's config view of a kdump.conf text (RHEL family): the DumpConfig fields it sets."""
    conf = _kdump_conf.parse(text)
    errors = conf.errors + _kdump_conf.validate(conf)
    conf = _kdump_conf.normalize(conf)
    directive_target = conf.target()
    kind, location, fstype = "local", None, None
    if directive_target:
        directive, location = directive_target
        kind = _CONF_TARGET_TYPES.get(directive, "device")
        fstype = directive if kind == "device" else None
    path = None if kind == "raw" else conf.get("path", _kdump_conf.DEFAULT_PATH)
    flat = kind in ("raw", "ssh")
    default_collector = _kdump_conf.DEFAULT_FLAT_COLLECTOR if flat else _kdump_conf.DEFAULT_COLLECTOR
    return {
        "target": parse_target(kind, location, path=path, fstype=fstype, key=conf.get("sshkey")),
        "collector": parse_collector(conf.get("core_collector", default_collector)),
        "failure_action": conf.get("failure_action", "reboot"),
        "final_action": conf.get("final_action", "reboot"),
        "keep_dumps": 0,
        "dump_dmesg": True,
        "errors": errors,
    }


def _debian_failure_action(command):
    if not command.strip():
        return "reboot"
    words = command.split()
    name = words[0].rsplit("/", 1)[-1]
    if name in ("reboot", "halt", "poweroff") and all(w.startswith("-") for w in words[1:]):
        return name
    return command


def summarize_kdump_tools(text):
    """kdump_info's config view of an /etc/default/kdump-tools text (Debian family): the DumpConfig fields it sets."""
    values, errors = _kdump_tools.parse_with_errors(text)
    errors = errors + _kdump_tools.validate(values)
    kind, location, path = "local", None, values.get("KDUMP_COREDIR") or "/var/crash"
    if values.get("SSH"):
        kind, location = "ssh", values["SSH"]
    elif values.get("NFS"):
        # kdump-config mounts the export itself on KDUMP_COREDIR: dumps land in the export's top directory.
        kind, location, path = "nfs", values["NFS"], "/"
    elif values.get("FTP"):
        kind, location, path = "ftp", values["FTP"], None
    args = values.get("MAKEDUMP_ARGS") or DEBIAN_DEFAULT_MAKEDUMP_ARGS
    if not args.startswith("-F"):
        args += " -F"  # what kdump-config does before running makedumpfile
    keep = values.get("KDUMP_NUM_DUMPS") or "0"
    return {
        "target": parse_target(kind, location, path=path, key=values.get("SSH_KEY") if kind == "ssh" else None),
        "collector": parse_collector("makedumpfile " + args),
        "failure_action": _debian_failure_action(values.get("KDUMP_FAIL_CMD", "")),
        "final_action": "reboot",
        # A non-number is one of the errors validate() reports; the count itself is then unknown.
        "keep_dumps": int(keep) if keep.isdigit() else None,
        "dump_dmesg": (values.get("KDUMP_DUMP_DMESG") or "1") == "1",
        "errors": errors,
    }


# ------------------------------------------------------------------ SUSE: /etc/sysconfig/kdump
#
# bash sources the file (both kdump generations); here it is only parsed, with the kdump-tools
# reader. The summary says what kdump 2 does with the file: the scripts of SLES 15 SP6 and later,
# Leap 15.6 and 16, Tumbleweed (openSUSE/kdump 2.0.6 to 2.1.9, kdump-read-config.sh and
# dracut/kdump-save). kdump 1 (SLES 15 SP5, Leap 15.5) builds in other defaults for a variable
# that is not set (KDUMP_SAVEDIR /var/log/dump), but its package writes every variable into the
# file from its template, so those only matter for a file emptied by hand; the same package
# links /var/log/dump to /var/crash.

SYSCONFIG_KDUMP_DEFAULTS = {
    "KDUMP_SAVEDIR": "/var/crash",
    "KDUMP_KEEP_OLD_DUMPS": "0",
    "KDUMP_DUMPLEVEL": "31",
    "KDUMP_DUMPFORMAT": "compressed",
    "KDUMP_CONTINUE_ON_ERROR": "true",
    "KDUMP_IMMEDIATE_REBOOT": "true",
    "KDUMP_CPUS": "32",
    "KDUMP_FREE_DISK_SIZE": "64",
    "KDUMP_VERBOSE": "0",
    "KDUMP_NET_TIMEOUT": "30",
}
# What each generation declares (kdump 1: kdumptool/define_opt.h; kdump 2: kdump-read-config.sh), by type.
SYSCONFIG_KDUMP_BOOLEANS = (
    "KDUMP_AUTO_RESIZE",
    "KDUMP_CONTINUE_ON_ERROR",
    "KDUMP_COPY_KERNEL",  # kdump 1 only; kdump 2 ignores it
    "KDUMP_FADUMP",
    "KDUMP_FADUMP_SHELL",
    "KDUMP_IMMEDIATE_REBOOT",
)
SYSCONFIG_KDUMP_INTEGERS = (
    "KDUMP_CPUS",
    "KDUMP_DUMPLEVEL",
    "KDUMP_FREE_DISK_SIZE",
    "KDUMP_KEEP_OLD_DUMPS",
    "KDUMP_NET_TIMEOUT",
    "KDUMP_VERBOSE",
)
SYSCONFIG_KDUMP_STRINGS = (
    "FADUMP_COMMANDLINE_APPEND",
    "KDUMPTOOL_FLAGS",  # kdump 1 only
    "KDUMP_COMMANDLINE",
    "KDUMP_COMMANDLINE_APPEND",
    "KDUMP_CRASHKERNEL",  # SLES 16 and Tumbleweed
    "KDUMP_DUMPFORMAT",
    "KDUMP_HOST_KEY",
    "KDUMP_KERNELVER",
    "KDUMP_NETCONFIG",
    "KDUMP_NOTIFICATION_CC",
    "KDUMP_NOTIFICATION_TO",
    "KDUMP_POSTSCRIPT",
    "KDUMP_PRESCRIPT",
    "KDUMP_REQUIRED_PROGRAMS",
    "KDUMP_SAVEDIR",
    "KDUMP_SMTP_PASSWORD",
    "KDUMP_SMTP_SERVER",
    "KDUMP_SMTP_USER",
    "KDUMP_SSH_IDENTITY",
    "KDUMP_TRANSFER",
    "KEXEC_OPTIONS",
    "MAKEDUMPFILE_OPTIONS",
)
# kdumptool (SLES 16, Tumbleweed) runs its value as a command, `$KDUMP_UPDATE_BOOTLOADER && ...`.
_UPDATE_BOOTLOADER = "KDUMP_UPDATE_BOOTLOADER"
SYSCONFIG_KDUMP_VARIABLES = frozenset(
    SYSCONFIG_KDUMP_BOOLEANS + SYSCONFIG_KDUMP_INTEGERS + SYSCONFIG_KDUMP_STRINGS + (_UPDATE_BOOTLOADER,)
)
_TRUE_WORDS = ("yes", "1", "true")
_FALSE_WORDS = ("no", "0", "false")
_INTEGER = re.compile(r"^-?[0-9]+$")
# KDUMP_DUMPFORMAT -> makedumpfile's format option; "raw" copies /proc/vmcore, "none" saves the kernel log only.
SUSE_DUMPFORMAT_FLAGS = {"ELF": "-E", "compressed": "-c", "lzo": "-l", "snappy": "-p", "zstd": "-z"}
SUSE_KNOWN_DUMPFORMATS = tuple(SUSE_DUMPFORMAT_FLAGS) + ("raw", "none")
# What kdump-save passes for a format it does not know (it logs "using compressed", but the flag is zstd's).
_UNKNOWN_FORMAT_FLAG = "-z"
# KDUMP_SAVEDIR schemes (matched case-insensitively, as kdump does) -> the target type in the state's vocabulary.
# sftp/scp write over SSH to an SSH server: the role's ssh type. ftp and cifs have no role type: their own.
SAVEDIR_SCHEMES = {
    "file": "local",
    "nfs": "nfs",
    "ssh": "ssh",
    "sftp": "ssh",
    "scp": "ssh",
    "ftp": "ftp",
    "cifs": "cifs",
    "smb": "cifs",
}
# The user kdump logs in as when the URL names none (kdump 1 sets these; kdump 2's ssh and lftp do the same).
_DEFAULT_USERS = {"ssh": "root", "ftp": "anonymous"}


def _sysconfig_value_errors(values):
    """Problems with the file's variable names and values, each naming the variable and what kdump does."""
    errors = []
    for name, value in values.items():
        if name not in SYSCONFIG_KDUMP_VARIABLES:
            errors.append("unknown variable %s: SUSE's kdump does not read it; remove it" % name)
        elif value == "":
            continue
        elif name in SYSCONFIG_KDUMP_BOOLEANS and value not in _TRUE_WORDS + _FALSE_WORDS:
            errors.append(
                "%s=%r is not a boolean: kdump ignores it and uses its default (%s); write true or false"
                % (name, value, SYSCONFIG_KDUMP_DEFAULTS.get(name, "false"))
            )
        elif name in SYSCONFIG_KDUMP_INTEGERS and not _INTEGER.match(value):
            errors.append(
                "%s=%r is not a whole number: kdump ignores it and uses its default (%s)"
                % (name, value, SYSCONFIG_KDUMP_DEFAULTS[name])
            )
        elif name == _UPDATE_BOOTLOADER and value not in ("true", "false"):
            errors.append("%s=%r: kdumptool runs this value as a command; write true or false" % (name, value))
    return errors


def _sysconfig_value(values, name):
    """The value kdump uses: the file's, or kdump's own default when it is unset, empty or of the wrong type."""
    value = values.get(name) or ""
    if name in SYSCONFIG_KDUMP_BOOLEANS:
        if value in _TRUE_WORDS:
            return "true"
        if value in _FALSE_WORDS:
            return "false"
        value = ""
    elif name in SYSCONFIG_KDUMP_INTEGERS and not _INTEGER.match(value):
        value = ""
    return value or SYSCONFIG_KDUMP_DEFAULTS.get(name, "")


def _ssh_key(identity):
    """KDUMP_SSH_IDENTITY as paths: names without a '/' are files in root's ~/.ssh; None when unset."""
    paths = [word if word.startswith("/") else "/root/.ssh/" + word for word in identity.split()]
    return " ".join(paths) or None


def _savedir_parts(savedir):
    """(scheme, user, password, host, port text, directory) of a URL, split the way kdump 2 splits it.

    No percent-decoding; the user ends at the first '@', the password at the first ':' of that part.
    """
    scheme, _sep, rest = savedir.partition("://")
    authority, slash, path = rest.partition("/")
    userinfo, at, hostport = authority.partition("@")
    if not at:
        userinfo, hostport = "", authority
    user, _colon, password = userinfo.partition(":")
    host, _colon, port = hostport.partition(":")
    directory = ("/" + path.rstrip("/")) if slash else None
    return scheme, user, password, host, port, directory


def _url_location(scheme, user, host, port, directory):
    """The URL as the file writes it, without a password (the state ends up in audit reports)."""
    return "%s://%s%s%s%s" % (scheme, user + "@" if user else "", host, ":" + port if port else "", directory)


def _remote_target(kind, savedir, key):
    """(Target, errors) of a network KDUMP_SAVEDIR URL."""
    scheme, user, _password, host, port, directory = _savedir_parts(savedir)
    shown = "KDUMP_SAVEDIR=%r" % savedir
    errors = []
    if not host or "[" in host:
        errors.append("%s has no host kdump can use (IPv6 literals are not split right by kdump); name a host" % shown)
    if directory is None:
        errors.append("%s has no directory after the host; write %s://HOST/DIRECTORY" % (shown, scheme))
    if port and not (port.isdigit() and 1 <= int(port) <= 65535):
        errors.append("%s: the port %r is not a number from 1 to 65535" % (shown, port))
    if kind == "nfs" and (user or port):
        errors.append("%s: kdump mounts nfs://HOST/EXPORT without a user or port; remove them" % shown)
    if kind == "cifs" and port:
        errors.append("%s: kdump mounts a CIFS share on its standard port; remove the port" % shown)
    if errors:
        return None, errors
    location = _url_location(scheme, user, host, port, directory)
    user = user or _DEFAULT_USERS.get(kind)
    if kind in ("nfs", "cifs"):
        # kdump mounts HOST:DIRECTORY (//HOST/DIRECTORY) and saves into it: the dumps land at its top.
        target = parse_target("nfs", "%s:%s" % (host, directory), path="/")
        target.update(type=kind, user=user if kind == "cifs" else None)
    elif kind == "ssh":
        target = parse_target("ssh", "%s@%s" % (user, host), path=directory, key=key)
    else:
        target = parse_target(kind, location, path=directory)
        target.update(host=host, user=user)
    target.update(location=location, port=int(port) if port else None)
    return target, []


def _savedir_target(savedir, key):
    """(Target, errors) of a KDUMP_SAVEDIR value: a path, file://, or a network URL."""
    shown = "KDUMP_SAVEDIR=%r" % savedir
    if len(savedir.split()) > 1:
        return None, ["%s names several targets (kdump 1 splits a dump over them, kdump 2 takes one); keep one" % shown]
    scheme = savedir.partition("://")[0].lower() if "://" in savedir else None
    if scheme is None and savedir.startswith("/"):
        return parse_target("local", None, path=savedir.rstrip("/") or "/"), []
    kind = SAVEDIR_SCHEMES.get(scheme)
    if kind is None:
        return None, [
            "%s is not an absolute path nor a URL kdump knows (%s://); kdump refuses it"
            % (shown, ", ".join(sorted(SAVEDIR_SCHEMES)))
        ]
    if kind == "local":
        path = savedir.partition("://")[2]
        if not path.startswith("/"):
            return None, ["%s: a file:// URL needs an absolute path, as file:///var/crash" % shown]
        return parse_target("local", None, path=path.rstrip("/") or "/"), []
    return _remote_target(kind, savedir, key if kind == "ssh" else None)


def _makedumpfile_line(flag, level, options):
    words = ["makedumpfile", "-F"] + ([flag] if flag else []) + ["-d", level] + options.split()
    return " ".join(words)


def _sysconfig_collector(values):
    """(Collector, errors): what kdump-save runs (less the --num-threads and --message-level it adds itself)."""
    dumpformat = _sysconfig_value(values, "KDUMP_DUMPFORMAT")
    level = _sysconfig_value(values, "KDUMP_DUMPLEVEL")
    errors = []
    if not 0 <= int(level) <= 31:
        errors.append("KDUMP_DUMPLEVEL=%s is outside 0..31: kdump dumps with level 0 (everything)" % level)
        level = "0"
    if dumpformat == "none":
        return None, ["KDUMP_DUMPFORMAT=none saves no vmcore, only the kernel log; set compressed, lzo or zstd"]
    if dumpformat == "raw":
        return parse_collector("cat /proc/vmcore"), errors
    flag = SUSE_DUMPFORMAT_FLAGS.get(dumpformat)
    if flag is None:
        errors.append(
            "KDUMP_DUMPFORMAT=%r is not a format kdump knows (%s); kdump then saves with makedumpfile -z"
            % (dumpformat, ", ".join(SUSE_KNOWN_DUMPFORMATS))
        )
        flag = _UNKNOWN_FORMAT_FLAG
    options = _sysconfig_value(values, "MAKEDUMPFILE_OPTIONS")
    # -E (ELF, uncompressed) is what the role calls compression none, not an extra argument.
    collector = parse_collector(_makedumpfile_line(None if flag == "-E" else flag, level, options))
    collector["command"] = _makedumpfile_line(flag, level, options)
    return collector, errors


def _kept_dumps(old_dumps, target):
    """kdump_keep_dumps of KDUMP_KEEP_OLD_DUMPS: N old dumps stay beside the new one, below 0 none, 0 all.

    kdump prunes local dumps only: elsewhere every dump stays.
    """
    if target is None or target["type"] != "local" or old_dumps == 0:
        return 0
    return old_dumps + 1 if old_dumps > 0 else 1


def summarize_sysconfig_kdump(text):
    """kdump_info's config view of an /etc/sysconfig/kdump text (SUSE family): the DumpConfig fields it sets.

    The file is parsed, never run. Unset, empty and mistyped variables take kdump 2's defaults (see above);
    each problem is in errors. A password in a KDUMP_SAVEDIR URL is not copied into the target.
    """
    values, errors = _kdump_tools.parse_with_errors(text)
    errors = errors + _sysconfig_value_errors(values)
    key = _ssh_key(_sysconfig_value(values, "KDUMP_SSH_IDENTITY"))
    target, target_errors = _savedir_target(_sysconfig_value(values, "KDUMP_SAVEDIR"), key)
    collector, collector_errors = _sysconfig_collector(values)
    errors += target_errors + collector_errors
    if _sysconfig_value(values, "KDUMP_TRANSFER"):
        errors.append(
            "KDUMP_TRANSFER is set: kdump runs that command instead of saving to KDUMP_SAVEDIR, so where dumps go "
            "is unknown; remove it"
        )
    reboots = {"true": "reboot", "false": "shell"}
    return {
        "target": target,
        "collector": collector,
        "failure_action": reboots[_sysconfig_value(values, "KDUMP_CONTINUE_ON_ERROR")],
        "final_action": reboots[_sysconfig_value(values, "KDUMP_IMMEDIATE_REBOOT")],
        "keep_dumps": _kept_dumps(int(_sysconfig_value(values, "KDUMP_KEEP_OLD_DUMPS")), target),
        # kdump-save always writes the kernel log beside the vmcore.
        "dump_dmesg": True,
        "errors": errors,
    }
