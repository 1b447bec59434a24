#!/usr/bin/env bash
# `make demo`: the main job end to end on a local lab.
#
# Default (DEMO_HOSTS=3), the fleet: a dump server and two clients (Debian 12, Debian 13) on a
# private lab network carried by QEMU over loopback (docs/lab.md).
#   1. boot the three VMs from the cached lab images (built on first use, both in parallel)
#   2. audit the clients: not ready, with the reasons
#   3. kdump.fleet.site: the dump server, then the clients in rolling batches (reboot allowed);
#      the Debian 12 client dumps over SSH, the Debian 13 client over NFS
#   4. crash both clients in one batch; each dump is checked where it landed, on the server
#   5. audit again: ready, with fresh crash-test evidence
#   6. the fleet dump inventory: what crashed where
# DEMO_HOSTS=1: one Debian VM dumping to its own disk (DEMO_DISTRO=debian13 picks the other image).
# DEMO_KEEP=1 leaves the VMs running. Only the demo's own VMs are ever stopped.
set -euo pipefail

hosts=${DEMO_HOSTS:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
work=${here}/.tmp/demo
inventory=${work}/inventory.yml
network=demonet
case "${hosts}" in
  1) distro=${DEMO_DISTRO:-debian12}; vms=("demo-${distro}") ;;
  3) vms=(demo-dumps demo-c12 demo-c13) ;;
  *) echo "DEMO_HOSTS=${hosts}: use 3 (a dump server and two clients, the default) or 1 (one VM)" >&2; exit 2 ;;
esac
mkdir -p "${work}"

