#!/bin/sh
# kdump-lab image build, first boot (QEMU direct kernel boot): put GRUB on the
# disk so every later boot goes SeaBIOS -> GRUB -> the guest's own grub.cfg,
# rebuild the initramfs with MODULES=dep (the host's chroot cannot guess the
# guest's disk driver), then power off. The result line on the console tells
# the builder whether this worked.
set -eu
result=FAILED
finish() {
    echo "kdump-lab-firstboot: $result" >/dev/console
    sync
    systemctl poweroff --no-block
}
trap finish EXIT

echo "grub-pc grub-pc/install_devices multiselect /dev/vda" | debconf-set-selections
grub-install --target=i386-pc /dev/vda
update-initramfs -u -k all
update-grub
systemctl disable kdump-lab-firstboot.service
rm -f /etc/systemd/system/kdump-lab-firstboot.service /usr/local/sbin/kdump-lab-firstboot
apt-get clean
result=OK
