# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a saved dump says about its crash: the fleet dump inventory's parsing (private to the collection).

Pure functions over bytes and text read on the host, so that the module only reads files and every rule
here is unit-tested on dumps and kernel logs recorded from the lab VMs.
"""

from __future__ import annotations

import datetime
import posixpath
import re

from ansible_collections.kdump.fleet.plugins.module_utils._crash_protocol import CRASH_TEST_KMSG
from ansible_collections.kdump.fleet.plugins.module_utils._dump_server import dump_stamp
from ansible_collections.kdump.fleet.plugins.module_utils._host_facts import SUSE_DUMP_DIRS, is_dump

# The VMCOREINFO note sits in the first blocks of every format makedumpfile writes (after the disk dump
# header and sub-header, or in a flattened file's first data chunk) and in an ELF dump's PT_NOTE.
HEAD_BYTES = 1 << 20
# Enough of a saved kernel log for its tail and panic: the log buffer of a 6.x kernel is 128 KiB-1 MiB.
LOG_BYTES = 4 << 20
DEFAULT_LOG_LINES = 20

# The kernel log files the tools save next to a dump: kdump-tools dmesg.<stamp> (makedumpfile
# --dump-dmesg), kdump-utils vmcore-dmesg.txt (vmcore-dmesg), SUSE's kdump dmesg (2.x) or dmesg.txt (1.x),
# both plain text from makedumpfile --dump-dmesg (its -F there flattens nothing but the dump).
_LOG_FILE = re.compile(r"^(?:dmesg\.\d{12}|vmcore-dmesg\.txt|dmesg|dmesg\.txt)$")
# Written while the dump is being copied, renamed when it is complete (kdump-tools over SSH, kdump-utils).
INCOMPLETE_FILES = ("dump-incomplete", "vmcore-incomplete", "vmcore.flat-incomplete")
# "[   17.519617] " and, with CONFIG_PRINTK_CALLER, the task or CPU id: "[60619.156287][T25678] " as dmesg
# prints it, "[  883.138191] [   T2956] " as makedumpfile --dump-dmesg saves it (Debian 13).
_TIMESTAMP = re.compile(r"^\[\s*\d+\.\d+\]\s*(?:\[\s*[TC]\d+\]\s*)?")
_LINUX_VERSION = re.compile(r"Linux version (\S+)")
_PANIC = re.compile(r"Kernel panic - not syncing: ?.*")
# What the kernel prints first when it dies without a panic() of its own.
_OOPS = re.compile(r"(?:BUG: .+|kernel BUG at .+|Oops: .+|general protection fault.*|Unable to handle kernel .+)")
# Each KEY=value ends with a newline; the first follows the ELF note's name ("VMCOREINFO" and NUL padding).
_VMCOREINFO_KEY = re.compile(rb"(?<![^\n\x00])(OSRELEASE|CRASHTIME|BUILD-ID|PAGESIZE)=([\x21-\x7e]{1,128})(?=\n)")

ORIGIN_CRASH_TEST = "crash_test"
ORIGIN_CRASH = "crash"
ORIGIN_UNKNOWN = "unknown"


def is_log_file(name):
    """Whether ``name`` is a kernel log the tools save next to a dump."""
    return bool(_LOG_FILE.match(name))


def is_incomplete_file(name):
    """Whether ``name`` is a dump still being written, or left half-written by a failed capture."""
    return name in INCOMPLETE_FILES


def dump_format(head):
    """The file format from its first bytes: kdump-compressed, flattened, elf or unknown."""
    if head.startswith(b"KDUMP   "):
        return "kdump-compressed"
    if head.startswith(b"makedumpfile"):
        return "flattened"
    if head.startswith(b"\x7fELF"):
        return "elf"
    return "unknown"


def parse_vmcoreinfo(head):
    """{osrelease, crash_time, build_id, page_size} from the VMCOREINFO text in a dump's first bytes.

    The kernel appends ``CRASHTIME=<epoch>`` when it crashes; each value is None when not found.
    """
    found = {}
    for key, value in _VMCOREINFO_KEY.findall(head):
        found.setdefault(key.decode("ascii"), value.decode("ascii"))
    crash_time = found.get("CRASHTIME")
    page_size = found.get("PAGESIZE")
    return {
        "osrelease": found.get("OSRELEASE"),
        "crash_time": int(crash_time) if crash_time and crash_time.isdigit() else None,
        "build_id": found.get("BUILD-ID"),
        "page_size": int(page_size) if page_size and page_size.isdigit() else None,
    }


def _message(line):
    return _TIMESTAMP.sub("", line).strip()


def parse_kernel_log(text, lines=DEFAULT_LOG_LINES):
    """What a saved kernel log says about the crash.

    Returns {kernel, panic, first_error, last_messages, crash_test}: the release from the ``Linux version``
    line (None when the buffer wrapped past it), the last ``Kernel panic - not syncing`` message, the first
    BUG/Oops/fault line (what a panic without its own message was caused by), the last ``lines`` lines as
    saved, and whether the crash test's own line (CRASH_TEST_KMSG) is in it.
    """
    log = [line for line in text.replace("\r", "").split("\n") if line.strip()]
    kernel = panic = first_error = None
    crash_test = False
    for line in log:
        message = _message(line)
        if kernel is None:
            match = _LINUX_VERSION.search(message)
            if match:
                kernel = match.group(1)
        if _PANIC.match(message):
            panic = message
        if first_error is None and _OOPS.match(message):
            first_error = message
        if CRASH_TEST_KMSG in message:
            crash_test = True
    return {
        "kernel": kernel,
        "panic": panic,
        "first_error": first_error,
        "last_messages": log[-lines:] if lines > 0 else [],
        "crash_test": crash_test,
    }


def origin(log_summary, path, crash_test_dumps=()):
    """crash_test when the dump's log or a crash-test record says the crash test caused it, crash for
    any other crash whose log was read, unknown when no log could be read."""
    if path in set(crash_test_dumps or ()):
        return ORIGIN_CRASH_TEST
    if log_summary is None:
        return ORIGIN_UNKNOWN
    return ORIGIN_CRASH_TEST if log_summary["crash_test"] else ORIGIN_CRASH


def dump_files(directory, names):
    """Split one dump directory's file names into (dump, kernel log, incomplete file), each None when absent."""
    dump = log = incomplete = None
    for name in sorted(names):
        if dump is None and is_dump(directory, name):
            dump = name
        elif log is None and is_log_file(name):
            log = name
        elif incomplete is None and is_incomplete_file(name):
            incomplete = name
    return dump, log, incomplete


