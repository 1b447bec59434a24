"""Tests of the live progress of long waits (plugins/module_utils/_progress.py)."""

from __future__ import annotations

from ansible_collections.kdump.fleet.plugins.module_utils import _progress as progress


def test_each_phase_is_marked_and_shown_once_with_its_seconds():
    shown = []
    phases = progress.Phases("crash test", "web1", start=100.0, emit=shown.append)
    assert phases.mark(progress.HOST_DOWN, 103.24)
    assert not phases.mark(progress.HOST_DOWN, 110.0)  # seen again on the next probe: once only
    assert phases.mark(progress.DUMP_WRITTEN, seconds=80.04, detail="/var/crash/x/dump.x, 48.2 MiB")
    assert phases.as_dict() == {"host down": 3.2, "dump written": 80.0}
    assert shown == [
        "crash test web1: host down, 3 s",
        "crash test web1: dump written, 80 s; /var/crash/x/dump.x, 48.2 MiB",
    ]


def test_without_an_emitter_the_phases_are_only_kept():
    phases = progress.Phases("reboot", "db1", start=0.0)
    phases.mark(progress.REBOOT_SENT, 0.4)
    assert phases.as_dict() == {"reboot sent": 0.4}


def test_a_time_before_the_start_reads_as_negative_seconds():
    assert progress.line("crash test", "web1", progress.TRIGGER_SENT, -2.0) == "crash test web1: trigger sent, -2 s"
