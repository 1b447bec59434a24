# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""First-look analysis of a vmcore with crash(8): where the symbols are, what to run, what it said.

Pure functions, private to the collection: the module kdump.fleet.crash_analysis runs crash(8) on the
analysis host with ``script()`` (each command's output redirected to a file of its own, so no output
has to be told apart from another), and ``analysis()`` turns those files into the record and the
one-paragraph summary the dump inventory shows.
"""

from __future__ import annotations

import re
import struct

from ansible_collections.kdump.fleet.plugins.module_utils._dump_inventory import parse_kernel_log

# name -> crash(8) command. ``sys`` gives the panic string, uptime, load and release; ``bt`` the
# panicking task (crash selects it in a dump); ``log`` the kernel ring buffer; ``mod -t`` the
# modules that taint the kernel.
COMMANDS = (
    ("sys", "sys"),
    ("bt", "bt"),
    ("log", "log"),
    ("tainted_modules", "mod -t"),
)

# Result statuses of one dump.
ANALYSED = "analysed"
NO_SYMBOLS = "no_symbols"  # the distribution has no debug symbols for the dump's kernel (not a tool failure)
SYMBOLS_MISMATCH = "symbols_mismatch"
UNREADABLE = "unreadable"
FAILED = "failed"
TIMED_OUT = "timed_out"
OUT_OF_MEMORY = "out_of_memory"

_SYS_LINE = re.compile(r"^\s*([A-Z][A-Z ]*[A-Z]):\s?(.*)$")
_BT_HEADER = re.compile(
    r"^PID:\s*(?P<pid>\d+)\s+TASK:\s*(?P<task>[0-9a-f]+)\s+CPU:\s*(?P<cpu>\d+)\s+COMMAND:\s*\"(?P<command>.*)\""
)
_BT_FRAME = re.compile(r"^\s*#(?P<n>\d+)\s+\[[0-9a-f]+\]\s+(?P<function>[A-Za-z0-9_.$]+)\s+at\s+(?P<address>[0-9a-f]+)")
_MOD_T_LINE = re.compile(r"^(?P<name>[A-Za-z0-9_-]+)\s+(?P<taints>[A-Z]+)$")
# A kernel release as it appears in package names and file names: no path separators, no spaces.
_RELEASE = re.compile(r"^[0-9][A-Za-z0-9._+~-]*$")
# The functions a panic passes through on its way to kexec: the summary names the first frame below them.
_PANIC_PATH = frozenset(
    (
        "machine_kexec",
        "__crash_kexec",
        "crash_kexec",
        "panic",
        "vpanic",
        "oops_end",
        "die",
        "__die",
        "no_context",
        "page_fault_oops",
        "kernel_fault",
    )
)


# How each family names its kernels (uname -r): 6.1.0-50-amd64 / 6.12.57+deb13-amd64 (Debian),
# 5.14.0-427.13.1.el9_4.x86_64 / 6.11.4-301.fc41.x86_64 (RHEL family), 6.4.0-150600.23.25-default (SUSE).
_DEBIAN_FLAVOURS = re.compile(
    r"-(?:amd64|arm64|armmp|armmp-lpae|686|686-pae|ppc64el|s390x|riscv64|cloud-amd64|cloud-arm64|rt-amd64|rt-arm64)$"
)
_REDHAT_RELEASE = re.compile(r"\.(?:el\d+[_0-9]*|fc\d+)(?:\.[a-z0-9_]+)?(?:\+[a-z0-9]+)?$")
_SUSE_RELEASE = re.compile(r"-(?:default|azure|rt|kvmsmall|64kb|zfcpdump)$")


def kernel_family(release):
    """The distribution family a kernel release belongs to (debian, redhat, suse), else None."""
    if _REDHAT_RELEASE.search(release):
        return "redhat"
    if _DEBIAN_FLAVOURS.search(release):
        return "debian"
    if _SUSE_RELEASE.search(release):
        return "suse"
    return None


# Paths the module writes into crash's script or hands to it: a line of that script must stay one
# command (crash gives a line that starts with "!" to /bin/sh), so no whitespace, quotes or shell marks.
_SAFE_PATH = re.compile(r"/[A-Za-z0-9._+/-]*")
# What crash, or the gdb inside it, prints when its address space runs out under RLIMIT_AS.
_MEMORY_WORDS = ("cannot allocate memory", "out of memory", "memory exhausted", "std::bad_alloc")


def safe_path(path):
    """Whether ``path`` is absolute and made only of letters, digits and ``. _ + / -``."""
    return isinstance(path, str) and len(path) <= 4096 and bool(_SAFE_PATH.fullmatch(path)) and "/../" not in path + "/"


def classify_exit(rc, elapsed, timeout, console):
    """TIMED_OUT, OUT_OF_MEMORY or FAILED from how ``timeout ... prlimit ... crash`` ended; None: read its files.

    timeout(1) exits 124 when it stopped crash with TERM; when crash ignored that, --kill-after's KILL
    reaches the whole group and the caller sees -9 (no shell between: 137 only through one). 125-127
    are timeout's or prlimit's own failures to start crash. A KILL before the time is up is the
    kernel's OOM killer.
    """
    if rc == 124 or (rc in (-9, 137) and elapsed >= timeout):
        return TIMED_OUT
    if any(word in (console or "").lower() for word in _MEMORY_WORDS) or rc in (-9, 137):
        return OUT_OF_MEMORY
    if rc in (125, 126, 127):
        return FAILED
    return None


def valid_release(release):
    """Whether ``release`` can name a kernel in a package or file name (it reaches a command line)."""
    return isinstance(release, str) and len(release) <= 128 and bool(_RELEASE.fullmatch(release))


def script(output_dir):
    """The crash(8) input: every command's output into its own file in output_dir, then quit."""
    lines = ["set scroll off"]
    lines += ["%s > %s/%s.txt" % (command, output_dir, name) for name, command in COMMANDS]
    lines.append("quit")
    return "\n".join(lines) + "\n"


