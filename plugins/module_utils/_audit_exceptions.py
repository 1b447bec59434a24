# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documented exceptions to audit checks (kdump_audit_exceptions); private to the collection.

An exception names hosts (an Ansible host pattern over host names and group names), one check
ID, the reason, who approved it and the last day it is valid (``expires``, YYYY-MM-DD, UTC). On a
matching host a failing check becomes ``excepted`` while the exception is valid; from the day after
``expires`` the check counts as failed again and its finding says the exception expired. Exceptions
are checked as a whole before the audit evaluates or writes anything, and every refusal names the
variable, the list index and the fix.
"""

from __future__ import annotations

import datetime
import fnmatch
import re
import unicodedata

from ansible_collections.kdump.fleet.plugins.module_utils._readiness import CHECK_IDS, FAIL

VARIABLE = "kdump_audit_exceptions"
EXCEPTED = "excepted"
# What an exception did to the check it matched on a host.
APPLIED = "excepted"  # the check failed and the exception is valid: excepted
EXPIRED = "expired"  # the check failed, the exception has expired: still failed, and said so
UNUSED = "unused"  # the check did not fail (pass, unknown or not applicable): nothing to except
FIELDS = ("hosts", "check", "reason", "approved_by", "expires")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# An Ansible subscript (web[0], web[1:3]) selects by position in a group: not meaningful here.
_SUBSCRIPT = re.compile(r"^(.+)\[(-?[0-9]+|[0-9]*[:-][0-9]*)\]$")
_EXAMPLE = (
    "{hosts: 'db*', check: KDUMP-013, reason: 'STIG RHEL-09-213115 applies', approved_by: 'ISSO J. Doe', "
    "expires: '2026-12-31'}"
)


class AuditExceptionsError(ValueError):
    """kdump_audit_exceptions is invalid; the message names the entry and the fix."""


# --- host patterns ---------------------------------------------------------------------------------


def split_pattern(pattern):
    """Ansible's pattern list: 'a,b' or 'web*:&prod:!web3' -> ['web*', '&prod', '!web3'].

    Commas separate when there is one; otherwise colons do, except inside [...] (fnmatch classes).
    """
    text = pattern.strip()
    if "," in text:
        return [part.strip() for part in text.split(",") if part.strip()]
    if text.startswith("~"):
        return [text]  # a regular expression may contain colons
    return re.findall(r"(?:[^\s:\[\]]|\[[^\]]*\])+", text)


def _compile(term):
    """One term (without its ! or &) as a compiled regular expression matched from the start, like Ansible."""
    if term.startswith("~"):
        return re.compile(term[1:])
    return re.compile(fnmatch.translate(term))


def _parse_patterns(value, where):
    patterns = [value] if isinstance(value, str) else value
    if not isinstance(patterns, (list, tuple)) or not patterns:
        raise AuditExceptionsError(
            "%s.hosts must be a host or group pattern (a string, or a list of them), got %r; e.g. hosts: 'db*' "
            "or hosts: [web1, dbservers]" % (where, value)
        )
    terms = []
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern.strip():
            raise AuditExceptionsError(
                "%s.hosts: %r is not a host or group pattern; give a host name, a group name or a pattern such "
                "as 'web*', 'dbservers:&prod' or '~db[0-9]+'" % (where, pattern)
            )
        for term in split_pattern(pattern):
            bare = term[1:] if term[:1] in "!&" else term
            if not bare:
                raise AuditExceptionsError("%s.hosts: %r has an empty term" % (where, pattern))
            if not bare.startswith("~") and _SUBSCRIPT.match(bare):
                raise AuditExceptionsError(
                    "%s.hosts: %r selects hosts by position ([N] or [N:M]); name the hosts or use a pattern "
                    "(web0*) instead" % (where, term)
                )
            try:
                compiled = _compile(bare)
            except re.error as exc:
                raise AuditExceptionsError(
                    "%s.hosts: %r is not a valid regular expression (%s)" % (where, term, exc)
                ) from None
            terms.append((term[:1] if term[:1] in "!&" else "", bare, compiled))
    return terms


def _term_matches(bare, compiled, host, groups):
    if bare in ("all", "*"):
        return True
    return any(compiled.match(name) for name in [host] + list(groups))


def host_matches(terms, host, groups):
    """Whether a host (its name and the groups it is in) matches parsed pattern terms, as Ansible selects.

    Plain terms are alternatives (none given: all hosts), ``&`` terms must all match, ``!`` terms exclude.
    """
    plain = [t for t in terms if t[0] == ""]
    wanted = any(_term_matches(bare, compiled, host, groups) for _kind, bare, compiled in plain) if plain else True
    wanted = wanted and all(_term_matches(b, c, host, groups) for kind, b, c in terms if kind == "&")
    return wanted and not any(_term_matches(b, c, host, groups) for kind, b, c in terms if kind == "!")


# --- validation ------------------------------------------------------------------------------------


def _date(value, where):
    if isinstance(value, datetime.datetime):
        # A YAML timestamp with a time of day; an exception lasts whole days.
        raise AuditExceptionsError(
            "%s.expires must be a date (YYYY-MM-DD), got the time %s; write expires: '%s'"
            % (where, value.isoformat(), value.date().isoformat())
        )
    if isinstance(value, datetime.date):  # YAML reads an unquoted 2026-12-31 as a date
        return value
    if isinstance(value, str) and _DATE.match(value.strip()):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise AuditExceptionsError(
        "%s.expires must be the last day the exception is valid, as YYYY-MM-DD (e.g. expires: '2026-12-31'), got %r"
        % (where, value)
    )


# The reason and the approver are shown in terminals, Markdown, HTML and JUnit: one line of plain text.
MAX_TEXT = 500


def _text(entry, key, where, what):
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise AuditExceptionsError(
            "%s.%s must say %s (a non-empty string), got %r; an exception without it is not documented"
            % (where, key, what, value)
        )
    # split() also takes the Unicode line and paragraph separators, so the text is one line after it.
    text = " ".join(value.split())
    for char in text:
        # Cc: ESC and the other controls (a terminal would act on them); Cf: bidi overrides and other
        # invisible format characters that make a text read differently from what it says.
        if unicodedata.category(char) in ("Cc", "Cf", "Co", "Cs"):
            raise AuditExceptionsError(
                "%s.%s contains the control or invisible character U+%04X; write it as plain text"
                % (where, key, ord(char))
            )
    if len(text) > MAX_TEXT:
        raise AuditExceptionsError(
            "%s.%s is %d characters long; keep it to %d and point to the ticket or document for the rest"
            % (where, key, len(text), MAX_TEXT)
        )
    return text


def validate(raw):
    """The exceptions as checked records, or AuditExceptionsError naming the entry and the fix.

    None or an empty list is no exception. Each record keeps its position in the list (``index``).
    """
    if raw is None or raw == "":
        return []
    if isinstance(raw, (str, dict)) or not isinstance(raw, (list, tuple)):
        raise AuditExceptionsError(
            "%s must be a list of exceptions, each %s; got %s" % (VARIABLE, _EXAMPLE, type(raw).__name__)
        )
    valid_ids = [check_id for check_id in CHECK_IDS if check_id != "KDUMP-000"]
    records = []
    for index, entry in enumerate(raw):
        where = "%s[%d]" % (VARIABLE, index)
        if not isinstance(entry, dict):
            raise AuditExceptionsError("%s must be a mapping such as %s, got %r" % (where, _EXAMPLE, entry))
        unknown = sorted(str(key) for key in entry if key not in FIELDS)
        if unknown:
            raise AuditExceptionsError(
                "%s: unknown key(s) %s; an exception has exactly %s" % (where, ", ".join(unknown), ", ".join(FIELDS))
            )
        missing = [key for key in FIELDS if entry.get(key) in (None, "")]
        if missing:
            raise AuditExceptionsError(
                "%s: missing %s; every exception needs %s, e.g. %s"
                % (where, ", ".join(missing), ", ".join(FIELDS), _EXAMPLE)
            )
        check = entry["check"]
        if check == "KDUMP-000":
            raise AuditExceptionsError(
                "%s.check: KDUMP-000 (host reachable, kdump_info ran) cannot be excepted: a host without data cannot "
                "be ready; leave the host out of the audit (kdump_audit_hosts or --limit) instead" % where
            )
        if check not in valid_ids:
            raise AuditExceptionsError(
                "%s.check: unknown check ID %r; use one of %s" % (where, check, ", ".join(valid_ids))
            )
        terms = _parse_patterns(entry["hosts"], where)
        hosts = entry["hosts"]
        records.append(
            {
                "index": index,
                "hosts": str(hosts) if isinstance(hosts, str) else [str(pattern) for pattern in hosts],
                "check": str(check),
                "reason": _text(entry, "reason", where, "why the check may fail on these hosts"),
                "approved_by": _text(entry, "approved_by", where, "who approved the exception"),
                "expires": _date(entry["expires"], where).isoformat(),
                "_terms": terms,
            }
        )
    return records


# --- evaluation ------------------------------------------------------------------------------------


def today(now):
    """The audit's day, in UTC: an exception is valid through its ``expires`` day."""
    return now.astimezone(datetime.timezone.utc).date()


