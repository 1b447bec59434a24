"""The on-host config readers: kdump.conf and /etc/default/kdump-tools as kdump_info's config view."""

from __future__ import annotations

import pytest
from ansible_collections.kdump.fleet.plugins.module_utils._dump_model import normalize, to_kdump_conf, to_kdump_tools
from ansible_collections.kdump.fleet.plugins.module_utils._host_config import (
    summarize_kdump_conf,
    summarize_kdump_tools,
)
from ansible_collections.kdump.fleet.plugins.module_utils._host_state import conform
from conftest import load_fixture

NFS = {"type": "nfs", "server": "nfs.example.com", "export": "/exports/crash"}
SSH = {"type": "ssh", "server": "kdump@dumps.example.com", "key": "/root/.ssh/kdump_id_rsa"}
NO_TARGET_FIELDS = {
    "server": None, "export": None, "host": None, "user": None, "port": None, "key": None, "device": None,
    "fstype": None, "location": None,
}  # fmt: skip

ROLE_MODELS = [
    {},
    {"kdump_target": NFS, "kdump_path": "/vmcores"},
    {"kdump_target": SSH},
    {"kdump_target": {"type": "device", "device": "UUID=0b6d0c4e-2f6a-4a2a-9d7e-1e9f0f3a5b11", "fstype": "xfs"}},
    {"kdump_target": {"type": "raw", "device": "/dev/vdb"}, "kdump_core_collector": {"compression": "zlib"}},
    {"kdump_core_collector": {"dump_level": 1, "compression": "none", "extra_args": ["--message-level", "7"]}},
    {"kdump_failure_action": "halt", "kdump_final_action": "poweroff"},
]
DEBIAN_MODELS = [
    {},
    {"kdump_target": NFS},
    {"kdump_target": SSH, "kdump_path": "/srv/dumps"},
    {"kdump_keep_dumps": 3, "kdump_dump_dmesg": False, "kdump_core_collector": {"compression": "zlib"}},
    {"kdump_failure_action": "poweroff"},
]


def _state_config(summary):
    """The summary as the state schema sees it: conforming must not lose or change anything."""
    state, problems = conform({"config": summary})
    assert problems == []
    return state["config"]


@pytest.mark.parametrize("model", ROLE_MODELS)
def test_kdump_conf_reads_back_what_the_role_wrote_in_the_role_vocabulary(model):
    summary = summarize_kdump_conf(to_kdump_conf(model))
    full = normalize(model)
    target, collector = full["kdump_target"], full["kdump_core_collector"]
    assert summary["errors"] == []
    assert summary["target"]["type"] == target["type"]
    for key in ("server", "export", "key", "device", "fstype"):
        if key in target:
            assert summary["target"][key] == target[key]
    assert summary["target"]["path"] == (None if target["type"] == "raw" else full["kdump_path"])
    assert summary["collector"]["dump_level"] == collector["dump_level"]
    assert summary["collector"]["compression"] == collector["compression"]
    assert summary["collector"]["extra_args"] == collector["extra_args"]
    assert summary["collector"]["flattened"] == (target["type"] in ("ssh", "raw"))
    assert summary["failure_action"] == full["kdump_failure_action"]
    assert summary["final_action"] == full["kdump_final_action"]
    _state_config(summary)


@pytest.mark.parametrize("model", DEBIAN_MODELS)
def test_kdump_tools_reads_back_what_the_role_wrote_in_the_role_vocabulary(model):
    summary = summarize_kdump_tools(to_kdump_tools(model))
    full = normalize(model)
    target, collector = full["kdump_target"], full["kdump_core_collector"]
    assert summary["errors"] == []
    assert summary["target"]["type"] == target["type"]
    for key in ("server", "export", "key"):
        if key in target:
            assert summary["target"][key] == target[key]
    # kdump-config mounts an NFS export on KDUMP_COREDIR: the dumps land at the export's top.
    assert summary["target"]["path"] == ("/" if target["type"] == "nfs" else full["kdump_path"])
    assert (summary["collector"]["dump_level"], summary["collector"]["compression"]) == (
        collector["dump_level"],
        collector["compression"],
    )
    assert summary["collector"]["flattened"] is True
    assert summary["failure_action"] == full["kdump_failure_action"]
    assert summary["keep_dumps"] == full["kdump_keep_dumps"]
    assert summary["dump_dmesg"] == full["kdump_dump_dmesg"]
    _state_config(summary)


def test_summary_of_shipped_kdump_conf():
    summary = summarize_kdump_conf(load_fixture("kdump_conf", "kdump-utils-63f248c-x86_64.kdump.conf"))
    assert summary == {
        "target": dict(NO_TARGET_FIELDS, type="local", path="/var/crash"),
        "collector": {
            "command": "makedumpfile -l --message-level 7 -d 31",
            "tool": "makedumpfile",
            "dump_level": 31,
            "compression": "lzo",
            "flattened": False,
            "extra_args": ["--message-level", "7"],
        },
        "failure_action": "reboot",
        "final_action": "reboot",
        "keep_dumps": 0,
        "dump_dmesg": True,
        "errors": [],
    }


