# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SSH keys of a dump client (its own key pair, the dump server's pinned host keys); private to the collection.

Pure functions; the role's tasks run ssh-keygen and write known_hosts with what these decide.

- The key pair: the role creates an ed25519 key at ``kdump_target.key`` and marks it in the public
  key's comment (``kdump.fleet:generation:N:HOST``). Bumping ``kdump_ssh_key_generation`` past N rotates
  it; a key without the mark was made by someone else and is never replaced.
- Host keys: every key type the server has goes into root's known_hosts under the name ssh looks up
  (``server``, or ``[server]:port`` off port 22), because the capture kernel's ssh has nobody to
  ask "are you sure you want to continue connecting".
"""

from __future__ import annotations

import re

from ansible_collections.kdump.fleet.plugins.module_utils import _dump_server

# One parser of public keys: the dump server's, which also checks the key inside the base64 body.
KEY_TYPES = _dump_server.SSH_KEY_TYPES
MARK = "kdump.fleet"
_GENERATION = re.compile(r"%s:generation:([0-9]{1,6})(?::.*)?" % re.escape(MARK))
_HOST = re.compile(r"[A-Za-z0-9._-]{1,60}")


def parse_public_key(text, keep_comment=True):
    """``{"type", "blob", "comment"}`` of one public-key line (a .pub file's text), or None when it is not one.

    keep_comment=False ignores whatever follows the base64 body (host key files' ``root@host``).
    """
    if not isinstance(text, str):
        return None
    text = text.strip()
    if not keep_comment:
        text = " ".join(text.split()[:2])
    key, problem = _dump_server.parse_public_key(text)
    if problem:
        return None
    return {"type": key[0], "blob": key[1], "comment": key[2]}


def key_comment(host, generation):
    """The comment the role writes into a key it creates: ``kdump.fleet:generation:N:HOST``."""
    _check_generation(generation)
    host = str(host)
    if not _HOST.fullmatch(host):
        host = "host"
    # One word from the dump server's comment alphabet (letters, digits, . _ @ + : -).
    return "%s:generation:%d:%s" % (MARK, generation, host)


def key_generation(public_text):
    """The generation in a key's comment, or None when the role did not make the key."""
    key = parse_public_key(public_text)
    if key is None:
        return None
    found = _GENERATION.fullmatch(key["comment"])
    return int(found.group(1)) if found else None


def _check_generation(generation):
    if isinstance(generation, bool) or not isinstance(generation, int) or not 1 <= generation <= 999999:
        raise ValueError(
            "kdump_ssh_key_generation=%r must be a whole number from 1 to 999999; raise it by one to rotate the key"
            % (generation,)
        )


def key_action(private_exists, public_text, generation, manage=True):
    """What to do with the capture kernel's key pair, and why.

    ``{"action": "create" | "rotate" | "keep", "reason": ...}``: create when there is no private key,
    rotate when the role made the key and the wanted generation is higher, keep otherwise (also a
    key somebody else made, which the role never replaces). ``manage: false`` only ever keeps.
    """
    _check_generation(generation)
    if not manage:
        if not private_exists:
            return {"action": "missing", "reason": "kdump_ssh_key_manage is false and there is no key"}
        return {"action": "keep", "reason": "kdump_ssh_key_manage is false"}
    if not private_exists:
        return {"action": "create", "reason": "there is no key yet"}
    current = key_generation(public_text)
    if current is None:
        if parse_public_key(public_text) is None:
            return {"action": "keep", "reason": "the key has no readable .pub file; kept as it is"}
        return {"action": "keep", "reason": "the key was not made by kdump.fleet; it is never replaced"}
    if current < generation:
        reason = "generation %d is older than kdump_ssh_key_generation=%d" % (current, generation)
        return {"action": "rotate", "reason": reason}
    return {"action": "keep", "reason": "generation %d is current" % current}


def known_hosts_name(server, port=None):
    """The name ssh looks a server up by in known_hosts (``user@`` of an ssh target's server dropped)."""
    host = str(server).rpartition("@")[2]
    if port in (None, "", 22, "22"):
        return host
    return "[%s]:%s" % (host, port)


def host_key_problems(keys, variable="kdump_ssh_known_host_keys"):
    """Why a list of host keys cannot be pinned (an empty list is fine here; the caller decides)."""
    if not isinstance(keys, (list, tuple)):
        kind = type(keys).__name__
        return ["%s must be a list of public host keys ('ssh-ed25519 AAAA...'), got %s" % (variable, kind)]
    problems = []
    for index, text in enumerate(keys):
        # The comment is left out, as parse_public_key(keep_comment=False) reads host keys.
        _key, problem = _dump_server.parse_public_key(" ".join(str(text).split()[:2]))
        if problem:
            problems.append(
                "%s[%d] %s; give the server's public host keys as 'TYPE BASE64' (%s), as in its "
                "/etc/ssh/ssh_host_*_key.pub" % (variable, index, problem, " / ".join(KEY_TYPES))
            )
    return problems


def known_hosts_lines(server, port, keys):
    """``[{"name", "key"}]`` for ansible.builtin.known_hosts: one line per distinct host key, comments dropped."""
    problems = host_key_problems(keys)
    if problems:
        raise ValueError("; ".join(problems))
    name = known_hosts_name(server, port)
    lines, seen = [], set()
    for text in keys:
        key = parse_public_key(text, keep_comment=False)
        line = "%s %s %s" % (name, key["type"], key["blob"])
        if line not in seen:
            seen.add(line)
            lines.append({"name": name, "key": line})
    return lines


def host_keys_from_files(texts):
    """The server's host keys from the text of its ssh_host_*_key.pub files (comments dropped, sorted by type)."""
    keys = []
    for text in texts or ():
        key = parse_public_key(text, keep_comment=False)
        if key is not None:
            keys.append("%s %s" % (key["type"], key["blob"]))
    return sorted(set(keys), key=lambda line: (KEY_TYPES.index(line.split()[0]), line))


def server_host_keys(target_server, servers):
    """The host keys of the dump server an ssh target names, from the servers a play provisioned.

    servers: ``[{"names": [...], "keys": [...]}]`` (see _dump_server.match_dump_server); servers that
    published no keys (SSH off) are no candidates. None: no match.
    """
    server = _dump_server.match_dump_server(target_server, [server for server in servers or () if server.get("keys")])
    return None if server is None else list(server["keys"])
