"""Where the lab keeps its image cache and its per-VM state."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT_MARKER = "galaxy.yml"


def cache_root() -> Path:
    """The lab's cache: ${KDUMP_LAB_CACHE:-${XDG_CACHE_HOME:-~/.cache}/kdump-fleet}."""
    if os.environ.get("KDUMP_LAB_CACHE"):
        return Path(os.environ["KDUMP_LAB_CACHE"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "kdump-fleet"


def images_dir() -> Path:
    return cache_root() / "images"


def default_state_dir() -> Path:
    """VM state lives in the repo's .tmp/lab so `make clean` and `reap` find it.

    KDUMP_LAB_STATE_DIR overrides; outside a checkout the current directory is used.
    """
    if os.environ.get("KDUMP_LAB_STATE_DIR"):
        return Path(os.environ["KDUMP_LAB_STATE_DIR"]).expanduser()
    repo = Path(__file__).resolve().parents[2]
    if (repo / REPO_ROOT_MARKER).is_file():
        return repo / ".tmp" / "lab"
    return Path.cwd() / ".tmp" / "lab"
