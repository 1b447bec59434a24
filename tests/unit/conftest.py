"""Shared pytest helpers for kdump.fleet unit tests.

Stable API (other test files rely on it):

- ``load_fixture(tool, name) -> str``: text of ``tests/unit/fixtures/<tool>/<name>``.
- ``fixture_path(tool, name) -> pathlib.Path``: path of that file.
- ``run_module(module_main, args, check_mode=False, diff=False) -> dict``: call a
  module's ``main()`` the way Ansible does (args patched in, ``exit_json`` and
  ``fail_json`` raising) and return the result dict; a failure has ``failed: True``.
- ``FakeRunCommand(responses)``: a stand-in for ``AnsibleModule.run_command`` that
  records every argv in ``.calls`` and answers from a list of rules.
- ``run_controller_action(action_class, name, args, task_vars=None, check_mode=False)``:
  run a controller-side action plugin as the task executor does.
- ``record_display(monkeypatch, module, verbose=False) -> list``: replace ``module.display``
  and return the ``(text, stderr)`` pairs it is asked to show; with ``verbose``, ``vvv`` lines
  too, as ``("vvv: " + text, False)``. Warnings are dropped.
- ``run_playbook(cwd, playbook, *args, inventory=None) -> CompletedProcess``: the pinned
  ``ansible-playbook`` for real, with the repo's ansible.cfg and the default callback;
  ``inventory`` (text) is written to ``cwd/hosts.ini`` and passed with ``-i``.

Each is importable (``from conftest import run_module``: this file is loaded before
the import mode switch below, with tests/unit on sys.path) and also available as a
pytest fixture of the same name (``def test_x(run_module): ...``); the fixture
``fake_run_command`` is the FakeRunCommand class.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any
from unittest import mock

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.template import Templar

FIXTURES_DIR = pathlib.Path(__file__).parent / "fixtures"


def fixture_path(tool: str, name: str) -> pathlib.Path:
    """Path of a recorded tool output under tests/unit/fixtures/<tool>/<name>."""
    path = FIXTURES_DIR / tool / name
    if not path.is_file():
        raise FileNotFoundError(f"no fixture {tool}/{name} (looked at {path})")
    return path


def load_fixture(tool: str, name: str) -> str:
    """Text of a recorded tool output under tests/unit/fixtures/<tool>/<name>."""
    return fixture_path(tool, name).read_text(encoding="utf-8")


class ModuleExit(Exception):
    """Raised instead of exit_json/fail_json; carries the result dict."""

    def __init__(self, result: dict[str, Any]):
        super().__init__(result)
        self.result = result


# What module.warn() said during one run_module call; the real exit_json/fail_json return it too.
# (Patched, because in a process that also imports controller code warn() goes to the display.)
_warnings: list[str] = []


def _warn(self, warning, *args, **kwargs):
    _warnings.append(warning)


def _with_warnings(result):
    if _warnings:
        result["warnings"] = list(_warnings)
    return result


def _exit_json(self, **kwargs):
    kwargs.setdefault("changed", False)
    raise ModuleExit(_with_warnings(kwargs))


def _fail_json(self, msg, **kwargs):
    kwargs.pop("exception", None)
    kwargs.update(failed=True, msg=str(msg))
    raise ModuleExit(_with_warnings(kwargs))


def run_module(
    module_main: Callable[[], Any],
    args: dict[str, Any],
    check_mode: bool = False,
    diff: bool = False,
) -> dict[str, Any]:
    """Run a module's main() with these args and return its exit or fail dict."""
    module_args = dict(args)
    module_args["_ansible_check_mode"] = check_mode
    module_args["_ansible_diff"] = diff
    _warnings.clear()
    with (
        mock.patch.object(basic.AnsibleModule, "warn", _warn),
        patch_module_args(module_args),
        mock.patch.object(basic.AnsibleModule, "exit_json", _exit_json),
        mock.patch.object(basic.AnsibleModule, "fail_json", _fail_json),
    ):
        try:
            module_main()
        except ModuleExit as done:
            return done.result
    raise AssertionError("module main() returned without calling exit_json or fail_json")


