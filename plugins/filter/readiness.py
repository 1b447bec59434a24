# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter kdump.fleet.readiness: the audit's checks on one host's kdump_info state (the one evaluator)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.kdump.fleet.plugins.module_utils import _readiness

SELECTIONS = {
    "role_verify": _readiness.ROLE_VERIFY_CHECKS,
    "crash_test": _readiness.CRASH_TEST_CHECKS,
    "all": _readiness.CHECK_IDS[1:],  # KDUMP-000 is about the audit run, not the state
}


def readiness(state, checks="role_verify", expect="on"):
    """{"ready": bool, "failures": [...], "message": str} for the selected checks on one host's state."""
    if expect not in ("on", "off"):
        raise AnsibleFilterError("readiness: expect must be 'on' or 'off', got %r" % (expect,))
    if expect == "off":
        found = _readiness.off_failures(state)
        message = "; ".join("%s %s" % (item["id"], item["finding"]) for item in found)
        return {"ready": not found, "failures": found, "message": message}
    if isinstance(checks, str):
        if checks not in SELECTIONS:
            raise AnsibleFilterError(
                "readiness: checks=%r is not a selection; use %s or a list of check IDs"
                % (checks, ", ".join(sorted(SELECTIONS)))
            )
        ids = SELECTIONS[checks]
    else:
        ids = list(checks or [])
        unknown = [i for i in ids if i not in _readiness.CHECKS_BY_ID]
        if unknown:
            raise AnsibleFilterError(
                "readiness: unknown check ID(s) %s; valid IDs: %s"
                % (", ".join(map(str, unknown)), ", ".join(_readiness.CHECK_IDS))
            )
    found = _readiness.failures(state, ids)
    return {"ready": not found, "failures": found, "message": _readiness.failure_message(found)}


class FilterModule:
    """kdump.fleet readiness filter."""

    def filters(self):
        return {"readiness": readiness}
