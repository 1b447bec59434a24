#!/usr/bin/env bash
# `make demo`: the main job end to end on a local lab VM.
#   1. boot a throw-away Debian VM from the cached lab image (built on first use)
#   2. audit it: not ready, with the reasons
#   3. roll kdump out with the kdump.fleet.kdump playbook (reboot allowed)
#   4. crash it on purpose with kdump.fleet.crash_test and check the vmcore
#   5. audit again: ready, with fresh crash-test evidence
# DEMO_DISTRO=debian13 picks the other image; DEMO_KEEP=1 leaves the VM running.
set -euo pipefail

distro=${DEMO_DISTRO:-debian12}
name=demo-${distro}
here=$(cd "$(dirname "$0")/.." && pwd)
work=${here}/.tmp/demo
inventory=${work}/inventory.yml
mkdir -p "${work}"

cleanup() {
  if [ "${DEMO_KEEP:-0}" = 1 ]; then
    echo "DEMO_KEEP=1: ${name} keeps running; stop it with: .venv/bin/kdump-lab destroy ${name}"
  else
    kdump-lab destroy "${name}" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n=== %s ===\n' "$*"; }

step "1/5 boot ${name} (image ${distro}, cached by recipe hash)"
started=$(date +%s)
kdump-lab build --distro "${distro}"
kdump-lab up "${name}" --distro "${distro}" > "${work}/vm.json"
python3 - "${work}/vm.json" "${name}" > "${inventory}" <<'PY'
import json, sys
vm = json.load(open(sys.argv[1]))
print(f"""all:
  hosts:
    {sys.argv[2]}:
      ansible_host: {vm['host']}
      ansible_port: {vm['port']}
      ansible_user: {vm['user']}
      ansible_ssh_private_key_file: {vm['key']}
      ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null""")
PY

step "2/5 audit before: a fresh VM is not ready (the gate is off for this run)"
ansible-playbook kdump.fleet.audit -i "${inventory}" \
  -e kdump_audit_min_ready_percent=0 -e kdump_audit_report_dir="${work}/reports-before"

step "3/5 roll kdump out: kdump.fleet.kdump with kdump_reboot_ok=true"
ansible-playbook kdump.fleet.kdump -i "${inventory}" -e kdump_reboot_ok=true

step "4/5 controlled crash test: sysrq-c, capture kernel, vmcore checked with makedumpfile"
ansible-playbook kdump.fleet.crash_test -i "${inventory}" \
  -e kdump_crash_test_hosts=all -e kdump_crash_test_confirm=true \
  -e "kdump_crash_test_console_log_hint='kdump-lab console ${name}'"

step "5/5 audit after: ready, with fresh crash-test evidence"
ansible-playbook kdump.fleet.audit -i "${inventory}" -e kdump_audit_report_dir="${work}/reports"

step "done in $(( $(date +%s) - started )) s; reports: ${work}/reports (open kdump-audit.html)"
