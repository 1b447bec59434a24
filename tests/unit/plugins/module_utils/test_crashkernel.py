"""Unit tests of the crashkernel= grammar (module_utils/_crashkernel.py)."""

from __future__ import annotations

import pytest
from ansible_collections.kdump.fleet.plugins.module_utils._crashkernel import (
    RECOMMENDED_RANGES,
    Crashkernel,
    CrashkernelError,
    MemoryRange,
    NotReservable,
    cma_unsupported_reason,
    find_in_cmdline,
    format_size,
    parse,
    parse_size,
    recommended,
    recommended_range,
)
from ansible_collections.kdump.fleet.plugins.module_utils._grubby import parse_info

K, M, G, T = 1 << 10, 1 << 20, 1 << 30, 1 << 40


@pytest.mark.parametrize(
    ("text", "rendered", "kernel_args"),
    [
        ("256M", "256M", ["crashkernel=256M"]),
        ("131072K", "128M", ["crashkernel=128M"]),
        ("268435456", "256M", ["crashkernel=256M"]),
        ("1000", "1000", ["crashkernel=1000"]),
        ("2g", "2G", ["crashkernel=2G"]),
        ("0x10000000", "256M", ["crashkernel=256M"]),
        ("256M@16M", "256M@16M", ["crashkernel=256M@16M"]),
        ("64M@0", "64M@0", ["crashkernel=64M@0"]),
        ("1G-4G:192M,4G-64G:256M,64G-:512M", "1G-4G:192M,4G-64G:256M,64G-:512M", None),
        ("384M-:128M", "384M-:128M", ["crashkernel=384M-:128M"]),
        ("0-2G:0,2G-:256M", "0-2G:0,2G-:256M", None),
        ("512M-2G:64M,2G-:128M@16M", "512M-2G:64M,2G-:128M@16M", None),
        ("1G-2G:128M,4G-8G:256M", "1G-2G:128M,4G-8G:256M", None),  # a gap is allowed
        ("1024M-4096M:192M", "1G-4G:192M", None),
        ("512M,high", "512M,high", ["crashkernel=512M,high"]),
        ("512M,high 128M,low", "512M,high 128M,low", ["crashkernel=512M,high", "crashkernel=128M,low"]),
        ("128M,low   512M,high", "512M,high 128M,low", ["crashkernel=512M,high", "crashkernel=128M,low"]),
        ("crashkernel=384M-:128M", "384M-:128M", ["crashkernel=384M-:128M"]),
        ("  256M \n", "256M", ["crashkernel=256M"]),
    ],
)
def test_parse_accepts_every_documented_form(text, rendered, kernel_args):
    value = parse(text)
    assert value.render() == rendered
    assert value.kernel_args() == (kernel_args or ["crashkernel=" + rendered])
    assert parse(value.render()) == value  # rendering is canonical and round-trips


