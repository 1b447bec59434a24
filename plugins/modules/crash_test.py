#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is documentation only: the work is done by the action plugin of
# the same name (plugins/action/crash_test.py), which runs on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
module: crash_test
short_description: Crash a host on purpose and prove kdump captured a readable dump
description:
  - B(Destructive.) Panics the kernel of the target host through C(/proc/sysrq-trigger). The host reboots
    through the kdump capture kernel; everything running on it is lost. Nothing happens unless O(confirm=true).
  - Before anything changes it refuses the C(local) connection and any host that has the controller's own
    boot id (the control node, or a container on it), runs M(kdump.fleet.kdump_info) and refuses a host whose
    capture kernel is not loaded, that reserves no crash kernel memory, or that has no usable dump target,
    naming each failed check.
  - Then it records the boot id and the dumps already present, syncs the file systems (giving up, without
    crashing, when C(sync) has not finished after 120 seconds, as on a hung network mount), enables sysrq if it
    is off, and schedules C(echo c > /proc/sysrq-trigger) detached (through C(systemd-run), else C(nohup)),
    so the command returns before the kernel dies. A dropped connection at that moment is expected.
  - It waits, with exponential backoff and jitter, for a new boot id, then for the host to stay up (the same
    new boot id on O(stable_checks) checks O(stable_interval) seconds apart), all within O(reboot_timeout).
    The session that carried the trigger is dropped first; over the C(ssh) connection each check also sends
    keepalives (C(ServerAliveInterval=5), C(ServerAliveCountMax=3)), so a check caught by the crash fails after
    about 15 seconds instead of waiting for TCP to give up.
  - It finds the dump that appeared since the trigger, checks that C(makedumpfile --dump-dmesg) can read it
    (after C(makedumpfile -R) for a flattened dump) and that the extracted kernel log shows the sysrq panic,
    and reports the dump's path, size, share of RAM and the timings.
  - It writes the evidence record C(/var/lib/kdump-fleet/last-crash-test.json) (directory 0700, file 0600) on
    the host, on success and on failure whenever the host is reachable; M(kdump.fleet.kdump_info) and the audit
    read it.
  - Every failure ends with a message saying what happened. The wait for the host ends at O(reboot_timeout)
    (one check may still be under way then, for at most the connect timeout plus the keepalives); each
    C(makedumpfile) call of the dump check is bounded by O(validate_timeout) (two calls for a flattened dump).
version_added: 0.1.0
author:
  - kdump.fleet maintainers (@kdump-fleet)
options:
  confirm:
    description:
      - Must be V(true) for anything to happen. The crash test panics the host's kernel on purpose.
    type: bool
    default: false
  reboot_timeout:
    description:
      - Seconds from the trigger until the host must be back and have stayed up.
      - The default allows for slow capture boots and software-emulated lab VMs (a crash there took 138 s
        to come back).
    type: int
    default: 900
  connect_timeout:
    description:
      - Connection timeout in seconds for each check while the host is down. The connection plugin's own
        setting (C(timeout), 10 seconds by default) when unset; restored afterwards.
    type: int
  stable_checks:
    description:
      - How many checks in a row must see the same new boot id before the host counts as back. A kdump
        capture boot reboots once more on its own, so one sighting is not enough.
    type: int
    default: 3
  stable_interval:
    description:
      - Seconds between those checks.
    type: int
    default: 10
  trigger_delay:
    description:
      - Seconds between the detached trigger being scheduled and the crash, so that the command returns first.
    type: int
    default: 2
  console_log_hint:
    description:
      - Free text naming where this host's console log can be read (serial console file, BMC, cloud console).
        It is added to the message when the host does not come back.
    type: str
  work_dir:
    description:
      - Directory on the host for the temporary copy that C(makedumpfile -R) makes of a flattened dump, and the
        extracted kernel log. Both are removed afterwards. Needs free space about the size of the dump.
    type: str
    default: /var/tmp
  validate_timeout:
    description:
      - Seconds each C(makedumpfile) call may take when the dump is checked (C(timeout) is used when the host
        has it). A truncated flattened dump otherwise makes C(makedumpfile -R) wait forever.
    type: int
    default: 900
  dump_server:
    description:
      - NFS and SSH targets. The dump server (an inventory host) the host's dumps land on, or a list of them;
        of a list, the one whose inventory name, C(ansible_host) or C(dump_server_address) is the server of the
        host's configured target (any one when there is only one).
      - The dumps are listed before and after the crash and the new one is checked with C(makedumpfile) there,
        over the server's own connection settings (and its C(ansible_become), else this task's become).
      - Without it a host with a network target is refused before anything changes.
    type: list
    elements: str
  dump_server_path:
    description:
      - The directory on O(dump_server) that receives this host's dump directories. Default for NFS the export
        (plus C(path) on the RHEL family), for SSH C(dump_server_root/NAME) as M(kdump.fleet.dump_server)
        lays it out (C(dump_server_root) of the server, else C(/srv/kdump/dumps); NAME is
        C(dump_server_client_name) of the host, else its inventory name).
    type: str
  progress:
    description:
      - Print one line on the controller as each phase of the wait is seen, with its seconds after the crash -
        trigger sent, host down, capture boot (a dump server target only, whose listing shows the dump being
        written while the host is down), host back, up and stable, dump written, dump verified.
      - The lines go to stderr, so a json or yaml callback's stdout stays theirs. With V(false) they are shown at
        C(-vvv) only. RV(phases) is returned either way.
    type: bool
    default: true
