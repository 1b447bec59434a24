"""What a host configured by kdump.fleet.kdump must look like (runs on the lab VMs)."""

from __future__ import annotations

import re
import shlex

KDUMP_TOOLS_CONFIG = "/etc/default/kdump-tools"
SOURCED_VARIABLES = ("USE_KDUMP", "KDUMP_COREDIR", "MAKEDUMP_ARGS", "KDUMP_NUM_DUMPS")


def _crashkernel_args(cmdline: str) -> list[str]:
    return [arg.split("=", 1)[1] for arg in cmdline.split() if arg.startswith("crashkernel=")]


def test_cmdline_has_the_value_the_role_set(host, expected):
    cmdline = host.file("/proc/cmdline").content_string
    assert _crashkernel_args(cmdline) == [expected["crashkernel"]], cmdline


def test_capture_kernel_is_loaded(host):
    assert host.file("/sys/kernel/kexec_crash_loaded").content_string.strip() == "1"


def test_reservation_has_the_configured_size(host, expected):
    size = int(host.file("/sys/kernel/kexec_crash_size").content_string)
    assert size > 0
    assert size == expected["reserved_bytes"]


def test_iomem_shows_the_crash_kernel_region(host, expected):
    iomem = host.check_output("cat /proc/iomem")  # root: real addresses, not zeros
    regions = re.findall(r"^\s*([0-9a-f]+)-([0-9a-f]+) : Crash kernel$", iomem, re.MULTILINE)
    assert regions, iomem
    size = sum(int(end, 16) - int(start, 16) + 1 for start, end in regions)
    assert size == expected["reserved_bytes"]


def test_kdump_tools_service_enabled_and_active(host):
    service = host.service("kdump-tools")
    assert service.is_enabled
    assert service.is_running


def test_kdump_config_says_ready(host):
    assert "ready to kdump" in host.check_output("kdump-config status")


def test_rendered_config_means_what_the_role_was_asked(host, expected):
    config = host.file(KDUMP_TOOLS_CONFIG)
    assert config.exists
    assert "Ansible managed" in config.content_string
    # Source it the way kdump-config does, so quoting mistakes show up as wrong values.
    script = f". {KDUMP_TOOLS_CONFIG}; " + "; ".join(f'printf "%s\\n" "${name}"' for name in SOURCED_VARIABLES)
    output = host.run("sh -c " + shlex.quote(script)).stdout
    values = dict(zip(SOURCED_VARIABLES, output.split("\n"), strict=False))
    role_vars = expected["role_vars"]
    assert values["USE_KDUMP"] == "1"
    assert values["KDUMP_COREDIR"] == role_vars["kdump_path"]
    assert values["KDUMP_NUM_DUMPS"] == str(role_vars["kdump_keep_dumps"])
    makedump_args = values["MAKEDUMP_ARGS"].split()
    assert "-l" in makedump_args  # the role's default compression, lzo (left out of the scenario's vars)
    assert "-c" not in makedump_args
    assert f"-d {role_vars['kdump_core_collector']['dump_level']}" in values["MAKEDUMP_ARGS"]


def test_dump_directory_is_private(host, expected):
    directory = host.file(expected["role_vars"]["kdump_path"])
    assert directory.is_directory
    assert directory.mode == 0o700
    assert directory.user == "root"
