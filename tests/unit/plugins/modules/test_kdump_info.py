"""kdump.fleet.kdump_info run the way Ansible runs it, against fake root trees built from real fixtures."""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
from pathlib import PurePath
from unittest import mock

import pytest
from ansible.module_utils import basic
from ansible_collections.kdump.fleet.plugins.module_utils import _host_state, _readiness
from ansible_collections.kdump.fleet.plugins.module_utils._crashkernel import parse_size, recommended
from ansible_collections.kdump.fleet.plugins.module_utils._grub import effective_cmdline_script, effective_crashkernel
from ansible_collections.kdump.fleet.plugins.module_utils._grubby import parse_info
from ansible_collections.kdump.fleet.plugins.module_utils._host_config import (
    summarize_kdump_conf,
    summarize_kdump_tools,
    summarize_sysconfig_kdump,
)
from ansible_collections.kdump.fleet.plugins.module_utils._host_state import STATE_VERSION
from ansible_collections.kdump.fleet.plugins.modules import kdump_info
from conftest import FakeRunCommand, load_fixture, run_module

CONTROLLER = "debian12-firecracker"
KERNEL = load_fixture("proc", CONTROLLER + "/uname-r").strip()
# Measured on a Debian 12 VM with kdump-tools active (shared/LAB.md, "kdump on Debian, as seen").
LAB_CRASH_SIZE = "134217728\n"
LAB_CRASH_LOADED = "1\n"

# What the module asks of a running kdump-tools unit, recorded on the lab VM (see its SOURCE.md).
SHOW_RUNNING = load_fixture("lab", "debian12/host_facts/systemctl-show-kdump-tools.stdout")
SHOW_NO_SYSTEMD = (
    int(load_fixture("systemctl", CONTROLLER + "-show-kdump-tools.rc")),
    load_fixture("systemctl", CONTROLLER + "-show-kdump-tools.stdout"),
    load_fixture("systemctl", CONTROLLER + "-show-kdump-tools.stderr"),
)
IS_ENABLED_MISSING = (
    int(load_fixture("systemctl", CONTROLLER + "-is-enabled-kdump-tools.rc")),
    load_fixture("systemctl", CONTROLLER + "-is-enabled-kdump-tools.stdout"),
    load_fixture("systemctl", CONTROLLER + "-is-enabled-kdump-tools.stderr"),
)


def _write(root, host_path, text, mode=None, mtime=None):
    path = root / host_path.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if mode is not None:
        path.chmod(mode)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def _tool(root, host_path):
    _write(root, host_path, "", mode=0o755)


def _program(name):
    return lambda argv: PurePath(argv[0]).name == name


def _common_host(root):
    """The /proc and /sys files every test host has (controller recordings, LAB.md kexec values)."""
    _write(root, "/proc/meminfo", load_fixture("proc", CONTROLLER + "/meminfo"))
    _write(root, "/proc/sys/kernel/osrelease", KERNEL + "\n")
    _write(root, "/proc/sys/kernel/kexec_load_disabled", "0\n")
    _write(root, "/proc/sys/kernel/sysrq", "438\n")
    _write(root, "/proc/sys/kernel/panic_on_oops", "0\n")
    _write(root, "/proc/iomem", load_fixture("proc", "loongarch-lkml-20231229/iomem-crashkernel-nested"))
    _write(root, "/proc/cmdline", load_fixture("proc", "ubuntu-docs-26.04/cmdline"))
    _write(root, "/sys/kernel/kexec_crash_size", LAB_CRASH_SIZE)
    _write(root, "/sys/kernel/kexec_crash_loaded", LAB_CRASH_LOADED)


@pytest.fixture
def debian_root(tmp_path, monkeypatch):
    """A Debian 12 host with kdump-tools configured, GRUB, one saved dump and an evidence record."""
    root = tmp_path / "root"
    _common_host(root)
    _write(root, "/etc/os-release", load_fixture("proc", CONTROLLER + "/os-release"))
    _write(root, "/etc/default/grub", load_fixture("grub", "debian12-grub2-common_2.06-13+deb12u2.default-grub"))
    _write(root, "/etc/default/grub.d/kdump-tools.cfg", load_fixture("grub", "kdump-tools_1.8.1.cfg"))
    _write(
        root,
        "/etc/default/kdump-tools",
        load_fixture("kdump_tools", "debian12-kdump-tools_1.8.1.default"),
        mtime=1_700_000_200,
    )
    _write(root, "/var/lib/kdump/initrd.img-" + KERNEL, "initrd", mtime=1_700_000_100)
    # The lab VM's grub.cfg: one kernel, 6.1.0-50-amd64, besides the running one (which has no entry here).
    _write(root, "/boot/grub/grub.cfg", load_fixture("lab", "network-run/debian12-grub.cfg"))
    _write(root, "/boot/vmlinuz-" + KERNEL, "kernel")
    _write(root, "/boot/vmlinuz-6.1.0-50-amd64", "kernel")
    # kdump-tools' sysctl overrides, the only settings its capture initrd holds; newer than the initrd.
    _write(root, "/etc/kdump/sysctl.conf", "kernel.panic_on_oops=1\n", mtime=1_700_000_150)
    # update-grub makes the GRUB drop-in the boot-loader backend (the tools decide, not /etc/default/grub).
    for tool in ("/usr/bin/systemctl", "/usr/bin/dpkg-query", "/usr/sbin/update-grub"):
        _tool(root, tool)
    # kdump-tools' layout (LAB.md): <stamp>/dump.<stamp> and dmesg.<stamp>; the dump 0644 as seen there.
    _write(root, "/var/crash/202611221330/dump.202611221330", "x" * 1000, mode=0o644, mtime=1_700_000_300)
    _write(root, "/var/crash/202611221330/dmesg.202611221330", "log", mode=0o600, mtime=1_700_000_300)
    (root / "var/crash/202611221330").chmod(0o755)
    _write(root, "/var/crash/202611221400/dump.202611221400", "y" * 2000, mode=0o600, mtime=1_700_000_400)
    (root / "var/crash/202611221400").chmod(0o700)
    _write(root, "/var/crash/kexec_cmd", "kexec -p ...")
    evidence = {"version": 1, "result": "success", "kernel": KERNEL, "dump_path": "/var/crash/202611221400"}
    _write(root, "/var/lib/kdump-fleet/last-crash-test.json", json.dumps(evidence))
    monkeypatch.setattr(kdump_info, "HOST_ROOT", str(root))
    return root


