"""Issue 12, classes 2 and 3: hostile and broken values in every field of the dump model are refused.

Every case asserts that validate() refuses the value with a message that names the variable,
and that the messages themselves are printable ASCII (safe to log and to show in a report).
"""

from __future__ import annotations

import pytest
from ansible_collections.kdump.fleet.plugins.module_utils._dump_model import (
    SYSTEM_DIRECTORIES,
    DumpModelError,
    to_kdump_conf,
    to_kdump_tools,
    to_ssh_config,
    to_sysconfig_kdump,
    validate,
)

FAMILIES = ("redhat", "debian", "suse")

# Characters that mean something to sh (on our side or on the dump server), to kdump.conf
# ('#', blanks) or to a line splitter (class 3: \v \f \x1c-\x1e \x85 U+2028 U+2029 ...).
HOSTILE = [
    "'",
    '"',
    ";",
    "$(id)",
    "${HOME}",
    "`id`",
    "|",
    "&",
    ">",
    "<",
    "*",
    "?",
    "~",
    "\\",
    "!",
    "(",
    " ",
    "#",
    "@",
    "%",
    "\n",
    "\r",
    "\t",
    "\v",
    "\f",
    "\x00",
    "\x1b",
    "\x1c",
    "\x1d",
    "\x1e",
    "\x1f",
    "\x7f",
    "\x85",
    "\xa0",
    "\xe9",
    "\u2028",
    "\u2029",
    "\ufeff",
]
NOT_STRINGS = [1, 1.5, True, [], ["x"], {}, {"a": 1}, b"/var/crash"]

NFS = {"type": "nfs", "server": "nfs.example.com", "export": "/exports/crash"}
SSH = {"type": "ssh", "server": "kdump@dumps.example.com", "key": "/root/.ssh/kdump_id_rsa"}
DEVICE = {"type": "device", "device": "UUID=03138356-5e61", "fstype": "xfs"}
RAW = {"type": "raw", "device": "/dev/disk/by-id/virtio-crash"}


def _target(base, **changes):
    return {"kdump_target": dict(base, **changes)}


def _collector(**changes):
    return {"kdump_core_collector": changes}


# (variable named in the message, families, build(value) -> model); value replaces the "{}" part.
FIELDS = {
    "kdump_path": (FAMILIES, lambda v: {"kdump_path": f"/var/cr{v}ash"}),
    "kdump_target.server (nfs)": (FAMILIES, lambda v: _target(NFS, server=f"nfs{v}.example.com")),
    "kdump_target.export": (FAMILIES, lambda v: _target(NFS, export=f"/exports/cr{v}ash")),
    "kdump_target.server (ssh user)": (FAMILIES, lambda v: _target(SSH, server=f"kd{v}ump@dumps.example.com")),
    "kdump_target.server (ssh host)": (FAMILIES, lambda v: _target(SSH, server=f"kdump@dumps{v}.example.com")),
    "kdump_target.key": (FAMILIES, lambda v: _target(SSH, key=f"/root/.ssh/kd{v}ump")),
    "kdump_target.device (tag)": (("redhat",), lambda v: _target(DEVICE, device=f"UUID=0313{v}8356")),
    "kdump_target.device (path)": (("redhat",), lambda v: _target(DEVICE, device=f"/dev/vg/kd{v}ump")),
    "kdump_target.device (raw)": (("redhat",), lambda v: _target(RAW, device=f"/dev/disk/by-id/vi{v}rtio")),
    "kdump_target.fstype": (("redhat",), lambda v: _target(DEVICE, fstype=f"xf{v}s")),
    "kdump_target.type": (FAMILIES, lambda v: {"kdump_target": {"type": f"lo{v}cal"}}),
    "kdump_core_collector.extra_args[1]": (FAMILIES, lambda v: _collector(extra_args=["--message-level", f"7{v}"])),
    "kdump_core_collector.raw (redhat)": (("redhat",), lambda v: _collector(raw=f"makedumpfile -F -l -d 3{v}1")),
    "kdump_core_collector.raw (debian)": (("debian",), lambda v: _collector(raw=f"-F -l -d 3{v}1")),
    "kdump_core_collector.compression": (FAMILIES, lambda v: _collector(compression=f"lz{v}o")),
    "kdump_failure_action": (FAMILIES, lambda v: {"kdump_failure_action": f"reb{v}oot"}),
    "kdump_final_action": (FAMILIES, lambda v: {"kdump_final_action": f"reb{v}oot"}),
}


