"""Data checks of roles/dump_server: argument spec vs defaults, variable references, handlers, templates."""

from __future__ import annotations

import pathlib
import re

import yaml
from ansible_collections.kdump.fleet.plugins.filter.dump_server import FilterModule
from ansible_collections.kdump.fleet.plugins.filter.ssh_keys import FilterModule as SshKeyFilters
from ansible_collections.kdump.fleet.plugins.module_utils import _dump_server
from role_data import RoleData, referenced_names, walk_options

ROLE = pathlib.Path(__file__).resolve().parents[3] / "roles" / "dump_server"
ANSIBLE_NAMES = {
    "ansible_facts",
    "ansible_check_mode",
    "ansible_managed",
    "inventory_hostname",
    "role_path",
    "hostvars",
    "item",
    "omit",
    "none",
}
# Facts the role sets for its caller.
PRODUCED = {"dump_server_space", "dump_server_retention"}


ROLE_DATA = RoleData(ROLE)
load = ROLE_DATA.load
spec_options = ROLE_DATA.spec_options
task_files = ROLE_DATA.task_files
all_tasks = ROLE_DATA.all_tasks
defined_internal_names = ROLE_DATA.defined_internal_names


def test_argument_spec_mirrors_defaults():
    defaults = load("defaults/main.yml")
    options = spec_options()
    assert set(options) == set(defaults)
    for name, value in defaults.items():
        assert options[name].get("default") == value, name


def test_every_option_is_documented_typed_and_prefixed():
    for name, option in walk_options(spec_options()):
        assert option.get("description"), name
        assert option.get("type"), name
    assert all(name.startswith("dump_server_") for name in spec_options())


def test_client_suboptions_are_the_keys_validation_knows():
    assert tuple(spec_options()["dump_server_clients"]["options"]) == _dump_server.CLIENT_KEYS


def test_defaults_pass_validation_and_match_the_module_defaults():
    defaults = load("defaults/main.yml")
    assert _dump_server.settings_errors(defaults) == []
    assert defaults["dump_server_remote_path"] == _dump_server.DEFAULT_REMOTE_PATH
    assert defaults["dump_server_min_free_bytes"] == _dump_server.DEFAULT_MIN_FREE_BYTES
    assert defaults["dump_server_keep_dumps"] == 0
    assert defaults["dump_server_nfs_no_root_squash"] is False
    assert load("vars/main.yml")["__dump_server_receiver_path"] == _dump_server.RECEIVER_PATH


def test_settings_checked_are_role_variables():
    settings = load("vars/main.yml")["__dump_server_settings"]
    assert set(settings) <= set(spec_options())


def test_vars_files_only_hold_internal_names_that_main_declares():
    declared = set(load("vars/main.yml"))
    for path in (ROLE / "vars").glob("*.yml"):
        names = set(yaml.safe_load(path.read_text(encoding="utf-8")))
        assert all(name.startswith("__dump_server_") for name in names), path.name
        assert names <= declared, f"{path.name} sets {sorted(names - declared)} without a default in vars/main.yml"


def test_every_variable_read_is_defined_or_documented():
    public = set(spec_options())
    internal = defined_internal_names()
    sources = [load(path.relative_to(ROLE)) for path in task_files()] + [load("vars/main.yml")]
    sources += [path.read_text(encoding="utf-8") for path in (ROLE / "templates").glob("*.j2")]
    unknown = set()
    for source in sources:
        unknown.update(set(referenced_names(source)) - public - internal - PRODUCED - ANSIBLE_NAMES)
    assert not unknown


def test_every_filter_used_exists():
    used = set()
    for path in (
        list((ROLE / "tasks").glob("*.yml")) + list((ROLE / "templates").glob("*.j2")) + [ROLE / "vars/main.yml"]
    ):
        text = path.read_text(encoding="utf-8")
        used.update(re.findall(r"\|\s*kdump\.fleet\.([a-z_]+)", text))
    assert used
    assert used <= set(FilterModule().filters()) | set(SshKeyFilters().filters())


def test_every_notify_has_a_handler():
    handlers = load("handlers/main.yml")
    topics = {h["name"] for h in handlers} | {h["listen"] for h in handlers if "listen" in h}
    for task in all_tasks():
        notify = task.get("notify", [])
        for topic in [notify] if isinstance(notify, str) else notify:
            assert topic in topics


def test_main_imports_every_task_file_with_a_tag_and_validates_first():
    main = load("tasks/main.yml")
    imported = [task["ansible.builtin.import_tasks"] for task in main]
    assert imported[0] == "validate.yml"
    assert "always" in main[0]["tags"]
    assert sorted(imported) == sorted(path.name for path in (ROLE / "tasks").glob("*.yml") if path.name != "main.yml")
    assert all(task.get("tags") for task in main)


def test_validate_only_reads():
    readers = {
        "ansible.builtin.setup",
        "ansible.builtin.assert",
        "ansible.builtin.include_vars",
        "ansible.builtin.debug",
        "ansible.builtin.stat",
    }
    for task in load("tasks/validate.yml"):
        assert readers & set(task), task["name"]


def test_templates_start_with_the_managed_header():
    for path in (ROLE / "templates").glob("*.j2"):
        assert path.read_text(encoding="utf-8").startswith("{{ ansible_managed | comment }}\n"), path.name


def test_files_and_directories_have_quoted_modes_and_dump_dirs_are_owner_only():
    for task in all_tasks():
        for module in ("ansible.builtin.file", "ansible.builtin.copy", "ansible.builtin.template"):
            args = task.get(module)
            if args and "mode" in args:
                assert isinstance(args["mode"], str), task["name"]
    assert load("vars/main.yml")["__dump_server_dir_mode"] == "0700"


def test_the_dump_users_shell_runs_the_forced_command():
    # sshd execs "<shell> -c <command=>": nologin would refuse every dump (docs/dump-server.md).
    assert load("vars/main.yml")["__dump_server_shell"] == "/bin/sh"
