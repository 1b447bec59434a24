"""The on-host config readers (kdump.conf, /etc/default/kdump-tools, /etc/sysconfig/kdump): kdump_info's config view."""

from __future__ import annotations

import pytest
import sibling_tests
from ansible_collections.kdump.fleet.plugins.module_utils import _host_config
from ansible_collections.kdump.fleet.plugins.module_utils._dump_model import (
    normalize,
    to_kdump_conf,
    to_kdump_tools,
    to_sysconfig_kdump,
    validate,
)
from ansible_collections.kdump.fleet.plugins.module_utils._host_config import (
    summarize_kdump_conf,
    summarize_kdump_tools,
    summarize_sysconfig_kdump,
)
from ansible_collections.kdump.fleet.plugins.module_utils._host_state import conform, target_endpoint
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


# ------------------------------------------------------------------ SUSE: /etc/sysconfig/kdump

TEST_DUMP_MODEL = sibling_tests.load("plugins/module_utils/test_dump_model.py")
TEST_SYSCONFIG = sibling_tests.load("plugins/module_utils/test_sysconfig_kdump.py")
SUSE_MODELS = [
    {"kdump_keep_dumps": 2},
    {"kdump_keep_dumps": 5, "kdump_failure_action": "shell"},
    {"kdump_target": dict(SSH, port=2222), "kdump_path": "/srv/crash"},
    {"kdump_target": {"type": "ssh", "server": "kdump@dumps.example.com"}},
] + [
    {"kdump_core_collector": {"compression": compression, "dump_level": 17, "extra_args": ["--message-level", "7"]}}
    for compression in ("zlib", "lzo", "snappy", "zstd", "none")
]
# Every model the other dump-model tests use that SUSE's kdump can express, and the SUSE ones above.
ROUND_TRIP_MODELS = [
    model
    for model in ROLE_MODELS
    + DEBIAN_MODELS
    + [model for model, _text in TEST_DUMP_MODEL.KDUMP_CONF]
    + [model for model, _values in TEST_DUMP_MODEL.KDUMP_TOOLS]
    + [{"kdump_target": target, "kdump_path": "/srv/crash"} for target in (TEST_SYSCONFIG.NFS, TEST_SYSCONFIG.SSH)]
    + SUSE_MODELS
    if validate(model, "suse") == []
]
SUSE_FIXTURES = (
    "sysconfig.kdump-SLE-15-SP5.x86_64",
    "sysconfig.kdump-SLE-15-SP6.x86_64",
    "sysconfig.kdump-master.x86_64",
    "sysconfig.kdump-master.ppc64le",
)


def test_the_round_trip_covers_the_models_of_the_other_tests():
    assert len(ROUND_TRIP_MODELS) >= 20
    kinds = {normalize(model)["kdump_target"]["type"] for model in ROUND_TRIP_MODELS}
    assert kinds == {"local", "nfs", "ssh"}


@pytest.mark.parametrize("model", ROUND_TRIP_MODELS)
def test_sysconfig_kdump_reads_back_what_the_role_wrote_in_the_role_vocabulary(model):
    summary = summarize_sysconfig_kdump(to_sysconfig_kdump(model))
    full = normalize(model)
    target, collector = full["kdump_target"], full["kdump_core_collector"]
    assert summary["errors"] == []
    assert summary["target"]["type"] == target["type"]
    for key in ("server", "export", "key", "port"):
        if key in target:
            assert summary["target"][key] == target[key]
    # kdump mounts an NFS export and saves into it, as kdump-tools does.
    assert summary["target"]["path"] == ("/" if target["type"] == "nfs" else full["kdump_path"])
    assert summary["collector"]["dump_level"] == collector["dump_level"]
    assert summary["collector"]["compression"] == collector["compression"]
    assert summary["collector"]["extra_args"] == collector["extra_args"]
    assert summary["collector"]["flattened"] is True  # kdump-save always runs makedumpfile -F
    assert summary["failure_action"] == full["kdump_failure_action"]
    assert summary["final_action"] == full["kdump_final_action"]
    assert summary["keep_dumps"] == full["kdump_keep_dumps"]
    assert summary["dump_dmesg"] is True
    _state_config(summary)


