"""Load another test module by its path, to reuse its sample states (pytest's rootdir-less imports).

Each module is loaded once, under a stable name, so every test that reuses it sees the same objects.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys

UNIT = pathlib.Path(__file__).parent


def load(relative):
    """The test module at tests/unit/RELATIVE (e.g. 'plugins/module_utils/test_audit.py')."""
    name = "kdump_fleet_sibling_" + relative.replace("/", "_").removesuffix(".py")
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, UNIT / relative)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
