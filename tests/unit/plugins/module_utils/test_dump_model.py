"""The role's dump model: validation per family, mapping to both file formats, summaries for kdump_info."""

from __future__ import annotations

import copy
import shutil
import subprocess

import pytest
from ansible_collections.kdump.fleet.plugins.module_utils import _kdump_conf, _kdump_tools
from ansible_collections.kdump.fleet.plugins.module_utils._dump_model import (
    DEFAULTS,
    DumpModelError,
    normalize,
    to_kdump_conf,
    to_kdump_tools,
    to_kdump_tools_values,
    validate,
)

NFS = {"type": "nfs", "server": "nfs.example.com", "export": "/exports/crash"}
SSH = {"type": "ssh", "server": "kdump@dumps.example.com", "key": "/root/.ssh/kdump_id_rsa"}
DEVICE = {"type": "device", "device": "UUID=03138356-5e61-4ab3-b58e-27507ac41937", "fstype": "xfs"}
RAW = {"type": "raw", "device": "/dev/disk/by-id/virtio-crash"}


def test_normalize_fills_defaults_without_touching_input():
    model = {"kdump_core_collector": {"compression": "lzo"}, "kdump_crashkernel": "256M"}
    original = copy.deepcopy(model)
    result = normalize(model)
    assert model == original
    assert result["kdump_core_collector"] == {"dump_level": 31, "compression": "lzo", "extra_args": [], "raw": ""}
    assert result["kdump_target"] == {"type": "local"}
    assert result["kdump_crashkernel"] == "256M"
    for name in DEFAULTS:
        assert name in result
    assert normalize(None) == DEFAULTS


def test_unset_sub_options_take_defaults():
    # Role argument specs hand over unset sub-options as None.
    model = {
        "kdump_target": {"type": None, "device": None, "fstype": None, "server": None, "export": None, "key": None},
        "kdump_core_collector": {"dump_level": None, "compression": "lzo", "extra_args": None, "raw": None},
    }
    assert validate(model, "redhat") == []
    assert "core_collector makedumpfile -l -d 31\n" in to_kdump_conf(model)


@pytest.mark.parametrize("family", ["redhat", "debian"])
def test_defaults_are_valid(family):
    assert validate({}, family) == []


@pytest.mark.parametrize("target", [NFS, SSH, {"type": "local"}, {"type": "ssh", "server": "kdump@dumps"}])
@pytest.mark.parametrize("family", ["redhat", "debian"])
def test_portable_targets_are_valid_everywhere(target, family):
    assert validate({"kdump_target": target}, family) == []


@pytest.mark.parametrize("target", [DEVICE, RAW])
def test_block_targets_redhat_only(target):
    assert validate({"kdump_target": target}, "redhat") == []
    assert validate({"kdump_target": target}, "debian") == [
        "kdump_target.type={} is not supported by kdump-tools (Debian/Ubuntu); use local, nfs or ssh".format(
            target["type"]
        )
    ]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            {"type": "nfs", "export": "/x"},
            "kdump_target.server is required for type nfs (the NFS server's name or address)",
        ),
        (
            {"type": "nfs", "server": "s"},
            "kdump_target.export is required for type nfs (the exported directory, e.g. /exports/crash)",
        ),
        (
            {"type": "nfs", "server": "s", "export": "x"},
            "kdump_target.export=x must be an absolute path, e.g. /exports/crash",
        ),
        (
            {"type": "ssh", "server": "dumps.example.com"},
            "kdump_target.server=dumps.example.com must be written as user@host for type ssh",
        ),
        (
            {"type": "ssh", "server": "a@b", "key": "id_rsa"},
            "kdump_target.key=id_rsa must be an absolute path, e.g. /root/.ssh/kdump_id_rsa",
        ),
        (
            {"type": "device", "device": "/dev/sdb1"},
            "kdump_target.fstype is required for type device (one of ext2, ext3, ext4, xfs, btrfs)",
        ),
        (
            {"type": "device", "device": "/dev/sdb1", "fstype": "vfat"},
            "kdump_target.fstype=vfat is not supported; use one of ext2, ext3, ext4, xfs, btrfs",
        ),
        ({"type": "raw"}, "kdump_target.device is required for type raw (a block device such as /dev/disk/by-id/...)"),
        (
            {"type": "raw", "device": "sdb1"},
            "kdump_target.device=sdb1 must be a block device path under /dev/ for type raw (must be an absolute path), "
            "e.g. /dev/disk/by-id/...",
        ),
        ({"type": "tftp"}, "kdump_target.type=tftp is not valid; use one of local, device, raw, nfs, ssh"),
        (
            {"type": "local", "sever": "x"},
            "kdump_target.sever is not a known key; use type, device, fstype, server, export, key, port",
        ),
        (
            {"type": "nfs", "server": "s", "export": "/x", "key": "/k"},
            "kdump_target.key is not used with type nfs; remove it",
        ),
        (
            {"type": "nfs", "server": "s s", "export": "/x"},
            "kdump_target.server='s s' is not a host name (RFC 1123: labels of letters, digits and inner '-' joined by "
            "'.') nor an IPv4 or IPv6 address, e.g. nfs.example.com",
        ),
    ],
)
def test_target_errors(target, message):
    assert validate({"kdump_target": target}, "redhat") == [message]