extends_documentation_fragment:
  - kdump.fleet.attributes
  - kdump.fleet.attributes.check_mode_full
  - kdump.fleet.attributes.action_plugin
  - kdump.fleet.attributes.platform
attributes:
  action:
    description: Runs on the controller as an action plugin; it talks to the host over its connection.
  async:
    description: The host goes down during the task.
  bypass_host_loop:
    description: One host per task run.
  check_mode:
    description: Runs every guard (including M(kdump.fleet.kdump_info)) and reports what it would do.
  diff_mode:
    description: Nothing to diff.
  platform:
    description: Linux hosts with kdump (kdump-tools, kdumpctl or SUSE's kdump).
notes:
  - Dumps are found on local dump targets only for now (C(kdump_target.type=local) in the role). Hosts with
    NFS or SSH dump targets are refused before anything happens; see docs/crash-test.md.
  - Times are taken on the host's clock (trigger to dump written) and the controller's monotonic clock (trigger
    to back up).
  - Use the C(kdump.fleet.crash_test) playbook to test a fleet one batch at a time with a summary at the end.
seealso:
  - module: kdump.fleet.kdump_info
  - module: ansible.builtin.reboot
"""

EXAMPLES = r"""
- name: Crash one host on purpose and verify its dump
  kdump.fleet.crash_test:
    confirm: true
  become: true

- name: Slow lab VM, with a pointer to its serial console log
  kdump.fleet.crash_test:
    confirm: true
    reboot_timeout: 1200
    stable_checks: 4
    console_log_hint: "/var/lib/kdump-lab/{{ inventory_hostname }}/console.log on the lab machine"
  become: true
  register: crash

- name: Show how long the dump took to write
  ansible.builtin.debug:
    msg: "{{ crash.dump_path }} written {{ crash.trigger_to_dump_s }} s after the trigger"

- name: See what would happen, changing nothing
  kdump.fleet.crash_test:
    confirm: true
  become: true
  check_mode: true
"""

RETURN = r"""
crashed:
  description: Whether the host was crashed (false for refusals, check mode and a failed trigger).
  returned: always
  type: bool
  sample: true
failed_checks:
  description: The guards that refused the host, each with its name and the reason.
  returned: when a guard refused the host
  type: list
  elements: dict
  sample: [{"check": "capture_kernel_loaded", "msg": "the capture kernel is not loaded ..."}]
boot_id_before:
  description: The host's boot id before the crash.
  returned: when the host was reachable
  type: str
  sample: 0f6f1e0b-3c2e-4c5e-9a43-8c1d7b4f2a10
boot_id_after:
  description: The boot id the host came back with and kept.
  returned: when the host came back and stayed up
  type: str
  sample: 5b7d2d7e-9f0c-4a77-b0a5-2e9c1b3f6d21
boot_ids_seen:
  description: Every new boot id seen while waiting (more than one means the host kept rebooting).
  returned: when the wait timed out
  type: list
  elements: str
  sample: ["5b7d2d7e-9f0c-4a77-b0a5-2e9c1b3f6d21"]
trigger_time:
  description: When the crash was triggered, host clock, ISO 8601 UTC.
  returned: when the trigger ran
  type: str
  sample: "2026-11-22T13:30:02Z"
trigger_via:
  description: How the detached trigger was started (C(systemd-run) or C(nohup)).
  returned: when the trigger command returned before the crash
  type: str
  sample: systemd-run
dump_location:
  description: Where the dumps are looked for.
  returned: in check mode
  type: str
  sample: /var/crash on the host itself
dump:
  description: The new dump, with its format as detected before validation; C(server) is the dump server holding
    it (NFS and SSH targets), null for a dump on the host itself.
  returned: when a new dump was found
  type: dict
  sample: {"path": "/var/crash/202611221330/dump.202611221330", "size": 30094131, "mtime": 1795440680.0,
           "format": "flattened", "location": "/var/crash on the host itself", "server": null}
dump_path:
  description: Path of the new dump.
  returned: when a new dump was found
  type: str
  sample: /var/crash/202611221330/dump.202611221330
dump_bytes:
  description: Size of the new dump in bytes.
  returned: when a new dump was found
  type: int
  sample: 30094131
ram_bytes:
  description: The host's RAM in bytes as reported by kdump_info.
  returned: when the host was crashed
  type: int
  sample: 2147483648
dump_ram_share:
  description: The dump's size as a fraction of RAM (0.014 is 1.4 %).
  returned: when a new dump was found and RAM is known
  type: float
  sample: 0.014
phases:
  description:
    - Each phase of the wait that was seen, with its seconds after the crash (the trigger is sent
      O(trigger_delay) seconds before it). A failed test has the phases it got to.
  returned: when the trigger was sent
  type: dict
  sample: {trigger sent: -2.0, host down: 3.1, capture boot: 44.8, host back: 139.2, up and stable: 170.4,
           dump written: 97.4, dump verified: 181.0}
trigger_to_dump_s:
  description: Seconds from the trigger to the dump file's last write (its mtime), both on the host's clock.
  returned: when a new dump was found
  type: float
  sample: 80.0
trigger_to_up_s:
  description: Seconds from the trigger until the host answered with its new boot id, on the controller's clock.
  returned: when the host came back and stayed up
  type: float
  sample: 138.0
capture_log:
  description:
    - On success, the kernel log lines of the triggered panic, extracted from the dump.
    - When no new dump appeared, the capture boot's journal and the logs kdump left next to the dumps.
  returned: when the host came back
  type: list
  elements: str
  sample: ["[   31.277197] sysrq: Trigger a crash", "[   31.280708] Kernel panic - not syncing: sysrq triggered crash"]
makedumpfile_error:
  description: What makedumpfile said about a dump it could not read.
  returned: when the new dump is not readable
  type: str
  sample: "makedumpfile --dump-dmesg failed (rc=1): check_elf_format: Can't get valid ehdr. | makedumpfile Failed."
evidence:
  description: The evidence record (shape in docs/design.md).
  returned: when the host was crashed or the trigger failed
  type: dict
  sample: {"version": 1, "time": "2026-11-22T13:30:02Z", "kernel": "6.1.0-28-amd64", "result": "success",
           "dump_path": "/var/crash/202611221330/dump.202611221330", "dump_bytes": 30094131,
           "ram_bytes": 2147483648, "trigger_to_dump_s": 80.0, "trigger_to_up_s": 138.0, "message": "..."}
evidence_path:
  description: Where the evidence record is kept on the host.
  returned: when the host was crashed or the trigger failed
  type: str
  sample: /var/lib/kdump-fleet/last-crash-test.json
evidence_written:
  description: Whether the evidence record was written on the host.
  returned: when the host was crashed or the trigger failed
  type: bool
  sample: true
evidence_error:
  description: Why the evidence record could not be written.
  returned: when writing it failed
  type: str
  sample: "mkdir: cannot create directory '/var/lib/kdump-fleet': Permission denied"
elapsed:
  description: Seconds the task took.
  returned: always
  type: int
  sample: 241
"""