def test_parse_builds_the_expected_structure():
    assert parse("256M@16M") == Crashkernel(size=256 * M, offset=16 * M)
    assert parse("1G-4G:192M,4G-:256M@16M") == Crashkernel(
        ranges=(MemoryRange(G, 4 * G, 192 * M), MemoryRange(4 * G, None, 256 * M)), offset=16 * M
    )
    assert parse("512M,high 128M,low") == Crashkernel(size=512 * M, high=True, low=128 * M)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "crashkernel value is empty"),
        ("   ", "crashkernel value is empty"),
        ("25X", "invalid crashkernel size '25X' in '25X'"),
        ("1G-4G:25X", "invalid crashkernel size '25X' in '1G-4G:25X'"),
        ("1X-4G:256M", "invalid crashkernel range start '1X' in '1X-4G:256M'"),
        ("1G-4Q:256M", "invalid crashkernel range end '4Q' in '1G-4Q:256M'"),
        ("256M@16Q", "invalid crashkernel offset '16Q' in '256M@16Q'"),
        ("256M@", "missing crashkernel offset after '@' in '256M@'"),
        ("016M", "invalid crashkernel size '016M' in '016M'"),
        ("1.5G", "invalid crashkernel size '1.5G' in '1.5G'"),
        ("abc", "invalid crashkernel size 'abc' in 'abc'"),
        ("256M-", "invalid crashkernel size '256M-' in '256M-'"),
        ("0", "crashkernel size is 0 in '0'; use state=absent to remove it"),
        ("4G-1G:128M", "crashkernel range '4G-1G:128M' in '4G-1G:128M' must start below its end"),
        ("2G-2G:128M", "crashkernel range '2G-2G:128M' in '2G-2G:128M' must start below its end"),
        (
            "1G-4G:128M,2G-8G:256M",
            "crashkernel range '2G-8G:256M' in '1G-4G:128M,2G-8G:256M' overlaps or comes before the range before it",
        ),
        (
            "4G-8G:256M,1G-2G:128M",
            "crashkernel range '1G-2G:128M' in '4G-8G:256M,1G-2G:128M' overlaps or comes before the range before it",
        ),
        (
            "1G-:128M,4G-:256M",
            "crashkernel range '4G-:256M' in '1G-:128M,4G-:256M' overlaps or comes before the range before it",
        ),
        ("1G-4G:128M,", "empty range in crashkernel value '1G-4G:128M,'"),
        (",1G-4G:128M", "empty range in crashkernel value ',1G-4G:128M'"),
        (":256M", "invalid crashkernel range ':256M' in ':256M' (expected start-[end]:size)"),
        ("1G-4G:", "invalid crashkernel range '1G-4G:' in '1G-4G:' (expected start-[end]:size)"),
        ("1G:256M", "invalid crashkernel range '1G:256M' in '1G:256M' (expected start-[end]:size)"),
        ("128M,low", "crashkernel ',low' in '128M,low' needs a ',high' part"),
        ("256M 128M,low", "crashkernel ',low' in '256M 128M,low' needs a ',high' part"),
        ("512M,high 256M,high", "crashkernel ',high' given twice in '512M,high 256M,high'"),
        (
            "512M,high 128M,low 64M",
            "crashkernel '512M,high 128M,low 64M' mixes a plain value with ',high'; use one form",
        ),
        ("256M 512M", "crashkernel '256M 512M' has two plain values; give one"),
        ("512M,high 256M", "crashkernel '512M,high 256M' mixes a plain value with ',high'; use one form"),
        (
            "512M@16M,high",
            "crashkernel ',high' takes a plain size (no ranges or offset): '512M@16M' in '512M@16M,high'",
        ),
        (
            "1G-:512M,high",
            "crashkernel ',high' takes a plain size (no ranges or offset): '1G-:512M' in '1G-:512M,high'",
        ),
        ("0,high", "crashkernel ',high' size is 0 in '0,high'"),
        ("256M,medium", "invalid crashkernel size '256M,medium' in '256M,medium'"),
        ("auto", "crashkernel 'auto' in 'auto' only worked on RHEL 7/8 kernels"),
    ],
)
def test_parse_rejects_with_a_message_quoting_the_bad_part(text, message):
    with pytest.raises(CrashkernelError) as raised:
        parse(text)
    assert str(raised.value).startswith(message)


def test_crashkernel_error_is_a_value_error():
    assert issubclass(CrashkernelError, ValueError)


@pytest.mark.parametrize(
    ("memory", "expected"),
    [
        (512 * M, 0),  # below the first range: nothing reserved
        (G - 128 * M, 0),
        (G - 1, 192 * M),  # the kernel rounds RAM up to 128M before comparing
        (G, 192 * M),  # start is inclusive
        (2 * G, 192 * M),
        (4 * G - 128 * M, 192 * M),
        (4 * G - 1, 256 * M),  # end is exclusive, after rounding
        (4 * G, 256 * M),
        (24 * G, 256 * M),
        (64 * G - 128 * M, 256 * M),
        (64 * G - 1, 512 * M),
        (64 * G, 512 * M),
        (4 * T, 512 * M),  # open end
    ],
)
def test_size_for_compares_ranges_like_the_kernel(memory, expected):
    assert parse("1G-4G:192M,4G-64G:256M,64G-:512M").size_for(memory) == expected


def test_size_for_gaps_plain_and_high_low():
    gapped = parse("1G-2G:128M,4G-8G:256M")
    assert gapped.size_for(3 * G) == 0
    assert gapped.size_for(5 * G) == 256 * M
    assert parse("256M@16M").size_for(2 * G) == 256 * M
    assert parse("512M,high 128M,low").size_for(8 * G) == 640 * M
    assert parse("512M,high").size_for(8 * G) == 512 * M


