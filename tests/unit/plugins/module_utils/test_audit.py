"""Tests of the readiness check catalogue (_readiness.py) and the fleet evaluation (_fleet_audit.py)."""

from __future__ import annotations

import copy
import datetime
import json
import pathlib
import typing

import pytest
import yaml
from ansible_collections.kdump.fleet.plugins.module_utils import _fleet_audit, _host_state, _readiness
from ansible_collections.kdump.fleet.plugins.module_utils._fleet_audit import (
    DEFAULT_SETTINGS,
    DEGRADED,
    NOT_READY,
    READY,
    AuditSettingsError,
    evaluate_fleet,
    evaluate_host,
    validate_settings,
)
from ansible_collections.kdump.fleet.plugins.module_utils._readiness import (
    ADVISORY,
    CATALOGUE,
    CHECK_IDS,
    FAIL,
    NOT_APPLICABLE,
    PASS,
    REQUIRED,
    UNKNOWN,
    format_bytes,
    parse_time,
)
from conftest import load_fixture

ROLE = pathlib.Path(__file__).resolve().parents[4] / "roles" / "audit"
NOW = datetime.datetime(2026, 11, 22, 12, 0, tzinfo=datetime.UTC)
GIB = 1024**3
MIB = 1024**2


def full(record, **fields):
    """A record of the host state schema with every field, those not given null."""
    return dict(dict.fromkeys(typing.get_type_hints(record)), **fields)


def target(**fields):
    return full(_host_state.Target, **fields)


def dump_item(**fields):
    return full(_host_state.Dump, **fields)


def ready_info():
    """kdump_info's `kdump` state of a healthy Debian 12 host, in the schema of _host_state."""
    return {
        "state_version": 1,
        "tool_status": {
            "command": "kdump-config status",
            "ready": True,
            "state": "ready to kdump",
            "messages": ["current state   : ready to kdump"],
        },
        "family": "debian",
        "distribution": {"id": "debian", "version": "12", "codename": "bookworm"},
        "kernel": "6.1.0-28-amd64",
        "backend": {"bootloader": "grub_dropin", "config_format": "kdump_tools"},
        "packages": {"kdump-tools": "1:1.8.1", "makedumpfile": "1:1.7.2-1", "kexec-tools": "1:2.0.25-3+b1"},
        "tools_installed": True,
        "service": {
            "name": "kdump-tools",
            "exists": True,
            "enabled": True,
            "active": True,
            "masked": False,
            "unit_file_state": "enabled",
        },
        "crashkernel": {
            "cmdline": "256M",
            "configured": "256M",
            "reserved_bytes": 256 * MIB,
            "reserved_source": "kexec_crash_size",
            "kexec_crash_size": 256 * MIB,
            "loaded": True,
            "iomem": {"start": 0x5F000000, "end": 0x6EFFFFFF, "size": 256 * MIB},
            "recommended": "256M",
            "recommended_bytes": 256 * MIB,
            "cma_bytes": None,
        },
        "sysctl": {"kexec_load_disabled": 0, "sysrq": 438, "panic_on_oops": 0},
        "config": {
            "path": "/etc/default/kdump-tools",
            "exists": True,
            "mtime": 1795000000.0,
            "target": target(type="local", path="/var/crash"),
            "collector": {
                "command": "makedumpfile -c -d 31 -F",
                "tool": "makedumpfile",
                "dump_level": 31,
                "compression": "zlib",
                "flattened": True,
                "extra_args": [],
            },
            "dump_dmesg": True,
            "failure_action": "reboot",
            "final_action": "reboot",
            "keep_dumps": 0,
            "errors": [],
            "target_reachable": None,
            "target_probe": None,
        },
        "initrd": {
            "path": "/var/lib/kdump/initrd.img-6.1.0-28-amd64",
            "exists": True,
            "mtime": 1795000100.0,
            "stale": False,
        },
        # A newer kernel installed after kdump was set up, covered: the one a reboot starts.
        "kernels": {
            "installed": [
                installed_kernel("6.1.0-28-amd64", running=True),
                installed_kernel("6.1.0-29-amd64", default=True),
            ],
            "default": "6.1.0-29-amd64",
            "source": "/boot/grub/grub.cfg",
            # kdump-tools builds it at boot too; the cases below also take a service that does not.
            "capture_initrd_built_at_boot": False,
        },
        "storage": {"path": "/var/crash", "exists": True, "free_bytes": 10 * GIB, "total_bytes": 40 * GIB},
        "dumps": {
            "path": "/var/crash",
            "count": 1,
            "items": [
                {
                    "path": "/var/crash/202611011000/dump.202611011000",
                    "mtime": 1793527200.0,
                    "size": 28700000,
                    "mode": "0600",
                    "dir_mode": "0700",
                    "world_readable": False,
                    "group_readable": False,
                }
            ],
            "newest": None,
            "world_readable_count": 0,
            "group_readable_count": 0,
        },
        "memory": {"bytes": 2 * GIB, "source": "iomem", "total_bytes": 2062053376, "system_ram_bytes": 2 * GIB},
        "crash_test": {
            "version": 1,
            "time": "2026-11-01T10:00:00+00:00",
            "kernel": "6.1.0-28-amd64",
            "result": "success",
            "dump_path": "/var/crash/202611011000",
            "dump_bytes": 28700000,
            "ram_bytes": 2 * GIB,
            "trigger_to_dump_s": 80,
            "trigger_to_up_s": 138,
            "message": "dump saved",
        },
        "errors": [],
    }


