"""Property tests of the one readiness evaluator on broken host states (issue 12, class 6).

Starting from the audit tests' ready Debian 12 state, fields named by their dotted path in
``_host_state.schema()`` get values of the wrong type: strings such as "false", "no" or "1" where a
bool belongs, lists and mappings, bools where numbers belong, NaN and Infinity, huge integers, and
null. Whatever the state, the evaluator never raises, a check that reads a wrong-typed field is never
passed (and the host record names the field), one broken host costs neither the fleet record of the
others nor their "ready" status, and every report renders (the JSON without NaN or Infinity).
"""

from __future__ import annotations

import copy
import importlib.util
import json
import math
import os
import pathlib
import re
import xml.etree.ElementTree as ET

# Hypothesis keeps caches in ./.hypothesis unless told otherwise; keep them out of the collection tree.
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY", str(pathlib.Path(__file__).resolve().parents[4] / ".tmp" / "hypothesis")
)

import pytest  # noqa: E402
from ansible_collections.kdump.fleet.plugins.filter.readiness import readiness  # noqa: E402
from ansible_collections.kdump.fleet.plugins.module_utils import (  # noqa: E402
    _audit_reports,
    _fleet_audit,
    _host_state,
    _readiness,
)
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _audit_tests():
    path = pathlib.Path(__file__).parent / "test_audit.py"
    spec = importlib.util.spec_from_file_location("kdump_fleet_readiness_properties_test_audit", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TEST_AUDIT = _audit_tests()
NOW = TEST_AUDIT.NOW
SETTINGS = _fleet_audit.validate_settings()
RECORD, MAPPING = "record", "mapping"


def _kinds(schema, ready, prefix=""):
    """(dotted path, kind) of every field whose parent the ready state has; kind is a type name,
    RECORD, MAPPING (of str) or ("list", item kind)."""
    for name, kind in schema.items():
        path = prefix + name
        value = ready.get(name) if isinstance(ready, dict) else None
        if isinstance(kind, dict) and list(kind) == ["*"]:
            yield path, MAPPING
            for key in value or {}:
                yield f"{path}.{key}", kind["*"]
        elif isinstance(kind, dict):
            yield path, RECORD
            if isinstance(value, dict):
                yield from _kinds(kind, value, path + ".")
        elif isinstance(kind, list):
            (item,) = kind
            yield path, ("list", RECORD if isinstance(item, dict) else item)
            for index, element in enumerate(value or []):
                if isinstance(item, dict):
                    yield f"{path}[{index}]", RECORD
                    yield from _kinds(item, element, f"{path}[{index}].")
                else:
                    yield f"{path}[{index}]", item
        else:
            yield path, kind


KINDS = dict(_kinds(_host_state.schema(), TEST_AUDIT.ready_info()))
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _steps(path):
    return [name if index == "" else int(index) for name, index in _STEP.findall(path)]


def _replace(state, path, value):
    *parents, last = _steps(path)
    node = state
    for step in parents:
        node = node[step]
    node[last] = value


def _is_wrong(value, kind):
    """Whether ``value`` does not fit ``kind`` (null always fits: it means unknown)."""
    if value is None:
        return False
    if kind == RECORD:
        return True  # a non-mapping, or a mapping without the record's fields (they are missing)
    if kind == MAPPING:
        return not isinstance(value, dict) or any(_is_wrong(item, "str") for item in value.values())
    if isinstance(kind, tuple):
        return not isinstance(value, (list, tuple)) or any(_is_wrong(item, kind[1]) for item in value)
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return not {
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": number and math.isfinite(value),
        "str": isinstance(value, str),
    }[kind]


ODD = st.one_of(
    st.sampled_from(["false", "no", "0", "1", "yes", "true", "", "NaN", "Infinity", "256M"]),
    st.booleans(),
    st.sampled_from([float("nan"), float("inf"), float("-inf"), 1.5, -0.0, 0.0, 1.0]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**63, 2**64 + 1, 10**30, -1]),
    st.lists(st.one_of(st.integers(), st.booleans(), st.just(float("nan"))), max_size=2),
    # keys that are no field name: a mapping in place of a record leaves every field missing
    st.dictionaries(st.sampled_from(["a", "x", "1"]), st.one_of(st.integers(), st.booleans()), max_size=2),
)


def _wrong_value(kind):
    return ODD.filter(lambda value: _is_wrong(value, kind))


