"""Tests of the host fact parsers against real recorded outputs (see fixtures/*/SOURCE.md)."""

from __future__ import annotations

import pytest
from ansible_collections.kdump.fleet.plugins.module_utils import _host_facts as hf
from conftest import FIXTURES_DIR, load_fixture

CONTROLLER = "debian12-firecracker"
LOONGARCH = "loongarch-lkml-20231229"
LAB_KDUMP = FIXTURES_DIR / "lab" / "debian12" / "host_facts"  # recorded on a lab VM, see its SOURCE.md

# --- os-release ---------------------------------------------------------------


def test_os_release_of_the_controller_is_debian_bookworm():
    values = hf.parse_os_release(load_fixture("proc", CONTROLLER + "/os-release"))
    assert values["PRETTY_NAME"] == "Debian GNU/Linux 12 (bookworm)"  # quotes removed
    assert hf.distribution(values) == {"id": "debian", "version": "12", "codename": "bookworm"}
    assert hf.family(values) == "debian"


def test_os_release_fedora_is_redhat_family_and_empty_codename_is_none():
    values = hf.parse_os_release(load_fixture("proc", "os-release-public/fedora-37-wsl"))
    assert hf.family(values) == "redhat"
    assert hf.distribution(values) == {"id": "fedora", "version": "37", "codename": None}


def test_os_release_id_like_decides_for_a_derivative():
    values = hf.parse_os_release(load_fixture("proc", "os-release-public/galliumos-1.0"))
    assert values["ID"] == "galliumos"
    assert hf.family(values) == "debian"


def test_os_release_without_a_known_id_or_id_like_is_unknown():
    values = hf.parse_os_release(load_fixture("proc", "os-release-public/sotolito-1.28"))
    assert values["VERSION"] == "1.28 (Aguamiel)"
    assert hf.family(values) == "unknown"


# --- meminfo and iomem --------------------------------------------------------


def test_meminfo_converts_kb_to_bytes_and_keeps_counts():
    text = load_fixture("proc", CONTROLLER + "/meminfo")
    values = hf.parse_meminfo(text)
    memtotal_kb = next(int(line.split()[1]) for line in text.splitlines() if line.startswith("MemTotal:"))
    hugepages = next(int(line.split()[1]) for line in text.splitlines() if line.startswith("HugePages_Total:"))
    assert values["MemTotal"] == memtotal_kb * 1024
    assert values["HugePages_Total"] == hugepages  # a count, no kB unit
    assert values["MemFree"] < values["MemTotal"]


def test_iomem_depth_follows_indentation():
    regions = hf.parse_iomem(load_fixture("proc", CONTROLLER + "/iomem"))
    by_name = {(r["name"], r["depth"]) for r in regions}
    assert ("System RAM", 0) in by_name
    assert ("Kernel code", 1) in by_name
    assert ("PCI Bus 0000:00", 2) in by_name  # "    eec00000-eecfffff : PCI Bus 0000:00"
    assert all(r["size"] == r["end"] - r["start"] + 1 for r in regions)


def test_iomem_of_the_controller_has_no_crash_kernel_and_sums_system_ram():
    text = load_fixture("proc", CONTROLLER + "/iomem")
    summary = hf.summarize_iomem(text)
    expected_ram = 0
    for line in text.splitlines():
        if line.endswith(": System RAM") and not line.startswith(" "):
            start, end = line.split(" : ")[0].split("-")
            expected_ram += int(end, 16) - int(start, 16) + 1
    assert summary == {
        "masked": False,
        "crash_kernel": None,
        "crash_kernel_regions": 0,
        "system_ram_bytes": expected_ram,
    }
    # The controller has 24 GiB; the firmware holes make System RAM a little less.
    meminfo = hf.parse_meminfo(load_fixture("proc", CONTROLLER + "/meminfo"))
    assert meminfo["MemTotal"] < expected_ram <= 24 * 1024**3


def test_iomem_read_without_root_is_masked_and_sizes_are_unknown():
    summary = hf.summarize_iomem(load_fixture("proc", CONTROLLER + "/iomem.nonroot"))
    assert summary["masked"] is True
    assert summary["system_ram_bytes"] is None
    assert summary["crash_kernel"] is None


@pytest.mark.parametrize("name", ["iomem-crashkernel-nested", "iomem-crashkernel-toplevel"])
def test_iomem_crash_kernel_region_nested_or_top_level(name):
    summary = hf.summarize_iomem(load_fixture("proc", LOONGARCH + "/" + name))
    # "e6200000-f61fffff : Crash kernel" in both listings: 256 MiB.
    assert summary["crash_kernel"] == {"start": 0xE6200000, "end": 0xF61FFFFF, "size": 256 * 1024**2}
    assert summary["crash_kernel_regions"] == 1


