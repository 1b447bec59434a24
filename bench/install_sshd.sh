#!/bin/sh
# The sshd binary for bench/fleet_audit.py, from Debian's openssh-server, with its service kept from
# starting: the bench runs an sshd of its own on 127.0.0.1 only, and a system one listening on every
# address is not wanted on a lab machine. Idempotent; needs root (or sudo).
set -eu
[ -x /usr/sbin/sshd ] && exit 0
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
POLICY=/usr/sbin/policy-rc.d
made_policy=
if [ ! -e "$POLICY" ]; then
  # invoke-rc.d and deb-systemd-invoke start no service while this answers 101.
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod 0755 "$POLICY"
  made_policy=1
fi
trap '[ -z "$made_policy" ] || $SUDO rm -f "$POLICY"' EXIT
echo "apt-get install openssh-server (its service is not started)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openssh-server >/dev/null
if [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || true
fi
