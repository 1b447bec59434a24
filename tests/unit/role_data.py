"""Readers of a role's files for the role data tests (argument spec, tasks, the variables Jinja reads)."""

from __future__ import annotations

import jinja2
import jinja2.meta
import yaml

# Keys whose string value is a bare Jinja expression rather than a template.
EXPRESSION_KEYS = {"when", "that", "until", "failed_when", "changed_when"}


class RoleData:
    """One role's files, read the way the data tests need them."""

    def __init__(self, role):
        self.role = role

    def load(self, relative):
        return yaml.safe_load((self.role / relative).read_text(encoding="utf-8"))

    def spec_options(self):
        return self.load("meta/argument_specs.yml")["argument_specs"]["main"]["options"]

    def task_files(self):
        return sorted((self.role / "tasks").glob("*.yml")) + [self.role / "handlers" / "main.yml"]

    def all_tasks(self):
        for path in self.task_files():
            yield from walk_tasks(yaml.safe_load(path.read_text(encoding="utf-8")))

    def defined_internal_names(self):
        """Names the role defines itself: vars files, registered results, task vars, set_fact."""
        names = set()
        for path in (self.role / "vars").glob("*.yml"):
            names.update(yaml.safe_load(path.read_text(encoding="utf-8")))
        for task in self.all_tasks():
            if "register" in task:
                names.add(task["register"])
            names.update(task.get("vars", {}))
            names.update(task.get("ansible.builtin.set_fact", {}))
        return names


def walk_options(options, prefix=""):
    for name, option in options.items():
        yield prefix + name, option
        yield from walk_options(option.get("options", {}), prefix + name + ".")


def walk_tasks(tasks):
    for task in tasks or []:
        yield task
        for section in ("block", "rescue", "always"):
            yield from walk_tasks(task.get(section))


def _any_function(*args, **kwargs):
    return None


class _AnyName(dict):
    """Filter/test table that knows every name: only the variables matter here."""

    def __contains__(self, name):
        return True

    def __missing__(self, name):
        return _any_function

    def get(self, name, default=None):
        return _any_function


def referenced_names(node, key=None):
    """Every variable name the Jinja in a YAML node reads."""
    env = jinja2.Environment()
    env.filters = _AnyName()
    env.tests = _AnyName()
    if isinstance(node, dict):
        for child_key, child in node.items():
            yield from referenced_names(child, child_key)
    elif isinstance(node, list):
        for child in node:
            yield from referenced_names(child, key)
    elif isinstance(node, str):
        source = "{{ " + node + " }}" if key in EXPRESSION_KEYS and "{{" not in node else node
        yield from jinja2.meta.find_undeclared_variables(env.parse(source))
