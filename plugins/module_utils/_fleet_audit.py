# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet readiness: the audit settings, every host through the one evaluator, the summary and gate.

Private to the collection. The checks themselves are in _readiness.py, the documented exceptions in
_audit_exceptions.py, the comparison with a previous report in _audit_drift.py.
"""

from __future__ import annotations

import datetime

from ansible_collections.kdump.fleet.plugins.module_utils import _audit_drift, _audit_exceptions
from ansible_collections.kdump.fleet.plugins.module_utils._audit_exceptions import EXCEPTED

# The statuses are re-exported: the reports and the action plugin read them from here.
from ansible_collections.kdump.fleet.plugins.module_utils._audit_status import (  # noqa: F401
    DEGRADED,
    NOT_READY,
    READY,
    STATUSES,
)
from ansible_collections.kdump.fleet.plugins.module_utils._readiness import (
    ADVISORY,
    CATALOGUE,
    CHECK_IDS,
    CHECK_SETTINGS,
    CHECKS_BY_ID,
    FAIL,
    NOT_APPLICABLE,
    REQUIRED,
    RESULTS,
    UNKNOWN,
    Outcome,
    conformed,
    evaluate,
    outcome_record,
    plain,
)

# A check's result in the reports: the evaluator's, or "excepted" (a failure a documented exception covers).
REPORT_RESULTS = RESULTS + (EXCEPTED,)
# The JSON report's shape. 2: results may be "excepted", checks carry controls (and exception), the
# report carries exceptions and drift, summary.excepted and summary.expired_exceptions.
REPORT_VERSION = 2


class AuditSettingsError(ValueError):
    """A kdump_audit_* setting is invalid; the message names the variable and the fix."""


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


DEFAULT_SETTINGS = dict(
    CHECK_SETTINGS,
    required_checks=[check.id for check in CATALOGUE if check.required],
    disabled_checks=[],
    unknown_status=DEGRADED,
    min_ready_percent=100.0,
)


def variable_name(setting):
    """The role variable that carries a setting: 'min_ready_percent' -> 'kdump_audit_min_ready_percent'."""
    return "kdump_audit_" + setting


def validate_settings(overrides=None):
    """Defaults merged with overrides (None values ignored), checked; AuditSettingsError names the variable."""
    settings = dict(DEFAULT_SETTINGS)
    for key, value in (overrides or {}).items():
        if key not in DEFAULT_SETTINGS:
            raise AuditSettingsError("unknown audit setting %s" % key)
        if value is not None:
            settings[key] = value

    for key in ("required_checks", "disabled_checks"):
        ids = settings[key]
        if isinstance(ids, str) or not isinstance(ids, (list, tuple)):
            raise AuditSettingsError("%s must be a list of check IDs, got %r" % (variable_name(key), ids))
        unknown = [i for i in ids if i not in CHECKS_BY_ID]
        if unknown:
            raise AuditSettingsError(
                "%s: unknown check ID(s) %s; valid IDs: %s"
                % (variable_name(key), ", ".join(map(str, unknown)), ", ".join(CHECK_IDS))
            )
        settings[key] = list(ids)
    if "KDUMP-000" in settings["disabled_checks"]:
        raise AuditSettingsError("%s: KDUMP-000 (host audited) cannot be disabled" % variable_name("disabled_checks"))

    numbers = {
        "reserved_max_ratio": (1.0, None),
        "dump_ratio_filtered": (0.0, 1.0),
        "dump_ratio_unfiltered": (0.0, 1.0),
        "crash_test_max_age_days": (0, None),
        "min_ready_percent": (0.0, 100.0),
    }
    for key, (low, high) in numbers.items():
        value = settings[key]
        if not _is_number(value):
            raise AuditSettingsError("%s must be a number, got %r" % (variable_name(key), value))
        if value < low or (high is not None and value > high):
            bounds = "between %g and %g" % (low, high) if high is not None else "at least %g" % low
            raise AuditSettingsError("%s must be %s, got %r" % (variable_name(key), bounds, value))
    if settings["unknown_status"] not in (DEGRADED, NOT_READY):
        raise AuditSettingsError(
            "%s must be degraded or not_ready, got %r" % (variable_name("unknown_status"), settings["unknown_status"])
        )
    return settings


# --- hosts and fleet -------------------------------------------------------------------------------


def _host_status(checks, settings):
    status = READY
    for check in checks:
        if check["result"] == FAIL and check["severity"] == REQUIRED:
            return NOT_READY
        if check["result"] == FAIL or (check["result"] == UNKNOWN and check["severity"] == REQUIRED):
            candidate = DEGRADED if check["result"] == FAIL else settings["unknown_status"]
            if STATUSES.index(candidate) > STATUSES.index(status):
                status = candidate
    return status


def _reasons(checks):
    """One line per check that keeps the host from being ready: required failures first."""
    order = (
        lambda c: c["result"] == FAIL and c["severity"] == REQUIRED,
        lambda c: c["result"] == FAIL and c["severity"] == ADVISORY,
        lambda c: c["result"] == UNKNOWN and c["severity"] == REQUIRED,
    )
    return ["%s %s" % (c["id"], c["finding"]) for wanted in order for c in checks if wanted(c)]


def _host_record(host, checks, settings, facts, error=None):
    status = _host_status(checks, settings)
    return {
        "host": host,
        "status": status,
        "reasons": _reasons(checks),
        "counts": {result: sum(1 for c in checks if c["result"] == result) for result in REPORT_RESULTS},
        "error": error,
        "checks": checks,
        "facts": facts,
    }


def _severity(check_id, settings):
    # KDUMP-000 is always required: a host without data cannot count as ready.
    return REQUIRED if check_id == "KDUMP-000" or check_id in settings["required_checks"] else ADVISORY


def evaluate_host(host, info, settings, now=None, *, exceptions=(), groups=()):
    """Every catalogue check on one host's kdump_info state; returns the host record.

    The state is conformed first: a field of the wrong type (a string "false" where a bool
    belongs, Infinity, a list for a mapping) makes the checks that read it unknown, and is
    named in the record's ``errors``. ``exceptions`` (validated by _audit_exceptions.validate)
    that match the host by name or by one of its ``groups`` then turn failed checks into excepted
    ones while they are valid at ``now``.
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    state, problems = conformed(info)
    checks = []
    for check in CATALOGUE:
        severity = _severity(check.id, settings)
        if check.id in settings["disabled_checks"]:
            outcome = Outcome(NOT_APPLICABLE, "disabled by %s" % variable_name("disabled_checks"))
        else:
            outcome = evaluate(check, state, problems, settings, now)
        checks.append(outcome_record(check, severity, outcome))
    checks = _audit_exceptions.apply(host, groups, checks, exceptions, now)
    record = _host_record(host, checks, settings, plain(state), error=None)
    record["errors"] = ["kdump_info state: %s" % problem for problem in problems]
    return record


