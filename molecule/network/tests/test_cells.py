"""The network scenario's clients: kdump loaded as the last run asked, and the crash cells it proved.

A cell is one client crashed with one target type (local, nfs, ssh); round.yml writes its result
to ``$MOLECULE_EPHEMERAL_DIRECTORY/cell-<round>-<host>.json``. The dump server is no kdump client:
its tests are skipped here and its files are looked at through its own testinfra host.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import testinfra

EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"))
SERVER = "kdump-dumps"
DUMP_ROOT = "/srv/kdump/dumps"
ROUNDS = ("local", "network", "swapped")
# faults.yml writes fault-<fault>-<host>.json: a crash into a broken dump server, which must fail clearly.


@pytest.fixture
def client(host):
    name = host.backend.get_hostname()
    if name == SERVER:
        pytest.skip("the dump server is not a kdump client")
    return name


@pytest.fixture
def expected(client) -> dict:
    return json.loads((EPHEMERAL / f"expected-{client}.json").read_text())


@pytest.fixture
def cells(client) -> dict:
    found = {r: EPHEMERAL / f"cell-{r}-{client}.json" for r in ROUNDS}
    if not all(path.exists() for path in found.values()):
        pytest.skip("the crash rounds have not all run yet")
    return {r: json.loads(path.read_text()) for r, path in found.items()}


@pytest.fixture(scope="module")
def server():
    return testinfra.get_host(f"ansible://{SERVER}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])


def test_capture_kernel_is_loaded_with_the_asked_reservation(host, expected):
    assert host.file("/sys/kernel/kexec_crash_loaded").content_string.strip() == "1"
    assert int(host.file("/sys/kernel/kexec_crash_size").content_string) == expected["reserved_bytes"]
    assert f"crashkernel={expected['crashkernel']}" in host.file("/proc/cmdline").content_string.split()


def test_kdump_tools_says_ready(host, expected):
    assert "ready to kdump" in host.check_output("kdump-config status")


def test_every_target_type_was_crash_proven(client, cells):
    assert sorted(cell["target"]["type"] for cell in cells.values()) == ["local", "nfs", "ssh"]
    for cell in cells.values():
        result = cell["result"]
        assert not result.get("failed"), result.get("msg")
        assert result["crashed"] and result["dump_path"]


def test_network_dumps_are_on_the_server_and_local_ones_on_the_client(host, client, cells, server):
    for cell in cells.values():
        result, kind = cell["result"], cell["target"]["type"]
        if kind == "local":
            assert result["dump"]["server"] is None
            dump = host.file(result["dump_path"])
            assert dump.exists and not dump.is_symlink
            continue
        assert result["dump"]["server"] == SERVER
        assert result["dump_path"].startswith(f"{DUMP_ROOT}/{client}/")
        dump = server.file(result["dump_path"])
        assert dump.is_file
        assert dump.user == "kdump"
        assert dump.mode == 0o600
        assert server.file(os.path.dirname(result["dump_path"])).mode == 0o700
        assert dump.size == result["dump_bytes"]


def test_the_cells_are_printed(client, cells, capsys):
    with capsys.disabled():
        for cell in cells.values():
            result = cell["result"]
            print(
                f"\ncell {client} x {cell['target']['type']}: crash-proven, {result['dump_bytes'] / 1048576:.1f} MiB, "
                f"trigger to dump {result['trigger_to_dump_s']} s, back after {result['trigger_to_up_s']} s"
            )


def test_a_local_dump_directory_is_private_to_root(host, client, cells):
    local = next(cell for cell in cells.values() if cell["target"]["type"] == "local")
    directory = host.file(os.path.dirname(os.path.dirname(local["result"]["dump_path"])))
    assert directory.is_directory and directory.user == "root" and directory.mode == 0o700
    assert host.file(local["result"]["dump_path"]).mode == 0o600


def test_the_evidence_on_the_client_is_its_last_crash_test(host, client, cells):
    evidence = json.loads(host.file("/var/lib/kdump-fleet/last-crash-test.json").content_string)
    runs = list(EPHEMERAL.glob(f"cell-*-{client}.json")) + list(EPHEMERAL.glob(f"fault-*-{client}.json"))
    last = json.loads(max(runs, key=lambda path: path.stat().st_mtime).read_text())["result"]
    assert evidence["time"] == last["trigger_time"]
    if last.get("failed"):  # a fault was the last crash test
        assert evidence["result"] == "failed" and evidence["dump_path"] is None
        return
    assert evidence["result"] == "success"
    assert evidence["dump_path"] == last["dump_path"]
    assert evidence["dump_server"] == last["dump"]["server"]


def test_each_fault_ended_in_a_clear_failure_within_the_timeout(client, capsys):
    faults = sorted(EPHEMERAL.glob(f"fault-*-{client}.json"))
    if not faults:
        pytest.skip("faults.yml has not run")
    for path in faults:
        fault = json.loads(path.read_text())
        result = fault["result"]
        assert result["failed"] and result["crashed"]
        assert "no new dump appeared in" in result["msg"] and SERVER in result["msg"]
        assert result["trigger_to_up_s"] <= 900
        with capsys.disabled():
            kind, back = fault["target"]["type"], result["trigger_to_up_s"]
            print(f"\nfault {client} x {kind} ({fault['fault']}): back after {back} s; {result['msg']}")
