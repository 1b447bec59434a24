"""The fleet dump inventory document and its JSON, Markdown and HTML reports."""

from __future__ import annotations

import datetime
import json
import re
import stat

import pytest
from ansible_collections.kdump.fleet.plugins.module_utils import _dump_inventory_report as report

NOW = datetime.datetime(2026, 12, 2, 23, 50, tzinfo=datetime.UTC)
PANIC = "Kernel panic - not syncing: sysrq triggered crash"


def _dump(host, when, origin="crash", stored_on=None, **extra):
    record = {
        "host": host,
        "stored_on": stored_on or host,
        "dir": f"/var/crash/{when}",
        "path": f"/var/crash/{when}/dump.{when}",
        "complete": True,
        "size": 44 << 20,
        "mtime": float(when),
        "format": "kdump-compressed",
        "crash_time": when,
        "crash_time_source": "vmcoreinfo",
        "kernel": "6.1.0-41-amd64",
        "origin": origin,
        "panic": PANIC,
        "first_error": None,
        "last_messages": ["[  216.3] " + PANIC],
        "log_path": f"/var/crash/{when}/dmesg.{when}",
        "log_source": "saved",
        "log_problem": None,
    }
    record.update(extra)
    return record


def _listed(*dumps, retention=()):
    return {"changed": False, "places": [{"path": "/var/crash", "layout": "host", "exists": True}],
            "dumps": list(dumps), "retention": list(retention), "errors": []}  # fmt: skip


def test_build_merges_hosts_newest_first_and_counts():
    results = {
        "web01": _listed(_dump("web01", 1796254000, "crash_test"), _dump("web01", 1796254800)),
        "dumps01": _listed(_dump("web02", 1796254500, stored_on="dumps01", complete=False, path=None)),
        "web03": {"unreachable": True, "msg": "Failed to connect to the host via ssh"},
        "web04": {"failed": True, "msg": "boom"},
        "web05": None,
        "web06": {"skipped": True, "skip_reason": "Conditional result was False"},
    }
    inventory = report.build(results, now=NOW)
    assert inventory["kind"] == "kdump.fleet dump inventory" and inventory["version"] == 1
    assert inventory["generated"] == "2026-12-02T23:50:00Z"
    assert [(d["host"], d["crash_time"]) for d in inventory["dumps"]] == [
        ("web01", 1796254800),
        ("web02", 1796254500),
        ("web01", 1796254000),
    ]
    assert inventory["summary"] == {
        "dumps": 3,
        "hosts": 2,
        "real_crashes": 2,
        "crash_tests": 1,
        "unknown_origin": 0,
        "incomplete": 1,
        "bytes": 3 * (44 << 20),
        "places": 6,
        "places_not_listed": 3,
    }
    status = {p["host"]: (p["status"], p["reason"]) for p in inventory["places"]}
    assert status["web03"] == ("unreachable", "Failed to connect to the host via ssh")
    assert status["web04"] == ("failed", "boom")
    assert status["web05"] == ("failed", "no listing: the host failed or was unreachable first")
    assert status["web06"][0] == "skipped"
    assert inventory["dumps"][0]["summary"].startswith("web01 (6.1.0-41-amd64) crashed 2026-12-02 ")


def test_a_result_that_is_not_a_listing_is_refused():
    with pytest.raises(report.InventoryInputError, match="web01: the result's dumps are not a dump_inventory list"):
        report.build({"web01": {"dumps": ["x"]}}, now=NOW)


def test_retention_line_says_dry_run_or_removed():
    planned = [{"host": "web01", "stored_on": "web01", "dir": "/var/crash/1", "reason": "older"}]
    dry = report.build({"web01": _listed(_dump("web01", 2), retention=planned)}, keep=1, now=NOW)
    assert "would remove (dry run; kdump_dumps_retention_apply: true removes) 1 dump directory" in (
        report.render_markdown(dry)
    )
    applied = report.build({"web01": _listed(_dump("web01", 2), retention=planned)}, keep=1, apply=True,
                           removed=planned, now=NOW)  # fmt: skip
    assert "removed 1 dump directory" in report.render_markdown(applied)
    off = report.build({"web01": _listed(_dump("web01", 2))}, now=NOW)
    assert "Retention: not configured (kdump_dumps_keep is 0): no dump is removed." in report.render_markdown(off)


HOSTILE = "<script>alert(1)</script> | [x](javascript:1) `code`\n# heading"


def test_host_strings_cannot_break_out_of_markdown_or_html():
    dump = _dump("web01", 1796254800, panic=HOSTILE, kernel="<b>k</b>", last_messages=["</pre><script>x</script>"])
    inventory = report.build({"web01": _listed(dump)}, now=NOW)
    markdown = report.render_markdown(inventory)
    prose = [line for line in markdown.splitlines() if not line.startswith("    ")]
    assert not any("<script>" in line or line.startswith("# heading") for line in prose)
    table_row = next(line for line in markdown.splitlines() if line.startswith("| 2026"))
    assert table_row.count(" | ") == 7  # the pipe in the panic text is escaped, the row keeps its 8 cells
    # log lines go into an indented code block, never a fence a line could close
    assert "    </pre><script>x</script>" in markdown
    page = report.render_html(inventory)
    body = page.split("<body>", 1)[1].rsplit("<script>", 1)[0]
    assert "<script>" not in body and "<b>k</b>" not in body
    assert "&lt;/pre&gt;&lt;script&gt;x&lt;/script&gt;" in body


def test_html_has_a_strict_content_security_policy_matching_its_own_script():
    page = report.render_html(report.build({"web01": _listed(_dump("web01", 1))}, now=NOW))
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert csp.startswith("default-src &#x27;none&#x27;; style-src &#x27;sha256-")
    assert 'id="filter"' in page


def test_json_is_the_document(tmp_path):
    inventory = report.build({"web01": _listed(_dump("web01", 1796254800))}, now=NOW)
    paths = report.write_reports(inventory, str(tmp_path / "out"))
    assert set(paths) == {"json", "markdown", "html"}
    assert json.loads((tmp_path / "out" / "kdump-dumps.json").read_text()) == inventory
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "out" / "kdump-dumps.html").stat().st_mode) == 0o600


def test_no_dumps_says_so():
    inventory = report.build({"web01": _listed()}, now=NOW)
    assert "No dumps found." in report.render_markdown(inventory)
    assert "No dumps found." in report.render_html(inventory)
