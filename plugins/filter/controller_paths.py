# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter kdump.fleet.controller_path: a controller path as the collection's playbooks take it."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.kdump.fleet.plugins.module_utils._controller_paths import controller_path as _controller_path


def controller_path(path):
    """``path`` with ~ expanded, relative to where ansible-playbook was started (not to the playbook)."""
    if not isinstance(path, str) or not path:
        raise AnsibleFilterError("controller_path: expects a non-empty path, got %r" % (path,))
    return _controller_path(path)


class FilterModule:
    def filters(self):
        return {"controller_path": controller_path}