def _grub_answer(root):
    """What /bin/sh really prints for the effective-cmdline script on this fake tree."""
    script = effective_cmdline_script(str(root / "etc/default"))
    done = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, check=False)
    return (done.returncode, done.stdout, done.stderr)


def _run(args, responses, check_mode=False):
    fake = FakeRunCommand(responses, default=(127, "", "unexpected command"))
    with mock.patch.object(basic.AnsibleModule, "run_command", fake):
        result = run_module(kdump_info.main, args, check_mode=check_mode)
    return result, fake


def _debian_responses(root, dpkg="dpkg-query-partial"):
    return [
        (_program("systemctl"), (0, SHOW_RUNNING, "")),
        (
            _program("dpkg-query"),
            (
                int(load_fixture("proc", CONTROLLER + "/" + dpkg + ".rc")),
                load_fixture("proc", CONTROLLER + "/" + dpkg + ".stdout"),
                load_fixture("proc", CONTROLLER + "/" + dpkg + ".stderr"),
            ),
        ),
        (_program("sh"), _grub_answer(root)),
    ]


def test_debian_host_gives_every_field_of_the_documented_shape(debian_root):
    result, fake = _run({}, _debian_responses(debian_root))
    assert result["changed"] is False
    kdump = result["kdump"]
    assert set(kdump) == {
        "state_version", "tool_status", "family", "distribution", "kernel", "backend", "packages",
        "tools_installed", "service", "crashkernel", "sysctl", "config", "initrd", "kernels", "storage", "dumps",
        "memory", "crash_test", "errors",
    }  # fmt: skip
    assert kdump["errors"] == []
    assert kdump["state_version"] == STATE_VERSION
    # kdump-tools is not installed here, so its status tool is not asked.
    assert kdump["tool_status"] is None
    assert kdump["family"] == "debian"
    assert kdump["distribution"] == {"id": "debian", "version": "12", "codename": "bookworm"}
    assert kdump["kernel"] == KERNEL
    assert kdump["backend"] == {"bootloader": "grub_dropin", "config_format": "kdump_tools"}
    assert kdump["sysctl"] == {"kexec_load_disabled": 0, "sysrq": 438, "panic_on_oops": 0}

    # The package query and the unit it asks systemd about.
    assert kdump["packages"]["kdump-tools"] is None
    assert kdump["packages"]["makedumpfile"] == "1:1.7.2-1"
    assert kdump["tools_installed"] is False
    [dpkg] = fake.argvs("dpkg-query")
    assert dpkg[-3:] == ["kdump-tools", "makedumpfile", "kexec-tools"]
    [show] = fake.argvs("systemctl")
    assert show[1:] == ["show", "-p", "LoadState,ActiveState,UnitFileState,SubState", "kdump-tools.service"]
    assert kdump["service"] == {
        "name": "kdump-tools", "exists": True, "enabled": True, "active": True, "masked": False,
        "unit_file_state": "enabled",
    }  # fmt: skip


def test_debian_crashkernel_from_cmdline_grub_sysfs_and_iomem(debian_root):
    responses = _debian_responses(debian_root)
    grub_stdout = responses[2][1][1]
    kdump = _run({}, responses)[0]["kdump"]
    crash = kdump["crashkernel"]
    assert crash["cmdline"] == "2G-4G:320M,4G-32G:512M,32G-64G:1024M,64G-128G:2048M,128G-:4096M"
    # kdump-tools.cfg appends crashkernel=384M-:128M to GRUB_CMDLINE_LINUX_DEFAULT.
    assert crash["configured"] == effective_crashkernel(grub_stdout) == "384M-:128M"
    assert crash["reserved_bytes"] == crash["kexec_crash_size"] == int(LAB_CRASH_SIZE)
    assert crash["reserved_source"] == "kexec_crash_size"
    assert crash["loaded"] is True
    assert crash["iomem"] == {"start": 0xE6200000, "end": 0xF61FFFFF, "size": 256 * 1024**2}
    ram = kdump["memory"]["system_ram_bytes"]
    assert crash["recommended"] == recommended(ram, platform.machine())
    assert crash["recommended_bytes"] == parse_size(crash["recommended"])
    meminfo_kb = int(load_fixture("proc", CONTROLLER + "/meminfo").split()[1])
    assert kdump["memory"]["total_bytes"] == meminfo_kb * 1024
    assert kdump["memory"]["bytes"] == ram and kdump["memory"]["source"] == "iomem"


