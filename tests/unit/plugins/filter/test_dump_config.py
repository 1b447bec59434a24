"""kdump.fleet dump_config filters: direct calls and a real ansible-playbook run."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.kdump.fleet.plugins.filter.dump_config import (
    FilterModule,
    dump_model_errors,
    render_kdump_conf,
    render_kdump_ssh_config,
    render_kdump_tools,
    render_sysconfig_kdump,
)

RAW = {"kdump_target": {"type": "raw", "device": "/dev/sdb1"}}


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {
        "render_kdump_conf",
        "render_kdump_tools",
        "render_sysconfig_kdump",
        "render_kdump_ssh_config",
        "dump_model_errors",
    }


SSH_PORT = {"kdump_target": {"type": "ssh", "server": "kdump@dumps.example.com", "port": 2222}}


def test_render_kdump_ssh_config():
    assert render_kdump_ssh_config(SSH_PORT, "redhat") == "Host dumps.example.com\n    Port 2222\n"
    assert render_kdump_ssh_config(SSH_PORT, "debian") == "Host dumps.example.com\n    Port 2222\n"
    assert render_kdump_ssh_config({"kdump_target": {"type": "ssh", "server": "kdump@h"}}, "debian") == ""
    assert render_kdump_ssh_config(RAW, "redhat") == ""


def test_render_kdump_ssh_config_refuses_bad_models_and_families():
    bad = {"kdump_target": {"type": "ssh", "server": "kdump@h:2222"}}
    with pytest.raises(AnsibleFilterError, match="render_kdump_ssh_config: invalid dump model: kdump_target.server="):
        render_kdump_ssh_config(bad, "redhat")
    with pytest.raises(AnsibleFilterError, match="family must be one of redhat, debian, suse, got 'arch'"):
        render_kdump_ssh_config(SSH_PORT, "arch")


def test_render_kdump_ssh_config_is_empty_for_suse_whose_savedir_url_carries_the_port():
    assert render_kdump_ssh_config(SSH_PORT, "suse") == ""
    assert "KDUMP_SAVEDIR='ssh://kdump@dumps.example.com:2222/" in render_sysconfig_kdump(SSH_PORT)


def test_render_kdump_conf():
    assert render_kdump_conf(RAW) == (
        "raw /dev/sdb1\ncore_collector makedumpfile -F -l -d 31\nfailure_action reboot\nfinal_action reboot\n"
    )


def test_render_kdump_tools_quotes_values():
    text = render_kdump_tools({"kdump_path": "/var/crash"})
    assert "KDUMP_COREDIR='/var/crash'\n" in text
    assert "MAKEDUMP_ARGS='-F -l -d 31'\n" in text


def test_invalid_model_raises_filter_error_with_every_problem():
    with pytest.raises(AnsibleFilterError) as raised:
        render_kdump_tools(dict(RAW, kdump_final_action="halt"))
    message = str(raised.value)
    assert message.startswith("render_kdump_tools: invalid dump model: ")
    assert "kdump_target.type=raw is not supported by kdump-tools (Debian/Ubuntu); use local, nfs or ssh" in message
    assert "kdump_final_action=halt is not supported by kdump-tools" in message


def test_non_dict_model():
    with pytest.raises(AnsibleFilterError, match="expects the dump model as a dict, got list"):
        render_kdump_conf([])
    with pytest.raises(AnsibleFilterError, match="dump_model_errors expects"):
        dump_model_errors("local", "redhat")


def test_dump_model_errors():
    assert dump_model_errors(RAW, "redhat") == []
    assert dump_model_errors(RAW, "debian") == [
        "kdump_target.type=raw is not supported by kdump-tools (Debian/Ubuntu); use local, nfs or ssh"
    ]


PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars:
    model:
      kdump_target: {type: ssh, server: "kdump@dumps.example.com"}
      kdump_path: /srv/crash
      kdump_core_collector: {compression: lzo}
    raw_model:
      kdump_target: {type: raw, device: /dev/sdb1}
    port_model:
      kdump_target: {type: ssh, server: "kdump@dumps.example.com", port: 2222}
  tasks:
    - name: Render both formats and the errors through the FQCN filters
      ansible.builtin.copy:
        dest: "{{ out }}"
        mode: "0600"
        content: >-
          {{ {'conf': model | kdump.fleet.render_kdump_conf,
              'tools': model | kdump.fleet.render_kdump_tools,
              'ssh': port_model | kdump.fleet.render_kdump_ssh_config('debian'),
              'errors': raw_model | kdump.fleet.dump_model_errors('debian')}
             | to_json }}
    - name: An invalid model fails the task
      ansible.builtin.debug:
        msg: "{{ {'kdump_target': {'type': 'raw'}} | kdump.fleet.render_kdump_conf }}"
"""


@pytest.mark.skipif(shutil.which("ansible-playbook") is None, reason="needs ansible-playbook")
def test_filters_through_ansible_playbook(tmp_path):
    root = pathlib.Path(__file__).resolve().parents[4]
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK, encoding="utf-8")
    out = tmp_path / "out.json"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(root / ".tmp" / "collections"), ANSIBLE_NOCOLOR="1")
    env["ANSIBLE_CONFIG"] = str(root / "ansible.cfg")
    run = subprocess.run(
        ["ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook), "-e", f"out={out}"]
        + ["-e", f"ansible_python_interpreter={sys.executable}"],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(tmp_path),
        check=False,
    )
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result == {
        "conf": "ssh kdump@dumps.example.com\npath /srv/crash\ncore_collector makedumpfile -F -l -d 31\n"
        "failure_action reboot\nfinal_action reboot\n",
        "tools": render_kdump_tools(
            {
                "kdump_target": {"type": "ssh", "server": "kdump@dumps.example.com"},
                "kdump_path": "/srv/crash",
                "kdump_core_collector": {"compression": "lzo"},
            }
        ),
        "ssh": "Host dumps.example.com\n    Port 2222\n",
        "errors": ["kdump_target.type=raw is not supported by kdump-tools (Debian/Ubuntu); use local, nfs or ssh"],
    }
    assert run.returncode == 2, run.stdout + run.stderr
    assert "render_kdump_conf: invalid dump model: kdump_target.device is required for type raw" in run.stdout