def test_iomem_system_ram_loses_the_region_the_kernel_bug_dropped():
    without = hf.summarize_iomem(load_fixture("proc", LOONGARCH + "/iomem-without-crashkernel"))
    nested = hf.summarize_iomem(load_fixture("proc", LOONGARCH + "/iomem-crashkernel-nested"))
    toplevel = hf.summarize_iomem(load_fixture("proc", LOONGARCH + "/iomem-crashkernel-toplevel"))
    assert without["crash_kernel"] is None
    assert nested["system_ram_bytes"] == without["system_ram_bytes"]
    # Before the fix the parent "90400000-fa17ffff : System RAM" vanished from the listing.
    assert without["system_ram_bytes"] - toplevel["system_ram_bytes"] == 0xFA17FFFF - 0x90400000 + 1


# --- systemctl ------------------------------------------------------------------


def test_systemctl_show_of_a_running_enabled_service():
    state = hf.parse_systemctl_show(load_fixture("systemctl", "insights-core-tuned-service.show"))
    assert state == {
        "exists": True,
        "enabled": True,
        "active": True,
        "masked": False,
        "unit_file_state": "enabled",
        "sub_state": "running",
    }


def test_systemctl_show_without_systemd_knows_nothing():
    # systemd not PID 1: stdout empty, rc 1, the reason on stderr.
    assert load_fixture("systemctl", CONTROLLER + "-show-kdump-tools.rc").strip() == "1"
    state = hf.parse_systemctl_show(load_fixture("systemctl", CONTROLLER + "-show-kdump-tools.stdout"))
    assert state == {
        "exists": None,
        "enabled": None,
        "active": None,
        "masked": None,
        "unit_file_state": None,
        "sub_state": None,
    }


def test_systemctl_is_enabled_fallback_for_a_missing_unit():
    rc = int(load_fixture("systemctl", CONTROLLER + "-is-enabled-kdump-tools.rc"))
    state = hf.parse_systemctl_is_enabled(load_fixture("systemctl", CONTROLLER + "-is-enabled-kdump-tools.stdout"), rc)
    assert state["exists"] is False
    assert state["enabled"] is False
    assert state["active"] is False  # a unit that does not exist cannot be running
    assert state["unit_file_state"] is None


def test_systemctl_is_enabled_fallback_for_an_enabled_unit_leaves_active_unknown():
    rc = int(load_fixture("systemctl", CONTROLLER + "-is-enabled-apt-daily-timer.rc"))
    state = hf.parse_systemctl_is_enabled(
        load_fixture("systemctl", CONTROLLER + "-is-enabled-apt-daily-timer.stdout"), rc
    )
    assert state["exists"] is True
    assert state["enabled"] is True
    assert state["unit_file_state"] == "enabled"
    assert state["active"] is None
    assert state["masked"] is False


# --- package queries ----------------------------------------------------------

DEBIAN_PACKAGES = ("kdump-tools", "makedumpfile", "kexec-tools")
REDHAT_PACKAGES = ("kexec-tools", "kdump-utils", "makedumpfile")


def test_dpkg_query_with_nothing_installed():
    assert load_fixture("proc", CONTROLLER + "/dpkg-query-none.stdout") == ""
    versions = hf.parse_dpkg_query(load_fixture("proc", CONTROLLER + "/dpkg-query-none.stdout"), DEBIAN_PACKAGES)
    assert versions == dict.fromkeys(DEBIAN_PACKAGES)


def test_dpkg_query_known_but_not_installed_package_is_none():
    text = load_fixture("proc", CONTROLLER + "/dpkg-query-partial.stdout")
    versions = hf.parse_dpkg_query(text, DEBIAN_PACKAGES)
    assert "kdump-tools\tunknown ok not-installed\t" in text
    assert versions["kdump-tools"] is None
    assert versions["makedumpfile"] == "1:1.7.2-1"
    assert versions["kexec-tools"].startswith("1:2.0.25-")


def test_rpm_query_with_nothing_installed():
    assert load_fixture("proc", CONTROLLER + "/rpm-query-none.rc").strip() == "3"
    text = load_fixture("proc", CONTROLLER + "/rpm-query-none.stdout")
    assert hf.parse_rpm_query(text, REDHAT_PACKAGES) == dict.fromkeys(REDHAT_PACKAGES)


