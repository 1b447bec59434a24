# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one readiness evaluator: the check catalogue over a host state; private to the collection.

The audit runs every check, the role's verify step and the crash test's pre-flight guard
run the ones that apply to them (``ROLE_VERIFY_CHECKS``, ``CRASH_TEST_CHECKS``), so one
fault gets one message and one check ID everywhere. Every check reads a host state that
``_host_state.conform`` has shaped; a field it reads that kdump_info reported with the
wrong type (or not at all) makes the check unknown, never passed. Fleet evaluation and
the audit settings are in _fleet_audit.py.
"""

from __future__ import annotations

import datetime
import math

from ansible_collections.kdump.fleet.plugins.module_utils._audit_controls import (
    KEXEC_LOAD_DISABLED,
    SERVICE_KDUMP_DISABLED,
    compact_for_check,
    describe_for_host,
    for_check,
)
from ansible_collections.kdump.fleet.plugins.module_utils._host_state import (
    EVIDENCE_PATH,
    HOST_TARGETS,
    PROBE_PORTS,
    conform,
)

PASS = "pass"
FAIL = "fail"
UNKNOWN = "unknown"
NOT_APPLICABLE = "not_applicable"
RESULTS = (PASS, FAIL, UNKNOWN, NOT_APPLICABLE)

REQUIRED = "required"
ADVISORY = "advisory"

HARDENING_RULE = SERVICE_KDUMP_DISABLED
# makedumpfile -d bits: 8 = user pages, 16 = free pages; excluding both leaves mostly kernel memory.
_USER_AND_FREE_PAGES = 8 | 16


class Outcome:
    """What one check found on one host."""

    def __init__(self, result, finding, facts=None):
        self.result = result
        self.finding = finding
        self.facts = facts or {}


class Check:
    """One catalogue entry: stable ID, default severity, one-line title, remediation, evaluator.

    ``reads`` names the state fields the evaluator looks at (dotted paths): when kdump_info
    reported one of them with the wrong type, or not at all, the check is unknown.
    """

    def __init__(self, check_id, title, required, remediation, evaluate, *, reads=()):
        self.id = check_id
        self.title = title
        self.required = required
        self.remediation = remediation
        self.evaluate = evaluate
        self.reads = tuple(reads)

    def as_dict(self):
        return {
            "id": self.id,
            "title": self.title,
            "default_severity": REQUIRED if self.required else ADVISORY,
            "remediation": self.remediation,
            "controls": for_check(self.id),
        }


def _at(state, *keys):
    """state[k1][k2]...; None when a level is None (unknown) or not a mapping."""
    for key in keys:
        if not isinstance(state, dict):
            return None
        state = state.get(key)
    return state


def _known(*values):
    return all(value is not None for value in values)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def format_bytes(size):
    """Human-readable binary size: 268435456 -> '256 MiB'."""
    if not _is_number(size):
        return "?"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            text = ("%.1f" % value).rstrip("0").rstrip(".")
            return "%s %s" % (text, unit)
        value /= 1024
    return "?"  # pragma: no cover - the loop always returns


def parse_time(text):
    """ISO 8601 time of the evidence record as an aware datetime (naive times are taken as UTC); None if invalid."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment


# --- the checks ------------------------------------------------------------------------------------


def _check_audited(info, settings, now):
    # Only reached for hosts whose kdump_info ran; unreachable hosts are built by not_audited_host().
    return Outcome(PASS, "kdump_info ran on the host", {})


def _check_tools(info, settings, now):
    installed = _at(info, "tools_installed")
    packages = _at(info, "packages")
    facts = {"tools_installed": installed, "packages": packages}
    if not _known(installed):
        return Outcome(UNKNOWN, "kdump_info did not report tools_installed", facts)
    packages = packages if isinstance(packages, dict) else {}
    present = ["%s %s" % (name, version) for name, version in sorted(packages.items()) if version]
    missing = sorted(name for name, version in packages.items() if not version)
    if installed:
        return Outcome(PASS, "kdump tools installed (%s)" % (", ".join(present) or "versions not reported"), facts)
    detail = " (missing: %s)" % ", ".join(missing) if missing else ""
    return Outcome(FAIL, "kdump tools are not installed" + detail, facts)


def _check_service(info, settings, now):
    service = _at(info, "service")
    if not isinstance(service, dict):
        return Outcome(UNKNOWN, "kdump_info did not report the kdump service", {"service": service})
    facts = {"service": service}
    name = service.get("name") or "the kdump service"
    if service.get("exists") is False:
        return Outcome(FAIL, "service %s does not exist" % name, facts)
    enabled, active = service.get("enabled"), service.get("active")
    if not _known(enabled, active):
        return Outcome(UNKNOWN, "kdump_info did not report whether %s is enabled and active" % name, facts)
    problems = []
    if not enabled:
        problems.append("not enabled (unit file state: %s)" % (service.get("unit_file_state") or "unknown"))
    if not active:
        problems.append("not active")
    if problems:
        return Outcome(FAIL, "service %s is %s" % (name, " and ".join(problems)), facts)
    return Outcome(PASS, "service %s is enabled and active" % name, facts)


