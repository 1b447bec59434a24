"""The dump server's SSH receiver (roles/dump_server/files/kdump-fleet-receiver).

Real command lines come from tests/unit/fixtures/dump_server/remote-commands.json (see its .md);
each runs through main() in-process against a tmp dump root, with SSH_ORIGINAL_COMMAND and stdin
as sshd would give them. scp steps run both as the legacy protocol (scp -t) and as SFTP (what
OpenSSH 9+ scp sends by default).
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import pathlib
import stat
import struct
import subprocess
import sys
from importlib.machinery import SourceFileLoader
from unittest import mock

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
SCRIPT = REPO / "roles" / "dump_server" / "files" / "kdump-fleet-receiver"
FIXTURE = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "dump_server" / "remote-commands.json"


def _load():
    loader = SourceFileLoader("kdump_fleet_receiver", str(SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


rx = _load()
DATA = json.loads(FIXTURE.read_text(encoding="utf-8"))
SEQUENCES = DATA["sequences"]
CLIENT = DATA["client"]


class Run:
    def __init__(self, code, out, err, logs):
        self.code = code
        self.out = out
        self.err = err
        self.logs = logs


@pytest.fixture(autouse=True)
def _keep_the_umask():
    """main() sets umask 077 for the files it creates: in-process runs must not leak it to other tests."""
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


@pytest.fixture(name="root")
def _root(tmp_path):
    root = tmp_path / "dumps"
    root.mkdir(mode=0o700)
    return root


@pytest.fixture(name="run")
def _run(root):
    def run(command, stdin=b"", client=CLIENT, extra=()):
        out, err = io.BytesIO(), io.StringIO()
        argv = ["--root", str(root), "--client", client, "--remote-path", "/var/crash", "--min-free-bytes", "0"]
        argv += list(extra)
        environ = {} if command is None else {"SSH_ORIGINAL_COMMAND": command}
        with mock.patch.object(rx.syslog, "syslog") as log, mock.patch.object(rx.syslog, "openlog"):
            code = rx.main(argv, environ=environ, stdin=io.BytesIO(stdin), stdout=out, stderr=err)
        return Run(code, out.getvalue(), err.getvalue(), [call.args for call in log.call_args_list])

    return run


def payload(label):
    """Distinct bytes per fixture label."""
    return (label.encode() + b"\x00\xff") * 997


# ----- an SFTP client that sends what OpenSSH's scp sends to upload one file


def pkt(kind, body):
    return struct.pack(">IB", len(body) + 1, kind) + body


def sstr(value):
    value = value.encode() if isinstance(value, str) else value
    return struct.pack(">I", len(value)) + value


def sftp_upload(target, data, target_is_dir=False, source_name="x", chunk=32768):
    """The request stream of `scp src host:target` in SFTP mode; the handle is the first one, b"0"."""
    stream = pkt(rx.FXP_INIT, struct.pack(">I", 3))
    stream += pkt(rx.FXP_STAT, struct.pack(">I", 1) + sstr(target))
    path = target.rstrip("/") + "/" + source_name if target_is_dir else target
    attrs = struct.pack(">II", rx.ATTR_PERMISSIONS, 0o100644)
    stream += pkt(rx.FXP_OPEN, struct.pack(">I", 2) + sstr(path) + struct.pack(">I", 0x02 | 0x08 | 0x10) + attrs)
    req = 3
    for offset in range(0, len(data), chunk):
        piece = data[offset : offset + chunk]
        stream += pkt(rx.FXP_WRITE, struct.pack(">I", req) + sstr(b"0") + struct.pack(">Q", offset) + sstr(piece))
        req += 1
    stream += pkt(rx.FXP_FSETSTAT, struct.pack(">I", req) + sstr(b"0") + struct.pack(">IQ", rx.ATTR_SIZE, len(data)))
    stream += pkt(rx.FXP_CLOSE, struct.pack(">I", req + 1) + sstr(b"0"))
    return stream


def sftp_replies(out):
    """[(type, request id, status code or None)] of the server's packets after VERSION."""
    replies, pos = [], 0
    while pos < len(out):
        length, kind = struct.unpack(">IB", out[pos : pos + 5])
        body = out[pos + 5 : pos + 4 + length]
        pos += 4 + length
        if kind == rx.FXP_VERSION:
            continue
        req_id = struct.unpack(">I", body[:4])[0]
        code = struct.unpack(">I", body[4:8])[0] if kind == rx.FXP_STATUS else None
        replies.append((kind, req_id, code))
    return replies


