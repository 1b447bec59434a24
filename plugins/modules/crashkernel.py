#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: crashkernel
short_description: Read and set the crashkernel= kernel argument
version_added: 0.1.0
description:
  - Sets, resets or removes the C(crashkernel=) boot argument that reserves memory for the
    kdump capture kernel, and reports what is configured, what the running kernel booted
    with and what is reserved now.
  - The value is validated before anything on the host is touched; a bad value fails with
    a message that quotes the bad part.
  - A value that reserves nothing on this host is refused before anything changes, also in check
    mode - a range list where no range covers the host's RAM or whose matching range gives 0, a size
    (or V(X,high) plus V(Y,low)) not below RAM, a V(,low) part of 4G or more, an V(@offset) outside the
    C(System RAM) regions of C(/proc/iomem); the message names the host's RAM. Ranges are compared with
    RAM rounded up to 128M, as the kernel does. RV(error_kind) says why a run failed.
  - On the RHEL family the boot entries are changed with C(grubby); on Debian/Ubuntu a GRUB
    drop-in file is written and C(update-grub) (or C(grub-mkconfig)) regenerates C(grub.cfg);
    on openSUSE and SLES C(/etc/default/grub) itself is edited and C(grub2-mkconfig) regenerates
    C(/boot/grub2/grub.cfg).
  - A new reservation only takes effect after a reboot; O(value) is compared with
    C(/proc/cmdline) and RV(reboot_required) says so. This module never reboots.
  - Memory used to evaluate ranges and C(recommended) is the sum of the C(System RAM)
    regions of C(/proc/iomem) (what the kernel and C(kdumpctl) compare ranges against);
    when that file is not readable (without root every address reads as zero) C(MemTotal) of
    C(/proc/meminfo) is used, which is somewhat lower. RV(memory_source) says which.
author:
  - kdump.fleet maintainers (@kdump-fleet)
