# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kdump.conf(5) parse, validate and render; private to the kdump.fleet collection."""

from __future__ import annotations

import re

# Dump target directives: at most one may appear (kdumpctl parse_config).
FS_TARGETS = ("ext2", "ext3", "ext4", "xfs", "btrfs", "minix", "virtiofs")
TARGETS = ("raw", "nfs", "ssh") + FS_TARGETS

# Directives kdumpctl accepts besides the targets.
OPTIONS = (
    "auto_reset_crashkernel",
    "path",
    "core_collector",
    "sshkey",
    "kdump_post",
    "kdump_pre",
    "kdump_emergency",
    "extra_bins",
    "extra_modules",
    "failure_action",
    "default",
    "final_action",
    "force_rebuild",
    "force_no_rebuild",
    "dracut_args",
    "fence_kdump_args",
    "fence_kdump_nodes",
)
KNOWN = TARGETS + OPTIONS

# Directives current kdumpctl refuses to start with, and what to do instead.
REMOVED = {
    "net": "use 'nfs <server>:<export>' or 'ssh <user>@<host>' instead",
    "options": "pass module options as kernel parameters in KDUMP_COMMANDLINE_APPEND in /etc/sysconfig/kdump",
    "link_delay": "delete it: dracut's network module waits for the link itself",
    "disk_timeout": "delete it: dracut waits for the disks itself",
    "debug_mem_level": "append rd.memdebug=<0-3> to KDUMP_COMMANDLINE_APPEND in /etc/sysconfig/kdump",
    "blacklist": "append rd.driver.blacklist=<module> to KDUMP_COMMANDLINE_APPEND in /etc/sysconfig/kdump",
    "override_resettable": "delete it: kdumpctl never honoured it and kdump-utils removed it",
    "nfs4": "use 'nfs <server>:<export>'; the NFS version is negotiated",
}

FAILURE_ACTIONS = ("reboot", "halt", "poweroff", "shell", "dump_to_rootfs")
FINAL_ACTIONS = ("reboot", "halt", "poweroff")
DEFAULT_PATH = "/var/crash"
# kdump.conf(5) "Note 1: About default core collector".
DEFAULT_COLLECTOR = "makedumpfile -l --message-level 7 -d 31"
DEFAULT_FLAT_COLLECTOR = "makedumpfile -F -l --message-level 7 -d 31"


class KdumpConf:
    """The directives of a kdump.conf in file order, without comments."""

    def __init__(self, directives=None, errors=None):
        self.directives = list(directives or [])
        self.errors = list(errors or [])

    def __eq__(self, other):
        return isinstance(other, KdumpConf) and (self.directives, self.errors) == (other.directives, other.errors)

    __hash__ = None  # mutable

    def __repr__(self):
        return "KdumpConf(%r, errors=%r)" % (self.directives, self.errors)

    def values(self, name):
        return [value for directive, value in self.directives if directive == name]

    def get(self, name, default=None):
        """Last value of a directive, as kdump_get_conf_val returns it."""
        found = self.values(name)
        return found[-1] if found else default

    def targets(self):
        """Every dump target as (directive, value); a dracut_args --mount counts as one."""
        found = [(d, v) for d, v in self.directives if d in TARGETS]
        found.extend(("dracut_args", v) for d, v in self.directives if d == "dracut_args" and "--mount" in v)
        return found

    def target(self):
        targets = self.targets()
        return targets[0] if targets else None


# How kdump-utils reads the file (kdump_read_conf, then kdumpctl, mkdumprd and the capture
# script): grep drops lines matching '^\s*#' or '^\s*$', each remaining line (split on
# "\n" only) goes through `read -r opt val` with the default IFS, so only space and tab
# separate and are trimmed; "\r", "\v", "\f" and other controls stay in the words. A
# trailing comment is cut and the value right-trimmed of [[:space:]], one pair of outer
# double quotes removed, and the "opt val" pair echoed and read once more.
# \s and [[:space:]] are taken in the C locale; a line holding other characters is
# reported, since the tools may read it differently by locale.
_GREP_SPACE = " \t\n\v\f\r"
_IFS_SPACE = " \t"


def _clean_value(raw):
    """Value the way kdump_read_conf and the reread give it: no trailing comment, outer double quotes removed."""
    value = raw
    if "#" in value:
        value = value.split("#", 1)[0].rstrip(_GREP_SPACE)
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        value = value[1:-1]
    return value.strip(_IFS_SPACE)


def _read_fields(line):
    """(opt, val) as `read -r opt val` splits one line with the default IFS."""
    line = line.strip(_IFS_SPACE)
    for index, char in enumerate(line):
        if char in _IFS_SPACE:
            return line[:index], line[index:].lstrip(_IFS_SPACE)
    return line, ""


def _odd_character(line):
    """A character in a directive line that sh, grep and Python do not agree on, or None."""
    for char in line:
        code = ord(char)
        if (code < 0x20 and char != "\t") or code >= 0x7F:
            return code
    return None


