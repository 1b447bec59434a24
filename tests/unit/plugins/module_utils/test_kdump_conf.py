"""kdump.conf(5) parse / validate / normalize / render."""

from __future__ import annotations

import pytest
from ansible_collections.kdump.fleet.plugins.module_utils._kdump_conf import (
    KdumpConf,
    normalize,
    parse,
    render,
    validate,
)
from conftest import load_fixture

SHIPPED = {
    "kdump-utils-63f248c-x86_64.kdump.conf": [
        ("auto_reset_crashkernel", "yes"),
        ("path", "/var/crash"),
        ("core_collector", "makedumpfile -l --message-level 7 -d 31"),
    ],
    "kexec-tools-c743881.kdump.conf": [
        ("auto_reset_crashkernel", "yes"),
        ("path", "/var/crash"),
        ("core_collector", "makedumpfile -l --message-level 7 -d 31"),
    ],
    "kexec-tools-077a7f1.kdump.conf": [
        ("path", "/var/crash"),
        ("core_collector", "makedumpfile -l --message-level 1 -d 31"),
    ],
    "centos-isucon3q-etc.kdump.conf": [
        ("path", "/var/crash"),
        ("core_collector", "makedumpfile -c --message-level 1 -d 31"),
    ],
}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_files_parse_to_their_active_lines_and_are_valid(name):
    conf = parse(load_fixture("kdump_conf", name))
    assert conf.directives == SHIPPED[name]
    assert conf.errors == []
    assert validate(conf) == []
    assert conf.target() is None


def test_shipped_file_round_trips_through_render():
    conf = parse(load_fixture("kdump_conf", "kdump-utils-63f248c-x86_64.kdump.conf"))
    text = render(conf, ["Managed by kdump.fleet"])
    assert text.splitlines()[0] == "# Managed by kdump.fleet"
    assert parse(text) == conf


def test_commented_examples_in_shipped_file_become_valid_when_enabled():
    # Uncommenting the stock examples one target at a time gives valid configurations.
    text = load_fixture("kdump_conf", "kdump-utils-63f248c-x86_64.kdump.conf")
    for example in ("#ext4 UUID=03138356-5e61-4ab3-b58e-27507ac41937", "#nfs my.server.com:/export/tmp"):
        conf = parse(text.replace(example, example[1:]))
        assert validate(conf) == []
        assert conf.target() == tuple(example[1:].split(" ", 1))


def test_parse_follows_kdump_read_conf_rules():
    text = (
        "  # indented comment\n"
        "\n"
        "path   /var/crash   # trailing comment\n"
        'core_collector "makedumpfile -c -d 31"\n'
        "\tfailure_action\tshell\n"
        "final_action\n"
    )
    conf = parse(text)
    assert conf.directives == [
        ("path", "/var/crash"),
        ("core_collector", "makedumpfile -c -d 31"),
        ("failure_action", "shell"),
        ("final_action", ""),
    ]
    assert conf.errors == ["line 6: directive 'final_action' has no value"]
    assert conf.get("path") == "/var/crash"
    assert conf.get("missing", "x") == "x"


def test_default_directive_is_flagged_and_normalized():
    conf = parse("default shell\npath /var/crash\n")
    assert "directive 'default' is obsolete; write 'failure_action shell' instead" in validate(conf)
    fixed = normalize(conf)
    assert fixed.directives == [("failure_action", "shell"), ("path", "/var/crash")]
    assert validate(fixed) == []


def test_normalize_keeps_explicit_failure_action_over_default():
    conf = parse("failure_action halt\ndefault shell\n")
    assert "both 'default' and 'failure_action' are set; keep only failure_action" in validate(conf)
    assert normalize(conf).directives == [("failure_action", "halt")]


@pytest.mark.parametrize(
    ("line", "fix"),
    [
        ("net my.server.com:/export/tmp", "use 'nfs <server>:<export>' or 'ssh <user>@<host>' instead"),
        ("options modulename options", "KDUMP_COMMANDLINE_APPEND"),
        ("link_delay 60", "dracut's network module"),
        ("disk_timeout 30", "dracut waits for the disks"),
        ("debug_mem_level 0", "rd.memdebug"),
        ("blacklist gfs2", "rd.driver.blacklist"),
        ("override_resettable 1", "never honoured"),
        ("nfs4 my.server.com:/export/tmp", "the NFS version is negotiated"),
    ],
)
def test_removed_directives_name_the_replacement(line, fix):
    errors = validate(parse(line + "\n"))
    assert len(errors) == 1
    assert errors[0].startswith(f"directive '{line.split()[0]}' was removed")
    assert fix in errors[0]


def test_unknown_directive():
    assert validate(parse("dump_target /dev/sdb\n")) == [
        "unknown directive 'dump_target'; see kdump.conf(5) for the valid ones"
    ]


def test_at_most_one_dump_target():
    errors = validate(parse("ext4 UUID=abc\nnfs server:/export\n"))
    assert errors == [
        "more than one dump target (ext4 UUID=abc, nfs server:/export); kdump.conf allows one, remove the others"
    ]


def test_dracut_mount_counts_as_a_target():
    conf = parse('xfs /dev/vg/crash\ndracut_args --mount "host:/x /var/crash nfs defaults"\n')
    assert any(error.startswith("more than one dump target") for error in validate(conf))


