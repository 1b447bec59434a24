"""Unit tests of the kdump.fleet.crashkernel module, called the way Ansible calls it.

Host files (/proc, /sys, /etc/default) are real files in a tmp_path tree. Commands go
through a patched AnsibleModule.run_command: `/bin/sh` is really run (so the GRUB
drop-in is really sourced), grubby/kdumpctl are small stateful fakes seeded from real
`grubby --info` outputs, update-grub is only recorded.
"""

from __future__ import annotations

import shlex
import subprocess
from unittest import mock

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible_collections.kdump.fleet.plugins.module_utils._crashkernel import find_in_cmdline
from ansible_collections.kdump.fleet.plugins.module_utils._grub import MANAGED_MARKER
from ansible_collections.kdump.fleet.plugins.module_utils._grubby import parse_info
from ansible_collections.kdump.fleet.plugins.modules import crashkernel as module

M = 1 << 20
GRUBBY = "/usr/sbin/grubby"
KDUMPCTL = "/usr/bin/kdumpctl"
UPDATE_GRUB = "/usr/sbin/update-grub"
EL9_DEFAULT = "1G-4G:192M,4G-64G:256M,64G-:512M"
DEBIAN_MKCONFIG = "debian12-grub-common_2.06-13+deb12u2.grub-mkconfig-defaults-excerpt"
NO_DROPIN_MKCONFIG = "without-dropin-loop.grub-mkconfig-defaults-excerpt"
GRUB2_MKCONFIG = "/usr/sbin/grub2-mkconfig"
OPENSUSE_DEFAULT_GRUB = "opensuse.bootkitd-grub_full.default-grub"
OPENQA_KDUMP_DEFAULT_GRUB = "opensuse.openqa-kdump-sed.default-grub"


class Host:
    """A tmp_path tree standing in for /, plus the fake tools the module may call."""

    def __init__(self, tmp_path, load_fixture, monkeypatch, fake_run_command):
        self.root = tmp_path
        self.load_fixture = load_fixture
        self.proc = tmp_path / "proc"
        self.sys_kernel = tmp_path / "sys" / "kernel"
        self.etc_default = tmp_path / "etc" / "default"
        for directory in (self.proc, self.sys_kernel, self.etc_default / "grub.d"):
            directory.mkdir(parents=True)
        monkeypatch.setattr(module, "PROC_DIR", str(self.proc))
        monkeypatch.setattr(module, "SYS_DIR", str(tmp_path / "sys"))
        monkeypatch.setattr(module, "ETC_DEFAULT_DIR", str(self.etc_default))
        self.boot = tmp_path / "boot"
        monkeypatch.setattr(module, "BOOT_DIR", str(self.boot))
        monkeypatch.setattr(module.platform, "machine", lambda: "x86_64")
        # Real recordings of the 24 GiB development VM (root and non-root views).
        (self.proc / "iomem").write_text(load_fixture("proc", "debian12-firecracker/iomem"))
        (self.proc / "meminfo").write_text(load_fixture("proc", "debian12-firecracker/meminfo"))
        self.set_cmdline(None)
        (self.sys_kernel / "kexec_crash_size").write_text("0\n")
        self.bins = {}
        monkeypatch.setattr(AnsibleModule, "get_bin_path", self._get_bin_path)
        self.grubby_entries = []
        self.kdumpctl_default = None
        self.fail = {}
        self.commands = fake_run_command([(lambda argv: True, self._answer)])
        monkeypatch.setattr(AnsibleModule, "run_command", self.commands)

    # -- host state -------------------------------------------------------------

    def set_cmdline(self, crashkernel):
        words = ["BOOT_IMAGE=/boot/vmlinuz-6.1.0-28-amd64", "root=UUID=0f3c", "ro", "quiet"]
        if crashkernel:
            words += ["crashkernel=" + part for part in crashkernel.split()]
        (self.proc / "cmdline").write_text(" ".join(words) + "\n")

    def debian(self, with_kdump_tools=True):
        """Debian 12 GRUB defaults, optionally with the kdump-tools package's drop-in."""
        (self.etc_default / "grub").write_text(
            self.load_fixture("grub", "debian12-grub2-common_2.06-13+deb12u2.default-grub")
        )
        if with_kdump_tools:
            (self.etc_default / "grub.d" / "kdump-tools.cfg").write_text(
                self.load_fixture("grub", "kdump-tools_1.8.1.cfg")
            )
        # Debian's grub-mkconfig reads the drop-ins (the part of it that does, recorded).
        self.bins = {"update-grub": UPDATE_GRUB, "grub-mkconfig": self.mkconfig(DEBIAN_MKCONFIG)}

    def suse(self, fixture=OPENSUSE_DEFAULT_GRUB):
        """openSUSE: a real /etc/default/grub, no grub.d, grub2-mkconfig writing /boot/grub2/grub.cfg."""
        self.default_grub.write_text(self.load_fixture("grub", fixture))
        (self.etc_default / "grub.d").rmdir()
        (self.boot / "grub2").mkdir(parents=True)
        self.grub2_cfg.write_text("# written by grub2-mkconfig\n")
        self.bins = {"grub2-mkconfig": GRUB2_MKCONFIG}

    @property
    def default_grub(self):
        return self.etc_default / "grub"

    @property
    def grub2_cfg(self):
        return self.boot / "grub2" / "grub.cfg"

    def mkconfig(self, fixture):
        path = self.root / "usr" / "sbin" / "grub-mkconfig"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.load_fixture("grub", fixture))
        return str(path)

    def el9(self, fixture="rocky-9.1-info-all.txt", kdumpctl_default=None):
        """An EL9 host whose boot entries start as a real `grubby --info=ALL`."""
        self.grubby_entries = [entry._asdict() for entry in parse_info(self.load_fixture("grubby", fixture))]
        self.bins = {"grubby": GRUBBY}
        if kdumpctl_default is not None:
            self.bins["kdumpctl"] = KDUMPCTL
            self.kdumpctl_default = kdumpctl_default

    @property
    def dropin(self):
        return self.etc_default / "grub.d" / "zz-kdump-fleet.cfg"

    def argvs(self, program):
        return self.commands.argvs(program)

    def entry_values(self):
        return [find_in_cmdline(entry["args"]) for entry in self.grubby_entries]

    # -- fakes ---------------------------------------------------------------------

    def _get_bin_path(self, name, required=False, opt_dirs=None):
        path = self.bins.get(name)
        if path is None and required:
            pytest.fail("module asked for missing required binary " + name)
        return path

    def _answer(self, argv):
        program = argv[0].rsplit("/", 1)[-1]
        if program in self.fail:
            return self.fail[program]
        if argv[0] == "/bin/sh":
            done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=self.root)
            return done.returncode, done.stdout, done.stderr
        if program == "grubby":
            return self._grubby(argv[1:])
        if program == "kdumpctl":
            return self._kdumpctl(argv[1:])
        return 0, "", ""

    def _selected(self, kernel):
        return [e for e in self.grubby_entries if kernel == "ALL" or e["kernel"] == kernel]

    def _grubby(self, options):
        opts = dict(option.split("=", 1) for option in options)
        if "--info" in opts:
            lines = []
            for entry in self._selected(opts["--info"]):
                lines.append(f"index={entry['index']}")
                lines += [f'{key}="{entry[key]}"' for key in ("kernel", "args", "root", "initrd", "title", "id")]
            return 0, "\n".join(lines) + "\n", ""
        for entry in self._selected(opts["--update-kernel"]):
            words = entry["args"].split()
            if opts.get("--remove-args") == "crashkernel":
                words = [w for w in words if not w.startswith("crashkernel=")]
            # Like grubby-bls: drop every word whose key is added, then append them all.
            added = opts.get("--args", "").split()
            keys = {new.split("=", 1)[0] for new in added}
            words = [w for w in words if w.split("=", 1)[0] not in keys] + added
            entry["args"] = " ".join(words)
        return 0, "", ""

    def _kdumpctl(self, args):
        if args == ["get-default-crashkernel"]:
            return 0, self.kdumpctl_default, ""
        if args[0] == "reset-crashkernel":
            kernel = args[1].split("=", 1)[1]
            self._grubby(["--update-kernel=" + kernel, "--args=crashkernel=" + self.kdumpctl_default])
            # The module ignores what reset-crashkernel prints; answer with a real output.
            return 0, self.load_fixture("kdumpctl", "fedora-44-reset-crashkernel.stdout"), ""
        return 1, "", "unknown command"