@pytest.mark.parametrize("name", SUSE_FIXTURES)
def test_the_shipped_files_are_a_local_dump_in_var_crash_without_errors(name):
    summary = summarize_sysconfig_kdump(load_fixture("suse", name))
    assert summary["errors"] == []
    assert summary["target"] == dict(NO_TARGET_FIELDS, type="local", path="/var/crash")
    assert summary["collector"] == {
        "command": "makedumpfile -F -c -d 31", "tool": "makedumpfile", "dump_level": 31, "compression": "zlib",
        "flattened": True, "extra_args": [],
    }  # fmt: skip
    assert (summary["failure_action"], summary["final_action"], summary["dump_dmesg"]) == ("reboot", "reboot", True)
    _state_config(summary)


def test_kdump_1_keeps_five_old_dumps_and_the_new_one_kdump_2_all():
    # SLE-15-SP5's template writes KDUMP_KEEP_OLD_DUMPS=5, SP6 and master 0.
    keeps = [summarize_sysconfig_kdump(load_fixture("suse", name))["keep_dumps"] for name in SUSE_FIXTURES]
    assert keeps == [6, 0, 0, 0]


def test_every_variable_a_kdump_release_declares_is_known_with_its_type():
    declared = {**TEST_SYSCONFIG.GEN1, **TEST_SYSCONFIG.GEN2}
    # The one variable kdumptool reads without declaring it (sysconfig.kdump.in of master).
    assert set(_host_config.SYSCONFIG_KDUMP_VARIABLES) == set(declared) | {"KDUMP_UPDATE_BOOTLOADER"}
    for name, (kind, _default) in declared.items():
        expected = {"bool": _host_config.SYSCONFIG_KDUMP_BOOLEANS, "int": _host_config.SYSCONFIG_KDUMP_INTEGERS}
        assert name in expected.get(kind, _host_config.SYSCONFIG_KDUMP_STRINGS), (name, kind)


def test_the_defaults_are_kdump_2s():
    for name, value in _host_config.SYSCONFIG_KDUMP_DEFAULTS.items():
        assert TEST_SYSCONFIG.GEN2[name][1].strip('"') == value, name


def test_an_empty_file_takes_kdump_2s_defaults():
    summary = summarize_sysconfig_kdump("")
    assert summary == summarize_sysconfig_kdump(load_fixture("suse", "sysconfig.kdump-master.x86_64"))
    assert summary["target"]["path"] == "/var/crash" and summary["keep_dumps"] == 0


def test_the_suse_documentation_ftp_example():
    summary = summarize_sysconfig_kdump(load_fixture("suse", "doc-sle-static-ip-ftp.kdump"))
    assert summary["errors"] == []
    assert summary["target"] == dict(
        NO_TARGET_FIELDS, type="ftp", path="/crashdump", host="10.50.50.140", user="anonymous",
        location="ftp://anonymous@10.50.50.140/crashdump",
    )  # fmt: skip
    assert (summary["collector"]["compression"], summary["collector"]["dump_level"]) == ("lzo", 31)
    # yes/no booleans of kdump 1 still read right; retention applies to local dumps only.
    assert (summary["failure_action"], summary["final_action"], summary["keep_dumps"]) == ("reboot", "reboot", 0)
    assert target_endpoint(summary["target"]) == ("10.50.50.140", 21)


