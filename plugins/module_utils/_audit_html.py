# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit's self-contained HTML report: one page, no network, usable at fleet size; private to the collection.

The host table is server-rendered; one host's detail is drawn on demand from an inert JSON block, with text
nodes only. The page's own script and style are allowed by their hashes in its Content-Security-Policy.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import urllib.parse

from ansible_collections.kdump.fleet.plugins.module_utils._audit_controls import RELATION_LABELS, source_text
from ansible_collections.kdump.fleet.plugins.module_utils._audit_exceptions import VARIABLE
from ansible_collections.kdump.fleet.plugins.module_utils._audit_text import (
    STATUS_LABELS,
    STATUS_RANK,
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
from ansible_collections.kdump.fleet.plugins.module_utils._readiness import FAIL, UNKNOWN, format_bytes

_STYLE = """
:root { --ready: #1a7f37; --degraded: #b35900; --not-ready: #c62828; --line: #d0d7de; --muted: #57606a; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 72rem;
  padding: 0 1rem; color: #1f2328; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid var(--line); padding-bottom: .3rem; }
.meta { color: var(--muted); margin-top: 0; }
.gate { display: inline-block; padding: .3rem .7rem; border-radius: 6px; font-weight: 600; color: #fff; }
.gate.passed { background: var(--ready); } .gate.failed { background: var(--not-ready); }
.summary { display: flex; flex-wrap: wrap; gap: 2rem; align-items: center; }
.counts { display: flex; gap: 1rem; }
.count { border: 1px solid var(--line); border-radius: 8px; padding: .6rem 1rem; min-width: 6rem; }
.count b { display: block; font-size: 1.8rem; }
.count.ready b { color: var(--ready); } .count.degraded b { color: var(--degraded); }
.count.not_ready b { color: var(--not-ready); }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: .35rem .5rem; text-align: left; vertical-align: top; }
th button { font: inherit; font-weight: 600; background: none; border: 0; padding: 0; cursor: pointer; color: inherit; }
th[aria-sort=ascending] button::after { content: " \\25B2"; }
th[aria-sort=descending] button::after { content: " \\25BC"; }
td.num, th.num { text-align: right; }
.badge { display: inline-block; border-radius: 999px; padding: 0 .6rem; color: #fff; font-size: .85rem;
  white-space: nowrap; }
.badge.ready, .badge.pass { background: var(--ready); } .badge.degraded { background: var(--degraded); }
.badge.not_ready, .badge.fail { background: var(--not-ready); }
.badge.unknown { background: #6e40c9; } .badge.not_applicable { background: #8c959f; }
.badge.excepted { background: #0969da; }
.controls, .exception { display: block; color: var(--muted); font-size: .85rem; }
.exception.expired { color: var(--not-ready); }
table.drift td:first-child, table.exceptions td:first-child, #check-table td:first-child { white-space: nowrap; }
#drift { margin-bottom: 1.5rem; }
.filters { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: .5rem 0; }
.filters input, .filters select { font: inherit; padding: .25rem .4rem; border: 1px solid var(--line);
  border-radius: 6px; }
.filters input { min-width: 18rem; }
#host-detail { border: 1px solid var(--line); border-radius: 8px; padding: .4rem .8rem; }
#host-detail h3 { margin: .3rem 0; }
#host-detail table { margin-top: .5rem; font-size: .92rem; }
#host-detail td:first-child { white-space: nowrap; }
details > summary { cursor: pointer; }
pre { background: #f6f8fa; padding: .6rem; overflow: auto; font-size: .8rem; }
.muted { color: var(--muted); }
"""

_SCRIPT = """
(function () {
  "use strict";
  var table = document.getElementById("host-table");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var texts = null;  // each row's text, lower case: made on the first text filter
  var data = null;  // the hosts' checks and facts: parsed when the first host is shown
  var filters = {
    q: document.getElementById("filter-text"),
    status: document.getElementById("filter-status"),
    check: document.getElementById("filter-check"),
    group: document.getElementById("filter-group")
  };
  var count = document.getElementById("filter-count");

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function badge(kind, label) { return el("span", "badge " + kind, label || kind.replace(/_/g, " ")); }

  // --- sorting: every key read once per sort, so 5,000 rows sort in milliseconds
  function sortValue(row, index, numeric) {
    var cell = row.cells[index];
    var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
    return numeric ? parseFloat(raw) : raw.toLowerCase();
  }

  function sortBy(button, descending) {
    var header = button.parentNode;
    var index = header.cellIndex;
    var numeric = header.getAttribute("data-type") === "number";
    var keyed = Array.prototype.map.call(body.rows, function (row, i) {
      return [sortValue(row, index, numeric), i, row];
    });
    keyed.sort(function (a, b) {
      var order = numeric ? a[0] - b[0] : a[0].localeCompare(b[0]);
      if (descending) { order = -order; }
      return order || a[1] - b[1];
    });
    var sorted = document.createDocumentFragment();
    keyed.forEach(function (item) { sorted.appendChild(item[2]); });
    body.appendChild(sorted);
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) { cell.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", descending ? "descending" : "ascending");
    table.setAttribute("data-sorted-by", button.getAttribute("data-key") + (descending ? ":desc" : ":asc"));
  }

  Array.prototype.forEach.call(table.querySelectorAll("thead button[data-key]"), function (button) {
    button.addEventListener("click", function () {
      sortBy(button, button.parentNode.getAttribute("aria-sort") === "ascending");
    });
  });

  // --- filtering: text, status, failing check, distribution and kernel, all at once
  function applyFilters() {
    var started = performance.now();
    var q = filters.q.value.trim().toLowerCase();
    var status = filters.status.value;
    var check = filters.check.value;
    var group = filters.group.value;
    if (q && texts === null) { texts = rows.map(function (row) { return row.textContent.toLowerCase(); }); }
    var shown = 0;
    rows.forEach(function (row, i) {
      var visible = (!status || row.getAttribute("data-status") === status) &&
        (!check || (" " + row.getAttribute("data-checks") + " ").indexOf(" " + check + " ") >= 0) &&
        (!group || row.getAttribute("data-group") === group) &&
        (!q || texts[i].indexOf(q) >= 0);
      row.hidden = !visible;
      shown += visible ? 1 : 0;
    });
    count.textContent = shown === rows.length ? rows.length + " hosts" : shown + " of " + rows.length + " hosts";
    table.setAttribute("data-shown", String(shown));
    table.setAttribute("data-filter-ms", (performance.now() - started).toFixed(1));
  }

  Object.keys(filters).forEach(function (name) {
    filters[name].addEventListener(name === "q" ? "input" : "change", applyFilters);
  });

  // --- one host's detail, built with text nodes only: no host string is ever parsed as markup
  function showHost(index) {
    var started = performance.now();
    if (data === null) { data = JSON.parse(document.getElementById("host-data").textContent); }
    if (typeof index !== "number" || index < 0 || index >= data.hosts.length) { return; }
    var host = data.hosts[index];
    var panel = document.getElementById("host-detail");
    panel.textContent = "";
    var heading = el("h3", null, host.host + " ");
    heading.appendChild(badge(host.status, data.status_labels[host.status]));
    panel.appendChild(heading);
    if (host.error) { panel.appendChild(el("p", "muted", host.error)); }
    var checks = el("table", "checks");
    var head = checks.createTHead().insertRow();
    ["ID", "Check", "Severity", "Result", "Finding", "Remediation"].forEach(function (label) {
      head.appendChild(el("th", null, label));
    });
    var rowsBody = checks.createTBody();
    host.checks.forEach(function (check) {
      var entry = data.catalogue[check[0]] || [check[0], "", ""];
      var row = rowsBody.insertRow();
      row.setAttribute("data-check", check[0]);
      row.setAttribute("data-result", check[1]);
      row.appendChild(el("td", null, check[0]));
      var title = el("td", null, entry[0]);
      if (check[3]) { title.appendChild(el("span", "controls", check[3])); }
      row.appendChild(title);
      row.appendChild(el("td", null, entry[1]));
      var result = el("td");
      result.appendChild(badge(check[1]));
      row.appendChild(result);
      var finding = el("td", null, check[2]);
      if (check[4]) { finding.appendChild(el("span", "exception " + check[4], check[5])); }
      row.appendChild(finding);
      row.appendChild(el("td", null, entry[2]));
    });
    panel.appendChild(checks);
    var facts = el("details");
    facts.appendChild(el("summary", null, "kdump_info facts"));
    facts.appendChild(el("pre", null, JSON.stringify(host.facts, null, 2)));
    panel.appendChild(facts);
    panel.setAttribute("data-host", host.host);
    table.setAttribute("data-detail-ms", (performance.now() - started).toFixed(1));
    panel.scrollIntoView();
  }

  // --- shareable links: "#sort=-reserved", "#check=KDUMP-003&status=not_ready", "#group=...", "#q=web",
  // "#host-12". A link with any filter sets all four (the rest cleared); one without leaves them alone.
  function fromHash() {
    var wanted = {};
    window.location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      var pair = /^([a-z]+)=(.*)$/.exec(part);
      if (pair && pair[1] !== "host") {
        try { wanted[pair[1]] = decodeURIComponent(pair[2]); } catch (error) { wanted[pair[1]] = ""; }
      } else if (/^host-[0-9]+$/.test(part)) {
        wanted.host = parseInt(part.slice(5), 10);
      }
    });
    if (wanted.sort) {
      var sort = /^(-?)([a-z_]+)$/.exec(wanted.sort);
      var button = sort && table.querySelector('thead button[data-key="' + sort[2] + '"]');
      if (button) { sortBy(button, sort[1] === "-"); }
    }
    if (Object.keys(filters).some(function (name) { return name in wanted; })) {
      Object.keys(filters).forEach(function (name) { filters[name].value = wanted[name] || ""; });
      applyFilters();
    }
    if (wanted.host !== undefined) { showHost(wanted.host); }
  }

  window.addEventListener("hashchange", fromHash);
  fromHash();
  // How long the page took to be usable (read by make bench).
  table.setAttribute("data-ready-ms", performance.now().toFixed(1));
})();
"""

# key, label, numeric
_COLUMNS = (
    ("host", "Host", False),
    ("status", "Status", True),
    ("required_failed", "Required failed", True),
    ("advisory_failed", "Advisory failed", True),
    ("unknown", "Unknown", True),
    ("distribution", "Distribution", False),
    ("kernel", "Kernel", False),
    ("reserved", "Reserved", True),
    ("reason", "First reason", False),
)


def csp_hash(text):
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _e(value):
    return html.escape("" if value is None else str(value), quote=True)


def _badge(kind, label=None):
    return '<span class="badge %s">%s</span>' % (_e(kind), _e(label or kind.replace("_", " ")))


def _chart(summary):
    """Inline SVG bar chart of ready / degraded / not ready."""
    total = summary["total"] or 1
    bar_x, bar_max, row = 96, 320, 34
    labels = {
        status: "%d (%s)" % (summary[status], percent(summary[status], summary["total"]))
        for status in (READY, DEGRADED, NOT_READY)
    }
    # Room for the longest label at a generous 9 px a character: "not ready 5000 (100.0 %)" lost its
    # closing parenthesis to a fixed width.
    width = bar_x + bar_max + 10 + 9 * max(len(label) for label in labels.values()) + 8
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" width="%d" height="%d" viewBox="0 0 %d %d" '
        'aria-labelledby="chart-title">' % (width, row * 3 + 6, width, row * 3 + 6),
        '<title id="chart-title">Fleet readiness: %d ready, %d degraded, %d not ready</title>'
        % (summary[READY], summary[DEGRADED], summary[NOT_READY]),
    ]
    colours = {READY: "#1a7f37", DEGRADED: "#b35900", NOT_READY: "#c62828"}
    for i, status in enumerate((READY, DEGRADED, NOT_READY)):
        y = i * row + 4
        length = round(bar_max * summary[status] / total, 1)
        parts.append(
            '<text x="0" y="%d" font-size="14" dominant-baseline="middle">%s</text>' % (y + 12, STATUS_LABELS[status])
        )
        parts.append('<rect x="%d" y="%d" width="%d" height="24" rx="4" fill="#eaeef2"/>' % (bar_x, y, bar_max))
        parts.append(
            '<rect class="bar-%s" x="%d" y="%d" width="%s" height="24" rx="4" fill="%s"/>'
            % (status, bar_x, y, length, colours[status])
        )
        parts.append(
            '<text class="label-%s" x="%d" y="%d" font-size="14" dominant-baseline="middle">%s</text>'
            % (status, bar_x + bar_max + 10, y + 12, labels[status])
        )
    parts.append("</svg>")
    return "".join(parts)