def test_summary_of_hand_edited_kdump_conf():
    summary = summarize_kdump_conf("net user@dumps\nssh root@dumps.example.com\ndefault halt\n")
    assert summary["target"] == dict(
        NO_TARGET_FIELDS,
        type="ssh",
        path="/var/crash",
        server="root@dumps.example.com",
        user="root",
        host="dumps.example.com",
        location="root@dumps.example.com",
    )
    assert summary["failure_action"] == "halt"
    assert summary["collector"]["command"] == "makedumpfile -F -l --message-level 7 -d 31"
    assert summary["errors"] == [
        "directive 'net' was removed from kdump.conf: use 'nfs <server>:<export>' or 'ssh <user>@<host>' instead",
        "directive 'default' is obsolete; write 'failure_action halt' instead",
    ]


def test_summary_of_device_kdump_conf():
    summary = summarize_kdump_conf("ext4 LABEL=crash\npath /dumps\n")
    assert summary["target"] == dict(
        NO_TARGET_FIELDS, type="device", path="/dumps", device="LABEL=crash", fstype="ext4", location="LABEL=crash"
    )


def test_summary_of_nfs_kdump_conf_with_an_ipv6_server():
    summary = summarize_kdump_conf("nfs [fd00::5]:/exports/crash\n")
    target = summary["target"]
    assert (target["server"], target["host"], target["export"]) == ("fd00::5", "fd00::5", "/exports/crash")


def test_summary_of_shipped_kdump_tools_default():
    summary = summarize_kdump_tools(load_fixture("kdump_tools", "debian12-kdump-tools_1.8.1.default"))
    assert summary == {
        "target": dict(NO_TARGET_FIELDS, type="local", path="/var/crash"),
        "collector": {
            "command": "makedumpfile -F -c -d 31",
            "tool": "makedumpfile",
            "dump_level": 31,
            "compression": "zlib",
            "flattened": True,
            "extra_args": [],
        },
        "failure_action": "reboot",
        "final_action": "reboot",
        "keep_dumps": 0,
        "dump_dmesg": True,
        "errors": [],
    }


def test_summary_of_hand_edited_kdump_tools():
    text = (
        'USE_KDUMP=1\nNFS="srv:/crash"\nMAKEDUMP_ARGS="-c -d 31"\nKDUMP_FAIL_CMD="/bin/bash; reboot -f"\n'
        "KDUMP_NUM_DUMPS=bad\n"
    )
    summary = summarize_kdump_tools(text)
    assert summary["target"] == dict(
        NO_TARGET_FIELDS, type="nfs", path="/", server="srv", host="srv", export="/crash", location="srv:/crash"
    )
    assert summary["collector"]["command"] == "makedumpfile -c -d 31 -F"
    assert summary["failure_action"] == "/bin/bash; reboot -f"
    # The file's value is no number: unknown in the state, and the reason is in errors.
    assert summary["keep_dumps"] is None
    assert summary["errors"] == [
        "KDUMP_NUM_DUMPS='bad' must be a whole number (0 or more)",
        "KDUMP_NUM_DUMPS is ignored for NFS dumps (it only prunes local dumps); remove it",
    ]


def test_summary_of_ssh_kdump_tools():
    summary = summarize_kdump_tools(
        "USE_KDUMP=1\nSSH=u@h\nSSH_KEY=/root/.ssh/k\nKDUMP_COREDIR=/remote\nKDUMP_FAIL_CMD='/sbin/halt -f'\n"
    )
    assert summary["target"] == dict(
        NO_TARGET_FIELDS, type="ssh", path="/remote", server="u@h", user="u", host="h", key="/root/.ssh/k",
        location="u@h",
    )  # fmt: skip
    assert summary["failure_action"] == "halt"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("makedumpfile -l --message-level 7 -d 31", (31, "lzo", False, ["--message-level", "7"])),
        ("makedumpfile -F -c -d31", (31, "zlib", True, [])),
        ("/usr/sbin/makedumpfile -z -d 1 -F", (1, "zstd", True, [])),
        ("makedumpfile --message-level 1", (0, "none", False, ["--message-level", "1"])),
        ("cp --sparse=always", (0, "none", False, ["--sparse=always"])),
    ],
)
def test_collector_lines_become_structured_fields(command, expected):
    summary = summarize_kdump_conf(f"core_collector {command}\n")
    collector = summary["collector"]
    assert (collector["dump_level"], collector["compression"], collector["flattened"], collector["extra_args"]) == (
        expected
    )
    assert collector["command"] == command
