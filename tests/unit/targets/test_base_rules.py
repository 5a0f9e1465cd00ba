"""The status rule shared by every target, the child environment, and the registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from valet.config_load import SUPPORTED_TARGETS
from valet.errors import ConfigError
from valet.targets import REGISTRY, get_target
from valet.targets.base import State, child_env, decide

from .ctx import make_ctx


@pytest.fixture
def ctx2(tmp_path: Path):
    a = tmp_path / "a-1.0.tar.gz"
    b = tmp_path / "a-1.0-py3-none-any.whl"
    a.write_bytes(b"sdist")
    b.write_bytes(b"wheel")
    return make_ctx(tmp_path, [a, b], name="pypi")


def test_all_there_with_our_digest_is_published_with_receipt(ctx2) -> None:
    names = sorted(ctx2.files)
    remote = {n: ctx2.artifacts[n].sha256 for n in names}
    result = decide(ctx2, names, remote, url="https://x/y")
    assert result.state is State.PUBLISHED
    assert result.receipt is not None
    assert result.receipt.url == "https://x/y"
    assert result.receipt.digests == remote
    assert result.receipt.target == "pypi"


def test_nothing_there_is_absent(ctx2) -> None:
    names = sorted(ctx2.files)
    result = decide(ctx2, names, {})
    assert result.state is State.ABSENT
    assert result.receipt is None
    assert "not published" in result.detail


def test_partial_with_equal_digests_is_absent_and_names_the_missing(ctx2) -> None:
    names = sorted(ctx2.files)
    remote = {names[0]: ctx2.artifacts[names[0]].sha256, names[1]: None}
    result = decide(ctx2, names, remote)
    assert result.state is State.ABSENT
    assert "partly published" in result.detail
    assert names[1] in result.detail and f"missing: {names[1]}" in result.detail


def test_any_other_digest_is_conflict_even_when_the_rest_is_missing(ctx2) -> None:
    names = sorted(ctx2.files)
    result = decide(ctx2, names, {names[0]: "0" * 64})
    assert result.state is State.CONFLICT
    assert names[0] in result.detail


def test_local_digests_in_the_registry_algorithm(ctx2) -> None:
    names = sorted(ctx2.files)
    local = {n: f"sha512-{n}" for n in names}
    assert decide(ctx2, names, dict(local), local).state is State.PUBLISHED
    assert decide(ctx2, names, {names[0]: "sha512-x"}, local).state is State.CONFLICT


def test_no_names_is_never_vacuously_published(ctx2) -> None:
    assert decide(ctx2, [], {}).state is State.ABSENT


def test_child_env_keeps_basics_and_drops_other_secrets() -> None:
    env = {"PATH": "/bin", "HOME": "/h", "NPM_TOKEN": "n", "CARGO_REGISTRY_TOKEN": "c",
           "INPUT_SDK_TOKEN": "s", "GITHUB_TOKEN": "g", "NPM_CONFIG_REGISTRY": "evil"}
    out = child_env(env, {"TWINE_PASSWORD": "p"})
    assert out == {"PATH": "/bin", "HOME": "/h", "TWINE_PASSWORD": "p"}


def test_registry_maps_each_name_to_its_class() -> None:
    assert {"crates", "github", "npm", "pypi", "docker", "gcs", "aws-lambda-layer", "registry",
            "gh-pages", "commit-on-git-repository", "brew", "upm"} <= set(REGISTRY)
    assert sorted(REGISTRY) == sorted(SUPPORTED_TARGETS)  # every configurable kind publishes
    for key, cls in REGISTRY.items():
        assert cls.name == key
        target = get_target(key)
        assert callable(target.preflight) and callable(target.status) and callable(target.publish)
        assert target.credentials


def test_unknown_target_is_a_config_error_listing_the_supported() -> None:
    with pytest.raises(ConfigError) as info:
        get_target("no-such-target")
    for name in REGISTRY:
        assert name in str(info.value.hint)


@pytest.mark.parametrize(("url", "host"), [
    ("https://upload.pypi.org/legacy/", "upload.pypi.org"),
    ("https://Registry.NPMJS.org", "registry.npmjs.org"),
    ("https://crates.io:443", "crates.io"),
    ("http://127.0.0.1:4873/", "127.0.0.1:4873"),
    ("http://localhost:80/x", "localhost"),
    ("https://[::1]:8443/simple/", "[::1]:8443"),
    ("https://user@host.example:8443/", "host.example:8443"),
])
def test_host_of_drops_the_default_port_and_keeps_any_other(url: str, host: str) -> None:
    from valet.targets.base import host_of

    assert host_of(url) == host
