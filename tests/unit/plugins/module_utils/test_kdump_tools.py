"""/etc/default/kdump-tools: rendered files are checked by really sourcing them with /bin/sh."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from ansible_collections.kdump.fleet.plugins.module_utils._kdump_tools import (
    parse,
    parse_with_errors,
    quote,
    render,
    validate,
)
from conftest import fixture_path, load_fixture

SH = shutil.which("sh")
pytestmark = pytest.mark.skipif(SH is None, reason="needs /bin/sh")


def source_with_sh(path, names, cwd):
    """Values sh sees after '. path', byte for byte (NUL-separated printf)."""
    script = '. "$1"; shift; for name in "$@"; do eval "printf \'%s\\0\' \\"\\${$name}\\""; done'
    result = subprocess.run(
        [SH, "-c", script, "sh", str(path), *names],
        cwd=str(cwd),
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)},
        capture_output=True,
        check=True,
    )
    values = result.stdout.split(b"\0")[:-1]
    return dict(zip(names, (value.decode("utf-8") for value in values), strict=True))


def hostile_values(marker):
    return {
        "PLAIN": "/var/crash",
        "SPACES": "  two  spaces  ",
        "SINGLE": "it's a 'quote'",
        "DOUBLE": 'say "hi"',
        "DOLLAR": "$HOME and ${HOME}",
        "SUBST": f"$(touch {marker})",
        "BACKTICK": f"`touch {marker}`",
        "QUOTED_SUBST": f"'$(touch {marker})'",
        "BREAKOUT": f"x'; touch {marker}; '",
        "NEWLINES": "line one\nline two\n\n",
        "BACKSLASH": "a\\b\\'c\\\\",
        "GLOB": "* ? [a-z]",
        "TAB": "a\tb",
        "SEMICOLON": f"; touch {marker} #",
        "UNICODE": "Grüße ✓",
        "EMPTY": "",
        "ID": "`id`",
    }


def test_rendered_values_survive_sourcing_unchanged_and_never_execute(tmp_path):
    marker = tmp_path / "pwned"
    values = hostile_values(marker)
    config = tmp_path / "kdump-tools"
    config.write_text(render(values, ["Managed by kdump.fleet", "do not edit"]), encoding="utf-8")

    seen = source_with_sh(config, list(values), tmp_path)

    assert seen == values
    assert not marker.exists()


def test_parse_agrees_with_sh_on_rendered_file(tmp_path):
    values = hostile_values(tmp_path / "pwned")
    text = render(values)
    assert parse_with_errors(text) == (values, [])


def test_render_format():
    text = render({"USE_KDUMP": 1, "KDUMP_COREDIR": "/var/crash", "SSH": None, "X": True}, ["header", ""])
    assert text == "# header\n#\nUSE_KDUMP='1'\nKDUMP_COREDIR='/var/crash'\nX='1'\n"


def test_quote():
    assert quote("it's") == "'it'\\''s'"


@pytest.mark.parametrize("name", ["1ABC", "A-B", "A B", "A=B", "", "SSH\n", "A\nB"])
def test_render_refuses_bad_names(name):
    with pytest.raises(ValueError, match="shell variable name"):
        render({name: "x"})


def test_render_refuses_nul():
    with pytest.raises(ValueError, match="NUL"):
        render({"A": "a\0b"})


# Hand-written files in the styles people use; parse must agree with sh on each.
SH_SNIPPETS = [
    'USE_KDUMP=1\nKDUMP_COREDIR="/var/crash"\n#KDUMP_FAIL_CMD="reboot -f"\n',
    "export SSH=kdump@dumps.example.com SSH_KEY='/root/.ssh/kdump key'\n",
    "KDUMP_FAIL_CMD=\"echo 'makedumpfile FAILED.'; /bin/bash; reboot -f\"\n",
    'A="dq \\$ \\` \\" \\\\ \\x"\nB=un\\ quoted\\"x\nC=\'sq \\ "\'"dq"mixed\n',
    "MAKEDUMP_ARGS='-c -d 31' # trailing comment\nX=a#b\n",
    'BASE=/srv\nDIR="$BASE/crash" ALT=${BASE}/alt\n',
    "A=1; B=2 ;C=3\n",
    'MULTI="first\nsecond"\nCONT=abc\\\ndef\n',
    "A=first\nA=second\nunset A\nB=kept\n",
    "X=''\nY=\"\"\nZ=\n",
    "A=$\nB=a$\n",
]


@pytest.mark.parametrize("text", SH_SNIPPETS)
def test_parse_agrees_with_sh(text, tmp_path):
    config = tmp_path / "snippet"
    config.write_text(text, encoding="utf-8")
    values, errors = parse_with_errors(text)
    assert errors == []
    assert values, "snippet sets something"
    names = sorted(set(values) | {"A", "B", "C"})
    seen = source_with_sh(config, names, tmp_path)
    assert {name: value for name, value in seen.items() if name in values} == values
    assert {name for name, value in seen.items() if value and name not in values} == set()


def test_shipped_default_file(tmp_path):
    text = load_fixture("kdump_tools", "debian12-kdump-tools_1.8.1.default")
    values, errors = parse_with_errors(text)
    assert values == {
        "USE_KDUMP": "1",
        "KDUMP_KERNEL": "/var/lib/kdump/vmlinuz",
        "KDUMP_INITRD": "/var/lib/kdump/initrd.img",
        "KDUMP_COREDIR": "/var/crash",
    }
    assert errors == []
    assert validate(values) == []
    assert (
        source_with_sh(fixture_path("kdump_tools", "debian12-kdump-tools_1.8.1.default"), list(values), tmp_path)
        == values
    )


def test_shipped_commented_examples_validate_when_enabled():
    text = load_fixture("kdump_tools", "debian12-kdump-tools_1.8.1.default")
    enabled = text.replace('#KDUMP_FAIL_CMD="reboot -f"', 'KDUMP_FAIL_CMD="reboot -f"').replace(
        '#MAKEDUMP_ARGS="-c -d 31"', 'MAKEDUMP_ARGS="-c -d 31"'
    )
    values = parse(enabled)
    assert values["KDUMP_FAIL_CMD"] == "reboot -f"
    assert values["MAKEDUMP_ARGS"] == "-c -d 31"
    assert validate(values) == []


def test_parse_reports_what_it_cannot_follow(tmp_path):
    marker = tmp_path / "pwned"
    text = f"A=$(touch {marker})\nB=`touch {marker}`\nC=${{X:-d}}\nD=$UNSET\necho hi\nE=1 && F=2\nG=~/key\n"
    values, errors = parse_with_errors(text)
    assert not marker.exists()
    assert values["A"] == f"$(touch {marker})"
    assert values["B"] == f"`touch {marker}`"
    assert values["C"] == "${X:-d}"
    assert values["D"] == ""
    assert "E" not in values
    assert errors == [
        "line 1: command substitution $(...) is not evaluated; write the value itself",
        "line 2: command substitution `...` is not evaluated",
        "line 3: parameter expansion ${X:-d} is not evaluated; write the value itself",
        "line 4: $UNSET is not set in this file and expands to an empty string",
        "line 5: 'echo' is a command, not a variable assignment; it would run whenever the file is sourced",
        "line 6: shell operator '&' is not supported in this file; use plain NAME=value lines",
        "line 7: sh expands ~ to $HOME here; write the full path",
    ]


def test_assignment_before_command_is_not_kept():
    values, errors = parse_with_errors("USE_KDUMP=1 /usr/sbin/kdump-config load\n")
    assert values == {}
    assert len(errors) == 1


def test_unterminated_quote():
    values, errors = parse_with_errors("A='open\n")
    assert errors == ["line 1: unterminated '"]
    assert values == {"A": "open\n"}


def test_validate_values():
    errors = validate(
        {
            "USE_KDUMP": "yes",
            "KDUMP_NUM_DUMPS": "-1",
            "KDUMP_DUMP_DMESG": "2",
            "KDUMP_COMPRESSION": "zstd",
            "KDUMP_COREDIR": "var/crash",
            "HOSTTAG": "fqdn",
            "SSH": "dumps.example.com",
            "NFS_TIMEO": "0",
            "TYPO_VAR": "1",
        }
    )
    assert errors == [
        "USE_KDUMP='yes' must be 0 or 1",
        "KDUMP_NUM_DUMPS='-1' must be a whole number (0 or more)",
        "KDUMP_DUMP_DMESG='2' must be 0 or 1",
        "KDUMP_COMPRESSION='zstd' is not supported; use one of bzip2, gzip, lz4, xz",
        "KDUMP_COREDIR='var/crash' must be an absolute path without spaces",
        "HOSTTAG='fqdn' is not supported; use one of ip, hostname",
        "SSH='dumps.example.com' must be user@host",
        "NFS_TIMEO='0' must be a whole number of 1 or more",
        "unknown variable TYPO_VAR: kdump-tools does not read it; remove it",
        "KDUMP_NUM_DUMPS is ignored for SSH dumps (it only prunes local dumps); remove it",
    ]


def test_validate_cross_checks():
    errors = validate({"USE_KDUMP": "1", "SSH": "a@b", "NFS": "srv:/crash", "KDUMP_NUM_DUMPS": "3"})
    assert errors == [
        "SSH and NFS are all set: kdump-config would dump to each of them; keep one",
        "KDUMP_NUM_DUMPS is ignored for SSH dumps (it only prunes local dumps); remove it",
    ]
    assert validate({"USE_KDUMP": "1", "SSH_KEY": "/root/.ssh/k"}) == [
        "SSH_KEY is set but SSH is not; set SSH=user@host or remove SSH_KEY"
    ]
    assert validate({}) == ["USE_KDUMP is not set: kdump-tools stays off; set USE_KDUMP=1 (or 0 to say so)"]


def test_validate_accepts_empty_optional_values():
    assert validate({"USE_KDUMP": "0", "KDUMP_NUM_DUMPS": "", "KDUMP_DUMP_DMESG": "", "KDUMP_COMPRESSION": ""}) == []


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("NFS", "dumps.example.com", "NFS='dumps.example.com' must be server:/export"),
        ("NFS", "dumps.example.com:export", "must be server:/export"),
        ("KDUMP_KERNEL", "vmlinuz", "KDUMP_KERNEL='vmlinuz'"),
        ("KDUMP_INITRD", "initrd.img", "KDUMP_INITRD='initrd.img'"),
        ("SSH_KEY", "id_rsa", "SSH_KEY='id_rsa'"),
        ("FTP_PORT", "0", "FTP_PORT='0' must be a whole number of 1 or more"),
        ("NFS_RETRANS", "-2", "NFS_RETRANS='-2' must be a whole number of 1 or more"),
    ],
)
def test_bad_single_values_are_rejected_naming_the_variable(name, value, error):
    values = {"USE_KDUMP": "1", name: value}
    if name == "SSH_KEY":
        values["SSH"] = "kdump@dumps.example.com"
    errors = validate(values)
    assert any(error in message for message in errors), errors
