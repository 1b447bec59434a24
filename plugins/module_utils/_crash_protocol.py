# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The crash-test protocol as pure functions: guard, trigger, waiting, new-dump selection, validation, evidence.

Private to the kdump.fleet collection; the action plugin crash_test runs it.
"""

from __future__ import annotations

import datetime
import json
import os.path
import re
import shlex

from ansible_collections.kdump.fleet.plugins.module_utils._dump_locator import locator_problem
from ansible_collections.kdump.fleet.plugins.module_utils._host_state import EVIDENCE_PATH
from ansible_collections.kdump.fleet.plugins.module_utils._readiness import CRASH_TEST_CHECKS, failures

EVIDENCE_VERSION = 1

# The capture kernel may start with a clock that is a little off (no NTP yet);
# a dump whose mtime is up to this much before the trigger still counts.
CLOCK_SLACK_S = 120

# Markers the host-side scripts print so the controller can parse their output.
TRIGGER_EPOCH_MARK = "kdump-fleet-trigger-epoch="
TRIGGER_VIA_MARK = "kdump-fleet-trigger-via="
FORMAT_MARK = "kdump-fleet-format="
STAGE_MARK = "kdump-fleet-failed-stage="
LOG_MARK = "kdump-fleet-dmesg-tail:"
TIMEOUT_RC = 124  # what timeout(1) exits with

# ---------------------------------------------------------------- readiness


def readiness_failures(info, server=None, server_path=None):
    """The pre-flight guard on a kdump_info state: ``[{"check", "msg"}]`` for every check that does not pass.

    The checks are the audit's (_readiness.CRASH_TEST_CHECKS), with the same IDs and
    findings; on top, a locator must be able to find the new dump on the configured target
    (for NFS and SSH: on ``server``, in ``server_path``).
    """
    found = [
        {"check": item["id"], "msg": "%s (fix: %s)" % (item["finding"], item["remediation"])}
        for item in failures(info, CRASH_TEST_CHECKS)
    ]
    if not any(item["check"] == "KDUMP-009" for item in found):
        problem = locator_problem(info, server, server_path)
        if problem:
            found.append({"check": "dump_locator", "msg": problem})
    return found


def refusal_message(host, failures):
    """One message naming every failed check, for a host the crash test refuses."""
    names = ", ".join(f["check"] for f in failures)
    details = " ".join("[%s] %s." % (f["check"], f["msg"]) for f in failures)
    return "%s is not ready for a crash test (failed: %s); nothing was changed. %s" % (host, names, details)


# ----------------------------------------------------------------- waiting


def backoff_delay(attempt, base=1.0, cap=12.0, jitter=0.0):
    """Seconds to wait before poll number ``attempt`` (0-based): doubling from ``base``, capped, plus jitter."""
    return min(cap, base * (2 ** min(attempt, 30))) + jitter


class BootWatch(object):
    """Follows the boot id through the crash until one new boot id is seen ``stable_checks`` times in a row.

    ``observe()`` takes the boot id read from the host, or None when the host
    did not answer, and returns one of the states below. A kdump capture boot
    reboots on its own, so one sighting of a new boot id is not enough.
    """

    DOWN = "down"  # no answer
    OLD = "old"  # still the boot that was crashed: the crash has not happened yet
    NEW = "new"  # a new boot, not yet seen often enough in a row
    STABLE = "stable"  # the same new boot seen stable_checks times in a row

    def __init__(self, old_boot_id, stable_checks):
        self.old_boot_id = old_boot_id
        self.stable_checks = max(1, int(stable_checks))
        self.candidate = None
        self.streak = 0
        self.went_down = False
        self.new_boot_ids = []

    def observe(self, boot_id):
        if not boot_id:
            self.went_down = True
            self.candidate, self.streak = None, 0
            return self.DOWN
        if boot_id == self.old_boot_id:
            self.candidate, self.streak = None, 0
            return self.OLD
        if boot_id == self.candidate:
            self.streak += 1
        else:
            self.candidate, self.streak = boot_id, 1
            if boot_id not in self.new_boot_ids:
                self.new_boot_ids.append(boot_id)
        return self.STABLE if self.streak >= self.stable_checks else self.NEW


def timeout_message(watch, timeout_s, console_log_hint=None):
    """Explain a wait that ran out: never went down, never came back, or never stayed up."""
    if console_log_hint:
        hint = " Console log: %s." % console_log_hint
    else:
        hint = " The host's console (serial, BMC or hypervisor) shows where it stopped (console_log_hint can name it)."
    if watch.new_boot_ids:
        return (
            "the host came back (boot ids seen: %s) but did not stay up for %d checks in a row within %d s; "
            "it may be rebooting in a loop.%s" % (", ".join(watch.new_boot_ids), watch.stable_checks, timeout_s, hint)
        )
    if not watch.went_down:
        return (
            "the host did not go down within %d s: its boot id is still %s, so the sysrq crash trigger "
            "had no effect." % (timeout_s, watch.old_boot_id)
        )
    return (
        "the host did not come back within %d s of the crash trigger (reboot_timeout); the capture "
        "kernel may have hung or the host may wait at the console.%s" % (timeout_s, hint)
    )


# ---------------------------------------------------------- host commands


def parse_boot_probe(stdout):
    """Parse ``cat /proc/sys/kernel/random/boot_id; date +%s`` output into (boot_id, epoch or None)."""
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    if not lines:
        return None, None
    epoch = None
    if len(lines) > 1:
        try:
            epoch = int(lines[1])
        except ValueError:
            epoch = None
    return lines[0], epoch


BOOT_PROBE_COMMAND = "cat /proc/sys/kernel/random/boot_id; date +%s"


SYNC_TIMEOUT_S = 120
SYNC_FAILED_RC = 4


def sync_command(timeout_s=SYNC_TIMEOUT_S):
    """Flush file systems before the crash, but never wait forever for it.

    A hung NFS or iSCSI mount can block ``sync`` for good; then the host is not
    crashed (its unwritten data would be lost) and the trigger fails with rc 4.
    """
    return (
        "timeout -k 5 %(t)d sync || "
        "{ echo 'kdump-fleet: sync did not finish within %(t)d s (a hung network or storage mount?); "
        "the host was not crashed' >&2; exit %(rc)d; }"
    ) % {"t": int(timeout_s), "rc": SYNC_FAILED_RC}


# Written to the kernel log right before the sysrq crash, so the dump's own kernel log says that a crash test
# caused it (the fleet dump inventory tells test crashes from real ones by this line).
CRASH_TEST_KMSG = "kdump-fleet: crash test: sysrq crash follows"


def trigger_command(delay_s, sync_timeout_s=SYNC_TIMEOUT_S):
    """The shell that syncs, enables sysrq if it is off, and schedules the crash ``delay_s`` seconds later.

    The crash runs detached, so this command returns before the kernel dies.
    systemd-run puts it outside the SSH session (logind may kill a session's
    leftovers on logout); nohup is the fallback without systemd. The timer's
    AccuracySec is 100 ms: systemd's default of one minute let the crash come
    up to a minute after the trigger time the test measures from (seen in the lab).
    """
    delay = int(delay_s)
    crash = "echo '%s' > /dev/kmsg 2>/dev/null; echo c > /proc/sysrq-trigger" % CRASH_TEST_KMSG
    must_be_root = (
        "[ -w /proc/sysrq-trigger ] || "
        "{ echo 'kdump-fleet: /proc/sysrq-trigger is not writable: run the crash test as root (become: true)' >&2; "
        "exit 3; }"
    )
    schedule = (
        '[ "$(cat /proc/sys/kernel/sysrq)" != 0 ] || echo 1 > /proc/sys/kernel/sysrq; '
        'echo "%(epoch)s$(date +%%s)"; '
        "if command -v systemd-run >/dev/null 2>&1 && "
        "systemd-run --quiet --on-active=%(delay)d --timer-property=AccuracySec=100ms "
        "/bin/sh -c %(crash)s </dev/null >/dev/null 2>&1; "
        'then echo "%(via)ssystemd-run"; '
        "else nohup /bin/sh -c %(detached)s </dev/null >/dev/null 2>&1 & "
        'echo "%(via)snohup"; fi'
    ) % {
        "epoch": TRIGGER_EPOCH_MARK,
        "via": TRIGGER_VIA_MARK,
        "delay": delay,
        "crash": shlex.quote(crash),
        "detached": shlex.quote("sleep %d; %s" % (delay, crash)),
    }
    return "; ".join((must_be_root, sync_command(sync_timeout_s), schedule))


def parse_trigger_output(stdout):
    """Return (host epoch when the trigger was scheduled or None, how it was detached or None)."""
    epoch = via = None
    for raw in stdout.splitlines():
        line = raw.strip()
        if line.startswith(TRIGGER_EPOCH_MARK):
            try:
                epoch = int(line[len(TRIGGER_EPOCH_MARK) :])
            except ValueError:
                epoch = None
        elif line.startswith(TRIGGER_VIA_MARK):
            via = line[len(TRIGGER_VIA_MARK) :]
    return epoch, via


# ------------------------------------------------------------ finding dumps


def is_incomplete(path):
    """kdump-tools and kdumpctl name a dump that is still being written ``*-incomplete*``."""
    return "incomplete" in os.path.basename(path)


def new_dumps(before, after, trigger_epoch, slack_s=CLOCK_SLACK_S):
    """Dumps in ``after`` that were not in ``before`` (same path and mtime) and are not older than the trigger."""
    seen = set((d["path"], d["mtime"]) for d in before)
    earliest = trigger_epoch - slack_s
    fresh = [d for d in after if (d["path"], d["mtime"]) not in seen and d["mtime"] >= earliest]
    return sorted(fresh, key=lambda d: d["mtime"])


def select_new_dump(before, after, trigger_epoch, slack_s=CLOCK_SLACK_S):
    """The newest complete dump written since the trigger, or None."""
    complete = [d for d in new_dumps(before, after, trigger_epoch, slack_s) if not is_incomplete(d["path"])]
    return complete[-1] if complete else None


def capture_side_files_command(dump_dir, trigger_epoch, now_epoch, lines=40):
    """Shell listing the capture logs kdump writes next to dumps since the trigger, with their tails.

    SUSE's kdump leaves no incomplete file: its README.txt says how saving the dmesg and the vmcore went.
    """
    minutes = max(1, int((now_epoch - trigger_epoch) // 60) + 2)
    names = (
        "-name 'dmesg.*' -o -name 'kexec-dmesg.log' -o -name 'vmcore-dmesg*.txt' -o -name '*incomplete*' "
        "-o -name dmesg -o -name README.txt"
    )
    return (
        "find %(dir)s -type f \\( %(names)s \\) -mmin -%(min)d 2>/dev/null | while read -r f; do "
        'echo "==> $f"; case "$f" in *incomplete*) ls -l "$f" ;; *) tail -n %(lines)d "$f" ;; esac; done'
    ) % {"dir": shlex.quote(dump_dir), "names": names, "min": minutes, "lines": int(lines)}


# The capture boot's journal (if the journal is persistent): Debian's kdump-tools
# runs as kdump-tools-dump.service there, the RHEL family as kdump-capture.service, SUSE's kdump as
# kdump-save.service.
CAPTURE_JOURNAL_COMMAND = (
    "for unit in kdump-tools-dump kdump-tools kdump-capture kdump-save kdump; do "
    'out=$(journalctl -b -1 --no-pager -q -o short-monotonic -u "$unit" 2>&1 | tail -n 40); '
    '[ -z "$out" ] || printf \'==> journalctl -b -1 -u %s\\n%s\\n\' "$unit" "$out"; done'
)

_CAPTURE_PROBLEM = re.compile(
    # "incomplete", and an unfinished dump file the side-file listing names ("==> .../dump-incomplete"), but not
    # that file name in the line that starts writing it; SUSE's README.txt: "vmcore status: deleted (...)" when
    # too little space was left, "skipped" when KDUMP_DUMPFORMAT is none
    r"fail|error|can't|cannot|not supported|(?<!-)incomplete|^==> \S*-incomplete|no space|denied|timed out|unable"
    r"|status: (?:deleted|skipped)",
    re.IGNORECASE,
)


# makedumpfile 1.7.2 prints these on every capture of a kernel newer than it knows (Debian 12 and 13), also
# on one that succeeds; they can be the cause (a failed page walk), but must not hide a write error.
_CAPTURE_ADVISORY = re.compile(r"The kernel version is not supported\.|The makedumpfile operation may be incomplete\.")


def capture_log_highlights(text, limit=20):
    """The lines of a capture log that say what went wrong, at most ``limit`` of them.

    In log order, except makedumpfile's version warnings, which come after the other problem lines.
    """
    hits = [line.rstrip() for line in text.splitlines() if _CAPTURE_PROBLEM.search(line)]
    strong = [line for line in hits if not _CAPTURE_ADVISORY.search(line)]
    advisory = [line for line in hits if _CAPTURE_ADVISORY.search(line)]
    return (strong[-limit:] + advisory)[:limit]


# ------------------------------------------------------- validating a dump

_DECOMPRESSORS = (
    (".bz2", "bzip2 -dc"),
    (".gz", "gzip -dc"),
    (".lz4", "lz4 -dc"),
    (".xz", "xz -dc"),
    (".zst", "zstd -dc"),
)


def decompressor_for(path):
    """kdump-tools can pipe the dump through an external compressor (KDUMP_COMPRESSION); the undo command."""
    for suffix, command in _DECOMPRESSORS:
        if path.endswith(suffix):
            return command
    return None


def validation_command(dump_path, work_dir="/var/tmp", timeout_s=900, log_lines=300):
    """Shell that proves a dump readable: ``makedumpfile -R`` for a flattened one, then ``--dump-dmesg``.

    It prints FORMAT_MARK, then LOG_MARK and the tail of the extracted kernel
    log; on failure STAGE_MARK and the stage, with makedumpfile's messages on
    stderr. Every makedumpfile call runs under timeout(1) when it exists: a
    truncated flattened dump makes ``makedumpfile -R`` wait forever.
    """
    decompress = decompressor_for(dump_path)
    read = "%s %s" % (decompress, '"$dump"') if decompress else 'cat "$dump"'
    return "\n".join(
        [
            "dump=%s" % shlex.quote(dump_path),
            "work=$(mktemp -d %s/kdump-fleet-validate.XXXXXX) || { echo %sworkdir; exit 1; }"
            % (shlex.quote(work_dir), STAGE_MARK),
            "trap 'rm -rf \"$work\"' EXIT",
            'to=""; command -v timeout >/dev/null 2>&1 && to="timeout %d"' % int(timeout_s),
            "sig=$(%s 2>/dev/null | head -c 12 | tr -cd 'A-Za-z')" % read,
            'case "$sig" in makedumpfile) fmt=flattened ;; KDUMP*) fmt=kdump_compressed ;; '
            "DISKDUMP*) fmt=diskdump ;; ELF*) fmt=elf ;; *) fmt=unknown ;; esac",
            'echo "%s$fmt"' % FORMAT_MARK,
            'src="$dump"',
            'if [ "$fmt" = flattened ]; then',
            '  %s | $to makedumpfile -R "$work/vmcore" >&2; rc=$?' % read,
            '  [ "$rc" = 0 ] || { echo "%srearrange"; exit "$rc"; }' % STAGE_MARK,
            '  src="$work/vmcore"',
        ]
        + (
            [
                "else",
                '  %s > "$work/vmcore" || { echo "%sdecompress"; exit 1; }' % (read, STAGE_MARK),
                '  src="$work/vmcore"',
            ]
            if decompress
            else []
        )
        + [
            "fi",
            '$to makedumpfile --dump-dmesg "$src" "$work/dmesg" >&2; rc=$?',
            '[ "$rc" = 0 ] || { echo "%sdump-dmesg"; exit "$rc"; }' % STAGE_MARK,
            'echo "%s"' % LOG_MARK,
            'tail -n %d "$work/dmesg"' % int(log_lines),
        ]
    )


def parse_validation(rc, stdout, stderr, timeout_s=None):
    """Turn the validation script's result into ``{"valid", "format", "stage", "error", "log"}``."""
    fmt = stage = None
    log = []
    in_log = False
    for line in stdout.splitlines():
        if in_log:
            log.append(line)
        elif line.startswith(FORMAT_MARK):
            fmt = line[len(FORMAT_MARK) :].strip()
        elif line.startswith(STAGE_MARK):
            stage = line[len(STAGE_MARK) :].strip()
        elif line.strip() == LOG_MARK:
            in_log = True
    valid = rc == 0 and in_log
    error = None
    if not valid:
        detail = [line.strip() for line in stderr.splitlines() if line.strip()]
        if rc == TIMEOUT_RC:
            detail.append("timed out after %s s" % timeout_s if timeout_s else "timed out")
        if rc == 127:
            detail.append("makedumpfile is not installed where the dump is")
        step = {
            "rearrange": "makedumpfile -R (flattened dump)",
            "dump-dmesg": "makedumpfile --dump-dmesg",
            "decompress": "decompressing the dump",
            "workdir": "creating a work directory",
        }.get(stage, "the validation script")
        error = "%s failed (rc=%s): %s" % (step, rc, " | ".join(detail) or "no error output")
    return {"valid": valid, "format": fmt, "stage": stage, "error": error, "log": log}