# kdump_info's state recorded on the development machine (no kdump-tools, no crashkernel=, no systemd
# as PID 1); see fixtures/kdump_info/SOURCE.md.
DEV_MACHINE_INFO = json.loads(load_fixture("kdump_info", "dev-controller-debian12.json"))


def run_check(check_id, info, **overrides):
    settings = validate_settings(overrides)
    state, problems = _readiness.conformed(info)
    outcome = _readiness.evaluate(_readiness.CHECKS_BY_ID[check_id], state, problems, settings, NOW)
    assert outcome.result in _readiness.RESULTS
    return outcome


def mutated(change):
    info = ready_info()
    change(info)
    return info


def installed_kernel(release, running=False, default=False, **changes):
    kernel = {
        "release": release,
        "running": running,
        "default": default,
        "boot_entry": True,
        "crashkernel": "256M",
        "capture_initrd": "/var/lib/kdump/initrd.img-" + release,
        "capture_initrd_exists": True,
    }
    kernel.update(changes)
    return kernel


def setter(*path_and_value):
    *path, value = path_and_value

    def change(info):
        node = info
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


def deleter(*path):
    def change(info):
        node = info
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return change


def both(*changes):
    def change(info):
        for one in changes:
            one(info)

    return change


def as_dumps(*items):
    dumps = {"path": "/var/crash", "count": len(items), "items": [dump_item(**i) for i in items], "newest": None}
    dumps.update(world_readable_count=0, group_readable_count=0)
    return setter("dumps", dumps)


# --- every check on the ready host -----------------------------------------------------------------


def test_ready_host_passes_every_check_and_is_ready():
    record = evaluate_host("web1", ready_info(), validate_settings(), NOW)
    results = {check["id"]: check["result"] for check in record["checks"]}
    # KDUMP-010 has nothing to probe for a local target.
    assert results == {**dict.fromkeys(CHECK_IDS, PASS), "KDUMP-010": NOT_APPLICABLE}
    assert record["status"] == READY
    assert record["reasons"] == []
    assert record["facts"]["kernel"] == "6.1.0-28-amd64"
    assert all(check["remediation"] == "" for check in record["checks"])