def _variable(field):
    return field.split(" ")[0]


def _assert_refused(model, family, variable):
    errors = validate(model, family)
    assert errors, (model, family)
    assert any(error.startswith(variable) for error in errors), errors
    for error in errors:
        assert all(0x20 <= ord(char) < 0x7F for char in error), error
    return errors


@pytest.mark.parametrize("char", HOSTILE, ids=[repr(c) for c in HOSTILE])
@pytest.mark.parametrize("field", sorted(FIELDS))
def test_hostile_character_in_every_field_is_refused(field, char):
    families, build = FIELDS[field]
    if char == " " and field.startswith("kdump_core_collector.raw"):
        return  # raw is words separated by spaces; a space there is allowed
    if char == "@" and field == "kdump_target.server (ssh host)":
        pass  # a second '@' is refused too
    for family in families:
        _assert_refused(build(char), family, _variable(field))


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_the_plain_value_of_every_field_is_accepted(field):
    # The same templates with nothing inserted validate: the refusals above come from the character.
    families, build = FIELDS[field]
    for family in families:
        assert validate(build(""), family) == []


STRING_FIELDS = {
    "kdump_path": (FAMILIES, lambda v: {"kdump_path": v}),
    "kdump_target.server (nfs)": (FAMILIES, lambda v: _target(NFS, server=v)),
    "kdump_target.export": (FAMILIES, lambda v: _target(NFS, export=v)),
    "kdump_target.server (ssh)": (FAMILIES, lambda v: _target(SSH, server=v)),
    "kdump_target.key": (FAMILIES, lambda v: _target(SSH, key=v)),
    "kdump_target.device (device)": (("redhat",), lambda v: _target(DEVICE, device=v)),
    "kdump_target.device (raw)": (("redhat",), lambda v: _target(RAW, device=v)),
    "kdump_target.fstype": (("redhat",), lambda v: _target(DEVICE, fstype=v)),
    "kdump_target.type": (FAMILIES, lambda v: {"kdump_target": {"type": v}}),
    "kdump_core_collector.extra_args[0]": (FAMILIES, lambda v: _collector(extra_args=[v])),
    "kdump_core_collector.raw": (FAMILIES, lambda v: _collector(raw=v)),
    "kdump_core_collector.compression": (FAMILIES, lambda v: _collector(compression=v)),
    "kdump_failure_action": (FAMILIES, lambda v: {"kdump_failure_action": v}),
    "kdump_final_action": (FAMILIES, lambda v: {"kdump_final_action": v}),
}


@pytest.mark.parametrize("value", NOT_STRINGS, ids=[repr(v) for v in NOT_STRINGS])
@pytest.mark.parametrize("field", sorted(STRING_FIELDS))
def test_non_string_in_every_string_field_is_refused(field, value):
    families, build = STRING_FIELDS[field]
    if value in ([], {}) and field == "kdump_core_collector.raw":
        value = ["makedumpfile"]
    for family in families:
        _assert_refused(build(value), family, _variable(field))