def test_target_must_be_dict():
    assert validate({"kdump_target": "local"}, "redhat") == ["kdump_target must be a dict such as {type: local}"]


@pytest.mark.parametrize(
    ("collector", "family", "message"),
    [
        ({"compression": "zstd"}, "debian", "kdump_core_collector.compression=zstd: Debian's makedumpfile is built"),
        ({"compression": "snappy"}, "debian", "kdump_core_collector.compression=snappy: Debian's makedumpfile"),
        ({"compression": "gzip"}, "redhat", "kdump_core_collector.compression=gzip is not valid; use one of zlib"),
        ({"dump_level": 32}, "redhat", "kdump_core_collector.dump_level=32 must be a whole number from 0 to 31"),
        ({"dump_level": "31"}, "redhat", "kdump_core_collector.dump_level='31' must be a whole number"),
        ({"extra_args": "--message-level 7"}, "redhat", "kdump_core_collector.extra_args must be a list"),
        ({"extra_args": ["--x #y"]}, "redhat", "kdump_core_collector.extra_args[0]='--x #y' may only hold letters"),
        ({"level": 31}, "redhat", "kdump_core_collector.level is not a known key; use dump_level, compression"),
        ({"raw": "makedumpfile -c -d 31"}, "debian", "kdump_core_collector.raw becomes MAKEDUMP_ARGS on Debian/Ubuntu"),
        ({"raw": "a # b"}, "redhat", "kdump_core_collector.raw='a # b' must be words of letters, digits"),
    ],
)
def test_collector_errors(collector, family, message):
    errors = validate({"kdump_core_collector": collector}, family)
    assert len(errors) == 1
    assert errors[0].startswith(message)


def test_zstd_and_snappy_fine_on_redhat():
    assert validate({"kdump_core_collector": {"compression": "zstd"}}, "redhat") == []
    assert validate({"kdump_core_collector": {"compression": "snappy"}}, "redhat") == []


def test_raw_collector_for_ssh_needs_flattening_on_redhat():
    model = {"kdump_target": SSH, "kdump_core_collector": {"raw": "makedumpfile -c -d 31"}}
    assert validate(model, "redhat") == [
        "kdump_core_collector.raw must contain -F for the ssh target (mkdumprd refuses it otherwise)"
    ]