# (check, change to the ready host, expected result, text the finding must contain)
CASES = [
    # KDUMP-001 tools
    ("KDUMP-001", setter("packages", "kdump-tools", None), PASS, "makedumpfile 1:1.7.2-1"),
    (
        "KDUMP-001",
        both(setter("tools_installed", False), setter("packages", "kdump-tools", None)),
        FAIL,
        "missing: kdump-tools",
    ),
    ("KDUMP-001", setter("tools_installed", None), UNKNOWN, "tools_installed"),
    ("KDUMP-001", deleter("tools_installed"), UNKNOWN, "tools_installed"),
    # KDUMP-002 service
    ("KDUMP-002", setter("service", "exists", False), FAIL, "does not exist"),
    (
        "KDUMP-002",
        both(setter("service", "enabled", False), setter("service", "unit_file_state", "disabled")),
        FAIL,
        "not enabled (unit file state: disabled)",
    ),
    ("KDUMP-002", setter("service", "active", False), FAIL, "kdump-tools is not active"),
    ("KDUMP-002", setter("service", "active", None), UNKNOWN, "enabled and active"),
    ("KDUMP-002", deleter("service"), UNKNOWN, "service: missing"),
    # Wrong types never read as healthy (issue 12): a string "true" is not a bool.
    ("KDUMP-002", setter("service", "active", "yes"), UNKNOWN, "service.active: expected bool, got str"),
    # KDUMP-003 crashkernel= on the running command line
    ("KDUMP-003", setter("crashkernel", "cmdline", None), FAIL, "boot config has crashkernel=256M"),
    (
        "KDUMP-003",
        both(setter("crashkernel", "cmdline", None), setter("crashkernel", "configured", None)),
        FAIL,
        "neither",
    ),
    ("KDUMP-003", deleter("crashkernel", "cmdline"), UNKNOWN, "crashkernel.cmdline: missing"),
    # KDUMP-004 memory reserved
    (
        "KDUMP-004",
        both(setter("crashkernel", "reserved_bytes", 0), setter("crashkernel", "iomem", None)),
        FAIL,
        "could not reserve it",
    ),
    # kexec_crash_size unreadable: kdump_info took the size from the iomem region.
    (
        "KDUMP-004",
        both(setter("crashkernel", "kexec_crash_size", None), setter("crashkernel", "reserved_source", "iomem")),
        PASS,
        "256 MiB reserved for the capture kernel (from the /proc/iomem Crash kernel region)",
    ),
    (
        "KDUMP-004",
        both(
            setter("crashkernel", "reserved_bytes", 0),
            setter("crashkernel", "reserved_source", "iomem_none"),
            setter("crashkernel", "iomem", None),
        ),
        FAIL,
        "no Crash kernel region",
    ),
    ("KDUMP-004", setter("crashkernel", "reserved_bytes", None), UNKNOWN, "reserved size"),
    ("KDUMP-004", setter("crashkernel", "reserved_bytes", float("inf")), UNKNOWN, "expected int, got float inf"),
    # KDUMP-005 at least the recommended size
    ("KDUMP-005", setter("crashkernel", "reserved_bytes", 128 * MIB), FAIL, "128 MiB reserved is below the 256 MiB"),
    ("KDUMP-005", setter("crashkernel", "reserved_bytes", 0), NOT_APPLICABLE, "KDUMP-004"),
    ("KDUMP-005", setter("crashkernel", "recommended_bytes", None), UNKNOWN, "recommended"),
    # A crashkernel=Y,cma area (Linux 6.16+) is capture-kernel memory on top of the reservation.
    (
        "KDUMP-005",
        both(setter("crashkernel", "reserved_bytes", 128 * MIB), setter("crashkernel", "cma_bytes", 128 * MIB)),
        PASS,
        "128 MiB plus 128 MiB of CMA reserved, recommended for this host: 256 MiB",
    ),
    (
        "KDUMP-005",
        both(setter("crashkernel", "reserved_bytes", 64 * MIB), setter("crashkernel", "cma_bytes", 128 * MIB)),
        FAIL,
        "64 MiB plus 128 MiB of CMA reserved is below the 256 MiB recommended",
    ),
    (
        "KDUMP-005",
        both(setter("crashkernel", "reserved_bytes", 0), setter("crashkernel", "cma_bytes", GIB)),
        NOT_APPLICABLE,
        "KDUMP-004",
    ),
    # KDUMP-006 not far above the recommended size
    ("KDUMP-006", setter("crashkernel", "reserved_bytes", 1024 * MIB), PASS, "within 4x"),
    ("KDUMP-006", setter("crashkernel", "reserved_bytes", 1025 * MIB), FAIL, "more than 4x the recommended 256 MiB"),
    ("KDUMP-006", setter("crashkernel", "reserved_bytes", 0), NOT_APPLICABLE, "KDUMP-004"),
    ("KDUMP-006", deleter("crashkernel"), UNKNOWN, "crashkernel: missing"),
    # KDUMP-007 capture kernel loaded
    ("KDUMP-007", setter("crashkernel", "loaded", False), FAIL, "no capture kernel is loaded"),
    ("KDUMP-007", setter("crashkernel", "loaded", None), UNKNOWN, "kexec_crash_loaded"),
    ("KDUMP-007", setter("crashkernel", "loaded", "false"), UNKNOWN, "crashkernel.loaded: expected bool"),
    ("KDUMP-007", setter("crashkernel", "loaded", [1]), UNKNOWN, "crashkernel.loaded: expected bool"),
    (
        "KDUMP-007",
        both(setter("crashkernel", "loaded", None), setter("crashkernel", "reserved_bytes", 0)),
        FAIL,
        "no memory is reserved",
    ),
    # KDUMP-008 initrd newer than the config
    # kdump_info compares the times once; the check takes its answer.
    ("KDUMP-008", setter("initrd", "stale", True), FAIL, "which it is built from"),
    ("KDUMP-008", setter("initrd", "exists", False), FAIL, "does not exist"),
    ("KDUMP-008", setter("config", "exists", False), NOT_APPLICABLE, "KDUMP-009"),
    ("KDUMP-008", setter("initrd", "stale", None), UNKNOWN, "what it is built from"),
    ("KDUMP-008", setter("initrd", None), UNKNOWN, "initrd"),
    # KDUMP-009 dump target configured
    ("KDUMP-009", setter("config", "exists", False), FAIL, "/etc/default/kdump-tools does not exist"),
    ("KDUMP-009", setter("config", "errors", ["NFS and SSH are both set"]), FAIL, "NFS and SSH are both set"),
    ("KDUMP-009", setter("config", "target", None), FAIL, "no dump target"),
    ("KDUMP-009", setter("config", "target", target(type="nfs", location=None)), FAIL, "nfs dump target"),
    (
        "KDUMP-009",
        setter("config", "target", target(type="nfs", location="nfs1:/crash", host="nfs1")),
        PASS,
        "nfs nfs1:/crash",
    ),
    ("KDUMP-009", setter("config", None), UNKNOWN, "dump config"),
    # KDUMP-010 target reachable
    (
        "KDUMP-010",
        both(
            setter("config", "target", target(type="nfs", location="nfs1:/crash", host="nfs1")),
            setter("config", "target_reachable", True),
        ),
        PASS,
        "nfs target nfs1:/crash (TCP port 2049) is reachable",
    ),
    (
        "KDUMP-010",
        both(
            setter("config", "target", target(type="ssh", location="kdump@dumps", host="dumps")),
            setter("config", "target_reachable", False),
            setter(
                "config",
                "target_probe",
                {"host": "dumps", "port": 22, "reachable": False, "error": "timed out after 3 s", "elapsed_s": 3.0},
            ),
        ),
        FAIL,
        "(TCP port 22) is not reachable from the host: timed out after 3 s",
    ),
    (
        "KDUMP-010",
        setter("config", "target", target(type="ssh", location="kdump@dumps", host="dumps")),
        UNKNOWN,
        "was not probed",
    ),
    ("KDUMP-010", setter("config", "target", target(type="raw", location="/dev/sdb1")), NOT_APPLICABLE, "raw"),
    ("KDUMP-010", setter("config", "target", target(type="dracut_args", location="x")), UNKNOWN, "cannot tell"),
    ("KDUMP-010", setter("config", "exists", False), NOT_APPLICABLE, "KDUMP-009"),
    # KDUMP-011 free space: -d 31 on 2 GiB RAM estimates 0.25 x 2 GiB = 512 MiB
    (
        "KDUMP-011",
        setter("storage", "free_bytes", 500 * MIB),
        FAIL,
        "only 500 MiB free at /var/crash, estimated dump 512 MiB",
    ),
    ("KDUMP-011", setter("storage", "free_bytes", 513 * MIB), PASS, "at dump level 31"),
    # ... unless the last real dump was bigger (Debian 13 wrote 834 MiB of a 2 GiB guest at -d 31)
    (
        "KDUMP-011",
        both(setter("storage", "free_bytes", 700 * MIB), setter("crash_test", "dump_bytes", 834 * MIB)),
        FAIL,
        "estimated dump 834 MiB (the size of the last crash-test dump, larger than 0.25 x 2 GiB RAM",
    ),
    (
        "KDUMP-011",
        both(setter("storage", "free_bytes", 900 * MIB), setter("crash_test", "dump_bytes", 834 * MIB)),
        PASS,
        "the size of the last crash-test dump",
    ),
    (
        "KDUMP-011",
        both(setter("config", "collector", "dump_level", 1), setter("storage", "free_bytes", 1 * GIB)),
        FAIL,
        "estimated dump 2 GiB (1 x 2 GiB RAM at dump level 1)",
    ),
    (
        "KDUMP-011",
        both(setter("storage", "exists", False), setter("storage", "free_bytes", 1 * GIB)),
        PASS,
        "/var/crash (does not exist yet)",
    ),
    (
        "KDUMP-011",
        setter("config", "target", target(type="nfs", location="nfs1:/crash", host="nfs1")),
        NOT_APPLICABLE,
        "nfs",
    ),
    ("KDUMP-011", setter("storage", "free_bytes", None), UNKNOWN, "free space"),
    ("KDUMP-011", setter("storage", None), UNKNOWN, "file system"),
    # KDUMP-012 kexec_load_disabled
    ("KDUMP-012", setter("sysctl", "kexec_load_disabled", 1), FAIL, "a service restart cannot reload it"),
    (
        "KDUMP-012",
        both(setter("sysctl", "kexec_load_disabled", 1), setter("crashkernel", "loaded", False)),
        FAIL,
        "until the next boot",
    ),
    ("KDUMP-012", setter("sysctl", "kexec_load_disabled", None), UNKNOWN, "kexec_load_disabled"),
    # KDUMP-013 masked by a hardening profile
    (
        "KDUMP-013",
        both(setter("service", "masked", True), setter("service", "unit_file_state", "masked")),
        FAIL,
        "hardening rule service_kdump_disabled",
    ),
    ("KDUMP-013", setter("service", "unit_file_state", "masked-runtime"), FAIL, "is masked"),
    ("KDUMP-013", setter("service", "exists", False), NOT_APPLICABLE, "does not exist (see KDUMP-002)"),
    (
        "KDUMP-013",
        both(setter("service", "exists", False), setter("service", "masked", True)),
        FAIL,
        "hardening rule service_kdump_disabled",
    ),
    (
        "KDUMP-013",
        both(setter("service", "masked", None), setter("service", "unit_file_state", None)),
        UNKNOWN,
        "masked",
    ),
    # KDUMP-014 crash-test evidence
    ("KDUMP-014", setter("crash_test", None), FAIL, "/var/lib/kdump-fleet/last-crash-test.json"),
    (
        "KDUMP-014",
        both(
            setter("crash_test", None),
            setter("errors", ["/var/lib/kdump-fleet/last-crash-test.json: not valid JSON: Expecting value"]),
        ),
        FAIL,
        "evidence cannot be used: /var/lib/kdump-fleet/last-crash-test.json: not valid JSON",
    ),
    ("KDUMP-014", setter("crash_test", "time", "2026-08-01T10:00:00Z"), FAIL, "113 days old (limit: 90 days)"),
    ("KDUMP-014", setter("crash_test", "result", "failed"), FAIL, "did not succeed: dump saved"),
    ("KDUMP-014", setter("crash_test", "time", "yesterday"), UNKNOWN, "no valid time"),
    ("KDUMP-014", setter("kernel", "6.1.0-30-amd64"), PASS, "on kernel 6.1.0-28-amd64 (running now: 6.1.0-30-amd64)"),
    ("KDUMP-014", deleter("crash_test"), UNKNOWN, "crash_test: missing"),
    # KDUMP-015 dumps readable by other users (LAB.md: Debian wrote a 0644 dump)
    (
        "KDUMP-015",
        as_dumps({"path": "/var/crash/1/dump.1", "mode": "0644", "dir_mode": "0755", "world_readable": True}),
        FAIL,
        "1 dump file(s) readable by other users or the file's group (1 by others, 0 by the group): "
        "/var/crash/1/dump.1 (mode 0644, readable by others)",
    ),
    (
        "KDUMP-015",
        as_dumps(
            {
                "path": "/var/crash/1/dump.1",
                "mode": "0644",
                "dir_mode": "0700",
                "world_readable": False,
                "group_readable": False,
            }
        ),
        PASS,
        "readable by their owner only",
    ),
    # Group-readable dumps are exposed too (issue 12): kernel memory for every member of the group.
    (
        "KDUMP-015",
        as_dumps(
            {
                "path": "/var/crash/1/dump.1",
                "mode": "0640",
                "dir_mode": "0750",
                "world_readable": False,
                "group_readable": True,
            }
        ),
        FAIL,
        "(mode 0640, readable by group)",
    ),
    ("KDUMP-015", as_dumps({"path": "/var/crash/1/dump.1"}), UNKNOWN, "mode of 1 dump file"),
    ("KDUMP-015", as_dumps(), PASS, "no dumps under /var/crash"),
    (
        "KDUMP-015",
        both(
            as_dumps(
                {
                    "path": "/var/crash/9/dump.9",
                    "mode": "0600",
                    "dir_mode": "0700",
                    "world_readable": False,
                    "group_readable": False,
                }
            ),
            setter("dumps", "world_readable_count", 2),
        ),
        FAIL,
        "2 dump file(s) readable by other users or the file's group (2 by others, 0 by the group): "
        "2 more (older ones, beyond the listed dumps, included)",
    ),
    ("KDUMP-015", setter("dumps", None), UNKNOWN, "existing dumps"),
    # KDUMP-016 a kernel installed later: the reservation and the capture initrd must come with it
    (
        "KDUMP-016",
        setter("kernels", "installed", 1, "crashkernel", None),
        FAIL,
        "after a reboot into it, a crash would not be dumped: 6.1.0-29-amd64 boots without crashkernel= (its boot "
        "entry has none), so nothing is reserved on it - it is the default boot entry",
    ),
    (
        "KDUMP-016",
        setter("kernels", "installed", 1, "capture_initrd_exists", False),
        FAIL,
        "6.1.0-29-amd64 has no capture initrd (/var/lib/kdump/initrd.img-6.1.0-29-amd64), and the kdump service "
        "does not build one when it boots",
    ),
    (
        "KDUMP-016",
        both(
            setter("kernels", "installed", 1, "capture_initrd_exists", False),
            setter("kernels", "capture_initrd_built_at_boot", True),
        ),
        PASS,
        "every other installed kernel (6.1.0-29-amd64) boots with crashkernel= and gets its capture initrd at boot",
    ),
    # a kernel without a boot entry does not boot; the running one is KDUMP-003's and KDUMP-008's
    (
        "KDUMP-016",
        both(
            setter("kernels", "installed", 1, "boot_entry", False),
            setter("kernels", "installed", 1, "crashkernel", None),
        ),
        NOT_APPLICABLE,
        "no installed kernel other than the running one has a boot entry",
    ),
    ("KDUMP-016", setter("kernels", "installed", 0, "crashkernel", None), PASS, "(6.1.0-29-amd64)"),
    ("KDUMP-016", setter("kernels", None), UNKNOWN, "did not report the installed kernels"),
    (
        "KDUMP-015",
        both(
            setter("dumps", None), setter("config", "target", target(type="ssh", location="kdump@dumps", host="dumps"))
        ),
        NOT_APPLICABLE,
        "ssh target",
    ),
]


