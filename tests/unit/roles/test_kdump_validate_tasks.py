"""The kdump role's read-only validate tasks for kdump_path, the SSH key and unknown variables, run for real.

The tasks are taken from roles/kdump/tasks/validate.yml by name and run with ansible-playbook --check on
localhost against temporary directories. They only read (realpath, stat, find, assert, debug).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
ROLE = ROOT / "roles" / "kdump"
PATH_TASKS = [
    "Warn about kdump_* variables the role does not know",
    "Resolve kdump_path on the host",
    "Look at the resolved dump directory",
    "List the dump directory that exists but is not root-only yet",
    "Refuse a kdump_path the role must not create or change",
    "Say which directory the role will use when kdump_path is a symlink",
]
KEY_TASKS = ["Look for the SSH key the capture kernel will use"]

pytestmark = pytest.mark.skipif(shutil.which("ansible-playbook") is None, reason="needs ansible-playbook")


def validate_tasks():
    return {task["name"]: task for task in yaml.safe_load((ROLE / "tasks" / "validate.yml").read_text())}


def key_check_task_name():
    return next(name for name in validate_tasks() if name.startswith("Check that the SSH key exists"))


def run(tmp_path, names, extra):
    tasks = validate_tasks()
    play = [
        {
            "name": "validate tasks",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "vars": {
                "role_path": str(ROLE),
                "kdump_enabled": True,
                "kdump_target": {"type": "local"},
                "kdump_path_adopt": False,
                "__kdump_dump_dir_mode": "0700",
                "__kdump_ssh_key": "{{ kdump_target['key'] | default('/root/.ssh/kdump_id_rsa', true) }}",
                "kdump_ssh_key_manage": True,
                "kdump_ssh_known_host_keys": [],
            },
            "tasks": [tasks[name] for name in names],
        }
    ]
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump(play), encoding="utf-8")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".tmp" / "collections"), ANSIBLE_NOCOLOR="1")
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    env["ANSIBLE_STDOUT_CALLBACK"] = "default"
    command = ["ansible-playbook", "--check", "-i", "localhost,", str(playbook), "-e", json.dumps(extra)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=180, check=False)
    return done.returncode, " ".join((done.stdout + done.stderr).split())


def test_a_new_dump_directory_passes(tmp_path):
    rc, out = run(tmp_path, PATH_TASKS, {"kdump_path": str(tmp_path / "crash")})
    assert rc == 0, out
    assert "WARNING" not in out


def test_a_shared_directory_is_refused_and_adopt_lets_it_pass(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    (shared / "someone-elses-file").write_text("x")
    rc, out = run(tmp_path, PATH_TASKS, {"kdump_path": str(shared)})
    assert rc != 0
    assert "is an existing directory that is not a dump directory" in out
    if os.geteuid() == 0:
        assert "it is a shared directory (mode 1777)" in out
    assert "set kdump_path_adopt: true" in out
    rc, out = run(tmp_path, PATH_TASKS, {"kdump_path": str(shared), "kdump_path_adopt": True})
    assert rc == 0, out


@pytest.mark.skipif(os.geteuid() != 0, reason="a dump directory is root's")
def test_a_directory_with_dumps_only_passes(tmp_path):
    crash = tmp_path / "crash"
    (crash / "202611221330").mkdir(parents=True)
    (crash / "kexec_cmd").write_text("")
    crash.chmod(0o755)
    rc, out = run(tmp_path, PATH_TASKS, {"kdump_path": str(crash)})
    assert rc == 0, out


def test_a_symlink_to_a_system_directory_is_refused(tmp_path):
    link = tmp_path / "crash"
    link.symlink_to("/etc")
    rc, out = run(tmp_path, PATH_TASKS, {"kdump_path": str(link), "kdump_path_adopt": True})
    assert rc != 0
    assert f"kdump_path={link} (through a symlink, it is /etc) is a system directory" in out


def test_a_symlink_outside_the_named_parent_is_refused(tmp_path):
    (tmp_path / "elsewhere" / "crash").mkdir(parents=True)
    (tmp_path / "named").mkdir()
    link = tmp_path / "named" / "crash"
    link.symlink_to(tmp_path / "elsewhere" / "crash")
    rc, out = run(tmp_path, PATH_TASKS, {"kdump_path": str(link)})
    assert rc != 0
    assert (
        "is a symlink to {}, outside {} where you named it".format(tmp_path / "elsewhere" / "crash", link.parent) in out
    )


def test_a_symlink_beside_it_is_followed_and_reported(tmp_path):
    (tmp_path / "crash.d").mkdir()
    (tmp_path / "crash").symlink_to("crash.d")
    rc, out = run(tmp_path, PATH_TASKS, {"kdump_path": str(tmp_path / "crash")})
    assert rc == 0, out
    assert "resolves to %s" % (tmp_path / "crash.d") in out


def test_an_unknown_variable_is_a_warning_not_a_failure(tmp_path):
    rc, out = run(tmp_path, PATH_TASKS, {"kdump_path": str(tmp_path / "crash"), "kdump_taget": {"type": "nfs"}})
    assert rc == 0, out
    assert "kdump_taget is not a variable of kdump.fleet.kdump and is ignored; did you mean kdump_target?" in out


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        (0o600, None),
        (0o400, None),
        (0o644, "has mode 0644: others can read it and ssh refuses such a key, so the dump would fail. Run chmod 600"),
        (0o640, "has mode 0640"),
    ],
)
def test_the_ssh_key_must_be_private(tmp_path, mode, message):
    key = tmp_path / "kdump_id_ed25519"
    key.write_text("not really a key\n")
    key.chmod(mode)
    target = {"type": "ssh", "server": "kdump@dumps.example.com", "key": str(key)}
    rc, out = run(tmp_path, KEY_TASKS + [key_check_task_name()], {"kdump_target": target, "kdump_path": "/x"})
    if message is None:
        assert rc == 0, out
    else:
        assert rc != 0
        assert f"kdump_target.key={key} on localhost {message}" in out
        assert f"chmod 600 {key}" in out


def test_the_ssh_key_must_be_a_file_and_exist_unless_the_role_creates_it(tmp_path):
    target = {"type": "ssh", "server": "kdump@dumps.example.com", "key": str(tmp_path)}
    rc, out = run(tmp_path, KEY_TASKS + [key_check_task_name()], {"kdump_target": target, "kdump_path": "/x"})
    assert rc != 0
    assert f"kdump_target.key={tmp_path} on localhost is not a regular file" in out
    target["key"] = str(tmp_path / "missing")
    rc, out = run(tmp_path, KEY_TASKS + [key_check_task_name()], {"kdump_target": target, "kdump_path": "/x"})
    assert rc == 0, out  # ssh_key.yml creates it
    extra = {"kdump_target": target, "kdump_path": "/x", "kdump_ssh_key_manage": False}
    rc, out = run(tmp_path, KEY_TASKS + [key_check_task_name()], extra)
    assert rc != 0
    assert "does not exist on localhost and kdump_ssh_key_manage is false" in out
    assert "ssh-keygen -t ed25519" in out


HOST_KEY_TASKS = [
    "Check the dump server's host keys",
    "Look the dump server up in root's known_hosts",
    "Refuse an ssh target whose host key nobody pinned",
]
HOST_KEYS = sorted((ROOT / "tests/unit/fixtures/ssh").glob("debian12-ssh_host_*_key.pub"))


@pytest.mark.parametrize(
    ("known", "port", "passes"),
    [
        ("10.77.0.10", None, True),
        ("[10.77.0.10]:2222", 2222, True),
        ("10.77.0.10", 2222, False),
        ("10.77.0.11", None, False),
        (None, None, False),
    ],
)
def test_an_ssh_target_needs_the_servers_host_key_pinned(tmp_path, known, port, passes):
    known_hosts = tmp_path / "known_hosts"
    if known:
        key = " ".join(HOST_KEYS[1].read_text().split()[:2])
        known_hosts.write_text(f"{known} {key}\n")
    target = {"type": "ssh", "server": "kdump@10.77.0.10", "port": port}
    extra = {"kdump_target": target, "kdump_path": "/x", "__kdump_known_hosts_path": str(known_hosts)}
    rc, out = run(tmp_path, HOST_KEY_TASKS, extra)
    if passes:
        assert rc == 0, out
    else:
        assert rc != 0
        assert f"kdump_target.server=kdump@10.77.0.10 is not in {known_hosts} on localhost" in out
        assert "Set kdump_ssh_known_host_keys" in out


def test_listed_host_keys_need_no_known_hosts_entry_and_bad_ones_are_refused(tmp_path):
    target = {"type": "ssh", "server": "kdump@10.77.0.10"}
    keys = [path.read_text() for path in HOST_KEYS]
    extra = {
        "kdump_target": target,
        "kdump_path": "/x",
        "__kdump_known_hosts_path": str(tmp_path / "none"),
        "kdump_ssh_known_host_keys": keys,
    }
    rc, out = run(tmp_path, HOST_KEY_TASKS, extra)
    assert rc == 0, out
    extra["kdump_ssh_known_host_keys"] = keys + ["ssh-ed25519 not-base64!"]
    rc, out = run(tmp_path, HOST_KEY_TASKS, extra)
    assert rc != 0
    assert "kdump_ssh_known_host_keys[3] has a key body that is not base64" in out
