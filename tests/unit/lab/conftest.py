from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_lab(tmp_path, monkeypatch):
    """Keep every test away from the real image cache and VM state."""
    monkeypatch.setenv("KDUMP_LAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KDUMP_LAB_STATE_DIR", str(tmp_path / "state"))
