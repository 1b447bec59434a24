"""Unit tests of the GRUB drop-in backend (module_utils/_grub.py).

The drop-in is checked the way grub-mkconfig uses it: the real /bin/sh sources a
real Debian /etc/default/grub, the real kdump-tools.cfg of the kdump-tools package
and our drop-in, in glob order.
"""

from __future__ import annotations

import subprocess

import pytest
from ansible_collections.kdump.fleet.plugins.module_utils._crashkernel import find_in_cmdline, parse
from ansible_collections.kdump.fleet.plugins.module_utils._grub import (
    MANAGED_MARKER,
    boot_args_by_release,
    effective_cmdline_script,
    effective_crashkernel,
    parse_effective_output,
    parse_grub_cfg,
    regenerate_argv,
    render_dropin,
    sources_dropins,
)

PACKAGE_DEFAULT = "384M-:128M"  # what Debian's kdump-tools.cfg appends


@pytest.fixture
def etc_default(tmp_path, load_fixture):
    """A Debian 12 /etc/default with grub and the kdump-tools package's drop-in."""
    root = tmp_path / "etc" / "default"
    (root / "grub.d").mkdir(parents=True)
    (root / "grub").write_text(load_fixture("grub", "debian12-grub2-common_2.06-13+deb12u2.default-grub"))
    (root / "grub.d" / "kdump-tools.cfg").write_text(load_fixture("grub", "kdump-tools_1.8.1.cfg"))
    return root


def effective(etc_default):
    """Run effective_cmdline_script() with the real /bin/sh, from an unrelated cwd."""
    done = subprocess.run(
        ["/bin/sh", "-c", effective_cmdline_script(str(etc_default))],
        capture_output=True,
        text=True,
        check=True,
        cwd=etc_default.parent,
    )
    return done.stdout


def write_ours(etc_default, value):
    (etc_default / "grub.d" / "zz-kdump-fleet.cfg").write_text(render_dropin(value))


def test_without_our_dropin_the_package_default_is_effective(etc_default):
    out = effective(etc_default)
    assert parse_effective_output(out) == {
        "GRUB_CMDLINE_LINUX": "",
        "GRUB_CMDLINE_LINUX_DEFAULT": "quiet crashkernel=384M-:128M",
    }
    assert effective_crashkernel(out) == PACKAGE_DEFAULT


@pytest.mark.parametrize("value", ["256M", "1G-4G:192M,4G-64G:256M,64G-:512M@16M", "512M,high 128M,low"])
def test_our_dropin_wins_over_the_kdump_tools_package(etc_default, value):
    write_ours(etc_default, parse(value).render())
    out = effective(etc_default)
    variables = parse_effective_output(out)
    assert effective_crashkernel(out) == value
    words = " ".join(variables.values()).split()
    assert sorted(w for w in words if w.startswith("crashkernel=")) == sorted(parse(value).kernel_args())
    assert "crashkernel=" + PACKAGE_DEFAULT not in words
    assert variables["GRUB_CMDLINE_LINUX_DEFAULT"].startswith("quiet ")


def test_dropin_strips_crashkernel_from_both_variables_and_keeps_the_rest(etc_default):
    grub = etc_default / "grub"
    grub.write_text(
        grub.read_text().replace(
            'GRUB_CMDLINE_LINUX=""',
            'GRUB_CMDLINE_LINUX="crashkernel=1G console=ttyS0,115200n8 crashkernel=2G,high  net.ifnames=0"',
        )
    )
    write_ours(etc_default, "256M")
    variables = parse_effective_output(effective(etc_default))
    # Only crashkernel= words go; the rest, spacing included, is left as the admin wrote it.
    assert variables["GRUB_CMDLINE_LINUX"] == "console=ttyS0,115200n8  net.ifnames=0"
    assert variables["GRUB_CMDLINE_LINUX_DEFAULT"] == "quiet crashkernel=256M"


def test_absent_dropin_only_strips(etc_default):
    write_ours(etc_default, None)
    out = effective(etc_default)
    assert effective_crashkernel(out) is None
    assert parse_effective_output(out)["GRUB_CMDLINE_LINUX_DEFAULT"] == "quiet"


