"""Tests of the compliance control mappings (_audit_controls.py) and how the catalogue and host records carry them.

The rule and STIG IDs were read in ComplianceAsCode/content at _audit_controls.CONTENT_COMMIT; the test pins
what the data says (relations, sources, products), not the upstream files, which are not available offline.
"""

from __future__ import annotations

import pathlib
import re

import pytest
import sibling_tests
from ansible_collections.kdump.fleet.plugins.module_utils import _audit_controls, _fleet_audit, _host_facts, _readiness
from ansible_collections.kdump.fleet.plugins.module_utils._audit_controls import (
    CONFLICTS_WITH,
    EVIDENCES,
    KEXEC_LOAD_DISABLED,
    SERVICE_KDUMP_DISABLED,
)
from conftest import load_fixture

TEST_AUDIT = sibling_tests.load("plugins/module_utils/test_audit.py")
DOCS = pathlib.Path(__file__).resolve().parents[4] / "docs" / "audit.md"
STIG_ID = re.compile(r"^(RHEL-(08|09|10)|OL0[789]-00|SLES-1[25]|UBTU-2[24])-[0-9]{6}$")


def test_the_mapped_checks_and_their_relations():
    relations = {
        check_id: [(relation, rule) for relation, rule, _note in mappings]
        for check_id, mappings in _audit_controls.MAPPINGS.items()
    }
    assert relations == {
        "KDUMP-002": [(CONFLICTS_WITH, SERVICE_KDUMP_DISABLED)],
        "KDUMP-012": [(CONFLICTS_WITH, KEXEC_LOAD_DISABLED)],
        "KDUMP-013": [(CONFLICTS_WITH, SERVICE_KDUMP_DISABLED)],
        "KDUMP-015": [(EVIDENCES, SERVICE_KDUMP_DISABLED)],
    }
    assert set(_audit_controls.MAPPINGS) <= set(_readiness.CHECK_IDS)


def test_every_rule_and_stig_id_names_its_source_at_one_commit():
    assert re.fullmatch(r"[0-9a-f]{40}", _audit_controls.CONTENT_COMMIT)
    records = list(_audit_controls.RULES.values()) + list(_audit_controls.STIG)
    for record in records:
        source = record["source"]
        assert source["repo"] == "ComplianceAsCode/content"
        assert source["commit"] == _audit_controls.CONTENT_COMMIT
        assert source["url"] == (
            f"https://github.com/ComplianceAsCode/content/blob/{_audit_controls.CONTENT_COMMIT}/{source['path']}"
        )
    # A rule is read in its rule.yml; a STIG ID in the product's control file or the rule's stigid reference.
    assert _audit_controls.RULES[SERVICE_KDUMP_DISABLED]["source"]["path"].endswith("/service_kdump_disabled/rule.yml")
    for entry in _audit_controls.STIG:
        path = entry["source"]["path"]
        assert (
            path.startswith(("controls/stig_", "products/"))
            or path == _audit_controls.RULES[entry["rule"]]["source"]["path"]
        ), entry
        assert STIG_ID.match(entry["id"]), entry["id"]
        assert entry["rule"] in _audit_controls.RULES


def test_the_stig_ids_of_each_rule():
    assert [e["id"] for e in _audit_controls.stig_ids(SERVICE_KDUMP_DISABLED)] == [
        "RHEL-08-010670",
        "RHEL-09-213115",
        "RHEL-10-701200",
        "OL07-00-021300",
        "OL08-00-010670",
        "OL09-00-002385",
        "SLES-12-010840",
        "SLES-15-040190",
        "UBTU-22-213015",
        "UBTU-24-600070",
    ]
    assert [e["id"] for e in _audit_controls.stig_ids(KEXEC_LOAD_DISABLED)] == [
        "RHEL-08-010372",
        "RHEL-09-213020",
        "RHEL-10-701050",
        "OL08-00-010372",
        "OL09-00-002428",
    ]