def test_debian_config_initrd_storage_dumps_and_evidence(debian_root):
    kdump = _run({}, _debian_responses(debian_root))[0]["kdump"]
    config = kdump["config"]
    expected = summarize_kdump_tools(load_fixture("kdump_tools", "debian12-kdump-tools_1.8.1.default"))
    assert {key: config[key] for key in expected} == expected
    assert (config["path"], config["exists"], config["mtime"]) == ("/etc/default/kdump-tools", True, 1_700_000_200)

    assert kdump["initrd"] == {
        "path": "/var/lib/kdump/initrd.img-" + KERNEL, "exists": True, "mtime": 1_700_000_100, "stale": True,
        "built_from": "/etc/kdump/sysctl.conf",
    }  # fmt: skip

    fs = os.statvfs(debian_root / "var/crash")
    storage = kdump["storage"]
    assert (storage["path"], storage["exists"]) == ("/var/crash", True)
    assert storage["total_bytes"] == fs.f_blocks * fs.f_frsize
    assert 0 < storage["free_bytes"] <= storage["total_bytes"]

    dumps = kdump["dumps"]
    assert (dumps["path"], dumps["count"]) == ("/var/crash", 2)
    assert [item["path"] for item in dumps["items"]] == [
        "/var/crash/202611221400/dump.202611221400",
        "/var/crash/202611221330/dump.202611221330",
    ]
    assert dumps["items"][0] == {
        "path": "/var/crash/202611221400/dump.202611221400", "mtime": 1_700_000_400, "size": 2000,
        "mode": "0600", "dir_mode": "0700", "world_readable": False, "group_readable": False,
    }  # fmt: skip
    assert dumps["items"][1]["world_readable"] is True  # 0644 in a 0755 directory
    assert dumps["items"][1]["group_readable"] is True
    assert (dumps["world_readable_count"], dumps["group_readable_count"]) == (1, 1)
    assert dumps["newest"] == dumps["items"][0]

    record = json.loads((debian_root / "var/lib/kdump-fleet/last-crash-test.json").read_text())
    # The record in the state's Evidence shape: every field of the schema, those the file lacks null.
    assert {key: value for key, value in kdump["crash_test"].items() if value is not None} == record
    assert set(kdump["crash_test"]) >= {"time", "dump_bytes", "trigger_to_up_s"}


def test_check_mode_returns_the_same_facts(debian_root):
    normal = _run({}, _debian_responses(debian_root))[0]
    checked = _run({}, _debian_responses(debian_root), check_mode=True)[0]
    assert checked["changed"] is False
    # Free space is live (other processes write to the same disk); everything else is equal.
    for result in (normal, checked):
        assert result["kdump"]["storage"].pop("free_bytes") > 0
    assert checked["kdump"] == normal["kdump"]


def test_options_dump_path_and_list_dumps_limit(debian_root):
    _write(debian_root, "/srv/crash/202611221500/dump.202611221500", "z", mtime=1_700_000_500)
    kdump = _run({"dump_path": "/srv/crash", "list_dumps_limit": 0}, _debian_responses(debian_root))[0]["kdump"]
    dumps = kdump["dumps"]
    assert (dumps["path"], dumps["count"], dumps["items"]) == ("/srv/crash", 1, [])
    # newest and the exposure count look past the limit
    assert dumps["newest"]["path"] == "/srv/crash/202611221500/dump.202611221500"
    assert dumps["world_readable_count"] == (1 if dumps["newest"]["world_readable"] else 0)
    assert kdump["storage"]["path"] == "/srv/crash"

    kdump = _run({"list_dumps_limit": 1}, _debian_responses(debian_root))[0]["kdump"]
    assert kdump["dumps"]["count"] == 2
    assert [item["mtime"] for item in kdump["dumps"]["items"]] == [1_700_000_400]


def test_negative_list_dumps_limit_fails_naming_the_option(debian_root):
    result = _run({"list_dumps_limit": -1}, _debian_responses(debian_root))[0]
    assert result["failed"] is True
    assert "list_dumps_limit" in result["msg"]


def test_remote_target_has_no_storage_and_lists_local_var_crash(debian_root):
    # The NFS line is the one the Ubuntu Server docs add to the shipped file
    # (fixtures/kdump_config/SOURCE.md, "Remote kernel crash dumps using the NFS protocol").
    shipped = load_fixture("kdump_tools", "debian12-kdump-tools_1.8.1.default")
    _write(debian_root, "/etc/default/kdump-tools", shipped + 'NFS="kdump-netcrash:/var/crash"\n')
    kdump = _run({}, _debian_responses(debian_root))[0]["kdump"]
    assert kdump["config"]["target"]["type"] == "nfs"
    assert kdump["storage"] is None
    assert kdump["dumps"]["path"] == "/var/crash"


def test_unparsable_evidence_is_null_with_the_reason(debian_root):
    _write(debian_root, "/var/lib/kdump-fleet/last-crash-test.json", '{"version": 1, "result": ')
    kdump = _run({}, _debian_responses(debian_root))[0]["kdump"]
    assert kdump["crash_test"] is None
    assert [e for e in kdump["errors"] if e.startswith("/var/lib/kdump-fleet/last-crash-test.json: not valid JSON")]


def test_stale_is_false_when_the_initrd_was_rebuilt_after_the_sysctl_overrides(debian_root):
    os.utime(debian_root / ("var/lib/kdump/initrd.img-" + KERNEL), (1_700_000_180, 1_700_000_180))
    assert _run({}, _debian_responses(debian_root))[0]["kdump"]["initrd"]["stale"] is False


def test_a_kdump_tools_config_newer_than_the_initrd_is_not_stale(debian_root):
    """Seen in the lab: a target changed, no new initrd, and the next dump landed over the new target.

    kdump-tools' capture kernel reads /etc/default/kdump-tools from the root file system.
    """
    os.utime(debian_root / ("var/lib/kdump/initrd.img-" + KERNEL), (1_700_000_180, 1_700_000_180))
    os.utime(debian_root / "etc/default/kdump-tools", (1_700_000_900, 1_700_000_900))
    initrd = _run({}, _debian_responses(debian_root))[0]["kdump"]["initrd"]
    assert (initrd["stale"], initrd["built_from"]) == (False, "/etc/kdump/sysctl.conf")