@st.composite
def broken_states(draw, allow_null=False):
    """(state, {path: value}) with one to three fields replaced; no replaced path lies inside another."""
    paths = draw(st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=3, unique=True))
    paths = [p for p in paths if not any(p != q and p.startswith((q + ".", q + "[")) for q in paths)]
    state = TEST_AUDIT.ready_info()
    replaced = {}
    for path in paths:
        kind = KINDS[path]
        value = draw(_wrong_value(kind) | st.none()) if allow_null else draw(_wrong_value(kind))
        _replace(state, path, copy.deepcopy(value))
        replaced[path] = value
    return state, replaced


def _covers(path, read):
    """Whether a check that reads ``read`` looks at ``path`` (the field itself, inside it, or around it)."""
    return path == read or path.startswith((read + ".", read + "[")) or read.startswith(path + ".")


def _reading(path):
    return [check.id for check in _readiness.CATALOGUE if any(_covers(path, read) for read in check.reads)]


def _no_constant(name):
    raise ValueError(f"the JSON report holds {name}")


def _render_everything(fleet):
    text = _audit_reports.render_json(fleet)
    json.loads(text, parse_constant=_no_constant)
    ET.fromstring(_audit_reports.render_junit(fleet))
    assert _audit_reports.render_markdown(fleet)
    assert _audit_reports.render_markdown(fleet, max_hosts=1)
    assert _audit_reports.render_html(fleet)


SELECTIONS = {
    "role_verify": _readiness.ROLE_VERIFY_CHECKS,
    "crash_test": _readiness.CRASH_TEST_CHECKS,
    "all": _readiness.CHECK_IDS[1:],
}
PROPERTY = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def test_the_ready_state_is_ready_and_the_paths_reach_every_field_a_check_reads():
    record = _fleet_audit.evaluate_host("web01", TEST_AUDIT.ready_info(), SETTINGS, NOW)
    assert record["status"] == _fleet_audit.READY, record["reasons"]
    assert record["errors"] == []
    # the paths the property tests pick from reach into every part of the schema the checks read
    for check in _readiness.CATALOGUE:
        for read in check.reads:
            assert any(_covers(path, read) for path in KINDS), (check.id, read)


@PROPERTY
@given(broken_states())
def test_a_wrong_typed_field_never_passes_a_check_that_reads_it(case):
    state, replaced = case
    record = _fleet_audit.evaluate_host("odd01", state, SETTINGS, NOW)
    results = {check["id"]: check for check in record["checks"]}
    for path in replaced:
        for check_id in _reading(path):
            check = results[check_id]
            assert check["result"] == _readiness.UNKNOWN, (path, replaced[path], check)
            assert check["remediation"]
        assert any(
            error.startswith("kdump_info state: ") and _covers(error[len("kdump_info state: ") :].split(":")[0], path)
            for error in record["errors"]
        ), (path, record["errors"])
    spoiled = {check_id for path in replaced for check_id in _reading(path)}
    if any(
        record_check["severity"] == _readiness.REQUIRED
        for record_check in record["checks"]
        if record_check["id"] in spoiled
    ):
        assert record["status"] != _fleet_audit.READY, record
    # the role's verify step and the crash test's guard: unknown counts as a failure there
    for selection, ids in SELECTIONS.items():
        verdict = readiness(state, selection)
        wanted = spoiled & set(ids)
        assert wanted <= {item["id"] for item in verdict["failures"]}, (selection, replaced, verdict)
        if wanted:
            assert verdict["ready"] is False
    readiness(state, expect="off")
    json.dumps(record, allow_nan=False)


