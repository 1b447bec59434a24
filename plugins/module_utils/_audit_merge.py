# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One fleet report from the JSON reports of a sliced audit; private to the collection.

AWX/AAP job slicing runs the audit as N jobs, each on a slice of the inventory, and each writes its
own kdump-audit.json. The merge takes those and gives the report one unsliced run would have given:
the host records as the slices evaluated them, the summary and the gate counted over all of them,
each exception's hosts joined, and the drift against a previous report computed over the whole fleet.

Every slice is checked before anything is written: a report of another version, slices audited with
different settings, checks or exceptions, a host record the reports could not show, or one host in
two slices (a slice of another run picked up by mistake) is an error naming the file and the fix.
"""

from __future__ import annotations

import datetime
import json

from ansible_collections.kdump.fleet.plugins.module_utils import _audit_drift
from ansible_collections.kdump.fleet.plugins.module_utils._audit_exceptions import EXCEPTED
from ansible_collections.kdump.fleet.plugins.module_utils._fleet_audit import (
    DEFAULT_SETTINGS,
    REPORT_VERSION,
    STATUSES,
    summarize,
)
from ansible_collections.kdump.fleet.plugins.module_utils._readiness import ADVISORY, CHECK_IDS, REQUIRED, RESULTS

VARIABLE = "kdump_audit_merge_reports"
_RESULTS = frozenset(RESULTS) | {EXCEPTED}
_SEVERITIES = frozenset((REQUIRED, ADVISORY))
# What must be the same in every slice: the audit they ran, not what they found.
_SAME_IN_EVERY_SLICE = ("settings", "catalogue")
# An exception's own fields (the rest is what the slice found: its hosts, whether it had expired).
_EXCEPTION_FIELDS = ("index", "check", "hosts", "reason", "approved_by", "expires")
_EXCEPTION_STATES = frozenset(("excepted", "expired", "unused"))


class AuditMergeError(ValueError):
    """A slice report cannot be merged; the message names the file, kdump_audit_merge_reports and the fix."""


def _unusable(path, problem):
    return AuditMergeError(
        "%s: %s %s; give the kdump-audit.json files of the slices of one audit run (each slice its own "
        "kdump_audit_report_dir)" % (VARIABLE, path, problem)
    )


def read_slice(path):
    """The slice report at ``path`` (a controller path), parsed and checked."""
    text = _audit_drift.read_report_text(path, _unusable)
    try:
        report = json.loads(text, parse_constant=_no_constant)
    except ValueError as exc:
        raise _unusable(path, "is not JSON (%s)" % exc) from None
    return check_slice(report, path)


def _no_constant(name):
    # NaN and Infinity: Python's json takes them, no report writer or browser does.
    raise ValueError("%s is not a JSON number" % name)


def _is_str_list(value):
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _record_problem(record):
    """Why a host record cannot go into the merged reports as it is, or None."""
    if not isinstance(record, dict):
        return "is not a mapping"
    if not isinstance(record.get("host"), str) or not record["host"]:
        return "has no host name"
    if record.get("status") not in STATUSES:
        return "has the status %r" % (record.get("status"),)
    if not _is_str_list(record.get("reasons")) or not _is_str_list(record.get("errors", [])):
        return "has reasons or errors that are not lists of text"
    if not isinstance(record.get("counts"), dict) or not isinstance(record.get("checks"), list):
        return "has no counts or checks"
    if record.get("error") is not None and not isinstance(record["error"], str):
        return "has an error that is not text"
    if record.get("facts") is not None and not isinstance(record["facts"], dict):
        return "has facts that are not a mapping"
    for index, check in enumerate(record["checks"]):
        if not isinstance(check, dict) or check.get("id") not in CHECK_IDS:
            return "checks[%d] is not a check of this collection" % index
        if check.get("result") not in _RESULTS or check.get("severity") not in _SEVERITIES:
            return "checks[%d] (%s) has the result %r, severity %r" % (
                index,
                check["id"],
                check.get("result"),
                check.get("severity"),
            )
        for key in ("title", "finding", "remediation"):
            if not isinstance(check.get(key), str):
                return "checks[%d] (%s) has no %s" % (index, check["id"], key)
        problem = _controls_problem(check.get("controls", [])) or _check_exception_problem(check)
        if problem:
            return "checks[%d] (%s) %s" % (index, check["id"], problem)
    return None


def _controls_problem(controls, compact=True):
    """Why controls cannot be shown, or None. A check's are compact (STIG IDs as text); the catalogue's full."""
    if not isinstance(controls, list):
        return "has controls that are not a list"
    for control in controls:
        if not isinstance(control, dict) or not all(isinstance(control.get(k), str) for k in ("id", "relation")):
            return "has a control without an id and a relation"
        stig = control.get("stig") or []
        readable = _is_str_list(stig) if compact else isinstance(stig, list) and all(isinstance(i, dict) for i in stig)
        if not readable:
            return "has a control whose STIG IDs cannot be read"
    return None


def _check_exception_problem(check):
    exception = check.get("exception")
    if exception is None:
        return "is excepted without its exception" if check["result"] == EXCEPTED else None
    if not isinstance(exception, dict):
        return "has an exception that is not a mapping"
    if not _is_index(exception.get("index")) or exception.get("state") not in _EXCEPTION_STATES:
        return "has an exception without its index or state"
    if not all(isinstance(exception.get(key), str) for key in ("reason", "approved_by", "expires")):
        return "has an exception without its reason, approver or expiry"
    return None


def _is_index(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _catalogue_problem(catalogue):
    """Why a slice's catalogue is not this collection's, or None: the reports look every check up in it."""
    ids = [entry.get("id") if isinstance(entry, dict) else None for entry in catalogue]
    if ids != list(CHECK_IDS):
        return "has a check catalogue other than this collection's (%d checks): run the slices with this collection" % (
            len(CHECK_IDS)
        )
    for entry in catalogue:
        if not all(isinstance(entry.get(key), str) for key in ("title", "remediation")):
            return "has catalogue entry %s without its title or remediation" % entry["id"]
        if entry.get("severity") not in _SEVERITIES:
            return "has catalogue entry %s with the severity %r" % (entry["id"], entry.get("severity"))
        if _controls_problem(entry.get("controls") or [], compact=False):
            return "has catalogue entry %s with unreadable controls" % entry["id"]
    return None


def check_slice(report, path):
    """A parsed slice report, checked: AuditMergeError unless every part the merge uses is there and sound."""
    if not isinstance(report, dict) or "hosts" not in report or "version" not in report:
        raise _unusable(path, "is not a kdump.fleet audit report (no version and hosts)")
    if report["version"] != REPORT_VERSION or isinstance(report["version"], bool):
        raise _unusable(
            path,
            "is a report of version %r; the merge takes version %d, which this collection writes: run the "
            "slices with this collection" % (report["version"], REPORT_VERSION),
        )
    for key in ("settings", "catalogue", "hosts", "exceptions"):
        expected = dict if key == "settings" else list
        if not isinstance(report.get(key), expected):
            raise _unusable(path, "has no %s" % key)
    if not isinstance(report["settings"].get("min_ready_percent"), (int, float)):
        raise _unusable(path, "has no settings.min_ready_percent")
    problem = _catalogue_problem(report["catalogue"])
    if problem:
        raise _unusable(path, problem)
    for index, record in enumerate(report["hosts"]):
        problem = _record_problem(record)
        if problem:
            raise _unusable(path, "hosts[%d] %s" % (index, problem))
    for index, exception in enumerate(report["exceptions"]):
        if (
            not isinstance(exception, dict)
            or any(key not in exception for key in _EXCEPTION_FIELDS)
            or not _is_index(exception["index"])
            or not (isinstance(exception["hosts"], str) or _is_str_list(exception["hosts"]))
            or not all(isinstance(exception[key], str) for key in ("check", "reason", "approved_by", "expires"))
        ):
            raise _unusable(path, "exceptions[%d] is not an exception this collection wrote" % index)
    return {"path": str(path), "report": report}


def _merged_exceptions(slices):
    """Each exception once, with the hosts every slice found for it; expired when any slice saw it expired."""
    first = slices[0]
    merged = []
    for position, exception in enumerate(first["report"]["exceptions"]):
        entry = dict(exception, expired=False, excepted_hosts=[], expired_hosts=[], unused_hosts=[])
        for part in slices:
            other = part["report"]["exceptions"][position]
            entry["expired"] = entry["expired"] or bool(other.get("expired"))
            for key in ("excepted_hosts", "expired_hosts", "unused_hosts"):
                entry[key] += [str(host) for host in other.get(key) or []]
        for key in ("excepted_hosts", "expired_hosts", "unused_hosts"):
            entry[key] = sorted(entry[key])
        merged.append(entry)
    return merged


def _check_same_audit(slices):
    """Every slice ran the same audit: settings, catalogue and exceptions as the first one."""
    first = slices[0]
    for part in slices[1:]:
        for key in _SAME_IN_EVERY_SLICE:
            if part["report"][key] != first["report"][key]:
                raise _unusable(
                    part["path"],
                    "was audited with other %s than %s: run every slice with the same kdump_audit_* variables "
                    "and collection version" % (key, first["path"]),
                )
        mine = [{k: e[k] for k in _EXCEPTION_FIELDS} for e in part["report"]["exceptions"]]
        theirs = [{k: e[k] for k in _EXCEPTION_FIELDS} for e in first["report"]["exceptions"]]
        if mine != theirs:
            raise _unusable(
                part["path"],
                "was audited with other kdump_audit_exceptions than %s: give every slice the same exceptions"
                % first["path"],
            )


def merge(slices, previous=None, now=None, min_ready_percent=None, expected_slices=None):
    """The fleet report of the slices (from read_slice / check_slice), as one unsliced audit would write it.

    previous: a previous report from _audit_drift.read_previous, for the drift over the whole fleet (a
    slice's own drift only saw its slice, so it is not used). min_ready_percent (checked by the caller):
    the fleet's gate; None is the audit's default (100), never the slices' own, which is 0 when the slices
    are kept from failing on their own hosts. expected_slices: how many slices the run had; fewer (a slice
    job that died before writing) is an error, not a smaller fleet.
    """
    if not slices:
        raise AuditMergeError("%s matched no report: name the slices' kdump-audit.json files" % VARIABLE)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if expected_slices is not None and len(slices) != expected_slices:
        raise AuditMergeError(
            "%s matched %d report(s), the run has %d slices (kdump_audit_merge_expected_slices): a slice is "
            "missing (its job failed before writing) or one is from another run; nothing was written"
            % (VARIABLE, len(slices), expected_slices)
        )
    _check_same_audit(slices)
    owner = {}
    records = []
    for part in slices:
        for record in part["report"]["hosts"]:
            if record["host"] in owner:
                raise _unusable(
                    part["path"],
                    "holds the host %s, which %s holds too: each host belongs to one slice of a run, so one "
                    "of them is from another run" % (record["host"], owner[record["host"]]),
                )
            owner[record["host"]] = part["path"]
            records.append(record)
    records.sort(key=lambda record: record["host"])
    settings = dict(slices[0]["report"]["settings"])
    settings["min_ready_percent"] = float(
        DEFAULT_SETTINGS["min_ready_percent"] if min_ready_percent is None else min_ready_percent
    )
    first = slices[0]["report"]
    return {
        "version": REPORT_VERSION,
        "generated": now.isoformat(timespec="seconds"),
        "settings": settings,
        "summary": summarize(records, settings),
        "catalogue": first["catalogue"],
        "exceptions": _merged_exceptions(slices),
        "drift": _audit_drift.compare(previous, records) if previous else None,
        "hosts": records,
    }