@pytest.mark.parametrize(
    ("distribution", "rule", "expected"),
    [
        ({"id": "rhel", "version": "9.4"}, SERVICE_KDUMP_DISABLED, "RHEL-09-213115"),
        ({"id": "rhel", "version": "8.10"}, KEXEC_LOAD_DISABLED, "RHEL-08-010372"),
        ({"id": "rhel", "version": "10.0"}, SERVICE_KDUMP_DISABLED, "RHEL-10-701200"),
        ({"id": "rhel", "version": "1.0"}, SERVICE_KDUMP_DISABLED, None),  # "1" is no prefix of "10"
        ({"id": "ol", "version": "9.3"}, KEXEC_LOAD_DISABLED, "OL09-00-002428"),
        ({"id": "ubuntu", "version": "22.04"}, SERVICE_KDUMP_DISABLED, "UBTU-22-213015"),
        ({"id": "ubuntu", "version": "22.04"}, KEXEC_LOAD_DISABLED, None),  # no Ubuntu STIG ID selects it
        ({"id": "sles", "version": "15.5"}, SERVICE_KDUMP_DISABLED, "SLES-15-040190"),
        ({"id": "debian", "version": "12"}, SERVICE_KDUMP_DISABLED, None),  # no DISA STIG for Debian
        ({"id": "almalinux", "version": "9.4"}, SERVICE_KDUMP_DISABLED, None),  # the STIG names RHEL itself
        ({"id": None, "version": None}, SERVICE_KDUMP_DISABLED, None),
        (None, SERVICE_KDUMP_DISABLED, None),
    ],
)
def test_the_stig_id_for_a_host(distribution, rule, expected):
    entry = _audit_controls.stig_for_host(rule, distribution)
    assert (entry["id"] if entry else None) == expected
    text = _audit_controls.describe_for_host(rule, distribution)
    assert text == (rule if expected is None else f"{rule} (DISA STIG {expected} on {entry['product']})")


def test_the_catalogue_carries_full_records_and_each_host_check_the_ids():
    fleet = _fleet_audit.evaluate_fleet({"web1": {"kdump": TEST_AUDIT.ready_info()}}, now=TEST_AUDIT.NOW)
    catalogue = {entry["id"]: entry for entry in fleet["catalogue"]}
    (masked,) = catalogue["KDUMP-013"]["controls"]
    assert masked["relation"] == CONFLICTS_WITH
    assert (masked["framework"], masked["id"]) == ("ComplianceAsCode", SERVICE_KDUMP_DISABLED)
    assert masked["title"] == "Disable KDump Kernel Crash Analyzer (kdump)"
    assert "systemctl mask --now kdump" in masked["note"]
    assert masked["source"]["path"] == "linux_os/guide/services/base/service_kdump_disabled/rule.yml"
    rhel8 = next(stig for stig in masked["stig"] if stig["id"] == "RHEL-08-010670")
    assert rhel8["product"] == "RHEL 8"
    assert rhel8["title"] == "RHEL 8 must disable kernel dumps unless needed."
    assert rhel8["source"]["path"] == "products/rhel8/controls/stig_rhel8.yml"
    assert catalogue["KDUMP-001"]["controls"] == []
    host_checks = {check["id"]: check for check in fleet["hosts"][0]["checks"]}
    assert host_checks["KDUMP-012"]["controls"] == [
        {
            "relation": CONFLICTS_WITH,
            "id": KEXEC_LOAD_DISABLED,
            "stig": ["RHEL-08-010372", "RHEL-09-213020", "RHEL-10-701050", "OL08-00-010372", "OL09-00-002428"],
        }
    ]
    assert host_checks["KDUMP-015"]["controls"][0]["relation"] == EVIDENCES
    assert host_checks["KDUMP-004"]["controls"] == []


def test_the_data_is_not_shared_between_records():
    first = _audit_controls.for_check("KDUMP-002")
    first[0]["stig"][0]["source"]["path"] = "changed"
    assert _audit_controls.for_check("KDUMP-002")[0]["stig"][0]["source"]["path"] != "changed"


def test_docs_list_every_mapping_with_its_source():
    text = DOCS.read_text(encoding="utf-8")
    for check_id, mappings in _audit_controls.MAPPINGS.items():
        for _relation, rule, _note in mappings:
            assert re.search(rf"\| {check_id} \|[^\n]*`{rule}`", text), (check_id, rule)
    for entry in _audit_controls.STIG:
        assert entry["id"] in text, entry["id"]
        assert entry["source"]["path"] in text, entry["source"]["path"]
    assert _audit_controls.CONTENT_COMMIT in text


@pytest.mark.parametrize(
    ("os_release", "expected"),
    [
        ("sles-12-sp1", "service_kdump_disabled (DISA STIG SLES-12-010840 on SLES 12)"),
        # openSUSE has no DISA STIG: the rule alone, though the family is the same.
        ("opensuse-leap-15.4", "service_kdump_disabled"),
        ("opensuse-tumbleweed-20230304", "service_kdump_disabled"),
    ],
)
def test_the_stig_id_of_a_suse_host_from_its_real_os_release(os_release, expected):
    fields = _host_facts.parse_os_release(load_fixture("suse", "os-release/" + os_release))
    assert _host_facts.family(fields) == "suse"
    assert _audit_controls.describe_for_host(SERVICE_KDUMP_DISABLED, _host_facts.distribution(fields)) == expected
