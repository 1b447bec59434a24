# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin kdump.fleet.dump_inventory_report: merge the hosts' dump listings and write the reports.

Runs in the controller process like audit_report: the fleet's listings are read from hostvars, never
serialised into a module payload, and only report files on the controller are written.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.kdump.fleet.plugins.module_utils._controller_paths import controller_path
from ansible_collections.kdump.fleet.plugins.module_utils._dump_inventory_report import (
    FORMATS,
    InventoryInputError,
    build,
    render_markdown,
    write_reports,
)

ARGUMENT_SPEC = {
    "result_var": {"type": "str", "required": True},
    "removed_var": {"type": "str"},
    # The variable each analysis host registered kdump.fleet.crash_analysis in (the first look joins
    # the dumps it read; its raw crash output becomes a file beside the reports).
    "analysis_var": {"type": "str"},
    "hosts": {"type": "list", "elements": "str"},
    "report_dir": {"type": "str", "default": "kdump-dump-reports"},
    # The playbook variable report_dir came from, for the message when it cannot be written.
    "report_dir_variable": {"type": "str", "default": "kdump_dumps_report_dir"},
    "formats": {"type": "list", "elements": "str", "choices": list(FORMATS), "default": list(FORMATS)},
    "keep": {"type": "int", "default": 0},
    "apply": {"type": "bool", "default": False},
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
        hostvars = task_vars.get("hostvars") or {}
        hosts = args["hosts"] or list(hostvars)
        results = {host: (hostvars.get(host) or {}).get(args["result_var"]) for host in hosts}
        removed = []
        if args["removed_var"]:
            for host in hosts:
                removed.extend((hostvars.get(host) or {}).get(args["removed_var"]) or [])
        analyses = {}
        if args["analysis_var"]:
            for host in hosts:
                registered = (hostvars.get(host) or {}).get(args["analysis_var"]) or {}
                if isinstance(registered, dict) and registered.get("analyses"):
                    analyses[host] = registered["analyses"]
        try:
            inventory = build(results, keep=args["keep"], apply=args["apply"], removed=removed, analyses=analyses)
        except InventoryInputError as exc:
            raise AnsibleActionFail(str(exc)) from None
        report_dir = controller_path(args["report_dir"])
        try:
            paths = write_reports(inventory, report_dir, args["formats"])
        except OSError as exc:
            raise AnsibleActionFail(
                "cannot write the dump inventory to %s: %s; set %s to a writable directory"
                % (report_dir, exc.strerror or exc, args["report_dir_variable"])
            ) from None
        result.update(
            changed=False,
            summary=inventory["summary"],
            dumps=inventory["dumps"],
            retention=inventory["retention"],
            reports=paths,
            raw_outputs=sorted(inventory["raw_outputs"]),
            markdown=render_markdown(inventory),
        )
        return result
