"""The file modes docs/security.md promises for what the kdump role writes, read from the role's tasks."""

from __future__ import annotations

import pathlib

import yaml

ROLE = pathlib.Path(__file__).resolve().parents[3] / "roles" / "kdump"


def config_tasks():
    return {task["name"]: task for task in yaml.safe_load((ROLE / "tasks" / "config.yml").read_text())}


def module_args(task, module):
    return task["ansible.builtin." + module]


def test_the_dump_configuration_is_root_owned_with_a_backup_0644_except_suse_0600():
    task = next(task for name, task in config_tasks().items() if name.startswith("Write {{ __kdump_config_path"))
    args = module_args(task, "template")
    assert (args["owner"], args["group"], args["mode"], args["backup"]) == (
        "root",
        "root",
        "{{ __kdump_config_mode }}",
        True,
    )
    modes = {
        path.name: yaml.safe_load(path.read_text()).get("__kdump_config_mode") for path in (ROLE / "vars").glob("*.yml")
    }
    # SUSE's package makes /etc/sysconfig/kdump root-only (it can hold the notification's SMTP password).
    assert modes == {"main.yml": "0644", "Debian.yml": None, "RedHat.yml": None, "Fedora.yml": None, "Suse.yml": "0600"}


def test_the_ssh_port_block_is_0600_root_with_a_backup_in_a_0700_directory():
    tasks = config_tasks()
    block = module_args(next(t for n, t in tasks.items() if n.startswith("Carry kdump_target.port in")), "blockinfile")
    assert block["backup"] is True
    assert "'0600'" in block["mode"]
    assert "'root'" in block["owner"]
    directory = module_args(tasks["Create root's ssh directory for the dump server's port"], "file")
    assert (directory["owner"], directory["group"], directory["mode"]) == ("root", "root", "0700")


def test_the_dump_directory_is_owner_only():
    args = module_args(config_tasks()["Create the local dump directory, owner only"], "file")
    assert args["mode"] == "{{ __kdump_dump_dir_mode }}"
    assert yaml.safe_load((ROLE / "vars" / "main.yml").read_text())["__kdump_dump_dir_mode"] == "0700"
    assert "UMask=0077" in (ROLE / "templates" / "dump-umask.conf.j2").read_text()
