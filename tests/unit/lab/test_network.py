"""The lab's private network: argv of the second NIC, derivation, refusals, guest config, state and CLI."""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
from pathlib import Path

import pytest
from kdump_lab import cli, image, qemu, recipe, vm
from kdump_lab import network as labnet
from kdump_lab.paths import default_state_dir

# qemu_command's argv before the private network existed (commit 93085da), for a VM without --network.
PINNED_ARGV = [
    "qemu-system-x86_64",
    "-name",
    "kdump-lab-vm1",
    "-machine",
    "pc",
    "-accel",
    "tcg,thread=multi",
    "-cpu",
    "max",
    "-smp",
    "2",
    "-m",
    "2048",
    "-nodefaults",
    "-display",
    "none",
    "-rtc",
    "base=utc",
    "-drive",
    "file=/s/vm1/overlay.qcow2,if=virtio,format=qcow2,cache=writeback",
    "-netdev",
    "user,id=net0,hostfwd=tcp:127.0.0.1:42022-:22",
    "-device",
    "virtio-net-pci,netdev=net0,mac=52:54:00:7b:11:e3",
    "-device",
    "virtio-rng-pci",
    "-chardev",
    "file,id=console,path=/s/vm1/console.log,append=on",
    "-serial",
    "chardev:console",
    "-qmp",
    "unix:/s/vm1/qmp.sock,server=on,wait=off",
    "-pidfile",
    "/s/vm1/qemu.pid",
    "-daemonize",
]


def vm_spec(**changes) -> qemu.VmSpec:
    values = {
        "name": "vm1",
        "disk": Path("/s/vm1/overlay.qcow2"),
        "ssh_port": 42022,
        "console_log": Path("/s/vm1/console.log"),
        "qmp_socket": Path("/s/vm1/qmp.sock"),
        "pidfile": Path("/s/vm1/qemu.pid"),
    }
    values.update(changes)
    return qemu.VmSpec(**values)


def lan(*members: tuple[str, str], hub: str | None = "srv", slot: int = 0, subnet: str = "10.77.0.0/24"):
    return labnet.LabNetwork(
        "dumpnet",
        ipaddress.IPv4Network(subnet),
        slot,
        hub,
        tuple(labnet.Member(name, ipaddress.IPv4Address(addr)) for name, addr in members),
    )


SRV = ("srv", "10.77.0.10")
C12 = ("c12", "10.77.0.21")
C13 = ("c13", "10.77.0.22")


def dgram(netdev_id: str, local: int, remote: int) -> str:
    return (
        f"dgram,id={netdev_id},local.type=inet,local.host=127.0.0.1,local.port={local},"
        f"remote.type=inet,remote.host=127.0.0.1,remote.port={remote}"
    )


# --- argv -------------------------------------------------------------------------------------


def test_without_a_network_the_argv_is_byte_identical_to_before():
    assert qemu.qemu_command(vm_spec()) == PINNED_ARGV