def parse_sys(text):
    """The ``KEY: value`` lines of crash's ``sys`` as a dict (PANIC without its quotes)."""
    fields = {}
    for line in text.splitlines():
        match = _SYS_LINE.match(line)
        if match:
            key, value = match.group(1).strip(), match.group(2).strip()
            if key == "PANIC" and len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            fields.setdefault(key, value)
    return fields


def parse_bt(text):
    """The panicking task of crash's ``bt``: pid, task, cpu, command and the frames' function names."""
    task = None
    frames = []
    for line in text.splitlines():
        if task is None:
            header = _BT_HEADER.match(line)
            if header:
                task = {
                    "pid": int(header.group("pid")),
                    "task": header.group("task"),
                    "cpu": int(header.group("cpu")),
                    "command": header.group("command"),
                }
            continue
        frame = _BT_FRAME.match(line)
        if frame:
            frames.append(frame.group("function"))
        elif _BT_HEADER.match(line):
            break  # a second task: bt was asked about one
    if task is None:
        return None
    return dict(task, frames=frames)


def parse_tainted_modules(text):
    """[{name, taints}] from ``mod -t``; [] when it says no module taints the kernel."""
    modules = []
    for line in text.splitlines():
        match = _MOD_T_LINE.match(line.strip())
        if match and match.group("name") != "NAME":
            modules.append({"name": match.group("name"), "taints": match.group("taints")})
    return modules


def culprit(frames):
    """The first function of the backtrace below the panic path (sysrq_handle_crash for a sysrq crash)."""
    for function in frames:
        if function not in _PANIC_PATH:
            return function
    return None


def analysis(outputs, log_lines=20):
    """The first-look record from crash's outputs by command name (a missing output is None)."""
    sys_fields = parse_sys(outputs.get("sys") or "")
    task = parse_bt(outputs.get("bt") or "")
    frames = task["frames"] if task else []
    # The ring buffer as crash read it out of the dump: the same reading as a saved kernel log's.
    log = parse_kernel_log(outputs.get("log") or "", log_lines)
    return {
        "panic": sys_fields.get("PANIC") or None,
        "release": sys_fields.get("RELEASE") or None,
        "uptime": sys_fields.get("UPTIME") or None,
        "load_average": sys_fields.get("LOAD AVERAGE") or None,
        "date": sys_fields.get("DATE") or None,
        "cpus": sys_fields.get("CPUS") or None,
        "task": {key: task[key] for key in ("pid", "command", "cpu", "task")} if task else None,
        "backtrace": frames,
        "culprit": culprit(frames),
        "tainted_modules": parse_tainted_modules(outputs.get("tainted_modules") or ""),
        "first_error": log["first_error"],
        "crash_test": log["crash_test"] if outputs.get("log") else None,
        "last_log_lines": log["last_messages"],
    }