@pytest.mark.parametrize(
    ("savedir", "expected"),
    [
        ("/srv/crash/", {"type": "local", "path": "/srv/crash"}),
        ("FILE:///srv/crash", {"type": "local", "path": "/srv/crash"}),
        (
            "nfs://nfs.example.com/exports/crash",
            {"type": "nfs", "path": "/", "server": "nfs.example.com", "host": "nfs.example.com",
             "export": "/exports/crash", "location": "nfs://nfs.example.com/exports/crash"},
        ),
        (
            "ssh://dumps.example.com/var/crash",
            {"type": "ssh", "path": "/var/crash", "server": "root@dumps.example.com", "host": "dumps.example.com",
             "user": "root", "location": "ssh://dumps.example.com/var/crash"},
        ),
        (
            "sftp://kdump:secret@dumps.example.com:2222/var/crash",
            {"type": "ssh", "path": "/var/crash", "server": "kdump@dumps.example.com", "host": "dumps.example.com",
             "user": "kdump", "port": 2222, "location": "sftp://kdump@dumps.example.com:2222/var/crash"},
        ),
        (
            "scp://kdump@10.0.0.5/dumps",
            {"type": "ssh", "path": "/dumps", "server": "kdump@10.0.0.5", "host": "10.0.0.5", "user": "kdump",
             "location": "scp://kdump@10.0.0.5/dumps"},
        ),
        (
            "ftp://dumps.example.com:2121/incoming",
            {"type": "ftp", "path": "/incoming", "host": "dumps.example.com", "user": "anonymous", "port": 2121,
             "location": "ftp://dumps.example.com:2121/incoming"},
        ),
        (
            "cifs://user:password@host/share/var/crash",  # the template's own example
            {"type": "cifs", "path": "/", "server": "host", "host": "host", "user": "user",
             "export": "/share/var/crash", "location": "cifs://user@host/share/var/crash"},
        ),
        (
            "smb://fs.example.com/crash",
            {"type": "cifs", "path": "/", "server": "fs.example.com", "host": "fs.example.com",
             "export": "/crash", "location": "smb://fs.example.com/crash"},
        ),
    ],
)  # fmt: skip
def test_every_savedir_form_becomes_a_target(savedir, expected):
    summary = summarize_sysconfig_kdump(f"KDUMP_SAVEDIR='{savedir}'\n")
    assert summary["errors"] == []
    assert summary["target"] == dict(NO_TARGET_FIELDS, **expected)
    # A password in the URL never reaches the state (audit reports carry it).
    assert "secret" not in repr(summary) and "password" not in repr(summary["target"])


def test_the_ssh_identity_is_the_key_relative_names_in_roots_ssh_directory():
    text = "KDUMP_SAVEDIR=ssh://kdump@dumps.example.com/var/crash\nKDUMP_SSH_IDENTITY='kdump_key /etc/kdump/id'\n"
    assert summarize_sysconfig_kdump(text)["target"]["key"] == "/root/.ssh/kdump_key /etc/kdump/id"
    local = summarize_sysconfig_kdump("KDUMP_SSH_IDENTITY=kdump_key\n")
    assert local["target"]["key"] is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("KDUMP_SAVEDIR=var/crash\n", "is not an absolute path nor a URL kdump knows"),
        ("KDUMP_SAVEDIR=http://h/crash\n", "is not an absolute path nor a URL kdump knows"),
        ("KDUMP_SAVEDIR=file://var/crash\n", "a file:// URL needs an absolute path"),
        ("KDUMP_SAVEDIR='file:///a nfs://h/b'\n", "names several targets"),
        ("KDUMP_SAVEDIR=ssh://dumps.example.com\n", "has no directory after the host"),
        ("KDUMP_SAVEDIR=ssh:///var/crash\n", "has no host kdump can use"),
        ("KDUMP_SAVEDIR=ssh://[fd00::1]/var/crash\n", "has no host kdump can use"),
        ("KDUMP_SAVEDIR=ssh://h:ssh/var/crash\n", "the port 'ssh' is not a number"),
        ("KDUMP_SAVEDIR=nfs://u@h/export\n", "without a user or port"),
        ("KDUMP_SAVEDIR=cifs://h:445/share\n", "on its standard port"),
    ],
)
def test_a_savedir_kdump_cannot_use_is_an_error_and_no_target(text, message):
    summary = summarize_sysconfig_kdump(text)
    assert summary["target"] is None
    assert [error for error in summary["errors"] if message in error], summary["errors"]


