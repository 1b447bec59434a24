#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: kdump_info
short_description: Gather kdump readiness facts in one read-only round trip
version_added: 0.1.0
description:
  - Reads everything the C(kdump.fleet.kdump) role, the audit and the crash test need to know about
    kdump on a host and returns it as one dictionary, C(kdump).
  - Covers the distribution family, kernel, boot loader backend, installed kdump packages, the kdump
    service state, the C(crashkernel=) reservation (command line, boot configuration, C(/sys/kernel),
    C(/proc/iomem)), the panic sysctls, the parsed dump configuration, the capture initrd, free space
    at a local dump target, the vmcores already saved and the last crash test evidence record.
  - Knows three families. Debian and Ubuntu (kdump-tools, C(/etc/default/kdump-tools)), the RHEL family
    (kdumpctl, C(/etc/kdump.conf)) and the SUSE family, openSUSE Leap, Tumbleweed and SLES (the C(kdump)
    package, C(/etc/sysconfig/kdump)).
  - Never changes the host. Never fails because something is missing or unreadable; the field is
    set to C(null) and the reason is added to C(kdump.errors).
  - Run it as root. Without root the kernel hides the addresses in C(/proc/iomem), so the crash
    kernel region size and the System RAM total are C(null).
author:
  - kdump.fleet maintainers (@kdump-fleet)
options:
  dump_path:
    description:
      - Directory to look for saved vmcores and to measure free space in.
      - Defaults to the path of a local target in the dump configuration, else C(/var/crash).
    type: path
  evidence_path:
    description:
      - The crash test evidence record (JSON) to return as C(kdump.crash_test).
    type: path
    default: /var/lib/kdump-fleet/last-crash-test.json
  list_dumps_limit:
    description:
      - At most this many vmcores are listed in C(kdump.dumps.items), newest first.
      - C(kdump.dumps.count) always counts them all.
    type: int
    default: 50
  probe_target:
    description:
      - Open a TCP connection from the host to a remote dump target (NFS port 2049, SSH port 22)
        and report whether it answered as C(kdump.config.target_reachable).
      - Nothing is sent over the connection; it is closed at once.
    type: bool
    default: false
  probe_timeout:
    description:
      - Seconds to wait for the probe's TCP connection.
    type: float
    default: 3
extends_documentation_fragment:
  - kdump.fleet.attributes
  - kdump.fleet.attributes.read_only
attributes:
  check_mode:
    description: The module never changes anything; check mode returns the same result.
  diff_mode:
    description: Nothing changes, so there is no diff.
notes:
  - Uses C(systemctl show); where systemd is not running (containers, chroots) it falls back to
    C(systemctl --root=/ is-enabled) and C(kdump.service.active) is C(null).
seealso:
  - module: kdump.fleet.crashkernel
"""

EXAMPLES = r"""
- name: Gather kdump facts
  kdump.fleet.kdump_info:
  register: kdump_facts

- name: Fail when the capture kernel is not loaded
  ansible.builtin.assert:
    that: kdump_facts.kdump.crashkernel.loaded
    fail_msg: "kdump is not armed on {{ inventory_hostname }}"

- name: Look for dumps on a separate crash partition, list at most 5
  kdump.fleet.kdump_info:
    dump_path: /srv/crash
    list_dumps_limit: 5
