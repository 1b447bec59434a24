"""Tests of the fleet report writers (plugins/module_utils/_audit_reports.py)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import html.parser
import json
import os
import pathlib
import re
import xml.etree.ElementTree as ET

import pytest
import sibling_tests
from ansible_collections.kdump.fleet.plugins.module_utils import _audit_drift as _drift
from ansible_collections.kdump.fleet.plugins.module_utils import _audit_html, _audit_reports
from ansible_collections.kdump.fleet.plugins.module_utils._audit_reports import (
    FILE_NAMES,
    md_escape,
    render_html,
    render_json,
    render_junit,
    render_markdown,
    write_reports,
)
from ansible_collections.kdump.fleet.plugins.module_utils._audit_text import sorted_hosts
from ansible_collections.kdump.fleet.plugins.module_utils._fleet_audit import evaluate_fleet, validate_settings

ready_info = sibling_tests.load("plugins/module_utils/test_audit.py").ready_info
NOW = datetime.datetime(2026, 11, 22, 12, 0, tzinfo=datetime.UTC)
HOSTILE_HOST = '"><img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>|*[x](y)'
HOSTILE_PATH = "/var/crash/<svg onload=alert(1)>/dump.1"


def registered(info):
    return {"changed": False, "kdump": info}


def sample_fleet(min_ready_percent=100):
    degraded = ready_info()
    degraded["crash_test"] = None
    not_ready = ready_info()
    not_ready["crashkernel"]["loaded"] = False
    unknown = ready_info()
    unknown["sysctl"]["kexec_load_disabled"] = None
    hostile = ready_info()
    hostile["kernel"] = "<b>6.1</b>"
    hostile["dumps"]["items"] = [
        {
            "path": HOSTILE_PATH,
            "mtime": 1.0,
            "size": 1,
            "mode": "0644",
            "dir_mode": "0755",
            "world_readable": True,
            "group_readable": True,
        }
    ]
    results = {
        "web1.example.com": registered(ready_info()),
        "web2.example.com": registered(degraded),
        "db1.example.com": registered(not_ready),
        "db2.example.com": registered(unknown),
        HOSTILE_HOST: registered(hostile),
        "gone.example.com": {"unreachable": True, "msg": "ssh: connect to host gone port 22: No route to host"},
    }
    settings = validate_settings({"min_ready_percent": min_ready_percent})
    return evaluate_fleet(results, hosts=list(results), settings=settings, now=NOW)


# --- JSON ------------------------------------------------------------------------------------------


def test_json_round_trips_every_host_check_and_fact():
    fleet = sample_fleet()
    loaded = json.loads(render_json(fleet))
    assert loaded == fleet
    assert len(loaded["hosts"]) == 6
    assert all(len(h["checks"]) == 17 for h in loaded["hosts"] if h["host"] != "gone.example.com")
    web1 = next(h for h in loaded["hosts"] if h["host"] == "web1.example.com")
    assert web1["facts"]["crashkernel"]["reserved_bytes"] == 268435456
    assert web1["checks"][4]["facts"]["reserved_bytes"] == 268435456


# --- JUnit -----------------------------------------------------------------------------------------

# The structure of Jenkins xunit-plugin's junit-10.xsd (github.com/jenkinsci/xunit-plugin,
# src/main/resources/org/jenkinsci/plugins/xunit/types/model/xsd/junit-10.xsd).
JUNIT_ELEMENTS = {
    "testsuites": {
        "attributes": {"name", "time", "tests", "failures", "errors"},
        "required": set(),
        "children": {"testsuite"},
    },
    "testsuite": {
        "attributes": {
            "name",
            "tests",
            "failures",
            "errors",
            "group",
            "time",
            "skipped",
            "timestamp",
            "hostname",
            "id",
            "package",
            "file",
            "log",
            "url",
        },
        "required": {"name", "tests", "failures", "errors"},
        "children": {"testsuite", "properties", "testcase", "system-out", "system-err"},
    },
    "properties": {"attributes": set(), "required": set(), "children": {"property"}},
    "property": {"attributes": {"name", "value"}, "required": {"name", "value"}, "children": set()},
    "testcase": {
        "attributes": {"name", "time", "classname", "group"},
        "required": {"name"},
        "children": {"skipped", "error", "failure", "system-out", "system-err"},
    },
    "failure": {"attributes": {"type", "message"}, "required": set(), "children": set()},
    "error": {"attributes": {"type", "message"}, "required": set(), "children": set()},
    "skipped": {"attributes": {"type", "message"}, "required": set(), "children": set()},
    "system-out": {"attributes": set(), "required": set(), "children": set()},
}
SUREFIRE_TIME = re.compile(r"^(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?$")


def assert_schema_structure(element):
    rules = JUNIT_ELEMENTS[element.tag]
    assert set(element.attrib) <= rules["attributes"], (element.tag, element.attrib)
    assert rules["required"] <= set(element.attrib), (element.tag, element.attrib)
    if "time" in element.attrib and element.tag in ("testsuites", "testsuite"):
        assert SUREFIRE_TIME.match(element.attrib["time"])
    for child in element:
        assert child.tag in rules["children"], (element.tag, child.tag)
        assert_schema_structure(child)


def test_junit_is_strict_xml_in_the_junit_schema_structure():
    fleet = sample_fleet()
    root = ET.fromstring(render_junit(fleet))
    assert root.tag == "testsuites"
    assert_schema_structure(root)
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [h["host"] for h in fleet["hosts"]]
    cases = root.findall("testsuite/testcase")
    assert root.get("tests") == str(len(cases)) == str(5 * 17 + 1)
    for suite in suites:
        testcases = suite.findall("testcase")
        assert suite.get("tests") == str(len(testcases))
        assert suite.get("failures") == str(len(suite.findall("testcase/failure")))
        assert suite.get("errors") == str(len(suite.findall("testcase/error")))
        assert suite.get("skipped") == str(len(suite.findall("testcase/skipped")))
        assert suite.get("hostname") == suite.get("name")
        assert {case.get("classname") for case in testcases} == {"kdump_audit." + suite.get("name").replace(".", "_")}
        # at most one outcome per check, then its controls (if any) in system-out
        assert all(len([e for e in case if e.tag != "system-out"]) <= 1 for case in testcases)
        assert all("system-out" not in [e.tag for e in case][:-1] for case in testcases)
    assert root.get("failures") == str(len(root.findall("testsuite/testcase/failure")))
    assert root.get("errors") == str(len(root.findall("testsuite/testcase/error")))


def suite_of(root, host):
    return next(s for s in root.findall("testsuite") if s.get("name") == host)


def test_junit_maps_fail_unknown_and_not_applicable():
    root = ET.fromstring(render_junit(sample_fleet()))
    db1 = suite_of(root, "db1.example.com")
    assert db1.find("properties/property").attrib == {"name": "status", "value": "not_ready"}
    failure = db1.find("testcase[@name='KDUMP-007 capture kernel loaded']/failure")
    assert failure.get("type") == "required"
    assert failure.get("message").startswith("no capture kernel is loaded")
    assert failure.text.startswith("remediation: set kdump_enabled: true")
    web2 = suite_of(root, "web2.example.com")
    assert (
        web2.find("testcase[@name='KDUMP-014 recent successful crash-test evidence']/failure").get("type") == "advisory"
    )
    error = suite_of(root, "db2.example.com").find(
        "testcase[@name='KDUMP-012 kernel.kexec_load_disabled not set']/error"
    )
    assert error.get("type") == "unknown"
    skipped = suite_of(root, "web1.example.com").find(
        "testcase[@name='KDUMP-010 NFS/SSH dump target reachable from the host']/skipped"
    )
    assert skipped.get("message") == "local target: nothing to reach over the network"
    passed = suite_of(root, "web1.example.com").find("testcase[@name='KDUMP-001 kdump tools installed']")
    assert list(passed) == []
    gone = suite_of(root, "gone.example.com")
    assert [c.get("name") for c in gone.findall("testcase")] == ["KDUMP-000 host reachable and kdump_info ran"]
    assert "No route to host" in gone.find("testcase/failure").get("message")


def test_junit_survives_hostile_and_control_characters():
    fleet = sample_fleet()
    web1 = next(h for h in fleet["hosts"] if h["host"] == "web1.example.com")
    web1["host"] = "bad\x00host\x1b[31m"
    web1["checks"][0]["finding"] = "a\x07b"
    root = ET.fromstring(render_junit(fleet))
    assert suite_of(root, "bad\ufffdhost\ufffd[31m").find("testcase").get("name").startswith("KDUMP-000")
    assert suite_of(root, HOSTILE_HOST).get("hostname") == HOSTILE_HOST
    texts = [case.get("message") for case in root.iter("failure")]
    assert any(HOSTILE_PATH in (text or "") for text in texts)


# --- Markdown --------------------------------------------------------------------------------------


def test_markdown_has_counts_then_failing_hosts_with_reasons():
    text = render_markdown(sample_fleet(), report_paths={"json": "/r/kdump-audit.json"})
    lines = text.splitlines()
    assert lines[0] == "# kdump readiness audit"
    assert lines[2].startswith(
        "kdump readiness gate FAILED: 1 of 6 hosts ready (16.7 %), kdump_audit_min_ready_percent is 100."
    )
    assert "| ready | 1 | 16.7 % |" in lines
    assert "| degraded | 3 | 50.0 % |" in lines
    assert "| not ready | 2 | 33.3 % |" in lines
    assert text.index("## Failing checks") < text.index("## Not ready hosts (2)") < text.index("## Degraded hosts (3)")
    assert "| KDUMP-007 capture kernel loaded | required | 1 | 0 | set kdump_enabled: true" in text
    assert "- **db1.example.com**\n  - KDUMP-007 no capture kernel is loaded" in text
    assert (
        "- **gone.example.com**\n  - KDUMP-000 unreachable: ssh: connect to host gone port 22: No route to host" in text
    )
    assert "- **db2.example.com**\n  - KDUMP-012 kdump_info did not report kernel.kexec_load_disabled" in text
    assert "web1.example.com" not in text  # ready hosts are counted, not listed
    assert text.endswith("## Reports\n\n- json: /r/kdump-audit.json\n")


def test_markdown_escapes_host_provided_text():
    text = render_markdown(sample_fleet())
    assert "<script>" not in text and "<img" not in text and "<svg" not in text
    assert "&lt;svg onload=alert(1)&gt;" in text
    assert md_escape(HOSTILE_HOST) in text
    assert (
        md_escape("a|b\n# heading `x` *y* [l](u) <t> &") == "a\\|b # heading \\`x\\` \\*y\\* \\[l\\](u) &lt;t&gt; &amp;"
    )


def test_markdown_caps_the_listed_hosts():
    text = render_markdown(sample_fleet(), max_hosts=3)
    assert "## Not ready hosts (2)" in text and "more not ready hosts" not in text
    assert "- ... and 2 more degraded hosts (see the JSON or HTML report)" in text
    assert text.count("- **") == 3


def test_markdown_when_every_host_is_ready():
    fleet = evaluate_fleet({"a": registered(ready_info())}, now=NOW)
    text = render_markdown(fleet)
    assert "gate passed: 1 of 1 hosts ready (100.0 %)" in text
    assert "## Failing checks" not in text and "hosts (" not in text


# --- HTML ------------------------------------------------------------------------------------------


class Page(html.parser.HTMLParser):
    """Collects every tag with its attributes, the text and the script/style bodies."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.text = []
        self.raw = {"script": [], "style": []}
        self._inside = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in self.raw:
            self._inside = tag

    def handle_endtag(self, tag):
        self._inside = None

    def handle_data(self, data):
        if self._inside:
            self.raw[self._inside].append(data)
        else:
            self.text.append(data)


