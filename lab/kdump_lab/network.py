"""A private L2 network between lab VMs, carried by QEMU over the host's loopback.

Every VM keeps its user-mode NIC (SSH from the controller through hostfwd, apt).
A VM that joins a lab network gets a second virtio NIC whose frames travel as UDP
datagrams between QEMU processes on 127.0.0.1 (`-netdev dgram`, unicast). There is
no bridge, tap device or address on the host, and no multicast: every socket is
bound to 127.0.0.1 and sends to 127.0.0.1, so no frame can leave this machine.

A unicast dgram netdev joins exactly two endpoints, so the segment is a star: one
member, the hub, carries it. The hub's QEMU has an emulated hub (`-netdev hubport`)
with its own NIC on one port and one dgram netdev per other member on the others;
every other member has a single dgram netdev to its own port on the hub. QEMU's
hub repeats every frame to every other port, like an Ethernet hub, so all members
share one broadcast domain (ARP, NFS, SSH between any two of them).

Everything is derived from the network's slot (0..15, its place in the state dir)
and the member's host number in the subnet (1..254), so the same network gives the
same argv, MACs and ports on every run:

    member's own UDP port   PORT_BASE + 512 * slot + 2 * host
    hub's port for it       PORT_BASE + 512 * slot + 2 * host + 1
    member's private MAC    52:4b:4c:<slot>:00:<host>

The ports (20000-28191) lie below the kernel's ephemeral range (32768-60999), from
which the SSH forwards are picked, so the two never collide.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from kdump_lab.locking import file_lock

LOOPBACK = "127.0.0.1"
PORT_BASE = 20000
PORTS_PER_NETWORK = 512
MAX_NETWORKS = 16
NIC_ID = "lan0"
SINK_ID = f"{NIC_ID}sink"
HUB_ID = 1
DEFAULT_FIRST_HOST = 10
NETWORKS_DIR = ".networks"  # VM names cannot start with '.', so this never clashes with a VM
NETWORK_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,19}$")
PRIVATE_RANGES = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
# QEMU user networking's own subnet (guest 10.0.2.15, gateway 10.0.2.2, DNS 10.0.2.3) is on the first NIC.
USER_NET = ipaddress.ip_network("10.0.2.0/24")
GUEST_NETWORK_DIR = "/etc/systemd/network"


class NetworkError(ValueError):
    pass


@dataclass(frozen=True)
class Member:
    name: str
    address: ipaddress.IPv4Address


@dataclass(frozen=True)
class LabNetwork:
    name: str
    subnet: ipaddress.IPv4Network
    slot: int
    hub: str | None = None
    members: tuple[Member, ...] = field(default=())

    def member(self, name: str) -> Member:
        for member in self.members:
            if member.name == name:
                return member
        raise NetworkError(f"{name} is not a member of network {self.name}")

    def host(self, name: str) -> int:
        return host_number(self.subnet, self.member(name).address)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "subnet": str(self.subnet),
            "slot": self.slot,
            "hub": self.hub,
            "members": {m.name: {"address": str(m.address)} for m in sorted(self.members, key=lambda m: m.name)},
        }

    @classmethod
    def from_json(cls, data: dict) -> LabNetwork:
        subnet = parse_subnet(data["subnet"])
        members = tuple(
            Member(name, ipaddress.IPv4Address(entry["address"])) for name, entry in sorted(data["members"].items())
        )
        return cls(validate_network_name(data["name"]), subnet, int(data["slot"]), data.get("hub"), members)


# --- validation -----------------------------------------------------------------------


def validate_network_name(name: str) -> str:
    if not NETWORK_NAME_PATTERN.match(name):
        raise NetworkError(f"invalid network name {name!r}: lower-case letters, digits and '-' (max 20)")
    return name


def _is_private(net: ipaddress.IPv4Network) -> bool:
    return any(net.subnet_of(private) for private in PRIVATE_RANGES)


def parse_subnet(text: str) -> ipaddress.IPv4Network:
    """An IPv4 subnet inside the RFC 1918 ranges, /24 to /30, not QEMU's user-mode 10.0.2.0/24."""
    try:
        subnet = ipaddress.IPv4Network(text, strict=True)
    except ValueError as exc:
        raise NetworkError(f"invalid subnet {text!r}: {exc}") from None
    if not _is_private(subnet):
        raise NetworkError(
            f"subnet {subnet} is not private: use one inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"
        )
    if not 24 <= subnet.prefixlen <= 30:
        raise NetworkError(f"subnet {subnet}: the prefix must be /24 to /30 (at most 254 members)")
    if subnet.overlaps(USER_NET):
        raise NetworkError(f"subnet {subnet} overlaps QEMU user networking's {USER_NET} on the first NIC")
    return subnet


