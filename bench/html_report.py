"""Does the audit's HTML report stay usable at fleet size? Measure it in headless chromium.

For each fleet size (default 1,000 and 5,000 hosts) it evaluates a simulated fleet - the healthy
Debian 12 host of the unit tests, varied into five distributions, six kernels and a mix of ready,
degraded and not ready hosts - writes the four reports, and opens the HTML one in Debian's chromium:

- ``write_s`` per format and the report sizes;
- ``ready_ms``: from navigation to the page's script having set up the table (the page records it
  in ``data-ready-ms``; every host row is parsed by then);
- ``filter_ms``: one filter over every row (``#check=KDUMP-007&status=not_ready``);
- ``detail_ms``: the first host's detail drawn, which parses the embedded host data;
- ``browser_s``: chromium's whole ``--dump-dom`` run less a blank page's, for scale.

Prints a table and writes ``.tmp/bench/html_report-<UTC stamp>.json``. No figure is asserted:
the issue's target (report writing for 1,000 hosts under 5 s) is printed as a ratio.

    python bench/run.py html                   # 1000 and 5000 hosts
    python bench/run.py html --hosts 200 --hosts 20000
"""

from __future__ import annotations

import argparse
import copy
import datetime
import html.parser
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ansible_collections.kdump.fleet.plugins.module_utils import _audit_reports
from ansible_collections.kdump.fleet.plugins.module_utils._fleet_audit import evaluate_fleet

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / ".tmp" / "bench"
UNIT_TESTS = REPO / "tests" / "unit"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
DISTRIBUTIONS = [("debian", "12"), ("debian", "13"), ("ubuntu", "24.04"), ("ubuntu", "22.04"), ("rhel", "9.4")]
KERNELS = ["6.1.0-28-amd64", "6.1.0-31-amd64", "6.12.9-amd64", "6.8.0-51-generic", "5.15.0-130-generic"]
KERNELS += ["5.14.0-427.13.1.el9_4.x86_64"]
WRITE_TARGET_HOSTS, WRITE_TARGET_S = 1000, 5.0  # the target for writing the reports
FILTER_FRAGMENT = "#check=KDUMP-007&status=not_ready"
MIB = 1024**2


