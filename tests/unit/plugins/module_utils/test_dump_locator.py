"""Tests of the dump-locator interface the crash test finds its dump through."""

from __future__ import annotations

import subprocess

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


@pytest.mark.parametrize("target", ["raw", "device", None])
def test_targets_without_a_locator_are_refused_with_the_reason(target):
    problem = dl.locator_problem(kdump_info([], target=target))
    assert f"dump target type {target!r}" in problem
    with pytest.raises(dl.DumpLocatorError, match="finds dumps on local, nfs, ssh targets only"):
        dl.make_locator(dl.HostAccess(kdump_info([], target=target), None, None))


@pytest.mark.parametrize("target", ["nfs", "ssh"])
def test_network_targets_need_the_dump_server_and_the_directory_there(target):
    info = kdump_info([], target=target)
    assert "name the dump server it writes to (kdump_crash_test_dump_server" in dl.locator_problem(info)
    assert "kdump_crash_test_dump_server_path" in dl.locator_problem(info, "dumps01", None)
    assert "kdump_crash_test_dump_server_path" in dl.locator_problem(info, "dumps01", "relative/dir")
    assert dl.locator_problem(info, "dumps01", "/srv/kdump/dumps/web01") is None
    locator = dl.make_locator(dl.HostAccess(info, None, None, "dumps01", "/srv/kdump/dumps/web01/", print))
    assert isinstance(locator, dl.DumpServerLocator)
    assert locator.describe() == "/srv/kdump/dumps/web01 on the dump server dumps01"
    assert locator.dump_dir == "/srv/kdump/dumps/web01"


# What listing_command printed on the lab's dump server (Debian 12, GNU find 4.9) for a client that had
# one SSH dump, one NFS-style dump, a dump still being written and a kernel log.
SERVER_LISTING = (
    "/srv/kdump/dumps/c12/10.77.0.21-202612021431\tdmesg.202612021431\t41210\t1796221900.5\t600\tf\n"
    "/srv/kdump/dumps/c12/10.77.0.21-202612021431\tdump.202612021431\t45730112\t1796221899.25\t600\tf\n"
    "/srv/kdump/dumps/c12/10.77.0.21-202612021502\tdump-incomplete\t1048576\t1796223700.0\t600\tf\n"
    "/srv/kdump/dumps/c12/127.0.0.1-2026-12-02-15:10:00\tvmcore.flat\t9000\t1796224200.0\t640\tf\n"
    "10.77.0.21-202612021431\tDIR\t700\n"
    "10.77.0.21-202612021502\tDIR\t700\n"
    "127.0.0.1-2026-12-02-15:10:00\tDIR\t750\n"
)


def test_the_servers_listing_yields_the_finished_dumps_newest_first():
    def run(command):
        assert command == dl.listing_command("/srv/kdump/dumps/c12")
        return {"rc": 0, "stdout": SERVER_LISTING, "stderr": ""}

    locator = dl.DumpServerLocator("srv", "/srv/kdump/dumps/c12", run)
    assert locator.list_dumps() == [
        {"path": "/srv/kdump/dumps/c12/127.0.0.1-2026-12-02-15:10:00/vmcore.flat", "mtime": 1796224200.0, "size": 9000},
        {
            "path": "/srv/kdump/dumps/c12/10.77.0.21-202612021431/dump.202612021431",
            "mtime": 1796221899.25,
            "size": 45730112,
        },
    ]


def test_lines_outside_the_directory_or_malformed_are_ignored():
    text = (
        "/elsewhere/10.77.0.21-202612021431\tdump.202612021431\t1\t1.0\t600\tf\n"
        "/srv/d/10.77.0.21-202612021431\tdump.202612021431\tbig\t1.0\t600\tf\n"
        "garbage\n"
    )
    assert dl.parse_listing(text, "/srv/d") == []


def test_a_listing_that_fails_names_the_server_and_the_directory():
    locator = dl.DumpServerLocator("srv", "/srv/kdump/dumps/c12", lambda c: {"rc": 1, "stdout": "", "stderr": ""})
    with pytest.raises(dl.DumpLocatorError, match="cannot list /srv/kdump/dumps/c12 on the dump server srv"):
        locator.list_dumps()


def test_the_listing_command_runs_under_sh_and_lists_two_levels(tmp_path):
    (tmp_path / "10.77.0.21-202612021431").mkdir()
    (tmp_path / "10.77.0.21-202612021431" / "dump.202612021431").write_bytes(b"x" * 7)
    (tmp_path / "10.77.0.21-202612021431" / "deeper").mkdir()
    (tmp_path / "10.77.0.21-202612021431" / "deeper" / "dump.202612021431").write_bytes(b"y")
    done = subprocess.run(["sh", "-c", dl.listing_command(str(tmp_path))], capture_output=True, text=True, check=True)
    listing = dl.parse_listing(done.stdout, str(tmp_path))
    assert [(entry["name"], entry["size"], entry["dir_mode"] != 0) for entry in listing] == [
        ("dump.202612021431", 7, True)
    ]
    missing = subprocess.run(["sh", "-c", dl.listing_command(str(tmp_path / "nope"))], capture_output=True, check=False)
    assert missing.returncode != 0


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
