# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter kdump.fleet.newest_dumps: which dumps of a listing kdump.fleet.analyze looks at."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.kdump.fleet.plugins.module_utils._crash_analysis import newest_dumps as _newest_dumps


def newest_dumps(dumps, only=None, limit=5):
    """{chosen, missing}: the newest complete dumps' paths, at most limit; missing: ``only`` paths not there."""
    try:
        limit = int(limit)
    except (TypeError, ValueError):
        raise AnsibleFilterError("newest_dumps: limit must be a whole number, got %r" % (limit,)) from None
    if limit < 1:
        raise AnsibleFilterError("newest_dumps: limit must be 1 or more, got %d" % limit)
    chosen, missing = _newest_dumps(list(dumps or []), list(only or []), limit)
    return {"chosen": chosen, "missing": missing}


class FilterModule:
    def filters(self):
        return {"newest_dumps": newest_dumps}
