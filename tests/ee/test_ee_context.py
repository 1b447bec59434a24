"""The execution environment's build context (`make ee`: ansible-builder create into .tmp/ee/context).

No container engine or registry is reachable here, so the image itself is not built. What the build
would do with our part of it is done here instead: the galaxy stage's install of the collection from
the context, and the builder stage's introspection of its dependencies (the script ansible-builder put
into the context), run on this machine against the same files.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CONTEXT = REPO / ".tmp" / "ee" / "context"
pytestmark = pytest.mark.skipif(not CONTEXT.is_dir(), reason="run `make ee` first: it writes the build context")


def pinned(name):
    """The version pyproject.toml pins for a package."""
    text = (REPO / "pyproject.toml").read_text()
    return re.search(rf'"{re.escape(name)}==([^"]+)"', text).group(1)


def test_the_containerfile_installs_the_pinned_ansible_core_and_runner():
    containerfile = (CONTEXT / "Containerfile").read_text()
    refs = re.search(r'^ARG ANSIBLE_INSTALL_REFS="([^"]*)"', containerfile, re.M).group(1).split()
    assert refs == [f"ansible-core=={pinned('ansible-core')}", "ansible-runner==2.4.3"]
    assert "ansible-galaxy collection install" in containerfile
    assert "introspect.py introspect" in containerfile


def test_the_context_carries_this_collection_as_the_galaxy_requirement():
    requirements = yaml.safe_load((CONTEXT / "_build" / "requirements.yml").read_text())
    assert requirements["collections"] == [{"name": "collections/kdump-fleet.tar.gz", "type": "file"}]
    with tarfile.open(CONTEXT / "_build" / "collections" / "kdump-fleet.tar.gz") as tarball:
        manifest = json.load(tarball.extractfile("MANIFEST.json"))
        names = tarball.getnames()
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"], info["version"]) == ("kdump", "fleet", galaxy["version"])
    assert "playbooks/audit.yml" in names and "meta/execution-environment.yml" in names
    # Development files stay out of the collection an EE or Galaxy gets.
    assert not [n for n in names if n.split("/")[0] in {"lab", "bench", "molecule", ".tmp", ".venv"}]


def test_the_galaxy_and_builder_stages_find_the_collection_and_its_system_needs(tmp_path):
    # The galaxy stage: ansible-galaxy collection install -r requirements.yml, run in _build.
    subprocess.run(
        [
            str(Path(sys.executable).with_name("ansible-galaxy")),
            "collection",
            "install",
            "-r",
            "requirements.yml",
            "--collections-path",
            str(tmp_path),
        ],
        cwd=CONTEXT / "_build",
        # Only the empty target holds collections, as in the image: not this checkout (config, PYTHONPATH).
        env={
            **{k: v for k, v in os.environ.items() if k not in ("ANSIBLE_CONFIG", "PYTHONPATH")},
            "ANSIBLE_COLLECTIONS_PATH": str(tmp_path),
        },
        check=True,
        capture_output=True,
        text=True,
    )
    assert (tmp_path / "ansible_collections" / "kdump" / "fleet" / "playbooks" / "site.yml").is_file()
    # The builder stage: the context's own introspect script over the installed collections.
    bindep = tmp_path / "bindep.txt"
    done = subprocess.run(
        [
            sys.executable,
            str(CONTEXT / "_build" / "scripts" / "introspect.py"),
            "introspect",
            str(tmp_path),
            "--write-bindep",
            str(bindep),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    assert "kdump.fleet" in done.stdout
    lines = bindep.read_text().splitlines()
    assert "openssh-clients [platform:rpm]  # from collection kdump.fleet" in lines