def _host_group(host):
    """'debian 12 / 6.1.0-28-amd64': the distribution and kernel a host is grouped under."""
    facts = host["facts"] or {}
    distribution = facts.get("distribution") if isinstance(facts.get("distribution"), dict) else {}
    dist_text = " ".join(str(distribution.get(k) or "") for k in ("id", "version")).strip()
    return dist_text or "-", str(facts.get("kernel") or "-")


def _failing_check_ids(host):
    return [c["id"] for c in host["checks"] if c["result"] in (FAIL, UNKNOWN)]


def _host_row(index, host):
    facts = host["facts"] or {}
    checks = host["checks"]
    dist_text, kernel = _host_group(host)
    reserved = (facts.get("crashkernel") or {}).get("reserved_bytes")
    reserved_known = reserved is not None
    values = {
        "required_failed": sum(1 for c in checks if c["result"] == FAIL and c["severity"] == "required"),
        "advisory_failed": sum(1 for c in checks if c["result"] == FAIL and c["severity"] == "advisory"),
        "unknown": sum(1 for c in checks if c["result"] == UNKNOWN),
    }
    cells = [
        '<td data-sort="%s"><a href="#host-%d">%s</a></td>' % (_e(host["host"]), index, _e(host["host"])),
        '<td data-sort="%d">%s</td>'
        % (STATUS_RANK[host["status"]], _badge(host["status"], STATUS_LABELS[host["status"]])),
        '<td class="num">%d</td>' % values["required_failed"],
        '<td class="num">%d</td>' % values["advisory_failed"],
        '<td class="num">%d</td>' % values["unknown"],
        "<td>%s</td>" % _e(dist_text),
        "<td>%s</td>" % _e(kernel),
        '<td class="num" data-sort="%d">%s</td>'
        % (reserved if reserved_known else -1, _e(format_bytes(reserved) if reserved_known else "-")),
        "<td>%s</td>" % _e(host["reasons"][0] if host["reasons"] else ""),
    ]
    return '<tr data-host="%s" data-status="%s" data-checks="%s" data-group="%s">%s</tr>' % (
        _e(host["host"]),
        _e(host["status"]),
        _e(" ".join(_failing_check_ids(host))),
        _e("%s / %s" % (dist_text, kernel)),
        "".join(cells),
    )


