# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a crash test looks for the dump it caused; private to the kdump.fleet collection."""

from __future__ import annotations

import abc
from collections import namedtuple

# What the crash test hands a locator factory about the host under test:
# ``info`` the kdump_info result read before the crash, ``read_info()`` reads it
# afresh, ``run_on_host(command)`` runs a shell command on the host.
HostAccess = namedtuple("HostAccess", ["info", "read_info", "run_on_host"])


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


# Dump target type -> factory taking a HostAccess and returning a DumpLocator.
# A locator for NFS or SSH dump servers (run on the server, delegated) is added
# here; the crash test's flow does not change. See docs/crash-test.md.
LOCATORS = {
    "local": lambda access: LocalDumpLocator(access.read_info, access.run_on_host, info=access.info),
}


def target_type(info):
    """The configured dump target type from a kdump_info dict, or None."""
    target = (info.get("config") or {}).get("target") or {}
    return target.get("type")


def locator_problem(info):
    """Return why no locator can list this host's dumps, or None when one can."""
    kind = target_type(info)
    if kind not in LOCATORS:
        return (
            "dump target type %r: the crash test can only find dumps on a local target so far "
            "(supported: %s); NFS/SSH dump servers need a remote locator" % (kind, ", ".join(sorted(LOCATORS)))
        )
    if kind != "local":
        return None
    dumps = info.get("dumps")
    if not isinstance(dumps, dict) or not dumps.get("path"):
        return "kdump_info did not report the dump directory (kdump.dumps.path), so new dumps cannot be found"
    return None


def make_locator(access):
    """Pick the locator for the host's configured target (``access`` is a HostAccess); raise DumpLocatorError."""
    problem = locator_problem(access.info)
    if problem:
        raise DumpLocatorError(problem)
    return LOCATORS[target_type(access.info)](access)
