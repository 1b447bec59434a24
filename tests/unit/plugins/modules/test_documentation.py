"""Every module's DOCUMENTATION, EXAMPLES and RETURN parse as YAML, so a doc typo fails here, not only in sanity."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml

MODULES = sorted(p.stem for p in (Path(__file__).resolve().parents[4] / "plugins" / "modules").glob("*.py"))


def test_the_modules_are_found():
    assert {"crashkernel", "kdump_info", "crash_test", "audit_report"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_documentation_blocks_are_yaml(name):
    module = importlib.import_module(f"ansible_collections.kdump.fleet.plugins.modules.{name}")
    documentation = yaml.safe_load(module.DOCUMENTATION)
    assert documentation["module"] == name
    assert documentation["short_description"]
    assert isinstance(yaml.safe_load(module.EXAMPLES), list)
    returned = yaml.safe_load(module.RETURN)
    assert returned is None or isinstance(returned, dict)
