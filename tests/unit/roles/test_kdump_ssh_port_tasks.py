"""The kdump role's tasks that carry kdump_target.port in root's ssh configuration, run for real.

The tasks are taken from roles/kdump/tasks/config.yml by name and run with ansible-playbook on
localhost (connection local) against temporary files: each scenario is one inventory host whose
role-internal __kdump_ssh_config_path points into its own temporary directory, so the ssh
configuration of this machine is never read or written. The role's handlers run too, each with its
module replaced by a debug message, so the test sees which ones a change notifies and in what order
without running kdumpctl or systemctl. The scenarios run side by side in a few rounds (one
ansible-playbook run per round), the files are read after every round.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import stat
import subprocess

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
ROLE = ROOT / "roles" / "kdump"
TASKS = [
    "Create root's ssh directory for the dump server's port",
    "Look for root's ssh configuration",
    "Carry kdump_target.port in",
]
BEGIN = "# BEGIN kdump.fleet kdump_target.port"
END = "# END kdump.fleet kdump_target.port"
SSH = {"type": "ssh", "server": "kdump@dumps.example.com", "key": "/root/.ssh/kdump_id_rsa"}
LOCAL = {"type": "local"}
NFS = {"type": "nfs", "server": "nfs.example.com", "export": "/exports/crash"}
ORIGINAL = "# root's own settings\nHost *\n    Port 22\n    ServerAliveInterval 30\n"
MINE = "Host build\n    User ci\n"


def port(number):
    return {"kdump_target": dict(SSH, port=number)}


REDHAT = {"__kdump_family": "redhat"}
# host -> the variables of each round (None: not in that round)
ROUNDS = {
    "fresh": [port(2222), port(2222)],
    "existing": [port(2222), port(2222), port(2022), {"kdump_target": SSH}, {"kdump_target": SSH}],
    "ipv6": [{"kdump_target": {"type": "ssh", "server": "kdump@2001:db8::1", "port": 2222}}],
    "noport_ssh": [{"kdump_target": SSH}],
    "noport_local": [{"kdump_target": LOCAL}],
    "noport_nfs": [{"kdump_target": NFS}],
    "other_target": [{"kdump_target": LOCAL}],
    "disabled": [dict(port(2222), kdump_enabled=False)],
    "rh_reserved": [dict(port(2222), **REDHAT), dict(port(2222), **REDHAT)],
    "rh_unreserved": [dict(port(2222), __kdump_reserved_now=False, **REDHAT)],
}
BEFORE = {"existing": (ORIGINAL, 0o644), "other_target": (BEGIN + "\nHost x\n    Port 1\n" + END + "\n" + MINE, 0o640)}

pytestmark = [
    pytest.mark.skipif(shutil.which("ansible-playbook") is None, reason="needs ansible-playbook"),
    pytest.mark.skipif(os.geteuid() != 0, reason="the tasks make the files root's"),
]


def load(relative):
    return yaml.safe_load((ROLE / relative).read_text(encoding="utf-8"))


def port_tasks():
    tasks = load("tasks/config.yml")
    return [next(task for task in tasks if task["name"].startswith(prefix)) for prefix in TASKS]


def stub_handlers():
    """The role's handlers with their names, conditions and topics, each printing HANDLER <name> instead."""
    handlers = []
    for handler in load("handlers/main.yml"):
        stub = {key: value for key, value in handler.items() if key in ("name", "when", "listen")}
        stub["ansible.builtin.debug"] = {"msg": "HANDLER " + handler["name"]}
        handlers.append(stub)
    return handlers


