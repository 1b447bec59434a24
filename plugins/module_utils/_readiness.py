# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Readiness check catalogue evaluated on the controller from kdump_info output; private to the collection."""

from __future__ import annotations

import datetime
import math
import re

PASS = "pass"
FAIL = "fail"
UNKNOWN = "unknown"
NOT_APPLICABLE = "not_applicable"
RESULTS = (PASS, FAIL, UNKNOWN, NOT_APPLICABLE)

READY = "ready"
DEGRADED = "degraded"
NOT_READY = "not_ready"
STATUSES = (READY, DEGRADED, NOT_READY)

REQUIRED = "required"
ADVISORY = "advisory"

EVIDENCE_PATH = "/var/lib/kdump-fleet/last-crash-test.json"
HARDENING_RULE = "service_kdump_disabled"
# Network dump targets and the TCP port kdump_info's probe connects to.
PROBE_PORTS = {"nfs": 2049, "ssh": 22, "ftp": 21}
# Targets written on the host itself (a file system or a block device): nothing to reach.
HOST_TARGETS = ("local", "device", "raw", "virtiofs")
# makedumpfile -d bits: 8 = user pages, 16 = free pages; excluding both leaves mostly kernel memory.
_USER_AND_FREE_PAGES = 8 | 16
_DUMP_LEVEL_RE = re.compile(r"(?:^|\s)-d\s*(\d+)")


class AuditSettingsError(ValueError):
    """A kdump_audit_* setting is invalid; the message names the variable and the fix."""


class _Missing:
    """Marks data that kdump_info did not report at all (as opposed to a reported null)."""

    def __repr__(self):
        return "MISSING"


MISSING = _Missing()


class Outcome:
    """What one check found on one host."""

    def __init__(self, result, finding, facts=None):
        self.result = result
        self.finding = finding
        self.facts = facts or {}


class Check:
    """One catalogue entry: stable ID, default severity, one-line title, remediation and evaluator."""

    def __init__(self, check_id, title, required, remediation, evaluate):
        self.id = check_id
        self.title = title
        self.required = required
        self.remediation = remediation
        self.evaluate = evaluate

    def as_dict(self):
        return {
            "id": self.id,
            "title": self.title,
            "default_severity": REQUIRED if self.required else ADVISORY,
            "remediation": self.remediation,
        }


def _get(data, *keys):
    """data[k1][k2]...; MISSING when a level is absent or not a dict (a reported None is returned as None)."""
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return MISSING
        data = data[key]
    return data


def _known(*values):
    return all(value is not MISSING and value is not None for value in values)


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


def _unknown(what):
    return Outcome(UNKNOWN, "kdump_info did not report %s" % what)


def parse_dump_level(core_collector):
    """makedumpfile dump level from a core_collector / MAKEDUMP_ARGS line; 0 when no -d; None when unknown."""
    if not isinstance(core_collector, str) or not core_collector.strip():
        return None
    if "makedumpfile" not in core_collector and not core_collector.lstrip().startswith("-"):
        return 0  # cp, dd, scp: the whole memory is copied
    match = _DUMP_LEVEL_RE.search(core_collector)
    return int(match.group(1)) if match else 0


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
    installed = _get(info, "tools_installed")
    packages = _get(info, "packages")
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
    service = _get(info, "service")
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
    cmdline = _get(info, "crashkernel", "cmdline")
    configured = _get(info, "crashkernel", "configured")
    facts = {"cmdline": cmdline, "configured": configured}
    if cmdline is MISSING:
        return Outcome(UNKNOWN, "kdump_info did not report the running kernel's crashkernel=", facts)
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


def reserved_bytes(info):
    """Bytes reserved for the capture kernel, or None when unknown.

    kexec_crash_size first; else the iomem "Crash kernel" region; no region in an iomem that root could
    read (System RAM known) means nothing is reserved, e.g. on a kernel built without crash dump support.
    """
    reserved = _get(info, "crashkernel", "reserved_bytes")
    if _is_number(reserved):
        return reserved
    iomem = _get(info, "crashkernel", "iomem")
    if isinstance(iomem, dict) and _is_number(iomem.get("size")):
        return iomem["size"]
    if iomem is None and _is_number(_get(info, "memory", "system_ram_bytes")):
        return 0
    return None


