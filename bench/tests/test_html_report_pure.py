"""The pure parts of bench/html_report.py: the simulated fleet's mix, the table, the arguments."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import html_report as bench  # noqa: E402
from ansible_collections.kdump.fleet.plugins.module_utils._fleet_audit import evaluate_fleet  # noqa: E402


def test_the_simulated_fleet_mixes_statuses_distributions_and_kernels():
    results = bench.simulated_results(100, bench._ready_info())
    fleet = evaluate_fleet(results, hosts=list(results))
    summary = fleet["summary"]
    assert (summary["ready"], summary["degraded"], summary["not_ready"]) == (70, 20, 10)
    kinds = {(h["facts"]["distribution"]["id"], h["facts"]["kernel"]) for h in fleet["hosts"]}
    assert len({k[0] for k in kinds}) == 3 and len({k[1] for k in kinds}) == len(bench.KERNELS)
    assert "KDUMP-007" in summary["checks"]  # what the bench's filter link selects


def test_table_prints_every_figure_and_dashes_without_a_browser():
    run = {
        "hosts": 1000,
        "evaluate_s": 0.5,
        "reports": {"html": {"bytes": 5 * bench.MIB, "write_s": 0.3}, "json": {"bytes": 17 * bench.MIB, "write_s": 1}},
        "browser": {"ready_ms": 511.4, "filter_ms": 2.6, "detail_ms": 31.9, "browser_s": 1.31},
    }
    lines = bench.render_table([run, dict(run, browser=None)]).splitlines()
    assert lines[0].split() == ["hosts", "evaluate", "write", "html", "MiB", "json", "MiB", "ready", "ms"] + [
        "filter",
        "ms",
        "detail",
        "ms",
        "browser",
        "s",
    ]
    assert lines[1].split() == ["1000", "0.50s", "1.30s", "5.0", "17.0", "511.4", "2.6", "31.9", "1.31"]
    assert lines[2].split()[-4:] == ["-", "-", "-", "-"]


def test_arguments_default_to_1000_and_5000_hosts():
    assert bench.parse_args([]).hosts == [1000, 5000]
    assert bench.parse_args(["--hosts", "200"]).hosts == [200]