# Whole values that are refused in the given field, beyond single characters.
WHOLE_VALUES = [
    # leading '-': an option to ssh, scp, mount or mkdir
    ("kdump_path", "-rf"),
    ("kdump_target.server (ssh)", "-oProxyCommand=x@host"),
    ("kdump_target.server (ssh)", "-oProxyCommand=touch${IFS}x@host"),
    ("kdump_target.server (ssh)", "kdump@-oProxyCommand=x"),
    ("kdump_target.server (nfs)", "-oport=1"),
    ("kdump_target.export", "-o/exports"),
    ("kdump_target.key", "-i/root/.ssh/id"),
    ("kdump_target.device (device)", "-L"),
    ("kdump_target.device (raw)", "-dev/sdb"),
    ("kdump_core_collector.raw", "-F -l -d 31"),  # redhat: the line must start with the command
    # host:port: refused, the port has its own field
    ("kdump_target.server (ssh)", "kdump@dumps.example.com:2222"),
    ("kdump_target.server (ssh)", "kdump@10.0.0.5:22"),
    ("kdump_target.server (nfs)", "nfs.example.com:2049"),
    ("kdump_target.server (nfs)", "10.0.0.5:2049"),
    ("kdump_target.server (nfs)", "[2001:db8::1]:2049"),
    # '..' and '.' segments, '//', trailing '/', relative paths
    ("kdump_path", "/var/crash/../../etc"),
    ("kdump_path", "/var/./crash"),
    ("kdump_path", "/var//crash"),
    ("kdump_path", "/var/crash/"),
    ("kdump_path", "var/crash"),
    ("kdump_path", ".."),
    ("kdump_target.export", "/exports/../etc"),
    ("kdump_target.export", "exports/crash"),
    ("kdump_target.key", "/root/.ssh/../id_rsa"),
    ("kdump_target.key", "id_rsa"),
    ("kdump_target.device (raw)", "/dev/../etc/passwd"),
    ("kdump_target.device (raw)", "/etc/passwd"),
    ("kdump_target.device (device)", "/dev/vg/../../etc"),
    ("kdump_target.device (device)", "UUID="),
    ("kdump_target.device (device)", "TAG=x"),
    ("kdump_target.device (device)", "sdb1"),
    # spaces and '#'
    ("kdump_path", "/var/my crash"),
    ("kdump_path", "/var/crash #"),
    ("kdump_target.server (nfs)", "nfs.example.com #"),
    ("kdump_core_collector.raw", "cp  --sparse=always"),
    ("kdump_core_collector.raw", " cp --sparse=always"),
    ("kdump_core_collector.raw", "cp --sparse=always "),
    ("kdump_core_collector.raw", "makedumpfile -F -d 31 # c"),
    # host names and addresses
    ("kdump_target.server (ssh)", "dumps.example.com"),
    ("kdump_target.server (ssh)", "a@b@c"),
    ("kdump_target.server (ssh)", "@host"),
    ("kdump_target.server (ssh)", "kdump@"),
    ("kdump_target.server (ssh)", "Kdump@host"),
    ("kdump_target.server (ssh)", "1kdump@host"),
    ("kdump_target.server (ssh)", "%s@host" % ("k" * 33)),
    ("kdump_target.server (ssh)", "kdump@[2001:db8::1]"),
    ("kdump_target.server (ssh)", "kdump@fe80::1%eth0"),
    ("kdump_target.server (ssh)", "kdump@host."),
    ("kdump_target.server (nfs)", "999.1.1.1"),
    ("kdump_target.server (nfs)", "1.2.3"),
    ("kdump_target.server (nfs)", "-host"),
    ("kdump_target.server (nfs)", "host-"),
    ("kdump_target.server (nfs)", "a..b"),
    ("kdump_target.server (nfs)", "%s.example.com" % ("a" * 64)),
    ("kdump_target.server (nfs)", ".".join(["a" * 60] * 5)),
    ("kdump_target.server (nfs)", "2001:db8::g"),
    ("kdump_target.server (nfs)", "[nfs.example.com]"),
    ("kdump_target.server (nfs)", "host_name"),
    ("kdump_target.server (nfs)", "xn--bcher-kva.example.com/x"),
    # empty
    ("kdump_path", ""),
    ("kdump_target.server (nfs)", ""),
    ("kdump_target.export", ""),
    ("kdump_target.server (ssh)", ""),
    ("kdump_target.device (device)", ""),
    ("kdump_target.device (raw)", ""),
    ("kdump_target.fstype", ""),
    ("kdump_core_collector.extra_args[0]", ""),
    ("kdump_core_collector.compression", ""),
    ("kdump_failure_action", ""),
    ("kdump_final_action", ""),
]