@pytest.mark.parametrize(
    ("model", "family", "message"),
    [
        (
            {"kdump_failure_action": "shell"},
            "debian",
            "kdump_failure_action=shell is not supported by kdump-tools (Debian/Ubuntu); use reboot, halt or poweroff",
        ),
        (
            {"kdump_final_action": "halt"},
            "debian",
            "kdump_final_action=halt is not supported by kdump-tools (Debian/Ubuntu): "
            "it always reboots after the dump; use reboot",
        ),
        (
            {"kdump_keep_dumps": 3, "kdump_target": NFS},
            "debian",
            "kdump_keep_dumps=3 is only honoured by kdump-tools for local dumps; set 0 for type nfs",
        ),
        (
            {"kdump_keep_dumps": 3},
            "redhat",
            "kdump_keep_dumps=3 is not supported by kdump.conf (the RHEL family has no dump retention); set 0",
        ),
        (
            {"kdump_dump_dmesg": False},
            "redhat",
            "kdump_dump_dmesg=false is not supported by kdump.conf "
            "(the RHEL family always saves vmcore-dmesg.txt); set true",
        ),
        ({"kdump_keep_dumps": -1}, "debian", "kdump_keep_dumps=-1 must be a whole number, 0 to keep every dump"),
        (
            {"kdump_failure_action": "panic"},
            "redhat",
            "kdump_failure_action=panic is not valid; use one of reboot, halt, poweroff, shell, dump_to_rootfs",
        ),
        (
            {"kdump_failure_action": "dump_to_rootfs"},
            "redhat",
            "kdump_failure_action=dump_to_rootfs only helps when the target is not the root file system; "
            "use reboot or shell with type local",
        ),
        (
            {"kdump_final_action": "shell"},
            "redhat",
            "kdump_final_action=shell is not valid; use one of reboot, halt, poweroff",
        ),
        (
            {"kdump_path": "var/crash"},
            "redhat",
            "kdump_path=var/crash must be an absolute path, e.g. /var/crash",
        ),
        (
            {"kdump_path": "/var/my crash"},
            "debian",
            "kdump_path='/var/my crash' holds ' '; a path may only hold letters, digits and . _ + - between single "
            "slashes, e.g. /var/crash",
        ),
        ({"kdump_enabled": "yes"}, "debian", "kdump_enabled='yes' must be true or false"),
    ],
)
def test_model_errors(model, family, message):
    assert validate(model, family) == [message]


def test_supported_per_family_choices():
    assert validate({"kdump_failure_action": "halt", "kdump_keep_dumps": 5}, "debian") == []
    assert (
        validate(
            {"kdump_failure_action": "dump_to_rootfs", "kdump_target": NFS, "kdump_final_action": "poweroff"}, "redhat"
        )
        == []
    )


def test_unknown_family():
    assert validate({}, "aix") == [
        "OS family 'aix' is not supported; kdump.fleet renders dump config for redhat, debian, suse"
    ]


def test_every_problem_is_reported_at_once():
    errors = validate({"kdump_target": RAW, "kdump_final_action": "halt", "kdump_failure_action": "shell"}, "debian")
    assert len(errors) == 3


# ---------------------------------------------------------------- kdump.conf


KDUMP_CONF = [
    (
        {},
        "path /var/crash\ncore_collector makedumpfile -l -d 31\nfailure_action reboot\nfinal_action reboot\n",
    ),
    (
        {"kdump_target": NFS, "kdump_core_collector": {"compression": "lzo", "dump_level": 17}},
        "nfs nfs.example.com:/exports/crash\npath /var/crash\ncore_collector makedumpfile -l -d 17\n"
        "failure_action reboot\nfinal_action reboot\n",
    ),
    (
        {"kdump_target": SSH, "kdump_path": "/srv/crash", "kdump_failure_action": "shell"},
        "ssh kdump@dumps.example.com\nsshkey /root/.ssh/kdump_id_rsa\npath /srv/crash\n"
        "core_collector makedumpfile -F -l -d 31\nfailure_action shell\nfinal_action reboot\n",
    ),
    (
        {
            "kdump_target": DEVICE,
            "kdump_core_collector": {"compression": "none", "extra_args": ["--message-level", "7"]},
        },
        "xfs UUID=03138356-5e61-4ab3-b58e-27507ac41937\npath /var/crash\n"
        "core_collector makedumpfile -d 31 --message-level 7\nfailure_action reboot\nfinal_action reboot\n",
    ),
    (
        {"kdump_target": RAW, "kdump_core_collector": {"compression": "zstd"}, "kdump_final_action": "poweroff"},
        "raw /dev/disk/by-id/virtio-crash\ncore_collector makedumpfile -F -z -d 31\n"
        "failure_action reboot\nfinal_action poweroff\n",
    ),
    (
        {
            "kdump_target": {"type": "nfs", "server": "2001:db8::1", "export": "/crash"},
            "kdump_core_collector": {"raw": "cp --sparse=always"},
        },
        "nfs [2001:db8::1]:/crash\npath /var/crash\ncore_collector cp --sparse=always\n"
        "failure_action reboot\nfinal_action reboot\n",
    ),
]


