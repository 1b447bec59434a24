#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: dump_inventory
short_description: List the kdump dumps stored on a host and what their kernel logs say
version_added: 0.1.0
description:
  - Walks a dump directory (a host's own, or a dump server's root with one directory per client) and
    returns one record per dump directory the tools wrote, complete or not - the host it came from, the
    crash time, kernel, size and format, the panic line and the last kernel messages, and whether the
    crash test or a real crash caused it.
  - The kernel log is the one the tools saved next to the dump (kdump-tools C(dmesg.STAMP), kdump-utils
    C(vmcore-dmesg.txt), SUSE's kdump C(dmesg) or C(dmesg.txt)); without one, C(makedumpfile --dump-dmesg)
    reads it out of the dump itself (not out of a flattened dump, which would first have to be rebuilt),
    within O(log_timeout).
  - The crash time and kernel also come from the VMCOREINFO note in the dump's first MiB (the kernel
    writes C(CRASHTIME) and C(OSRELEASE) there when it crashes).
  - Never changes the host and never follows a symlink. With O(keep) above 0 it also returns which dump
    directories retention would remove (C(retention)); removing them is left to the caller.
author:
  - kdump.fleet maintainers (@kdump-fleet)
options:
  path:
    description:
      - The dump directory (O(layout=host)) or the dump server's root (O(layout=server)).
      - Give this or O(places).
    type: path
  layout:
    description:
      - V(host) - dump directories below O(path) (up to three levels, as kdumpctl's C(path) adds) belong to
        O(inventory_name).
      - V(server) - each directory directly in O(path) is a client, named by the directory; its dumps are
        below it.
    type: str
    choices: [host, server]
    default: host
  places:
    description:
      - Several places on this host in one call, each a dict of O(path) and O(layout) (a dump server that
        also keeps its own dumps locally). A place whose directory does not exist lists nothing.
    type: list
    elements: dict
  inventory_name:
    description:
      - The inventory name of the host the module runs on; the owner of the dumps with O(layout=host), and
        C(stored_on) of every record.
    type: str
    required: true
  clients:
    description:
      - With O(layout=server), only these client directories; default every one.
    type: list
    elements: str
  crash_test_dumps:
    description:
      - Paths of dumps that crash-test records name (C(crash_test.dump.path) of each client's kdump_info);
        they count as crash tests even when their kernel log lacks the crash test's line (older versions
        of the crash test did not write it).
    type: list
    elements: str
    default: []
  log_lines:
    description: How many of the last kernel messages each record carries.
    type: int
    default: 20
  read_dump_log:
    description: Read the kernel log out of the dump with C(makedumpfile --dump-dmesg) when none was saved.
    type: bool
    default: true
  log_timeout:
    description: Seconds C(makedumpfile --dump-dmesg) may take for one dump before it is stopped.
    type: int
    default: 120
  keep:
    description:
      - Retention to plan - per host, all but the newest O(keep) dump directories. V(0) plans nothing.
      - The newest complete dump of a host is never in the plan.
    type: int
    default: 0
extends_documentation_fragment:
  - kdump.fleet.attributes
  - kdump.fleet.attributes.read_only
attributes:
  check_mode:
    description: The module never changes anything; check mode returns the same result.
  diff_mode:
    description: Nothing changes, so there is no diff.
notes:
  - Run it as root, the dumps are readable by root only.
seealso:
  - module: kdump.fleet.kdump_info
"""

EXAMPLES = r"""
- name: List the dumps of this host's local target
  kdump.fleet.dump_inventory:
    path: /var/crash
    inventory_name: "{{ inventory_hostname }}"

- name: List the dumps on a dump server, plan to keep three per client
  kdump.fleet.dump_inventory:
    path: /srv/kdump/dumps
    layout: server
    inventory_name: "{{ inventory_hostname }}"
    keep: 3
"""

RETURN = r"""
places:
  description: The places walked, each C(path), C(layout) and C(exists).
  returned: always
  type: list
  elements: dict
dumps:
  description: One record per dump directory, newest first.
  returned: always
  type: list
  elements: dict
  contains:
    host:
      description: The host that crashed - O(inventory_name), or the client directory's name.
      type: str
    stored_on:
      description: O(inventory_name).
      type: str
    dir:
      description: The dump directory.
      type: str
    path:
      description: The dump file; null when only an incomplete file is there.
      type: str
    complete:
      description: A finished dump file is there, not only a C(*-incomplete) one.
      type: bool
    size:
      description: Bytes of the dump, or of the incomplete file.
      type: int
    mtime:
      description: Modification time of that file (epoch).
      type: float
    format:
      description: V(kdump-compressed), V(flattened), V(elf) or V(unknown).
      type: str
    crash_time:
      description: When the kernel crashed (epoch).
      type: int
    crash_time_source:
      description: V(vmcoreinfo) (CRASHTIME), V(directory) (its name) or V(mtime).
      type: str
    kernel:
      description: The release that crashed - the log's C(Linux version), else OSRELEASE.
      type: str
    origin:
      description: V(crash_test), V(crash) (any other crash) or V(unknown) (no kernel log read).
      type: str
    panic:
      description: The last C(Kernel panic - not syncing) message.
      type: str
    first_error:
      description: The first BUG, Oops or fault message.
      type: str
    last_messages:
      description: The last O(log_lines) lines of the kernel log.
      type: list
      elements: str
    log_path:
      description: The saved kernel log read; null when read from the dump or not at all.
      type: str
    log_source:
      description: V(saved), V(makedumpfile --dump-dmesg) or null.
      type: str
    log_problem:
      description: Why no kernel log was read.
      type: str
  sample:
    - host: web01
      stored_on: dumps01
      dir: /srv/kdump/dumps/web01/202612022340
      path: /srv/kdump/dumps/web01/202612022340/dump.202612022340
      complete: true
      size: 44152832
      mtime: 1796255000.0
      format: flattened
      crash_time: 1796254860
      crash_time_source: vmcoreinfo
      kernel: 6.1.0-41-amd64
      origin: crash_test
      panic: "Kernel panic - not syncing: sysrq triggered crash"
      first_error: null
      last_messages: ["[  212.455512] Kernel panic - not syncing: sysrq triggered crash"]
      log_path: /srv/kdump/dumps/web01/202612022340/dmesg.202612022340
      log_source: saved
      log_problem: null
retention:
  description:
    - The dump directories retention with O(keep) would remove, oldest first.
    - Each has C(host), C(stored_on), C(dir) and C(reason).
  returned: always
  type: list
  elements: dict
errors:
  description: Files or directories that could not be read, and why.
  returned: always
  type: list
  elements: str
"""

import os
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.kdump.fleet.plugins.module_utils._dump_inventory import (
    HEAD_BYTES,
    LOG_BYTES,
    crash_time,
    dump_files,
    dump_format,
    origin,
    parse_kernel_log,
    parse_vmcoreinfo,
    retention_plan,
)

# kdumpctl's NFS and SSH targets add their `path` (default /var/crash) below the export or server directory.
MAX_DEPTH = 3


def _read_head(path, size):
    with open(path, "rb") as handle:
        return handle.read(size)


def _read_tail(path, size):
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(handle.tell() - size, 0))
        return handle.read().decode("utf-8", "replace")


class Inventory:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.errors = []

    def dump_dirs(self, root):
        """(directory, (dump, log, incomplete) file names) of every dump directory below ``root``, symlinks
        never followed."""
        found = []
        base_depth = root.rstrip("/").count("/")
        for current, dirs, files in os.walk(root, onerror=self._walk_error, followlinks=False):
            if current.count("/") - base_depth >= MAX_DEPTH:
                dirs[:] = []
            names = [name for name in files if self._is_plain_file(os.path.join(current, name))]
            classified = dump_files(os.path.basename(current), names)
            dump, _log, incomplete = classified
            if dump or incomplete:
                found.append((current, classified))
                dirs[:] = []
        return found

    def _is_plain_file(self, path):
        try:
            return stat.S_ISREG(os.lstat(path).st_mode)
        except OSError as exc:
            self.errors.append("{0}: cannot stat: {1}".format(path, exc.strerror))
            return False

    def _walk_error(self, error):
        self.errors.append("{0}: cannot list: {1}".format(error.filename, error.strerror))

    def record(self, host, directory, files):
        dump, log, incomplete = files
        data_file = os.path.join(directory, dump or incomplete)
        info = os.lstat(data_file)
        head = b""
        try:
            head = _read_head(data_file, HEAD_BYTES)
        except OSError as exc:
            self.errors.append("{0}: cannot read: {1}".format(data_file, exc.strerror))
        vmcoreinfo = parse_vmcoreinfo(head)
        fmt = dump_format(head)
        summary, log_path, log_source, log_problem = self.kernel_log(directory, log, dump and data_file, fmt)
        when, when_source = crash_time(vmcoreinfo, directory, info.st_mtime)
        path = data_file if dump else None
        return {
            "host": host,
            "stored_on": self.params["inventory_name"],
            "dir": directory,
            "path": path,
            "complete": bool(dump),
            "size": info.st_size,
            "mtime": info.st_mtime,
            "format": fmt,
            "crash_time": when,
            "crash_time_source": when_source,
            "kernel": (summary or {}).get("kernel") or vmcoreinfo["osrelease"],
            "origin": origin(summary, path, self.params["crash_test_dumps"]),
            "panic": (summary or {}).get("panic"),
            "first_error": (summary or {}).get("first_error"),
            "last_messages": (summary or {}).get("last_messages") or [],
            "log_path": log_path,
            "log_source": log_source,
            "log_problem": log_problem,
        }

    def kernel_log(self, directory, log, dump_path, fmt):
        """(summary, log path, source, problem) of the dump's kernel log."""
        lines = self.params["log_lines"]
        if log:
            path = os.path.join(directory, log)
            try:
                return parse_kernel_log(_read_tail(path, LOG_BYTES), lines), path, "saved", None
            except OSError as exc:
                return None, None, None, "{0}: cannot read: {1}".format(path, exc.strerror)
        if not dump_path:
            return None, None, None, "no kernel log was saved and the dump is incomplete"
        if not self.params["read_dump_log"]:
            return None, None, None, "no kernel log was saved (read_dump_log is false)"
        if fmt == "flattened":
            return (
                None,
                None,
                None,
                ("no kernel log was saved and the dump is flattened: makedumpfile -R would have to rebuild it first"),
            )
        return self.log_from_dump(dump_path, lines)

    def log_from_dump(self, dump_path, lines):
        makedumpfile = self.module.get_bin_path("makedumpfile")
        timeout = self.module.get_bin_path("timeout")
        if not makedumpfile or not timeout:
            return None, None, None, "no kernel log was saved and makedumpfile is not installed here to read it"
        with tempfile.TemporaryDirectory(prefix="kdump-fleet-log-") as work:
            out = os.path.join(work, "dmesg")
            limit = self.params["log_timeout"]
            rc, stdout, stderr = self.module.run_command(
                [timeout, "-k", "5", str(limit), makedumpfile, "--dump-dmesg", dump_path, out]
            )
            if rc == 124:
                return None, None, None, "makedumpfile --dump-dmesg did not finish within {0} s".format(limit)
            if rc != 0 or not os.path.exists(out):
                return (
                    None,
                    None,
                    None,
                    "makedumpfile --dump-dmesg failed (rc={0}): {1}".format(
                        rc, " ".join((stderr + " " + stdout).split())[-300:]
                    ),
                )
            return parse_kernel_log(_read_tail(out, LOG_BYTES), lines), None, "makedumpfile --dump-dmesg", None

    def roots(self, path, layout):
        """(host, directory) pairs to walk."""
        path = path.rstrip("/") or "/"
        if layout == "host":
            return [(self.params["inventory_name"], path)]
        wanted = self.params["clients"]
        try:
            entries = sorted(os.scandir(path), key=lambda entry: entry.name)
        except OSError as exc:
            self.errors.append("{0}: cannot list: {1}".format(path, exc.strerror))
            return []
        return [
            (entry.name, entry.path)
            for entry in entries
            if entry.is_dir(follow_symlinks=False) and (wanted is None or entry.name in wanted)
        ]

    def gather(self, places):
        dumps, walked, seen = [], [], set()
        for place in places:
            path, layout = place["path"], place["layout"]
            exists = os.path.isdir(path)
            walked.append({"path": path, "layout": layout, "exists": exists})
            if not exists:
                continue
            for host, root in self.roots(path, layout):
                for directory, files in self.dump_dirs(root):
                    if directory in seen:  # a local dump directory inside a listed server root
                        continue
                    seen.add(directory)
                    try:
                        dumps.append(self.record(host, directory, files))
                    except OSError as exc:
                        self.errors.append("{0}: cannot read: {1}".format(directory, exc.strerror))
        dumps.sort(key=lambda d: (d["crash_time"] or 0, d["dir"]), reverse=True)
        return dumps, walked, self.errors


def _places(module):
    """The places to walk, from path/layout or places; fails the module on a bad entry."""
    if (module.params["path"] is None) == (module.params["places"] is None):
        module.fail_json(msg="give path or places, not both and not neither")
    if module.params["path"] is not None:
        return [{"path": module.params["path"], "layout": module.params["layout"]}]
    places = []
    for index, place in enumerate(module.params["places"]):
        path = place.get("path") if isinstance(place, dict) else None
        layout = place.get("layout", "host") if isinstance(place, dict) else None
        if not isinstance(path, str) or not path.startswith("/") or layout not in ("host", "server"):
            module.fail_json(
                msg="places[{0}]={1!r} must be a dict with an absolute path and a layout of host or server".format(
                    index, place
                )
            )
        places.append({"path": os.path.normpath(path), "layout": layout})
    return places


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path"},
            "places": {"type": "list", "elements": "dict"},
            "layout": {"type": "str", "choices": ["host", "server"], "default": "host"},
            "inventory_name": {"type": "str", "required": True},
            "clients": {"type": "list", "elements": "str"},
            "crash_test_dumps": {"type": "list", "elements": "str", "default": []},
            "log_lines": {"type": "int", "default": 20},
            "read_dump_log": {"type": "bool", "default": True},
            "log_timeout": {"type": "int", "default": 120},
            "keep": {"type": "int", "default": 0},
        },
        supports_check_mode=True,
    )
    for name, low in (("log_lines", 0), ("log_timeout", 1), ("keep", 0)):
        if module.params[name] < low:
            module.fail_json(msg="{0}={1} must be {2} or more".format(name, module.params[name], low))
    dumps, walked, errors = Inventory(module).gather(_places(module))
    module.exit_json(
        changed=False,
        places=walked,
        dumps=dumps,
        retention=retention_plan(dumps, module.params["keep"]),
        errors=errors,
    )


if __name__ == "__main__":
    main()
