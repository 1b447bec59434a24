"""The dump model rendered to SUSE's /etc/sysconfig/kdump (openSUSE Leap, Tumbleweed, SLES).

SUSE cannot be booted here. What the file must be is taken from the kdump package itself: the options
its two code generations declare (tests/unit/fixtures/suse, each file naming its source commit), and how
both read the file (sourced by bash; the C++ kdumptool of SLES 15 SP5 reads a boolean as false only for
0/false/no, the scripts after it take yes/no/true/false/1/0).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.kdump.fleet.plugins.filter.dump_config import FilterModule, render_sysconfig_kdump
from ansible_collections.kdump.fleet.plugins.module_utils._dump_model import (
    DumpModelError,
    to_sysconfig_kdump,
    to_sysconfig_kdump_values,
    validate,
)
from conftest import fixture_path

NFS = {"type": "nfs", "server": "nfs.example.com", "export": "/exports/crash"}
SSH = {"type": "ssh", "server": "kdump@dumps.example.com", "key": "/root/.ssh/kdump_id_ed25519"}


def declared(name):
    """{NAME: (type, default)} of a fixture listing the options a kdump release declares."""
    options = {}
    for line in fixture_path("suse", name).read_text().splitlines():
        if line and not line.startswith("#"):
            option, kind, default = line.split(" ", 2)
            options[option] = (kind.lower(), default)
    return options


GEN2 = declared("options-2.1.9.txt")
GEN1 = declared("options-1.0.2-sle15sp5.txt")


def test_the_role_defaults_give_a_local_dump_in_var_crash():
    assert to_sysconfig_kdump({}) == (
        "KDUMP_SAVEDIR='file:///var/crash'\n"
        "KDUMP_DUMPLEVEL='31'\n"
        "KDUMP_DUMPFORMAT='lzo'\n"
        "MAKEDUMPFILE_OPTIONS=''\n"
        "KDUMP_KEEP_OLD_DUMPS='0'\n"
        "KDUMP_FREE_DISK_SIZE='0'\n"
        "KDUMP_CONTINUE_ON_ERROR='yes'\n"
        "KDUMP_IMMEDIATE_REBOOT='yes'\n"
        "KDUMP_UPDATE_BOOTLOADER='false'\n"
    )


@pytest.mark.parametrize(
    "target, savedir",
    [
        ({"type": "local"}, "file:///srv/crash"),
        (NFS, "nfs://nfs.example.com/exports/crash"),  # kdump mounts the export and saves into it
        (SSH, "ssh://kdump@dumps.example.com/srv/crash"),
        (dict(SSH, port=2222), "ssh://kdump@dumps.example.com:2222/srv/crash"),
    ],
)
def test_each_target_is_a_savedir_url(target, savedir):
    values = to_sysconfig_kdump_values({"kdump_target": target, "kdump_path": "/srv/crash"})
    assert values["KDUMP_SAVEDIR"] == savedir
    assert ("KDUMP_SSH_IDENTITY" in values) == (target.get("key") is not None)


def test_the_ssh_key_is_the_identity_file():
    assert to_sysconfig_kdump_values({"kdump_target": SSH})["KDUMP_SSH_IDENTITY"] == "/root/.ssh/kdump_id_ed25519"


@pytest.mark.parametrize(
    "compression, dumpformat",
    [("zlib", "compressed"), ("lzo", "lzo"), ("snappy", "snappy"), ("zstd", "zstd"), ("none", "ELF")],
)
def test_compression_is_the_dumpformat(compression, dumpformat):
    collector = {"dump_level": 17, "compression": compression, "extra_args": ["--message-level", "7"]}
    values = to_sysconfig_kdump_values({"kdump_core_collector": collector})
    assert (values["KDUMP_DUMPFORMAT"], values["KDUMP_DUMPLEVEL"]) == (dumpformat, "17")
    assert values["MAKEDUMPFILE_OPTIONS"] == "--message-level 7"


@pytest.mark.parametrize("keep, old", [(0, "0"), (2, "1"), (5, "4")])
def test_keep_dumps_counts_the_new_dump_and_the_old_ones_kept_beside_it(keep, old):
    assert to_sysconfig_kdump_values({"kdump_keep_dumps": keep})["KDUMP_KEEP_OLD_DUMPS"] == old


def test_failure_action_shell_stops_in_a_shell():
    assert to_sysconfig_kdump_values({"kdump_failure_action": "shell"})["KDUMP_CONTINUE_ON_ERROR"] == "no"


@pytest.mark.parametrize(
    "model, message",
    [
        ({"kdump_target": {"type": "raw", "device": "/dev/vdb"}}, "kdump_target.type=raw is not supported by SUSE"),
        (
            {"kdump_target": {"type": "device", "device": "/dev/vdb1", "fstype": "xfs"}},
            "kdump_target.type=device is not supported by SUSE",
        ),
        ({"kdump_target": dict(NFS, server="fd00::10")}, "an IPv6 address in a SUSE KDUMP_SAVEDIR URL"),
        ({"kdump_target": dict(SSH, server="kdump@fd00::10")}, "an IPv6 address in a SUSE KDUMP_SAVEDIR URL"),
        ({"kdump_target": dict(NFS, port=2049)}, "kdump_target.port is not supported for type nfs"),
        ({"kdump_failure_action": "halt"}, "kdump_failure_action=halt is not supported by SUSE's kdump"),
        ({"kdump_final_action": "poweroff"}, "kdump_final_action=poweroff is not supported by SUSE's kdump"),
        ({"kdump_dump_dmesg": False}, "kdump_dump_dmesg=false is not supported by SUSE's kdump"),
        ({"kdump_keep_dumps": 3, "kdump_target": NFS}, "kdump_keep_dumps=3 is only honoured by SUSE's kdump for local"),
        ({"kdump_keep_dumps": 1}, "kdump_keep_dumps=1 cannot be expressed on every SUSE release"),
        (
            {"kdump_core_collector": {"raw": "makedumpfile -l -d 31"}},
            "kdump_core_collector.raw is not supported on SUSE",
        ),
    ],
)
def test_what_suse_cannot_do_is_refused_naming_the_variable(model, message):
    errors = validate(model, "suse")
    assert any(message in error for error in errors), errors
    with pytest.raises(DumpModelError):
        to_sysconfig_kdump(model)
    with pytest.raises(AnsibleFilterError, match="render_sysconfig_kdump: invalid dump model"):
        render_sysconfig_kdump(model)


@pytest.mark.parametrize("target", [{"type": "local"}, NFS, SSH, dict(SSH, port=2222)])
def test_every_variable_written_is_one_both_kdump_generations_declare(target):
    names = set(to_sysconfig_kdump_values({"kdump_target": target}))
    # Read by kdumptool (a script) on SLES 16 and Tumbleweed, from sysconfig.kdump.in; older ones ignore it.
    names.discard("KDUMP_UPDATE_BOOTLOADER")
    assert names <= set(GEN2), names - set(GEN2)
    assert names <= set(GEN1), names - set(GEN1)


def test_types_match_what_the_releases_declare():
    values = to_sysconfig_kdump_values({"kdump_keep_dumps": 4, "kdump_target": {"type": "local"}})
    for name, value in values.items():
        kinds = {GEN2[name][0], GEN1[name][0]} if name in GEN2 else {"bool"}
        if kinds == {"int"}:
            assert value.lstrip("-").isdigit(), (name, value)
        elif kinds == {"bool"}:
            assert value in ("yes", "no", "true", "false"), (name, value)
    # KDUMP_UPDATE_BOOTLOADER is run as a command by kdumptool ($KDUMP_UPDATE_BOOTLOADER && ...): only true/false.
    assert values["KDUMP_UPDATE_BOOTLOADER"] == "false"


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_sourcing_the_file_gets_every_value_back_as_written(tmp_path):
    # The values the model lets through hold no shell characters; the quoting (tested with hostile values
    # in test_kdump_tools.py) makes sure bash reads each one back whole, spaces included.
    model = {
        "kdump_target": dict(SSH, port=2222),
        "kdump_path": "/srv/crash",
        "kdump_core_collector": {"extra_args": ["--message-level", "7"]},
    }
    values = to_sysconfig_kdump_values(model)
    path = tmp_path / "kdump"
    path.write_text(to_sysconfig_kdump(model))
    script = '. "$1"; for n in ' + " ".join(values) + '; do printf "%s=%s\\n" "$n" "${!n}"; done'
    done = subprocess.run(["bash", "-c", script, "bash", str(path)], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == [f"{name}={value}" for name, value in values.items()]


def test_the_filter_is_registered():
    assert FilterModule().filters()["render_sysconfig_kdump"] is render_sysconfig_kdump
    assert validate({}, "suse") == []
