"""_debug_symbols: where symbols live, and one vmlinux streamed out of a real .deb (built by dpkg-deb)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from ansible_collections.kdump.fleet.plugins.module_utils import _debug_symbols as symbols

needs_dpkg_deb = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb")
RELEASE = "6.1.0-50-amd64"


def test_where_each_family_installs_the_kernel_with_symbols():
    assert symbols.symbol_candidates("debian", RELEASE) == [
        "/usr/lib/debug/boot/vmlinux-6.1.0-50-amd64",
        "/usr/lib/debug/lib/modules/6.1.0-50-amd64/vmlinux",
    ]
    assert symbols.symbol_candidates("redhat", "5.14.0-427.13.1.el9_4.x86_64") == [
        "/usr/lib/debug/lib/modules/5.14.0-427.13.1.el9_4.x86_64/vmlinux"
    ]
    # A kernel of no known family (Ubuntu's): the paths its -dbgsym package installs to, no fetching.
    assert symbols.symbol_candidates(None, "6.8.0-45-generic") == [
        "/usr/lib/debug/boot/vmlinux-6.8.0-45-generic",
        "/usr/lib/debug/lib/modules/6.8.0-45-generic/vmlinux",
    ]
    assert symbols.symbols_package("debian", RELEASE) == "linux-image-6.1.0-50-amd64-dbg"
    assert symbols.symbols_package("redhat", "5.14.0-427.el9.x86_64") == "kernel-debuginfo-5.14.0-427.el9.x86_64"
    assert symbols.symbols_package(None, RELEASE) is None


@pytest.mark.parametrize(
    "release, package, version",
    [
        ("6.4.0-150600.23.25-default", "kernel-default-debuginfo", "6.4.0-150600.23.25"),  # SLES 15 SP6
        ("6.12.0-160000.5-default", "kernel-default-debuginfo", "6.12.0-160000.5"),  # SLES 16
        ("6.17.9-1-default", "kernel-default-debuginfo", "6.17.9-1"),  # Tumbleweed
        ("6.4.0-150600.8.11-azure", "kernel-azure-debuginfo", "6.4.0-150600.8.11"),
    ],
)
def test_a_suse_kernels_symbols_are_its_flavours_debuginfo_file(release, package, version):
    # rpm's debuginfo split of /boot/vmlinux-<release>; crash(8) on SUSE reports that file as its DEBUGINFO.
    assert symbols.symbol_candidates("suse", release) == [f"/usr/lib/debug/boot/vmlinux-{release}.debug"]
    assert symbols.symbols_package("suse", release) == package
    assert symbols.install_hint("suse", release) == f"{package} of version {version} (zypper search -s {package})"


def test_the_stripped_suse_kernel_is_looked_for_next_to_the_dump_first():
    release = "6.4.0-150600.23.25-default"
    assert symbols.kernel_images("suse", release, "/var/crash/2026-12-03-10:15") == [
        f"/var/crash/2026-12-03-10:15/vmlinux-{release}.gz",
        f"/var/crash/2026-12-03-10:15/vmlinux-{release}.xz",
        f"/var/crash/2026-12-03-10:15/vmlinux-{release}",
        f"/boot/vmlinux-{release}.gz",
        f"/boot/vmlinux-{release}.xz",
        f"/boot/vmlinux-{release}",
    ]
    # Debian's and RHEL's symbols are a whole vmlinux: crash needs nothing else.
    assert symbols.kernel_images("debian", RELEASE, "/var/crash/x") == []
    assert symbols.install_hint("redhat", "5.14.0-427.el9.x86_64") == "kernel-debuginfo-5.14.0-427.el9.x86_64"


def _deb(tmp_path, compression, files):
    """A real Debian package with ``files`` ({path in the package: bytes}), built by dpkg-deb."""
    root = tmp_path / ("pkg-" + compression)
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: linux-image-{RELEASE}-dbg\nVersion: 6.1.176-1\nArchitecture: amd64\n"
        "Maintainer: test <t@example.org>\nDescription: test\n"
    )
    for path, data in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    deb = tmp_path / f"symbols-{compression}.deb"
    subprocess.run(["dpkg-deb", "-Z" + compression, "--build", str(root), str(deb)], check=True, capture_output=True)
    return deb


@needs_dpkg_deb
@pytest.mark.parametrize("compression", ["xz", "gzip", "none"])
def test_the_vmlinux_alone_is_streamed_out_of_the_package(tmp_path, compression):
    vmlinux = b"\x7fELF" + bytes(range(256)) * 4000
    deb = _deb(
        tmp_path,
        compression,
        {
            "usr/lib/debug/boot/System.map-" + RELEASE: b"ffffffff81000000 T _text\n",
            "usr/lib/debug/boot/vmlinux-" + RELEASE: vmlinux,
            f"usr/lib/debug/lib/modules/{RELEASE}/kernel/fs/ext4.ko": b"module",
        },
    )
    destination = tmp_path / ("vmlinux-" + RELEASE)
    written = symbols.extract_from_deb(str(deb), symbols.deb_member_in_package(RELEASE), str(destination))
    assert written == len(vmlinux) and destination.read_bytes() == vmlinux
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == sorted(
        [deb.name, destination.name]
    )  # nothing else written, no .part left


@needs_dpkg_deb
def test_a_package_without_the_member_or_not_a_package_is_refused_by_name(tmp_path):
    deb = _deb(tmp_path, "xz", {"usr/share/doc/x/README": b"x"})
    with pytest.raises(symbols.DebError, match="has no ./usr/lib/debug/boot/vmlinux-6.1.0-50-amd64"):
        symbols.extract_from_deb(str(deb), symbols.deb_member_in_package(RELEASE), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.part").exists()
    text = tmp_path / "not.deb"
    text.write_text("hello")
    with pytest.raises(symbols.DebError, match="not a Debian package"):
        symbols.extract_from_deb(str(text), "./x", str(tmp_path / "out"))


@needs_dpkg_deb
def test_a_truncated_package_leaves_no_partial_vmlinux(tmp_path):
    deb = _deb(tmp_path, "xz", {"usr/lib/debug/boot/vmlinux-" + RELEASE: bytes(range(256)) * 20000})
    data = deb.read_bytes()
    cut = tmp_path / "cut.deb"
    cut.write_bytes(data[: len(data) - 2000])
    with pytest.raises(symbols.DebError):
        symbols.extract_from_deb(str(cut), symbols.deb_member_in_package(RELEASE), str(tmp_path / "vmlinux"))
    assert not (tmp_path / "vmlinux").exists() and not (tmp_path / "vmlinux.part").exists()