def _check_cmdline(info, settings, now):
    cmdline = _at(info, "crashkernel", "cmdline")
    configured = _at(info, "crashkernel", "configured")
    facts = {"cmdline": cmdline, "configured": configured}
    if cmdline:
        return Outcome(PASS, "crashkernel=%s is on the running kernel's command line" % cmdline, facts)
    if configured:
        return Outcome(
            FAIL,
            "crashkernel= is not on the running kernel's command line; the boot config has crashkernel=%s "
            "(a reboot is pending)" % configured,
            facts,
        )
    return Outcome(FAIL, "crashkernel= is neither on the running kernel's command line nor in the boot config", facts)


def _check_reserved(info, settings, now):
    reserved = _at(info, "crashkernel", "reserved_bytes")
    source = _at(info, "crashkernel", "reserved_source")
    cmdline = _at(info, "crashkernel", "cmdline")
    facts = {
        "reserved_bytes": reserved,
        "reserved_source": source,
        "iomem": _at(info, "crashkernel", "iomem"),
        "cmdline": cmdline,
    }
    if reserved is None:
        return Outcome(
            UNKNOWN,
            "kdump_info could not tell the reserved size (/sys/kernel/kexec_crash_size and /proc/iomem unreadable)",
            facts,
        )
    if reserved > 0:
        via = " (from the /proc/iomem Crash kernel region)" if source == "iomem" else ""
        return Outcome(PASS, "%s reserved for the capture kernel%s" % (format_bytes(reserved), via), facts)
    if source == "kexec_crash_size":
        finding = "no memory is reserved for the capture kernel (kexec_crash_size is 0)"
    else:
        finding = "no memory is reserved for the capture kernel (no Crash kernel region in /proc/iomem)"
    if cmdline:
        finding += "; crashkernel=%s is on the command line but the kernel could not reserve it (see dmesg)" % cmdline
    return Outcome(FAIL, finding, facts)


def _reservation_facts(info):
    reserved = _at(info, "crashkernel", "reserved_bytes")
    recommended = _at(info, "crashkernel", "recommended_bytes")
    facts = {
        "reserved_bytes": reserved,
        "recommended_bytes": recommended,
        "recommended": _at(info, "crashkernel", "recommended"),
        "cma_bytes": _at(info, "crashkernel", "cma_bytes"),
        "memory": _at(info, "memory"),
    }
    return reserved, recommended, facts


def _check_reserved_enough(info, settings, now):
    reserved, recommended, facts = _reservation_facts(info)
    if not (_is_number(reserved) and _is_number(recommended) and recommended > 0):
        return Outcome(UNKNOWN, "kdump_info did not report the reserved and recommended sizes", facts)
    if reserved == 0:
        return Outcome(NOT_APPLICABLE, "nothing is reserved (see KDUMP-004)", facts)
    # A crashkernel=Y,cma area is memory the capture kernel gets on top of the reservation (Linux 6.16+);
    # the reservation itself still has to hold the capture kernel and its initrd.
    cma = facts["cma_bytes"] if _is_number(facts["cma_bytes"]) and facts["cma_bytes"] > 0 else 0
    usable = reserved + cma
    held = format_bytes(reserved) + (" plus %s of CMA" % format_bytes(cma) if cma else "")
    if usable >= recommended:
        return Outcome(PASS, "%s reserved, recommended for this host: %s" % (held, format_bytes(recommended)), facts)
    return Outcome(
        FAIL,
        "%s reserved is below the %s recommended for this host's RAM: the capture kernel may run out of memory"
        % (held, format_bytes(recommended)),
        facts,
    )


def _check_reserved_not_oversized(info, settings, now):
    reserved, recommended, facts = _reservation_facts(info)
    ratio = settings["reserved_max_ratio"]
    facts["reserved_max_ratio"] = ratio
    if not (_is_number(reserved) and _is_number(recommended) and recommended > 0):
        return Outcome(UNKNOWN, "kdump_info did not report the reserved and recommended sizes", facts)
    if reserved == 0:
        return Outcome(NOT_APPLICABLE, "nothing is reserved (see KDUMP-004)", facts)
    limit = recommended * ratio
    if reserved <= limit:
        return Outcome(
            PASS,
            "%s reserved is within %gx the recommended %s" % (format_bytes(reserved), ratio, format_bytes(recommended)),
            facts,
        )
    return Outcome(
        FAIL,
        "%s reserved is more than %gx the recommended %s: %s of RAM is unusable by the system"
        % (format_bytes(reserved), ratio, format_bytes(recommended), format_bytes(reserved - recommended)),
        facts,
    )


def _check_loaded(info, settings, now):
    loaded = _at(info, "crashkernel", "loaded")
    facts = {"loaded": loaded}
    if not _known(loaded):
        if _at(info, "crashkernel", "reserved_bytes") == 0:
            return Outcome(FAIL, "no capture kernel can be loaded: no memory is reserved for it (KDUMP-004)", facts)
        return Outcome(UNKNOWN, "kdump_info did not report /sys/kernel/kexec_crash_loaded", facts)
    if loaded:
        return Outcome(PASS, "a capture kernel is loaded (kexec_crash_loaded = 1)", facts)
    return Outcome(FAIL, "no capture kernel is loaded (kexec_crash_loaded = 0): a crash now would not be dumped", facts)


