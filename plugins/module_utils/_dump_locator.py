# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a crash test looks for the dump it caused; private to the kdump.fleet collection."""

from __future__ import annotations

import abc
import shlex
from collections import namedtuple

from ansible_collections.kdump.fleet.plugins.module_utils._host_facts import find_dumps

# What the crash test hands a locator factory about the host under test:
# ``info`` the kdump_info result read before the crash, ``read_info()`` reads it
# afresh, ``run_on_host(command)`` runs a shell command on the host. For a network
# target also the dump server: ``server`` its inventory name, ``server_path`` the
# directory this host's dumps land in there, ``run_on_server(command)`` a shell
# command run on it (opened only when a remote locator first needs it).
HostAccess = namedtuple(
    "HostAccess",
    ["info", "read_info", "run_on_host", "server", "server_path", "run_on_server"],
    defaults=(None, None, None),
)


class DumpLocatorError(Exception):
    """No locator can list the dumps of this host's configured target."""


class DumpLocator(abc.ABC):
    """The place one host's dumps land, and a way to run commands there.

    The crash test calls ``list_dumps()`` before the crash and again after the
    host is back, compares the two listings, and validates the new dump with
    ``run()``, so the checks always execute where the dump file is (the host
    itself for a local target, the dump server for a remote one).
    """

    @abc.abstractmethod
    def list_dumps(self):
        """Return a list of ``{"path", "mtime", "size"}`` dicts, one per dump file."""

    @abc.abstractmethod
    def describe(self):
        """Return a short human text naming the place, e.g. ``/var/crash on the host``."""

    @abc.abstractmethod
    def run(self, command):
        """Run a shell command where the dumps are; return ``{"rc", "stdout", "stderr"}``."""

    @property
    @abc.abstractmethod
    def dump_dir(self):
        """The directory the dumps are written to (used to find capture logs next to them)."""


class LocalDumpLocator(DumpLocator):
    """Dumps in the host's own dump directory, listed by ``kdump.fleet.kdump_info``.

    ``read_info`` is a callable returning the ``kdump`` dict of a fresh
    ``kdump_info`` run; ``run_on_host`` runs a shell command on the host.
    """

    def __init__(self, read_info, run_on_host, info=None):
        self._read_info = read_info
        self._run_on_host = run_on_host
        # A kdump_info result read just now serves the first listing; later ones read afresh.
        self._unused_info = info
        self._info = info or {}

    def list_dumps(self):
        if self._unused_info is not None:
            self._info, self._unused_info = self._unused_info, None
        else:
            self._info = self._read_info()
        items = (self._info.get("dumps") or {}).get("items") or []
        return [
            {"path": item["path"], "mtime": float(item.get("mtime") or 0), "size": int(item.get("size") or 0)}
            for item in items
            if item.get("path")
        ]

    @property
    def dump_dir(self):
        return (self._info.get("dumps") or {}).get("path")

    def describe(self):
        return "%s on the host itself" % (self.dump_dir or "the dump directory")

    def run(self, command):
        return self._run_on_host(command)


class DumpServerLocator(DumpLocator):
    """Dumps on the dump server an NFS or SSH target writes to, listed and checked there.

    The host's dumps land in one directory on the server (``server_path``): the NFS export
    the host mounts, or the directory the SSH receiver maps the host's ``kdump_path`` to.
    Both tools write ``<address>-<stamp>/<dump>`` below it, so the listing has the same two
    levels as a local dump directory and the same rules pick the vmcores out of it.
    """

    def __init__(self, server, server_path, run_on_server):
        self._server = server
        self._path = server_path.rstrip("/") or "/"
        self._run_on_server = run_on_server

    def list_dumps(self):
        res = self._run_on_server(listing_command(self._path))
        if res.get("rc") != 0:
            raise DumpLocatorError(
                "cannot list %s on the dump server %s: %s"
                % (self._path, self._server, (res.get("stderr") or res.get("stdout") or "").strip()[-300:])
            )
        items = find_dumps(parse_listing(res.get("stdout") or "", self._path))["items"]
        return [{"path": item["path"], "mtime": float(item["mtime"]), "size": int(item["size"])} for item in items]

    @property
    def dump_dir(self):
        return self._path

    @property
    def server(self):
        return self._server

    def describe(self):
        return "%s on the dump server %s" % (self._path, self._server)

    def run(self, command):
        return self._run_on_server(command)