def test_without_sysctl_overrides_the_debian_initrd_is_never_stale(debian_root):
    (debian_root / "etc/kdump/sysctl.conf").unlink()
    assert _run({}, _debian_responses(debian_root))[0]["kdump"]["initrd"]["stale"] is False


def test_controller_like_host_without_systemd_kexec_or_grub(tmp_path, monkeypatch):
    """What the development controller looks like: recorded files, nothing kdump-related."""
    root = tmp_path / "root"
    _write(root, "/etc/os-release", load_fixture("proc", CONTROLLER + "/os-release"))
    _write(root, "/proc/meminfo", load_fixture("proc", CONTROLLER + "/meminfo"))
    _write(root, "/proc/iomem", load_fixture("proc", CONTROLLER + "/iomem.nonroot"))
    _write(root, "/proc/cmdline", load_fixture("proc", CONTROLLER + "/cmdline"))
    _write(root, "/proc/sys/kernel/osrelease", KERNEL + "\n")
    _write(root, "/proc/sys/kernel/panic_on_oops", "0\n")
    for tool in ("/usr/bin/systemctl", "/usr/bin/dpkg-query"):
        _tool(root, tool)
    monkeypatch.setattr(kdump_info, "HOST_ROOT", str(root))
    responses = [
        (lambda argv: argv[1:2] == ["show"], SHOW_NO_SYSTEMD),
        (lambda argv: "is-enabled" in argv, IS_ENABLED_MISSING),
        (
            _program("dpkg-query"),
            (
                int(load_fixture("proc", CONTROLLER + "/dpkg-query-none.rc")),
                load_fixture("proc", CONTROLLER + "/dpkg-query-none.stdout"),
                load_fixture("proc", CONTROLLER + "/dpkg-query-none.stderr"),
            ),
        ),
    ]
    result, fake = _run({}, responses)
    kdump = result["kdump"]
    assert result["changed"] is False
    # The fallback asks the unit files below the same root.
    assert fake.argvs("systemctl")[1][1:] == ["--root=" + str(root), "is-enabled", "kdump-tools.service"]
    assert kdump["service"] == {
        "name": "kdump-tools", "exists": False, "enabled": False, "active": False, "masked": False,
        "unit_file_state": None,
    }  # fmt: skip
    assert kdump["packages"] == {"kdump-tools": None, "makedumpfile": None, "kexec-tools": None}
    assert kdump["backend"]["bootloader"] == "none"
    crash = kdump["crashkernel"]
    assert (crash["cmdline"], crash["configured"], crash["loaded"], crash["reserved_bytes"]) == (None,) * 4
    assert crash["iomem"] is None
    # Without iomem addresses the recommendation falls back to MemTotal.
    assert kdump["memory"]["system_ram_bytes"] is None
    assert crash["recommended"] == recommended(kdump["memory"]["total_bytes"], platform.machine())
    assert kdump["sysctl"] == {"kexec_load_disabled": None, "sysrq": None, "panic_on_oops": 0}
    assert kdump["config"]["exists"] is False
    assert kdump["initrd"]["exists"] is False and kdump["initrd"]["stale"] is None
    assert kdump["dumps"] == {
        "path": "/var/crash", "count": 0, "items": [], "newest": None, "world_readable_count": 0,
        "group_readable_count": 0,
    }  # fmt: skip
    assert kdump["memory"]["source"] == "meminfo" and kdump["memory"]["bytes"] == kdump["memory"]["total_bytes"]
    assert kdump["storage"]["exists"] is False and kdump["storage"]["total_bytes"] > 0
    assert kdump["crash_test"] is None
    errors = "\n".join(kdump["errors"])
    for expected in (
        "/proc/iomem: addresses hidden",
        "systemctl show kdump-tools.service failed (rc=1): System has not been booted with systemd",
        "/sys/kernel/kexec_crash_loaded: not present",
        "/proc/sys/kernel/sysrq: not present",
        "/etc/default/kdump-tools: not present",
    ):
        assert expected in errors
    assert "dpkg-query failed" not in errors  # rc 1 with "no packages found" is an answer


ALMA_INFO_ALL = load_fixture("grubby", "almalinux-9.4-info-all.txt")


def _grubby_answer(argv):
    """grubby on the AlmaLinux 9.4 host recorded in the fixture: its first entry is the default one."""
    if argv[1:] == ["--default-kernel"]:
        return 0, parse_info(ALMA_INFO_ALL)[0].kernel + "\n", ""
    if argv[1:] == ["--info=DEFAULT"]:
        return 0, ALMA_INFO_ALL.split("\nindex=1")[0] + "\n", ""
    return 0, ALMA_INFO_ALL, ""