def not_audited_host(host, reason, settings):
    """Record of a host whose kdump_info gave no data: KDUMP-000 fails and nothing else is evaluated."""
    check = CHECKS_BY_ID["KDUMP-000"]
    outcome = Outcome(FAIL, reason, {})
    record = _host_record(host, [outcome_record(check, REQUIRED, outcome)], settings, None, error=reason)
    record["errors"] = []
    return record


def _why_not_audited(registered):
    """Reason a registered kdump_info result carries no data, or None when it does."""
    if not isinstance(registered, dict):
        return "unreachable: no kdump_info result (the host was unreachable or failed before the audit)"
    message = str(registered.get("msg") or "").strip()
    if registered.get("unreachable"):
        return "unreachable: %s" % (message or "no message")
    if registered.get("skipped"):
        return "kdump_info was skipped on this host: %s" % (registered.get("skip_reason") or "no reason given")
    if not isinstance(registered.get("kdump"), dict):
        # A module that could not start (no usable Python) says why only on stderr.
        stderr = str(registered.get("module_stderr") or "").strip().splitlines()
        detail = "; ".join(part for part in (message, stderr[0] if stderr else "") if part)
        return "kdump_info failed: %s" % (detail or "it returned no kdump data")
    return None


def evaluate_fleet(results, hosts=None, settings=None, now=None, *, exceptions=None, groups=None, previous=None):
    """Evaluate every host. results: host -> registered kdump_info result; hosts: every host of the play.

    exceptions: kdump_audit_exceptions as given (checked here first: AuditExceptionsError); groups:
    Ansible's ``groups`` (group -> hosts), for exceptions by group; previous: a previous report from
    _audit_drift.read_previous, to compare with (the report's ``drift``).
    """
    settings = settings if settings is not None else validate_settings()
    now = now or datetime.datetime.now(datetime.timezone.utc)
    exceptions = _audit_exceptions.validate(exceptions)
    membership = _audit_exceptions.host_groups(groups)
    results = results or {}
    names = list(hosts) if hosts is not None else []
    names += [name for name in results if name not in names]
    records = []
    for name in sorted(set(str(n) for n in names)):
        registered = results.get(name)
        reason = _why_not_audited(registered)
        if reason:
            records.append(not_audited_host(name, reason, settings))
            continue
        try:
            records.append(
                evaluate_host(
                    name, registered["kdump"], settings, now, exceptions=exceptions, groups=membership.get(name, ())
                )
            )
        except Exception as exc:  # each host in isolation: one odd host never costs the others' report
            records.append(not_audited_host(name, "its kdump_info result could not be evaluated: %s" % exc, settings))
    return {
        "version": REPORT_VERSION,
        "generated": now.isoformat(timespec="seconds"),
        "settings": plain(settings),
        "summary": summarize(records, settings),
        "catalogue": [dict(check.as_dict(), severity=_severity(check.id, settings)) for check in CATALOGUE],
        "exceptions": plain(_audit_exceptions.usage(exceptions, records, now)),
        "drift": plain(_audit_drift.compare(previous, records)) if previous else None,
        "hosts": records,
    }


