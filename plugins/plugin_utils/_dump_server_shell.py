# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shell commands on the dump server from the crash test's action plugin; private to the collection.

The crash test runs on the client, but a network target's dump is on the dump server, so that is
where it must be listed and checked. The server is an inventory host: its connection is built the
way Ansible builds any host's (its ansible_host, ansible_port, ansible_user, key, ssh arguments,
become settings), reusing the client task's become setting when the server sets none. It is opened
on first use and closed by the action.
"""

from __future__ import annotations

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.plugins.action.normal import ActionModule as NormalAction
from ansible.plugins.loader import become_loader, connection_loader


class DumpServerShell:
    """A callable ``run(command) -> {"rc", "stdout", "stderr"}`` on one inventory host."""

    def __init__(self, action, server, task_vars):
        self._action = action
        self._server = server
        self._task_vars = task_vars or {}
        self._runner = None

    def __call__(self, command):
        if self._runner is None:
            self._runner = self._open()
        return self._runner._low_level_execute_command(command, sudoable=True)

    def close(self):
        if self._runner is not None:
            try:
                self._runner._connection.close()
            finally:
                self._runner = None

    def _variables(self):
        hostvars = self._task_vars.get("hostvars") or {}
        if self._server not in hostvars:
            raise AnsibleError("the dump server %s is not a host of the inventory" % self._server)
        host_vars = hostvars[self._server]
        variables = {}
        for name in host_vars:
            try:
                variables[name] = host_vars[name]
            except Exception:  # noqa: BLE001  # a variable that does not template is not needed to connect
                continue
        variables["inventory_hostname"] = self._server
        return variables

    def _open(self):
        action = self._action
        variables = self._variables()
        task = action._task.copy()
        task.delegate_to = None
        play_context = action._play_context.set_task_and_variable_override(
            task=task, variables=variables, templar=action._templar
        )
        # Nothing of the client's own connection may leak into the server's.
        play_context.remote_addr = variables.get("ansible_host", self._server)
        play_context.port = variables.get("ansible_port")
        play_context.remote_user = variables.get("ansible_user")
        connection_type = variables.get("ansible_connection") or "ssh"
        if connection_type == "local":
            raise AnsibleError("the dump server %s uses the local connection; it must be a remote host" % self._server)
        connection = connection_loader.get(connection_type, play_context, None)
        if connection is None:
            raise AnsibleError("connection plugin %r of the dump server %s not found" % (connection_type, self._server))
        task_keys = task.dump_attrs()
        task_keys["timeout"] = play_context.timeout
        connection.set_options(
            task_keys=task_keys, var_options=connection._resolve_option_variables(variables, action._templar)
        )
        connection._shell.set_options(var_options=_plugin_vars("shell", connection._shell._load_name, variables))
        become = variables.get("ansible_become", task.become)
        if _truthy(become):
            method = variables.get("ansible_become_method") or task.become_method or "sudo"
            plugin = become_loader.get(method)
            if plugin is None:
                raise AnsibleError("become method %r of the dump server %s not found" % (method, self._server))
            connection.set_become_plugin(plugin)
            plugin.set_options(task_keys=task_keys, var_options=_plugin_vars("become", plugin._load_name, variables))
        # An action bound to the server's connection: its low-level command runner wraps become.
        return NormalAction(task, connection, play_context, action._loader, action._templar, action._shared_loader_obj)


def _plugin_vars(plugin_type, name, variables):
    return {key: variables[key] for key in C.config.get_plugin_vars(plugin_type, name) if key in variables}


def _truthy(value):
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y")
    return bool(value)