def host_number(subnet: ipaddress.IPv4Network, address: ipaddress.IPv4Address) -> int:
    """The address's place in the subnet, 1 .. size-2 (neither the network nor the broadcast address)."""
    if address not in subnet:
        raise NetworkError(f"address {address} is not in subnet {subnet}")
    host = int(address) - int(subnet.network_address)
    if not 1 <= host <= subnet.num_addresses - 2:
        raise NetworkError(f"address {address} is the network or broadcast address of {subnet}")
    return host


def parse_address(text: str, subnet: ipaddress.IPv4Network) -> ipaddress.IPv4Address:
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError as exc:
        raise NetworkError(f"invalid address {text!r}: {exc}") from None
    if not _is_private(ipaddress.IPv4Network(f"{address}/32")):
        raise NetworkError(f"address {address} is not in a private range (10/8, 172.16/12, 192.168/16)")
    host_number(subnet, address)
    return address


def loopback(host: str) -> str:
    """The one host address a lab socket may bind or send to; anything else is refused."""
    if host != LOOPBACK:
        raise NetworkError(f"refusing host address {host!r}: the lab network only uses {LOOPBACK}")
    return host


# --- derivation -------------------------------------------------------------------------


def _check(slot: int, host: int) -> None:
    if not 0 <= slot < MAX_NETWORKS:
        raise NetworkError(f"network slot {slot} outside 0..{MAX_NETWORKS - 1}")
    if not 1 <= host <= 254:
        raise NetworkError(f"host number {host} outside 1..254")


def member_port(slot: int, host: int) -> int:
    """The UDP port a member's dgram netdev binds on 127.0.0.1."""
    _check(slot, host)
    return PORT_BASE + PORTS_PER_NETWORK * slot + 2 * host


def hub_port(slot: int, host: int) -> int:
    """The UDP port the hub binds on 127.0.0.1 for that member."""
    return member_port(slot, host) + 1


def member_mac(slot: int, host: int) -> str:
    """Locally administered, unicast, unique per (network slot, host); never one of qemu.mac_for's 52:54:00:."""
    _check(slot, host)
    return f"52:4b:4c:{slot:02x}:00:{host:02x}"


def default_subnet(slot: int) -> str:
    return f"10.77.{slot}.0/24"


def _dgram(netdev_id: str, local_port: int, remote_port: int, host: str = LOOPBACK) -> str:
    host = loopback(host)
    return (
        f"dgram,id={netdev_id},local.type=inet,local.host={host},local.port={local_port},"
        f"remote.type=inet,remote.host={host},remote.port={remote_port}"
    )


def hub_link_args(network: LabNetwork, host: int, bind_host: str = LOOPBACK) -> list[str]:
    """The hub's side of one member's link: a dgram netdev plugged into the emulated hub."""
    dgram = f"{NIC_ID}d{host}"
    return [
        "-netdev",
        _dgram(dgram, hub_port(network.slot, host), member_port(network.slot, host), bind_host),
        "-netdev",
        f"hubport,id={NIC_ID}h{host},hubid={HUB_ID},netdev={dgram}",
    ]


def nic_args(network: LabNetwork, name: str, bind_host: str = LOOPBACK) -> list[str]:
    """QEMU argv for member `name`'s private NIC (and, on the hub, every other member's link)."""
    host = network.host(name)
    device = ["-device", f"virtio-net-pci,netdev={NIC_ID},mac={member_mac(network.slot, host)}"]
    if name != network.hub:
        netdev = _dgram(NIC_ID, member_port(network.slot, host), hub_port(network.slot, host), bind_host)
        return ["-netdev", netdev, *device]
    # The sink: a hub port with no peer swallows frames. Without it a hub VM that sends
    # before any member is linked (at boot) finds no port able to receive, QEMU parks
    # the frame, virtio-net waits for it to complete, and the NIC never transmits again
    # (measured: TX 0 packets on the hub while the members reached each other).
    argv = [
        "-netdev",
        f"hubport,id={NIC_ID},hubid={HUB_ID}",
        *device,
        "-netdev",
        f"hubport,id={SINK_ID},hubid={HUB_ID}",
    ]
    for other in sorted(network.members, key=lambda m: int(m.address)):
        if other.name != name:
            argv += hub_link_args(network, host_number(network.subnet, other.address), bind_host)
    return argv


