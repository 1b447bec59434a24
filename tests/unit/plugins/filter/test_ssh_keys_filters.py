"""The ssh_* filters as the kdump role, kdump.fleet.site and the dump server role call them."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.kdump.fleet.plugins.filter.ssh_keys import FilterModule

FILTERS = FilterModule().filters()
HOST_KEYS = [p.read_text() for p in sorted((Path(__file__).parents[2] / "fixtures" / "ssh").glob("*.pub"))]


def test_the_filters_are_registered_under_their_documented_names():
    assert sorted(FILTERS) == [
        "ssh_host_keys",
        "ssh_key_action",
        "ssh_key_comment",
        "ssh_known_hosts_lines",
        "ssh_known_hosts_name",
        "ssh_server_host_keys",
    ]
    docs = Path(__file__).parents[4] / "plugins" / "filter"
    assert all((docs / f"{name}.yml").is_file() for name in FILTERS)


def test_a_bad_generation_is_a_filter_error_naming_the_variable():
    with pytest.raises(AnsibleFilterError, match="kdump_ssh_key_generation=0 must be a whole number"):
        FILTERS["ssh_key_action"](True, "", 0)
    with pytest.raises(AnsibleFilterError, match="kdump_ssh_key_generation"):
        FILTERS["ssh_key_comment"]("c12", -3)


def test_known_hosts_lines_refuse_a_string_instead_of_a_list():
    with pytest.raises(AnsibleFilterError, match="must be a list of public host keys"):
        FILTERS["ssh_known_hosts_lines"]("ssh-ed25519 AAAA", "kdump@10.77.0.10")


def test_the_site_playbook_finds_the_servers_published_keys():
    keys = FILTERS["ssh_host_keys"](HOST_KEYS)
    hostvars = {
        "dumps01": {"ansible_host": "127.0.0.1", "dump_server_address": "10.77.0.10", "dump_server_host_keys": keys},
        "dumps02": {"ansible_host": "10.77.0.11", "dump_server_host_keys": ["ssh-ed25519 other"]},
    }
    target = {"type": "ssh", "server": "kdump@10.77.0.10"}
    assert FILTERS["ssh_server_host_keys"](target, ["dumps01", "dumps02"], hostvars) == keys
    assert FILTERS["ssh_server_host_keys"]({"type": "nfs", "server": "10.77.0.10"}, ["dumps01"], hostvars) == []
    with pytest.raises(AnsibleFilterError, match=r"kdump_target.server=kdump@192.0.2.9 is none of the dump servers"):
        FILTERS["ssh_server_host_keys"]({"type": "ssh", "server": "kdump@192.0.2.9"}, ["dumps01", "dumps02"], hostvars)


@pytest.mark.parametrize(
    ("server", "port", "name"),
    [
        ("kdump@10.77.0.10", None, "10.77.0.10"),
        ("kdump@10.77.0.10", 22, "10.77.0.10"),
        ("dumps01.example.net", "22", "dumps01.example.net"),
        ("kdump@dumps01.example.net", 2222, "[dumps01.example.net]:2222"),
    ],
)
def test_validate_looks_the_server_up_under_the_name_the_pinned_lines_use(server, port, name):
    keys = FILTERS["ssh_host_keys"](HOST_KEYS)
    assert FILTERS["ssh_known_hosts_name"](server, port) == name
    assert {line["name"] for line in FILTERS["ssh_known_hosts_lines"](keys, server, port)} == {name}