def _check_initrd(info, settings, now):
    initrd = _at(info, "initrd")
    config = _at(info, "config")
    facts = {"initrd": initrd, "config_path": _at(config, "path"), "config_mtime": _at(config, "mtime")}
    if not isinstance(initrd, dict):
        return Outcome(UNKNOWN, "kdump_info did not report the capture initrd", facts)
    path = initrd.get("path") or "the capture initrd"
    if initrd.get("exists") is False:
        return Outcome(FAIL, "capture initrd %s does not exist" % path, facts)
    if _at(config, "exists") is False:
        return Outcome(NOT_APPLICABLE, "there is no dump config to compare with (see KDUMP-009)", facts)
    # kdump_info compares the two times once, on the host; nobody re-derives it.
    stale = initrd.get("stale")
    if stale is None:
        return Outcome(
            UNKNOWN, "kdump_info did not report whether the initrd is older than what it is built from", facts
        )
    source = initrd.get("built_from") or _at(config, "path")
    if stale:
        return Outcome(
            FAIL,
            "capture initrd %s is older than %s, which it is built from: the loaded capture environment does "
            "not have the current settings%s" % (path, source, _rebuild_hint(info)),
            facts,
        )
    return Outcome(PASS, "capture initrd %s is newer than %s, which it is built from" % (path, source), facts)


def _rebuild_hint(info):
    """'; systemctl restart kdump rebuilds it' when the unit is known (wording only: not a field the check reads).

    Every family's unit rebuilds a stale capture initrd when it starts (kdumpctl, kdump-config load, SUSE's load.sh).
    """
    name = _at(info, "service", "name")
    return "; systemctl restart %s rebuilds it" % name if isinstance(name, str) and name else ""


def _target(info):
    return _at(info, "config", "target")


def _check_target_configured(info, settings, now):
    config = _at(info, "config")
    if not isinstance(config, dict):
        return Outcome(UNKNOWN, "kdump_info did not report the dump config", {"config": config})
    facts = {key: config.get(key) for key in ("path", "exists", "target", "errors")}
    path = config.get("path") or "the dump config"
    if config.get("exists") is False:
        return Outcome(FAIL, "dump config %s does not exist" % path, facts)
    errors = config.get("errors") or []
    if errors:
        return Outcome(FAIL, "dump config %s has errors: %s" % (path, "; ".join(str(e) for e in errors)), facts)
    target = config.get("target")
    target_type = target.get("type") if isinstance(target, dict) else None
    if not target_type:
        return Outcome(FAIL, "no dump target is configured in %s" % path, facts)
    location = target.get("location")
    if target_type != "local" and not location:
        return Outcome(FAIL, "the %s dump target in %s has no location" % (target_type, path), facts)
    where = location or target.get("path") or ""
    return Outcome(PASS, ("dump target: %s %s" % (target_type, where)).strip(), facts)


def _check_target_reachable(info, settings, now):
    target = _target(info)
    reachable = _at(info, "config", "target_reachable")
    probe = _at(info, "config", "target_probe")
    facts = {"target": target, "target_reachable": reachable, "target_probe": probe}
    if _at(info, "config", "exists") is False:
        return Outcome(NOT_APPLICABLE, "there is no dump config (see KDUMP-009)", facts)
    if not isinstance(target, dict) or not target.get("type"):
        return Outcome(NOT_APPLICABLE, "no dump target is configured (see KDUMP-009)", facts)
    target_type = target["type"]
    if target_type in HOST_TARGETS:
        return Outcome(NOT_APPLICABLE, "%s target: nothing to reach over the network" % target_type, facts)
    if target_type not in PROBE_PORTS:
        return Outcome(UNKNOWN, "cannot tell where a %s target sends the dump" % target_type, facts)
    port = target.get("port") or PROBE_PORTS[target_type]
    where = "%s target %s (TCP port %d)" % (target_type, target.get("location") or "?", port)
    if reachable is True:
        return Outcome(PASS, "%s is reachable from the host" % where, facts)
    if reachable is False:
        error = probe.get("error") if isinstance(probe, dict) else None
        return Outcome(FAIL, "%s is not reachable from the host%s" % (where, ": %s" % error if error else ""), facts)
    return Outcome(UNKNOWN, "%s was not probed (kdump_info probe_target: true reports it)" % where, facts)