@pytest.mark.parametrize(
    ("text", "field", "value", "message"),
    [
        ("KDUMP_DUMPLEVEL=32\n", "dump_level", 0, "KDUMP_DUMPLEVEL=32 is outside 0..31: kdump dumps with level 0"),
        ("KDUMP_DUMPLEVEL=high\n", "dump_level", 31, "KDUMP_DUMPLEVEL='high' is not a whole number"),
        ("KDUMP_DUMPFORMAT=gzip\n", "compression", "zstd", "KDUMP_DUMPFORMAT='gzip' is not a format kdump knows"),
        ("KDUMP_CONTINUE_ON_ERROR=maybe\n", "failure_action", "reboot", "'maybe' is not a boolean"),
        ("KDUMP_KEEP_OLD_DUMPS=two\n", "keep_dumps", 0, "KDUMP_KEEP_OLD_DUMPS='two' is not a whole number"),
        ("KDUMP_UPDATE_BOOTLOADER=yes\n", "final_action", "reboot", "runs this value as a command"),
        ("KDUMP_TRANSFER='lftp -c put'\n", "keep_dumps", 0, "KDUMP_TRANSFER is set"),
        ("KDUMP_SAVE_DIR=/srv\n", "keep_dumps", 0, "unknown variable KDUMP_SAVE_DIR"),
        ("KDUMP_SAVEDIR=$(hostname)\n", "keep_dumps", 0, "command substitution $(...) is not evaluated"),
    ],
)
def test_values_kdump_would_ignore_or_misread_are_errors_and_read_as_kdump_2_does(text, field, value, message):
    summary = summarize_sysconfig_kdump(text)
    read = summary["collector"][field] if field in ("dump_level", "compression") else summary[field]
    assert read == value
    assert [error for error in summary["errors"] if message in error], summary["errors"]


def test_the_file_is_parsed_never_run(tmp_path):
    marker = tmp_path / "ran"
    summary = summarize_sysconfig_kdump(f"touch {marker}\nKDUMP_SAVEDIR=`touch {marker}`\n")
    assert not marker.exists()
    assert any("is a command, not a variable assignment" in error for error in summary["errors"])


@pytest.mark.parametrize(
    ("text", "collector"),
    [
        ("KDUMP_DUMPFORMAT=ELF\n", ("makedumpfile -F -E -d 31", "none", [])),
        ("KDUMP_DUMPFORMAT=raw\n", ("cat /proc/vmcore", "none", ["/proc/vmcore"])),
        ("KDUMP_DUMPFORMAT=zstd\nMAKEDUMPFILE_OPTIONS='-X'\n", ("makedumpfile -F -z -d 31 -X", "zstd", ["-X"])),
    ],
)
def test_each_dump_format_is_the_command_kdump_runs(text, collector):
    found = summarize_sysconfig_kdump(text)["collector"]
    assert (found["command"], found["compression"], found["extra_args"]) == collector


def test_dump_format_none_saves_no_vmcore_and_says_so():
    summary = summarize_sysconfig_kdump("KDUMP_DUMPFORMAT=none\n")
    assert summary["collector"] is None
    assert summary["errors"] == [
        "KDUMP_DUMPFORMAT=none saves no vmcore, only the kernel log; set compressed, lzo or zstd"
    ]


@pytest.mark.parametrize(("old", "kept"), [("0", 0), ("1", 2), ("4", 5), ("-1", 1), ("-3", 1)])
def test_keep_old_dumps_counts_the_old_ones_beside_the_new_one(old, kept):
    assert summarize_sysconfig_kdump(f"KDUMP_KEEP_OLD_DUMPS={old}\n")["keep_dumps"] == kept
    remote = summarize_sysconfig_kdump(f"KDUMP_KEEP_OLD_DUMPS={old}\nKDUMP_SAVEDIR=nfs://h/e\n")
    assert remote["keep_dumps"] == 0  # kdump prunes local dumps only


def test_no_reboot_after_the_dump_and_a_shell_on_errors():
    summary = summarize_sysconfig_kdump("KDUMP_IMMEDIATE_REBOOT=no\nKDUMP_CONTINUE_ON_ERROR=false\n")
    assert (summary["final_action"], summary["failure_action"]) == ("shell", "shell")