def test_size_for_is_zero_when_the_reservation_does_not_fit_in_memory():
    # The kernel rejects a range size not below system RAM and cannot reserve a size
    # larger than memory; both end with nothing reserved.
    assert parse("0-:2G").size_for(2 * G) == 0
    assert parse("0-1G:4G,1G-:128M").size_for(2 * G) == 0
    assert parse("4G").size_for(2 * G) == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("4096", 4096),
        ("4k", 4 * K),
        ("256M", 256 * M),
        ("2G", 2 * G),
        ("1T", T),
        ("0x1000", 4096),
        ("0X10M", 16 * M),
        ("2p", 2 << 50),  # memparse also takes P and E
        ("15E", 15 << 60),
        ("0xffffffffffffffff", (1 << 64) - 1),  # the largest unsigned long long
    ],
)
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "M", "12Q", "1.5G", "-1G", "012", "0x", "1 G", "1G\n1G"])
def test_parse_size_rejects(text):
    with pytest.raises(CrashkernelError, match="invalid size"):
        parse_size(text)


@pytest.mark.parametrize(
    ("nbytes", "text"),
    [(0, "0"), (1000, "1000"), (4 * K, "4K"), (1536 * M, "1536M"), (2 * G, "2G"), (3 * T, "3T"), (G + K, "1048577K")],
)
def test_format_size_uses_the_largest_exact_unit(nbytes, text):
    assert format_size(nbytes) == text
    assert parse_size(text) == nbytes


@pytest.mark.parametrize(
    ("memory", "arch", "size"),
    [
        (512 * M, "x86_64", "192M"),  # below the table: smallest entry
        (G, "x86_64", "192M"),
        (2 * G, "x86_64", "192M"),
        (4 * G - 128 * M, "x86_64", "192M"),
        (4 * G - 1, "x86_64", "256M"),  # a 4G host reads a little under 4G; the kernel rounds it up
        (4 * G, "x86_64", "256M"),
        (64 * G - 128 * M, "x86_64", "256M"),
        (64 * G, "x86_64", "512M"),
        (2 * T, "x86_64", "512M"),
        (2 * G, "amd64", "192M"),
        (8 * G, "s390x", "256M"),
        (2 * G, "aarch64", "256M"),
        (16 * G, "arm64", "320M"),
        (128 * G, "aarch64", "576M"),
        (G, "ppc64le", "384M"),
        (3 * G, "ppc64le", "384M"),
        (4 * G, "ppc64le", "512M"),
        (16 * G, "ppc64le", "1G"),
        (64 * G, "ppc64el", "2G"),
        (128 * G, "ppc64le", "4G"),
    ],
)
def test_recommended_table_boundaries(memory, arch, size):
    assert recommended(memory, arch) == size


def test_recommended_range_and_unknown_arch():
    assert recommended_range() == "1G-4G:192M,4G-64G:256M,64G-:512M"
    assert recommended_range("arm64") == RECOMMENDED_RANGES["aarch64"]
    for table in RECOMMENDED_RANGES.values():
        assert parse(table).render() == table  # every table entry is valid grammar
    with pytest.raises(CrashkernelError, match="no recommended crashkernel for architecture 'riscv64'"):
        recommended(4 * G, "riscv64")


@pytest.mark.parametrize("fixture", ["rocky-9.1-info-all.txt", "almalinux-9.4-info-all.txt"])
def test_recommended_range_matches_what_real_el9_installs_carry(load_fixture, fixture):
    # Anaconda writes `kdumpctl get-default-crashkernel` into every entry on EL9.
    values = {entry.crashkernel for entry in parse_info(load_fixture("grubby", fixture))}
    assert values == {recommended_range("x86_64")}


@pytest.mark.parametrize(
    ("cmdline", "expected"),
    [
        ("BOOT_IMAGE=/vmlinuz-6.1.0-28-amd64 root=UUID=1 ro quiet", None),
        ("", None),
        ("BOOT_IMAGE=/vmlinuz ro quiet crashkernel=384M-:128M", "384M-:128M"),
        ("ro crashkernel=512M,high crashkernel=128M,low quiet\n", "512M,high 128M,low"),
        ("ro xcrashkernel=1G foo.crashkernel=2G", None),
    ],
)
def test_find_in_cmdline(cmdline, expected):
    assert find_in_cmdline(cmdline) == expected


def test_find_in_cmdline_on_a_real_proc_cmdline(load_fixture):
    # Recorded on the Firecracker development VM, which boots without crashkernel=.
    assert find_in_cmdline(load_fixture("proc", "debian12-firecracker/cmdline")) is None


