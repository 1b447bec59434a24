# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Live progress of the long waits (a crash test, a reboot); private to the collection.

A crash test or a reboot keeps a task busy for minutes while its host goes down and comes back. The
action marks each phase as it sees it happen; every mark prints one line on the controller at once
(``crash test web1: host down, 3 s``) and is kept, so the result carries every phase with its seconds
for the summary's timing table. The lines go to stderr: a json or yaml callback's stdout stays theirs.
"""

from __future__ import annotations

# The phases in the order they happen; a wait may skip some (a local dump is only seen once the host is back).
TRIGGER_SENT = "trigger sent"
REBOOT_SENT = "reboot sent"
HOST_DOWN = "host down"
CAPTURE_BOOT = "capture boot"
HOST_BACK = "host back"
UP_AND_STABLE = "up and stable"
DUMP_WRITTEN = "dump written"
DUMP_VERIFIED = "dump verified"
CRASH_TEST_PHASES = (TRIGGER_SENT, HOST_DOWN, CAPTURE_BOOT, HOST_BACK, UP_AND_STABLE, DUMP_WRITTEN, DUMP_VERIFIED)
REBOOT_PHASES = (REBOOT_SENT, HOST_DOWN, HOST_BACK)


class Phases(object):
    """One host's wait: each phase once, with its seconds since ``start`` (a monotonic clock reading)."""

    def __init__(self, what, host, start, emit=None):
        self.what = what
        self.host = host
        self.start = start
        self.emit = emit
        self.seen = {}

    def mark(self, phase, now=None, seconds=None, detail=None):
        """Record ``phase`` at ``now`` (or at ``seconds`` after the start, for a time learnt later); once."""
        if phase in self.seen:
            return False
        if seconds is None:
            seconds = now - self.start
        self.seen[phase] = round(seconds, 1)
        if self.emit is not None:
            self.emit(line(self.what, self.host, phase, self.seen[phase], detail))
        return True

    def as_dict(self):
        return dict(self.seen)


def line(what, host, phase, seconds, detail=None):
    """'crash test web1: host down, 3 s after the trigger; ...' as printed when the phase is seen."""
    return "%s %s: %s, %s%s" % (what, host, phase, _seconds(seconds), "; %s" % detail if detail else "")


def _seconds(value):
    sign = "-" if value < 0 else ""
    return "%s%.0f s" % (sign, abs(value))


def timing_table(rows, phases):
    """A fixed-width table, one line per host: its result and the seconds of each phase ('-': not seen).

    rows: dicts with host, result and phases (phase -> seconds), as the fleet summary has them.
    """
    columns = ["host", "result"] + list(phases)
    cells = [
        [str(row.get("host")), str(row.get("result"))]
        + [
            ("%.0f" % (row.get("phases") or {})[phase]) if phase in (row.get("phases") or {}) else "-"
            for phase in phases
        ]
        for row in rows
    ]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]

    def render(values):
        left = ["%-*s" % (widths[i], v) for i, v in enumerate(values[:2])]
        right = ["%*s" % (widths[i + 2], v) for i, v in enumerate(values[2:])]
        return "  ".join(left + right).rstrip()

    return [render(columns), render(["-" * w for w in widths])] + [render(r) for r in cells]