@pytest.mark.parametrize(
    ("check_id", "change", "expected", "text"),
    CASES,
    ids=[f"{case[0]}-{case[2]}-{i}" for i, case in enumerate(CASES)],
)
def test_check_outcome(check_id, change, expected, text):
    outcome = run_check(check_id, mutated(change))
    assert outcome.result == expected, outcome.finding
    assert text in outcome.finding


def test_every_check_has_fail_and_unknown_cases():
    # Passing is covered for every check by the ready host above.
    seen = {(case[0], case[2]) for case in CASES}
    missing = [(c.id, r) for c in CATALOGUE[1:] for r in (FAIL, UNKNOWN) if (c.id, r) not in seen]
    assert missing == []


def test_many_exposed_dumps_are_summarised():
    items = [
        {"path": f"/var/crash/{i}/dump.{i}", "mode": "0644", "world_readable": True, "group_readable": True}
        for i in range(5)
    ]
    outcome = run_check("KDUMP-015", mutated(as_dumps(*items)))
    assert outcome.result == FAIL
    assert "5 dump file(s)" in outcome.finding and "and 2 more" in outcome.finding
    assert len(outcome.facts["exposed"]) == 5


def test_thresholds_come_from_the_settings():
    info = mutated(setter("crashkernel", "reserved_bytes", 1025 * MIB))
    assert run_check("KDUMP-006", info, reserved_max_ratio=5.0).result == PASS
    old = mutated(setter("crash_test", "time", "2026-08-01T10:00:00+00:00"))
    assert run_check("KDUMP-014", old, crash_test_max_age_days=120).result == PASS
    tight = mutated(setter("storage", "free_bytes", 600 * MIB))
    assert run_check("KDUMP-011", tight).result == PASS
    assert run_check("KDUMP-011", tight, dump_ratio_filtered=0.3).result == FAIL


