"""Tiny real container images for the docker target's tests.

``push_image`` writes an OCI image layout (one image, or a multi-platform index
of several) from a payload string and copies it into a sandbox registry with
skopeo, returning the digest the registry serves it under.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path

from valet.sandbox.cloud import ContainerRegistry

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def _blob(layout: Path, data: bytes) -> tuple[str, int]:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return f"sha256:{digest}", len(data)


def _image(layout: Path, payload: str, arch: str) -> dict[str, object]:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        body = f"{payload} {arch}\n".encode()
        info = tarfile.TarInfo("payload.txt")
        info.size, info.mtime, info.mode = len(body), 1_700_000_000, 0o644
        tar.addfile(info, io.BytesIO(body))
    diff_id = "sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()
    layer, layer_size = _blob(layout, gzip.compress(raw.getvalue(), mtime=0))
    config = json.dumps({"architecture": arch, "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    cfg, cfg_size = _blob(layout, config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg,
                   "size": cfg_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer, "size": layer_size}],
    }).encode()
    digest, size = _blob(layout, manifest)
    return {"mediaType": OCI_MANIFEST, "digest": digest, "size": size,
            "platform": {"architecture": arch, "os": "linux"}}


def push_image(registry: ContainerRegistry, work: Path, ref: str, payload: str, *,
               arches: tuple[str, ...] = ("amd64",)) -> str:
    """Push a new image as ``ref`` (``name:tag`` under the registry); return its digest.
    More than one arch makes a multi-platform index."""
    layout = work / f"layout-{hashlib.sha256((ref + payload).encode()).hexdigest()[:12]}"
    layout.mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    images = [_image(layout, payload, arch) for arch in arches]
    if len(images) == 1:
        top = images[0]
    else:
        index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                            "manifests": images}).encode()
        digest, size = _blob(layout, index)
        top = {"mediaType": OCI_INDEX, "digest": digest, "size": size}
    top = {**top, "annotations": {"org.opencontainers.image.ref.name": "t"}}
    top.pop("platform", None)
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))
    auth = work / f"auth-{registry.host.replace(':', '_')}.json"
    auth.write_text(registry.auth_json())
    subprocess.run(["skopeo", "copy", "--quiet", "--all", "--preserve-digests",
                    "--dest-tls-verify=false", "--dest-authfile", str(auth),
                    f"oci:{layout}:t", f"docker://{registry.host}/{ref}"],
                   check=True, capture_output=True, timeout=120)
    return str(top["digest"])


def inspect(registry: ContainerRegistry, work: Path, ref: str) -> bytes | None:
    """``skopeo inspect --raw`` of ``name:tag`` or ``name@digest``; None if not there."""
    auth = work / f"auth-{registry.host.replace(':', '_')}.json"
    auth.write_text(registry.auth_json())
    proc = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", "--authfile",
                           str(auth), f"docker://{registry.host}/{ref}"],
                          capture_output=True, timeout=120)
    if proc.returncode != 0:
        assert b"manifest unknown" in proc.stderr, proc.stderr
        return None
    return proc.stdout


def delete_manifest(registry: ContainerRegistry, work: Path, name: str, digest: str) -> None:
    """Delete a manifest by digest (what a registry clean-up does to an untagged image)."""
    auth = work / f"auth-{registry.host.replace(':', '_')}.json"
    auth.write_text(registry.auth_json())
    subprocess.run(["skopeo", "delete", "--tls-verify=false", "--authfile", str(auth),
                    f"docker://{registry.host}/{name}@{digest}"],
                   check=True, capture_output=True, timeout=120)
