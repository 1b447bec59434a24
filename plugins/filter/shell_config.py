# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter kdump.fleet.shell_assignments: the variables a file sh sources would set, without running it."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.kdump.fleet.plugins.module_utils import _kdump_tools


def shell_assignments(text):
    """NAME -> value as ``. file`` would set them (quotes removed, $NAME expanded, nothing run).

    The parser is the one that reads /etc/default/kdump-tools. What it cannot follow (commands,
    command substitution, shell operators) sets nothing, as the parser reports it; a plain
    ``NAME=value`` line, quoted or not, with or without ``export``, is read as sh reads it, and a
    later assignment wins over an earlier one.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if not isinstance(text, str):
        raise AnsibleFilterError("shell_assignments expects the file's text as a string, got %s" % type(text).__name__)
    values, _errors = _kdump_tools.parse_with_errors(text)
    return values


class FilterModule:
    """kdump.fleet shell-sourced configuration files."""

    def filters(self):
        return {"shell_assignments": shell_assignments}