@pytest.fixture
def host(tmp_path, load_fixture, monkeypatch, fake_run_command):
    return Host(tmp_path, load_fixture, monkeypatch, fake_run_command)


def run(run_module, args, **kwargs):
    return run_module(module.main, args, **kwargs)


# -- GRUB drop-in (Debian/Ubuntu) ---------------------------------------------------


def test_dropin_present_sets_value_and_regenerates(host, run_module):
    host.debian()
    host.set_cmdline("384M-:128M")
    (host.sys_kernel / "kexec_crash_size").write_text("134217728\n")
    result = run(run_module, {"value": "256M"})
    assert result["changed"] is True
    assert result["backend"] == "grub_dropin"
    assert result["before"] == "384M-:128M"
    assert result["after"] == "256M"
    assert result["cmdline"] == "384M-:128M"
    assert result["reboot_required"] is True
    assert result["regenerated"] is True
    assert result["reserved_bytes"] == 134217728
    assert result["effective_bytes"] == 256 * M
    assert result["memory_source"] == "iomem"
    assert result["memory_bytes"] == 0x9EC00 + 0xBFF00000 + 0x540000000  # System RAM of the fixture
    assert host.argvs("update-grub") == [[UPDATE_GRUB]]
    text = host.dropin.read_text()
    assert text.startswith(MANAGED_MARKER)
    assert oct(host.dropin.stat().st_mode & 0o777) == "0o644"


def test_dropin_second_run_changes_nothing_and_does_not_regenerate(host, run_module):
    host.debian()
    first = run(run_module, {"value": "1G-4G:192M,4G-:256M"})
    written = host.dropin.read_text()
    host.commands.calls.clear()
    second = run(run_module, {"value": "1G-4G:192M,4G-:256M"})
    assert first["changed"] is True
    assert second["changed"] is False
    assert second["regenerated"] is False
    assert second["before"] == second["after"] == "1G-4G:192M,4G-:256M"
    assert host.argvs("update-grub") == []
    assert host.dropin.read_text() == written


def test_dropin_check_mode_reports_and_touches_nothing(host, run_module):
    host.debian()
    result = run(run_module, {"value": "256M"}, check_mode=True)
    assert result["changed"] is True
    assert result["before"] == "384M-:128M"
    assert result["after"] == "256M"
    assert result["regenerated"] is False
    assert not host.dropin.exists()
    assert host.argvs("update-grub") == []


def test_dropin_diff_shows_parsed_values_and_file_text(host, run_module):
    host.debian()
    result = run(run_module, {"value": "256M"}, diff=True)
    value_diff, file_diff = result["diff"]
    assert value_diff == {
        "before_header": "crashkernel",
        "after_header": "crashkernel",
        "before": "384M-:128M\n",
        "after": "256M\n",
    }
    assert file_diff["before"] == ""
    assert file_diff["after"] == host.dropin.read_text()
    assert file_diff["after_header"] == str(host.dropin)


def test_dropin_absent_strips_even_the_package_default(host, run_module):
    host.debian()
    host.set_cmdline("384M-:128M")
    result = run(run_module, {"state": "absent"})
    assert result["changed"] is True
    assert result["before"] == "384M-:128M"
    assert result["after"] is None
    assert result["effective_bytes"] == 0
    assert result["reboot_required"] is True
    assert "crashkernel=" not in host.dropin.read_text().split("unset")[0].split("GRUB_CMDLINE_LINUX_DEFAULT=")[-1]
    again = run(run_module, {"state": "absent"})
    assert again["changed"] is False


def test_reboot_not_required_when_cmdline_has_the_same_value_spelled_differently(host, run_module):
    host.debian()
    host.set_cmdline("1024M")
    result = run(run_module, {"value": "1G"})
    assert result["cmdline"] == "1G"
    assert result["reboot_required"] is False


def test_high_low_pair_is_written_and_read_back(host, run_module):
    host.debian()
    result = run(run_module, {"value": "128M,low 512M,high"})
    assert result["after"] == "512M,high 128M,low"
    assert result["effective_bytes"] == 640 * M


@pytest.mark.parametrize("check_mode", [False, True], ids=["apply", "check"])
def test_a_later_dropin_that_sets_the_cmdline_is_refused_before_writing(host, run_module, check_mode):
    host.debian()
    later = host.etc_default / "grub.d" / "zzz-local.cfg"
    later.write_text('GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT crashkernel=1G"\n')
    result = run(run_module, {"value": "256M"}, check_mode=check_mode)
    assert result["failed"] is True
    assert result["error_kind"] == "unsafe_dropin_path"
    assert f"zz-kdump-fleet.cfg sorts before {later}, which sets GRUB_CMDLINE_LINUX" in result["msg"]
    assert "nothing was changed" in result["msg"]
    assert not host.dropin.exists()
    assert host.commands.calls == []


def test_a_later_dropin_that_overrides_in_a_way_not_seen_is_undone(host, run_module):
    # An assignment inside eval is not recognised beforehand; the check after writing catches it,
    # puts the drop-in back and regenerates grub.cfg again.
    host.debian()
    (host.etc_default / "grub.d" / "zzz-eval.cfg").write_text("eval 'GRUB_CMDLINE_LINUX_DEFAULT=crashkernel=1G'\n")
    result = run(run_module, {"value": "256M"})
    assert result["failed"] is True
    assert result["error_kind"] == "not_applied"
    assert "zz-kdump-fleet.cfg sets 256M" in result["msg"] and "overrides it" in result["msg"]
    assert "was put back as it was and grub.cfg regenerated" in result["msg"]
    assert not host.dropin.exists()
    assert host.argvs("update-grub") == [[UPDATE_GRUB], [UPDATE_GRUB]]


def test_a_later_dropin_that_leaves_the_cmdline_alone_is_fine(host, run_module):
    host.debian()
    (host.etc_default / "grub.d" / "zzz-timeout.cfg").write_text("# GRUB_CMDLINE_LINUX=x\nGRUB_TIMEOUT=1\n")
    result = run(run_module, {"value": "256M"})
    assert "failed" not in result, result.get("msg")
    assert result["after"] == "256M"


