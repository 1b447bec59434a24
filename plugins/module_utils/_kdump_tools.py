# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""/etc/default/kdump-tools (a file sh sources) parse, validate and render; private to the kdump.fleet collection."""

from __future__ import annotations

import re

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME_FULL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_BLANKS = " \t"
# Unquoted characters that end a word and start an operator sh would act on.
_OPERATORS = "&|()<>"

COMPRESSIONS = ("bzip2", "gzip", "lz4", "xz")
HOSTTAGS = ("ip", "hostname")
REMOTE_TARGETS = ("SSH", "NFS", "FTP")


def quote(value):
    """Single-quote a value for sh: nothing inside is expanded, embedded quotes become '\\''."""
    return "'" + value.replace("'", "'\\''") + "'"


def _value_text(name, value):
    if isinstance(value, bool):
        return "1" if value else "0"
    text = str(value)
    if "\0" in text:
        raise ValueError("%s: a shell variable cannot hold a NUL byte" % name)
    return text


def render(values, header_lines=()):
    """File text: '# ' header lines, then NAME='value' per item; items whose value is None are left out."""
    lines = ["# " + line if line else "#" for line in header_lines]
    for name, value in values.items():
        if not _NAME_FULL.fullmatch(name):
            raise ValueError("not a shell variable name: %r" % name)
        if value is None:
            continue
        lines.append("%s=%s" % (name, quote(_value_text(name, value))))
    return "\n".join(lines) + "\n" if lines else ""


class _Scanner:
    """Splits sh text into simple commands of raw words (quotes kept), tracking line numbers."""

    def __init__(self, text):
        self.text = text
        self.pos = 0
        self.line = 1
        self.errors = []

    def _peek(self, offset=0):
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def _skip_to_line_end(self):
        end = self.text.find("\n", self.pos)
        self.pos = len(self.text) if end < 0 else end

    def _advance(self, count=1):
        chunk = self.text[self.pos : self.pos + count]
        self.line += chunk.count("\n")
        self.pos += count
        return chunk

    def _until(self, closing, start_skip):
        """Consume from pos through the closing character (for quotes and substitutions)."""
        end = self.text.find(closing, self.pos + start_skip)
        if end < 0:
            self.errors.append("line %d: unterminated %s" % (self.line, closing))
            return self._advance(len(self.text) - self.pos)
        return self._advance(end + 1 - self.pos)

    def _double_quoted(self):
        start = self.pos
        self._advance()
        while self.pos < len(self.text):
            char = self._peek()
            if char == "\\":
                self._advance(2)
            elif char == '"':
                self._advance()
                return self.text[start : self.pos]
            else:
                self._advance()
        self.errors.append("line %d: unterminated double quote" % self.line)
        return self.text[start:]

    def _dollar(self):
        following = self._peek(1)
        if following == "{":
            return self._until("}", 2)
        if following == "(":
            depth = 0
            start = self.pos
            while self.pos < len(self.text):
                char = self._advance()
                depth += {"(": 1, ")": -1}.get(char, 0)
                if char == ")" and depth == 0:
                    return self.text[start : self.pos]
            self.errors.append("line %d: unterminated $(" % self.line)
            return self.text[start:]
        return self._advance()

    def word(self):
        parts = []
        while self.pos < len(self.text):
            char = self._peek()
            if char in _BLANKS or char in "\n;" or char in _OPERATORS:
                break
            if char == "'":
                parts.append(self._until("'", 1))
            elif char == '"':
                parts.append(self._double_quoted())
            elif char == "\\":
                parts.append(self._advance(2))
            elif char == "$":
                parts.append(self._dollar())
            elif char == "`":
                parts.append(self._until("`", 1))
            else:
                parts.append(self._advance())
        return "".join(parts)

    def command(self):
        """Next simple command as (line, [raw words]), or None at end of text."""
        words = []
        line = None
        while self.pos < len(self.text):
            char = self._peek()
            if char in _BLANKS:
                self._advance()
            elif char == "\\" and self._peek(1) == "\n":
                self._advance(2)
            elif char in "\n;":
                self._advance()
                if words:
                    break
            elif char == "#":
                # A '#' that starts a word starts a comment.
                self._skip_to_line_end()
            elif char in _OPERATORS:
                self.errors.append(
                    "line %d: shell operator '%s' is not supported in this file; use plain NAME=value lines"
                    % (self.line, char)
                )
                self._skip_to_line_end()
                words = []
                line = None
            else:
                if line is None:
                    line = self.line
                words.append(self.word())
        return (line, words) if words else None


def _expand(name_text, env, line, problems):
    if name_text in env:
        return env[name_text]
    problems.append("line %d: $%s is not set in this file and expands to an empty string" % (line, name_text))
    return ""


