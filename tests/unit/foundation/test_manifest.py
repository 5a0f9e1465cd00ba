"""The manifest: build/parse round trip, schema refusals, streaming digests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from valet import manifest
from valet.errors import ArtifactError
from valet.manifest import (
    Artifact,
    build_manifest,
    hash_stream,
    loads_manifest,
    parse_manifest,
    sha256_file,
    validate_name,
)


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    return [
        _write(tmp_path / "dist" / "pkg-1.0.0.tar.gz", b"source" * 1000),
        _write(tmp_path / "dist" / "pkg-1.0.0-py3-none-any.whl", b"wheel"),
        _write(tmp_path / "dist" / "empty.txt", b""),
    ]


def test_build_then_parse_round_trips(files: list[Path]) -> None:
    sha = "a" * 40
    built = build_manifest("1.0.0", files, repo="acme/pkg", sha=sha)
    assert [a.name for a in built.artifacts] == sorted(p.name for p in files)
    whl = built.by_name()["pkg-1.0.0-py3-none-any.whl"]
    assert whl == Artifact("pkg-1.0.0-py3-none-any.whl", 5, hashlib.sha256(b"wheel").hexdigest())
    assert built.by_name()["empty.txt"].size == 0
    assert loads_manifest(built.dumps()) == built
    assert json.loads(built.dumps())["schema"] == 1


def test_optional_fields_are_omitted_and_still_round_trip(files: list[Path]) -> None:
    built = build_manifest("2.0.0-rc.1", files)
    data = built.to_json()
    assert "repo" not in data and "sha" not in data
    assert parse_manifest(data) == built


def test_duplicate_names_in_build_are_refused(tmp_path: Path) -> None:
    a = _write(tmp_path / "a" / "pkg.tgz", b"1")
    b = _write(tmp_path / "b" / "pkg.tgz", b"2")
    with pytest.raises(ArtifactError, match="pkg.tgz") as info:
        build_manifest("1.0.0", [a, b])
    assert info.value.hint


def test_an_artifact_named_like_the_manifest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="manifest.json"):
        build_manifest("1.0.0", [_write(tmp_path / "manifest.json", b"{}")])


def _valid() -> dict[str, Any]:
    return {"schema": 1, "version": "1.0.0",
            "files": [{"name": "pkg.tgz", "size": 3, "sha256": "0" * 64}]}


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda d: d["files"][0].update(name="../etc/passwd"), id="dotdot-path"),
        pytest.param(lambda d: d["files"][0].update(name="dir/pkg.tgz"), id="slash"),
        pytest.param(lambda d: d["files"][0].update(name=".."), id="dotdot"),
        pytest.param(lambda d: d["files"][0].update(name=".hidden"), id="leading-dot"),
        pytest.param(lambda d: d["files"][0].update(name="a b"), id="space"),
        pytest.param(lambda d: d["files"][0].update(name="pkg\n.tgz"), id="newline"),
        pytest.param(lambda d: d["files"][0].update(sha256="0" * 63), id="short-sha"),
        pytest.param(lambda d: d["files"][0].update(sha256="A" * 64), id="upper-sha"),
        pytest.param(lambda d: d["files"][0].update(sha256="g" * 64), id="non-hex-sha"),
        pytest.param(lambda d: d["files"][0].update(size=-1), id="negative-size"),
        pytest.param(lambda d: d["files"][0].update(size="3"), id="string-size"),
        pytest.param(lambda d: d["files"][0].update(extra=1), id="unknown-file-field"),
        pytest.param(lambda d: d.update(schema=2), id="schema-version"),
        pytest.param(lambda d: d.update(sha="abc"), id="bad-commit-sha"),
        pytest.param(lambda d: d.update(repo="a/b/c"), id="bad-repo"),
        pytest.param(lambda d: d.pop("version"), id="no-version"),
        pytest.param(lambda d: d["files"].append(dict(d["files"][0])), id="duplicate"),
    ],
)
def test_parse_refuses_bad_manifests(mutate: Any) -> None:
    data = _valid()
    assert parse_manifest(data).artifacts[0].name == "pkg.tgz"  # the baseline is fine
    mutate(data)
    with pytest.raises(ArtifactError):
        parse_manifest(data)


def test_schema_error_names_the_field() -> None:
    data = _valid()
    data["files"][0]["sha256"] = "nope"
    with pytest.raises(ArtifactError, match=r"files\[0\]\.sha256: .nope. does not have"):
        parse_manifest(data)


@pytest.mark.parametrize("text", ["", "{", b"\xff\xfe", "[]", "null"])
def test_loads_refuses_non_manifests(text: str | bytes) -> None:
    with pytest.raises(ArtifactError):
        loads_manifest(text)


@pytest.mark.parametrize("name", ["pkg-1.0.0.tar.gz", "a", "x_y+z-1.whl", "A..b"])
def test_validate_name_accepts_plain_file_names(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["", ".", "..", "../x", "a/b", "a\\b", "-rf", "a" * 256,
                                  "caf\u00e9.tgz", "x;rm", "`x`"])
def test_validate_name_refuses(name: str) -> None:
    with pytest.raises(ArtifactError):
        validate_name(name)


def test_hash_stream_equals_sha256_file(tmp_path: Path) -> None:
    data = bytes(range(256)) * 41 + b"tail"
    path = _write(tmp_path / "blob.bin", data)
    blocks = [data[i:i + 7] for i in range(0, len(data), 7)]
    seen = list(hash_stream(blocks))
    assert [b for b, _, _ in seen] == blocks
    assert [s for _, s, _ in seen] == [min(len(data), 7 * (i + 1)) for i in range(len(blocks))]
    assert (seen[-1][1], seen[-1][2]) == sha256_file(path)
    assert sha256_file(path) == (len(data), hashlib.sha256(data).hexdigest())


def test_sha256_file_reads_in_bounded_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"x" * 1000
    path = _write(tmp_path / "blob.bin", data)
    reads: list[int] = []
    real_open = open

    class Spy:
        def __init__(self, fh: Any) -> None:
            self.fh = fh

        def __enter__(self) -> Spy:
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

        def read(self, n: int = -1) -> bytes:
            reads.append(n)
            return self.fh.read(n)  # type: ignore[no-any-return]

    monkeypatch.setattr(manifest, "open", lambda p, mode="r": Spy(real_open(p, mode)),
                        raising=False)
    assert sha256_file(path, chunk=64) == (1000, hashlib.sha256(data).hexdigest())
    assert reads and all(0 < n <= 64 for n in reads)
    assert len(reads) == 1000 // 64 + 2  # full chunks, the remainder, then EOF
