"""kdump.fleet.dump_inventory run the way Ansible runs it, on dump trees built from the lab's recorded dumps.

The dump files are the first 64 KiB of real dumps from the lab's dump server (tests/unit/fixtures/lab/
network-run), under the names the tools give them. makedumpfile and timeout are the real binaries where a
test needs them.
"""

from __future__ import annotations

import gzip
import os
import shutil

import pytest
from ansible.module_utils import basic
from ansible_collections.kdump.fleet.plugins.modules import dump_inventory
from conftest import fixture_path, load_fixture, run_module

C12 = ("kdump-c12", "10.77.0.21-202612022335", "debian12-ssh", "202612022335")
C13 = ("kdump-c13", "10.77.0.22-202612022336", "debian13-nfs", "202612022336")
PANIC = "Kernel panic - not syncing: sysrq triggered crash"


def _lab_dump(directory, name, stamp, log=True):
    directory.mkdir(parents=True, exist_ok=True)
    head = gzip.decompress(fixture_path("lab", f"network-run/{name}-dump.{stamp}.head64k.gz").read_bytes())
    (directory / f"dump.{stamp}").write_bytes(head)
    if log:
        (directory / f"dmesg.{stamp}").write_text(load_fixture("lab", f"network-run/{name}-dmesg.{stamp}"))
    for path in directory.iterdir():
        path.chmod(0o600)
    directory.chmod(0o700)


@pytest.fixture
def server_root(tmp_path):
    """/srv/kdump/dumps as the dump_server role lays it out, with both lab dumps."""
    root = tmp_path / "dumps"
    for client, directory, name, stamp in (C12, C13):
        _lab_dump(root / client / directory, name, stamp)
    return root


def run(args, check_mode=False):
    return run_module(dump_inventory.main, args, check_mode=check_mode)


def test_a_dump_server_lists_every_client_with_what_the_dumps_say(server_root):
    result = run({"path": str(server_root), "layout": "server", "inventory_name": "kdump-dumps", "log_lines": 3})
    assert result["changed"] is False and result["errors"] == []
    assert result["places"] == [{"path": str(server_root), "layout": "server", "exists": True}]
    newest, older = result["dumps"]
    assert (newest["host"], older["host"]) == ("kdump-c13", "kdump-c12")  # by the kernel's CRASHTIME
    assert newest == {
        "host": "kdump-c13",
        "stored_on": "kdump-dumps",
        "dir": str(server_root / "kdump-c13" / "10.77.0.22-202612022336"),
        "path": str(server_root / "kdump-c13" / "10.77.0.22-202612022336" / "dump.202612022336"),
        "complete": True,
        "size": 65536,
        "mtime": newest["mtime"],
        "format": "flattened",
        "crash_time": 1796254501,
        "crash_time_source": "vmcoreinfo",
        "kernel": "6.12.117+deb13-amd64",
        "origin": "crash",
        "panic": PANIC,
        "first_error": None,
        "last_messages": newest["last_messages"],
        "log_path": str(server_root / "kdump-c13" / "10.77.0.22-202612022336" / "dmesg.202612022336"),
        "log_source": "saved",
        "log_problem": None,
    }
    assert len(newest["last_messages"]) == 3
    assert older["kernel"] == "6.1.0-50-amd64" and older["panic"] == PANIC
    assert result["retention"] == []


def test_a_crash_test_record_makes_its_dump_a_crash_test(server_root):
    c12_dump = str(server_root / "kdump-c12" / "10.77.0.21-202612022335" / "dump.202612022335")
    result = run({"path": str(server_root), "layout": "server", "inventory_name": "d", "crash_test_dumps": [c12_dump]})
    origins = {d["host"]: d["origin"] for d in result["dumps"]}
    assert origins == {"kdump-c12": "crash_test", "kdump-c13": "crash"}


def test_only_the_named_clients_are_listed(server_root):
    result = run({"path": str(server_root), "layout": "server", "inventory_name": "d", "clients": ["kdump-c12"]})
    assert [d["host"] for d in result["dumps"]] == ["kdump-c12"]


