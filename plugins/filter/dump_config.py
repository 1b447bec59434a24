# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that render the kdump role's dump variable model to kdump.conf, kdump-tools or SUSE sysconfig text."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.kdump.fleet.plugins.module_utils._dump_model import (
    FAMILIES,
    DumpModelError,
    to_kdump_conf,
    to_kdump_tools,
    to_ssh_config,
    to_sysconfig_kdump,
    validate,
)


def _model(name, model):
    if not isinstance(model, dict):
        raise AnsibleFilterError("%s expects the dump model as a dict, got %s" % (name, type(model).__name__))
    return model


def _render(name, renderer, model):
    try:
        return renderer(_model(name, model))
    except DumpModelError as exc:
        raise AnsibleFilterError("%s: invalid dump model: %s" % (name, "; ".join(exc.errors))) from None


def render_kdump_conf(model):
    """kdump.conf body (RHEL family) for the model; fails on an invalid model."""
    return _render("render_kdump_conf", to_kdump_conf, model)


def render_kdump_tools(model):
    """/etc/default/kdump-tools body (Debian family) for the model; fails on an invalid model."""
    return _render("render_kdump_tools", to_kdump_tools, model)


def render_sysconfig_kdump(model):
    """/etc/sysconfig/kdump body (SUSE family) for the model; fails on an invalid model."""
    return _render("render_sysconfig_kdump", to_sysconfig_kdump, model)


def render_kdump_ssh_config(model, family):
    """root's ssh_config Host block carrying kdump_target.port ("" when there is none); fails on an invalid model."""
    if family not in FAMILIES:
        raise AnsibleFilterError(
            "render_kdump_ssh_config: family must be one of %s, got %r" % (", ".join(FAMILIES), family)
        )
    return _render("render_kdump_ssh_config", lambda model: to_ssh_config(model, family), model)


def dump_model_errors(model, family):
    """Every problem of the model for the OS family ('redhat', 'debian' or 'suse'); empty when valid."""
    return validate(_model("dump_model_errors", model), family)


class FilterModule:
    """kdump.fleet dump configuration filters."""

    def filters(self):
        return {
            "render_kdump_conf": render_kdump_conf,
            "render_kdump_tools": render_kdump_tools,
            "render_sysconfig_kdump": render_sysconfig_kdump,
            "render_kdump_ssh_config": render_kdump_ssh_config,
            "dump_model_errors": dump_model_errors,
        }