def test_launch_without_a_network_passes_the_pinned_argv(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(
        vm.subprocess, "run", lambda argv, **kw: seen.append(argv) or subprocess.CompletedProcess(argv, 0)
    )
    paths = vm.VmPaths(Path("/s/vm1"))
    record = {"name": "vm1", "memory_mb": 2048, "cpus": 2}
    vm._start_qemu(paths, record, 42022, tmp_path)
    assert seen == [PINNED_ARGV]


def test_one_vm_network_the_hub_alone():
    assert labnet.nic_args(lan(SRV), "srv") == [
        "-netdev",
        "hubport,id=lan0,hubid=1",
        "-device",
        "virtio-net-pci,netdev=lan0,mac=52:4b:4c:00:00:0a",
        "-netdev",
        "hubport,id=lan0sink,hubid=1",
    ]


def test_two_vms_hub_and_member():
    net = lan(SRV, C12)
    assert labnet.nic_args(net, "srv") == [
        "-netdev",
        "hubport,id=lan0,hubid=1",
        "-device",
        "virtio-net-pci,netdev=lan0,mac=52:4b:4c:00:00:0a",
        "-netdev",
        "hubport,id=lan0sink,hubid=1",
        "-netdev",
        dgram("lan0d21", 20043, 20042),
        "-netdev",
        "hubport,id=lan0h21,hubid=1,netdev=lan0d21",
    ]
    assert labnet.nic_args(net, "c12") == [
        "-netdev",
        dgram("lan0", 20042, 20043),
        "-device",
        "virtio-net-pci,netdev=lan0,mac=52:4b:4c:00:00:15",
    ]


def test_three_vms_the_hub_carries_one_link_per_member():
    net = lan(C13, SRV, C12)  # member order does not matter: links follow the addresses
    assert labnet.nic_args(net, "srv") == [
        "-netdev",
        "hubport,id=lan0,hubid=1",
        "-device",
        "virtio-net-pci,netdev=lan0,mac=52:4b:4c:00:00:0a",
        "-netdev",
        "hubport,id=lan0sink,hubid=1",
        "-netdev",
        dgram("lan0d21", 20043, 20042),
        "-netdev",
        "hubport,id=lan0h21,hubid=1,netdev=lan0d21",
        "-netdev",
        dgram("lan0d22", 20045, 20044),
        "-netdev",
        "hubport,id=lan0h22,hubid=1,netdev=lan0d22",
    ]
    assert labnet.nic_args(net, "c12") == labnet.nic_args(lan(SRV, C12), "c12")
    assert labnet.nic_args(net, "c13") == [
        "-netdev",
        dgram("lan0", 20044, 20045),
        "-device",
        "virtio-net-pci,netdev=lan0,mac=52:4b:4c:00:00:16",
    ]


def test_a_member_argv_does_not_depend_on_who_is_the_hub():
    assert labnet.nic_args(lan(SRV, C12, hub="srv"), "c12") == labnet.nic_args(lan(SRV, C12, hub=None), "c12")


def test_the_private_nic_goes_after_the_first_nic_and_the_rng():
    nic = tuple(labnet.nic_args(lan(SRV, C12), "c12"))
    argv = qemu.qemu_command(vm_spec(private_nic=nic))
    rng = argv.index("virtio-rng-pci")
    assert argv[: rng + 1] == PINNED_ARGV[: rng + 1]
    assert argv[rng + 1 : rng + 1 + len(nic)] == list(nic)
    assert argv[rng + 1 + len(nic) :] == PINNED_ARGV[rng + 1 :]


def test_launch_of_a_member_reads_the_network_record(tmp_path, monkeypatch):
    state = tmp_path / "state"
    labnet.join(state, "dumpnet", "srv", address="10.77.0.10")
    labnet.claim_hub(state, "dumpnet", "srv")
    labnet.join(state, "dumpnet", "c12", address="10.77.0.21")
    seen = []
    monkeypatch.setattr(
        vm.subprocess, "run", lambda argv, **kw: seen.append(argv) or subprocess.CompletedProcess(argv, 0)
    )
    record = {"name": "c12", "memory_mb": 2048, "cpus": 2, "network": "dumpnet"}
    vm._start_qemu(vm.VmPaths(state / "c12"), record, 42022, state)
    rng = seen[0].index("virtio-rng-pci")
    device = "virtio-net-pci,netdev=lan0,mac=52:4b:4c:00:00:15"
    assert seen[0][rng + 1 : rng + 5] == ["-netdev", dgram("lan0", 20042, 20043), "-device", device]


@pytest.mark.parametrize("bind_host", ["0.0.0.0", "192.0.2.2", "127.0.0.2", "::1", "localhost", ""])
def test_any_host_address_but_127_0_0_1_is_refused(bind_host):
    for name in ("srv", "c12"):
        with pytest.raises(labnet.NetworkError, match="only uses 127.0.0.1"):
            labnet.nic_args(lan(SRV, C12), name, bind_host=bind_host)
    with pytest.raises(labnet.NetworkError):
        labnet.hub_link_args(lan(SRV, C12), 21, bind_host=bind_host)


def test_every_socket_of_a_full_network_is_on_loopback_and_unicast():
    members = [(f"m{h}", f"10.77.3.{h}") for h in range(1, 255)]
    net = lan(*members, hub="m1", slot=3, subnet="10.77.3.0/24")
    argv = [arg for m, _addr in members for arg in labnet.nic_args(net, m)]
    hosts = re.findall(r"\.host=([^,]*)", " ".join(argv))
    assert hosts and set(hosts) == {"127.0.0.1"}
    text = " ".join(argv)
    for forbidden in ("mcast", "tap", "bridge", "0.0.0.0", "vde", "l2tpv3"):
        assert forbidden not in text


def test_hot_add_commands_match_the_hub_argv():
    net = lan(SRV, C12)
    assert labnet.hot_add_commands(net, "c12") == [
        (
            "netdev_add",
            {
                "type": "dgram",
                "id": "lan0d21",
                "local": {"type": "inet", "host": "127.0.0.1", "port": "20043"},
                "remote": {"type": "inet", "host": "127.0.0.1", "port": "20042"},
            },
        ),
        ("netdev_add", {"type": "hubport", "id": "lan0h21", "hubid": 1, "netdev": "lan0d21"}),
    ]
    assert labnet.hub_link_args(net, 21) == labnet.nic_args(net, "srv")[6:]


# --- derivation -------------------------------------------------------------------------------


def test_ports_and_macs_never_collide_in_any_network():
    ports, macs = set(), set()
    for slot in range(labnet.MAX_NETWORKS):
        for host in range(1, 255):
            ports |= {labnet.member_port(slot, host), labnet.hub_port(slot, host)}
            macs.add(labnet.member_mac(slot, host))
    assert len(ports) == labnet.MAX_NETWORKS * 254 * 2
    assert len(macs) == labnet.MAX_NETWORKS * 254
    assert min(ports) >= 20000 and max(ports) < 32768  # below the ephemeral range the SSH forwards come from
    for mac in macs:
        first = int(mac.split(":")[0], 16)
        assert first & 0x02 and not first & 0x01  # locally administered, unicast
        assert not mac.startswith("52:54:00:")  # never one of qemu.mac_for's first NICs


def test_derivation_is_a_pure_function():
    assert labnet.member_port(2, 7) == labnet.member_port(2, 7) == 20000 + 1024 + 14
    assert labnet.member_mac(15, 254) == "52:4b:4c:0f:00:fe"
    assert labnet.nic_args(lan(SRV, C12), "srv") == labnet.nic_args(lan(C12, SRV), "srv")


@pytest.mark.parametrize(("slot", "host"), [(-1, 1), (16, 1), (0, 0), (0, 255)])
def test_out_of_range_slot_or_host_is_refused(slot, host):
    with pytest.raises(labnet.NetworkError):
        labnet.member_port(slot, host)
    with pytest.raises(labnet.NetworkError):
        labnet.member_mac(slot, host)


def test_same_joins_give_the_same_network_in_two_state_dirs(tmp_path):
    results = []
    for state in (tmp_path / "a", tmp_path / "b"):
        for name in ("srv", "c12", "c13"):
            labnet.join(state, "dumpnet", name)
        labnet.claim_hub(state, "dumpnet", "srv")
        net = labnet.load(state, "dumpnet")
        results.append((labnet.describe(net), [labnet.nic_args(net, n) for n in ("srv", "c12", "c13")]))
    assert results[0] == results[1]
    assert [m["address"] for m in results[0][0]["members"]] == ["10.77.0.10", "10.77.0.11", "10.77.0.12"]


def test_254_members_fill_a_slash_24_without_collisions(tmp_path):
    state = tmp_path / "state"
    for i in range(254):
        labnet.join(state, "big", f"m{i}")
    net = labnet.load(state, "big")
    rows = labnet.describe(net)["members"]
    assert (
        len({r["address"] for r in rows}) == len({r["mac"] for r in rows}) == len({r["udp_port"] for r in rows}) == 254
    )
    assert {r["address"] for r in rows} == {str(a) for a in net.subnet.hosts()}
    with pytest.raises(labnet.NetworkError, match="no free address"):
        labnet.join(state, "big", "one-too-many")


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subnet", "reason"),
    [
        ("8.8.8.0/24", "not private"),
        ("100.64.0.0/24", "not private"),  # carrier-grade NAT space is not RFC 1918
        ("127.0.0.0/24", "not private"),
        ("169.254.0.0/24", "not private"),
        ("172.32.0.0/24", "not private"),
        ("192.169.0.0/24", "not private"),
        ("11.0.0.0/24", "not private"),
        ("0.0.0.0/24", "not private"),
        ("10.77.0.0/16", "/24 to /30"),
        ("10.77.0.0/31", "/24 to /30"),
        ("10.77.0.1/24", "invalid subnet"),  # host bits set
        ("10.0.2.0/24", "user networking"),
        ("10.0.2.128/25", "user networking"),
        ("fd00::/64", "invalid subnet"),
        ("nonsense", "invalid subnet"),
    ],
)
def test_subnets_outside_the_private_ranges_or_badly_sized_are_refused(subnet, reason):
    with pytest.raises(labnet.NetworkError, match=re.escape(reason)):
        labnet.parse_subnet(subnet)


