"""A read-only store: a workflow-run artifact (actions/upload-artifact) found by name.

This is the convention craft users already have (the artifact is named after
the release commit's sha). The zip is streamed to a private temporary file,
then each member valet needs is streamed through sha256 against the approved
manifest; member paths are never used as destination paths, only their base
names are matched against the approved (validated) names.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import requests

from valet.errors import ArtifactError, GitHubError, IntegrityError, UsageError
from valet.github_client import api_url, timeout
from valet.manifest import MANIFEST_NAME, Artifact, Manifest, validate_name
from valet.store import (
    CHUNK,
    OnFile,
    ProgressFactory,
    RemoteFile,
    StoreRef,
    expected_by_name,
    write_verified,
)
from valet.store.github_release import _http_error, get_pages

# A zip larger than this is refused outright (GitHub's own artifact limit is far below).
MAX_ZIP_BYTES = int(os.environ.get("VALET_MAX_ARTIFACT_ZIP", str(20 * 1024**3)))


class WorkflowArtifactsStore:
    kind = "workflow-artifacts"

    def __init__(self, *, session: requests.Session, repo: str, tag: str, version: str,
                 artifact_name: str | None, progress: ProgressFactory | None = None) -> None:
        if not artifact_name:
            raise UsageError(
                "the workflow-artifacts store needs an artifact name",
                hint="set `artifact_store: {kind: workflow-artifacts, name: ...}` in the config "
                "(craft's convention is the release commit's sha)",
            )
        self.session = session
        self.repo = repo
        self.tag = tag
        self.version = version
        self.artifact_name = artifact_name
        self.progress = progress
        self._tmp: Path | None = None
        self._zip: Path | None = None

    def _find(self) -> dict[str, Any]:
        url = f"{api_url()}/repos/{self.repo}/actions/artifacts"
        found: list[dict[str, Any]] = []
        for page in get_pages(self.session, url, {"name": self.artifact_name, "per_page": 100},
                              f"listing workflow artifacts named {self.artifact_name}"):
            for a in page.get("artifacts", []) if isinstance(page, dict) else []:
                if a.get("name") == self.artifact_name and not a.get("expired"):
                    found.append(a)
        if not found:
            raise ArtifactError(
                f"no unexpired workflow artifact named {self.artifact_name!r} in {self.repo}",
                hint="upload the build output with actions/upload-artifact under that name, "
                "or re-run the build (artifacts expire)",
            )
        found.sort(key=lambda a: (str(a.get("created_at") or ""), int(a.get("id", 0))))
        return found[-1]

    def _download_zip(self) -> Path:
        if self._zip is not None:
            return self._zip
        art = self._find()
        size = int(art.get("size_in_bytes") or 0)
        if size > MAX_ZIP_BYTES:
            raise ArtifactError(f"workflow artifact {self.artifact_name!r} is {size} bytes, "
                                f"above the {MAX_ZIP_BYTES} byte limit")
        self._tmp = Path(tempfile.mkdtemp(prefix="valet-wfa-", dir=os.environ.get("RUNNER_TEMP")))
        target = self._tmp / "artifact.zip"
        url = f"{api_url()}/repos/{self.repo}/actions/artifacts/{int(art['id'])}/zip"
        prog = self.progress(f"download {self.artifact_name}.zip", size or None) \
            if self.progress else None
        try:
            resp = self.session.get(url, stream=True, allow_redirects=True, timeout=timeout())
        except requests.RequestException as exc:
            raise GitHubError(f"downloading workflow artifact {art['id']} failed: {exc}") from None
        with resp:
            if resp.status_code != 200:
                raise _http_error(resp, f"downloading workflow artifact {art['id']}")
            written = 0
            with open(target, "wb") as fh:
                for block in resp.iter_content(CHUNK):
                    written += len(block)
                    if written > MAX_ZIP_BYTES:
                        raise ArtifactError("the workflow artifact zip exceeds the size limit")
                    fh.write(block)
                    if prog:
                        prog.update(len(block))
        if prog:
            prog.done()
        self._zip = target
        return target

    def _members(self, zf: zipfile.ZipFile) -> dict[str, list[zipfile.ZipInfo]]:
        members: dict[str, list[zipfile.ZipInfo]] = {}
        for info in zf.infolist():
            if info.is_dir():
                continue
            base = info.filename.replace("\\", "/").rsplit("/", 1)[-1]
            members.setdefault(base, []).append(info)
        return members

    def _open_zip(self) -> zipfile.ZipFile:
        try:
            return zipfile.ZipFile(self._download_zip())
        except zipfile.BadZipFile as exc:
            raise IntegrityError(f"workflow artifact {self.artifact_name!r} is not a valid "
                                 f"zip: {exc}") from None

    def list(self) -> dict[str, RemoteFile]:
        out: dict[str, RemoteFile] = {}
        with self._open_zip() as zf:
            for name, infos in self._members(zf).items():
                try:
                    validate_name(name)
                except ArtifactError:
                    continue
                if len(infos) == 1:
                    out[name] = RemoteFile(name=name, size=infos[0].file_size, digest=None)
        return out

    def download_verified(self, expected: Sequence[Artifact], dest: Path, *,
                          progress: ProgressFactory | None = None,
                          on_file: OnFile | None = None) -> dict[str, Path]:
        want = expected_by_name(expected)
        out: dict[str, Path] = {}
        prog_factory = progress or self.progress
        with self._open_zip() as zf:
            members = self._members(zf)
            missing = sorted(n for n in want if n not in members)
            if missing:
                raise IntegrityError(
                    f"workflow artifact {self.artifact_name!r} lacks {', '.join(missing)}",
                    hint="the uploaded artifact is not the approved build: re-run prepare",
                )
            for name, art in want.items():
                infos = members[name]
                if len(infos) != 1:
                    raise IntegrityError(f"workflow artifact {self.artifact_name!r} holds "
                                         f"{len(infos)} files named {name}")
                if infos[0].file_size != art.size:
                    raise IntegrityError(
                        f"{name}: size {infos[0].file_size} differs from the approved "
                        f"{art.size} bytes",
                        hint="the stored file is not the approved one: re-run prepare",
                    )
                with zf.open(infos[0]) as fh:
                    out[name] = write_verified(
                        _blocks(fh), art, dest,
                        progress=prog_factory(f"extract {name}", art.size)
                        if prog_factory else None)
                if on_file is not None:
                    on_file(name, out[name])
        return out

    def download_manifest(self) -> Manifest:
        from valet.manifest import loads_manifest

        with self._open_zip() as zf:
            infos = self._members(zf).get(MANIFEST_NAME, [])
            if len(infos) != 1:
                raise IntegrityError(f"workflow artifact {self.artifact_name!r} holds no single "
                                     "manifest.json")
            if infos[0].file_size > 10 * 1024 * 1024:
                raise IntegrityError("manifest.json is implausibly large")
            return loads_manifest(zf.read(infos[0]))

    def upload(self, manifest: Manifest, files: dict[str, Path], *,
               notes: str | None = None) -> StoreRef:
        raise UsageError(
            "the workflow-artifacts store is read-only for valet",
            hint="upload the build output and manifest.json with actions/upload-artifact "
            f"named {self.artifact_name!r} after `valet prepare`",
        )

    def delete(self) -> None:
        """Nothing to drop: workflow artifacts expire on their own."""
        self.close()

    def close(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
            self._zip = None


def _blocks(fh: IO[bytes]) -> Iterator[bytes]:
    while True:
        block = fh.read(CHUNK)
        if not block:
            return
        yield block
