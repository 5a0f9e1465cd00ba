"""Each target gets a working directory of its own, whatever its key holds."""

from __future__ import annotations

import re

from valet.publish.apply import safe_dir

KEYS = ["pypi", "npm[@a/b]", "npm[a_b]", "npm[a/b]", "npm[a.b]", "docker[Docker Hub (release)]",
        "docker[Docker_Hub_(release)]", "docker[Docker Hub (latest)]", "x[" + "a" * 200 + "]",
        "x[" + "a" * 199 + "b]", "x[..]", "x[../..]"]


def test_every_key_has_its_own_plain_directory_name() -> None:
    names = [safe_dir(k) for k in KEYS]
    assert len(set(names)) == len(KEYS)
    for name in names:
        assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}-[0-9a-f]{12}", name)
        assert name not in (".", "..") and "/" not in name


def test_the_name_is_stable_and_readable() -> None:
    assert safe_dir("docker[Docker Hub (release)]") == safe_dir("docker[Docker Hub (release)]")
    assert safe_dir("docker[Docker Hub (release)]").startswith("docker_Docker_Hub__release__-")