def test_backup_file_is_returned_when_the_regeneration_then_fails(host, run_module):
    host.debian()
    foreign = 'GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT"\n'
    host.dropin.write_text(foreign)
    host.fail["update-grub"] = (1, "", "grub-mkconfig: syntax error")
    result = run(run_module, {"value": "256M"})
    assert result["failed"] is True
    assert result["error_kind"] == "command_failed"
    with open(result["backup_file"]) as handle:
        assert handle.read() == foreign
    assert host.dropin.read_text() == foreign  # put back as it was


def test_foreign_file_at_dropin_path_is_backed_up(host, run_module):
    host.debian()
    host.dropin.write_text('GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT"\n')
    result = run(run_module, {"value": "256M"})
    assert result["changed"] is True
    backup = result["backup_file"]
    with open(backup) as handle:
        assert handle.read() == 'GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT"\n'


def test_recommended_uses_system_ram_from_iomem(host, run_module):
    host.debian()
    result = run(run_module, {"value": "recommended"})
    assert result["memory_source"] == "iomem"
    assert result["after"] == "256M"  # 24 GiB host on the x86_64 EL9 table


def test_memory_falls_back_to_memtotal_without_root(host, run_module, load_fixture):
    host.debian()
    (host.proc / "iomem").write_text(load_fixture("proc", "debian12-firecracker/iomem.nonroot"))
    result = run(run_module, {"value": "256M"}, check_mode=True)
    assert result["memory_source"] == "meminfo"
    assert result["memory_bytes"] == 24684092 * 1024


def test_regeneration_failure_is_reported(host, run_module):
    host.debian()
    host.fail["update-grub"] = (1, "", "/usr/sbin/grub-mkconfig: 1: syntax error")
    result = run(run_module, {"value": "256M"})
    assert result["failed"] is True
    assert result["rc"] == 1
    assert "syntax error" in result["msg"]
    assert "was put back as it was, so the next run tries again" in result["msg"]


@pytest.mark.parametrize("earlier", [None, "512M"], ids=["no-dropin-before", "our-dropin-before"])
def test_a_failed_regeneration_is_retried_by_the_next_run(host, run_module, earlier):
    host.debian()
    if earlier:
        assert run(run_module, {"value": earlier})["changed"] is True
    before = host.dropin.read_text() if earlier else None
    host.fail["update-grub"] = (1, "", "/usr/sbin/grub-mkconfig: 1: syntax error")
    assert run(run_module, {"value": "256M"})["failed"] is True
    # The drop-in is as it was, so the failed change is still pending ...
    assert (host.dropin.read_text() if host.dropin.exists() else None) == before
    del host.fail["update-grub"]
    calls = len(host.argvs("update-grub"))
    # ... and the next run makes it and regenerates grub.cfg.
    result = run(run_module, {"value": "256M"})
    assert result["changed"] is True
    assert result["regenerated"] is True
    assert len(host.argvs("update-grub")) == calls + 1
    assert result["after"] == "256M"


def test_no_regeneration_tool_fails_before_the_dropin_is_written(host, run_module):
    host.debian()
    host.bins = {}
    result = run(run_module, {"value": "256M", "backend": "grub_dropin"})
    assert result["failed"] is True
    assert "found neither update-grub nor grub-mkconfig" in result["msg"]
    assert not host.dropin.exists()


def test_an_unparsable_distro_default_is_blamed_on_kdumpctl(host, run_module):
    host.el9(kdumpctl_default="\n")
    result = run(run_module, {"value": "default"})
    assert result["failed"] is True
    assert result["msg"].startswith("kdumpctl get-default-crashkernel printed ''")
    assert not result["msg"].startswith("invalid value")
    assert host.argvs("grubby") == []


# -- validation happens before anything runs -----------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"value": "1G-4G:25X"}, "invalid value: invalid crashkernel size '25X' in '1G-4G:25X'"),
        ({"value": "17E"}, "invalid value: crashkernel size '17E' in '17E' is past the kernel's limit of 16E - 1"),
        (
            {"value": "1G-16E:256M"},
            "invalid value: crashkernel range end '16E' in '1G-16E:256M' is past the kernel's limit",
        ),
        (
            {"value": "0x10000000000000000"},
            "invalid value: crashkernel size '0x10000000000000000' in '0x10000000000000000' is past",
        ),
        ({"value": "256M@20000P"}, "invalid value: crashkernel offset '20000P' in '256M@20000P' is past"),
        ({"value": "128M,low"}, "invalid value: crashkernel ',low' in '128M,low' needs a ',high' part"),
        ({"value": "auto"}, "invalid value: crashkernel 'auto' in 'auto' only worked on RHEL 7/8 kernels"),
        ({}, "value is required with state=present"),
        ({"value": "256M", "backend": "kdumpctl"}, "backend=kdumpctl only supports value=default"),
        ({"value": "default", "backend": "grub_dropin"}, "value=default runs 'kdumpctl reset-crashkernel'"),
        (
            {"value": "256M", "backend": "grub_dropin", "dropin_path": "zz-kdump"},
            "dropin_path='zz-kdump' is refused: it must be a file directly in",
        ),
        ({"value": "256M", "backend": "grubby", "kernel": "vmlinuz"}, "kernel='vmlinuz' is not ALL, DEFAULT"),
        (
            {"value": "256M", "backend": "grub_dropin", "kernel": "/boot/vmlinuz-6.1.0-28-amd64"},
            "kernel=/boot/vmlinuz-6.1.0-28-amd64 cannot be honoured by the grub_dropin backend",
        ),
        (
            {"value": "256M", "backend": "grub_default", "kernel": "DEFAULT"},
            "kernel=DEFAULT cannot be honoured by the grub_default backend: GRUB_CMDLINE_LINUX_DEFAULT in",
        ),
    ],
)
def test_invalid_input_fails_before_any_command_or_write(host, run_module, args, message):
    host.debian()
    host.bins["grubby"] = GRUBBY
    result = run(run_module, args)
    assert result["failed"] is True
    assert result["msg"].startswith(message)
    expected_kind = {"invalid value": "invalid_value", "value is required": "invalid_value", "dropin_path": None}
    kind = next((k for prefix, k in expected_kind.items() if message.startswith(prefix)), "invalid_option")
    assert result["error_kind"] == (kind or "unsafe_dropin_path")
    assert host.commands.calls == []
    assert not host.dropin.exists()


def test_auto_backend_needs_a_boot_loader_tool(host, run_module):
    (host.etc_default / "grub.d").rmdir()
    result = run(run_module, {"value": "256M"})
    assert result["failed"] is True
    assert result["error_kind"] == "no_bootloader"
    assert "no supported boot loader tool found" in result["msg"]


def test_a_grub_d_directory_alone_is_no_boot_loader(host, run_module):
    # kdump-tools installs grub.d/kdump-tools.cfg whatever the boot loader; without a tool that
    # regenerates grub.cfg nothing would read it (the same rule as kdump_info's backend.bootloader).
    host.debian()
    host.bins = {}
    result = run(run_module, {"value": "256M"}, check_mode=True)
    assert result["error_kind"] == "no_bootloader"
    assert not host.dropin.exists()


# -- grubby (RHEL family) ------------------------------------------------------------


