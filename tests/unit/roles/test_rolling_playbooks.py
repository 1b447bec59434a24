"""kdump.fleet.kdump and kdump.fleet.site in rolling batches, run for real with ansible-playbook.

The inventory's hosts point at a closed port on loopback, so nothing can be changed anywhere: what is
proven is the order of things. A batch setting that is not a batch size is refused before any host is
contacted, and a canary that fails (here: unreachable) stops the rollout before the next batch.
"""

from __future__ import annotations

import shutil

import pytest
from conftest import run_playbook

pytestmark = pytest.mark.skipif(shutil.which("ansible-playbook") is None, reason="needs ansible-playbook")
INVENTORY = """\
[web]
web0 ansible_host=127.0.0.1 ansible_port=9
web1 ansible_host=127.0.0.1 ansible_port=9
web2 ansible_host=127.0.0.1 ansible_port=9

[dumps]
dump0 ansible_host=127.0.0.1 ansible_port=9
"""


def playbook(tmp_path, name, *extra):
    return run_playbook(tmp_path, name, *extra, inventory=INVENTORY)


@pytest.mark.parametrize("name", ["kdump.fleet.kdump", "kdump.fleet.site"])
@pytest.mark.parametrize("narrowed", [[], ["--limit", "web0,web1"], ["--tags", "kdump_config"]])
def test_a_bad_batch_setting_is_refused_before_any_host_is_contacted(tmp_path, name, narrowed):
    """Also under --limit and --tags, which skip a play or task that is not made to run for them."""
    done = playbook(
        tmp_path,
        name,
        "-e",
        '{"kdump_serial": [1, "0%"], "kdump_max_fail_percentage": 150}',
        "-e",
        "dump_server_hosts=dumps",
        *narrowed,
    )
    assert done.returncode == 2, done.stdout[-3000:]
    assert "kdump_serial[1]='0%' is not a batch size" in done.stdout
    assert "kdump_max_fail_percentage=150 must be a number from 0 to 100" in done.stdout
    assert "UNREACHABLE" not in done.stdout  # no host was contacted
    assert "PLAY [Configure kdump" not in done.stdout and "PLAY [Provision" not in done.stdout


def test_a_failed_canary_stops_the_rollout_before_the_next_batch(tmp_path):
    done = playbook(tmp_path, "kdump.fleet.kdump", "-e", "kdump_hosts=web")
    assert done.returncode != 0
    assert "3 hosts in 3 batches: 1, 1, 1" in done.stdout  # 10 % and 25 % of 3 round down to 0: one host
    assert "fatal: [web0]: UNREACHABLE!" in done.stdout
    assert "[web1]: UNREACHABLE" not in done.stdout and "[web2]: UNREACHABLE" not in done.stdout


def test_the_plan_counts_the_hosts_of_the_limit(tmp_path):
    done = playbook(tmp_path, "kdump.fleet.kdump", "-e", "kdump_hosts=web", "--limit", "web1,web2", "--check")
    assert "2 hosts in 2 batches: 1, 1" in done.stdout, done.stdout[-3000:]
    assert "[web0]" not in done.stdout
