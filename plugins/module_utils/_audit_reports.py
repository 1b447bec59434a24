# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet audit report writers (JSON, JUnit XML, Markdown) and their file writing; private to the collection.

The HTML page is rendered by _audit_html, the words every format shares are in _audit_text.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import xml.etree.ElementTree as ET

from ansible_collections.kdump.fleet.plugins.module_utils._audit_controls import (
    RELATION_LABELS,
    source_text,
)
from ansible_collections.kdump.fleet.plugins.module_utils._audit_exceptions import EXCEPTED, VARIABLE
from ansible_collections.kdump.fleet.plugins.module_utils._audit_html import render_html
from ansible_collections.kdump.fleet.plugins.module_utils._audit_text import (
    STATUS_LABELS,
    controls_text,
    distribution,
    drift_counts,
    drift_source,
    exception_text,
    hosts_pattern,
    other_status_changes,
    percent,
    sorted_hosts,
    status_label,
)
from ansible_collections.kdump.fleet.plugins.module_utils._fleet_audit import DEGRADED, NOT_READY, READY, gate_message
from ansible_collections.kdump.fleet.plugins.module_utils._readiness import FAIL, NOT_APPLICABLE, UNKNOWN

FORMATS = ("json", "junit", "markdown", "html")
FILE_NAMES = {
    "json": "kdump-audit.json",
    "junit": "kdump-audit.junit.xml",
    "markdown": "kdump-audit.md",
    "html": "kdump-audit.html",
}

# Characters XML 1.0 cannot carry at all, even escaped (a hostile host could send them).
_XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# --- JSON ------------------------------------------------------------------------------------------


