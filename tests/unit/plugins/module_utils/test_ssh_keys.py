"""The dump client's SSH keys: its own key pair (create / rotate / keep) and the pinned host keys."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from ansible_collections.kdump.fleet.plugins.module_utils import _ssh_keys

FIXTURES = Path(__file__).parents[2] / "fixtures" / "ssh"
HOST_KEY_FILES = sorted(FIXTURES.glob("debian12-ssh_host_*_key.pub"))
HOST_KEYS = [path.read_text() for path in HOST_KEY_FILES]


def keygen(tmp_path, comment, key_type="ed25519"):
    """A real key pair from ssh-keygen, as the role's task makes it; returns the .pub text."""
    key = tmp_path / ("key-" + key_type)
    argv = ["ssh-keygen", "-q", "-t", key_type, "-N", "", "-C", comment, "-f", str(key)]
    subprocess.run(argv, check=True, capture_output=True)
    return Path(str(key) + ".pub").read_text()


def test_the_fixtures_are_the_three_debian_host_key_types():
    assert [path.name for path in HOST_KEY_FILES] == [
        "debian12-ssh_host_ecdsa_key.pub",
        "debian12-ssh_host_ed25519_key.pub",
        "debian12-ssh_host_rsa_key.pub",
    ]


def test_a_key_the_role_made_carries_its_generation_and_the_dump_server_accepts_it(tmp_path):
    comment = _ssh_keys.key_comment("c12", 3)
    assert comment == "kdump.fleet:generation:3:c12"
    public = keygen(tmp_path, comment)
    assert public.endswith(" kdump.fleet:generation:3:c12\n")
    assert _ssh_keys.key_generation(public) == 3
    # The dump server's strict parser (one-word comment from its alphabet) takes the line as written.
    assert _ssh_keys.parse_public_key(public)["comment"] == comment


@pytest.mark.parametrize("host", ["web 01", "db;rm -rf /", "x" * 61, "", "ü"])
def test_a_host_name_outside_the_comment_alphabet_becomes_host(host):
    assert _ssh_keys.key_comment(host, 1) == "kdump.fleet:generation:1:host"


@pytest.mark.parametrize("generation", [0, -1, 1000000, "1", 1.0, True, None])
def test_a_generation_that_is_not_a_whole_number_from_1_is_refused(generation):
    with pytest.raises(ValueError, match="kdump_ssh_key_generation"):
        _ssh_keys.key_action(True, "", generation)


def test_no_key_is_created():
    assert _ssh_keys.key_action(False, "", 1)["action"] == "create"


def test_a_key_of_an_older_generation_is_rotated_and_the_current_one_kept(tmp_path):
    public = keygen(tmp_path, _ssh_keys.key_comment("c12", 1))
    assert _ssh_keys.key_action(True, public, 2) == {
        "action": "rotate",
        "reason": "generation 1 is older than kdump_ssh_key_generation=2",
    }
    assert _ssh_keys.key_action(True, public, 1)["action"] == "keep"
    # Lowering the variable never brings an old key back.
    assert _ssh_keys.key_action(True, public, 1)["reason"] == "generation 1 is current"


def test_a_key_somebody_else_made_is_never_replaced(tmp_path):
    public = keygen(tmp_path, "root@c12")
    decision = _ssh_keys.key_action(True, public, 99)
    assert decision == {"action": "keep", "reason": "the key was not made by kdump.fleet; it is never replaced"}


@pytest.mark.parametrize("comment", ["kdump.fleet:generation:x:c12", "xkdump.fleet:generation:2:c12", "kdump.fleet"])
def test_only_the_exact_mark_counts_as_ours(tmp_path, comment):
    public = keygen(tmp_path, comment)
    assert _ssh_keys.key_generation(public) is None


def test_a_private_key_without_its_pub_file_is_kept():
    assert _ssh_keys.key_action(True, "", 5)["action"] == "keep"


