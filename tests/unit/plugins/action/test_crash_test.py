"""Tests of the crash_test action plugin's flow, with the host and the clock faked.

Modelled on ansible-core's reboot action tests: the task, play context and
connection are mocks; ``_low_level_execute_command`` and ``_execute_module`` are
replaced by a fake host that crashes when the trigger fires and comes back on a
schedule; sleeping advances a fake clock, so a 900 s wait takes no time.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import shlex
from pathlib import Path

import pytest
from ansible.errors import AnsibleConnectionFailure
from ansible.playbook.task import Task
from ansible.plugins.loader import connection_loader
from ansible_collections.kdump.fleet.plugins.action import crash_test as crash_test_action
from ansible_collections.kdump.fleet.plugins.action.crash_test import ActionModule
from ansible_collections.kdump.fleet.plugins.module_utils import _crash_protocol as ev
from ansible_collections.kdump.fleet.plugins.module_utils import _dump_locator as dl
from conftest import record_display

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "crash_test"
HOST_EPOCH_AT_START = 1768980000  # 2026-01-21T07:20:00Z on the host's clock
OLD_BOOT = "8d2c5f8e-1d7e-4c1b-9a0e-4f5d3c2b1a00"
NEW_BOOT = "c3a9e2f1-77b4-4e0d-8f6a-1b2c3d4e5f60"
CAPTURE_BOOT = "aa11bb22-cc33-4d44-8e55-ff6677889900"
OLD_DUMP = {"path": "/var/crash/202601200901/dump.202601200901", "mtime": 1768899700.0, "size": 50331648}
NEW_DUMP_NAME = "/var/crash/202601210724/dump.202601210724"  # see fixtures/crash_test/SOURCE.md
NEW_DUMP_SIZE = 51753823


def _unit_test_module(name):
    """A unit test module by path (the tests run in importlib mode, so no plain import)."""
    path = Path(__file__).parents[1] / "module_utils" / (name + ".py")
    spec = importlib.util.spec_from_file_location("kdump_fleet_action_crash_tests_" + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TEST_AUDIT = _unit_test_module("test_audit")
# The ready Debian 12 state of the audit tests, with one earlier dump on the host.
READY_INFO = TEST_AUDIT.ready_info()
READY_INFO["dumps"] = {"path": "/var/crash", "count": 1, "items": [OLD_DUMP], "newest": OLD_DUMP}
READY_INFO["memory"] = {
    "bytes": 2147024896,
    "source": "iomem",
    "total_bytes": 2062053376,
    "system_ram_bytes": 2147024896,
}


def fixture_text(name):
    return (FIXTURES / name).read_text()


def recorded(name):
    return {
        "rc": int(fixture_text(name + ".rc")),
        "stdout": fixture_text(name + ".stdout"),
        "stderr": fixture_text(name + ".stderr"),
    }


def valid_dump_result(kernel_log_fixture):
    log = fixture_text(kernel_log_fixture)
    return {"rc": 0, "stdout": "kdump-fleet-format=flattened\nkdump-fleet-dmesg-tail:\n" + log, "stderr": ""}


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


class FakeHost:
    """A host that crashes when the detached trigger fires, then follows ``after_crash``.

    ``after_crash`` is a list of ``(seconds, boot_id or None)`` phases counted from
    the crash; None means it does not answer; the last phase lasts forever.
    """

    def __init__(self, clock, info=None, after_crash=((120, None), (0, NEW_BOOT)), crashes=True):
        self.clock = clock
        self.info = copy.deepcopy(info or READY_INFO)
        self.after_crash = list(after_crash)
        self.crashes = crashes
        self.crash_at = None
        self.commands = []
        self.modules = []
        self.new_dump_after_s = 80  # the dump's mtime, counted from the crash
        self.validation = valid_dump_result("dmesg-sysrq-panic-6.17-azure.txt")
        self.journal = ""
        self.side_files = ""
        self.trigger_answer = None  # override the trigger command's result
        self.evidence_answer = {"rc": 0, "stdout": "", "stderr": ""}
        self.written = []
        self.make_new_dump = True

    # what the host answers

    def host_epoch(self):
        return HOST_EPOCH_AT_START + int(self.clock.now - 1000.0)

    def boot_id(self):
        if self.crash_at is None or self.clock.now < self.crash_at:
            return OLD_BOOT
        elapsed = self.clock.now - self.crash_at
        for seconds, boot_id in self.after_crash[:-1]:
            if elapsed < seconds:
                return boot_id
            elapsed -= seconds
        return self.after_crash[-1][1]

    def answering(self):
        return self.boot_id() is not None

    def execute(self, cmd, sudoable=True, **_kwargs):
        self.commands.append(cmd)
        if not self.answering():
            raise AnsibleConnectionFailure("Failed to connect to the host via ssh: Connection refused")
        if cmd == ev.BOOT_PROBE_COMMAND:
            return {"rc": 0, "stdout": f"{self.boot_id()}\n{self.host_epoch()}\n", "stderr": ""}
        if "/proc/sysrq-trigger" in cmd and "systemd-run" in cmd:
            if self.trigger_answer is not None:
                if isinstance(self.trigger_answer, Exception):
                    self._schedule_crash(cmd)
                    raise self.trigger_answer
                return self.trigger_answer
            self._schedule_crash(cmd)
            out = f"kdump-fleet-trigger-epoch={self.host_epoch()}\nkdump-fleet-trigger-via=systemd-run\n"
            return {"rc": 0, "stdout": out, "stderr": ""}
        if cmd.startswith("dump="):
            return self.validation
        if "journalctl" in cmd:
            return {"rc": 0, "stdout": self.journal, "stderr": ""}
        if cmd.startswith("find "):
            return {"rc": 0, "stdout": self.side_files, "stderr": ""}
        if cmd.startswith("umask 077"):
            data = [token for token in shlex.split(cmd) if token.startswith("{")]
            self.written.append(json.loads(data[0]))
            return self.evidence_answer
        raise AssertionError(f"unexpected command: {cmd}")

    def _schedule_crash(self, cmd):
        if self.crashes:
            delay = int(re.search(r"--on-active=(\d+)", cmd).group(1))
            self.crash_at = self.clock.now + delay

    def execute_module(self, module_name=None, module_args=None, task_vars=None, **_kwargs):
        self.modules.append(module_name)
        if not self.answering():
            raise AnsibleConnectionFailure("Failed to connect to the host via ssh")
        info = copy.deepcopy(self.info)
        if self.crash_at is not None and self.clock.now > self.crash_at and self.make_new_dump:
            mtime = HOST_EPOCH_AT_START + (self.crash_at - 1000.0) + self.new_dump_after_s
            new = {"path": NEW_DUMP_NAME, "mtime": mtime, "size": NEW_DUMP_SIZE, "mode": "0600"}
            info["dumps"]["items"] = [new] + info["dumps"]["items"]
        return {"changed": False, "kdump": info}

    def triggered(self):
        return any("/proc/sysrq-trigger" in cmd for cmd in self.commands)


@pytest.fixture
def task_args(request):
    return dict(getattr(request, "param", {"confirm": True}))


@pytest.fixture
def module_task(mocker, task_args):
    task = mocker.MagicMock(Task)
    task.action = "kdump.fleet.crash_test"
    task.args = task_args
    task.async_val = False
    task.check_mode = False
    task.diff = False
    return task


@pytest.fixture
def play_context(mocker):
    ctx = mocker.MagicMock()
    ctx.check_mode = False
    ctx.shell = "sh"
    return ctx


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def host(clock):
    return FakeHost(clock)


@pytest.fixture
def action(mocker, monkeypatch, module_task, play_context, host):
    """The plugin over a fake SSH connection to the fake host, on the fake clock."""
    connection = mocker.Mock()
    connection.transport = "ssh"
    connection._shell.tmpdir = None
    plugin = ActionModule(module_task, connection, play_context, None, None, None)
    monkeypatch.setattr(plugin, "_early_needs_tmp_path", lambda: False)
    monkeypatch.setattr(plugin, "_low_level_execute_command", host.execute)
    monkeypatch.setattr(plugin, "_execute_module", host.execute_module)
    monkeypatch.setattr(plugin, "_now", host.clock.monotonic)
    monkeypatch.setattr(plugin, "_sleep", host.clock.sleep)
    monkeypatch.setattr(plugin, "_jitter", lambda: 0.5)
    monkeypatch.setattr(plugin, "_controller_boot_id", lambda: "controller-boot-id")
    return plugin


def run(action):
    return action.run(task_vars={"inventory_hostname": "web01"})


# ------------------------------------------------------------------ guards


def test_local_connection_is_refused_before_anything(mocker, module_task, play_context):
    connection = connection_loader.get("local", play_context, os.devnull)
    plugin = ActionModule(module_task, connection, play_context, None, None, None)
    spy_command = mocker.spy(plugin, "_low_level_execute_command")
    spy_module = mocker.spy(plugin, "_execute_module")
    result = plugin.run(task_vars={"inventory_hostname": "localhost"})
    assert result["failed"]
    assert not result["changed"]
    assert [c["check"] for c in result["failed_checks"]] == ["not_controller"]
    assert "would crash the control node" in result["msg"]
    assert not spy_command.called
    assert not spy_module.called


@pytest.mark.parametrize("task_args", [{}, {"confirm": False}], indirect=True, ids=["unset", "false"])
def test_without_confirm_nothing_is_run_on_the_host(action, host):
    result = run(action)
    assert result["failed"]
    assert result["failed_checks"][0]["check"] == "confirm"
    assert "set confirm: true" in result["msg"]
    assert host.commands == []
    assert host.modules == []


@pytest.mark.parametrize(
    ("field", "value", "check"),
    [
        (("crashkernel", "loaded"), False, "KDUMP-007"),
        (("crashkernel", "reserved_bytes"), 0, "KDUMP-004"),
        (("service", "active"), False, "KDUMP-002"),
        (("config", "exists"), False, "KDUMP-009"),
        (
            ("config", "target"),
            TEST_AUDIT.target(type="nfs", location="nfs.example.com:/crash", host="nfs.example.com"),
            "dump_locator",
        ),
    ],
)
def test_a_host_that_is_not_ready_is_refused_naming_the_check(action, host, field, value, check):
    section, key = field
    host.info[section][key] = value
    result = run(action)
    assert result["failed"]
    assert not result["crashed"]
    assert [c["check"] for c in result["failed_checks"]] == [check]
    assert result["msg"].startswith(f"web01 is not ready for a crash test (failed: {check})")
    assert host.modules == ["kdump.fleet.kdump_info"]
    assert not host.triggered()
    assert host.written == []


def test_kdump_info_failing_is_reported(action, host, monkeypatch):
    monkeypatch.setattr(
        action, "_execute_module", lambda **_kw: {"failed": True, "msg": "couldn't resolve module/action"}
    )
    result = run(action)
    assert result["failed_checks"][0]["check"] == "kdump_info"
    assert "couldn't resolve module/action" in result["msg"]
    assert not host.triggered()


def test_the_controller_itself_is_refused_by_its_boot_id(action, host, monkeypatch):
    monkeypatch.setattr(action, "_controller_boot_id", lambda: OLD_BOOT)
    result = run(action)
    assert result["failed_checks"][0]["check"] == "not_controller"
    assert "controller's own boot id" in result["msg"]
    assert not host.triggered()


@pytest.mark.parametrize("task_args", [{"confirm": True, "stable_checks": 0}], indirect=True)
def test_nonsense_numbers_are_refused(action, host):
    result = run(action)
    assert result["failed_checks"][0]["check"] == "arguments"
    assert "stable_checks must be at least 1" in result["msg"]
    assert host.modules == []


def test_check_mode_reports_and_changes_nothing(action, host, module_task):
    module_task.check_mode = True
    result = run(action)
    assert result["changed"]
    assert not result["crashed"]
    assert "failed" not in result
    assert result["msg"].startswith(f"check mode: would crash web01 (kernel 6.1.0-28-amd64, boot id {OLD_BOOT})")
    assert "/var/crash on the host itself" in result["msg"]
    assert not host.triggered()
    assert host.written == []


# ------------------------------------------------------------- the crash


def test_success_reports_the_dump_timings_and_writes_evidence(action, host, clock):
    result = run(action)
    assert "failed" not in result, result["msg"]
    assert result["changed"] and result["crashed"]
    assert result["boot_id_before"] == OLD_BOOT
    assert result["boot_id_after"] == NEW_BOOT
    assert result["dump_path"] == NEW_DUMP_NAME
    assert result["dump_bytes"] == NEW_DUMP_SIZE
    assert result["dump"]["format"] == "flattened"
    assert result["dump_ram_share"] == round(NEW_DUMP_SIZE / 2147024896, 4)
    assert result["trigger_to_dump_s"] == 80.0
    # down for 120 s after the crash; the poll that first sees it back is at most 12.5 s later
    assert 120 <= result["trigger_to_up_s"] <= 132.5
    assert result["capture_log"][:2] == [
        "[   17.519224] sysrq: Trigger a crash",
        "[   17.519617] Kernel panic - not syncing: sysrq triggered crash",
    ]
    assert result["trigger_via"] == "systemd-run"
    assert result["evidence_written"]
    assert host.written == [result["evidence"]]
    record = host.written[0]
    assert record["result"] == "success"
    assert record["dump_path"] == NEW_DUMP_NAME
    assert record["kernel"] == "6.1.0-28-amd64"
    assert record["trigger_to_up_s"] == result["trigger_to_up_s"]
    assert record["time"] == ev.iso_utc(HOST_EPOCH_AT_START + 2)
    # the stability checks ran stable_interval apart after the host was back
    assert clock.sleeps[-2:] == [10, 10]


@pytest.fixture
def shown(monkeypatch):
    """The lines the action printed on the controller, and whether each went to stderr."""
    return record_display(monkeypatch, crash_test_action)


def test_each_phase_is_shown_as_it_happens_and_returned_with_its_seconds(action, host, shown):
    result = run(action)
    assert "failed" not in result, result["msg"]
    phases = result["phases"]
    # a local dump is only seen once the host is back: no capture boot phase
    assert list(phases) == ["trigger sent", "host down", "host back", "up and stable", "dump written", "dump verified"]
    assert phases["trigger sent"] == -2.0  # sent 2 s (trigger_delay) before the panic
    assert 0 <= phases["host down"] <= 12.5
    assert phases["host back"] == result["trigger_to_up_s"]
    assert phases["dump written"] == 80.0 and phases["up and stable"] >= phases["host back"] + 20
    texts = [text for text, _stderr in shown]
    assert texts[0] == "crash test web01: trigger sent, -2 s; the kernel panics in 2 s"
    assert texts[2].startswith(f"crash test web01: host back, {phases['host back']:.0f} s; new boot id {NEW_BOOT}")
    assert texts[4] == f"crash test web01: dump written, 80 s; {NEW_DUMP_NAME}, {NEW_DUMP_SIZE / 1048576:.1f} MiB"
    assert all(stderr for _text, stderr in shown)  # stdout stays the callback's (json, yaml)


def test_progress_false_keeps_the_phases_but_prints_nothing(action, host, task_args, shown):
    task_args["progress"] = False
    result = run(action)
    assert len(result["phases"]) == 6 and shown == []


def test_a_host_that_never_comes_back_shows_how_far_it_got(action, host, task_args, shown):
    host.after_crash = [(0, None)]
    task_args["reboot_timeout"] = 60
    result = run(action)
    assert result["failed"]
    assert list(result["phases"]) == ["trigger sent", "host down"]


def test_the_dropped_connection_of_the_trigger_is_expected(action, host):
    host.trigger_answer = AnsibleConnectionFailure("Shared connection to 10.0.2.2 closed.")
    result = run(action)
    assert "failed" not in result, result["msg"]
    assert result["trigger_to_dump_s"] == 80.0  # trigger time estimated from the earlier host clock reading
    assert "trigger_via" in result and result["trigger_via"] is None


def test_a_capture_boot_that_reboots_again_is_waited_out(action, host):
    host.after_crash = [(40, None), (15, CAPTURE_BOOT), (30, None), (0, NEW_BOOT)]
    result = run(action)
    assert "failed" not in result, result["msg"]
    assert result["boot_id_after"] == NEW_BOOT


def connection_options(action, options):
    """Give the mocked connection these options; get_option raises KeyError for the others."""

    def get_option(name):
        return options[name]

    def set_option(name, value):
        options[name] = value

    action._connection.get_option.side_effect = get_option
    action._connection.set_option.side_effect = set_option
    return options


@pytest.mark.parametrize("task_args", [{"confirm": True, "connect_timeout": 5}], indirect=True)
def test_connect_timeout_and_keepalives_are_set_for_the_wait_and_restored(action, host):
    options = connection_options(action, {"timeout": 10, "ssh_extra_args": "-o Foo=bar"})
    result = run(action)
    assert "failed" not in result, result["msg"]
    calls = [c.args for c in action._connection.set_option.call_args_list]
    assert calls == [
        ("timeout", 5),
        ("ssh_extra_args", "-o Foo=bar -o ServerAliveInterval=5 -o ServerAliveCountMax=3"),
        ("timeout", 10),
        ("ssh_extra_args", "-o Foo=bar"),
    ]
    assert options == {"timeout": 10, "ssh_extra_args": "-o Foo=bar"}


def test_the_trigger_session_is_dropped_before_the_first_probe(action, host):
    connection_options(action, {"timeout": 10, "ssh_extra_args": None})
    order = []
    action._connection.reset.side_effect = lambda: order.append("reset")
    execute = host.execute

    def recording_execute(cmd, **kwargs):
        kind = "probe" if cmd == ev.BOOT_PROBE_COMMAND else "other"
        order.append("trigger" if "/proc/sysrq-trigger" in cmd else kind)
        return execute(cmd, **kwargs)

    action._low_level_execute_command = recording_execute
    result = run(action)
    assert "failed" not in result, result["msg"]
    after_trigger = order[order.index("trigger") + 1 :]
    # No probe rides on the SSH session that was open when the kernel died.
    assert after_trigger[0] == "reset"
    assert [c.args for c in action._connection.set_option.call_args_list][-1] == ("ssh_extra_args", None)


@pytest.mark.parametrize("task_args", [{"confirm": True, "connect_timeout": 5}], indirect=True)
def test_a_connection_without_a_timeout_option_is_warned_about(action, host, mocker):
    connection_options(action, {})
    warning = mocker.patch("ansible_collections.kdump.fleet.plugins.action.crash_test.display.warning")
    result = run(action)
    assert "failed" not in result, result["msg"]
    assert "connect_timeout" in warning.call_args.args[0]
    assert not action._connection.set_option.called


def test_a_probe_that_fails_for_another_reason_is_not_taken_for_a_reboot(action, host):
    def broken(cmd, **_kwargs):
        if cmd == ev.BOOT_PROBE_COMMAND and host.crash_at is not None:
            raise TypeError("a bug, not a host that is down")
        return host.execute(cmd)

    action._low_level_execute_command = broken
    with pytest.raises(TypeError):
        run(action)


@pytest.mark.parametrize(
    "task_args", [{"confirm": True, "console_log_hint": "/srv/lab/web01/console.log"}], indirect=True
)
def test_a_host_that_never_returns_fails_at_the_timeout(action, host, clock):
    host.after_crash = [(0, None)]
    result = run(action)
    assert result["failed"]
    assert result["crashed"]
    assert "did not come back within 900 s" in result["msg"]
    assert result["msg"].endswith("Console log: /srv/lab/web01/console.log.")
    assert result["evidence_written"] is False
    assert host.written == []
    # the wait ended at the deadline: trigger delay 2 s + reboot_timeout 900 s
    assert clock.now - 1000.0 == pytest.approx(902.0)
    assert result["elapsed"] == 902
    assert max(clock.sleeps) <= 12.5  # backoff capped at 12 s plus jitter
    assert clock.sleeps[:4] == [1.5, 2.5, 4.5, 8.5]


def test_a_trigger_without_effect_is_reported_and_recorded(action, host):
    host.crashes = False
    result = run(action)
    assert result["failed"]
    assert not result["crashed"]
    assert "did not go down within 900 s" in result["msg"]
    assert host.written[0]["result"] == "failed"


def test_a_failing_trigger_command_fails_without_waiting(action, host, clock):
    host.trigger_answer = {
        "rc": 3,
        "stdout": "",
        "stderr": "kdump-fleet: /proc/sysrq-trigger is not writable: run the crash test as root (become: true)\n",
    }
    result = run(action)
    assert result["failed"]
    assert not result["crashed"]
    assert "the crash trigger failed (rc=3)" in result["msg"]
    assert "become: true" in result["msg"]
    assert clock.sleeps == []
    assert host.written[0]["result"] == "failed"


def test_no_new_dump_fails_with_the_capture_log(action, host):
    host.make_new_dump = False
    host.journal = "==> journalctl -b -1 -u kdump-capture\n" + fixture_text("capture-log-makedumpfile-failed-fcos.txt")
    result = run(action)
    assert result["failed"]
    assert "no new dump appeared in /var/crash on the host itself" in result["msg"]
    assert "saving vmcore failed, exitcode:1" in result["msg"]
    assert result["capture_log"][0] == "==> journalctl -b -1 -u kdump-capture"
    assert host.written[0]["result"] == "failed"
    assert host.written[0]["dump_path"] is None
    assert any(cmd.startswith("find /var/crash") for cmd in host.commands)


def test_no_new_dump_and_no_log_says_where_to_look(action, host):
    host.make_new_dump = False
    result = run(action)
    assert "No capture log was found" in result["msg"]
    assert "console log of the capture boot" in result["msg"]


def test_no_new_dump_names_an_unfinished_one(action, host):
    host.make_new_dump = False
    host.side_files = "==> /var/crash/202601210724/dump-incomplete\n-rw------- 1 root root 4096 Jan 21 07:24 x\n"
    result = run(action)
    assert "dump-incomplete" in "\n".join(result["capture_log"])
    assert "incomplete" in result["msg"]


def test_an_invalid_dump_fails_with_makedumpfiles_error(action, host):
    host.validation = recorded("validate-not-a-dump")
    result = run(action)
    assert result["failed"]
    assert result["dump_path"] == NEW_DUMP_NAME
    assert result["makedumpfile_error"].startswith("makedumpfile --dump-dmesg failed (rc=1): check_elf_format")
    assert "is not readable" in result["msg"]
    assert host.written[0]["result"] == "failed"
    assert host.written[0]["dump_path"] == NEW_DUMP_NAME


def test_a_readable_dump_of_another_panic_fails(action, host):
    host.validation = valid_dump_result("dmesg-kasan-panic-6.1-android.txt")
    result = run(action)
    assert result["failed"]
    assert "does not show the sysrq crash" in result["msg"]
    assert any("kasan" in line for line in result["capture_log"])


def test_success_fails_when_the_evidence_cannot_be_written(action, host):
    host.evidence_answer = {
        "rc": 1,
        "stdout": "",
        "stderr": "mkdir: cannot create directory '/var/lib/kdump-fleet': Read-only file system\n",
    }
    result = run(action)
    assert result["failed"]
    assert not result["evidence_written"]
    assert "could not be written" in result["msg"]
    assert "Read-only file system" in result["evidence_error"]


# ------------------------------------------------------ a remote dump locator


class FakeDumpServer:
    """The dump server's shell as the action sees it: the listing and the check answered like the real one."""

    def __init__(self, host, root="/srv/kdump/dumps/web01"):
        self.host, self.root = host, root
        self.commands, self.opened, self.closed = [], [], 0
        self.unreachable = None
        self.dump_name = "10.77.0.21-202601210724/dump.202601210724"

    def shell(self, action, server, task_vars):
        self.opened.append(server)
        return self

    def __call__(self, command):
        self.commands.append(command)
        if self.unreachable:
            raise AnsibleConnectionFailure(self.unreachable)
        if command.startswith("dump="):
            return self.host.validation
        assert command == dl.listing_command(self.root)
        lines = ["10.77.0.21-202501010000\tDIR\t700"]
        if self.host.crash_at is not None and self.host.clock.now >= self.host.crash_at:
            mtime = HOST_EPOCH_AT_START + (self.host.crash_at - 1000.0) + self.host.new_dump_after_s
            directory, name = self.dump_name.split("/")
            lines.insert(0, f"{self.root}/{directory}\t{name}\t{NEW_DUMP_SIZE}\t{mtime:.6f}\t600\tf")
            lines.append(f"{directory}\tDIR\t700")
        return {"rc": 0, "stdout": "\n".join(lines) + "\n", "stderr": ""}

    def close(self):
        self.closed += 1