@pytest.mark.parametrize(("model", "expected"), KDUMP_CONF)
def test_to_kdump_conf(model, expected):
    text = to_kdump_conf(model)
    assert text == expected
    # What we write is exactly what kdumpctl would accept.
    conf = _kdump_conf.parse(text)
    assert conf.errors == [] and _kdump_conf.validate(conf) == []


def test_to_kdump_conf_refuses_invalid_model():
    with pytest.raises(DumpModelError) as raised:
        to_kdump_conf({"kdump_target": {"type": "ssh"}, "kdump_keep_dumps": 2})
    assert raised.value.errors == [
        "kdump_target.server is required for type ssh (as user@host)",
        "kdump_keep_dumps=2 is not supported by kdump.conf (the RHEL family has no dump retention); set 0",
    ]


# ------------------------------------------------------------- kdump-tools


KDUMP_TOOLS = [
    (
        {},
        {
            "USE_KDUMP": "1",
            "KDUMP_KERNEL": "/var/lib/kdump/vmlinuz",
            "KDUMP_INITRD": "/var/lib/kdump/initrd.img",
            "KDUMP_COREDIR": "/var/crash",
            "KDUMP_FAIL_CMD": "reboot -f",
            "KDUMP_DUMP_DMESG": "1",
            "KDUMP_NUM_DUMPS": "0",
            "MAKEDUMP_ARGS": "-F -l -d 31",
        },
    ),
    (
        {
            "kdump_enabled": False,
            "kdump_keep_dumps": 3,
            "kdump_dump_dmesg": False,
            "kdump_failure_action": "poweroff",
            "kdump_core_collector": {"compression": "lzo", "dump_level": 1, "extra_args": ["--message-level", "7"]},
        },
        {
            "USE_KDUMP": "0",
            "KDUMP_FAIL_CMD": "poweroff -f",
            "KDUMP_DUMP_DMESG": "0",
            "KDUMP_NUM_DUMPS": "3",
            "MAKEDUMP_ARGS": "-F -l -d 1 --message-level 7",
        },
    ),
    ({"kdump_target": NFS}, {"NFS": "nfs.example.com:/exports/crash"}),
    (
        {"kdump_target": SSH, "kdump_path": "/srv/crash"},
        {"SSH": "kdump@dumps.example.com", "SSH_KEY": "/root/.ssh/kdump_id_rsa", "KDUMP_COREDIR": "/srv/crash"},
    ),
    ({"kdump_core_collector": {"raw": "-c -d 31 --message-level 7"}}, {"MAKEDUMP_ARGS": "-c -d 31 --message-level 7"}),
    ({"kdump_failure_action": "halt"}, {"KDUMP_FAIL_CMD": "halt -f"}),
]


def _expected_tools(changes):
    expected = dict(KDUMP_TOOLS[0][1])
    expected.update(changes)
    return expected


@pytest.mark.parametrize(("model", "changes"), KDUMP_TOOLS)
def test_to_kdump_tools_values(model, changes):
    values = to_kdump_tools_values(model)
    assert values == _expected_tools(changes)
    assert _kdump_tools.validate(values) == []


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs /bin/sh")
@pytest.mark.parametrize(("model", "changes"), KDUMP_TOOLS)
def test_to_kdump_tools_text_is_what_sh_sees(model, changes, tmp_path):
    expected = _expected_tools(changes)
    path = tmp_path / "kdump-tools"
    path.write_text(to_kdump_tools(model), encoding="utf-8")
    names = sorted(expected)
    script = '. "$1"; shift; for n in "$@"; do eval "printf \'%s\\0\' \\"\\$$n\\""; done'
    out = subprocess.run(
        [shutil.which("sh"), "-c", script, "sh", str(path), *names],
        capture_output=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    ).stdout
    assert dict(zip(names, out.decode().split("\0")[:-1], strict=True)) == expected


def test_to_kdump_tools_refuses_invalid_model():
    with pytest.raises(DumpModelError, match="kdump_target.type=raw is not supported by kdump-tools"):
        to_kdump_tools({"kdump_target": RAW})