def _check_free_space(info, settings, now):
    target = _target(info)
    storage = _at(info, "storage")
    memory = _at(info, "memory")
    collector = _at(info, "config", "collector")
    facts = {"target": target, "storage": storage, "memory": memory, "collector": collector}
    target_type = target.get("type") if isinstance(target, dict) else None
    if target_type and target_type != "local":
        return Outcome(
            NOT_APPLICABLE,
            "free space on a %s target is not measured from the host; watch it on the target" % target_type,
            facts,
        )
    if not isinstance(storage, dict):
        return Outcome(UNKNOWN, "kdump_info did not report the dump directory's file system", facts)
    path = storage.get("path") or "the dump directory"
    if storage.get("exists") is False:
        # kdump_info then measures the nearest existing parent: the file system the dump would land on.
        path += " (does not exist yet)"
    ram = _at(memory, "bytes")
    free = storage.get("free_bytes")
    if not (_is_number(free) and _is_number(ram)):
        return Outcome(UNKNOWN, "kdump_info did not report free space at %s or the host's RAM" % path, facts)
    level = _at(collector, "dump_level")
    filtered = level is not None and level & _USER_AND_FREE_PAGES == _USER_AND_FREE_PAGES
    ratio = settings["dump_ratio_filtered"] if filtered else settings["dump_ratio_unfiltered"]
    estimate = int(ram * ratio)
    basis = "%g x %s RAM at dump level %s" % (ratio, format_bytes(ram), "unknown" if level is None else level)
    # A real dump of this host beats any ratio: a makedumpfile that cannot filter the running
    # kernel's free pages (seen on Debian 13) writes far more than the ratio expects.
    evidence = _at(info, "crash_test")
    last_dump = evidence.get("dump_bytes") if isinstance(evidence, dict) else None
    if _is_number(last_dump) and last_dump > estimate:
        estimate = int(last_dump)
        basis = "the size of the last crash-test dump, larger than %s" % basis
    facts.update(dump_level=level, dump_ratio=ratio, estimated_dump_bytes=estimate)
    if free >= estimate:
        return Outcome(
            PASS,
            "%s free at %s, estimated dump %s (%s)" % (format_bytes(free), path, format_bytes(estimate), basis),
            facts,
        )
    return Outcome(
        FAIL,
        "only %s free at %s, estimated dump %s (%s)" % (format_bytes(free), path, format_bytes(estimate), basis),
        facts,
    )


# --- the hardening conflict (KDUMP-012, KDUMP-013): which policy wins on the host, what to change ---------

_LET_HARDENING_WIN = (
    "to let the hardening win, set kdump_enabled: false and run kdump.fleet.kdump (it frees the reserved memory), "
    "then leave the host out of the kdump audit (kdump_audit_hosts or --limit) or record kdump_audit_exceptions "
    "for its failing checks"
)


def _kdump_wanted(info, service_counts=True):
    """What shows that kdump is meant to run on this host; empty when nothing does."""
    signs = []
    if service_counts and _at(info, "service", "enabled") is True:
        signs.append("the kdump service is enabled")
    if _at(info, "crashkernel", "loaded") is True:
        signs.append("a capture kernel is loaded")
    reserved = _at(info, "crashkernel", "reserved_bytes")
    configured = _at(info, "crashkernel", "configured")
    if _is_number(reserved) and reserved > 0:
        signs.append("%s is reserved for a capture kernel" % format_bytes(reserved))
    elif isinstance(configured, str) and configured:
        signs.append("the boot config has crashkernel=%s" % configured)
    return signs


def _check_kexec_load_disabled(info, settings, now):
    value = _at(info, "sysctl", "kexec_load_disabled")
    loaded = _at(info, "crashkernel", "loaded")
    facts = {"kexec_load_disabled": value, "loaded": loaded}
    if not _is_number(value):
        return Outcome(UNKNOWN, "kdump_info did not report kernel.kexec_load_disabled", facts)
    if value == 0:
        return Outcome(PASS, "kernel.kexec_load_disabled = 0", facts)
    finding = "kernel.kexec_load_disabled = %s: no capture kernel can be loaded until the next boot" % value
    if loaded is True:
        finding += " (the one loaded now still works, but a service restart cannot reload it)"
    rule = describe_for_host(KEXEC_LOAD_DISABLED, _at(info, "distribution"))
    wanted = _kdump_wanted(info)
    let_kdump_win = (
        "record an exception for that rule in the hardening profile, remove kernel.kexec_load_disabled=1 from the "
        "sysctl configuration and reboot"
    )
    if not wanted:
        facts.update(kdump_wanted=[], policy_wins="hardening")
        finding += (
            "; kdump is not set up on this host either, so the hardening rule %s is in force and nothing conflicts "
            "with it: if that is intended, leave the host out of the kdump audit; to take dumps here, %s, then run "
            "kdump.fleet.kdump" % (rule, let_kdump_win)
        )
        return Outcome(FAIL, finding, facts)
    if loaded is True:
        facts.update(kdump_wanted=wanted, policy_wins="kdump_until_reload")
        finding += (
            "; kdump is wanted here (%s) and wins for now, but the hardening rule %s wins from the next kdump restart "
            "on, and at every boot while the setting is in the sysctl configuration" % (", ".join(wanted), rule)
        )
    else:
        facts.update(kdump_wanted=wanted, policy_wins="hardening")
        finding += "; kdump is wanted here (%s) but the hardening rule %s wins: %s, so a crash now is not dumped" % (
            ", ".join(wanted),
            rule,
            "no capture kernel is loaded" if loaded is False else "no capture kernel can be loaded",
        )
    finding += "; to let kdump win, %s; %s" % (let_kdump_win, _LET_HARDENING_WIN)
    return Outcome(FAIL, finding, facts)