def test_grubby_sets_every_entry_and_verifies(host, run_module):
    host.el9()
    host.set_cmdline(EL9_DEFAULT)
    result = run(run_module, {"value": "256M"})
    assert result["changed"] is True
    assert result["backend"] == "grubby"
    assert result["before"] == EL9_DEFAULT
    assert result["after"] == "256M"
    assert result["reboot_required"] is True
    assert host.argvs("grubby") == [
        [GRUBBY, "--info=ALL"],
        [GRUBBY, "--update-kernel=ALL", "--remove-args=crashkernel"],
        [GRUBBY, "--update-kernel=ALL", "--args=crashkernel=256M"],
        [GRUBBY, "--info=ALL"],
    ]
    assert host.entry_values() == ["256M"] * 4
    assert [entry["crashkernel"] for entry in result["entries"]] == ["256M"] * 4
    assert result["entries"][3]["kernel"] == "/boot/vmlinuz-0-rescue-a98618aa1631441dbb52c75a50834a0a"


def test_grubby_is_idempotent_when_every_entry_has_the_value(host, run_module):
    host.el9("almalinux-9.4-info-all.txt")
    host.set_cmdline(EL9_DEFAULT)
    result = run(run_module, {"value": EL9_DEFAULT})
    assert result["changed"] is False
    assert result["reboot_required"] is False
    assert result["effective_bytes"] == 256 * M  # 24 GiB host
    assert host.argvs("grubby") == [[GRUBBY, "--info=ALL"]]


def test_grubby_changes_when_a_single_entry_differs(host, run_module):
    host.el9()
    host.grubby_entries[2]["args"] = host.grubby_entries[2]["args"].replace(EL9_DEFAULT, "512M")
    result = run(run_module, {"value": EL9_DEFAULT})
    assert result["changed"] is True
    assert host.entry_values() == [EL9_DEFAULT] * 4


