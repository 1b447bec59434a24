# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsing `grubby --info` output and building grubby argv, RHEL family (private to the collection)."""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional

from ansible_collections.kdump.fleet.plugins.module_utils._crashkernel import Crashkernel, find_in_cmdline

_FIELDS = ("index", "kernel", "args", "root", "initrd", "title", "id")


class GrubbyEntry(NamedTuple):
    """One boot entry of `grubby --info`; fields grubby did not print are None."""

    index: Optional[int]
    kernel: Optional[str] = None
    args: Optional[str] = None
    root: Optional[str] = None
    initrd: Optional[str] = None
    title: Optional[str] = None
    id: Optional[str] = None

    @property
    def crashkernel(self) -> Optional[str]:
        """The crashkernel value(s) in this entry's args, None when absent."""
        return find_in_cmdline(self.args or "")


def _unquote(value: str) -> str:
    # BLS grubby quotes every value; the old grubby (EL7) quotes only args.
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def parse_info(text: str) -> List[GrubbyEntry]:
    """Entries of `grubby --info=ALL|DEFAULT|<kernel>` output, in output order.

    Each ``index=`` line starts an entry. Lines that are not ``key=value`` for a known
    key (old grubby prints ``non linux entry`` for chainloaders) are skipped; an entry
    without a ``kernel=`` line is dropped because grubby cannot update it.
    """
    entries = []
    current: Optional[Dict[str, str]] = None
    for raw in text.splitlines():
        line = raw.strip()
        key, sep, value = line.partition("=")
        if not sep or key not in _FIELDS:
            continue
        if key == "index":
            if current is not None:
                entries.append(current)
            current = {}
        if current is None:
            current = {}
        current[key] = _unquote(value)
    if current is not None:
        entries.append(current)
    result = []
    for fields in entries:
        if "kernel" not in fields:
            continue
        index = fields.pop("index", None)
        result.append(GrubbyEntry(index=int(index) if index and index.isdigit() else None, **fields))
    return result


def update_argvs(grubby: str, value: Crashkernel, kernel: str = "ALL") -> List[List[str]]:
    """The grubby calls that make ``kernel``'s entries carry exactly ``value``.

    The old crashkernel words are removed first: `--args` replaces one same-named
    argument, but would leave a stale `,low` word or a second crashkernel= behind.
    """
    target = "--update-kernel=" + kernel
    return [
        [grubby, target, "--remove-args=crashkernel"],
        [grubby, target, "--args=" + " ".join(value.kernel_args())],
    ]


def remove_argv(grubby: str, kernel: str = "ALL") -> List[str]:
    """The grubby call that removes every crashkernel= word from ``kernel``'s entries."""
    return [grubby, "--update-kernel=" + kernel, "--remove-args=crashkernel"]


def info_argv(grubby: str, kernel: str = "ALL") -> List[str]:
    """The grubby call that lists ``kernel``'s entries (ALL, DEFAULT or a kernel path)."""
    return [grubby, "--info=" + kernel]