def _check_reserved(info, settings, now):
    reported = _get(info, "crashkernel", "reserved_bytes")
    reserved = reserved_bytes(info)
    cmdline = _get(info, "crashkernel", "cmdline")
    facts = {"reserved_bytes": reported, "iomem": _get(info, "crashkernel", "iomem"), "cmdline": cmdline}
    if reserved is None:
        return Outcome(UNKNOWN, "kdump_info did not report the reserved size (/sys/kernel/kexec_crash_size)", facts)
    if reserved > 0:
        return Outcome(PASS, "%s reserved for the capture kernel" % format_bytes(reserved), facts)
    if _is_number(reported):
        finding = "no memory is reserved for the capture kernel (kexec_crash_size is 0)"
    else:
        finding = "no memory is reserved for the capture kernel (no Crash kernel region in /proc/iomem)"
    if cmdline:
        finding += "; crashkernel=%s is on the command line but the kernel could not reserve it (see dmesg)" % cmdline
    return Outcome(FAIL, finding, facts)


def _reservation_facts(info):
    reserved = reserved_bytes(info)
    recommended = _get(info, "crashkernel", "recommended_bytes")
    facts = {
        "reserved_bytes": reserved,
        "recommended_bytes": recommended,
        "recommended": _get(info, "crashkernel", "recommended"),
        "memory": _get(info, "memory"),
    }
    return reserved, recommended, facts


