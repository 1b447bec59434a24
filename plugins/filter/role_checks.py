# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters the kdump role validates its inputs with: unknown kdump_* variables, the dump directory on the host."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.kdump.fleet.plugins.module_utils import _role_checks


def unknown_role_variables(names, role_spec, *other_specs):
    """A warning per kdump_* variable name the kdump role does not know, with the nearest known name."""
    if not isinstance(role_spec, dict):
        raise AnsibleFilterError("unknown_role_variables expects the role's argument spec as a dict")
    return _role_checks.unknown_variables(list(names or []), role_spec, [s for s in other_specs if isinstance(s, dict)])


def dump_dir_problems(named, resolved, stat, entries=None, adopt=False):
    """Every reason the role must not create or take over kdump_path on the host; empty when it may."""
    return _role_checks.dump_dir_problems(named, resolved, stat, entries, bool(adopt))


class FilterModule:
    """kdump.fleet role input checks."""

    def filters(self):
        return {"unknown_role_variables": unknown_role_variables, "dump_dir_problems": dump_dir_problems}
