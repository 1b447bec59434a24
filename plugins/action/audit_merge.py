# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin kdump.fleet.audit_merge: one fleet report from the JSON reports of a sliced audit.

Runs in the controller process like audit_report; it reads and writes only report files on the
controller. Every slice is read and checked before any report is written.
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.kdump.fleet.plugins.module_utils._audit_drift import AuditDriftError, read_previous
from ansible_collections.kdump.fleet.plugins.module_utils._audit_merge import (
    VARIABLE,
    AuditMergeError,
    merge,
    read_slice,
)
from ansible_collections.kdump.fleet.plugins.module_utils._audit_reports import (
    FILE_NAMES,
    FORMATS,
    action_result,
    write_reports,
)
from ansible_collections.kdump.fleet.plugins.module_utils._controller_paths import controller_path, expand
from ansible_collections.kdump.fleet.plugins.module_utils._fleet_audit import (
    AuditSettingsError,
    validate_settings,
)

ARGUMENT_SPEC = {
    "reports": {"type": "list", "elements": "str", "required": True},
    "report_dir": {"type": "str", "default": "kdump-audit-reports"},
    "formats": {"type": "list", "elements": "str", "choices": list(FORMATS), "default": list(FORMATS)},
    "summary_max_hosts": {"type": "int", "default": 50},
    "previous_report": {"type": "str"},
    "min_ready_percent": {"type": "float"},
    "expected_slices": {"type": "int"},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp

        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        if args["summary_max_hosts"] < 0:
            raise AnsibleActionFail("summary_max_hosts must be 0 or more, got %d" % args["summary_max_hosts"])
        paths, unmatched = expand(args["reports"])
        if unmatched:
            raise AnsibleActionFail(
                "%s: %s matched no file; name the slices' kdump-audit.json files (paths or globs). Nothing was "
                "written." % (VARIABLE, ", ".join(unmatched))
            )
        report_dir = controller_path(args["report_dir"])
        # A glob over the slices' directories could also match the merged report of an earlier merge.
        merged_json = os.path.realpath(os.path.join(report_dir, FILE_NAMES["json"]))
        if merged_json in [os.path.realpath(path) for path in paths]:
            raise AnsibleActionFail(
                "%s includes %s, the merged report this run writes: keep the slices' report directories apart "
                "from kdump_audit_report_dir. Nothing was written." % (VARIABLE, merged_json)
            )
        try:
            gate = args["min_ready_percent"]
            if gate is not None:
                gate = validate_settings({"min_ready_percent": gate})["min_ready_percent"]
            slices = [read_slice(path) for path in paths]
            previous = read_previous(controller_path(args["previous_report"])) if args["previous_report"] else None
            fleet = merge(slices, previous, min_ready_percent=gate, expected_slices=args["expected_slices"])
        except (AuditMergeError, AuditDriftError, AuditSettingsError) as exc:
            raise AnsibleActionFail("%s Nothing was written." % exc) from None
        try:
            written = write_reports(fleet, report_dir, args["formats"])
        except OSError as exc:
            raise AnsibleActionFail(
                "cannot write the merged audit reports to %s: %s; set kdump_audit_report_dir to a writable directory"
                % (report_dir, exc.strerror or exc)
            ) from None
        except Exception as exc:  # every format is rendered before any file is written
            raise AnsibleActionFail(
                "%s: the merged report cannot be written: a slice holds a host record the reports cannot show "
                "(%s: %s); audit that slice again with this collection. Nothing was written."
                % (VARIABLE, type(exc).__name__, exc)
            ) from None

        result.update(slices=paths, **action_result(fleet, written, args["summary_max_hosts"]))
        return result