# One line per file one directory below the dump directory: directory, name, size, mtime,
# file mode and directory mode (octal), tab-separated. find's %h is the directory path.
_LISTING_FORMAT = r"%h\t%f\t%s\t%T@\t%m\t%Y\n"


def listing_command(path):
    """Shell listing the files one level below each sub-directory of path (no symlinks followed)."""
    quoted = shlex.quote(path.rstrip("/") or "/")
    return (
        "LC_ALL=C find %(p)s -mindepth 2 -maxdepth 2 -type f -printf '%(f)s' 2>/dev/null; "
        "find %(p)s -mindepth 1 -maxdepth 1 -type d -printf '%%f\\tDIR\\t%%m\\n' 2>/dev/null; "
        "test -d %(p)s"
    ) % {"p": quoted, "f": _LISTING_FORMAT}


def parse_listing(text, path):
    """The two-level listing find_dumps takes, from listing_command's output."""
    top = path.rstrip("/") or "/"
    dir_modes, files = {}, []
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) == 3 and fields[1] == "DIR":
            dir_modes[fields[0]] = _octal(fields[2])
        elif len(fields) == 6:
            files.append(fields)
    listing = []
    for parent, name, size, mtime, mode, kind in files:
        directory = parent.rstrip("/").rsplit("/", 1)[-1]
        if kind != "f" or "/" in name or parent.rstrip("/") != "%s/%s" % (top.rstrip("/"), directory):
            continue
        try:
            size_value, mtime_value = int(size), float(mtime)
        except ValueError:
            continue
        listing.append(
            {
                "dir": directory,
                "name": name,
                "path": "%s/%s/%s" % (top.rstrip("/"), directory, name),
                "size": size_value,
                "mtime": mtime_value,
                "mode": _octal(mode),
                "dir_mode": dir_modes.get(directory, 0),
            }
        )
    return listing


def _octal(text):
    try:
        return int(text, 8)
    except ValueError:
        return 0


def _server_locator(access):
    return DumpServerLocator(access.server, access.server_path, access.run_on_server)


# Dump target type -> factory taking a HostAccess and returning a DumpLocator. The crash
# test's flow is the same for all: list, crash, list again, validate where the dump is.
LOCATORS = {
    "local": lambda access: LocalDumpLocator(access.read_info, access.run_on_host, info=access.info),
    "nfs": _server_locator,
    "ssh": _server_locator,
}


def target_type(info):
    """The configured dump target type from a kdump_info dict, or None."""
    target = (info.get("config") or {}).get("target") or {}
    return target.get("type")


def locator_problem(info, server=None, server_path=None):
    """Return why no locator can list this host's dumps, or None when one can."""
    kind = target_type(info)
    if kind not in LOCATORS:
        return "dump target type %r: the crash test finds dumps on %s targets only" % (
            kind,
            ", ".join(sorted(LOCATORS)),
        )
    if kind == "local":
        dumps = info.get("dumps")
        if not isinstance(dumps, dict) or not dumps.get("path"):
            return "kdump_info did not report the dump directory (kdump.dumps.path), so new dumps cannot be found"
        return None
    if not server:
        return (
            "the dump target is %s: name the dump server it writes to (kdump_crash_test_dump_server, an inventory "
            "host), so the new dump can be found and checked where it really is" % kind
        )
    if not server_path or not str(server_path).startswith("/"):
        return (
            "the dump target is %s: the directory this host's dumps land in on %s is not known (%r); set "
            "kdump_crash_test_dump_server_path to it (for nfs the export, for ssh ROOT/NAME of the dump_server role)"
            % (kind, server, server_path)
        )
    return None


def make_locator(access):
    """Pick the locator for the host's configured target (``access`` is a HostAccess); raise DumpLocatorError."""
    problem = locator_problem(access.info, access.server, access.server_path)
    if problem:
        raise DumpLocatorError(problem)
    return LOCATORS[target_type(access.info)](access)
