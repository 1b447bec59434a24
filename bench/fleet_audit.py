"""How does the audit scale with the fleet? Simulated hosts on this machine, over real SSH.

The bench starts its own sshd on 127.0.0.1 (a port of its own, its own host and client keys, in a
temporary directory; stopped at the end) and points N inventory hosts at it. Every host gets its own
SSH connection (its own ControlPath), so each costs what a real host costs the controller: the
handshake, the module transfer, the Python start. The hosts all read this machine's kdump state.
Every command opens its own connections and closes them when it ends, so no command inherits the
handshakes of the one before it.

For each N (default 20 and 200; --hosts 200 --hosts 1000 for the fleet sizes), with the same forks:

- ``ping``: ``ansible all -m ping``, Ansible's own floor of one round trip per host;
- ``audit``: ``ansible-playbook kdump.fleet.audit`` (one kdump_info round trip per host, then the
  reports on the controller); its ratio to ``ping`` is the issue's target (within 1.10x);
- ``plain``: bench/plain_facts.yml, the same facts gathered with one command/slurp task each (only up to
  --plain-max-hosts, default 20: it takes 17 round trips per host); its ratio to the audit is the other
  target (at least 8x);
- the controller's peak memory (the ansible process's max RSS), the report sizes, and the time to write
  the four reports again from the audit's JSON;
- ``slices`` (up to --slices-max-hosts, default 200): the same hosts audited as three slices (``--limit``),
  merged with kdump.fleet.audit_merge;
  the merged report must equal the unsliced one, field by field, but for the timestamp and the free
  space of the dump directory (a live reading of this machine, which moves between the runs); printed,
  and the exit code.

With --repeat R, ping and the audit run R times each, alternated, and the median of each is kept.
A second table says where the CPU went, per host: the controller's (ansible and its ssh clients)
against the simulated hosts' side (sshd and the modules' Python), which share this machine's cores.

Prints the tables and writes ``.tmp/bench/fleet_audit-<UTC stamp>.json``. No time is asserted.

    python bench/run.py fleet                      # 20 and 200 hosts, 20 forks
    python bench/run.py fleet --hosts 200 --hosts 1000 --forks 50
    python bench/run.py fleet --hosts 200 --repeat 3 --plain-max-hosts 0 --slices-max-hosts 0
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ansible_collections.kdump.fleet.plugins.module_utils import _audit_reports

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / ".tmp" / "bench"
PLAIN_PLAYBOOK = Path(__file__).resolve().parent / "plain_facts.yml"
SSHD = "/usr/sbin/sshd"
PING_TARGET, PLAIN_TARGET = 1.10, 8.0  # the targets: audit/ping at most, plain/audit at least
SLICES = 3


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LoopbackSshd:
    """An sshd of the bench's own on 127.0.0.1 only, with keys and config in ``directory``."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.port = free_port()
        self.client_key = self.directory / "client_ed25519"
        self.process = None

    def config(self):
        return "\n".join(
            [
                "ListenAddress 127.0.0.1",
                f"Port {self.port}",
                f"HostKey {self.directory / 'host_ed25519'}",
                f"PidFile {self.directory / 'sshd.pid'}",
                f"AuthorizedKeysFile {self.directory / 'authorized_keys'}",
                "PermitRootLogin prohibit-password",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                # Every fork opens its own connection at once: let them all in.
                "MaxStartups 2000:30:4000",
                "MaxSessions 64",
                "LogLevel ERROR",
                "",
            ]
        )

    def start(self):
        for name in ("host_ed25519", "client_ed25519"):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.directory / name)], check=True
            )
        shutil.copy(self.directory / "client_ed25519.pub", self.directory / "authorized_keys")
        (self.directory / "sshd_config").write_text(self.config())
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        self.process = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(self.directory / "sshd_config")],
            stdout=subprocess.DEVNULL,
            stderr=open(self.directory / "sshd.log", "w"),  # noqa: SIM115 - the process keeps it
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"the bench's sshd did not listen on 127.0.0.1:{self.port}: {self.log()}")

    def log(self):
        path = self.directory / "sshd.log"
        return path.read_text()[-2000:] if path.exists() else ""

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def inventory_text(count, sshd):
    """count hosts, all on the bench's sshd, each with its own SSH master connection.

    The masters' directory is an extra variable (bench_control_dir) that every command sets afresh:
    a master left over from the previous command (ControlPersist keeps it 60 s) would spare the next
    command its handshakes, and whichever of ping and audit ran second would look cheaper.
    """
    lines = ["[sim]"] + [f"sim{i:05d}" for i in range(count)]
    lines += [
        "",
        "[sim:vars]",
        "ansible_host=127.0.0.1",
        f"ansible_port={sshd.port}",
        "ansible_user=root",
        f"ansible_ssh_private_key_file={sshd.client_key}",
        # The host's own ControlPath: without it every host would share the first one's connection.
        "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
        "-o ControlPath={{ bench_control_dir }}/{{ inventory_hostname }}'",
        f"ansible_python_interpreter={sys.executable}",
        "",
    ]
    return "\n".join(lines)


