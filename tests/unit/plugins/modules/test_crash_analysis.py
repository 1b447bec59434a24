"""kdump.fleet.crash_analysis: every way a dump is refused or reported before and around crash(8).

The dumps here carry a real VMCOREINFO note's text after a kdump signature; the symbols are a real ELF
(/usr/bin/true) whose build ID readelf reads. crash(8) itself runs for real where a test needs it.
A real dump analysed end to end is the lab's (molecule/shared/real_crash.yml).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from ansible_collections.kdump.fleet.plugins.modules import crash_analysis
from conftest import run_module

RELEASE = "6.1.0-50-amd64"


def _build_id(path):
    notes = subprocess.run(["readelf", "-n", path], capture_output=True, text=True, check=True).stdout
    return re.search(r"Build ID: ([0-9a-f]+)", notes).group(1)


def _dump(tmp_path, release=RELEASE, build_id="06f8bde30046985060c60820f7a11515a33afb06", signature=b"KDUMP   "):
    path = tmp_path / "dump.202612031341"
    note = b"VMCOREINFO\x00\x00OSRELEASE=%s\nBUILD-ID=%s\nPAGESIZE=4096\nCRASHTIME=1796305273\n" % (
        release.encode(),
        build_id.encode(),
    )
    path.write_bytes(signature + bytes(4088) + note + bytes(4096))
    return str(path)


def _run(tmp_path, dumps, check_mode=False, **options):
    args = {"dumps": dumps, "symbols_dir": str(tmp_path / "symbols"), "work_dir": str(tmp_path)}
    args.update(options)
    return run_module(crash_analysis.main, args, check_mode=check_mode)


def _one(result):
    assert not result.get("failed"), result
    [record] = result["analyses"]
    assert record["summary"] == record["message"]  # a record that was not analysed says why, in one line
    return record


def test_a_missing_file_a_symlink_and_a_file_that_is_no_dump_are_unreadable(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    link = tmp_path / "link"
    link.symlink_to(text)
    result = _run(tmp_path, [str(tmp_path / "gone"), str(link), str(text)])
    gone, linked, plain = result["analyses"]
    assert (gone["status"], gone["message"]) == (
        "unreadable",
        "%s: cannot read: No such file or directory" % (tmp_path / "gone"),
    )
    assert linked["status"] == "unreadable" and "cannot read" in linked["message"]  # O_NOFOLLOW
    assert plain["status"] == "unreadable" and "not a dump crash(8) can read" in plain["message"]
    assert result["changed"] is False


def test_a_dump_without_a_release_it_could_name_is_unreadable(tmp_path):
    record = _one(_run(tmp_path, [_dump(tmp_path, release="6.1;id")]))
    assert record["status"] == "unreadable" and "no kernel release" in record["message"]


def test_a_kernel_of_no_known_family_has_no_symbols_and_says_so(tmp_path):
    record = _one(_run(tmp_path, [_dump(tmp_path, release="6.8.0-45-generic")]))
    assert record["status"] == "no_symbols" and record["kernel"] == "6.8.0-45-generic"
    assert record["message"] == "no debug symbols for kernel 6.8.0-45-generic on this host"


def test_a_rhel_kernel_names_the_debuginfo_package_to_install(tmp_path):
    release = "5.14.0-427.13.1.el9_4.x86_64"
    record = _one(_run(tmp_path, [_dump(tmp_path, release=release)]))
    assert (
        record["message"] == f"no debug symbols for kernel {release} on this host (install kernel-debuginfo-{release})"
    )


@pytest.mark.parametrize(
    "release, version",
    [("6.4.0-150600.23.25-default", "6.4.0-150600.23.25"), ("6.12.0-160000.5-default", "6.12.0-160000.5")],
)
def test_a_suse_kernel_names_its_debuginfo_package_and_version_and_fetches_nothing(tmp_path, release, version):
    result = _run(tmp_path, [_dump(tmp_path, release=release)])
    record = _one(result)
    assert (record["status"], record["symbols"]) == ("no_symbols", None)
    assert record["message"] == (
        f"no debug symbols for kernel {release} on this host (install kernel-default-debuginfo of version "
        f"{version} (zypper search -s kernel-default-debuginfo))"
    )
    assert result["changed"] is False and not (tmp_path / "symbols").exists()


@pytest.mark.skipif(not shutil.which("readelf"), reason="needs readelf")
def test_an_installed_suse_debuginfo_file_is_used_after_the_kernel_copied_next_to_the_dump(tmp_path, monkeypatch):
    release = "6.4.0-150600.23.25-default"
    debug = tmp_path / "usr-lib-debug" / f"vmlinux-{release}.debug"
    debug.parent.mkdir()
    shutil.copy("/usr/bin/true", debug)
    monkeypatch.setattr(
        crash_analysis, "symbol_candidates", lambda family, rel: [str(debug)] if family == "suse" else []
    )
    dump = _dump(tmp_path, release=release, build_id=_build_id("/usr/bin/true"))
    image = tmp_path / f"vmlinux-{release}.gz"  # kdump 1.x's KDUMP_COPY_KERNEL copy, in the dump's directory
    image.write_bytes(b"\x1f\x8b")
    seen = []

    def fake_crash(self, record, namelist, dump_path, out):
        seen.append((namelist, dump_path))
        return self._done(record, "failed", "not run")

    monkeypatch.setattr(crash_analysis.Analyst, "_crash_session", fake_crash)
    monkeypatch.setattr(crash_analysis.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: "/usr/bin/" + name)
    record = _one(_run(tmp_path, [dump]))
    assert record["symbols"] == {"path": str(debug), "source": "installed", "build_id": _build_id("/usr/bin/true")}
    assert seen == [([str(image), str(debug)], dump)]


def test_nothing_is_fetched_when_fetching_is_off_or_in_check_mode(tmp_path):
    off = _one(_run(tmp_path, [_dump(tmp_path)], fetch_symbols=False))
    assert off["status"] == "no_symbols" and "fetch_symbols is false (linux-image-6.1.0-50-amd64-dbg)" in off["message"]
    checked = _run(tmp_path, [_dump(tmp_path)], check_mode=True)
    assert (
        _one(checked)["message"] == "check mode: linux-image-6.1.0-50-amd64-dbg would be fetched for kernel " + RELEASE
    )
    assert checked["changed"] is False and not (tmp_path / "symbols").exists()


@pytest.mark.skipif(shutil.which("readelf") is None, reason="needs readelf")
def test_symbols_of_another_build_are_not_used(tmp_path):
    (tmp_path / "symbols").mkdir()
    vmlinux = tmp_path / "symbols" / ("vmlinux-" + RELEASE)
    shutil.copy("/usr/bin/true", vmlinux)
    record = _one(_run(tmp_path, [_dump(tmp_path)]))
    assert record["status"] == "symbols_mismatch"
    assert record["symbols"] == {"path": str(vmlinux), "source": "cache", "build_id": _build_id("/usr/bin/true")}
    assert "not the same kernel build" in record["message"]


@pytest.mark.skipif(shutil.which("crash") is None or shutil.which("readelf") is None, reason="needs crash, readelf")
def test_crash_that_reads_nothing_is_a_failure_with_its_words_and_the_dump_is_untouched(tmp_path):
    (tmp_path / "symbols").mkdir()
    shutil.copy("/usr/bin/true", tmp_path / "symbols" / ("vmlinux-" + RELEASE))
    dump = _dump(tmp_path, build_id=_build_id("/usr/bin/true"))
    before = (os.stat(dump).st_mtime_ns, Path(dump).read_bytes())
    record = _one(_run(tmp_path, [dump], timeout=60))
    assert record["status"] == "failed" and record["message"].startswith("crash(8) read nothing from " + dump)
    assert record["raw"] and "## sys\n(no output)" in record["raw"]
    assert (os.stat(dump).st_mtime_ns, Path(dump).read_bytes()) == before
    assert sorted(os.listdir(tmp_path)) == ["dump.202612031341", "symbols"]  # its work directory is gone


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("timeout", 0, "timeout must be 1 or more, got 0"),
        ("memory_limit_mb", 100, "memory_limit_mb must be 256 or more, got 100"),
        ("log_lines", -1, "log_lines must be 0 or more, got -1"),
        ("symbols_dir", "symbols", "symbols_dir must be an absolute path of letters, digits and . _ + / - only"),
        ("work_dir", "/var/tmp\n!id", "work_dir must be an absolute path of letters, digits and . _ + / - only"),
        ("work_dir", "/var/tmp/a b", "work_dir must be an absolute path of letters, digits and . _ + / - only"),
        ("work_dir", "/nonexistent/kdump-fleet", "work_dir=/nonexistent/kdump-fleet is not a writable directory"),
    ],
)
def test_bad_options_are_refused_by_name_before_any_dump_is_read(tmp_path, option, value, message):
    result = _run(tmp_path, [str(tmp_path / "gone")], **{option: value})
    assert result["failed"] and result["msg"].startswith(message)
