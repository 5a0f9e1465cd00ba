"""npm: package facts from the tarball, dist-tags, npmrc, digests, publishConfig, preflight."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from pathlib import Path

import pytest

from valet.errors import TargetError
from valet.targets.npm import (
    NpmTarget,
    check_publish_config,
    dist_tag,
    local_digests,
    read_package,
    registry_digest,
    render_npmrc,
)

from .ctx import make_ctx, make_tgz, write_tar_gz


def test_name_and_version_come_from_package_json_inside(tmp_path: Path) -> None:
    pkg = read_package(make_tgz(tmp_path, "@acme/sdk", "1.2.3-rc.1",
                                extra={"publishConfig": {"access": "public"}}))
    assert (pkg.name, pkg.version) == ("@acme/sdk", "1.2.3-rc.1")
    assert pkg.publish_config == {"access": "public"}


def test_a_tarball_without_package_json_is_refused(tmp_path: Path) -> None:
    bad = write_tar_gz(tmp_path / "x.tgz", {"package/index.js": b"1"})
    with pytest.raises(TargetError, match="no package/package.json"):
        read_package(bad)


@pytest.mark.parametrize(("name", "version"), [
    ("Acme", "1.0.0"), ("@acme/../x", "1.0.0"), ("acme", "1.0"), ("acme", "v1.0.0"),
])
def test_invalid_names_and_versions_are_refused(tmp_path: Path, name: str, version: str) -> None:
    with pytest.raises(TargetError):
        read_package(write_tar_gz(tmp_path / "p.tgz", {
            "package/package.json": f'{{"name": "{name}", "version": "{version}"}}'.encode()}))


def test_not_a_tarball_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "x.tgz"
    bad.write_bytes(b"not gzip")
    with pytest.raises(TargetError, match="not a readable npm tarball"):
        read_package(bad)


@pytest.mark.parametrize(("version", "latest", "kw", "expected"), [
    ("1.2.3", None, {}, "latest"),
    ("1.2.3", "1.2.2", {}, "latest"),
    ("2.0.0", "1.9.9", {}, "latest"),
    ("1.2.3-rc.1", "1.0.0", {}, "next"),
    ("3.0.0-beta.1", None, {"prerelease": "beta"}, "beta"),
    ("1.4.1", "2.1.0", {}, "v1-latest"),
    ("2.0.5", "2.1.0", {}, "v2.0-latest"),
    ("1.0.0", "1.0.0-rc.1", {}, "latest"),
    ("1.2.3", "1.9.0", {"tag": "legacy"}, "legacy"),
    ("1.2.3", "not-semver", {}, "latest"),
])
def test_dist_tag(version: str, latest: str | None, kw: dict[str, str], expected: str) -> None:
    assert dist_tag(version, latest, **kw) == expected


def test_npmrc_names_the_token_variable_never_the_token(tmp_path: Path) -> None:
    text = render_npmrc("http://127.0.0.1:4873/sub/", cache=tmp_path / "c")
    assert "//127.0.0.1:4873/sub/:_authToken=${NPM_TOKEN}\n" in text
    assert "ignore-scripts=true" in text
    assert "registry=http://127.0.0.1:4873/sub/" in text


def test_npmrc_file_is_private_and_outside_the_workspace(tmp_path: Path) -> None:
    tgz = make_tgz(tmp_path)
    ctx = make_ctx(tmp_path, [tgz], name="npm", env={"NPM_TOKEN": "secret-token-1"})
    npmrc, globalrc = NpmTarget()._write_npmrc(ctx, "https://registry.npmjs.org/")
    assert npmrc.parent == ctx.workdir
    assert stat.S_IMODE(os.stat(npmrc).st_mode) == 0o600
    assert "secret-token-1" not in npmrc.read_text()
    assert globalrc.read_text() == ""


def test_registry_digest_prefers_sha512_integrity(tmp_path: Path) -> None:
    tgz = make_tgz(tmp_path)
    mine = local_digests(tgz)
    data = tgz.read_bytes()
    assert mine.integrity == "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    assert mine.shasum == hashlib.sha1(data).hexdigest()
    packument = {"versions": {"1.2.3": {"dist": {"integrity": mine.integrity,
                                                  "shasum": "0" * 40}}}}
    assert registry_digest(packument, "1.2.3", mine) == (mine.integrity, mine.integrity)
    only_sha1 = {"versions": {"1.2.3": {"dist": {"shasum": mine.shasum.upper()}}}}
    assert registry_digest(only_sha1, "1.2.3", mine) == (mine.shasum, mine.shasum)
    assert registry_digest(packument, "9.9.9", mine) == (None, mine.integrity)
    assert registry_digest(None, "1.2.3", mine) == (None, mine.integrity)
    nothing = {"versions": {"1.2.3": {"dist": {}}}}
    assert registry_digest(nothing, "1.2.3", mine)[0] == "unknown"


def test_publish_config_may_not_redirect_or_pick_the_tag(tmp_path: Path) -> None:
    pkg = read_package(make_tgz(tmp_path, extra={"publishConfig": {"registry": "https://evil/"}}))
    with pytest.raises(TargetError, match="publishConfig.registry"):
        check_publish_config(pkg, "https://registry.npmjs.org/", "x.tgz")
    same = read_package(make_tgz(tmp_path, extra={"publishConfig": {
        "registry": "https://registry.npmjs.org"}}))
    check_publish_config(same, "https://registry.npmjs.org/", "x.tgz")
    tagged = read_package(make_tgz(tmp_path, extra={"publishConfig": {"tag": "latest"}}))
    with pytest.raises(TargetError, match="publishConfig.tag"):
        check_publish_config(tagged, "https://registry.npmjs.org/", "x.tgz")


def test_preflight_names_npm_token_with_yaml(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, [make_tgz(tmp_path)], name="npm")
    with pytest.raises(TargetError) as info:
        NpmTarget().preflight(ctx)
    assert "NPM_TOKEN" in info.value.message
    assert "${{ secrets.NPM_TOKEN }}" in str(info.value.hint)


def test_preflight_needs_npm_on_path(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, [make_tgz(tmp_path)], name="npm", env={"NPM_TOKEN": "tok-12345"})
    ctx.env = {"NPM_TOKEN": "tok-12345", "PATH": str(tmp_path / "empty")}  # type: ignore[misc]
    with pytest.raises(TargetError, match="npm` is not on PATH"):
        NpmTarget().preflight(ctx)


def test_preflight_checks_access_and_tags(tmp_path: Path) -> None:
    tgz = make_tgz(tmp_path)
    bad_access = make_ctx(tmp_path, [tgz], name="npm", env={"NPM_TOKEN": "tok-12345"},
                          options={"access": "everyone"})
    with pytest.raises(TargetError, match="access"):
        NpmTarget().preflight(bad_access)
    pre = make_tgz(tmp_path, version="2.0.0-rc.1")
    latest_pre = make_ctx(tmp_path, [pre], name="npm", env={"NPM_TOKEN": "tok-12345"},
                          options={"prerelease_tag": "latest"})
    with pytest.raises(TargetError, match="prerelease_tag"):
        NpmTarget().preflight(latest_pre)
    range_tag = make_ctx(tmp_path, [tgz], name="npm", env={"NPM_TOKEN": "tok-12345"},
                         options={"tag": "v1"})
    with pytest.raises(TargetError, match="dist-tag"):
        NpmTarget().preflight(range_tag)


def test_preflight_with_no_tarball(tmp_path: Path) -> None:
    whl = tmp_path / "a-1.0-py3-none-any.whl"
    whl.write_bytes(b"w")
    ctx = make_ctx(tmp_path, [whl], name="npm", env={"NPM_TOKEN": "tok-12345"})
    with pytest.raises(TargetError, match="no npm tarball"):
        NpmTarget().preflight(ctx)


def test_destinations_name_the_registry_host_and_each_package(tmp_path: Path) -> None:
    from valet.targets.base import Destination

    plain = make_tgz(tmp_path, "acme-sdk")
    ctx = make_ctx(tmp_path, [plain], name="npm")
    ctx.files = {}
    assert NpmTarget().destinations(ctx) == [Destination("host", "registry.npmjs.org"),
                                             Destination("package", "acme-sdk")]
    scoped = make_tgz(tmp_path / "s", "@acme/sdk")
    by_id = make_ctx(tmp_path / "s", [scoped], name="npm", target_id="@acme/sdk",
                     env={"NPM_REGISTRY": "http://127.0.0.1:4873"})
    assert NpmTarget().destinations(by_id) == [Destination("host", "127.0.0.1:4873"),
                                               Destination("package", "@acme/sdk")]
    # an id that is not the package of this file name declares the file name's package
    other = make_ctx(tmp_path / "s", [scoped], name="npm", target_id="@acme/other")
    assert Destination("package", "acme-sdk") in NpmTarget().destinations(other)


def test_preflight_holds_the_tarball_to_the_declared_package(tmp_path: Path) -> None:
    env = {"NPM_TOKEN": "tok-12345"}
    scoped = make_tgz(tmp_path, "@acme/sdk")
    ctx = make_ctx(tmp_path, [scoped], name="npm", env=env)
    with pytest.raises(TargetError) as info:
        NpmTarget().preflight(ctx)
    assert "'@acme/sdk'" in info.value.message and 'id: "@acme/sdk"' in str(info.value.hint)
    NpmTarget().preflight(make_ctx(tmp_path, [scoped], name="npm", env=env,
                                   target_id="@acme/sdk"))
    # a file name that lies about the package inside
    liar = make_tgz(tmp_path / "l", "evil-pkg")
    renamed = liar.with_name("acme-sdk-1.2.3.tgz")
    liar.rename(renamed)
    with pytest.raises(TargetError, match="holds the package 'evil-pkg', not 'acme-sdk'"):
        NpmTarget().preflight(make_ctx(tmp_path / "l", [renamed], name="npm", env=env))