def test_manage_false_only_keeps_or_reports_the_key_missing():
    assert _ssh_keys.key_action(False, "", 1, manage=False)["action"] == "missing"
    assert _ssh_keys.key_action(True, "", 9, manage=False)["action"] == "keep"


def test_host_keys_from_the_servers_files_drop_comments_and_sort_ed25519_first():
    keys = _ssh_keys.host_keys_from_files(HOST_KEYS + ["not a key", ""] + HOST_KEYS)
    assert [key.split()[0] for key in keys] == ["ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"]
    assert all(len(key.split()) == 2 for key in keys)


@pytest.mark.parametrize(
    ("server", "port", "name"),
    [
        ("kdump@10.77.0.10", None, "10.77.0.10"),
        ("10.77.0.10", 22, "10.77.0.10"),
        ("kdump@dumps.example.org", 2222, "[dumps.example.org]:2222"),
        ("kdump@2001:db8::10", 2222, "[2001:db8::10]:2222"),
    ],
)
def test_known_hosts_lines_use_the_name_ssh_looks_up(server, port, name):
    lines = _ssh_keys.known_hosts_lines(server, port, HOST_KEYS)
    assert [line["name"] for line in lines] == [name] * 3
    assert [line["key"].split()[1] for line in lines] == ["ecdsa-sha2-nistp256", "ssh-ed25519", "ssh-rsa"]
    assert all(line["key"].startswith(name + " ") for line in lines)


def test_known_hosts_lines_are_read_by_ssh_keygen(tmp_path):
    known_hosts = tmp_path / "known_hosts"
    lines = _ssh_keys.known_hosts_lines("kdump@10.77.0.10", None, HOST_KEYS)
    known_hosts.write_text("".join(line["key"] + "\n" for line in lines))
    found = subprocess.run(
        ["ssh-keygen", "-F", "10.77.0.10", "-f", str(known_hosts)], capture_output=True, text=True, check=True
    )
    assert [line.split()[1] for line in found.stdout.splitlines() if not line.startswith("#")] == [
        "ecdsa-sha2-nistp256",
        "ssh-ed25519",
        "ssh-rsa",
    ]


@pytest.mark.parametrize(
    "keys",
    [
        ["ssh-ed25519"],
        ["ssh-dss AAAAB3NzaC1kc3MAAACBAP"],
        ["10.77.0.10 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDXO"],
        ['command="sh" ' + HOST_KEYS[1]],
        [HOST_KEYS[1].replace("AAAA", "AA!A", 1)],
    ],
)
def test_malformed_host_keys_are_refused_naming_the_item(keys):
    with pytest.raises(ValueError, match=r"kdump_ssh_known_host_keys\[0\] "):
        _ssh_keys.known_hosts_lines("kdump@10.77.0.10", None, keys)


def test_host_keys_must_be_a_list():
    assert _ssh_keys.host_key_problems("ssh-ed25519 AAAA") == [
        "kdump_ssh_known_host_keys must be a list of public host keys ('ssh-ed25519 AAAA...'), got str"
    ]


def test_the_server_an_ssh_target_names_gives_its_keys():
    servers = [
        {"names": ["dumps01", "127.0.0.1", "10.77.0.10"], "keys": ["k1"]},
        {"names": ["dumps02", "10.77.0.11"], "keys": ["k2"]},
    ]
    assert _ssh_keys.server_host_keys("kdump@10.77.0.11", servers) == ["k2"]
    assert _ssh_keys.server_host_keys("dumps01", servers) == ["k1"]
    assert _ssh_keys.server_host_keys("kdump@192.0.2.1", servers) is None
    # One server: its keys, whatever address the target uses for it.
    assert _ssh_keys.server_host_keys("kdump@192.0.2.1", servers[:1]) == ["k1"]
    # A server that published no keys (ssh off) is no candidate.
    assert _ssh_keys.server_host_keys("kdump@10.77.0.10", [{"names": ["10.77.0.10"], "keys": []}]) is None