def directory_stamp(name):
    """The time in a dump directory's name (kdump-tools, kdumpctl, SUSE's kdump), or None."""
    stamp = dump_stamp(name)
    if stamp is not None or not isinstance(name, str):
        return stamp
    for pattern, time_format in SUSE_DUMP_DIRS:
        match = pattern.match(name)
        if match:
            try:
                return datetime.datetime.strptime(match.group("stamp"), time_format)
            except ValueError:  # 2026-13-45-...: shaped like a stamp, not a time
                return None
    return None


def crash_time(vmcoreinfo, directory, mtime):
    """(epoch, source): the kernel's CRASHTIME, else the time in the directory name (UTC), else the file mtime.

    The name's time is the capture kernel's clock (SUSE's kdump 1.x: the crash time in local time), so
    CRASHTIME wins whenever the dump has one.
    """
    if vmcoreinfo and vmcoreinfo.get("crash_time"):
        return vmcoreinfo["crash_time"], "vmcoreinfo"
    stamp = directory_stamp(posixpath.basename(directory))
    if stamp is not None:
        return int(stamp.replace(tzinfo=datetime.timezone.utc).timestamp()), "directory"
    return (int(mtime), "mtime") if mtime else (None, None)


def retention_plan(dumps, keep):
    """The dump directories retention would remove: per host, all but the newest ``keep``.

    ``dumps`` are inventory records (host, dir, crash_time, mtime, complete). Only directories whose names
    the tools make count (kdump-tools' stamp, kdumpctl's ``IP-date``, SUSE's ``[host-]date``); ``keep`` 0
    removes nothing; the newest complete dump of a host is never removed, whatever ``keep`` says. Returns
    [{host, stored_on, dir, reason}] oldest first.
    """
    if not isinstance(keep, int) or isinstance(keep, bool) or keep < 0:
        raise ValueError("keep=%r must be a whole number of 0 or more" % (keep,))
    if keep == 0:
        return []
    by_host = {}
    for dump in dumps:
        if directory_stamp(posixpath.basename(dump["dir"])) is None:
            continue
        by_host.setdefault((dump["host"], dump.get("stored_on")), []).append(dump)
    plan = []
    for (host, stored_on), found in sorted(by_host.items(), key=lambda item: (item[0][0], item[0][1] or "")):
        found.sort(key=lambda d: (d.get("crash_time") or d.get("mtime") or 0, d["dir"]), reverse=True)
        newest_complete = next((d["dir"] for d in found if d.get("complete")), None)
        for dump in reversed(found[keep:]):
            if dump["dir"] == newest_complete:
                continue
            plan.append(
                {
                    "host": host,
                    "stored_on": stored_on,
                    "dir": dump["dir"],
                    "reason": "older than the newest %d dump%s of %s" % (keep, "" if keep == 1 else "s", host),
                }
            )
    return plan


def summary_text(dump):
    """One line a person reads: what crashed, when, and where the dump is."""
    when = (
        datetime.datetime.fromtimestamp(dump["crash_time"], datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        if dump.get("crash_time")
        else "at an unknown time"
    )
    cause = dump.get("panic") or dump.get("first_error") or "no panic line found"
    return "%s (%s) crashed %s: %s" % (dump["host"], dump.get("kernel") or "kernel unknown", when, cause)