def _backquoted(raw, index, line, problems):
    """A `...` command substitution is kept as text, never run; returns (text, next index)."""
    problems.append("line %d: command substitution `...` is not evaluated" % line)
    end = raw.find("`", index + 1)
    end = len(raw) - 1 if end < 0 else end
    return raw[index : end + 1], end + 1


def _dollar_value(raw, index, env, line, problems):
    """Expand the $ at raw[index]; return (text, next index)."""
    rest = raw[index + 1 :]
    match = NAME.match(rest)
    if match:
        return _expand(match.group(0), env, line, problems), index + 1 + match.end()
    if rest.startswith("{"):
        end = rest.find("}")
        inner = rest[1:end] if end >= 0 else rest[1:]
        consumed = index + 2 + len(inner) + (1 if end >= 0 else 0)
        if _NAME_FULL.fullmatch(inner):
            return _expand(inner, env, line, problems), consumed
        problems.append("line %d: parameter expansion ${%s} is not evaluated; write the value itself" % (line, inner))
        return raw[index:consumed], consumed
    if rest.startswith("("):
        problems.append("line %d: command substitution $(...) is not evaluated; write the value itself" % line)
        depth = 0
        for offset, char in enumerate(rest):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth == 0:
                return raw[index : index + 2 + offset], index + 2 + offset
        return raw[index:], len(raw)
    if rest[:1] and (rest[0].isdigit() or rest[0] in "@*#?-$!"):
        problems.append("line %d: special parameter $%s is not evaluated" % (line, rest[0]))
        return raw[index : index + 2], index + 2
    return "$", index + 1


def _decode(raw, env, line, problems, assignment=False):
    """The word sh would produce (quote removal and $NAME expansion; no field splitting)."""
    out = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "'":
            end = raw.find("'", index + 1)
            end = len(raw) if end < 0 else end
            out.append(raw[index + 1 : end])
            index = end + 1
        elif char == '"':
            index += 1
            while index < len(raw) and raw[index] != '"':
                char = raw[index]
                if char == "\\" and raw[index + 1 : index + 2] in ("$", "`", '"', "\\", "\n"):
                    if raw[index + 1] != "\n":
                        out.append(raw[index + 1])
                    index += 2
                elif char == "$":
                    text, index = _dollar_value(raw, index, env, line, problems)
                    out.append(text)
                elif char == "`":
                    text, index = _backquoted(raw, index, line, problems)
                    out.append(text)
                else:
                    out.append(char)
                    index += 1
            index += 1
        elif char == "\\":
            following = raw[index + 1 : index + 2]
            if following != "\n":
                out.append(following or "\\")
            index += 2
        elif char == "$":
            text, index = _dollar_value(raw, index, env, line, problems)
            out.append(text)
        elif char == "`":
            text, index = _backquoted(raw, index, line, problems)
            out.append(text)
        else:
            if char == "~" and assignment and (index == 0 or raw[index - 1] == ":"):
                problems.append("line %d: sh expands ~ to $HOME here; write the full path" % line)
            out.append(char)
            index += 1
    return "".join(out)


def _assignment(raw):
    """(name, raw value) when the word is NAME=..., else None."""
    match = NAME.match(raw)
    if match and raw[match.end() : match.end() + 1] == "=":
        return match.group(0), raw[match.end() + 1 :]
    return None


def parse_with_errors(text):
    """(values, errors): the variables sh would set by sourcing text, and what could not be followed."""
    scanner = _Scanner(text)
    values = {}
    errors = scanner.errors
    while True:
        command = scanner.command()
        if command is None:
            break
        line, words = command  # pylint: disable=unpacking-non-sequence  # None ends the loop above
        problems = []
        prefix = []
        for word in words:
            pair = _assignment(word)
            if not pair:
                break
            prefix.append(pair)
        rest = words[len(prefix) :]
        if not rest:
            # Plain assignments run left to right, each seeing the ones before it.
            for name, raw in prefix:
                values[name] = _decode(raw, values, line, problems, assignment=True)
        elif rest[0] in ("export", "readonly"):
            # Builtin arguments are expanded before the builtin runs.
            decoded = []
            for word in rest[1:]:
                pair = _assignment(word)
                if pair:
                    decoded.append((pair[0], _decode(pair[1], values, line, problems, assignment=True)))
                elif not _NAME_FULL.fullmatch(word):
                    problems.append("line %d: '%s %s' is not a variable assignment" % (line, rest[0], word))
            for name, raw in prefix:
                values[name] = _decode(raw, values, line, problems, assignment=True)
            values.update(decoded)
        elif rest[0] == "unset":
            for word in rest[1:]:
                values.pop(word, None)
        else:
            command_name = _decode(rest[0], values, line, [])
            problems.append(
                "line %d: '%s' is a command, not a variable assignment; it would run whenever the file is sourced"
                % (line, command_name)
            )
        errors.extend(problems)
    return values, errors


