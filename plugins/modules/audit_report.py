#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the work is done by the action plugin plugins/action/audit_report.py.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: audit_report
short_description: Evaluate kdump readiness checks for a fleet and write the reports on the controller
version_added: 0.1.0
description:
  - Takes the registered results of M(kdump.fleet.kdump_info) for every host of the play, evaluates
    the readiness check catalogue (C(KDUMP-000) to C(KDUMP-016), see C(docs/audit.md)) and writes
    JSON, JUnit XML, Markdown and self-contained HTML reports into O(report_dir) on the controller.
  - Each host is C(ready), C(degraded) (an advisory check failed, or a required one is unknown) or
    C(not_ready) (a required check failed, or the host gave no data because it was unreachable or kdump_info failed).
  - Each check lists the compliance controls it evidences or conflicts with (ComplianceAsCode rules and their
    DISA STIG IDs, each with its source); a failing check a valid documented exception covers is C(excepted).
  - Runs entirely on the controller as an action plugin; use it once per play (C(run_once)).
  - Never fails because hosts are not ready; compare RV(gate_passed) yourself (the
    C(kdump.fleet.audit) role fails the play after the reports are written).
  - The options other than O(results), O(hosts), O(report_dir), O(formats) and O(summary_max_hosts)
    are the role's C(kdump_audit_*) variables without the prefix; when omitted the role's defaults apply.
author:
  - kdump.fleet maintainers (@kdump-fleet)
options:
  results:
    description:
      - Host name to the registered result of M(kdump.fleet.kdump_info) on that host.
      - A missing or null entry, an unreachable result or a failed result makes the host C(not_ready).
      - Give this or O(result_var), not both.
    type: dict
  result_var:
    description:
      - The name of the variable each host registered its M(kdump.fleet.kdump_info) result in; the action
        reads it from C(hostvars) for every host of O(hosts) (every host in C(hostvars) when O(hosts) is
        not given). Saves building a fleet-sized dict in Jinja.
      - Give this or O(results), not both.
    type: str
  hosts:
    description:
      - Every host that should have been audited, normally C(ansible_play_hosts_all).
      - Hosts listed here but absent from O(results) are reported C(not_ready) (unreachable).
    type: list
    elements: str
  report_dir:
    description:
      - Directory for the reports, created when missing. A relative path is taken relative to the
        directory ansible-playbook was started in.
    type: str
    default: kdump-audit-reports
  formats:
    description: Which reports to write.
    type: list
    elements: str
    choices: [json, junit, markdown, html]
    default: [json, junit, markdown, html]
  summary_max_hosts:
    description: At most this many failing hosts are listed in RV(markdown); the saved Markdown lists all.
    type: int
    default: 50
  required_checks:
    description:
      - Check IDs whose failure makes a host C(not_ready); the others are advisory.
      - C(KDUMP-000) is always required.
    type: list
    elements: str
  disabled_checks:
    description: Check IDs not evaluated (reported as not applicable).
    type: list
    elements: str
  reserved_max_ratio:
    description: C(KDUMP-006) fails when the reservation is more than this many times the recommended size.
    type: float
  dump_ratio_filtered:
    description: Estimated dump size as a share of RAM when the dump level excludes user and free pages (bits 8 and 16).
    type: float
  dump_ratio_unfiltered:
    description: Estimated dump size as a share of RAM for any other dump level.
    type: float
  crash_test_max_age_days:
    description: C(KDUMP-014) fails when the last successful crash test is older than this.
    type: int
  unknown_status:
    description: Status of a host whose required check is C(unknown) and none failed.
    type: str
    choices: [degraded, not_ready]
  min_ready_percent:
    description: RV(gate_passed) is true when at least this share of hosts is C(ready).
    type: float
  exceptions:
    description:
      - Documented exceptions, the role's C(kdump_audit_exceptions). Each entry has C(hosts) (a host or group
        pattern, or a list of them, matched against each host's name and the groups it is in, as Ansible
        patterns are), C(check) (a check ID other than C(KDUMP-000)), C(reason), C(approved_by) and C(expires)
        (the last day it is valid, C(YYYY-MM-DD), UTC).
      - A failing check on a matching host is reported C(excepted) and does not count against the host while
        the exception is valid; an expired exception leaves the check failed, and its finding says when the
        exception expired.
      - Checked before anything is evaluated or written; an invalid entry fails the task naming
        C(kdump_audit_exceptions[N]) and the fix.
      - Groups are taken from the play's C(groups).
    type: raw
    default: []
  previous_report:
    description:
      - Path on the controller of a previous run's C(kdump-audit.json) (a relative path is taken relative to
        the directory ansible-playbook was started in). The reports then say what changed since (RV(drift)).
      - Reports of version 1 and 2 are read; a missing file, a file that is no audit report or a report of a
        newer version fails the task before anything is written.
    type: str