def test_a_host_layout_finds_kdumpctl_paths_below_the_directory_and_incomplete_dumps(tmp_path):
    root = tmp_path / "var" / "crash"
    _lab_dump(root / "202612022335", "debian12-ssh", "202612022335")
    # kdumpctl on an NFS export writes below its path: <export>/var/crash/<ip>-<date>/
    odd = root / "var" / "crash" / "10.0.0.5-2026-12-02-23:40:11"
    odd.mkdir(parents=True)
    (odd / "vmcore-incomplete").write_bytes(b"\0" * 4096)
    result = run({"path": str(root), "inventory_name": "web01", "keep": 1})
    by_dir = {os.path.basename(d["dir"]): d for d in result["dumps"]}
    assert set(by_dir) == {"202612022335", "10.0.0.5-2026-12-02-23:40:11"}
    incomplete = by_dir["10.0.0.5-2026-12-02-23:40:11"]
    assert (incomplete["complete"], incomplete["path"], incomplete["size"]) == (False, None, 4096)
    assert incomplete["log_problem"] == "no kernel log was saved and the dump is incomplete"
    assert incomplete["origin"] == "unknown"
    assert incomplete["crash_time_source"] == "directory"
    assert all(d["host"] == "web01" for d in result["dumps"])
    # keep 1: the newer incomplete one is kept by count, the older complete one is the newest complete: none go.
    assert result["retention"] == []


def test_retention_plans_the_older_dumps_and_never_removes_anything(tmp_path):
    root = tmp_path / "crash"
    for stamp in ("202601010000", "202602010000", "202612022335"):
        _lab_dump(root / stamp, "debian12-ssh", "202612022335")
        # The recorded files keep their names; the directory stamp decides the order without CRASHTIME.
        for path in (root / stamp).iterdir():
            path.rename(root / stamp / path.name.replace("202612022335", stamp))
    # A head whose VMCOREINFO is cut off keeps only the directory's time.
    for stamp in ("202601010000", "202602010000"):
        (root / stamp / f"dump.{stamp}").write_bytes(b"makedumpfile\0\0\0\0")
    result = run({"path": str(root), "inventory_name": "web01", "keep": 1})
    assert [os.path.basename(p["dir"]) for p in result["retention"]] == ["202601010000", "202602010000"]
    assert all((root / stamp).is_dir() for stamp in ("202601010000", "202602010000"))


def test_symlinks_are_never_followed(tmp_path, server_root):
    outside = tmp_path / "elsewhere" / "202612022335"
    _lab_dump(outside, "debian12-ssh", "202612022335")
    (server_root / "kdump-c12" / "202612022340").symlink_to(outside)
    (server_root / "evil").symlink_to(tmp_path / "elsewhere")
    linked = server_root / "kdump-c13" / "202612022341"
    linked.mkdir()
    (linked / "dump.202612022341").symlink_to(outside / "dump.202612022335")
    result = run({"path": str(server_root), "layout": "server", "inventory_name": "d"})
    assert sorted(d["dir"] for d in result["dumps"]) == [
        str(server_root / "kdump-c12" / "10.77.0.21-202612022335"),
        str(server_root / "kdump-c13" / "10.77.0.22-202612022336"),
    ]


def test_a_flattened_dump_without_a_saved_log_is_not_rebuilt(tmp_path):
    root = tmp_path / "crash"
    _lab_dump(root / "202612022335", "debian12-ssh", "202612022335", log=False)
    (dump,) = run({"path": str(root), "inventory_name": "web01"})["dumps"]
    assert dump["log_problem"] == (
        "no kernel log was saved and the dump is flattened: makedumpfile -R would have to rebuild it first"
    )
    # The kernel still comes from VMCOREINFO.
    assert (dump["kernel"], dump["origin"]) == ("6.1.0-50-amd64", "unknown")


@pytest.mark.skipif(not shutil.which("makedumpfile"), reason="makedumpfile is not installed here")
def test_makedumpfile_reads_the_log_out_of_a_dump_and_its_failure_is_reported(tmp_path):
    root = tmp_path / "crash"
    directory = root / "202612022335"
    directory.mkdir(parents=True)
    # Not a dump makedumpfile can read: the real makedumpfile says so, and the record says why.
    (directory / "dump.202612022335").write_bytes(b"\x7fELF" + b"\0" * 4092)
    (dump,) = run({"path": str(root), "inventory_name": "web01"})["dumps"]
    assert dump["format"] == "elf"
    assert dump["log_problem"].startswith("makedumpfile --dump-dmesg failed (rc=1): ")
    assert "check_elf_format: Can't get valid ehdr." in dump["log_problem"]
    assert dump["log_problem"].endswith("makedumpfile Failed.")
    assert dump["origin"] == "unknown"