@pytest.mark.parametrize("subnet", ["10.77.0.0/24", "172.16.5.0/24", "172.31.255.0/24", "192.168.100.0/28"])
def test_private_subnets_are_accepted(subnet):
    assert str(labnet.parse_subnet(subnet)) == subnet


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("10.77.1.5", "not in subnet"),
        ("10.77.0.0", "network or broadcast"),
        ("10.77.0.255", "network or broadcast"),
        ("8.8.8.8", "not in a private range"),
        ("10.77.0.300", "invalid address"),
    ],
)
def test_addresses_outside_the_subnet_are_refused(tmp_path, address, reason):
    with pytest.raises(labnet.NetworkError, match=reason):
        labnet.join(tmp_path / "state", "dumpnet", "srv", address=address)
    assert labnet.load(tmp_path / "state", "dumpnet") is None


def test_a_taken_address_a_changed_address_and_a_second_network_are_refused(tmp_path):
    state = tmp_path / "state"
    net, new = labnet.join(state, "dumpnet", "srv", address="10.77.0.10")
    assert new and net.slot == 0
    with pytest.raises(labnet.NetworkError, match="already srv's"):
        labnet.join(state, "dumpnet", "c12", address="10.77.0.10")
    with pytest.raises(labnet.NetworkError, match="destroy it to change"):
        labnet.join(state, "dumpnet", "srv", address="10.77.0.11")
    assert labnet.join(state, "dumpnet", "srv", address="10.77.0.10") == (net, False)
    assert labnet.join(state, "dumpnet", "srv") == (net, False)
    with pytest.raises(labnet.NetworkError, match="has subnet 10.77.0.0/24"):
        labnet.join(state, "dumpnet", "c12", subnet="10.78.0.0/24")
    with pytest.raises(labnet.NetworkError, match="overlaps network dumpnet"):
        labnet.join(state, "other", "c12", subnet="10.77.0.0/25")
    with pytest.raises(labnet.NetworkError, match="already in network dumpnet"):
        labnet.join(state, "other", "srv")
    other, _member = labnet.join(state, "other", "c12")
    assert other.slot == 1 and str(other.subnet) == "10.77.1.0/24"