def hot_add_commands(network: LabNetwork, name: str) -> list[tuple[str, dict]]:
    """QMP commands that give a running hub a port for member `name` (the same netdevs nic_args would)."""
    host = network.host(name)
    dgram = f"{NIC_ID}d{host}"

    def inet(port: int) -> dict:
        return {"type": "inet", "host": LOOPBACK, "port": str(port)}

    return [
        (
            "netdev_add",
            {
                "type": "dgram",
                "id": dgram,
                "local": inet(hub_port(network.slot, host)),
                "remote": inet(member_port(network.slot, host)),
            },
        ),
        ("netdev_add", {"type": "hubport", "id": f"{NIC_ID}h{host}", "hubid": HUB_ID, "netdev": dgram}),
    ]


# --- the guest side -------------------------------------------------------------------------


def guest_network_path(network: LabNetwork) -> str:
    # Sorts before the image's 20-wired.network (DHCP on en*/eth*), so systemd-networkd picks it for this NIC.
    return f"{GUEST_NETWORK_DIR}/10-kdump-lab-{network.name}.network"


def guest_network_file(network: LabNetwork, name: str) -> str:
    """The systemd.network(5) file that gives member `name` its static private address."""
    member = network.member(name)
    host = network.host(name)
    return (
        f"# kdump-lab: private network {network.name} ({network.subnet}); written by `kdump-lab up`.\n"
        "[Match]\n"
        f"MACAddress={member_mac(network.slot, host)}\n"
        "\n"
        "[Network]\n"
        f"Address={member.address}/{network.subnet.prefixlen}\n"
        "DHCP=no\n"
        "LinkLocalAddressing=no\n"
        "IPv6AcceptRA=no\n"
    )


def guest_configure_script(network: LabNetwork, name: str, wait_s: int = 30) -> str:
    """sh run over SSH: install the .network file, apply it to the NIC with that MAC, wait for the address."""
    member = network.member(name)
    mac = member_mac(network.slot, network.host(name))
    path = guest_network_path(network)
    return (
        "set -eu\n"
        "umask 022\n"
        f"cat > '{path}.tmp' <<'KDUMP_LAB_EOF'\n"
        f"{guest_network_file(network, name)}"
        "KDUMP_LAB_EOF\n"
        f"mv '{path}.tmp' '{path}'\n"
        "ifname=''\n"
        "for dev in /sys/class/net/*; do\n"
        f'  [ "$(cat "$dev/address")" = "{mac}" ] && ifname=${{dev##*/}}\n'
        "done\n"
        f'[ -n "$ifname" ] || {{ echo "kdump-lab: no NIC with MAC {mac}" >&2; exit 1; }}\n'
        "networkctl reload\n"
        'networkctl reconfigure "$ifname"\n'
        "i=0\n"
        f'until ip -4 -o addr show dev "$ifname" | grep -q " {member.address}/"; do\n'
        "  i=$((i + 1))\n"
        f'  [ "$i" -le {wait_s} ] || {{ ip addr show dev "$ifname" >&2; exit 1; }}\n'
        "  sleep 1\n"
        "done\n"
        'echo "$ifname"\n'
    )


# --- state: <state-dir>/.networks/<name>.json ---------------------------------------------


def networks_dir(state_dir: Path) -> Path:
    return state_dir / NETWORKS_DIR


def network_file(state_dir: Path, name: str) -> Path:
    return networks_dir(state_dir) / f"{validate_network_name(name)}.json"


@contextlib.contextmanager
def networks_lock(state_dir: Path):
    with file_lock(networks_dir(state_dir) / ".lock"):
        yield


def load(state_dir: Path, name: str) -> LabNetwork | None:
    path = network_file(state_dir, name)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise NetworkError(f"unreadable network record {path}: {exc}") from None
    return LabNetwork.from_json(data)


def load_all(state_dir: Path) -> list[LabNetwork]:
    folder = networks_dir(state_dir)
    if not folder.is_dir():
        return []
    return [net for path in sorted(folder.glob("*.json")) if (net := load(state_dir, path.stem))]


