"""Every module's DOCUMENTATION, EXAMPLES and RETURN parse as YAML, so a doc typo fails here, not only in sanity.

The documentation is also rendered the way users see it, by ``ansible-doc -j`` (ansible's own loader, which
resolves the ``kdump.fleet.attributes`` doc fragments), and the attributes it shows are pinned.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from ansible_collections.kdump.fleet.plugins.doc_fragments.attributes import ModuleDocFragment

ROOT = Path(__file__).resolve().parents[4]
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py"))

# What ansible-doc shows for each module: attribute -> support (and platforms for platform).
ATTRIBUTES = {
    "audit_report": {"check_mode": "full", "diff_mode": "none"},
    "audit_merge": {"check_mode": "full", "diff_mode": "none"},
    "crash_test": {
        "action": "full",
        "async": "none",
        "bypass_host_loop": "none",
        "check_mode": "full",
        "diff_mode": "none",
        "platform": "full",
    },
    "crashkernel": {"check_mode": "full", "diff_mode": "full"},
    "crash_analysis": {"check_mode": "full", "diff_mode": "none"},
    "reboot": {
        "action": "full",
        "async": "none",
        "bypass_host_loop": "none",
        "check_mode": "full",
        "diff_mode": "none",
        "platform": "full",
    },
    "kdump_info": {"check_mode": "full", "diff_mode": "none"},
    "dump_inventory": {"check_mode": "full", "diff_mode": "none"},
    "dump_inventory_report": {"check_mode": "full", "diff_mode": "none"},
}

# The module's own description where it says more than the fragment's generic one.
OWN_DESCRIPTIONS = {
    ("kdump_info", "check_mode"): "The module never changes anything; check mode returns the same result.",
    ("audit_report", "check_mode"): "Evaluates and writes the reports on the controller in check mode too;",
    ("audit_merge", "check_mode"): "Writes the merged reports on the controller in check mode too;",
    ("dump_inventory", "check_mode"): "The module never changes anything; check mode returns the same result.",
    ("dump_inventory_report", "check_mode"): "Writes the reports on the controller in check mode too;",
    ("crash_test", "check_mode"): "Runs every guard (including M(kdump.fleet.kdump_info))",
    ("crash_test", "async"): "The host goes down during the task.",
    ("reboot", "check_mode"): "Reports a reboot without rebooting",
    ("reboot", "async"): "The host goes down during the task.",
    ("reboot", "platform"): "The hosts M(ansible.builtin.reboot) reboots.",
    ("crash_test", "platform"): "Linux hosts with kdump (kdump-tools, kdumpctl or SUSE's kdump).",
}


def test_the_modules_are_found():
    assert {"crashkernel", "kdump_info", "crash_test", "audit_report", "dump_inventory"} <= set(MODULES)
    assert set(ATTRIBUTES) == set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_documentation_blocks_are_yaml(name):
    module = importlib.import_module(f"ansible_collections.kdump.fleet.plugins.modules.{name}")
    documentation = yaml.safe_load(module.DOCUMENTATION)
    assert documentation["module"] == name
    assert documentation["short_description"]
    assert isinstance(yaml.safe_load(module.EXAMPLES), list)
    returned = yaml.safe_load(module.RETURN)
    assert returned is None or isinstance(returned, dict)


@pytest.mark.parametrize("name", MODULES)
def test_attributes_come_from_the_shared_fragments(name):
    """No module writes its own support levels: they come from kdump.fleet.attributes.<NAME>."""
    module = importlib.import_module(f"ansible_collections.kdump.fleet.plugins.modules.{name}")
    documentation = yaml.safe_load(module.DOCUMENTATION)
    fragments = documentation.get("extends_documentation_fragment", [])
    assert fragments[0] == "kdump.fleet.attributes"
    assert len(fragments) > 1
    assert all(fragment.startswith("kdump.fleet.attributes") for fragment in fragments)
    for attribute, body in (documentation.get("attributes") or {}).items():
        assert "support" not in body, f"{name}: {attribute} support belongs in a fragment"


def test_every_fragment_is_yaml_with_attributes():
    names = [name for name in vars(ModuleDocFragment) if name.isupper()]
    assert "DOCUMENTATION" in names
    for name in names:
        fragment = yaml.safe_load(getattr(ModuleDocFragment, name))
        assert set(fragment) == {"options", "attributes"}, name
        assert fragment["attributes"], name


@pytest.fixture(scope="module")
def rendered():
    """ansible-doc -j for every module at once: {module name: doc}."""
    ansible_doc = shutil.which("ansible-doc")
    if ansible_doc is None:
        pytest.skip("needs ansible-doc")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".tmp" / "collections"), ANSIBLE_NOCOLOR="1")
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    names = [f"kdump.fleet.{name}" for name in MODULES]
    done = subprocess.run(
        [ansible_doc, "-j", "-t", "module", *names], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    docs = json.loads(done.stdout)
    return {name.rsplit(".", 1)[1]: value["doc"] for name, value in docs.items()}


@pytest.mark.parametrize("name", MODULES)
def test_ansible_doc_renders_the_attributes(rendered, name):
    attributes = rendered[name]["attributes"]
    assert {attribute: body["support"] for attribute, body in attributes.items()} == ATTRIBUTES[name]
    for attribute, body in attributes.items():
        assert body["description"], f"{name}: {attribute} has no description"
    if "platform" in attributes:
        assert attributes["platform"]["platforms"] == "posix"
    assert "extends_documentation_fragment" not in rendered[name]


@pytest.mark.parametrize(("name", "attribute"), sorted(OWN_DESCRIPTIONS))
def test_a_module_keeps_its_own_description(rendered, name, attribute):
    assert rendered[name]["attributes"][attribute]["description"].startswith(OWN_DESCRIPTIONS[name, attribute])


def test_the_fragment_description_fills_in_where_the_module_has_none(rendered):
    assert rendered["crashkernel"]["attributes"]["diff_mode"]["description"].startswith(
        "Will return details on what has changed"
    )


@pytest.mark.parametrize("name", MODULES)
def test_ansible_doc_renders_options_and_return(rendered, name):
    doc = rendered[name]
    assert doc["module"] == name
    assert doc["short_description"]
    assert isinstance(doc.get("options", {}), dict)