@pytest.mark.parametrize(("field", "value"), WHOLE_VALUES, ids=["{}={!r}".format(*pair) for pair in WHOLE_VALUES])
def test_hostile_whole_value_is_refused(field, value):
    families, build = STRING_FIELDS[field]
    if field == "kdump_core_collector.raw" and value.startswith("-"):
        families = ("redhat",)
    for family in families:
        _assert_refused(build(value), family, _variable(field))


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (
            _target(SSH, server="-oProxyCommand=x@host"),
            "kdump_target.server=-oProxyCommand=x@host starts with '-', which ssh reads as an option; write user@host",
        ),
        (
            _target(SSH, server="kdump@dumps.example.com:2222"),
            "kdump_target.server=kdump@dumps.example.com:2222: the host dumps.example.com:2222 holds a port "
            "(host:port); give the host alone and set kdump_target.port",
        ),
        (
            _target(NFS, server="nfs.example.com:2049"),
            "kdump_target.server=nfs.example.com:2049 holds a port (host:port); give the host alone and set "
            "kdump_target.port, e.g. nfs.example.com",
        ),
        (
            {"kdump_path": "/var/crash/../../etc"},
            "kdump_path=/var/crash/../../etc holds a '.' or '..' segment; write the path without them, e.g. /var/crash",
        ),
        (
            {"kdump_path": "/var/$(id)"},
            "kdump_path='/var/$(id)' holds '$'; a path may only hold letters, digits and . _ + - between single "
            "slashes, e.g. /var/crash",
        ),
        (
            {"kdump_path": "/var/crash\u2028ssh"},
            "kdump_path='/var/crash\\u2028ssh' holds the control character U+2028 (kdumpctl, sh and Python split "
            "lines differently on it); remove it, e.g. /var/crash",
        ),
        (
            _collector(raw="makedumpfile -F -d 31\x0bssh"),
            "kdump_core_collector.raw='makedumpfile -F -d 31\\x0bssh' holds the control character U+000B "
            "(kdumpctl, sh and Python split lines differently on it); remove it",
        ),
        (
            _collector(raw="makedumpfile -F -d 31 | sh"),
            "kdump_core_collector.raw='makedumpfile -F -d 31 | sh' must be words of letters, digits and "
            ". _ / + = , : - separated by single spaces (no quotes, '#', tabs or shell characters such as "
            "; | & $ ` > <)",
        ),
        (
            _collector(extra_args=["--message-level", "7;id"]),
            "kdump_core_collector.extra_args[1]='7;id' may only hold letters, digits and . _ / + = , : - "
            "(no spaces, quotes, '#' or shell characters); give one option or value per item",
        ),
        (
            _target(SSH, server="kdump@dumps\xe9.example.com"),
            "kdump_target.server='kdump@dumps\\xe9.example.com' holds the non-ASCII character U+00E9; use ASCII only",
        ),
        (
            _target(SSH, key=7),
            "kdump_target.key=7 must be a string, not int, e.g. /root/.ssh/kdump_id_rsa",
        ),
    ],
)
def test_messages_name_the_variable_and_the_fix(model, message):
    assert validate(model, "redhat") == [message]


@pytest.mark.parametrize(
    "server",
    ["kdump@dumps.example.com", "_svc@h", "john.doe@h", "k-1@10.0.0.5", "kdump@2001:db8::1", "kdump@XN--X.example"],
)
def test_ssh_servers_accepted(server):
    for family in FAMILIES:
        if family == "suse" and ":" in server:
            continue  # IPv6 in a SUSE KDUMP_SAVEDIR URL is refused (test_sysconfig_kdump.py)
        assert validate(_target(SSH, server=server), family) == []


@pytest.mark.parametrize("server", ["nfs.example.com", "nfs", "10.0.0.5", "2001:db8::1", "[2001:db8::1]", "a-b.c"])
def test_nfs_servers_accepted(server):
    for family in FAMILIES:
        if family == "suse" and ":" in server:
            continue  # IPv6 in a SUSE KDUMP_SAVEDIR URL is refused (test_sysconfig_kdump.py)
        assert validate(_target(NFS, server=server), family) == []


@pytest.mark.parametrize("device", ["UUID=0313-5e61", "LABEL=crash_1", "PARTUUID=ab-1", "PARTLABEL=kdump", "/dev/sdb1"])
def test_devices_accepted(device):
    assert validate(_target(DEVICE, device=device), "redhat") == []


# ------------------------------------------------------------------ kdump_path: system directories


@pytest.mark.parametrize("path", ["/", "/etc", "/usr", "/var", "/var/tmp", "/root", "/boot", "/var/lib/kdump"])
@pytest.mark.parametrize("target", [{"type": "local"}, SSH], ids=["local", "ssh"])
def test_system_directories_are_refused(path, target):
    for family in FAMILIES:
        assert validate({"kdump_path": path, "kdump_target": target}, family) == [
            f"kdump_path={path} is a system directory; use a dedicated directory such as /var/crash"
        ]


def test_debian_nfs_mount_point_must_not_be_a_system_directory():
    # kdump-config mounts the export on kdump_path itself.
    assert validate({"kdump_path": "/etc", "kdump_target": NFS}, "debian") == [
        "kdump_path=/etc is a system directory; use a dedicated directory such as /var/crash"
    ]


@pytest.mark.parametrize("target", [NFS, DEVICE], ids=["nfs", "device"])
def test_redhat_path_relative_to_the_target_may_be_its_root(target):
    # kdump.conf's path is relative to the export or file system root there: '/' is that root.
    assert validate({"kdump_path": "/", "kdump_target": target}, "redhat") == []