class FakeRunCommand:
    """Replacement for AnsibleModule.run_command that records argv and answers by rule.

    ``responses`` is a sequence of ``(match, answer)``. ``match`` is a callable taking
    the argv list, or a tuple that must equal the argv's first items. ``answer`` is
    ``(rc, stdout, stderr)`` or a callable taking the argv and returning that tuple
    (for a stateful fake tool). The first matching rule answers; an unmatched call
    answers ``default``.
    Use it with ``mock.patch.object(AnsibleModule, "run_command", fake)``.
    """

    def __init__(
        self,
        responses: Sequence[tuple[Any, tuple[int, str, str]]] = (),
        default: tuple[int, str, str] = (0, "", ""),
    ):
        self.responses = list(responses)
        self.default = default
        self.calls: list[list[str]] = []

    def __call__(self, *args, **kwargs):
        # Called as fake(argv); __get__ below drops the AnsibleModule instance.
        argv = args[0] if args else kwargs["args"]
        if isinstance(argv, str):
            argv = argv.split()
        argv = [str(part) for part in argv]
        self.calls.append(argv)
        for match, answer in self.responses:
            matched = match(argv) if callable(match) else tuple(argv[: len(match)]) == tuple(match)
            if matched:
                return answer(argv) if callable(answer) else answer
        return self.default

    def __get__(self, instance, owner):
        # Patched onto AnsibleModule it must not receive the module as first argument.
        return self

    def argvs(self, program: str) -> list[list[str]]:
        """The recorded calls whose program (basename of argv[0]) is ``program``."""
        return [argv for argv in self.calls if pathlib.PurePath(argv[0]).name == program]


@pytest.fixture(name="load_fixture")
def _load_fixture_fixture():
    return load_fixture


@pytest.fixture(name="fixture_path")
def _fixture_path_fixture():
    return fixture_path


@pytest.fixture(name="run_module")
def _run_module_fixture():
    return run_module


@pytest.fixture(name="fake_run_command")
def _fake_run_command_fixture():
    return FakeRunCommand


def run_controller_action(action_class, name, args, task_vars=None, check_mode=False):
    """Run a controller-side action plugin the way the task executor does (no connection is used)."""
    task = Task.load({"action": name, "args": args})
    task.check_mode = check_mode
    loader = DataLoader()
    action = action_class(
        task=task,
        connection=mock.MagicMock(),
        play_context=PlayContext(),
        loader=loader,
        templar=Templar(loader=loader),
        shared_loader_obj=None,
    )
    return action.run(task_vars=task_vars or {})


REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def run_playbook(cwd, playbook, *args, inventory=None):
    """ansible-playbook (the venv's, beside this Python) for real; SSH gives up on a closed port in 2 s."""
    argv = [str(pathlib.Path(sys.executable).with_name("ansible-playbook"))]
    if inventory is not None:
        hosts = pathlib.Path(cwd) / "hosts.ini"
        hosts.write_text(inventory)
        argv += ["-i", str(hosts)]
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="default")
    env["ANSIBLE_SSH_ARGS"] = "-o ConnectTimeout=2 -o BatchMode=yes"
    return subprocess.run(
        [*argv, playbook, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def record_display(monkeypatch, module, verbose=False):
    """The lines an action plugin's module-level ``display`` shows on the controller, as they come."""
    lines = []

    class Recorder:
        def display(self, text, stderr=False, **_kwargs):
            lines.append((text, stderr))

        def vvv(self, text, **_kwargs):
            if verbose:
                lines.append(("vvv: " + text, False))

        def warning(self, text, **_kwargs):
            pass

    monkeypatch.setattr(module, "display", Recorder())
    return lines
