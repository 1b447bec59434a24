# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the audit's reports say in words, shared by every format's writer; private to the collection."""

from __future__ import annotations

from ansible_collections.kdump.fleet.plugins.module_utils._audit_controls import RELATION_LABELS, stig_for_host
from ansible_collections.kdump.fleet.plugins.module_utils._audit_exceptions import VARIABLE
from ansible_collections.kdump.fleet.plugins.module_utils._fleet_audit import DEGRADED, NOT_READY, READY

STATUS_LABELS = {READY: "ready", DEGRADED: "degraded", NOT_READY: "not ready"}
# Worst first: the default order of every host list.
STATUS_RANK = {NOT_READY: 0, DEGRADED: 1, READY: 2}


def sorted_hosts(fleet):
    return sorted(fleet["hosts"], key=lambda h: (STATUS_RANK[h["status"]], h["host"]))


def status_label(status):
    return STATUS_LABELS.get(status, str(status))


def distribution(host):
    facts = host.get("facts")
    return facts.get("distribution") if isinstance(facts, dict) else None


def controls_text(controls, distribution=None):
    """'conflicts with service_kdump_disabled (DISA STIG RHEL-08-010670, ...)' for a check's compact controls.

    With the host's distribution, a rule names only the STIG ID of that product when there is one.
    """
    parts = []
    for control in controls or []:
        stig = control.get("stig") or []
        own = stig_for_host(control["id"], distribution)
        if own is not None and own["id"] in stig:
            stig = [own["id"]]
        parts.append(
            "%s %s%s"
            % (
                RELATION_LABELS.get(control["relation"], control["relation"]),
                control["id"],
                " (DISA STIG %s)" % ", ".join(stig) if stig else "",
            )
        )
    return "; ".join(parts)


def exception_text(exception):
    """How an exception reads next to the check it covers (or no longer covers)."""
    label = "%s[%d]" % (VARIABLE, exception["index"])
    if exception["state"] == "expired":
        return "exception %s (approved by %s) expired on %s: %s" % (
            label,
            exception["approved_by"],
            exception["expires"],
            exception["reason"],
        )
    return "excepted by %s, approved by %s, valid through %s: %s" % (
        label,
        exception["approved_by"],
        exception["expires"],
        exception["reason"],
    )


def hosts_pattern(hosts):
    return hosts if isinstance(hosts, str) else ", ".join(str(h) for h in hosts)


def percent(part, total):
    return "%.1f %%" % (100.0 * part / total) if total else "0.0 %"


def other_status_changes(drift):
    """Status changes that are neither newly not ready nor fixed: to (or within) degraded."""
    return [change for change in drift["status_changed"] if change["after"] == DEGRADED]


def drift_counts(drift):
    others = len(other_status_changes(drift))
    return (
        "%d newly not ready, %d fixed, %d other status change(s), %d check result(s) changed, %d host(s) appeared, "
        "%d disappeared"
        % (
            len(drift["newly_not_ready"]),
            len(drift["fixed"]),
            others,
            len(drift["checks_changed"]),
            len(drift["appeared"]),
            len(drift["disappeared"]),
        )
    )


def drift_source(drift):
    previous = drift["previous"]
    return "the report of %s (%s, version %s, %d hosts)" % (
        previous.get("generated") or "an unknown time",
        previous.get("path"),
        previous.get("version"),
        previous.get("hosts") or 0,
    )
