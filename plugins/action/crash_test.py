# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for kdump.fleet.crash_test: crash a host on purpose and prove kdump captured it."""

from __future__ import annotations

import random
import time

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible_collections.kdump.fleet.plugins.module_utils import _crash_protocol as evidence
from ansible_collections.kdump.fleet.plugins.module_utils import _dump_server
from ansible_collections.kdump.fleet.plugins.module_utils import _progress as progress
from ansible_collections.kdump.fleet.plugins.module_utils._dump_locator import (
    DumpLocatorError,
    HostAccess,
    make_locator,
    target_type,
)
from ansible_collections.kdump.fleet.plugins.plugin_utils._dump_server_shell import DumpServerShell

display = Display()

KDUMP_INFO_MODULE = "kdump.fleet.kdump_info"
CONTROLLER_BOOT_ID_FILE = "/proc/sys/kernel/random/boot_id"
# During the wait only: an SSH session to a dead kernel fails after 5 s x 3 unanswered keepalives.
SSH_KEEPALIVE_ARGS = "-o ServerAliveInterval=5 -o ServerAliveCountMax=3"

ARGUMENT_SPEC = {
    "confirm": {"type": "bool", "default": False},
    "reboot_timeout": {"type": "int", "default": 900},
    "connect_timeout": {"type": "int"},
    "stable_checks": {"type": "int", "default": 3},
    "stable_interval": {"type": "int", "default": 10},
    "trigger_delay": {"type": "int", "default": 2},
    "console_log_hint": {"type": "str"},
    "work_dir": {"type": "str", "default": "/var/tmp"},
    "validate_timeout": {"type": "int", "default": 900},
    "dump_server": {"type": "list", "elements": "str"},
    "dump_server_path": {"type": "str"},
    "progress": {"type": "bool", "default": True},
}
# While the host is down, a dump server is asked this often whether the capture kernel is writing to it.
SERVER_POLL_S = 20


