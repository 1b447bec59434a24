"""Tests of the dump-locator interface the crash test finds its dump through."""

from __future__ import annotations

import pytest
from ansible_collections.kdump.fleet.plugins.module_utils import _dump_locator as dl

# Sizes and names from a kdump-tools dump on Ubuntu (see fixtures/crash_test/SOURCE.md).
ITEM = {
    "path": "/var/crash/202601210724/dump.202601210724",
    "mtime": 1768980240.0,
    "size": 51753823,
    "mode": "0644",
    "dir_mode": "0755",
    "world_readable": True,
}


def kdump_info(items, target="local", path="/var/crash"):
    return {
        "config": {"exists": True, "target": {"type": target, "location": None}, "errors": []},
        "dumps": {"path": path, "count": len(items), "items": items, "newest": items[0] if items else None},
    }


class Recorder:
    """Stands in for the plugin's kdump_info runner and command runner."""

    def __init__(self, infos):
        self.infos = list(infos)
        self.info_reads = 0
        self.commands = []

    def read_info(self):
        self.info_reads += 1
        return self.infos.pop(0)

    def run(self, command):
        self.commands.append(command)
        return {"rc": 0, "stdout": "ran " + command, "stderr": ""}


def test_first_listing_reuses_the_fresh_info_then_reads_again():
    first = kdump_info([])
    recorder = Recorder([kdump_info([ITEM])])
    locator = dl.make_locator(dl.HostAccess(first, recorder.read_info, recorder.run))
    assert locator.list_dumps() == []
    assert recorder.info_reads == 0
    assert locator.list_dumps() == [{"path": ITEM["path"], "mtime": 1768980240.0, "size": 51753823}]
    assert recorder.info_reads == 1


def test_local_locator_describes_and_runs_on_the_host():
    recorder = Recorder([])
    locator = dl.make_locator(dl.HostAccess(kdump_info([], path="/srv/crash"), recorder.read_info, recorder.run))
    assert isinstance(locator, dl.LocalDumpLocator)
    assert locator.dump_dir == "/srv/crash"
    assert locator.describe() == "/srv/crash on the host itself"
    assert locator.run("true")["stdout"] == "ran true"
    assert recorder.commands == ["true"]


def test_listing_skips_entries_without_a_path_and_fills_missing_numbers():
    info = kdump_info([{"path": ""}, {"path": "/var/crash/x/vmcore", "mtime": None, "size": None}])
    locator = dl.LocalDumpLocator(lambda: info, None, info=info)
    assert locator.list_dumps() == [{"path": "/var/crash/x/vmcore", "mtime": 0.0, "size": 0}]


@pytest.mark.parametrize("target", ["nfs", "ssh", "raw", None])
def test_targets_without_a_locator_are_refused_with_the_reason(target):
    problem = dl.locator_problem(kdump_info([], target=target))
    assert f"dump target type {target!r}" in problem
    with pytest.raises(dl.DumpLocatorError, match="only find dumps on a local target"):
        dl.make_locator(dl.HostAccess(kdump_info([], target=target), None, None))


def test_local_target_without_a_dump_directory_is_refused():
    info = kdump_info([])
    info["dumps"] = None
    assert "kdump.dumps.path" in dl.locator_problem(info)
    assert dl.locator_problem(kdump_info([])) is None


def test_the_interface_is_abstract_and_a_remote_locator_plugs_in():
    with pytest.raises(TypeError):
        dl.DumpLocator()  # pylint: disable=abstract-class-instantiated  # the point of the test

    class DumpServerLocator(dl.DumpLocator):
        """What an SSH dump server locator looks like: same four members, commands run on the server."""

        def __init__(self, server, run_on_server):
            self.server = server
            self._run = run_on_server

        def list_dumps(self):
            return [{"path": "/srv/dumps/web01/vmcore.flat", "mtime": 1.0, "size": 2}]

        def describe(self):
            return f"/srv/dumps/web01 on {self.server}"

        def run(self, command):
            return self._run(command)

        @property
        def dump_dir(self):
            return "/srv/dumps/web01"

    recorder = Recorder([])
    remote = DumpServerLocator("dumps.example.com", recorder.run)
    assert remote.describe() == "/srv/dumps/web01 on dumps.example.com"
    assert remote.run("ls")["rc"] == 0
