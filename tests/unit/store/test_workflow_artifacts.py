from __future__ import annotations

import hashlib
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from valet.errors import ArtifactError, IntegrityError, UsageError
from valet.manifest import Artifact, Manifest
from valet.store import open_store, write_verified

from .fakes import FakeResponse


def _art(name: str, data: bytes) -> Artifact:
    return Artifact(name, len(data), hashlib.sha256(data).hexdigest())


class ArtifactsSession:
    headers: dict[str, str] = {}

    def __init__(self, members: dict[str, bytes], artifacts: list[dict[str, Any]]) -> None:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
        self.zip = buf.getvalue()
        self.artifacts = artifacts
        self.downloads: list[str] = []

    def get(self, url: str, params: Any = None, **kw: Any) -> FakeResponse:
        if url.endswith("/actions/artifacts"):
            return FakeResponse(200, {"total_count": len(self.artifacts),
                                      "artifacts": self.artifacts})
        m = re.search(r"/actions/artifacts/(\d+)/zip$", url)
        assert m
        self.downloads.append(m.group(1))
        return FakeResponse(200, raw=self.zip)


def _store(session: ArtifactsSession, name: str | None = "abc123"):  # type: ignore[no-untyped-def]
    return open_store("workflow-artifacts", gh=None, session=session, repo="o/r", tag="1.0.0",
                      version="1.0.0", artifact_name=name)


ARTS = [
    {"id": 7, "name": "abc123", "expired": False, "created_at": "2025-01-01T00:00:00Z",
     "size_in_bytes": 10},
    {"id": 9, "name": "abc123", "expired": False, "created_at": "2025-01-02T00:00:00Z",
     "size_in_bytes": 10},
    {"id": 11, "name": "abc123", "expired": True, "created_at": "2025-01-03T00:00:00Z",
     "size_in_bytes": 10},
]


def test_newest_unexpired_artifact_is_used_and_members_verified(tmp_path: Path) -> None:
    s = ArtifactsSession({"dist/pkg.tgz": b"tgz-bytes", "pkg.whl": b"whl"}, ARTS)
    store = _store(s)
    assert set(store.list()) == {"pkg.tgz", "pkg.whl"}
    got = store.download_verified([_art("pkg.tgz", b"tgz-bytes")], tmp_path)
    assert got["pkg.tgz"].read_bytes() == b"tgz-bytes"
    assert s.downloads == ["9"]  # downloaded once, the newest unexpired one


def test_member_with_other_bytes_is_refused(tmp_path: Path) -> None:
    s = ArtifactsSession({"pkg.tgz": b"evil-byte"}, ARTS)
    with pytest.raises(IntegrityError, match="pkg.tgz: sha256"):
        _store(s).download_verified([_art("pkg.tgz", b"tgz-bytes")], tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_missing_member_and_missing_artifact(tmp_path: Path) -> None:
    s = ArtifactsSession({"pkg.tgz": b"x"}, ARTS)
    with pytest.raises(IntegrityError, match="lacks other.whl"):
        _store(s).download_verified([_art("other.whl", b"x")], tmp_path)
    with pytest.raises(ArtifactError, match="no unexpired workflow artifact named 'abc123'"):
        _store(ArtifactsSession({}, ARTS[2:])).list()


def test_read_only_and_needs_a_name(tmp_path: Path) -> None:
    s = ArtifactsSession({}, ARTS)
    with pytest.raises(UsageError, match="read-only"):
        _store(s).upload(Manifest("1.0.0", ()), {})
    with pytest.raises(UsageError, match="needs an artifact name"):
        _store(s, name=None)


def test_write_verified_stops_at_the_approved_size(tmp_path: Path) -> None:
    def endless():  # type: ignore[no-untyped-def]
        while True:
            yield b"A" * 1024

    with pytest.raises(IntegrityError, match="more than the approved 2048 bytes"):
        write_verified(endless(), _art("x.bin", b"A" * 2048), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_write_verified_short_read(tmp_path: Path) -> None:
    with pytest.raises(IntegrityError, match="size 3 differs from the approved 4"):
        write_verified([b"abc"], _art("x.bin", b"abcd"), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_unknown_store_kind() -> None:
    with pytest.raises(UsageError, match="unknown artifact store 's3'"):
        open_store("s3", gh=None, session=None, repo="o/r", tag="1.0.0", version="1.0.0")