def test_rpm_query_versions_with_and_without_epoch():
    versions = hf.parse_rpm_query(load_fixture("proc", CONTROLLER + "/rpm-query-some.stdout"), REDHAT_PACKAGES)
    assert versions == {"kexec-tools": "2.0.28-1.el9", "kdump-utils": None, "makedumpfile": "1:1.7.4-0.el9"}


# --- kdump-config show / kdumpctl status ------------------------------------------


def test_kdump_config_show_ready():
    show = hf.parse_kdump_config_show(load_fixture("kdump_config", "ubuntu-26.04-ready.txt"))
    assert show["ready"] is True
    assert show["current_state"] == "ready to kdump"
    assert show["crashkernel_addr"] == 0x60000000
    assert show["suggested_size"] == "417M"
    assert show["settings"] == {"DUMP_MODE": "kdump", "USE_KDUMP": "1", "KDUMP_COREDIR": "/var/crash"}
    assert show["kexec_command"].startswith("/sbin/kexec -p -s --command-line=")


def test_kdump_config_show_not_ready_without_reservation():
    show = hf.parse_kdump_config_show(load_fixture("kdump_config", "ubuntu-26.04-not-ready.txt"))
    assert show["ready"] is False
    assert show["current_state"] == "Not ready to kdump"
    assert show["crashkernel_addr"] is None
    assert show["kexec_command"] is None  # "no kexec command recorded"


@pytest.mark.parametrize(
    ("name", "remote"),
    [
        ("ubuntu-16.04-ssh.txt", {"SSH": "ubuntu@kdump-netcrash", "SSH_KEY": "/root/.ssh/kdump_id_rsa"}),
        ("ubuntu-16.04-nfs.txt", {"NFS": "kdump-netcrash:/var/crash"}),
    ],
)
def test_kdump_config_show_remote_targets(name, remote):
    show = hf.parse_kdump_config_show(load_fixture("kdump_config", name))
    assert show["ready"] is True
    assert show["crashkernel_addr"] == 0x2C000000
    assert show["settings"]["KDUMP_SYSCTL"] == "kernel.panic_on_oops=1"
    for key, value in remote.items():
        assert show["settings"][key] == value
    assert show["suggested_size"] is None  # older kdump-tools did not print it


def test_kdumpctl_status_fadump_operational():
    status = hf.parse_kdumpctl_status(load_fixture("kdumpctl_status", "el10-ppc64le-fadump-operational.txt"), rc=0)
    assert status == {
        "operational": True,
        "dump_mode": "fadump",
        "messages": ["Dump mode is fadump", "Kdump is operational"],
    }


def test_kdumpctl_status_exit_code_3_means_not_operational():
    # Exit 3 is kdumpctl's "not operational" (see fixtures/kdumpctl_status/SOURCE.md); the
    # fadump lines without their verdict line leave only the exit code to decide.
    lines = load_fixture("kdumpctl_status", "el10-ppc64le-fadump-operational.txt").splitlines()
    status = hf.parse_kdumpctl_status(lines[0] + "\n", rc=3)
    assert status["operational"] is False
    assert status["dump_mode"] == "fadump"


# --- dumps ----------------------------------------------------------------------


def _entry(directory, name, mtime, *, mode=0o100600, dir_mode=0o040700, size=4096):
    return {
        "dir": directory,
        "name": name,
        "path": f"/var/crash/{directory}/{name}",
        "size": size,
        "mtime": mtime,
        "mode": mode,
        "dir_mode": dir_mode,
    }


def test_find_dumps_knows_both_layouts_and_skips_logs_and_partial_files():
    # The names the tools write (LAB.md; kdump-utils kdump.conf(5) "%HOST_IP-%DATE/vmcore").
    listing = [
        _entry("202611221330", "dump.202611221330", 100.0, mode=0o100644, dir_mode=0o040755),
        _entry("202611221330", "dmesg.202611221330", 100.0),
        _entry("127.0.0.1-2026-11-22-13:40:02", "vmcore", 200.0),
        _entry("127.0.0.1-2026-11-22-13:40:02", "vmcore-dmesg.txt", 200.0),
        _entry("127.0.0.1-2026-11-22-14:00:00", "vmcore-incomplete", 300.0),
        _entry("notadate", "dump.notadate", 400.0),
    ]
    found = hf.find_dumps(listing)
    assert found["count"] == 2
    assert [item["path"] for item in found["items"]] == [
        "/var/crash/127.0.0.1-2026-11-22-13:40:02/vmcore",
        "/var/crash/202611221330/dump.202611221330",
    ]
    assert found["newest"] == found["items"][0]
    debian = found["items"][1]
    assert (debian["mode"], debian["dir_mode"], debian["world_readable"]) == ("0644", "0755", True)
    assert found["items"][0]["world_readable"] is False