# ----------------------------------------------------- the triggered panic

# "sysrq: Trigger a crash" (5.x+), "sysrq: SysRq : Trigger a crash" (4.x), "SysRq : Trigger a crash" (older)
_TRIGGER = re.compile(r"(?:sysrq: |SysRq : )+Trigger a crash", re.IGNORECASE)
# Since Linux 5.x the handler calls panic(); before it dereferenced NULL inside sysrq_handle_crash.
_PANIC = re.compile(r"Kernel panic - not syncing: sysrq triggered crash|sysrq_handle_crash", re.IGNORECASE)


def panic_excerpt(log_lines, after=2, limit=12):
    """The lines showing the sysrq crash this test triggered, or [] if the log does not show it.

    The excerpt runs from the last trigger line to the first panic line after
    it, plus ``after`` lines, at most ``limit`` lines.
    """
    if isinstance(log_lines, str):
        log_lines = log_lines.splitlines()
    lines = [line.rstrip() for line in log_lines]
    starts = [i for i, line in enumerate(lines) if _TRIGGER.search(line)]
    if not starts:
        return []
    start = starts[-1]
    for i in range(start, len(lines)):
        # a console that interleaves messages can put the panic on the trigger line itself
        text = _TRIGGER.sub("", lines[i]) if i == start else lines[i]
        if _PANIC.search(text):
            return lines[start : min(i + 1 + after, start + limit)]
    return []


