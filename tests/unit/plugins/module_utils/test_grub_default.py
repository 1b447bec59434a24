"""Unit tests of editing /etc/default/grub in place, the SUSE family (module_utils/_grub_default.py).

The inputs are real openSUSE /etc/default/grub files (see tests/unit/fixtures/grub/SOURCE.md); what the
rewritten file gives is read back with the real /bin/sh through _grub.effective_cmdline_script, the way
kdump_info reads it.
"""

from __future__ import annotations

import subprocess

import pytest
from ansible_collections.kdump.fleet.plugins.module_utils._grub import effective_cmdline_script, effective_crashkernel
from ansible_collections.kdump.fleet.plugins.module_utils._grub_default import (
    UnsafeDefaultGrub,
    bls_enabled,
    configured_crashkernel,
    rewrite,
)

OPENSUSE = "opensuse.bootkitd-grub_full.default-grub"
OPENQA_KDUMP = "opensuse.openqa-kdump-sed.default-grub"
DEFAULT_LINE = 10  # GRUB_CMDLINE_LINUX_DEFAULT in both fixtures (from 0)


def shell_crashkernel(tmp_path, text):
    """crashkernel= as /bin/sh sees it after sourcing ``text`` as <tmp>/default/grub."""
    etc_default = tmp_path / "default"
    etc_default.mkdir(exist_ok=True)
    (etc_default / "grub").write_text(text)
    done = subprocess.run(
        ["/bin/sh", "-c", effective_cmdline_script(str(etc_default))],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    return effective_crashkernel(done.stdout)


def changed_lines(old, new):
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    assert len(old_lines) == len(new_lines)
    return {i: line for i, line in enumerate(new_lines) if line != old_lines[i]}


# -- the real files ------------------------------------------------------------------------------


def test_the_fixtures_read_as_the_shell_reads_them(load_fixture, tmp_path):
    plain, openqa = load_fixture("grub", OPENSUSE), load_fixture("grub", OPENQA_KDUMP)
    assert configured_crashkernel(plain) is None
    assert configured_crashkernel(openqa) == "256M,high 128M,low"
    assert shell_crashkernel(tmp_path, openqa) == "256M,high 128M,low"
    assert not bls_enabled(plain) and not bls_enabled(openqa)


@pytest.mark.parametrize("value", ["256M", "1G-4G:192M,4G-64G:256M,64G-:512M", "512M,high 128M,low"])
def test_the_value_goes_to_the_end_of_grub_cmdline_linux_default_and_nothing_else_changes(
    load_fixture, tmp_path, value
):
    old = load_fixture("grub", OPENSUSE)
    new = rewrite(old, value)
    words = " ".join("crashkernel=" + part for part in value.split())
    assert changed_lines(old, new) == {
        DEFAULT_LINE: 'GRUB_CMDLINE_LINUX_DEFAULT="splash=silent quiet security=apparmor amd_pstate=active '
        f'mitigations=auto {words}"\n'
    }
    assert configured_crashkernel(new) == value
    assert shell_crashkernel(tmp_path, new) == value
    assert rewrite(new, value) == new  # a second run changes nothing


def test_an_existing_pair_is_replaced_keeping_the_other_words_and_the_trailing_blank(load_fixture, tmp_path):
    # openQA's sed appended "crashkernel=256M,high crashkernel=128M,low " before the closing quote.
    old = load_fixture("grub", OPENQA_KDUMP)
    new = rewrite(old, "384M")
    assert changed_lines(old, new) == {
        DEFAULT_LINE: 'GRUB_CMDLINE_LINUX_DEFAULT="splash=silent quiet security=apparmor amd_pstate=active '
        'mitigations=auto crashkernel=384M "\n'
    }
    assert shell_crashkernel(tmp_path, new) == "384M"


def test_absent_only_removes(load_fixture, tmp_path):
    old = load_fixture("grub", OPENQA_KDUMP)
    new = rewrite(old, None)
    assert changed_lines(old, new) == {
        DEFAULT_LINE: 'GRUB_CMDLINE_LINUX_DEFAULT="splash=silent quiet security=apparmor amd_pstate=active '
        'mitigations=auto "\n'
    }
    assert shell_crashkernel(tmp_path, new) is None
    assert rewrite(load_fixture("grub", OPENSUSE), None) == load_fixture("grub", OPENSUSE)


def test_the_grub_cmdline_linux_copy_goes_and_the_xen_one_stays(load_fixture, tmp_path):
    # A value in GRUB_CMDLINE_LINUX would also reach the recovery entries; GRUB_CMDLINE_XEN_DEFAULT is Xen's own.
    old = load_fixture("grub", OPENSUSE).replace(
        'GRUB_CMDLINE_LINUX=""', 'GRUB_CMDLINE_LINUX="crashkernel=1G console=ttyS0,115200"'
    )
    old = old.replace('"vga=gfx-1024x768x16"', '"vga=gfx-1024x768x16 crashkernel=406M\\<4G"')
    new = rewrite(old, "256M")
    assert 'GRUB_CMDLINE_LINUX="console=ttyS0,115200"\n' in new
    assert 'GRUB_CMDLINE_XEN_DEFAULT="vga=gfx-1024x768x16 crashkernel=406M\\<4G"\n' in new
    assert shell_crashkernel(tmp_path, new) == "256M"


# -- words, blanks and quotes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "value", "expected"),
    [
        ('GRUB_CMDLINE_LINUX_DEFAULT="  a  crashkernel=1G  b "\n', None, 'GRUB_CMDLINE_LINUX_DEFAULT="  a  b "\n'),
        (
            'GRUB_CMDLINE_LINUX_DEFAULT="crashkernel=1G quiet"\n',
            "256M",
            'GRUB_CMDLINE_LINUX_DEFAULT="quiet crashkernel=256M"\n',
        ),
        ('GRUB_CMDLINE_LINUX_DEFAULT=""\n', "256M", 'GRUB_CMDLINE_LINUX_DEFAULT="crashkernel=256M"\n'),
        ("GRUB_CMDLINE_LINUX_DEFAULT=quiet\n", "256M", 'GRUB_CMDLINE_LINUX_DEFAULT="quiet crashkernel=256M"\n'),
        ("GRUB_CMDLINE_LINUX_DEFAULT=\n", None, "GRUB_CMDLINE_LINUX_DEFAULT=\n"),
        ("GRUB_CMDLINE_LINUX_DEFAULT='a \"b\"'\n", "256M", "GRUB_CMDLINE_LINUX_DEFAULT='a \"b\" crashkernel=256M'\n"),
        (
            'GRUB_CMDLINE_LINUX_DEFAULT="quiet"  # set by YaST\n',
            "256M",
            'GRUB_CMDLINE_LINUX_DEFAULT="quiet crashkernel=256M"  # set by YaST\n',
        ),
        ('GRUB_CMDLINE_LINUX_DEFAULT="quiet"\r\n', "256M", 'GRUB_CMDLINE_LINUX_DEFAULT="quiet crashkernel=256M"\r\n'),
        ('GRUB_CMDLINE_LINUX_DEFAULT="quiet crashkernel.x=1 xcrashkernel=1"\n', None, None),
    ],
    ids=[
        "blanks-kept",
        "first-word",
        "empty",
        "unquoted",
        "unquoted-empty",
        "single-quotes",
        "comment",
        "crlf",
        "lookalikes",
    ],
)
def test_one_line(line, value, expected):
    assert rewrite(line, value) == (line if expected is None else expected)