@pytest.mark.parametrize("path", ["/run/crash", "/tmp/crash", "/proc/x", "/sys/x", "/dev/shm/crash", "/var/run/c"])
def test_volatile_directories_are_refused(path):
    errors = validate({"kdump_path": path}, "debian")
    assert len(errors) == 1
    assert errors[0].startswith(f"kdump_path={path} is under /")
    assert errors[0].endswith("which is not kept on disk; use a dedicated directory such as /var/crash")


def test_system_directory_list_is_exact_matches_only():
    assert "/srv" in SYSTEM_DIRECTORIES
    assert validate({"kdump_path": "/srv/crash"}, "redhat") == []
    assert validate({"kdump_path": "/var/crash/site-1.a+b"}, "debian") == []


# ------------------------------------------------------------------ kdump_target.port


@pytest.mark.parametrize("port", [1, 22, 2222, 65535])
def test_ssh_port_accepted_and_rendered_as_ssh_config(port):
    model = _target(SSH, port=port)
    for family in FAMILIES:
        assert validate(model, family) == []
    for family in ("redhat", "debian"):
        assert to_ssh_config(model, family) == f"Host dumps.example.com\n    Port {port}\n"
    # SUSE's KDUMP_SAVEDIR URL carries the port: no ssh_config block.
    assert to_ssh_config(model, "suse") == ""
    assert f"ssh://kdump@dumps.example.com:{port}/" in to_sysconfig_kdump(model)
    # Neither file format has a port: the rendered files are the same as without it.
    assert to_kdump_conf(model) == to_kdump_conf(_target(SSH))
    assert to_kdump_tools(model) == to_kdump_tools(_target(SSH))


def test_ssh_config_for_ipv6_host_and_without_port():
    model = _target(SSH, server="kdump@2001:db8::1", port=2200)
    assert to_ssh_config(model, "debian") == "Host 2001:db8::1\n    Port 2200\n"
    assert to_ssh_config(_target(SSH), "redhat") == ""
    assert to_ssh_config(_target(SSH, port=None), "redhat") == ""
    assert to_ssh_config({}, "redhat") == ""
    assert to_ssh_config({"kdump_target": NFS}, "debian") == ""


def test_ssh_config_refuses_an_invalid_model():
    with pytest.raises(DumpModelError, match="kdump_target.port=0 must be a whole number from 1 to 65535"):
        to_ssh_config(_target(SSH, port=0), "redhat")


@pytest.mark.parametrize("port", [0, -1, 65536, "2222", True, 22.0, [22]])
def test_bad_ports_are_refused(port):
    for family in FAMILIES:
        assert validate(_target(SSH, port=port), family) == [
            f"kdump_target.port={port!r} must be a whole number from 1 to 65535, e.g. 2222"
        ]


def test_nfs_port_is_refused_on_both_families():
    for family in FAMILIES:
        assert validate(_target(NFS, port=2049), family) == [
            "kdump_target.port is not supported for type nfs: kdump.conf and kdump-tools pass no mount "
            "options for the export; remove it and serve NFS on port 2049"
        ]


@pytest.mark.parametrize("target", [{"type": "local"}, DEVICE, RAW], ids=["local", "device", "raw"])
def test_port_is_not_used_with_other_types(target):
    assert validate(_target(target, port=22), "redhat") == [
        "kdump_target.port is not used with type {}; remove it".format(target["type"])
    ]


# ------------------------------------------------------------------ odd structures never raise


@pytest.mark.parametrize(
    "model",
    [
        {"kdump_target": {1: "x", "type": "local"}},
        {"kdump_target": {("a",): 1, "zz": 2}},
        {"kdump_core_collector": {1: 2, "b": 3}},
        {"kdump_target": {"type": ["ssh"]}},
        {"kdump_target": {"type": ("nfs",)}},
        {"kdump_core_collector": {"compression": ["lzo"]}},
        {"kdump_core_collector": {"compression": {"lzo": 1}}},
        {"kdump_failure_action": ("reboot",)},
        {"kdump_final_action": {"reboot": 1}},
        {"kdump_target": {"type": "ssh", "server": ["a@b"]}},
    ],
)
def test_odd_structures_give_messages_not_exceptions(model):
    for family in FAMILIES:
        errors = validate(model, family)
        assert errors
        assert all(isinstance(error, str) for error in errors)
