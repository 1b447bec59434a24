"""Filters kdump.fleet.dump_server_*: the wrappers, and the role's templates and validate step run by ansible-playbook.

The exact text is checked in tests/unit/plugins/module_utils/test_dump_server.py; here the filters must hand
Ansible's values through unchanged, turn refusals into AnsibleFilterError, and the role's own templates must
render that text after the managed header.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.kdump.fleet.plugins.filter import dump_server as flt

ROOT = pathlib.Path(__file__).resolve().parents[4]
ROLE = ROOT / "roles" / "dump_server"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIELBshQXR9toEyGskK9lPvnIloT7s7b0/+Oo4gHilOSP kdump@web01"
WEB01 = {"name": "web01", "address": "192.0.2.10", "ssh_public_key": KEY}
EXPORT_LINE = "/srv/kdump/dumps/web01 192.0.2.10(rw,sync,no_subtree_check,sec=sys,all_squash,anonuid=998,anongid=997)"
KEY_LINE = (
    'command="/usr/bin/python3 -I /usr/local/libexec/kdump-fleet-receiver --root /srv/kdump/dumps --client web01 '
    '--remote-path /var/crash --min-free-bytes 1073741824",restrict,from="192.0.2.10" ' + KEY
)
SETTINGS = {
    "dump_server_root": "/srv/kdump/dumps",
    "dump_server_user": "kdump",
    "dump_server_home": "/var/lib/kdump-fleet-dump-server",
    "dump_server_uid": None,
    "dump_server_gid": None,
    "dump_server_nfs_enabled": True,
    "dump_server_ssh_enabled": True,
    "dump_server_remote_path": "/var/crash",
    "dump_server_min_free_bytes": 1 << 30,
    "dump_server_keep_dumps": 0,
}


def test_every_filter_is_registered_and_documented():
    names = set(flt.FilterModule().filters())
    assert names == {
        "dump_server_errors",
        "dump_server_client_entries",
        "dump_server_exports",
        "dump_server_authorized_keys",
        "dump_server_df",
        "dump_server_retention",
    }
    for name in names:
        doc = yaml.safe_load((ROOT / "plugins" / "filter" / f"{name}.yml").read_text(encoding="utf-8"))
        assert doc["DOCUMENTATION"]["name"] == name
        assert doc["EXAMPLES"] and doc["RETURN"]["_value"]["description"]


def test_errors_combine_settings_and_clients():
    assert flt.dump_server_errors([WEB01], SETTINGS) == []
    errors = flt.dump_server_errors([{"name": "web 01", "address": "*"}], dict(SETTINGS, dump_server_root="/etc"))
    assert [error.split("=")[0] for error in errors] == [
        "dump_server_root",
        "dump_server_clients[0].name",
        "dump_server_clients[0].address",
    ]
    with pytest.raises(AnsibleFilterError):
        flt.dump_server_errors([WEB01], "not a dict")


def test_render_filters():
    assert flt.dump_server_exports([WEB01], "/srv/kdump/dumps", 998, 997).splitlines()[-1] == EXPORT_LINE
    assert flt.dump_server_authorized_keys([WEB01], "/srv/kdump/dumps").splitlines()[-1] == KEY_LINE
    with pytest.raises(AnsibleFilterError, match="wildcards"):
        flt.dump_server_exports([dict(WEB01, address="*")], "/srv/kdump/dumps", 998, 997)
    with pytest.raises(AnsibleFilterError, match="anonuid"):
        flt.dump_server_exports([WEB01], "/srv/kdump/dumps", 0, 0)
    with pytest.raises(AnsibleFilterError, match="options"):
        flt.dump_server_authorized_keys([dict(WEB01, ssh_public_key="restrict " + KEY)], "/srv/kdump/dumps")


def test_client_entries_df_and_retention():
    hostvars = {"web01": {"ansible_host": "192.0.2.10", "dump_server_client_ssh_public_key": KEY}}
    assert flt.dump_server_client_entries(["web01"], hostvars) == [WEB01]
    assert flt.dump_server_client_entries("web01", hostvars) == [WEB01]
    assert flt.dump_server_client_entries(None, None) == []
    assert flt.dump_server_df("Avail 1B-blocks\n10 20\n")["avail_bytes"] == 10
    with pytest.raises(AnsibleFilterError):
        flt.dump_server_df("df: /srv/kdump/dumps: No such file or directory")
    entries = [
        {"path": "/srv/kdump/dumps/web01/202601010000", "isdir": True, "islnk": False},
        {"path": "/srv/kdump/dumps/web01/202602010000", "isdir": True, "islnk": False},
    ]
    plan = flt.dump_server_retention(entries, [WEB01], "/srv/kdump/dumps", 1)
    assert [item["path"] for item in plan] == ["/srv/kdump/dumps/web01/202601010000"]
    with pytest.raises(AnsibleFilterError):
        flt.dump_server_retention(entries, [WEB01], "/srv/kdump/dumps", -1)


def _playbook(tmp_path, tasks, extra_vars):
    play = [{"hosts": "localhost", "gather_facts": False, "vars": extra_vars, "tasks": tasks}]
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump(play), encoding="utf-8")
    return path


def _run(tmp_path, playbook, *options):
    return subprocess.run(
        ["ansible-playbook", "-i", "localhost,", "-c", "local", *options, str(playbook)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1"},
    )


@pytest.mark.skipif(shutil.which("ansible-playbook") is None, reason="needs ansible-playbook")
def test_the_role_templates_render_the_filter_text(tmp_path):
    role_vars = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text(encoding="utf-8"))
    role_vars.update(yaml.safe_load((ROLE / "vars" / "main.yml").read_text(encoding="utf-8")))
    role_vars.update(
        dump_server_clients=[WEB01, {"name": "db01", "address": "2001:db8::20"}],
        __dump_server_uid_number=998,
        __dump_server_gid_number=997,
    )
    tasks = [
        {
            "name": f"Render {name}",
            "ansible.builtin.template": {"src": str(ROLE / "templates" / name), "dest": str(tmp_path / name)},
        }
        for name in ("kdump-fleet.exports.j2", "authorized_keys.j2")
    ]
    done = _run(tmp_path, _playbook(tmp_path, tasks, role_vars))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    exports = (tmp_path / "kdump-fleet.exports.j2").read_text(encoding="utf-8")
    keys = (tmp_path / "authorized_keys.j2").read_text(encoding="utf-8")
    for text in (exports, keys):
        assert text.startswith("#\n# Ansible managed")
        assert text.endswith("\n") and not text.endswith("\n\n")
    assert exports.splitlines()[-2:] == [
        EXPORT_LINE,
        "/srv/kdump/dumps/db01 2001:db8::20(rw,sync,no_subtree_check,sec=sys,all_squash,anonuid=998,anongid=997)",
    ]
    assert keys.splitlines()[-1] == KEY_LINE
    assert sum(1 for line in keys.splitlines() if not line.startswith("#") and line) == 1


@pytest.mark.skipif(shutil.which("ansible-playbook") is None, reason="needs ansible-playbook")
def test_validate_refuses_hostile_clients_before_any_change_in_check_mode(tmp_path):
    hostile = [
        {"name": "web01", "address": "192.0.2.10", "ssh_public_key": 'command="/bin/sh" ' + KEY},
        {"name": "web02", "address": "*"},
        {"name": "web 03", "address": "192.0.2.13"},
    ]
    tasks = [
        {
            "name": "Run the role's validate step",
            "ansible.builtin.include_tasks": str(ROLE / "tasks" / "validate.yml"),
        }
    ]
    role_vars = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text(encoding="utf-8"))
    role_vars.update(yaml.safe_load((ROLE / "vars" / "main.yml").read_text(encoding="utf-8")))
    role_vars.update(
        dump_server_clients=hostile,
        role_path=str(ROLE),
    )
    done = _run(tmp_path, _playbook(tmp_path, tasks, role_vars), "--check")
    assert done.returncode != 0
    out = done.stdout
    # The refusal is the only failure and comes before any task that could change the server.
    assert out.count("fatal:") == 1
    before, after = out.split("[ERROR]: ", 1)
    tasks_run = [line for line in before.splitlines() if line.startswith("TASK [")]
    assert tasks_run[-1].startswith("TASK [Refuse clients and settings the role must not render]")
    assert "changed:" not in before
    error = after.splitlines()[0]
    assert "dump_server_clients[0].ssh_public_key starts with authorized_keys options" in error
    assert "dump_server_clients[1].address='*' holds '*'" in error
    assert "dump_server_clients[2].name='web 03'" in error
