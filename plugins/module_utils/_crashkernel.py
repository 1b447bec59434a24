# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The crashkernel= grammar: parse, validate, evaluate, render (private to the collection)."""

from __future__ import annotations

import re
from typing import List, NamedTuple, Optional, Sequence, Tuple

# Suffixes the kernel's memparse() (lib/cmdline.c) takes, case-insensitive: K M G T P E.
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50, "E": 1 << 60}
# memparse() returns an unsigned long long: digits and suffix shifts past this wrap silently
# (16E is 0, 17E is 1E), so a larger number would mean something else to the kernel.
MAX_BYTES = (1 << 64) - 1
# parse_crashkernel_mem() rounds system RAM up to this before comparing it with the ranges
# (firmware keeps some memory, so RAM reads a little under the installed size).
RANGE_ROUNDING = 128 << 20
# No capture kernel boots in less (a compressed x86_64 kernel plus its initrd alone is about 40M); the
# smallest size a distribution's table gives is 128M (Debian's 384M-:128M).
MIN_CAPTURE_BYTES = 64 << 20
# The ,low area (and the kernel's default one) must be found below 4G (CRASH_ADDR_LOW_MAX).
LOW_LIMIT = 4 << 30
# crashkernel=X,cma (Linux 6.16, kernel/crash_reserve.c): extra memory for the capture kernel taken from
# CMA, which the first kernel keeps using for movable pages. kernel-parameters.txt documents it for x86 and
# ppc; older kernels and other arches ignore the word with a warning, so the role refuses it there.
CMA_SINCE = (6, 16)
CMA_ARCHES = ("x86_64", "ppc64le", "ppc64")
# A leading 0 means octal to the kernel's memparse(); refuse it rather than guess.
_SIZE_RE = re.compile(r"^(0[xX][0-9a-fA-F]+|0|[1-9][0-9]*)([A-Za-z]?)$")
_PREFIX = "crashkernel="

# What `kdumpctl get-default-crashkernel` answers on EL9 (kexec-tools / kdump-utils
# kdump-lib.sh, kdump_get_arch_recommend_crashkernel, before the 2025 change that moved
# the lowest boundary to 2G for Fedora 42+/EL10). Arch aliases map dpkg names.
RECOMMENDED_RANGES = {
    "x86_64": "1G-4G:192M,4G-64G:256M,64G-:512M",
    "s390x": "1G-4G:192M,4G-64G:256M,64G-:512M",
    "aarch64": "1G-4G:256M,4G-64G:320M,64G-:576M",
    "ppc64le": "2G-4G:384M,4G-16G:512M,16G-64G:1G,64G-128G:2G,128G-:4G",
}
_ARCH_ALIASES = {"amd64": "x86_64", "arm64": "aarch64", "ppc64el": "ppc64le"}


class CrashkernelError(ValueError):
    """A crashkernel value that the kernel would not accept (or that we refuse)."""


class SizeOverflow(CrashkernelError):
    """A size of 16E or more, which the kernel's memparse() would wrap around."""


class NotReservable(CrashkernelError):
    """A valid crashkernel value that reserves nothing on a given host (or that the kernel refuses there)."""


class MemoryRange(NamedTuple):
    """One ``start-[end]:size`` entry; ``end`` None means open-ended."""

    start: int
    end: Optional[int]
    size: int