class CrashTestError(Exception):
    """The test cannot go on; ``details`` are extra result keys."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = details


class WaitTimedOut(Exception):
    """The host did not come back and stay up within reboot_timeout."""


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    # Clock, sleep and jitter go through methods so the unit tests can run the
    # whole wait on a fake clock.
    def _now(self):
        return time.monotonic()

    def _sleep(self, seconds):
        time.sleep(seconds)

    def _jitter(self):
        return random.uniform(0, 1)

    def _controller_boot_id(self):
        """The controller's own boot id, or None where there is none (not Linux)."""
        try:
            with open(CONTROLLER_BOOT_ID_FILE) as handle:
                return handle.read().strip() or None
        except OSError:
            return None

    # ------------------------------------------------------------ entry point

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        task_vars = task_vars or {}
        started = self._now()
        host = task_vars.get("inventory_hostname") or getattr(self._play_context, "remote_addr", None) or "the host"
        self._host_name = host

        # Guards: nothing on the host changes before all of them pass.
        if self._connection.transport == "local":
            return self._refused(
                started,
                "not_controller",
                "the local connection would crash the control node itself; crash tests run over SSH "
                "against the hosts to test",
            )
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(ARGUMENT_SPEC)
        if not args["confirm"]:
            return self._refused(
                started,
                "confirm",
                "the crash test panics the kernel of %s on purpose (the host reboots, running work is lost); "
                "set confirm: true to allow it (the kdump.fleet.crash_test playbook: -e kdump_crash_test_confirm=true)"
                % host,
            )
        for key in ("reboot_timeout", "stable_checks", "stable_interval", "validate_timeout"):
            if args[key] < 1:
                return self._refused(started, "arguments", "%s must be at least 1, got %s" % (key, args[key]))

        try:
            info = self._kdump_info(task_vars)
            server, server_path, server_shell = self._dump_server(args, info, task_vars)
            failures = evidence.readiness_failures(info, server, server_path)
            if failures:
                result.update(self._refused(started, None, evidence.refusal_message(host, failures)))
                result["failed_checks"] = failures
                return result
            probe = self._probe_boot()
        except CrashTestError as err:
            return self._refused(started, err.details.get("check"), err.msg)

        controller_boot_id = self._controller_boot_id()
        boot_id = probe[0]
        if controller_boot_id and controller_boot_id == boot_id:
            return self._refused(
                started,
                "not_controller",
                "%s has the controller's own boot id %s: it is the control node (or a container on it); "
                "crashing it would crash the controller" % (host, boot_id),
            )

        try:
            access = HostAccess(
                info, lambda: self._kdump_info(task_vars), self._run_on_host, server, server_path, server_shell
            )
            try:
                locator = make_locator(access)
            except DumpLocatorError as err:
                return self._refused(started, "dump_locator", to_text(err))
            if self._task.check_mode:
                result.update(
                    changed=True,
                    crashed=False,
                    boot_id_before=boot_id,
                    dump_location=locator.describe(),
                    elapsed=int(self._now() - started),
                    msg="check mode: would crash %s (kernel %s, boot id %s) through /proc/sysrq-trigger, wait up to "
                    "%d s for it to come back and stay up, then look for a new dump in %s; nothing was changed"
                    % (host, info.get("kernel"), boot_id, args["reboot_timeout"], locator.describe()),
                )
                return result

            result.update(self._crash_and_verify(args, info, locator, probe))
            result["elapsed"] = int(self._now() - started)
            return result
        finally:
            if server_shell is not None:
                server_shell.close()

    def _dump_server(self, args, info, task_vars):
        """(server, directory of this host's dumps there, shell on it) for a network target; Nones otherwise.

        ``dump_server`` is one inventory host or a list of them (the dump servers of the fleet); of a
        list, the one the target's server names (inventory name, ansible_host or dump_server_address).
        """
        kind = target_type(info)
        if kind not in ("nfs", "ssh"):
            return None, None, None
        target = (info.get("config") or {}).get("target") or {}
        hostvars = task_vars.get("hostvars") or {}
        servers = []
        # The argument spec has made one name a list already.
        for name in args.get("dump_server") or []:
            server_vars = hostvars[name] if name in hostvars else {}  # noqa: SIM401
            servers.append({"name": name, "names": _dump_server.server_names(name, server_vars), "vars": server_vars})
        chosen = _dump_server.match_dump_server(target.get("server"), servers)
        path = args.get("dump_server_path")
        if chosen is None:
            return None, path, None
        if not path:
            if kind == "nfs":
                # The host mounts the export on its dump directory (kdump-tools), or writes
                # below it at kdump.conf's path (kdumpctl): the dumps are in the export.
                sub = target.get("path") or "/"
                path = (target.get("export") or "").rstrip("/") + ("" if sub == "/" else sub)
            else:
                # The receiver maps the host's kdump_path to ROOT/NAME (the dump_server role).
                server_vars = chosen["vars"]
                root = server_vars["dump_server_root"] if "dump_server_root" in server_vars else None  # noqa: SIM401
                name = task_vars.get("dump_server_client_name") or task_vars.get("inventory_hostname")
                path = "%s/%s" % ((root or _dump_server.DEFAULT_ROOT).rstrip("/"), name)
        return chosen["name"], path, DumpServerShell(self, chosen["name"], task_vars)

    def _refused(self, started, check, msg):
        result = {
            "failed": True,
            "changed": False,
            "crashed": False,
            "elapsed": int(self._now() - started),
            "msg": msg,
        }
        if check:
            result["failed_checks"] = [{"check": check, "msg": msg}]
        return result

    # ------------------------------------------------------------ host access

    def _run_on_host(self, command):
        return self._low_level_execute_command(command, sudoable=True)

    def _kdump_info(self, task_vars):
        try:
            res = self._execute_module(module_name=KDUMP_INFO_MODULE, module_args={}, task_vars=task_vars)
        except AnsibleConnectionFailure as err:
            raise CrashTestError(
                "could not reach the host to run %s: %s" % (KDUMP_INFO_MODULE, to_text(err)), check="kdump_info"
            ) from err
        if res.get("failed") or not isinstance(res.get("kdump"), dict):
            raise CrashTestError(
                "%s failed on the host: %s" % (KDUMP_INFO_MODULE, res.get("msg") or res.get("module_stderr") or res),
                check="kdump_info",
            )
        return res["kdump"]

    def _probe_boot(self):
        try:
            res = self._low_level_execute_command(evidence.BOOT_PROBE_COMMAND, sudoable=False)
        except AnsibleConnectionFailure as err:
            raise CrashTestError("could not read the host's boot id: %s" % to_text(err), check="boot_id") from err
        boot_id, epoch = evidence.parse_boot_probe(res.get("stdout", ""))
        if res.get("rc") != 0 or not boot_id:
            raise CrashTestError(
                "could not read /proc/sys/kernel/random/boot_id: %s" % res.get("stderr", "").strip(), check="boot_id"
            )
        return boot_id, epoch

    def _reset_connection(self):
        # Resetting a connection to a host that is down fails; that must never end the wait.
        try:
            self._connection.reset()
        except Exception as err:
            display.vvv("crash_test: connection reset failed (expected while the host is down): %s" % to_text(err))

    def _connection_option(self, names):
        """The first of ``names`` this connection plugin has, and its value; (None, None) when it has none."""
        for name in names:
            try:
                return name, self._connection.get_option(name)
            except (KeyError, AnsibleError, AttributeError):
                continue
        return None, None

    def _wait_settings(self, connect_timeout):
        """Connection options for the wait on the reboot, as ``[(name, value)]``.

        The connect timeout bounds a probe to a host that is down. SSH keepalives
        bound a probe whose session is open while the kernel dies: without them it
        waits until TCP gives up, about 15 minutes, far past reboot_timeout.
        """
        settings = []
        if connect_timeout is not None:
            name, _value = self._connection_option(("connection_timeout", "timeout"))
            if name is None:
                display.warning("crash_test: this connection plugin does not let connect_timeout be set")
            else:
                settings.append((name, connect_timeout))
        if self._connection.transport == "ssh":
            name, extra = self._connection_option(("ssh_extra_args",))
            if name is not None:
                settings.append((name, ("%s %s" % (extra or "", SSH_KEEPALIVE_ARGS)).strip()))
        return settings

    def _apply_connection_options(self, settings):
        """Set the options, start a fresh connection with them, and return what to set back afterwards."""
        previous = []
        for name, value in settings:
            _name, old = self._connection_option((name,))
            try:
                self._connection.set_option(name, value)
            except (KeyError, AnsibleError, AttributeError) as err:
                display.warning("crash_test: could not set the connection option %s: %s" % (name, to_text(err)))
                continue
            previous.append((name, old))
        # Always: the session that carried the trigger must not be reused once the kernel is gone.
        self._reset_connection()
        return previous

    # ------------------------------------------------------- crash and verify

    def _progress_emitter(self, enabled):
        """Where phase lines go: the controller's stderr at once (json/yaml stdout stays clean), or -vvv."""
        if enabled:
            return lambda text: display.display(text, stderr=True)
        return display.vvv

    def _crash_and_verify(self, args, info, locator, probe):
        boot_id, host_epoch = probe
        delay = max(0, args["trigger_delay"])
        state = {
            "kernel": info.get("kernel"),
            "ram_bytes": (info.get("memory") or {}).get("bytes"),
            "boot_id_before": boot_id,
            "trigger_epoch": (host_epoch or int(time.time())) + delay,
        }
        try:
            before = self._list_dumps(locator)
        except CrashTestError as err:
            return self._failed(state, err.msg, reachable=True, crashed=False)

        probed_at = self._now()
        try:
            res = self._run_on_host(evidence.trigger_command(delay))
        except AnsibleConnectionFailure as err:
            # The kernel may die before the command returns: expected.
            display.vvv("crash_test: connection dropped by the crash trigger (expected): %s" % to_text(err))
            res = {"rc": 0, "stdout": "", "stderr": ""}
        sent_at = self._now()
        if res.get("rc") != 0:
            msg = "the crash trigger failed (rc=%s), the host was not crashed: %s" % (
                res.get("rc"),
                (res.get("stderr") or res.get("stdout") or "").strip(),
            )
            return self._failed(state, msg, reachable=True, crashed=False)
        epoch, via = evidence.parse_trigger_output(res.get("stdout", ""))
        if epoch is None and host_epoch is not None:
            epoch = host_epoch + int(round(sent_at - probed_at))
        if epoch is not None:
            state["trigger_epoch"] = epoch + delay
        state["trigger_via"] = via
        trigger_at = state["trigger_at"] = sent_at + delay
        # Every phase is counted from the crash itself (the trigger fires delay s after it was sent).
        phases = state["phases"] = progress.Phases(
            "crash test", self._host_name, trigger_at, self._progress_emitter(args["progress"])
        )
        phases.mark(progress.TRIGGER_SENT, sent_at, detail="the kernel panics in %d s" % delay)

        restore = self._apply_connection_options(self._wait_settings(args["connect_timeout"]))
        watch = evidence.BootWatch(boot_id, args["stable_checks"])
        try:
            up_at = self._wait_until_stable(
                watch,
                trigger_at + args["reboot_timeout"],
                args["stable_interval"],
                phases,
                self._capture_probe(locator, before, state),
            )
        except WaitTimedOut:
            msg = evidence.timeout_message(watch, args["reboot_timeout"], args["console_log_hint"])
            state["boot_ids_seen"] = watch.new_boot_ids
            # A host that never went down is still reachable: record the failed attempt on it.
            crashed = watch.went_down or bool(watch.new_boot_ids)
            return self._failed(state, msg, reachable=not watch.went_down, crashed=crashed)
        finally:
            self._apply_connection_options(restore)
        state["boot_id_after"] = watch.candidate
        state["trigger_to_up_s"] = round(max(0.0, up_at - trigger_at), 1)

        try:
            after = self._list_dumps(locator)
        except CrashTestError as err:
            return self._failed(state, err.msg, reachable=True)
        dump = evidence.select_new_dump(before, after, state["trigger_epoch"])
        if dump is None:
            return self._no_new_dump(state, locator, before, after)

        state["dump"] = dict(dump, location=locator.describe(), server=getattr(locator, "server", None))
        state["trigger_to_dump_s"] = round(dump["mtime"] - state["trigger_epoch"], 1)
        # Learnt now, from the file's time on the host (or server) clock: the capture kernel finished it then.
        phases.mark(
            progress.DUMP_WRITTEN,
            seconds=state["trigger_to_dump_s"],
            detail="%s, %.1f MiB" % (dump["path"], dump["size"] / 1048576.0),
        )
        check = self._validate(locator, dump["path"], args)
        state["dump"]["format"] = check["format"]
        if not check["valid"]:
            state["makedumpfile_error"] = check["error"]
            return self._failed(state, "the new dump %s is not readable: %s" % (dump["path"], check["error"]))
        excerpt = evidence.panic_excerpt(check["log"])
        if not excerpt:
            state["capture_log"] = check["log"][-20:]
            msg = (
                "the new dump %s is readable, but its kernel log does not show the sysrq crash this test "
                "triggered ('sysrq: Trigger a crash' followed by the panic); it may come from another crash"
                % dump["path"]
            )
            return self._failed(state, msg)
        state["capture_log"] = excerpt
        phases.mark(progress.DUMP_VERIFIED, self._now(), detail="makedumpfile reads it, its log shows the sysrq panic")
        return self._succeeded(state)

    def _capture_probe(self, locator, before, state):
        """While the host is down: a function telling whether a new dump appears on the dump server (else None)."""
        if getattr(locator, "server", None) is None:
            return None  # a local target is only seen once the host is back
        last = {"at": None}

        def probe(now):
            if last["at"] is not None and now - last["at"] < SERVER_POLL_S:
                return None
            last["at"] = now
            try:
                fresh = evidence.new_dumps(before, locator.list_dumps(), state["trigger_epoch"])
            except (CrashTestError, DumpLocatorError, AnsibleError, OSError) as err:
                display.vvv("crash_test: the dump server could not be listed while the host is down: %s" % err)
                return None
            if not fresh:
                return None
            # Polled every SERVER_POLL_S: the dump may be finished by the time it is seen.
            progress_word = "is writing" if evidence.is_incomplete(fresh[-1]["path"]) else "has written"
            return "the capture kernel %s %s on the dump server %s (%.1f MiB)" % (
                progress_word,
                fresh[-1]["path"],
                locator.server,
                fresh[-1]["size"] / 1048576.0,
            )

        return probe

    def _wait_until_stable(self, watch, deadline, stable_interval, phases=None, capture_probe=None):
        """Poll the boot id until the same new one is seen often enough; return when it was first seen.

        phases: marked as the host goes down, comes back with a new boot id and stays up; capture_probe
        (now -> text or None): asked while the host is down whether its capture kernel is writing a dump.
        """
        attempt = 0
        first_seen = None
        while True:
            observed = watch.observe(self._read_boot_id())
            now = self._now()
            if phases is not None:
                self._mark_boot_phase(phases, watch, observed, now, capture_probe)
            if observed in (watch.NEW, watch.STABLE) and watch.streak == 1:
                first_seen = now
            if observed == watch.STABLE:
                return first_seen
            if observed == watch.NEW:
                delay = stable_interval
            else:
                delay = evidence.backoff_delay(attempt, jitter=self._jitter())
                attempt += 1
            remaining = deadline - now
            if remaining <= 0:
                raise WaitTimedOut()
            display.vvv("crash_test: boot id state %s, next check in %.1f s" % (observed, min(delay, remaining)))
            self._sleep(min(delay, remaining))

    @staticmethod
    def _mark_boot_phase(phases, watch, observed, now, capture_probe):
        if observed == watch.DOWN:
            phases.mark(progress.HOST_DOWN, now)
            if capture_probe is not None and progress.CAPTURE_BOOT not in phases.seen:
                writing = capture_probe(now)
                if writing:
                    phases.mark(progress.CAPTURE_BOOT, now, detail=writing)
        elif observed in (watch.NEW, watch.STABLE):
            if watch.streak == 1:
                phases.mark(progress.HOST_BACK, now, detail="new boot id %s" % watch.candidate)
            if observed == watch.STABLE:
                phases.mark(progress.UP_AND_STABLE, now, detail="the same boot id %d times" % watch.stable_checks)

    def _read_boot_id(self):
        """The host's boot id, or None while it does not answer."""
        try:
            res = self._low_level_execute_command(evidence.BOOT_PROBE_COMMAND, sudoable=False)
        except (AnsibleError, OSError) as err:  # a connection that fails while the host reboots means "not yet"
            display.vvv("crash_test: host not answering yet: %s" % to_text(err))
            self._reset_connection()
            return None
        if res.get("rc") != 0:
            return None
        return evidence.parse_boot_probe(res.get("stdout", ""))[0]

    def _list_dumps(self, locator):
        """The locator's listing; a dump server that cannot be reached or listed ends the test clearly."""
        try:
            return locator.list_dumps()
        except DumpLocatorError as err:
            raise CrashTestError(to_text(err)) from None
        except AnsibleError as err:
            raise CrashTestError("cannot reach %s: %s" % (locator.describe(), to_text(err))) from None

    def _validate(self, locator, dump_path, args):
        command = evidence.validation_command(dump_path, args["work_dir"], args["validate_timeout"])
        try:
            res = locator.run(command)
        except AnsibleConnectionFailure as err:
            return {"valid": False, "format": None, "error": "lost the connection: %s" % to_text(err), "log": []}
        return evidence.parse_validation(
            res.get("rc"), res.get("stdout", ""), res.get("stderr", ""), args["validate_timeout"]
        )

    def _no_new_dump(self, state, locator, before, after):
        """Fail with what the capture boot logged, so the reason is in the result."""
        # The capture boot's journal is on the crashed host; side files lie next to the dumps.
        reads = [(self._run_on_host, evidence.CAPTURE_JOURNAL_COMMAND)]
        if locator.dump_dir:
            host_now = state["trigger_epoch"] + (self._now() - state["trigger_at"])
            reads.append(
                (locator.run, evidence.capture_side_files_command(locator.dump_dir, state["trigger_epoch"], host_now))
            )
        logs = []
        for run, command in reads:
            try:
                res = run(command)
            except AnsibleConnectionFailure as err:
                logs.append("(could not read the capture logs: %s)" % to_text(err))
                continue
            logs.extend(line.rstrip() for line in (res.get("stdout") or "").splitlines())
        fresh = evidence.new_dumps(before, after, state["trigger_epoch"])
        incomplete = [d["path"] for d in fresh if evidence.is_incomplete(d["path"])]
        state["capture_log"] = logs[-120:]
        highlights = evidence.capture_log_highlights("\n".join(logs))
        msg = "the host crashed and came back, but no new dump appeared in %s." % locator.describe()
        if incomplete:
            msg += " An unfinished dump was left: %s (the capture stopped while writing it)." % ", ".join(incomplete)
        if highlights:
            msg += " The capture logs say: %s" % " | ".join(highlights)
        elif not logs:
            msg += (
                " No capture log was found (no persistent journal, no dmesg file next to the dumps); "
                "look at the console log of the capture boot."
            )
        return self._failed(state, msg, reachable=True)

    # ------------------------------------------------------------ reporting

    def _record(self, state, result_kind, message):
        dump = state.get("dump") or {}
        return evidence.build_evidence_record(
            result_kind,
            state["trigger_epoch"],
            state.get("kernel"),
            message,
            dump_path=dump.get("path"),
            dump_server=dump.get("server"),
            dump_bytes=dump.get("size"),
            ram_bytes=state.get("ram_bytes"),
            trigger_to_dump_s=state.get("trigger_to_dump_s"),
            trigger_to_up_s=state.get("trigger_to_up_s"),
        )

    def _write_record(self, record):
        """Write the evidence record on the host; return an error text or None."""
        try:
            res = self._run_on_host(evidence.evidence_write_command(record))
        except AnsibleConnectionFailure as err:
            return to_text(err)
        if res.get("rc") != 0:
            return (res.get("stderr") or res.get("stdout") or "rc=%s" % res.get("rc")).strip()
        return None

    def _report(self, state, result_kind, msg, reachable):
        result = {
            "changed": bool(state.get("crashed", True)),
            "crashed": bool(state.get("crashed", True)),
            "msg": msg,
            "trigger_time": evidence.iso_utc(state["trigger_epoch"]),
            "evidence_path": evidence.EVIDENCE_PATH,
        }
        for key in (
            "boot_id_before",
            "boot_id_after",
            "boot_ids_seen",
            "trigger_via",
            "ram_bytes",
            "trigger_to_up_s",
            "trigger_to_dump_s",
            "makedumpfile_error",
            "capture_log",
        ):
            if key in state:
                result[key] = state[key]
        if "phases" in state:
            result["phases"] = state["phases"].as_dict()
        dump = state.get("dump")
        if dump:
            result["dump"] = dump
            result["dump_path"] = dump["path"]
            result["dump_bytes"] = dump["size"]
            result["dump_ram_share"] = evidence.ram_share(dump["size"], state.get("ram_bytes"))
        record = self._record(state, result_kind, msg)
        result["evidence"] = record
        if reachable:
            error = self._write_record(record)
            result["evidence_written"] = error is None
            if error:
                result["evidence_error"] = error
        else:
            result["evidence_written"] = False
        return result

    def _failed(self, state, msg, reachable=True, crashed=True):
        state["crashed"] = crashed
        result = self._report(state, "failed", msg, reachable)
        result["failed"] = True
        return result

    def _succeeded(self, state):
        dump = state["dump"]
        share = evidence.ram_share(dump["size"], state.get("ram_bytes"))
        msg = (
            "crashed on purpose and back (boot id %s) %.0f s after the trigger; new dump %s, %.1f MiB%s, "
            "written %.0f s after the trigger; makedumpfile reads it and its kernel log shows the sysrq panic"
            % (
                state["boot_id_after"],
                state["trigger_to_up_s"],
                dump["path"],
                dump["size"] / 1048576.0,
                " (%.1f %% of RAM)" % (share * 100) if share is not None else "",
                state["trigger_to_dump_s"],
            )
        )
        result = self._report(state, "success", msg, reachable=True)
        if not result["evidence_written"]:
            result["failed"] = True
            result["msg"] += "; but the evidence record %s could not be written: %s" % (
                evidence.EVIDENCE_PATH,
                result.get("evidence_error"),
            )
        return result
