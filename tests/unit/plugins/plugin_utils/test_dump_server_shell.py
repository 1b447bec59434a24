"""The crash test's shell on the dump server: the server's own connection settings, never the client's."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleError
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.plugins.loader import connection_loader
from ansible.template import Templar
from ansible_collections.kdump.fleet.plugins.action.crash_test import ActionModule
from ansible_collections.kdump.fleet.plugins.plugin_utils._dump_server_shell import DumpServerShell


@pytest.fixture
def action():
    """The crash test's action on a client reached at 127.0.0.1:40022 as root, become off."""
    play_context = PlayContext()
    play_context.remote_addr, play_context.port, play_context.remote_user = "127.0.0.1", 40022, "root"
    task = Task()
    task.action = "kdump.fleet.crash_test"
    loader = DataLoader()
    connection = connection_loader.get("ssh", play_context, None)
    connection.set_options(var_options={"ansible_host": "127.0.0.1", "ansible_port": 40022, "ansible_user": "root"})
    return ActionModule(task, connection, play_context, loader, Templar(loader), None)


def opened(action, server_vars, server="dumps01"):
    shell = DumpServerShell(action, server, {"hostvars": {server: server_vars}, "inventory_hostname": "web01"})
    return shell._open()._connection


def test_the_servers_address_port_user_and_key_are_used(action):
    connection = opened(
        action,
        {
            "ansible_host": "10.77.0.10",
            "ansible_port": 2222,
            "ansible_user": "ops",
            "ansible_ssh_private_key_file": "/keys/dumps01",
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=yes",
        },
    )
    assert connection.get_option("host") == "10.77.0.10"
    assert connection.get_option("port") == 2222
    assert connection.get_option("remote_user") == "ops"
    assert connection.get_option("private_key_file") == "/keys/dumps01"
    assert connection.get_option("ssh_common_args") == "-o StrictHostKeyChecking=yes"
    assert connection.become is None


def test_nothing_of_the_clients_connection_leaks_into_the_servers(action):
    connection = opened(action, {})
    assert connection.get_option("host") == "dumps01"  # the inventory name, as Ansible would
    assert connection.get_option("port") in (None, 22)
    # No ansible_user on the server: ssh's own default (the controller user or ~/.ssh/config), not the client's root.
    assert connection.get_option("remote_user") is None
    assert connection._play_context.remote_user is None
    assert connection._play_context.remote_addr == "dumps01"
    assert connection._play_context.port is None


def test_the_servers_become_settings_are_applied(action):
    connection = opened(action, {"ansible_host": "10.77.0.10", "ansible_become": True, "ansible_become_user": "root"})
    assert connection.become is not None
    assert connection.become.name == "sudo"
    assert connection.become.get_option("become_user") == "root"


def test_a_server_outside_the_inventory_or_local_is_refused(action):
    with pytest.raises(AnsibleError, match="the dump server nowhere is not a host of the inventory"):
        DumpServerShell(action, "nowhere", {"hostvars": {}})("true")
    with pytest.raises(AnsibleError, match="uses the local connection; it must be a remote host"):
        opened(action, {"ansible_connection": "local"})


def test_closing_an_unopened_shell_does_nothing(action):
    DumpServerShell(action, "dumps01", {}).close()