def parse(text):
    """Variables sh would set by sourcing text (see parse_with_errors for the problems found)."""
    return parse_with_errors(text)[0]


def _integer(value, minimum=0):
    return bool(re.fullmatch(r"[0-9]+", value)) and int(value) >= minimum


def _check_zero_one(name, value):
    if value not in ("0", "1"):
        return "%s=%r must be 0 or 1" % (name, value)
    return None


def _check_optional_zero_one(name, value):
    return None if value == "" else _check_zero_one(name, value)


def _check_count(name, value):
    if value != "" and not _integer(value):
        return "%s=%r must be a whole number (0 or more)" % (name, value)
    return None


def _check_positive(name, value):
    if value != "" and not _integer(value, 1):
        return "%s=%r must be a whole number of 1 or more" % (name, value)
    return None


def _check_absolute(name, value):
    if value != "" and not value.startswith("/"):
        return "%s=%r must be an absolute path" % (name, value)
    return None


def _check_coredir(name, value):
    if value != "" and (not value.startswith("/") or any(c.isspace() for c in value)):
        return "%s=%r must be an absolute path without spaces" % (name, value)
    return None


def _check_choice(choices):
    def check(name, value):
        if value != "" and value not in choices:
            return "%s=%r is not supported; use one of %s" % (name, value, ", ".join(choices))
        return None

    return check


def _check_ssh(name, value):
    if value != "" and not re.fullmatch(r"[^@\s]+@[^@\s]+", value):
        return "%s=%r must be user@host" % (name, value)
    return None


def _check_nfs(name, value):
    if value != "" and not re.fullmatch(r"\S+:/\S*", value):
        return "%s=%r must be server:/export" % (name, value)
    return None


def _check_any(name, value):
    return None


# Every variable kdump-config and the kdump-tools init script read (kdump-tools 1:1.8.1),
# plus KDUMP_SYSCTL that older releases read.
KNOWN = {
    "USE_KDUMP": _check_zero_one,
    "KDUMP_KERNEL": _check_absolute,
    "KDUMP_INITRD": _check_absolute,
    "KDUMP_COREDIR": _check_coredir,
    "KDUMP_FAIL_CMD": _check_any,
    "KDUMP_DUMP_DMESG": _check_optional_zero_one,
    "KDUMP_NUM_DUMPS": _check_count,
    "KDUMP_COMPRESSION": _check_choice(COMPRESSIONS),
    "MAKEDUMP_ARGS": _check_any,
    "KDUMP_KEXEC_ARGS": _check_any,
    "KDUMP_CMDLINE": _check_any,
    "KDUMP_CMDLINE_APPEND": _check_any,
    "KDUMP_SYSCTL": _check_any,
    "HOSTTAG": _check_choice(HOSTTAGS),
    "NFS": _check_nfs,
    "NFS_TIMEO": _check_positive,
    "NFS_RETRANS": _check_positive,
    "NFS_MOUNT_RETRY": _check_positive,
    "SSH": _check_ssh,
    "SSH_KEY": _check_absolute,
    "SSH_KDUMP_RETRY": _check_positive,
    "FTP": _check_any,
    "FTP_USER": _check_any,
    "FTP_PASSWORD": _check_any,
    "FTP_PORT": _check_positive,
}


def validate(values):
    """Problems with variable names and values, each naming the variable and the fix."""
    errors = []
    for name, value in values.items():
        check = KNOWN.get(name)
        if check is None:
            errors.append("unknown variable %s: kdump-tools does not read it; remove it" % name)
            continue
        problem = check(name, value)
        if problem:
            errors.append(problem)
    if "USE_KDUMP" not in values:
        errors.append("USE_KDUMP is not set: kdump-tools stays off; set USE_KDUMP=1 (or 0 to say so)")
    remotes = [name for name in REMOTE_TARGETS if values.get(name)]
    if len(remotes) > 1:
        errors.append("%s are all set: kdump-config would dump to each of them; keep one" % " and ".join(remotes))
    if values.get("SSH_KEY") and not values.get("SSH"):
        errors.append("SSH_KEY is set but SSH is not; set SSH=user@host or remove SSH_KEY")
    if remotes and values.get("KDUMP_NUM_DUMPS", "0") not in ("", "0"):
        errors.append("KDUMP_NUM_DUMPS is ignored for %s dumps (it only prunes local dumps); remove it" % remotes[0])
    return errors
