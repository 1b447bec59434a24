"""The fleet dump inventory document and its JSON, Markdown and HTML reports."""

from __future__ import annotations

import datetime
import json
import re
import stat

import pytest
from ansible_collections.kdump.fleet.plugins.module_utils import _crash_analysis as crash
from ansible_collections.kdump.fleet.plugins.module_utils import _dump_inventory_report as report
from conftest import load_fixture

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
        "analysed": 0,
        "not_analysed": 0,
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
    document = {key: value for key, value in inventory.items() if key != "raw_outputs"}
    assert json.loads((tmp_path / "out" / "kdump-dumps.json").read_text()) == document
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "out" / "kdump-dumps.html").stat().st_mode) == 0o600


def test_no_dumps_says_so():
    inventory = report.build({"web01": _listed()}, now=NOW)
    assert "No dumps found." in report.render_markdown(inventory)
    assert "No dumps found." in report.render_html(inventory)


def _first_look(path, **extra):
    """A crash_analysis record made from crash's real outputs of a lab dump (fixtures/crash)."""
    outputs = {
        key: load_fixture("crash", f"debian12-6.1.0-50-sysrq/{key}.txt")
        for key in ("sys", "bt", "log", "tainted_modules")
    }
    record = {"path": path, "status": "analysed", "message": None, "kernel": "6.1.0-50-amd64", "build_id": "06f8"}
    record.update(symbols={"path": "/var/cache/kdump-fleet/symbols/vmlinux-6.1.0-50-amd64", "source": "fetched"})
    record.update(analysis=crash.analysis(outputs, 5), raw="## sys\n" + outputs["sys"], seconds=8.1)
    record["summary"] = crash.summary(record)
    record.update(extra)
    return record


def test_a_first_look_joins_its_dump_and_its_raw_output_is_a_file_of_its_own(tmp_path):
    copied = _dump("web01", 1796254800, origin="unknown", panic=None, last_messages=[], log_path=None)
    copied["log_problem"] = "no kernel log was saved and the dump is flattened"
    other = _dump("web02", 1796254500)
    inventory = report.build(
        {"web01": _listed(copied), "web02": _listed(other)},
        now=NOW,
        analyses={"web01": [_first_look(copied["path"])]},
    )
    analysed = next(d for d in inventory["dumps"] if d["host"] == "web01")
    first_look = analysed["first_look"]
    assert first_look["status"] == "analysed" and first_look["culprit"] == "sysrq_handle_crash"
    assert first_look["symbols"] == {
        "source": "fetched",
        "path": "/var/cache/kdump-fleet/symbols/vmlinux-6.1.0-50-amd64",
    }
    assert re.fullmatch(r"crash/web01/web01/1796254800-[0-9a-f]{10}\.txt", first_look["raw_file"])
    # What crash read out of the dump fills what the copy lacked: the panic, the log, the origin.
    assert analysed["panic"] == PANIC and analysed["origin"] == "crash_test" and analysed["log_source"] == "crash"
    assert analysed["summary"].endswith(PANIC)
    assert "first_look" not in next(d for d in inventory["dumps"] if d["host"] == "web02")
    assert (inventory["summary"]["analysed"], inventory["summary"]["not_analysed"]) == (1, 0)

    report.write_reports(inventory, str(tmp_path / "out"))
    raw = tmp_path / "out" / first_look["raw_file"]
    assert raw.read_text().startswith("## sys\n      KERNEL:") and stat.S_IMODE(raw.stat().st_mode) == 0o600
    document = json.loads((tmp_path / "out" / "kdump-dumps.json").read_text())
    assert "raw_outputs" not in document and document["dumps"][0]["first_look"]["raw_file"] == first_look["raw_file"]
    markdown = (tmp_path / "out" / "kdump-dumps.md").read_text()
    assert "## First look with crash(8)" in markdown and "The backtrace points at sysrq_handle_crash" in markdown
    page = (tmp_path / "out" / "kdump-dumps.html").read_text()
    assert f'<a href="{first_look["raw_file"]}">crash(8) output</a>' in page


def test_a_first_look_names_what_stopped_it_and_host_names_cannot_climb_out_of_the_report(tmp_path):
    dump = _dump("../../etc", 1796254800, stored_on="srv/../..")
    record = _first_look(dump["path"], status="timed_out", message="crash(8) did not finish within 1 s", analysis=None)
    record["summary"] = record["message"]
    inventory = report.build({"srv/../..": _listed(dump)}, now=NOW, analyses={"srv/../..": [record]})
    first_look = inventory["dumps"][0]["first_look"]
    assert first_look["status"] == "timed_out" and first_look["summary"] == "crash(8) did not finish within 1 s"
    assert re.fullmatch(r"crash/srv_\.\._\.\./__\.\._etc/1796254800-[0-9a-f]{10}\.txt", first_look["raw_file"])
    assert (inventory["summary"]["analysed"], inventory["summary"]["not_analysed"]) == (0, 1)
    report.write_reports(inventory, str(tmp_path / "out"))
    assert [p.relative_to(tmp_path) for p in (tmp_path / "out" / "crash").rglob("*.txt")] == [
        (tmp_path / "out" / first_look["raw_file"]).relative_to(tmp_path)
    ]


def test_a_first_look_of_a_dump_the_listing_does_not_show_is_refused():
    with pytest.raises(report.InventoryInputError, match="crash analyses of dumps the listing does not show: /x"):
        report.build({"web01": _listed(_dump("web01", 1))}, now=NOW, analyses={"web01": [_first_look("/x")]})


def test_two_servers_with_the_same_client_and_directory_get_two_raw_files():
    one = _dump("web01", 1796254800, stored_on="dumps01")
    two = _dump("web01", 1796254800, stored_on="dumps02")
    inventory = report.build(
        {"dumps01": _listed(one), "dumps02": _listed(two)},
        now=NOW,
        analyses={"dumps01": [_first_look(one["path"])], "dumps02": [_first_look(two["path"])]},
    )
    assert len(inventory["raw_outputs"]) == 2
    assert len({d["first_look"]["raw_file"] for d in inventory["dumps"]}) == 2
