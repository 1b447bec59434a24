"""QEMU lab for kdump.fleet: cached Debian disk images and throw-away VMs under TCG."""