@pytest.fixture
def dump_server(monkeypatch, host):
    server = FakeDumpServer(host)
    monkeypatch.setattr(crash_test_action, "DumpServerShell", server.shell)
    return server


def ssh_target(host):
    host.info["config"]["target"] = TEST_AUDIT.target(
        type="ssh", location="kdump@10.77.0.10", server="kdump@10.77.0.10", host="10.77.0.10"
    )


def test_an_ssh_dump_is_found_and_checked_on_the_dump_server(action, host, task_args, dump_server):
    ssh_target(host)
    task_args["dump_server"] = ["dumps01"]
    result = run(action)
    assert "failed" not in result, result["msg"]
    dump_path = "/srv/kdump/dumps/web01/" + dump_server.dump_name
    assert result["dump_path"] == dump_path
    assert result["dump"]["location"] == "/srv/kdump/dumps/web01 on the dump server dumps01"
    assert result["dump"]["server"] == "dumps01"
    # Checked on the server; the host only got the probes, the trigger and the evidence.
    # Listed before, once while the host was down (the capture kernel's dump is there), after, then checked.
    assert [c.split("=", 1)[0].split(" ", 1)[0] for c in dump_server.commands] == ["LC_ALL", "LC_ALL", "LC_ALL", "dump"]
    assert list(result["phases"])[:4] == ["trigger sent", "host down", "capture boot", "host back"]
    assert not any(cmd.startswith("dump=") for cmd in host.commands)
    assert host.written[0]["dump_path"] == dump_path
    assert host.written[0]["dump_server"] == "dumps01"
    assert dump_server.opened == ["dumps01"] and dump_server.closed == 1


