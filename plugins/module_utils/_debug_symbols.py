# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a distribution keeps a kernel's debug symbols, and taking one vmlinux out of a .deb.

Private to the collection. The Debian package linux-image-<release>-dbg is 850 MiB and 5.6 GiB
installed; crash(8) needs one file of it (vmlinux, 630 MiB), so that file is streamed out of the
package's data archive and nothing else is written.
"""

from __future__ import annotations

import os
import tarfile


def symbol_candidates(family, release):
    """Paths where the distribution's debug package installs the kernel with symbols, in order."""
    if family == "debian":
        return ["/usr/lib/debug/boot/vmlinux-" + release, "/usr/lib/debug/lib/modules/%s/vmlinux" % release]
    if family == "redhat":
        return ["/usr/lib/debug/lib/modules/%s/vmlinux" % release]
    if family == "suse":
        # kernel-<flavour>-debuginfo: rpm's debuginfo split of /boot/vmlinux-<release> (crash(8) on SUSE
        # reports DEBUGINFO: /usr/lib/debug/boot/vmlinux-<release>.debug).
        return ["/usr/lib/debug/boot/vmlinux-%s.debug" % release]
    # Any other kernel (Ubuntu's -dbgsym packages use the Debian paths): where a vmlinux may be installed.
    return ["/usr/lib/debug/boot/vmlinux-" + release, "/usr/lib/debug/lib/modules/%s/vmlinux" % release]


def symbols_package(family, release):
    """The package that carries ``release``'s debug symbols, or None when the family has none we know."""
    if family == "debian":
        return "linux-image-%s-dbg" % release
    if family == "redhat":
        # kernel-debuginfo-<version>-<release>.<arch>: an EL kernel's uname -r is exactly that tail.
        return "kernel-debuginfo-%s" % release
    if family == "suse":
        return "kernel-%s-debuginfo" % _suse_flavour(release)
    return None


def _suse_flavour(release):
    """6.4.0-150600.23.25-default -> default: SUSE names its kernel packages kernel-<flavour>."""
    return release.rsplit("-", 1)[-1]


def install_hint(family, release):
    """What to install for ``release``'s symbols, as a person types it, or None when we know of nothing.

    A SUSE package's release has one more number than the kernel's (6.4.0-150600.23.25-default is built by
    kernel-default-6.4.0-150600.23.25.1), so the version is named apart from the package.
    """
    package = symbols_package(family, release)
    if package is None or family != "suse":
        return package
    version = release[: -len(_suse_flavour(release)) - 1]
    return "%s of version %s (zypper search -s %s)" % (package, version, package)


def kernel_images(family, release, dump_dir=None):
    """The stripped kernels a SUSE debuginfo file belongs to, in order: crash(8) takes one, then the .debug.

    kdump 1.x with KDUMP_COPY_KERNEL copies the kernel next to the dump; else the kernel-<flavour> package's.
    """
    if family != "suse":
        return []
    names = ["vmlinux-%s%s" % (release, suffix) for suffix in (".gz", ".xz", "")]
    places = ([dump_dir] if dump_dir else []) + ["/boot"]
    return ["%s/%s" % (place.rstrip("/"), name) for place in places for name in names]


def deb_member_in_package(release):
    """The vmlinux's path inside linux-image-<release>-dbg's data archive."""
    return "./usr/lib/debug/boot/vmlinux-" + release


class DebError(Exception):
    pass


def _ar_members(handle):
    """(name, offset, size) of each member of an ar(1) archive (a .deb is one)."""
    if handle.read(8) != b"!<arch>\n":
        raise DebError("not a Debian package (no ar header)")
    while True:
        header = handle.read(60)
        if not header:
            return
        if len(header) < 60 or header[58:60] != b"`\n":
            raise DebError("damaged ar member header")
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        try:
            size = int(header[48:58].decode("ascii").strip())
        except ValueError:
            raise DebError("damaged ar member size") from None
        offset = handle.tell()
        yield name, offset, size
        handle.seek(offset + size + (size & 1))


class _Window:
    """A read-only view of ``size`` bytes of a file from ``offset``: tarfile's stream mode reads it."""

    def __init__(self, handle, offset, size):
        self._handle, self._left = handle, size
        handle.seek(offset)

    def read(self, size=-1):
        if size < 0 or size > self._left:
            size = self._left
        data = self._handle.read(size)
        self._left -= len(data)
        return data


def extract_from_deb(deb_path, member, destination):
    """Stream ``member`` of the package's data.tar.* into ``destination`` (via a .part file).

    Returns the bytes written. Raises DebError when the package or the member is not there. The
    archive is read once, front to back, and reading stops at the member.
    """
    with open(deb_path, "rb") as handle:
        data = [(name, offset, size) for name, offset, size in _ar_members(handle) if name.startswith("data.tar")]
        if not data:
            raise DebError("%s has no data.tar member" % deb_path)
        name, offset, size = data[0]
        compression = name.rsplit(".", 1)[-1] if name != "data.tar" else ""
        if compression not in ("", "xz", "gz", "bz2"):
            raise DebError("%s: %s is compressed in a way Python's tarfile cannot read" % (deb_path, name))
        mode = "r|" + compression if compression else "r|"
        part = destination + ".part"
        try:
            with tarfile.open(fileobj=_Window(handle, offset, size), mode=mode) as archive:
                for entry in archive:
                    if entry.name != member:
                        continue
                    if not entry.isfile():
                        raise DebError("%s in %s is not a regular file" % (member, deb_path))
                    source = archive.extractfile(entry)
                    written = 0
                    with open(part, "wb") as out:
                        while True:
                            chunk = source.read(1 << 20)
                            if not chunk:
                                break
                            out.write(chunk)
                            written += len(chunk)
                    os.chmod(part, 0o644)
                    os.rename(part, destination)
                    return written
        except (tarfile.TarError, EOFError, OSError) as exc:
            if os.path.exists(part):
                os.unlink(part)
            if isinstance(exc, OSError) and not isinstance(exc, EOFError) and exc.errno is not None:
                raise
            raise DebError("%s: cannot read its data archive: %s" % (deb_path, exc)) from None
    raise DebError("%s has no %s" % (deb_path, member))
