"""Crash-test batches: do N hosts in batches of B finish within ceil(N/B) x the single-host time x 1.2?

Runs the product playbook, kdump.fleet.crash_test, on a lab whose clients are configured: first each
client alone (its single-host time), then all N clients once per batch size B (``--batch``, default: N,
all in one batch). Each run is timed from ansible-playbook's start to its end, as an operator waits for
it; the crash test's own report (kdump_crash_test_report_file) gives each host's result and phases.

    bound(N, B) = ceil(N / B) x (the slowest client's single-host time) x 1.2

The slowest single run sets the pace of a batch: a batch ends when its last host is verified. Prints a
table with the ratio measured/bound (at most 1.0 meets the target) and writes everything to
``.tmp/bench/crash_batches-<UTC stamp>.json``. Nothing is asserted on a wall time.

The lab: ``--inventory`` (default ``.tmp/demo/inventory.yml``, what ``DEMO_KEEP=1 make demo`` leaves:
clients in ``kdump_clients``, the dump server in ``dump_servers``). Every host of it must be a running lab
VM on the SSH port the inventory names (``kdump-lab status``), so a stale inventory can never send the
crash to another VM. When the default inventory is missing or stale, the bench runs the fleet demo itself
with DEMO_KEEP=1 to build the lab, and destroys the demo's VMs afterwards unless ``--keep-lab``.

    python bench/run.py crash-batches
    python bench/run.py crash-batches --inventory .tmp/demo/inventory.yml --batch 1 --batch 2
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from fleet_audit import bin_path  # a tool of this Python's venv, so the bench runs outside make too

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / ".tmp" / "bench"
DEMO_INVENTORY = REPO / ".tmp" / "demo" / "inventory.yml"
DEMO_VMS = ("demo-dumps", "demo-c12", "demo-c13")
SLACK = 1.2

# ------------------------------------------------------------------ pure parts


def batch_bound(hosts, batch, single_s, slack=SLACK):
    """The target for N hosts in batches of B: ceil(N/B) x the single-host time x slack."""
    if hosts < 1 or batch < 1:
        raise ValueError(f"hosts and batch must be at least 1, got {hosts} and {batch}")
    return math.ceil(hosts / batch) * single_s * slack


def run_record(label, hosts, batch, wall_s, report):
    """One timed run: what ran, how long, and each host's result from the crash test's report."""
    report = report or {}
    rows = report.get("hosts") or []
    return {
        "label": label,
        "hosts": list(hosts),
        "batch": batch,
        "wall_s": round(wall_s, 1),
        "passed": bool((report.get("verdict") or {}).get("passed")),
        "results": {row["host"]: row.get("result") for row in rows},
        "trigger_to_up_s": {row["host"]: row.get("trigger_to_up_s") for row in rows},
        "phases": {row["host"]: row.get("phases") or {} for row in rows},
    }


def summarise(singles, batches, slack=SLACK):
    """The verdict per batch run against its bound; None when a single run failed (no honest bound)."""
    if not singles or not all(run["passed"] for run in singles):
        return {"single_s": None, "rows": [], "error": "a single-host run failed: no single-host time to compare"}
    single_s = max(run["wall_s"] for run in singles)
    rows = []
    for run in batches:
        bound = batch_bound(len(run["hosts"]), run["batch"], single_s, slack)
        rows.append(
            {
                "hosts": len(run["hosts"]),
                "batch": run["batch"],
                "batches": math.ceil(len(run["hosts"]) / run["batch"]),
                "wall_s": run["wall_s"],
                "bound_s": round(bound, 1),
                "ratio": round(run["wall_s"] / bound, 2),
                "passed": run["passed"],
                "within": run["passed"] and run["wall_s"] <= bound,
            }
        )
    return {"single_s": single_s, "rows": rows, "error": None}


def render_table(singles, summary):
    lines = ["single-host runs (the crash test playbook, one client):"]
    for run in singles:
        state = "passed" if run["passed"] else "FAILED"
        lines.append(f"  {run['hosts'][0]:<12} {run['wall_s']:>7.1f} s  {state}")
    if summary["error"]:
        lines.append(summary["error"])
        return "\n".join(lines)
    lines.append(f"single-host time (the slowest): {summary['single_s']:.1f} s; bound = ceil(N/B) x single x {SLACK}")
    lines.append("    N    B  batches  measured s  bound s  ratio  verdict")
    for row in summary["rows"]:
        verdict = "within" if row["within"] else ("FAILED run" if not row["passed"] else "OVER")
        lines.append(
            f"  {row['hosts']:>3}  {row['batch']:>3}  {row['batches']:>7}  {row['wall_s']:>10.1f}"
            f"  {row['bound_s']:>7.1f}  {row['ratio']:>5.2f}  {verdict}"
        )
    return "\n".join(lines)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--inventory", type=Path, default=DEMO_INVENTORY, help="a lab with configured clients")
    parser.add_argument("--hosts", default="kdump_clients", help="the clients' group (default %(default)s)")
    parser.add_argument("--dump-servers", default="dump_servers", help="the dump servers' group (default %(default)s)")
    parser.add_argument("--batch", type=int, action="append", help="batch size B, repeatable (default: all clients)")
    parser.add_argument("--keep-lab", action="store_true", help="leave a lab this bench booted running")
    args = parser.parse_args(argv)
    if any(b < 1 for b in args.batch or []):
        parser.error("--batch must be at least 1")
    return args


# ------------------------------------------------------------- the lab parts


def _log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


def ansible_env():
    return dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="default")


def inventory_hosts(inventory, pattern):
    done = subprocess.run(
        [bin_path("ansible"), "-i", str(inventory), pattern, "--list-hosts"],
        capture_output=True,
        text=True,
        check=True,
        env=ansible_env(),
    )
    return [line.strip() for line in done.stdout.splitlines()[1:] if line.strip()]


def stale_hosts(inventory_ports, lab_rows):
    """Hosts of the inventory that are not a running lab VM on the SSH port the inventory gives them."""
    running = {row["name"]: row.get("ssh_port") for row in lab_rows if row.get("state") == "running"}
    return sorted(host for host, port in inventory_ports.items() if running.get(host) != port)


def inventory_ports(inventory):
    """{host: ansible_port} of a lab inventory (JSON, as lab/demo.sh writes it)."""
    ports = {}

    def walk(group):
        for host, host_vars in (group.get("hosts") or {}).items():
            ports[host] = int((host_vars or {}).get("ansible_port") or 22)
        for child in (group.get("children") or {}).values():
            walk(child)

    walk(json.loads(inventory.read_text())["all"])
    return ports


def lab_is_up(inventory):
    if not inventory.is_file():
        return False, "it does not exist"
    try:
        ports = inventory_ports(inventory)
    except (ValueError, KeyError, TypeError) as exc:
        return False, f"it is not a lab inventory as lab/demo.sh writes it ({exc})"
    rows = json.loads(
        subprocess.run([bin_path("kdump-lab"), "status", "--json"], capture_output=True, text=True, check=True).stdout
    )
    stale = stale_hosts(ports, rows)
    if stale:
        return False, f"{', '.join(stale)} is not a running lab VM on the SSH port it names"
    return True, ""


def crash_test(args, hosts, batch, label):
    report_file = OUT_DIR / f"crash-batches-{label}.json"
    report_file.unlink(missing_ok=True)
    extra = {
        "kdump_crash_test_hosts": hosts,
        "kdump_crash_test_confirm": True,
        "kdump_crash_test_confirm_count": len(hosts),
        "kdump_crash_test_serial": batch,
        "kdump_crash_test_reboot_timeout": 1200,
        "kdump_crash_test_report_file": str(report_file),
        "dump_server_hosts": args.dump_servers,
        "kdump_crash_test_console_log_hint": "kdump-lab console {{ inventory_hostname }}",
    }
    argv = [bin_path("ansible-playbook"), "-i", str(args.inventory), "kdump.fleet.crash_test", "-e", json.dumps(extra)]
    _log(f"{label}: $ " + " ".join(shlex.quote(a) for a in argv))
    started = time.monotonic()
    subprocess.run(argv, check=False, env=ansible_env())
    wall = time.monotonic() - started
    report = json.loads(report_file.read_text()) if report_file.is_file() else None
    record = run_record(label, hosts, batch, wall, report)
    _log(f"{label}: {wall:.1f} s, passed={record['passed']}")
    return record


def boot_lab():
    _log("booting the fleet demo's lab (DEMO_KEEP=1 lab/demo.sh)")
    env = dict(ansible_env(), DEMO_KEEP="1", DEMO_HOSTS="3")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # demo.sh calls the venv's tools
    subprocess.run([str(REPO / "lab" / "demo.sh")], env=env, check=True)


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    booted = False
    up, why = lab_is_up(args.inventory)
    if not up and args.inventory != DEMO_INVENTORY:
        raise SystemExit(f"--inventory {args.inventory}: {why}; nothing was crashed")
    try:
        if not up:
            _log(f"the lab inventory {args.inventory}: {why}")
            booted = True
            boot_lab()
        clients = inventory_hosts(args.inventory, args.hosts)
        if not clients:
            raise SystemExit(f"{args.hosts} matches no host of {args.inventory}")
        singles = [crash_test(args, [host], 1, f"single-{host}") for host in clients]
        batches = [
            crash_test(args, clients, batch, f"batch-{len(clients)}x{batch}") for batch in args.batch or [len(clients)]
        ]
    finally:
        if booted and not args.keep_lab:
            subprocess.run([bin_path("kdump-lab"), "destroy", *DEMO_VMS], check=False)
            DEMO_INVENTORY.unlink(missing_ok=True)
    summary = summarise(singles, batches)
    print(render_table(singles, summary))
    out = OUT_DIR / f"crash_batches-{stamp}.json"
    out.write_text(json.dumps({"singles": singles, "batches": batches, "summary": summary}, indent=2) + "\n")
    print(f"written: {out}")
    return 0 if not summary["error"] and all(row["passed"] for row in summary["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
