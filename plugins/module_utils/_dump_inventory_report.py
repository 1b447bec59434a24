# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet dump inventory: one document from every host's dump_inventory result, and its reports.

Private to the kdump.fleet collection. JSON for machines, Markdown for a ticket or CI summary, one
self-contained HTML page for people; every string that came from a host is escaped in the last two.
"""

from __future__ import annotations

import datetime
import hashlib
import html
import json
import os
import posixpath
import re

from ansible_collections.kdump.fleet.plugins.module_utils._audit_html import csp_hash
from ansible_collections.kdump.fleet.plugins.module_utils._audit_reports import md_escape, write_report_files
from ansible_collections.kdump.fleet.plugins.module_utils._dump_inventory import (
    ORIGIN_CRASH,
    ORIGIN_CRASH_TEST,
    ORIGIN_UNKNOWN,
    summary_text,
)

REPORT_KIND = "kdump.fleet dump inventory"
REPORT_VERSION = 1
FORMATS = ("json", "markdown", "html")
FILE_NAMES = {"json": "kdump-dumps.json", "markdown": "kdump-dumps.md", "html": "kdump-dumps.html"}
ORIGIN_LABELS = {ORIGIN_CRASH: "real crash", ORIGIN_CRASH_TEST: "crash test", ORIGIN_UNKNOWN: "unknown"}
# Host and directory names as parts of a file name on the controller: nothing that climbs or hides.
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._:-]|^\.+")


class InventoryInputError(ValueError):
    """A place's result is not a dump_inventory result."""


def _place(name, result):
    """One listed place: where, how it went, and its dumps."""
    result = result or {}
    if result.get("unreachable"):
        return {"host": name, "status": "unreachable", "reason": result.get("msg") or "unreachable"}, []
    if result.get("failed"):
        return {"host": name, "status": "failed", "reason": result.get("msg") or "the listing failed"}, []
    if not result:
        return {"host": name, "status": "failed", "reason": "no listing: the host failed or was unreachable first"}, []
    if result.get("skipped") or "dumps" not in result:
        return {"host": name, "status": "skipped", "reason": result.get("skip_reason") or "nothing listed"}, []
    dumps = result["dumps"]
    if not isinstance(dumps, list) or not all(isinstance(d, dict) and "dir" in d for d in dumps):
        raise InventoryInputError("%s: the result's dumps are not a dump_inventory list" % name)
    place = {
        "host": name,
        "status": "listed",
        "paths": [p["path"] for p in result.get("places") or [] if p.get("exists")],
        "count": len(dumps),
        "errors": list(result.get("errors") or []),
        "reason": None,
    }
    return place, dumps


# What the inventory keeps of a crash_analysis record (its raw output goes to a file of its own).
FIRST_LOOK_FIELDS = ("status", "message", "summary", "kernel", "build_id", "seconds")
FIRST_LOOK_ANALYSIS = ("panic", "culprit", "backtrace", "task", "tainted_modules", "uptime", "load_average")


def raw_file_name(dump):
    """The raw crash(8) output's file, relative to the report directory: one per stored dump.

    Readable parts (made safe), and a hash of where the dump is: two dump servers' roots may hold the
    same client and directory names, and making names safe may merge two.
    """
    where = "%s\n%s" % (dump.get("stored_on"), dump.get("path") or dump["dir"])
    digest = hashlib.sha256(where.encode("utf-8", "surrogateescape")).hexdigest()[:10]
    parts = (dump.get("stored_on") or "unknown", dump.get("host") or "unknown", posixpath.basename(dump["dir"]))
    safe = [_SAFE_NAME.sub("_", part) for part in parts]
    return "crash/%s/%s/%s-%s.txt" % (safe[0], safe[1], safe[2], digest)