def run_round(base, hosts, check=False):
    """One ansible-playbook run; hosts maps a host name to its variables. Returns (rc, out, results)."""
    common = dict(load("defaults/main.yml"))
    common["__kdump_model"] = load("vars/main.yml")["__kdump_model"]
    common.update(
        {
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            "__kdump_family": "debian",
            "__kdump_reserved_now": True,
            "__kdump_tools_usable": True,
            "__kdump_service": "kdump-tools",
        }
    )
    inventory = {
        "all": {
            "vars": common,
            "hosts": {
                name: dict(extra, __kdump_ssh_config_path=str(base / name / "ssh" / "config"))
                for name, extra in hosts.items()
            },
        }
    }
    (base / "inventory.yml").write_text(yaml.safe_dump(inventory), encoding="utf-8")
    play = [
        {
            "name": "ssh port tasks",
            "hosts": "all",
            "gather_facts": False,
            "tasks": port_tasks(),
            "handlers": stub_handlers(),
        }
    ]
    (base / "play.yml").write_text(yaml.safe_dump(play), encoding="utf-8")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".tmp" / "collections"), ANSIBLE_NOCOLOR="1")
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    env["ANSIBLE_STDOUT_CALLBACK"] = "default"
    env["ANSIBLE_CALLBACK_RESULT_FORMAT"] = "json"
    command = ["ansible-playbook", "-i", str(base / "inventory.yml"), str(base / "play.yml")]
    if check:
        command += ["--check", "--diff"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    out = done.stdout + done.stderr
    results = {}
    for name in hosts:
        recap = re.search(r"^" + name + r"\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=(\d+)", out, re.M)
        ran = re.findall(r"^ok: \[" + name + r'\] => \{\s*"msg": "HANDLER ([^"]+)"', out, re.M)
        directory = base / name / "ssh"
        config = directory / "config"
        results[name] = {
            "changed": int(recap.group(1)) if recap else None,
            "failed": int(recap.group(2)) if recap else None,
            "handlers": ran,
            "dir_mode": stat.S_IMODE(directory.stat().st_mode) if directory.exists() else None,
            "text": config.read_text() if config.exists() else None,
            "mode": stat.S_IMODE(config.stat().st_mode) if config.exists() else None,
            "uid": config.stat().st_uid if config.exists() else None,
            "backups": sorted(p.read_text() for p in directory.glob("config.*")) if directory.exists() else [],
        }
    return done.returncode, out, results


@pytest.fixture(scope="module")
def rounds(tmp_path_factory):
    """The results of every round, per host: {host: [round 1 result, round 2 result, ...]}."""
    base = tmp_path_factory.mktemp("ssh_port")
    for name, (text, mode) in BEFORE.items():
        (base / name / "ssh").mkdir(parents=True, mode=0o700)
        (base / name / "ssh" / "config").write_text(text)
        (base / name / "ssh" / "config").chmod(mode)
    seen = {name: [] for name in ROUNDS}
    for number in range(max(len(steps) for steps in ROUNDS.values())):
        hosts = {name: steps[number] for name, steps in ROUNDS.items() if number < len(steps)}
        rc, out, results = run_round(base, hosts)
        assert rc == 0, out
        for name, result in results.items():
            assert result["failed"] == 0, out
            seen[name].append(result)
    return seen


def block(number, host="dumps.example.com"):
    return f"{BEGIN}\nHost {host}\n    Port {number}\n{END}\n"


def test_a_port_creates_the_file_private_and_the_second_run_changes_nothing(rounds):
    first, second = rounds["fresh"]
    assert first["text"] == block(2222)
    assert (first["mode"], first["dir_mode"], first["uid"]) == (0o600, 0o700, 0)
    assert first["changed"] == 2  # the directory and the block
    assert first["handlers"] == ["Restart the kdump service"]  # Debian: no initrd holds the file
    assert (second["changed"], second["handlers"], second["text"]) == (0, [], block(2222))
    assert second["backups"] == []


def test_an_existing_config_keeps_its_content_gets_a_backup_and_the_block_goes_first(rounds):
    inserted, again, new_port, removed, removed_again = rounds["existing"]
    assert inserted["text"] == block(2222) + ORIGINAL
    assert inserted["mode"] == 0o600
    assert inserted["backups"] == [ORIGINAL]
    assert again["changed"] == 0
    # a new port replaces our block where it is, once; the rest stays, the old file is kept
    assert new_port["changed"] == 1
    assert new_port["text"] == block(2022) + ORIGINAL
    assert sorted(new_port["backups"]) == sorted([ORIGINAL, block(2222) + ORIGINAL])
    # no port: our block goes, everything else stays
    assert removed["changed"] == 1
    assert removed["text"] == ORIGINAL
    assert len(removed["backups"]) == 3
    assert (removed_again["changed"], removed_again["handlers"]) == (0, [])


def test_an_ipv6_server_is_the_host_pattern(rounds):
    assert rounds["ipv6"][0]["text"] == block(2222, "2001:db8::1")


@pytest.mark.parametrize("name", ["noport_ssh", "noport_local", "noport_nfs", "disabled"])
def test_no_port_never_creates_the_file_or_the_directory(rounds, name):
    [result] = rounds[name]
    assert (result["changed"], result["handlers"]) == (0, [])
    assert result["dir_mode"] is None


def test_another_target_removes_our_block_only_and_leaves_the_mode(rounds):
    [result] = rounds["other_target"]
    assert result["changed"] == 1
    assert result["text"] == MINE
    assert result["mode"] == 0o640  # root's choice when we write no block


@pytest.mark.parametrize(
    ("name", "handlers"),
    [
        # the reservation is active: rebuild for the ssh file (kdumpctl would not), then the restart loads it
        ("rh_reserved", ["Rebuild the capture initrd for the ssh configuration", "Restart the kdump service"]),
        # not yet: the family's rebuild builds the initrd once; nothing is loaded before the reboot
        ("rh_unreserved", ["Rebuild the capture initrd"]),
    ],
)
def test_redhat_rebuilds_the_capture_initrd_once_when_the_block_changes(rounds, name, handlers):
    assert rounds[name][0]["handlers"] == handlers
    for later in rounds[name][1:]:
        assert (later["changed"], later["handlers"]) == (0, [])


def test_check_mode_writes_nothing_and_shows_the_block(tmp_path):
    rc, out, results = run_round(tmp_path, {"check": port(2222)}, check=True)
    assert rc == 0, out
    result = results["check"]
    assert result["changed"] == 2
    assert "+Host dumps.example.com" in out
    assert "+    Port 2222" in out
    assert result["dir_mode"] is None
    assert not (tmp_path / "check").exists()
    assert result["handlers"] == ["Restart the kdump service"]  # notified; the real one needs the tools
