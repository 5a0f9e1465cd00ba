"""The release's files from its commit's CI: wait (bounded), download, unpack.

An :class:`~valet.artifact_source.ArtifactSource` with ``build = "ci"``. Each
poll reads the workflow runs of the release commit (``GET /actions/runs?
head_sha=``) and the artifacts of the runs ``decide`` needs (``GET
/actions/runs/{id}/artifacts``), and asks :func:`~valet.ci_artifacts.decide.decide`
what to do. It waits at most ``timeout`` seconds, then stops with a
``CIPendingError`` that says what it waited for and how to go on; nothing has
been uploaded or requested by then.

Each artifact's zip is fetched the way GitHub serves it: ``GET
/actions/artifacts/{id}/zip`` answers 302 with a short-lived URL on a blob
host, which is fetched without the token (the token never leaves the API's
host). Its size is capped, its sha256 checked when GitHub reports one, and it
is unpacked by :func:`valet.archive.extract_flat` (regular files only, safe
names, size and count limits). Files of several artifacts land in one flat
directory; two different files of one name are refused.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests

from valet import gha
from valet.ci_artifacts.decide import (
    Artifact,
    Failed,
    Ready,
    Run,
    Wait,
    current_runs,
    decide,
    runs_to_list,
)
from valet.ci_artifacts.rules import Rule
from valet.errors import ArtifactError, CIFailedError, CIPendingError, GitHubError, IntegrityError
from valet.manifest import MANIFEST_NAME, validate_name

DEFAULT_TIMEOUT_MINUTES = 60
MAX_ZIP_BYTES = int(os.environ.get("VALET_MAX_ARTIFACT_ZIP", str(20 * 1024**3)))
MAX_FILES_BYTES = int(os.environ.get("VALET_MAX_ARTIFACT_BYTES", str(8 * 1024**3)))
MAX_FILES = 10_000
_CHUNK = 1024 * 1024
_HEARTBEAT_SECONDS = 300.0  # say that we still wait, at least this often


def poll_seconds() -> float:
    return float(os.environ.get("VALET_CI_POLL_SECONDS", "20"))


class CiArtifacts:
    """The files CI uploaded for ``sha`` as workflow artifacts, found by ``rules``."""

    build = "ci"

    def __init__(self, *, session: requests.Session, repo: str, sha: str,
                 rules: Sequence[Rule], timeout: float = DEFAULT_TIMEOUT_MINUTES * 60,
                 poll: float | None = None, own_run: int | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 blob_session: requests.Session | None = None) -> None:
        self.session = session
        self.repo = repo
        self.sha = sha
        self.rules = list(rules)
        self.timeout = timeout
        self.poll = poll_seconds() if poll is None else poll
        self.own_run = own_run
        self.clock = clock
        self.sleep = sleep
        self.blob_session = blob_session
        self.ready: Ready | None = None
        self._tmp: Path | None = None
        self._files: list[Path] | None = None

    def describe(self) -> str:
        return f"the workflow artifacts of the release commit {self.sha[:12]}"

    # -- waiting --------------------------------------------------------------------------

    def _runs(self) -> list[Run]:
        from valet.github_client import api_url
        from valet.store.github_release import get_pages

        url = f"{api_url()}/repos/{self.repo}/actions/runs"
        runs: list[Run] = []
        for page in get_pages(self.session, url, {"head_sha": self.sha, "per_page": 100},
                              "listing the workflow runs of the release commit"):
            for raw in page.get("workflow_runs", []) if isinstance(page, dict) else []:
                runs.append(_run(raw))
        return current_runs(runs, self.repo, skip=self.own_run)

    def _artifacts(self, run: Run) -> list[Artifact]:
        from valet.github_client import api_url
        from valet.store.github_release import get_pages

        url = f"{api_url()}/repos/{self.repo}/actions/runs/{run.id}/artifacts"
        out: list[Artifact] = []
        for page in get_pages(self.session, url, {"per_page": 100},
                              f"listing the artifacts of {run.label()}"):
            for raw in page.get("artifacts", []) if isinstance(page, dict) else []:
                out.append(_artifact(raw, run.id))
        return out

    def wait(self) -> Ready:
        """Poll until ``decide`` says Ready (or fails, or the time is up)."""
        if self.ready is not None:
            return self.ready
        start = self.clock()
        said, said_at = "", start
        cache: dict[int, list[Artifact]] = {}  # finished runs' artifacts do not change
        while True:
            runs = self._runs()
            listed: dict[int, list[Artifact]] = {}
            for run in runs_to_list(self.rules, runs):
                if run.done and run.id in cache:
                    listed[run.id] = cache[run.id]
                    continue
                listed[run.id] = self._artifacts(run)
                if run.done:
                    cache[run.id] = listed[run.id]
            verdict = decide(self.rules, runs, listed)
            if isinstance(verdict, Ready):
                self.ready = verdict
                return verdict
            if isinstance(verdict, Failed):
                raise self._failure(verdict)
            now = self.clock()
            waited = now - start
            if waited >= self.timeout:
                raise self._timeout(verdict)
            if verdict.reason != said or now - said_at >= _HEARTBEAT_SECONDS:
                gha.info(f"waiting for CI on {self.sha[:12]} ({int(waited)} s so far, at most "
                         f"{int(self.timeout)} s): {verdict.reason}")
                said, said_at = verdict.reason, now
            self.sleep(min(self.poll, max(0.0, self.timeout - waited)))

    def _failure(self, verdict: Failed) -> Exception:
        if verdict.ci_failed:
            return CIFailedError(
                verdict.message,
                hint="a run that did not succeed may have uploaded incomplete files, so none "
                "of its artifacts is taken: fix the build on the release branch (push a fix "
                "to it, or re-run the failed jobs), then re-run this job")
        return ArtifactError(
            verdict.message,
            hint="the config names the artifacts to take (artifactProvider.config.artifacts in "
            "a .craft.yml, artifact_store.workflows in a .valet.yml; without it, the one "
            "named after the commit sha): make CI upload them under those names "
            "(actions/upload-artifact `name:`), or fix the names, then re-run this job")

    def _timeout(self, verdict: Wait) -> CIPendingError:
        minutes = round(self.timeout / 60, 1)
        shown = int(minutes) if minutes == int(minutes) else minutes
        hint = ("nothing was uploaded or requested. When CI has finished, re-run this job "
                "(the workflow run's page: Re-run failed jobs); the release branch stays as "
                "it is. To wait longer, raise ci-timeout-minutes and the job's "
                "timeout-minutes")
        if verdict.reason.startswith("no workflow run"):
            hint = ("CI must run on pushes to the release branch (on: push: branches: "
                    "[release/**], or your releaseBranchPrefix); " + hint)
        return CIPendingError(f"CI on the release commit {self.sha[:12]} did not finish "
                              f"within {shown} minutes: {verdict.reason}", hint=hint)

    # -- the files ------------------------------------------------------------------------

    def files(self) -> list[Path]:
        if self._files is not None:
            return self._files
        ready = self.wait()
        self._tmp = Path(tempfile.mkdtemp(prefix="valet-ci-", dir=os.environ.get("RUNNER_TEMP")))
        out = self._tmp / "files"
        out.mkdir()
        kept: dict[str, tuple[str, str]] = {}  # file name -> (sha256, artifact it came from)
        budget = MAX_FILES_BYTES
        for art in ready.artifacts:
            run = ready.runs[art.run_id]
            with gha.group(f"artifact {art.name} of {run.label()}"):
                zip_path = self._download(art)
                unpacked = self._tmp / f"unpacked-{art.id}"
                from valet.archive import extract_flat

                files = extract_flat(zip_path, unpacked, max_bytes=budget, max_entries=MAX_FILES)
                zip_path.unlink()
                for name, path in sorted(files.items()):
                    if name == MANIFEST_NAME:
                        gha.notice(f"{name} of the artifact {art.name} is left out: the "
                                   "manifest is computed here, from the files")
                        path.unlink()
                        continue
                    validate_name(name)
                    size = path.stat().st_size
                    budget -= size
                    digest = _sha256(path)
                    if name in kept:
                        if kept[name][0] != digest:
                            raise ArtifactError(
                                f"two different files named {name}: in the artifacts "
                                f"{kept[name][1]} and {art.name}",
                                hint="a release is a flat list of files: give each file its "
                                "own name, or take one of the artifacts only")
                        path.unlink()
                        continue
                    kept[name] = (digest, art.name)
                    os.replace(path, out / name)
                    gha.info(f"{name}: {size} bytes, sha256 {digest}")
                shutil.rmtree(unpacked, ignore_errors=True)
        self._files = sorted(out.iterdir(), key=lambda p: p.name)
        return self._files

    def _download(self, art: Artifact) -> Path:
        from valet.github_client import api_url, session, timeout
        from valet.store.github_release import _http_error

        assert self._tmp is not None
        if art.size > MAX_ZIP_BYTES:
            raise ArtifactError(f"the artifact {art.name} is {art.size} bytes, above the "
                                f"{MAX_ZIP_BYTES} byte limit")
        url = f"{api_url()}/repos/{self.repo}/actions/artifacts/{art.id}/zip"
        doing = f"downloading the artifact {art.name}"
        try:
            resp = self.session.get(url, allow_redirects=False, stream=True, timeout=timeout())
        except requests.RequestException as exc:
            raise GitHubError(f"{doing} failed: {exc}") from None
        if resp.status_code in (301, 302, 303, 307, 308):
            location = resp.headers.get("Location", "")
            resp.close()
            if urlparse(location).scheme not in ("https", "http"):
                raise GitHubError(f"{doing}: GitHub answered a redirect without a URL")
            # The blob host gets no token: the URL itself is the (short-lived) credential.
            blobs = self.blob_session or session(None)
            try:
                resp = blobs.get(location, stream=True, timeout=timeout())
            except requests.RequestException as exc:
                raise GitHubError(f"{doing} failed: {exc}") from None
        if resp.status_code == 410:
            raise ArtifactError(f"the artifact {art.name} has expired",
                                hint="re-run the CI workflow on the release commit, then re-run "
                                "this job")
        if resp.status_code != 200:
            raise _http_error(resp, doing)
        target = self._tmp / f"{art.id}.zip"
        digest = hashlib.sha256()
        written = 0
        with resp, open(target, "xb") as fh:
            for block in _blocks(resp):
                written += len(block)
                if written > MAX_ZIP_BYTES:
                    raise ArtifactError(f"the artifact {art.name} is larger than the "
                                        f"{MAX_ZIP_BYTES} byte limit")
                digest.update(block)
                fh.write(block)
        if art.digest is not None and digest.hexdigest() != art.digest:
            raise IntegrityError(f"the artifact {art.name}: its zip's sha256 "
                                 f"{digest.hexdigest()} is not the {art.digest} GitHub reports",
                                 hint="the download was altered or cut short: re-run this job")
        return target

    def close(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
            self._files = None


def _blocks(resp: requests.Response) -> Iterator[bytes]:
    try:
        yield from (b for b in resp.iter_content(_CHUNK) if b)
    except requests.RequestException as exc:
        raise GitHubError(f"the artifact download broke off: {exc}") from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _run(raw: dict[str, Any]) -> Run:
    head = raw.get("head_repository") if isinstance(raw.get("head_repository"), dict) else {}
    workflow = raw.get("workflow_id") or raw.get("path") or raw.get("name") or raw.get("id")
    return Run(id=int(raw["id"]), name=str(raw.get("name") or ""),
               status=str(raw.get("status") or ""), conclusion=raw.get("conclusion"),
               url=str(raw.get("html_url") or ""), workflow=str(workflow),
               repo=head.get("full_name") if isinstance(head, dict) else None)


def _artifact(raw: dict[str, Any], run_id: int) -> Artifact:
    from valet.store import parse_digest

    return Artifact(id=int(raw["id"]), name=str(raw.get("name") or ""),
                    size=int(raw.get("size_in_bytes") or 0), run_id=run_id,
                    expired=bool(raw.get("expired")), digest=parse_digest(raw.get("digest")))