# Fields a check reads by name where null ("kdump_info could not tell") still lets it pass, and why.
NULL_MAY_PASS = {
    # the check's own fact is elsewhere; this field only feeds the message or the facts
    ("crashkernel.cmdline", "KDUMP-004"),
    ("crashkernel.reserved_source", "KDUMP-004"),
    ("crashkernel.configured", "KDUMP-003"),  # the running command line has it: that is what counts
    ("crashkernel.reserved_bytes", "KDUMP-007"),  # kexec_crash_loaded says a capture kernel is loaded
    ("crashkernel.loaded", "KDUMP-012"),
    ("memory", "KDUMP-005"),
    ("memory", "KDUMP-006"),
    ("packages", "KDUMP-001"),  # tools_installed is the fact
    ("errors", "KDUMP-014"),  # a readable evidence record is there
    ("kernel", "KDUMP-014"),
    # unknown means the larger estimate: the unfiltered ratio, or the ratio instead of the last dump
    ("config.collector.dump_level", "KDUMP-011"),
    ("crash_test.dump_bytes", "KDUMP-011"),
    # kdump_info reports storage and dumps for a local target only; KDUMP-009 fails a missing target
    ("config.target", "KDUMP-011"),
    ("config.target.type", "KDUMP-015"),
    # the file was read (its target is there): unknown existence or no error list is no finding
    ("config.exists", "KDUMP-008"),
    ("config.exists", "KDUMP-009"),
    ("config.errors", "KDUMP-009"),
    # the hardening conflict (KDUMP-012, KDUMP-013): these only say which policy wins and which STIG ID
    # to except; the sysctl and the unit's mask state are the facts
    ("service.enabled", "KDUMP-012"),
    ("crashkernel.reserved_bytes", "KDUMP-012"),
    ("crashkernel.configured", "KDUMP-012"),
    ("distribution.id", "KDUMP-012"),
    ("distribution.version", "KDUMP-012"),
    ("crashkernel.loaded", "KDUMP-013"),
    ("crashkernel.reserved_bytes", "KDUMP-013"),
    ("crashkernel.configured", "KDUMP-013"),
    ("distribution.id", "KDUMP-013"),
    ("distribution.version", "KDUMP-013"),
}


@pytest.mark.parametrize("path", sorted(KINDS))
def test_null_in_any_field_is_unknown_or_absent_never_an_error(path):
    state = TEST_AUDIT.ready_info()
    _replace(state, path, None)
    record = _fleet_audit.evaluate_host("odd01", state, SETTINGS, NOW)
    assert record["errors"] == []  # null is a value of every field: unknown, not wrong
    for check in record["checks"]:
        if path in _readiness.CHECKS_BY_ID[check["id"]].reads and (path, check["id"]) not in NULL_MAY_PASS:
            assert check["result"] != _readiness.PASS, check
    for selection in SELECTIONS:
        readiness(state, selection)
    readiness(state, expect="off")


def test_the_null_exceptions_are_fields_the_checks_read():
    for path, check_id in NULL_MAY_PASS:
        assert path in _readiness.CHECKS_BY_ID[check_id].reads, (path, check_id)


@PROPERTY
@given(broken_states(allow_null=True), st.integers(min_value=0, max_value=3))
def test_one_broken_host_costs_the_fleet_nothing_and_every_report_renders(case, position):
    state, replaced = case
    names = [f"web{i:02d}" for i in range(1, 4)]
    broken = names[position] if position < len(names) else "zz-odd"
    results = {name: {"kdump": TEST_AUDIT.ready_info(), "changed": False} for name in names}
    results[broken] = {"kdump": state, "changed": False}
    fleet = _fleet_audit.evaluate_fleet(results, hosts=names + [broken], settings=SETTINGS, now=NOW)
    records = {record["host"]: record for record in fleet["hosts"]}
    assert sorted(records) == sorted(set(names + [broken]))
    for name in records:
        if name != broken:
            assert records[name]["status"] == _fleet_audit.READY, records[name]["reasons"]
    assert records[broken]["checks"], records[broken]
    assert fleet["summary"]["total"] == len(records)
    _render_everything(fleet)


@PROPERTY
@given(
    st.one_of(
        st.none(),
        st.sampled_from(["false", "", "{}", float("nan"), 0, True, [], [{}], ["kdump"]]),
        st.dictionaries(st.sampled_from(["kdump", "msg", "unreachable", "skipped", "module_stderr"]), ODD, max_size=3),
    )
)
def test_an_odd_registered_result_is_a_host_not_audited_and_the_reports_render(registered):
    results = {"web01": {"kdump": TEST_AUDIT.ready_info()}, "odd01": registered}
    fleet = _fleet_audit.evaluate_fleet(results, hosts=["web01", "odd01"], settings=SETTINGS, now=NOW)
    records = {record["host"]: record for record in fleet["hosts"]}
    assert records["web01"]["status"] == _fleet_audit.READY
    assert records["odd01"]["status"] != _fleet_audit.READY
    _render_everything(fleet)


@pytest.mark.parametrize("value", [None, "false", 0, [], {"state_version": "1"}, float("nan")])
def test_a_state_that_is_not_a_mapping_makes_every_check_unknown(value):
    record = _fleet_audit.evaluate_host("odd01", value, SETTINGS, NOW)
    for check in record["checks"]:
        if check["id"] != "KDUMP-000":
            assert check["result"] != _readiness.PASS, check
    assert record["status"] != _fleet_audit.READY
    assert readiness(value, "all")["ready"] is False
    assert readiness(value, expect="off")["ready"] is False