def is_expired(record, day):
    return day > datetime.date.fromisoformat(record["expires"])


def public(record):
    """An exception as the reports show it (without the parsed pattern)."""
    return {key: value for key, value in record.items() if not key.startswith("_")}


def _label(record):
    return "%s[%d]" % (VARIABLE, record["index"])


def _choose(matching, day):
    """The exception that decides: a valid one that lasts longest, else the one that expired last."""
    valid = [record for record in matching if not is_expired(record, day)]
    return max(valid or matching, key=lambda record: (record["expires"], -record["index"]))


def apply(host, groups, checks, exceptions, now):
    """Check records of one host with the exceptions applied (new dicts; the input is not changed).

    A failing check with a valid exception becomes ``excepted``; with an expired one it stays failed and
    its finding says when the exception expired. Any check an exception matched carries ``exception``
    (the exception, its ``state``: excepted, expired or unused).
    """
    day = today(now)
    result = []
    for check in checks:
        matching = [
            record
            for record in exceptions
            if record["check"] == check["id"] and host_matches(record["_terms"], host, groups)
        ]
        if not matching:
            result.append(check)
            continue
        chosen = _choose(matching, day)
        changed = dict(check)
        expired = is_expired(chosen, day)
        if check["result"] == FAIL and not expired:
            state = APPLIED
            changed["result"] = EXCEPTED
        elif check["result"] == FAIL:
            state = EXPIRED
            changed["finding"] = "%s; the exception for it (%s, approved by %s: %s) expired on %s" % (
                check["finding"],
                _label(chosen),
                chosen["approved_by"],
                chosen["reason"],
                chosen["expires"],
            )
        else:
            state = UNUSED
        changed["exception"] = dict(public(chosen), state=state, expired=expired)
        result.append(changed)
    return result


def usage(exceptions, records, now):
    """Every exception with the hosts it excepted, the hosts where it had expired and where it was not needed."""
    day = today(now)
    by_index = {}
    for record in records:
        for check in record["checks"]:
            exception = check.get("exception")
            if exception:
                by_index.setdefault(exception["index"], {}).setdefault(exception["state"], []).append(record["host"])
    return [
        dict(
            public(record),
            expired=is_expired(record, day),
            excepted_hosts=sorted(by_index.get(record["index"], {}).get(APPLIED, [])),
            expired_hosts=sorted(by_index.get(record["index"], {}).get(EXPIRED, [])),
            unused_hosts=sorted(by_index.get(record["index"], {}).get(UNUSED, [])),
        )
        for record in exceptions
    ]


def host_groups(groups):
    """host -> the groups it is in, from Ansible's ``groups`` (group -> hosts, children's hosts included)."""
    found = {}
    for group, members in (groups or {}).items():
        if not isinstance(members, (list, tuple)):
            continue
        for member in members:
            found.setdefault(str(member), []).append(str(group))
    return {host: sorted(set(names)) for host, names in found.items()}