def parse(text):
    """Parse kdump.conf text into a KdumpConf (order kept, comments and blank lines dropped), as kdumpctl reads it."""
    conf = KdumpConf()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        blank = line.lstrip(_GREP_SPACE)
        if not blank or blank.startswith("#"):
            continue
        odd = _odd_character(line)
        if odd is not None:
            conf.errors.append(
                "line %d: holds the character U+%04X, which kdumpctl keeps in the directive or value "
                "(other readers may split or drop it); remove it" % (number, odd)
            )
        directive, raw = _read_fields(line)
        value = _clean_value(raw)
        if not value:
            conf.errors.append("line %d: directive '%s' has no value" % (number, directive))
        conf.directives.append((directive, value))
    return conf


def normalize(conf):
    """Rewrite the obsolete 'default X' to 'failure_action X' (an explicit failure_action wins)."""
    has_failure_action = bool(conf.values("failure_action"))
    directives = []
    for directive, value in conf.directives:
        if directive != "default":
            directives.append((directive, value))
        elif not has_failure_action:
            directives.append(("failure_action", value))
            has_failure_action = True
    return KdumpConf(directives, conf.errors)


def _collector_errors(conf, target):
    collector = conf.get("core_collector")
    if collector is None:
        return []
    words = collector.split()
    flat_needed = target is not None and target[0] in ("ssh", "raw")
    # mkdumprd verify_core_collector: makedumpfile writing to a pipe must flatten.
    if words and words[0] == "makedumpfile" and flat_needed and "-F" not in words[1:]:
        return [
            "core_collector '%s' lacks -F: the %s target needs makedumpfile's flattened output; add -F"
            % (collector, target[0])
        ]
    return []


def _choice_errors(conf, name, choices):
    errors = []
    for value in conf.values(name):
        if value not in choices:
            errors.append("%s '%s' is not valid; use one of %s" % (name, value, ", ".join(choices)))
    return errors


def validate(conf):
    """Problems kdumpctl/mkdumprd would report for this configuration, each with the fix."""
    errors = []
    seen = set()
    for directive, value in conf.directives:
        if directive in REMOVED:
            errors.append("directive '%s' was removed from kdump.conf: %s" % (directive, REMOVED[directive]))
        elif directive not in KNOWN:
            errors.append("unknown directive '%s'; see kdump.conf(5) for the valid ones" % directive)
        elif directive == "default":
            errors.append("directive 'default' is obsolete; write 'failure_action %s' instead" % value)
        elif directive in seen and directive not in TARGETS:
            errors.append("directive '%s' is given more than once; keep one" % directive)
        seen.add(directive)

    if conf.values("default") and conf.values("failure_action"):
        errors.append("both 'default' and 'failure_action' are set; keep only failure_action")

    targets = conf.targets()
    if len(targets) > 1:
        errors.append(
            "more than one dump target (%s); kdump.conf allows one, remove the others"
            % ", ".join("%s %s" % pair for pair in targets)
        )
    target = targets[0] if targets else None

    if target and target[0] == "ssh" and "@" not in target[1]:
        errors.append("ssh target '%s' must be written as user@host" % target[1])
    if target and target[0] == "nfs" and ":" not in target[1]:
        errors.append("nfs target '%s' must be written as server:/export" % target[1])
    if conf.values("sshkey") and not (target and target[0] == "ssh"):
        errors.append("sshkey is only used with an ssh target; remove it or add 'ssh user@host'")
    path = conf.get("path")
    if path is not None and not path.startswith("/"):
        errors.append("path '%s' must be an absolute path" % path)

    errors.extend(_choice_errors(conf, "failure_action", FAILURE_ACTIONS))
    errors.extend(_choice_errors(conf, "default", FAILURE_ACTIONS))
    errors.extend(_choice_errors(conf, "final_action", FINAL_ACTIONS))
    errors.extend(_choice_errors(conf, "auto_reset_crashkernel", ("yes", "no")))
    errors.extend(_choice_errors(conf, "force_rebuild", ("0", "1")))
    errors.extend(_choice_errors(conf, "force_no_rebuild", ("0", "1")))
    if conf.get("force_rebuild") == "1" and conf.get("force_no_rebuild") == "1":
        errors.append("force_rebuild 1 and force_no_rebuild 1 exclude each other; set only one")
    errors.extend(_collector_errors(conf, target))
    return errors


_DIRECTIVE = re.compile(r"^[a-z][a-z0-9_]*$")


def render(conf, header_lines=()):
    """kdump.conf text: '# ' header lines, then one 'directive value' line each."""
    lines = ["# " + line if line else "#" for line in header_lines]
    for directive, raw_value in conf.directives:
        if not _DIRECTIVE.fullmatch(directive):
            raise ValueError("not a kdump.conf directive name: %r" % directive)
        value = str(raw_value)
        # kdump.conf has no quoting: '#' starts a comment, a newline a new directive, read
        # trims blanks at both ends and one pair of outer double quotes is removed.
        if (
            "#" in value
            or _odd_character(value) is not None
            or value != value.strip(_IFS_SPACE)
            or not value
            or (len(value) >= 2 and value.startswith('"') and value.endswith('"'))
        ):
            raise ValueError(
                "kdump.conf value for %s cannot be empty, hold '#' or control characters, start or end with "
                "a blank or be in double quotes: %r" % (directive, value)
            )
        lines.append("%s %s" % (directive, value))
    return "\n".join(lines) + "\n" if lines else ""
