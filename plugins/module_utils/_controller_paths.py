# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Paths the controller-side actions read and write; private to the collection."""

from __future__ import annotations

import glob
import os


def controller_path(path):
    """A controller path as the reports take it: ~ expanded, relative to where ansible-playbook was started.

    Not relative to the playbook: ``ansible-playbook kdump.fleet.audit`` runs a playbook inside the
    installed collection, no place for reports.
    """
    path = os.path.expanduser(path)
    return path if os.path.isabs(path) else os.path.join(os.getcwd(), path)


def expand(patterns):
    """(the files, the patterns that matched nothing): each pattern a path or a shell glob, in order, once each."""
    found, unmatched = [], []
    for pattern in patterns:
        path = controller_path(pattern)
        matches = sorted(glob.glob(path)) if glob.has_magic(path) else ([path] if os.path.lexists(path) else [])
        if not matches:
            unmatched.append(pattern)
        found += [match for match in matches if match not in found]
    return found, unmatched