def test_ubuntu_26_04_default_range_from_a_real_cmdline(load_fixture):
    # Ubuntu Server docs: a 3 GB machine booted with Ubuntu's default range reserved 320 MB.
    value = find_in_cmdline(load_fixture("proc", "ubuntu-docs-26.04/cmdline"))
    assert value == "2G-4G:320M,4G-32G:512M,32G-64G:1024M,64G-128G:2048M,128G-:4096M"
    parsed = parse(value)
    assert parsed.render() == "2G-4G:320M,4G-32G:512M,32G-64G:1G,64G-128G:2G,128G-:4G"
    assert parsed.size_for(3 * G) == 320 * M
    assert parsed.size_for(G) == 0


# -- reservation(): values that reserve nothing on a host (issue 12 class 4) ----------------


@pytest.mark.parametrize(
    ("text", "memory", "regions", "message"),
    [
        ("1G-4G:0", 2 * G, None, "value=1G-4G:0 reserves 0 bytes on this host (RAM 2 GiB): the matching range"),
        ("4G-:256M", 2 * G, None, "(RAM 2 GiB): no range covers it (the kernel compares the ranges with RAM"),
        ("1G-2G:128M,4G-8G:256M", 3 * G, None, "(RAM 3 GiB): no range covers it"),
        ("0-1G:4G,1G-:128M", 2 * G, None, "the range 0-1G:4G asks for 4G, not below RAM"),
        ("2G", 2 * G, None, "value=2G reserves 0 bytes on this host (RAM 2 GiB): 2G is not below RAM"),
        ("1G-:1950M", 1930 * M, None, "(RAM 1.9 GiB): 1950M is not below RAM"),  # below rounded RAM, not RAM
        ("3G,high", 2 * G, None, "3G is not below RAM"),
        ("1G,high 1G,low", 2 * G, None, "1G,high plus 1G,low is not below RAM"),
        ("512M,high 4G,low", 24 * G, None, "the ,low area 4G must fit below 4G"),
        ("256M@3G", 2 * G, [(0, 2 * G - 1)], "256M at @3G is not inside one System RAM region"),
        ("256M@3968M", 24 * G, [(0x100000, 0xBFFFFFFF), (4 * G, 25 * G - 1)], "not inside one System RAM"),
        ("512M", 300 * M, None, "(RAM 300 MiB): 512M is not below RAM"),
    ],
)
def test_reservation_refuses_what_the_kernel_would_not_reserve(text, memory, regions, message):
    value = parse(text)
    with pytest.raises(NotReservable) as raised:
        value.reservation(memory, regions)
    assert message in str(raised.value)
    assert value.size_for(memory) == 0 or regions is not None


@pytest.mark.parametrize(
    ("text", "memory", "regions", "expected"),
    [
        ("256M@16M", 2 * G, [(0, 2 * G - 1)], 256 * M),
        ("64M@0", 2 * G, [(G, 2 * G - 1)], 64 * M),  # @0: the kernel chooses, like no offset
        ("256M@30G", 24 * G, None, 256 * M),  # without the layout the offset is not checked
        ("256M@5G", 24 * G, [(0x100000, 0xBFFFFFFF), (4 * G, 25 * G - 1)], 256 * M),
        ("0-2G:0,2G-:256M", 24 * G, None, 256 * M),  # a 0 in a range that does not match is fine
        ("512M,high 128M,low", 2 * G, None, 640 * M),
    ],
)
def test_reservation_of_values_that_fit(text, memory, regions, expected):
    assert parse(text).reservation(memory, regions) == expected


def test_not_reservable_is_a_crashkernel_error():
    assert issubclass(NotReservable, CrashkernelError)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("16E", "crashkernel size '16E' in '16E' is past the kernel's limit of 16E - 1 bytes"),  # wraps to 0
        ("17179869184G", "crashkernel size '17179869184G' in '17179869184G' is past the kernel's limit"),
        ("1G-16E:256M", "crashkernel range end '16E' in '1G-16E:256M' is past"),
        ("99999999999999999999-:256M", "crashkernel range start '99999999999999999999' in"),
        ("256M@16E", "crashkernel offset '16E' in '256M@16E' is past"),
        ("16E,high", "crashkernel size '16E' in '16E,high' is past"),
    ],
)
def test_sizes_past_the_kernels_parser_range_are_refused(text, message):
    with pytest.raises(CrashkernelError) as raised:
        parse(text)
    assert str(raised.value).startswith(message)


def test_p_and_e_suffixes_parse_and_render():
    assert parse("1G-2P:256M,2P-:1G").render() == "1G-2P:256M,2P-:1G"
    assert parse("1e-:1g").render() == "1E-:1G"
    assert format_size(1 << 50) == "1P"