def _ready_info():
    """The healthy host of the unit tests (tests/unit/plugins/module_utils/test_audit.py)."""
    sys.path.insert(0, str(UNIT_TESTS))  # test_audit imports its conftest helpers
    spec = importlib.util.spec_from_file_location(
        "kdump_fleet_bench_test_audit", UNIT_TESTS / "plugins" / "module_utils" / "test_audit.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ready_info()


def simulated_results(count, base):
    """count kdump_info results: 70 % ready, 20 % degraded (no crash test), 10 % not ready (nothing loaded)."""
    results = {}
    for i in range(count):
        info = copy.deepcopy(base)
        distro_id, version = DISTRIBUTIONS[i % len(DISTRIBUTIONS)]
        info["distribution"] = {"id": distro_id, "version": version, "codename": None}
        info["kernel"] = KERNELS[(i // 7) % len(KERNELS)]
        share = i % 10
        if share in (7, 8):
            info["crash_test"] = None
        elif share == 9:
            info["crashkernel"]["loaded"] = False
            info["crashkernel"]["reserved_bytes"] = 128 * MIB
        results[f"node{i:05d}.dc{i % 3}.example.com"] = {"changed": False, "kdump": info}
    return results


def write_reports_timed(fleet, directory):
    figures = {}
    for fmt in _audit_reports.FORMATS:
        started = time.perf_counter()
        paths = _audit_reports.write_reports(fleet, str(directory), formats=[fmt])
        figures[fmt] = {
            "write_s": round(time.perf_counter() - started, 3),
            "bytes": Path(paths[fmt]).stat().st_size,
            "path": paths[fmt],
        }
    return figures


class _Attributes(html.parser.HTMLParser):
    """The attributes of the dumped DOM's host table and host detail section."""

    def __init__(self):
        super().__init__()
        self.table = {}
        self.detail = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id") == "host-table":
            self.table = attrs
        elif tag == "section" and attrs.get("id") == "host-detail":
            self.detail = attrs


def dump_dom(chromium, url, profile_root):
    profile = tempfile.mkdtemp(dir=profile_root)
    started = time.perf_counter()
    done = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    elapsed = time.perf_counter() - started
    page = _Attributes()
    page.feed(done.stdout)
    return elapsed, page


def browse(chromium, report, profile_root, blank_s):
    url = Path(report).as_uri()
    load_s, page = dump_dom(chromium, url, profile_root)
    _filter_s, filtered = dump_dom(chromium, url + FILTER_FRAGMENT, profile_root)
    _detail_s, detailed = dump_dom(chromium, url + "#host-0", profile_root)
    return {
        "browser_s": round(load_s - blank_s, 2),
        "ready_ms": float(page.table.get("data-ready-ms", "nan")),
        "filter_ms": float(filtered.table.get("data-filter-ms", "nan")),
        "filter_shown": int(filtered.table.get("data-shown", "-1")),
        "detail_ms": float(detailed.table.get("data-detail-ms", "nan")),
        "detail_host": detailed.detail.get("data-host"),
    }


def measure(count, base, chromium, work, blank_s):
    results = simulated_results(count, base)
    started = time.perf_counter()
    fleet = evaluate_fleet(results, hosts=list(results))
    evaluate_s = time.perf_counter() - started
    directory = work / f"fleet-{count}"
    reports = write_reports_timed(fleet, directory)
    figures = {"hosts": count, "evaluate_s": round(evaluate_s, 2), "reports": reports, "summary": fleet["summary"]}
    if chromium:
        figures["browser"] = browse(chromium, reports["html"]["path"], work, blank_s)
    return figures


def render_table(runs):
    columns = ("hosts", "evaluate", "write", "html MiB", "json MiB", "ready ms", "filter ms", "detail ms", "browser s")
    lines = [" ".join(f"{name:>10}" for name in columns)]
    for run in runs:
        reports = run["reports"]
        write_s = sum(r["write_s"] for r in reports.values())
        browser = run.get("browser") or {}
        cells = (
            run["hosts"],
            f"{run['evaluate_s']:.2f}s",
            f"{write_s:.2f}s",
            f"{reports['html']['bytes'] / MIB:.1f}",
            f"{reports['json']['bytes'] / MIB:.1f}",
            browser.get("ready_ms", "-"),
            browser.get("filter_ms", "-"),
            browser.get("detail_ms", "-"),
            browser.get("browser_s", "-"),
        )
        lines.append(" ".join(f"{cell:>10}" for cell in cells))
    return "\n".join(lines)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="bench/run.py html", description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, action="append", help="fleet size (repeat; default 1000 and 5000)")
    args = parser.parse_args(argv)
    args.hosts = args.hosts or [1000, 5000]
    return args


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    chromium = shutil.which("chromium")
    if chromium is None:
        print("chromium is not installed (apt-get install -y chromium): only the writing is measured")
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    base = _ready_info()
    with tempfile.TemporaryDirectory(prefix="kdump-fleet-html-bench-") as tmp:
        work = Path(tmp)
        blank_s = 0.0
        if chromium:
            blank = work / "blank.html"
            blank.write_text("<!DOCTYPE html><title>blank</title>")
            blank_s, _page = dump_dom(chromium, blank.as_uri(), work)
        runs = [measure(count, base, chromium, work, blank_s) for count in args.hosts]
    for run in runs:
        for report in run["reports"].values():
            report.pop("path")
    out = OUT_DIR / f"html_report-{stamp}.json"
    out.write_text(json.dumps({"blank_page_s": round(blank_s, 2), "runs": runs}, indent=2) + "\n")
    print(render_table(runs))
    for run in runs:
        if run["hosts"] == WRITE_TARGET_HOSTS:
            write_s = sum(r["write_s"] for r in run["reports"].values())
            print(
                f"writing the four reports for {run['hosts']} hosts: {write_s:.2f} s, "
                f"{write_s / WRITE_TARGET_S:.2f}x the {WRITE_TARGET_S:.0f} s target"
            )
    print(f"blank page in chromium: {blank_s:.2f} s (taken off browser s); JSON: {out}")
    return 0