def test_several_assignments_lose_their_crashkernel_and_the_last_one_gets_ours(tmp_path):
    text = (
        'GRUB_CMDLINE_LINUX_DEFAULT="quiet crashkernel=512M"\n'
        "GRUB_TIMEOUT=8\n"
        'GRUB_CMDLINE_LINUX_DEFAULT="splash=silent crashkernel=1G"\n'
    )
    new = rewrite(text, "256M")
    assert new == (
        'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\n'
        "GRUB_TIMEOUT=8\n"
        'GRUB_CMDLINE_LINUX_DEFAULT="splash=silent crashkernel=256M"\n'
    )
    assert configured_crashkernel(text) == "1G"  # the shell keeps the last one
    assert shell_crashkernel(tmp_path, new) == "256M"


@pytest.mark.parametrize("text", ["GRUB_TIMEOUT=8\n", "GRUB_TIMEOUT=8"], ids=["newline", "no-final-newline"])
def test_a_file_without_the_variable_gets_a_line_at_the_end(text, tmp_path):
    new = rewrite(text, "256M")
    assert new == 'GRUB_TIMEOUT=8\nGRUB_CMDLINE_LINUX_DEFAULT="crashkernel=256M"\n'
    assert shell_crashkernel(tmp_path, new) == "256M"
    assert rewrite(text, None) == text


