"""kdump_info's PER_FAMILY table and the kdump role's vars/<family>.yml say the same per distribution family.

Both name the service, the configuration file and its format, and the packages: kdump_info to read a
host, the role to configure it. The role's variables are loaded here the way validate.yml loads them
(vars/main.yml, then vars/<os_family>.yml, <distribution>.yml, <distribution>_<major>.yml when they exist)
for each supported platform, with the Jinja expressions in them evaluated for that platform's version.
"""

from __future__ import annotations

import pathlib

import jinja2.nativetypes
import pytest
import yaml
from ansible_collections.kdump.fleet.plugins.module_utils import _host_facts
from ansible_collections.kdump.fleet.plugins.modules.kdump_info import PER_FAMILY

ROLE = pathlib.Path(__file__).resolve().parents[3] / "roles" / "kdump"

# (os_family, distribution, major version) as Ansible's facts name them, with the host's os-release ID / ID_LIKE.
PLATFORMS = [
    ("Debian", "Debian", "12", "debian", ""),
    ("Debian", "Debian", "13", "debian", ""),
    ("Debian", "Ubuntu", "22", "ubuntu", "debian"),
    ("Debian", "Ubuntu", "24", "ubuntu", "debian"),
    ("RedHat", "RedHat", "8", "rhel", "fedora"),
    ("RedHat", "RedHat", "9", "rhel", "fedora"),
    ("RedHat", "RedHat", "10", "rhel", "centos fedora"),
    ("RedHat", "CentOS", "9", "centos", "rhel fedora"),
    ("RedHat", "CentOS", "10", "centos", "rhel fedora"),
    ("RedHat", "Rocky", "9", "rocky", "rhel centos fedora"),
    ("RedHat", "AlmaLinux", "9", "almalinux", "rhel centos fedora"),
    ("RedHat", "OracleLinux", "9", "ol", "fedora"),
    ("RedHat", "Fedora", "39", "fedora", ""),
    ("RedHat", "Fedora", "40", "fedora", ""),
    ("RedHat", "Fedora", "41", "fedora", ""),
    # Ansible's names; the os-release values as the distributions ship them (fixtures/suse/os-release).
    ("Suse", "openSUSE Leap", "15", "opensuse-leap", "suse opensuse"),
    ("Suse", "openSUSE Leap", "16", "opensuse-leap", "suse opensuse"),
    ("Suse", "openSUSE Tumbleweed", "20261201", "opensuse-tumbleweed", "opensuse suse"),
    ("Suse", "SLES", "15", "sles", "suse"),
    ("Suse", "SLES", "16", "sles", "suse"),
]
IDS = [f"{platform[1]}-{platform[2]}" for platform in PLATFORMS]

# The role's template for each of kdump_info's config formats, and the render filter it must call.
TEMPLATES = {
    "kdump_tools": ("kdump-tools.j2", "kdump.fleet.render_kdump_tools"),
    "kdump_conf": ("kdump.conf.j2", "kdump.fleet.render_kdump_conf"),
    "sysconfig_kdump": ("sysconfig-kdump.j2", "kdump.fleet.render_sysconfig_kdump"),
}


def _load(name):
    path = ROLE / "vars" / name
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None


def role_vars(os_family, distribution, major):
    """The role's __kdump_* variables on that platform, expressions evaluated."""
    merged = dict(_load("main.yml"))
    for name in dict.fromkeys([f"{os_family}.yml", f"{distribution}.yml", f"{distribution}_{major}.yml"]):
        merged.update(_load(name) or {})
    environment = jinja2.nativetypes.NativeEnvironment()
    facts = {"os_family": os_family, "distribution": distribution, "distribution_major_version": major}
    names = ("__kdump_family", "__kdump_packages", "__kdump_service", "__kdump_config_path", "__kdump_config_template")
    values = {}
    for name in names:
        value = merged[name]
        values[name] = environment.from_string(value).render(ansible_facts=facts) if isinstance(value, str) else value
    return values


def test_every_supported_os_family_has_its_vars_file_and_a_platform_here():
    families = _load("main.yml")["__kdump_supported_os_families"]
    assert families
    for os_family in families:
        assert (ROLE / "vars" / f"{os_family}.yml").is_file(), os_family
    assert {platform[0] for platform in PLATFORMS} == set(families)


def test_every_distribution_vars_file_is_covered_here():
    covered = set()
    for os_family, distribution, major, *_os_release in PLATFORMS:
        covered |= {f"{os_family}.yml", f"{distribution}.yml", f"{distribution}_{major}.yml"}
    files = {path.name for path in (ROLE / "vars").glob("*.yml")} - {"main.yml"}
    assert files <= covered, f"add a platform for {sorted(files - covered)}"


def test_the_role_families_are_kdump_info_families():
    role_families = {role_vars(*platform[:3])["__kdump_family"] for platform in PLATFORMS}
    assert role_families == set(PER_FAMILY)


@pytest.mark.parametrize(("os_family", "distribution", "major", "os_id", "id_like"), PLATFORMS, ids=IDS)
def test_kdump_info_finds_the_role_family_from_os_release(os_family, distribution, major, os_id, id_like):
    family = role_vars(os_family, distribution, major)["__kdump_family"]
    assert _host_facts.family({"ID": os_id, "ID_LIKE": id_like}) == family


@pytest.mark.parametrize(("os_family", "distribution", "major", "os_id", "id_like"), PLATFORMS, ids=IDS)
def test_service_and_config_file_agree(os_family, distribution, major, os_id, id_like):
    values = role_vars(os_family, distribution, major)
    per_family = PER_FAMILY[values["__kdump_family"]]
    assert values["__kdump_service"] == per_family["service"]
    assert values["__kdump_config_path"] == per_family["config_path"]


@pytest.mark.parametrize(("os_family", "distribution", "major", "os_id", "id_like"), PLATFORMS, ids=IDS)
def test_the_template_writes_the_format_kdump_info_reads(os_family, distribution, major, os_id, id_like):
    values = role_vars(os_family, distribution, major)
    template, render_filter = TEMPLATES[PER_FAMILY[values["__kdump_family"]]["config_format"]]
    assert values["__kdump_config_template"] == template
    assert render_filter in (ROLE / "templates" / template).read_text(encoding="utf-8")


@pytest.mark.parametrize(("os_family", "distribution", "major", "os_id", "id_like"), PLATFORMS, ids=IDS)
def test_kdump_info_queries_every_package_the_role_installs(os_family, distribution, major, os_id, id_like):
    values = role_vars(os_family, distribution, major)
    packages = values["__kdump_packages"]
    per_family = PER_FAMILY[values["__kdump_family"]]
    assert isinstance(packages, list)
    assert packages
    assert set(packages) <= set(per_family["packages"])
    # After the role ran, kdump_info must say tools_installed: one of the packages it counts is installed.
    assert set(packages) & set(per_family["service_packages"])
    assert set(per_family["service_packages"]) <= set(per_family["packages"])


def test_the_rhel_handler_runs_the_tool_kdump_info_asks_for_status():
    handlers = yaml.safe_load((ROLE / "handlers" / "main.yml").read_text(encoding="utf-8"))
    rebuild = next(handler for handler in handlers if handler["name"] == "Rebuild the capture initrd")
    assert "__kdump_family == 'redhat'" in rebuild["when"]
    assert rebuild["ansible.builtin.command"].split()[0] == PER_FAMILY["redhat"]["status_tool"][0]