@pytest.mark.parametrize("name", ["", "Dump", "a_b", "-x", "x" * 21, "../x"])
def test_bad_network_names_are_refused(tmp_path, name):
    with pytest.raises(labnet.NetworkError, match="invalid network name"):
        labnet.join(tmp_path / "state", name, "srv")


# --- guest configuration ----------------------------------------------------------------------


def test_guest_network_file_content():
    net = lan(SRV, C12)
    assert labnet.guest_network_path(net) == "/etc/systemd/network/10-kdump-lab-dumpnet.network"
    assert labnet.guest_network_file(net, "c12") == (
        "# kdump-lab: private network dumpnet (10.77.0.0/24); written by `kdump-lab up`.\n"
        "[Match]\n"
        "MACAddress=52:4b:4c:00:00:15\n"
        "\n"
        "[Network]\n"
        "Address=10.77.0.21/24\n"
        "DHCP=no\n"
        "LinkLocalAddressing=no\n"
        "IPv6AcceptRA=no\n"
    )


def test_the_file_sorts_before_the_images_dhcp_file():
    guest_files = sorted(p.name for p in (Path(vm.__file__).parent / "guest").glob("*.network"))
    assert guest_files == ["20-wired.network"]
    assert Path(labnet.guest_network_path(lan(SRV))).name < guest_files[0]