def test_comments_that_mention_the_variables_are_left_alone():
    text = '# GRUB_CMDLINE_LINUX_DEFAULT="$(reboot)"\n  # GRUB_CMDLINE_LINUX=`x`\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\n'
    assert rewrite(text, "256M").splitlines()[:2] == text.splitlines()[:2]


# -- refusals -------------------------------------------------------------------------------------

UNSAFE = [
    ('GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT quiet"', "has '$'"),
    ('GRUB_CMDLINE_LINUX_DEFAULT="quiet $(cat /etc/cmdline)"', "has '$'"),
    ("GRUB_CMDLINE_LINUX_DEFAULT='quiet `id`'", "a backquote"),
    ('GRUB_CMDLINE_LINUX_DEFAULT="quiet \\"x\\""', "has '$', a backquote or '\\'"),
    ("GRUB_CMDLINE_LINUX_DEFAULT=quiet\\", "has '$', a backquote or '\\'"),
    ('GRUB_CMDLINE_LINUX_DEFAULT="quiet\n splash"', "does not close on its line"),
    ("GRUB_CMDLINE_LINUX_DEFAULT='quiet", "does not close on its line"),
    ("GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"'splash'", "is followed by \"'splash'\""),
    ('GRUB_CMDLINE_LINUX_DEFAULT="quiet"splash', "is followed by 'splash'"),
    ("GRUB_CMDLINE_LINUX_DEFAULT=q*et", "is followed by '*et'"),
    ('GRUB_CMDLINE_LINUX_DEFAULT="quiet"; GRUB_TIMEOUT=1', "is followed by '; GRUB_TIMEOUT=1'"),
    ('GRUB_CMDLINE_LINUX_DEFAULT="quiet" GRUB_TIMEOUT=1', "is followed by 'GRUB_TIMEOUT=1'"),
    ('export GRUB_CMDLINE_LINUX_DEFAULT="quiet"', "in a way other than a plain"),
    ('  GRUB_CMDLINE_LINUX_DEFAULT="quiet"', "in a way other than a plain"),
    ('[ -e /x ] && GRUB_CMDLINE_LINUX="quiet"', "in a way other than a plain"),
    ("unset GRUB_CMDLINE_LINUX", "in a way other than a plain"),
    ('GRUB_CMDLINE_LINUX_DEFAULT+=" quiet"', "in a way other than a plain"),
    ("eval GRUB_CMDLINE_LINUX_DEFAULT=quiet", "in a way other than a plain"),
]


@pytest.mark.parametrize(("line", "reason"), UNSAFE, ids=[case[0] for case in UNSAFE])
def test_values_the_shell_would_read_differently_are_refused(load_fixture, line, reason):
    text = load_fixture("grub", OPENSUSE) + line + "\n"
    with pytest.raises(UnsafeDefaultGrub) as refused:
        rewrite(text, "256M")
    assert str(refused.value).startswith("line 46: ")  # the line after the 45 of the real file
    assert reason in str(refused.value)
    with pytest.raises(UnsafeDefaultGrub):
        configured_crashkernel(text)


@pytest.mark.parametrize("value", ['256M"; reboot; "', "256M$(id)", "256M`id`", "256M\nX=1", "256M'"])
def test_a_value_that_could_escape_the_quotes_is_refused(value):
    with pytest.raises(ValueError, match="refusing"):
        rewrite('GRUB_CMDLINE_LINUX_DEFAULT="quiet"\n', value)


@pytest.mark.parametrize(
    ("lines", "enabled"),
    [
        ("GRUB_ENABLE_BLSCFG=true\n", True),
        ('GRUB_ENABLE_BLSCFG="true"  # grub2-bls\n', True),
        ("export GRUB_ENABLE_BLSCFG=true\n", True),
        ("GRUB_ENABLE_BLSCFG=true\nGRUB_ENABLE_BLSCFG=false\n", False),
        ("#GRUB_ENABLE_BLSCFG=true\n", False),
        ("GRUB_ENABLE_BLSCFG=false\n", False),
    ],
)
def test_bls_enabled(load_fixture, lines, enabled):
    assert bls_enabled(load_fixture("grub", OPENSUSE) + lines) is enabled
