"""What a controlled crash test must leave on the host (runs on the lab VMs after crash_test.yml).

The tests only assert after the crash-test side effect ran: it writes
``$MOLECULE_EPHEMERAL_DIRECTORY/crash-test-<host>.json`` (the task result); the
verify steps before it skip them.
"""

from __future__ import annotations

import json
import os
import posixpath
import shlex
from pathlib import Path

import pytest

EVIDENCE_PATH = "/var/lib/kdump-fleet/last-crash-test.json"


@pytest.fixture
def crash_result(host) -> dict:
    name = host.backend.get_hostname()
    marker = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / f"crash-test-{name}.json"
    if not marker.exists():
        pytest.skip("the crash-test side effect has not run yet")
    return json.loads(marker.read_text())


@pytest.fixture
def evidence(host, crash_result) -> dict:
    return json.loads(host.file(EVIDENCE_PATH).content_string)


def test_crash_test_task_succeeded(crash_result):
    assert not crash_result.get("failed"), crash_result.get("msg")
    assert crash_result["crashed"] is True
    assert crash_result["boot_id_after"] != crash_result["boot_id_before"]


def test_the_phases_were_seen_in_order(crash_result):
    """The live progress the action printed: each phase with its seconds after the crash."""
    phases = crash_result["phases"]
    assert phases["trigger sent"] < 0 < phases["host down"] < phases["host back"] <= phases["up and stable"]
    assert phases["host back"] == crash_result["trigger_to_up_s"]
    assert phases["dump written"] == crash_result["trigger_to_dump_s"]
    assert phases["dump verified"] >= phases["up and stable"]
    if crash_result["dump"].get("server"):
        # a dump server shows the capture kernel writing while the host is down
        assert phases["host down"] < phases["capture boot"] < phases["host back"]


def test_evidence_record_says_success(host, crash_result, evidence):
    record = host.file(EVIDENCE_PATH)
    assert record.user == "root"
    assert record.mode == 0o600
    assert host.file(posixpath.dirname(EVIDENCE_PATH)).mode == 0o700
    assert evidence["result"] == "success", evidence["message"]
    assert evidence["dump_path"] == crash_result["dump_path"]
    assert evidence["kernel"] == host.check_output("uname -r")


def test_dump_file_is_private_to_root(host, evidence):
    dump = host.file(evidence["dump_path"])
    assert dump.is_file
    assert dump.size == evidence["dump_bytes"] > 0
    assert dump.user == "root"
    # kdump-config writes the dump through a shell redirect in kdump-tools-dump.service;
    # the role's UMask=0077 drop-in makes that 0600 (0644 without it).
    assert dump.mode == 0o600
    directory = host.file(posixpath.dirname(evidence["dump_path"]))
    assert directory.user == "root"
    assert directory.mode == 0o700


def test_makedumpfile_reads_the_dump(host, evidence):
    # Debian's kdump-tools writes flattened dumps (makedumpfile -F): rearrange with -R first.
    dump = shlex.quote(evidence["dump_path"])
    script = (
        "set -e; work=$(mktemp -d /var/tmp/lab-dump-check.XXXXXX); trap 'rm -rf \"$work\"' EXIT; "
        f'if [ "$(head -c 12 {dump} | tr -cd A-Za-z)" = makedumpfile ]; then '
        f'makedumpfile -R "$work/vmcore" < {dump}; src="$work/vmcore"; else src={dump}; fi; '
        'makedumpfile --dump-dmesg "$src" "$work/dmesg"; tail -n 200 "$work/dmesg"'
    )
    result = host.run("sh -c " + shlex.quote(script))
    assert result.rc == 0, result.stderr
    assert "sysrq triggered crash" in result.stdout
