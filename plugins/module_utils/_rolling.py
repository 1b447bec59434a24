# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rolling batches for the plays that change and reboot hosts; private to the collection.

kdump.fleet.kdump and kdump.fleet.site change hosts in batches: a canary first, then growing batches
(``kdump_serial``, Ansible's ``serial``), and no new batch once more than ``kdump_max_fail_percentage``
of a batch failed. The role's last step is the readiness verdict of the one evaluator, so a host that
is not ready after its batch fails, and with the default of 0 % the next batch never starts.
This module checks those two variables before any host is touched and computes the batches the way
ansible-core does (PlaybookExecutor._get_serialized_batches), so the plan printed is the one that runs.
"""

from __future__ import annotations

import re

DEFAULT_SERIAL = [1, "10%", "25%"]
DEFAULT_MAX_FAIL_PERCENTAGE = 0
_PERCENT = re.compile(r"^([0-9]{1,3})%$")


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def check(serial, max_fail_percentage, serial_name="kdump_serial", max_fail_name="kdump_max_fail_percentage"):
    """(the serial list, errors): each error names the variable and the fix; nothing is guessed."""
    errors = []
    items = serial if isinstance(serial, (list, tuple)) else [serial]
    if not items:
        errors.append("%s is empty: give batch sizes, e.g. [1, '10%%', '25%%'] (the default)" % serial_name)
    normalised = []
    for index, item in enumerate(items):
        where = "%s[%d]" % (serial_name, index) if isinstance(serial, (list, tuple)) else serial_name
        text = item.strip() if isinstance(item, str) else item
        if isinstance(text, str) and text.isdigit():
            text = int(text)
        match = _PERCENT.match(text) if isinstance(text, str) else None
        if _is_int(text) and text >= 1:
            normalised.append(text)
        elif match and 1 <= int(match.group(1)) <= 100:
            normalised.append("%d%%" % int(match.group(1)))
        else:
            errors.append(
                "%s=%r is not a batch size: give a whole number of hosts (1 or more) or a share such as '10%%' "
                "(1%% to 100%%; '100%%' changes every host at once)" % (where, item)
            )
    value = max_fail_percentage
    if isinstance(value, str) and re.match(r"^\s*[0-9]+(\.[0-9]+)?\s*$", value):
        value = float(value)
    if not (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 100):
        errors.append(
            "%s=%r must be a number from 0 to 100: the share of a batch's hosts that may fail before no new "
            "batch starts (0, the default: none may)" % (max_fail_name, max_fail_percentage)
        )
    return normalised, errors


def batch_size(item, total):
    """A serial item's batch size over total hosts, as ansible-core's pct_to_int computes it."""
    if isinstance(item, str) and item.endswith("%"):
        return int((int(item[:-1]) / 100.0) * total) or 1
    return int(item)


def plan(serial, total):
    """The batch sizes ansible-core makes of total hosts with this serial list (the last item repeats)."""
    sizes, left, position = [], total, 0
    while left > 0:
        size = min(batch_size(serial[position], total), left)
        sizes.append(size)
        left -= size
        position = min(position + 1, len(serial) - 1)
    return sizes


def plan_text(serial, total):
    """'1000 hosts in 6 batches: 1, 100, 250, 250, 250, 149' for the run's first lines."""
    sizes = plan(serial, total)
    shown = sizes if len(sizes) <= 12 else sizes[:10] + ["..."] + sizes[-1:]
    return "%d host%s in %d batch%s: %s" % (
        total,
        "" if total == 1 else "s",
        len(sizes),
        "" if len(sizes) == 1 else "es",
        ", ".join(str(size) for size in shown),
    )


def current_batch(hosts_all, remaining, serial):
    """(batch number, batch count, the batch's hosts) of the batch some of whose hosts are ``remaining``.

    hosts_all: the play's hosts in order (ansible_play_hosts_all); remaining: ansible_play_batch, which
    leaves out the batch's hosts that failed, were unreachable or ended (meta: end_host). The whole batch
    is cut from hosts_all by the plan, as ansible-core cut it.
    """
    sizes = plan(serial, len(hosts_all))
    positions = [hosts_all.index(host) for host in remaining if host in hosts_all]
    if not positions:
        return None, len(sizes), list(remaining)
    first, start = min(positions), 0
    for number, size in enumerate(sizes, 1):
        if first < start + size:
            return number, len(sizes), hosts_all[start : start + size]
        start += size
    return len(sizes), len(sizes), list(remaining)


def gate(batch, remaining, states):
    """The health gate after a batch: which of its hosts are ready, await a reboot, or stop the rollout.

    batch: every host of the batch; remaining: those still in the play (the others failed, were
    unreachable, or ended the play awaiting a reboot). states: host -> {"verdict": the role's readiness
    verdict or None, "reboot_required": bool, "check_mode": bool}. A host awaiting a reboot that
    kdump_reboot_ok did not allow is not a failure: it was asked for.
    """
    ready, waiting, problems = [], [], []
    for host in batch:
        state = states.get(host) or {}
        verdict = state.get("verdict")
        if state.get("reboot_required"):
            waiting.append(host)
        elif host not in remaining:
            problems.append("%s: did not get through the role (unreachable or failed; its error is above)" % host)
        elif state.get("check_mode"):
            ready.append(host)
        elif not isinstance(verdict, dict):
            problems.append(
                "%s: not verified (the role's kdump_verify step did not run; the rolling gate needs it)" % host
            )
        elif verdict.get("ready"):
            ready.append(host)
        else:
            problems.append("%s: %s" % (host, verdict.get("message") or "not ready"))
    return {"ready": ready, "awaiting_reboot": waiting, "problems": problems, "passed": not problems}