def legacy_upload(data, name):
    return f"C0644 {len(data)} {name}\n".encode() + data + b"\0"


def run_step(run, step, protocol, probe):
    if "scp" in step:
        target, data = step["scp"], payload(step["data"])
        is_dir = target.endswith("/")
        if protocol == "legacy":
            result = run(f"scp -t {target}", legacy_upload(data, step["source_name"]))
            assert result.out == b"\0\0\0", result.err
        else:
            result = run("/usr/lib/openssh/sftp-server", sftp_upload(target, data, is_dir, step["source_name"]))
            replies = sftp_replies(result.out)
            assert replies[0][0] == (rx.FXP_ATTRS if is_dir else rx.FXP_STATUS)
            assert replies[1][0] == rx.FXP_HANDLE
            assert all(code == rx.FX_OK for kind, _id, code in replies[2:]), replies
        return result
    command = step["command"].replace("{mktemp}", probe.get("mktemp", ""))
    data = payload(step["data"]) if "data" in step else b""
    result = run(command, data)
    if step.get("prints") == "mktemp":
        probe["mktemp"] = result.out.decode().strip()
    return result


@pytest.mark.parametrize("protocol", ["legacy", "sftp"])
@pytest.mark.parametrize("sequence", SEQUENCES, ids=[seq["name"] for seq in SEQUENCES])
def test_real_command_sequences_land_in_the_clients_directory(run, root, sequence, protocol):
    probe = {}
    for step in sequence["steps"]:
        result = run_step(run, step, protocol, probe)
        assert result.code == 0, (step, result.err)
        assert result.err == ""
        assert result.logs and result.logs[-1][1].startswith(f"client={CLIENT} ok command=")
    client_dir = root / CLIENT
    found = {str(path.relative_to(client_dir)): path for path in client_dir.rglob("*") if path.is_file()}
    assert sorted(found) == sorted(sequence["files"])
    for rel, label in sequence["files"].items():
        path = found[rel]
        assert path.read_bytes() == payload(label), rel
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, rel
    for path in [client_dir, *[p for p in client_dir.rglob("*") if p.is_dir()]]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    assert [p.name for p in root.iterdir()] == [CLIENT]


def test_the_probe_prints_the_clients_path_and_df_prints_kib(run, root):
    made = run("mktemp -dqp /var/crash")
    assert made.code == 0
    shown = made.out.decode().strip()
    assert shown.startswith("/var/crash/tmp.") and len(shown) == len("/var/crash/tmp.") + 10
    assert (root / CLIENT / shown.rsplit("/", 1)[1]).is_dir()
    assert run(f"rmdir {shown}").code == 0
    assert not (root / CLIENT / shown.rsplit("/", 1)[1]).exists()
    df = run("df --output=avail /var/crash")
    lines = df.out.decode().split("\n")
    assert lines[0].strip() == "Avail" and int(lines[-2].strip()) > 0


def test_two_clients_are_kept_apart(run, root):
    assert run("mkdir -p /var/crash/192.0.2.10-202612021000", client="web01").code == 0
    assert run("mkdir -p /var/crash/192.0.2.11-202612021000", client="db01").code == 0
    assert sorted(p.name for p in root.iterdir()) == ["db01", "web01"]
    assert [p.name for p in (root / "db01").iterdir()] == ["192.0.2.11-202612021000"]


# ----- hostile input: every one refused, with a message and a syslog record

D = "/var/crash/192.0.2.10-202612021000"

