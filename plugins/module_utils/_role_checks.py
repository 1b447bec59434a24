# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of the kdump role's inputs against its argument spec and the host; private to the collection.

- ``unknown_variables``: ``kdump_*`` variables the role does not know (a misspelt ``kdump_taget`` is
  otherwise silently ignored), each with the nearest known name.
- ``dump_dir_problems``: whether the role may create or take over ``kdump_path`` on a host, from what
  the host reported (the resolved path, a stat of it, its entries).
"""

from __future__ import annotations

import difflib
import posixpath
import re

from ansible_collections.kdump.fleet.plugins.module_utils import _dump_model

ROLE = "kdump.fleet.kdump"
# Variables of the other parts of this collection that share the kdump_ prefix.
OTHER_PREFIXES = ("kdump_audit_", "kdump_crash_test_", "kdump_dumps_")
# Not in the argument spec but the role's: its output for the caller, and the kdump.fleet.kdump and
# kdump.fleet.site playbooks' host selection and rolling batches.
ROLE_OUTPUTS = ("kdump_reboot_required", "kdump_hosts", "kdump_serial", "kdump_max_fail_percentage")


def spec_option_names(spec, entry="main"):
    """The top-level option names of an argument_specs.yml document (a dict), or of its ``entry``."""
    if not isinstance(spec, dict):
        return []
    specs = spec.get("argument_specs", spec)
    options = (specs.get(entry) or {}).get("options") or {}
    return sorted(options)


def unknown_variables(names, role_spec, other_specs=(), prefixes=OTHER_PREFIXES, outputs=ROLE_OUTPUTS):
    """A warning for each ``kdump_*`` name the role does not know; empty when all are known.

    names: variable names visible to the role. role_spec: the role's argument_specs.yml (parsed).
    other_specs: argument specs of the collection's other roles, whose kdump_ names are theirs.
    """
    known = spec_option_names(role_spec)
    foreign = set()
    for spec in other_specs or ():
        foreign.update(spec_option_names(spec))
    accepted = set(known) | set(outputs) | foreign
    warnings = []
    for name in sorted(set(names or ())):
        if not str(name).startswith("kdump_") or name in accepted or str(name).startswith(tuple(prefixes)):
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = ("did you mean %s?" % close[0]) if close else ("the role's variables are %s" % ", ".join(known))
        warnings.append("%s is not a variable of %s and is ignored; %s" % (name, ROLE, hint))
    return warnings


# ---------------------------------------------------------------- kdump_path on the host

# Directories the system or other software own (the model's list): never made a dump directory.
SYSTEM_DIRECTORIES = frozenset(_dump_model.SYSTEM_DIRECTORIES)
# Nothing below these is a place for dumps (virtual file systems, the system trees of the model).
SYSTEM_TREES = ("/proc/", "/sys/", "/dev/", "/run/") + tuple(top + "/" for top in _dump_model.SYSTEM_TREES)
# What the kdump tools themselves leave in a dump directory.
_DUMP_SUBDIR = re.compile(
    r"^(\d{12}"  # kdump-tools: <YYYYMMDDhhmm>/
    r"|.+-\d{4}-\d{2}-\d{2}-\d{2}:\d{2}:\d{2}"  # kdumpctl: <address>-<YYYY-MM-DD-hh:mm:ss>/
    r"|lost\+found)$"  # a file system of its own mounted there
)
_DUMP_FILES = ("kexec_cmd", "kdump_lock")
ENTRY_LIMIT = 1000  # entries the role lists; a directory with more is not taken as a dump directory


def is_system_directory(path):
    path = posixpath.normpath(path) if path else ""
    return path in SYSTEM_DIRECTORIES or path.startswith(SYSTEM_TREES)


def _octal(mode):
    try:
        return int(str(mode), 8)
    except ValueError:
        return None


def is_dump_entry(entry):
    """True for what kdump tools keep in a dump directory: dump sub-directories and their few files."""
    name = posixpath.basename(str(entry.get("path", "")).rstrip("/"))
    if entry.get("islnk"):
        return False
    if entry.get("isdir"):
        return bool(_DUMP_SUBDIR.match(name))
    return name in _DUMP_FILES


def not_a_dump_directory(stat, entries):
    """Why an existing directory is not a dump directory, or None when it is one.

    A dump directory is owned by root, is not shared (no sticky bit, not group or world writable), and
    either has mode 0700 already or holds nothing but dump sub-directories and kdump's own files
    (an empty directory qualifies).
    """
    mode = _octal(stat.get("mode"))
    owner = stat.get("pw_name") or stat.get("uid")
    if stat.get("uid") != 0:
        return "it belongs to %s, not root" % owner
    if mode is None:
        return "its mode %r cannot be read" % stat.get("mode")
    if mode & 0o1000 or mode & 0o022:
        return "it is a shared directory (mode %04o)" % mode
    if mode & 0o7777 == 0o700:
        return None
    if entries is None:
        return "its entries could not be listed"
    if len(entries) >= ENTRY_LIMIT:
        return "it holds %d or more entries" % ENTRY_LIMIT
    others = sorted(posixpath.basename(str(e.get("path", ""))) for e in entries if not is_dump_entry(e))
    if others:
        shown = ", ".join(others[:5]) + (" and %d more" % (len(others) - 5) if len(others) > 5 else "")
        return "it holds %d entr%s that %s not dumps (%s)" % (
            len(others),
            "y" if len(others) == 1 else "ies",
            "is" if len(others) == 1 else "are",
            shown,
        )
    return None


def dump_dir_problems(named, resolved, stat, entries=None, adopt=False):
    """Every reason the role must not create or take over kdump_path on this host; empty when it may.

    named: kdump_path as given. resolved: the host's ``realpath -m`` of it. stat: ansible.builtin.stat's
    ``stat`` of the resolved path (not following links). entries: ansible.builtin.find's ``files`` of it
    (None when not listed). adopt: kdump_path_adopt.
    """
    named = str(named or "")
    if not named.startswith("/"):
        return ["kdump_path=%s must be an absolute path, for example /var/crash" % named]
    normal = "/" + posixpath.normpath(named).lstrip("/")
    resolved = "/" + posixpath.normpath(str(resolved or "").strip() or normal).lstrip("/")
    stat = stat if isinstance(stat, dict) else {}
    through = "" if resolved == normal else " (through a symlink, it is %s)" % resolved
    if is_system_directory(resolved):
        return [
            "kdump_path=%s%s is a system directory; the role would make it root-only (0700). Set kdump_path to "
            "a directory of its own, for example /var/crash" % (named, through)
        ]
    if resolved != normal:
        parent = posixpath.dirname(normal)
        if not (resolved + "/").startswith(parent.rstrip("/") + "/"):
            return [
                "kdump_path=%s is a symlink to %s, outside %s where you named it; the role does not follow it. "
                "Set kdump_path: %s if that is the dump directory you mean, or remove the symlink"
                % (named, resolved, parent, resolved)
            ]
    if not stat.get("exists"):
        return []
    if not stat.get("isdir"):
        kind = "a symlink" if stat.get("islnk") else "not a directory"
        return [
            "kdump_path=%s%s exists and is %s; set kdump_path to a directory, or remove what is there"
            % (named, through, kind)
        ]
    if adopt:
        return []
    reason = not_a_dump_directory(stat, entries)
    if reason is None:
        return []
    return [
        "kdump_path=%s%s is an existing directory that is not a dump directory: %s. The role would change it "
        "to root:root mode 0700. Set kdump_path to a directory of its own (a new one is created), or set "
        "kdump_path_adopt: true to let the role take this one over" % (named, through, reason)
    ]