def _check_reserved_enough(info, settings, now):
    reserved, recommended, facts = _reservation_facts(info)
    if not (_is_number(reserved) and _is_number(recommended) and recommended > 0):
        return Outcome(UNKNOWN, "kdump_info did not report the reserved and recommended sizes", facts)
    if reserved == 0:
        return Outcome(NOT_APPLICABLE, "nothing is reserved (see KDUMP-004)", facts)
    if reserved >= recommended:
        return Outcome(
            PASS,
            "%s reserved, recommended for this host: %s" % (format_bytes(reserved), format_bytes(recommended)),
            facts,
        )
    return Outcome(
        FAIL,
        "%s reserved is below the %s recommended for this host's RAM: the capture kernel may run out of memory"
        % (format_bytes(reserved), format_bytes(recommended)),
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
    loaded = _get(info, "crashkernel", "loaded")
    facts = {"loaded": loaded}
    if not _known(loaded):
        if reserved_bytes(info) == 0:
            return Outcome(FAIL, "no capture kernel can be loaded: no memory is reserved for it (KDUMP-004)", facts)
        return Outcome(UNKNOWN, "kdump_info did not report /sys/kernel/kexec_crash_loaded", facts)
    if loaded:
        return Outcome(PASS, "a capture kernel is loaded (kexec_crash_loaded = 1)", facts)
    return Outcome(FAIL, "no capture kernel is loaded (kexec_crash_loaded = 0): a crash now would not be dumped", facts)


def _check_initrd(info, settings, now):
    initrd = _get(info, "initrd")
    config = _get(info, "config")
    facts = {"initrd": initrd, "config_path": _get(config, "path"), "config_mtime": _get(config, "mtime")}
    if not isinstance(initrd, dict):
        return Outcome(UNKNOWN, "kdump_info did not report the capture initrd", facts)
    path = initrd.get("path") or "the capture initrd"
    if initrd.get("exists") is False:
        return Outcome(FAIL, "capture initrd %s does not exist" % path, facts)
    if _get(config, "exists") is False:
        return Outcome(NOT_APPLICABLE, "there is no dump config to compare with (see KDUMP-009)", facts)
    initrd_mtime, config_mtime = initrd.get("mtime"), _get(config, "mtime")
    if _is_number(initrd_mtime) and _is_number(config_mtime):
        stale = initrd_mtime < config_mtime
    elif isinstance(initrd.get("stale"), bool):
        stale = initrd["stale"]
    else:
        return Outcome(UNKNOWN, "kdump_info did not report the initrd and dump config times", facts)
    if stale:
        return Outcome(
            FAIL,
            "capture initrd %s is older than the dump config %s: the loaded capture environment does not "
            "have the current settings" % (path, _get(config, "path")),
            facts,
        )
    return Outcome(PASS, "capture initrd %s is newer than the dump config" % path, facts)


def _target(info):
    return _get(info, "config", "target")


def _check_target_configured(info, settings, now):
    config = _get(info, "config")
    if not isinstance(config, dict):
        return Outcome(UNKNOWN, "kdump_info did not report the dump config", {"config": config})
    facts = {key: config.get(key) for key in ("path", "exists", "target", "path_on_target", "errors")}
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
    where = location or config.get("path_on_target") or ""
    return Outcome(PASS, ("dump target: %s %s" % (target_type, where)).strip(), facts)


def _check_target_reachable(info, settings, now):
    target = _target(info)
    reachable = _get(info, "config", "target_reachable")
    probe = _get(info, "config", "target_probe")
    facts = {"target": target, "target_reachable": reachable}
    if probe is not MISSING:
        facts["target_probe"] = probe
    if _get(info, "config", "exists") is False:
        return Outcome(NOT_APPLICABLE, "there is no dump config (see KDUMP-009)", facts)
    if not isinstance(target, dict) or not target.get("type"):
        return Outcome(UNKNOWN, "kdump_info did not report the dump target", facts)
    target_type = target["type"]
    if target_type in HOST_TARGETS:
        return Outcome(NOT_APPLICABLE, "%s target: nothing to reach over the network" % target_type, facts)
    if target_type not in PROBE_PORTS:
        return Outcome(UNKNOWN, "cannot tell where a %s target sends the dump" % target_type, facts)
    where = "%s target %s (TCP port %d)" % (target_type, target.get("location") or "?", PROBE_PORTS[target_type])
    if reachable is True:
        return Outcome(PASS, "%s is reachable from the host" % where, facts)
    if reachable is False:
        error = probe.get("error") if isinstance(probe, dict) else None
        return Outcome(FAIL, "%s is not reachable from the host%s" % (where, ": %s" % error if error else ""), facts)
    return Outcome(UNKNOWN, "%s was not probed (kdump_info probe_target: true reports it)" % where, facts)


def _check_free_space(info, settings, now):
    target = _target(info)
    storage = _get(info, "storage")
    memory = _get(info, "memory")
    core_collector = _get(info, "config", "core_collector")
    facts = {"target": target, "storage": storage, "memory": memory, "core_collector": core_collector}
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
    ram = _get(memory, "system_ram_bytes")
    if not _is_number(ram) or ram <= 0:
        ram = _get(memory, "total_bytes")
    free = storage.get("free_bytes")
    if not (_is_number(free) and _is_number(ram)):
        return Outcome(UNKNOWN, "kdump_info did not report free space at %s or the host's RAM" % path, facts)
    level = parse_dump_level(core_collector)
    filtered = level is not None and level & _USER_AND_FREE_PAGES == _USER_AND_FREE_PAGES
    ratio = settings["dump_ratio_filtered"] if filtered else settings["dump_ratio_unfiltered"]
    estimate = int(ram * ratio)
    basis = "%g x %s RAM at dump level %s" % (ratio, format_bytes(ram), "unknown" if level is None else level)
    # A real dump of this host beats any ratio: a makedumpfile that cannot filter the running
    # kernel's free pages (seen on Debian 13) writes far more than the ratio expects.
    evidence = _get(info, "crash_test")
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


def _check_kexec_load_disabled(info, settings, now):
    value = _get(info, "sysctl", "kexec_load_disabled")
    loaded = _get(info, "crashkernel", "loaded")
    facts = {"kexec_load_disabled": value, "loaded": loaded}
    if not _is_number(value):
        return Outcome(UNKNOWN, "kdump_info did not report kernel.kexec_load_disabled", facts)
    if value == 0:
        return Outcome(PASS, "kernel.kexec_load_disabled = 0", facts)
    finding = "kernel.kexec_load_disabled = %s: no capture kernel can be loaded until the next boot" % value
    if loaded is True:
        finding += " (the one loaded now still works, but a service restart cannot reload it)"
    return Outcome(FAIL, finding, facts)


def _check_not_masked(info, settings, now):
    service = _get(info, "service")
    if not isinstance(service, dict):
        return Outcome(UNKNOWN, "kdump_info did not report the kdump service", {"service": service})
    facts = {key: service.get(key) for key in ("name", "exists", "masked", "unit_file_state") if key in service}
    name = service.get("name") or "the kdump service"
    state = service.get("unit_file_state")
    masked = service.get("masked")
    if masked is True or (isinstance(state, str) and state.startswith("masked")):
        return Outcome(
            FAIL,
            '%s is masked, as the hardening rule %s ("disable kdump unless needed") does' % (name, HARDENING_RULE),
            facts,
        )
    if service.get("exists") is False:
        # Nothing to mask; a service that is missing altogether is KDUMP-001/KDUMP-002's finding.
        return Outcome(NOT_APPLICABLE, "%s does not exist (see KDUMP-002)" % name, facts)
    if masked is None and state is None:
        return Outcome(UNKNOWN, "kdump_info did not report whether %s is masked" % name, facts)
    return Outcome(PASS, "%s is not masked" % name, facts)


def _check_crash_test(info, settings, now):
    evidence = _get(info, "crash_test")
    running_kernel = _get(info, "kernel")
    max_age = settings["crash_test_max_age_days"]
    facts = {"crash_test": evidence, "kernel": running_kernel, "crash_test_max_age_days": max_age}
    if evidence is MISSING:
        return _unknown("the crash-test evidence")
    if not evidence:
        # kdump_info reports an evidence file it could not parse as null plus a note in its errors.
        unreadable = [e for e in (_get(info, "errors") or []) if isinstance(e, str) and e.startswith(EVIDENCE_PATH)]
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


def _readable_by_others(item):
    if isinstance(item.get("world_readable"), bool):
        return item["world_readable"]
    try:
        return bool(int(str(item.get("mode")), 8) & 0o004)
    except ValueError:
        return None


def _check_dump_permissions(info, settings, now):
    dumps = _get(info, "dumps")
    target = _target(info)
    facts = {"dumps_path": _get(dumps, "path"), "count": _get(dumps, "count")}
    target_type = target.get("type") if isinstance(target, dict) else None
    if dumps is MISSING or (dumps is None and target_type in (None, "local")):
        return Outcome(UNKNOWN, "kdump_info did not report the existing dumps", facts)
    if dumps is None:
        return Outcome(NOT_APPLICABLE, "dumps on a %s target are not listed from the host" % target_type, facts)
    items = dumps.get("items") or []
    path = dumps.get("path") or "the dump directory"
    exposed = [item for item in items if isinstance(item, dict) and _readable_by_others(item)]
    undecided = [item for item in items if isinstance(item, dict) and _readable_by_others(item) is None]
    facts["exposed"] = [{"path": i.get("path"), "mode": i.get("mode"), "dir_mode": i.get("dir_mode")} for i in exposed]
    # kdump_info lists the newest dumps only (list_dumps_limit) but counts exposed ones among all of them.
    counted = dumps.get("world_readable_count")
    exposed_total = max(len(exposed), counted if _is_number(counted) else 0)
    if exposed_total:
        shown = ", ".join("%s (mode %s)" % (i.get("path"), i.get("mode")) for i in exposed[:3])
        more = exposed_total - min(len(exposed), 3)
        if more:
            shown += "%s%d more (older ones, beyond the listed dumps, included)" % (" and " if shown else "", more)
        return Outcome(FAIL, "%d dump file(s) readable by other users: %s" % (exposed_total, shown), facts)
    if undecided:
        return Outcome(UNKNOWN, "kdump_info did not report the mode of %d dump file(s)" % len(undecided), facts)
    if not items:
        return Outcome(PASS, "no dumps under %s" % path, facts)
    return Outcome(PASS, "%d dump file(s) under %s, none readable by other users" % (len(items), path), facts)


_REMEDIATE_KDUMP = "set kdump_enabled: true and run kdump.fleet.kdump"
_REMEDIATE_RESERVE = (
    "set kdump_crashkernel: recommended (or a larger size) and run kdump.fleet.kdump with kdump_reboot_ok: true"
)

CATALOGUE = (
    Check(
        "KDUMP-000",
        "host reachable and kdump_info ran",
        True,
        "make the host reachable (connection, credentials, Python) and rerun kdump.fleet.audit",
        _check_audited,
    ),
    Check("KDUMP-001", "kdump tools installed", True, _REMEDIATE_KDUMP + " (installs the kdump tools)", _check_tools),
    Check("KDUMP-002", "kdump service enabled and active", True, _REMEDIATE_KDUMP, _check_service),
    Check("KDUMP-003", "crashkernel= on the running kernel's command line", True, _REMEDIATE_RESERVE, _check_cmdline),
    Check("KDUMP-004", "memory reserved for the capture kernel", True, _REMEDIATE_RESERVE, _check_reserved),
    Check("KDUMP-005", "reservation at least the recommended size", True, _REMEDIATE_RESERVE, _check_reserved_enough),
    Check(
        "KDUMP-006",
        "reservation not far above the recommended size",
        False,
        "set kdump_crashkernel: recommended and run kdump.fleet.kdump with kdump_reboot_ok: true, "
        "or raise kdump_audit_reserved_max_ratio",
        _check_reserved_not_oversized,
    ),
    Check(
        "KDUMP-007",
        "capture kernel loaded",
        True,
        _REMEDIATE_KDUMP + "; if it still does not load, read the service's journal",
        _check_loaded,
    ),
    Check(
        "KDUMP-008",
        "capture initrd newer than the dump config",
        False,
        "run kdump.fleet.kdump, which restarts the kdump service to rebuild the capture initrd",
        _check_initrd,
    ),
    Check(
        "KDUMP-009",
        "dump target configured",
        True,
        "set kdump_target (and kdump_path) and run kdump.fleet.kdump",
        _check_target_configured,
    ),
    Check(
        "KDUMP-010",
        "NFS/SSH dump target reachable from the host",
        True,
        "fix kdump_target.server or open TCP 2049 (NFS) / 22 (SSH) from the host to it, then rerun the audit",
        _check_target_reachable,
    ),
    Check(
        "KDUMP-011",
        "free space at the target for the estimated dump",
        True,
        "free space under kdump_path, point kdump_target at larger storage, or filter more with "
        "kdump_core_collector.dump_level: 31",
        _check_free_space,
    ),
    Check(
        "KDUMP-012",
        "kernel.kexec_load_disabled not set",
        True,
        "remove kernel.kexec_load_disabled=1 from the sysctl configuration and reboot (it cannot be unset at runtime)",
        _check_kexec_load_disabled,
    ),
    Check(
        "KDUMP-013",
        "kdump service not masked by a hardening profile",
        True,
        "record an exception for hardening rule %s, systemctl unmask the kdump service, then %s"
        % (HARDENING_RULE, _REMEDIATE_KDUMP),
        _check_not_masked,
    ),
    Check(
        "KDUMP-014",
        "recent successful crash-test evidence",
        False,
        "run kdump.fleet.crash_test on the host (it crashes and reboots the host), or raise "
        "kdump_audit_crash_test_max_age_days",
        _check_crash_test,
    ),
    Check(
        "KDUMP-015",
        "existing dumps not readable by other users",
        False,
        "chmod go-rwx the dump files and keep the kdump_path directory at mode 0700",
        _check_dump_permissions,
    ),
)
CHECKS_BY_ID = {check.id: check for check in CATALOGUE}
CHECK_IDS = tuple(CHECKS_BY_ID)

DEFAULT_SETTINGS = {
    "required_checks": [check.id for check in CATALOGUE if check.required],
    "disabled_checks": [],
    "reserved_max_ratio": 4.0,
    "dump_ratio_filtered": 0.25,
    "dump_ratio_unfiltered": 1.0,
    "crash_test_max_age_days": 90,
    "unknown_status": DEGRADED,
    "min_ready_percent": 100.0,
}


def variable_name(setting):
    """The role variable that carries a setting: 'min_ready_percent' -> 'kdump_audit_min_ready_percent'."""
    return "kdump_audit_" + setting


def validate_settings(overrides=None):
    """Defaults merged with overrides (None values ignored), checked; AuditSettingsError names the variable."""
    settings = dict(DEFAULT_SETTINGS)
    for key, value in (overrides or {}).items():
        if key not in DEFAULT_SETTINGS:
            raise AuditSettingsError("unknown audit setting %s" % key)
        if value is not None:
            settings[key] = value

    for key in ("required_checks", "disabled_checks"):
        ids = settings[key]
        if isinstance(ids, str) or not isinstance(ids, (list, tuple)):
            raise AuditSettingsError("%s must be a list of check IDs, got %r" % (variable_name(key), ids))
        unknown = [i for i in ids if i not in CHECKS_BY_ID]
        if unknown:
            raise AuditSettingsError(
                "%s: unknown check ID(s) %s; valid IDs: %s"
                % (variable_name(key), ", ".join(map(str, unknown)), ", ".join(CHECK_IDS))
            )
        settings[key] = list(ids)
    if "KDUMP-000" in settings["disabled_checks"]:
        raise AuditSettingsError("%s: KDUMP-000 (host audited) cannot be disabled" % variable_name("disabled_checks"))

    numbers = {
        "reserved_max_ratio": (1.0, None),
        "dump_ratio_filtered": (0.0, 1.0),
        "dump_ratio_unfiltered": (0.0, 1.0),
        "crash_test_max_age_days": (0, None),
        "min_ready_percent": (0.0, 100.0),
    }
    for key, (low, high) in numbers.items():
        value = settings[key]
        if not _is_number(value):
            raise AuditSettingsError("%s must be a number, got %r" % (variable_name(key), value))
        if value < low or (high is not None and value > high):
            bounds = "between %g and %g" % (low, high) if high is not None else "at least %g" % low
            raise AuditSettingsError("%s must be %s, got %r" % (variable_name(key), bounds, value))
    if settings["unknown_status"] not in (DEGRADED, NOT_READY):
        raise AuditSettingsError(
            "%s must be degraded or not_ready, got %r" % (variable_name("unknown_status"), settings["unknown_status"])
        )
    return settings


# --- hosts and fleet -------------------------------------------------------------------------------


def _plain(value):
    """Copy of host data as plain JSON types (strips Ansible's tagged subclasses, tuples, sets)."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None  # JSON has no NaN or Infinity
    return str(value)


def _check_record(check, severity, outcome):
    return {
        "id": check.id,
        "title": check.title,
        "severity": severity,
        "result": outcome.result,
        "finding": outcome.finding,
        "remediation": check.remediation if outcome.result in (FAIL, UNKNOWN) else "",
        "facts": _plain(outcome.facts),
    }


def _host_status(checks, settings):
    status = READY
    for check in checks:
        if check["result"] == FAIL and check["severity"] == REQUIRED:
            return NOT_READY
        if check["result"] == FAIL or (check["result"] == UNKNOWN and check["severity"] == REQUIRED):
            candidate = DEGRADED if check["result"] == FAIL else settings["unknown_status"]
            if STATUSES.index(candidate) > STATUSES.index(status):
                status = candidate
    return status


def _reasons(checks):
    """One line per check that keeps the host from being ready: required failures first."""
    order = (
        lambda c: c["result"] == FAIL and c["severity"] == REQUIRED,
        lambda c: c["result"] == FAIL and c["severity"] == ADVISORY,
        lambda c: c["result"] == UNKNOWN and c["severity"] == REQUIRED,
    )
    return ["%s %s" % (c["id"], c["finding"]) for wanted in order for c in checks if wanted(c)]


def _host_record(host, checks, settings, facts, error=None):
    status = _host_status(checks, settings)
    return {
        "host": host,
        "status": status,
        "reasons": _reasons(checks),
        "counts": {result: sum(1 for c in checks if c["result"] == result) for result in RESULTS},
        "error": error,
        "checks": checks,
        "facts": facts,
    }


def _severity(check_id, settings):
    # KDUMP-000 is always required: a host without data cannot count as ready.
    return REQUIRED if check_id == "KDUMP-000" or check_id in settings["required_checks"] else ADVISORY


def evaluate_host(host, info, settings, now=None):
    """Every catalogue check on one host's kdump_info 'kdump' dict; returns the host record."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    info = info if isinstance(info, dict) else {}
    checks = []
    for check in CATALOGUE:
        severity = _severity(check.id, settings)
        if check.id in settings["disabled_checks"]:
            outcome = Outcome(NOT_APPLICABLE, "disabled by %s" % variable_name("disabled_checks"))
        else:
            outcome = check.evaluate(info, settings, now)
        checks.append(_check_record(check, severity, outcome))
    return _host_record(host, checks, settings, _plain(info), error=None)


def not_audited_host(host, reason, settings):
    """Record of a host whose kdump_info gave no data: KDUMP-000 fails and nothing else is evaluated."""
    check = CHECKS_BY_ID["KDUMP-000"]
    outcome = Outcome(FAIL, reason, {})
    return _host_record(host, [_check_record(check, REQUIRED, outcome)], settings, None, error=reason)


def _why_not_audited(registered):
    """Reason a registered kdump_info result carries no data, or None when it does."""
    if not isinstance(registered, dict):
        return "unreachable: no kdump_info result (the host was unreachable or failed before the audit)"
    message = str(registered.get("msg") or "").strip()
    if registered.get("unreachable"):
        return "unreachable: %s" % (message or "no message")
    if registered.get("skipped"):
        return "kdump_info was skipped on this host: %s" % (registered.get("skip_reason") or "no reason given")
    if not isinstance(registered.get("kdump"), dict):
        # A module that could not start (no usable Python) says why only on stderr.
        stderr = str(registered.get("module_stderr") or "").strip().splitlines()
        detail = "; ".join(part for part in (message, stderr[0] if stderr else "") if part)
        return "kdump_info failed: %s" % (detail or "it returned no kdump data")
    return None


def evaluate_fleet(results, hosts=None, settings=None, now=None):
    """Evaluate every host. results: host -> registered kdump_info result; hosts: every host of the play."""
    settings = settings if settings is not None else validate_settings()
    now = now or datetime.datetime.now(datetime.timezone.utc)
    results = results or {}
    names = list(hosts) if hosts is not None else []
    names += [name for name in results if name not in names]
    records = []
    for name in sorted(set(str(n) for n in names)):
        registered = results.get(name)
        reason = _why_not_audited(registered)
        if reason:
            records.append(not_audited_host(name, reason, settings))
        else:
            records.append(evaluate_host(name, registered["kdump"], settings, now))
    return {
        "version": 1,
        "generated": now.isoformat(timespec="seconds"),
        "settings": _plain(settings),
        "summary": summarize(records, settings),
        "catalogue": [dict(check.as_dict(), severity=_severity(check.id, settings)) for check in CATALOGUE],
        "hosts": records,
    }


def summarize(records, settings):
    """Fleet counts, the ready share and whether it meets kdump_audit_min_ready_percent."""
    total = len(records)
    counts = {status: sum(1 for r in records if r["status"] == status) for status in STATUSES}
    minimum = settings["min_ready_percent"]
    failing_checks = {}
    for record in records:
        for check in record["checks"]:
            if check["result"] in (FAIL, UNKNOWN):
                entry = failing_checks.setdefault(check["id"], {FAIL: 0, UNKNOWN: 0})
                entry[check["result"]] += 1
    return {
        "total": total,
        "ready": counts[READY],
        "degraded": counts[DEGRADED],
        "not_ready": counts[NOT_READY],
        "ready_percent": round(100.0 * counts[READY] / total, 1) if total else 0.0,
        "min_ready_percent": minimum,
        # Integer arithmetic: 2 of 3 ready meets 66.6 but not 66.7, whatever the float rounding.
        "gate_passed": bool(total) and counts[READY] * 100 >= minimum * total,
        "checks": dict(sorted(failing_checks.items())),
    }


def gate_message(summary):
    """One line a pipeline log can show: the ready share against kdump_audit_min_ready_percent."""
    verdict = "passed" if summary["gate_passed"] else "FAILED"
    return "kdump readiness gate %s: %d of %d hosts ready (%.1f %%), %s is %g" % (
        verdict,
        summary["ready"],
        summary["total"],
        summary["ready_percent"],
        variable_name("min_ready_percent"),
        summary["min_ready_percent"],
    )