HOSTILE = {
    "interactive login": None,
    "empty command": "",
    "blank command": "   ",
    "dotdot first": "mkdir -p /var/crash/../etc",
    "dotdot middle": f"dd of={D}/../../../etc/passwd-incomplete",
    "dotdot last": f"mkdir -p {D}/..",
    "dot": f"mkdir -p {D}/./x",
    "absolute outside": "dd of=/etc/cron.d/x-incomplete",
    "prefix lookalike": "mkdir -p /var/crashx/y",
    "root itself": "mkdir -p /",
    "relative path": "mkdir -p var/crash/x",
    "other client by dotdot": "mkdir -p /var/crash/../../db01/x",
    "semicolon": f"mkdir -p {D}; rm -rf /",
    "semicolon glued": f"mkdir -p {D};id",
    "and and": f"mkdir -p {D} && id",
    "umask and and before mv": f"umask 0077 && mv {D}/a-incomplete {D}/a",
    "pipe": f"dd of={D}/x-incomplete | sh",
    "command substitution": f"mkdir -p {D}/$(id)",
    "quoted substitution": f"mkdir -p '{D}/$(id)'",
    "backticks": f"mkdir -p {D}/`id`",
    "variable": "mkdir -p $HOME/x",
    "newline": f"mkdir -p {D}\nid",
    "carriage return": f"mkdir -p {D}\rid",
    "nul": f"mkdir -p {D}\x00id",
    "non-ascii": f"mkdir -p {D}/\u00e9",
    "redirect": f"dd of={D}/x-incomplete > /etc/passwd",
    "glob": "mkdir -p /var/crash/*",
    "tilde": "mkdir -p ~/x",
    "unbalanced quote": f"mkdir -p '{D}",
    "leading dash option": f"mkdir -p -m 777 {D}",
    "leading dash path": "mkdir -p --",
    "leading dash component": "mkdir -p /var/crash/-rf",
    "leading dot component": "mkdir -p /var/crash/.ssh",
    "mkdir without -p": f"mkdir {D}",
    "dd if shadow": f"dd if=/etc/shadow of={D}/x-incomplete",
    "dd if only": "dd if=/etc/shadow",
    "dd conv": f"dd of={D}/x-incomplete conv=notrunc",
    "dd seek": f"dd of={D}/x-incomplete seek=100",
    "dd status": f"dd of={D}/x-incomplete status=none",
    "dd bs not a number": f"dd bs=1M of={D}/x-incomplete",
    "dd twice of": f"dd of={D}/a-incomplete of={D}/b-incomplete",
    "dd no of": "dd bs=512",
    "dd of the dir itself": "dd of=/var/crash",
    "cat passwd": "cat /etc/passwd",
    "cat redirect": f"cat > {D}/vmcore-incomplete",
    "bash -i": "bash -i",
    "sh -c": "sh -c id",
    "rm": f"rm -rf {D}",
    "ln": f"ln -s /etc {D}/etc",
    "chmod": f"chmod 777 {D}",
    "absolute program": "/bin/sh",
    "echo redirect": "echo fail kdump_test_id=1 > /var/crash/kdump-test-1/vmcore-creation.status",
    "mv three args": f"mv {D}/a-incomplete {D}/b {D}/c",
    "mv complete to complete": f"mv {D}/dump.1 {D}/dump.2",
    "mv to incomplete": f"mv {D}/a-incomplete {D}/b-incomplete",
    "mv across directories": f"mv {D}/a-incomplete /var/crash/other/a",
    "mv outside": f"mv {D}/a-incomplete /etc/a",
    "rmdir not a probe": f"rmdir {D}",
    "mktemp other options": "mktemp -d /var/crash/x.XXXX",
    "df other options": "df -h /var/crash",
    "df outside": "df --output=avail /etc",
    "scp read": f"scp -f {D}/dump.1",
    "scp recursive": f"scp -r -t {D}",
    "scp outside": "scp -t /etc/x",
    "scp two paths": f"scp -t {D}/a {D}/b",
    "huge path": "mkdir -p /var/crash/" + "a" * 2000,
    "huge component": "mkdir -p /var/crash/" + "a" * 300,
    "huge command": "mkdir -p /var/crash/" + "/a" * 3000,
    "too deep": "mkdir -p /var/crash/a/b/c/d",
    "ssh-copy-id": "exec sh -c 'cd ; umask 077 ; mkdir -p .ssh && cat >> .ssh/authorized_keys'",
}