"""

RETURN = r"""
kdump:
  description:
    - Everything gathered about kdump on the host, the host state. Its schema is the TypedDicts of the
      collection's module_utils C(_host_state) (C(state_version) 1); see docs/design.md for the full shape.
    - Every field may be null, which means unknown.
  returned: always
  type: dict
  sample:
    state_version: 1
    family: debian
    distribution: {id: debian, version: "12", codename: bookworm}
    kernel: 6.1.0-28-amd64
    backend: {bootloader: grub_dropin, config_format: kdump_tools}
    packages: {kdump-tools: "1:1.8.1", makedumpfile: "1:1.7.2-1", kexec-tools: "1:2.0.25-3+b1"}
    tools_installed: true
    service: {name: kdump-tools, exists: true, enabled: true, active: true, masked: false, unit_file_state: enabled}
    tool_status: {command: kdump-config status, ready: true, state: ready to kdump,
                  messages: ["current state   : ready to kdump"]}
    crashkernel:
      cmdline: "384M-:128M"
      configured: "384M-:128M"
      reserved_bytes: 134217728
      reserved_source: kexec_crash_size
      kexec_crash_size: 134217728
      loaded: true
      iomem: {start: 1610612736, end: 1744830463, size: 134217728}
      recommended: 192M
      recommended_bytes: 201326592
      cma_bytes: null
    sysctl: {kexec_load_disabled: 0, sysrq: 438, panic_on_oops: 0}
    config:
      path: /etc/default/kdump-tools
      exists: true
      mtime: 1732280000.0
      target: {type: local, path: /var/crash, server: null, export: null, host: null, user: null, port: null,
               key: null, device: null, fstype: null, location: null}
      collector: {command: makedumpfile -F -l -d 31, tool: makedumpfile, dump_level: 31, compression: lzo,
                  flattened: true, extra_args: []}
      dump_dmesg: true
      failure_action: reboot
      final_action: reboot
      keep_dumps: 0
      errors: []
      target_reachable: null
      target_probe: null
    initrd: {path: /var/lib/kdump/initrd.img-6.1.0-28-amd64, exists: true, mtime: 1732280100.0, stale: false,
             built_from: /etc/kdump/sysctl.conf}
    storage: {path: /var/crash, exists: true, free_bytes: 2147483648, total_bytes: 4227858432}
    dumps: {path: /var/crash, count: 0, items: [], newest: null, world_readable_count: 0, group_readable_count: 0}
    memory: {bytes: 2147024896, source: iomem, total_bytes: 2062053376, system_ram_bytes: 2147024896}
    crash_test: null
    errors: []
  contains:
    state_version:
      description: Version of the state schema; it changes when a field changes meaning or type.
      returned: always
      type: int
      sample: 1
    tool_status:
      description:
        - The distribution tool's own verdict, C(kdump-config status) or C(kdumpctl status), null when the
          kdump tools are not installed and on the SUSE family, whose kdump has no status command.
          C(ready) is null when the tool printed no verdict.
      returned: always
      type: dict
      sample: {command: kdumpctl status, ready: true, state: Kdump is operational, messages: [Kdump is operational]}
    family:
      description: Distribution family from C(/etc/os-release) ID and ID_LIKE.
      returned: always
      type: str
      sample: debian
    distribution:
      description: ID, VERSION_ID and VERSION_CODENAME from C(/etc/os-release) as C(id), C(version), C(codename).
      returned: always
      type: dict
      sample: {id: debian, version: "12", codename: bookworm}
    kernel:
      description: Release of the running kernel.
      returned: always
      type: str
      sample: 6.1.0-28-amd64
    backend:
      description:
        - C(bootloader) is C(grubby), C(grub_dropin) (GRUB drop-ins, Debian and Ubuntu), C(grub_default)
          (C(/etc/default/grub) and C(grub2-mkconfig), the SUSE family) or C(none).
        - C(config_format) is C(kdump_tools), C(kdump_conf), C(sysconfig_kdump) (SUSE) or null for an unknown
          family.
      returned: always
      type: dict
      sample: {bootloader: grub_dropin, config_format: kdump_tools}
    packages:
      description: Installed version of each kdump package, null when not installed.
      returned: always
      type: dict
      sample: {kdump-tools: "1:1.8.1", makedumpfile: "1:1.7.2-1", kexec-tools: null}
    tools_installed:
      description: Whether the package that provides the kdump service is installed.
      returned: always
      type: bool
      sample: true
    service:
      description: State of the kdump unit (C(kdump-tools) or C(kdump)); fields are null when unknown.
      returned: always
      type: dict
      sample: {name: kdump-tools, exists: true, enabled: true, active: true, masked: false, unit_file_state: enabled}
    crashkernel:
      description:
        - C(cmdline) is the value on C(/proc/cmdline), C(configured) the one in the boot configuration,
          C(loaded) C(/sys/kernel/kexec_crash_loaded), C(iomem) the C(Crash kernel) region of C(/proc/iomem)
          (start, end, size; null when none).
        - C(reserved_bytes) is the one reserved size every reader uses. C(reserved_source) says where it came
          from, C(kexec_crash_size) (C(/sys/kernel/kexec_crash_size), also returned as C(kexec_crash_size)),
          C(iomem) (the region, when that file is unreadable) or C(iomem_none) (root read C(/proc/iomem) and
          found no region, so 0).
        - C(recommended) is the size the collection's table gives this host's memory.
        - C(cma_bytes) is the C(crashkernel=Y,cma) area on the command line (extra capture-kernel memory taken
          from CMA, Linux 6.16+ on x86_64 and ppc64le); null without one or on a kernel that ignores it.
      returned: always
      type: dict
      sample: {cmdline: 256M, configured: 256M, reserved_bytes: 268435456, reserved_source: kexec_crash_size,
               kexec_crash_size: 268435456, loaded: true,
               iomem: {start: 1610612736, end: 1879048191, size: 268435456},
               recommended: 192M, recommended_bytes: 201326592, cma_bytes: null}
    sysctl:
      description: C(kernel.kexec_load_disabled), C(kernel.sysrq) and C(kernel.panic_on_oops); null when unreadable.
      returned: always
      type: dict
      sample: {kexec_load_disabled: 0, sysrq: 438, panic_on_oops: 0}
    config:
      description:
        - The dump configuration file and what it sets, null for an unknown family. C(target) and C(collector)
          are in the role's vocabulary (C(kdump_target) with C(kdump_path) as C(path); C(kdump_core_collector)
          with C(dump_level), C(compression) and C(extra_args) parsed from the command line).
        - On the SUSE family the file is parsed, never run, and unset variables take the defaults of kdump 2
          (SLES 15 SP6 and later, Leap 15.6 and later, Tumbleweed). C(target.type) is C(local) for a path or
          C(file://), C(nfs), C(ssh) (also C(sftp://) and C(scp://)), or C(ftp) and C(cifs) (also C(smb://)),
          which the role cannot configure. C(target.location) is the URL without its password.
          C(keep_dumps) counts the new dump, so C(KDUMP_KEEP_OLD_DUMPS=4) is 5.
      returned: always
      type: dict
      sample: {path: /etc/kdump.conf, exists: true, mtime: 1732280000.0,
               target: {type: ssh, path: /var/crash, server: kdump@dumps.example.com, host: dumps.example.com,
                        user: kdump, key: /root/.ssh/kdump_id_rsa, location: kdump@dumps.example.com},
               collector: {command: makedumpfile -F -l --message-level 7 -d 31, tool: makedumpfile,
                           dump_level: 31, compression: lzo, flattened: true, extra_args: [--message-level, "7"]},
               failure_action: reboot, final_action: reboot, keep_dumps: 0, errors: []}
    initrd:
      description:
        - The capture initrd; C(stale) is true when it is older than C(built_from), the file whose content it holds.
        - C(built_from) is the dump configuration for kdumpctl, which bakes kdump.conf into the initrd, and
          kdump-tools' sysctl overrides C(/etc/kdump/sysctl.conf) on Debian/Ubuntu, whose capture kernel reads
          C(/etc/default/kdump-tools) from the root file system at dump time.
        - On the SUSE family it is C(/etc/sysconfig/kdump), which the kdump service copies into
          C(/var/lib/kdump/initrd) (one initrd for every kernel; C(/boot/initrd-RELEASE-kdump) on SLES 15 SP5
          and Leap 15.5) when it starts; C(systemctl restart kdump) rebuilds a stale one.
      returned: always
      type: dict
      sample: {path: /boot/initramfs-5.14.0-427.el9.x86_64kdump.img, exists: true, mtime: 1732280100.0, stale: false,
               built_from: /etc/kdump.conf}
    storage:
      description: Free and total bytes of the file system holding a local dump path; null for remote targets.
      returned: always
      type: dict
      sample: {path: /var/crash, exists: true, free_bytes: 2147483648, total_bytes: 4227858432}
    dumps:
      description:
        - Saved vmcores under the dump path, newest first, with size, mtime, modes, C(world_readable) and
          C(group_readable).
        - C(items) holds at most O(list_dumps_limit) of them; C(count), C(newest) and C(world_readable_count)
          and C(group_readable_count) cover all of them.
      returned: always
      type: dict
      sample: {path: /var/crash, count: 1, newest: null, world_readable_count: 0, group_readable_count: 0,
               items: [{path: /var/crash/202611221330/dump.202611221330, mtime: 1795008600.0, size: 28700000,
                        mode: "0600", dir_mode: "0700", world_readable: false, group_readable: false}]}
    memory:
      description:
        - C(bytes) is the one RAM figure every reader uses, with its C(source) C(iomem) (System RAM of
          C(/proc/iomem), read as root) or C(meminfo) (C(MemTotal)); both readings are returned too.
      returned: always
      type: dict
      sample: {bytes: 2147024896, source: iomem, total_bytes: 2062053376, system_ram_bytes: 2147024896}
    crash_test:
      description: The crash test evidence record, null when there is none or it cannot be parsed.
      returned: always
      type: dict
      sample: {version: 1, result: success, kernel: 6.1.0-28-amd64, dump_path: /var/crash/202611221330}
    errors:
      description: What could not be read, each with the reason.
      returned: always
      type: list
      elements: str
      sample: ["/sys/kernel/kexec_crash_size: not present (kernel without kexec/crash dump support?)"]
"""

import errno
import json
import os
import platform
import socket
import stat
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.kdump.fleet.plugins.module_utils._crashkernel import (
    CrashkernelError,
    cma_unsupported_reason,
    find_in_cmdline,
    format_size,
    parse_size,
    recommended,
)
from ansible_collections.kdump.fleet.plugins.module_utils._crashkernel import parse as parse_crashkernel
from ansible_collections.kdump.fleet.plugins.module_utils._grub import (
    GRUB_CFG,
    boot_args_by_release,
    effective_cmdline_script,
    effective_crashkernel,
    parse_grub_cfg,
)
from ansible_collections.kdump.fleet.plugins.module_utils._grubby import info_argv, parse_info
from ansible_collections.kdump.fleet.plugins.module_utils._host_config import (
    summarize_kdump_conf,
    summarize_kdump_tools,
    summarize_sysconfig_kdump,
)
from ansible_collections.kdump.fleet.plugins.module_utils._host_facts import (
    DPKG_QUERY_FORMAT,
    RPM_QUERY_FORMAT,
    SYSTEMCTL_PROPERTIES,
    choose_bootloader,
    distribution,
    family,
    find_dumps,
    memory_figure,
    parse_dpkg_query,
    parse_kdump_config_show,
    parse_kdumpctl_status,
    parse_meminfo,
    parse_os_release,
    parse_rpm_query,
    parse_systemctl_is_enabled,
    parse_systemctl_show,
    summarize_iomem,
)
from ansible_collections.kdump.fleet.plugins.module_utils._host_state import (
    EVIDENCE_PATH,
    STATE_VERSION,
    conform,
    target_endpoint,
)

# Every host path is read below this root; unit tests point it at a fake tree.
HOST_ROOT = "/"

DEFAULT_DUMP_PATH = "/var/crash"
TOOL_DIRS = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")
# kdump-tools builds a kernel's capture initrd from its kernel postinst hook (/etc/kernel/postinst.d/kdump-tools),
# and `kdump-config load` at boot runs that hook when /var/lib/kdump/initrd.img-RELEASE is missing
# (kdump_create_symlinks, kdump-tools 1.8.1 and 1.10.7): a kernel installed later gets one on its first boot.
DEBIAN_INITRD_BUILT_AT_BOOT = True
PER_FAMILY = {
    "debian": {
        "service": "kdump-tools",
        "config_path": "/etc/default/kdump-tools",
        "config_format": "kdump_tools",
        "summarize": summarize_kdump_tools,
        "packages": ("kdump-tools", "makedumpfile", "kexec-tools"),
        "service_packages": ("kdump-tools",),
        "initrd": "/var/lib/kdump/initrd.img-{kernel}",
        # kdump-tools' capture kernel reads /etc/default/kdump-tools from the root file system; its
        # initrd holds only the sysctl overrides, and kdump-config load rebuilds it when they change.
        "initrd_built_from": "/etc/kdump/sysctl.conf",
        "initrd_built_at_boot": DEBIAN_INITRD_BUILT_AT_BOOT,
        "status_tool": ("kdump-config", "status"),
    },
    "redhat": {
        "service": "kdump",
        "config_path": "/etc/kdump.conf",
        "config_format": "kdump_conf",
        "summarize": summarize_kdump_conf,
        "packages": ("kexec-tools", "kdump-utils", "makedumpfile"),
        # EL10 / Fedora 40+ moved kdumpctl from kexec-tools to kdump-utils.
        "service_packages": ("kdump-utils", "kexec-tools"),
        "initrd": "/boot/initramfs-{kernel}kdump.img",
        # kdumpctl start builds the capture initrd of the running kernel when it is missing or older than
        # what it is built from, so a kernel installed later gets one on its first boot.
        "initrd_built_at_boot": True,
        "status_tool": ("kdumpctl", "status"),
    },
    "suse": {
        "service": "kdump",
        "config_path": "/etc/sysconfig/kdump",
        "config_format": "sysconfig_kdump",
        "summarize": summarize_sysconfig_kdump,
        "packages": ("kdump", "makedumpfile", "kexec-tools"),
        "service_packages": ("kdump",),
        # kdump 2 (SLES 15 SP6+, Leap 15.6+, Tumbleweed) builds one capture initrd; kdump 1 (SLES 15 SP5,
        # Leap 15.5) one per kernel (mkdumprd: /boot/initrd-RELEASE-kdump). The first that exists is reported.
        "initrd": ("/var/lib/kdump/initrd", "/boot/initrd-{kernel}-kdump"),
        # Both hold the dump config (kdump 2 copies it into the initrd as /etc/kdump.conf), and kdump.service
        # (load.sh --update) rebuilds the initrd when /etc/sysconfig/kdump or the kernel is newer than it.
        "initrd_built_at_boot": True,
        # SUSE's kdump has no status command (rckdump status is systemctl's).
        "status_tool": None,
    },
}
# grub2-mkconfig's output on the SUSE family (grub_default); Debian's update-grub writes _grub.GRUB_CFG.
GRUB2_CFG = "/boot/grub2/grub.cfg"
CONFIG_FIELDS = ("target", "collector", "failure_action", "final_action", "keep_dumps", "dump_dmesg")
SYSCTLS = ("kexec_load_disabled", "sysrq", "panic_on_oops")


class HostReader:
    """Reads files and runs tools on the host, noting every failure in ``errors``."""

    def __init__(self, module):
        self.module = module
        self.errors = []

    @staticmethod
    def path(host_path):
        return os.path.join(HOST_ROOT, host_path.lstrip("/"))

    def note(self, message):
        self.errors.append(message)

    def read(self, host_path, missing_hint=None, quiet_missing=False):
        """Text of a host file, or None (with the reason noted unless quiet_missing)."""
        try:
            with open(self.path(host_path), encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                if not quiet_missing:
                    self.note(
                        "{0}: not present{1}".format(host_path, " ({0})".format(missing_hint) if missing_hint else "")
                    )
            else:
                self.note("{0}: {1}".format(host_path, exc.strerror or exc))
            return None

    def read_int(self, host_path, missing_hint=None):
        text = self.read(host_path, missing_hint)
        if text is None:
            return None
        try:
            return int(text.split()[0])
        except (IndexError, ValueError):
            self.note("{0}: not a number: {1!r}".format(host_path, text.strip()[:40]))
            return None

    def stat(self, host_path):
        try:
            return os.stat(self.path(host_path))
        except OSError:
            return None

    def find_tool(self, name):
        for directory in TOOL_DIRS:
            candidate = os.path.join(directory, name)
            if os.access(self.path(candidate), os.X_OK):
                return candidate
        return None

    def run(self, argv):
        """(rc, stdout, stderr) of a command run in the C locale, so its output parses."""
        return self.module.run_command(argv, environ_update={"LC_ALL": "C", "LANG": "C"})


def gather(module):
    host = HostReader(module)
    params = module.params

    os_release = parse_os_release(host.read("/etc/os-release", quiet_missing=True) or "")
    if not os_release:
        os_release = parse_os_release(host.read("/usr/lib/os-release") or "")
    distro_family = family(os_release)
    per_family = PER_FAMILY.get(distro_family)
    if per_family is None:
        host.note(
            "distribution family unknown (os-release ID={0!r}); package, service and config facts skipped".format(
                os_release.get("ID")
            )
        )
    kernel = (host.read("/proc/sys/kernel/osrelease", quiet_missing=True) or platform.release()).strip()

    iomem_text = host.read("/proc/iomem")
    iomem = summarize_iomem(iomem_text or "")
    if iomem_text is not None and iomem["masked"]:
        host.note("/proc/iomem: addresses hidden (not running as root); crash kernel region and System RAM unknown")
    meminfo = parse_meminfo(host.read("/proc/meminfo") or "")
    memory = _memory(iomem, meminfo)

    backend = {
        "bootloader": _bootloader(host),
        "config_format": per_family["config_format"] if per_family else None,
    }
    packages = _packages(host, per_family)
    tools_installed = bool(per_family) and any(packages.get(name) for name in per_family["service_packages"])
    config = _config(host, per_family)
    dump_path = params["dump_path"] or _local_dump_path(config)

    state = {
        "state_version": STATE_VERSION,
        "family": distro_family,
        "distribution": distribution(os_release),
        "kernel": kernel,
        "backend": backend,
        "packages": packages,
        "tools_installed": tools_installed,
        "service": _service(host, per_family),
        "tool_status": _tool_status(host, per_family) if tools_installed else None,
        "crashkernel": _crashkernel(host, backend["bootloader"], iomem, memory),
        "sysctl": {name: host.read_int("/proc/sys/kernel/" + name) for name in SYSCTLS},
        "config": _with_target_probe(config, params["probe_target"], params["probe_timeout"]),
        "initrd": _initrd(host, per_family, kernel, config),
        "kernels": _kernels(host, per_family, backend["bootloader"], kernel),
        "storage": _storage(host, dump_path) if _target_is_local(config) else None,
        "dumps": _dumps(host, dump_path, params["list_dumps_limit"]),
        "memory": memory,
        "crash_test": _evidence(host, params["evidence_path"]),
        "errors": host.errors,
    }
    # The schema in _host_state is the contract: what does not fit it is a bug here, named in errors.
    state, problems = conform(state)
    state["errors"].extend("kdump_info state: %s" % problem for problem in problems)
    return state


def _memory(iomem, meminfo):
    """The one RAM figure (_host_facts.memory_figure) with the two readings it came from."""
    figure = memory_figure(iomem, meminfo)
    return dict(figure, total_bytes=meminfo.get("MemTotal"), system_ram_bytes=iomem["system_ram_bytes"])


def _bootloader(host):
    # The same rule as the crashkernel module's: only installed tools count (_host_facts).
    return choose_bootloader(lambda name: bool(host.find_tool(name)))


def _packages(host, per_family):
    if per_family is None:
        return {}
    names = per_family["packages"]
    if per_family["config_format"] == "kdump_tools":
        tool, argv_tail, parse = "dpkg-query", ["-W", "-f=" + DPKG_QUERY_FORMAT], parse_dpkg_query
    else:
        tool, argv_tail, parse = "rpm", ["-q", "--qf", RPM_QUERY_FORMAT], parse_rpm_query
    binary = host.find_tool(tool)
    if binary is None:
        host.note("{0}: not found; package versions unknown".format(tool))
        return dict.fromkeys(names)
    rc, out, err = host.run([binary] + argv_tail + list(names))
    # dpkg-query exits 1 and rpm exits N when N packages are missing; that is an answer, not a failure.
    answered = out.strip() or "no packages found matching" in err
    if rc != 0 and not answered:
        host.note("{0} failed (rc={1}): {2}".format(tool, rc, err.strip()[:200]))
    return parse(out, names)


def _service(host, per_family):
    name = per_family["service"] if per_family else None
    result = {"name": name, "exists": None, "enabled": None, "active": None, "masked": None, "unit_file_state": None}
    if name is None:
        return result
    systemctl = host.find_tool("systemctl")
    if systemctl is None:
        host.note("systemctl: not found; service state unknown")
        return result
    unit = name + ".service"
    rc, out, err = host.run([systemctl, "show", "-p", SYSTEMCTL_PROPERTIES, unit])
    state = parse_systemctl_show(out) if rc == 0 else parse_systemctl_show("")
    if state["exists"] is None:
        # No running systemd (container, chroot): the unit file state is still readable.
        reason = err.strip().splitlines()[0] if err.strip() else "no output"
        host.note("systemctl show {0} failed (rc={1}): {2}; active state unknown".format(unit, rc, reason))
        rc, out, err = host.run([systemctl, "--root=" + HOST_ROOT, "is-enabled", unit])
        state = parse_systemctl_is_enabled(out, rc)
    for key in ("exists", "enabled", "active", "masked", "unit_file_state"):
        result[key] = state[key]
    return result


def _reserved(kexec_crash_size, iomem):
    """(bytes, source) reserved for the capture kernel; (None, None) when it cannot be told.

    kexec_crash_size first, else the iomem "Crash kernel" region; no region in an iomem that
    root could read means nothing is reserved (a kernel built without crash dump support).
    """
    if kexec_crash_size is not None:
        return kexec_crash_size, "kexec_crash_size"
    region = iomem["crash_kernel"]
    if region and region["size"] is not None:
        return region["size"], "iomem"
    if iomem["system_ram_bytes"]:
        return 0, "iomem_none"
    return None, None


def _crashkernel(host, bootloader, iomem, memory):
    cmdline = host.read("/proc/cmdline")
    loaded = host.read_int("/sys/kernel/kexec_crash_loaded", "kernel without kexec/crash dump support?")
    crash_size = host.read_int("/sys/kernel/kexec_crash_size", "kernel without kexec/crash dump support?")
    reserved, reserved_source = _reserved(crash_size, iomem)
    sizing_bytes = memory["bytes"]
    recommended_size = recommended_bytes = None
    if sizing_bytes:
        try:
            recommended_size = recommended(sizing_bytes, platform.machine())
            recommended_bytes = parse_size(recommended_size)
        except ValueError as exc:
            host.note("recommended crashkernel: {0}".format(exc))
    on_cmdline = find_in_cmdline(cmdline) if cmdline is not None else None
    return {
        "cmdline": on_cmdline,
        "configured": _configured_crashkernel(host, bootloader),
        "reserved_bytes": reserved,
        "reserved_source": reserved_source,
        "kexec_crash_size": crash_size,
        "loaded": None if loaded is None else loaded == 1,
        "iomem": iomem["crash_kernel"],
        "recommended": recommended_size,
        "recommended_bytes": recommended_bytes,
        "cma_bytes": _cma_bytes(host, on_cmdline),
    }


def _cma_bytes(host, on_cmdline):
    """The command line's crashkernel=Y,cma area when the running kernel takes it, else None."""
    if not on_cmdline or ",cma" not in on_cmdline:
        return None
    try:
        cma = parse_crashkernel(on_cmdline).cma
    except CrashkernelError as exc:
        host.note("crashkernel on the command line: {0}".format(exc))
        return None
    reason = cma_unsupported_reason(platform.release(), platform.machine())
    if reason:
        host.note("crashkernel={0},cma on the command line is ignored: {1}".format(format_size(cma), reason))
        return None
    return cma


def _configured_crashkernel(host, bootloader):
    if bootloader == "grubby":
        rc, out, err = host.run(info_argv(host.find_tool("grubby"), "DEFAULT"))
        entries = parse_info(out) if rc == 0 else []
        if not entries:
            host.note("grubby --info=DEFAULT failed (rc={0}): {1}".format(rc, err.strip()[:200]))
            return None
        return entries[0].crashkernel
    if bootloader in ("grub_dropin", "grub_default"):
        rc, out, err = host.run(["/bin/sh", "-c", effective_cmdline_script(host.path("/etc/default"))])
        if rc != 0:
            host.note("reading the GRUB command line failed (rc={0}): {1}".format(rc, err.strip()[:200]))
            return None
        return effective_crashkernel(out)
    return None


def _config(host, per_family):
    if per_family is None:
        return None
    path = per_family["config_path"]
    config = {"path": path, "exists": False, "mtime": None, "errors": []}
    config.update(dict.fromkeys(CONFIG_FIELDS))
    info = host.stat(path)
    text = host.read(path) if info else None
    if info is None:
        host.note("{0}: not present".format(path))
    if text is None:
        return config
    config.update(exists=True, mtime=info.st_mtime)
    try:
        summary = per_family["summarize"](text)
    except Exception as exc:  # a helper bug must not cost the whole fact set
        host.note("{0}: could not be parsed: {1}".format(path, exc))
        return config
    # Everything the config helper summarizes passes through; path/exists/mtime are ours.
    for key, value in summary.items():
        if key not in ("path", "exists", "mtime"):
            config[key] = value
    config["errors"] = list(summary.get("errors") or [])
    return config


def _with_target_probe(config, probe, timeout):
    """Add target_reachable / target_probe to the config facts (null when not probed)."""
    if config is None:
        return None
    config["target_reachable"] = None
    config["target_probe"] = None
    endpoint = target_endpoint(config.get("target")) if probe else None
    if endpoint is None:
        return config
    host, port = endpoint
    started = time.monotonic()
    error = None
    try:
        socket.create_connection((host, port), timeout).close()
    except (OSError, ValueError) as exc:  # name resolution, refused, timeout, bad address
        error = str(exc) or type(exc).__name__
    config["target_reachable"] = error is None
    config["target_probe"] = {
        "host": host,
        "port": port,
        "reachable": error is None,
        "error": error,
        "elapsed_s": round(time.monotonic() - started, 3),
    }
    return config


def _target_is_local(config):
    target = (config or {}).get("target") or {}
    return (target.get("type") or "local") == "local"


def _local_dump_path(config):
    if _target_is_local(config) and config and (config.get("target") or {}).get("path"):
        return config["target"]["path"]
    return DEFAULT_DUMP_PATH


def _tool_status(host, per_family):
    """The distribution tool's own verdict on kdump (read-only: both tools only print the state); None without one."""
    if per_family["status_tool"] is None:
        return None
    name, verb = per_family["status_tool"]
    binary = host.find_tool(name)
    result = {"command": "%s %s" % (name, verb), "ready": None, "state": None, "messages": []}
    if binary is None:
        host.note("%s: not found; the tool's own verdict is unknown" % name)
        return result
    rc, out, err = host.run([binary, verb])
    if name == "kdumpctl":
        parsed = parse_kdumpctl_status(out + err, rc)
        messages = parsed["messages"]
        ready = parsed["operational"]
        state = next((m for m in messages if m.lower().startswith("kdump is")), None)
    else:
        # kdump-config status prints "current state   : ready to kdump" (the same line as show).
        parsed = parse_kdump_config_show(out)
        messages = [line.strip() for line in (out + err).splitlines() if line.strip()]
        ready, state = parsed["ready"], parsed["current_state"]
    if ready is None:
        host.note("%s %s (rc=%d) printed no verdict: %s" % (name, verb, rc, (err or out).strip()[:200]))
    result.update(ready=ready, state=state, messages=messages[:20])
    return result


def _installed_releases(host):
    """Kernel releases with a /boot/vmlinuz-RELEASE (not the rescue image), or None when /boot is unreadable."""
    try:
        names = os.listdir(host.path("/boot"))
    except OSError as exc:
        host.note("/boot: cannot list the installed kernels: {0}".format(exc.strerror or exc))
        return None
    return sorted(
        name[len("vmlinuz-") :]
        for name in names
        if name.startswith("vmlinuz-") and not name.startswith("vmlinuz-0-rescue-")
    )


def _boot_entries(host, bootloader):
    """(release -> arguments of its boot entry, the default entry's release, source), or None on failure."""
    if bootloader in ("grub_dropin", "grub_default"):
        grub_cfg = GRUB_CFG if bootloader == "grub_dropin" else GRUB2_CFG
        text = host.read(grub_cfg)
        if text is None:
            return None
        entries = parse_grub_cfg(text)
        return boot_args_by_release(entries), (entries[0].release if entries else None), grub_cfg
    if bootloader == "grubby":
        grubby = host.find_tool("grubby")
        rc, out, err = host.run(info_argv(grubby, "ALL"))
        if rc != 0:
            host.note("grubby --info=ALL failed (rc={0}): {1}".format(rc, err.strip()[:200]))
            return None
        args = {}
        for entry in parse_info(out):
            release = os.path.basename(entry.kernel or "")[len("vmlinuz-") :]
            if release and not release.startswith("0-rescue-"):
                args.setdefault(release, entry.args or "")
        rc, out, _err = host.run([grubby, "--default-kernel"])
        default = os.path.basename(out.strip())[len("vmlinuz-") :] if rc == 0 and out.strip() else None
        return args, default, "grubby"
    return None


def _kernels(host, per_family, bootloader, running):
    """Every installed kernel: its boot entry's crashkernel= and its capture initrd (kernel updates)."""
    if per_family is None:
        return None
    releases = _installed_releases(host)
    boot = _boot_entries(host, bootloader)
    if releases is None or boot is None:
        return None
    args, default, source = boot
    installed = []
    for release in releases:
        initrd = _capture_initrd_path(host, per_family, release)
        installed.append(
            {
                "release": release,
                "running": release == running,
                "default": release == default,
                "boot_entry": release in args,
                "crashkernel": find_in_cmdline(args[release]) if release in args else None,
                "capture_initrd": initrd,
                "capture_initrd_exists": host.stat(initrd) is not None,
            }
        )
    return {
        "installed": installed,
        "default": default,
        "source": source,
        "capture_initrd_built_at_boot": per_family["initrd_built_at_boot"],
    }


def _capture_initrd_path(host, per_family, release):
    """The capture initrd of a kernel release: the first of the family's paths that exists, else the first."""
    templates = per_family["initrd"]
    paths = [
        template.format(kernel=release) for template in ((templates,) if isinstance(templates, str) else templates)
    ]
    return next((path for path in paths if host.stat(path) is not None), paths[0])


def _initrd(host, per_family, kernel, config):
    """The capture initrd, and whether it is older than what it was built from.

    kdumpctl and SUSE's kdump bake the dump config into their initrd; kdump-tools' initrd holds only its
    sysctl overrides.
    """
    if per_family is None:
        return None
    path = _capture_initrd_path(host, per_family, kernel)
    info = host.stat(path)
    built_from = per_family.get("initrd_built_from") or (config or {}).get("path")
    result = {
        "path": path,
        "exists": info is not None,
        "mtime": info.st_mtime if info else None,
        "stale": None,
        "built_from": built_from,
    }
    if info is None:
        return result
    if per_family.get("initrd_built_from"):
        source = host.stat(built_from)
        # No overrides file: nothing the initrd could be missing.
        result["stale"] = source is not None and info.st_mtime < source.st_mtime
    elif config and config["mtime"] is not None:
        result["stale"] = info.st_mtime < config["mtime"]
    return result


def _storage(host, dump_path):
    result = {"path": dump_path, "exists": host.stat(dump_path) is not None, "free_bytes": None, "total_bytes": None}
    probe = dump_path
    while host.stat(probe) is None and probe not in ("/", ""):
        probe = os.path.dirname(probe.rstrip("/")) or "/"
    try:
        fs = os.statvfs(host.path(probe))
    except OSError as exc:
        host.note("{0}: cannot measure free space: {1}".format(probe, exc.strerror or exc))
        return result
    result["free_bytes"] = fs.f_bavail * fs.f_frsize
    result["total_bytes"] = fs.f_blocks * fs.f_frsize
    return result


def _dumps(host, dump_path, limit):
    listing = []
    top = host.path(dump_path)
    try:
        directories = [entry for entry in os.scandir(top) if entry.is_dir(follow_symlinks=False)]
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            host.note("{0}: cannot list dumps: {1}".format(dump_path, exc.strerror or exc))
        directories = []
    for directory in directories:
        try:
            dir_mode = directory.stat(follow_symlinks=False).st_mode
            files = [entry for entry in os.scandir(directory.path) if entry.is_file(follow_symlinks=False)]
        except OSError as exc:
            host.note("{0}/{1}: cannot list: {2}".format(dump_path.rstrip("/"), directory.name, exc.strerror or exc))
            continue
        for entry in files:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:  # removed while we looked (retention cleanup): not a dump any more
                continue
            listing.append(
                {
                    "dir": directory.name,
                    "name": entry.name,
                    "path": "/".join((dump_path.rstrip("/"), directory.name, entry.name)),
                    "size": info.st_size,
                    "mtime": info.st_mtime,
                    "mode": stat.S_IMODE(info.st_mode),
                    "dir_mode": dir_mode,
                }
            )
    return dict(find_dumps(listing, limit), path=dump_path)


def _evidence(host, evidence_path):
    text = host.read(evidence_path, quiet_missing=True)
    if text is None:
        return None
    try:
        record = json.loads(text)
    except ValueError as exc:
        host.note("{0}: not valid JSON: {1}".format(evidence_path, exc))
        return None
    if not isinstance(record, dict):
        host.note("{0}: expected a JSON object, found {1}".format(evidence_path, type(record).__name__))
        return None
    # Records written before dump_server existed held local dumps only.
    record.setdefault("dump_server", None)
    return record


def main():
    module = AnsibleModule(
        argument_spec={
            "dump_path": {"type": "path"},
            "evidence_path": {"type": "path", "default": EVIDENCE_PATH},
            "list_dumps_limit": {"type": "int", "default": 50},
            "probe_target": {"type": "bool", "default": False},
            "probe_timeout": {"type": "float", "default": 3},
        },
        supports_check_mode=True,
    )
    if module.params["list_dumps_limit"] < 0:
        module.fail_json(msg="list_dumps_limit must be 0 or more, got {0}".format(module.params["list_dumps_limit"]))
    module.exit_json(changed=False, kdump=gather(module))


if __name__ == "__main__":
    main()
