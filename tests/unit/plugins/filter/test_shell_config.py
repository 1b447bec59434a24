"""Filter kdump.fleet.shell_assignments on Debian's real /etc/default/kexec (fixtures/kexec/SOURCE.md).

Every variant is also sourced by sh itself with kexec-load's own test, ``[ "$LOAD_KEXEC" = "true" ]``, and the
filter must agree; the role's task in reboot.yml is run through ansible-playbook on the same variants.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.kdump.fleet.plugins.filter.shell_config import FilterModule, shell_assignments
from conftest import load_fixture

ROOT = pathlib.Path(__file__).resolve().parents[4]
DEFAULT = load_fixture("kexec", "debian12-kexec-tools_2.0.25.default")
DEBCONF_TRUE = load_fixture("kexec", "debian12-kexec-tools_2.0.25.load-kexec-true")
COLD_REBOOT_TASK = "Make the next reboot a cold one"


def with_line(text, line):
    """The fixture with its LOAD_KEXEC line replaced."""
    assert "LOAD_KEXEC=false\n" in text
    return text.replace("LOAD_KEXEC=false\n", line + "\n")


# name -> (file text, whether kexec-load would kexec on reboot)
VARIANTS = {
    "package default": (DEFAULT, False),
    "debconf default true": (DEBCONF_TRUE, True),
    "double quoted": (with_line(DEFAULT, 'LOAD_KEXEC="true"'), True),
    "single quoted": (with_line(DEFAULT, "LOAD_KEXEC='true'"), True),
    "quoted false": (with_line(DEFAULT, 'LOAD_KEXEC="false"'), False),
    "commented out": (with_line(DEFAULT, "#LOAD_KEXEC=true"), False),
    "commented out with a blank": (with_line(DEFAULT, "# LOAD_KEXEC=true"), False),
    "indented": (with_line(DEFAULT, "   LOAD_KEXEC=true"), True),
    "trailing comment": (with_line(DEFAULT, "LOAD_KEXEC=true # kexec reboots"), True),
    "trailing blanks": (with_line(DEFAULT, "LOAD_KEXEC=true \t"), True),
    "exported": (with_line(DEFAULT, "export LOAD_KEXEC=true"), True),
    "later line wins": (DEFAULT + "LOAD_KEXEC=true\n", True),
    "later false wins": (DEBCONF_TRUE + "LOAD_KEXEC=false\n", False),
    "two on one line": (with_line(DEFAULT, "LOAD_KEXEC=false; LOAD_KEXEC=true"), True),
    "quoted pieces": (with_line(DEFAULT, 'LOAD_KEXEC=tr"ue"'), True),
    "from a variable": (with_line(DEFAULT, 'WANT=true\nLOAD_KEXEC="$WANT"'), True),
    "unset afterwards": (DEBCONF_TRUE + "unset LOAD_KEXEC\n", False),
    "capitalised": (with_line(DEFAULT, "LOAD_KEXEC=True"), False),
    "yes is not true": (with_line(DEFAULT, "LOAD_KEXEC=yes"), False),
    "blank after the =": (with_line(DEFAULT, "LOAD_KEXEC= true"), False),  # runs `true` with an empty LOAD_KEXEC
    "value with a trailing blank": (with_line(DEFAULT, 'LOAD_KEXEC="true "'), False),
    "empty": (with_line(DEFAULT, "LOAD_KEXEC="), False),
    "crlf line end": (with_line(DEFAULT, "LOAD_KEXEC=true\r"), False),
    "no file content": ("", False),
}


def kexecs(text):
    return shell_assignments(text).get("LOAD_KEXEC") == "true"


def test_the_filter_is_registered():
    assert FilterModule().filters() == {"shell_assignments": shell_assignments}


def test_the_package_default_file():
    assert shell_assignments(DEFAULT) == {
        "LOAD_KEXEC": "false",
        "KERNEL_IMAGE": "/vmlinuz",
        "INITRD": "/initrd.img",
        "APPEND": "",
        "USE_GRUB_CONFIG": "false",
    }


def test_the_debconf_default_turns_kexec_reboots_on():
    assert shell_assignments(DEBCONF_TRUE)["LOAD_KEXEC"] == "true"


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_load_kexec(name):
    text, expected = VARIANTS[name]
    assert kexecs(text) is expected


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs sh")
@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_sh_agrees(tmp_path, name):
    """Source the variant as kexec-load does and run its test; sh's answer is the expected one."""
    text, expected = VARIANTS[name]
    config = tmp_path / "kexec"
    config.write_text(text, encoding="utf-8")
    script = '. "$1"; if [ "$LOAD_KEXEC" = "true" ]; then echo kexec; else echo cold; fi'
    done = subprocess.run(["sh", "-c", script, "sh", str(config)], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ("kexec" if expected else "cold")


def test_commands_and_substitutions_run_nothing_and_set_nothing():
    values = shell_assignments("LOAD_KEXEC=$(echo true)\nINITRD=`id`\ntouch /tmp/x\n[ -f /x ] && LOAD_KEXEC=true\n")
    assert values == {"LOAD_KEXEC": "$(echo true)", "INITRD": "`id`"}
    assert not kexecs("[ -f /x ] && LOAD_KEXEC=true\n")


def test_bytes_are_read_as_utf8():
    assert shell_assignments(b"LOAD_KEXEC=true\nAPPEND='console=ttyS0 \xc3\xa9'\n") == {
        "LOAD_KEXEC": "true",
        "APPEND": "console=ttyS0 \u00e9",
    }


@pytest.mark.parametrize("value", [None, 1, ["LOAD_KEXEC=true"], {"LOAD_KEXEC": "true"}])
def test_anything_but_text_is_refused(value):
    with pytest.raises(AnsibleFilterError, match="expects the file's text as a string"):
        shell_assignments(value)


def cold_reboot_task():
    tasks = yaml.safe_load((ROOT / "roles" / "kdump" / "tasks" / "reboot.yml").read_text(encoding="utf-8"))
    block = next(task for task in tasks if "block" in task)
    return next(task for task in block["block"] if task["name"] == COLD_REBOOT_TASK)


def test_the_role_task_uses_the_filter():
    condition = " ".join(cold_reboot_task()["when"])
    assert "kdump.fleet.shell_assignments" in condition
    assert "regex" not in condition


@pytest.mark.skipif(shutil.which("ansible-playbook") is None, reason="needs ansible-playbook")
def test_the_role_task_decides_as_sh_does(tmp_path):
    """The task's own `when` (taken from reboot.yml) on every variant, as slurp would return each file."""
    task = cold_reboot_task()
    names = sorted(VARIANTS)
    slurped = [{"content": base64.b64encode(VARIANTS[name][0].encode()).decode()} for name in names]
    play = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "the cold reboot decision",
                    "ansible.builtin.debug": {"msg": "cold reboot"},
                    "loop": slurped,
                    "vars": dict(task.get("vars", {}), __kdump_kexec_reboot="{{ item }}"),
                    "when": task["when"],
                    "register": "decision",
                },
                {
                    "ansible.builtin.copy": {
                        "dest": str(tmp_path / "out.json"),
                        "content": "{{ decision.results | map(attribute='skipped', default=false) | list | to_json }}",
                        "mode": "0600",
                    },
                },
            ],
        },
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "no file slurped",
                    "ansible.builtin.debug": {"msg": "cold reboot"},
                    "vars": dict(task.get("vars", {}), __kdump_kexec_reboot={"failed": True}),
                    "when": task["when"],
                    "register": "missing",
                },
                {"ansible.builtin.assert": {"that": "missing is skipped"}},
            ],
        },
    ]
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump(play), encoding="utf-8")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".tmp" / "collections"), ANSIBLE_NOCOLOR="1")
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    done = subprocess.run(
        ["ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook)]
        + ["-e", f"ansible_python_interpreter={sys.executable}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    skipped = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert {name: not skip for name, skip in zip(names, skipped, strict=True)} == {
        name: variant[1] for name, variant in VARIANTS.items()
    }