def attach_analyses(dumps, analyses):
    """Join crash_analysis records to the dumps they read, by (host the dump is stored on, path).

    ``analyses``: {inventory host: [crash_analysis record]}. Sets ``first_look`` on each analysed dump
    and returns {raw file name: raw crash output} for the caller to write, and the records that match
    no listed dump (which are errors: the analysis read a dump the listing did not see).
    """
    by_key = {}
    for stored_on, records in (analyses or {}).items():
        for record in records or []:
            if isinstance(record, dict):
                by_key[(stored_on, record.get("path"))] = record
    raws = {}
    for dump in dumps:
        record = by_key.pop((dump.get("stored_on"), dump.get("path")), None)
        if record is None:
            continue
        first_look = {key: record.get(key) for key in FIRST_LOOK_FIELDS}
        found = record.get("analysis") or {}
        first_look.update({key: found.get(key) for key in FIRST_LOOK_ANALYSIS})
        symbols = record.get("symbols") or {}
        first_look["symbols"] = {"source": symbols.get("source"), "path": symbols.get("path")} if symbols else None
        first_look["raw_file"] = raw_file_name(dump) if record.get("raw") else None
        if first_look["raw_file"]:
            raws[first_look["raw_file"]] = record["raw"]
        dump["first_look"] = first_look
        # A dump copied without its kernel log: what crash read out of the dump fills the gap.
        if not dump.get("panic") and first_look.get("panic"):
            dump["panic"] = first_look["panic"]
        if not dump.get("last_messages") and found.get("last_log_lines"):
            dump["last_messages"] = list(found["last_log_lines"])
            dump["log_source"] = "crash"
            dump["log_problem"] = None
        if dump.get("origin") == ORIGIN_UNKNOWN and found.get("crash_test") is not None:
            dump["origin"] = ORIGIN_CRASH_TEST if found["crash_test"] else ORIGIN_CRASH
    return raws, list(by_key.values())


def build(results, keep=0, apply=False, removed=None, now=None, *, analyses=None):
    """The inventory document from ``results``: {inventory host: dump_inventory result (or a failure)}.

    ``keep``/``apply`` are the retention settings the run used, ``removed`` the directories it removed,
    ``analyses`` the crash_analysis records by the host they ran on (attach_analyses); the raw crash
    outputs are returned in the document's ``raw_outputs`` for write_reports, never rendered.
    """
    places, dumps, planned = [], [], []
    for name in sorted(results):
        place, found = _place(name, results[name])
        places.append(place)
        dumps.extend(found)
        planned.extend((results[name] or {}).get("retention") or [] if place["status"] == "listed" else [])
    raws, unmatched = attach_analyses(dumps, analyses)
    for dump in dumps:
        dump["summary"] = summary_text(dump)
    if unmatched:
        raise InventoryInputError(
            "crash analyses of dumps the listing does not show: %s" % ", ".join(str(r.get("path")) for r in unmatched)
        )
    dumps.sort(key=lambda d: (-(d.get("crash_time") or 0), d["host"], d["dir"]))
    by_origin = {origin: sum(1 for d in dumps if d.get("origin") == origin) for origin in ORIGIN_LABELS}
    generated = (now or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "kind": REPORT_KIND,
        "version": REPORT_VERSION,
        "generated": generated,
        "summary": {
            "dumps": len(dumps),
            "hosts": len({d["host"] for d in dumps}),
            "real_crashes": by_origin[ORIGIN_CRASH],
            "crash_tests": by_origin[ORIGIN_CRASH_TEST],
            "unknown_origin": by_origin[ORIGIN_UNKNOWN],
            "incomplete": sum(1 for d in dumps if not d.get("complete")),
            "bytes": sum(int(d.get("size") or 0) for d in dumps),
            "places": len(places),
            "places_not_listed": sum(1 for p in places if p["status"] in ("failed", "unreachable")),
            "analysed": sum(1 for d in dumps if (d.get("first_look") or {}).get("status") == "analysed"),
            "not_analysed": sum(
                1 for d in dumps if (d.get("first_look") or {}).get("status") not in (None, "analysed")
            ),
        },
        "places": places,
        "dumps": dumps,
        "retention": {"keep": keep, "applied": bool(apply), "planned": planned, "removed": list(removed or [])},
        "raw_outputs": raws,
    }


def _document(inventory):
    """The inventory as the reports show it: the raw crash outputs are files of their own."""
    return {key: value for key, value in inventory.items() if key != "raw_outputs"}


def render_json(inventory):
    return json.dumps(_document(inventory), indent=2, sort_keys=True) + "\n"


def _count(number, singular, plural=None):
    return "%d %s" % (number, singular if number == 1 else (plural or singular + "s"))


def _totals(summary):
    """'3 dumps from 2 hosts (1 real crash, 2 crash tests, 0 of unknown origin, 0 incomplete)'."""
    return "%s from %s (%s, %s, %d of unknown origin, %d incomplete)" % (
        _count(summary["dumps"], "dump"),
        _count(summary["hosts"], "host"),
        _count(summary["real_crashes"], "real crash", "real crashes"),
        _count(summary["crash_tests"], "crash test"),
        summary["unknown_origin"],
        summary["incomplete"],
    )