extends_documentation_fragment:
  - kdump.fleet.attributes
  - kdump.fleet.attributes.read_only
attributes:
  check_mode:
    description: Evaluates and writes the reports on the controller in check mode too; nothing on a host changes.
  diff_mode:
    description: Nothing on a host changes.
seealso:
  - module: kdump.fleet.kdump_info
"""

EXAMPLES = r"""
- name: Gather kdump facts
  kdump.fleet.kdump_info:
  register: kdump_facts
  ignore_unreachable: true

- name: Evaluate the fleet and write the reports
  kdump.fleet.audit_report:
    result_var: kdump_facts
    hosts: "{{ ansible_play_hosts_all }}"
    report_dir: /srv/reports/kdump
    min_ready_percent: 95
  run_once: true
  delegate_to: localhost
  register: audit

- name: Print the summary
  ansible.builtin.debug:
    msg: "{{ audit.markdown }}"
  run_once: true

- name: Evaluate with documented exceptions and compare with the last run
  kdump.fleet.audit_report:
    result_var: kdump_facts
    hosts: "{{ ansible_play_hosts_all }}"
    report_dir: /srv/reports/kdump
    previous_report: /srv/reports/kdump/kdump-audit.json
    exceptions:
      - hosts: dbservers
        check: KDUMP-013
        reason: "STIG RHEL-09-213115 (service_kdump_disabled) applies to the database tier"
        approved_by: ISSO J. Doe
        expires: "2026-12-31"
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
summary:
  description: Fleet counts, the ready share and the failing/unknown count per check ID.
  returned: success
  type: dict
  sample: {total: 3, ready: 1, degraded: 1, not_ready: 1, ready_percent: 33.3, min_ready_percent: 100.0,
           gate_passed: false, checks: {KDUMP-003: {fail: 1, unknown: 0}}}
gate_passed:
  description: Whether the share of ready hosts reaches O(min_ready_percent).
  returned: success
  type: bool
  sample: false
gate_message:
  description: One line stating the gate result.
  returned: success
  type: str
  sample: "kdump readiness gate FAILED: 1 of 3 hosts ready (33.3 %), kdump_audit_min_ready_percent is 100"
reports:
  description: Absolute path of each report written, by format.
  returned: success
  type: dict
  sample: {json: /work/playbooks/kdump-audit-reports/kdump-audit.json,
           junit: /work/playbooks/kdump-audit-reports/kdump-audit.junit.xml,
           markdown: /work/playbooks/kdump-audit-reports/kdump-audit.md,
           html: /work/playbooks/kdump-audit-reports/kdump-audit.html}
markdown:
  description: The Markdown summary (fleet counts, failing checks, failing hosts with reasons, report paths).
  returned: success
  type: str
  sample: "# kdump readiness audit\n\nkdump readiness gate FAILED: 0 of 1 hosts ready ..."
drift:
  description:
    - What changed since O(previous_report); null without one. The JSON report carries the same under C(drift).
    - C(newly_not_ready) and C(fixed) are subsets of C(status_changed) (hosts in both runs);
      C(checks_changed) lists checks evaluated in both runs whose result changed.
  returned: success
  type: dict
  sample:
    previous: {path: /srv/reports/kdump/kdump-audit.json, version: 2, generated: "2026-11-21T12:00:00+00:00", hosts: 3}
    changed: true
    newly_not_ready:
      - {host: db1, before: ready, after: not_ready, reasons: ["KDUMP-007 no capture kernel is loaded ..."]}
    fixed: [{host: web2, before: degraded, after: ready, reasons: []}]
    status_changed:
      - {host: db1, before: ready, after: not_ready, reasons: ["KDUMP-007 no capture kernel is loaded ..."]}
      - {host: web2, before: degraded, after: ready, reasons: []}
    checks_changed:
      - {host: db1, check: KDUMP-007, title: capture kernel loaded, before: pass, after: fail,
         finding: "no capture kernel is loaded (kexec_crash_loaded = 0): a crash now would not be dumped"}
    appeared: [{host: web9, status: ready}]
    disappeared: [{host: old1, status: not_ready}]
hosts:
  description: Per host, its status and the reasons it is not ready.
  returned: success
  type: dict
  sample:
    web1:
      status: not_ready
      reasons: ["KDUMP-007 no capture kernel is loaded (kexec_crash_loaded = 0): a crash now would not be dumped"]
"""