def _check_not_masked(info, settings, now):
    service = _at(info, "service")
    if not isinstance(service, dict):
        return Outcome(UNKNOWN, "kdump_info did not report the kdump service", {"service": service})
    facts = {key: service.get(key) for key in ("name", "exists", "masked", "unit_file_state") if key in service}
    name = service.get("name") or "the kdump service"
    state = service.get("unit_file_state")
    masked = service.get("masked")
    if masked is True or (isinstance(state, str) and state.startswith("masked")):
        return _masked_outcome(info, service, name, facts)
    if service.get("exists") is False:
        # Nothing to mask; a service that is missing altogether is KDUMP-001/KDUMP-002's finding.
        return Outcome(NOT_APPLICABLE, "%s does not exist (see KDUMP-002)" % name, facts)
    if masked is None and state is None:
        return Outcome(UNKNOWN, "kdump_info did not report whether %s is masked" % name, facts)
    return Outcome(PASS, "%s is not masked" % name, facts)


def _masked_outcome(info, service, name, facts):
    rule = describe_for_host(SERVICE_KDUMP_DISABLED, _at(info, "distribution"))
    finding = '%s is masked, as the hardening rule %s ("disable kdump unless needed") does' % (name, rule)
    loaded = _at(info, "crashkernel", "loaded")
    facts.update(loaded=loaded, reserved_bytes=_at(info, "crashkernel", "reserved_bytes"))
    # A unit masked while it ran leaves its capture kernel loaded until the next reboot.
    armed = loaded is True or (loaded is None and service.get("active") is True)
    wanted = _kdump_wanted(info, service_counts=False)
    let_kdump_win = (
        "record an exception for that rule in the hardening profile (or it masks the unit again), systemctl unmask "
        "%s, set kdump_enabled: true and run kdump.fleet.kdump" % name
    )
    if not (wanted or armed):
        facts.update(kdump_wanted=[], policy_wins="hardening")
        finding += (
            "; kdump is not set up on this host either (nothing is reserved for a capture kernel), so the hardening "
            "policy is in force and nothing conflicts with it: if that is intended, leave the host out of the kdump "
            "audit; to take dumps here, %s" % let_kdump_win
        )
        return Outcome(FAIL, finding, facts)
    if armed:
        facts.update(kdump_wanted=wanted, policy_wins="kdump_until_reboot")
        finding += (
            "; kdump wins until the next reboot (a capture kernel is still loaded), then the hardening policy does: "
            "the masked unit will not load one again"
        )
    else:
        facts.update(kdump_wanted=wanted, policy_wins="hardening")
        finding += (
            "; kdump is wanted here (%s) but the hardening policy wins: the masked unit cannot start, so no capture "
            "kernel is loaded and a crash now is not dumped" % ", ".join(wanted)
        )
    finding += "; to let kdump win, %s; %s" % (let_kdump_win, _LET_HARDENING_WIN)
    return Outcome(FAIL, finding, facts)


def _check_crash_test(info, settings, now):
    evidence = _at(info, "crash_test")
    running_kernel = _at(info, "kernel")
    max_age = settings["crash_test_max_age_days"]
    facts = {"crash_test": evidence, "kernel": running_kernel, "crash_test_max_age_days": max_age}
    if not evidence:
        # kdump_info reports an evidence file it could not parse as null plus a note in its errors.
        unreadable = [e for e in (_at(info, "errors") or []) if isinstance(e, str) and e.startswith(EVIDENCE_PATH)]
        if unreadable:
            return Outcome(FAIL, "the crash-test evidence cannot be used: %s" % unreadable[0], facts)
        return Outcome(FAIL, "no crash-test evidence (%s)" % EVIDENCE_PATH, facts)
    if not isinstance(evidence, dict):
        return Outcome(UNKNOWN, "the crash-test evidence is not a JSON object", facts)
    when = parse_time(evidence.get("time"))
    if when is None:
        return Outcome(UNKNOWN, "the crash-test evidence has no valid time: %r" % evidence.get("time"), facts)
    age_days = max(0.0, (now - when).total_seconds() / 86400.0)
    facts["age_days"] = round(age_days, 1)
    if evidence.get("result") != "success":
        message = evidence.get("message") or "no message"
        return Outcome(FAIL, "the last crash test (%s) did not succeed: %s" % (evidence.get("time"), message), facts)
    if age_days > max_age:
        return Outcome(
            FAIL,
            "the last successful crash test is %d days old (limit: %d days)" % (int(age_days), max_age),
            facts,
        )
    finding = "crash test succeeded %d days ago" % int(age_days)
    tested_kernel = evidence.get("kernel")
    if tested_kernel and running_kernel and tested_kernel != running_kernel:
        finding += " on kernel %s (running now: %s)" % (tested_kernel, running_kernel)
    return Outcome(PASS, finding, facts)