def test_grubby_check_mode_only_reads(host, run_module):
    host.el9()
    result = run(run_module, {"value": "512M,high 128M,low"}, check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["after"] == "512M,high 128M,low"
    assert host.argvs("grubby") == [[GRUBBY, "--info=ALL"]]
    assert host.entry_values() == [EL9_DEFAULT] * 4
    assert result["diff"] == [
        {
            "before_header": "crashkernel",
            "after_header": "crashkernel",
            "before": EL9_DEFAULT + "\n",
            "after": "512M,high 128M,low\n",
        }
    ]


def test_grubby_high_low_pair(host, run_module):
    host.el9()
    result = run(run_module, {"value": "512M,high 128M,low"})
    assert [GRUBBY, "--update-kernel=ALL", "--args=crashkernel=512M,high crashkernel=128M,low"] in host.argvs("grubby")
    assert host.entry_values() == ["512M,high 128M,low"] * 4
    assert result["after"] == "512M,high 128M,low"


def test_grubby_one_kernel_only(host, run_module):
    host.el9()
    kernel = "/boot/vmlinuz-5.14.0-70.30.1.el9_0.x86_64"
    result = run(run_module, {"value": "256M", "kernel": kernel})
    assert result["changed"] is True
    assert host.argvs("grubby")[0] == [GRUBBY, "--info=" + kernel]
    assert host.entry_values() == [EL9_DEFAULT, "256M", EL9_DEFAULT, EL9_DEFAULT]


def test_grubby_absent_removes(host, run_module):
    host.el9()
    result = run(run_module, {"state": "absent"})
    assert result["changed"] is True
    assert result["after"] is None
    assert [GRUBBY, "--update-kernel=ALL", "--remove-args=crashkernel"] in host.argvs("grubby")
    assert host.entry_values() == [None] * 4
    again = run(run_module, {"state": "absent"})
    assert again["changed"] is False


def test_grubby_entry_without_crashkernel(host, run_module):
    host.el9("fedora-44-info-kernel-no-crashkernel.txt")
    result = run(run_module, {"value": "256M"}, check_mode=True)
    assert result["before"] is None
    assert result["changed"] is True


def test_grubby_failure_is_reported_with_its_output(host, run_module):
    host.el9()
    host.fail["grubby"] = (1, "", "grubby: kernel path expected")
    result = run(run_module, {"value": "256M"})
    assert result["failed"] is True
    assert result["rc"] == 1
    assert result["stderr"] == "grubby: kernel path expected"
    assert "grubby --info=ALL failed" in result["msg"]


def test_auto_prefers_grubby_when_installed(host, run_module):
    host.el9()
    result = run(run_module, {"value": EL9_DEFAULT})
    assert result["backend"] == "grubby"


def test_zipl_runs_after_grubby_on_s390x(host, run_module, monkeypatch):
    host.el9()
    host.bins["zipl"] = "/usr/sbin/zipl"
    monkeypatch.setattr(module.platform, "machine", lambda: "s390x")
    result = run(run_module, {"value": "256M"})
    assert result["regenerated"] is True
    assert host.argvs("zipl") == [["/usr/sbin/zipl"]]


# -- kdumpctl reset-crashkernel (EL9+) ---------------------------------------------------


def test_default_resets_with_kdumpctl(host, run_module, load_fixture):
    host.el9(kdumpctl_default=load_fixture("kdumpctl", "kdump-utils-howto-get-default-crashkernel.stdout"))
    result = run(run_module, {"value": "default"})
    assert result["backend"] == "kdumpctl"
    assert result["changed"] is True
    assert result["before"] == EL9_DEFAULT
    assert result["after"] == "2G-64G:256M,64G-:512M"
    assert host.argvs("kdumpctl") == [
        [KDUMPCTL, "get-default-crashkernel"],
        [KDUMPCTL, "reset-crashkernel", "--kernel=ALL"],
    ]
    second = run(run_module, {"value": "default"})
    assert second["changed"] is False
    assert host.argvs("kdumpctl")[-1] == [KDUMPCTL, "get-default-crashkernel"]


def test_default_check_mode_does_not_reset(host, run_module):
    host.el9(kdumpctl_default=EL9_DEFAULT + "\n")
    host.grubby_entries[0]["args"] += " crashkernel=512M"
    result = run(run_module, {"value": "default"}, check_mode=True)
    assert result["changed"] is True
    assert [KDUMPCTL, "get-default-crashkernel"] in host.argvs("kdumpctl")
    assert all("reset-crashkernel" not in argv for argv in host.argvs("kdumpctl"))


def test_default_fails_clearly_where_kdumpctl_lacks_the_subcommand(host, run_module):
    host.el9(kdumpctl_default=EL9_DEFAULT)
    host.fail["kdumpctl"] = (1, "", "Usage: /usr/bin/kdumpctl {estimate|start|stop|status|restart|reload|rebuild}")
    result = run(run_module, {"value": "default"})
    assert result["failed"] is True
    assert result["msg"].startswith("kdumpctl get-default-crashkernel (EL9 and later) failed (rc=1)")


def test_shell_script_is_run_with_bin_sh(host, run_module):
    host.debian()
    run(run_module, {"value": "256M"}, check_mode=True)
    (argv,) = host.argvs("sh")
    assert argv[:2] == ["/bin/sh", "-c"]
    assert shlex.quote(str(host.etc_default / "grub")) in argv[2]


def test_fake_run_command_records_argv_when_patched(fake_run_command):
    fake = fake_run_command([(("grubby", "--info=ALL"), (0, "index=0\n", ""))])
    with mock.patch.object(AnsibleModule, "run_command", fake):
        assert AnsibleModule.run_command(["grubby", "--info=ALL"]) == (0, "index=0\n", "")
    assert fake.calls == [["grubby", "--info=ALL"]]


@pytest.mark.parametrize(
    ("setup", "args", "warning"),
    [
        ("debian", {"state": "absent", "value": "256M"}, "value=256M is ignored with state=absent"),
        ("el9", {"value": "256M", "dropin_path": "/etc/default/grub.d/zz-mine.cfg"}, "dropin_path is ignored"),
    ],
    ids=["value-with-absent", "dropin-path-with-grubby"],
)
def test_options_that_do_not_apply_are_warned_about(host, run_module, setup, args, warning):
    getattr(host, setup)()
    result = run(run_module, args)
    assert "failed" not in result, result.get("msg")
    assert any(warning in text for text in result.get("warnings", [])), result.get("warnings")


@pytest.mark.parametrize("check_mode", [False, True], ids=["apply", "check"])
def test_a_grub_that_never_reads_dropins_is_refused_before_anything_changes(host, run_module, check_mode):
    host.debian(with_kdump_tools=False)
    host.bins["grub-mkconfig"] = host.mkconfig(NO_DROPIN_MKCONFIG)
    result = run(run_module, {"value": "256M"}, check_mode=check_mode)
    assert result["failed"] is True
    assert result["error_kind"] == "no_bootloader"
    assert "does not read" in result["msg"] and "grub.d/*.cfg" in result["msg"]
    assert "nothing was changed" in result["msg"]
    assert not host.dropin.exists()
    assert host.argvs("update-grub") == []


def test_dropins_sourced_by_etc_default_grub_itself_are_accepted(host, run_module):
    host.debian(with_kdump_tools=False)
    host.bins["grub-mkconfig"] = host.mkconfig(NO_DROPIN_MKCONFIG)
    # What Arch users add to /etc/default/grub so that grub-mkconfig reads grub.d
    default_grub = host.etc_default / "grub"
    default_grub.write_text(
        default_grub.read_text() + 'for x in /etc/default/grub.d/*.cfg ; do [ -e "$x" ] && . "$x"; done\n'
    )
    result = run(run_module, {"value": "256M"})
    assert result["changed"] is True
    assert host.dropin.exists()


# -- values that reserve nothing on this host (issue 12 class 4) ---------------------------


def small_host(host, ram_end=0x7FFFFFFF):
    """A 2 GiB host: one System RAM region from 0 (root view of /proc/iomem)."""
    (host.proc / "iomem").write_text(
        f"00000000-{ram_end:08x} : System RAM\n  01000000-01ffffff : Kernel code\nfec00000-fec003ff : IOAPIC 0\n"
    )


NOT_RESERVABLE = [
    ("1G-4G:0", "value=1G-4G:0 reserves 0 bytes on this host (RAM 2 GiB): the matching range 1G-4G:0 gives 0"),
    ("4G-:256M", "value=4G-:256M reserves 0 bytes on this host (RAM 2 GiB): no range covers it"),
    ("2G", "value=2G reserves 0 bytes on this host (RAM 2 GiB): 2G is not below RAM"),
    ("3G@16M", "value=3G@16M reserves 0 bytes on this host (RAM 2 GiB): 3G is not below RAM"),
    ("0-1G:4G,1G-:128M", "(RAM 2 GiB): the range 0-1G:4G asks for 4G, not below RAM, so the kernel rejects"),
    ("1G-4G:2G", "(RAM 2 GiB): the range 1G-4G:2G asks for 2G, not below RAM"),
    ("2G,high", "value=2G,high reserves 0 bytes on this host (RAM 2 GiB): 2G is not below RAM"),
    ("1G,high 1G,low", "(RAM 2 GiB): 1G,high plus 1G,low is not below RAM"),
    ("256M@3G", "value=256M@3G reserves 0 bytes on this host (RAM 2 GiB): 256M at @3G is not inside one System RAM"),
    ("256M@1920M", "(RAM 2 GiB): 256M at @1920M is not inside one System RAM region"),
]


@pytest.mark.parametrize("setup", ["debian", "el9"])
@pytest.mark.parametrize("check_mode", [False, True], ids=["apply", "check"])
@pytest.mark.parametrize("case", NOT_RESERVABLE, ids=[case[0] for case in NOT_RESERVABLE])
def test_a_value_that_reserves_nothing_here_is_refused_before_anything(host, run_module, setup, check_mode, case):
    value, message = case
    getattr(host, setup)()
    small_host(host)
    entries_before = [dict(entry) for entry in host.grubby_entries]
    result = run(run_module, {"value": value}, check_mode=check_mode)
    assert result["failed"] is True
    assert result["error_kind"] == "not_reservable"
    assert message in result["msg"], result["msg"]
    assert result["msg"].endswith("nothing was changed")
    assert host.commands.calls == []
    assert not host.dropin.exists()
    assert host.grubby_entries == entries_before


def test_the_refusal_says_when_ram_came_from_memtotal(host, run_module, load_fixture):
    host.debian()
    (host.proc / "iomem").write_text(load_fixture("proc", "debian12-firecracker/iomem.nonroot"))
    result = run(run_module, {"value": "64G-:512M"}, check_mode=True)
    assert result["error_kind"] == "not_reservable"
    assert "(RAM 23.5 GiB)" in result["msg"]
    assert "RAM from MemTotal: /proc/iomem was not readable" in result["msg"]


def test_an_offset_is_not_checked_without_the_iomem_layout(host, run_module, load_fixture):
    host.debian()
    (host.proc / "iomem").write_text(load_fixture("proc", "debian12-firecracker/iomem.nonroot"))
    result = run(run_module, {"value": "256M@30G"}, check_mode=True)
    assert "failed" not in result, result.get("msg")


@pytest.mark.parametrize("value", ["recommended", "1G-4G:192M,4G-:256M", "256M@1G", "64M@0", "1G,high 512M,low"])
def test_values_that_fit_the_small_host_pass(host, run_module, value):
    host.debian()
    small_host(host)
    result = run(run_module, {"value": value}, check_mode=True)
    assert "failed" not in result, result.get("msg")
    assert result["effective_bytes"] > 0


def test_ranges_match_ram_rounded_up_like_the_kernel(host, run_module):
    # 4 GiB installed, a little less as System RAM: the kernel still picks the 4G- range.
    host.debian()
    small_host(host, ram_end=0xFBFFFFFF)
    result = run(run_module, {"value": "1G-4G:192M,4G-:256M"}, check_mode=True)
    assert result["effective_bytes"] == 256 * M


def test_a_kdumpctl_default_that_reserves_nothing_here_is_refused(host, run_module):
    host.el9(kdumpctl_default="2G-64G:256M,64G-:512M\n")
    small_host(host, ram_end=0x5FFFFFFF)  # 1.5 GiB: below the newer kdump-utils table
    result = run(run_module, {"value": "default"})
    assert result["failed"] is True
    assert result["error_kind"] == "not_reservable"
    assert result["msg"].startswith(
        "kdumpctl get-default-crashkernel: value=2G-64G:256M,64G-:512M reserves 0 bytes on this host (RAM 1.5 GiB)"
    )
    assert host.argvs("kdumpctl") == [[KDUMPCTL, "get-default-crashkernel"]]
    assert host.argvs("grubby") == []


@pytest.mark.parametrize("check_mode", [False, True], ids=["apply", "check"])
def test_unknown_memory_refuses_a_value_but_absent_still_works(host, run_module, check_mode):
    host.debian()
    (host.proc / "iomem").write_text("")
    (host.proc / "meminfo").write_text("")
    result = run(run_module, {"value": "256M"}, check_mode=check_mode)
    assert result["error_kind"] == "memory_unknown"
    assert not host.dropin.exists()
    absent = run(run_module, {"state": "absent"}, check_mode=check_mode)
    assert "failed" not in absent, absent.get("msg")
    assert absent["memory_bytes"] is None and absent["memory_source"] is None


@pytest.mark.parametrize("setup", ["debian", "el9"])
def test_absent_works_on_a_small_host(host, run_module, setup):
    getattr(host, setup)()
    small_host(host)
    result = run(run_module, {"state": "absent"})
    assert "failed" not in result, result.get("msg")
    assert result["after"] is None


# -- dropin_path (issue 12 class 5) --------------------------------------------------------

HOSTILE_DROPIN_PATHS = [
    "../x.cfg",
    "x.cfg",
    "/tmp/x.cfg",
    "/etc/default/grub.d/-x.cfg",
    "{grub_d}/-x.cfg",
    "{grub_d}/.x.cfg",
    "{grub_d}/a;reboot.cfg",
    "{grub_d}/a b.cfg",
    "{grub_d}/x.cfg\n",
    "{grub_d}/a\nb.cfg",
    "{grub_d}/$(reboot).cfg",
    "{grub_d}/a`id`.cfg",
    "{grub_d}/../x.cfg",
    "{grub_d}/../grub.d/zz-x.cfg",
    "{grub_d}/sub/zz-x.cfg",
    "{grub_d}/zz-x.conf",
    "{grub_d}/zz-x.cfg/",
    "{grub_d}/.cfg",
]


@pytest.mark.parametrize("check_mode", [False, True], ids=["apply", "check"])
@pytest.mark.parametrize("template", HOSTILE_DROPIN_PATHS, ids=repr)
def test_hostile_dropin_paths_are_refused_before_anything(host, run_module, tmp_path, check_mode, template):
    host.debian()
    grub_d = host.etc_default / "grub.d"
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    path = template.format(grub_d=grub_d)
    result = run(run_module, {"value": "256M", "dropin_path": path}, check_mode=check_mode)
    assert result["failed"] is True
    assert result["error_kind"] == "unsafe_dropin_path"
    assert result["msg"].startswith(f"dropin_path={path!r} is refused")
    assert result["msg"].endswith("nothing was changed")
    assert host.commands.calls == []
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize("check_mode", [False, True], ids=["apply", "check"])
def test_a_name_sorting_before_kdump_tools_cfg_is_refused_naming_it(host, run_module, check_mode):
    host.debian()
    grub_d = host.etc_default / "grub.d"
    result = run(run_module, {"value": "256M", "dropin_path": str(grub_d / "50-kdump.cfg")}, check_mode=check_mode)
    assert result["error_kind"] == "unsafe_dropin_path"
    assert (
        "50-kdump.cfg sorts before {}, which sets GRUB_CMDLINE_LINUX".format(grub_d / "kdump-tools.cfg")
        in (result["msg"])
    )
    assert host.commands.calls == []
    assert not (grub_d / "50-kdump.cfg").exists()


def test_upper_case_sorts_before_lower_case_like_bin_sh(host, run_module):
    # dash sorts the glob by bytes: "Z..." comes before "kdump-tools.cfg".
    host.debian()
    result = run(run_module, {"value": "256M", "dropin_path": str(host.etc_default / "grub.d" / "ZZ-kdump.cfg")})
    assert result["error_kind"] == "unsafe_dropin_path"


def test_an_unreadable_later_dropin_is_refused(host, run_module, monkeypatch):
    host.debian()
    later = host.etc_default / "grub.d" / "zzz-secret.cfg"
    later.write_text("GRUB_TIMEOUT=1\n")
    real_read = module._read
    monkeypatch.setattr(module, "_read", lambda path: None if path == str(later) else real_read(path))
    result = run(run_module, {"value": "256M"}, check_mode=True)
    assert result["error_kind"] == "unsafe_dropin_path"
    assert "cannot be read" in result["msg"]


def test_a_symlink_at_dropin_path_is_not_written_through(host, run_module, tmp_path):
    host.debian()
    target = tmp_path / "shadow"
    target.write_text("root:x:0:0\n")
    host.dropin.symlink_to(target)
    result = run(run_module, {"value": "256M"})
    assert result["error_kind"] == "unsafe_dropin_path"
    assert "symbolic link" in result["msg"]
    assert target.read_text() == "root:x:0:0\n"
    assert host.commands.calls == []


def test_a_later_name_than_every_dropin_is_accepted(host, run_module):
    host.debian()
    path = host.etc_default / "grub.d" / "zzz_kdump.fleet-2.cfg"
    result = run(run_module, {"value": "256M", "dropin_path": str(path)})
    assert result["changed"] is True
    assert result["dropin_path"] == str(path)
    assert path.read_text().startswith(MANAGED_MARKER)


# -- crashkernel=Y,cma: only where the running kernel takes it -----------------------------------------


def test_cma_part_is_written_on_a_kernel_that_takes_it(host, run_module, monkeypatch):
    monkeypatch.setattr(module.platform, "release", lambda: "6.16.3+deb14-amd64")
    host.debian()
    result = run(run_module, {"value": "1G,cma 256M"})
    assert result["changed"] is True
    assert result["after"] == "256M 1G,cma"
    # Only the standard part holds the capture kernel; the CMA area is reported in the value.
    assert result["effective_bytes"] == 256 * M
    assert "crashkernel=256M crashkernel=1G,cma" in host.dropin.read_text()


def test_cma_part_on_grubby_replaces_every_crashkernel_word(host, run_module, monkeypatch):
    monkeypatch.setattr(module.platform, "release", lambda: "6.16.0-0.rc1.fc43.x86_64")
    host.el9()
    run(run_module, {"value": "512M,high 128M,low 1G,cma"})
    assert [
        GRUBBY,
        "--update-kernel=ALL",
        "--args=crashkernel=512M,high crashkernel=128M,low crashkernel=1G,cma",
    ] in host.argvs("grubby")
    assert host.entry_values() == ["512M,high 128M,low 1G,cma"] * 4


@pytest.mark.parametrize(
    "kernel, reason",
    [
        (("6.12.48+deb13-amd64", "x86_64"), "kernel 6.12.48+deb13-amd64 is older than 6.16"),
        (("6.16.0", "aarch64"), "for x86_64, ppc64le, ppc64 only, not aarch64"),
    ],
)
def test_cma_part_is_refused_before_anything_where_the_kernel_would_ignore_it(
    host, run_module, monkeypatch, kernel, reason
):
    release, arch = kernel
    monkeypatch.setattr(module.platform, "release", lambda: release)
    monkeypatch.setattr(module.platform, "machine", lambda: arch)
    host.debian()
    result = run(run_module, {"value": "256M 1G,cma"})
    assert result["failed"] is True
    assert result["error_kind"] == "invalid_value"
    assert result["msg"].startswith("value=256M 1G,cma: ")
    assert reason in result["msg"]
    assert result["msg"].endswith(
        ", so the ,cma part would be ignored at boot; drop '1G,cma' or update the kernel; nothing was changed"
    )
    assert host.commands.calls == []
    assert not host.dropin.exists()


# -- a kernel installed later: grub.cfg regenerated when an installed kernel's entry lacks the value ----------


def _grub_cfg(host, load_fixture, extra=""):
    """The lab VM's real grub.cfg (6.1.0-50-amd64 with crashkernel=1G-:192M), plus ``extra`` entries."""
    (host.boot / "grub").mkdir(parents=True, exist_ok=True)
    (host.boot / "grub" / "grub.cfg").write_text(load_fixture("lab", "network-run/debian12-grub.cfg") + extra)
    (host.boot / "vmlinuz-6.1.0-50-amd64").write_text("kernel")


LATER_KERNEL = (
    "menuentry 'Debian GNU/Linux, with Linux 6.1.0-51-amd64' --class debian {\n"
    "\tlinux\t/boot/vmlinuz-6.1.0-51-amd64 root=UUID=3978b579 ro console=ttyS0,115200\n}\n"
)


def test_a_kernel_whose_grub_entry_lacks_the_value_makes_grub_cfg_regenerate(host, run_module, load_fixture):
    host.debian()
    host.set_cmdline("1G-:192M")
    first = run(run_module, {"value": "1G-:192M"})
    assert first["changed"] is True and first["stale_entries"] == []
    _grub_cfg(host, load_fixture)
    host.commands.calls.clear()
    # Every installed kernel boots with the value: nothing to do.
    second = run(run_module, {"value": "1G-:192M"})
    assert (second["changed"], second["regenerated"], second["stale_entries"]) == (False, False, [])
    assert host.argvs("update-grub") == []
    # A kernel installed later whose entry was generated without it.
    _grub_cfg(host, load_fixture, LATER_KERNEL)
    (host.boot / "vmlinuz-6.1.0-51-amd64").write_text("kernel")
    written = host.dropin.read_text()
    third = run(run_module, {"value": "1G-:192M"})
    assert (third["changed"], third["regenerated"], third["stale_entries"]) == (True, True, ["6.1.0-51-amd64"])
    assert host.argvs("update-grub") == [[UPDATE_GRUB]]
    assert host.dropin.read_text() == written  # the drop-in was right: not rewritten, no backup
    assert "backup_file" not in third
    assert third["reboot_required"] is False


def test_stale_entries_in_check_mode_are_reported_not_regenerated(host, run_module, load_fixture):
    host.debian()
    run(run_module, {"value": "1G-:192M"})
    _grub_cfg(host, load_fixture, LATER_KERNEL)
    (host.boot / "vmlinuz-6.1.0-51-amd64").write_text("kernel")
    host.commands.calls.clear()
    result = run(run_module, {"value": "1G-:192M"}, check_mode=True)
    assert (result["changed"], result["regenerated"], result["stale_entries"]) == (True, False, ["6.1.0-51-amd64"])
    assert host.argvs("update-grub") == []


def test_an_entry_for_a_kernel_not_installed_here_is_left_alone(host, run_module, load_fixture):
    # os-prober lists another system's kernels: they keep their own arguments, every run would regenerate.
    host.debian()
    run(run_module, {"value": "1G-:192M"})
    _grub_cfg(host, load_fixture, LATER_KERNEL)
    host.commands.calls.clear()
    result = run(run_module, {"value": "1G-:192M"})
    assert (result["changed"], result["stale_entries"]) == (False, [])


# -- /etc/default/grub in place (openSUSE, SLES) ---------------------------------------------------


def mkconfig_argv(host):
    return [GRUB2_MKCONFIG, "-o", str(host.grub2_cfg)]


def other_lines(text):
    return [line for line in text.splitlines(keepends=True) if not line.startswith("GRUB_CMDLINE_LINUX_DEFAULT=")]


def test_default_grub_sets_the_value_backs_up_and_regenerates(host, run_module, load_fixture):
    host.suse()
    host.default_grub.chmod(0o640)
    original = host.default_grub.read_text()
    result = run(run_module, {"value": "256M,high 128M,low"})
    assert "failed" not in result, result.get("msg")
    assert (result["backend"], result["changed"], result["regenerated"]) == ("grub_default", True, True)
    assert (result["before"], result["after"]) == (None, "256M,high 128M,low")
    assert result["reboot_required"] is True and result["cmdline"] is None
    assert (result["default_grub"], result["grub_cfg"]) == (str(host.default_grub), str(host.grub2_cfg))
    assert host.argvs("grub2-mkconfig") == [mkconfig_argv(host)]
    text = host.default_grub.read_text()
    assert 'mitigations=auto crashkernel=256M,high crashkernel=128M,low"\n' in text
    assert other_lines(text) == other_lines(original)  # every other line byte for byte
    assert oct(host.default_grub.stat().st_mode & 0o777) == "0o640"  # atomic_move kept the mode
    with open(result["backup_file"]) as handle:
        assert handle.read() == original
    assert "stale_entries" not in result and "dropin_path" not in result


def test_default_grub_second_run_changes_nothing_and_does_not_regenerate(host, run_module):
    host.suse()
    run(run_module, {"value": "256M"})
    written = host.default_grub.read_text()
    files = sorted(host.etc_default.iterdir())
    host.commands.calls.clear()
    host.set_cmdline("256M")
    second = run(run_module, {"value": "256M"})
    assert (second["changed"], second["regenerated"], second["reboot_required"]) == (False, False, False)
    assert second["before"] == second["after"] == "256M"
    assert "backup_file" not in second
    assert host.argvs("grub2-mkconfig") == []
    assert host.default_grub.read_text() == written
    assert sorted(host.etc_default.iterdir()) == files  # no second backup


def test_default_grub_check_mode_and_diff_touch_nothing(host, run_module):
    host.suse(OPENQA_KDUMP_DEFAULT_GRUB)
    host.set_cmdline("256M,high 128M,low")
    original = host.default_grub.read_text()
    result = run(run_module, {"value": "384M"}, check_mode=True, diff=True)
    assert (result["changed"], result["regenerated"]) == (True, False)
    assert (result["before"], result["after"], result["reboot_required"]) == ("256M,high 128M,low", "384M", True)
    value_diff, file_diff = result["diff"]
    assert (value_diff["before"], value_diff["after"]) == ("256M,high 128M,low\n", "384M\n")
    assert file_diff["before"] == original
    assert file_diff["after"] == original.replace("crashkernel=256M,high crashkernel=128M,low ", "crashkernel=384M ")
    assert file_diff["before_header"] == str(host.default_grub)
    assert host.default_grub.read_text() == original
    assert host.argvs("grub2-mkconfig") == []
    assert [path.name for path in host.etc_default.iterdir()] == ["grub"]  # no backup in check mode


def test_default_grub_absent_removes_only_the_crashkernel_words(host, run_module):
    host.suse(OPENQA_KDUMP_DEFAULT_GRUB)
    host.set_cmdline("256M,high 128M,low")
    original = host.default_grub.read_text()
    result = run(run_module, {"state": "absent"})
    assert (result["changed"], result["after"], result["reboot_required"]) == (True, None, True)
    assert host.default_grub.read_text() == original.replace(" crashkernel=256M,high crashkernel=128M,low", "")
    assert run(run_module, {"state": "absent"})["changed"] is False


def test_auto_picks_grub_default_where_only_grub2_mkconfig_exists(host, run_module):
    host.suse()
    assert run(run_module, {"value": "256M"}, check_mode=True)["backend"] == "grub_default"


def test_default_grub_regeneration_failure_puts_the_file_back(host, run_module):
    host.suse(OPENQA_KDUMP_DEFAULT_GRUB)
    original = host.default_grub.read_text()
    host.fail["grub2-mkconfig"] = (1, "", "/usr/sbin/grub2-mkconfig: line 270: syntax error")
    result = run(run_module, {"value": "512M"})
    assert (result["failed"], result["error_kind"], result["rc"]) == (True, "command_failed", 1)
    assert "syntax error" in result["msg"] and "was put back as it was" in result["msg"]
    assert host.default_grub.read_text() == original
    with open(result["backup_file"]) as handle:
        assert handle.read() == original
    # The change is still pending, so the next run makes it.
    del host.fail["grub2-mkconfig"]
    again = run(run_module, {"value": "512M"})
    assert (again["changed"], again["regenerated"], again["after"]) == (True, True, "512M")


UNSAFE_DEFAULT_GRUB_LINES = [
    'GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT crashkernel=1G"',
    'GRUB_CMDLINE_LINUX="$(cat /etc/kernel/cmdline)"',
    'GRUB_CMDLINE_LINUX_DEFAULT="quiet \\',
    'export GRUB_CMDLINE_LINUX_DEFAULT="quiet"',
    'if [ -e /etc/sysconfig/kdump ]; then GRUB_CMDLINE_LINUX="crashkernel=1G"; fi',
]


@pytest.mark.parametrize("check_mode", [False, True], ids=["apply", "check"])
@pytest.mark.parametrize("line", UNSAFE_DEFAULT_GRUB_LINES, ids=repr)
def test_default_grub_that_cannot_be_edited_safely_is_refused_before_anything(host, run_module, check_mode, line):
    host.suse()
    host.default_grub.write_text(host.default_grub.read_text() + line + "\n")
    original = host.default_grub.read_text()
    result = run(run_module, {"value": "256M"}, check_mode=check_mode)
    assert (result["failed"], result["error_kind"]) == (True, "unsafe_default_grub")
    assert result["msg"].startswith(f"{host.default_grub} cannot be edited safely: line 46: ")
    assert "make GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT plain assignments" in result["msg"]
    assert result["msg"].endswith("nothing was changed")
    assert host.commands.calls == []
    assert host.default_grub.read_text() == original
    assert [path.name for path in host.etc_default.iterdir()] == ["grub"]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("bls", "sets GRUB_ENABLE_BLSCFG=true: the boot entries are BLS snippets"),
        ("no-default-grub", "is missing or unreadable: the grub_default backend (openSUSE, SLES) edits"),
        ("no-grub2-mkconfig", "grub2-mkconfig not found: the grub_default backend regenerates"),
        ("no-grub-cfg", "does not exist, so this host does not boot GRUB 2 from it"),
    ],
)
@pytest.mark.parametrize("check_mode", [False, True], ids=["apply", "check"])
def test_default_grub_without_what_it_needs_is_refused_before_anything(host, run_module, check_mode, setup, message):
    host.suse()
    if setup == "bls":
        host.default_grub.write_text(host.default_grub.read_text() + "GRUB_ENABLE_BLSCFG=true\n")
    elif setup == "no-default-grub":
        host.default_grub.unlink()
    elif setup == "no-grub2-mkconfig":
        host.bins = {}
    else:
        host.grub2_cfg.unlink()
    before = host.default_grub.read_text() if host.default_grub.exists() else None
    result = run(run_module, {"value": "256M", "backend": "grub_default"}, check_mode=check_mode)
    assert (result["failed"], result["error_kind"]) == (True, "no_bootloader")
    assert message in result["msg"] and result["msg"].endswith("nothing was changed")
    assert host.commands.calls == []
    assert (host.default_grub.read_text() if host.default_grub.exists() else None) == before