def test_find_dumps_file_readable_by_others_in_a_closed_directory_is_not_world_readable():
    found = hf.find_dumps([_entry("202611221330", "dump.202611221330", 1.0, mode=0o100644, dir_mode=0o040700)])
    assert found["items"][0]["world_readable"] is False


def test_find_dumps_limit_keeps_the_newest_and_counts_all():
    listing = [_entry(f"2026112213{minute:02d}", f"dump.2026112213{minute:02d}", float(minute)) for minute in range(5)]
    found = hf.find_dumps(listing, limit=2)
    assert found["count"] == 5
    assert [item["mtime"] for item in found["items"]] == [4.0, 3.0]
    assert found["newest"]["mtime"] == 4.0
    assert hf.find_dumps([], limit=2) == {
        "count": 0, "items": [], "newest": None, "world_readable_count": 0, "group_readable_count": 0,
    }  # fmt: skip


def test_find_dumps_counts_exposed_dumps_beyond_the_limit():
    listing = [_entry(f"2026112213{minute:02d}", f"dump.2026112213{minute:02d}", float(minute)) for minute in range(3)]
    listing[0]["mode"] = 0o100644  # the oldest, cut off by the limit
    listing[0]["dir_mode"] = 0o40755
    found = hf.find_dumps(listing, limit=1)
    assert [item["world_readable"] for item in found["items"]] == [False]
    assert found["world_readable_count"] == 1


# --- the lab's Debian 12 VM with kdump active (recorded files, see their SOURCE.md) ---


def _lab(name):
    return (LAB_KDUMP / name).read_text(encoding="utf-8")


def test_lab_vm_crash_kernel_region_matches_kexec_crash_size():
    summary = hf.summarize_iomem(_lab("iomem"))
    assert summary["crash_kernel"] is not None
    assert summary["crash_kernel"]["size"] == int(_lab("kexec_crash_size"))
    assert int(_lab("kexec_crash_loaded")) == 1
    assert hf.parse_meminfo(_lab("meminfo"))["MemTotal"] < summary["system_ram_bytes"]


def test_lab_vm_kdump_tools_is_installed_and_running():
    versions = hf.parse_dpkg_query(_lab("dpkg-query-kdump.stdout"), DEBIAN_PACKAGES)
    assert all(versions.values())
    state = hf.parse_systemctl_show(_lab("systemctl-show-kdump-tools.stdout"))
    assert (state["exists"], state["enabled"], state["active"]) == (True, True, True)
    missing = hf.parse_systemctl_show(_lab("systemctl-show-missing.stdout"))
    assert (missing["exists"], missing["enabled"], missing["active"]) == (False, False, False)
    assert hf.parse_kdump_config_show(_lab("kdump-config-show.txt"))["ready"] is True


def test_find_dumps_sees_kdump_tools_compressed_and_copied_dumps():
    names = ["dump.202611221330.gz", "dump.202611221330.xz", "vmcore.202611221330", "dump-incomplete.gz"]
    names += ["dump.202611221330.zip", "vmcore-incomplete", "dmesg.202611221330"]
    found = hf.find_dumps([_entry("202611221330", name, float(i)) for i, name in enumerate(names)])
    assert sorted(item["path"].rsplit("/", 1)[-1] for item in found["items"]) == [
        "dump.202611221330.gz",
        "dump.202611221330.xz",
        "vmcore.202611221330",
    ]


# SUSE's kdump (openSUSE/kdump: 2.x dracut/kdump-save @ 34da4b88, 1.x kdumptool/savedump.cc @ 64445e1d, see
# fixtures/suse/dumps/SOURCE.md): what each generation leaves in a dump directory.
SUSE_2X_FILES = ["README.txt", "dmesg", "vmcore"]
SUSE_1X_FILES = ["README.txt", "dmesg.txt", "vmcore", "makedumpfile-R.pl", "rearrange.sh"]
SUSE_1X_COPIES = ["System.map-6.4.0-150600.23.25-default", "vmlinux-6.4.0-150600.23.25-default.gz"]


