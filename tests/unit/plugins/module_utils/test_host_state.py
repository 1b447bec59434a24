"""_host_state.target_endpoint: where kdump_info's probe connects for a dump target read from a config file."""

from __future__ import annotations

import pytest
from ansible_collections.kdump.fleet.plugins.module_utils import _host_state as hs


@pytest.mark.parametrize(
    ("kind", "location", "endpoint"),
    [
        ("nfs", "nfs.example.com:/exports/crash", ("nfs.example.com", 2049)),
        ("nfs", "[fd00::5]:/exports/crash", ("fd00::5", 2049)),  # IPv6 servers lose their brackets
        ("nfs", "192.0.2.7:/", ("192.0.2.7", 2049)),
        ("ssh", "kdump@dumps.example.com", ("dumps.example.com", 22)),
        ("ssh", "dumps.example.com", ("dumps.example.com", 22)),
        ("ssh", "kdump@[fd00::6]", ("fd00::6", 22)),
        ("local", None, None),
        ("nfs", None, None),
        ("ssh", "", None),
        ("raw", "/dev/sdb1", None),
        ("device", "UUID=0f6e5d1c-8a41-4b47-9b0e-3c1f0b6c2d10", None),
    ],
)
def test_target_endpoint_of_a_parsed_location(kind, location, endpoint):
    assert hs.target_endpoint(hs.parse_target(kind, location)) == endpoint


def test_a_port_the_target_names_wins_over_the_default():
    target = hs.parse_target("ssh", "kdump@dumps.example.com")
    target["port"] = 2222
    assert hs.target_endpoint(target) == ("dumps.example.com", 2222)


@pytest.mark.parametrize(("kind", "port"), sorted(hs.PROBE_PORTS.items()))
def test_every_network_target_has_a_default_port(kind, port):
    assert hs.target_endpoint({"type": kind, "host": "dumps.example.com", "port": None}) == ("dumps.example.com", port)


@pytest.mark.parametrize("target", [None, {}, {"type": "nfs"}, {"type": "nfs", "host": ""}, {"type": "virtiofs"}])
def test_no_endpoint_without_a_network_type_and_a_host(target):
    assert hs.target_endpoint(target) is None


def test_host_targets_are_never_probed():
    assert not set(hs.HOST_TARGETS) & set(hs.PROBE_PORTS)
