"""The default artifact store: assets of a draft GitHub release named by the tag.

REST only, so it behaves the same on GitHub, under act and in the sandbox:
PyGithub creates, finds, updates and deletes the release; asset bytes go
through one requests session (streamed uploads to the uploads URL, downloads
with `Accept: application/octet-stream` following the redirect to storage).

Drafts have no tag yet, so they are found by listing releases (the
`releases/tags/{tag}` endpoint does not return drafts). Uploads are
idempotent: an asset that is already there with the right size and digest is
kept, anything partial, mismatched or stray is deleted and uploaded again, and
`manifest.json` goes last so its presence marks a complete upload.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests

from valet import gha
from valet.errors import GitHubError, IntegrityError, VersionError
from valet.github_client import api_url, timeout, wrap
from valet.manifest import MANIFEST_NAME, Artifact, Manifest, validate_name
from valet.progress import Progress
from valet.store import (
    CHUNK,
    OnFile,
    ProgressFactory,
    RemoteFile,
    StoreRef,
    download_all,
    exact_set,
    expected_by_name,
    parse_digest,
)

UPLOAD_ATTEMPTS = 3


class _Upload:
    """A file body for requests: known length (so no chunked encoding), progress per read."""

    def __init__(self, path: Path | None, data: bytes | None, size: int,
                 progress: Progress | None) -> None:
        self._fh = open(path, "rb") if path is not None else None  # noqa: SIM115
        self._data = data
        self._pos = 0
        self._size = size
        self._progress = progress

    def __len__(self) -> int:
        return self._size

    def read(self, n: int = -1) -> bytes:
        if self._fh is not None:
            block = self._fh.read(CHUNK if n is None or n < 0 else n)
        else:
            assert self._data is not None
            end = len(self._data) if n is None or n < 0 else self._pos + n
            block = self._data[self._pos:end]
            self._pos += len(block)
        if block and self._progress is not None:
            self._progress.update(len(block))
        return block

    def __iter__(self) -> Iterator[bytes]:
        while True:
            block = self.read(CHUNK)
            if not block:
                return
            yield block

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()


def same_origin(url: str, base: str) -> bool:
    a, b = urlparse(url), urlparse(base)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def get_pages(session: requests.Session, url: str, params: dict[str, Any] | None,
              doing: str) -> Iterator[Any]:
    """GET a paginated REST list, following Link: next only on the API's own origin."""
    base = api_url()
    while url:
        try:
            resp = session.get(url, params=params, timeout=timeout())
        except requests.RequestException as exc:
            raise GitHubError(f"{doing} failed: {exc}") from None
        if resp.status_code != 200:
            raise _http_error(resp, doing)
        yield resp.json()
        params = None
        nxt = resp.links.get("next", {}).get("url")
        url = nxt if nxt and same_origin(nxt, base) else ""


def _http_error(resp: requests.Response, doing: str) -> GitHubError:
    try:
        message = resp.json().get("message", "")
    except ValueError:
        message = resp.text[:200]
    exc = Exception(message)
    exc.status = resp.status_code  # type: ignore[attr-defined]
    exc.data = {"message": message}  # type: ignore[attr-defined]
    return wrap(exc, doing)


def _is_prerelease(version: str) -> bool:
    # semver pre-release part: a '-' before any '+' build metadata
    return "-" in version.split("+", 1)[0]