def _host_data(host):
    """What the page's script needs to show one host's checks: the host's own strings, nothing shared.

    checks: [id, result, finding, controls text, exception state, exception text]; titles, severities and
    remediations are the catalogue's, sent once.
    """
    checks = []
    for check in host["checks"]:
        exception = check.get("exception") or {}
        shown = exception.get("state") in ("excepted", "expired")
        checks.append(
            [
                check["id"],
                check["result"],
                check["finding"],
                controls_text(check.get("controls"), distribution(host)),
                exception["state"] if shown else "",
                exception_text(exception) if shown else "",
            ]
        )
    return {
        "host": host["host"],
        "status": host["status"],
        "error": host["error"],
        "checks": checks,
        "facts": host["facts"],
    }


def _finite(value):
    """value with NaN and infinities as None: the browser's JSON.parse takes neither."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def _script_json(value):
    """JSON that stays inert inside <script type="application/json">: no "</script>", "<!--" or "&"."""
    text = json.dumps(_finite(value), ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _html_check_counts(fleet):
    """Counts per failing check, each a link that filters the host table to the hosts failing it."""
    catalogue = {entry["id"]: entry for entry in fleet["catalogue"]}
    rows = []
    for check_id, counts in fleet["summary"]["checks"].items():
        entry = catalogue[check_id]
        rows.append(
            '<tr data-check="%s"><td><a href="#check=%s">%s</a></td><td>%s</td><td>%s</td><td class="num">%d</td>'
            '<td class="num">%d</td><td>%s</td></tr>'
            % (
                _e(check_id),
                _e(check_id),
                _e(check_id),
                _e(entry["title"]),
                _e(entry["severity"]),
                counts[FAIL],
                counts[UNKNOWN],
                _e(entry["remediation"]),
            )
        )
    if not rows:
        return ""
    return (
        '<h2>Failing checks</h2><table id="check-table"><thead><tr><th>Check</th><th>Title</th><th>Severity</th>'
        '<th class="num">Failed</th><th class="num">Unknown</th><th>Fix</th></tr></thead><tbody>%s</tbody></table>'
        % "".join(rows)
    )


def _groups(hosts):
    """(distribution, kernel) -> host count per status, the groups with most hosts not ready first."""
    groups = {}
    for host in hosts:
        counts = groups.setdefault(_host_group(host), {READY: 0, DEGRADED: 0, NOT_READY: 0})
        counts[host["status"]] += 1
    return sorted(groups.items(), key=lambda item: (-item[1][NOT_READY], -item[1][DEGRADED], item[0]))


def _html_groups(groups):
    rows = []
    for (dist_text, kernel), counts in groups:
        key = "%s / %s" % (dist_text, kernel)
        rows.append(
            '<tr data-group="%s"><td><a href="#group=%s">%s</a></td><td>%s</td><td class="num">%d</td>'
            '<td class="num">%d</td><td class="num">%d</td><td class="num">%d</td></tr>'
            % (
                _e(key),
                _e(urllib.parse.quote(key, safe="")),
                _e(dist_text),
                _e(kernel),
                sum(counts.values()),
                counts[READY],
                counts[DEGRADED],
                counts[NOT_READY],
            )
        )
    return (
        '<h2>By distribution and kernel</h2><table id="group-table"><thead><tr><th>Distribution</th><th>Kernel</th>'
        '<th class="num">Hosts</th><th class="num">Ready</th><th class="num">Degraded</th>'
        '<th class="num">Not ready</th></tr></thead><tbody>%s</tbody></table>' % "".join(rows)
    )


def _html_filters(fleet, groups):
    """The filter box above the host table; the script applies it (and the #check=, #group=, #status=, #q= links)."""
    catalogue = {entry["id"]: entry for entry in fleet["catalogue"]}

    def options(pairs):
        return "".join('<option value="%s">%s</option>' % (_e(value), _e(label)) for value, label in pairs)

    statuses = [("", "any status")] + [(status, STATUS_LABELS[status]) for status in (NOT_READY, DEGRADED, READY)]
    checks = [("", "any check")] + [
        (check_id, "%s %s (%d)" % (check_id, catalogue[check_id]["title"], counts[FAIL] + counts[UNKNOWN]))
        for check_id, counts in fleet["summary"]["checks"].items()
    ]
    group_options = [("", "any distribution and kernel")] + [
        ("%s / %s" % key, "%s / %s (%d)" % (key[0], key[1], sum(counts.values()))) for key, counts in groups
    ]
    return (
        '<div class="filters" id="filters">'
        '<input type="search" id="filter-text" placeholder="Filter: host, kernel, distribution, reason" '
        'aria-label="Filter hosts by text">'
        '<select id="filter-status" aria-label="Status">%s</select>'
        '<select id="filter-check" aria-label="Failing check">%s</select>'
        '<select id="filter-group" aria-label="Distribution and kernel">%s</select>'
        '<span id="filter-count" class="muted">%d hosts</span></div>'
        % (options(statuses), options(checks), options(group_options), len(fleet["hosts"]))
    )


def _html_drift(drift):
    """The comparison with the previous report: one line of counts and a table of every change."""
    intro = '<p id="drift-summary">%s %s.</p>' % (
        "Compared with" if drift["changed"] else "No change since",
        _e(drift_source(drift)) + (": " + _e(drift_counts(drift)) if drift["changed"] else ""),
    )
    rows = []

    def row(kind, host, before, after, detail=""):
        rows.append(
            '<tr data-change="%s"><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>'
            % (_e(kind), _e(kind.replace("_", " ")), _e(host), before, after, _e(detail))
        )

    def status(value):
        return _badge(value, status_label(value))

    # A fixed host has no reasons left to show.
    transitions = (
        ("newly_not_ready", drift["newly_not_ready"], True),
        ("fixed", drift["fixed"], False),
        ("status_changed", other_status_changes(drift), True),
    )
    for kind, changes, with_reasons in transitions:
        for change in changes:
            detail = "; ".join(change["reasons"]) if with_reasons else ""
            row(kind, change["host"], status(change["before"]), status(change["after"]), detail)
    for change in drift["appeared"]:
        row("appeared", change["host"], "-", status(change["status"]))
    for change in drift["disappeared"]:
        row("disappeared", change["host"], status(change["status"]), "-")
    for change in drift["checks_changed"]:
        row(
            "check_changed",
            change["host"],
            _badge(change["before"]),
            _badge(change["after"]),
            "%s %s: %s" % (change["check"], change["title"], change["finding"]),
        )
    table = (
        '<table class="drift" id="drift-table"><thead><tr><th>Change</th><th>Host</th><th>Before</th><th>After</th>'
        "<th>Detail</th></tr></thead><tbody>%s</tbody></table>" % "".join(rows)
        if rows
        else ""
    )
    return '<section id="drift"><h2>Since the previous audit</h2>%s%s</section>' % (intro, table)


def _html_exceptions(exceptions):
    rows = []
    for exception in exceptions:
        state = "expired" if exception["expired"] else "valid"
        rows.append(
            '<tr data-exception="%d" data-state="%s"><td>%s[%d]</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>'
            "<td>%s%s</td><td>%s</td><td>%s</td><td>%s</td></tr>"
            % (
                exception["index"],
                state,
                _e(VARIABLE),
                exception["index"],
                _e(exception["check"]),
                _e(hosts_pattern(exception["hosts"])),
                _e(exception["reason"]),
                _e(exception["approved_by"]),
                _e(exception["expires"]),
                " (expired)" if exception["expired"] else "",
                _e(", ".join(exception["excepted_hosts"]) or "-"),
                _e(", ".join(exception["expired_hosts"]) or "-"),
                _e(", ".join(exception["unused_hosts"]) or "-"),
            )
        )
    return (
        '<h2>Exceptions</h2><table class="exceptions" id="exception-table"><thead><tr><th>Exception</th><th>Check</th>'
        "<th>Hosts</th><th>Reason</th><th>Approved by</th><th>Valid through</th><th>Excepted on</th>"
        "<th>Expired, failing on</th><th>Not needed on</th></tr></thead><tbody>%s</tbody></table>" % "".join(rows)
    )


def _html_controls(catalogue):
    rows = []
    for entry in catalogue:
        for control in entry.get("controls") or []:
            stig = "; ".join(
                "%s (%s, %s)" % (item["id"], item["product"], source_text(item["source"]))
                for item in control.get("stig") or []
            )
            rows.append(
                '<tr data-check="%s"><td>%s %s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>'
                % (
                    _e(entry["id"]),
                    _e(entry["id"]),
                    _e(entry["title"]),
                    _e(RELATION_LABELS.get(control["relation"], control["relation"])),
                    _e(control["id"]),
                    _e(control.get("note") or ""),
                    _e(stig or "-"),
                    _e(source_text(control["source"])),
                )
            )
    if not rows:
        return ""
    return (
        '<h2>Controls</h2><p class="muted">The compliance controls each check evidences or conflicts with: '
        "ComplianceAsCode rules and the DISA STIG IDs that select them, each with the file it was read in.</p>"
        '<table id="controls-table"><thead><tr><th>Check</th><th>Relation</th><th>Rule</th><th>Why</th>'
        "<th>DISA STIG IDs</th><th>Source</th></tr></thead><tbody>%s</tbody></table>" % "".join(rows)
    )


def render_html(fleet):
    """A single self-contained page: the gate, what changed since the previous audit, summary, SVG chart,
    exceptions, counts per failing check and per distribution and kernel, the filterable and sortable host
    table, one host's detail at a time (each check's controls and exception), the controls table.

    Every host-provided string is HTML-escaped, and a Content-Security-Policy lets only this page's own
    script and style run, so even a missed escape could not load or execute anything.
    """
    summary = fleet["summary"]
    hosts = sorted_hosts(fleet)
    csp = "default-src 'none'; style-src %s; script-src %s; img-src data:" % (csp_hash(_STYLE), csp_hash(_SCRIPT))
    headers = "".join(
        '<th%s data-type="%s"%s><button type="button" data-key="%s">%s</button></th>'
        % (
            ' class="num"' if numeric and key not in ("status",) else "",
            "number" if numeric else "text",
            ' aria-sort="ascending"' if key == "status" else "",
            key,
            label,
        )
        for key, label, numeric in _COLUMNS
    )
    gate_class = "passed" if summary["gate_passed"] else "failed"
    counts = "".join(
        '<div class="count %s"><b>%d</b>%s</div>' % (status, summary[status], STATUS_LABELS[status])
        for status in (READY, DEGRADED, NOT_READY)
    )
    groups = _groups(hosts)
    data = {
        "hosts": [_host_data(h) for h in hosts],
        "catalogue": {e["id"]: [e["title"], e["severity"], e["remediation"]] for e in fleet["catalogue"]},
        "status_labels": STATUS_LABELS,
    }
    body = [
        "<h1>kdump readiness audit</h1>",
        '<p class="meta">Generated %s &middot; %d hosts</p>' % (_e(fleet["generated"]), summary["total"]),
        '<p class="gate %s" id="gate">%s</p>' % (gate_class, _e(gate_message(summary))),
        _html_drift(fleet["drift"]) if fleet.get("drift") else "",
        '<section class="summary"><div class="counts" id="counts">%s</div>%s</section>' % (counts, _chart(summary)),
        _html_exceptions(fleet["exceptions"]) if fleet.get("exceptions") else "",
        _html_check_counts(fleet),
        _html_groups(groups),
        "<h2>Hosts</h2>",
        '<p class="muted">Click a column header to sort, a host to see its checks.</p>',
        _html_filters(fleet, groups),
        '<table id="host-table" data-sorted-by="status:asc"><thead><tr>%s</tr></thead><tbody>%s</tbody></table>'
        % (headers, "".join(_host_row(i, h) for i, h in enumerate(hosts))),
        "<h2>Host details</h2>",
        # One host at a time, drawn by the script from the data below: a page of 5,000 hosts stays small
        # enough to open quickly, where every host's table in the page took a browser most of a minute.
        '<section id="host-detail"><p class="muted">Click a host name in the table to see its checks, findings '
        "and kdump_info facts here.</p></section>",
        "<noscript><p>Host details need JavaScript; the JSON and Markdown reports hold them.</p></noscript>",
        _html_controls(fleet["catalogue"]),
        '<script type="application/json" id="host-data">%s</script>' % _script_json(data),
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="%s">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>kdump readiness audit</title><style>%s</style></head>"
        "<body>%s<script>%s</script></body></html>\n" % (_e(csp), _STYLE, "".join(body), _SCRIPT)
    )
