"""The pure parts of bench/core_collector.py: statistics, the table, the round record, arguments."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import core_collector as bench  # noqa: E402


def test_stats_ignore_missing_values():
    assert bench.stats([10.0, None, 20.0, 30.0]) == {"n": 3, "mean": 20.0, "min": 10.0, "max": 30.0}
    assert bench.stats([None]) == {"n": 0, "mean": None, "min": None, "max": None}


def _crash(size, up, dump, failed=False):
    result = {"dump_path": "/var/crash/x/dump.x", "dump_bytes": size, "trigger_to_up_s": up, "trigger_to_dump_s": dump}
    if failed:
        result = {"failed": True, "msg": "no new dump appeared"}
    return result


def test_round_record_takes_the_crash_test_figures():
    record = bench.round_record("lzo", 2, _crash(31457280, 150.0, 80.0), 40.5, "journal of the capture boot")
    assert record["ok"] is True
    assert record["dump_mib"] == 30.0
    assert (record["trigger_to_up_s"], record["trigger_to_dump_s"], record["dump_phase_s"]) == (150.0, 80.0, 40.5)


def test_failed_round_is_not_ok_and_keeps_the_message():
    record = bench.round_record("zlib", 1, _crash(0, 0, 0, failed=True), None, None)
    assert record["ok"] is False
    assert record["msg"] == "no new dump appeared"
    assert record["dump_mib"] is None


def test_summary_counts_failures_and_only_averages_successes():
    rounds = [
        bench.round_record("zlib", 1, _crash(20 * 1048576, 140.0, 70.0), 30.0, "j"),
        bench.round_record("zlib", 2, _crash(22 * 1048576, 160.0, 90.0), 40.0, "j"),
        bench.round_record("zlib", 3, _crash(0, 0, 0, failed=True), None, None),
        bench.round_record("lzo", 1, _crash(30 * 1048576, 120.0, 50.0), 10.0, "j"),
    ]
    summary = bench.summarise(rounds)
    assert list(summary) == ["zlib", "lzo"]
    assert summary["zlib"]["rounds"] == 3 and summary["zlib"]["failed"] == 1
    assert summary["zlib"]["dump_phase_s"] == {"n": 2, "mean": 35.0, "min": 30.0, "max": 40.0}
    assert summary["zlib"]["dump_mib"]["mean"] == 21.0
    table = bench.render_table(summary).splitlines()
    assert table[0].startswith("| compression | ok/rounds | dump phase (s)")
    assert (
        table[2] == "| zlib (-c) | 2/3 | 35.0 (30.0-40.0) | 21.0 (20.0-22.0) | 80.0 (70.0-90.0) | 150.0 (140.0-160.0) |"
    )
    assert table[3].startswith("| lzo (-l) | 1/1 | 10.0 (10.0-10.0)")


def test_arguments_default_and_environment(monkeypatch):
    monkeypatch.setenv("BENCH_DISTRO", "debian13")
    monkeypatch.setenv("BENCH_ROUNDS", "1")
    args = bench.parse_args([])
    assert (args.distro, args.rounds, args.compression) == ("debian13", 1, ["zlib", "lzo"])
    args = bench.parse_args(["--distro", "debian12", "--rounds", "2", "--compression", "lzo"])
    assert (args.distro, args.rounds, args.compression) == ("debian12", 2, ["lzo"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--rounds", "0"])


FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_dump_phase_from_the_capture_journal():
    # makedumpfile -F -c started at 1795360075.031377, kdump-tools said "saved vmcore" at 1795360084.050217;
    # the earlier "running makedumpfile --dump-dmesg" line is not the dump.
    text = (FIXTURES / "capture-journal-debian12-zlib.short-unix.txt").read_text()
    assert bench.dump_phase_from_lines(bench.parse_journal_short_unix(text)) == 9.0


def test_dump_phase_from_the_serial_console():
    # printk times 21.348962 -> 30.369801 of the capture kernel
    text = (FIXTURES / "capture-console-debian12-zlib.txt").read_text(errors="replace")
    assert bench.dump_phase_from_lines(bench.parse_console(text)) == 9.0


def test_dump_phase_is_none_without_saved_vmcore():
    text = (FIXTURES / "capture-journal-debian12-zlib.short-unix.txt").read_text()
    truncated = [line for line in bench.parse_journal_short_unix(text) if "saved vmcore" not in line[1]]
    assert bench.dump_phase_from_lines(truncated) is None