@pytest.mark.parametrize(
    "nfs",
    [
        # kdump-tools mounts the export on KDUMP_COREDIR: <export>/<ip>-<stamp>/dump.<stamp>.
        ("/srv/kdump/dumps/c13", "/", "/srv/kdump/dumps/c13"),
        # kdump.conf "nfs ...:/srv/kdump/dumps/web01" + "path /var/crash": kdumpctl writes
        # <export>/var/crash/<ip>-<date>/vmcore.
        ("/srv/kdump/dumps/web01", "/var/crash", "/srv/kdump/dumps/web01/var/crash"),
    ],
)
def test_an_nfs_dump_is_looked_for_in_the_export(action, host, task_args, dump_server, nfs):
    export, path, listed = nfs
    host.info["config"]["target"] = TEST_AUDIT.target(
        type="nfs", location="10.77.0.10:" + export, server="10.77.0.10", export=export
    )
    host.info["config"]["target"]["path"] = path
    dump_server.root = listed
    task_args["dump_server"] = ["dumps01"]
    result = run(action)
    assert "failed" not in result, result["msg"]
    assert result["dump_path"].startswith(listed + "/10.77.0.21-")
    assert result["dump"]["location"] == listed + " on the dump server dumps01"


def test_an_ssh_dump_path_follows_the_servers_dump_root_and_the_clients_name(action, host, task_args, dump_server):
    ssh_target(host)
    dump_server.root = "/data/dumps/frontend-7"
    task_args["dump_server"] = ["dumps01"]
    task_vars = {
        "inventory_hostname": "web01",
        "dump_server_client_name": "frontend-7",
        "hostvars": {"dumps01": {"dump_server_root": "/data/dumps/"}},
    }
    result = action.run(task_vars=task_vars)
    assert "failed" not in result, result["msg"]
    assert result["dump_path"].startswith("/data/dumps/frontend-7/")


