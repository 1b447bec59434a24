from __future__ import annotations

import pytest
from kdump_lab import recipe

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyMaterialForHashingOnly kdump-lab"
FILES = {"image.py": "a" * 64, "guest/firstboot.sh": "b" * 64}


def inputs(**changes):
    data = recipe.recipe_inputs(recipe.get_distro("debian12"), KEY, files=dict(FILES))
    data.update(changes)
    return data


def test_hash_is_stable_and_ignores_key_order():
    first = inputs()
    reordered = dict(reversed(list(first.items())))
    assert recipe.recipe_hash(first) == recipe.recipe_hash(reordered)
    assert len(recipe.recipe_hash(first)) == 16


@pytest.mark.parametrize(
    "change",
    [
        {"suite": "trixie"},
        {"packages": [*recipe.PACKAGES, "vim"]},
        {"public_key": KEY + "x"},
        {"files": {**FILES, "image.py": "c" * 64}},
        {"disk_size_bytes": recipe.DISK_SIZE_BYTES * 2},
    ],
)
def test_any_recipe_input_changes_the_hash(change):
    assert recipe.recipe_hash(inputs(**change)) != recipe.recipe_hash(inputs())


def test_distros_get_different_hashes():
    d12 = recipe.recipe_inputs(recipe.get_distro("debian12"), KEY, files=FILES)
    d13 = recipe.recipe_inputs(recipe.get_distro("debian13"), KEY, files=FILES)
    assert recipe.recipe_hash(d12) != recipe.recipe_hash(d13)


def test_public_key_whitespace_does_not_matter():
    distro = recipe.get_distro("debian13")
    assert recipe.recipe_inputs(distro, KEY + "\n", files=FILES) == recipe.recipe_inputs(distro, KEY, files=FILES)


def test_shaping_files_cover_the_build_code_and_guest_files():
    files = recipe.shaping_files()
    assert "image.py" in files and "recipe.py" in files
    assert "guest/firstboot.sh" in files
    assert all(len(digest) == 64 for digest in files.values())
    # the CLI only drives the build: editing it must not invalidate images
    assert "cli.py" not in files


def test_no_kdump_package_in_the_image():
    assert not {"kdump-tools", "kexec-tools", "makedumpfile"} & set(recipe.PACKAGES)
    assert recipe.recipe_inputs(recipe.get_distro("debian12"), KEY, files=FILES)["packages"] == sorted(recipe.PACKAGES)


def test_unknown_distro_names_the_known_ones():
    with pytest.raises(ValueError, match="debian12, debian13"):
        recipe.get_distro("ubuntu24")


def test_apt_sources_point_at_deb_debian_org_for_the_suite():
    text = recipe.apt_sources(recipe.get_distro("debian13"))
    assert "URIs: http://deb.debian.org/debian\n" in text
    assert "Suites: trixie trixie-updates\n" in text
    assert "Suites: trixie-security\n" in text
    assert "bookworm" not in text
