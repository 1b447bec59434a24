"""Issue 12: what we render is read back the same by the distro tools, and validate() never raises.

* kdump.conf is read the way kdump-utils reads it: grep drops comment and blank lines, then
  `while read -r opt val` splits each line, a trailing comment and one pair of outer double
  quotes are removed and the pair is echoed and read again (kdump_read_conf + parse_config).
  READ_KDUMP_CONF below does exactly that in a real sh, under dash and bash.
* /etc/default/kdump-tools is sourced by sh: SOURCE_KDUMP_TOOLS sources the rendered file in
  dash and bash and prints every variable.
Both are compared with the model's own directives/values and with the collection's parsers.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

# Hypothesis keeps caches in ./.hypothesis unless told otherwise; keep them out of the
# collection tree (ansible-galaxy build and the sanity copy would pick them up).
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY", str(pathlib.Path(__file__).resolve().parents[4] / ".tmp" / "hypothesis")
)

import pytest
from ansible_collections.kdump.fleet.plugins.module_utils import _kdump_conf, _kdump_tools
from ansible_collections.kdump.fleet.plugins.module_utils._dump_model import (
    ALL_TARGET_KEYS,
    COLLECTOR_KEYS,
    to_kdump_conf,
    to_kdump_conf_directives,
    to_kdump_tools,
    to_kdump_tools_values,
    to_ssh_config,
    validate,
)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

SHELLS = [
    pytest.param(name, marks=pytest.mark.skipif(shutil.which(name) is None, reason=f"{name} is not installed"))
    for name in ("dash", "bash")
]

# kdumpctl's reading, in sh. stdin: the file; stdout: opt NUL value NUL per directive.
READ_KDUMP_CONF = r"""
grep -Ev -e '^\s*#' -e '^\s*$' | while read -r opt val; do
    case $val in
    *'#'*)
        val=${val%%#*}
        val=${val%"${val##*[![:space:]]}"}
        ;;
    esac
    case $val in
    \"*\")
        val=${val#\"}
        val=${val%\"}
        ;;
    esac
    printf '%s %s\n' "$opt" "$val"
done | while read -r opt val; do
    printf '%s\0%s\0' "$opt" "$val"
done
"""

UNSET = "\x01unset\x01"
TOOLS_NAMES = sorted(_kdump_tools.KNOWN)
# Source the file ($1) and print every variable kdump-tools reads, NUL-terminated.
SOURCE_KDUMP_TOOLS = ". \"$1\" || exit 9\nprintf '%s\\0' {}\n".format(
    " ".join(f'"${{{name}-{UNSET}}}"' for name in TOOLS_NAMES)
)
ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}


def _run(shell, script, args=(), stdin=b"", cwd=None):
    run = subprocess.run(
        [shell, "-c", script, shell, *args], input=stdin, capture_output=True, env=ENV, cwd=cwd, check=False
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


def sh_kdump_conf(shell, text):
    """The (directive, value) pairs kdumpctl would get from text."""
    fields = _run(shell, READ_KDUMP_CONF, stdin=text.encode("utf-8")).decode("utf-8", "surrogateescape")
    fields = fields.split("\0")[:-1]
    return list(zip(fields[::2], fields[1::2], strict=False))


def sh_kdump_tools(shell, text, tmp_path):
    """The variables sh sets by sourcing text (unset ones left out); also checks nothing ran."""
    work = tmp_path / shell
    work.mkdir(exist_ok=True)
    path = work / "kdump-tools"
    path.write_bytes(text.encode("utf-8"))
    before = sorted(os.listdir(work))
    out = _run(shell, SOURCE_KDUMP_TOOLS, args=[str(path)], cwd=str(work)).decode("utf-8", "surrogateescape")
    assert sorted(os.listdir(work)) == before, "sourcing the file created files"
    values = dict(zip(TOOLS_NAMES, out.split("\0")[:-1], strict=False))
    return {name: value for name, value in values.items() if value != UNSET}


# ---------------------------------------------------------------- the sh reader agrees with the Python parser

HOSTILE_LINES = [
    "path /var/crash\n",
    "path /var/crash",  # no final newline: grep still passes the line on
    "  path\t /var/crash \t\n",
    "path /var/crash # trailing comment\n",
    "path /var/crash#x\n",
    'path "/var/crash"\n',
    'path " /var/crash "\n',
    'path "/var/crash" # c\n',
    'path "\n',
    "path\n",
    "path # only a comment\n",
    "#path /x\n   # indented comment\n\t#tab comment\n",
    "\r\n \r \n\v\n\f\n",
    "# comment\rpath /x\n",
    "path /var/crash\r\n",
    "path /var/crash\x0bssh evil@host\n",
    "path /var/crash\x0cssh evil@host\n",
    "path /var/crash\x1cssh evil@host\n",
    "path /var/crash\x1dssh evil@host\n",
    "path /var/crash\x1essh evil@host\n",
    "path /var/crash\x85ssh evil@host\n",
    "path /var/crash\u2028ssh evil@host\n",
    "path /var/crash\u2029ssh evil@host\n",
    "\x0bpath /var/crash\n",
    "path\x0b/var/crash\n",
    "core_collector makedumpfile  -l   -d 31\n",
    "core_collector makedumpfile -l -d 31 \\\n",
    "ssh kdump@host\nsshkey /root/.ssh/k\npath /srv\n",
    "path /a\n\n\npath /b\n",
    "path a\\tb\n",
]


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("text", HOSTILE_LINES, ids=[repr(t) for t in HOSTILE_LINES])
def test_kdump_conf_parser_reads_lines_as_kdumpctl(shell, text):
    assert _kdump_conf.parse(text).directives == sh_kdump_conf(shell, text)


def test_kdump_conf_parser_reports_characters_other_readers_split_on():
    conf = _kdump_conf.parse("path /var/crash\x85ssh evil@host\ncore_collector cp\n")
    # One directive, as kdumpctl reads it; str.splitlines would have made an ssh target of it.
    assert conf.directives == [("path", "/var/crash\x85ssh evil@host"), ("core_collector", "cp")]
    assert conf.targets() == []
    assert conf.errors == [
        "line 1: holds the character U+0085, which kdumpctl keeps in the directive or value "
        "(other readers may split or drop it); remove it"
    ]


HOSTILE_TOOLS = [
    "USE_KDUMP=1\nKDUMP_COREDIR=/var/crash\x0bSSH=evil@host\n",
    "KDUMP_COREDIR=/var/crash\x85SSH=evil@host\n",
    "KDUMP_COREDIR=/var/crash\u2028SSH=evil@host\n",
    "KDUMP_COREDIR=/var/crash\x1cSSH=evil@host\n",
    "KDUMP_COREDIR=/var/crash\r\n",
    "KDUMP_COREDIR='/var/crash\nSSH=evil@host'\n",
    "KDUMP_COREDIR=/var/crash # SSH=evil@host\n",
    "KDUMP_COREDIR=/var/crash#SSH=evil@host\n",
    "KDUMP_COREDIR=/a\\\n/b\n",
    'MAKEDUMP_ARGS="-c -d 31"\nSSH=kdump@h\n',
    "export KDUMP_COREDIR=/x\n",
    "NFS=a:/b; SSH=c@d\n",
    "A=1\nKDUMP_COREDIR=$A/x\n",
]


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("text", HOSTILE_TOOLS, ids=[repr(t) for t in HOSTILE_TOOLS])
def test_kdump_tools_parser_reads_lines_as_sh(shell, text, tmp_path):
    parsed = {name: value for name, value in _kdump_tools.parse(text).items() if name in _kdump_tools.KNOWN}
    assert parsed == sh_kdump_tools(shell, text, tmp_path)


# ---------------------------------------------------------------- models: plain and hostile examples

SAMPLE_MODELS = [
    ({}, ("redhat", "debian")),
    ({"kdump_target": {"type": "nfs", "server": "nfs.example.com", "export": "/exports/crash"}}, ("redhat", "debian")),
    ({"kdump_target": {"type": "nfs", "server": "2001:db8::1", "export": "/"}}, ("redhat", "debian")),
    (
        {
            "kdump_target": {"type": "ssh", "server": "kdump@dumps.example.com", "key": "/root/.ssh/k", "port": 2222},
            "kdump_path": "/srv/crash",
            "kdump_core_collector": {"extra_args": ["--message-level", "7", "--num-threads=2"]},
        },
        ("redhat", "debian"),
    ),
    ({"kdump_target": {"type": "device", "device": "LABEL=crash", "fstype": "ext4"}}, ("redhat",)),
    ({"kdump_target": {"type": "raw", "device": "/dev/disk/by-id/virtio-crash"}}, ("redhat",)),
    ({"kdump_core_collector": {"raw": "cp --sparse=always"}}, ("redhat",)),
    ({"kdump_core_collector": {"raw": "-c -d 31 --message-level 7"}}, ("debian",)),
]


def _assert_kdump_conf_reads_back(model, shells):
    text = to_kdump_conf(model)
    directives = [(name, str(value)) for name, value in to_kdump_conf_directives(model)]
    conf = _kdump_conf.parse(text)
    assert conf.directives == directives
    assert conf.errors == []
    for shell in shells:
        assert sh_kdump_conf(shell, text) == directives


def _assert_kdump_tools_reads_back(model, shells, tmp_path):
    text = to_kdump_tools(model)
    values = {name: str(value) for name, value in to_kdump_tools_values(model).items()}
    assert _kdump_tools.parse_with_errors(text) == (values, [])
    for shell in shells:
        assert sh_kdump_tools(shell, text, tmp_path) == values


def _installed_shells():
    return [name for name in ("dash", "bash") if shutil.which(name)]


@pytest.mark.parametrize(("model", "families"), SAMPLE_MODELS)
def test_sample_models_read_back(model, families, tmp_path):
    shells = _installed_shells()
    assert shells, "neither dash nor bash is installed"
    for family in families:
        assert validate(model, family) == []
        if family == "redhat":
            _assert_kdump_conf_reads_back(model, shells)
        else:
            _assert_kdump_tools_reads_back(model, shells, tmp_path)


# ---------------------------------------------------------------- property tests

ANYTHING = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | st.binary(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
TEXTISH = st.one_of(st.text(max_size=30), st.sampled_from(["", "-", "..", "$(id)", "`id`", "a\nb", "\u2028"]))


def _fields(keys, values):
    return st.fixed_dictionaries({}, optional={key: values for key in keys})


ARBITRARY_MODEL = st.fixed_dictionaries(
    {},
    optional={
        "kdump_enabled": ANYTHING,
        "kdump_target": st.one_of(ANYTHING, _fields(ALL_TARGET_KEYS, st.one_of(TEXTISH, ANYTHING))),
        "kdump_path": st.one_of(TEXTISH, ANYTHING),
        "kdump_core_collector": st.one_of(
            ANYTHING,
            _fields(COLLECTOR_KEYS, st.one_of(TEXTISH, ANYTHING, st.lists(TEXTISH, max_size=3))),
        ),
        "kdump_failure_action": st.one_of(TEXTISH, ANYTHING),
        "kdump_final_action": st.one_of(TEXTISH, ANYTHING),
        "kdump_dump_dmesg": ANYTHING,
        "kdump_keep_dumps": ANYTHING,
    },
)


@settings(max_examples=300, deadline=None, database=None)
@given(model=ARBITRARY_MODEL, family=st.sampled_from(["redhat", "debian"]))
def test_validate_never_raises(model, family):
    errors = validate(model, family)
    assert isinstance(errors, list)
    for error in errors:
        assert isinstance(error, str)
        assert all(0x20 <= ord(char) < 0x7F for char in error), error
    if not errors:
        # A model that validates always renders.
        if family == "redhat":
            to_kdump_conf(model)
        else:
            to_kdump_tools(model)
        to_ssh_config(model, family)


def _mostly(strategy):
    """Mostly plausible values, sometimes arbitrary text (which validation must catch or render safely)."""
    return st.one_of(strategy, strategy, strategy, st.text(max_size=12))


LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?", fullmatch=True)
HOST = st.one_of(
    st.lists(LABEL, min_size=1, max_size=3).map(".".join),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(str),
)
SEGMENT = st.from_regex(r"[A-Za-z0-9._+-]{1,8}", fullmatch=True)
PATH = st.lists(SEGMENT, min_size=1, max_size=3).map(lambda parts: "/" + "/".join(parts))
USER = st.from_regex(r"[a-z_][a-z0-9_.-]{0,6}", fullmatch=True)
WORD = st.from_regex(r"[A-Za-z0-9._/+=,:-]{1,8}", fullmatch=True)

TARGET = st.one_of(
    st.just({"type": "local"}),
    st.fixed_dictionaries({"type": st.just("nfs"), "server": _mostly(HOST), "export": _mostly(PATH)}),
    st.fixed_dictionaries(
        {"type": st.just("ssh"), "server": _mostly(st.builds("{}@{}".format, USER, HOST))},
        optional={"key": _mostly(PATH), "port": st.integers(1, 65535)},
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("device"),
            "device": _mostly(st.one_of(PATH, WORD.map("UUID={}".format))),
            "fstype": st.sampled_from(["ext4", "xfs"]),
        }
    ),
    st.fixed_dictionaries({"type": st.just("raw"), "device": _mostly(PATH.map("/dev{}".format))}),
)
COLLECTOR = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "dump_level": st.integers(0, 31),
            "compression": st.sampled_from(["lzo", "zlib", "none"]),
            "extra_args": st.lists(_mostly(WORD), max_size=3),
        },
    ),
    st.fixed_dictionaries({"raw": _mostly(st.lists(WORD, min_size=1, max_size=4).map(" ".join))}),
)
PLAUSIBLE_MODEL = st.fixed_dictionaries(
    {"kdump_target": TARGET, "kdump_path": _mostly(PATH), "kdump_core_collector": COLLECTOR},
    optional={
        "kdump_failure_action": st.sampled_from(["reboot", "halt", "poweroff", "shell"]),
        "kdump_enabled": st.booleans(),
    },
)


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(model=PLAUSIBLE_MODEL, family=st.sampled_from(["redhat", "debian"]))
def test_every_valid_model_reads_back_as_rendered(model, family, tmp_path):
    assume(not validate(model, family))
    shells = _installed_shells()
    if family == "redhat":
        _assert_kdump_conf_reads_back(model, shells)
    else:
        _assert_kdump_tools_reads_back(model, shells, tmp_path)
    ssh_config = to_ssh_config(model, family)
    # The ssh_config block holds exactly the host and the port, one keyword per line.
    if ssh_config:
        host = model["kdump_target"]["server"].split("@", 1)[1]
        port = model["kdump_target"]["port"]
        assert ssh_config.split("\n") == ["Host " + host, f"    Port {port}", ""]
