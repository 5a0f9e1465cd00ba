"""The artifact manifest: name, size and sha256 of every built file.

The manifest is what a release manager approves; publish refuses any byte that
differs from it. Digests are computed by streaming in chunks so memory stays
flat whatever the artifact size.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from valet.errors import ArtifactError

CHUNK = 1024 * 1024
MANIFEST_NAME = "manifest.json"
SCHEMA_VERSION = 1
# A file name we are willing to upload, download or print: no path parts, no
# control characters, nothing a shell or markdown would reinterpret.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+\-]{0,254}$")
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Artifact:
    name: str
    size: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def validate_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or name in (".", ".."):
        raise ArtifactError(
            f"artifact name {name!r} is not allowed",
            hint="artifact file names may hold letters, digits, '.', '_', '+' and '-' only",
        )
    return name


def sha256_file(path: Path, chunk: int = CHUNK) -> tuple[int, str]:
    """Return (size, sha256 hex) of a file, reading it in chunks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk)
            if not block:
                break
            size += len(block)
            digest.update(block)
    return size, digest.hexdigest()


def hash_stream(blocks: Iterable[bytes]) -> Iterator[tuple[bytes, int, str]]:
    """Yield each block with running size and digest (for download-and-verify)."""
    digest = hashlib.sha256()
    size = 0
    for block in blocks:
        size += len(block)
        digest.update(block)
        yield block, size, digest.hexdigest()


def artifact_for(path: Path) -> Artifact:
    size, sha = sha256_file(path)
    return Artifact(name=validate_name(path.name), size=size, sha256=sha)


@dataclass(frozen=True)
class Manifest:
    version: str
    artifacts: tuple[Artifact, ...]
    repo: str | None = None
    sha: str | None = None

    def by_name(self) -> dict[str, Artifact]:
        return {a.name: a for a in self.artifacts}

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema": SCHEMA_VERSION,
            "version": self.version,
            "files": [a.to_json() for a in self.artifacts],
        }
        if self.repo:
            data["repo"] = self.repo
        if self.sha:
            data["sha"] = self.sha
        return data

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n"


def build_manifest(version: str, paths: Iterable[Path], *, repo: str | None = None,
                   sha: str | None = None) -> Manifest:
    arts = sorted((artifact_for(p) for p in paths), key=lambda a: a.name)
    names = [a.name for a in arts]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ArtifactError(
            f"two artifacts share the name(s) {', '.join(dupes)}",
            hint="artifact names must be unique: adjust the build output or the artifact globs",
        )
    if MANIFEST_NAME in names:
        raise ArtifactError(f"an artifact may not be named {MANIFEST_NAME}")
    return Manifest(version=version, artifacts=tuple(arts), repo=repo, sha=sha)


def parse_manifest(data: Any) -> Manifest:
    """Validate a decoded manifest.json; any defect is an ArtifactError."""
    from valet.schemas import validate

    validate("manifest", data, error=ArtifactError, what="manifest.json")
    arts = []
    for item in data["files"]:
        validate_name(item["name"])
        arts.append(Artifact(name=item["name"], size=int(item["size"]), sha256=item["sha256"]))
    names = [a.name for a in arts]
    if len(set(names)) != len(names):
        raise ArtifactError("manifest.json lists a file twice")
    return Manifest(version=data["version"], artifacts=tuple(arts), repo=data.get("repo"),
                    sha=data.get("sha"))


def loads_manifest(text: str | bytes) -> Manifest:
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"manifest.json is not valid JSON: {exc}") from None
    return parse_manifest(data)
