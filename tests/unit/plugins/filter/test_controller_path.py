"""kdump.fleet.controller_path: relative to where ansible-playbook started, ~ expanded, bad input refused."""

from __future__ import annotations

import os

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.kdump.fleet.plugins.filter.controller_paths import controller_path


def test_a_relative_path_is_taken_from_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert controller_path("reports/x") == str(tmp_path / "reports" / "x")
    assert controller_path("--verbose") == str(tmp_path / "--verbose")


def test_an_absolute_path_is_kept_and_home_is_expanded(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert controller_path("/srv/reports") == "/srv/reports"
    assert controller_path("~/reports") == os.path.join(str(tmp_path), "reports")


@pytest.mark.parametrize("bad", ["", None, 5, ["a"]])
def test_an_empty_or_non_string_path_is_refused(bad):
    with pytest.raises(AnsibleFilterError, match="controller_path"):
        controller_path(bad)