@pytest.mark.parametrize("command", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_commands_are_refused_and_logged(run, root, command):
    result = run(command, b"payload")
    assert result.code == rx.EXIT_REFUSED, result.err
    assert result.err.startswith("kdump-fleet-receiver: refused: ")
    assert result.err.count("\n") == 1 and result.err.endswith("\n")
    assert len(result.logs) == 1
    priority, line = result.logs[0]
    assert priority == rx.syslog.LOG_WARNING
    assert line.startswith(f"client={CLIENT} refused command=")
    assert all(0x20 <= ord(char) < 0x7F for char in line), line
    client_dir = root / CLIENT
    assert not client_dir.exists() or not any(client_dir.rglob("*"))
    assert [p.name for p in root.iterdir()] in ([], [CLIENT])


def test_control_characters_are_escaped_in_the_log(run):
    result = run("mkdir -p /var/crash/x\nrm -rf /\x1b[2J")
    line = result.logs[0][1]
    assert "\\x0a" in line and "\\x1b" in line and "\n" not in line and "\x1b" not in line


def test_a_complete_vmcore_is_never_overwritten(run, root):
    assert run(f"mkdir -p {D}").code == 0
    done = root / CLIENT / "192.0.2.10-202612021000" / "vmcore.flat"
    done.write_bytes(b"the dump")
    for command in (f"dd of={D}/vmcore.flat", f"umask 0077 && dd bs=512 of='{D}/vmcore.flat'"):
        result = run(command, b"evil")
        assert result.code == rx.EXIT_REFUSED and "never overwritten" in result.err
    (done.parent / "vmcore-incomplete").write_bytes(b"new")
    result = run(f"mv '{D}/vmcore-incomplete' '{D}/vmcore.flat'")
    assert result.code == rx.EXIT_REFUSED and "never overwritten" in result.err
    assert run(f"scp -t {D}/vmcore.flat", legacy_upload(b"evil", "x")).code == rx.EXIT_REFUSED
    sftp = run("/usr/lib/openssh/sftp-server", sftp_upload(f"{D}/vmcore.flat", b"evil"))
    assert (rx.FXP_STATUS, 2, rx.FX_PERMISSION_DENIED) in sftp_replies(sftp.out)
    assert done.read_bytes() == b"the dump"
    assert (done.parent / "vmcore-incomplete").read_bytes() == b"new"


def test_an_incomplete_file_may_be_written_again(run, root):
    assert run(f"mkdir -p {D}").code == 0
    assert run(f"dd of={D}/dump-incomplete", b"first try, longer").code == 0
    assert run(f"dd of={D}/dump-incomplete", b"second").code == 0
    assert (root / CLIENT / "192.0.2.10-202612021000" / "dump-incomplete").read_bytes() == b"second"


def test_symlinks_planted_in_the_root_are_not_followed(run, root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target").write_bytes(b"keep")
    stamp = root / CLIENT / "192.0.2.10-202612021000"
    stamp.mkdir(parents=True)
    (root / CLIENT / "linkdir").symlink_to(outside)
    (stamp / "dump-incomplete").symlink_to(outside / "target")
    (stamp / "vmcore-incomplete").symlink_to(outside / "target")
    for command, stdin in (
        ("mkdir -p /var/crash/linkdir/x", b""),
        ("dd of=/var/crash/linkdir/x-incomplete", b"evil"),
        (f"dd of={D}/dump-incomplete", b"evil"),
        (f"mv {D}/vmcore-incomplete {D}/vmcore.1", b""),
        ("scp -t /var/crash/linkdir/", legacy_upload(b"evil", "x")),
        (f"scp -t {D}/dump-incomplete", legacy_upload(b"evil", "x")),
        ("df --output=avail /var/crash/linkdir", b""),
    ):
        result = run(command, stdin)
        assert result.code == rx.EXIT_REFUSED, (command, result.err)
        assert "symlink" in result.err, result.err
        assert result.logs[-1][0] == rx.syslog.LOG_WARNING
    assert sorted(p.name for p in outside.iterdir()) == ["target"]
    assert (outside / "target").read_bytes() == b"keep"
    assert not (stamp / "vmcore.1").exists()


def test_a_symlinked_client_directory_is_refused(run, root, tmp_path):
    other = tmp_path / "elsewhere"
    other.mkdir()
    (root / CLIENT).symlink_to(other)
    result = run("mkdir -p /var/crash/x")
    assert result.code == rx.EXIT_REFUSED and "not a plain directory" in result.err
    assert not any(other.iterdir())


def test_another_clients_directory_cannot_be_reached(run, root):
    (root / "db01" / "192.0.2.11-202612021000").mkdir(parents=True)
    (root / "db01" / "192.0.2.11-202612021000" / "vmcore.flat").write_bytes(b"db01's dump")
    for command in (
        "mkdir -p /var/crash/../db01/x",
        "dd of=/srv/kdump/dumps/db01/192.0.2.11-202612021000/vmcore-incomplete",
        f"dd of={root}/db01/192.0.2.11-202612021000/x-incomplete",
    ):
        assert run(command, b"evil").code == rx.EXIT_REFUSED, command
    assert run("mkdir -p /var/crash/db01").code == 0
    assert (root / CLIENT / "db01").is_dir()
    assert sorted(p.name for p in (root / "db01" / "192.0.2.11-202612021000").iterdir()) == ["vmcore.flat"]


def test_sftp_refuses_everything_but_writing_inside(run, root):
    assert run(f"mkdir -p {D}").code == 0
    (root / CLIENT / "192.0.2.10-202612021000" / "vmcore.flat").write_bytes(b"dump")
    ops = [
        (5, struct.pack(">I", 10) + sstr(b"0") + struct.pack(">QI", 0, 10)),  # READ
        (11, struct.pack(">I", 11) + sstr(D)),  # OPENDIR
        (13, struct.pack(">I", 12) + sstr(f"{D}/vmcore.flat")),  # REMOVE
        (14, struct.pack(">I", 13) + sstr("/var/crash/x") + struct.pack(">I", 0)),  # MKDIR
        (18, struct.pack(">I", 14) + sstr(f"{D}/vmcore.flat") + sstr(f"{D}/y")),  # RENAME
        (20, struct.pack(">I", 15) + sstr(f"{D}/l") + sstr("/etc")),  # SYMLINK
        (200, struct.pack(">I", 16) + sstr("posix-rename@openssh.com")),  # EXTENDED
        (rx.FXP_STAT, struct.pack(">I", 17) + sstr("/etc/shadow")),
        (rx.FXP_REALPATH, struct.pack(">I", 18) + sstr("/var/crash/../..")),
        (rx.FXP_OPEN, struct.pack(">I", 19) + sstr(f"{D}/vmcore.flat") + struct.pack(">II", 0x01, 0)),
        (rx.FXP_OPEN, struct.pack(">I", 20) + sstr("/etc/x-incomplete") + struct.pack(">II", 0x1A, 0)),
        (rx.FXP_SETSTAT, struct.pack(">I", 21) + sstr(f"{D}/vmcore.flat") + struct.pack(">II", 4, 0o777)),
    ]
    stream = pkt(rx.FXP_INIT, struct.pack(">I", 3)) + b"".join(pkt(kind, body) for kind, body in ops)
    result = run("/usr/lib/openssh/sftp-server", stream)
    replies = sftp_replies(result.out)
    assert [r[1] for r in replies] == list(range(10, 22))
    for kind, _req, code in replies:
        assert kind == rx.FXP_STATUS and code in (rx.FX_PERMISSION_DENIED, rx.FX_OP_UNSUPPORTED, rx.FX_BAD_MESSAGE)
    assert len([log for log in result.logs if "refused sftp" in log[1]]) >= 10
    assert (root / CLIENT / "192.0.2.10-202612021000" / "vmcore.flat").read_bytes() == b"dump"
    assert sorted(p.name for p in (root / CLIENT / "192.0.2.10-202612021000").iterdir()) == ["vmcore.flat"]


def test_the_free_space_reserve_refuses_writes(run):
    assert run(f"mkdir -p {D}").code == 0
    result = run(f"dd of={D}/dump-incomplete", b"x", extra=["--min-free-bytes", str(1 << 62)])
    assert result.code == rx.EXIT_REFUSED and "below the reserve" in result.err


def test_bad_options_in_authorized_keys_fail_closed(run):
    for client in ("../x", "a/b", "", "-x"):
        assert run("mkdir -p /var/crash", client=client).code == rx.EXIT_FAILED
    assert run("mkdir -p /var/crash", extra=["--remote-path", "/var/../etc"]).code == rx.EXIT_FAILED


def test_subprocess_dd_upload_of_a_few_megabytes(tmp_path):
    root = tmp_path / "dumps"
    root.mkdir()
    data = os.urandom(3 << 20) + bytes(range(256)) * 4099
    argv = [sys.executable, "-I", str(SCRIPT), "--root", str(root), "--client", CLIENT, "--min-free-bytes", "0"]
    env = {"PATH": "/usr/bin:/bin", "SSH_ORIGINAL_COMMAND": f"mkdir -p {D}"}
    assert subprocess.run(argv, env=env, check=False, capture_output=True).returncode == 0
    env["SSH_ORIGINAL_COMMAND"] = f"umask 0077 && dd bs=512 of='{D}/vmcore-incomplete'"
    with subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        for offset in range(0, len(data), 65536):
            proc.stdin.write(data[offset : offset + 65536])
        proc.stdin.close()
        err = proc.stderr.read()
        assert proc.wait(timeout=60) == 0, err
    env["SSH_ORIGINAL_COMMAND"] = f"mv '{D}/vmcore-incomplete' '{D}/vmcore.flat'"
    assert subprocess.run(argv, env=env, check=False, capture_output=True).returncode == 0
    dump = root / CLIENT / "192.0.2.10-202612021000" / "vmcore.flat"
    assert dump.read_bytes() == data
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    env["SSH_ORIGINAL_COMMAND"] = "cat /etc/passwd"
    refused = subprocess.run(argv, env=env, check=False, capture_output=True, text=True)
    assert refused.returncode == 1 and refused.stderr.startswith("kdump-fleet-receiver: refused: ")
