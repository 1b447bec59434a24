"""Every conditional in the collection's and the lab's YAML is a string (or a bool).

A condition with ": " in it, unquoted, is a YAML mapping, not an expression; ansible-core 2.19 then
fails the task at run time ("Conditional expressions must be strings"), which no linter here reports.
The real-crash lab step lost a run to one: `- lab_newest.panic == 'Kernel panic - not syncing: ...'`.
"""

from __future__ import annotations

import pathlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
KEYS = ("when", "that", "failed_when", "changed_when", "until")
FILES = sorted(
    path
    for folder in ("playbooks", "roles", "molecule")
    for path in (ROOT / folder).rglob("*.yml")
    if "templates" not in path.parts
)


def conditionals(node, where="$"):
    """(where, value) of every item under a conditional key, anywhere in a loaded YAML document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in KEYS and not (key == "that" and not isinstance(value, (list, str, bool, dict))):
                items = value if isinstance(value, list) else [value]
                yield from ((f"{where}.{key}[{i}]", item) for i, item in enumerate(items))
            yield from conditionals(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from conditionals(item, f"{where}[{index}]")


def test_the_files_are_found():
    assert len(FILES) > 50


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_conditional_is_a_string(path):
    document = yaml.safe_load(path.read_text())
    wrong = [(where, value) for where, value in conditionals(document) if not isinstance(value, (str, bool))]
    assert not wrong, f"{path.relative_to(ROOT)}: conditionals that are not strings (quote them): {wrong}"
