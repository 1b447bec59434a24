"""Which makedumpfile compression should kdump.fleet use by default? Measure it on a lab VM.

Boots one lab VM, applies the kdump.fleet.kdump role, and for each compression
(zlib ``-c``, lzo ``-l``) at dump level 31 crashes the VM ``--rounds`` times with
the kdump.fleet.crash_test action. Per crash it records:

- ``dump_phase_s``: how long the capture boot spent writing the dump, from the
  capture boot's own kdump-tools messages ("running makedumpfile" until "saved
  vmcore"). Read from the capture boot's journal (``journalctl -b -1``, host
  clock) when the journal is persistent; otherwise from the VM's serial console
  log (kdump-tools-dump.service logs to journal+console), by the capture kernel's
  printk times.
  ``dump_phase_source`` says which.
- ``dump_bytes``, ``trigger_to_dump_s``, ``trigger_to_up_s``: from the crash test.

Prints a table (mean/min/max per compression) and writes everything to
``.tmp/bench/core_collector-<distro>-<UTC stamp>.json``.

    make bench                                   # debian12, 3 rounds each
    BENCH_DISTRO=debian13 BENCH_ROUNDS=1 make bench
    python bench/run.py --distro debian12 --rounds 3 --compression zlib --compression lzo
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / ".tmp" / "bench"
CRASH_PLAYBOOK = Path(__file__).resolve().parent / "crash_once.yml"
COMPRESSION_FLAGS = {"zlib": "-c", "lzo": "-l"}
DUMP_LEVEL = 31

# kdump-config's messages in the capture boot around the makedumpfile run.
# The first "running makedumpfile" line of a capture boot is the --dump-dmesg run.
DUMP_START = re.compile(r"running makedumpfile (?!--dump-dmesg)", re.IGNORECASE)
DUMP_END = re.compile(r"saved vmcore", re.IGNORECASE)
# `journalctl -o short-unix`: "<epoch.micro> <host> <ident>[pid]: message"
JOURNAL_LINE = re.compile(r"^(\d+(?:\.\d+)?)\s+(.*)$")
# A serial console line with the kernel's printk time: "[   21.348962] kdump-tools[323]: ..."
CONSOLE_LINE = re.compile(r"^\[\s*(\d+\.\d+)\]\s+(.*)$")

# ------------------------------------------------------------------ pure parts


def dump_phase_from_lines(stamped_lines):
    """Seconds from the first "running makedumpfile" to the next "saved vmcore".

    ``stamped_lines`` are ``(seconds, text)`` pairs on any one clock. Returns
    None when either message is missing (the dump failed or the log lost it).
    """
    start = None
    for stamp, text in stamped_lines:
        if start is None and DUMP_START.search(text):
            start = stamp
        elif start is not None and DUMP_END.search(text):
            return round(stamp - start, 1)
    return None


def parse_journal_short_unix(text):
    """``journalctl -o short-unix`` output as ``(epoch, text)`` pairs (other lines are skipped)."""
    pairs = []
    for line in text.splitlines():
        match = JOURNAL_LINE.match(line.strip())
        if match:
            pairs.append((float(match.group(1)), match.group(2)))
    return pairs


def parse_console(text):
    """Serial console lines that carry a printk time, as ``(seconds since that boot, text)`` pairs."""
    pairs = []
    for line in text.splitlines():
        match = CONSOLE_LINE.match(line.strip())
        if match:
            pairs.append((float(match.group(1)), match.group(2)))
    return pairs


def stats(values):
    """``{"n", "mean", "min", "max"}`` of the values that are not None (all None when there are none)."""
    present = [v for v in values if v is not None]
    if not present:
        return {"n": 0, "mean": None, "min": None, "max": None}
    return {
        "n": len(present),
        "mean": round(statistics.fmean(present), 1),
        "min": round(min(present), 1),
        "max": round(max(present), 1),
    }


METRICS = (
    ("dump_phase_s", "dump phase (s)", 1),
    ("dump_mib", "dump size (MiB)", 1),
    ("trigger_to_dump_s", "trigger to dump (s)", 1),
    ("trigger_to_up_s", "trigger to up (s)", 1),
)


def summarise(rounds):
    """Per compression and metric, the stats of the successful rounds; failures are counted."""
    summary = {}
    for compression in dict.fromkeys(r["compression"] for r in rounds):
        mine = [r for r in rounds if r["compression"] == compression]
        ok = [r for r in mine if r["ok"]]
        summary[compression] = {"rounds": len(mine), "failed": len(mine) - len(ok)}
        for key, _label, _digits in METRICS:
            summary[compression][key] = stats([r.get(key) for r in ok])
    return summary


def _cell(stat):
    if stat["mean"] is None:
        return "-"
    return f"{stat['mean']:.1f} ({stat['min']:.1f}-{stat['max']:.1f})"


def render_table(summary):
    """Markdown table: one row per compression, mean (min-max) per metric."""
    header = ["compression", "ok/rounds"] + [label for _key, label, _d in METRICS]
    rows = [header, ["---"] * len(header)]
    for compression, entry in summary.items():
        ok = entry["rounds"] - entry["failed"]
        rows.append(
            [f"{compression} ({COMPRESSION_FLAGS.get(compression, '?')})", f"{ok}/{entry['rounds']}"]
            + [_cell(entry[key]) for key, _label, _d in METRICS]
        )
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def round_record(compression, index, crash, phase, phase_source):
    """One crash's figures from the crash_test result and the measured dump phase."""
    ok = not crash.get("failed") and bool(crash.get("dump_path"))
    size = crash.get("dump_bytes")
    return {
        "compression": compression,
        "round": index,
        "ok": ok,
        "msg": crash.get("msg"),
        "dump_path": crash.get("dump_path"),
        "dump_bytes": size,
        "dump_mib": round(size / 1048576.0, 1) if size else None,
        "trigger_to_dump_s": crash.get("trigger_to_dump_s"),
        "trigger_to_up_s": crash.get("trigger_to_up_s"),
        "dump_phase_s": phase,
        "dump_phase_source": phase_source,
        "trigger_time": crash.get("trigger_time"),
    }


