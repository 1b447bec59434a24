# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Setting crashkernel= in /etc/default/grub itself, the SUSE family (private to the collection).

openSUSE's and SLES's grub2-mkconfig only sources /etc/default/grub (no grub.d drop-ins), so the
value is edited in place. The file is shell; only assignments whose value is plain literal text are
rewritten, everything else of the file is kept byte for byte.

What is refused (``UnsafeDefaultGrub``), because the words the shell would see are not the words
written, or because an edit could change what else the line does:

- a value with ``$``, a backquote or ``\\`` (expansion, command substitution, escapes, continuation),
  in any quoting: GRUB's own script would also expand ``$`` in grub.cfg;
- a quoted value that does not close on its line, or quotes glued to other text (``"a"'b'``, ``"a"b``);
- an unquoted value with characters other than letters, digits and ``_.,:=/@%+-``;
- anything after the value but blanks and a ``#`` comment (``; x=1``, a second assignment);
- a mention of either variable that is not such an assignment at the start of a line
  (``export``, indented or inside ``if``, ``$GRUB_CMDLINE_LINUX``, ``unset``, ``eval``...).

Several plain assignments of the same variable are accepted: the shell keeps the last one, so
``crashkernel=`` words are removed from each and ours is appended to the last one.
"""

from __future__ import annotations

import re
from typing import List, NamedTuple, Optional

from ansible_collections.kdump.fleet.plugins.module_utils._crashkernel import find_in_cmdline
from ansible_collections.kdump.fleet.plugins.module_utils._grub import _SAFE_VALUE, CMDLINE_VARIABLES

_ASSIGNMENT = re.compile(r"(?P<name>GRUB_CMDLINE_LINUX(?:_DEFAULT)?)=(?P<rest>.*)")
_MENTION = re.compile(r"\bGRUB_CMDLINE_LINUX(?:_DEFAULT)?\b")
_QUOTED = re.compile(r"""(?P<quote>["'])(?P<content>.*?)(?P=quote)(?P<tail>.*)""")
_UNQUOTED = re.compile(r"(?P<content>[A-Za-z0-9_.,:=/@%+-]*)(?P<tail>.*)")
# After the value: blanks, then optionally a comment (a '#' glued to the value would be part of it).
_TAIL = re.compile(r"(?:[ \t]+(?:#.*)?)?")
_SHELL_SPECIAL = re.compile(r"[$`\\]")
_BLSCFG = re.compile(r"""(?:export[ \t]+)?GRUB_ENABLE_BLSCFG=(["']?)(?P<value>[A-Za-z]*)\1[ \t]*(?:#.*)?""")


class UnsafeDefaultGrub(ValueError):
    """/etc/default/grub holds something rewrite() cannot edit without guessing; the text says what."""


class _Assignment(NamedTuple):
    index: int  # line number, from 0
    name: str
    quote: str  # '"', "'" or '' (unquoted)
    content: str
    tail: str  # blanks and comment after the value
    newline: str


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _parse_value(number: int, name: str, rest: str) -> tuple:
    """(quote, content, tail) of the text after ``NAME=``, or UnsafeDefaultGrub."""
    quoted = _QUOTED.fullmatch(rest)
    if rest[:1] in ("'", '"'):
        if not quoted:
            raise UnsafeDefaultGrub("line {0}: the value of {1} does not close on its line".format(number, name))
        quote, content, tail = quoted.group("quote", "content", "tail")
    else:
        quote, content, tail = ("",) + _UNQUOTED.fullmatch(rest).group("content", "tail")
    if _SHELL_SPECIAL.search(content + tail.partition("#")[0]):
        raise UnsafeDefaultGrub(
            "line {0}: the value of {1} has '$', a backquote or '\\' (expansion, command substitution, "
            "escapes or a continued line)".format(number, name)
        )
    if not _TAIL.fullmatch(tail):
        raise UnsafeDefaultGrub(
            "line {0}: {1}= is followed by {2!r}, not only a comment (quotes glued to other text, a character "
            "the shell treats specially, or another command on the line)".format(number, name, tail.strip())
        )
    return quote, content, tail


def _assignments(text: str) -> List[_Assignment]:
    found = []
    for index, raw in enumerate(text.splitlines(keepends=True)):
        line = raw.rstrip("\r\n")
        if _is_comment(line) or not _MENTION.search(line):
            continue
        match = _ASSIGNMENT.fullmatch(line)
        if not match:
            raise UnsafeDefaultGrub(
                "line {0}: {1!r} uses GRUB_CMDLINE_LINUX or GRUB_CMDLINE_LINUX_DEFAULT in a way other than "
                'a plain NAME="..." assignment at the start of the line'.format(index + 1, line)
            )
        quote, content, tail = _parse_value(index + 1, match.group("name"), match.group("rest"))
        found.append(_Assignment(index, match.group("name"), quote, content, tail, raw[len(line) :]))
    return found


def _without_crashkernel(content: str) -> str:
    """``content`` without its crashkernel= words; the other words and the blanks before them are kept."""
    body = content.strip()
    leading = content[: len(content) - len(content.lstrip())]
    trailing = content[len(body) + len(leading) :]
    words = re.findall(r"\s*\S+", body)  # each word with the blanks before it
    kept = "".join(word for word in words if not word.lstrip().startswith("crashkernel="))
    # When the first word went, its successor's blanks would now lead the value.
    return leading + kept.lstrip() + trailing


def _with_words(content: str, words: str) -> str:
    body = content.rstrip()
    trailing = content[len(body) :]
    return (body + " " + words if body.strip() else body + words) + trailing


def _render(assignment: _Assignment, content: str) -> str:
    quote = assignment.quote
    if not quote and content != assignment.content:
        quote = '"'  # the value may now hold several words
    return "{0}={1}{2}{1}{3}{4}".format(assignment.name, quote, content, assignment.tail, assignment.newline)


def rewrite(text: str, value: Optional[str]) -> str:
    """``text`` of /etc/default/grub with every crashkernel= word removed from GRUB_CMDLINE_LINUX and
    GRUB_CMDLINE_LINUX_DEFAULT and, when ``value`` is given, ``crashkernel=<part>`` for each part of it
    appended to (the last assignment of) GRUB_CMDLINE_LINUX_DEFAULT, added at the end when there is none.

    ``value`` is a canonical crashkernel value (``Crashkernel.render()``), e.g. ``512M,high 128M,low``.
    Raises UnsafeDefaultGrub (see the module docstring), or ValueError for a value outside _SAFE_VALUE.
    """
    if value is not None and not _SAFE_VALUE.match(value):
        raise ValueError("refusing to write crashkernel value {0!r} into a shell file".format(value))
    lines = text.splitlines(keepends=True)
    assignments = _assignments(text)
    defaults = [a for a in assignments if a.name == "GRUB_CMDLINE_LINUX_DEFAULT"]
    words = " ".join("crashkernel=" + part for part in value.split()) if value is not None else None
    for assignment in assignments:
        content = _without_crashkernel(assignment.content)
        if words is not None and defaults and assignment is defaults[-1]:
            content = _with_words(content, words)
        if content != assignment.content:
            lines[assignment.index] = _render(assignment, content)
    if words is not None and not defaults:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines.append('GRUB_CMDLINE_LINUX_DEFAULT="{0}"\n'.format(words))
    return "".join(lines)


def configured_crashkernel(text: str) -> Optional[str]:
    """The crashkernel value(s) a normal entry gets from this file (the last assignment of each variable).

    Raises UnsafeDefaultGrub like rewrite().
    """
    last = {}
    for assignment in _assignments(text):
        last[assignment.name] = assignment.content
    return find_in_cmdline(" ".join(last.get(name, "") for name in CMDLINE_VARIABLES))


def bls_enabled(text: str) -> bool:
    """Whether the last GRUB_ENABLE_BLSCFG assignment sets it to true.

    With it, grub2-mkconfig writes a blscfg call and the kernels' arguments come from the BLS entries
    (or grubenv's kernelopts), not from GRUB_CMDLINE_LINUX_DEFAULT.
    """
    enabled = False
    for line in text.splitlines():
        match = _BLSCFG.fullmatch(line.strip())
        if match and not _is_comment(line):
            enabled = match.group("value") == "true"
    return enabled