def _exposure(item):
    """Who besides the owner can read a listed dump: "others", "group", None (nobody) or "unknown"."""
    world, group = item.get("world_readable"), item.get("group_readable")
    if world:
        return "others"
    if group:
        return "group"
    return None if world is False and group is False else "unknown"


def _check_dump_permissions(info, settings, now):
    dumps = _at(info, "dumps")
    target = _target(info)
    facts = {"dumps_path": _at(dumps, "path"), "count": _at(dumps, "count")}
    target_type = target.get("type") if isinstance(target, dict) else None
    if dumps is None and target_type in (None, "local"):
        return Outcome(UNKNOWN, "kdump_info did not report the existing dumps", facts)
    if dumps is None:
        return Outcome(NOT_APPLICABLE, "dumps on a %s target are not listed from the host" % target_type, facts)
    items = dumps.get("items") or []
    path = dumps.get("path") or "the dump directory"
    exposed = [item for item in items if _exposure(item) in ("others", "group")]
    undecided = [item for item in items if _exposure(item) == "unknown"]
    facts["exposed"] = [
        {"path": i.get("path"), "mode": i.get("mode"), "dir_mode": i.get("dir_mode"), "readable_by": _exposure(i)}
        for i in exposed
    ]
    # kdump_info lists the newest dumps only (list_dumps_limit) but counts exposed ones among all of them.
    world = max(sum(1 for i in exposed if _exposure(i) == "others"), dumps.get("world_readable_count") or 0)
    group = dumps.get("group_readable_count") or 0
    exposed_total = max(len(exposed), world, group)
    if exposed_total:
        shown = ", ".join(
            "%s (mode %s, readable by %s)" % (i.get("path"), i.get("mode"), _exposure(i)) for i in exposed[:3]
        )
        more = exposed_total - min(len(exposed), 3)
        if more:
            shown += "%s%d more (older ones, beyond the listed dumps, included)" % (" and " if shown else "", more)
        return Outcome(
            FAIL,
            "%d dump file(s) readable by other users or the file's group (%d by others, %d by the group): %s"
            % (exposed_total, world, group, shown),
            facts,
        )
    if undecided:
        return Outcome(UNKNOWN, "kdump_info did not report the mode of %d dump file(s)" % len(undecided), facts)
    if not items:
        return Outcome(PASS, "no dumps under %s" % path, facts)
    return Outcome(PASS, "%d dump file(s) under %s, readable by their owner only" % (len(items), path), facts)


def _kernel_problem(kernel, built_at_boot):
    """What a crash would lose on a kernel that is not running yet, once it boots; None when nothing."""
    release = kernel.get("release")
    if not kernel.get("crashkernel"):
        return "%s boots without crashkernel= (its boot entry has none), so nothing is reserved on it" % release
    if not kernel.get("capture_initrd_exists") and built_at_boot is not True:
        return "%s has no capture initrd (%s), and the kdump service does not build one when it boots" % (
            release,
            kernel.get("capture_initrd"),
        )
    return None


def _check_kernels(info, settings, now):
    kernels = _at(info, "kernels")
    facts = {"kernels": kernels}
    installed = (kernels or {}).get("installed")
    if not isinstance(installed, list):
        return Outcome(UNKNOWN, "kdump_info did not report the installed kernels and their boot entries", facts)
    # The running kernel is covered by KDUMP-003 and KDUMP-008; a kernel without a boot entry does not boot.
    waiting = [k for k in installed if isinstance(k, dict) and not k.get("running") and k.get("boot_entry")]
    if not waiting:
        return Outcome(NOT_APPLICABLE, "no installed kernel other than the running one has a boot entry", facts)
    built_at_boot = kernels.get("capture_initrd_built_at_boot")
    problems = []
    for kernel in waiting:
        problem = _kernel_problem(kernel, built_at_boot)
        if problem:
            problems.append(problem + (" - it is the default boot entry" if kernel.get("default") else ""))
    releases = ", ".join(str(k.get("release")) for k in waiting)
    if problems:
        return Outcome(FAIL, "after a reboot into it, a crash would not be dumped: " + "; ".join(problems), facts)
    return Outcome(
        PASS,
        "every other installed kernel (%s) boots with crashkernel= and %s"
        % (releases, "gets its capture initrd at boot" if built_at_boot else "has its capture initrd"),
        facts,
    )


_REMEDIATE_KDUMP = "set kdump_enabled: true and run kdump.fleet.kdump"
_REMEDIATE_RESERVE = (
    "set kdump_crashkernel: recommended (or a larger size) and run kdump.fleet.kdump with kdump_reboot_ok: true"
)

_RESERVATION = ("crashkernel.reserved_bytes", "crashkernel.recommended_bytes", "memory")

