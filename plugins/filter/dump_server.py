# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the kdump.fleet.dump_server role: input checks, the exports and authorized_keys text, space, retention.

Each is a thin wrapper around plugins/module_utils/_dump_server.py, so the exact text the role writes is
the one the unit tests check.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.kdump.fleet.plugins.module_utils import _dump_server


def _plain(value):
    """Ansible's lazy containers and tagged strings as plain dicts, lists and str."""
    if isinstance(value, dict):
        return {str(key) if isinstance(key, str) else key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, str):
        return str(value)
    return value


def _call(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def dump_server_errors(clients, settings):
    """Every reason the role must refuse its inputs (the client list and the dump_server_* settings)."""
    if not isinstance(settings, dict):
        raise AnsibleFilterError("dump_server_errors expects the dump_server_* settings as a dict")
    settings = _plain(settings)
    return _dump_server.settings_errors(settings) + _dump_server.client_errors(
        _plain(clients), settings.get("dump_server_root")
    )


def dump_server_client_entries(hosts, hostvars):
    """Client entries ({name, address, ssh_public_key}) for inventory hosts, from their variables."""
    if isinstance(hosts, str):
        hosts = [hosts]
    return _dump_server.clients_from_hosts(_plain(list(hosts or [])), hostvars if hostvars is not None else {})


def dump_server_exports(clients, root, anonuid=None, anongid=None, no_root_squash=False):
    """The exports(5) text: one export per client, ROOT/NAME to its address only."""
    return _call(_dump_server.render_exports, _plain(clients), _plain(root), anonuid, anongid, bool(no_root_squash))


def dump_server_authorized_keys(
    clients,
    root,
    remote_path=_dump_server.DEFAULT_REMOTE_PATH,
    min_free_bytes=_dump_server.DEFAULT_MIN_FREE_BYTES,
):
    """The dump user's authorized_keys text: restrict, from= and the receiver as command= per client key."""
    return _call(
        _dump_server.render_authorized_keys, _plain(clients), _plain(root), _plain(remote_path), min_free_bytes
    )


def dump_server_df(text):
    """{avail_bytes, size_bytes, used_fraction} of ``df -B1 --output=avail,size PATH`` output."""
    return _call(_dump_server.parse_df, _plain(text))


def dump_server_retention(entries, clients, root, keep_dumps=0):
    """The dump directories retention removes ([{client, path, stamp}], oldest first)."""
    return _call(_dump_server.retention_plan, _plain(entries), _plain(clients), _plain(root), keep_dumps)


class FilterModule:
    """kdump.fleet dump server."""

    def filters(self):
        return {
            "dump_server_errors": dump_server_errors,
            "dump_server_client_entries": dump_server_client_entries,
            "dump_server_exports": dump_server_exports,
            "dump_server_authorized_keys": dump_server_authorized_keys,
            "dump_server_df": dump_server_df,
            "dump_server_retention": dump_server_retention,
        }
