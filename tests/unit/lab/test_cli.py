from __future__ import annotations

import json

import pytest
from kdump_lab import cli, image, paths
from kdump_lab.recipe import get_distro

SUBCOMMANDS = ["build", "images", "prune", "up", "down", "destroy", "reap", "status", "networks", "console", "ssh"]


@pytest.mark.parametrize("argv", [["--help"]] + [[name, "--help"] for name in SUBCOMMANDS])
def test_every_command_has_help(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.build_parser().parse_args(argv)
    assert exit_info.value.code == 0
    assert "usage: kdump-lab" in capsys.readouterr().out


def test_up_defaults():
    args = cli.build_parser().parse_args(["up", "vm1", "--distro", "debian13"])
    assert (args.name, args.distro, args.memory, args.cpus, args.timeout) == ("vm1", "debian13", 2048, 2, 600)


def test_unknown_distro_is_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["up", "vm1", "--distro", "centos7"])
    assert "invalid choice" in capsys.readouterr().err


def test_status_json_on_an_empty_state_dir(capsys):
    assert cli.main(["status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_down_without_names_is_a_clear_error(capsys):
    assert cli.main(["down"]) == 1
    assert "name a VM or pass --all" in capsys.readouterr().err


def test_ssh_to_a_vm_that_does_not_run(capsys):
    assert cli.main(["ssh", "nothere"]) == 1
    assert "not running" in capsys.readouterr().err


def test_reap_with_nothing_recorded(capsys):
    assert cli.main(["reap"]) == 0
    assert "nothing to reap" in capsys.readouterr().err


def test_prune_removes_only_images_of_old_recipes(capsys):
    current = image.image_for(get_distro("debian12")).path
    old = paths.images_dir() / "debian12-0000000000000000"
    for entry in (current, old):
        entry.mkdir(parents=True)
        (entry / "manifest.json").write_text('{"distro": "debian12", "hash": "x"}')
    assert cli.main(["prune", "--dry-run"]) == 0
    assert old.exists()
    assert cli.main(["prune"]) == 0
    assert current.exists() and not old.exists()
    assert str(old) in capsys.readouterr().err