def busy_cpu_seconds():
    """CPU seconds every core of this machine has spent busy since boot (/proc/stat's first line)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def timed(argv, env, cwd):
    """Figures of one controller command; its output goes to run.log.

    The wall time, the process's peak RSS, its rc, and where the CPU went: the controller's
    (ansible and the ssh clients it waited for) against the whole machine's, whose difference is the
    simulated hosts' side (sshd and every module's Python), which shares these cores.
    """
    busy_before = busy_cpu_seconds()
    started = time.perf_counter()
    with open(Path(cwd) / "run.log", "ab") as log:
        process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    machine = busy_cpu_seconds() - busy_before
    controller = usage.ru_utime + usage.ru_stime
    return {
        "s": round(elapsed, 1),
        "rss_mib": round(usage.ru_maxrss / 1024.0, 1),
        "rc": os.waitstatus_to_exitcode(status),
        "controller_cpu_s": round(controller, 1),
        "hosts_cpu_s": round(max(machine - controller, 0.0), 1),
    }


def ansible_env(work):
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_HOST_KEY_CHECKING="False",
        ANSIBLE_STDOUT_CALLBACK="default",
        ANSIBLE_LOCAL_TEMP=str(work / "ansible-local"),
        ANSIBLE_RETRY_FILES_ENABLED="False",
    )
    return env


def bin_path(name):
    return str(Path(sys.executable).with_name(name))


class SimulatedFleet:
    """The inventory of count simulated hosts, and every ansible command the bench runs against it."""

    def __init__(self, count, forks, sshd, run_dir):
        self.run_dir = run_dir
        inventory = run_dir / "hosts.ini"
        inventory.write_text(inventory_text(count, sshd))
        self.env = ansible_env(run_dir)
        self.common = ["-i", str(inventory), "-f", str(forks)]
        self.commands = 0

    def run(self, program, *args):
        """timed() figures of one command, with SSH masters of its own that are closed afterwards."""
        self.commands += 1
        control = self.run_dir / "control" / str(self.commands)
        control.mkdir(parents=True)
        argv = [bin_path(program), *self.common, *args, "-e", f"bench_control_dir={control}"]
        try:
            return timed(argv, self.env, self.run_dir)
        finally:
            close_masters(control)


def close_masters(control):
    """Ask every SSH master in the directory to exit (ssh -O exit), so none outlives its command."""
    for socket_path in sorted(control.iterdir()):
        subprocess.run(
            ["ssh", "-o", f"ControlPath={socket_path}", "-O", "exit", "bench-master"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )


def median_run(runs):
    """The run with the median wall time (the lower middle one of an even count), all walls beside it."""
    chosen = sorted(runs, key=lambda run: run["s"])[(len(runs) - 1) // 2]
    return dict(chosen, all_s=[run["s"] for run in runs])


def measure(count, forks, sshd, work, *, plain_max, slices_max, repeat=1):
    run_dir = work / f"fleet-{count}"
    run_dir.mkdir(parents=True)
    fleet = SimulatedFleet(count, forks, sshd, run_dir)
    figures = {"hosts": count, "forks": forks}

    reports = run_dir / "reports"
    audit = ["kdump.fleet.audit", "-e", f"kdump_audit_report_dir={reports}"]
    audit += ["-e", "kdump_audit_min_ready_percent=0"]  # the dev machine is not ready; the run must not fail
    pings, audits = [], []
    for _round in range(repeat):  # alternated, so a machine that slows down weighs on both alike
        pings.append(fleet.run("ansible", "all", "-m", "ansible.builtin.ping"))
        audits.append(fleet.run("ansible-playbook", *audit))
    figures["ping"], figures["audit"] = median_run(pings), median_run(audits)
    figures["reports"] = report_figures(reports)
    if count <= plain_max:
        figures["plain"] = fleet.run("ansible-playbook", str(PLAIN_PLAYBOOK))
    # A check that slicing loses nothing, not a timing: above slices_max it would only double the run.
    figures["slices"] = sliced(count, fleet, reports) if count <= slices_max else None
    return figures


def report_figures(reports):
    """Sizes of the audit's reports, and the time to write all four again from its JSON."""
    document = json.loads((reports / _audit_reports.FILE_NAMES["json"]).read_text())
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as again:
        _audit_reports.write_reports(document, again)
    return {
        "write_s": round(time.perf_counter() - started, 2),
        "bytes": {fmt: (reports / name).stat().st_size for fmt, name in _audit_reports.FILE_NAMES.items()},
    }