# --- host status -----------------------------------------------------------------------------------


def status_of(info, **overrides):
    return evaluate_host("h", info, validate_settings(overrides), NOW)


def test_failed_required_check_makes_the_host_not_ready():
    record = status_of(mutated(setter("crashkernel", "loaded", False)))
    assert record["status"] == NOT_READY
    assert record["reasons"] == [
        "KDUMP-007 no capture kernel is loaded (kexec_crash_loaded = 0): a crash now would not be dumped"
    ]
    failed = [c for c in record["checks"] if c["result"] == FAIL]
    assert failed[0]["severity"] == REQUIRED
    assert "kdump.fleet.kdump" in failed[0]["remediation"]


def test_failed_advisory_check_makes_the_host_degraded():
    record = status_of(mutated(setter("crash_test", None)))
    assert record["status"] == DEGRADED
    assert record["reasons"] == ["KDUMP-014 no crash-test evidence (/var/lib/kdump-fleet/last-crash-test.json)"]
    assert record["counts"] == {PASS: 15, FAIL: 1, UNKNOWN: 0, NOT_APPLICABLE: 1, "excepted": 0}


def test_required_failures_are_listed_before_advisory_ones():
    info = mutated(both(setter("crash_test", None), setter("service", "active", False)))
    record = status_of(info)
    assert [reason.split()[0] for reason in record["reasons"]] == ["KDUMP-002", "KDUMP-014"]


