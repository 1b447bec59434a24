"""Unit tests of the grubby backend helpers (module_utils/_grubby.py), on real outputs."""

from __future__ import annotations

from ansible_collections.kdump.fleet.plugins.module_utils._crashkernel import parse
from ansible_collections.kdump.fleet.plugins.module_utils._grubby import (
    GrubbyEntry,
    info_argv,
    parse_info,
    remove_argv,
    update_argvs,
)


def test_parse_rocky_9_info_all(load_fixture):
    entries = parse_info(load_fixture("grubby", "rocky-9.1-info-all.txt"))
    assert [e.index for e in entries] == [0, 1, 2, 3]
    first = entries[0]
    assert first == GrubbyEntry(
        index=0,
        kernel="/boot/vmlinuz-5.14.0-162.6.1.el9_1.x86_64",
        args="ro crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M rd.lvm.lv=rl_devmaster1/root net.ifnames=0",
        root="/dev/mapper/rl_devmaster1-root",
        initrd="/boot/initramfs-5.14.0-162.6.1.el9_1.x86_64.img",
        title="Rocky Linux (5.14.0-162.6.1.el9_1.x86_64) 9.1 (Blue Onyx)",
        id="a98618aa1631441dbb52c75a50834a0a-5.14.0-162.6.1.el9_1.x86_64",
    )
    assert entries[3].kernel == "/boot/vmlinuz-0-rescue-a98618aa1631441dbb52c75a50834a0a"
    assert {e.crashkernel for e in entries} == {"1G-4G:192M,4G-64G:256M,64G-:512M"}


def test_parse_almalinux_9_info_all(load_fixture):
    entries = parse_info(load_fixture("grubby", "almalinux-9.4-info-all.txt"))
    assert len(entries) == 4
    assert entries[1].kernel == "/boot/vmlinuz-5.14.0-427.37.1.el9_4.x86_64"
    assert entries[1].title == "AlmaLinux (5.14.0-427.37.1.el9_4.x86_64) 9.4 (Seafoam Ocelot)"
    assert parse(entries[0].crashkernel).size_for(2 << 30) == 192 << 20


def test_parse_an_entry_without_crashkernel(load_fixture):
    (entry,) = parse_info(load_fixture("grubby", "fedora-44-info-kernel-no-crashkernel.txt"))
    assert entry.index == 1
    assert entry.kernel == "/boot/boot/vmlinuz-6.16.7-200.fc42.x86_64"
    assert entry.root == "UUID=15c26993-ac30-424a-9c4b-faec4434d234"
    assert entry.crashkernel is None


def test_parse_old_unquoted_format_and_skips_non_linux_entries():
    # Shape of the pre-BLS grubby (EL7): only args is quoted, and chainloader entries
    # print "non linux entry" under their index. Synthetic input, not a recording.
    text = (
        "index=0\nkernel=/boot/vmlinuz-3.10.0-1160.el7.x86_64\n"
        'args="ro crashkernel=auto rhgb quiet"\nroot=/dev/mapper/centos-root\n'
        "initrd=/boot/initramfs-3.10.0-1160.el7.x86_64.img\ntitle=CentOS Linux (3.10.0-1160.el7.x86_64) 7 (Core)\n"
        "index=1\nnon linux entry\n"
    )
    (entry,) = parse_info(text)
    assert entry.kernel == "/boot/vmlinuz-3.10.0-1160.el7.x86_64"
    assert entry.title == "CentOS Linux (3.10.0-1160.el7.x86_64) 7 (Core)"
    assert entry.crashkernel == "auto"
    assert entry.id is None


def test_parse_empty_output():
    assert parse_info("") == []


def test_update_argvs_remove_first_then_add_every_word():
    value = parse("512M,high 128M,low")
    assert update_argvs("/usr/sbin/grubby", value) == [
        ["/usr/sbin/grubby", "--update-kernel=ALL", "--remove-args=crashkernel"],
        ["/usr/sbin/grubby", "--update-kernel=ALL", "--args=crashkernel=512M,high crashkernel=128M,low"],
    ]
    kernel = "/boot/vmlinuz-5.14.0-427.13.1.el9_4.x86_64"
    assert update_argvs("grubby", parse("1024M"), kernel)[1] == [
        "grubby",
        "--update-kernel=" + kernel,
        "--args=crashkernel=1G",
    ]


def test_remove_and_info_argv():
    assert remove_argv("/usr/sbin/grubby", "DEFAULT") == [
        "/usr/sbin/grubby",
        "--update-kernel=DEFAULT",
        "--remove-args=crashkernel",
    ]
    assert info_argv("/usr/sbin/grubby") == ["/usr/sbin/grubby", "--info=ALL"]