def parse(document):
    page = Page()
    page.feed(document)
    page.close()
    return page


ALLOWED_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "h1",
    "h2",
    "p",
    "section",
    "div",
    "b",
    "svg",
    "text",
    "rect",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "button",
    "a",
    "span",
    "details",
    "summary",
    "pre",
    "script",
    "input",
    "select",
    "option",
    "noscript",
}


def host_data(page):
    """The hosts' data the page's script draws the host detail from (<script type="application/json">)."""
    return json.loads(page.raw["script"][_script_index(page, {"type": "application/json", "id": "host-data"})])


def _script_index(page, attrs):
    return [a for tag, a in page.tags if tag == "script"].index(attrs)


def page_script(page):
    """The page's one executable script."""
    return page.raw["script"][_script_index(page, {})]


def test_html_escapes_every_host_provided_string():
    page = parse(render_html(sample_fleet()))
    assert {tag for tag, _attrs in page.tags} <= ALLOWED_TAGS  # no <img>, <svg onload>, ...
    assert not [attrs for _tag, attrs in page.tags if any(name.startswith("on") for name in attrs)]
    assert len(page.raw["script"]) == 2  # the page's script and the hosts' data
    text = "".join(page.text)
    assert HOSTILE_HOST in text  # shown as text
    assert "<b>6.1</b>" in text
    # The data block holds no markup character at all, so nothing in it can end the block or open a tag.
    data_text = page.raw["script"][_script_index(page, {"type": "application/json", "id": "host-data"})]
    assert not set("<>&") & set(data_text)
    data = host_data(page)
    assert HOSTILE_HOST in [host["host"] for host in data["hosts"]]
    assert HOSTILE_PATH in json.dumps(data["hosts"], ensure_ascii=False)
    # The only <b> elements are the summary counts.
    assert sum(1 for tag, _attrs in page.tags if tag == "b") == 3


