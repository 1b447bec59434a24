# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin kdump.fleet.audit_report: evaluate the fleet and write the reports on the controller.

An action plugin rather than a module delegated to localhost: it runs inside the controller process,
so thousands of hosts' facts are not serialised into a module payload, no Python is needed on a
"localhost" that may be a container, and it behaves the same in check mode (it writes only reports
on the controller, never anything on a managed host).
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.kdump.fleet.plugins.module_utils._audit_drift import AuditDriftError, read_previous
from ansible_collections.kdump.fleet.plugins.module_utils._audit_exceptions import AuditExceptionsError
from ansible_collections.kdump.fleet.plugins.module_utils._audit_exceptions import validate as validate_exceptions
from ansible_collections.kdump.fleet.plugins.module_utils._audit_reports import (
    FORMATS,
    action_result,
    write_reports,
)
from ansible_collections.kdump.fleet.plugins.module_utils._controller_paths import controller_path
from ansible_collections.kdump.fleet.plugins.module_utils._fleet_audit import (
    CHECK_IDS,
    DEFAULT_SETTINGS,
    DEGRADED,
    NOT_READY,
    AuditSettingsError,
    evaluate_fleet,
    validate_settings,
)

ARGUMENT_SPEC = {
    # Either the registered results by host, or the name of the variable each host registered
    # them in: the action then reads them from hostvars itself (no Jinja zip over the fleet).
    "results": {"type": "dict"},
    "result_var": {"type": "str"},
    "hosts": {"type": "list", "elements": "str"},
    "report_dir": {"type": "str", "default": "kdump-audit-reports"},
    "formats": {"type": "list", "elements": "str", "choices": list(FORMATS), "default": list(FORMATS)},
    "summary_max_hosts": {"type": "int", "default": 50},
    "required_checks": {"type": "list", "elements": "str", "choices": list(CHECK_IDS)},
    "disabled_checks": {"type": "list", "elements": "str", "choices": list(CHECK_IDS)},
    "reserved_max_ratio": {"type": "float"},
    "dump_ratio_filtered": {"type": "float"},
    "dump_ratio_unfiltered": {"type": "float"},
    "crash_test_max_age_days": {"type": "int"},
    "unknown_status": {"type": "str", "choices": [DEGRADED, NOT_READY]},
    "min_ready_percent": {"type": "float"},
    # kdump_audit_exceptions as given: checked by _audit_exceptions, whose messages name the entry.
    "exceptions": {"type": "raw", "default": []},
    "previous_report": {"type": "str"},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    @staticmethod
    def _results(args, task_vars):
        """host -> registered kdump_info result, from ``results`` or read from hostvars by ``result_var``."""
        if (args["results"] is None) == (args["result_var"] is None):
            raise AnsibleActionFail("give exactly one of results and result_var")
        if args["results"] is not None:
            return args["results"]
        hostvars = task_vars.get("hostvars") or {}
        hosts = args["hosts"] or list(hostvars)
        # A host missing from hostvars, or without the variable, is reported as not audited.
        return {host: (hostvars.get(host) or {}).get(args["result_var"]) for host in hosts}

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp

        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        if args["summary_max_hosts"] < 0:
            raise AnsibleActionFail("summary_max_hosts must be 0 or more, got %d" % args["summary_max_hosts"])
        # Everything the user gave is checked before anything is evaluated or written.
        previous = None
        try:
            settings = validate_settings({key: args[key] for key in DEFAULT_SETTINGS})
            validate_exceptions(args["exceptions"])
            if args["previous_report"]:
                previous = read_previous(controller_path(args["previous_report"]))
        except (AuditSettingsError, AuditExceptionsError, AuditDriftError) as exc:
            raise AnsibleActionFail(str(exc)) from None

        fleet = evaluate_fleet(
            self._results(args, task_vars),
            args["hosts"],
            settings,
            exceptions=args["exceptions"],
            # group -> hosts (children's hosts included): exceptions may name a group
            groups=task_vars.get("groups") or {},
            previous=previous,
        )
        report_dir = controller_path(args["report_dir"])
        try:
            paths = write_reports(fleet, report_dir, args["formats"])
        except OSError as exc:
            raise AnsibleActionFail(
                "cannot write the audit reports to %s: %s; set kdump_audit_report_dir to a writable directory"
                % (report_dir, exc.strerror or exc)
            ) from None

        result.update(**action_result(fleet, paths, args["summary_max_hosts"]))
        return result