# -- crashkernel=Y,cma (Linux 6.16, kernel/crash_reserve.c) ---------------------------------------------


@pytest.mark.parametrize(
    "text, rendered, kernel_args, expected",
    [
        ("256M 1G,cma", "256M 1G,cma", ["crashkernel=256M", "crashkernel=1G,cma"], Crashkernel(size=256 * M, cma=G)),
        ("1G,cma 256M", "256M 1G,cma", ["crashkernel=256M", "crashkernel=1G,cma"], Crashkernel(size=256 * M, cma=G)),
        (
            "1G-4G:192M,4G-:256M 512M,cma",
            "1G-4G:192M,4G-:256M 512M,cma",
            ["crashkernel=1G-4G:192M,4G-:256M", "crashkernel=512M,cma"],
            Crashkernel(ranges=parse("1G-4G:192M,4G-:256M").ranges, cma=512 * M),
        ),
        (
            "crashkernel=512M,high crashkernel=128M,low crashkernel=1G,cma",
            "512M,high 128M,low 1G,cma",
            ["crashkernel=512M,high", "crashkernel=128M,low", "crashkernel=1G,cma"],
            Crashkernel(size=512 * M, high=True, low=128 * M, cma=G),
        ),
    ],
)
def test_cma_part_parses_after_either_standard_form(text, rendered, kernel_args, expected):
    value = parse(text)
    assert value == expected
    assert value.render() == rendered
    assert value.kernel_args() == kernel_args
    assert parse(value.render()) == value


@pytest.mark.parametrize(
    "text, message",
    [
        ("1G,cma", "crashkernel ',cma' in '1G,cma' needs a standard reservation too (e.g. '256M 1G,cma')"),
        ("256M 1G,cma 512M,cma", "crashkernel ',cma' given twice in '256M 1G,cma 512M,cma'"),
        ("256M 1G@16M,cma", "crashkernel ',cma' takes a plain size (no ranges or offset): '1G@16M'"),
        ("256M 1G-:512M,cma", "crashkernel ',cma' takes a plain size (no ranges or offset): '1G-:512M'"),
        ("256M 0,cma", "crashkernel ',cma' size is 0 in '256M 0,cma'"),
        ("512M,high 128M,low 1G,cma 64M", "has 4 parts; at most three ('X,high Y,low Z,cma')"),
        ("128M,low 1G,cma", "crashkernel ',low' in '128M,low 1G,cma' needs a ',high' part"),
    ],
)
def test_cma_part_refusals_quote_the_value(text, message):
    with pytest.raises(CrashkernelError) as caught:
        parse(text)
    assert message in str(caught.value)


def test_cma_area_is_not_counted_as_the_capture_kernels_reservation():
    # The CMA area is extra memory: the standard part alone must hold the capture kernel.
    assert parse("256M 1G,cma").reservation(8 * G) == 256 * M
    assert parse("512M,high 128M,low 1G,cma").reservation(8 * G) == 640 * M
    with pytest.raises(NotReservable, match="reserves only 32M on this host"):
        parse("32M 1G,cma").reservation(8 * G)


def test_cma_area_and_standard_part_together_must_stay_below_ram():
    with pytest.raises(NotReservable) as caught:
        parse("256M 2G,cma").reservation(2 * G)
    assert "256M reserved plus the 2G,cma area is not below RAM; use a smaller ,cma size" in str(caught.value)
    assert parse("256M 1G,cma").reservation(2 * G) == 256 * M


@pytest.mark.parametrize(
    "release, arch, reason",
    [
        ("6.16.0-1-amd64", "x86_64", None),
        ("6.17.7+deb14-amd64", "amd64", None),
        ("7.0.0", "ppc64le", None),
        ("6.12.48+deb13-amd64", "x86_64", "kernel 6.12.48+deb13-amd64 is older than 6.16, which added"),
        ("6.1.0-28-amd64", "x86_64", "kernel 6.1.0-28-amd64 is older than 6.16"),
        ("5.14.0-570.el9.x86_64", "x86_64", "is older than 6.16"),
        ("6.16.0", "aarch64", "documents crashkernel=Y,cma for x86_64, ppc64le, ppc64 only, not aarch64"),
        ("6.16.0", "arm64", "not aarch64"),
        ("", "x86_64", "the kernel release '' does not say its version"),
    ],
)
def test_cma_unsupported_reason_by_kernel_release_and_arch(release, arch, reason):
    found = cma_unsupported_reason(release, arch)
    if reason is None:
        assert found is None
    else:
        assert reason in found