def test_guest_script_is_valid_sh_and_carries_the_file():
    net = lan(SRV, C12)
    script = labnet.guest_configure_script(net, "c12")
    subprocess.run(["sh", "-n", "-c", script], check=True)
    assert labnet.guest_network_file(net, "c12") in script
    assert '"52:4b:4c:00:00:15"' in script
    assert "networkctl reload\n" in script and 'networkctl reconfigure "$ifname"\n' in script
    assert '" 10.77.0.21/"' in script


# --- state, up, destroy, status ------------------------------------------------------------------


def test_hub_passes_on_when_the_hub_leaves_and_the_record_goes_with_the_last_member(tmp_path):
    state = tmp_path / "state"
    labnet.join(state, "dumpnet", "srv")
    assert labnet.claim_hub(state, "dumpnet", "srv").hub == "srv"
    labnet.join(state, "dumpnet", "c12")
    assert labnet.claim_hub(state, "dumpnet", "c12").hub == "srv"  # a network has one hub
    assert labnet.leave(state, "dumpnet", "srv").hub is None
    assert labnet.claim_hub(state, "dumpnet", "c12").hub == "c12"
    assert labnet.leave(state, "dumpnet", "c12") is None
    assert not labnet.network_file(state, "dumpnet").exists()
    assert labnet.leave(state, "dumpnet", "c12") is None


class NetLab:
    """Fakes QEMU and the guest for vm.up: records launches, QMP commands and the ssh scripts."""

    def __init__(self, monkeypatch, tmp_path: Path, running: set[str] = frozenset()):
        self.state = tmp_path / "state"
        self.qmp: list[tuple[Path, str, dict]] = []
        self.scripts: list[tuple[int, str]] = []
        self.running = set(running)
        fake_image = image.Image("debian12", "f" * 16, tmp_path / "img")
        monkeypatch.setattr(vm, "build_image", lambda distro, log: fake_image)
        monkeypatch.setattr(vm, "_prepare_overlay", lambda paths, record, img: None)
        monkeypatch.setattr(vm, "_launch", self.launch)
        monkeypatch.setattr(vm, "running_pid", lambda paths: 4242 if paths.root.name in self.running else None)
        monkeypatch.setattr(vm, "wait_for_ssh", lambda port, key, timeout, abort_reason: 1.0)
        monkeypatch.setattr(vm, "run_ssh", self.run_ssh)
        monkeypatch.setattr(vm, "_stop_process", lambda paths: self.running.discard(paths.root.name) or True)
        monkeypatch.setattr(vm.qemu, "qmp_command", lambda sock, cmd, args=None: self.qmp.append((sock, cmd, args)))

    def launch(self, paths, record, state_dir):
        self.running.add(record["name"])
        self.argv = vm._private_nic(record, state_dir)
        return 40000 + len(self.running)

    def run_ssh(self, port, key, command, timeout=60):
        self.scripts.append((port, command))
        return subprocess.CompletedProcess(["ssh"], 0, "ens5\n", "")


