"""The HTML audit report in a real browser: Debian's chromium, headless.

Renders a generated report, takes a screenshot, and checks the DOM after the page's script ran:
the table sorts (via the "#sort=" link, which clicks the header button), the counts are right,
and hostile host names stay text. Skipped only when chromium is not installed.
"""

from __future__ import annotations

import datetime
import html.parser
import importlib.util
import os
import pathlib
import shutil
import struct
import subprocess

import pytest
from ansible_collections.kdump.fleet.plugins.module_utils._audit_reports import write_reports
from ansible_collections.kdump.fleet.plugins.module_utils._fleet_audit import evaluate_fleet, validate_settings

CHROMIUM = shutil.which("chromium")
# `make browser` (and so `make test`) installs chromium and sets this: there a missing
# browser is a failure, not a skip.
if CHROMIUM is None and os.environ.get("KDUMP_FLEET_REQUIRE_BROWSER") == "1":
    raise RuntimeError("chromium is required (KDUMP_FLEET_REQUIRE_BROWSER=1): apt-get install -y chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium); needed for the browser test"
)

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NOW = datetime.datetime(2026, 11, 22, 12, 0, tzinfo=datetime.UTC)
MIB = 1024**2
HOSTILE_HOST = "<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>"
UNIT_TESTS = pathlib.Path(__file__).resolve().parents[1] / "unit" / "plugins" / "module_utils"


