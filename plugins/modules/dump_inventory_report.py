#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the work is done by the action plugin plugins/action/dump_inventory_report.py.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: dump_inventory_report
short_description: Merge the hosts' dump listings into the fleet dump inventory and write its reports
version_added: 0.1.0
description:
  - Reads every host's registered M(kdump.fleet.dump_inventory) result from C(hostvars) and writes one
    inventory - every dump in the fleet, newest first, with the host that crashed, when, the kernel, size,
    whether a crash test or a real crash caused it, the panic line and the last kernel messages - as JSON,
    Markdown and a self-contained HTML page into O(report_dir) on the controller.
  - A host whose listing failed or was unreachable is named as not listed; a skipped one (a client whose
    dumps go to a dump server) is counted as such.
  - Runs on the controller as an action plugin; use it once per play (C(run_once)).
author:
  - kdump.fleet maintainers (@kdump-fleet)
options:
  result_var:
    description: The variable each host registered its M(kdump.fleet.dump_inventory) result in.
    type: str
    required: true
  removed_var:
    description: The variable each host set to the list of dump directories retention removed there.
    type: str
  analysis_var:
    description:
      - The variable each analysis host registered its M(kdump.fleet.crash_analysis) result in.
      - Each record joins the dump it read (by the host it is stored on and its path) as C(first_look);
        its raw crash(8) output is written to C(crash/STORED_ON/HOST/DIR-HASH.txt) in O(report_dir). A record of a
        dump that the listing does not show is an error.
    type: str
  report_dir_variable:
    description: The playbook variable O(report_dir) came from; the error for an unwritable directory names it.
    type: str
    default: kdump_dumps_report_dir
  hosts:
    description: The hosts to read; default every host in C(hostvars).
    type: list
    elements: str
  report_dir:
    description: Directory on the controller for the reports (created 0700); relative to the working directory.
    type: str
    default: kdump-dump-reports
  formats:
    description: Which reports to write.
    type: list
    elements: str
    choices: [json, markdown, html]
    default: [json, markdown, html]
  keep:
    description: The retention setting the run used (C(kdump_dumps_keep)), shown in the reports.
    type: int
    default: 0
  apply:
    description: Whether retention removed what it planned (C(kdump_dumps_retention_apply)), shown in the reports.
    type: bool
    default: false
extends_documentation_fragment:
  - kdump.fleet.attributes
  - kdump.fleet.attributes.read_only
attributes:
  check_mode:
    description: Writes the reports on the controller in check mode too; nothing on a host changes.
  diff_mode:
    description: Nothing on a host changes.
seealso:
  - module: kdump.fleet.dump_inventory
"""

EXAMPLES = r"""
- name: List the dumps of every host
  kdump.fleet.dump_inventory:
    path: /var/crash
    inventory_name: "{{ inventory_hostname }}"
  register: dump_listing

- name: Write the fleet dump inventory
  kdump.fleet.dump_inventory_report:
    result_var: dump_listing
    hosts: "{{ ansible_play_hosts_all }}"
    report_dir: "{{ playbook_dir }}/kdump-dumps"
  run_once: true
"""

RETURN = r"""
summary:
  description: Counts - C(dumps), C(hosts), C(real_crashes), C(crash_tests), C(unknown_origin), C(incomplete), C(bytes),
    C(places), C(places_not_listed).
  returned: always
  type: dict
dumps:
  description: Every dump, newest first, as M(kdump.fleet.dump_inventory) returns them plus a one-line C(summary).
  returned: always
  type: list
  elements: dict
retention:
  description: C(keep), C(applied), C(planned) (directories retention would remove) and C(removed).
  returned: always
  type: dict
reports:
  description: Format to the absolute path written.
  returned: always
  type: dict
raw_outputs:
  description: The raw crash(8) output files written, relative to O(report_dir).
  returned: always
  type: list
  elements: str
markdown:
  description: The Markdown report's text.
  returned: always
  type: str
"""
