# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kdump.fleet.dump_server role's decisions as pure functions; private to the collection.

- ``client_errors`` / ``settings_errors``: every reason the role must refuse its inputs (run first,
  check mode too); every message names the variable, shows the value with Python escapes and says the fix.
- ``clients_from_hosts``: client entries built from inventory hosts (the play's kdump clients).
- ``render_exports``: the text of ``/etc/exports.d/kdump-fleet.exports``, one export per client.
- ``authorized_key_line`` / ``render_authorized_keys``: the dump user's ``authorized_keys``, one line per
  client key, with ``restrict``, ``from=`` and the receiver as ``command=``.
- ``parse_df``: free and total bytes of the dump root from ``df -B1 --output=avail,size``.
- ``retention_plan``: which dump directories of each client retention would remove.

Every value that ends up in a rendered file is held to a strict character set, because sshd runs
``command=`` through the dump user's shell (``sh -c``) and exportfs reads words split on blanks.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import ipaddress
import posixpath
import re
import struct

from ansible_collections.kdump.fleet.plugins.module_utils import _dump_model

RECEIVER_PATH = "/usr/local/libexec/kdump-fleet-receiver"
PYTHON = "/usr/bin/python3"
DEFAULT_REMOTE_PATH = "/var/crash"
# dump_server_root unless the user sets it (roles/dump_server/defaults/main.yml).
DEFAULT_ROOT = "/srv/kdump/dumps"
DEFAULT_MIN_FREE_BYTES = 1 << 30
CLIENT_KEYS = ("name", "address", "ssh_public_key", "remote_path", "keep_dumps")

# exportfs(8) options. sync: a dump is on the server's disk when the client's write returns;
# no_subtree_check: the export is a whole directory tree owned by one user; sec=sys: the capture
# kernel has no Kerberos credentials. all_squash + anonuid/anongid: every client user, root too,
# writes as the unprivileged dump user.
EXPORT_OPTIONS = ("rw", "sync", "no_subtree_check", "sec=sys")

# The shortest network prefix a client address may have: a wider one is no longer "the clients".
MIN_PREFIX = {4: 16, 6: 48}

SSH_KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa")
MIN_RSA_BITS = 2048

_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_PATH_SEGMENT = re.compile(r"[A-Za-z0-9_+][A-Za-z0-9._+-]*")
_ADDRESS_CHARS = re.compile(r"[0-9A-Fa-f:./]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_COMMENT = re.compile(r"[A-Za-z0-9._@+:-]{1,100}")
_USER = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
_SHOWN_AS_IS = re.compile(r"[A-Za-z0-9._/+=,:@-]+")

# Dump directories as the tools name them (tests/unit/fixtures/dump_server/remote-commands.md):
# kdump-tools: <stamp> (local), <ip or hostname>-<stamp> (ssh, nfs), stamp = date +%Y%m%d%H%M;
# kdump-utils: <ip>-<date +%Y-%m-%d-%T> (local dumps use 127.0.0.1).
_KDUMP_TOOLS_DIR = re.compile(r"(?:[A-Za-z0-9.:-]+-)?(?P<stamp>[0-9]{12})")
_KDUMPCTL_DIR = re.compile(r"[A-Za-z0-9.:-]+-(?P<stamp>[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{2}:[0-9]{2}:[0-9]{2})")


def show(value):
    """value for a message: plain words as they are, anything else as a Python literal (escapes included)."""
    if isinstance(value, str) and _SHOWN_AS_IS.fullmatch(value):
        return value
    return ascii(value)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _string_problem(value):
    # The dump model's character rules: printable ASCII, no control or line-separator characters.
    return _dump_model.string_problem(value)


def path_problem(value):
    """Why value is not an absolute path of letters, digits and . _ + - (no '.', '..', '//'), or None.

    The dump model's path rule, except that '/' itself is no place for dumps here.
    """
    if value == "/":
        return "must not be / nor end in '/'"
    return _dump_model.path_problem(value)


def root_problem(root):
    """Why root cannot be the dump root (a path problem, a system or volatile directory), or None."""
    problem = path_problem(root)
    if problem:
        return problem
    if root in _dump_model.SYSTEM_DIRECTORIES:
        return "is a system directory; use a dedicated directory such as /srv/kdump/dumps"
    for top in _dump_model.SYSTEM_TREES:
        if root.startswith(top + "/"):
            return "is under %s, a system tree; use a dedicated directory such as /srv/kdump/dumps" % top
    for top in _dump_model.VOLATILE_DIRECTORIES:
        if root.startswith(top + "/"):
            return "is under %s, which is not kept on disk; use a directory such as /srv/kdump/dumps" % top
    return None


def name_problem(name):
    """Why name is not a client name (one RFC 1123 label: letters, digits, inner '-', at most 63), or None."""
    problem = _string_problem(name)
    if problem:
        return problem
    if not _LABEL.fullmatch(name):
        return (
            "is not a host name label (letters, digits and inner '-', at most 63 characters, no '.', "
            "no spaces); it names the client's directory, e.g. web01"
        )
    return None


def parse_address(address):
    """The client address as an ip_network (a single address is a /32 or /128) and a problem, one of them None."""
    problem = _string_problem(address)
    if problem:
        return None, problem
    if not address:
        return None, "is empty; give the client's IPv4 or IPv6 address, e.g. 192.0.2.10"
    if not _ADDRESS_CHARS.fullmatch(address):
        bad = next(char for char in address if not _ADDRESS_CHARS.fullmatch(char))
        hint = {
            "*": "wildcards would export to every host",
            "@": "netgroups are resolved elsewhere and can grow",
        }.get(bad, "host names and patterns are resolved elsewhere and can change")
        return None, "holds %r: give an IPv4 or IPv6 address or network (CIDR) only; %s" % (bad, hint)
    try:
        network = ipaddress.ip_network(address, strict=True)
    except ValueError as exc:
        return None, "is not an IPv4 or IPv6 address or network (%s)" % exc
    if "/" in address and not re.fullmatch(r"[^/]+/[0-9]{1,3}", address):
        return None, "writes the netmask in dotted form; write a prefix length, e.g. 192.0.2.0/24"
    if network.prefixlen < MIN_PREFIX[network.version]:
        return None, "is wider than /%d: list the client addresses, or a network no wider than /%d" % (
            MIN_PREFIX[network.version],
            MIN_PREFIX[network.version],
        )
    if network.version == 6 and network.network_address.ipv4_mapped:
        return None, "is an IPv4-mapped IPv6 address; write the IPv4 address %s" % network.network_address.ipv4_mapped
    if network.is_unspecified or network.is_multicast or network.is_loopback:
        return None, "is an unspecified, multicast or loopback address, not a dump client's"
    return network, None


def address_text(network):
    """An ip_network as exportfs and sshd's from= take it: a single address bare, a network in CIDR."""
    if network.num_addresses == 1:
        return str(network.network_address)
    return str(network)


def _ssh_string(blob, offset):
    if offset + 4 > len(blob):
        raise ValueError("truncated")
    (length,) = struct.unpack(">I", blob[offset : offset + 4])
    end = offset + 4 + length
    if end > len(blob):
        raise ValueError("truncated")
    return blob[offset + 4 : end], end


def _key_blob_problem(key_type, blob):
    """Why the decoded key does not hold a key of key_type, or None."""
    try:
        inner_type, offset = _ssh_string(blob, 0)
        if inner_type != key_type.encode("ascii"):
            return "its base64 body holds a %s key, not %s" % (show(inner_type.decode("ascii", "replace")), key_type)
        if key_type == "ssh-ed25519":
            public, offset = _ssh_string(blob, offset)
            if len(public) != 32:
                return "its ed25519 public key is %d bytes, not 32" % len(public)
        elif key_type == "ecdsa-sha2-nistp256":
            curve, offset = _ssh_string(blob, offset)
            point, offset = _ssh_string(blob, offset)
            if curve != b"nistp256" or len(point) != 65 or point[0] != 4:
                return "it is not an uncompressed nistp256 point"
        else:
            _exponent, offset = _ssh_string(blob, offset)
            modulus, offset = _ssh_string(blob, offset)
            bits = int.from_bytes(modulus, "big").bit_length()
            if bits < MIN_RSA_BITS:
                return "its RSA modulus has %d bits; use ed25519 or RSA of at least %d bits" % (bits, MIN_RSA_BITS)
    except ValueError:
        return "its base64 body is truncated"
    if offset != len(blob):
        return "its base64 body has %d bytes after the key" % (len(blob) - offset)
    return None


def parse_public_key(text):
    """(type, base64 body, comment or '') of one OpenSSH public key, and a problem; the key is None on a problem.

    Only ``TYPE BASE64 [COMMENT]`` separated by single spaces: no options before the type (an
    authorized_keys line's ``command=``, ``from=``, ...), no second line, a comment from a safe set.
    """
    problem = _string_problem(text)
    if problem:
        return None, problem
    if not text:
        return None, "is empty"
    words = text.split(" ")
    if "" in words:
        return (
            None,
            "must be 'TYPE BASE64 [COMMENT]' separated by single spaces (no leading, trailing or double spaces)",
        )
    if words[0] not in SSH_KEY_TYPES:
        if "=" in words[0] or "," in words[0] or '"' in text or any(word in SSH_KEY_TYPES for word in words):
            return None, "starts with authorized_keys options; give the public key alone (the role adds the options)"
        return None, "is not a %s public key" % " / ".join(SSH_KEY_TYPES)
    if len(words) not in (2, 3):
        return None, "must be 'TYPE BASE64 [COMMENT]' with a comment of one word"
    key_type, body = words[0], words[1]
    comment = words[2] if len(words) == 3 else ""
    if not _BASE64.fullmatch(body) or len(body) % 4:
        return None, "has a key body that is not base64"
    try:
        blob = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return None, "has a key body that is not base64"
    problem = _key_blob_problem(key_type, blob)
    if problem:
        return None, problem
    if comment and not _COMMENT.fullmatch(comment):
        return None, "has the comment %s; a comment may only hold letters, digits and . _ @ + : - (at most 100)" % (
            show(comment)
        )
    return (key_type, body, comment), None


def remote_path_problem(path):
    """Why path cannot be the clients' kdump_path the receiver maps (--remote-path), or None."""
    return path_problem(path)


def client_errors(clients, root=DEFAULT_ROOT, variable="dump_server_clients"):
    """Every problem of the client list; empty when each entry may be rendered."""
    if not isinstance(clients, list):
        return ["%s must be a list of {name, address} entries, not %s" % (variable, type(clients).__name__)]
    errors = []
    names = {}
    addresses = {}
    for index, entry in enumerate(clients):
        where = "%s[%d]" % (variable, index)
        if not isinstance(entry, dict):
            errors.append("%s must be a mapping with name and address, not %s" % (where, type(entry).__name__))
            continue
        unknown = sorted(str(key) for key in entry if key not in CLIENT_KEYS)
        if unknown:
            errors.append(
                "%s has the unknown key(s) %s; known: %s" % (where, ", ".join(unknown), ", ".join(CLIENT_KEYS))
            )
        name = entry.get("name")
        problem = name_problem(name) if name is not None else "is required"
        if problem:
            errors.append("%s.name=%s %s" % (where, show(name), problem))
        else:
            key = name.lower()
            if key in names:
                errors.append(
                    "%s.name=%s is also the name of %s; each client needs its own name" % (where, name, names[key])
                )
            names.setdefault(key, where)
        address = entry.get("address")
        if address is None:
            errors.append("%s.address is required: the client's IPv4 or IPv6 address, e.g. 192.0.2.10" % where)
        else:
            network, problem = parse_address(address)
            if problem:
                errors.append("%s.address=%s %s" % (where, show(address), problem))
            else:
                text = address_text(network)
                if text in addresses:
                    errors.append(
                        "%s.address=%s is also the address of %s; list each client once"
                        % (where, text, addresses[text])
                    )
                addresses.setdefault(text, where)
        key_text = entry.get("ssh_public_key")
        if key_text not in (None, ""):
            _key, problem = parse_public_key(key_text)
            if problem:
                errors.append("%s.ssh_public_key %s" % (where, problem))
        if entry.get("remote_path") not in (None, ""):
            problem = remote_path_problem(entry["remote_path"])
            if problem:
                errors.append("%s.remote_path=%s %s, e.g. /var/crash" % (where, show(entry["remote_path"]), problem))
        keep = entry.get("keep_dumps")
        if keep is not None and (not _is_int(keep) or keep < 0):
            errors.append(
                "%s.keep_dumps=%s must be a whole number of 0 or more (0: never delete)" % (where, show(keep))
            )
    if isinstance(root, str) and not root_problem(root):
        for index, entry in enumerate(clients):
            if (
                isinstance(entry, dict)
                and isinstance(entry.get("name"), str)
                and len(root) + 1 + len(entry["name"]) > 1000
            ):
                errors.append("%s[%d]: %s/%s is too long a path" % (variable, index, root, entry["name"]))
    return errors


def settings_errors(settings):
    """Every problem of the role's other settings (a dict of dump_server_* values); empty when usable."""
    errors = []
    root = settings.get("dump_server_root")
    problem = root_problem(root)
    if problem:
        errors.append("dump_server_root=%s %s" % (show(root), problem))
    user = settings.get("dump_server_user")
    if not isinstance(user, str) or not _USER.fullmatch(user) or user == "root":
        errors.append(
            "dump_server_user=%s must be a portable system user name other than root ([a-z_][a-z0-9_-]*, at most "
            "32 characters), e.g. kdump" % show(user)
        )
    home = settings.get("dump_server_home")
    problem = root_problem(home)
    if problem:
        errors.append("dump_server_home=%s %s" % (show(home), problem))
    elif (
        isinstance(root, str)
        and isinstance(home, str)
        and (home == root or home.startswith(root + "/") or root.startswith(home + "/"))
    ):
        errors.append(
            "dump_server_home=%s must lie outside dump_server_root=%s (and hold it not): the home holds the "
            "root-owned authorized_keys, the root what clients write" % (home, root)
        )
    remote = settings.get("dump_server_remote_path")
    problem = remote_path_problem(remote)
    if problem:
        errors.append("dump_server_remote_path=%s %s, e.g. /var/crash" % (show(remote), problem))
    for name in ("dump_server_min_free_bytes", "dump_server_keep_dumps"):
        value = settings.get(name)
        if not _is_int(value) or value < 0:
            errors.append("%s=%s must be a whole number of 0 or more" % (name, show(value)))
    for name in ("dump_server_uid", "dump_server_gid"):
        value = settings.get(name)
        if value is not None and (not _is_int(value) or not 1 <= value < 65534):
            errors.append("%s=%s must be unset or a uid/gid from 1 to 65533" % (name, show(value)))
    if not settings.get("dump_server_nfs_enabled") and not settings.get("dump_server_ssh_enabled"):
        errors.append(
            "dump_server_nfs_enabled and dump_server_ssh_enabled are both false: the server would serve nothing"
        )
    return errors


def clients_from_hosts(hosts, hostvars):
    """Client entries for inventory hosts: name, address and key from each host's variables.

    name: ``dump_server_client_name``, else the inventory host name; address: ``dump_server_client_address``,
    else ``ansible_host``; ssh_public_key: ``dump_server_client_ssh_public_key``, else
    ``kdump_ssh_public_key`` (the fact the kdump role sets for ssh targets). The entries are validated
    like ``dump_server_clients``.
    """
    entries = []
    for host in hosts or ():
        # Ansible's hostvars raise on a missing name instead of KeyError: ask with ``in`` first.
        host_vars = hostvars[host] if host in hostvars else {}  # noqa: SIM401

        def value(name, default=None, host_vars=host_vars):
            return host_vars[name] if name in host_vars else default  # noqa: SIM401

        entry = {
            "name": value("dump_server_client_name", host),
            "address": value("dump_server_client_address", value("ansible_host", host)),
        }
        # The kdump role publishes the key it created as kdump_ssh_public_key; an explicit one wins.
        key = value("dump_server_client_ssh_public_key") or value("kdump_ssh_public_key")
        if key:
            entry["ssh_public_key"] = key
        entries.append(entry)
    return entries


def _checked_clients(clients, root):
    errors = client_errors(clients, root)
    if errors:
        raise ValueError("; ".join(errors))


def export_options(anonuid, anongid, no_root_squash=False):
    """The export options: squash every client user to the dump user, or (opt-in) keep the client's root."""
    if no_root_squash:
        return ",".join(EXPORT_OPTIONS + ("no_root_squash",))
    for name, value in (("anonuid", anonuid), ("anongid", anongid)):
        if not _is_int(value) or not 1 <= value < 65534:
            raise ValueError("%s=%s must be the dump user's uid/gid (1 to 65533)" % (name, show(value)))
    return ",".join(EXPORT_OPTIONS + ("all_squash", "anonuid=%d" % anonuid, "anongid=%d" % anongid))


def export_lines(clients, root, anonuid, anongid, no_root_squash=False):
    """One exports(5) line per client: ROOT/NAME exported to that client's address alone."""
    problem = root_problem(root)
    if problem:
        raise ValueError("dump_server_root=%s %s" % (show(root), problem))
    _checked_clients(clients, root)
    options = export_options(anonuid, anongid, no_root_squash)
    lines = []
    for entry in clients:
        network, _problem = parse_address(entry["address"])
        lines.append("%s/%s %s(%s)" % (root, entry["name"], address_text(network), options))
    return lines


def render_exports(clients, root, anonuid, anongid, no_root_squash=False):
    """The body of /etc/exports.d/kdump-fleet.exports (after the template's managed header)."""
    lines = export_lines(clients, root, anonuid, anongid, no_root_squash)
    head = [
        "# One export per dump client: ROOT/NAME, to that client's address only.",
        (
            "# no_root_squash: the client's root is root here (dump_server_nfs_no_root_squash: true)."
            if no_root_squash
            else "# all_squash: every client user, root too, writes as the dump user (anonuid/anongid)."
        ),
    ]
    return "\n".join(head + lines) + "\n"


def receiver_command(root, name, remote_path, min_free_bytes):
    """The forced command for one client (sshd runs it with the dump user's shell: sh -c)."""
    for label, value, problem in (
        ("dump_server_root", root, root_problem(root)),
        ("client name", name, name_problem(name)),
        ("remote path", remote_path, remote_path_problem(remote_path)),
    ):
        if problem:
            raise ValueError("%s=%s %s" % (label, show(value), problem))
    if not _is_int(min_free_bytes) or min_free_bytes < 0:
        raise ValueError("dump_server_min_free_bytes=%s must be a whole number of 0 or more" % show(min_free_bytes))
    return "%s -I %s --root %s --client %s --remote-path %s --min-free-bytes %d" % (
        PYTHON,
        RECEIVER_PATH,
        root,
        name,
        remote_path,
        min_free_bytes,
    )


def authorized_key_line(entry, root, remote_path=DEFAULT_REMOTE_PATH, min_free_bytes=DEFAULT_MIN_FREE_BYTES):
    """One authorized_keys line for a validated client entry that has a key; ValueError otherwise."""
    _checked_clients([entry], root)
    key, problem = parse_public_key(entry.get("ssh_public_key"))
    if problem:
        raise ValueError("%s: ssh_public_key %s" % (entry.get("name"), problem))
    network, _problem = parse_address(entry["address"])
    command = receiver_command(root, entry["name"], entry.get("remote_path") or remote_path, min_free_bytes)
    key_type, body, comment = key
    words = ['command="%s",restrict,from="%s"' % (command, address_text(network)), key_type, body]
    if comment:
        words.append(comment)
    return " ".join(words)


def render_authorized_keys(clients, root, remote_path=DEFAULT_REMOTE_PATH, min_free_bytes=DEFAULT_MIN_FREE_BYTES):
    """The body of the dump user's authorized_keys: one line per client with a key, in the list's order."""
    _checked_clients(clients, root)
    lines = [
        "# One line per dump client: its key may only run the receiver, from its address, into ROOT/NAME.",
    ]
    for entry in clients:
        if entry.get("ssh_public_key"):
            lines.append(authorized_key_line(entry, root, remote_path, min_free_bytes))
    return "\n".join(lines) + "\n"


def parse_df(text):
    """{avail_bytes, size_bytes, used_fraction} from ``df -B1 --output=avail,size PATH``; ValueError otherwise."""
    lines = [line for line in str(text).splitlines() if line.strip()]
    if len(lines) != 2:
        raise ValueError("df printed %d lines, expected a header and one line" % len(lines))
    words = lines[1].split()
    if len(words) != 2 or not all(word.isdigit() for word in words):
        raise ValueError("df printed %s, expected two byte counts" % show(lines[1]))
    avail, size = int(words[0]), int(words[1])
    return {"avail_bytes": avail, "size_bytes": size, "used_fraction": round(1 - avail / size, 4) if size else None}


def dump_stamp(name):
    """The time in a dump directory's name, or None when the name is not one the tools make."""
    if not isinstance(name, str) or name.startswith("kdump-test-"):
        return None
    match = _KDUMP_TOOLS_DIR.fullmatch(name)
    try:
        if match:
            return datetime.datetime.strptime(match.group("stamp"), "%Y%m%d%H%M")
        match = _KDUMPCTL_DIR.fullmatch(name)
        if match:
            return datetime.datetime.strptime(match.group("stamp"), "%Y-%m-%d-%H:%M:%S")
    except ValueError:
        return None
    return None


def retention_plan(entries, clients, root, keep_dumps=0):
    """The dump directories retention removes: per client, all but the newest ``keep`` of them.

    entries: ``files`` of ansible.builtin.find over ``ROOT/NAME`` (file_type directory, not recursive),
    each with ``path`` and ``isdir``/``islnk``. Only plain directories directly in a client's directory whose
    names match the kdump-tools or kdumpctl dump-directory patterns count; the newest (by the time in the name,
    then the name) are kept, and never fewer than one. ``keep`` is the client's ``keep_dumps``, else
    keep_dumps; 0 removes nothing. Returns [{client, path, stamp}] oldest first.
    """
    _checked_clients(clients, root)
    if not _is_int(keep_dumps) or keep_dumps < 0:
        raise ValueError("dump_server_keep_dumps=%s must be a whole number of 0 or more" % show(keep_dumps))
    by_dir = {}
    for entry in entries or ():
        if not isinstance(entry, dict) or entry.get("islnk") or not entry.get("isdir", False):
            continue
        path = entry.get("path")
        if not isinstance(path, str) or posixpath.normpath(path) != path:
            continue
        parent, name = posixpath.split(path)
        stamp = dump_stamp(name)
        if stamp is not None:
            by_dir.setdefault(parent, []).append((stamp, name, path))
    plan = []
    for client in clients:
        keep = client.get("keep_dumps")
        keep = keep_dumps if keep is None else keep
        if keep == 0:
            continue
        found = sorted(by_dir.get("%s/%s" % (root, client["name"]), []))
        for stamp, _name, path in found[: max(len(found) - max(keep, 1), 0)]:
            plan.append({"client": client["name"], "path": path, "stamp": stamp.isoformat()})
    return plan


def server_names(name, host_vars):
    """What a client may call an inventory host that is a dump server: its name, ansible_host, dump_server_address."""
    return [name] + [host_vars[key] for key in ("ansible_host", "dump_server_address") if key in host_vars]


def match_dump_server(target_server, servers):
    """The dump server a client's target names, among ``[{"name", "names": [...]}, ...]``; None when unclear.

    ``names`` are what a client may call that server (inventory name, ansible_host, dump_server_address);
    the target's ``user@`` is dropped. One candidate is the answer whatever the target says; with
    several, the one whose names hold the target's host.
    """
    host = str(target_server or "").rpartition("@")[2]
    servers = list(servers or ())
    for server in servers:
        if host in [str(name) for name in server.get("names") or ()]:
            return server
    if len(servers) == 1:
        return servers[0]
    return None
