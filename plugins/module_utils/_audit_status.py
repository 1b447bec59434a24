# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host's audit status, shared by the fleet audit and the drift between audits (private to the collection).

A module of its own because _fleet_audit imports _audit_drift: both read the names from here.
"""

from __future__ import annotations

READY = "ready"
DEGRADED = "degraded"
NOT_READY = "not_ready"
STATUSES = (READY, DEGRADED, NOT_READY)
