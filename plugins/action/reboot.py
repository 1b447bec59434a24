# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin kdump.fleet.reboot: ansible.builtin.reboot that shows each phase as it happens.

A reboot that applies crashkernel= takes minutes on a server (firmware, memory test, boot loader), and
ansible.builtin.reboot says nothing until it is over. This subclass marks the phases it sees - reboot sent,
host down, host back with a new boot id - and prints each on the controller at once (stderr, so the
json and yaml callbacks' stdout stays theirs), then returns them with their seconds. Everything else,
from the reboot command to the test command, is ansible.builtin.reboot's own.
"""

from __future__ import annotations

import time

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action.reboot import ActionModule as BuiltinReboot
from ansible.utils.display import Display
from ansible_collections.kdump.fleet.plugins.module_utils import _progress as progress

display = Display()


class ActionModule(BuiltinReboot):
    _VALID_ARGS = frozenset(BuiltinReboot._VALID_ARGS | {"progress"})

    def _now(self):
        return time.monotonic()

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        host = task_vars.get("inventory_hostname") or "the host"
        shown = boolean(self._task.args.get("progress", True), strict=False)
        emit = (lambda text: display.display(text, stderr=True)) if shown else display.vvv
        self._phases = progress.Phases("reboot", host, self._now(), emit)
        result = super().run(tmp, task_vars)
        if not self._task.check_mode and self._phases.seen:
            result["phases"] = self._phases.as_dict()
        return result

    def perform_reboot(self, task_vars, distribution):
        result = super().perform_reboot(task_vars, distribution)
        if not result.get("failed"):
            self._phases.mark(progress.REBOOT_SENT, self._now())
        return result

    def check_boot_time(self, distribution, previous_boot_time):
        try:
            super().check_boot_time(distribution, previous_boot_time)
        except ValueError:
            raise  # it answered with the old boot id: not down yet
        except Exception:
            self._phases.mark(progress.HOST_DOWN, self._now())
            raise
        self._phases.mark(progress.HOST_BACK, self._now(), detail="new boot id")