def test_a_log_reading_that_hangs_is_stopped(tmp_path, monkeypatch):
    root = tmp_path / "crash"
    directory = root / "202612022335"
    directory.mkdir(parents=True)
    (directory / "dump.202612022335").write_bytes(b"KDUMP   " + b"\0" * 4088)
    real = basic.AnsibleModule.get_bin_path
    # A makedumpfile that never finishes: the real sleep, under the real timeout.
    sleeper = tmp_path / "bin" / "makedumpfile"
    sleeper.parent.mkdir()
    sleeper.write_text("#!/bin/sh\nexec sleep 30\n")
    sleeper.chmod(0o755)
    monkeypatch.setattr(
        basic.AnsibleModule,
        "get_bin_path",
        lambda self, name, *a, **k: str(sleeper) if name == "makedumpfile" else real(self, name, *a, **k),
    )
    (dump,) = run({"path": str(root), "inventory_name": "web01", "log_timeout": 1})["dumps"]
    assert dump["log_problem"] == "makedumpfile --dump-dmesg did not finish within 1 s"


def test_places_list_local_and_server_dumps_once(tmp_path, server_root):
    local = tmp_path / "var-crash"
    _lab_dump(local / "202612022335", "debian12-ssh", "202612022335")
    result = run(
        {
            "inventory_name": "kdump-dumps",
            "places": [
                {"path": str(local), "layout": "host"},
                {"path": str(server_root), "layout": "server"},
                {"path": str(tmp_path / "missing"), "layout": "host"},
            ],
        }
    )
    assert sorted(d["host"] for d in result["dumps"]) == ["kdump-c12", "kdump-c13", "kdump-dumps"]
    assert [p["exists"] for p in result["places"]] == [True, True, False]
    assert result["errors"] == []


@pytest.mark.parametrize(
    "args, message",
    [
        ({"inventory_name": "x"}, "give path or places, not both and not neither"),
        ({"inventory_name": "x", "path": "/a", "places": []}, "give path or places, not both and not neither"),
        ({"inventory_name": "x", "places": [{"path": "relative", "layout": "host"}]}, "places[0]="),
        ({"inventory_name": "x", "places": [{"path": "/a", "layout": "other"}]}, "layout of host or server"),
        ({"inventory_name": "x", "path": "/a", "keep": -1}, "keep=-1 must be 0 or more"),
        ({"inventory_name": "x", "path": "/a", "log_timeout": 0}, "log_timeout=0 must be 1 or more"),
    ],
)
def test_bad_arguments_are_refused(args, message):
    result = run(args)
    assert result["failed"] is True
    assert message in result["msg"]


def _suse_dump(directory, log_name):
    """A SUSE kdump directory (fixtures/suse/dumps/SOURCE.md): README.txt, the log, a flattened vmcore."""
    directory.mkdir(parents=True)
    (directory / "README.txt").write_text(load_fixture("suse", "dumps/README-2.x.txt"))
    (directory / log_name).write_text(load_fixture("suse", "dumps/dmesg-6.4.0-150600.23.25-default"))
    head = gzip.decompress(fixture_path("lab", "network-run/debian12-ssh-dump.202612022335.head64k.gz").read_bytes())
    (directory / "vmcore").write_bytes(head)


def test_suse_dump_directories_are_listed_with_their_saved_log_and_flattened_vmcore(tmp_path):
    root = tmp_path / "crash"
    _suse_dump(root / "2026-12-03-10-15", "dmesg")
    _suse_dump(root / "2026-12-03-09:15", "dmesg.txt")
    (root / "2026-12-03-09:15" / "vmlinux-6.4.0-150600.23.25-default.gz").write_bytes(b"\x1f\x8b")
    result = run({"path": str(root), "inventory_name": "sles15", "log_lines": 1})
    assert result["errors"] == []
    records = {os.path.basename(d["dir"]): d for d in result["dumps"]}
    assert sorted(records) == ["2026-12-03-09:15", "2026-12-03-10-15"]
    for name, log_name in (("2026-12-03-10-15", "dmesg"), ("2026-12-03-09:15", "dmesg.txt")):
        dump = records[name]
        assert dump["path"] == str(root / name / "vmcore") and dump["complete"] is True
        assert (dump["format"], dump["log_source"], dump["log_path"]) == (
            "flattened",
            "saved",
            str(root / name / log_name),
        )
        assert (dump["kernel"], dump["panic"], dump["origin"]) == ("6.4.0-150600.23.25-default", PANIC, "crash_test")
        assert dump["last_messages"] == ["[  616.306049] Kernel Offset: disabled"]