def test_dropin_appends_without_a_leading_space_when_default_is_empty(etc_default):
    grub = etc_default / "grub"
    grub.write_text(grub.read_text().replace('GRUB_CMDLINE_LINUX_DEFAULT="quiet"', 'GRUB_CMDLINE_LINUX_DEFAULT=""'))
    (etc_default / "grub.d" / "kdump-tools.cfg").unlink()
    write_ours(etc_default, "256M")
    assert parse_effective_output(effective(etc_default))["GRUB_CMDLINE_LINUX_DEFAULT"] == "crashkernel=256M"


def test_dropin_never_glob_expands_other_words(etc_default):
    (etc_default.parent / "quiet").write_text("")  # a file a glob would match from cwd
    grub = etc_default / "grub"
    grub.write_text(grub.read_text().replace('GRUB_CMDLINE_LINUX_DEFAULT="quiet"', 'GRUB_CMDLINE_LINUX_DEFAULT="q*et"'))
    write_ours(etc_default, "256M")
    assert parse_effective_output(effective(etc_default))["GRUB_CMDLINE_LINUX_DEFAULT"] == "q*et crashkernel=256M"


def test_a_later_file_can_still_override_and_the_reader_sees_it(etc_default):
    write_ours(etc_default, "256M")
    (etc_default / "grub.d" / "zzz-local.cfg").write_text(
        'GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT crashkernel=1G"\n'
    )
    assert find_in_cmdline(parse_effective_output(effective(etc_default))["GRUB_CMDLINE_LINUX_DEFAULT"]) == "256M 1G"


def test_reader_ignores_what_sourced_files_print(etc_default):
    (etc_default / "grub.d" / "00-noisy.cfg").write_text("echo GRUB_CMDLINE_LINUX=noise\n")
    out = effective(etc_default)
    assert parse_effective_output(out)["GRUB_CMDLINE_LINUX"] == ""


def test_reader_copes_with_a_missing_grub_d(tmp_path):
    root = tmp_path / "default"
    root.mkdir()
    (root / "grub").write_text('GRUB_CMDLINE_LINUX="crashkernel=128M"\n')
    assert effective_crashkernel(effective(root)) == "128M"


def test_rendered_dropin_starts_with_the_managed_header():
    text = render_dropin("256M")
    assert text.startswith(MANAGED_MARKER)
    assert text.endswith("\n")
    assert text.count("crashkernel=256M") == 1
    assert "crashkernel=256M" not in render_dropin(None)


@pytest.mark.parametrize("value", ['256M"; rm -rf /; "', "256M$(id)", "256M`id`", "256M\nX=1"])
def test_render_refuses_values_that_could_escape_the_shell(value):
    with pytest.raises(ValueError, match="refusing"):
        render_dropin(value)


def test_parse_effective_output_ignores_other_lines():
    out = "junk\nGRUB_CMDLINE_LINUX=a=b c\nGRUB_CMDLINE_LINUX_DEFAULT=\n"
    assert parse_effective_output(out) == {"GRUB_CMDLINE_LINUX": "a=b c", "GRUB_CMDLINE_LINUX_DEFAULT": ""}


def test_effective_crashkernel_reads_linux_before_default():
    out = "GRUB_CMDLINE_LINUX=crashkernel=512M,high\nGRUB_CMDLINE_LINUX_DEFAULT=quiet crashkernel=128M,low\n"
    assert effective_crashkernel(out) == "512M,high 128M,low"


def bins(*names):
    return lambda name: "/usr/sbin/" + name if name in names else None


def test_regenerate_prefers_update_grub():
    assert regenerate_argv(bins("update-grub", "grub-mkconfig"), lambda p: False) == ["/usr/sbin/update-grub"]


def test_regenerate_falls_back_to_grub_mkconfig():
    assert regenerate_argv(bins("grub-mkconfig"), lambda p: False) == [
        "/usr/sbin/grub-mkconfig",
        "-o",
        "/boot/grub/grub.cfg",
    ]


def test_regenerate_with_grub2_mkconfig_picks_the_existing_config():
    assert regenerate_argv(bins("grub2-mkconfig"), lambda p: p == "/boot/grub2/grub.cfg")[-1] == "/boot/grub2/grub.cfg"
    efi = "/boot/efi/EFI/centos/grub.cfg"
    assert regenerate_argv(bins("grub2-mkconfig"), lambda p: p == efi) == ["/usr/sbin/grub2-mkconfig", "-o", efi]


def test_regenerate_without_any_tool():
    assert regenerate_argv(bins(), lambda p: True) is None


