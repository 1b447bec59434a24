#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: crash_analysis
short_description: First look at kdump dumps with crash(8) - panic, backtrace, task, taints, uptime, last log
version_added: 0.1.0
description:
  - For each dump on the host, finds the debug symbols of the dump's kernel (the release and build ID come
    from the dump's VMCOREINFO), runs C(crash) non-interactively with C(sys), C(bt), C(log) and C(mod -t),
    and returns what they say - the panic message, the panicking task and CPU and its backtrace, the
    modules that taint the kernel, uptime and load, the last kernel log lines - with a one-paragraph
    summary and crash's raw output.
  - "Symbols: an installed debug package (Debian C(linux-image-RELEASE-dbg), RHEL C(kernel-debuginfo), SUSE
    C(kernel-FLAVOUR-debuginfo), whose C(/usr/lib/debug/boot/vmlinux-RELEASE.debug) crash reads after the
    kernel C(vmlinux-RELEASE.gz) from C(/boot) or, as SUSE's kdump 1.x copies it, the dump's directory),
    else O(symbols_dir)/C(vmlinux-RELEASE), else, for a Debian kernel on a host with apt, the vmlinux alone
    streamed out of C(apt-get download linux-image-RELEASE-dbg) into O(symbols_dir) (630 MiB of the
    package's 5.6 GiB)."
  - A dump whose kernel has no symbols available is reported with status C(no_symbols), not as a failure.
    Symbols whose build ID differs from the dump's are not used (C(symbols_mismatch)).
  - Never writes to a dump or its directory. A flattened dump (makedumpfile -F, as SSH targets save) is
    rebuilt with C(makedumpfile -R) into a temporary file in O(work_dir), removed afterwards.
  - Each crash run is bounded by O(timeout) and O(memory_limit_mb); a run that exceeds either is reported
    as C(timed_out) or C(out_of_memory) with the limit that stopped it.
author:
  - kdump.fleet maintainers (@kdump-fleet)
options:
  dumps:
    description: Paths of dump files on the host (a C(dump.STAMP), C(vmcore) or C(vmcore.flat)).
    type: list
    elements: path
    required: true
  symbols_dir:
    description: Where fetched vmlinux files are kept, one per kernel release (C(vmlinux-RELEASE)).
    type: path
    default: /var/cache/kdump-fleet/symbols
  fetch_symbols:
    description: Fetch a Debian kernel's symbols from the configured archives when none are on the host.
    type: bool
    default: true
  work_dir:
    description: Where a flattened dump is rebuilt for crash (needs its size free; removed afterwards).
    type: path
    default: /var/tmp
  timeout:
    description: Seconds one crash run may take before it is killed.
    type: int
    default: 600
  memory_limit_mb:
    description: Address space one crash run may use (RLIMIT_AS), in MiB.
    type: int
    default: 4096
  log_lines:
    description: Last kernel log lines kept per dump.
    type: int
    default: 20
extends_documentation_fragment:
  - kdump.fleet.attributes
  - kdump.fleet.attributes.check_mode_full
attributes:
  check_mode:
    details: In check mode no symbols are fetched; dumps whose symbols are already here are analysed.
requirements:
  - crash(8) on the host (Debian/RHEL/SUSE package C(crash)).
"""

EXAMPLES = r"""
- name: First look at the dumps on the dump server
  kdump.fleet.crash_analysis:
    dumps:
      - /srv/kdump/dumps/web01/192.0.2.10-202612031200/dump.202612031200
  become: true
  register: first_look
"""

RETURN = r"""
analyses:
  description: One record per dump, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The dump.
      type: str
    status:
      description: analysed, no_symbols, symbols_mismatch, unreadable, failed, timed_out or out_of_memory.
      type: str
    message:
      description: Why the status is not analysed (and what to do); null when it is.
      type: str
    kernel: {description: The dump's kernel release (VMCOREINFO OSRELEASE)., type: str}
    build_id: {description: The dump's kernel build ID (VMCOREINFO BUILD-ID)., type: str}
    format:
      description: The dump's format, kdump-compressed, flattened or elf.
      type: str
    symbols: {description: "path, source (installed, cache, fetched) and build_id of the vmlinux used.", type: dict}
    analysis:
      description: >-
        panic, release, uptime, load_average, date, cpus, task (pid, command, cpu, task), backtrace (function
        names), culprit (the first frame below the panic path), tainted_modules, last_log_lines.
      type: dict
    summary: {description: One paragraph a person can read., type: str}
    raw: {description: "crash's output, each command under a '## command' heading.", type: str}
    seconds: {description: Wall time of the crash run., type: float}
"""

import os
import shutil
import stat
import subprocess
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.kdump.fleet.plugins.module_utils._crash_analysis import (
    ANALYSED,
    COMMANDS,
    FAILED,
    NO_SYMBOLS,
    OUT_OF_MEMORY,
    SYMBOLS_MISMATCH,
    TIMED_OUT,
    UNREADABLE,
    analysis,
    build_ids_match,
    classify_exit,
    elf_build_id,
    kernel_family,
    safe_path,
    script,
    summary,
    valid_release,
)
from ansible_collections.kdump.fleet.plugins.module_utils._debug_symbols import (
    DebError,
    deb_member_in_package,
    extract_from_deb,
    install_hint,
    kernel_images,
    symbol_candidates,
    symbols_package,
)
from ansible_collections.kdump.fleet.plugins.module_utils._dump_inventory import (
    HEAD_BYTES,
    dump_format,
    parse_vmcoreinfo,
)


class Analyst:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.changed = False
        self.crash = module.get_bin_path("crash")

    # -- one dump

    def analyse(self, path):
        record = {"path": path, "status": None, "message": None, "kernel": None, "build_id": None, "format": None}
        record.update(symbols=None, analysis=None, summary=None, raw=None, seconds=None)
        head, problem = self._head(path)
        if problem:
            return self._done(record, UNREADABLE, problem)
        record["format"] = dump_format(head)
        if record["format"] == "unknown":
            return self._done(
                record, UNREADABLE, "%s: not a dump crash(8) can read (not ELF, kdump or flattened)" % path
            )
        info = parse_vmcoreinfo(head)
        record["kernel"], record["build_id"] = info["osrelease"], info["build_id"]
        if not valid_release(record["kernel"]):
            return self._done(record, UNREADABLE, "%s: no kernel release in its VMCOREINFO" % path)
        symbols, problem = self._symbols(record["kernel"])
        record["symbols"] = symbols
        if symbols is None:
            return self._done(record, NO_SYMBOLS, problem)
        if build_ids_match(record["build_id"], symbols["build_id"]) is False:
            return self._done(
                record,
                SYMBOLS_MISMATCH,
                "%s was built as %s, the dump's kernel as %s: not the same kernel build"
                % (symbols["path"], symbols["build_id"], record["build_id"]),
            )
        if self.crash is None:  # only in check mode: main() refuses to start without it otherwise
            return self._done(record, FAILED, "check mode: crash(8) is not installed here yet, nothing was read")
        return self._run_crash(record, self._namelist(record["path"], record["kernel"], symbols["path"]))

    @staticmethod
    def _done(record, status, message):
        record["status"], record["message"] = status, message
        record["summary"] = summary(record)
        return record

    @staticmethod
    def _head(path):
        try:
            # O_NONBLOCK: a FIFO in the dump's place must not block the module; regular files ignore it.
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOATIME", 0))
        except OSError:
            try:
                descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError as exc:
                return None, "%s: cannot read: %s" % (path, exc.strerror)
        with os.fdopen(descriptor, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None, "%s: not a regular file" % path
            try:
                return handle.read(HEAD_BYTES), None
            except OSError as exc:
                return None, "%s: cannot read: %s" % (path, exc.strerror)

    # -- symbols

    def _symbols(self, release):
        """({path, source, build_id}, None) or (None, why there are none)."""
        family = kernel_family(release)
        cached = os.path.join(self.params["symbols_dir"], "vmlinux-" + release)
        for source, candidate in [("installed", c) for c in symbol_candidates(family, release)] + [("cache", cached)]:
            if os.path.isfile(candidate):
                return self._described(candidate, source), None
        package = symbols_package(family, release)
        if family != "debian":
            hint = install_hint(family, release)
            suffix = " (install %s)" % hint if hint else ""
            return None, "no debug symbols for kernel %s on this host%s" % (release, suffix)
        if not self.params["fetch_symbols"]:
            return None, "no debug symbols for kernel %s here and fetch_symbols is false (%s)" % (release, package)
        apt_get = self.module.get_bin_path("apt-get")
        if apt_get is None:
            return None, "no debug symbols for kernel %s here, and no apt-get to fetch %s" % (release, package)
        if self.module.check_mode:
            return None, "check mode: %s would be fetched for kernel %s" % (package, release)
        return self._fetch_deb(apt_get, package, release, cached)

    def _fetch_deb(self, apt_get, package, release, destination):
        directory = self.params["symbols_dir"]
        try:
            os.makedirs(directory, mode=0o755, exist_ok=True)
        except OSError as exc:
            return None, "cannot make %s: %s; set symbols_dir" % (directory, exc.strerror)
        download = tempfile.mkdtemp(prefix=".fetch-", dir=directory)
        try:
            rc, _out, err = self.module.run_command([apt_get, "download", package], cwd=download)
            debs = [name for name in os.listdir(download) if name.endswith(".deb")]
            if rc != 0 or not debs:
                reason = (err.strip().splitlines() or ["no package downloaded"])[-1]
                return None, "no debug symbols for kernel %s: apt-get download %s: %s" % (release, package, reason)
            try:
                extract_from_deb(os.path.join(download, debs[0]), deb_member_in_package(release), destination)
            except (DebError, OSError) as exc:
                return None, "no debug symbols for kernel %s: %s" % (release, exc)
            self.changed = True
            return self._described(destination, "fetched"), None
        finally:
            shutil.rmtree(download, ignore_errors=True)

    @staticmethod
    def _namelist(dump, release, symbols):
        """crash(8)'s kernel arguments: a SUSE .debug file goes after the stripped kernel it belongs to, when
        one is here (crash reads the kernel's symbol table from it and the types from the .debug)."""
        if not symbols.endswith(".debug"):
            return [symbols]
        images = kernel_images(kernel_family(release), release, os.path.dirname(dump))
        image = next((path for path in images if os.path.isfile(path)), None)
        return [image, symbols] if image else [symbols]

    @staticmethod
    def _described(path, source):
        try:
            with open(path, "rb") as handle:
                build_id = elf_build_id(handle)
        except OSError:
            build_id = None
        return {"path": path, "source": source, "build_id": build_id}

    # -- crash

    def _run_crash(self, record, namelist):
        rebuilt = None
        dump = record["path"]
        try:
            if record["format"] == "flattened":
                rebuilt, status, problem = self._rebuild_flattened(dump)
                if problem:
                    return self._done(record, status, problem)
                dump = rebuilt
            with tempfile.TemporaryDirectory(prefix="kdump-fleet-crash-", dir=self.params["work_dir"]) as out:
                return self._crash_session(record, namelist, dump, out)
        finally:
            if rebuilt:
                shutil.rmtree(os.path.dirname(rebuilt), ignore_errors=True)

    def _rebuild_flattened(self, path):
        """(rebuilt path, None, None), or (None, the status, why) when the dump could not be rebuilt."""
        makedumpfile = self.module.get_bin_path("makedumpfile")
        if makedumpfile is None:
            return (
                None,
                UNREADABLE,
                "%s is flattened (makedumpfile -F) and makedumpfile is not here to rebuild it" % path,
            )
        work_dir = self.params["work_dir"]
        needed = os.path.getsize(path)
        free = shutil.disk_usage(work_dir).free
        if free < needed * 1.1:
            return (
                None,
                UNREADABLE,
                "%s is flattened; rebuilding it needs %d MiB free in %s, which has %d MiB; set work_dir"
                % (
                    path,
                    needed >> 20,
                    work_dir,
                    free >> 20,
                ),
            )
        # makedumpfile -R refuses a file that exists: a directory of our own (0700) holds the copy.
        directory = tempfile.mkdtemp(prefix="kdump-fleet-rebuilt-", dir=work_dir)
        target = os.path.join(directory, "vmcore")
        status = problem = None
        try:
            with open(path, "rb") as source:
                argv = [makedumpfile, "-R", target]
                timeout = self.params["timeout"]
                done = subprocess.run(argv, stdin=source, capture_output=True, check=False, timeout=timeout)
            if done.returncode != 0:
                message = done.stderr.decode("utf-8", "replace").strip()[-300:]
                status = UNREADABLE
                problem = "%s is flattened and makedumpfile -R failed (rc=%d): %s" % (path, done.returncode, message)
        except subprocess.TimeoutExpired:
            status = TIMED_OUT
            problem = "%s is flattened and makedumpfile -R did not rebuild it within %d s (raise timeout)" % (
                path,
                self.params["timeout"],
            )
        except OSError as exc:
            status = UNREADABLE
            problem = "%s is flattened and could not be rebuilt in %s: %s" % (path, work_dir, exc.strerror or exc)
        if problem:
            shutil.rmtree(directory, ignore_errors=True)
            return None, status, problem
        return target, None, None

    def _crash_session(self, record, namelist, dump, out):
        script_path = os.path.join(out, "commands")
        with open(script_path, "w", encoding="utf-8") as handle:
            handle.write(script(out))
        # timeout(1) runs crash in a process group of its own and signals the whole group, so the gdb
        # crash starts dies with it; prlimit(1) caps its address space (RLIMIT_AS).
        timeout, prlimit = self.module.get_bin_path("timeout"), self.module.get_bin_path("prlimit")
        if timeout is None or prlimit is None:
            self.module.fail_json(msg="timeout(1) (coreutils) and prlimit(1) (util-linux) are needed to bound crash(8)")
        seconds = self.params["timeout"]
        bounds = [timeout, "--kill-after=10", str(seconds), prlimit, "--as=%d" % (self.params["memory_limit_mb"] << 20)]
        argv = bounds + [self.crash, "-s", "--no_crashrc", "-i", script_path] + namelist + [dump]
        started = time.monotonic()
        rc, out_text, err_text = self.module.run_command(
            argv,
            cwd=out,
            data="quit\n",  # should crash leave the script early, it reads this, not the module's stdin
            environ_update={"LC_ALL": "C", "LANG": "C", "PAGER": "cat", "CRASHPAGER": "cat"},
        )
        record["seconds"] = round(time.monotonic() - started, 1)
        console = out_text + err_text
        ended = classify_exit(rc, record["seconds"], seconds, console)
        outputs = {}
        for name, _command in COMMANDS:
            try:
                with open(os.path.join(out, name + ".txt"), encoding="utf-8", errors="replace") as handle:
                    outputs[name] = handle.read()
            except OSError:
                outputs[name] = None
        record["raw"] = _raw(outputs, console)
        if ended == TIMED_OUT:
            message = "crash(8) did not finish within %d s on %s; it was killed (raise timeout)" % (
                seconds,
                record["path"],
            )
            return self._done(record, TIMED_OUT, message)
        if ended == OUT_OF_MEMORY:
            return self._done(
                record,
                OUT_OF_MEMORY,
                "crash(8) ran out of memory within memory_limit_mb=%d on %s (raise it)"
                % (self.params["memory_limit_mb"], record["path"]),
            )
        if ended == FAILED:
            tail = " ".join(console.strip().splitlines()[-2:])[:300]
            return self._done(record, FAILED, "timeout/prlimit could not start crash(8) (rc=%d): %s" % (rc, tail))
        if not outputs.get("sys"):
            tail = " ".join(console.strip().splitlines()[-3:])[:400]
            return self._done(record, FAILED, "crash(8) read nothing from %s (rc=%s): %s" % (record["path"], rc, tail))
        record["analysis"] = analysis(outputs, self.params["log_lines"])
        record["status"] = ANALYSED
        record["summary"] = summary(record)
        return record


def _raw(outputs, console):
    sections = ["## %s\n%s" % (command, (outputs.get(name) or "(no output)").rstrip()) for name, command in COMMANDS]
    if console.strip():
        sections.append("## crash's own messages\n" + console.rstrip())
    return "\n\n".join(sections) + "\n"


def main():
    module = AnsibleModule(
        argument_spec={
            "dumps": {"type": "list", "elements": "path", "required": True},
            "symbols_dir": {"type": "path", "default": "/var/cache/kdump-fleet/symbols"},
            "fetch_symbols": {"type": "bool", "default": True},
            "work_dir": {"type": "path", "default": "/var/tmp"},
            "timeout": {"type": "int", "default": 600},
            "memory_limit_mb": {"type": "int", "default": 4096},
            "log_lines": {"type": "int", "default": 20},
        },
        supports_check_mode=True,
    )
    for name, low in (("timeout", 1), ("memory_limit_mb", 256), ("log_lines", 0)):
        if module.params[name] < low:
            module.fail_json(msg="%s must be %d or more, got %d" % (name, low, module.params[name]))
    for name in ("symbols_dir", "work_dir"):
        if not safe_path(module.params[name]):
            module.fail_json(
                msg="%s must be an absolute path of letters, digits and . _ + / - only (it is written into"
                " crash's script), got %r" % (name, module.params[name])
            )
    work_dir = module.params["work_dir"]
    if not (os.path.isdir(work_dir) and os.access(work_dir, os.W_OK | os.X_OK)):
        module.fail_json(msg="work_dir=%s is not a writable directory on this host; set work_dir" % work_dir)
    for path in module.params["dumps"]:
        if not os.path.isabs(path):
            module.fail_json(msg="dumps must be absolute paths, got %r" % path)
    analyst = Analyst(module)
    if analyst.crash is None and not module.check_mode:
        module.fail_json(msg="crash(8) is not installed on this host: install the crash package, nothing was read")
    analyses = [analyst.analyse(path) for path in module.params["dumps"]]
    module.exit_json(changed=analyst.changed, analyses=analyses)


if __name__ == "__main__":
    main()
