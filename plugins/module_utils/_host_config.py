# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Readers of the dump configuration on a host (kdump.conf, /etc/default/kdump-tools); private to the collection.

They turn a file into kdump_info's ``config`` view, in the role's own vocabulary
(see _host_state.py for the schema); the role's model itself is in _dump_model.py.
"""

from __future__ import annotations

from ansible_collections.kdump.fleet.plugins.module_utils import _kdump_conf, _kdump_tools

# What kdump-config uses when MAKEDUMP_ARGS is unset.
DEBIAN_DEFAULT_MAKEDUMP_ARGS = "-F -c -d 31"


_CONF_TARGET_TYPES = {"raw": "raw", "nfs": "nfs", "ssh": "ssh", "virtiofs": "virtiofs", "dracut_args": "dracut_args"}


def summarize_kdump_conf(text):
    """kdump_info's config view of a kdump.conf text (RHEL family)."""
    conf = _kdump_conf.parse(text)
    errors = conf.errors + _kdump_conf.validate(conf)
    conf = _kdump_conf.normalize(conf)
    target = conf.target()
    summary_target = {"type": "local", "location": None, "fstype": None}
    if target:
        directive, value = target
        kind = _CONF_TARGET_TYPES.get(directive, "device")
        summary_target = {
            "type": kind,
            "location": value,
            "fstype": directive if kind == "device" else None,
        }
    kind = summary_target["type"]
    flat = kind in ("raw", "ssh")
    default_collector = _kdump_conf.DEFAULT_FLAT_COLLECTOR if flat else _kdump_conf.DEFAULT_COLLECTOR
    return {
        "target": summary_target,
        "path_on_target": None if kind == "raw" else conf.get("path", _kdump_conf.DEFAULT_PATH),
        "core_collector": conf.get("core_collector", default_collector),
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
    """kdump_info's config view of an /etc/default/kdump-tools text (Debian family)."""
    values, errors = _kdump_tools.parse_with_errors(text)
    errors = errors + _kdump_tools.validate(values)
    coredir = values.get("KDUMP_COREDIR") or "/var/crash"
    target = {"type": "local", "location": None, "fstype": None}
    path_on_target = coredir
    if values.get("FTP"):
        target = {"type": "ftp", "location": values["FTP"], "fstype": None}
        path_on_target = None
    if values.get("SSH"):
        target = {"type": "ssh", "location": values["SSH"], "fstype": None}
    elif values.get("NFS"):
        # kdump-config mounts the export itself on KDUMP_COREDIR: dumps land in the export's top directory.
        target = {"type": "nfs", "location": values["NFS"], "fstype": None}
        path_on_target = "/"
    args = values.get("MAKEDUMP_ARGS") or DEBIAN_DEFAULT_MAKEDUMP_ARGS
    if not args.startswith("-F"):
        args += " -F"  # what kdump-config does before running makedumpfile
    keep = values.get("KDUMP_NUM_DUMPS") or "0"
    return {
        "target": target,
        "path_on_target": path_on_target,
        "core_collector": "makedumpfile " + args,
        "failure_action": _debian_failure_action(values.get("KDUMP_FAIL_CMD", "")),
        "final_action": "reboot",
        "keep_dumps": int(keep) if keep.isdigit() else keep,
        "dump_dmesg": (values.get("KDUMP_DUMP_DMESG") or "1") == "1",
        "errors": errors,
    }