def test_unknown_required_check_makes_the_host_degraded_or_not_ready_by_setting():
    info = mutated(setter("sysctl", "kexec_load_disabled", None))
    assert status_of(info)["status"] == DEGRADED
    assert status_of(info, unknown_status=NOT_READY)["status"] == NOT_READY
    assert status_of(info)["reasons"] == ["KDUMP-012 kdump_info did not report kernel.kexec_load_disabled"]


def test_unknown_advisory_check_leaves_the_host_ready():
    record = status_of(mutated(setter("crash_test", "time", "garbage")))
    assert record["status"] == READY
    assert [c["result"] for c in record["checks"] if c["id"] == "KDUMP-014"] == [UNKNOWN]
    assert record["reasons"] == []


def test_required_checks_setting_moves_a_check_between_severities():
    info = mutated(setter("crash_test", None))
    record = status_of(info, required_checks=DEFAULT_SETTINGS["required_checks"] + ["KDUMP-014"])
    assert record["status"] == NOT_READY
    info = mutated(setter("service", "active", False))
    assert status_of(info, required_checks=["KDUMP-001"])["status"] == DEGRADED


def test_disabled_check_is_not_applicable_and_cannot_fail():
    record = status_of(mutated(setter("crash_test", None)), disabled_checks=["KDUMP-014"])
    check = next(c for c in record["checks"] if c["id"] == "KDUMP-014")
    assert check["result"] == NOT_APPLICABLE
    assert check["finding"] == "disabled by kdump_audit_disabled_checks"
    assert record["status"] == READY


def test_missing_info_is_unknown_everywhere_and_never_crashes():
    record = evaluate_host("h", {}, validate_settings(), NOW)
    results = {c["id"]: c["result"] for c in record["checks"]}
    assert results["KDUMP-000"] == PASS
    assert {results[i] for i in CHECK_IDS[1:]} == {UNKNOWN}
    assert record["status"] == DEGRADED
    assert evaluate_host("h", None, validate_settings(), NOW)["status"] == DEGRADED


