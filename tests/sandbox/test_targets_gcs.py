"""gcs target against fake-gcs-server, read back with the official google-cloud-storage client."""

from __future__ import annotations

import base64
import hashlib
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.unit.targets.ctx import make_ctx
from valet.errors import ConflictError
from valet.targets.base import State, TargetContext
from valet.targets.gcs import GcsTarget

pytestmark = pytest.mark.sandbox

PATHS = [{"path": "/sdk/{{version}}/", "metadata": {"cacheControl": "public, max-age=2592000"}},
         {"path": "/sdk/latest/", "metadata": {"cacheControl": "public, max-age=300"}}]


def _bucket(server: Any) -> str:
    name = f"valet-{uuid.uuid4().hex[:10]}"
    server.client().create_bucket(name)
    return name


def _files(tmp_path: Path, payload: str) -> list[Path]:
    d = tmp_path / f"files-{payload}"
    d.mkdir(parents=True)
    out = []
    for name, body in (("sdk.min.js", f"console.log({payload!r});"), ("sdk-Linux-x86_64", payload * 50)):
        (d / name).write_text(body)
        out.append(d / name)
    return out


def _ctx(tmp_path: Path, server: Any, bucket: str, files: list[Path], version: str = "1.2.3",
         paths: list[dict[str, Any]] | None = None) -> TargetContext:
    return make_ctx(tmp_path, files, name="gcs", version=version, env=server.env(),
                    options={"bucket": bucket, "paths": paths or PATHS})


def test_uploads_every_file_to_every_path_with_its_metadata(tmp_path: Path, gcs_server: Any) -> None:
    bucket = _bucket(gcs_server)
    files = _files(tmp_path, "one")
    ctx = _ctx(tmp_path, gcs_server, bucket, files)
    target = GcsTarget()
    target.preflight(ctx)
    assert target.status(ctx).state is State.ABSENT
    receipt = target.publish(ctx)
    assert receipt.detail == f"uploaded 4 object(s): 4 object(s) in gs://{bucket}"

    # Read back with the service's own client: bytes, checksums and metadata as approved.
    got = gcs_server.client().bucket(bucket)
    for f in files:
        for prefix, cache in (("sdk/1.2.3/", "public, max-age=2592000"),
                              ("sdk/latest/", "public, max-age=300")):
            blob = got.get_blob(prefix + f.name)
            assert blob is not None, prefix + f.name
            data = f.read_bytes()
            assert blob.md5_hash == base64.b64encode(hashlib.md5(data).digest()).decode()
            assert blob.download_as_bytes() == data
            assert blob.cache_control == cache
            assert blob.content_encoding is None
    assert got.get_blob("sdk/1.2.3/sdk.min.js").content_type in ("text/javascript",
                                                                 "application/javascript")

    again = target.status(ctx)
    assert again.state is State.PUBLISHED
    generations = {b.name: b.generation for b in got.list_blobs()}
    assert target.publish(ctx).detail.startswith("already there")  # a second run uploads nothing
    assert {b.name: b.generation for b in got.list_blobs()} == generations


def test_other_content_under_the_version_path_is_a_conflict(tmp_path: Path, gcs_server: Any) -> None:
    bucket = _bucket(gcs_server)
    GcsTarget().publish(_ctx(tmp_path / "a", gcs_server, bucket, _files(tmp_path / "a", "one")))
    ctx = _ctx(tmp_path / "b", gcs_server, bucket, _files(tmp_path / "b", "two"))
    status = GcsTarget().status(ctx)
    assert status.state is State.CONFLICT and f"gs://{bucket}/sdk/1.2.3/" in status.detail
    with pytest.raises(ConflictError):
        GcsTarget().publish(ctx)
    kept = gcs_server.client().bucket(bucket).get_blob("sdk/1.2.3/sdk.min.js")
    assert kept.download_as_bytes() == b"console.log('one');"


def test_the_latest_path_is_replaced_by_the_next_release(tmp_path: Path, gcs_server: Any) -> None:
    bucket = _bucket(gcs_server)
    GcsTarget().publish(_ctx(tmp_path / "a", gcs_server, bucket, _files(tmp_path / "a", "one")))
    ctx = _ctx(tmp_path / "b", gcs_server, bucket, _files(tmp_path / "b", "two"), version="1.3.0")
    status = GcsTarget().status(ctx)
    assert status.state is State.ABSENT and "2 replacing" in status.detail
    GcsTarget().publish(ctx)
    got = gcs_server.client().bucket(bucket)
    assert got.get_blob("sdk/latest/sdk.min.js").download_as_bytes() == b"console.log('two');"
    assert got.get_blob("sdk/1.2.3/sdk.min.js").download_as_bytes() == b"console.log('one');"


def test_an_interrupted_upload_is_finished(tmp_path: Path, gcs_server: Any) -> None:
    bucket = _bucket(gcs_server)
    files = _files(tmp_path, "one")
    first = _ctx(tmp_path / "a", gcs_server, bucket, files[:1])
    GcsTarget().publish(first)
    ctx = _ctx(tmp_path, gcs_server, bucket, files)
    assert GcsTarget().status(ctx).detail.startswith("2 of 4 object(s) to upload")
    assert GcsTarget().publish(ctx).detail.startswith("uploaded 2 object(s)")
