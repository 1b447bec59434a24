# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared attributes blocks of the kdump.fleet modules' documentation."""

from __future__ import annotations


class ModuleDocFragment:
    """Use as ``extends_documentation_fragment: [kdump.fleet.attributes, kdump.fleet.attributes.<NAME>]``.

    ``DOCUMENTATION`` carries what every module declares (check_mode, diff_mode) with the generic
    meaning; the named fragments add the support levels of one kind of module. A module may still
    write its own ``description`` for an attribute in its ``attributes:`` block: ansible's fragment
    merge keeps the module's keys over a fragment's.
    """

    # Every module: the two attributes each one declares.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
"""

    # Modules that change nothing on a host (fact gathering, controller-side reports).
    READ_ONLY = r"""
options: {}
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

    # Modules that act on a host, run every step but the action in check mode, and have nothing to diff.
    CHECK_MODE_FULL = r"""
options: {}
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

    # Modules that change a host, predict the change in check mode and show it in diff mode.
    CHECK_AND_DIFF = r"""
options: {}
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

    # Action plugins that drive one host over its connection and must not run async.
    ACTION_PLUGIN = r"""
options: {}
attributes:
  action:
    support: full
    description:
      - Indicates this has a corresponding action plugin so some parts of the options can be executed on
        the controller.
  async:
    support: none
    description: Supports being used with the C(async) keyword.
  bypass_host_loop:
    support: none
    description:
      - Forces a 'global' task that does not execute per host, this bypasses per host templating and serial,
        throttle and other loop considerations.
"""

    # Linux hosts with kdump (kdump-tools or kdumpctl).
    PLATFORM = r"""
options: {}
attributes:
  platform:
    support: full
    platforms: posix
    description: Target OS/families that can be operated against.
"""