def render_json(fleet):
    """Every host, every check and the raw kdump_info facts, as stable pretty JSON."""
    return json.dumps(fleet, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --- JUnit XML -------------------------------------------------------------------------------------


def _xml_text(value):
    return _XML_INVALID.sub("\ufffd", "" if value is None else str(value))


def render_junit(fleet):
    """One <testsuite> per host, one <testcase> per check (failure, error = unknown, skipped = not applicable or
    excepted, the latter with type="excepted" and the exception's reason).

    A check mapped to compliance controls carries them in the test case's <system-out>. The structure
    follows the JUnit XSD that Jenkins' xunit plugin validates against (junit-10.xsd).
    """
    hosts = fleet["hosts"]

    def count(host, result):
        return sum(1 for c in host["checks"] if c["result"] == result)

    root = ET.Element(
        "testsuites",
        name="kdump.fleet readiness audit",
        tests=str(sum(len(h["checks"]) for h in hosts)),
        failures=str(sum(count(h, FAIL) for h in hosts)),
        errors=str(sum(count(h, UNKNOWN) for h in hosts)),
        time="0",
    )
    for host in hosts:
        name = _xml_text(host["host"])
        # Jenkins splits classname at dots into package and class: one class per host, no collisions.
        classname = "kdump_audit." + name.replace(".", "_")
        suite = ET.SubElement(
            root,
            "testsuite",
            name=name,
            tests=str(len(host["checks"])),
            failures=str(count(host, FAIL)),
            errors=str(count(host, UNKNOWN)),
            skipped=str(count(host, NOT_APPLICABLE) + count(host, EXCEPTED)),
            time="0",
            timestamp=fleet["generated"],
            hostname=name,
            package="kdump.fleet.audit",
        )
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", name="status", value=host["status"])
        for check in host["checks"]:
            case = ET.SubElement(
                suite,
                "testcase",
                name="%s %s" % (check["id"], check["title"]),
                classname=classname,
                time="0",
            )
            message = _xml_text(check["finding"])
            fix = _xml_text("remediation: %s" % check["remediation"]) if check["remediation"] else None
            if check["result"] == FAIL:
                ET.SubElement(case, "failure", type=check["severity"], message=message).text = fix
            elif check["result"] == UNKNOWN:
                ET.SubElement(case, "error", type="unknown", message=message).text = fix
            elif check["result"] == NOT_APPLICABLE:
                ET.SubElement(case, "skipped", message=message)
            elif check["result"] == EXCEPTED:
                text = "%s; finding: %s" % (exception_text(check["exception"]), check["finding"])
                ET.SubElement(case, "skipped", type="excepted", message=_xml_text(text))
            controls = controls_text(check.get("controls"), distribution(host))
            if controls:
                ET.SubElement(case, "system-out").text = _xml_text("controls: " + controls)
    if hasattr(ET, "indent"):  # Python 3.9+; older controllers get one long line
        ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# --- Markdown --------------------------------------------------------------------------------------

_MD_ESCAPES = {
    "\\": "\\\\",
    "`": "\\`",
    "*": "\\*",
    "[": "\\[",
    "]": "\\]",
    "|": "\\|",
    "<": "&lt;",
    ">": "&gt;",
    "&": "&amp;",
}


def md_escape(value):
    """Text safe inside a Markdown paragraph, list item or table cell: no HTML, links, code or new blocks."""
    text = " ".join(str(value).split())  # a newline could start a new block
    return "".join(_MD_ESCAPES.get(char, char) for char in text)


def _capped(items, max_items):
    """(the items to list, how many are left out) for the printed summary; None lists all."""
    if max_items is None or len(items) <= max_items:
        return items, 0
    return items[:max_items], len(items) - max_items


def _names(hosts, limit=5):
    shown = ", ".join(md_escape(h) for h in hosts[:limit])
    return shown + (" and %d more" % (len(hosts) - limit) if len(hosts) > limit else "") if hosts else "-"


def _markdown_drift(drift, max_hosts):
    lines = ["", "## Since the previous audit", ""]
    if not drift["changed"]:
        return lines + [
            "No change since %s: the same hosts, statuses and check results." % md_escape(drift_source(drift))
        ]
    lines.append("Compared with %s: %s." % (md_escape(drift_source(drift)), drift_counts(drift)))
    lines.append("")

    def transition(change):
        return "**%s** (%s -> %s)" % (
            md_escape(change["host"]),
            status_label(change["before"]),
            status_label(change["after"]),
        )

    groups = (
        (
            "Newly not ready",
            drift["newly_not_ready"],
            lambda c: transition(c) + (": %s" % md_escape(c["reasons"][0]) if c["reasons"] else ""),
        ),
        ("Fixed", drift["fixed"], transition),
        ("Other status changes", other_status_changes(drift), transition),
        (
            "Appeared",
            drift["appeared"],
            lambda c: "**%s** (%s)" % (md_escape(c["host"]), status_label(c["status"])),
        ),
        (
            "Disappeared",
            drift["disappeared"],
            lambda c: "**%s** (was %s)" % (md_escape(c["host"]), status_label(c["status"])),
        ),
        (
            "Checks changed",
            drift["checks_changed"],
            lambda c: (
                "**%s** %s %s: %s -> %s"
                % (md_escape(c["host"]), c["check"], md_escape(c["title"]), c["before"], c["after"])
            ),
        ),
    )
    for label, items, line in groups:
        if not items:
            continue
        shown, more = _capped(items, max_hosts)
        lines.append("- %s (%d):" % (label, len(items)))
        lines += ["  - %s" % line(item) for item in shown]
        if more:
            lines.append("  - ... and %d more (see the JSON or HTML report)" % more)
    return lines


def _markdown_exceptions(exceptions):
    lines = [
        "",
        "## Exceptions",
        "",
        "| exception | check | hosts | reason | approved by | valid through | excepted on | expired, failing on "
        "| not needed on |",
        "|:--|:--|:--|:--|:--|:--|:--|:--|:--|",
    ]
    for exception in exceptions:
        through = md_escape(exception["expires"]) + (" (EXPIRED)" if exception["expired"] else "")
        if not (exception["excepted_hosts"] or exception["expired_hosts"] or exception["unused_hosts"]):
            through += ", matches no audited host"
        lines.append(
            "| %s[%d] | %s | %s | %s | %s | %s | %s | %s | %s |"
            % (
                VARIABLE,
                exception["index"],
                md_escape(exception["check"]),
                md_escape(hosts_pattern(exception["hosts"])),
                md_escape(exception["reason"]),
                md_escape(exception["approved_by"]),
                through,
                _names(exception["excepted_hosts"]),
                _names(exception["expired_hosts"]),
                _names(exception["unused_hosts"]),
            )
        )
    return lines


def _markdown_controls(catalogue):
    lines = [
        "",
        "## Controls",
        "",
        "The compliance controls each check evidences or conflicts with: ComplianceAsCode rules and the DISA STIG "
        "IDs that select them, as read in the source named (every STIG ID's own source is in the JSON catalogue).",
        "",
        "| check | relation | rule | DISA STIG IDs | source |",
        "|:--|:--|:--|:--|:--|",
    ]
    for entry in catalogue:
        for control in entry.get("controls") or []:
            lines.append(
                "| %s %s | %s | %s | %s | %s |"
                % (
                    entry["id"],
                    entry["title"],
                    RELATION_LABELS.get(control["relation"], control["relation"]),
                    control["id"],
                    ", ".join("%s (%s)" % (stig["id"], stig["product"]) for stig in control.get("stig") or []) or "-",
                    source_text(control["source"]),
                )
            )
    return lines


def render_markdown(fleet, max_hosts=None, report_paths=None):
    """Gate, what changed since the previous audit, fleet counts, failing checks, exceptions, then the not-ready
    and degraded hosts with their reasons, and (in the saved file) the checks' compliance controls.

    max_hosts caps how many hosts are listed (the printed summary); None lists all (the saved file).
    """
    summary = fleet["summary"]
    total = summary["total"]
    lines = [
        "# kdump readiness audit",
        "",
        "%s. Generated %s." % (gate_message(summary), fleet["generated"]),
    ]
    if fleet.get("drift"):
        lines += _markdown_drift(fleet["drift"], max_hosts)
    lines += [
        "",
        "| status | hosts | share |",
        "|:--|--:|--:|",
    ]
    for status in (READY, DEGRADED, NOT_READY):
        lines.append("| %s | %d | %s |" % (STATUS_LABELS[status], summary[status], percent(summary[status], total)))
    if summary.get("excepted") or summary.get("expired_exceptions"):
        lines += [
            "",
            "%d failed check(s) excepted by a documented exception; %d failing because their exception has expired "
            "(see Exceptions)." % (summary.get("excepted") or 0, summary.get("expired_exceptions") or 0),
        ]

    catalogue = {entry["id"]: entry for entry in fleet["catalogue"]}
    if summary["checks"]:
        lines += ["", "## Failing checks", "", "| check | severity | failed | unknown | fix |", "|:--|:--|--:|--:|:--|"]
        for check_id, counts in summary["checks"].items():
            entry = catalogue[check_id]
            lines.append(
                "| %s %s | %s | %d | %d | %s |"
                % (check_id, entry["title"], entry["severity"], counts[FAIL], counts[UNKNOWN], entry["remediation"])
            )
    if fleet.get("exceptions"):
        lines += _markdown_exceptions(fleet["exceptions"])

    listed = 0
    for status in (NOT_READY, DEGRADED):
        hosts = [h for h in sorted_hosts(fleet) if h["status"] == status]
        if not hosts:
            continue
        lines += ["", "## %s hosts (%d)" % (STATUS_LABELS[status].capitalize(), len(hosts)), ""]
        for host in hosts:
            if max_hosts is not None and listed >= max_hosts:
                lines.append(
                    "- ... and %d more %s hosts (see the JSON or HTML report)"
                    % (len(hosts) - hosts.index(host), STATUS_LABELS[status])
                )
                break
            listed += 1
            lines.append("- **%s**" % md_escape(host["host"]))
            lines += ["  - %s" % md_escape(reason) for reason in host["reasons"]]

    if max_hosts is None and any(entry.get("controls") for entry in fleet["catalogue"]):
        lines += _markdown_controls(fleet["catalogue"])
    if report_paths:
        lines += ["", "## Reports", ""]
        lines += ["- %s: %s" % (fmt, md_escape(path)) for fmt, path in report_paths.items()]
    return "\n".join(lines) + "\n"


# --- the actions' result ---------------------------------------------------------------------------


def action_result(fleet, paths, summary_max_hosts):
    """What kdump.fleet.audit_report and audit_merge return once the reports are written."""
    summary = fleet["summary"]
    return {
        "changed": False,
        "summary": summary,
        "gate_passed": summary["gate_passed"],
        "gate_message": gate_message(summary),
        "reports": paths,
        "markdown": render_markdown(fleet, max_hosts=summary_max_hosts, report_paths=paths),
        "hosts": {h["host"]: {"status": h["status"], "reasons": h["reasons"]} for h in fleet["hosts"]},
        "drift": fleet["drift"],
    }


# --- files -----------------------------------------------------------------------------------------

RENDERERS = {"json": render_json, "junit": render_junit, "markdown": render_markdown, "html": render_html}


def _write_atomically(path, text):
    directory = os.path.dirname(path)
    handle, temporary = tempfile.mkstemp(prefix=".kdump-audit-", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, REPORT_FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


# The reports describe every host (kernels, dump targets, what is wrong): owner only.
REPORT_FILE_MODE = 0o600
REPORT_DIR_MODE = 0o700


def write_report_files(document, directory, formats, renderers, file_names):
    """Write ``document`` in the chosen formats (in ``renderers``' order) into directory; {format: path}.

    Files are written 0600. A directory this call creates is made 0700 (its missing parents get the
    default mode); an existing directory is used as it is, its mode is the user's choice. The audit and
    the dump inventory both write their reports through here.
    """
    directory = os.path.abspath(directory)
    # Every format is rendered before any file is written: a document one renderer cannot show leaves
    # the previous reports as they were, not a new JSON beside an old HTML.
    texts = {fmt: render(document) for fmt, render in renderers.items() if fmt in formats}
    if not os.path.isdir(directory):
        os.makedirs(directory, mode=REPORT_DIR_MODE)
        os.chmod(directory, REPORT_DIR_MODE)  # makedirs' mode is reduced by the umask
    paths = {}
    for fmt, text in texts.items():
        path = os.path.join(directory, file_names[fmt])
        _write_atomically(path, text)
        paths[fmt] = path
    return paths


def write_reports(fleet, directory, formats=FORMATS):
    """Write the audit reports into directory; returns {format: absolute path} (write_report_files)."""
    return write_report_files(fleet, directory, formats, RENDERERS, FILE_NAMES)