def save(state_dir: Path, network: LabNetwork) -> None:
    path = network_file(state_dir, network.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(network.to_json(), indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def join(
    state_dir: Path, network_name: str, vm_name: str, address: str | None = None, subnet: str | None = None
) -> tuple[LabNetwork, bool]:
    """Add `vm_name` to the network (created when new). Returns (network, True when the member is new).

    Rejoining with the same address (or none) is a no-op; a different address, an address
    another member holds, or a subnet that differs from the network's are refused.
    """
    with networks_lock(state_dir):
        existing = load(state_dir, network_name)
        others = [net for net in load_all(state_dir) if net.name != network_name]
        if existing is None:
            used = {net.slot for net in others}
            free = [slot for slot in range(MAX_NETWORKS) if slot not in used]
            if not free:
                raise NetworkError(f"all {MAX_NETWORKS} lab networks are in use; destroy the VMs of one first")
            slot = free[0]
            net = parse_subnet(subnet or default_subnet(slot))
            for other in others:
                if net.overlaps(other.subnet):
                    raise NetworkError(f"subnet {net} overlaps network {other.name}'s {other.subnet}")
            network = LabNetwork(validate_network_name(network_name), net, slot)
        else:
            network = existing
            if subnet is not None and parse_subnet(subnet) != network.subnet:
                raise NetworkError(f"network {network_name} has subnet {network.subnet}, not {subnet}")
        for other in others:
            if any(m.name == vm_name for m in other.members):
                raise NetworkError(f"{vm_name} is already in network {other.name}; a VM joins one network")
        current = next((m for m in network.members if m.name == vm_name), None)
        if current is not None:
            if address is not None and parse_address(address, network.subnet) != current.address:
                raise NetworkError(
                    f"{vm_name} has address {current.address} in network {network_name}; destroy it to change"
                )
            return network, False
        taken = {int(m.address) for m in network.members}
        if address is None:
            candidates = [network.subnet.network_address + h for h in range(1, network.subnet.num_addresses - 1)]
            preferred = [a for a in candidates if host_number(network.subnet, a) >= DEFAULT_FIRST_HOST] + candidates
            chosen = next((a for a in preferred if int(a) not in taken), None)
            if chosen is None:
                raise NetworkError(f"network {network_name} ({network.subnet}) has no free address")
        else:
            chosen = parse_address(address, network.subnet)
            if int(chosen) in taken:
                holder = next(m.name for m in network.members if m.address == chosen)
                raise NetworkError(f"address {chosen} is already {holder}'s in network {network_name}")
        members = (*network.members, Member(vm_name, chosen))
        network = replace(network, members=tuple(sorted(members, key=lambda m: m.name)))
        save(state_dir, network)
        return network, True


def claim_hub(state_dir: Path, network_name: str, vm_name: str) -> LabNetwork:
    """Make `vm_name` the hub when the network has none (new, or its hub was destroyed)."""
    with networks_lock(state_dir):
        network = load(state_dir, network_name)
        if network is None:
            raise NetworkError(f"no network {network_name}")
        network.member(vm_name)
        if network.hub is None or network.hub not in {m.name for m in network.members}:
            network = replace(network, hub=vm_name)
            save(state_dir, network)
        return network


def leave(state_dir: Path, network_name: str, vm_name: str) -> LabNetwork | None:
    """Drop `vm_name` from the network; the network record goes with its last member."""
    with networks_lock(state_dir):
        network = load(state_dir, network_name)
        if network is None:
            return None
        members = tuple(m for m in network.members if m.name != vm_name)
        if not members:
            network_file(state_dir, network_name).unlink(missing_ok=True)
            return None
        network = replace(network, members=members, hub=None if network.hub == vm_name else network.hub)
        save(state_dir, network)
        return network


def describe(network: LabNetwork) -> dict:
    """The network as `kdump-lab networks --json` prints it, with every derived value."""
    rows = []
    for member in sorted(network.members, key=lambda m: int(m.address)):
        host = host_number(network.subnet, member.address)
        rows.append(
            {
                "name": member.name,
                "address": str(member.address),
                "mac": member_mac(network.slot, host),
                "hub": member.name == network.hub,
                "udp_port": member_port(network.slot, host),
                "hub_udp_port": hub_port(network.slot, host),
            }
        )
    return {
        "name": network.name,
        "subnet": str(network.subnet),
        "slot": network.slot,
        "hub": network.hub,
        "members": rows,
    }