def _ready_info():
    """The healthy host of the unit tests (tests/unit/plugins/module_utils/test_audit.py)."""
    spec = importlib.util.spec_from_file_location("kdump_fleet_unit_test_audit", UNIT_TESTS / "test_audit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ready_info()


def host(reserved_mib=256, loaded=True, crash_test=True):
    info = _ready_info()
    info["crashkernel"]["reserved_bytes"] = reserved_mib * MIB
    info["crashkernel"]["loaded"] = loaded
    if not crash_test:
        info["crash_test"] = None
    return {"changed": False, "kdump": info}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    results = {
        "alpha.example.com": host(reserved_mib=512),
        "bravo.example.com": host(reserved_mib=128, loaded=False),  # not ready: below recommended, not loaded
        "charlie.example.com": host(crash_test=False),  # degraded
        "delta.example.com": host(reserved_mib=384),
        HOSTILE_HOST: host(reserved_mib=300, crash_test=False),
        "echo.example.com": {"unreachable": True, "msg": "ssh: connect to host echo port 22: Connection refused"},
    }
    fleet = evaluate_fleet(results, hosts=list(results), settings=validate_settings({"min_ready_percent": 50}), now=NOW)
    directory = tmp_path_factory.mktemp("report")
    return pathlib.Path(write_reports(fleet, str(directory), formats=["html"])["html"])


def chromium(tmp_path, *arguments):
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    profile.mkdir()
    done = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class Dom(html.parser.HTMLParser):
    """Tags and attributes of the dumped DOM, plus the table rows' hosts and the page title."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.titles = []  # the page's <title>, then the SVG chart's
        self._in_title = False

    @property
    def title(self):
        return self.titles[0]

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "title":
            self._in_title = True
            self.titles.append("")

    def handle_endtag(self, tag):
        self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.titles[-1] += data

    def rows(self):
        return [attrs["data-host"] for tag, attrs in self.tags if tag == "tr" and "data-host" in attrs]

    def shown_rows(self):
        return [a["data-host"] for t, a in self.tags if t == "tr" and "data-host" in a and "hidden" not in a]

    def detail_checks(self):
        """(check, result) of each row of the host detail the script drew."""
        return [(a["data-check"], a["data-result"]) for t, a in self.tags if t == "tr" and "data-result" in a]

    def first(self, tag, **wanted):
        return next(a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in wanted.items()))


def dump_dom(tmp_path, report, fragment=""):
    dom = Dom()
    dom.feed(chromium(tmp_path, "--dump-dom", report.as_uri() + fragment))
    return dom


def test_screenshot_is_rendered(tmp_path, report):
    shot = tmp_path / "report.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,1400", report.as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 1400)
    assert len(data) > 20000  # a blank page compresses to a few KiB
    # Kept for a human to look at: pytest's tmp_path of this test.
    shutil.copy(shot, report.with_name("kdump-audit.png"))


def test_page_as_loaded_has_counts_and_worst_hosts_first(tmp_path, report):
    dom = dump_dom(tmp_path, report)
    assert dom.title == "kdump readiness audit"  # the hostile host name did not run
    assert dom.titles[1] == "Fleet readiness: 2 ready, 2 degraded, 2 not ready"
    assert not [t for t, a in dom.tags if t == "img"]
    assert len([t for t, a in dom.tags if t == "script"]) == 2  # the page's script and the hosts' data
    assert "data-ready-ms" in dom.first("table", id="host-table")
    assert dom.first("section", id="host-detail").get("data-host") is None  # no host chosen yet
    table = dom.first("table", id="host-table")
    assert table["data-sorted-by"] == "status:asc"
    assert dom.rows() == [
        "bravo.example.com",
        "echo.example.com",
        HOSTILE_HOST,
        "charlie.example.com",
        "alpha.example.com",
        "delta.example.com",
    ]
    counts = [a["class"] for t, a in dom.tags if t == "div" and a.get("class", "").startswith("count ")]
    assert counts == ["count ready", "count degraded", "count not_ready"]
    assert dom.first("p", id="gate")["class"] == "gate failed"  # 2 of 6 ready < 50 %


def test_clicking_a_header_sorts_descending_by_reserved_size(tmp_path, report):
    dom = dump_dom(tmp_path, report, "#sort=-reserved")
    # The script ran under the page's CSP and clicked the Reserved header twice.
    assert dom.first("table", id="host-table")["data-sorted-by"] == "reserved:desc"
    assert dom.first("th", **{"aria-sort": "descending"})["data-type"] == "number"
    assert dom.rows() == [
        "alpha.example.com",  # 512 MiB
        "delta.example.com",  # 384 MiB
        HOSTILE_HOST,  # 300 MiB
        "charlie.example.com",  # 256 MiB
        "bravo.example.com",  # 128 MiB
        "echo.example.com",  # unknown, sorts as -1
    ]


def test_sorting_by_host_name_ascending(tmp_path, report):
    dom = dump_dom(tmp_path, report, "#sort=host")
    assert dom.first("table", id="host-table")["data-sorted-by"] == "host:asc"
    assert dom.rows() == [
        HOSTILE_HOST,  # "<" sorts before letters
        "alpha.example.com",
        "bravo.example.com",
        "charlie.example.com",
        "delta.example.com",
        "echo.example.com",
    ]
    assert dom.title == "kdump readiness audit"


def test_a_failing_check_link_filters_the_table(tmp_path, report):
    dom = dump_dom(tmp_path, report, "#check=KDUMP-007")
    # bravo has nothing loaded; echo was unreachable, so it fails only KDUMP-000
    assert dom.shown_rows() == ["bravo.example.com"]
    assert dom.first("table", id="host-table")["data-shown"] == "1"
    assert dom.first("select", id="filter-check") is not None


def test_status_and_text_filters_combine(tmp_path, report):
    dom = dump_dom(tmp_path, report, "#status=degraded&q=CHARLIE")
    assert dom.shown_rows() == ["charlie.example.com"]
    everything = dump_dom(tmp_path, report, "#status=ready")
    assert everything.shown_rows() == ["alpha.example.com", "delta.example.com"]


def test_a_distribution_and_kernel_group_link_filters_the_table(tmp_path, report):
    dom = dump_dom(tmp_path, report, "#group=-%20%2F%20-")
    assert dom.shown_rows() == ["echo.example.com"]  # the unreachable host: no distribution, no kernel


def test_a_host_link_draws_that_hosts_checks_and_keeps_hostile_names_as_text(tmp_path, report):
    dom = dump_dom(tmp_path, report, "#host-0")
    assert dom.first("section", id="host-detail")["data-host"] == "bravo.example.com"
    checks = dict(dom.detail_checks())
    assert len(checks) == 17
    assert checks["KDUMP-007"] == "fail" and checks["KDUMP-000"] == "pass"
    hostile = dump_dom(tmp_path, report, "#host-2")
    assert hostile.first("section", id="host-detail")["data-host"] == HOSTILE_HOST
    assert hostile.title == "kdump readiness audit"
    assert not [t for t, a in hostile.tags if t == "img"]
    # A filter link, then a host: the host keeps the filter (a hash without filters leaves them alone).
    both = dump_dom(tmp_path, report, "#status=not_ready&host-1")
    assert both.shown_rows() == ["bravo.example.com", "echo.example.com"]
    assert both.first("section", id="host-detail")["data-host"] == "echo.example.com"


def test_a_crafted_host_link_draws_nothing_and_breaks_nothing(tmp_path, report):
    for fragment in ("#host=length", "#host=constructor", "#host-99", "#status=%E0%A4%A&host-0"):
        dom = dump_dom(tmp_path, report, fragment)
        table = dom.first("table", id="host-table")
        assert "data-ready-ms" in table, fragment  # the script ran to its end
    assert dom.first("section", id="host-detail")["data-host"] == "bravo.example.com"  # host-0 after a bad %-escape
