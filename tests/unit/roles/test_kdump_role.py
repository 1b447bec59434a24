"""Data checks of roles/kdump: argument spec vs defaults, variable references, templates."""

from __future__ import annotations

import pathlib
import subprocess

import jinja2
import jinja2.meta
import jinja2.nativetypes
import pytest
import yaml
from ansible.plugins.filter.core import FilterModule as CoreFilters
from ansible_collections.kdump.fleet.plugins.filter.dump_config import FilterModule as DumpConfigFilters
from ansible_collections.kdump.fleet.plugins.module_utils import _dump_model, _kdump_conf, _kdump_tools
from role_data import RoleData, referenced_names, walk_options

ROLE = pathlib.Path(__file__).resolve().parents[3] / "roles" / "kdump"

# Names Ansible provides (facts, magic variables, loop variable).
ANSIBLE_NAMES = {
    "ansible_facts",
    "now",
    "ansible_check_mode",
    "ansible_managed",
    "inventory_hostname",
    "role_path",
    "item",
    "omit",
    "query",
    "lookup",
    "hostvars",
    "ansible_play_batch",
    "ansible_play_hosts_all",
}
# The playbooks' batch settings (documented with kdump.fleet.kdump and kdump.fleet.site, checked by the
# rolling_batches filter), read only by the task files those playbooks import around the role.
ROLLING_FILES = {"tasks/rolling_plan.yml", "tasks/rolling_gate.yml"}
ROLLING_NAMES = {"kdump_serial", "kdump_max_fail_percentage", "__kdump_rolling_count"}


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
        assert options[name]["default"] == value, name


def test_suboption_defaults_match_the_parent_default():
    for name, option in spec_options().items():
        for sub_name, sub in option.get("options", {}).items():
            if "default" in sub:
                assert option["default"][sub_name] == sub["default"], f"{name}.{sub_name}"


def test_every_option_is_documented_and_typed():
    for name, option in walk_options(spec_options()):
        assert option.get("description"), name
        assert option.get("type"), name


def test_role_defaults_equal_the_filter_defaults():
    # The filters fill in left-out keys; they must mean the same as the role's defaults.
    defaults = load("defaults/main.yml")
    for name, value in _dump_model.DEFAULTS.items():
        assert defaults[name] == value, name


def test_choices_match_the_dump_model():
    options = spec_options()
    assert set(options["kdump_target"]["options"]["type"]["choices"]) == set(_dump_model.TARGET_TYPES)
    assert set(options["kdump_target"]["options"]) == set(_dump_model.ALL_TARGET_KEYS)
    collector = options["kdump_core_collector"]["options"]
    assert set(collector) == set(_dump_model.COLLECTOR_KEYS)
    assert set(collector["compression"]["choices"]) == set(_dump_model.COMPRESSION_FLAGS)
    assert set(options["kdump_failure_action"]["choices"]) == set(_dump_model.FAILURE_ACTIONS)
    assert set(options["kdump_final_action"]["choices"]) == set(_dump_model.FINAL_ACTIONS)


def test_vars_files_only_hold_internal_names_that_main_declares():
    declared = set(load("vars/main.yml"))
    for path in (ROLE / "vars").glob("*.yml"):
        names = set(yaml.safe_load(path.read_text(encoding="utf-8")))
        assert all(name.startswith("__kdump_") for name in names), path.name
        assert names <= declared, f"{path.name} sets {sorted(names - declared)} without a default in vars/main.yml"


@pytest.mark.parametrize("vars_file", ["Debian.yml", "RedHat.yml", "Suse.yml"])
def test_family_vars_name_a_family_the_filters_know(vars_file):
    data = load(f"vars/{vars_file}")
    assert data["__kdump_family"] in _dump_model.FAMILIES
    assert (ROLE / "templates" / data["__kdump_config_template"]).is_file()


def test_every_variable_read_is_defined_or_documented():
    public = set(spec_options())
    internal = defined_internal_names()
    produced = {"kdump_reboot_required"}  # set_fact output for the caller
    sources = [(str(path.relative_to(ROLE)), load(path.relative_to(ROLE))) for path in task_files()]
    sources += [("vars/main.yml", load("vars/main.yml"))]
    sources += [(path.name, path.read_text(encoding="utf-8")) for path in (ROLE / "templates").glob("*.j2")]
    unknown = set()
    for name, source in sources:
        allowed = public | internal | produced | ANSIBLE_NAMES | (ROLLING_NAMES if name in ROLLING_FILES else set())
        unknown.update(f"{name}: {variable}" for variable in set(referenced_names(source)) - allowed)
    assert not unknown