cleanup() {
  if [ "${DEMO_KEEP:-0}" = 1 ]; then
    echo "DEMO_KEEP=1: ${vms[*]} keep running; stop them with: .venv/bin/kdump-lab destroy ${vms[*]}"
  else
    kdump-lab destroy "${vms[@]}" >/dev/null 2>&1 || true
    rm -f "${inventory}"  # it names VMs that are gone; their SSH ports may soon be another VM's
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

started=$(date +%s)
step_started=${started}
timings=()
steps=6
[ "${hosts}" = 1 ] && steps=5
step_no=0
# One extra var as JSON, so a path with a space (or any character) stays one value.
jvar() { python3 -c 'import json, sys; print(json.dumps({sys.argv[1]: sys.argv[2]}))' "$1" "$2"; }
step() {
  local now
  now=$(date +%s)
  if [ "${step_no}" -gt 0 ]; then
    timings+=("$(printf '%-62s %5d s' "${step_title}" $((now - step_started)))")
  fi
  step_no=$((step_no + 1))
  step_title="$*"
  step_started=${now}
  printf '\n=== %d/%d %s (at %d s) ===\n' "${step_no}" "${steps}" "$*" $((now - started))
}
finish() {
  step_no=$((step_no + 1))
  local now
  now=$(date +%s)
  timings+=("$(printf '%-62s %5d s' "${step_title}" $((now - step_started)))")
  printf '\n=== done in %d min %02d s ===\n' $(((now - started) / 60)) $(((now - started) % 60))
  printf '  %s\n' "${timings[@]}"
}

# Connection details of the VMs whose `kdump-lab up` JSON is in ${work}/NAME.json, as an inventory.
# Fleet: groups dump_servers and kdump_clients, and each client's dump target on the server.
write_inventory() {
  python3 - "${work}" "${hosts}" "${vms[@]}" > "${inventory}" <<'PY'
import json, sys
from pathlib import Path

work, hosts, names = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
vms = {name: json.loads((work / f"{name}.json").read_text()) for name in names}

def connection(vm):
    return {
        "ansible_host": vm["host"], "ansible_port": vm["port"], "ansible_user": vm["user"],
        "ansible_ssh_private_key_file": vm["key"],
        "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
    }

if hosts == "1":
    inventory = {"all": {"hosts": {name: connection(vm) for name, vm in vms.items()}}}
else:
    server = vms["demo-dumps"]["private_address"]
    targets = {
        "demo-c12": {"type": "ssh", "server": f"kdump@{server}"},
        "demo-c13": {"type": "nfs", "server": server, "export": "/srv/kdump/dumps/demo-c13"},
    }
    clients = {
        name: {**connection(vms[name]), "dump_server_client_address": vms[name]["private_address"],
               "kdump_target": target}
        for name, target in targets.items()
    }
    inventory = {"all": {"children": {
        "dump_servers": {"hosts": {"demo-dumps": {**connection(vms["demo-dumps"]), "dump_server_address": server}}},
        # 1.5 GiB clients: the reservation the network scenario proves with the same VMs.
        "kdump_clients": {"hosts": clients, "vars": {"kdump_crashkernel": "1G-:192M"}},
    }}}
print(json.dumps(inventory, indent=2))
PY
}

if [ "${hosts}" = 1 ]; then
  name=${vms[0]}
  step "boot ${name} (image ${distro}, cached by recipe hash)"
  kdump-lab build --distro "${distro}"
  kdump-lab up "${name}" --distro "${distro}" > "${work}/${name}.json"
  write_inventory

  step "audit before: a fresh VM is not ready (the gate is off for this run)"
  ansible-playbook kdump.fleet.audit -i "${inventory}" \
    -e kdump_audit_min_ready_percent=0 -e "$(jvar kdump_audit_report_dir "${work}/reports-before")"

  step "roll kdump out: kdump.fleet.kdump with kdump_reboot_ok=true"
  ansible-playbook kdump.fleet.kdump -i "${inventory}" -e kdump_reboot_ok=true

  step "controlled crash test: sysrq-c, capture kernel, vmcore checked with makedumpfile"
  ansible-playbook kdump.fleet.crash_test -i "${inventory}" \
    -e kdump_crash_test_hosts=all -e kdump_crash_test_confirm=true \
    -e "kdump_crash_test_console_log_hint='kdump-lab console ${name}'"

  step "audit after: ready, with fresh crash-test evidence"
  ansible-playbook kdump.fleet.audit -i "${inventory}" -e "$(jvar kdump_audit_report_dir "${work}/reports")"
  finish
  echo "reports: ${work}/reports (open kdump-audit.html)"
  exit 0
fi

step "boot the lab: dump server demo-dumps, clients demo-c12 (Debian 12) and demo-c13 (Debian 13) on network ${network}"
kdump-lab build --distro debian12 --distro debian13 --jobs 2
# The first member carries the segment (docs/lab.md), so the server boots first.
kdump-lab up demo-dumps --distro debian12 --memory 1024 --cpus 1 --network "${network}" > "${work}/demo-dumps.json"
kdump-lab up demo-c12 --distro debian12 --memory 1536 --cpus 2 --network "${network}" > "${work}/demo-c12.json"
kdump-lab up demo-c13 --distro debian13 --memory 1536 --cpus 2 --network "${network}" > "${work}/demo-c13.json"
write_inventory
kdump-lab networks

step "audit the clients before: fresh VMs are not ready (the gate is off for this run)"
ansible-playbook kdump.fleet.audit -i "${inventory}" -e kdump_audit_hosts=kdump_clients \
  -e kdump_audit_min_ready_percent=0 -e "$(jvar kdump_audit_report_dir "${work}/reports-before")"

step "kdump.fleet.site: the dump server, then the clients in rolling batches (SSH and NFS targets)"
ansible-playbook kdump.fleet.site -i "${inventory}" \
  -e dump_server_hosts=dump_servers -e kdump_hosts=kdump_clients -e kdump_reboot_ok=true

step "crash both clients in one batch: each dump checked on the dump server"
ansible-playbook kdump.fleet.crash_test -i "${inventory}" \
  -e kdump_crash_test_hosts=kdump_clients -e kdump_crash_test_confirm=true \
  -e kdump_crash_test_confirm_count=2 -e kdump_crash_test_serial=2 -e kdump_crash_test_reboot_timeout=1200 \
  -e dump_server_hosts=dump_servers -e "$(jvar kdump_crash_test_report_file "${work}/crash-test.json")" \
  -e "kdump_crash_test_console_log_hint='kdump-lab console {{ inventory_hostname }}'"

step "audit the clients after: ready, with fresh crash-test evidence"
ansible-playbook kdump.fleet.audit -i "${inventory}" -e kdump_audit_hosts=kdump_clients \
  -e "$(jvar kdump_audit_report_dir "${work}/reports")"

step "the fleet dump inventory: every dump on the clients and the dump server"
ansible-playbook kdump.fleet.dumps -i "${inventory}" -e dump_server_hosts=dump_servers \
  -e "$(jvar kdump_dumps_report_dir "${work}/dumps")"
finish
echo "audit reports: ${work}/reports (open kdump-audit.html); crash test: ${work}/crash-test.json; dump inventory: ${work}/dumps"
