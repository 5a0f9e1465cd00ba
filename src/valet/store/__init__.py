"""The artifact store: where the request side leaves the built files and publish fetches them.

Two kinds behind one interface:

- ``github-release`` (the default): assets of a DRAFT release on the SDK repo,
  named by the release tag. `valet request` uploads; publish downloads; the `github`
  target later publishes that same draft.
- ``workflow-artifacts``: read-only; the zip a workflow uploaded with
  actions/upload-artifact under a known name (craft's convention).

Every download goes through `download_verified`: each file is streamed through
sha256 into a temporary name and renamed only after its size and digest
match the approved manifest, so a failure never leaves a half-written file
that looks complete.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from valet.errors import IntegrityError, UsageError
from valet.manifest import Artifact, Manifest, validate_name
from valet.progress import Progress

STORE_KINDS = ("github-release", "workflow-artifacts")
CHUNK = 1024 * 1024

ProgressFactory = Callable[[str, "int | None"], Progress]
# Called as each file is verified (from the thread that downloaded it): name, local path.
OnFile = Callable[[str, Path], None]
DOWNLOADS_AT_ONCE = 4


@dataclass(frozen=True)
class RemoteFile:
    name: str
    size: int
    digest: str | None  # sha256 hex when the store reports one


@dataclass(frozen=True)
class StoreRef:
    kind: str
    tag: str
    release_id: int | None = None
    url: str | None = None


class ArtifactStore(Protocol):
    kind: str

    def upload(self, manifest: Manifest, files: dict[str, Path], *,
               notes: str | None = None) -> StoreRef:
        """Upload every file of the manifest plus manifest.json; idempotent (the request
        side, never the build)."""

    def list(self) -> dict[str, RemoteFile]:
        """name -> what the store holds."""

    def download_verified(self, expected: Sequence[Artifact], dest: Path, *,
                          progress: ProgressFactory | None = None,
                          on_file: OnFile | None = None) -> dict[str, Path]:
        """Download the expected files into dest, verified; name -> path. ``on_file`` hears
        of each file as soon as it is verified (a target may start its checks)."""

    def delete(self) -> None:
        """Drop what the store holds for this release (a draft release, for instance)."""


def open_store(kind: str, *, gh: Any, session: Any, repo: str, tag: str, version: str,
               release_id: int | None = None, artifact_name: str | None = None,
               index: Any = None, sha: str | None = None) -> ArtifactStore:
    from valet.progress import default_factory
    from valet.refs import validate_repo, validate_tag

    validate_repo(repo)
    validate_tag(tag)
    if kind == "github-release":
        from valet.store.github_release import GitHubReleaseStore

        return GitHubReleaseStore(gh=gh, session=session, repo=repo, tag=tag, version=version,
                                  release_id=release_id, progress=default_factory, index=index,
                                  sha=sha)
    if kind == "workflow-artifacts":
        from valet.store.workflow_artifacts import WorkflowArtifactsStore

        return WorkflowArtifactsStore(session=session, repo=repo, tag=tag, version=version,
                                      artifact_name=artifact_name, progress=default_factory)
    raise UsageError(
        f"unknown artifact store {kind!r}",
        hint=f"use one of: {', '.join(STORE_KINDS)}",
    )


# -- shared helpers ---------------------------------------------------------


def expected_by_name(expected: Iterable[Artifact]) -> dict[str, Artifact]:
    out: dict[str, Artifact] = {}
    for art in expected:
        validate_name(art.name)
        if art.name in out:
            raise IntegrityError(f"{art.name} is listed twice in the approved artifacts")
        out[art.name] = art
    return out


def write_verified(blocks: Iterable[bytes], art: Artifact, dest: Path, *,
                   progress: Progress | None = None) -> Path:
    """Stream blocks into dest/<name> through sha256; rename into place only if they match.

    Reading stops as soon as more bytes arrive than approved, so an oversized
    or endless answer cannot fill the disk.
    """
    name = validate_name(art.name)
    dest.mkdir(parents=True, exist_ok=True)
    final = dest / name
    fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=dest)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as fh:
            for block in blocks:
                if not block:
                    continue
                size += len(block)
                if size > art.size:
                    raise IntegrityError(
                        f"{name}: the store sent more than the approved {art.size} bytes",
                        hint="the stored file differs from the approved one: re-run prepare "
                        "and request approval again",
                    )
                digest.update(block)
                fh.write(block)
                if progress is not None:
                    progress.update(len(block))
            fh.flush()
            os.fsync(fh.fileno())
        if size != art.size:
            raise IntegrityError(
                f"{name}: size {size} differs from the approved {art.size} bytes",
                hint="the stored file is truncated or replaced: re-run prepare and request "
                "approval again",
            )
        if digest.hexdigest() != art.sha256:
            raise IntegrityError(
                f"{name}: sha256 {digest.hexdigest()} differs from the approved {art.sha256}",
                hint="the stored file was changed after approval: re-run prepare and request "
                "approval again",
            )
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if progress is not None:
        progress.done()
    return final


def download_all(jobs: Sequence[tuple[Artifact, Callable[[], Iterable[bytes]]]], dest: Path, *,
                 progress: ProgressFactory | None = None, on_file: OnFile | None = None,
                 at_once: int = DOWNLOADS_AT_ONCE) -> dict[str, Path]:
    """Stream each (artifact, blocks) through ``write_verified``, ``at_once`` at a time.

    The first failure stops what has not started and is raised; a file is only ever
    renamed into place verified, so what was already written stays trustworthy."""
    from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

    def one(art: Artifact, blocks: Callable[[], Iterable[bytes]]) -> Path:
        path = write_verified(blocks(), art, dest,
                              progress=progress(f"download {art.name}", art.size)
                              if progress else None)
        if on_file is not None:
            on_file(art.name, path)
        return path

    out: dict[str, Path] = {}
    if not jobs:
        return out
    with ThreadPoolExecutor(max_workers=max(1, min(at_once, len(jobs))),
                            thread_name_prefix="download") as pool:
        futures = {pool.submit(one, art, blocks): art.name for art, blocks in jobs}
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for fut in done:
            if fut.exception() is not None:
                for other in futures:
                    other.cancel()
                raise fut.exception()  # type: ignore[misc]
        for fut, name in futures.items():
            out[name] = fut.result()
    return {a.name: out[a.name] for a, _ in jobs}


def parse_digest(value: object) -> str | None:
    """GitHub reports asset digests as 'sha256:<hex>'; anything else is unknown."""
    if isinstance(value, str) and value.startswith("sha256:") and len(value) == 71:
        return value[7:].lower()
    return None