# ------------------------------------------------------------- the lab parts


def _log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _run(argv, **kwargs):
    _log("$ " + " ".join(shlex.quote(str(a)) for a in argv))
    return subprocess.run([str(a) for a in argv], check=True, **kwargs)


def read_from(path, offset):
    """The text appended to ``path`` after byte ``offset``."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        return handle.read().decode("utf-8", "replace")


class BenchVm:
    """One lab VM, an inventory for it, and ssh."""

    def __init__(self, distro, memory, work):
        self.name = f"bench-{distro}"
        self.distro = distro
        self.memory = memory
        self.work = work
        self.info = None
        self.inventory = work / f"inventory-{self.name}.yml"

    def up(self):
        out = _run(
            ["kdump-lab", "up", self.name, "--distro", self.distro, "--memory", self.memory],
            capture_output=True,
            text=True,
        )
        self.info = json.loads(out.stdout)
        host = {
            "ansible_host": self.info["host"],
            "ansible_port": self.info["port"],
            "ansible_user": self.info["user"],
            "ansible_ssh_private_key_file": self.info["key"],
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
        }
        self.inventory.write_text(json.dumps({"all": {"hosts": {self.name: host}}}, indent=2))

    def destroy(self):
        subprocess.run(["kdump-lab", "destroy", self.name], check=False)

    def ssh(self, command):
        res = subprocess.run(
            ["kdump-lab", "ssh", self.name, command], capture_output=True, text=True, check=False, timeout=300
        )
        return res.stdout

    def playbook(self, playbook, extra_vars):
        vars_file = self.work / "extra-vars.json"
        vars_file.write_text(json.dumps(extra_vars))
        _run(["ansible-playbook", "-i", self.inventory, playbook, "-e", f"@{vars_file}"])


def apply_role(vm, compression, crashkernel):
    vm.playbook(
        "kdump.fleet.kdump",
        {
            "kdump_reboot_ok": True,
            "kdump_crashkernel": crashkernel,
            "kdump_core_collector": {
                "dump_level": DUMP_LEVEL,
                "compression": compression,
                "extra_args": [],
                "raw": "",
            },
        },
    )
    args = vm.ssh('. /etc/default/kdump-tools; echo "$MAKEDUMP_ARGS"').split()
    if COMPRESSION_FLAGS[compression] not in args:
        raise SystemExit(f"the role did not render {COMPRESSION_FLAGS[compression]} into MAKEDUMP_ARGS: {args}")
    _log(f"MAKEDUMP_ARGS on the VM: {' '.join(args)}")


CAPTURE_JOURNAL = "journalctl -b -1 -o short-unix --no-pager -u kdump-tools-dump.service"


def crash_once(vm, compression, index):
    result_file = vm.work / f"crash-{compression}-{index}.json"
    result_file.unlink(missing_ok=True)
    console = Path(vm.info["console_log"])
    offset = console.stat().st_size
    vm.playbook(
        str(CRASH_PLAYBOOK),
        {"bench_result_file": str(result_file), "bench_console_log": str(console)},
    )
    crash = json.loads(result_file.read_text())
    phase = dump_phase_from_lines(parse_journal_short_unix(vm.ssh(CAPTURE_JOURNAL)))
    source = "journal of the capture boot"
    if phase is None:
        # kdump-tools-dump.service logs to journal+console: the capture kernel's printk times are there too.
        phase = dump_phase_from_lines(parse_console(read_from(console, offset)))
        source = "serial console, capture kernel printk time" if phase is not None else None
    record = round_record(compression, index, crash, phase, source)
    _log(f"{compression} round {index}: {json.dumps(record)}")
    return record


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--distro", default=os.environ.get("BENCH_DISTRO", "debian12"))
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "3")))
    parser.add_argument(
        "--compression", action="append", choices=sorted(COMPRESSION_FLAGS), help="repeatable (default: zlib, lzo)"
    )
    parser.add_argument("--memory", default=os.environ.get("BENCH_MEMORY", "2048"), help="guest MiB (default 2048)")
    parser.add_argument("--crashkernel", default="256M", help="kdump_crashkernel for the role (default 256M)")
    parser.add_argument("--keep-vm", action="store_true", help="leave the VM running afterwards")
    args = parser.parse_args(argv)
    args.compression = args.compression or ["zlib", "lzo"]
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    vm = BenchVm(args.distro, args.memory, OUT_DIR)
    rounds = []
    try:
        vm.up()
        for compression in args.compression:
            apply_role(vm, compression, args.crashkernel)
            for index in range(1, args.rounds + 1):
                rounds.append(crash_once(vm, compression, index))
    finally:
        if not args.keep_vm:
            vm.destroy()
    summary = summarise(rounds)
    report = {
        "distro": args.distro,
        "memory_mib": int(args.memory),
        "crashkernel": args.crashkernel,
        "dump_level": DUMP_LEVEL,
        "rounds": rounds,
        "summary": summary,
        "wall_s": round(time.monotonic() - started),
    }
    out = OUT_DIR / f"core_collector-{args.distro}-{stamp}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(render_table(summary))
    print(f"\nrounds: {len(rounds)}; JSON: {out}; wall time {report['wall_s']} s")
    return 0 if all(r["ok"] for r in rounds) else 1


if __name__ == "__main__":
    sys.exit(main())