def test_up_on_a_network_records_the_address_and_configures_the_guest(monkeypatch, tmp_path):
    lab = NetLab(monkeypatch, tmp_path)
    info = vm.up(lab.state, "srv", "debian12", network="dumpnet", address="10.77.0.10", log=lambda _m: None)
    assert info["network"] == "dumpnet" and info["private_address"] == "10.77.0.10"
    assert lab.argv == tuple(labnet.nic_args(lan(SRV), "srv"))
    assert lab.qmp == []  # the hub itself: nothing to hot-add
    ((port, script),) = lab.scripts
    assert port == info["port"] and "Address=10.77.0.10/24" in script
    record = vm.read_record(vm.vm_paths(lab.state, "srv"))
    assert (record["network"], record["private_address"], record["private_mac"]) == (
        "dumpnet",
        "10.77.0.10",
        "52:4b:4c:00:00:0a",
    )
    assert json.loads(vm.vm_paths(lab.state, "srv").connection.read_text())["private_address"] == "10.77.0.10"

    info = vm.up(lab.state, "c12", "debian13", network="dumpnet", address="10.77.0.21", log=lambda _m: None)
    assert info["private_address"] == "10.77.0.21"
    hub_qmp = vm.vm_paths(lab.state, "srv").qmp
    assert lab.qmp == [(hub_qmp, cmd, args) for cmd, args in labnet.hot_add_commands(lan(SRV, C12), "c12")]
    assert lab.argv == tuple(labnet.nic_args(lan(SRV, C12), "c12"))

    rows = {row["name"]: row for row in vm.status(lab.state)}
    assert rows["c12"]["private_address"] == "10.77.0.21" and rows["srv"]["network"] == "dumpnet"

    vm.destroy(lab.state, "srv", log=lambda _m: None)
    assert labnet.load(lab.state, "dumpnet").hub is None
    lab.running.discard("c12")
    vm.up(lab.state, "c12", "debian13", log=lambda _m: None)  # a member stays one: restarts on its network
    assert labnet.load(lab.state, "dumpnet").hub == "c12"
    assert lab.argv == tuple(labnet.nic_args(lan(C12, hub="c12"), "c12"))


def test_a_stopped_hub_gets_no_hot_add(monkeypatch, tmp_path):
    lab = NetLab(monkeypatch, tmp_path)
    vm.up(lab.state, "srv", "debian12", network="dumpnet", log=lambda _m: None)
    lab.running.clear()
    vm.up(lab.state, "c12", "debian12", network="dumpnet", log=lambda _m: None)
    assert lab.qmp == []
    lab.running.clear()
    vm.up(lab.state, "srv", "debian12", log=lambda _m: None)
    assert lab.argv == tuple(labnet.nic_args(lan(("srv", "10.77.0.10"), ("c12", "10.77.0.11")), "srv"))


def test_a_failed_hot_add_names_the_fix_and_a_duplicate_is_fine(monkeypatch, tmp_path):
    lab = NetLab(monkeypatch, tmp_path)
    vm.up(lab.state, "srv", "debian12", network="dumpnet", log=lambda _m: None)

    def duplicate(sock, cmd, args=None):
        raise qemu.QmpError(f"Duplicate ID '{args['id']}' for netdev")

    monkeypatch.setattr(vm.qemu, "qmp_command", duplicate)
    vm.up(lab.state, "c12", "debian12", network="dumpnet", log=lambda _m: None)

    def broken(sock, cmd, args=None):
        raise qemu.QmpError("Parameter 'type' does not accept value 'dgram'")

    monkeypatch.setattr(vm.qemu, "qmp_command", broken)
    with pytest.raises(vm.LabError, match="restart the hub: kdump-lab down srv"):
        vm.up(lab.state, "c13", "debian12", network="dumpnet", log=lambda _m: None)


def test_a_guest_that_cannot_be_configured_is_stopped_and_named(monkeypatch, tmp_path):
    lab = NetLab(monkeypatch, tmp_path)
    stopped = []
    monkeypatch.setattr(vm, "_stop_process", lambda paths: stopped.append(paths.root.name) or True)
    monkeypatch.setattr(vm, "run_ssh", lambda *a, **kw: subprocess.CompletedProcess([], 1, "", "no NIC with MAC x"))
    with pytest.raises(vm.LabError, match="could not configure 10.77.0.10 on network dumpnet: no NIC"):
        vm.up(lab.state, "srv", "debian12", network="dumpnet", log=lambda _m: None)
    assert stopped == ["srv"]