def test_sources_dropins_sees_debians_loop_and_nothing_else(load_fixture):
    debian = load_fixture("grub", "debian12-grub-common_2.06-13+deb12u2.grub-mkconfig-defaults-excerpt")
    without = load_fixture("grub", "without-dropin-loop.grub-mkconfig-defaults-excerpt")
    assert sources_dropins(debian)
    assert not sources_dropins(without)
    assert not sources_dropins(None, "")
    # a comment that only names the directory is not a loop
    assert not sources_dropins("# settings may also go to /etc/default/grub.d/*.cfg\n")
    assert sources_dropins(None, "for f in /etc/default/grub.d/*.cfg; do . $f; done\n")


# --- grub.cfg as grub-mkconfig wrote it on the lab VMs ------------------------------------------


@pytest.mark.parametrize(
    "fixture, release",
    [("debian12-grub.cfg", "6.1.0-50-amd64"), ("debian13-grub.cfg", "6.12.117+deb13-amd64")],
)
def test_grub_cfg_entries_of_the_lab_vms(load_fixture, fixture, release):
    entries = parse_grub_cfg(load_fixture("lab", "network-run/" + fixture))
    # The simple entry, the advanced one and the recovery one, all the same kernel.
    assert [(e.release, e.recovery) for e in entries] == [(release, False), (release, False), (release, True)]
    assert entries[0].title == "Debian GNU/Linux"
    assert entries[0].crashkernel == "1G-:192M"
    assert entries[2].title.endswith("(recovery mode)")
    # Recovery entries get GRUB_CMDLINE_LINUX only: no crashkernel from the drop-in.
    assert entries[2].crashkernel is None
    assert boot_args_by_release(entries) == {release: entries[0].args}
    assert entries[0].args.startswith("root=UUID=") and entries[0].args.endswith("crashkernel=1G-:192M")


def test_grub_cfg_with_a_later_kernel_and_a_separate_boot_partition():
    text = (
        "menuentry 'Debian GNU/Linux' --class debian {\n"
        "\tlinux\t/vmlinuz-6.1.0-51-amd64 root=/dev/vda1 ro quiet\n}\n"
        "submenu 'Advanced options for Debian GNU/Linux' {\n"
        '\tmenuentry "Debian GNU/Linux, with Linux 6.1.0-51-amd64" {\n'
        "\t\tlinux\t/vmlinuz-6.1.0-51-amd64 root=/dev/vda1 ro quiet\n\t}\n"
        "\tmenuentry 'Debian GNU/Linux, with Linux 6.1.0-50-amd64' {\n"
        "\t\tlinux\t/vmlinuz-6.1.0-50-amd64 root=/dev/vda1 ro quiet crashkernel=256M\n\t}\n"
        "}\n"
        "menuentry 'UEFI Firmware Settings' { fwsetup }\n"
    )
    entries = parse_grub_cfg(text)
    assert [e.release for e in entries] == ["6.1.0-51-amd64", "6.1.0-51-amd64", "6.1.0-50-amd64"]
    assert boot_args_by_release(entries) == {
        "6.1.0-51-amd64": "root=/dev/vda1 ro quiet",
        "6.1.0-50-amd64": "root=/dev/vda1 ro quiet crashkernel=256M",
    }
    assert parse_grub_cfg("") == []


def test_grub_cfg_recovery_by_id_and_signed_efi_kernels():
    # A translated recovery title; grub 2.06's 10_linux may boot vmlinuz-RELEASE.efi.signed.
    text = (
        "menuentry 'Debian GNU/Linux' --class debian $menuentry_id_option 'gnulinux-simple-3978' {\n"
        "\tlinux\t/boot/vmlinuz-6.1.0-50-amd64.efi.signed root=/dev/vda1 ro crashkernel=256M\n}\n"
        "menuentry 'Debian GNU/Linux, avec Linux 6.1.0-50-amd64 (mode de depannage)' --class debian "
        "$menuentry_id_option 'gnulinux-6.1.0-50-amd64-recovery-3978' {\n"
        "\tlinux\t/boot/vmlinuz-6.1.0-50-amd64 root=/dev/vda1 ro single\n}\n"
    )
    entries = parse_grub_cfg(text)
    assert [(e.release, e.recovery) for e in entries] == [("6.1.0-50-amd64", False), ("6.1.0-50-amd64", True)]
    assert boot_args_by_release(entries) == {"6.1.0-50-amd64": "root=/dev/vda1 ro crashkernel=256M"}