class GitHubReleaseStore:
    kind = "github-release"

    def __init__(self, *, gh: Any, session: requests.Session, repo: str, tag: str,
                 version: str, release_id: int | None = None,
                 progress: ProgressFactory | None = None, index: Any = None,
                 sha: str | None = None) -> None:
        self.gh = gh
        self.session = session
        self.repo = repo
        self.tag = tag
        self.version = version
        self.release_id = release_id
        # The release commit the request names (publish side): with it, the manifest.json
        # valet uploaded for the request is known byte for byte (exact_set).
        self.sha = sha
        self.progress = progress
        # The run's valet.releases.ReleaseIndex (publish side): the draft and its assets as
        # the github target sees them too, read once.
        self.index = index
        self._release: Any = None
        self._raw: dict[str, Any] | None = None
        self._made_now = False  # the draft was created by this run's POST (upload)

    # -- the release --------------------------------------------------------

    def _gh_repo(self) -> Any:
        return self.gh.get_repo(self.repo)

    def find_release(self) -> Any | None:
        """The draft (or, for reading, published) release for the tag, or None."""
        from github import GithubException

        if self._release is not None:
            return self._release
        if self.index is not None:
            return self._find_listed()
        try:
            if self.release_id is not None:
                try:
                    rel = self._gh_repo().get_release(int(self.release_id))
                    # A lazy client returns an unfetched object: load it before trusting it.
                    rel.update()
                except GithubException as exc:
                    if exc.status == 404:
                        return None  # gone: never another draft of the same tag instead
                    raise
                if rel.tag_name != self.tag:
                    raise IntegrityError(
                        f"release {self.release_id} of {self.repo} is for tag "
                        f"{rel.tag_name!r}, not {self.tag!r}",
                        hint="the request names another release than the one prepared: "
                        "re-run prepare",
                    )
                self._release = rel
                return rel
            matches = [r for r in self._gh_repo().get_releases() if r.tag_name == self.tag]
        except GithubException as exc:
            raise wrap(exc, f"reading the releases of {self.repo}") from None
        if not matches:
            return None
        drafts = sorted((r for r in matches if r.draft), key=lambda r: r.id)
        published = [r for r in matches if not r.draft]
        if len(drafts) > 1:
            gha.warning(f"{len(drafts)} draft releases exist for {self.tag}; using the oldest "
                        f"(id {drafts[0].id})")
        self._release = published[0] if published else drafts[0]
        return self._release

    def _find_listed(self) -> Any | None:
        """find_release through the run's release index (same choices, no extra read)."""
        if self.release_id is not None:
            raw = self.index.release(int(self.release_id))
            if raw is None:
                return None
            if raw.get("tag_name") != self.tag:
                raise IntegrityError(
                    f"release {self.release_id} of {self.repo} is for tag "
                    f"{raw.get('tag_name')!r}, not {self.tag!r}",
                    hint="the request names another release than the one prepared: re-run "
                    "prepare")
        else:
            matches = self.index.with_tag(self.tag)
            if not matches:
                return None
            drafts = sorted((r for r in matches if r.get("draft")), key=lambda r: int(r["id"]))
            published = [r for r in matches if not r.get("draft")]
            if len(drafts) > 1:
                gha.warning(f"{len(drafts)} draft releases exist for {self.tag}; using the "
                            f"oldest (id {drafts[0]['id']})")
            raw = published[0] if published else drafts[0]
        self._raw = raw
        self._release = self.index.obj(raw)
        return self._release

    def _ensure_draft(self, manifest: Manifest, notes: str | None) -> Any:
        from github import GithubException

        rel = self.find_release()
        if rel is not None and not rel.draft:
            raise VersionError(
                f"{self.repo} already has a published release for {self.tag}",
                hint="this version is released: prepare a new version instead",
            )
        body = notes if notes is not None else ""
        self._made_now = False
        try:
            if rel is None:
                kwargs: dict[str, Any] = {"draft": True,
                                          "prerelease": _is_prerelease(self.version)}
                if manifest.sha:
                    kwargs["target_commitish"] = manifest.sha
                rel = self._gh_repo().create_git_release(self.tag, self.tag, body, **kwargs)
                self._made_now = True
                gha.info(f"created draft release {rel.id} for {self.tag}")
            elif (notes is not None and rel.body != body) or (
                    manifest.sha and rel.target_commitish != manifest.sha):
                kwargs = {"draft": True}
                if manifest.sha:
                    kwargs["target_commitish"] = manifest.sha
                rel.update_release(self.tag, body if notes is not None else (rel.body or ""),
                                   **kwargs)
        except GithubException as exc:
            raise wrap(exc, f"creating the draft release {self.tag} on {self.repo}") from None
        self._release = rel
        self.release_id = rel.id
        return rel

    # -- assets -------------------------------------------------------------

    def _assets(self, release_id: int) -> list[dict[str, Any]]:
        if self.index is not None and self._raw is not None and self._raw.get("id") == release_id:
            return self.index.assets(self._raw)  # type: ignore[no-any-return]
        url = f"{api_url()}/repos/{self.repo}/releases/{release_id}/assets"
        out: list[dict[str, Any]] = []
        for page in get_pages(self.session, url, {"per_page": 100},
                              f"listing the assets of release {release_id}"):
            out.extend(a for a in page if isinstance(a, dict))
        return out

    def list(self) -> dict[str, RemoteFile]:
        rel = self.find_release()
        if rel is None:
            return {}
        files: dict[str, RemoteFile] = {}
        for a in self._assets(rel.id):
            if a.get("state", "uploaded") != "uploaded":
                continue
            files[str(a["name"])] = RemoteFile(name=str(a["name"]), size=int(a["size"]),
                                               digest=parse_digest(a.get("digest")))
        return files

    def _asset_blocks(self, asset_id: int) -> Iterator[bytes]:
        url = f"{api_url()}/repos/{self.repo}/releases/assets/{int(asset_id)}"
        try:
            # requests drops the Authorization header when the redirect leaves the API host.
            resp = self.session.get(url, headers={"Accept": "application/octet-stream"},
                                    stream=True, allow_redirects=True, timeout=timeout())
        except requests.RequestException as exc:
            raise GitHubError(f"downloading asset {asset_id} failed: {exc}") from None
        with resp:
            if resp.status_code != 200:
                raise _http_error(resp, f"downloading asset {asset_id}")
            try:
                yield from resp.iter_content(CHUNK)
            except requests.RequestException as exc:
                raise GitHubError(f"downloading asset {asset_id} failed: {exc}") from None

    def _remote_sha256(self, asset: dict[str, Any]) -> str:
        digest = parse_digest(asset.get("digest"))
        if digest:
            return digest
        h = hashlib.sha256()
        for block in self._asset_blocks(int(asset["id"])):
            h.update(block)
        return h.hexdigest()

    def _delete_asset(self, asset: dict[str, Any]) -> None:
        url = f"{api_url()}/repos/{self.repo}/releases/assets/{int(asset['id'])}"
        try:
            resp = self.session.delete(url, timeout=timeout())
        except requests.RequestException as exc:
            raise GitHubError(f"deleting asset {asset.get('name')} failed: {exc}") from None
        if resp.status_code not in (204, 404):
            raise _http_error(resp, f"deleting asset {asset.get('name')}")

    def _upload_one(self, rel: Any, name: str, path: Path | None, data: bytes | None,
                    size: int) -> dict[str, Any]:
        base = re.sub(r"\{.*\}$", "", rel.upload_url)
        last: Exception | None = None
        for attempt in range(1, UPLOAD_ATTEMPTS + 1):
            prog = self.progress(f"upload {name}", size) if self.progress else None
            body = _Upload(path, data, size, prog)
            try:
                resp = self.session.post(
                    base, params={"name": name}, data=body, timeout=max(timeout(), 300),
                    headers={"Content-Type": "application/octet-stream",
                             "Content-Length": str(size)},
                )
            except requests.RequestException as exc:
                last = GitHubError(f"uploading {name} failed: {exc}")
                resp = None
            finally:
                body.close()
            if resp is not None and resp.status_code in (200, 201):
                asset = resp.json()
                if int(asset.get("size", -1)) != size:
                    raise GitHubError(f"uploading {name}: GitHub stored {asset.get('size')} "
                                      f"bytes instead of {size}")
                if prog is not None:
                    prog.done()
                return dict(asset)
            if resp is not None:
                last = _http_error(resp, f"uploading {name}")
                if resp.status_code < 500 and resp.status_code != 422:
                    break
            # A failed attempt can leave a partial ("starter") asset holding the name.
            for a in self._assets(rel.id):
                if a.get("name") == name:
                    self._delete_asset(a)
            gha.warning(f"uploading {name} failed (attempt {attempt}/{UPLOAD_ATTEMPTS}): {last}")
        assert last is not None
        raise last

    def upload_asset(self, release: Any, name: str, path: Path, size: int) -> dict[str, Any]:
        """One file onto ``release`` (a PyGithub release): streamed, retried after removing
        what a failed attempt left; the asset as GitHub answers it."""
        return self._upload_one(release, name, path, None, size)

    def upload(self, manifest: Manifest, files: dict[str, Path], *,
               notes: str | None = None) -> StoreRef:
        expected = expected_by_name(manifest.artifacts)
        if set(files) != set(expected):
            raise IntegrityError(
                "the files to upload differ from the manifest: "
                f"{sorted(set(files) ^ set(expected))}"
            )
        manifest_bytes = manifest.dumps().encode()
        manifest_art = Artifact(MANIFEST_NAME, len(manifest_bytes),
                                hashlib.sha256(manifest_bytes).hexdigest())
        rel = self._ensure_draft(manifest, notes)
        existing: dict[str, dict[str, Any]] = {}
        # A draft this run's POST just made holds no asset yet: it is not listed before the
        # uploads. Anything someone uploads to it meanwhile is in the listing after them
        # (``_verify_listing``), which refuses any asset but the manifest's.
        for a in ([] if self._made_now else self._assets(rel.id)):
            name = str(a.get("name"))
            if name not in expected and name != MANIFEST_NAME:
                gha.info(f"removing stray asset {name} from the draft release")
                self._delete_asset(a)
            elif name in existing:
                self._delete_asset(a)  # never keep two of one name
            else:
                existing[name] = a

        def current(art: Artifact) -> bool:
            a = existing.get(art.name)
            if a is None:
                return False
            ok = (a.get("state", "uploaded") == "uploaded" and int(a.get("size", -1)) == art.size
                  and self._remote_sha256(a) == art.sha256)
            if not ok:
                gha.info(f"replacing {art.name}: the stored copy is partial or differs")
                self._delete_asset(a)
                existing.pop(art.name)
            return ok

        stale = [art for art in manifest.artifacts if not current(art)]
        for art in manifest.artifacts:
            if art not in stale:
                gha.info(f"{art.name}: already uploaded, digest matches")
        manifest_ok = current(manifest_art)
        if stale and manifest_ok:
            # manifest.json goes last: while files are replaced, none is on the release,
            # so a manifest on the release always describes a complete set.
            self._delete_asset(existing.pop(MANIFEST_NAME))
            manifest_ok = False
        for art in stale:
            self._upload_one(rel, art.name, files[art.name], None, art.size)
        if not manifest_ok:
            self._upload_one(rel, MANIFEST_NAME, None, manifest_bytes, len(manifest_bytes))
        self._verify_listing(rel.id, list(manifest.artifacts) + [manifest_art])
        return StoreRef(kind=self.kind, tag=self.tag, release_id=rel.id,
                        url=getattr(rel, "html_url", None))

    def _verify_listing(self, release_id: int, arts: Sequence[Artifact]) -> None:
        want = {a.name: a for a in arts}
        seen: dict[str, int] = {}
        for a in self._assets(release_id):
            seen[str(a["name"])] = seen.get(str(a["name"]), 0) + 1
            art = want.get(str(a["name"]))
            if art is None:
                raise GitHubError(f"the draft release holds an unexpected asset {a['name']!r}")
            digest = parse_digest(a.get("digest"))
            if int(a["size"]) != art.size or (digest and digest != art.sha256):
                raise GitHubError(f"the uploaded {art.name} does not match its manifest entry")
        missing = sorted(set(want) - set(seen))
        dupes = sorted(n for n, c in seen.items() if c > 1)
        if missing or dupes:
            raise GitHubError(f"the draft release is incomplete after upload (missing: "
                              f"{missing}, duplicated: {dupes})")

    def download_verified(self, expected: Sequence[Artifact], dest: Path, *,
                          progress: ProgressFactory | None = None,
                          on_file: OnFile | None = None) -> dict[str, Path]:
        want = expected_by_name(expected)
        rel = self.find_release()
        if rel is None:
            raise IntegrityError(
                f"no release for {self.tag} on {self.repo}",
                hint="the draft release was deleted: re-run prepare",
            )
        # The listing the run already read (the release index): the whole set is checked
        # on it, so the draft that goes public holds the approved files and nothing else.
        everything = self._assets(rel.id)
        assets = {str(a["name"]): a for a in everything
                  if a.get("state", "uploaded") == "uploaded"}
        problems = exact_set.check(
            [exact_set.listed(a) for a in everything], want,
            manifest=exact_set.manifest_for(self.version, want.values(), repo=self.repo,
                                            sha=self.sha) if self.sha else None)
        if problems.missing:
            raise IntegrityError(
                f"the release for {self.tag} lacks {', '.join(problems.missing)}",
                hint="re-run prepare to upload the artifacts again, then request approval again",
            )
        if problems.extra:
            raise IntegrityError(
                f"the draft release {rel.id} for {self.tag} holds files that were not "
                f"approved: {', '.join(problems.extra)}",
                hint="publishing the draft would make them public: delete them from the draft "
                "(and find out who uploaded them), or run the release again for a new request")
        for name, art in want.items():
            if int(assets[name]["size"]) != art.size:
                raise IntegrityError(
                    f"{name}: the stored size {assets[name]['size']} differs from the approved "
                    f"{art.size} bytes",
                    hint="the stored file is not the approved one: re-run prepare",
                )
            # GitHub lists each asset's sha256: a replaced file is refused before any
            # download, so no target starts on a release that cannot go out whole.
            listed = parse_digest(assets[name].get("digest"))
            if listed is not None and listed != art.sha256:
                raise IntegrityError(
                    f"{name}: sha256 {listed} (as GitHub lists it) differs from the approved "
                    f"{art.sha256}",
                    hint="the stored file was changed after approval: re-run prepare and "
                    "request approval again")
        jobs = []
        for name, art in want.items():
            validate_name(name)
            asset_id = int(assets[name]["id"])
            jobs.append((art, lambda asset_id=asset_id: self._asset_blocks(asset_id)))
        return download_all(jobs, dest, progress=progress or self.progress, on_file=on_file)

    def download_manifest(self) -> Manifest:
        """The manifest.json stored with the release (what prepare uploaded)."""
        from valet.manifest import loads_manifest

        rel = self.find_release()
        if rel is None:
            raise IntegrityError(f"no release for {self.tag} on {self.repo}")
        for a in self._assets(rel.id):
            if a.get("name") == MANIFEST_NAME:
                if int(a.get("size", 0)) > 10 * 1024 * 1024:
                    raise IntegrityError("manifest.json is implausibly large")
                return loads_manifest(b"".join(self._asset_blocks(int(a["id"]))))
        raise IntegrityError(f"the release for {self.tag} holds no manifest.json")

    def delete(self) -> None:
        from github import GithubException

        rel = self.find_release()
        if rel is None:
            return
        if not rel.draft:
            raise VersionError(
                f"refusing to delete the published release {self.tag} of {self.repo}",
                hint="only draft releases made by prepare are deleted by valet",
            )
        try:
            rel.delete_release()
        except GithubException as exc:
            raise wrap(exc, f"deleting the draft release {self.tag}") from None
        self._release = None