def summary(record):
    """One paragraph a person can read: what panicked, where, in which task, after how long."""
    status = record.get("status")
    if status != ANALYSED:
        return record.get("message") or status
    first_look = record["analysis"]
    parts = []
    panic = first_look.get("panic")
    parts.append('The kernel panicked: "%s".' % panic if panic else "crash(8) found no panic message.")
    task = first_look.get("task")
    if task:
        parts.append("The panicking task was %s (PID %d) on CPU %d." % (task["command"], task["pid"], task["cpu"]))
    if first_look.get("culprit"):
        chain = " \u2190 ".join(first_look["backtrace"][:6])  # innermost first: each called by the next
        parts.append("The backtrace points at %s (%s)." % (first_look["culprit"], chain))
    modules = first_look.get("tainted_modules") or []
    if modules:
        parts.append(
            "Modules tainting the kernel: %s." % ", ".join("%s (%s)" % (m["name"], m["taints"]) for m in modules)
        )
    else:
        parts.append("No module taints the kernel.")
    context = []
    if first_look.get("uptime"):
        context.append("up %s" % first_look["uptime"])
    if first_look.get("load_average"):
        context.append("load average %s" % first_look["load_average"])
    if context:
        parts.append("It had been %s." % ", ".join(context))
    return " ".join(parts)


# ------------------------------------------------------------------ ELF build IDs


def elf_build_id(handle):
    """The GNU build ID (hex) of a 64-bit little-endian ELF file object, or None.

    Read from the section headers' SHT_NOTE sections, so the whole vmlinux (hundreds of MiB) is never
    read: it tells whether the symbols belong to the dump's kernel (VMCOREINFO BUILD-ID).
    """
    handle.seek(0)
    ident = handle.read(64)
    if len(ident) < 64 or ident[:4] != b"\x7fELF" or ident[4] != 2 or ident[5] != 1:
        return None
    shoff = struct.unpack_from("<Q", ident, 0x28)[0]
    shentsize, shnum = struct.unpack_from("<HH", ident, 0x3A)
    if not shoff or shentsize < 64 or shnum == 0 or shnum > 65535:
        return None
    handle.seek(shoff)
    table = handle.read(shentsize * shnum)
    for index in range(shnum):
        header = table[index * shentsize : index * shentsize + 64]
        if len(header) < 64:
            break
        sh_type = struct.unpack_from("<I", header, 4)[0]
        if sh_type != 7:  # SHT_NOTE
            continue
        offset, size = struct.unpack_from("<QQ", header, 0x18)
        if size > 1 << 20:
            continue
        handle.seek(offset)
        build_id = _note_build_id(handle.read(size))
        if build_id:
            return build_id
    return None


def _note_build_id(notes):
    position = 0
    while position + 12 <= len(notes):
        namesz, descsz, note_type = struct.unpack_from("<III", notes, position)
        name_start = position + 12
        desc_start = name_start + ((namesz + 3) & ~3)
        end = desc_start + ((descsz + 3) & ~3)
        if end > len(notes) + 3:
            return None
        if note_type == 3 and notes[name_start : name_start + namesz].rstrip(b"\0") == b"GNU":  # NT_GNU_BUILD_ID
            return notes[desc_start : desc_start + descsz].hex()
        position = end
    return None


def build_ids_match(dump_build_id, symbols_build_id):
    """True/False when both are known; None when either is. VMCOREINFO may hold a prefix of the ID."""
    if not dump_build_id or not symbols_build_id:
        return None
    dump_build_id, symbols_build_id = dump_build_id.lower(), symbols_build_id.lower()
    return symbols_build_id.startswith(dump_build_id) or dump_build_id.startswith(symbols_build_id)


# ------------------------------------------------------------------ which dumps


def newest_dumps(dumps, only=(), limit=5):
    """The paths to analyse from a dump_inventory listing: complete dumps with a file, newest first.

    ``only``: when given, just these paths, all of them (``limit`` is for the newest-first choice);
    returns (chosen, missing) where missing are the ``only`` paths that are not complete dumps here.
    """
    complete = [d for d in dumps or [] if isinstance(d, dict) and d.get("path") and d.get("complete")]
    complete.sort(key=lambda d: (-(d.get("crash_time") or 0), str(d.get("path"))))
    paths = [d["path"] for d in complete]
    if only:
        wanted = list(dict.fromkeys(only))
        return [p for p in paths if p in wanted], [p for p in wanted if p not in paths]
    return paths[:limit], []