def test_a_running_vm_cannot_change_network(monkeypatch, tmp_path):
    lab = NetLab(monkeypatch, tmp_path)
    vm.up(lab.state, "plain", "debian12", log=lambda _m: None)
    with pytest.raises(vm.LabError, match="running without a lab network"):
        vm.up(lab.state, "plain", "debian12", network="dumpnet", log=lambda _m: None)
    vm.up(lab.state, "srv", "debian12", network="dumpnet", log=lambda _m: None)
    with pytest.raises(vm.LabError, match="destroy it to move it"):
        vm.up(lab.state, "srv", "debian12", network="other", log=lambda _m: None)
    assert vm.up(lab.state, "srv", "debian12", log=lambda _m: None)["private_address"] == "10.77.0.10"


def test_up_without_a_network_keeps_the_single_vm_record_and_json(monkeypatch, tmp_path):
    lab = NetLab(monkeypatch, tmp_path)
    info = vm.up(lab.state, "vm1", "debian12", log=lambda _m: None)
    assert "network" not in info and "private_address" not in info
    assert lab.argv == () and lab.scripts == [] and lab.qmp == []
    assert "network" not in vm.read_record(vm.vm_paths(lab.state, "vm1"))
    assert not labnet.networks_dir(lab.state).exists()


# --- CLI ---------------------------------------------------------------------------------------------


def test_up_parses_the_network_options():
    args = cli.build_parser().parse_args(
        ["up", "srv", "--distro", "debian12", "--network", "dumpnet", "--address", "10.77.0.10"]
    )
    assert (args.network, args.address, args.subnet) == ("dumpnet", "10.77.0.10", None)
    args = cli.build_parser().parse_args(
        ["up", "c", "--distro", "debian13", "--network", "n", "--subnet", "10.9.0.0/24"]
    )
    assert args.subnet == "10.9.0.0/24"
    args = cli.build_parser().parse_args(["up", "vm1", "--distro", "debian12"])
    assert (args.network, args.address, args.subnet) == (None, None, None)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--address", "10.77.0.10"], "need --network"),
        (["--subnet", "10.77.0.0/24"], "need --network"),
        (["--network", "Bad_Name"], "invalid network name"),
    ],
)
def test_up_refuses_bad_network_options_before_anything_starts(capsys, extra, message):
    assert cli.main(["up", "srv", "--distro", "debian12", *extra]) == 1
    assert message in capsys.readouterr().err
    assert not image.images_dir().exists()  # nothing built, nothing booted


def test_networks_command(capsys):
    assert cli.main(["networks", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    state = default_state_dir()
    labnet.join(state, "dumpnet", "srv", address="10.77.0.10")
    labnet.claim_hub(state, "dumpnet", "srv")
    labnet.join(state, "dumpnet", "c12", address="10.77.0.21")
    assert cli.main(["networks", "--json"]) == 0
    (net,) = json.loads(capsys.readouterr().out)
    assert net["hub"] == "srv" and net["subnet"] == "10.77.0.0/24"
    assert net["members"][1] == {
        "name": "c12",
        "address": "10.77.0.21",
        "mac": "52:4b:4c:00:00:15",
        "hub": False,
        "udp_port": 20042,
        "hub_udp_port": 20043,
    }
    assert cli.main(["networks"]) == 0
    out = capsys.readouterr().out
    assert "dumpnet 10.77.0.0/24 (hub srv)" in out and "10.77.0.21" in out and "udp 127.0.0.1:20042" in out


def test_status_shows_the_private_address(capsys):
    state = default_state_dir()
    vm_dir = vm.vm_paths(state, "srv")
    vm_dir.root.mkdir(parents=True)
    record = {"name": "srv", "distro": "debian12", "ssh_port": 40022, "network": "dumpnet"}
    vm_dir.record.write_text(json.dumps({**record, "private_address": "10.77.0.10"}))
    assert cli.main(["status"]) == 0
    assert "dumpnet 10.77.0.10" in capsys.readouterr().out
    assert cli.main(["status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["private_address"] == "10.77.0.10"


def test_the_network_does_not_shape_the_image():
    # Per-VM network settings go in over SSH after boot: the cached base image (hash) stays the same.
    assert "network.py" not in recipe.shaping_files()
    assert set(recipe.IMAGE_SHAPING_FILES) == {"recipe.py", "image.py"}