def test_every_notify_has_a_handler():
    handlers = yaml.safe_load((ROLE / "handlers" / "main.yml").read_text(encoding="utf-8"))
    topics = {h["name"] for h in handlers}
    for handler in handlers:
        listen = handler.get("listen", [])
        topics.update([listen] if isinstance(listen, str) else listen)
    for task in all_tasks():
        notify = task.get("notify", [])
        for topic in [notify] if isinstance(notify, str) else notify:
            assert topic in topics


def render_template(name):
    """The role's config template rendered for the role defaults, as Ansible would."""
    filters = dict(CoreFilters().filters())
    filters.update({"kdump.fleet." + key: value for key, value in DumpConfigFilters().filters().items()})
    env = jinja2.nativetypes.NativeEnvironment()
    env.filters.update(filters)
    context = dict(load("defaults/main.yml"))
    model = {
        key: env.from_string(value).render(context) for key, value in load("vars/main.yml")["__kdump_model"].items()
    }
    text_env = jinja2.Environment(keep_trailing_newline=True)
    text_env.filters.update(filters)
    source = (ROLE / "templates" / name).read_text(encoding="utf-8")
    return text_env.from_string(source).render(__kdump_model=model, ansible_managed="Ansible managed")


def test_kdump_tools_template_is_a_file_sh_and_the_parser_accept(tmp_path):
    text = render_template("kdump-tools.j2")
    assert text.startswith("#\n# Ansible managed\n#\n")
    rendered = tmp_path / "kdump-tools"
    rendered.write_text(text, encoding="utf-8")
    subprocess.run(["sh", "-n", str(rendered)], check=True)
    values, errors = _kdump_tools.parse_with_errors(text)
    assert errors == []
    assert values["USE_KDUMP"] == "1"
    assert values["KDUMP_COREDIR"] == "/var/crash"


def test_sysconfig_kdump_template_is_a_file_bash_accepts_with_the_role_defaults(tmp_path):
    text = render_template("sysconfig-kdump.j2")
    assert text.startswith("#\n# Ansible managed\n#\n")
    rendered = tmp_path / "kdump"
    rendered.write_text(text, encoding="utf-8")
    subprocess.run(["bash", "-n", str(rendered)], check=True)
    # What kdump's scripts see when they source it (bash, as kdump-read-config.sh does).
    shown = subprocess.run(
        [
            "bash",
            "-c",
            '. "$1"; printf "%s|%s|%s" "$KDUMP_SAVEDIR" "$KDUMP_FREE_DISK_SIZE" "$KDUMP_UPDATE_BOOTLOADER"',
            "bash",
            str(rendered),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert shown == "file:///var/crash|0|false"


def test_kdump_conf_template_parses_without_errors():
    text = render_template("kdump.conf.j2")
    assert text.startswith("#\n# Ansible managed\n#\n")
    conf = _kdump_conf.parse(text)
    assert conf.errors == []
    assert conf.get("path") == "/var/crash"


def test_the_reboot_probes_carry_ssh_keepalives_on_top_of_the_hosts_own_arguments():
    """A control master left on a dead connection must fail, not hang the reboot wait (docs/lab.md)."""
    reboot = next(task for task in ROLE_DATA.all_tasks() if "kdump.fleet.reboot" in task)
    extra = reboot["vars"]["ansible_ssh_extra_args"]
    assert extra.startswith("{{ __kdump_ssh_extra_args }} ")
    assert "-o ServerAliveInterval=5 -o ServerAliveCountMax=3" in extra
    keep = next(
        task for task in ROLE_DATA.all_tasks() if "__kdump_ssh_extra_args" in task.get("ansible.builtin.set_fact", {})
    )
    assert keep["ansible.builtin.set_fact"]["__kdump_ssh_extra_args"] == "{{ ansible_ssh_extra_args | default('') }}"


def test_the_reboot_starts_on_a_fresh_connection():
    """Keepalives bind only a master the reboot task opens: the one before it is closed first."""
    tasks = list(ROLE_DATA.all_tasks())
    reboot = next(index for index, task in enumerate(tasks) if "kdump.fleet.reboot" in task)
    assert tasks[reboot - 1].get("ansible.builtin.meta") == "reset_connection"