def summarize(records, settings):
    """Fleet counts, the ready share and whether it meets kdump_audit_min_ready_percent."""
    total = len(records)
    counts = {status: sum(1 for r in records if r["status"] == status) for status in STATUSES}
    minimum = settings["min_ready_percent"]
    failing_checks = {}
    excepted = expired = 0
    for record in records:
        for check in record["checks"]:
            if check["result"] in (FAIL, UNKNOWN):
                entry = failing_checks.setdefault(check["id"], {FAIL: 0, UNKNOWN: 0})
                entry[check["result"]] += 1
            excepted += check["result"] == EXCEPTED
            exception = check.get("exception") or {}
            expired += check["result"] == FAIL and exception.get("state") == _audit_exceptions.EXPIRED
    return {
        "total": total,
        "ready": counts[READY],
        "degraded": counts[DEGRADED],
        "not_ready": counts[NOT_READY],
        "ready_percent": round(100.0 * counts[READY] / total, 1) if total else 0.0,
        "min_ready_percent": minimum,
        # Integer arithmetic: 2 of 3 ready meets 66.6 but not 66.7, whatever the float rounding.
        "gate_passed": bool(total) and counts[READY] * 100 >= minimum * total,
        "checks": dict(sorted(failing_checks.items())),
        # check results a valid exception covers, and failed checks whose exception has expired
        "excepted": excepted,
        "expired_exceptions": expired,
    }


def gate_message(summary):
    """One line a pipeline log can show: the ready share against kdump_audit_min_ready_percent."""
    verdict = "passed" if summary["gate_passed"] else "FAILED"
    return "kdump readiness gate %s: %d of %d hosts ready (%.1f %%), %s is %g" % (
        verdict,
        summary["ready"],
        summary["total"],
        summary["ready_percent"],
        variable_name("min_ready_percent"),
        summary["min_ready_percent"],
    )
