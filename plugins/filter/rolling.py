# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the rolling plays (kdump.fleet.kdump, kdump.fleet.site): the batch plan and the health gate."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.kdump.fleet.plugins.filter.readiness import readiness
from ansible_collections.kdump.fleet.plugins.module_utils import _rolling


def rolling_batches(serial, max_fail_percentage, total):
    """{serial, max_fail_percentage, errors, plan}: kdump_serial and kdump_max_fail_percentage checked.

    None (the variable not set) takes the safe default; a comma-separated string is a list.
    """
    if serial is None:
        serial = list(_rolling.DEFAULT_SERIAL)
    elif isinstance(serial, str) and "," in serial:
        serial = [part for part in serial.split(",") if part.strip()]
    if max_fail_percentage is None:
        max_fail_percentage = _rolling.DEFAULT_MAX_FAIL_PERCENTAGE
    normalised, errors = _rolling.check(serial, max_fail_percentage)
    return {
        "serial": normalised,
        "max_fail_percentage": float(max_fail_percentage) if not errors else None,
        "errors": errors,
        "plan": _rolling.plan_text(normalised, int(total)) if not errors and int(total) > 0 else "",
    }


def rolling_gate(batch, hostvars, hosts_all, serial, check_mode=False):
    """The health gate after a batch of the kdump role: {passed, ready, awaiting_reboot, problems, msg}.

    batch: ansible_play_batch, the batch's hosts still in the play; the whole batch is cut from hosts_all.
    """
    if not isinstance(batch, (list, tuple)):
        raise AnsibleFilterError("rolling_gate expects ansible_play_batch, got %s" % type(batch).__name__)
    number, count, whole = _rolling.current_batch(list(hosts_all), list(batch), list(serial))
    states = {}
    for host in whole:
        facts = hostvars.get(host) or {}
        after = facts.get("__kdump_after") or {}
        verdict = None
        if isinstance(after.get("kdump"), dict):
            # as the role reads it: kdump_enabled | bool
            verdict = _readiness_verdict(after["kdump"], boolean(facts.get("kdump_enabled", True), strict=False))
        states[host] = {
            "verdict": verdict,
            "reboot_required": boolean(facts.get("kdump_reboot_required", False), strict=False),
            "check_mode": bool(check_mode),
        }
    result = _rolling.gate(whole, list(batch), states)
    where = "batch %s of %d" % (number if number is not None else "?", count)
    parts = ["%d ready" % len(result["ready"])]
    if result["awaiting_reboot"]:
        parts.append("%d await a reboot (kdump_reboot_ok is false)" % len(result["awaiting_reboot"]))
    if result["problems"]:
        parts.append("%d not ready" % len(result["problems"]))
    result["msg"] = "%s (%d host%s): %s" % (where, len(whole), "" if len(whole) == 1 else "s", ", ".join(parts))
    if result["problems"]:
        result["msg"] += "; no new batch starts: " + "; ".join(result["problems"])
    elif number is not None and number < count:
        result["msg"] += "; the next batch starts"
    return result


def _readiness_verdict(state, wanted_on):
    """The role's own verify verdict (filter kdump.fleet.readiness), read the same way here."""
    return readiness(state, "role_verify") if wanted_on else readiness(state, expect="off")


class FilterModule:
    def filters(self):
        return {"rolling_batches": rolling_batches, "rolling_gate": rolling_gate}