class Crashkernel(NamedTuple):
    """A parsed crashkernel value; equal values render to the same canonical text.

    Exactly one of ``size`` (plain or ``,high``) and ``ranges`` is set.
    ``low`` is only set together with ``high``. ``cma`` (``Y,cma``) comes on top of either form:
    the standard reservation still has to hold the capture kernel and its initrd.
    """

    size: Optional[int] = None
    ranges: Tuple[MemoryRange, ...] = ()
    offset: Optional[int] = None
    high: bool = False
    low: Optional[int] = None
    cma: Optional[int] = None

    def size_for(self, memory_bytes: int) -> int:
        """Bytes reserved on a host with ``memory_bytes`` of RAM; 0 when nothing would be.

        See reservation(), which says why a value reserves nothing.
        """
        try:
            return self.reservation(memory_bytes)
        except NotReservable:
            return 0

    def reservation(self, memory_bytes: int, ram_regions: Optional[Sequence[Tuple[int, int]]] = None) -> int:
        """Bytes reserved on a host with ``memory_bytes`` of RAM, or NotReservable saying why none.

        Mirrors the kernel (parse_crashkernel() in kernel/crash_reserve.c, kernel/crash_core.c
        before 6.9): ranges are compared against system RAM rounded up to 128M, start
        inclusive, end exclusive, first match wins; every range up to the match must ask for
        less than that rounded RAM or the whole value is invalid; a range list where no range
        matches, or the matching range gives 0, reserves nothing; the size chosen must be below
        RAM itself. ``X,high Y,low`` reserves both, so together they must be below RAM, and the
        low part must fit below 4G. A ``,low`` size is added to the ``,high`` one; without
        ``,low`` the kernel adds an arch-dependent default low area that is not counted here.
        A ``,cma`` area is not counted either (it is CMA memory the first kernel keeps using), but the
        standard part plus it must stay below RAM.
        With ``ram_regions`` (inclusive (start, end) of the System RAM regions) an ``@offset``
        other than 0 must put the whole area inside one region (``@0`` lets the kernel choose).
        """
        ram = describe_bytes(memory_bytes)

        def refuse(reason, fix):
            return NotReservable(
                "value={0} reserves 0 bytes on this host (RAM {1}): {2}; {3}".format(self.render(), ram, reason, fix)
            )

        if self.ranges:
            rounded = -(-memory_bytes // RANGE_ROUNDING) * RANGE_ROUNDING
            size = None
            for entry in self.ranges:
                if entry.size >= rounded:
                    raise refuse(
                        "the range {0} asks for {1}, not below RAM, so the kernel rejects the whole value".format(
                            _range_text(entry), format_size(entry.size)
                        ),
                        "give every range a size below the RAM of the hosts it covers",
                    )
                if entry.start <= rounded and (entry.end is None or rounded < entry.end):
                    size = entry.size
                    matched = entry
                    break
            if size is None:
                raise refuse(
                    "no range covers it (the kernel compares the ranges with RAM rounded up to 128M, {0})".format(
                        format_size(rounded)
                    ),
                    "add a range that covers {0}, or use 'recommended'".format(format_size(rounded)),
                )
            if size == 0:
                raise refuse(
                    "the matching range {0} gives 0".format(_range_text(matched)),
                    "give that range a size such as 192M, or use state=absent to remove the reservation",
                )
        else:
            size = self.size or 0
        total = size + (self.low or 0)
        if size >= memory_bytes or total >= memory_bytes:
            what = (
                format_size(size)
                if self.low is None
                else "{0},high plus {1},low".format(format_size(size), format_size(self.low))
            )
            raise refuse(
                "{0} is not below RAM, so the kernel refuses it".format(what),
                "use a smaller size, or 'recommended'",
            )
        if size < MIN_CAPTURE_BYTES:
            raise NotReservable(
                "value={0} reserves only {1} on this host (RAM {2}): no capture kernel fits in less than {3}; "
                "use 'recommended' or a size such as 256M".format(
                    self.render(), format_size(size), ram, format_size(MIN_CAPTURE_BYTES)
                )
            )
        if self.low is not None and self.low >= LOW_LIMIT:
            raise refuse(
                "the ,low area {0} must fit below 4G".format(format_size(self.low)),
                "use a ,low size such as 128M or 256M",
            )
        if self.cma is not None and total + self.cma >= memory_bytes:
            raise refuse(
                "{0} reserved plus the {1},cma area is not below RAM".format(format_size(total), format_size(self.cma)),
                "use a smaller ,cma size",
            )
        if self.offset and ram_regions is not None:
            end = self.offset + size - 1
            if not any(start <= self.offset and end <= last for start, last in ram_regions):
                raise refuse(
                    "{0} at @{1} is not inside one System RAM region".format(
                        format_size(size), format_size(self.offset)
                    ),
                    "drop the @offset so that the kernel chooses the place, or use an offset inside System RAM",
                )
        return total

    def render(self) -> str:
        """Canonical value text, e.g. ``1G-4G:192M,4G-:256M`` or ``512M,high 128M,low``."""
        text = ",".join(_range_text(r) for r in self.ranges) if self.ranges else format_size(self.size or 0)
        if self.offset is not None:
            text += "@" + format_size(self.offset)
        if self.high:
            text += ",high"
            if self.low is not None:
                text += " {0},low".format(format_size(self.low))
        if self.cma is not None:
            text += " {0},cma".format(format_size(self.cma))
        return text

    def kernel_args(self) -> List[str]:
        """The kernel command line words, e.g. ``['crashkernel=512M,high', 'crashkernel=128M,low']``."""
        return [_PREFIX + part for part in self.render().split()]


def parse_size(text: str) -> int:
    """Bytes in a memparse-style size: ``256M``, ``1G``, ``0x1000000``, ``4096`` (bytes).

    Suffixes K, M, G, T, P, E (any case). A number of 16E or more is refused: the kernel's
    memparse() would wrap it around to a different, smaller size.
    """
    match = _SIZE_RE.fullmatch(text.strip())
    if not match or match.group(2).upper() not in _UNITS:
        raise CrashkernelError("invalid size '{0}' (use a number with K, M, G, T, P or E)".format(text))
    nbytes = int(match.group(1), 0) * _UNITS[match.group(2).upper()]
    if nbytes > MAX_BYTES:
        raise SizeOverflow(
            "size '{0}' is past the kernel's limit of 16E - 1 bytes (memparse would wrap it)".format(text)
        )
    return nbytes


def describe_bytes(nbytes: int) -> str:
    """Human text for a memory size in messages: ``2 GiB``, ``23.5 GiB``, ``512 MiB``."""
    gib, mib = 1 << 30, 1 << 20
    if nbytes >= gib:
        return "{0} GiB".format(nbytes // gib) if nbytes % gib == 0 else "{0:.1f} GiB".format(nbytes / gib)
    return "{0} MiB".format(nbytes // mib) if nbytes % mib == 0 else "{0:.1f} MiB".format(nbytes / mib)


def _range_text(entry: MemoryRange) -> str:
    return "{0}-{1}:{2}".format(
        format_size(entry.start), "" if entry.end is None else format_size(entry.end), format_size(entry.size)
    )


def format_size(nbytes: int) -> str:
    """The shortest exact text for ``nbytes``: ``268435456`` -> ``256M``, ``1536M`` stays."""
    for suffix in ("E", "P", "T", "G", "M", "K"):
        unit = _UNITS[suffix]
        if nbytes and nbytes % unit == 0:
            return "{0}{1}".format(nbytes // unit, suffix)
    return str(nbytes)


def _size(text: str, what: str, whole: str) -> int:
    try:
        return parse_size(text)
    except SizeOverflow:
        raise CrashkernelError(
            "crashkernel {0} '{1}' in '{2}' is past the kernel's limit of 16E - 1 bytes (the kernel's memparse "
            "would wrap it to a different size)".format(what, text, whole)
        ) from None
    except CrashkernelError:
        raise CrashkernelError("invalid crashkernel {0} '{1}' in '{2}'".format(what, text, whole)) from None


def _parse_ranges(body: str, whole: str) -> Tuple[MemoryRange, ...]:
    ranges = []
    for entry in body.split(","):
        if not entry:
            raise CrashkernelError("empty range in crashkernel value '{0}'".format(whole))
        bounds, colon, size_text = entry.partition(":")
        start_text, dash, end_text = bounds.partition("-")
        if not colon or not dash or not size_text:
            raise CrashkernelError(
                "invalid crashkernel range '{0}' in '{1}' (expected start-[end]:size)".format(entry, whole)
            )
        start = _size(start_text, "range start", whole)
        end = _size(end_text, "range end", whole) if end_text else None
        size = _size(size_text, "size", whole)
        if end is not None and start >= end:
            raise CrashkernelError("crashkernel range '{0}' in '{1}' must start below its end".format(entry, whole))
        if ranges:
            previous = ranges[-1]
            if previous.end is None or start < previous.end:
                raise CrashkernelError(
                    "crashkernel range '{0}' in '{1}' overlaps or comes before the range before it".format(entry, whole)
                )
        ranges.append(MemoryRange(start, end, size))
    return tuple(ranges)


def _parse_plain(part: str, whole: str) -> Crashkernel:
    body, at, offset_text = part.partition("@")
    if at and not offset_text:
        raise CrashkernelError("missing crashkernel offset after '@' in '{0}'".format(whole))
    offset = _size(offset_text, "offset", whole) if at else None
    if ":" in body:
        return Crashkernel(ranges=_parse_ranges(body, whole), offset=offset)
    if "-" in body or "," in body:
        raise CrashkernelError("invalid crashkernel size '{0}' in '{1}'".format(body, whole))
    size = _size(body, "size", whole)
    if size == 0:
        raise CrashkernelError("crashkernel size is 0 in '{0}'; use state=absent to remove it".format(whole))
    return Crashkernel(size=size, offset=offset)


def _parse_suffixed(body: str, suffix: str, whole: str) -> int:
    if "@" in body or ":" in body or "," in body:
        raise CrashkernelError(
            "crashkernel ',{0}' takes a plain size (no ranges or offset): '{1}' in '{2}'".format(suffix, body, whole)
        )
    size = _size(body, "size", whole)
    if size == 0:
        raise CrashkernelError("crashkernel ',{0}' size is 0 in '{1}'".format(suffix, whole))
    return size


def parse(text: str) -> Crashkernel:
    """Parse a crashkernel value (the part after ``crashkernel=``) or raise CrashkernelError.

    Accepts ``256M``, ``256M@16M``, ``1G-4G:192M,4G-:256M[@offset]``, ``512M,high`` and
    ``512M,high 128M,low`` (two whitespace-separated parts), each optionally followed by a
    ``Y,cma`` part (Linux 6.16+, see cma_unsupported_reason()). A leading ``crashkernel=`` on
    a part is tolerated.
    """
    if text is None or not str(text).strip():
        raise CrashkernelError("crashkernel value is empty")
    whole = " ".join(str(text).split())
    parts = [p[len(_PREFIX) :] if p.startswith(_PREFIX) else p for p in whole.split()]
    if len(parts) > 3:
        raise CrashkernelError(
            "crashkernel value '{0}' has {1} parts; at most three ('X,high Y,low Z,cma')".format(whole, len(parts))
        )
    if any(p.lower() == "auto" for p in parts):
        raise CrashkernelError(
            "crashkernel 'auto' in '{0}' only worked on RHEL 7/8 kernels; use a size, 'recommended' "
            "or (EL9+) 'default'".format(whole)
        )
    high = low = cma = None
    plain = []
    for part in parts:
        if part.endswith(",cma"):
            if cma is not None:
                raise CrashkernelError("crashkernel ',cma' given twice in '{0}'".format(whole))
            cma = _parse_suffixed(part[: -len(",cma")], "cma", whole)
        elif part.endswith(",high"):
            if high is not None:
                raise CrashkernelError("crashkernel ',high' given twice in '{0}'".format(whole))
            high = _parse_suffixed(part[: -len(",high")], "high", whole)
        elif part.endswith(",low"):
            if low is not None:
                raise CrashkernelError("crashkernel ',low' given twice in '{0}'".format(whole))
            low = _parse_suffixed(part[: -len(",low")], "low", whole)
        else:
            plain.append(part)
    if low is not None and high is None:
        raise CrashkernelError("crashkernel ',low' in '{0}' needs a ',high' part".format(whole))
    if cma is not None and high is None and not plain:
        raise CrashkernelError(
            "crashkernel ',cma' in '{0}' needs a standard reservation too (e.g. '256M {1},cma'): the CMA area "
            "cannot hold the capture kernel and its initrd".format(whole, format_size(cma))
        )
    if plain and high is not None:
        raise CrashkernelError("crashkernel '{0}' mixes a plain value with ',high'; use one form".format(whole))
    if len(plain) > 1:
        raise CrashkernelError("crashkernel '{0}' has two plain values; give one".format(whole))
    if high is not None:
        return Crashkernel(size=high, high=True, low=low, cma=cma)
    return _parse_plain(plain[0], whole)._replace(cma=cma)


def cma_unsupported_reason(release: str, arch: str) -> Optional[str]:
    """Why a kernel ``release`` on ``arch`` would ignore ``,cma``; None when it takes it."""
    arch = _ARCH_ALIASES.get(arch, arch)
    match = re.match(r"^(\d+)\.(\d+)", release or "")
    if not match:
        return "the kernel release {0!r} does not say its version".format(release)
    if (int(match.group(1)), int(match.group(2))) < CMA_SINCE:
        return "kernel {0} is older than {1}.{2}, which added crashkernel=Y,cma".format(release, *CMA_SINCE)
    if arch not in CMA_ARCHES:
        return "the kernel documents crashkernel=Y,cma for {0} only, not {1}".format(", ".join(CMA_ARCHES), arch)
    return None


def find_in_cmdline(cmdline: str) -> Optional[str]:
    """The crashkernel value(s) on a kernel command line, space-joined; None when absent."""
    values = [word[len(_PREFIX) :] for word in (cmdline or "").split() if word.startswith(_PREFIX)]
    return " ".join(values) if values else None


def recommended_range(arch: str = "x86_64") -> str:
    """The EL9 default range string for ``arch`` (see RECOMMENDED_RANGES)."""
    key = _ARCH_ALIASES.get(arch, arch)
    if key not in RECOMMENDED_RANGES:
        raise CrashkernelError(
            "no recommended crashkernel for architecture '{0}'; known: {1}; set an explicit size".format(
                arch, ", ".join(sorted(RECOMMENDED_RANGES))
            )
        )
    return RECOMMENDED_RANGES[key]


def recommended(memory_bytes: int, arch: str = "x86_64") -> str:
    """The size the EL9 default table gives a host with ``memory_bytes`` of RAM.

    x86_64/s390x: below 4G 192M, 4G-64G 256M, 64G and more 512M.
    aarch64: 256M / 320M / 576M at the same boundaries.
    ppc64le: 2G-4G 384M, 4G-16G 512M, 16G-64G 1G, 64G-128G 2G, from 128G 4G.
    Below the lowest boundary (where kdumpctl would reserve nothing) the smallest
    entry is returned, so a small host still gets a usable reservation.
    """
    table = parse(recommended_range(arch))
    size = table.size_for(memory_bytes)
    if size == 0:
        size = min(entry.size for entry in table.ranges)
    return format_size(size)
