"""crates: publish metadata from the Cargo.toml inside the .crate, body framing, order."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from valet.errors import TargetError
from valet.targets.crates import (
    CratesTarget,
    decode_body,
    encode_body,
    read_crate,
    upload_order,
    version_req,
)

from .ctx import make_crate, make_ctx, write_tar_gz


def test_metadata_matches_what_cargo_sends(tmp_path: Path) -> None:
    meta = read_crate(make_crate(tmp_path))
    assert meta["name"] == "acme-sdk" and meta["vers"] == "1.2.3"
    deps = {d["name"]: d for d in meta["deps"]}
    assert deps["serde"] == {"name": "serde", "version_req": "^1.0", "features": ["derive"],
                             "optional": False, "default_features": True, "target": None,
                             "kind": "normal", "registry": None, "explicit_name_in_toml": None}
    # a renamed dependency: the real package in `name`, the key in explicit_name_in_toml
    assert deps["rand"]["explicit_name_in_toml"] == "rand_core"
    assert deps["rand"]["optional"] is True and deps["rand"]["default_features"] is False
    assert deps["rand"]["version_req"] == ">=0.6, <0.7"
    assert deps["tempfile"]["kind"] == "dev"
    assert deps["cc"]["kind"] == "build" and deps["cc"]["version_req"] == "^1.0.80"
    assert deps["winapi"]["target"] == "cfg(windows)"
    assert meta["features"] == {"default": ["std"], "std": [], "rng": ["dep:rand_core"]}
    assert meta["readme"] == "# acme\nhello\n" and meta["readme_file"] == "README.md"
    assert meta["authors"] == ["Alice <a@example.com>"]
    assert meta["license"] == "MIT" and meta["license_file"] is None
    assert meta["rust_version"] == "1.70"
    assert meta["badges"] == {"maintenance": {"status": "actively-developed"}}
    assert meta["keywords"] == ["test"] and meta["categories"] == ["development-tools"]
    assert meta["links"] is None and meta["homepage"] is None


def test_registry_index_of_a_dependency_is_passed_on(tmp_path: Path) -> None:
    extra = ('[dependencies.inhouse]\nversion = "2"\n'
             'registry-index = "sparse+https://crates.acme.example/index/"\n')
    deps = {d["name"]: d for d in read_crate(make_crate(tmp_path, extra=extra))["deps"]}
    assert deps["inhouse"]["registry"] == "sparse+https://crates.acme.example/index/"


@pytest.mark.parametrize(("raw", "expected"), [
    ("1.0", "^1.0"), ("=1.2.3", "=1.2.3"), ("*", "*"), (">=1, <2", ">=1, <2"), ("~0.3", "~0.3"),
])
def test_version_req_is_rendered_as_cargo_does(raw: str, expected: str) -> None:
    assert version_req(raw) == expected


def test_folder_must_match_name_and_version(tmp_path: Path) -> None:
    bad = write_tar_gz(tmp_path / "x.crate", {
        "other-1.0.0/Cargo.toml": b'[package]\nname = "acme"\nversion = "1.0.0"\n'})
    with pytest.raises(TargetError, match="does not match"):
        read_crate(bad)


def test_a_crate_without_cargo_toml_is_refused(tmp_path: Path) -> None:
    bad = write_tar_gz(tmp_path / "x.crate", {"acme-1.0.0/src/lib.rs": b""})
    with pytest.raises(TargetError, match="Cargo.toml"):
        read_crate(bad)


def test_a_readme_outside_the_crate_is_not_read(tmp_path: Path) -> None:
    crate = write_tar_gz(tmp_path / "acme-1.0.0.crate", {
        "acme-1.0.0/Cargo.toml": b'[package]\nname = "acme"\nversion = "1.0.0"\n'
                                 b'readme = "../../etc/passwd"\n'})
    assert read_crate(crate)["readme"] is None


def test_body_framing_is_two_u32_le_lengths(tmp_path: Path) -> None:
    meta = {"name": "acme", "vers": "1.0.0", "deps": []}
    crate = b"\x1f\x8b crate bytes"
    body = encode_body(meta, crate)
    (n,) = struct.unpack("<I", body[:4])
    assert json.loads(body[4:4 + n]) == meta
    (m,) = struct.unpack("<I", body[4 + n:8 + n])
    assert m == len(crate) and body[8 + n:] == crate
    assert decode_body(body) == (meta, crate)
    with pytest.raises(ValueError):
        decode_body(body + b"x")


def test_workspace_crates_upload_dependencies_first() -> None:
    def meta(name: str, *deps: tuple[str, str]) -> dict:
        return {"name": name, "deps": [{"name": d, "kind": k} for d, k in deps]}

    crates = {
        "app-1.0.0.crate": meta("app", ("acme-core", "normal"), ("acme_macros", "build")),
        "acme-core-1.0.0.crate": meta("acme-core", ("serde", "normal")),
        "acme_macros-1.0.0.crate": meta("acme_macros", ("acme-core", "normal")),
        "testkit-1.0.0.crate": meta("testkit", ("app", "dev")),
    }
    order = upload_order(crates)
    assert order.index("acme-core-1.0.0.crate") < order.index("acme_macros-1.0.0.crate")
    assert order.index("acme_macros-1.0.0.crate") < order.index("app-1.0.0.crate")
    assert sorted(order) == sorted(crates)


def test_preflight_names_the_token_with_yaml(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, [make_crate(tmp_path)], name="crates")
    with pytest.raises(TargetError) as info:
        CratesTarget().preflight(ctx)
    assert "CARGO_REGISTRY_TOKEN" in info.value.message
    assert "${{ secrets.CARGO_REGISTRY_TOKEN }}" in str(info.value.hint)


def test_preflight_reads_every_crate(tmp_path: Path) -> None:
    broken = tmp_path / "broken-1.0.0.crate"
    broken.write_bytes(b"not a tarball")
    ctx = make_ctx(tmp_path, [broken], name="crates", env={"CARGO_REGISTRY_TOKEN": "cio-123"})
    with pytest.raises(TargetError, match="not a readable .crate"):
        CratesTarget().preflight(ctx)


@pytest.mark.parametrize(("filename", "version", "expected"), [
    ("acme-sdk-1.2.3.crate", "1.2.3", ("acme-sdk", "1.2.3")),
    ("acme-sdk-1.2.3-rc.1.crate", "1.2.3-rc.1", ("acme-sdk", "1.2.3-rc.1")),
    ("foo-2-1.0.0.crate", "9.9.9", ("foo-2", "1.0.0")),  # another version: from the name
    ("acme_sdk-0.1.0+meta.crate", "1.0.0", ("acme_sdk", "0.1.0+meta")),
])
def test_crate_and_version_from_the_file_name(filename: str, version: str,
                                              expected: tuple[str, str]) -> None:
    from valet.targets.crates import crate_of

    assert crate_of(filename, version) == expected


def test_destinations_are_the_api_host_and_the_crates(tmp_path: Path) -> None:
    from valet.targets.base import Destination

    ctx = make_ctx(tmp_path, [make_crate(tmp_path)], name="crates")
    ctx.files = {}
    assert CratesTarget().destinations(ctx) == [Destination("host", "crates.io"),
                                                Destination("package", "acme-sdk")]
    local = make_ctx(tmp_path, [make_crate(tmp_path)], name="crates",
                     options={"registry_url": "http://127.0.0.1:9000/"})
    assert CratesTarget().destinations(local)[0] == Destination("host", "127.0.0.1:9000")


def test_preflight_refuses_a_crate_whose_file_name_lies(tmp_path: Path) -> None:
    real = make_crate(tmp_path, name="evil-crate")
    liar = real.rename(real.with_name("acme-sdk-1.2.3.crate"))
    ctx = make_ctx(tmp_path, [liar], name="crates", env={"CARGO_REGISTRY_TOKEN": "cio-123"})
    with pytest.raises(TargetError, match="holds evil-crate 1.2.3, not acme-sdk 1.2.3"):
        CratesTarget().preflight(ctx)