def test_redhat_host_uses_grubby_rpm_kdump_conf_and_the_kdump_unit(tmp_path, monkeypatch):
    root = tmp_path / "root"
    _common_host(root)
    _write(root, "/etc/os-release", load_fixture("proc", "os-release-public/fedora-37-wsl"))
    conf = load_fixture("kdump_conf", "kdump-utils-63f248c-x86_64.kdump.conf")
    _write(root, "/etc/kdump.conf", conf, mtime=1_700_000_000)
    _write(root, f"/boot/initramfs-{KERNEL}kdump.img", "initrd", mtime=1_700_000_100)
    _write(root, "/var/crash/127.0.0.1-2026-11-22-13:40:02/vmcore", "v" * 300, mode=0o600, mtime=1_700_000_300)
    _write(root, "/var/crash/127.0.0.1-2026-11-22-13:40:02/vmcore-dmesg.txt", "log", mtime=1_700_000_300)
    for tool in ("/usr/bin/systemctl", "/usr/bin/rpm", "/usr/sbin/grubby", "/usr/bin/kdumpctl"):
        _tool(root, tool)
    monkeypatch.setattr(kdump_info, "HOST_ROOT", str(root))
    responses = [
        (_program("systemctl"), (0, SHOW_RUNNING, "")),
        (
            _program("rpm"),
            (
                int(load_fixture("proc", CONTROLLER + "/rpm-query-some.rc")),
                load_fixture("proc", CONTROLLER + "/rpm-query-some.stdout"),
                "",
            ),
        ),
        (_program("grubby"), _grubby_answer),
        (_program("kdumpctl"), (0, load_fixture("kdumpctl_status", "el10-ppc64le-fadump-operational.txt"), "")),
    ]
    result, fake = _run({}, responses)
    kdump = result["kdump"]
    assert kdump["errors"] == []
    assert kdump["family"] == "redhat"
    assert kdump["backend"] == {"bootloader": "grubby", "config_format": "kdump_conf"}
    assert fake.argvs("grubby") == [
        ["/usr/sbin/grubby", "--info=DEFAULT"],
        ["/usr/sbin/grubby", "--info=ALL"],
        ["/usr/sbin/grubby", "--default-kernel"],
    ]
    assert kdump["crashkernel"]["configured"] == "1G-4G:192M,4G-64G:256M,64G-:512M"
    assert fake.argvs("rpm")[0][-3:] == ["kexec-tools", "kdump-utils", "makedumpfile"]
    assert kdump["packages"] == {"kexec-tools": "2.0.28-1.el9", "kdump-utils": None, "makedumpfile": "1:1.7.4-0.el9"}
    assert kdump["tools_installed"] is True
    assert fake.argvs("systemctl")[0][-1] == "kdump.service"
    assert kdump["service"]["name"] == "kdump"
    assert fake.argvs("kdumpctl") == [["/usr/bin/kdumpctl", "status"]]
    assert kdump["tool_status"]["command"] == "kdumpctl status"
    assert (kdump["tool_status"]["ready"], kdump["tool_status"]["state"]) == (True, "Kdump is operational")
    expected = summarize_kdump_conf(conf)
    assert {key: kdump["config"][key] for key in expected} == expected
    assert kdump["config"]["path"] == "/etc/kdump.conf"
    assert kdump["initrd"] == {
        "path": f"/boot/initramfs-{KERNEL}kdump.img", "exists": True, "mtime": 1_700_000_100, "stale": False,
        "built_from": "/etc/kdump.conf",
    }  # fmt: skip
    assert [item["path"] for item in kdump["dumps"]["items"]] == ["/var/crash/127.0.0.1-2026-11-22-13:40:02/vmcore"]


def test_empty_root_reports_what_is_missing_and_never_fails(tmp_path, monkeypatch):
    monkeypatch.setattr(kdump_info, "HOST_ROOT", str(tmp_path))
    result, fake = _run({}, [])
    kdump = result["kdump"]
    assert result["changed"] is False and "failed" not in result
    assert fake.calls == []  # no tool found, none run
    assert kdump["family"] == "unknown"
    assert kdump["distribution"] == {"id": None, "version": None, "codename": None}
    assert kdump["backend"] == {"bootloader": "none", "config_format": None}
    assert (kdump["packages"], kdump["tools_installed"], kdump["config"], kdump["initrd"]) == ({}, False, None, None)
    assert kdump["service"]["name"] is None
    assert kdump["memory"] == {"bytes": None, "source": None, "total_bytes": None, "system_ram_bytes": None}
    assert kdump["crashkernel"]["recommended"] is None
    errors = "\n".join(kdump["errors"])
    assert "/usr/lib/os-release: not present" in errors
    assert "distribution family unknown" in errors
    assert "/proc/meminfo: not present" in errors


def _nfs_config(root, server):
    _write(
        root,
        "/etc/default/kdump-tools",
        f'USE_KDUMP=1\nKDUMP_COREDIR="/var/crash"\nNFS="{server}:/exports/crash"\n',
    )


def test_probe_target_reports_a_listening_nfs_server_reachable(debian_root, monkeypatch):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    monkeypatch.setitem(_host_state.PROBE_PORTS, "nfs", port)
    _nfs_config(debian_root, "127.0.0.1")
    try:
        config = _run({"probe_target": True, "probe_timeout": 2}, _debian_responses(debian_root))[0]["kdump"]["config"]
    finally:
        listener.close()
    assert config["target"]["type"] == "nfs"
    assert config["target_reachable"] is True
    assert config["target_probe"]["host"] == "127.0.0.1"
    assert config["target_probe"]["port"] == port
    assert config["target_probe"]["error"] is None


def test_probe_target_reports_a_closed_port_unreachable_without_failing(debian_root, monkeypatch):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now: connection refused
    monkeypatch.setitem(_host_state.PROBE_PORTS, "nfs", port)
    _nfs_config(debian_root, "127.0.0.1")
    result = _run({"probe_target": True, "probe_timeout": 2}, _debian_responses(debian_root))[0]
    assert result["changed"] is False
    probe = result["kdump"]["config"]["target_probe"]
    assert result["kdump"]["config"]["target_reachable"] is False
    assert probe["reachable"] is False
    assert "refused" in probe["error"].lower()


def test_probe_is_off_by_default_and_for_local_targets(debian_root):
    config = _run({"probe_target": True}, _debian_responses(debian_root))[0]["kdump"]["config"]
    assert config["target"]["type"] == "local"
    assert config["target_reachable"] is None
    assert config["target_probe"] is None


