# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Readers of the dump configuration on a host (kdump.conf, /etc/default/kdump-tools); private to the collection.

They turn a file into kdump_info's ``config`` view, in the role's own vocabulary
(see _host_state.py for the schema); the role's model itself is in _dump_model.py.
"""

from __future__ import annotations

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