options:
  value:
    description:
      - The crashkernel value, without the C(crashkernel=) prefix.
      - 'Any kernel syntax: V(256M), V(256M@16M), ranges V(1G-4G:192M,4G-64G:256M,64G-:512M)
        with an optional V(@offset), V(512M,high) optionally followed by V(128M,low)
        (two parts separated by a space). Any of these may be followed by a V(Y,cma) part, e.g. V(256M 1G,cma):
        extra capture-kernel memory taken from CMA, refused unless the host runs Linux 6.16 or later on x86_64
        or ppc64le (older kernels ignore it). CMA pages the first kernel used are not in the dump.
        Suffixes K, M, G, T, P, E (any case); no suffix means bytes;
        a number of 16E or more is refused (the kernel would wrap it to a different size).'
      - V(recommended) picks the size the EL9 default table gives this host's memory and
        architecture (the table C(kdumpctl get-default-crashkernel) prints on EL9)
        - x86_64 and s390x V(1G-4G:192M,4G-64G:256M,64G-:512M);
        aarch64 V(1G-4G:256M,4G-64G:320M,64G-:576M);
        ppc64le V(2G-4G:384M,4G-16G:512M,16G-64G:1G,64G-128G:2G,128G-:4G).
        Below the lowest boundary the smallest size of the table is used.
        Newer kdump-utils (Fedora 42+, EL10) start at 2G (V(2G-64G:256M,64G-:512M) on x86_64);
        use V(default) to follow the host's own table.
      - V(default) runs C(kdumpctl reset-crashkernel) (EL9 and later), which sets the host's
        own default; it needs C(kdumpctl) and C(grubby).
      - Required when O(state=present).
    type: str
  state:
    description:
      - V(present) configures O(value).
      - V(absent) removes every C(crashkernel=) argument. With the drop-in backend this
        writes a drop-in that only strips, so a distribution default such as Debian
        kdump-tools' C(crashkernel=384M-:128M) is removed as well.
    type: str
    choices: [present, absent]
    default: present
  backend:
    description:
      - How the boot configuration is changed.
      - V(auto) uses V(kdumpctl) when O(value=default), else V(grubby) when the C(grubby)
        binary exists, else V(grub_dropin) when C(update-grub) or C(grub-mkconfig) exists, else
        V(grub_default) when C(grub2-mkconfig) exists (the rule M(kdump.fleet.kdump_info) reports as
        C(backend.bootloader)).
      - V(grubby) runs C(grubby --update-kernel) (RHEL, CentOS, Rocky, Alma, Fedora); on
        s390x C(zipl) is run afterwards.
      - V(grub_dropin) writes O(dropin_path), which removes every C(crashkernel=) word from
        C(GRUB_CMDLINE_LINUX) and C(GRUB_CMDLINE_LINUX_DEFAULT) and appends ours to
        C(GRUB_CMDLINE_LINUX_DEFAULT), then regenerates the GRUB configuration. It is refused, before
        anything changes, when C(grub-mkconfig) does not read C(/etc/default/grub.d/*.cfg) - only Debian's and
        Ubuntu's GRUB does, unless C(/etc/default/grub) sources the drop-ins itself.
      - V(grub_default) (openSUSE Leap, SLES, Tumbleweed, whose GRUB reads no drop-ins) edits
        C(/etc/default/grub) in place - every C(crashkernel=) word is removed from C(GRUB_CMDLINE_LINUX) and
        C(GRUB_CMDLINE_LINUX_DEFAULT), ours is appended to C(GRUB_CMDLINE_LINUX_DEFAULT) (added at the end of the
        file when it is not set), every other word, comment and line stays as it was - then runs
        C(grub2-mkconfig -o /boot/grub2/grub.cfg) (the path SUSE uses on BIOS and UEFI). The old file is always
        backed up first (RV(backup_file)) and replaced atomically.
      - V(grub_default) refuses, before anything changes (check mode too), a file it cannot edit without guessing
        what the shell makes of it - a value of either variable with C($), a backquote or a backslash, a quoted value
        not closed on its line, quotes glued to other text, an unquoted value with other characters than letters,
        digits and C(_.,:=/@%+-), more than a comment after the value, or a use of either variable other than a
        plain assignment at the start of a line (C(export), indented, inside C(if), C($GRUB_CMDLINE_LINUX)).
        Several plain assignments are fine (the last one counts; each loses its C(crashkernel=) words). It also
        refuses C(GRUB_ENABLE_BLSCFG=true) (BLS entries keep their own options, use V(grubby) or the host's BLS
        tool), a missing C(/etc/default/grub), C(grub2-mkconfig) or C(/boot/grub2/grub.cfg), and a file the shell
        reads differently from what the module parsed (for example one that sources another file).
      - If regenerating the GRUB configuration fails, the drop-in (or C(/etc/default/grub)) is put back as it was,
        so the next run tries again.
      - V(kdumpctl) only supports O(value=default).
    type: str
    choices: [auto, grubby, grub_dropin, grub_default, kdumpctl]
    default: auto
  kernel:
    description:
      - Which boot entries grubby (and C(kdumpctl reset-crashkernel)) change - V(ALL),
        V(DEFAULT), or a kernel path such as C(/boot/vmlinuz-5.14.0-427.13.1.el9_4.x86_64).
      - With V(ALL) the module only reports no change when every entry already has exactly
        the wanted value.
      - The V(grub_dropin) and V(grub_default) backends change every GRUB entry and only accept V(ALL).
    type: str
    default: ALL
  dropin_path:
    description:
      - The drop-in the V(grub_dropin) backend manages. It must be a file directly in
        C(/etc/default/grub.d) whose name has only letters, digits, C(.), C(_) and C(-), ends in
        C(.cfg) and does not start with C(-) or C(.); a symbolic link there is not replaced.
      - It must sort (by bytes, as C(/bin/sh) sorts the glob) after every drop-in on the host that
        assigns C(GRUB_CMDLINE_LINUX) or C(GRUB_CMDLINE_LINUX_DEFAULT), such as kdump-tools'
        C(kdump-tools.cfg); otherwise that file would override ours and the run is refused, naming it,
        before anything is written.
      - Defaults to C(/etc/default/grub.d/zz-kdump-fleet.cfg).
      - An existing file there that does not carry this module's header is backed up first.
      - Ignored, with a warning, by the other backends.
    type: path
notes:
  - Supports check mode and diff mode. In check mode read-only commands (C(grubby --info),
    C(kdumpctl get-default-crashkernel), reading the GRUB defaults with C(/bin/sh)) still run.
  - With V(grub_default), files in C(/etc/default/grub.d) that set C(GRUB_CMDLINE_LINUX*) are not read by SUSE's
    C(grub2-mkconfig); the module warns about them (M(kdump.fleet.kdump_info) reads them).
  - A second run with the same value reports no change and does not regenerate GRUB.
seealso:
  - name: kdump-utils crashkernel-howto
    description: Default crashkernel values and C(kdumpctl reset-crashkernel).
    link: https://github.com/rhkdump/kdump-utils/blob/main/crashkernel-howto.txt
  - name: Kernel parameters, crashkernel
    description: The kernel's own description of the syntax.
    link: https://docs.kernel.org/admin-guide/kdump/kdump.html
extends_documentation_fragment:
  - kdump.fleet.attributes
  - kdump.fleet.attributes.check_and_diff
"""

EXAMPLES = r"""
- name: Reserve the size the EL9 table gives this host
  kdump.fleet.crashkernel:
    value: recommended
  register: crashkernel

- name: Reboot when the new reservation is not active yet
  ansible.builtin.reboot:
  when: crashkernel.reboot_required

- name: Use a range, on every boot entry (RHEL family)
  kdump.fleet.crashkernel:
    value: 1G-4G:192M,4G-64G:256M,64G-:512M
    kernel: ALL

- name: Reserve above 4G with a separate low area
  kdump.fleet.crashkernel:
    value: 512M,high 128M,low

- name: Let kdumpctl set its own default (EL9 and later)
  kdump.fleet.crashkernel:
    value: default

- name: Remove the reservation, including the Debian package default
  kdump.fleet.crashkernel:
    state: absent

- name: openSUSE / SLES - set it in /etc/default/grub and rebuild /boot/grub2/grub.cfg
  kdump.fleet.crashkernel:
    value: 256M,high 128M,low
    backend: grub_default
"""

RETURN = r"""
before:
  description:
    - The configured value before the run (canonical form when it parses), null when none.
    - With grubby, the value of the first selected entry; RV(entries) has each entry.
    - With the drop-in backend, the value of the effective GRUB command line.
    - With V(grub_default), the value C(/etc/default/grub) gives a normal entry (its last C(GRUB_CMDLINE_LINUX)
      then its last C(GRUB_CMDLINE_LINUX_DEFAULT)).
  returned: always
  type: str
  sample: 384M-:128M
after:
  description: The configured value after the run (in check mode, what it would be), null when none.
  returned: always
  type: str
  sample: 256M
backend:
  description: The backend used, V(grubby), V(grub_dropin), V(grub_default) or V(kdumpctl).
  returned: always
  type: str
  sample: grub_dropin
cmdline:
  description: The crashkernel value on C(/proc/cmdline) (what the running kernel booted with), null when absent.
  returned: always
  type: str
  sample: 384M-:128M
reboot_required:
  description: True when RV(after) differs from RV(cmdline), compared in canonical form.
  returned: always
  type: bool
  sample: true
reserved_bytes:
  description: Bytes reserved now (C(/sys/kernel/kexec_crash_size)), null when unreadable.
  returned: always
  type: int
  sample: 134217728
effective_bytes:
  description:
    - Bytes RV(after) reserves on this host's memory (0 when nothing would be reserved).
    - Null when RV(after) does not parse (for example C(auto)).
  returned: always
  type: int
  sample: 268435456
memory_bytes:
  description: Memory used to evaluate ranges, see RV(memory_source); null when unknown.
  returned: always
  type: int
  sample: 2147074048
memory_source:
  description: Where RV(memory_bytes) came from, V(iomem) (System RAM) or V(meminfo) (MemTotal); null when unknown.
  returned: always
  type: str
  sample: iomem
regenerated:
  description:
    - True when the boot loader configuration was regenerated (C(update-grub), C(grub-mkconfig), C(grub2-mkconfig),
      C(zipl)).
  returned: always
  type: bool
  sample: false
stale_entries:
  description:
    - With the GRUB drop-in, the installed kernels whose normal entry in C(/boot/grub/grub.cfg) did not boot
      with the value (a kernel installed while grub.cfg was generated without it); C(grub.cfg) is regenerated
      for them even when the drop-in is already right.
  returned: when the backend is grub_dropin
  type: list
  elements: str
  sample: [6.1.0-51-amd64]
entries:
  description: With grubby and kdumpctl, each selected boot entry after the run.
  returned: when backend is grubby or kdumpctl
  type: list
  elements: dict
  sample: [{"index": 0, "kernel": "/boot/vmlinuz-5.14.0-427.13.1.el9_4.x86_64", "crashkernel": "256M"}]
dropin_path:
  description: The drop-in file managed.
  returned: when backend is grub_dropin
  type: str
  sample: /etc/default/grub.d/zz-kdump-fleet.cfg
default_grub:
  description: The GRUB defaults file edited in place.
  returned: when backend is grub_default
  type: str
  sample: /etc/default/grub
grub_cfg:
  description: The GRUB configuration C(grub2-mkconfig) writes.
  returned: when backend is grub_default
  type: str
  sample: /boot/grub2/grub.cfg
backup_file:
  description:
    - Backup of a foreign file that was at O(dropin_path), or of C(/etc/default/grub) before V(grub_default) replaced
      it; also when the run then failed.
  returned: when a backup was made
  type: str
  sample: /etc/default/grub.d/zz-kdump-fleet.cfg.1234.2024-11-22@13:30:00~
error_kind:
  description:
    - Why the run failed, for callers to branch on instead of matching the message text.
    - V(invalid_value) - O(value) is missing or not crashkernel syntax (also 16E or more, or C(auto)).
    - V(not_reservable) - O(value) (or what C(kdumpctl get-default-crashkernel) prints) reserves
      nothing on this host's memory.
    - V(invalid_option) - options that do not go together (O(backend), O(kernel), O(value=default)).
    - V(unsafe_dropin_path) - O(dropin_path) refused (place, name, a link, or a later drop-in overrides it).
    - V(no_bootloader) - no supported boot loader tool, or a GRUB that does not read the drop-ins; with
      V(grub_default) also no C(/etc/default/grub), C(grub2-mkconfig) or C(/boot/grub2/grub.cfg), or
      C(GRUB_ENABLE_BLSCFG=true).
    - V(unsafe_default_grub) - C(/etc/default/grub) holds something V(grub_default) cannot edit safely (see
      O(backend)), or is a symbolic link.
    - V(memory_unknown) - neither C(/proc/iomem) nor C(/proc/meminfo) gave the memory size.
    - V(command_failed) - grubby, kdumpctl, update-grub, grub-mkconfig, grub2-mkconfig or zipl failed, or printed
      something unusable.
    - V(not_applied) - the change was made but the boot configuration does not show it (the drop-in, or
      C(/etc/default/grub), is then put back).
  returned: on failure
  type: str
  sample: not_reservable
"""

import os
import platform
import re
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.kdump.fleet.plugins.module_utils._crashkernel import (
    CrashkernelError,
    NotReservable,
    cma_unsupported_reason,
    find_in_cmdline,
    format_size,
    parse,
    recommended,
)
from ansible_collections.kdump.fleet.plugins.module_utils._grub import (
    MANAGED_MARKER,
    effective_cmdline_script,
    effective_crashkernel,
    parse_grub_cfg,
    regenerate_argv,
    render_dropin,
    sources_dropins,
)
from ansible_collections.kdump.fleet.plugins.module_utils._grub_default import (
    UnsafeDefaultGrub,
    bls_enabled,
    configured_crashkernel,
    rewrite,
)
from ansible_collections.kdump.fleet.plugins.module_utils._grubby import (
    info_argv,
    parse_info,
    remove_argv,
    update_argvs,
)
from ansible_collections.kdump.fleet.plugins.module_utils._host_facts import (
    choose_bootloader,
    memory_figure,
    parse_iomem,
    parse_meminfo,
    summarize_iomem,
    system_ram_regions,
)

# Host paths; unit tests point these at a tmp_path tree.
PROC_DIR = "/proc"
SYS_DIR = "/sys"
ETC_DEFAULT_DIR = "/etc/default"
BOOT_DIR = "/boot"
DEFAULT_DROPIN_NAME = "zz-kdump-fleet.cfg"

# A drop-in name grub-mkconfig's `for x in grub.d/*.cfg` picks up and that is safe in a shell
# word: no leading '-' (an option to the tools that see it) or '.' (the glob skips it).
_DROPIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*\.cfg")
# An assignment to either GRUB command line variable in a sourced drop-in (comments aside).
_CMDLINE_ASSIGNMENT = re.compile(r"(?:^|[\s;&|(])(?:export\s+|readonly\s+)?GRUB_CMDLINE_LINUX(?:_DEFAULT)?=")


class CrashkernelModuleError(Exception):
    """A failure to report with fail_json; ``kind`` becomes error_kind, ``details`` holds rc/stdout/stderr."""

    def __init__(self, msg, kind="command_failed", **details):
        super().__init__(msg)
        self.kind = kind
        self.details = details


def _read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return None


def _canonical(value):
    """Canonical text of a crashkernel value, or the raw text when it does not parse."""
    if value is None:
        return None
    try:
        return parse(value).render()
    except CrashkernelError:
        return " ".join(value.split())


def _entry_report(entry, crashkernel):
    return {"index": entry.index, "kernel": entry.kernel, "crashkernel": crashkernel}


def _sets_cmdline(text):
    """Whether a drop-in's shell text assigns GRUB_CMDLINE_LINUX or GRUB_CMDLINE_LINUX_DEFAULT."""
    return any(_CMDLINE_ASSIGNMENT.search(line) for line in text.splitlines() if not line.lstrip().startswith("#"))


class CrashkernelTask:
    """Reads the host, compares with the wanted value, changes the boot config if needed."""

    def __init__(self, module):
        self.module = module
        self.params = dict(module.params)
        self.dropin_path_given = bool(self.params["dropin_path"])
        if not self.params["dropin_path"]:
            self.params["dropin_path"] = os.path.join(ETC_DEFAULT_DIR, "grub.d", DEFAULT_DROPIN_NAME)
        self.check_mode = module.check_mode

    # -- host facts ---------------------------------------------------------

    def read_memory(self):
        """(memory figure, System RAM regions or None): see _host_facts.memory_figure."""
        # Root sees real addresses in /proc/iomem; others see zeros and get MemTotal.
        iomem_text = _read(os.path.join(PROC_DIR, "iomem")) or ""
        meminfo = parse_meminfo(_read(os.path.join(PROC_DIR, "meminfo")) or "")
        memory = memory_figure(summarize_iomem(iomem_text), meminfo)
        regions = system_ram_regions(parse_iomem(iomem_text)) if memory["source"] == "iomem" else None
        return memory, regions

    def read_reserved(self):
        text = _read(os.path.join(SYS_DIR, "kernel", "kexec_crash_size"))
        try:
            return int(text.strip()) if text is not None else None
        except ValueError:
            return None

    # -- commands -------------------------------------------------------------

    def run(self, argv, what):
        rc, out, err = self.module.run_command(argv)
        if rc != 0:
            raise CrashkernelModuleError(
                "{0} failed (rc={1}): {2}".format(what, rc, (err or out).strip()),
                kind="command_failed",
                rc=rc,
                stdout=out,
                stderr=err,
                cmd=argv,
            )
        return out

    # -- wanted value -------------------------------------------------------------

    def wanted(self, memory_bytes):
        """(kind, Crashkernel or None): kind is 'value', 'default' or 'absent'."""
        if self.params["state"] == "absent":
            return "absent", None
        value = self.params["value"]
        if value is None or not value.strip():
            raise CrashkernelModuleError(
                "value is required with state=present: a crashkernel size such as 256M, 'recommended' or 'default'",
                kind="invalid_value",
            )
        keyword = value.strip().lower()
        if keyword == "recommended":
            self.need_memory(memory_bytes)
            return "value", parse(recommended(memory_bytes, platform.machine()))
        if keyword == "default":
            return "default", None
        wanted = parse(value)
        if wanted.cma is not None:
            reason = cma_unsupported_reason(platform.release(), platform.machine())
            if reason:
                raise CrashkernelModuleError(
                    "value={0}: {1}, so the ,cma part would be ignored at boot; drop '{2},cma' or update the "
                    "kernel; nothing was changed".format(wanted.render(), reason, format_size(wanted.cma)),
                    kind="invalid_value",
                )
        return "value", wanted

    @staticmethod
    def need_memory(memory_bytes):
        if not memory_bytes:
            raise CrashkernelModuleError(
                "the host's memory size is unknown (neither the System RAM of {0}/iomem nor MemTotal of "
                "{0}/meminfo could be read), so the value cannot be checked against it; nothing was changed".format(
                    PROC_DIR
                ),
                kind="memory_unknown",
            )

    def check_reservable(self, wanted, memory, regions, source=None):
        """Refuse, before anything changes, a value that reserves nothing on this host's memory."""
        self.need_memory(memory["bytes"])
        try:
            return wanted.reservation(memory["bytes"], regions)
        except NotReservable as exc:
            note = "" if memory["source"] == "iomem" else " (RAM from MemTotal: /proc/iomem was not readable)"
            raise NotReservable("{0}{1}{2}; nothing was changed".format(source or "", exc, note)) from None

    def choose_backend(self, kind):
        backend = self.params["backend"]
        if kind == "default":
            if backend not in ("auto", "kdumpctl"):
                raise CrashkernelModuleError(
                    "value=default runs 'kdumpctl reset-crashkernel'; use backend=auto or backend=kdumpctl "
                    "(backend={0} given)".format(backend),
                    kind="invalid_option",
                )
            return "kdumpctl"
        if backend == "kdumpctl":
            raise CrashkernelModuleError(
                "backend=kdumpctl only supports value=default; use backend=grubby for a size or for state=absent",
                kind="invalid_option",
            )
        if backend != "auto":
            return backend
        found = choose_bootloader(lambda name: bool(self.module.get_bin_path(name)))
        if found == "none":
            raise CrashkernelModuleError(
                "no supported boot loader tool found: need grubby (RHEL family), update-grub or grub-mkconfig "
                "(Debian/Ubuntu GRUB) or grub2-mkconfig (openSUSE, SLES); set backend explicitly; nothing was changed",
                kind="no_bootloader",
            )
        return found

    def validate_options(self, backend):
        kernel = self.params["kernel"]
        if backend in ("grubby", "kdumpctl") and not (
            kernel in ("ALL", "DEFAULT") or kernel.isdigit() or kernel.startswith("/")
        ):
            raise CrashkernelModuleError(
                "kernel={0!r} is not ALL, DEFAULT, an entry index or an absolute kernel path".format(kernel),
                kind="invalid_option",
            )
        if backend in ("grub_dropin", "grub_default") and kernel != "ALL":
            what = "the GRUB drop-in" if backend == "grub_dropin" else "GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub"
            raise CrashkernelModuleError(
                "kernel={0} cannot be honoured by the {1} backend: {2} applies to every kernel GRUB lists; leave "
                "kernel at ALL (or use backend=grubby where grubby exists)".format(kernel, backend, what),
                kind="invalid_option",
            )
        # Options a mixed fleet may pass everywhere are ignored with a warning rather than failed.
        if self.params["state"] == "absent" and self.params["value"]:
            self.module.warn("value={0} is ignored with state=absent".format(self.params["value"]))
        if backend != "grub_dropin" and self.dropin_path_given:
            self.module.warn("dropin_path is ignored by the {0} backend".format(backend))
        if backend == "grub_dropin":
            self.check_dropin_path(self.params["dropin_path"])

    def check_dropin_path(self, path):
        """Refuse a drop-in path that GRUB would not read, that is unsafe, or that a later drop-in overrides."""
        grub_d = os.path.join(ETC_DEFAULT_DIR, "grub.d")
        directory, name = os.path.split(path)
        if directory != grub_d or not _DROPIN_NAME.fullmatch(name):
            raise CrashkernelModuleError(
                "dropin_path={0!r} is refused: it must be a file directly in {1} with a name of letters, digits, "
                "'.', '_' and '-' ending in .cfg, not starting with '-' or '.' (grub-mkconfig sources {1}/*.cfg "
                "with /bin/sh and nothing else), e.g. {1}/{2}; nothing was changed".format(
                    path, grub_d, DEFAULT_DROPIN_NAME
                ),
                kind="unsafe_dropin_path",
            )
        if os.path.islink(path) or (os.path.lexists(path) and not os.path.isfile(path)):
            raise CrashkernelModuleError(
                "dropin_path={0} is a symbolic link or not a regular file; it is not replaced (writing through a "
                "link changes another file); remove it or pick another name; nothing was changed".format(path),
                kind="unsafe_dropin_path",
            )
        try:
            others = sorted(os.listdir(grub_d))
        except OSError:
            others = []  # no grub.d yet: nothing can override the drop-in
        # /bin/sh (dash on Debian and Ubuntu) sorts the glob by bytes, as Python compares str.
        for other in others:
            if other <= name or other.startswith(".") or not other.endswith(".cfg"):
                continue
            other_path = os.path.join(grub_d, other)
            text = _read(other_path)
            if text is None and os.path.isfile(other_path):
                reason = "cannot be read, so it may set GRUB_CMDLINE_LINUX*"
            elif text is not None and _sets_cmdline(text):
                reason = "sets GRUB_CMDLINE_LINUX or GRUB_CMDLINE_LINUX_DEFAULT"
            else:
                continue
            raise CrashkernelModuleError(
                "dropin_path={0} sorts before {1}, which {2}: grub-mkconfig sources {3}/*.cfg in name order and "
                "the last assignment wins, so it would override ours; name the drop-in so that it sorts after "
                "{4} (e.g. zzz-kdump-fleet.cfg) or remove that setting; nothing was changed".format(
                    path, other_path, reason, grub_d, other
                ),
                kind="unsafe_dropin_path",
            )

    # -- grubby / kdumpctl ----------------------------------------------------------

    def grubby_entries(self, grubby):
        kernel = self.params["kernel"]
        entries = parse_info(self.run(info_argv(grubby, kernel), "grubby --info=" + kernel))
        if not entries:
            raise CrashkernelModuleError(
                "grubby --info={0} listed no boot entries".format(kernel), kind="command_failed"
            )
        return entries

    def apply_grubby(self, wanted, use_kdumpctl):
        grubby = self.module.get_bin_path("grubby", required=True)
        kernel = self.params["kernel"]
        if use_kdumpctl:
            kdumpctl = self.module.get_bin_path("kdumpctl", required=True)
            default = self.run(
                [kdumpctl, "get-default-crashkernel"], "kdumpctl get-default-crashkernel (EL9 and later)"
            )
            try:
                wanted = parse(default.strip())
            except CrashkernelError as exc:
                raise CrashkernelModuleError(
                    "kdumpctl get-default-crashkernel printed {0!r}, which is not a crashkernel value ({1}); "
                    "set value to a size instead of 'default'".format(default.strip(), exc),
                    kind="command_failed",
                ) from exc
            self.check_reservable(wanted, self.memory, self.regions, "kdumpctl get-default-crashkernel: ")
        want = wanted.render() if wanted is not None else None
        entries = self.grubby_entries(grubby)
        changed = any(_canonical(entry.crashkernel) != want for entry in entries)
        regenerated = False
        if changed and not self.check_mode:
            if use_kdumpctl:
                self.run([kdumpctl, "reset-crashkernel", "--kernel=" + kernel], "kdumpctl reset-crashkernel")
            elif wanted is None:
                self.run(remove_argv(grubby, kernel), "grubby --remove-args=crashkernel")
            else:
                for argv in update_argvs(grubby, wanted, kernel):
                    self.run(argv, " ".join(argv[1:]))
            zipl = self.module.get_bin_path("zipl") if platform.machine() == "s390x" else None
            if zipl:
                self.run([zipl], "zipl")
                regenerated = True
            after_entries = self.grubby_entries(grubby)
            if any(_canonical(entry.crashkernel) != want for entry in after_entries):
                raise CrashkernelModuleError(
                    "after the change grubby still lists crashkernel values {0}, wanted {1}".format(
                        sorted({str(entry.crashkernel) for entry in after_entries}), want
                    ),
                    kind="not_applied",
                )
            report = [_entry_report(entry, _canonical(entry.crashkernel)) for entry in after_entries]
        else:
            # Unchanged, or check mode: every selected entry ends up with ``want``.
            report = [_entry_report(entry, want if changed else _canonical(entry.crashkernel)) for entry in entries]
        after = report[0]["crashkernel"]
        return {
            "changed": changed,
            "before": _canonical(entries[0].crashkernel),
            "after": after,
            "regenerated": regenerated,
            "entries": report,
        }, []

    # -- GRUB drop-in -------------------------------------------------------------------

    def effective(self):
        out = self.run(["/bin/sh", "-c", effective_cmdline_script(ETC_DEFAULT_DIR)], "reading the GRUB defaults")
        return _canonical(effective_crashkernel(out))

    def write_dropin(self, path, text, old_text):
        backup = None
        if old_text is not None and MANAGED_MARKER not in old_text:
            backup = self.module.backup_local(path)
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        self.replace_file(path, text, mode=0o644)
        return backup

    def restore_dropin(self, path, old_text):
        if old_text is None:
            os.unlink(path)
        else:
            self.write_dropin(path, old_text, None)

    def undo_dropin(self, path, old_text, argv):
        """Put back a drop-in that did not take effect and rebuild grub.cfg; the text to add to the message."""
        if argv is None:  # nothing was written by this run
            return ""
        return self.put_back(
            lambda: self.restore_dropin(path, old_text), argv, "{0} was put back as it was".format(path)
        )

    def put_back(self, restore, argv, what):
        """Run ``restore`` (the file as it was), then regenerate grub.cfg; the text to add to the message."""
        restore()
        try:
            self.run(argv, " ".join(argv))
        except CrashkernelModuleError as exc:
            return "; {0}, but regenerating grub.cfg again failed: {1}".format(what, exc)
        return "; {0} and grub.cfg regenerated".format(what)

    def check_dropins_are_read(self):
        """Refuse a GRUB whose grub-mkconfig would never read the drop-in (upstream, Fedora, Arch)."""
        mkconfig = self.module.get_bin_path("grub-mkconfig") or self.module.get_bin_path("grub2-mkconfig")
        if not mkconfig:
            return
        default_grub = os.path.join(ETC_DEFAULT_DIR, "grub")
        if not sources_dropins(_read(mkconfig), _read(default_grub)):
            raise CrashkernelModuleError(
                "{0} does not read {1}/grub.d/*.cfg (only Debian's and Ubuntu's GRUB does), so a drop-in would "
                "never reach the boot config; use backend=grubby where grubby exists, or have {2} source "
                "{1}/grub.d/*.cfg; nothing was changed".format(mkconfig, ETC_DEFAULT_DIR, default_grub),
                kind="no_bootloader",
            )

    @staticmethod
    def stale_grub_entries(want):
        """Installed kernels whose normal grub.cfg entry does not carry ``want`` (canonical text, None: none).

        Only kernels in /boot count, so an os-prober entry for another system's kernel never makes every
        run regenerate.
        """
        text = _read(os.path.join(BOOT_DIR, "grub", "grub.cfg"))
        stale = []
        for entry in parse_grub_cfg(text or ""):
            if entry.recovery or entry.release in stale:
                continue
            if not os.path.exists(os.path.join(BOOT_DIR, "vmlinuz-" + entry.release)):
                continue
            if _canonical(entry.crashkernel) != want:
                stale.append(entry.release)
        return stale

    def apply_dropin(self, wanted):
        self.check_dropins_are_read()
        path = self.params["dropin_path"]
        want = wanted.render() if wanted is not None else None
        before = self.effective()
        old_text = _read(path)
        new_text = render_dropin(want)
        dropin_changed = old_text != new_text
        # A drop-in already right can still leave a kernel installed later without the value in grub.cfg.
        stale = [] if dropin_changed else self.stale_grub_entries(want)
        changed = dropin_changed or bool(stale)
        result = {
            "changed": changed,
            "before": before,
            "regenerated": False,
            "dropin_path": path,
            "stale_entries": stale,
        }
        argv = None
        if changed and not self.check_mode:
            argv = regenerate_argv(self.module.get_bin_path, os.path.exists)
            if argv is None:
                raise CrashkernelModuleError(
                    "found neither update-grub nor grub-mkconfig to regenerate grub.cfg; {0} was not written".format(
                        path
                    ),
                    kind="no_bootloader",
                )
            backup = self.write_dropin(path, new_text, old_text) if dropin_changed else None
            extra = {"backup_file": backup} if backup else {}
            result.update(extra)
            try:
                self.run(argv, " ".join(argv))
            except CrashkernelModuleError as exc:
                if not dropin_changed:
                    # Nothing was written; grub.cfg still lacks the value, so the next run tries again.
                    raise
                # Put the drop-in back: left in place, the next run would see no change and
                # never regenerate grub.cfg, so the boot config would stay without the new value.
                self.restore_dropin(path, old_text)
                raise CrashkernelModuleError(
                    "{0}; {1} was put back as it was, so the next run tries again".format(exc, path),
                    kind=exc.kind,
                    **dict(exc.details, **extra),
                ) from exc
            result["regenerated"] = True
        result["after"] = want if (changed and self.check_mode) else self.effective()
        if result["after"] != want:
            message = (
                "the effective GRUB command line has crashkernel={0} but {1} sets {2}: a file in "
                "{3}/grub.d sorted after it, or {3}/grub, overrides it".format(
                    result["after"], path, want, ETC_DEFAULT_DIR
                )
            )
            if self.check_mode:
                self.module.warn(message)
            else:
                raise CrashkernelModuleError(
                    message + self.undo_dropin(path, old_text, argv),
                    kind="not_applied",
                    **({"backup_file": result["backup_file"]} if "backup_file" in result else {}),
                )
        file_diff = {
            "before_header": path,
            "after_header": path,
            "before": old_text or "",
            "after": new_text,
        }
        return result, [file_diff]

    # -- /etc/default/grub in place (SUSE family) -----------------------------------------

    @staticmethod
    def read_default_grub():
        """(path, text) of /etc/default/grub; refused when missing, a link, or set up for BLS entries."""
        path = os.path.join(ETC_DEFAULT_DIR, "grub")
        if os.path.islink(path) or (os.path.lexists(path) and not os.path.isfile(path)):
            raise CrashkernelModuleError(
                "{0} is a symbolic link or not a regular file; the grub_default backend does not replace it (that "
                "would change another file or break the link); make it a regular file; nothing was changed".format(
                    path
                ),
                kind="unsafe_default_grub",
            )
        text = _read(path)
        if text is None:
            raise CrashkernelModuleError(
                "{0} is missing or unreadable: the grub_default backend (openSUSE, SLES) edits "
                "GRUB_CMDLINE_LINUX_DEFAULT there; reinstall grub2 or pick another backend; nothing was "
                "changed".format(path),
                kind="no_bootloader",
            )
        if bls_enabled(text):
            raise CrashkernelModuleError(
                "{0} sets GRUB_ENABLE_BLSCFG=true: the boot entries are BLS snippets that keep their own options, "
                "grub2-mkconfig does not give them GRUB_CMDLINE_LINUX_DEFAULT; use backend=grubby (or the host's BLS "
                "tool, such as sdbootutil); nothing was changed".format(path),
                kind="no_bootloader",
            )
        return path, text

    @staticmethod
    def default_grub_edit(path, text, want):
        """(crashkernel the file gives now, the file's text with ``want`` instead), or a refusal."""
        try:
            return _canonical(configured_crashkernel(text)), rewrite(text, want)
        except UnsafeDefaultGrub as exc:
            raise CrashkernelModuleError(
                "{0} cannot be edited safely: {1}; make GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT plain "
                'assignments of literal words (GRUB_CMDLINE_LINUX_DEFAULT="splash=silent quiet") or set '
                "crashkernel= there yourself; nothing was changed".format(path, exc),
                kind="unsafe_default_grub",
            ) from exc

    def mkconfig_argv(self):
        """grub2-mkconfig writing SUSE's grub.cfg; refused when either is missing."""
        mkconfig = self.module.get_bin_path("grub2-mkconfig")
        grub_cfg = os.path.join(BOOT_DIR, "grub2", "grub.cfg")
        if not mkconfig:
            raise CrashkernelModuleError(
                "grub2-mkconfig not found: the grub_default backend regenerates {0} with it; install grub2 or pick "
                "another backend; nothing was changed".format(grub_cfg),
                kind="no_bootloader",
            )
        if not os.path.isfile(grub_cfg):
            # Nothing would read a grub.cfg written there (systemd-boot or grub2-bls, set up by sdbootutil).
            raise CrashkernelModuleError(
                "{0} does not exist, so this host does not boot GRUB 2 from it; the grub_default backend only "
                "regenerates that file (use the host's boot loader tool, such as sdbootutil); nothing was "
                "changed".format(grub_cfg),
                kind="no_bootloader",
            )
        return [mkconfig, "-o", grub_cfg]

    @staticmethod
    def ignored_dropins():
        """Files in grub.d that set the command line: SUSE's grub2-mkconfig never reads them, kdump_info does."""
        grub_d = os.path.join(ETC_DEFAULT_DIR, "grub.d")
        try:
            names = sorted(os.listdir(grub_d))
        except OSError:
            return []
        paths = [os.path.join(grub_d, name) for name in names if name.endswith(".cfg")]
        return [path for path in paths if _sets_cmdline(_read(path) or "")]

    def check_shell_reads(self, path, parsed, when):
        """Refuse when /bin/sh, sourcing the file as grub2-mkconfig does, sees another value than the parser."""
        seen = self.effective()
        if seen != parsed:
            raise CrashkernelModuleError(
                "{0}: /bin/sh reads crashkernel={1} from {2} but its GRUB_CMDLINE_LINUX* lines give {3} (the file "
                "sources another file, or sets them in a way not recognised){4}".format(
                    when, seen, path, parsed, "; nothing was changed" if when == "before the change" else ""
                ),
                kind="unsafe_default_grub" if when == "before the change" else "not_applied",
            )

    def replace_file(self, path, text, mode=None):
        """Write ``text`` to a temporary file next to ``path`` and move it over ``path``.

        An existing file keeps its mode and owner; ``mode`` sets it instead (a drop-in that may be new).
        """
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".kdump-fleet-")
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        if mode is not None:
            os.chmod(tmp, mode)
        self.module.atomic_move(tmp, path)

    def backup(self, path):
        try:
            return self.module.backup_local(path)
        except Exception as exc:  # backup_local raises a bare Exception
            raise CrashkernelModuleError("{0}; {1} was not changed".format(exc, path), kind="command_failed") from exc

    def write_and_regenerate(self, path, old_text, new_text, argv, ignored):
        """Back up, replace, run grub2-mkconfig; on any failure put the old text back. The backup path."""
        backup = self.backup(path)
        self.replace_file(path, new_text)
        try:
            self.run(argv, " ".join(argv))
        except CrashkernelModuleError as exc:
            # grub2-mkconfig replaces grub.cfg only when it succeeds, so the old grub.cfg matches the old file.
            self.replace_file(path, old_text)
            raise CrashkernelModuleError(
                "{0}; {1} was put back as it was (backup {2}), so the next run tries again".format(exc, path, backup),
                kind=exc.kind,
                **dict(exc.details, backup_file=backup),
            ) from exc
        if not ignored:
            try:
                self.check_shell_reads(path, _canonical(configured_crashkernel(new_text)), "after the change")
            except CrashkernelModuleError as exc:
                undo = self.put_back(
                    lambda: self.replace_file(path, old_text),
                    argv,
                    "{0} was put back as it was (backup {1})".format(path, backup),
                )
                raise CrashkernelModuleError(str(exc) + undo, kind=exc.kind, backup_file=backup) from exc
        return backup

    def apply_default_grub(self, wanted):
        path, old_text = self.read_default_grub()
        argv = self.mkconfig_argv()
        want = wanted.render() if wanted is not None else None
        before, new_text = self.default_grub_edit(path, old_text, want)
        ignored = self.ignored_dropins()
        if ignored:
            self.module.warn(
                "{0} set GRUB_CMDLINE_LINUX*, but this GRUB's grub2-mkconfig reads only {1}, so they do not reach "
                "the boot entries (kdump.fleet.kdump_info still reads them); remove them".format(
                    ", ".join(ignored), path
                )
            )
        else:
            self.check_shell_reads(path, before, "before the change")
        changed = new_text != old_text
        result = {
            "changed": changed,
            "before": before,
            "after": want,
            "regenerated": False,
            "default_grub": path,
            "grub_cfg": argv[-1],
        }
        if changed and not self.check_mode:
            result["backup_file"] = self.write_and_regenerate(path, old_text, new_text, argv, ignored)
            result["regenerated"] = True
        file_diff = {"before_header": path, "after_header": path, "before": old_text, "after": new_text}
        return result, [file_diff]

    # -- entry point -----------------------------------------------------------------------

    def execute(self):
        self.memory, self.regions = self.read_memory()
        memory_bytes, memory_source = self.memory["bytes"], self.memory["source"]
        kind, wanted = self.wanted(memory_bytes)
        if wanted is not None:
            # A value that reserves nothing here is refused before any command runs (check mode too).
            self.check_reservable(wanted, self.memory, self.regions)
        backend = self.choose_backend(kind)
        self.validate_options(backend)
        cmdline = _canonical(find_in_cmdline(_read(os.path.join(PROC_DIR, "cmdline")) or ""))

        if backend == "grub_dropin":
            result, extra_diffs = self.apply_dropin(wanted)
        elif backend == "grub_default":
            result, extra_diffs = self.apply_default_grub(wanted)
        else:
            result, extra_diffs = self.apply_grubby(wanted, use_kdumpctl=(backend == "kdumpctl"))

        after = result["after"]
        try:
            effective_bytes = parse(after).size_for(memory_bytes or 0) if after is not None else 0
        except CrashkernelError:
            effective_bytes = None
        result.update(
            backend=backend,
            cmdline=cmdline,
            reboot_required=after != cmdline,
            reserved_bytes=self.read_reserved(),
            effective_bytes=effective_bytes,
            memory_bytes=memory_bytes,
            memory_source=memory_source,
        )
        if self.module._diff:
            value_diff = {
                "before_header": "crashkernel",
                "after_header": "crashkernel",
                "before": (result["before"] or "") + "\n",
                "after": (after or "") + "\n",
            }
            result["diff"] = [value_diff] + extra_diffs
        return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            value=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            backend=dict(
                type="str", default="auto", choices=["auto", "grubby", "grub_dropin", "grub_default", "kdumpctl"]
            ),
            kernel=dict(type="str", default="ALL"),
            dropin_path=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    try:
        result = CrashkernelTask(module).execute()
    except NotReservable as exc:
        module.fail_json(msg=str(exc), error_kind="not_reservable")
    except CrashkernelError as exc:
        module.fail_json(msg="invalid value: {0}".format(exc), error_kind="invalid_value")
    except CrashkernelModuleError as exc:
        module.fail_json(msg=str(exc), error_kind=exc.kind, **exc.details)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
