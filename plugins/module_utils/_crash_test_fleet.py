# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet-level decisions of the kdump.fleet.crash_test playbook, as pure functions; private to kdump.fleet.

- ``select_hosts``: which hosts a ``kdump_crash_test_hosts`` request names, and every reason to refuse it
  (typos, empty groups, patterns that match nothing, an unconfirmed host count) before any host is touched.
- ``host_status`` / ``summary_rows`` / ``verdict``: the per-host result line and the fleet's pass/fail.
- ``stop_batches``: the rule "start no new batch once more than max_fail_percentage of the tested hosts failed".

Inventory matching is Ansible's: ``select_hosts`` takes callables, the filter plugin passes ones built on
ansible's InventoryManager, the unit tests pass fakes.
"""

from __future__ import annotations

import difflib
import os
import re

SUCCESS = "success"
FAILED = "failed"
NOT_TESTED = "not tested"
CHECK_MODE = "check mode"
PASSING = (SUCCESS, CHECK_MODE)

NOT_TESTED_MSG = "not tested: an earlier batch failed too often, or the play stopped"
SHOWN_HOSTS = 20  # hosts named in a confirmation message; the rest are counted

# A term with one of these is a pattern (fnmatch wildcards, a range/subscript, or ~regex).
_PATTERN_CHARS = ("*", "?", "[")
_TRUE = ("true", "yes", "on", "1", "y", "t")
_FALSE = ("false", "no", "off", "0", "n", "f", "")
_IPV6 = re.compile(r"^[0-9A-Fa-f:.]+$")

# ---------------------------------------------------------------- host selection


def _split_colons(text):
    """Split on ':' outside [...] (a range such as web[1:3] keeps its colon)."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "[":
            depth += 1
        elif char == "]":
            depth = max(depth - 1, 0)
        if char == ":" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def split_terms(spec):
    """The terms of a host request: a string split on ',' and ':' (ranges and IPv6 kept whole), or a list.

    List elements are split the same way. Returns ``(terms, errors)``; terms keep their ``!``/``&`` operator.
    """
    if isinstance(spec, str):
        items = [spec]
    elif isinstance(spec, (list, tuple)):
        items = list(spec)
    else:
        return [], ["kdump_crash_test_hosts must be a host pattern or a list of them, got %s" % type(spec).__name__]
    terms, errors = [], []
    for item in items:
        if not isinstance(item, str):
            errors.append("kdump_crash_test_hosts: every list element must be a host name or pattern, got %r" % (item,))
            continue
        for raw_piece in item.split(","):
            piece = raw_piece.strip()
            # An IPv6 address keeps its colons.
            candidates = [piece] if piece.count(":") > 1 and _IPV6.match(piece) else _split_colons(piece)
            terms.extend(term.strip() for term in candidates if term.strip())
    return terms, errors


def _bare(term):
    return term[1:] if term[:1] in ("!", "&") else term


def is_pattern(term):
    """True for a wildcard, range or regex pattern; False for a plain host or group name."""
    term = _bare(term)
    return term.startswith("~") or any(char in term for char in _PATTERN_CHARS)


def _show(spec):
    return ",".join(str(item) for item in spec) if isinstance(spec, (list, tuple)) else str(spec)


def _bool(value, name, errors):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if value is not None else ""
    if text in _TRUE:
        return True
    if text not in _FALSE:
        errors.append("%s must be true or false, got %r" % (name, value))
    return False


def report_file_errors(path, errors):
    """kdump_crash_test_report_file: unset, or an absolute path of a file in an existing directory of the
    controller (this runs there, in the playbook's first play). Relative paths would land wherever the
    module's working directory happens to be; a missing directory is not made, so no mode of an existing
    one is ever touched, and the run cannot find out only after the crashes that the file cannot be written."""
    if path in (None, ""):
        return errors
    name = "kdump_crash_test_report_file=%r" % (path,)
    if not isinstance(path, str) or not path.startswith("/") or any(c in path for c in "\n\r\0"):
        errors.append(name + " must be an absolute path on the controller, e.g. /var/tmp/kdump-crash-test.json")
    elif path.endswith("/") or os.path.isdir(path):
        errors.append(name + " names a directory; name the JSON file to write in it")
    elif not os.path.isdir(os.path.dirname(path)):
        errors.append(
            name + ": its directory %s does not exist on the controller; create it first" % os.path.dirname(path)
        )
    return errors


def report(rows, serial, check_mode=False):
    """The JSON the playbook writes to kdump_crash_test_report_file: the verdict and every host's row."""
    return {
        "format": "kdump.fleet crash test 1",
        "check_mode": bool(check_mode),
        "serial": serial,
        "verdict": verdict(rows, check_mode),
        "hosts": [{key: value for key, value in row.items() if key != "line"} for row in rows],
    }


def _whole_number(value, name, minimum, errors):
    """value as an int >= minimum (ints or digit strings, as -e gives them); None after an error."""
    if isinstance(value, bool) or not re.match(r"^\s*\d+\s*$", str(value)):
        errors.append("%s must be a whole number of at least %d, got %r" % (name, minimum, value))
        return None
    number = int(str(value))
    if number < minimum:
        errors.append("%s must be at least %d, got %d" % (name, minimum, number))
        return None
    return number


def max_fail_percentage(value, errors=None):
    """The percentage as a float in [0, 100]; appends to errors (if given) and returns None when invalid."""
    errors = [] if errors is None else errors
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = None
    if isinstance(value, bool) or number is None or not 0 <= number <= 100:
        errors.append("kdump_crash_test_max_fail_percentage must be a number from 0 to 100, got %r" % (value,))
        return None
    return number


def host_list_text(hosts, shown=SHOWN_HOSTS):
    """'a, b, c' for the first ``shown`` hosts, then 'and N more'."""
    text = ", ".join(hosts[:shown])
    if len(hosts) > shown:
        text += " and %d more" % (len(hosts) - shown)
    return text


def _unknown_name_error(name, known):
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = " (did you mean %s?)" % close[0] if close else ""
    return (
        "kdump_crash_test_hosts names %s, which is neither a host nor a group of the inventory%s; "
        "fix the name, every named host must exist" % (name, hint)
    )


def select_hosts(
    spec,
    match,
    select,
    hosts,
    groups,
    *,
    confirm=False,
    confirm_count=None,
    serial=1,
    max_fail=0,
    report_file=None,
):
    """Check a crash-test host request; return ``{"hosts": [...], "errors": [...]}``.

    spec: kdump_crash_test_hosts (string pattern or list). match(term) -> host names one term (without its
    !/& operator) matches; select(terms) -> the selection of all terms in Ansible's order. hosts: every host
    of the inventory; groups: every group name. A plain name must be a host or a group with hosts; a
    pattern must match a host; a group must have hosts. Exclusions (!x) and intersections (&x) are held to
    the same rules: a typo there would widen the selection. When more hosts are selected than one batch
    (serial) holds, confirm_count must equal their number. report_file (kdump_crash_test_report_file), when
    given, must be an absolute path on the controller.
    """
    errors = []
    report_file_errors(report_file, errors)
    hosts = list(hosts)
    known_hosts = set(hosts)
    groups = set(groups)
    confirmed = _bool(confirm, "kdump_crash_test_confirm", errors)
    if spec is None or spec in ("", [], ()):
        errors.append(
            "The crash test panics the kernel of every host it runs on. Name the hosts with "
            "-e kdump_crash_test_hosts=PATTERN (it never defaults to all) and confirm with "
            "-e kdump_crash_test_confirm=true."
        )
        return {"hosts": [], "errors": errors}
    if not confirmed and not errors:
        errors.append(
            "The crash test panics the kernel of every host it runs on; confirm with -e kdump_crash_test_confirm=true."
        )
    batch = _whole_number(serial, "kdump_crash_test_serial", 1, errors)
    max_fail_percentage(max_fail, errors)
    count = None
    if confirm_count not in (None, ""):
        count = _whole_number(confirm_count, "kdump_crash_test_confirm_count", 1, errors)

    terms, term_errors = split_terms(spec)
    errors.extend(term_errors)
    for term in terms:
        name = _bare(term)
        if not name:
            errors.append("kdump_crash_test_hosts has an operator without a name: %r" % term)
            continue
        try:
            matched = [host for host in match(name) if host in known_hosts]
        except ValueError as exc:
            errors.append("kdump_crash_test_hosts: %s is not a valid pattern: %s" % (name, exc))
            continue
        if matched:
            continue
        if is_pattern(name):
            errors.append("kdump_crash_test_hosts pattern %s matches no host of the inventory" % name)
        elif name in groups:
            errors.append("kdump_crash_test_hosts names the group %s, which has no hosts" % name)
        else:
            errors.append(_unknown_name_error(name, sorted(known_hosts | groups)))
    if errors or not terms:
        if not terms and not errors:
            errors.append("kdump_crash_test_hosts=%s names no host" % _show(spec))
        return {"hosts": [], "errors": errors}

    selected = [host for host in select(terms) if host in known_hosts]
    if not selected:
        errors.append("kdump_crash_test_hosts=%s selects no host of the inventory" % _show(spec))
        return {"hosts": [], "errors": errors}
    listed = "%d host%s (%s)" % (len(selected), "" if len(selected) == 1 else "s", host_list_text(selected))
    if count is not None and count != len(selected):
        errors.append(
            "kdump_crash_test_confirm_count=%d, but kdump_crash_test_hosts=%s selects %s; check the list and "
            "set -e kdump_crash_test_confirm_count=%d if it is right" % (count, _show(spec), listed, len(selected))
        )
    elif count is None and batch is not None and len(selected) > batch:
        errors.append(
            "kdump_crash_test_hosts=%s selects %s, more than one batch of kdump_crash_test_serial=%d; check the "
            "list and confirm the count with -e kdump_crash_test_confirm_count=%d"
            % (_show(spec), listed, batch, len(selected))
        )
    return {"hosts": [] if errors else selected, "errors": errors}


# ---------------------------------------------------------------- results


def host_status(result, check_mode=False):
    """success / failed / not tested / check mode for one host's registered kdump.fleet.crash_test result."""
    if not isinstance(result, dict) or not result or result.get("skipped"):
        return NOT_TESTED
    if result.get("failed") or result.get("unreachable"):
        return FAILED
    if result.get("crashed"):
        return SUCCESS
    if check_mode:
        return CHECK_MODE
    # Not failed, not crashed, not check mode: the action never returns that; it is not a pass.
    return NOT_TESTED


def _message(result, status):
    if not isinstance(result, dict) or not result:
        return NOT_TESTED_MSG
    if result.get("skipped"):
        return "not tested: skipped (%s)" % result.get("skip_reason", "no reason given")
    if result.get("msg"):
        return str(result["msg"])
    if status == NOT_TESTED:
        return "not tested: the crash test reported no crash and no failure"
    return "no message"


def summary_row(host, result, check_mode=False):
    """One summary dict: host, result, timings, dump path/size/share, msg and the printed line."""
    result = result if isinstance(result, dict) else {}
    status = host_status(result, check_mode)
    msg = _message(result, status)
    line = "%s: %s" % (host, status)
    if result.get("dump_path") is not None:
        share = result.get("dump_ram_share")
        line += ", back %s s and dump written %s s after the trigger, %.1f MiB%s, %s" % (
            result.get("trigger_to_up_s"),
            result.get("trigger_to_dump_s"),
            float(result.get("dump_bytes") or 0) / 1048576,
            " (%.1f %% of RAM)" % (share * 100) if share else "",
            result["dump_path"],
        )
        server = (result.get("dump") or {}).get("server") if isinstance(result.get("dump"), dict) else None
        if server:
            line += " on the dump server %s" % server
    if status != SUCCESS:
        line += " - " + msg
    return {
        "host": host,
        "result": status,
        "trigger_to_up_s": result.get("trigger_to_up_s"),
        "trigger_to_dump_s": result.get("trigger_to_dump_s"),
        "dump_path": result.get("dump_path"),
        "dump_server": (result.get("dump") or {}).get("server") if isinstance(result.get("dump"), dict) else None,
        "dump_bytes": result.get("dump_bytes"),
        "dump_ram_share": result.get("dump_ram_share"),
        # phase -> seconds after the crash, as the action saw each (kdump.fleet's _progress)
        "phases": result.get("phases") if isinstance(result.get("phases"), dict) else {},
        "msg": msg,
        "line": line,
    }


def summary_rows(hosts, results, check_mode=False):
    """summary_row for each host; results is a list in the same order or a dict by host name."""
    if isinstance(results, dict):
        results = [results.get(host) for host in hosts]
    results = list(results or [])
    results += [None] * (len(hosts) - len(results))
    return [summary_row(host, results[index], check_mode) for index, host in enumerate(hosts)]


def verdict(rows, check_mode=False):
    """``{"passed": bool, "not_passed": [hosts], "msg": str}`` for the summary rows."""
    not_passed = [row["host"] for row in rows if row["result"] not in PASSING]
    total = len(rows)
    if not_passed:
        msg = "%d of %d hosts did not pass: %s" % (len(not_passed), total, ", ".join(not_passed))
    elif not total:
        msg = "No host was named, nothing was tested."
    elif check_mode:
        msg = "Check mode: all %d hosts would be crash-tested; nothing was crashed." % total
    else:
        msg = "All %d hosts passed the crash test." % total
    return {"passed": bool(total) and not not_passed, "not_passed": not_passed, "msg": msg}


def stop_batches(results, max_fail=0, check_mode=False):
    """True when no new batch may start: more than max_fail percent of the tested hosts failed.

    results: the registered results of the play's hosts (missing or empty = not tested yet, not counted).
    """
    percent = max_fail_percentage(max_fail)
    if percent is None:
        raise ValueError("kdump_crash_test_max_fail_percentage must be a number from 0 to 100, got %r" % (max_fail,))
    statuses = [host_status(result, check_mode) for result in results or []]
    tested = [status for status in statuses if status != NOT_TESTED]
    failed = [status for status in tested if status == FAILED]
    return len(failed) * 100 > percent * len(tested)