def test_recorded_dev_machine_is_not_ready_for_the_right_reasons():
    record = evaluate_host("localhost", copy.deepcopy(DEV_MACHINE_INFO), validate_settings(), NOW)
    results = {c["id"]: c["result"] for c in record["checks"]}
    assert record["status"] == NOT_READY
    assert results == {
        "KDUMP-000": PASS,
        "KDUMP-001": FAIL,  # kdump-tools not installed
        "KDUMP-002": FAIL,  # no kdump-tools unit
        "KDUMP-003": FAIL,  # no crashkernel= anywhere
        "KDUMP-004": FAIL,  # no Crash kernel region in a readable /proc/iomem
        "KDUMP-005": NOT_APPLICABLE,
        "KDUMP-006": NOT_APPLICABLE,
        "KDUMP-007": FAIL,  # nothing reserved, so nothing can be loaded
        "KDUMP-008": FAIL,
        "KDUMP-009": FAIL,  # no /etc/default/kdump-tools
        "KDUMP-010": NOT_APPLICABLE,
        "KDUMP-011": PASS,  # 76.8 GiB free for an unfiltered 24 GiB estimate
        "KDUMP-012": UNKNOWN,  # /proc/sys/kernel/kexec_load_disabled absent
        "KDUMP-013": NOT_APPLICABLE,  # no unit to mask
        "KDUMP-014": FAIL,
        "KDUMP-015": PASS,
        "KDUMP-016": UNKNOWN,  # recorded before kdump_info reported the installed kernels
    }
    assert record["reasons"][0] == "KDUMP-001 kdump tools are not installed (missing: kdump-tools)"
    free_space = next(c for c in record["checks"] if c["id"] == "KDUMP-011")
    assert free_space["facts"]["dump_level"] is None
    assert free_space["facts"]["estimated_dump_bytes"] == 25769405440


# --- the fleet -------------------------------------------------------------------------------------


def registered(info):
    return {"changed": False, "kdump": info, "failed": False}


def test_fleet_counts_statuses_and_reports_hosts_without_data():
    results = {
        "ready1": registered(ready_info()),
        "degraded1": registered(mutated(setter("crash_test", None))),
        "notready1": registered(mutated(setter("crashkernel", "loaded", False))),
        "unreach1": {"unreachable": True, "msg": "Failed to connect to the host via ssh: timed out", "changed": False},
        "failed1": {
            "failed": False,
            "failed_when_result": False,
            "msg": "Module result deserialization failed: No start of json char found",
            "module_stderr": "/bin/sh: 1: /usr/bin/python3: not found\n",
        },
        "dropped1": None,
    }
    fleet = evaluate_fleet(results, hosts=list(results) + ["never-ran"], now=NOW)
    by_host = {h["host"]: h for h in fleet["hosts"]}
    assert [h["host"] for h in fleet["hosts"]] == sorted(by_host)
    assert {name: h["status"] for name, h in by_host.items()} == {
        "ready1": READY,
        "degraded1": DEGRADED,
        "notready1": NOT_READY,
        "unreach1": NOT_READY,
        "failed1": NOT_READY,
        "dropped1": NOT_READY,
        "never-ran": NOT_READY,
    }
    assert by_host["unreach1"]["reasons"] == ["KDUMP-000 unreachable: Failed to connect to the host via ssh: timed out"]
    assert by_host["failed1"]["reasons"] == [
        "KDUMP-000 kdump_info failed: Module result deserialization failed: No start of json char found; "
        "/bin/sh: 1: /usr/bin/python3: not found"
    ]
    assert by_host["never-ran"]["reasons"][0].startswith("KDUMP-000 unreachable: no kdump_info result")
    # Nothing else is evaluated for a host without data.
    assert [c["id"] for c in by_host["dropped1"]["checks"]] == ["KDUMP-000"]
    assert by_host["dropped1"]["facts"] is None
    summary = fleet["summary"]
    assert (summary["total"], summary["ready"], summary["degraded"], summary["not_ready"]) == (7, 1, 1, 5)
    assert summary["ready_percent"] == 14.3
    assert summary["gate_passed"] is False
    assert summary["checks"]["KDUMP-000"] == {FAIL: 4, UNKNOWN: 0}
    assert summary["checks"]["KDUMP-007"] == {FAIL: 1, UNKNOWN: 0}
    assert fleet["generated"] == "2026-11-22T12:00:00+00:00"
    assert [entry["id"] for entry in fleet["catalogue"]] == list(CHECK_IDS)


def test_skipped_kdump_info_is_reported():
    fleet = evaluate_fleet({"h": {"skipped": True, "skip_reason": "Conditional result was False"}}, now=NOW)
    assert fleet["hosts"][0]["reasons"] == [
        "KDUMP-000 kdump_info was skipped on this host: Conditional result was False"
    ]


@pytest.mark.parametrize(
    ("ready", "total", "minimum", "passed"),
    [(2, 3, 66.6, True), (2, 3, 66.7, False), (3, 3, 100, True), (99, 100, 100, False), (0, 2, 0, True)],
)
def test_gate_uses_exact_arithmetic(ready, total, minimum, passed):
    results = {f"r{i}": registered(ready_info()) for i in range(ready)}
    results.update({f"n{i}": None for i in range(total - ready)})
    fleet = evaluate_fleet(results, settings=validate_settings({"min_ready_percent": minimum}), now=NOW)
    assert fleet["summary"]["gate_passed"] is passed
    assert _fleet_audit.gate_message(fleet["summary"]).startswith(
        "kdump readiness gate %s" % ("passed" if passed else "FAILED")
    )


