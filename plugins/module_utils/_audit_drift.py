# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drift between two audits: a previous run's JSON report against this run's hosts; private to the collection.

The previous report is read and checked before anything is evaluated or written (a missing file, a
file that is not an audit report, or one written by a newer collection is an error naming
kdump_audit_previous_report). Reports of every version this collection wrote (1 and 2) are read:
both carry each host's status and each check's result, which is all the comparison uses.
"""

from __future__ import annotations

import json
import os
import stat

from ansible_collections.kdump.fleet.plugins.module_utils._audit_exceptions import EXCEPTED
from ansible_collections.kdump.fleet.plugins.module_utils._audit_status import NOT_READY, READY, STATUSES
from ansible_collections.kdump.fleet.plugins.module_utils._readiness import RESULTS

VARIABLE = "kdump_audit_previous_report"
READABLE_VERSIONS = (1, 2)
# The JSON report of 5,000 hosts is about 60 MB; anything far larger is not one.
MAX_REPORT_BYTES = 512 << 20
# A previous report's check results are compared only when they are results this collection writes.
_KNOWN_RESULTS = frozenset(RESULTS) | {EXCEPTED}


class AuditDriftError(ValueError):
    """The previous report cannot be used; the message names kdump_audit_previous_report and the fix."""


def _unusable(path, problem):
    return AuditDriftError(
        "%s: %s %s; give the kdump-audit.json of an earlier run of this audit, or set %s to '' to skip the "
        "comparison" % (VARIABLE, path, problem, VARIABLE)
    )


def read_report_text(path, unusable):
    """The text of the JSON report at ``path``, after the checks any report file gets (exists, a regular
    file, a sane size, UTF-8); ``unusable(path, problem)`` makes the error to raise."""
    if not os.path.exists(path):
        raise unusable(path, "does not exist")
    if os.path.isdir(path):
        raise unusable(path, "is a directory (the report is the file kdump-audit.json in it)")
    # A FIFO or a device would block the read or never end it.
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise unusable(path, "is not a regular file")
    if info.st_size > MAX_REPORT_BYTES:
        raise unusable(
            path, "is %d bytes, more than the %d an audit report of any fleet needs" % (info.st_size, MAX_REPORT_BYTES)
        )
    try:
        with open(path, encoding="utf-8") as stream:
            return stream.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise unusable(path, "cannot be read (%s)" % (getattr(exc, "strerror", None) or exc)) from None


def read_previous(path):
    """The previous report at ``path`` (a controller path), checked; AuditDriftError when it cannot be used."""
    return parse_previous(read_report_text(path, _unusable), path)


def parse_previous(text, path="the previous report"):
    """A previous report's JSON text, checked and reduced to what drift compares."""
    try:
        report = json.loads(text)
    except ValueError as exc:
        raise _unusable(path, "is not JSON (%s)" % exc) from None
    if not isinstance(report, dict) or "hosts" not in report or "version" not in report:
        raise _unusable(path, "is not a kdump.fleet audit report (no version and hosts)")
    version = report["version"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise _unusable(path, "is not a kdump.fleet audit report (version %r)" % (version,))
    if version not in READABLE_VERSIONS:
        newer = version > max(READABLE_VERSIONS)
        raise _unusable(
            path,
            "is a report of version %d, which this collection cannot read (it reads versions %s)%s"
            % (
                version,
                ", ".join(map(str, READABLE_VERSIONS)),
                ": it was written by a newer kdump.fleet" if newer else "",
            ),
        )
    hosts = report["hosts"]
    if not isinstance(hosts, list):
        raise _unusable(path, "is not a kdump.fleet audit report (hosts is not a list)")
    reduced = {}
    for index, host in enumerate(hosts):
        if not (isinstance(host, dict) and isinstance(host.get("host"), str) and host.get("status") in STATUSES):
            raise _unusable(path, "has an unreadable host record (hosts[%d]: no host name or status)" % index)
        checks = {}
        for check in host.get("checks") or []:
            if isinstance(check, dict) and isinstance(check.get("id"), str) and check.get("result") in _KNOWN_RESULTS:
                checks[check["id"]] = check["result"]
        reduced.setdefault(host["host"], {"status": host["status"], "checks": checks})
    generated = report.get("generated")
    return {
        "path": str(path),
        "version": version,
        "generated": generated if isinstance(generated, str) else None,
        "hosts": reduced,
    }


def compare(previous, records):
    """What changed between the previous report (from parse_previous) and this run's host records.

    ``newly_not_ready``: hosts in both runs that were not not_ready before and are now; ``fixed``: hosts that
    were not ready before and are now; ``status_changed``: every status change of a host in both runs (the
    two above included); ``checks_changed``: checks whose result changed on a host in both runs (checks
    only one run evaluated, e.g. on a host that was unreachable in the other, are left out);
    ``appeared`` / ``disappeared``: hosts in one run only, with their status there.
    """
    before = previous["hosts"]
    now = {record["host"]: record for record in records}
    status_changed, checks_changed = [], []
    for host in sorted(set(before) & set(now)):
        old, new = before[host], now[host]
        if old["status"] != new["status"]:
            status_changed.append(
                {"host": host, "before": old["status"], "after": new["status"], "reasons": list(new["reasons"])}
            )
        for check in new["checks"]:
            old_result = old["checks"].get(check["id"])
            if old_result is not None and old_result != check["result"]:
                checks_changed.append(
                    {
                        "host": host,
                        "check": check["id"],
                        "title": check["title"],
                        "before": old_result,
                        "after": check["result"],
                        "finding": check["finding"],
                    }
                )
    appeared = [{"host": h, "status": now[h]["status"]} for h in sorted(set(now) - set(before))]
    disappeared = [{"host": h, "status": before[h]["status"]} for h in sorted(set(before) - set(now))]
    newly_not_ready = [c for c in status_changed if c["after"] == NOT_READY]
    fixed = [c for c in status_changed if c["after"] == READY]
    return {
        "previous": {
            "path": previous["path"],
            "version": previous["version"],
            "generated": previous["generated"],
            "hosts": len(before),
        },
        "changed": bool(status_changed or checks_changed or appeared or disappeared),
        "newly_not_ready": newly_not_ready,
        "fixed": fixed,
        "status_changed": status_changed,
        "checks_changed": checks_changed,
        "appeared": appeared,
        "disappeared": disappeared,
    }
