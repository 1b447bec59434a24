"""testinfra helpers for the lab scenarios: what the run asked for, and diagnostics on failure."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

DIAGNOSTIC_COMMANDS = (
    "journalctl --unit kdump-tools --boot --no-pager --lines 60",
    "kdump-config show",
    "cat /proc/cmdline",
)


@pytest.fixture
def expected(host) -> dict:
    """What the last converge/reconverge asked for (written by molecule/shared/apply_role.yml)."""
    name = host.backend.get_hostname()
    path = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / f"expected-{name}.json"
    data = json.loads(path.read_text())
    data["reserved_bytes"] = int(data["reserved_bytes"])
    return data


def _diagnostics(host) -> str:
    name = host.backend.get_hostname()
    console = subprocess.run(
        ["kdump-lab", "console", name, "--lines", "60"], capture_output=True, text=True, check=False
    )
    parts = [f"--- serial console of {name} (last 60 lines) ---\n{console.stdout}{console.stderr}"]
    for command in DIAGNOSTIC_COMMANDS:
        try:
            result = host.run(command)
            parts.append(f"--- {command} (rc {result.rc}) ---\n{result.stdout}{result.stderr}")
        except Exception as exc:  # the host may be unreachable: say so and go on
            parts.append(f"--- {command} --- failed: {exc}")
    return "\n".join(parts)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    host = item.funcargs.get("host") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and host is not None:
        report.sections.append(("kdump lab diagnostics", _diagnostics(host)))