CATALOGUE = (
    Check(
        "KDUMP-000",
        "host reachable and kdump_info ran",
        True,
        "make the host reachable (connection, credentials, Python) and rerun kdump.fleet.audit",
        _check_audited,
        reads=(),
    ),
    Check(
        "KDUMP-001",
        "kdump tools installed",
        True,
        _REMEDIATE_KDUMP + " (installs the kdump tools)",
        _check_tools,
        reads=("tools_installed", "packages"),
    ),
    Check("KDUMP-002", "kdump service enabled and active", True, _REMEDIATE_KDUMP, _check_service, reads=("service",)),
    Check(
        "KDUMP-003",
        "crashkernel= on the running kernel's command line",
        True,
        _REMEDIATE_RESERVE,
        _check_cmdline,
        reads=("crashkernel.cmdline", "crashkernel.configured"),
    ),
    Check(
        "KDUMP-004",
        "memory reserved for the capture kernel",
        True,
        _REMEDIATE_RESERVE,
        _check_reserved,
        reads=("crashkernel.reserved_bytes", "crashkernel.reserved_source", "crashkernel.cmdline"),
    ),
    Check(
        "KDUMP-005",
        "reservation at least the recommended size",
        True,
        _REMEDIATE_RESERVE,
        _check_reserved_enough,
        reads=_RESERVATION,
    ),
    Check(
        "KDUMP-006",
        "reservation not far above the recommended size",
        False,
        "set kdump_crashkernel: recommended and run kdump.fleet.kdump with kdump_reboot_ok: true, "
        "or raise kdump_audit_reserved_max_ratio",
        _check_reserved_not_oversized,
        reads=_RESERVATION,
    ),
    Check(
        "KDUMP-007",
        "capture kernel loaded",
        True,
        _REMEDIATE_KDUMP + "; if it still does not load, read the service's journal",
        _check_loaded,
        reads=("crashkernel.loaded", "crashkernel.reserved_bytes"),
    ),
    Check(
        "KDUMP-008",
        "capture initrd newer than the dump config",
        False,
        "run kdump.fleet.kdump, which restarts the kdump service to rebuild the capture initrd",
        _check_initrd,
        reads=("initrd", "config.exists"),
    ),
    Check(
        "KDUMP-009",
        "dump target configured",
        True,
        "set kdump_target (and kdump_path) and run kdump.fleet.kdump",
        _check_target_configured,
        reads=("config.exists", "config.errors", "config.target"),
    ),
    Check(
        "KDUMP-010",
        "NFS/SSH dump target reachable from the host",
        True,
        "fix kdump_target.server or open TCP 2049 (NFS) / 22 (SSH) from the host to it (21 for FTP and 445 for CIFS, "
        "targets SUSE's KDUMP_SAVEDIR can name), then rerun the audit",
        _check_target_reachable,
        reads=("config.exists", "config.target", "config.target_reachable", "config.target_probe"),
    ),
    Check(
        "KDUMP-011",
        "free space at the target for the estimated dump",
        True,
        "free space under kdump_path, point kdump_target at larger storage, or filter more with "
        "kdump_core_collector.dump_level: 31",
        _check_free_space,
        reads=("config.target", "storage", "memory.bytes", "config.collector.dump_level", "crash_test.dump_bytes"),
    ),
    Check(
        "KDUMP-012",
        "kernel.kexec_load_disabled not set",
        True,
        "to let kdump win: record an exception for hardening rule %s, remove kernel.kexec_load_disabled=1 from the "
        "sysctl configuration and reboot (it cannot be unset at runtime); to let the hardening win: set "
        "kdump_enabled: false and run kdump.fleet.kdump" % KEXEC_LOAD_DISABLED,
        _check_kexec_load_disabled,
        reads=(
            "sysctl.kexec_load_disabled",
            "crashkernel.loaded",
            # only for saying which policy wins and which STIG ID to except
            "service.enabled",
            "crashkernel.reserved_bytes",
            "crashkernel.configured",
            "distribution.id",
            "distribution.version",
        ),
    ),
    Check(
        "KDUMP-013",
        "kdump service not masked by a hardening profile",
        True,
        "to let kdump win: record an exception for hardening rule %s, systemctl unmask the kdump service, then %s; "
        "to let the hardening win: set kdump_enabled: false and run kdump.fleet.kdump"
        % (HARDENING_RULE, _REMEDIATE_KDUMP),
        _check_not_masked,
        reads=(
            "service",
            # only for saying which policy wins and which STIG ID to except
            "crashkernel.loaded",
            "crashkernel.reserved_bytes",
            "crashkernel.configured",
            "distribution.id",
            "distribution.version",
        ),
    ),
    Check(
        "KDUMP-014",
        "recent successful crash-test evidence",
        False,
        "run kdump.fleet.crash_test on the host (it crashes and reboots the host), or raise "
        "kdump_audit_crash_test_max_age_days",
        _check_crash_test,
        reads=("crash_test", "kernel", "errors"),
    ),
    Check(
        "KDUMP-015",
        "existing dumps readable by their owner only",
        False,
        "chmod go-rwx the dump files and keep the kdump_path directory at mode 0700 (kdump.fleet.kdump sets the "
        "umask of the dump service)",
        _check_dump_permissions,
        reads=("dumps", "config.target.type"),
    ),
    Check(
        "KDUMP-016",
        "every installed kernel boots with the reservation and a capture initrd",
        False,
        "run kdump.fleet.kdump after installing a kernel: it sets crashkernel= on every boot entry (grubby) or "
        "in the GRUB defaults every entry is generated from, then regenerates grub.cfg",
        _check_kernels,
        reads=("kernels",),
    ),
)
CHECKS_BY_ID = {check.id: check for check in CATALOGUE}
CHECK_IDS = tuple(CHECKS_BY_ID)

