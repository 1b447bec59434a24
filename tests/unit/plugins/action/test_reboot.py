"""Tests of kdump.fleet.reboot: ansible.builtin.reboot's own steps, with each phase shown as it happens.

The builtin action runs unchanged over a fake host: the reboot command, the boot id probes (the old boot,
then no answer while it is down, then a new boot) and the test command. Only the clock is sped up.
"""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.playbook.task import Task
from ansible.plugins.action import reboot as builtin_reboot
from ansible_collections.kdump.fleet.plugins.action import reboot as kdump_reboot
from conftest import record_display


class FakeHost:
    """Answers the boot id probe with the old boot, then not at all for ``down`` probes, then a new boot."""

    def __init__(self, down=3, old_before_down=1):
        self.commands = []
        self.rebooted = False
        self.probes_after_reboot = 0
        self.down, self.old_before_down = down, old_before_down

    def execute(self, cmd, sudoable=True, **_kwargs):
        self.commands.append(cmd)
        if cmd.startswith("shutdown"):
            self.rebooted = True
            return {"rc": 0, "stdout": "", "stderr": ""}
        if cmd == builtin_reboot.ActionModule.DEFAULT_BOOT_TIME_COMMAND:
            if not self.rebooted:
                return {"rc": 0, "stdout": "old-boot\n", "stderr": ""}
            self.probes_after_reboot += 1
            if self.probes_after_reboot <= self.old_before_down:
                return {"rc": 0, "stdout": "old-boot\n", "stderr": ""}
            if self.probes_after_reboot <= self.old_before_down + self.down:
                raise AnsibleConnectionFailure("ssh: connect to host web1 port 22: Connection refused")
            return {"rc": 0, "stdout": "new-boot\n", "stderr": ""}
        if cmd == builtin_reboot.ActionModule.DEFAULT_TEST_COMMAND:
            return {"rc": 0, "stdout": "root\n", "stderr": ""}
        raise AssertionError(f"unexpected command: {cmd}")


@pytest.fixture
def shown(monkeypatch):
    return record_display(monkeypatch, kdump_reboot, verbose=True)


def make_action(mocker, monkeypatch, host, args, check_mode=False):
    task = Task.load({"action": "kdump.fleet.reboot", "args": args})
    task.check_mode = check_mode
    connection = mocker.Mock()
    connection.transport = "ssh"
    connection._shell.tmpdir = None
    connection.get_option.side_effect = KeyError("connection_timeout")
    action = kdump_reboot.ActionModule(task, connection, mocker.MagicMock(), None, None, None)
    monkeypatch.setattr(action, "_low_level_execute_command", host.execute)
    monkeypatch.setattr(
        action, "get_distribution", lambda task_vars: {"name": "debian", "version": "12", "family": "debian"}
    )
    monkeypatch.setattr(action, "get_shutdown_command", lambda task_vars, distribution: "shutdown")
    clock = {"now": 1000.0}

    def sleep(seconds):
        clock["now"] += seconds

    monkeypatch.setattr(builtin_reboot.time, "sleep", sleep)
    monkeypatch.setattr(action, "_now", lambda: clock["now"])
    return action


def test_the_phases_are_shown_as_they_happen_and_returned(mocker, monkeypatch, shown):
    host = FakeHost(down=3)
    action = make_action(mocker, monkeypatch, host, {"msg": "kdump.fleet: reboot", "reboot_timeout": 600})
    result = action.run(task_vars={"inventory_hostname": "web1"})
    assert result.get("failed") is not True, result
    assert result["rebooted"] is True
    assert list(result["phases"]) == ["reboot sent", "host down", "host back"]
    assert result["phases"]["reboot sent"] == 0.0
    assert result["phases"]["host down"] > 0 and result["phases"]["host back"] > result["phases"]["host down"]
    texts = [text for text, stderr in shown if stderr]
    assert texts[0] == "reboot web1: reboot sent, 0 s"
    assert texts[1].startswith("reboot web1: host down, ")
    assert texts[2].startswith("reboot web1: host back, ") and texts[2].endswith("; new boot id")
    # the builtin's own steps ran: the reboot command with the message, then the test command
    assert any(cmd.startswith('shutdown -r 0 "kdump.fleet: reboot"') for cmd in host.commands)
    assert host.commands[-1] == "whoami"


def test_a_fast_reboot_that_is_never_seen_down_shows_only_what_was_seen(mocker, monkeypatch, shown):
    host = FakeHost(down=0, old_before_down=0)
    result = make_action(mocker, monkeypatch, host, {}).run(task_vars={"inventory_hostname": "web1"})
    assert list(result["phases"]) == ["reboot sent", "host back"]


def test_progress_false_prints_at_vvv_only(mocker, monkeypatch, shown):
    result = make_action(mocker, monkeypatch, FakeHost(), {"progress": False}).run(
        task_vars={"inventory_hostname": "h"}
    )
    assert len(result["phases"]) == 3
    assert not [text for text, stderr in shown if stderr]
    assert [text for text, _stderr in shown if text.startswith("vvv: reboot h:")]


def test_check_mode_reboots_nothing_and_shows_nothing(mocker, monkeypatch, shown):
    host = FakeHost()
    result = make_action(mocker, monkeypatch, host, {}, check_mode=True).run(task_vars={"inventory_hostname": "h"})
    assert result == {"changed": True, "elapsed": 0, "rebooted": True}
    assert host.commands == [] and shown == []


def test_an_unknown_option_is_refused_as_the_builtin_refuses_it(mocker, monkeypatch, shown):
    host = FakeHost()
    with pytest.raises(AnsibleActionFail, match="Invalid options for kdump.fleet.reboot: reboot_timout"):
        make_action(mocker, monkeypatch, host, {"reboot_timout": 5}).run(task_vars={})
    assert host.commands == []