# ---------------------------------------------------------------- evidence


def iso_utc(epoch):
    """ISO 8601 UTC text for a Unix time, e.g. 2026-11-22T13:30:00Z."""
    moment = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def ram_share(dump_bytes, ram_bytes):
    """The dump's size as a fraction of RAM (0.014 = 1.4 %), or None when RAM is unknown."""
    if not ram_bytes or dump_bytes is None:
        return None
    return round(float(dump_bytes) / float(ram_bytes), 4)


def build_evidence_record(
    result,
    epoch,
    kernel,
    message,
    *,
    dump_path=None,
    dump_server=None,
    dump_bytes=None,
    ram_bytes=None,
    trigger_to_dump_s=None,
    trigger_to_up_s=None,
):
    """The evidence record of docs/design.md; ``epoch`` is the trigger time on the host clock."""
    if result not in ("success", "failed"):
        raise ValueError("result must be 'success' or 'failed', not %r" % (result,))
    return {
        "version": EVIDENCE_VERSION,
        "time": iso_utc(epoch),
        "kernel": kernel,
        "result": result,
        "dump_path": dump_path,
        "dump_server": dump_server,
        "dump_bytes": dump_bytes,
        "ram_bytes": ram_bytes,
        "trigger_to_dump_s": None if trigger_to_dump_s is None else round(float(trigger_to_dump_s), 1),
        "trigger_to_up_s": None if trigger_to_up_s is None else round(float(trigger_to_up_s), 1),
        "message": message,
    }


def evidence_write_command(record, path=EVIDENCE_PATH):
    """Shell writing the record atomically: directory 0700, file 0600, never world-readable on the way."""
    directory = os.path.dirname(path)
    temporary = os.path.join(directory, "." + os.path.basename(path) + ".tmp")
    return (
        "umask 077 && mkdir -p %(dir)s && chmod 0700 %(dir)s && "
        "printf '%%s\\n' %(data)s > %(tmp)s && chmod 0600 %(tmp)s && mv -f %(tmp)s %(path)s"
    ) % {
        "dir": shlex.quote(directory),
        "data": shlex.quote(json.dumps(record, sort_keys=True)),
        "tmp": shlex.quote(temporary),
        "path": shlex.quote(path),
    }