# The checks that say "a crash now would be dumped" on a host the role just configured: the
# role's verify step fails on any of them. KDUMP-010 needs kdump_info's probe_target.
ROLE_VERIFY_CHECKS = ("KDUMP-001", "KDUMP-002", "KDUMP-004", "KDUMP-007", "KDUMP-009", "KDUMP-010")
# The crash test's pre-flight guard: without these a crash would be lost, so it refuses.
CRASH_TEST_CHECKS = ("KDUMP-002", "KDUMP-004", "KDUMP-007", "KDUMP-009")

# Settings the checks read; the audit's kdump_audit_* variables override them (_fleet_audit).
CHECK_SETTINGS = {
    "reserved_max_ratio": 4.0,
    "dump_ratio_filtered": 0.25,
    "dump_ratio_unfiltered": 1.0,
    "crash_test_max_age_days": 90,
}


def _overlaps(problem_path, read):
    # An empty path is the whole report (not a mapping at all): it spoils every check.
    return (
        not problem_path
        or problem_path == read
        or problem_path.startswith((read + ".", read + "["))
        or read.startswith(problem_path + ".")
    )


def _problem_for(check, problems):
    for problem in problems:
        path = problem.split(":", 1)[0]
        if any(_overlaps(path, read) for read in check.reads):
            return problem
    return None


def evaluate(check, state, problems, settings, now):
    """One check on a conformed state: its Outcome. Never raises; a bug becomes an unknown result."""
    problem = _problem_for(check, problems)
    if problem:
        return Outcome(UNKNOWN, "kdump_info's report cannot be used: %s" % problem)
    try:
        return check.evaluate(state, settings, now)
    except Exception as exc:  # one host's odd data must not cost the fleet report
        return Outcome(UNKNOWN, "the check could not evaluate this host's state: %s: %s" % (type(exc).__name__, exc))


def outcome_record(check, severity, outcome):
    return {
        "id": check.id,
        "title": check.title,
        "severity": severity,
        "result": outcome.result,
        "finding": outcome.finding,
        "remediation": check.remediation if outcome.result in (FAIL, UNKNOWN) else "",
        "facts": plain(outcome.facts),
        "controls": compact_for_check(check.id),
    }


def conformed(raw_state):
    """(state, problems) for the checks: missing fields count as problems (an older or foreign report)."""
    return conform(raw_state, note_missing=True)


def failures(raw_state, check_ids, settings=None, now=None):
    """The checks of ``check_ids`` that do not pass on one host: [{"id", "title", "finding", "remediation"}].

    Unknown counts as a failure here: the role and the crash test act on one host and must be sure.
    """
    settings = dict(CHECK_SETTINGS, **(settings or {}))
    now = now or datetime.datetime.now(datetime.timezone.utc)
    state, problems = conformed(raw_state)
    found = []
    for check_id in check_ids:
        check = CHECKS_BY_ID[check_id]
        outcome = evaluate(check, state, problems, settings, now)
        if outcome.result in (FAIL, UNKNOWN):
            record = outcome_record(check, REQUIRED, outcome)
            found.append({key: record[key] for key in ("id", "title", "result", "finding", "remediation")})
    return found


def failure_message(failures_found):
    """'KDUMP-007 no capture kernel is loaded ... (fix: ...); KDUMP-002 ...' for one host."""
    return "; ".join("%s %s (fix: %s)" % (item["id"], item["finding"], item["remediation"]) for item in failures_found)


def off_failures(raw_state):
    """What still keeps kdump on where the role turned it off (kdump_enabled: false)."""
    state, problems = conformed(raw_state)
    crash, service = state["crashkernel"] or {}, state["service"] or {}
    found = []
    if crash.get("loaded") is not False:
        found.append({"id": "KDUMP-007", "finding": "a capture kernel is still loaded (or it cannot be told)"})
    if service.get("enabled") is not False and service.get("exists") is not False:
        found.append({"id": "KDUMP-002", "finding": "service %s is still enabled" % service.get("name")})
    if crash.get("reserved_bytes") != 0:
        found.append(
            {
                "id": "KDUMP-004",
                "finding": "%s still reserved; the running kernel has crashkernel=%s and the boot configuration %s"
                % (format_bytes(crash.get("reserved_bytes")), crash.get("cmdline"), crash.get("configured")),
            }
        )
    return found


def plain(value):
    """Copy of host data as plain JSON types (strips Ansible's tagged subclasses, tuples, sets)."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None  # JSON has no NaN or Infinity
    return str(value)
