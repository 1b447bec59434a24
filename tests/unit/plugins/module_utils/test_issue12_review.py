"""Adversarial review of issue 12 ("Hostile and broken input"): cases found after the fixes that are not refused.

The two holes it found (empty system directories below /usr/local and /etc, reservations no capture
kernel fits in) were strict xfails until they were closed; they are plain tests now. Cases that are
refused as they should be are tests here only when no other test covers them.
"""

from __future__ import annotations

import pytest
from ansible_collections.kdump.fleet.plugins.module_utils import _crashkernel, _dump_model, _role_checks

GIB = 1024**3
# An existing empty directory of root, mode 0755: what the validate step's stat and find report.
EMPTY_ROOT_0755 = {"exists": True, "isdir": True, "islnk": False, "uid": 0, "pw_name": "root", "mode": "0755"}

# System directories that are empty on a fresh Debian 12 / RHEL 9 and are not on the model's list: the
# host check takes an empty root-owned directory for a dump directory, so the config step would make it
# root:root 0700 (class 1: "the role can change the mode of a system directory"). /usr/local/bin losing
# its x bit for others breaks every program installed there later for every user but root.
EMPTY_SYSTEM_DIRECTORIES = ["/usr/local/bin", "/usr/local/sbin", "/usr/local/include", "/usr/local/src", "/etc/opt"]


# Closed: the model refuses every directory below the system trees (_dump_model.SYSTEM_TREES).
@pytest.mark.parametrize("path", EMPTY_SYSTEM_DIRECTORIES)
def test_an_empty_system_directory_is_not_made_root_only(path):
    refused_by_model = _dump_model.validate({"kdump_path": path}, "debian")
    refused_on_host = _role_checks.dump_dir_problems(path, path, EMPTY_ROOT_0755, entries=[])
    assert refused_by_model or refused_on_host


@pytest.mark.parametrize("path", ["/usr/local", "/etc", "/var/lib/kdump", "/boot/efi", "/var/lock/crash"])
def test_the_listed_ones_and_the_trees_are_refused_on_the_host(path):
    # /var/lock is a symlink to /run/lock: the host check sees the resolved path
    resolved = path.replace("/var/lock", "/run/lock")
    assert _role_checks.dump_dir_problems(path, resolved, EMPTY_ROOT_0755, entries=[])


# Closed: the module refuses a reservation below _crashkernel.MIN_CAPTURE_BYTES (64M).
@pytest.mark.parametrize("value", ["1", "256K", "1M"])
def test_a_reservation_no_capture_kernel_fits_in_is_refused(value):
    with pytest.raises(_crashkernel.CrashkernelError):
        _crashkernel.parse(value).reservation(2 * GIB, [(0x100000, 2 * GIB)])


@pytest.mark.parametrize(
    "value",
    ["256M quiet", "256M$(reboot)", '256M"', "256M'", "256M;reboot", "256M\x00", "-1M", "256M,", "256MM", "1e3M"],
)
def test_a_value_that_would_add_words_or_quotes_to_the_command_line_is_refused(value):
    # the GRUB drop-in is sourced by sh and the value ends up on the kernel command line
    with pytest.raises(_crashkernel.CrashkernelError):
        _crashkernel.parse(value)