LAB_HOST = "lab/debian12/host_facts/"


def test_debian_tool_status_from_kdump_config_status_recorded_on_the_lab_vm(debian_root):
    _tool(debian_root, "/usr/sbin/kdump-config")
    dpkg = tuple(
        load_fixture("lab", "debian12/host_facts/dpkg-query-kdump." + part) for part in ("rc", "stdout", "stderr")
    )
    responses = _debian_responses(debian_root)
    responses[1] = (_program("dpkg-query"), (int(dpkg[0]), dpkg[1], dpkg[2]))
    status = load_fixture("lab", "debian12/kdump-config_status.txt")
    text, rc_line = status.rsplit("rc=", 1)
    responses.append((_program("kdump-config"), (int(rc_line), text, "")))
    result, fake = _run({}, responses)
    kdump = result["kdump"]
    assert kdump["tools_installed"] is True
    assert fake.argvs("kdump-config") == [["/usr/sbin/kdump-config", "status"]]
    assert kdump["tool_status"] == {
        "command": "kdump-config status", "ready": True, "state": "ready to kdump",
        "messages": ["current state   : ready to kdump"],
    }  # fmt: skip


def test_reservation_falls_back_to_the_iomem_region_when_kexec_crash_size_is_unreadable(debian_root):
    (debian_root / "sys/kernel/kexec_crash_size").unlink()
    crash = _run({}, _debian_responses(debian_root))[0]["kdump"]["crashkernel"]
    assert crash["kexec_crash_size"] is None
    assert (crash["reserved_bytes"], crash["reserved_source"]) == (256 * 1024**2, "iomem")


def test_a_root_readable_iomem_without_a_crash_region_means_nothing_reserved(debian_root):
    (debian_root / "sys/kernel/kexec_crash_size").unlink()
    _write(
        debian_root, "/proc/iomem", load_fixture("lab", "debian12/host_facts/iomem").replace("Crash kernel", "Reserved")
    )
    crash = _run({}, _debian_responses(debian_root))[0]["kdump"]["crashkernel"]
    assert (crash["reserved_bytes"], crash["reserved_source"], crash["iomem"]) == (0, "iomem_none", None)


@pytest.mark.parametrize(
    "kernel, expected, note",
    [
        (("6.16.3+deb14-amd64", "x86_64"), 1 << 30, None),
        (("6.12.48+deb13-amd64", "x86_64"), None, "crashkernel=1G,cma on the command line is ignored: kernel"),
        (("6.16.3", "aarch64"), None, "only, not aarch64"),
    ],
)
def test_cma_area_is_reported_only_where_the_running_kernel_takes_it(debian_root, monkeypatch, kernel, expected, note):
    release, arch = kernel
    monkeypatch.setattr(kdump_info.platform, "release", lambda: release)
    monkeypatch.setattr(kdump_info.platform, "machine", lambda: arch)
    _write(debian_root, "/proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/vda1 crashkernel=256M crashkernel=1G,cma\n")
    result = _run({}, _debian_responses(debian_root))[0]
    crash = result["kdump"]["crashkernel"]
    assert crash["cmdline"] == "256M 1G,cma"
    assert crash["cma_bytes"] == expected
    notes = " ".join(result["kdump"]["errors"])
    if note:
        assert note in notes
    else:
        assert ",cma" not in notes


def test_no_cma_area_without_one_on_the_command_line(debian_root):
    assert _run({}, _debian_responses(debian_root))[0]["kdump"]["crashkernel"]["cma_bytes"] is None


# -- kernel updates: every installed kernel's boot entry and capture initrd -------------------------------


def test_debian_kernels_from_the_lab_grub_cfg(debian_root):
    kernels = _run({}, _debian_responses(debian_root))[0]["kdump"]["kernels"]
    assert kernels["source"] == "/boot/grub/grub.cfg"
    assert kernels["default"] == "6.1.0-50-amd64"
    by_release = {k["release"]: k for k in kernels["installed"]}
    assert sorted(by_release) == sorted([KERNEL, "6.1.0-50-amd64"])
    assert by_release["6.1.0-50-amd64"] == {
        "release": "6.1.0-50-amd64",
        "running": KERNEL == "6.1.0-50-amd64",
        "default": True,
        "boot_entry": True,
        "crashkernel": "1G-:192M",
        "capture_initrd": "/var/lib/kdump/initrd.img-6.1.0-50-amd64",
        "capture_initrd_exists": False,
    }
    if KERNEL != "6.1.0-50-amd64":
        # The running kernel of this fake host is not in the recorded grub.cfg: it would not boot again.
        assert by_release[KERNEL]["boot_entry"] is False and by_release[KERNEL]["crashkernel"] is None
        assert by_release[KERNEL]["capture_initrd_exists"] is True