def sliced(count, fleet, unsliced):
    """Audit the hosts in SLICES slices (every SLICES-th host, as AWX cuts them), merge, compare."""
    hosts = [f"sim{i:05d}" for i in range(count)]
    slice_dirs = []
    for index in range(SLICES):
        limit = fleet.run_dir / f"slice-{index}.limit"
        limit.write_text("\n".join(hosts[index::SLICES]) + "\n")
        directory = fleet.run_dir / "slices" / f"slice-{index}"
        args = ["kdump.fleet.audit", "--limit", f"@{limit}"]
        args += ["-e", f"kdump_audit_report_dir={directory}", "-e", "kdump_audit_min_ready_percent=0"]
        fleet.run("ansible-playbook", *args)
        slice_dirs.append(directory)
    merged = fleet.run_dir / "merged"
    argv = [bin_path("ansible-playbook"), "kdump.fleet.audit_merge", "-e", f"kdump_audit_report_dir={merged}"]
    argv += ["-e", json.dumps({"kdump_audit_merge_reports": [str(d / "kdump-audit.json") for d in slice_dirs]})]
    argv += ["-e", "kdump_audit_min_ready_percent=0", "-e", f"kdump_audit_merge_expected_slices={SLICES}"]
    merge = timed(argv, fleet.env, fleet.run_dir)  # on the controller only: no SSH
    rc = merge["rc"]

    def comparable(path):
        """The report without its timestamp and the one reading a live machine changes between two runs."""
        report = json.loads(path.read_text())
        report.pop("generated")
        for host in report["hosts"]:
            for facts in [host.get("facts")] + [check.get("facts") for check in host["checks"]]:
                if isinstance(facts, dict) and isinstance(facts.get("storage"), dict):
                    facts["storage"].pop("free_bytes", None)  # the dump directory's file system fills
            for check in host["checks"]:  # ... and the storage check's finding quotes it
                if isinstance(check.get("finding"), str):
                    check["finding"] = FREE_SPACE.sub("<free> free at", check["finding"])
        return report

    merged_report = comparable(merged / "kdump-audit.json") if rc == 0 else None
    whole = comparable(unsliced / "kdump-audit.json")
    equal = rc == 0 and merged_report == whole
    return {
        "merge_s": merge["s"],
        "merge_rss_mib": merge["rss_mib"],
        "merge_rc": rc,
        "equal_to_unsliced": equal,
        # Where they differ, so a False can be read (the runs' temporary directory is gone afterwards).
        "differences": [] if equal or merged_report is None else differences(merged_report, whole),
    }


# "74.4 GiB free at /var/crash": the storage check's reading of this machine's disk.
FREE_SPACE = re.compile(r"[0-9.]+ [KMGTP]?i?B free at")


def differences(merged, whole, path="", limit=10):
    """Up to ``limit`` 'path: merged != whole' lines; hosts are matched by name, not by list position."""
    found = []

    def walk(a, b, where):
        if len(found) >= limit:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b), key=str):
                walk(a.get(key, "<missing>"), b.get(key, "<missing>"), f"{where}.{key}" if where else str(key))
        elif isinstance(a, list) and isinstance(b, list) and all(isinstance(x, dict) and "host" in x for x in a + b):
            by_host_a, by_host_b = {x["host"]: x for x in a}, {x["host"]: x for x in b}
            for host in sorted(set(by_host_a) | set(by_host_b)):
                walk(by_host_a.get(host, "<missing>"), by_host_b.get(host, "<missing>"), f"{where}[{host}]")
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for index, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, f"{where}[{index}]")
        elif a != b:
            found.append(f"{where}: {str(a)[:120]} != {str(b)[:120]}")

    walk(merged, whole, path)
    return found


