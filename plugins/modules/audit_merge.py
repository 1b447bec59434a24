#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the work is done by the action plugin plugins/action/audit_merge.py.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: audit_merge
short_description: Merge the JSON reports of a sliced kdump audit into one fleet report
version_added: 0.1.0
description:
  - AWX/AAP job slicing runs the C(kdump.fleet.audit) playbook as several jobs, each on a slice of the
    inventory, and each writes its own C(kdump-audit.json). This action reads those reports and writes
    the reports (JSON, JUnit XML, Markdown, HTML) one unsliced audit of the same hosts would have written.
  - The host records are taken as the slices evaluated them; the summary and the readiness gate are
    counted over every host, each exception's hosts are joined (an exception is expired when any slice
    found it expired), and the drift is computed over the whole fleet against O(previous_report).
  - Every slice is read and checked before anything is written. A report of another version, slices
    audited with different settings, checks or exceptions, a host record the reports could not show, or
    one host in two slices (a slice of another run picked up by mistake) fails the task naming the file.
  - Runs entirely on the controller as an action plugin; use it once (C(run_once)), or from a play on
    C(localhost) as the C(kdump.fleet.audit_merge) playbook does.
  - Never fails because hosts are not ready; compare RV(gate_passed) yourself.
author:
  - kdump.fleet maintainers (@kdump-fleet)
options:
  reports:
    description:
      - The slices' C(kdump-audit.json) files on the controller, each a path or a shell glob (a relative
        one is taken relative to the directory ansible-playbook was started in). A file matched twice is
        read once.
      - A path or glob that matches nothing fails the task; so does the merged report this task writes
        (in O(report_dir)) being among them.
    type: list
    elements: str
    required: true
  report_dir:
    description: Controller directory for the merged reports (created 0700 when missing); files are replaced atomically.
    type: str
    default: kdump-audit-reports
  formats:
    description: Which reports to write.
    type: list
    elements: str
    choices: [json, junit, markdown, html]
    default: [json, junit, markdown, html]
  summary_max_hosts:
    description: The most not-ready and degraded hosts RV(markdown) lists; the files list all.
    type: int
    default: 50
  previous_report:
    description:
      - Path on the controller of a previous run's C(kdump-audit.json), merged or not; RV(drift) then says what
        changed since. The slices' own drift is not used (each saw only its slice).
    type: str
  min_ready_percent:
    description:
      - The fleet's readiness gate, in percent of the merged hosts. The slices' own
        C(kdump_audit_min_ready_percent) is never used; run them with 0 so that none fails on its own hosts,
        and gate the fleet here.
    type: float
    default: 100
  expected_slices:
    description:
      - How many slices the run has. Fewer matching reports (a slice job that failed before writing) or more
        (one from another run) fail the task before anything is written; without it a missing slice would
        only make a smaller fleet.
    type: int
extends_documentation_fragment:
  - kdump.fleet.attributes
  - kdump.fleet.attributes.read_only
attributes:
  check_mode:
    description: Writes the merged reports on the controller in check mode too; nothing on a host changes.
  diff_mode:
    description: Nothing on a host changes.
seealso:
  - module: kdump.fleet.audit_report
"""

EXAMPLES = r"""
- name: Merge the slices of this run's audit
  kdump.fleet.audit_merge:
    reports:
      - /mnt/kdump-audit/run-1234/slice-*/kdump-audit.json
    report_dir: /mnt/kdump-audit/run-1234/fleet
    previous_report: /mnt/kdump-audit/latest/kdump-audit.json
  register: merged
  run_once: true

- name: Fail when the fleet misses the gate
  ansible.builtin.assert:
    that: merged.gate_passed
    fail_msg: "{{ merged.gate_message }}"
"""

RETURN = r"""
slices:
  description: The slice reports that were merged, in the order read.
  returned: success
  type: list
  elements: str
  sample: [/mnt/kdump-audit/run-1234/slice-1/kdump-audit.json, /mnt/kdump-audit/run-1234/slice-2/kdump-audit.json]
summary:
  description: Fleet counts over every slice, the ready share and the failing/unknown count per check ID.
  returned: success
  type: dict
  sample: {total: 3, ready: 1, degraded: 1, not_ready: 1, ready_percent: 33.3, min_ready_percent: 100.0,
           gate_passed: false, checks: {KDUMP-003: {fail: 1, unknown: 0}}}
gate_passed:
  description: Whether the share of ready hosts in the whole fleet reaches O(min_ready_percent).
  returned: success
  type: bool
  sample: false
gate_message:
  description: One line stating the gate result.
  returned: success
  type: str
  sample: "kdump readiness gate FAILED: 1 of 3 hosts ready (33.3 %), kdump_audit_min_ready_percent is 100"
reports:
  description: Absolute path of each merged report written, by format.
  returned: success
  type: dict
  sample: {json: /mnt/kdump-audit/run-1234/fleet/kdump-audit.json}
markdown:
  description: The Markdown summary of the merged fleet.
  returned: success
  type: str
  sample: "# kdump readiness audit\n\nkdump readiness gate FAILED: 0 of 1 hosts ready ..."
drift:
  description: What changed since O(previous_report), as M(kdump.fleet.audit_report) returns it; null without one.
  returned: success
  type: dict
  sample: {changed: true, newly_not_ready: [], fixed: [], status_changed: [], checks_changed: [], appeared: [],
           disappeared: []}
hosts:
  description: Per host, its status and the reasons it is not ready.
  returned: success
  type: dict
  sample: {web1: {status: ready, reasons: []}}
"""