def _when(epoch):
    if not epoch:
        return "unknown"
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _mib(size):
    return "%.1f MiB" % (int(size or 0) / 1048576.0)


def _retention_line(retention):
    planned = retention["planned"]
    if not retention["keep"]:
        return "Retention: not configured (kdump_dumps_keep is 0): no dump is removed."
    verb = "removed" if retention["applied"] else "would remove (dry run; kdump_dumps_retention_apply: true removes)"
    count = len(retention["removed"] if retention["applied"] else planned)
    return "Retention keeps the newest %d per host and never the newest complete one: %s %s." % (
        retention["keep"],
        verb,
        _count(count, "dump directory", "dump directories"),
    )


def render_markdown(inventory, max_messages=8):
    summary = inventory["summary"]
    lines = [
        "# kdump dump inventory",
        "",
        "Generated %s: %s, %s in all." % (inventory["generated"], _totals(summary), _mib(summary["bytes"])),
        "",
    ]
    missing = [p for p in inventory["places"] if p["status"] in ("failed", "unreachable")]
    if missing:
        named = "; ".join("%s (%s)" % (md_escape(p["host"]), md_escape(p["reason"])) for p in missing)
        lines += [
            "**Not listed:** " + named,
            "",
        ]
    lines += [md_escape(_retention_line(inventory["retention"])), ""]
    if not inventory["dumps"]:
        lines += ["No dumps found.", ""]
        return "\n".join(lines)
    lines += [
        "| crashed | host | kernel | origin | panic | size | stored on | dump |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for dump in inventory["dumps"]:
        lines.append(
            "| %s | %s | %s | %s | %s | %s | %s | %s |"
            % (
                _when(dump.get("crash_time")),
                md_escape(dump["host"]),
                md_escape(dump.get("kernel") or "unknown"),
                ORIGIN_LABELS.get(dump.get("origin"), "unknown") + ("" if dump.get("complete") else ", incomplete"),
                md_escape(dump.get("panic") or dump.get("first_error") or dump.get("log_problem") or "-"),
                _mib(dump.get("size")),
                md_escape(dump.get("stored_on")),
                md_escape(dump.get("path") or dump["dir"]),
            )
        )
    looked = [d for d in inventory["dumps"] if d.get("first_look")]
    if looked:
        lines += ["", "## First look with crash(8)", ""]
        for dump in looked:
            first_look = dump["first_look"]
            lines += [
                "### %s, %s (%s)"
                % (md_escape(dump["host"]), _when(dump.get("crash_time")), md_escape(first_look["status"])),
                "",
                md_escape(first_look.get("summary") or first_look.get("message") or "-"),
                "",
            ]
            if first_look.get("raw_file"):
                lines += ["crash(8) output: `%s`" % first_look["raw_file"].replace("`", "'"), ""]
    lines += ["", "## Last kernel messages", ""]
    for dump in inventory["dumps"]:
        lines += ["### %s, %s" % (md_escape(dump["host"]), _when(dump.get("crash_time"))), ""]
        messages = (dump.get("last_messages") or [])[-max_messages:]
        if messages:
            # Indented code block: no fence a log line could close.
            lines += ["    " + " ".join(str(m).split()) for m in messages]
        else:
            lines.append(md_escape(dump.get("log_problem") or "no kernel log read"))
        lines.append("")
    return "\n".join(lines)


def _e(value):
    return html.escape("" if value is None else str(value), quote=True)


_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 80rem; padding: 0 1rem; color: #1f2328; }
table { border-collapse: collapse; width: 100%; } th, td { border-bottom: 1px solid #d0d7de; padding: .3rem .5rem;
  text-align: left; vertical-align: top; } .num { text-align: right; } .muted { color: #57606a; }
.crash { color: #c62828; font-weight: 600; } .crash_test { color: #1a7f37; } .unknown { color: #b35900; }
pre { background: #f6f8fa; padding: .5rem; overflow-x: auto; font-size: 12px; } input { padding: .3rem; width: 20rem; }
tr.hidden, details.hidden { display: none; }
"""

_SCRIPT = """
(function () {
  "use strict";
  var box = document.getElementById("filter");
  box.addEventListener("input", function () {
    var words = box.value.toLowerCase().split(/\\s+/).filter(Boolean);
    document.querySelectorAll("[data-text]").forEach(function (node) {
      var text = node.getAttribute("data-text");
      var shown = words.every(function (w) { return text.indexOf(w) !== -1; });
      node.classList.toggle("hidden", !shown);
    });
  });
})();
"""


def _search_text(dump):
    fields = (dump["host"], dump.get("kernel"), dump.get("origin"), dump.get("panic"), dump.get("stored_on"))
    return " ".join(str(f) for f in fields if f).lower()


def _first_look_html(first_look):
    if not first_look:
        return ""
    raw = first_look.get("raw_file")
    link = ' <a href="%s">crash(8) output</a>' % _e(raw) if raw else ""
    return '<p class="first-look"><b>First look (%s):</b> %s%s</p>' % (
        _e(first_look.get("status")),
        _e(first_look.get("summary") or first_look.get("message") or "-"),
        link,
    )


def render_html(inventory):
    summary = inventory["summary"]
    csp = "default-src 'none'; style-src %s; script-src %s" % (csp_hash(_STYLE), csp_hash(_SCRIPT))
    rows, details = [], []
    for index, dump in enumerate(inventory["dumps"]):
        origin = dump.get("origin") or ORIGIN_UNKNOWN
        text = _e(_search_text(dump))
        rows.append(
            '<tr data-text="%s"><td>%s</td><td>%s</td><td>%s</td><td class="%s">%s</td><td>%s</td>'
            '<td class="num">%s</td><td>%s</td><td><a href="#dump-%d">%s</a></td></tr>'
            % (
                text,
                _e(_when(dump.get("crash_time"))),
                _e(dump["host"]),
                _e(dump.get("kernel") or "unknown"),
                _e(origin),
                _e(ORIGIN_LABELS.get(origin, "unknown") + ("" if dump.get("complete") else ", incomplete")),
                _e(dump.get("panic") or dump.get("first_error") or dump.get("log_problem") or "-"),
                _e(_mib(dump.get("size"))),
                _e(dump.get("stored_on")),
                index,
                _e(dump.get("path") or dump["dir"]),
            )
        )
        log = "\n".join(dump.get("last_messages") or []) or (dump.get("log_problem") or "no kernel log read")
        details.append(
            '<details id="dump-%d" data-text="%s"><summary>%s</summary><p class="muted">%s, %s, log: %s</p>'
            "%s<pre>%s</pre></details>"
            % (
                index,
                text,
                _e(dump["summary"]),
                _e(dump.get("format")),
                _e(dump.get("path") or dump["dir"]),
                _e(dump.get("log_path") or dump.get("log_source") or "none"),
                _first_look_html(dump.get("first_look")),
                _e(log),
            )
        )
    missing = [p for p in inventory["places"] if p["status"] in ("failed", "unreachable")]
    body = [
        "<h1>kdump dump inventory</h1>",
        '<p class="muted">Generated %s</p>' % _e(inventory["generated"]),
        "<p>%s, %s in all.</p>" % (_e(_totals(summary)), _e(_mib(summary["bytes"]))),
        ("<p><b>Not listed:</b> %s</p>" % _e("; ".join("%s (%s)" % (p["host"], p["reason"]) for p in missing)))
        if missing
        else "",
        "<p>%s</p>" % _e(_retention_line(inventory["retention"])),
        '<p><input id="filter" type="search" placeholder="Filter: host, kernel, origin, panic"></p>',
        "<table><thead><tr><th>crashed</th><th>host</th><th>kernel</th><th>origin</th><th>panic</th>"
        '<th class="num">size</th><th>stored on</th><th>dump</th></tr></thead><tbody>%s</tbody></table>'
        % "".join(rows),
        "<h2>Last kernel messages</h2>",
        "".join(details) or "<p>No dumps found.</p>",
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="%s">'
        "<title>kdump dump inventory</title><style>%s</style></head>"
        "<body>%s<script>%s</script></body></html>\n" % (_e(csp), _STYLE, "".join(body), _SCRIPT)
    )


RENDERERS = {"json": render_json, "markdown": render_markdown, "html": render_html}


def write_reports(inventory, directory, formats=FORMATS):
    """Write the chosen formats into ``directory`` (made 0700 when created here); returns {format: path}."""
    paths = write_report_files(inventory, directory, formats, RENDERERS, FILE_NAMES)
    for name, text in sorted((inventory.get("raw_outputs") or {}).items()):
        target = os.path.join(directory, name)
        os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
        part = target + ".part"
        with open(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(part, target)
    return paths
