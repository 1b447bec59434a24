#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the work is done by the action plugin plugins/action/reboot.py.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: reboot
short_description: Reboot a host like ansible.builtin.reboot, showing each phase as it happens
version_added: 0.1.0
description:
  - M(ansible.builtin.reboot) with live progress - as it sees them, it prints one line per phase on the
    controller (reboot sent, host down, host back with a new boot id) with the seconds since the task began,
    and returns them in RV(phases). The kdump role reboots with it, so a fleet rollout shows where each host is.
  - Every option of M(ansible.builtin.reboot) is taken and works as there; only the most used are listed here.
author:
  - kdump.fleet maintainers (@kdump-fleet)
options:
  msg:
    description: Message to display to users before the reboot.
    type: str
    default: Reboot initiated by Ansible
  reboot_timeout:
    description: Seconds to wait for the host to reboot and answer the test command.
    type: int
    default: 600
  connect_timeout:
    description: Seconds to wait for each connection attempt before retrying.
    type: int
  progress:
    description:
      - Print each phase on the controller as it is seen (stderr, so a json or yaml callback's stdout stays
        theirs). With V(false) the lines are shown at C(-vvv) only; RV(phases) is returned either way.
    type: bool
    default: true
extends_documentation_fragment:
  - kdump.fleet.attributes
  - kdump.fleet.attributes.check_mode_full
  - kdump.fleet.attributes.action_plugin
  - kdump.fleet.attributes.platform
attributes:
  check_mode:
    description: Reports a reboot without rebooting, as M(ansible.builtin.reboot) does.
  diff_mode:
    description: Nothing to show a difference of.
  async:
    description: The host goes down during the task.
  platform:
    description: The hosts M(ansible.builtin.reboot) reboots.
seealso:
  - module: ansible.builtin.reboot
"""

EXAMPLES = r"""
- name: Reboot so the kernel reserves the crash kernel memory
  kdump.fleet.reboot:
    msg: "kdump.fleet: reboot to apply crashkernel=256M"
    reboot_timeout: 900
# reboot web1: reboot sent, 1 s
# reboot web1: host down, 4 s
# reboot web1: host back, 96 s; new boot id
"""

RETURN = r"""
rebooted:
  description: Whether the host rebooted (as M(ansible.builtin.reboot) returns it).
  returned: always
  type: bool
  sample: true
elapsed:
  description: Seconds the reboot took (as M(ansible.builtin.reboot) returns it).
  returned: always
  type: int
  sample: 96
phases:
  description: Each phase that was seen, with its seconds since the task began.
  returned: when the reboot command was sent
  type: dict
  sample: {reboot sent: 0.8, host down: 4.1, host back: 96.3}
"""
