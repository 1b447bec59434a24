"""The hardening conflict explained (KDUMP-012 kexec_load_disabled, KDUMP-013 masked unit): which policy wins on
the host now, and what to change for either outcome."""

from __future__ import annotations

import importlib.util
import pathlib

import pytest
from ansible_collections.kdump.fleet.plugins.module_utils import _readiness
from ansible_collections.kdump.fleet.plugins.module_utils._fleet_audit import validate_settings
from ansible_collections.kdump.fleet.plugins.module_utils._readiness import FAIL, PASS


def _sibling(name):
    path = pathlib.Path(__file__).with_name(name + ".py")
    spec = importlib.util.spec_from_file_location("kdump_fleet_conflict_tests_" + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TEST_AUDIT = _sibling("test_audit")
LET_HARDENING_WIN = (
    "to let the hardening win, set kdump_enabled: false and run kdump.fleet.kdump (it frees the reserved memory), "
    "then leave the host out of the kdump audit (kdump_audit_hosts or --limit) or record kdump_audit_exceptions "
    "for its failing checks"
)


def run(check_id, info):
    state, problems = _readiness.conformed(info)
    return _readiness.evaluate(_readiness.CHECKS_BY_ID[check_id], state, problems, validate_settings(), TEST_AUDIT.NOW)


def rhel9(**crashkernel):
    info = TEST_AUDIT.ready_info()
    info["family"] = "redhat"
    info["distribution"] = {"id": "rhel", "version": "9.4", "codename": None}
    info["service"]["name"] = "kdump"
    info["crashkernel"].update(crashkernel)
    return info


def not_set_up(info):
    info["service"].update(enabled=False, active=False)
    info["crashkernel"].update(loaded=False, reserved_bytes=0, kexec_crash_size=0, cmdline=None, configured=None)
    return info


# --- KDUMP-012 ------------------------------------------------------------------------------------


def kexec_disabled(info):
    info["sysctl"]["kexec_load_disabled"] = 1
    return info


def test_kexec_disabled_with_a_loaded_capture_kernel_kdump_wins_until_the_next_reload():
    outcome = run("KDUMP-012", kexec_disabled(rhel9()))
    assert outcome.result == FAIL
    assert outcome.finding == (
        "kernel.kexec_load_disabled = 1: no capture kernel can be loaded until the next boot (the one loaded now "
        "still works, but a service restart cannot reload it); kdump is wanted here (the kdump service is enabled, "
        "a capture kernel is loaded, 256 MiB is reserved for a capture kernel) and wins for now, but the hardening "
        "rule sysctl_kernel_kexec_load_disabled (DISA STIG RHEL-09-213020 on RHEL 9) wins from the next kdump "
        "restart on, and at every boot while the setting is in the sysctl configuration; to let kdump win, record "
        "an exception for that rule in the hardening profile, remove kernel.kexec_load_disabled=1 from the sysctl "
        "configuration and reboot; " + LET_HARDENING_WIN
    )
    assert outcome.facts["policy_wins"] == "kdump_until_reload"
    assert outcome.facts["kdump_wanted"][0] == "the kdump service is enabled"


def test_kexec_disabled_without_a_capture_kernel_the_hardening_wins():
    outcome = run("KDUMP-012", kexec_disabled(rhel9(loaded=False)))
    assert outcome.result == FAIL
    assert (
        "; kdump is wanted here (the kdump service is enabled, 256 MiB is reserved for a capture kernel) but the "
        "hardening rule sysctl_kernel_kexec_load_disabled (DISA STIG RHEL-09-213020 on RHEL 9) wins: no capture "
        "kernel is loaded, so a crash now is not dumped; to let kdump win, record an exception for that rule"
    ) in outcome.finding
    assert outcome.finding.endswith(LET_HARDENING_WIN)
    assert outcome.facts["policy_wins"] == "hardening"


def test_kexec_disabled_and_a_pending_reservation_counts_as_wanted():
    info = not_set_up(kexec_disabled(TEST_AUDIT.ready_info()))
    info["crashkernel"]["configured"] = "256M"
    outcome = run("KDUMP-012", info)
    assert "kdump is wanted here (the boot config has crashkernel=256M) but the hardening rule" in outcome.finding
    # Debian: no DISA STIG ID, the rule alone
    assert "hardening rule sysctl_kernel_kexec_load_disabled wins" in outcome.finding


def test_kexec_disabled_where_kdump_is_not_set_up_nothing_conflicts():
    outcome = run("KDUMP-012", not_set_up(kexec_disabled(rhel9())))
    assert outcome.result == FAIL
    assert outcome.finding == (
        "kernel.kexec_load_disabled = 1: no capture kernel can be loaded until the next boot; kdump is not set up "
        "on this host either, so the hardening rule sysctl_kernel_kexec_load_disabled (DISA STIG RHEL-09-213020 on "
        "RHEL 9) is in force and nothing conflicts with it: if that is intended, leave the host out of the kdump "
        "audit; to take dumps here, record an exception for that rule in the hardening profile, remove "
        "kernel.kexec_load_disabled=1 from the sysctl configuration and reboot, then run kdump.fleet.kdump"
    )
    assert outcome.facts["policy_wins"] == "hardening" and outcome.facts["kdump_wanted"] == []


def test_kexec_not_disabled_passes_without_any_of_this():
    outcome = run("KDUMP-012", rhel9())
    assert (outcome.result, outcome.finding) == (PASS, "kernel.kexec_load_disabled = 0")


# --- KDUMP-013 ------------------------------------------------------------------------------------


def masked(info, active=False):
    info["service"].update(masked=True, unit_file_state="masked", enabled=False, active=active)
    return info


def test_masked_with_memory_reserved_the_hardening_wins():
    outcome = run("KDUMP-013", masked(rhel9(loaded=False)))
    assert outcome.result == FAIL
    assert outcome.finding == (
        'kdump is masked, as the hardening rule service_kdump_disabled (DISA STIG RHEL-09-213115 on RHEL 9) ("disable '
        'kdump unless needed") does; kdump is wanted here (256 MiB is reserved for a capture kernel) but the '
        "hardening policy wins: the masked unit cannot start, so no capture kernel is loaded and a crash now is not "
        "dumped; to let kdump win, record an exception for that rule in the hardening profile (or it masks the unit "
        "again), systemctl unmask kdump, set kdump_enabled: true and run kdump.fleet.kdump; " + LET_HARDENING_WIN
    )
    assert outcome.facts["policy_wins"] == "hardening"


@pytest.mark.parametrize(
    ("loaded", "active"),
    [(True, False), (None, True)],  # kexec_crash_loaded says so, or (unread) the unit still runs
)
def test_masked_while_a_capture_kernel_is_loaded_kdump_wins_until_the_next_reboot(loaded, active):
    outcome = run("KDUMP-013", masked(rhel9(loaded=loaded), active=active))
    assert (
        "; kdump wins until the next reboot (a capture kernel is still loaded), then the hardening policy does: the "
        "masked unit will not load one again; to let kdump win, record an exception for that rule"
    ) in outcome.finding
    assert outcome.facts["policy_wins"] == "kdump_until_reboot"


def test_masked_where_kdump_is_not_set_up_nothing_conflicts():
    info = masked(not_set_up(TEST_AUDIT.ready_info()))
    info["distribution"] = {"id": "ubuntu", "version": "22.04", "codename": "jammy"}
    outcome = run("KDUMP-013", info)
    assert outcome.finding == (
        "kdump-tools is masked, as the hardening rule service_kdump_disabled (DISA STIG UBTU-22-213015 on Ubuntu "
        '22.04) ("disable kdump unless needed") does; kdump is not set up on this host either (nothing is reserved '
        "for a capture kernel), so the hardening policy is in force and nothing conflicts with it: if that is "
        "intended, leave the host out of the kdump audit; to take dumps here, record an exception for that rule in "
        "the hardening profile (or it masks the unit again), systemctl unmask kdump-tools, set kdump_enabled: true "
        "and run kdump.fleet.kdump"
    )
    assert outcome.facts["kdump_wanted"] == []


def test_the_remediations_name_both_outcomes():
    for check_id, rule in (("KDUMP-012", "sysctl_kernel_kexec_load_disabled"), ("KDUMP-013", "service_kdump_disabled")):
        remediation = _readiness.CHECKS_BY_ID[check_id].remediation
        assert remediation.startswith(f"to let kdump win: record an exception for hardening rule {rule}")
        assert remediation.endswith("; to let the hardening win: set kdump_enabled: false and run kdump.fleet.kdump")