def test_of_several_dump_servers_the_one_the_target_names_is_used(action, host, task_args, dump_server):
    ssh_target(host)
    task_args["dump_server"] = ["dumps01", "dumps02"]
    hostvars = {"dumps01": {"ansible_host": "192.0.2.1"}, "dumps02": {"dump_server_address": "10.77.0.10"}}
    result = action.run(task_vars={"inventory_hostname": "web01", "hostvars": hostvars})
    assert "failed" not in result, result["msg"]
    assert dump_server.opened == ["dumps02"]


def test_a_network_target_without_a_dump_server_is_refused_before_anything(action, host, dump_server):
    ssh_target(host)
    result = run(action)
    assert result["failed"] and not result["crashed"]
    assert "name the dump server it writes to (kdump_crash_test_dump_server" in result["msg"]
    assert not any("sysrq" in cmd for cmd in host.commands)


def test_an_unreachable_dump_server_fails_before_the_crash(action, host, task_args, dump_server):
    ssh_target(host)
    task_args["dump_server"] = ["dumps01"]

    dump_server.unreachable = "ssh: connect to host 10.77.0.10 port 22: No route to host"
    result = run(action)
    assert result["failed"] and not result["crashed"]
    assert "cannot reach /srv/kdump/dumps/web01 on the dump server dumps01" in result["msg"]
    assert "No route to host" in result["msg"]
    assert not any("sysrq" in cmd for cmd in host.commands)