def test_redhat_kernels_from_grubby_info_all(tmp_path, monkeypatch):
    root = tmp_path / "root"
    _common_host(root)
    _write(root, "/etc/os-release", load_fixture("proc", "os-release-public/fedora-37-wsl"))
    entries = parse_info(ALMA_INFO_ALL)
    for entry in entries:
        _write(root, entry.kernel, "kernel")
    # A rescue image and a kernel installed without a boot entry (grubby --add-kernel not run).
    _write(root, "/boot/vmlinuz-0-rescue-6c12765bd20f4e39b8c4e0a30b8fa6a4", "kernel")
    _write(root, "/boot/vmlinuz-5.14.0-503.el9.x86_64", "kernel")
    newest = entries[0].kernel.rsplit("vmlinuz-", 1)[1]
    _write(root, f"/boot/initramfs-{newest}kdump.img", "initrd")
    for tool in ("/usr/bin/systemctl", "/usr/bin/rpm", "/usr/sbin/grubby"):
        _tool(root, tool)
    monkeypatch.setattr(kdump_info, "HOST_ROOT", str(root))
    responses = [(_program("systemctl"), (0, SHOW_RUNNING, "")), (_program("grubby"), _grubby_answer)]
    kernels = _run({}, responses)[0]["kdump"]["kernels"]
    assert kernels["source"] == "grubby"
    assert kernels["default"] == newest
    assert kernels["capture_initrd_built_at_boot"] is True
    by_release = {k["release"]: k for k in kernels["installed"]}
    assert "0-rescue-6c12765bd20f4e39b8c4e0a30b8fa6a4" not in by_release
    assert by_release[newest]["crashkernel"] == "1G-4G:192M,4G-64G:256M,64G-:512M"
    assert by_release[newest]["capture_initrd_exists"] is True
    assert by_release["5.14.0-503.el9.x86_64"]["boot_entry"] is False
    # The rescue entry is not a kernel: three entries with a kernel, plus the one without an entry.
    assert len(by_release) == len(entries) - 1 + 1


# -- the SUSE family: /etc/sysconfig/kdump, the kdump unit, rpm, /etc/default/grub + grub2-mkconfig -------------

SUSE_KERNEL = "6.4.0-150600.23.25-default"
# What rpm prints for RPM_QUERY_FORMAT (NAME<tab>VERSION-RELEASE); the versions are Leap 15.6's kdump 2 era.
SUSE_RPM = "kdump\t2.0.18-150600.3.6.1\nmakedumpfile\t1.7.5-150600.3.3.1\nkexec-tools\t2.0.28-150600.1.2\n"
# /etc/default/grub with the crashkernel= words openQA's activate_kdump_without_yast appends on x86_64
# (research notes, section 5); the rest is a minimal GRUB_CMDLINE_LINUX_DEFAULT.
SUSE_DEFAULT_GRUB = (
    'GRUB_DEFAULT=saved\nGRUB_CMDLINE_LINUX=""\n'
    'GRUB_CMDLINE_LINUX_DEFAULT="splash=silent mitigations=auto quiet crashkernel=256M,high crashkernel=128M,low"\n'
)


def _suse_grub_cfg(*releases):
    """A grub.cfg as grub2-mkconfig's 10_linux lays it out: one normal entry per kernel, the newest first."""
    args = "root=UUID=1620c02a splash=silent mitigations=auto quiet crashkernel=256M,high crashkernel=128M,low"
    return "".join(
        f"menuentry 'openSUSE Leap 15.6, with Linux {release}' --class opensuse --class gnu-linux {{\n"
        f"\tlinux\t/boot/vmlinuz-{release} {args}\n\tinitrd\t/boot/initrd-{release}\n}}\n"
        for release in releases
    )


@pytest.fixture
def suse_root(tmp_path, monkeypatch):
    """A Tumbleweed host with kdump 2: the shipped /etc/sysconfig/kdump, one capture initrd older than it."""
    root = tmp_path / "root"
    _common_host(root)
    _write(root, "/etc/os-release", load_fixture("suse", "os-release/opensuse-tumbleweed-20230304"))
    _write(root, "/etc/sysconfig/kdump", load_fixture("suse", "sysconfig.kdump-master.x86_64"), mtime=1_700_000_200)
    _write(root, "/var/lib/kdump/initrd", "initrd", mtime=1_700_000_100)
    _write(root, "/etc/default/grub", SUSE_DEFAULT_GRUB)
    _write(root, "/boot/grub2/grub.cfg", _suse_grub_cfg(SUSE_KERNEL))
    _write(root, "/boot/vmlinuz-" + SUSE_KERNEL, "kernel")
    _write(root, "/boot/vmlinuz-" + KERNEL, "kernel")
    # kdump 2's layout (fixtures/suse/dumps/SOURCE.md): YYYY-MM-DD-HH-MM/vmcore, mode 0600.
    _write(root, "/var/crash/2026-11-22-13-40/vmcore", "v" * 500, mode=0o600, mtime=1_700_000_300)
    _write(root, "/var/crash/2026-11-22-13-40/dmesg", "log", mode=0o600, mtime=1_700_000_300)
    for tool in ("/usr/bin/systemctl", "/usr/bin/rpm", "/usr/sbin/grub2-mkconfig"):
        _tool(root, tool)
    monkeypatch.setattr(kdump_info, "HOST_ROOT", str(root))
    return root


def _suse_responses(root):
    return [
        (_program("systemctl"), (0, SHOW_RUNNING, "")),
        (_program("rpm"), (0, SUSE_RPM, "")),
        (_program("sh"), _grub_answer(root)),
    ]


def test_suse_host_reads_sysconfig_kdump_the_kdump_unit_and_rpm(suse_root):
    result, fake = _run({}, _suse_responses(suse_root))
    kdump = result["kdump"]
    assert kdump["errors"] == []
    assert kdump["family"] == "suse"
    assert kdump["distribution"]["id"] == "opensuse-tumbleweed"
    assert kdump["backend"] == {"bootloader": "grub_default", "config_format": "sysconfig_kdump"}
    assert fake.argvs("rpm")[0][-3:] == ["kdump", "makedumpfile", "kexec-tools"]
    assert kdump["packages"]["kdump"] == "2.0.18-150600.3.6.1" and kdump["tools_installed"] is True
    assert fake.argvs("systemctl")[0][-1] == "kdump.service"
    assert kdump["service"]["name"] == "kdump"
    # SUSE's kdump has no status command: nothing is run for one, and nothing is missing.
    assert kdump["tool_status"] is None
    assert {PurePath(argv[0]).name for argv in fake.calls} == {"systemctl", "rpm", "sh"}

    config = kdump["config"]
    expected = summarize_sysconfig_kdump(load_fixture("suse", "sysconfig.kdump-master.x86_64"))
    assert {key: config[key] for key in expected} == expected
    assert (config["path"], config["exists"], config["mtime"]) == ("/etc/sysconfig/kdump", True, 1_700_000_200)
    assert config["target"]["type"] == "local" and config["target"]["path"] == "/var/crash"
    assert kdump["storage"]["path"] == "/var/crash"
    assert [item["path"] for item in kdump["dumps"]["items"]] == ["/var/crash/2026-11-22-13-40/vmcore"]


