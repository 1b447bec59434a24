"""The pure parts of bench/fleet_audit.py: the inventory, the sshd config, the table, the arguments."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import fleet_audit as bench  # noqa: E402


def test_every_host_gets_its_own_connection_to_the_loopback_sshd(tmp_path):
    sshd = bench.LoopbackSshd(tmp_path)
    text = bench.inventory_text(3, sshd)
    assert text.splitlines()[:4] == ["[sim]", "sim00000", "sim00001", "sim00002"]
    assert "ansible_host=127.0.0.1" in text and f"ansible_port={sshd.port}" in text
    # Each command passes its own bench_control_dir: no master outlives the command that opened it.
    assert "-o ControlPath={{ bench_control_dir }}/{{ inventory_hostname }}'" in text


def test_the_sshd_listens_on_loopback_only(tmp_path):
    config = bench.LoopbackSshd(tmp_path).config().splitlines()
    assert [line for line in config if line.startswith("ListenAddress")] == ["ListenAddress 127.0.0.1"]
    assert "PasswordAuthentication no" in config and f"AuthorizedKeysFile {tmp_path / 'authorized_keys'}" in config


def test_the_table_prints_the_ratios():
    run = {
        "hosts": 200,
        "forks": 20,
        "ping": {"s": 141.0},
        "audit": {"s": 145.0, "rss_mib": 180.5},
        "reports": {"write_s": 1.2, "bytes": {"json": 3 * 1048576}},
        "slices": {"equal_to_unsliced": True},
    }
    lines = bench.render_table([run, dict(run, hosts=20, plain={"s": 1450.0})]).splitlines()
    assert lines[1].split() == ["200", "20", "141.0", "145.0", "-", "1.03", "nan", "180.5", "1.2", "3.0", "True"]
    assert lines[2].split()[4:7] == ["1450.0", "1.03", "10.0"]
    unchecked = bench.render_table([dict(run, hosts=1000, slices=None)]).splitlines()[1].split()
    assert unchecked[0] == "1000" and unchecked[-1] == "-"  # above --slices-max-hosts: not checked


def test_arguments_default_to_20_and_200_hosts_and_plain_up_to_20():
    args = bench.parse_args([])
    assert (args.hosts, args.forks, args.plain_max_hosts, args.slices_max_hosts) == ([20, 200], 20, 20, 200)


def test_differences_match_hosts_by_name_and_name_the_path():
    whole = {"generated": 1, "hosts": [{"host": "a", "status": "ready"}, {"host": "b", "status": "ready"}]}
    merged = {"generated": 1, "hosts": [{"host": "b", "status": "not_ready"}, {"host": "a", "status": "ready"}]}
    assert bench.differences(merged, whole) == ["hosts[b].status: not_ready != ready"]
    assert bench.differences(whole, whole) == []
    assert bench.differences({"x": [1, 2]}, {"x": [1]}) == ["x: [1, 2] != [1]"]


def test_the_cpu_table_gives_milliseconds_per_host_for_each_side():
    run = {
        "hosts": 200,
        "ping": {"s": 70.0, "controller_cpu_s": 60.0, "hosts_cpu_s": 80.0},
        "audit": {"s": 79.0, "controller_cpu_s": 64.0, "hosts_cpu_s": 92.0},
    }
    lines = bench.render_cpu_table([run]).splitlines()
    assert lines[1].split() == ["200", "ping", "70.0", "300.0", "400.0"]
    assert lines[2].split() == ["200", "audit", "79.0", "320.0", "460.0"]
    assert len(lines) == 3  # no plain run: no row


def test_busy_cpu_seconds_grows_with_work():
    before = bench.busy_cpu_seconds()
    sum(range(3_000_000))
    assert bench.busy_cpu_seconds() > before


def test_the_median_run_is_kept_with_every_wall_time_beside_it():
    runs = [{"s": 80.0, "rc": 0}, {"s": 70.0, "rc": 0}, {"s": 75.0, "rc": 1}]
    assert bench.median_run(runs) == {"s": 75.0, "rc": 1, "all_s": [80.0, 70.0, 75.0]}
    assert bench.median_run([{"s": 2.0}, {"s": 1.0}])["s"] == 1.0  # even count: the lower middle
    assert bench.median_run([{"s": 3.0}]) == {"s": 3.0, "all_s": [3.0]}


def test_repeat_defaults_to_one():
    assert bench.parse_args([]).repeat == 1 and bench.parse_args(["--repeat", "3"]).repeat == 3