def test_duplicate_directive():
    assert validate(parse("path /a\npath /b\n")) == ["directive 'path' is given more than once; keep one"]


def test_sshkey_needs_ssh_target():
    assert validate(parse("sshkey /root/.ssh/kdump_id_rsa\n")) == [
        "sshkey is only used with an ssh target; remove it or add 'ssh user@host'"
    ]
    ok = parse("ssh kdump@dumps.example.com\nsshkey /root/.ssh/kdump_id_rsa\ncore_collector makedumpfile -F -l -d 31\n")
    assert validate(ok) == []


def test_ssh_target_needs_user():
    assert "ssh target 'dumps.example.com' must be written as user@host" in validate(parse("ssh dumps.example.com\n"))


@pytest.mark.parametrize("target", ["ssh kdump@dumps.example.com", "raw /dev/sdb1"])
def test_makedumpfile_to_pipe_needs_flattened_output(target):
    errors = validate(parse(target + "\ncore_collector makedumpfile -l -d 31\n"))
    assert errors == [
        f"core_collector 'makedumpfile -l -d 31' lacks -F: the {target.split()[0]} target "
        "needs makedumpfile's flattened output; add -F"
    ]


@pytest.mark.parametrize("collector", ["scp", "cat", "makedumpfile -F -c -d 31"])
def test_other_collectors_for_ssh_are_accepted(collector):
    assert validate(parse(f"ssh kdump@dumps.example.com\ncore_collector {collector}\n")) == []


def test_local_collector_may_be_cp():
    assert validate(parse("core_collector cp --sparse=always\n")) == []


def test_action_choices():
    errors = validate(parse("failure_action explode\nfinal_action shell\n"))
    assert errors == [
        "failure_action 'explode' is not valid; use one of reboot, halt, poweroff, shell, dump_to_rootfs",
        "final_action 'shell' is not valid; use one of reboot, halt, poweroff",
    ]


def test_rebuild_flags():
    errors = validate(parse("force_rebuild 1\nforce_no_rebuild 1\n"))
    assert errors == ["force_rebuild 1 and force_no_rebuild 1 exclude each other; set only one"]
    assert validate(parse("force_rebuild yes\n")) == ["force_rebuild 'yes' is not valid; use one of 0, 1"]


def test_relative_path():
    assert validate(parse("path var/crash\n")) == ["path 'var/crash' must be an absolute path"]


@pytest.mark.parametrize(
    "value",
    ["a # b", "two\nlines", "   ", "", "/x\r", "/x\x0bssh", "/x\x85", "/x\u2028", " /x", "/x\t", '"/x"', "/x\x7f"],
)
def test_render_refuses_values_kdump_conf_cannot_hold(value):
    with pytest.raises(ValueError, match="path"):
        render(KdumpConf([("path", value)]))


@pytest.mark.parametrize("name", ["path /x\nssh", "path\n", "Path", "1path", ""])
def test_render_refuses_bad_directive_name(name):
    with pytest.raises(ValueError, match="directive"):
        render(KdumpConf([(name, "a@b")]))


# Lines are split on "\n" only and words on space and tab only, as kdumpctl's `read -r` does;
# test_dump_readback.py checks the same texts against a real sh.
@pytest.mark.parametrize(
    ("text", "directives"),
    [
        ("path /var/crash\x0bssh evil@host\n", [("path", "/var/crash\x0bssh evil@host")]),
        ("path /var/crash\x0cssh evil@host\n", [("path", "/var/crash\x0cssh evil@host")]),
        ("path /var/crash\x1cssh evil@host\n", [("path", "/var/crash\x1cssh evil@host")]),
        ("path /var/crash\x85ssh evil@host\n", [("path", "/var/crash\x85ssh evil@host")]),
        ("path /var/crash\u2028ssh evil@host\n", [("path", "/var/crash\u2028ssh evil@host")]),
        ("path /var/crash\r\n", [("path", "/var/crash\r")]),
        ("path /var/crash # c\r\n", [("path", "/var/crash")]),
        ("\r\n\x0b\n# c\rpath /x\n", []),
        ("\x0bpath /x\n", [("\x0bpath", "/x")]),
        ('path " /x "\n', [("path", "/x")]),
        ("path /x", [("path", "/x")]),
    ],
)
def test_parse_splits_lines_like_kdumpctl(text, directives):
    assert parse(text).directives == directives


def test_parse_reports_control_characters_and_dos_line_ends():
    assert parse("path /var/crash\r\n").errors == [
        "line 1: holds the character U+000D, which kdumpctl keeps in the directive or value "
        "(other readers may split or drop it); remove it"
    ]
    assert parse("path /a\tb\n# \x0b comment\n").errors == []


def test_render_empty():
    assert render(KdumpConf()) == ""


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("nfs dumps.example.com\n", "nfs target 'dumps.example.com' must be written as server:/export"),
        ("default reboot_twice\n", "default"),
        ("auto_reset_crashkernel maybe\n", "auto_reset_crashkernel"),
        ("final_action shell\n", "final_action"),
        ("path var/crash\n", "path 'var/crash' must be an absolute path"),
    ],
    ids=["nfs-without-export", "default-value", "auto-reset-value", "final-action-value", "relative-path"],
)
def test_bad_values_are_rejected_naming_the_directive(text, error):
    errors = validate(parse(text))
    assert any(error in message for message in errors), errors
