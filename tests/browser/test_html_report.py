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
    assert len([t for t, a in dom.tags if t == "script"]) == 1
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
