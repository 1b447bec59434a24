"""The dump_server role's pure functions: client checks, exports and authorized_keys text, df, retention."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from ansible_collections.kdump.fleet.plugins.module_utils import _dump_server as ds

ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIELBshQXR9toEyGskK9lPvnIloT7s7b0/+Oo4gHilOSP kdump@web01"
ECDSA = (
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBIKKwnm3H9dKqhx4JdRi7mRDaQkCqDXLkasmOmHnD"
    "xG9fd0gqyOXImW5VM4VHzfB6zMKrbek59AsXe7sAOodY9I= kdump@web01"
)
RSA2048 = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC/+C7KJmeZOPiqXXkBodgg4LFfVQtT/XlGtuy2L1qhQ4RACngrm5UjvpObVn30g2CSTpvVLTLk"
    "dy3LL51Ru5Idr6hbuFTschGHKmSD3DpwNHRmnENQoKgS6Vwtf/oog00CqFiF0xbCbqjs16pP1Av/qXwd3MUXMbyGRoh7zxBrswCTkIUanpAwH3Bs"
    "07ozQgqDOLhxpTztt1zSLHiQ8CLX4J0ztkNOG7TZXHZKtWsv3yC23F6N39+I7YcVlFzjmnOAnuCdfz+9TomsnyDyZM1ZD5K7O0QxkFDfa0Fs7kVX"
    "p/U6dybhV1Fhq1Uqi8pWIc8zOzIg07nlDTFrihrBTsU9 kdump@web01"
)
RSA1024 = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDhSzw/ARObbJW7timmPWeUuvLvXvvXA521wijTwhKt1EsK1evYnQo+rGcdXn8b7788fE9je2m"
    "wXAA5W4B0+oZjKRu3mmnV96G0Cj6BeYTCdMgia/Nb611buPwj7c0FI6C34HsxgJSsEL6qZUmtRI7F1c9qg1xgriDtEmi/65Z79w== kdump@web01"
)
ECDSA384 = (
    "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBK+RkimwVzkjvhd7dz/fNm0W1eF1LBv8QmeOqq0b"
    "+qonAa2FCDsY+UunGTWVH0Od2KsKt912iS0RGn/ZJWgCFZDHW0yB0piQmiJnEr1iTZO8U0xIkMBfiCvtWq0ntwrEWQ== kdump@web01"
)
ED25519_BODY = ED25519.split(" ")[1]
ROOT = "/srv/kdump/dumps"
WEB01 = {"name": "web01", "address": "192.0.2.10", "ssh_public_key": ED25519}

EXPECTED_LINE = (
    'command="/usr/bin/python3 -I /usr/local/libexec/kdump-fleet-receiver --root /srv/kdump/dumps --client web01 '
    '--remote-path /var/crash --min-free-bytes 1073741824",restrict,from="192.0.2.10" ' + ED25519
)


# ---------------------------------------------------------------- client entries


def test_good_clients_pass():
    clients = [
        WEB01,
        {"name": "db-01", "address": "2001:db8::10", "ssh_public_key": ECDSA},
        {"name": "RACK7", "address": "198.51.100.0/24", "ssh_public_key": RSA2048, "keep_dumps": 3},
        {"name": "nokey", "address": "203.0.113.5", "remote_path": "/var/crash/kdump"},
    ]
    assert ds.client_errors(clients, ROOT) == []


@pytest.mark.parametrize(
    "name",
    [
        "web 01",
        "web01.example.com",
        "-web",
        "web-",
        "web_01",
        "../etc",
        "a" * 64,
        "",
        'web"01',
        "web,01",
        "web01\n",
        "wéb",
        "$(id)",
        7,
        None,
    ],
)
def test_hostile_names_are_refused(name):
    errors = ds.client_errors([{"name": name, "address": "192.0.2.10"}], ROOT)
    assert errors and errors[0].startswith("dump_server_clients[0].name")
    assert "\n" not in " ".join(errors)


@pytest.mark.parametrize(
    ("address", "said"),
    [
        ("*", "wildcards"),
        ("*.example.com", "wildcards"),
        ("@trusted", "netgroups"),
        ("web01.example.com", "host names"),
        ("192.0.2.10 *", "' '"),
        ("192.0.2.10(rw,no_root_squash)", "'('"),
        ("192.0.2.10,198.51.100.1", "','"),
        ("0.0.0.0/0", "wider than /16"),
        ("::/0", "wider than /48"),
        ("10.0.0.0/8", "wider than /16"),
        ("192.0.2.10/24", "host bits set"),
        ("192.0.2.0/255.255.255.0", "netmask"),
        ("999.1.1.1", "not an IPv4 or IPv6"),
        ("010.0.0.1", "not an IPv4 or IPv6"),
        ("0.0.0.0", "unspecified"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("224.0.0.1", "multicast"),
        ("fe80::1%eth0", "'%'"),
        ("::ffff:192.0.2.10", "IPv4-mapped"),
        ("", "empty"),
        ("192.0.2.10\n", "control character"),
    ],
)
def test_addresses_that_widen_or_blur_the_export_are_refused(address, said):
    errors = ds.client_errors([{"name": "web01", "address": address}], ROOT)
    assert len(errors) == 1
    assert errors[0].startswith("dump_server_clients[0].address=")
    assert said in errors[0]


def test_duplicates_are_refused():
    errors = ds.client_errors(
        [
            {"name": "web01", "address": "192.0.2.10"},
            {"name": "WEB01", "address": "192.0.2.11"},
            {"name": "web02", "address": "192.0.2.10"},
            {"name": "web03", "address": "2001:DB8:0::10"},
            {"name": "web04", "address": "2001:db8::10"},
        ],
        ROOT,
    )
    assert errors == [
        "dump_server_clients[1].name=WEB01 is also the name of dump_server_clients[0]; each client needs its own name",
        "dump_server_clients[2].address=192.0.2.10 is also the address of dump_server_clients[0]; "
        "list each client once",
        "dump_server_clients[4].address=2001:db8::10 is also the address of dump_server_clients[3]; "
        "list each client once",
    ]


def test_odd_structures_give_messages():
    assert ds.client_errors("web01", ROOT) == ["dump_server_clients must be a list of {name, address} entries, not str"]
    assert ds.client_errors(["web01"], ROOT) == [
        "dump_server_clients[0] must be a mapping with name and address, not str"
    ]
    errors = ds.client_errors([{"name": "web01", "address": "192.0.2.10", "options": "no_root_squash"}], ROOT)
    assert errors == [
        "dump_server_clients[0] has the unknown key(s) options; known: name, address, ssh_public_key, remote_path, "
        "keep_dumps"
    ]
    assert "address is required" in ds.client_errors([{"name": "web01"}], ROOT)[0]
    assert ds.client_errors([{"address": "192.0.2.10"}], ROOT) == ["dump_server_clients[0].name=None is required"]
    for keep in (-1, "3", True, 1.5):
        errors = ds.client_errors([{"name": "web01", "address": "192.0.2.10", "keep_dumps": keep}], ROOT)
        assert errors and "keep_dumps" in errors[0]
    errors = ds.client_errors([{"name": "web01", "address": "192.0.2.10", "remote_path": "/var/crash/../etc"}], ROOT)
    assert errors == [
        "dump_server_clients[0].remote_path=/var/crash/../etc holds a '.' or '..' segment; write the path "
        "without them, e.g. /var/crash"
    ]


# ---------------------------------------------------------------- public keys


@pytest.mark.parametrize("key", [ED25519, ECDSA, RSA2048, ED25519.rsplit(" ", 1)[0]])
def test_good_keys_parse(key):
    parsed, problem = ds.parse_public_key(key)
    assert problem is None
    assert parsed[0] == key.split(" ")[0]


@pytest.mark.parametrize(
    ("key", "said"),
    [
        ('command="/bin/sh" ' + ED25519, "authorized_keys options"),
        ('restrict,from="*" ' + ED25519, "authorized_keys options"),
        ("no-pty " + ED25519, "authorized_keys options"),
        ("restrict " + ED25519, "authorized_keys options"),
        (ED25519 + ' command="/bin/sh"', "one word"),
        (f"ssh-ed25519 {ED25519_BODY} command=/bin/sh", "comment command=/bin/sh"),
        (f"ssh-ed25519 {ED25519_BODY} a,b", "comment"),
        (f'ssh-ed25519 {ED25519_BODY} x"y', "comment"),
        (f"ssh-ed25519 {ED25519_BODY} me@host\nssh-ed25519 {ED25519_BODY} evil", "control character U+000A"),
        (f"ssh-ed25519 {ED25519_BODY} me@host\r", "control character U+000D"),
        (ED25519 + " ", "single spaces"),
        (" " + ED25519, "single spaces"),
        ("ssh-ed25519  " + ED25519_BODY, "single spaces"),
        ("ssh-ed25519\t" + ED25519_BODY, "control character U+0009"),
        ("ssh-ed25519 " + ED25519_BODY + " a b", "one word"),
        ("ssh-ed25519 AAAA$(id)", "not base64"),
        ("ssh-ed25519 " + ED25519_BODY[:-1], "not base64"),
        ("ssh-ed25519 " + ED25519_BODY[:-4], "truncated"),
        ("ssh-ed25519 " + ECDSA.split(" ")[1], "holds a ecdsa-sha2-nistp256 key"),
        ("ssh-rsa " + ED25519_BODY, "holds a ssh-ed25519 key"),
        (RSA1024, "1024 bits"),
        (ECDSA384, "is not a ssh-ed25519"),
        ("ssh-dss AAAAB3NzaC1kc3M=", "is not a ssh-ed25519"),
        ("", "empty"),
        (b"ssh-ed25519 AAAA", "must be a string"),
        (["ssh-ed25519", ED25519_BODY], "must be a string"),
    ],
)
def test_hostile_keys_are_refused(key, said):
    parsed, problem = ds.parse_public_key(key)
    assert parsed is None
    assert said in problem
    errors = ds.client_errors([{"name": "web01", "address": "192.0.2.10", "ssh_public_key": key}], ROOT)
    if key != "":  # an empty key means "no key yet"
        assert errors and errors[0].startswith("dump_server_clients[0].ssh_public_key ")
        assert "\n" not in errors[0]


# ---------------------------------------------------------------- exports


def test_export_lines_are_one_per_client_squashed_to_the_dump_user():
    clients = [WEB01, {"name": "db01", "address": "2001:DB8::20"}, {"name": "rack7", "address": "198.51.100.0/24"}]
    assert ds.export_lines(clients, ROOT, 998, 997) == [
        "/srv/kdump/dumps/web01 192.0.2.10(rw,sync,no_subtree_check,sec=sys,all_squash,anonuid=998,anongid=997)",
        "/srv/kdump/dumps/db01 2001:db8::20(rw,sync,no_subtree_check,sec=sys,all_squash,anonuid=998,anongid=997)",
        "/srv/kdump/dumps/rack7 198.51.100.0/24(rw,sync,no_subtree_check,sec=sys,all_squash,anonuid=998,anongid=997)",
    ]


def test_no_root_squash_is_only_an_explicit_choice():
    assert ds.export_lines([WEB01], ROOT, None, None, no_root_squash=True) == [
        "/srv/kdump/dumps/web01 192.0.2.10(rw,sync,no_subtree_check,sec=sys,no_root_squash)"
    ]
    text = ds.render_exports([WEB01], ROOT, 998, 997)
    assert "no_root_squash" not in text.replace("# no_root_squash", "")
    assert "root_squash" not in ds.export_lines([WEB01], ROOT, 998, 997)[0].replace("all_squash", "")


def test_render_exports_text():
    assert ds.render_exports([WEB01], ROOT, 998, 997) == (
        "# One export per dump client: ROOT/NAME, to that client's address only.\n"
        "# all_squash: every client user, root too, writes as the dump user (anonuid/anongid).\n"
        "/srv/kdump/dumps/web01 192.0.2.10(rw,sync,no_subtree_check,sec=sys,all_squash,anonuid=998,anongid=997)\n"
    )
    assert ds.render_exports([], ROOT, 998, 997).count("\n") == 2


@pytest.mark.parametrize("uid", [0, None, -1, 65534, "998", True])
def test_squashing_to_root_or_nobody_is_refused(uid):
    with pytest.raises(ValueError, match="anonuid"):
        ds.export_lines([WEB01], ROOT, uid, 997)


def test_renderers_refuse_what_validation_refuses():
    with pytest.raises(ValueError, match="wildcards"):
        ds.render_exports([{"name": "web01", "address": "*"}], ROOT, 998, 997)
    with pytest.raises(ValueError, match="system tree"):
        ds.render_exports([WEB01], "/etc/dumps", 998, 997)
    with pytest.raises(ValueError, match="authorized_keys options"):
        ds.render_authorized_keys([dict(WEB01, ssh_public_key='command="sh" ' + ED25519)], ROOT)
    with pytest.raises(ValueError, match="name"):
        ds.render_authorized_keys([dict(WEB01, name="web 01")], ROOT)


# ---------------------------------------------------------------- authorized_keys


def test_authorized_key_line():
    assert ds.authorized_key_line(WEB01, ROOT) == EXPECTED_LINE


def test_authorized_key_line_per_client_remote_path_ipv6_and_network():
    line = ds.authorized_key_line(
        {"name": "db01", "address": "2001:DB8::0:20", "ssh_public_key": ECDSA, "remote_path": "/var/crash/db"},
        ROOT,
        "/var/crash",
        5 << 30,
    )
    assert line.startswith(
        'command="/usr/bin/python3 -I /usr/local/libexec/kdump-fleet-receiver --root /srv/kdump/dumps '
        '--client db01 --remote-path /var/crash/db --min-free-bytes 5368709120",restrict,'
        'from="2001:db8::20" ecdsa-sha2-nistp256 '
    )
    assert 'from="198.51.100.0/24"' in ds.authorized_key_line(dict(WEB01, address="198.51.100.0/24"), ROOT)


def test_render_authorized_keys_skips_clients_without_a_key():
    text = ds.render_authorized_keys([WEB01, {"name": "nokey", "address": "192.0.2.11"}], ROOT)
    lines = text.splitlines()
    assert lines[0].startswith("# ")
    assert lines[1:] == [EXPECTED_LINE]


@pytest.mark.parametrize(
    ("remote_path", "minimum"),
    [
        ("/var/crash x", 1),
        ('/var/crash"', 1),
        ("/var/$(id)", 1),
        ("var/crash", 1),
        ("/var/crash", -1),
        ("/var/crash", "1"),
    ],
)
def test_receiver_options_are_refused_when_unsafe(remote_path, minimum):
    with pytest.raises(ValueError):
        ds.authorized_key_line(WEB01, ROOT, remote_path, minimum)


def test_the_command_is_exactly_these_words_for_sh():
    """sshd runs command= as 'sh -c COMMAND' (the dump user's shell): sh must see exactly the receiver's argv."""
    command = ds.receiver_command(ROOT, "web-01", "/var/crash", 1 << 30)
    result = subprocess.run(["sh", "-c", "printf '%s\\n' " + command], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines() == [
        "/usr/bin/python3",
        "-I",
        "/usr/local/libexec/kdump-fleet-receiver",
        "--root",
        "/srv/kdump/dumps",
        "--client",
        "web-01",
        "--remote-path",
        "/var/crash",
        "--min-free-bytes",
        "1073741824",
    ]


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen not installed")
def test_ssh_keygen_reads_every_rendered_line_as_the_clients_key(tmp_path):
    clients = [WEB01, {"name": "db01", "address": "2001:db8::20", "ssh_public_key": ECDSA}]
    path = tmp_path / "authorized_keys"
    path.write_text(ds.render_authorized_keys(clients, ROOT), encoding="utf-8")
    listed = subprocess.run(["ssh-keygen", "-l", "-f", str(path)], capture_output=True, text=True, check=True)
    expected = []
    for key in (ED25519, ECDSA):
        single = tmp_path / "one.pub"
        single.write_text(key + "\n", encoding="utf-8")
        one = subprocess.run(["ssh-keygen", "-l", "-f", str(single)], capture_output=True, text=True, check=True)
        expected.append(one.stdout.split()[1])
    assert [line.split()[1] for line in listed.stdout.splitlines()] == expected


# ---------------------------------------------------------------- settings and inventory hosts

GOOD_SETTINGS = {
    "dump_server_root": ROOT,
    "dump_server_user": "kdump",
    "dump_server_home": "/var/lib/kdump-fleet-dump-server",
    "dump_server_uid": None,
    "dump_server_gid": None,
    "dump_server_nfs_enabled": True,
    "dump_server_ssh_enabled": True,
    "dump_server_remote_path": "/var/crash",
    "dump_server_min_free_bytes": 1 << 30,
    "dump_server_keep_dumps": 0,
}


def test_good_settings_pass():
    assert ds.settings_errors(GOOD_SETTINGS) == []


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("dump_server_root", "/srv", "system directory"),
        ("dump_server_root", "/etc/kdump", "system tree"),
        ("dump_server_root", "/tmp/dumps", "not kept on disk"),
        ("dump_server_root", "/srv/kdump/../etc", "'..'"),
        ("dump_server_root", "/srv/kdump dumps", "letters, digits"),
        ("dump_server_root", "srv/kdump", "absolute"),
        ("dump_server_user", "root", "other than root"),
        ("dump_server_user", "kdump;id", "portable"),
        ("dump_server_home", "/srv/kdump/dumps/home", "outside dump_server_root"),
        ("dump_server_home", "/srv/kdump", "outside dump_server_root"),
        ("dump_server_remote_path", "/var/crash/", "ends in '/'"),
        ("dump_server_min_free_bytes", -1, "0 or more"),
        ("dump_server_keep_dumps", "2", "0 or more"),
        ("dump_server_uid", 0, "1 to 65533"),
        ("dump_server_gid", 65534, "1 to 65533"),
    ],
)
def test_bad_settings_are_refused(name, value, said):
    errors = ds.settings_errors(dict(GOOD_SETTINGS, **{name: value}))
    assert len(errors) == 1
    assert errors[0].startswith(name)
    assert said in errors[0]


def test_nothing_to_serve_is_refused():
    errors = ds.settings_errors(dict(GOOD_SETTINGS, dump_server_nfs_enabled=False, dump_server_ssh_enabled=False))
    assert errors == [
        "dump_server_nfs_enabled and dump_server_ssh_enabled are both false: the server would serve nothing"
    ]


def test_clients_from_hosts():
    hostvars = {
        "web01": {"ansible_host": "192.0.2.10", "dump_server_client_ssh_public_key": ED25519},
        "db01.example.com": {"ansible_host": "192.0.2.20", "dump_server_client_name": "db01"},
        "odd": {"ansible_host": "odd.example.com"},
        "pinned": {"ansible_host": "192.0.2.30", "dump_server_client_address": "2001:db8::30"},
    }
    entries = ds.clients_from_hosts(["web01", "db01.example.com", "odd", "pinned"], hostvars)
    assert entries == [
        {"name": "web01", "address": "192.0.2.10", "ssh_public_key": ED25519},
        {"name": "db01", "address": "192.0.2.20"},
        {"name": "odd", "address": "odd.example.com"},
        {"name": "pinned", "address": "2001:db8::30"},
    ]
    errors = ds.client_errors(entries, ROOT)
    assert errors == [
        "dump_server_clients[2].address=odd.example.com holds 'o': give an IPv4 or IPv6 address or network (CIDR) "
        "only; host names and patterns are resolved elsewhere and can change"
    ]


# ---------------------------------------------------------------- df and retention


def test_parse_df():
    text = "    Avail     1B-blocks\n 5368709120 10737418240\n"
    assert ds.parse_df(text) == {"avail_bytes": 5368709120, "size_bytes": 10737418240, "used_fraction": 0.5}
    for bad in ("", "Avail 1B-blocks\n", "Avail 1B-blocks\n12 x\n", "a\nb\nc\n"):
        with pytest.raises(ValueError):
            ds.parse_df(bad)


@pytest.mark.parametrize(
    ("name", "stamp"),
    [
        ("202612021000", "2026-12-02T10:00:00"),
        ("192.0.2.10-202612021000", "2026-12-02T10:00:00"),
        ("web01-202612021000", "2026-12-02T10:00:00"),
        ("192.0.2.10-2026-12-02-10:00:00", "2026-12-02T10:00:00"),
        ("2001:db8::10-2026-12-02-10:00:00", "2026-12-02T10:00:00"),
        ("127.0.0.1-2026-12-02-10:00:05", "2026-12-02T10:00:05"),
    ],
)
def test_dump_directory_names_of_both_tools(name, stamp):
    assert ds.dump_stamp(name).isoformat() == stamp


@pytest.mark.parametrize(
    "name",
    [
        "tmp.AbCdEfGhIj",
        "kdump-test-202612021000",
        "lost+found",
        "20261202100",
        "202613021000",
        "notes",
        "192.0.2.10-2026-12-02",
        ".202612021000",
        "x y-202612021000",
        7,
    ],
)
def test_other_names_are_no_dump_directories(name):
    assert ds.dump_stamp(name) is None


def _dirs(root, client, names, **extra):
    return [dict({"path": f"{root}/{client}/{name}", "isdir": True, "islnk": False}, **extra) for name in names]


def test_retention_keeps_the_newest_per_client_and_ignores_other_entries():
    web = ["192.0.2.10-202601010000", "192.0.2.10-202603010000", "192.0.2.10-202602010000", "tmp.AbCdEfGhIj"]
    db = ["2001:db8::20-2026-01-01-00:00:00", "2001:db8::20-2026-02-01-00:00:00"]
    entries = _dirs(ROOT, "web01", web) + _dirs(ROOT, "db01", db)
    entries += _dirs(ROOT, "web01", ["192.0.2.10-202501010000"], isdir=False, islnk=True)  # a planted symlink
    entries += _dirs("/elsewhere", "web01", ["192.0.2.10-202401010000"])
    entries += [{"path": ROOT + "/web01/../db01/192.0.2.10-202301010000", "isdir": True, "islnk": False}, "odd", {}]
    clients = [WEB01, {"name": "db01", "address": "2001:db8::20"}]
    plan = ds.retention_plan(entries, clients, ROOT, 1)
    assert plan == [
        {"client": "web01", "path": ROOT + "/web01/192.0.2.10-202601010000", "stamp": "2026-01-01T00:00:00"},
        {"client": "web01", "path": ROOT + "/web01/192.0.2.10-202602010000", "stamp": "2026-02-01T00:00:00"},
        {"client": "db01", "path": ROOT + "/db01/2001:db8::20-2026-01-01-00:00:00", "stamp": "2026-01-01T00:00:00"},
    ]
    assert ds.retention_plan(entries, clients, ROOT, 2) == plan[:1]
    assert ds.retention_plan(entries, clients, ROOT, 0) == []


def test_retention_per_client_overrides_and_never_removes_the_newest():
    entries = _dirs(ROOT, "web01", ["202601010000", "202602010000"]) + _dirs(ROOT, "db01", ["202601010000"])
    clients = [dict(WEB01, keep_dumps=0), {"name": "db01", "address": "192.0.2.20", "keep_dumps": 1}]
    assert ds.retention_plan(entries, clients, ROOT, 1) == []
    clients = [dict(WEB01, keep_dumps=1), {"name": "db01", "address": "192.0.2.20"}]
    assert [item["path"] for item in ds.retention_plan(entries, clients, ROOT, 0)] == [ROOT + "/web01/202601010000"]
    with pytest.raises(ValueError):
        ds.retention_plan(entries, clients, ROOT, -1)