def test_suse_crashkernel_comes_from_etc_default_grub_and_kernels_from_grub2_cfg(suse_root):
    responses = _suse_responses(suse_root)
    kdump = _run({}, responses)[0]["kdump"]
    assert kdump["crashkernel"]["configured"] == effective_crashkernel(responses[2][1][1]) == "256M,high 128M,low"
    kernels = kdump["kernels"]
    assert (kernels["source"], kernels["default"]) == ("/boot/grub2/grub.cfg", SUSE_KERNEL)
    assert kernels["capture_initrd_built_at_boot"] is True
    by_release = {k["release"]: k for k in kernels["installed"]}
    assert by_release[SUSE_KERNEL]["crashkernel"] == "256M,high 128M,low"
    # kdump 2 builds one capture initrd for whichever kernel it loads.
    assert {k["capture_initrd"] for k in kernels["installed"]} == {"/var/lib/kdump/initrd"}
    assert all(k["capture_initrd_exists"] for k in kernels["installed"])


def test_suse_initrd_older_than_sysconfig_kdump_is_stale_and_the_verdict_names_the_file(suse_root):
    kdump = _run({}, _suse_responses(suse_root))[0]["kdump"]
    assert kdump["initrd"] == {
        "path": "/var/lib/kdump/initrd", "exists": True, "mtime": 1_700_000_100, "stale": True,
        "built_from": "/etc/sysconfig/kdump",
    }  # fmt: skip
    [initrd] = _readiness.failures(kdump, ["KDUMP-008"])
    assert initrd["finding"] == (
        "capture initrd /var/lib/kdump/initrd is older than /etc/sysconfig/kdump, which it is built from: the "
        "loaded capture environment does not have the current settings; systemctl restart kdump rebuilds it"
    )
    # Everything the role's verify step checks passes on this host (KDUMP-008 is advisory, not among them).
    assert _readiness.failures(kdump, _readiness.ROLE_VERIFY_CHECKS) == []


def test_suse_config_errors_fail_the_target_check_naming_sysconfig_kdump(suse_root):
    shipped = load_fixture("suse", "sysconfig.kdump-master.x86_64")
    _write(suse_root, "/etc/sysconfig/kdump", shipped + 'KDUMP_SAVEDIR="http://dumps.example.com/crash"\n')
    kdump = _run({}, _suse_responses(suse_root))[0]["kdump"]
    assert kdump["config"]["target"] is None
    [target] = _readiness.failures(kdump, ["KDUMP-009"])
    assert target["finding"].startswith("dump config /etc/sysconfig/kdump has errors: KDUMP_SAVEDIR=")
    assert "is not an absolute path nor a URL kdump knows" in target["finding"]


def test_suse_ftp_target_from_the_documentation_is_remote_and_probed_on_port_21(suse_root):
    _write(suse_root, "/etc/sysconfig/kdump", load_fixture("suse", "doc-sle-static-ip-ftp.kdump"))
    kdump = _run({}, _suse_responses(suse_root))[0]["kdump"]
    assert kdump["config"]["target"]["location"] == "ftp://anonymous@10.50.50.140/crashdump"
    assert kdump["storage"] is None  # not measured for a remote target
    [probe] = _readiness.failures(kdump, ["KDUMP-010"])
    assert probe["finding"] == (
        "ftp target ftp://anonymous@10.50.50.140/crashdump (TCP port 21) was not probed "
        "(kdump_info probe_target: true reports it)"
    )


def test_kdump_1_host_has_one_capture_initrd_per_kernel_in_boot(suse_root):
    """SLES 15 SP5 / Leap 15.5 (kdump 1): mkdumprd writes /boot/initrd-RELEASE-kdump, no /var/lib/kdump/initrd."""
    _write(suse_root, "/etc/os-release", load_fixture("suse", "os-release/opensuse-leap-15.4"))
    _write(suse_root, "/etc/sysconfig/kdump", load_fixture("suse", "sysconfig.kdump-SLE-15-SP5.x86_64"))
    (suse_root / "var/lib/kdump/initrd").unlink()
    _write(suse_root, f"/boot/initrd-{KERNEL}-kdump", "initrd")
    kdump = _run({}, _suse_responses(suse_root))[0]["kdump"]
    assert kdump["distribution"]["version"] == "15.4"
    assert kdump["config"]["keep_dumps"] == 6  # the template's KDUMP_KEEP_OLD_DUMPS=5, plus the new dump
    assert kdump["initrd"]["path"] == f"/boot/initrd-{KERNEL}-kdump" and kdump["initrd"]["exists"] is True
    by_release = {k["release"]: k for k in kdump["kernels"]["installed"]}
    # The other kernel has neither: the first candidate, kdump 2's, is the one reported missing.
    assert by_release[SUSE_KERNEL]["capture_initrd"] == "/var/lib/kdump/initrd"
    assert by_release[SUSE_KERNEL]["capture_initrd_exists"] is False