def test_an_empty_fleet_does_not_pass_the_gate():
    summary = evaluate_fleet({}, hosts=[], now=NOW)["summary"]
    assert (summary["total"], summary["gate_passed"], summary["ready_percent"]) == (0, False, 0.0)


def test_fleet_facts_are_plain_json_types_in_the_state_schema():
    class TaggedStr(str):
        """Stands in for ansible-core 2.19's tagged strings."""

    info = ready_info()
    info["kernel"] = TaggedStr("6.1.0-28-amd64")
    info["initrd"]["mtime"] = float("nan")
    info["extra"] = ({1, 2}, float("nan"))
    record = evaluate_fleet({"h": registered(info)}, now=NOW)["hosts"][0]
    assert type(record["facts"]["kernel"]) is str  # pylint: disable=unidiomatic-typecheck  # exact type: no subclass
    # Not a finite number: unknown, and said so; keys outside the schema are not carried.
    assert record["facts"]["initrd"]["mtime"] is None
    assert record["errors"] == ["kdump_info state: initrd.mtime: expected float, got float nan"]
    assert "extra" not in record["facts"]


# --- settings --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"required_checks": ["KDUMP-999"]}, "kdump_audit_required_checks: unknown check ID(s) KDUMP-999"),
        ({"disabled_checks": "KDUMP-014"}, "kdump_audit_disabled_checks must be a list"),
        ({"disabled_checks": ["KDUMP-000"]}, "KDUMP-000 (host audited) cannot be disabled"),
        ({"reserved_max_ratio": 0.5}, "kdump_audit_reserved_max_ratio must be at least 1"),
        ({"dump_ratio_filtered": 1.5}, "kdump_audit_dump_ratio_filtered must be between 0 and 1"),
        ({"min_ready_percent": "90"}, "kdump_audit_min_ready_percent must be a number"),
        ({"min_ready_percent": 101}, "kdump_audit_min_ready_percent must be between 0 and 100"),
        ({"crash_test_max_age_days": -1}, "kdump_audit_crash_test_max_age_days must be at least 0"),
        ({"unknown_status": "ready"}, "kdump_audit_unknown_status must be degraded or not_ready"),
        ({"no_such": 1}, "unknown audit setting no_such"),
    ],
)
def test_invalid_settings_name_the_variable(overrides, message):
    with pytest.raises(AuditSettingsError) as error:
        validate_settings(overrides)
    assert message in str(error.value)


def test_none_overrides_keep_the_defaults():
    assert validate_settings({"reserved_max_ratio": None}) == DEFAULT_SETTINGS


def test_kdump_000_is_required_even_when_left_out():
    fleet = evaluate_fleet({"h": None}, settings=validate_settings({"required_checks": []}), now=NOW)
    assert fleet["hosts"][0]["status"] == NOT_READY
    assert fleet["catalogue"][0]["severity"] == REQUIRED
    assert fleet["catalogue"][1]["severity"] == ADVISORY


def test_role_defaults_and_argument_specs_match_the_python_defaults():
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    for setting, value in DEFAULT_SETTINGS.items():
        variable = _fleet_audit.variable_name(setting)
        assert defaults[variable] == value, variable
        assert specs[variable]["default"] == value, variable
    assert set(specs) == set(defaults)
    assert specs["kdump_audit_required_checks"]["choices"] == list(CHECK_IDS)
    assert specs["kdump_audit_disabled_checks"]["choices"] == list(CHECK_IDS[1:])


# --- helpers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("collector", "level"),
    [
        ("makedumpfile -l --message-level 7 -d 31", 31),  # kdump.conf(5) default on the RHEL family
        ("makedumpfile -c -d 31 -F", 31),  # Debian kdump-tools MAKEDUMP_ARGS as kdump_info reports it
        ("makedumpfile -d17 -c", 17),
        ("makedumpfile -c", 0),
        ("cp", 0),
        ("", None),
        (None, None),
    ],
)
def test_collector_dump_level(collector, level):
    parsed = _host_state.parse_collector(collector)
    assert (parsed["dump_level"] if parsed else None) == level


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0 B"), (1023, "1023 B"), (256 * MIB, "256 MiB"), (int(1.5 * GIB), "1.5 GiB"), (None, "?"), (True, "?")],
)
def test_format_bytes(size, text):
    assert format_bytes(size) == text


def test_parse_time_accepts_z_and_naive_as_utc():
    assert parse_time("2026-11-01T10:00:00Z") == datetime.datetime(2026, 11, 1, 10, tzinfo=datetime.UTC)
    assert parse_time("2026-11-01T10:00:00") == parse_time("2026-11-01T10:00:00+00:00")
    assert parse_time("not a time") is None
    assert parse_time(None) is None
