# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the kdump.fleet.crash_test playbook: host selection, batch stop rule, fleet summary and verdict."""

from __future__ import annotations

from ansible.errors import AnsibleError, AnsibleFilterError
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible_collections.kdump.fleet.plugins.module_utils import _crash_test_fleet as fleet
from ansible_collections.kdump.fleet.plugins.module_utils import _progress


def _inventory(groups):
    """An in-memory inventory with the play's hosts and groups (what ansible.builtin.inventory_hostnames does)."""
    if not isinstance(groups, dict):
        raise AnsibleFilterError(
            "crash_test_selection expects the groups magic variable, got %s" % type(groups).__name__
        )
    manager = InventoryManager(DataLoader(), parse=False)
    for group, members in groups.items():
        manager.add_group(group)
        for host in members or []:
            manager.add_host(host, group=group)
    return manager


def crash_test_selection(
    spec, groups, *, confirm=False, confirm_count=None, serial=1, max_fail_percentage=0, report_file=None
):
    """Check kdump_crash_test_hosts against the inventory; returns {hosts, errors}."""
    manager = _inventory(groups)

    def names(pattern):
        try:
            return [host.name for host in manager.get_hosts(pattern=pattern)]
        except AnsibleError as exc:
            raise ValueError(str(exc)) from None

    hosts = list(groups.get("all") or [])
    for members in groups.values():
        hosts.extend(host for host in members or [] if host not in hosts)
    return fleet.select_hosts(
        spec,
        match=names,
        select=names,
        hosts=hosts,
        groups=[name for name in groups if name != "ungrouped"],
        confirm=confirm,
        confirm_count=confirm_count,
        serial=serial,
        max_fail=max_fail_percentage,
        report_file=report_file,
    )


def crash_test_summary(hosts, results, check_mode=False):
    """One summary dict per host from its registered kdump.fleet.crash_test result."""
    if not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError("crash_test_summary expects a list of host names, got %s" % type(hosts).__name__)
    return fleet.summary_rows(list(hosts), results, bool(check_mode))


def crash_test_timings(rows):
    """The per-host timing table of the summary rows: one line per host, seconds after the crash per phase."""
    if not isinstance(rows, (list, tuple)):
        raise AnsibleFilterError("crash_test_timings expects the rows of crash_test_summary")
    return _progress.timing_table(list(rows), _progress.CRASH_TEST_PHASES)


def crash_test_verdict(rows, check_mode=False):
    """{passed, not_passed, msg} for the rows crash_test_summary returned."""
    return fleet.verdict(list(rows or []), bool(check_mode))


def crash_test_report(rows, serial=1, check_mode=False):
    """The JSON document of kdump_crash_test_report_file: format, serial, verdict and each host's row."""
    if not isinstance(rows, (list, tuple)):
        raise AnsibleFilterError("crash_test_report expects the rows of crash_test_summary")
    return fleet.report(list(rows), serial, bool(check_mode))


def crash_test_stop_batches(results, max_fail_percentage=0, check_mode=False):
    """True when no new batch may start (more than max_fail_percentage of the tested hosts failed)."""
    try:
        return fleet.stop_batches(list(results or []), max_fail_percentage, bool(check_mode))
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    """kdump.fleet crash-test fleet filters."""

    def filters(self):
        return {
            "crash_test_selection": crash_test_selection,
            "crash_test_summary": crash_test_summary,
            "crash_test_verdict": crash_test_verdict,
            "crash_test_stop_batches": crash_test_stop_batches,
            "crash_test_timings": crash_test_timings,
            "crash_test_report": crash_test_report,
        }
