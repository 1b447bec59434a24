"""docs/design.md's host-state sample is pinned to the schema in _host_state (and so is kdump_info's RETURN)."""

from __future__ import annotations

import pathlib
import re

import yaml
from ansible_collections.kdump.fleet.plugins.module_utils._host_state import conform, schema
from ansible_collections.kdump.fleet.plugins.modules import kdump_info

DESIGN = pathlib.Path(__file__).resolve().parents[2] / "docs" / "design.md"
TYPES = {"str": str, "int": int, "float": (int, float), "bool": bool}


def documented_state():
    text = DESIGN.read_text(encoding="utf-8")
    section = text.split("## Module `kdump.fleet.kdump_info` and the host state", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    return yaml.safe_load(block)["kdump"]


def _walk(sample, shape, where, seen):
    if isinstance(shape, dict) and "*" in shape:  # a mapping of one value type
        assert isinstance(sample, dict), where
        return
    if isinstance(shape, dict):
        assert isinstance(sample, dict), where
        assert set(sample) <= set(shape), f"{where}: not in the schema: {sorted(set(sample) - set(shape))}"
        for key, value in sample.items():
            seen.add(f"{where}.{key}" if where else key)
            if value is not None:
                _walk(value, shape[key], f"{where}.{key}" if where else key, seen)
        return
    if isinstance(shape, list):
        assert isinstance(sample, list), where
        for index, item in enumerate(sample):
            _walk(item, shape[0], f"{where}[{index}]", seen)
        return
    assert isinstance(sample, TYPES[shape]) and not (shape != "bool" and isinstance(sample, bool)), where


def _paths(shape, where=""):
    for key, value in shape.items():
        path = f"{where}.{key}" if where else key
        yield path
        if isinstance(value, dict) and "*" not in value:
            yield from _paths(value, path)


def test_the_documented_sample_has_the_schema_types_and_conforms_without_a_problem():
    sample = documented_state()
    seen = set()
    _walk(sample, schema(), "", seen)
    assert conform(sample, note_missing=True)[1] == []


def test_every_schema_field_is_documented():
    sample = documented_state()
    seen = set()
    _walk(sample, schema(), "", seen)
    # storage and dumps.newest are shown as null in the sample; their fields are those of other records.
    shown_as_null = ("storage.", "dumps.newest.")
    missing = [p for p in _paths(schema()) if p not in seen and not p.startswith(shown_as_null)]
    assert missing == []


def test_kdump_info_return_sample_conforms():
    sample = yaml.safe_load(kdump_info.RETURN)["kdump"]["sample"]
    state, problems = conform(sample, note_missing=True)
    assert problems == []
    assert state["state_version"] == 1