@pytest.mark.parametrize(
    "directory, names",
    [
        ("2026-12-03-10-15", SUSE_2X_FILES),  # 2.x, local target
        ("sles16.example.com-2026-12-03-10-15", SUSE_2X_FILES),  # 2.x, remote: the hostname first
        ("2026-12-03-10:15", SUSE_1X_FILES + SUSE_1X_COPIES),  # 1.x, local, KDUMP_COPY_KERNEL
        ("10.77.0.31-2026-12-03-10:15", SUSE_1X_FILES),  # 1.x, remote: the source address first
    ],
)
def test_find_dumps_sees_one_vmcore_in_each_suse_dump_directory(directory, names):
    found = hf.find_dumps([_entry(directory, name, float(i)) for i, name in enumerate(names)])
    assert [item["path"] for item in found["items"]] == [f"/var/crash/{directory}/vmcore"]


def test_a_split_suse_dump_counts_once_by_its_first_part():
    names = ["README.txt", "dmesg.txt", "vmcore1", "vmcore2", "vmcore3"]
    found = hf.find_dumps([_entry("2026-12-03-10:15", name, 1.0) for name in names])
    assert (found["count"], found["newest"]["path"]) == (1, "/var/crash/2026-12-03-10:15/vmcore1")
    # Only kdump 1.x splits; elsewhere a vmcore1 is nobody's dump.
    assert hf.is_dump("2026-12-03-10-15", "vmcore1") is False
    assert hf.is_dump("202612031015", "vmcore1") is False


@pytest.mark.parametrize(
    "directory",
    ["2026-12-03-10-15x", "web 01-2026-12-03-10-15", "2026-12-03-10:15:07", "2026-12-03", "10.77.0.31-2026-12-03"],
)
def test_a_vmcore1_outside_a_suse_1x_dump_directory_is_not_a_dump(directory):
    assert hf.is_dump(directory, "vmcore1") is False


# --- memory_figure / system_ram_regions / choose_bootloader (one rule for every module) ----


def test_memory_figure_prefers_system_ram_of_iomem():
    summary = hf.summarize_iomem(load_fixture("proc", CONTROLLER + "/iomem"))
    meminfo = hf.parse_meminfo(load_fixture("proc", CONTROLLER + "/meminfo"))
    assert hf.memory_figure(summary, meminfo) == {"bytes": 0x9EC00 + 0xBFF00000 + 0x540000000, "source": "iomem"}


def test_memory_figure_falls_back_to_memtotal_when_iomem_is_masked():
    summary = hf.summarize_iomem(load_fixture("proc", CONTROLLER + "/iomem.nonroot"))
    meminfo = hf.parse_meminfo(load_fixture("proc", CONTROLLER + "/meminfo"))
    assert hf.memory_figure(summary, meminfo) == {"bytes": 24684092 * 1024, "source": "meminfo"}


@pytest.mark.parametrize("summary", [None, {}, hf.summarize_iomem("")])
def test_memory_figure_unknown(summary):
    assert hf.memory_figure(summary, None) == {"bytes": None, "source": None}
    assert hf.memory_figure(summary, {}) == {"bytes": None, "source": None}


def test_system_ram_regions_are_the_outermost_ones():
    regions = hf.parse_iomem(load_fixture("proc", CONTROLLER + "/iomem"))
    assert hf.system_ram_regions(regions) == [(0x1000, 0x9FBFF), (0x100000, 0xBFFFFFFF), (0x100000000, 0x63FFFFFFF)]
    assert hf.system_ram_regions(hf.parse_iomem(load_fixture("proc", CONTROLLER + "/iomem.nonroot"))) == []


@pytest.mark.parametrize(
    ("tools", "bootloader"),
    [
        ({"grubby", "grub2-mkconfig"}, "grubby"),  # RHEL family
        ({"grubby", "update-grub"}, "grubby"),
        ({"update-grub", "grub-mkconfig"}, "grub_dropin"),  # Debian, Ubuntu
        ({"grub-mkconfig"}, "grub_dropin"),  # upstream GRUB; the module then checks the drop-in loop
        ({"grub2-mkconfig"}, "grub_default"),  # SUSE family: /etc/default/grub itself, then grub2-mkconfig
        (set(), "none"),  # e.g. systemd-boot with kdump-tools' grub.d/kdump-tools.cfg left over
    ],
)
def test_choose_bootloader(tools, bootloader):
    asked = []

    def has_tool(name):
        asked.append(name)
        return name in tools

    assert hf.choose_bootloader(has_tool) == bootloader
    assert set(asked) <= {"grubby", "update-grub", "grub-mkconfig", "grub2-mkconfig"}