def test_html_is_self_contained_and_locked_by_its_csp():
    document = render_html(sample_fleet())
    page = parse(document)
    for tag, attrs in page.tags:
        assert "src" not in attrs, tag
        if "href" in attrs:
            assert attrs["href"].startswith("#"), attrs
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", document)
    csp = next(a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")

    def sha(text):
        return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"

    style, script = sha(page.raw["style"][0]), sha(page_script(page))
    assert csp == f"default-src 'none'; style-src {style}; script-src {script}; img-src data:"


def test_html_summary_chart_table_and_details():
    fleet = sample_fleet()
    page = parse(render_html(fleet))
    counts = [attrs for tag, attrs in page.tags if tag == "div" and attrs.get("class", "").startswith("count ")]
    assert [c["class"] for c in counts] == ["count ready", "count degraded", "count not_ready"]
    bars = {
        a["class"]: float(a["width"]) for t, a in page.tags if t == "rect" and a.get("class", "").startswith("bar-")
    }
    assert bars == {"bar-ready": round(320 / 6, 1), "bar-degraded": 160.0, "bar-not_ready": round(640 / 6, 1)}
    rows = [a for t, a in page.tags if t == "tr" and "data-host" in a]
    assert [r["data-status"] for r in rows] == ["not_ready"] * 2 + ["degraded"] * 3 + ["ready"]
    assert [r["data-host"] for r in rows] == [
        "db1.example.com",
        "gone.example.com",
        HOSTILE_HOST,
        "db2.example.com",
        "web2.example.com",
        "web1.example.com",
    ]
    keys = [a["data-key"] for t, a in page.tags if t == "button"]
    assert keys == [
        "host",
        "status",
        "required_failed",
        "advisory_failed",
        "unknown",
        "distribution",
        "kernel",
        "reserved",
        "reason",
    ]
    links = [a["href"] for t, a in page.tags if t == "a" and a["href"].startswith("#host-")]
    assert links == [f"#host-{i}" for i in range(6)]
    # The detail each link opens: the same host at the same index, with every check.
    data = host_data(page)
    assert [h["host"] for h in data["hosts"]] == [r["data-host"] for r in rows]
    assert [len(h["checks"]) for h in data["hosts"]] == [len(h["checks"]) for h in sorted_hosts(fleet)]
    assert set(data["catalogue"]) == {entry["id"] for entry in fleet["catalogue"]}
    text = "".join(page.text)
    assert "Fleet readiness: 1 ready, 3 degraded, 2 not ready" in text
    assert "kdump readiness gate FAILED: 1 of 6 hosts ready (16.7 %)" in text


def test_html_counts_per_failing_check_link_to_the_filtered_table():
    fleet = sample_fleet()
    page = parse(render_html(fleet))
    rows = [a for t, a in page.tags if t == "tr" and "data-check" in a and "data-result" not in a]
    failing = fleet["summary"]["checks"]
    assert [r["data-check"] for r in rows][: len(failing)] == list(failing)
    links = [a["href"] for t, a in page.tags if t == "a" and a["href"].startswith("#check=")]
    assert links == [f"#check={check}" for check in failing]
    # Each host row names the checks it fails (or cannot tell), which is what the check filter matches.
    by_host = {a["data-host"]: a["data-checks"].split() for t, a in page.tags if t == "tr" and "data-host" in a}
    assert by_host["web1.example.com"] == []
    assert "KDUMP-007" in by_host["db1.example.com"]  # nothing loaded
    assert by_host["gone.example.com"] == ["KDUMP-000"]
    options = [a["value"] for t, a in page.tags if t == "option"]
    assert options[:4] == ["", "not_ready", "degraded", "ready"]
    assert [o for o in options if o.startswith("KDUMP-")] == list(failing)


def test_html_groups_hosts_by_distribution_and_kernel_worst_first():
    fleet = sample_fleet()
    page = parse(render_html(fleet))
    groups = [a["data-group"] for t, a in page.tags if t == "tr" and "data-group" in a and "data-host" not in a]
    # Most not ready first, then most degraded: Debian 12 has one not ready and two degraded hosts, the
    # unreachable host (no facts) one not ready.
    assert groups == ["debian 12 / 6.1.0-28-amd64", "- / -", "debian 12 / <b>6.1</b>"]
    links = [a["href"] for t, a in page.tags if t == "a" and a["href"].startswith("#group=")]
    assert links[0] == "#group=debian%2012%20%2F%206.1.0-28-amd64"
    rows = {a["data-host"]: a["data-group"] for t, a in page.tags if t == "tr" and "data-host" in a}
    assert rows["web1.example.com"] == "debian 12 / 6.1.0-28-amd64"
    assert sorted(set(rows.values())) == sorted(groups)


def test_html_chart_labels_fit_the_chart_at_fleet_size():
    fleet = sample_fleet()
    fleet["summary"].update(total=5000, ready=0, degraded=0, not_ready=5000)
    page = parse(_audit_html._chart(fleet["summary"]))
    width = int(next(a for t, a in page.tags if t == "svg")["width"])
    label = next(a for t, a in page.tags if t == "text" and a.get("class") == "label-not_ready")
    text = "".join(page.text)
    assert "5000 (100.0 %)" in text
    assert int(label["x"]) + 9 * len("5000 (100.0 %)") <= width


def test_html_host_data_has_no_number_the_browser_cannot_parse():
    text = _audit_html._script_json({"a": float("nan"), "b": [float("inf"), 1.5], "c": {"d": float("-inf")}})
    assert json.loads(text) == {"a": None, "b": [None, 1.5], "c": {"d": None}}


def test_html_host_data_cannot_end_its_script_block():
    text = _audit_html._script_json({"host": "</script><script>alert(1)</script><!--", "note": "a & b"})
    assert not set("<>&") & set(text)
    assert json.loads(text) == {"host": "</script><script>alert(1)</script><!--", "note": "a & b"}


def test_html_gate_passed_styling():
    document = render_html(sample_fleet(min_ready_percent=10))
    assert '<p class="gate passed" id="gate">kdump readiness gate passed' in document


# --- files -----------------------------------------------------------------------------------------


def test_write_reports_writes_each_format_atomically(tmp_path):
    fleet = sample_fleet()
    target = tmp_path / "new" / "dir"
    paths = write_reports(fleet, str(target))
    assert paths == {fmt: str(target / FILE_NAMES[fmt]) for fmt in ("json", "junit", "markdown", "html")}
    assert json.loads((target / "kdump-audit.json").read_text()) == fleet
    assert (target / "kdump-audit.md").read_text() == render_markdown(fleet)
    assert (target / "kdump-audit.html").read_text() == render_html(fleet)
    assert sorted(p.name for p in target.iterdir()) == sorted(FILE_NAMES.values())  # no temporary files left
    for name in FILE_NAMES.values():
        assert (target / name).stat().st_mode & 0o777 == 0o600, name
    assert target.stat().st_mode & 0o777 == 0o700


def test_write_reports_makes_a_new_directory_owner_only_whatever_the_umask(tmp_path):
    old = os.umask(0o002)
    try:
        paths = write_reports(sample_fleet(), str(tmp_path / "reports"), formats=["json"])
    finally:
        os.umask(old)
    assert (tmp_path / "reports").stat().st_mode & 0o777 == 0o700
    assert pathlib.Path(paths["json"]).stat().st_mode & 0o777 == 0o600


def test_write_reports_leaves_the_mode_of_an_existing_directory_alone(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    paths = write_reports(sample_fleet(), str(shared), formats=["markdown"])
    assert shared.stat().st_mode & 0o777 == 0o755
    assert pathlib.Path(paths["markdown"]).stat().st_mode & 0o777 == 0o600


def test_write_reports_only_the_chosen_formats(tmp_path):
    paths = write_reports(sample_fleet(), str(tmp_path), formats=["junit"])
    assert list(paths) == ["junit"]
    assert [p.name for p in tmp_path.iterdir()] == ["kdump-audit.junit.xml"]


def test_write_reports_leaves_no_temporary_file_when_a_write_fails(tmp_path, monkeypatch):
    def full_disk(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_audit_reports.os, "replace", full_disk)
    with pytest.raises(OSError):
        write_reports(sample_fleet(), str(tmp_path))
    assert list(tmp_path.iterdir()) == []


# --- controls, exceptions and drift in every format ----------------------------------------------

HOSTILE_REASON = "<script>alert(1)</script> | *not* [a](link)"


def masked_rhel9():
    info = ready_info()
    info["distribution"] = {"id": "rhel", "version": "9.4", "codename": None}
    info["service"].update(name="kdump", masked=True, unit_file_state="masked")
    return info


def compliance_fleet(previous=None):
    """db1 (RHEL 9, masked unit) excepted by group; db2 masked with an expired exception; web1 ready."""
    results = {
        "db1.example.com": registered(masked_rhel9()),
        "db2.example.com": registered(masked_rhel9()),
        "web1.example.com": registered(ready_info()),
    }
    exceptions = [
        {
            "hosts": "dbservers:!db2*",
            "check": "KDUMP-013",
            "reason": HOSTILE_REASON,
            "approved_by": "ISSO <J. Doe>",
            "expires": "2026-12-31",
        },
        {
            "hosts": "db2.example.com",
            "check": "KDUMP-013",
            "reason": "migration window",
            "approved_by": "CAB",
            "expires": "2026-11-01",
        },
    ]
    groups = {"all": list(results), "dbservers": ["db1.example.com", "db2.example.com"]}
    return evaluate_fleet(
        results, hosts=list(results), now=NOW, exceptions=exceptions, groups=groups, previous=previous
    )


def drifted_fleet():
    """The compliance fleet against a previous run where db1 and db2 were ready and old.example.com existed."""
    before = {
        "db1.example.com": registered(ready_info()),
        "db2.example.com": registered(ready_info()),
        "old.example.com": registered(ready_info()),
    }
    previous = _drift.parse_previous(render_json(evaluate_fleet(before, now=NOW)), "/r/<old>/kdump-audit.json")
    return compliance_fleet(previous)


def test_json_carries_the_controls_the_exceptions_and_the_drift():
    fleet = drifted_fleet()
    loaded = json.loads(render_json(fleet))
    assert loaded == fleet
    assert loaded["version"] == 2
    hosts = {h["host"]: h for h in loaded["hosts"]}
    db1 = {c["id"]: c for c in hosts["db1.example.com"]["checks"]}
    assert db1["KDUMP-013"]["result"] == "excepted"
    assert db1["KDUMP-013"]["exception"]["reason"] == HOSTILE_REASON
    assert db1["KDUMP-013"]["controls"][0]["id"] == "service_kdump_disabled"
    assert hosts["db1.example.com"]["status"] == "ready"
    assert hosts["db2.example.com"]["status"] == "not_ready"
    assert [e["excepted_hosts"] for e in loaded["exceptions"]] == [["db1.example.com"], []]
    assert loaded["drift"]["newly_not_ready"][0]["host"] == "db2.example.com"
    assert loaded["drift"]["appeared"] == [{"host": "web1.example.com", "status": "ready"}]
    assert loaded["drift"]["disappeared"] == [{"host": "old.example.com", "status": "ready"}]
    assert loaded["summary"]["excepted"] == 1 and loaded["summary"]["expired_exceptions"] == 1


def test_junit_shows_an_excepted_check_as_skipped_with_the_reason_and_each_checks_controls():
    root = ET.fromstring(render_junit(drifted_fleet()))
    assert_schema_structure(root)
    db1 = suite_of(root, "db1.example.com")
    case = db1.find("testcase[@name='KDUMP-013 kdump service not masked by a hardening profile']")
    skipped = case.find("skipped")
    assert skipped.get("type") == "excepted"
    assert skipped.get("message").startswith(
        "excepted by kdump_audit_exceptions[0], approved by ISSO <J. Doe>, valid through 2026-12-31: " + HOSTILE_REASON
    )
    assert "; finding: kdump is masked, as the hardening rule service_kdump_disabled" in skipped.get("message")
    assert db1.get("skipped") == "2"  # KDUMP-010 (local target) and the excepted KDUMP-013
    # the controls, with this host's own STIG ID (RHEL 9)
    assert case.find("system-out").text == "controls: conflicts with service_kdump_disabled (DISA STIG RHEL-09-213115)"
    web1 = suite_of(root, "web1.example.com")  # Debian: no STIG ID of its own, all are listed
    passed = web1.find("testcase[@name='KDUMP-002 kdump service enabled and active']")
    assert passed.find("failure") is None
    assert passed.find("system-out").text.startswith(
        "controls: conflicts with service_kdump_disabled (DISA STIG RHEL-08-010670, RHEL-09-213115"
    )
    assert web1.find("testcase[@name='KDUMP-001 kdump tools installed']/system-out") is None
    expired = suite_of(root, "db2.example.com").find(
        "testcase[@name='KDUMP-013 kdump service not masked by a hardening profile']/failure"
    )
    assert expired.get("message").endswith(
        "the exception for it (kdump_audit_exceptions[1], approved by CAB: migration window) expired on 2026-11-01"
    )


def test_markdown_starts_with_the_drift_and_shows_exceptions_and_controls():
    fleet = drifted_fleet()
    text = render_markdown(fleet)
    assert text.index("## Since the previous audit") < text.index("| status | hosts | share |")
    assert (
        "Compared with the report of 2026-11-22T12:00:00+00:00 (/r/&lt;old&gt;/kdump-audit.json, version 2, 3 hosts): "
        "1 newly not ready, 0 fixed, 0 other status change(s), 2 check result(s) changed, 1 host(s) appeared, "
        "1 disappeared." in text
    )
    assert "- Newly not ready (1):\n  - **db2.example.com** (ready -> not ready): KDUMP-013 kdump is masked" in text
    assert "- Appeared (1):\n  - **web1.example.com** (ready)" in text
    assert "- Disappeared (1):\n  - **old.example.com** (was ready)" in text
    assert (
        "- Checks changed (2):\n  - **db1.example.com** KDUMP-013 kdump service not masked by a hardening profile: "
        "pass -> excepted\n  - **db2.example.com** KDUMP-013 kdump service not masked by a hardening profile: "
        "pass -> fail" in text
    )
    assert "1 failed check(s) excepted by a documented exception; 1 failing because their exception has expired" in text
    assert (
        "| kdump_audit_exceptions[0] | KDUMP-013 | dbservers:!db2\\* | &lt;script&gt;alert(1)&lt;/script&gt; \\| "
        "\\*not\\* \\[a\\](link) | ISSO &lt;J. Doe&gt; | 2026-12-31 | db1.example.com | - | - |" in text
    )
    assert (
        "| kdump_audit_exceptions[1] | KDUMP-013 | db2.example.com | migration window | CAB | 2026-11-01 (EXPIRED) | "
        "- | db2.example.com | - |" in text
    )
    assert "<script>" not in text
    assert (
        "| KDUMP-013 kdump service not masked by a hardening profile | conflicts with | service_kdump_disabled | "
        "RHEL-08-010670 (RHEL 8), RHEL-09-213115 (RHEL 9)" in text
    )
    assert "| KDUMP-015 existing dumps readable by their owner only | evidences | service_kdump_disabled |" in text
    assert "ComplianceAsCode/content@b3a2cca linux_os/guide/services/base/service_kdump_disabled/rule.yml |" in text
    # The printed summary keeps the drift and the exceptions but leaves the static controls table to the file.
    printed = render_markdown(fleet, max_hosts=1)
    assert "## Since the previous audit" in printed and "## Exceptions" in printed
    assert "## Controls" not in printed


def test_markdown_caps_the_drift_lists_and_says_when_nothing_changed():
    before = {f"web{i}": registered(ready_info()) for i in range(4)}
    broken = ready_info()
    broken["crashkernel"]["loaded"] = False
    after = {f"web{i}": registered(broken) for i in range(4)}
    previous = _drift.parse_previous(render_json(evaluate_fleet(before, now=NOW)), "prev.json")
    text = render_markdown(evaluate_fleet(after, now=NOW, previous=previous), max_hosts=2)
    assert "- Newly not ready (4):" in text
    assert text.count("(ready -> not ready)") == 2
    assert "  - ... and 2 more (see the JSON or HTML report)" in text
    same = render_markdown(evaluate_fleet(before, now=NOW, previous=previous))
    assert "No change since the report of 2026-11-22T12:00:00+00:00 (prev.json, version 2, 4 hosts)" in same


def test_html_shows_drift_on_top_exceptions_controls_and_escapes_them():
    document = render_html(drifted_fleet())
    page = parse(document)
    assert {tag for tag, _attrs in page.tags} <= ALLOWED_TAGS
    assert not [attrs for _tag, attrs in page.tags if any(name.startswith("on") for name in attrs)]
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", document)  # sources are named, not linked
    assert sum(1 for tag, _attrs in page.tags if tag == "b") == 3
    ids = [attrs.get("id") for _tag, attrs in page.tags if attrs.get("id")]
    assert ids.index("gate") < ids.index("drift") < ids.index("counts") < ids.index("exception-table")
    assert ids.index("exception-table") < ids.index("host-table") < ids.index("controls-table")
    changes = [attrs["data-change"] for tag, attrs in page.tags if tag == "tr" and "data-change" in attrs]
    assert changes == ["newly_not_ready", "appeared", "disappeared", "check_changed", "check_changed"]
    states = [attrs["data-state"] for tag, attrs in page.tags if tag == "tr" and "data-exception" in attrs]
    assert states == ["valid", "expired"]
    text = "".join(page.text)
    assert HOSTILE_REASON in text and "ISSO <J. Doe>" in text  # shown as text, never as markup
    # The host detail the script draws: the excepted check says so, with its controls for the host's product.
    checks = [check for host in host_data(page)["hosts"] for check in host["checks"]]
    excepted = [check for check in checks if check[4] == "excepted"]
    assert excepted and excepted[0][5].startswith(
        "excepted by kdump_audit_exceptions[0], approved by ISSO <J. Doe>, valid through 2026-12-31"
    )
    assert "conflicts with service_kdump_disabled (DISA STIG RHEL-09-213115)" in [check[3] for check in checks]
    assert "RHEL-08-010670 (RHEL 8, ComplianceAsCode/content@b3a2cca products/rhel8/controls/stig_rhel8.yml)" in text
    assert "/r/<old>/kdump-audit.json" in text
    badges = [attrs["class"] for tag, attrs in page.tags if tag == "span" and "badge" in attrs.get("class", "")]
    assert "badge excepted" in badges


def test_reports_without_exceptions_or_drift_have_no_such_sections():
    fleet = sample_fleet()
    assert fleet["exceptions"] == [] and fleet["drift"] is None
    text = render_markdown(fleet)
    assert "## Since the previous audit" not in text and "## Exceptions" not in text
    assert "excepted by a documented exception" not in text
    document = render_html(fleet)
    assert 'id="drift"' not in document and 'id="exception-table"' not in document
    assert 'id="controls-table"' in document