def test_default_grub_symlink_is_not_written_through(host, run_module, tmp_path):
    host.suse()
    target = tmp_path / "grub.real"
    target.write_text(host.default_grub.read_text())
    host.default_grub.unlink()
    host.default_grub.symlink_to(target)
    result = run(run_module, {"value": "256M"})
    assert result["error_kind"] == "unsafe_default_grub"
    assert "symbolic link" in result["msg"]
    assert host.default_grub.is_symlink()
    assert "crashkernel" not in target.read_text()


def test_default_grub_the_shell_reads_differently_is_refused_before_anything(host, run_module):
    # A sourced file sets the value: the lines the module would edit are not what grub2-mkconfig uses.
    host.suse()
    local = host.etc_default / "grub.local"
    local.write_text('GRUB_CMDLINE_LINUX_DEFAULT="quiet crashkernel=1G"\n')
    host.default_grub.write_text(host.default_grub.read_text() + f". {local}\n")
    result = run(run_module, {"value": "256M"}, check_mode=True)
    assert result["error_kind"] == "unsafe_default_grub"
    assert "/bin/sh reads crashkernel=1G from" in result["msg"] and result["msg"].endswith("nothing was changed")
    assert host.argvs("grub2-mkconfig") == []


def test_default_grub_a_change_the_shell_does_not_see_is_undone(host, run_module):
    # The sourced file overrides the variable after our line: after writing, /bin/sh still sees none.
    host.suse()
    local = host.etc_default / "grub.local"
    local.write_text('GRUB_CMDLINE_LINUX_DEFAULT="quiet"\n')
    host.default_grub.write_text(host.default_grub.read_text() + f". {local}\n")
    original = host.default_grub.read_text()
    result = run(run_module, {"value": "256M"})
    assert (result["failed"], result["error_kind"]) == (True, "not_applied")
    assert "after the change: /bin/sh reads crashkernel=None" in result["msg"]
    assert "was put back as it was" in result["msg"] and "grub.cfg regenerated" in result["msg"]
    assert host.default_grub.read_text() == original
    assert host.argvs("grub2-mkconfig") == [mkconfig_argv(host)] * 2
    with open(result["backup_file"]) as handle:
        assert handle.read() == original


def test_default_grub_warns_about_drop_ins_suse_never_reads(host, run_module, load_fixture):
    host.suse()
    (host.etc_default / "grub.d").mkdir()
    dropin = host.etc_default / "grub.d" / "kdump-tools.cfg"
    dropin.write_text(load_fixture("grub", "kdump-tools_1.8.1.cfg"))
    result = run(run_module, {"value": "256M"})
    assert "failed" not in result, result.get("msg")
    assert result["after"] == "256M"
    assert any(str(dropin) in w and "reads only" in w for w in result["warnings"]), result.get("warnings")
    assert dropin.read_text() == load_fixture("grub", "kdump-tools_1.8.1.cfg")
