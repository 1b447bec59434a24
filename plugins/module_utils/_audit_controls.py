# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compliance controls the audit checks evidence or conflict with, with their sources; private to the collection.

A control is a ComplianceAsCode rule (the rule ID OpenSCAP reports) and the DISA STIG IDs that
select it, per product. Every rule and STIG ID below was read in one commit of the
ComplianceAsCode/content repository, in the file its ``source`` names: the rule's ``rule.yml``
(its ``stigid@<product>`` references) or the product's STIG control file (``- id: <STIG ID>`` with
the rule under ``rules``). Nothing is listed that was not found there.

Two relations, never mixed up:

- ``conflicts_with``: the check passes only where the host does not meet the control (kdump wants
  the opposite of the hardening rule), so a host that passes it needs an exception to the control.
- ``evidences``: the check's result is evidence an assessor of the control can use (the note says
  for what); it does not say the control is met.
"""

from __future__ import annotations

CONTENT_REPO = "ComplianceAsCode/content"
# The commit the rules and STIG IDs were read in (2026-08-21).
CONTENT_COMMIT = "b3a2cca9352cbcefb7f00d770bfd6f679da18d6a"

CONFLICTS_WITH = "conflicts_with"
EVIDENCES = "evidences"
RELATIONS = (CONFLICTS_WITH, EVIDENCES)
RELATION_LABELS = {CONFLICTS_WITH: "conflicts with", EVIDENCES: "evidences"}

SERVICE_KDUMP_DISABLED = "service_kdump_disabled"
KEXEC_LOAD_DISABLED = "sysctl_kernel_kexec_load_disabled"

_SERVICE_RULE_FILE = "linux_os/guide/services/base/service_kdump_disabled/rule.yml"
_KEXEC_RULE_FILE = "linux_os/guide/system/permissions/restrictions/sysctl_kernel_kexec_load_disabled/rule.yml"


def source(path):
    """Where a control was read: the repository, the commit, the file and its URL at that commit."""
    return {
        "repo": CONTENT_REPO,
        "commit": CONTENT_COMMIT,
        "path": path,
        "url": "https://github.com/%s/blob/%s/%s" % (CONTENT_REPO, CONTENT_COMMIT, path),
    }


def source_text(src):
    """'ComplianceAsCode/content@b3a2cca products/rhel8/controls/stig_rhel8.yml' (no URL: for the HTML page)."""
    return "%s@%s %s" % (src["repo"], src["commit"][:7], src["path"])


RULES = {
    SERVICE_KDUMP_DISABLED: {
        "title": "Disable KDump Kernel Crash Analyzer (kdump)",
        "source": source(_SERVICE_RULE_FILE),
    },
    KEXEC_LOAD_DISABLED: {
        "title": "Disable Kernel Image Loading",
        "source": source(_KEXEC_RULE_FILE),
    },
}

# (STIG ID, rule, product, (os-release ID, VERSION_ID or its major version), title, file it was read in).
# Titles are the control files' own; the IDs read from a rule.yml reference have none there.
_STIG = (
    (
        "RHEL-08-010670",
        SERVICE_KDUMP_DISABLED,
        "RHEL 8",
        ("rhel", "8"),
        "RHEL 8 must disable kernel dumps unless needed.",
        "products/rhel8/controls/stig_rhel8.yml",
    ),
    (
        "RHEL-09-213115",
        SERVICE_KDUMP_DISABLED,
        "RHEL 9",
        ("rhel", "9"),
        "The kdump service on RHEL 9 must be disabled.",
        "products/rhel9/controls/stig_rhel9.yml",
    ),
    (
        "RHEL-10-701200",
        SERVICE_KDUMP_DISABLED,
        "RHEL 10",
        ("rhel", "10"),
        "RHEL 10 must disable the kdump service.",
        "products/rhel10/controls/stig_rhel10.yml",
    ),
    ("OL07-00-021300", SERVICE_KDUMP_DISABLED, "Oracle Linux 7", ("ol", "7"), None, _SERVICE_RULE_FILE),
    ("OL08-00-010670", SERVICE_KDUMP_DISABLED, "Oracle Linux 8", ("ol", "8"), None, _SERVICE_RULE_FILE),
    (
        "OL09-00-002385",
        SERVICE_KDUMP_DISABLED,
        "Oracle Linux 9",
        ("ol", "9"),
        "The kdump service on OL 9 must be disabled.",
        "controls/stig_ol9.yml",
    ),
    ("SLES-12-010840", SERVICE_KDUMP_DISABLED, "SLES 12", ("sles", "12"), None, _SERVICE_RULE_FILE),
    (
        "SLES-15-040190",
        SERVICE_KDUMP_DISABLED,
        "SLES 15",
        ("sles", "15"),
        "SUSE operating system kernel core dumps must be disabled unless needed.",
        "products/sle15/controls/stig_sle15.yml",
    ),
    (
        "UBTU-22-213015",
        SERVICE_KDUMP_DISABLED,
        "Ubuntu 22.04",
        ("ubuntu", "22.04"),
        "Ubuntu 22.04 LTS must disable kernel core dumps so that it can fail to a secure state if system "
        "initialization fails, shutdown fails or aborts fail.",
        "controls/stig_ubuntu2204.yml",
    ),
    (
        "UBTU-24-600070",
        SERVICE_KDUMP_DISABLED,
        "Ubuntu 24.04",
        ("ubuntu", "24.04"),
        "Ubuntu 24.04 LTS must disable kernel core dumps.",
        "controls/stig_ubuntu2404.yml",
    ),
    (
        "RHEL-08-010372",
        KEXEC_LOAD_DISABLED,
        "RHEL 8",
        ("rhel", "8"),
        "RHEL 8 must prevent the loading of a new kernel for later execution.",
        "products/rhel8/controls/stig_rhel8.yml",
    ),
    (
        "RHEL-09-213020",
        KEXEC_LOAD_DISABLED,
        "RHEL 9",
        ("rhel", "9"),
        "RHEL 9 must prevent the loading of a new kernel for later execution.",
        "products/rhel9/controls/stig_rhel9.yml",
    ),
    (
        "RHEL-10-701050",
        KEXEC_LOAD_DISABLED,
        "RHEL 10",
        ("rhel", "10"),
        "RHEL 10 must prevent the loading of a new kernel for later execution.",
        "products/rhel10/controls/stig_rhel10.yml",
    ),
    ("OL08-00-010372", KEXEC_LOAD_DISABLED, "Oracle Linux 8", ("ol", "8"), None, _KEXEC_RULE_FILE),
    (
        "OL09-00-002428",
        KEXEC_LOAD_DISABLED,
        "Oracle Linux 9",
        ("ol", "9"),
        "OL 9 must prevent the loading of a new kernel for later execution.",
        "controls/stig_ol9.yml",
    ),
)

STIG = tuple(
    {
        "id": stig_id,
        "rule": rule,
        "product": product,
        "os_release": list(os_release),
        "title": title,
        "source": source(path),
    }
    for stig_id, rule, product, os_release, title, path in _STIG
)

# check ID -> (relation, rule, why): what each audit check says about which control.
MAPPINGS = {
    "KDUMP-002": (
        (
            CONFLICTS_WITH,
            SERVICE_KDUMP_DISABLED,
            "the rule wants the kdump service disabled; this check passes only when it is enabled and active",
        ),
    ),
    "KDUMP-012": (
        (
            CONFLICTS_WITH,
            KEXEC_LOAD_DISABLED,
            "the rule sets kernel.kexec_load_disabled = 1; this check passes only when it is 0",
        ),
    ),
    "KDUMP-013": (
        (
            CONFLICTS_WITH,
            SERVICE_KDUMP_DISABLED,
            "the rule's STIG fix masks the unit (systemctl mask --now kdump, policy/stig/shared.yml of the rule); "
            "this check passes only when it is not masked",
        ),
    ),
    "KDUMP-015": (
        (
            EVIDENCES,
            SERVICE_KDUMP_DISABLED,
            "the rule's rationale is that kernel core dumps may contain the full contents of system memory; "
            "dumps readable by their owner only are evidence for an exception that keeps kdump",
        ),
    ),
}


def stig_ids(rule):
    """The STIG records that select ``rule``, in the order above."""
    return [entry for entry in STIG if entry["rule"] == rule]


def for_check(check_id):
    """Full control records of one check (for the catalogue): relation, rule, title, source, note, STIG IDs."""
    return [
        {
            "relation": relation,
            "framework": "ComplianceAsCode",
            "id": rule,
            "title": RULES[rule]["title"],
            "note": note,
            "source": dict(RULES[rule]["source"]),
            "stig": [dict(entry, source=dict(entry["source"])) for entry in stig_ids(rule)],
        }
        for relation, rule, note in MAPPINGS.get(check_id, ())
    ]


def compact_for_check(check_id):
    """Short control records of one check (for each host's check): relation, rule and STIG IDs."""
    return [
        {"relation": relation, "id": rule, "stig": [entry["id"] for entry in stig_ids(rule)]}
        for relation, rule, _note in MAPPINGS.get(check_id, ())
    ]


def _version_matches(version, wanted):
    return version == wanted or version.startswith(wanted + ".")


def stig_for_host(rule, distribution):
    """The STIG record of ``rule`` for this host's distribution (os-release ID and VERSION_ID), or None."""
    if not isinstance(distribution, dict):
        return None
    os_id, version = distribution.get("id"), distribution.get("version")
    if not (isinstance(os_id, str) and isinstance(version, str)):
        return None
    for entry in stig_ids(rule):
        wanted_id, wanted_version = entry["os_release"]
        if os_id == wanted_id and _version_matches(version, wanted_version):
            return entry
    return None


def describe_for_host(rule, distribution):
    """'service_kdump_disabled (DISA STIG RHEL-09-213115 on RHEL 9)', or the rule alone elsewhere."""
    entry = stig_for_host(rule, distribution)
    if entry is None:
        return rule
    return "%s (DISA STIG %s on %s)" % (rule, entry["id"], entry["product"])