def render_table(runs):
    lines = [
        f"{'hosts':>6} {'forks':>5} {'ping s':>8} {'audit s':>8} {'plain s':>8} {'audit/ping':>10} "
        f"{'plain/audit':>11} {'peak MiB':>9} {'write s':>8} {'json MiB':>9} {'sliced = whole':>15}"
    ]
    for run in runs:
        ping, audit, plain = run["ping"]["s"], run["audit"]["s"], (run.get("plain") or {}).get("s")
        sliced_cell = str(run["slices"]["equal_to_unsliced"]) if run.get("slices") else "-"
        lines.append(
            f"{run['hosts']:>6} {run['forks']:>5} {ping:>8} {audit:>8} {plain if plain else '-':>8} "
            f"{audit / ping:>10.2f} {(plain / audit if plain else float('nan')):>11.1f} "
            f"{run['audit']['rss_mib']:>9} {run['reports']['write_s']:>8} "
            f"{run['reports']['bytes']['json'] / 1048576:>9.1f} {sliced_cell:>15}"
        )
    return "\n".join(lines)


def render_cpu_table(runs):
    """CPU milliseconds per host, the controller's against the simulated hosts' side, per command.

    On one machine both sides share the cores, so the audit's extra wall time over ping is
    explained here: whichever side's milliseconds grew.
    """
    lines = [f"{'hosts':>6} {'run':>6} {'wall s':>8} {'controller ms/host':>19} {'hosts ms/host':>14}"]
    for run in runs:
        for name in ("ping", "audit", "plain"):
            figures = run.get(name)
            if not figures or "controller_cpu_s" not in figures:
                continue
            per_host = 1000.0 / run["hosts"]
            lines.append(
                f"{run['hosts']:>6} {name:>6} {figures['s']:>8} {figures['controller_cpu_s'] * per_host:>19.1f} "
                f"{figures['hosts_cpu_s'] * per_host:>14.1f}"
            )
    return "\n".join(lines)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="bench/run.py fleet", description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, action="append", help="fleet size (repeat; default 20 and 200)")
    parser.add_argument("--forks", type=int, default=20)
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run ping and the audit this many times each, alternated, and keep the median (default 1)",
    )
    parser.add_argument(
        "--plain-max-hosts", type=int, default=20, help="run the plain playbook up to this size (default 20)"
    )
    parser.add_argument(
        "--slices-max-hosts",
        type=int,
        default=200,
        help="check the three merged slices against the unsliced report up to this size (default 200)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be 1 or more")
    args.hosts = args.hosts or [20, 200]
    return args


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    if not Path(SSHD).exists():
        print(f"{SSHD} is missing: make bench installs openssh-server (its service is not started)")
        return 2
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    with tempfile.TemporaryDirectory(prefix="kdump-fleet-bench-") as tmp:
        work = Path(tmp)
        sshd = LoopbackSshd(work).start()
        try:
            runs = [
                measure(
                    count,
                    args.forks,
                    sshd,
                    work,
                    plain_max=args.plain_max_hosts,
                    slices_max=args.slices_max_hosts,
                    repeat=args.repeat,
                )
                for count in args.hosts
            ]
        finally:
            sshd.stop()
    out = OUT_DIR / f"fleet_audit-{stamp}.json"
    out.write_text(json.dumps({"runs": runs}, indent=2) + "\n")
    print(render_table(runs))
    print()
    print(render_cpu_table(runs))
    print(f"targets: audit/ping at most {PING_TARGET:.2f}, plain/audit at least {PLAIN_TARGET:.0f}; JSON: {out}")
    failed = [
        r["hosts"] for r in runs if r["audit"]["rc"] != 0 or (r["slices"] and not r["slices"]["equal_to_unsliced"])
    ]
    if failed:
        print(f"the audit failed, or the merged slices differ from the unsliced report, at: {failed}")
        for run in runs:
            for line in (run["slices"] or {}).get("differences", []):
                print(f"  {run['hosts']} hosts, merged != unsliced: {line}")
    return 1 if failed else 0
