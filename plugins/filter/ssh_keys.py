# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the dump client's SSH keys: what to do with its key pair, what to pin in known_hosts."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.kdump.fleet.plugins.module_utils import _dump_server, _ssh_keys


def ssh_key_action(private_exists, public_text, generation, manage=True):
    """create / rotate / keep / missing for the capture kernel's key pair, with the reason."""
    try:
        return _ssh_keys.key_action(bool(private_exists), public_text, generation, manage=bool(manage))
    except ValueError as error:
        raise AnsibleFilterError(str(error)) from None


def ssh_key_comment(host, generation):
    """The comment the role gives a key it creates."""
    try:
        return _ssh_keys.key_comment(host, generation)
    except ValueError as error:
        raise AnsibleFilterError(str(error)) from None


def ssh_known_hosts_lines(keys, server, port=None):
    """known_hosts lines for the dump server: one per host key, under the name ssh looks it up by."""
    try:
        return _ssh_keys.known_hosts_lines(server, port, [] if keys is None else keys)
    except (TypeError, ValueError) as error:
        raise AnsibleFilterError(str(error)) from None


def ssh_known_hosts_name(server, port=None):
    """The name ssh looks the dump server up by in known_hosts: host, or [host]:port off port 22."""
    return _ssh_keys.known_hosts_name(server, port)


def ssh_host_keys(texts):
    """A server's host keys ('TYPE BASE64') from the text of its ssh_host_*_key.pub files."""
    return _ssh_keys.host_keys_from_files(list(texts or []))


def ssh_server_host_keys(target, server_hosts, hostvars):
    """The pinned host keys for an ssh target: those the dump_server role published on its server."""
    if not isinstance(target, dict) or target.get("type") != "ssh":
        return []
    servers = []
    for host in server_hosts or ():
        host_vars = hostvars[host] if host in hostvars else {}  # noqa: SIM401
        keys = host_vars["dump_server_host_keys"] if "dump_server_host_keys" in host_vars else []  # noqa: SIM401
        servers.append({"names": _dump_server.server_names(host, host_vars), "keys": keys})
    keys = _ssh_keys.server_host_keys(target.get("server"), servers)
    if keys is None:
        raise AnsibleFilterError(
            "kdump_target.server=%s is none of the dump servers %s (by inventory name, ansible_host or "
            "dump_server_address); set dump_server_address on the server it means"
            % (target.get("server"), ", ".join(map(str, server_hosts or ())))
        )
    return keys


class FilterModule:
    """kdump.fleet SSH keys of dump clients and servers."""

    def filters(self):
        return {
            "ssh_key_action": ssh_key_action,
            "ssh_key_comment": ssh_key_comment,
            "ssh_known_hosts_lines": ssh_known_hosts_lines,
            "ssh_known_hosts_name": ssh_known_hosts_name,
            "ssh_host_keys": ssh_host_keys,
            "ssh_server_host_keys": ssh_server_host_keys,
        }
