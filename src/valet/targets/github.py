"""`github`: make the draft release that prepare created on the SDK repo public.

The draft is found by ``request.release_id`` or else by listing the releases
for the tag (drafts have no tag yet, so ``releases/tags/{tag}`` cannot find
them). Publishing sets, in one PATCH: ``draft=false``, the tag at the release
commit (``target_commitish``), the changelog section as the body,
``prerelease`` from the version, and ``make_latest`` = "true" only when this
version is the highest non-pre-release among the published releases of this
tag prefix. Missing assets are uploaded first, from the verified files; an
asset already there with another digest is a conflict. No draft at all (the
workflow-artifacts store) -> a draft is created, filled, then published.

Status:
- a published release for the tag whose assets carry our digests -> PUBLISHED
- a published release with an asset of another digest, a published release
  that is not ours and lacks our assets, or the tag at another commit -> CONFLICT
- a draft, our own published release missing some assets, or nothing -> ABSENT

Safe to re-run: every step checks what is already there first. This target
runs last (the orchestrator's rule) because making the release public is what
users see.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import requests

from valet import gha
from valet.errors import ConflictError, GitHubError, IntegrityError, TargetError, VersionError
from valet.github_client import wrap
from valet.store import exact_set
from valet.targets.base import (
    Destination,
    Receipt,
    State,
    StatusResult,
    TargetContext,
    decide,
    host_of,
    option,
    select_files,
)
from valet.version import parse_version, tag_name, tag_prefix, versions_from_tags

CHUNK = 1024 * 1024


class GitHubTarget:
    name: ClassVar[str] = "github"
    # Every approved artifact becomes a release asset unless includeNames says otherwise.
    default_include: ClassVar[re.Pattern[str]] = re.compile(r".")
    credentials: ClassVar[tuple[str, ...]] = ("sdk-token",)

    # -- interface ----------------------------------------------------------

    def preflight(self, ctx: TargetContext) -> None:
        if ctx.github is None:
            raise TargetError(
                f"{ctx.key}: no GitHub client for {ctx.request.repo}",
                hint="pass a token that can write the SDK repo's releases as `sdk-token`:\n"
                     "      - uses: OWNER/valet/action-publish@v1\n"
                     "        with:\n"
                     "          sdk-token: ${{ steps.sdk-app-token.outputs.token }}",
            )
        if not ctx.request.sha:
            raise TargetError(f"{ctx.key}: the request names no release commit",
                              hint="re-run prepare + request so the issue carries the commit sha")
        # A release without assets is fine (includeNames may exclude all); the release is
        # the thing published. Names must still be valid: select them now.
        self._names(ctx)

    def __init__(self) -> None:
        # What status() read, per target key: publish() acts on it instead of
        # reading tag, releases and assets again; what could change in between is
        # caught after the publishing PATCH (its answer lists the assets with
        # their digests) and by the tag check.
        self._looked: dict[str, _Seen] = {}
        self._staged: dict[str, _Staged] = {}  # what stage() left for publish()

    def destinations(self, ctx: TargetContext) -> list[Destination]:
        """The GitHub API it writes through, and the SDK repository whose release it publishes
        (a release, a tag and release assets, nothing else)."""
        from valet.github_client import DEFAULT_API_URL

        api = (ctx.env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
        return [Destination("host", host_of(api)), Destination("repository", ctx.request.repo)]

    def status(self, ctx: TargetContext) -> StatusResult:
        seen = self._look(ctx, self._repo(ctx))
        self._looked[ctx.key] = seen
        return seen.status

    def _look(self, ctx: TargetContext, repo: Any) -> _Seen:
        """The status, plus what was read to decide it (publish acts on the same reads)."""
        tag = release_tag(ctx)
        names = self._names(ctx)
        seen = _Seen(StatusResult(State.ABSENT))
        tag_sha = self._tag_commit(repo, tag, ctx)
        if tag_sha is not None and tag_sha != ctx.request.sha:
            seen.status = StatusResult(State.CONFLICT, f"tag {tag} already points at "
                                       f"{tag_sha[:12]}, not the release commit "
                                       f"{str(ctx.request.sha)[:12]}")
            return seen
        published, draft = self._find(ctx, repo, tag, seen)
        seen.published, seen.draft = published, draft
        if published is not None:
            seen.assets = self._assets(published, ctx)
            remote = self._asset_digests(seen.assets)
            result = decide(ctx, names, remote, url=published.html_url)
            if not names:
                seen.status = StatusResult(State.PUBLISHED, "release already published",
                                           receipt=Receipt(ctx.key, published.html_url, {},
                                                           "already published"))
            elif result.state is State.ABSENT and not self._ours(ctx, published):
                seen.status = StatusResult(State.CONFLICT, f"a published release for {tag} "
                                           f"exists (id {published.id}) without our assets: "
                                           f"{result.detail}")
            else:
                seen.status = result
            return seen
        if draft is not None:
            seen.assets = self._assets(draft, ctx)
            # A cut-off upload leaves a short asset on the draft: missing, not a conflict
            # (publish replaces it with the verified file).
            whole = {n: a for n, a in seen.assets.items() if not _partial(ctx, a)}
            result = decide(ctx, names, self._asset_digests(whole))
            # What publishing would make public besides the approved files (the store
            # checks the same on its listing; a draft it never saw, as with the
            # workflow-artifacts store, is checked here).
            extra = _check_set(ctx, seen.assets.values(), required=()).extra
            if extra:
                seen.status = StatusResult(State.CONFLICT, f"the draft release {draft.id} holds "
                                           "files that were not approved: " + ", ".join(extra))
            elif result.state is State.CONFLICT:
                seen.status = StatusResult(State.CONFLICT, f"the draft release {draft.id} holds "
                                           f"other content than approved: {result.detail}")
            else:
                seen.status = StatusResult(State.ABSENT, f"draft release {draft.id} not "
                                           "published yet")
            return seen
        seen.status = StatusResult(State.ABSENT, f"no release for {tag} yet")
        return seen

    def stage(self, ctx: TargetContext) -> None:
        """Everything publishing needs that makes nothing public: the draft (created if
        the store kept the files elsewhere) holding every approved asset. The executor
        runs it while the other targets publish; ``publish`` then only makes it public."""
        tag = release_tag(ctx)
        with _api_errors(f"{ctx.key}: preparing the release {tag}"):
            self._staged[ctx.key] = self._fill(ctx, self._repo(ctx), tag)

    def _fill(self, ctx: TargetContext, repo: Any, tag: str) -> _Staged:
        # One look (tag, releases, assets) decides and is then acted on: the one
        # status() made when there is one, else a fresh one.
        seen = self._looked.pop(ctx.key, None) or self._look(ctx, repo)
        if seen.status.state is State.CONFLICT:
            raise ConflictError(f"{ctx.key}: {seen.status.detail}", hint=_CONFLICT_HINT)
        release = seen.published or seen.draft
        existing = seen.assets
        if release is None:
            release = repo.create_git_release(tag, tag, ctx.request.changelog or "",
                                              draft=True, prerelease=prerelease(ctx),
                                              target_commitish=ctx.request.sha)
            gha.info(f"{ctx.key}: created draft release {release.id} for {tag}")
            existing = {}
        uploaded = self._fill_assets(ctx, release, self._names(ctx), existing)
        return _Staged(seen, release, uploaded)

    def publish(self, ctx: TargetContext) -> Receipt:
        repo = self._repo(ctx)
        tag = release_tag(ctx)
        names = self._names(ctx)
        with _api_errors(f"{ctx.key}: publishing the release {tag}"):
            staged = self._staged.pop(ctx.key, None) or self._fill(ctx, repo, tag)
            release, uploaded = staged.release, staged.uploaded
            if release.draft:
                listed = self._tag_and_relist(ctx, repo, tag, release)
                self._still_exact(ctx, release, names, listed)
                make_latest = self._make_latest(ctx, staged.seen.releases, release.id)
                body = with_checksums(ctx, ctx.request.changelog or release.body or "")
                release = release.update_release(
                    name=release.name or tag, message=body, draft=False,
                    prerelease=prerelease(ctx), tag_name=tag,
                    target_commitish=ctx.request.sha, make_latest=make_latest)
                gha.info(f"{ctx.key}: published release {tag} (prerelease={prerelease(ctx)}, "
                         f"make_latest={make_latest})")
                self._verify_published(ctx, release, names)
        detail = f"release {tag}" + (f", uploaded {len(uploaded)} asset(s)" if uploaded else "")
        return Receipt(target=ctx.key, url=release.html_url,
                       digests={n: ctx.artifacts[n].sha256 for n in names}, detail=detail)

    # -- helpers ------------------------------------------------------------

    def _tag_and_relist(self, ctx: TargetContext, repo: Any, tag: str,
                        release: Any) -> list[exact_set.Listed]:
        """The tag made and the draft's assets listed again, at once: the two are the
        last calls before the PATCH and neither needs the other's answer, so the listing
        costs no round trip of its own and is still answered right before the PATCH
        (at most the tag's POST in between, which changes no asset)."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="relist") as pool:
            listing = pool.submit(self._relist, ctx, release)
            self._own_tag(ctx, repo, tag)
            return listing.result()

    def _still_exact(self, ctx: TargetContext, release: Any, names: list[str],
                     listed: list[exact_set.Listed] | None = None) -> None:
        """The draft's assets as listed again right before the PATCH that makes it public
        (one GET, ``listed`` when ``_tag_and_relist`` read it, else read here): it must
        still hold exactly the approved files.

        The store checked the set when the run began, but someone with write access
        can upload to the draft while the other targets publish. GitHub offers no
        atomic check-and-publish (the PATCH takes no expected asset list), so this
        narrows the window to the one round trip before the PATCH and cannot close
        it; what lands in that moment shows in the PATCH's answer, and
        ``_verify_published`` turns the release back into a draft (docs/security.md).
        """
        if listed is None:
            listed = self._relist(ctx, release)
        problems = _check_set(ctx, listed, required=names)
        if problems:
            raise IntegrityError(
                f"{ctx.key}: the draft release {release.id} changed after the request: "
                f"{problems.describe()}. It stays a draft: nothing of it was made public",
                hint=_CHANGED_HINT.format(repo=ctx.request.repo, id=release.id))

    def _relist(self, ctx: TargetContext, release: Any) -> list[exact_set.Listed]:
        if ctx.releases is not None:  # the run's client (retries, pacing), not its listing
            path = f"/repos/{ctx.request.repo}/releases/{int(release.id)}/assets"
            return [exact_set.listed(a) for a in ctx.releases.rest.items(path)
                    if isinstance(a, dict)]
        return [exact_set.listed(a) for a in release.get_assets()]

    def _verify_published(self, ctx: TargetContext, release: Any, names: list[str]) -> None:
        """Check the assets GitHub reports in its answer to the publishing PATCH.

        An asset swapped on, added to or removed from the draft after it was last
        listed would otherwise stay public: on any set other than the approved one
        the release is turned back into a draft and the target fails.
        """
        raw = getattr(release, "raw_data", None) or {}
        assets = [a for a in raw.get("assets") or [] if isinstance(a, dict)]
        listed = {a.get("name"): parse_asset_digest(a.get("digest")) for a in assets}
        wrong = sorted(n for n in names
                       if listed.get(n) and listed[n] != ctx.artifacts[n].sha256)
        problems = _check_set(ctx, [exact_set.listed(a) for a in assets], required=names) \
            if "assets" in raw else exact_set.Problems()
        if not wrong and not problems:
            return
        try:
            release.update_release(name=release.name or release.tag_name,
                                   message=release.body or "", draft=True)
        except Exception as exc:  # noqa: BLE001 - report the conflict whatever happens here
            gha.error(f"{ctx.key}: could not turn the release back into a draft: {exc}")
        if not wrong:
            raise IntegrityError(
                f"{ctx.key}: the draft release {release.id} changed while it was published: "
                f"{problems.describe()}. The release was turned back into a draft",
                hint=_CHANGED_HINT.format(repo=ctx.request.repo, id=release.id))
        raise ConflictError(
            f"{ctx.key}: after publishing, GitHub lists other content than approved for "
            f"{', '.join(wrong)}; the release was turned back into a draft",
            hint="someone changed the draft's assets after the check: find out who, delete "
                 "the draft and run prepare again")

    def _own_tag(self, ctx: TargetContext, repo: Any, tag: str) -> None:
        """The tag at the release commit before the release goes public.

        GitHub publishes a release on an existing tag as it is and ignores
        target_commitish: a tag someone made at another commit since the status check
        would carry the public release (and its source archives). So the tag is created
        here, at the release commit; if it exists, it must point there already."""
        from github import GithubException

        sha = str(ctx.request.sha)
        if self._tag_commit(repo, tag, ctx) == sha:
            return
        try:
            repo.create_git_ref(f"refs/tags/{tag}", sha)
            return
        except GithubException as exc:
            if exc.status != 422:  # 422: it exists (made meanwhile): see where it points
                raise
        if ctx.releases is not None:
            ctx.releases.forget_tag(tag)
        now = self._tag_commit(repo, tag, ctx)
        if now != sha:
            # say so loudly, before anything is public
            raise ConflictError(f"{ctx.key}: tag {tag} points at {str(now)[:12]}, not the "
                                f"release commit {sha[:12]}", hint=_CONFLICT_HINT)

    def _names(self, ctx: TargetContext) -> list[str]:
        return select_files(ctx.target, self.default_include, list(ctx.files))

    def _repo(self, ctx: TargetContext) -> Any:
        if ctx.github is None:
            raise TargetError(f"{ctx.key}: no GitHub client", hint="pass `sdk-token`")
        return ctx.github.get_repo(ctx.request.repo)

    def _ours(self, ctx: TargetContext, release: Any) -> bool:
        return ctx.request.release_id is not None and release.id == ctx.request.release_id

    def _find(self, ctx: TargetContext, repo: Any, tag: str,
              seen: _Seen | None = None) -> tuple[Any | None, Any | None]:
        """(the published release for the tag or None, our draft or None)."""
        from github import GithubException

        index = ctx.releases
        try:
            if index is not None:
                releases = [index.obj(r) for r in index.releases()]
            else:
                releases = list(repo.get_releases())
            if seen is not None:
                seen.releases = releases
            matches = [r for r in releases if r.tag_name == tag]
            if ctx.request.release_id is not None and not any(
                    r.id == ctx.request.release_id for r in matches):
                try:
                    if index is not None:
                        raw = index.release(int(ctx.request.release_id))
                        if raw is None:
                            raise GithubException(404, {"message": "Not Found"}, None)
                        rel = index.obj(raw)
                    else:
                        rel = repo.get_release(int(ctx.request.release_id))
                except GithubException as exc:
                    if exc.status != 404:
                        raise
                else:
                    if rel.tag_name != tag:
                        raise TargetError(
                            f"{ctx.key}: release {rel.id} is for tag {rel.tag_name!r}, not {tag!r}",
                            hint="the request and the SDK configuration disagree on the tag: "
                                 f"check {ctx.config.key_name('tag_prefix')} in the config of "
                                 "the merge target")
                    matches.append(rel)
        except GithubException as exc:
            raise TargetError(str(wrap(exc, f"listing the releases of {ctx.request.repo}"))) from None
        published = [r for r in matches if not r.draft]
        drafts = [r for r in matches if r.draft]
        if ctx.request.release_id is not None:
            # Several drafts may share a tag (GitHub binds a draft to none): only the one
            # the request records holds the approved files; gone, nothing else stands in.
            if not any(r.id == ctx.request.release_id for r in matches):
                raise IntegrityError(
                    f"{ctx.key}: the draft release {ctx.request.release_id} the request names "
                    f"is gone from {ctx.request.repo}",
                    hint="the draft release was deleted after the request: run the release "
                         "again for a new request (another draft of the tag is never used)")
            drafts = [r for r in drafts if r.id == ctx.request.release_id]
        drafts.sort(key=lambda r: r.id)
        return (published[0] if published else None), (drafts[0] if drafts else None)

    def _tag_commit(self, repo: Any, tag: str, ctx: TargetContext | None = None) -> str | None:
        """The commit the tag points at (annotated tags followed), None if no such tag."""
        from github import GithubException

        if ctx is not None and ctx.releases is not None:
            try:
                return ctx.releases.tag_commit(tag)  # type: ignore[no-any-return]
            except GitHubError as exc:
                raise TargetError(f"{ctx.key}: {exc.message}", hint=exc.hint) from None
        try:
            ref = repo.get_git_ref(f"tags/{tag}")
            obj_type, sha = ref.object.type, ref.object.sha
            for _ in range(5):
                if obj_type != "tag":
                    break
                tag_obj = repo.get_git_tag(sha)
                obj_type, sha = tag_obj.object.type, tag_obj.object.sha
            return str(sha)
        except GithubException as exc:
            if exc.status == 404:
                return None
            raise TargetError(str(wrap(exc, f"reading the tag {tag}"))) from None

    def _assets(self, release: Any, ctx: TargetContext | None = None) -> dict[str, Any]:
        if ctx is not None and ctx.releases is not None:
            return {a.name: a for a in release.assets}  # listed with the release
        return {a.name: a for a in release.get_assets()}

    def _asset_digests(self, assets: dict[str, Any]) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for asset in assets.values():
            if getattr(asset, "state", "uploaded") not in (None, "uploaded"):
                continue  # a broken upload: not there
            out[asset.name] = asset_sha256(asset)
        return out

    def _fill_assets(self, ctx: TargetContext, release: Any, names: list[str],
                     existing: dict[str, Any]) -> list[str]:
        missing = []
        for n in names:
            asset = existing.get(n)
            if asset is not None and (getattr(asset, "state", "uploaded") not in (None, "uploaded")
                                      or (release.draft and _partial(ctx, asset))):
                asset.delete_asset()  # a half-finished upload left by an earlier run
                asset = None
            if asset is not None:
                if asset_sha256(asset) != ctx.artifacts[n].sha256:
                    raise ConflictError(f"{ctx.key}: release asset {n} differs from the "
                                        "approved file", hint=_CONFLICT_HINT)
                continue
            missing.append(n)
        if missing:
            upload_assets(ctx, release, missing)
        return missing

    def _make_latest(self, ctx: TargetContext, releases: list[Any], own_id: int) -> str:
        others = [r.tag_name for r in releases
                  if not r.draft and not r.prerelease and r.id != own_id]
        return make_latest(ctx.request.version, others, prefix=tag_prefix(ctx.config))


def upload_assets(ctx: TargetContext, release: Any, names: list[str]) -> None:
    """Upload ``names`` (verified local files) to the draft, a few at once, streamed.

    Each upload is the store's: a failed attempt's leftover is removed before the
    next, so a name is never held twice."""
    from concurrent.futures import ThreadPoolExecutor

    from valet import github_client
    from valet.store import DOWNLOADS_AT_ONCE
    from valet.store.github_release import GitHubReleaseStore

    uploader = GitHubReleaseStore(gh=ctx.github, repo=ctx.request.repo, tag=release_tag(ctx),
                                  version=ctx.request.version,
                                  session=github_client.session(github_client.token_of(ctx.github)))

    def one(name: str) -> None:
        gha.info(f"{ctx.key}: uploading release asset {name}")
        uploader.upload_asset(release, name, ctx.files[name], ctx.artifacts[name].size)

    with ThreadPoolExecutor(max_workers=min(DOWNLOADS_AT_ONCE, len(names)),
                            thread_name_prefix="asset") as pool:
        for done in [pool.submit(one, n) for n in names]:
            done.result()


@dataclass
class _Staged:
    """The draft as stage() left it: ready to be made public."""

    seen: _Seen
    release: Any
    uploaded: list[str]


@dataclass
class _Seen:
    """What one status look read: publish acts on it instead of asking again."""

    status: StatusResult
    published: Any = None
    draft: Any = None
    releases: list[Any] = field(default_factory=list)  # every release of the repo
    assets: dict[str, Any] = field(default_factory=dict)  # name -> asset of published/draft


@contextlib.contextmanager
def _api_errors(doing: str) -> Iterator[None]:
    """GitHub's refusals and silences while ``doing`` as the target's errors."""
    from github import GithubException

    try:
        yield
    except GithubException as exc:
        raise TargetError(str(wrap(exc, doing))) from None
    except requests.RequestException as exc:  # retries used up on 5xx, or a network error
        raise TargetError(f"{doing} failed: {exc}",
                          hint="GitHub did not answer: add `accepted` again to resume (the "
                               "draft and its assets are checked and finished)") from None


_CONFLICT_HINT = ("a published release is never changed by valet: delete or fix the release/tag "
                  "by hand if it is wrong, or release a new version")
_CHANGED_HINT = ("someone with write access to {repo} changed the draft release {id} while "
                 "valet published: find out who, delete from the draft what nobody approved "
                 "(or upload what is missing from a new request), then add `accepted` again "
                 "(the targets already out are skipped)")


def _check_set(ctx: TargetContext, assets: Any, *,
               required: Any) -> exact_set.Problems:
    """``assets`` against the request: its approved files (``required``: those this
    target needs on the draft), valet's manifest.json, nothing else."""
    req = ctx.request
    return exact_set.check(
        [a if isinstance(a, exact_set.Listed) else exact_set.listed(a) for a in assets],
        {a.name: a for a in req.artifacts}, required=required,
        manifest=exact_set.manifest_for(req.version, req.artifacts, repo=req.repo, sha=req.sha))


# -- pure helpers (unit tested) ---------------------------------------------


def release_tag(ctx: TargetContext) -> str:
    return tag_name(ctx.config, ctx.request.version)


def prerelease(ctx: TargetContext) -> bool:
    return is_prerelease_version(ctx.request.version)


def is_prerelease_version(version: str) -> bool:
    try:
        return bool(parse_version(version, tag=True).prerelease)
    except VersionError:
        return "-" in version.split("+", 1)[0]


def make_latest(version: str, other_tags: list[str], *, prefix: str) -> str:
    """"true" only if `version` is a release >= every published release of this prefix."""
    try:
        mine = parse_version(version, tag=True)
    except VersionError:
        return "false"
    if mine.prerelease:
        return "false"
    for _tag, other in versions_from_tags(other_tags, prefix=prefix):
        if not other.prerelease and other > mine:
            return "false"
    return "true"


def _partial(ctx: TargetContext, asset: Any) -> bool:
    """An asset of ours whose size is not the approved size: an upload cut off."""
    art = ctx.artifacts.get(asset.name)
    return art is not None and getattr(asset, "size", art.size) != art.size


def parse_asset_digest(value: str | None) -> str | None:
    if not value or not isinstance(value, str):
        return None
    algo, _, hexdigest = value.partition(":")
    if algo.lower() != "sha256" or not re.fullmatch(r"[0-9a-fA-F]{64}", hexdigest):
        return None
    return hexdigest.lower()


def asset_sha256(asset: Any) -> str:
    """The asset's sha256: GitHub's `digest` field, or hashed while streaming it."""
    digest = parse_asset_digest(getattr(asset, "digest", None))
    if digest:
        return digest
    try:
        status, _headers, blocks = asset.download_asset(chunk_size=CHUNK)
    except Exception as exc:  # noqa: BLE001 - PyGithub raises several kinds here
        raise GitHubError(f"downloading release asset {asset.name} to check it failed: {exc}") from None
    if status != 200:
        raise GitHubError(f"downloading release asset {asset.name} answered HTTP {status}")
    h = hashlib.sha256()
    for block in blocks:
        h.update(block)
    return h.hexdigest()


CHECKSUMS_MARKER = "<!-- valet:checksums -->"


def with_checksums(ctx: TargetContext, body: str) -> str:
    """Append a checksum table to the release notes when the target asks for one
    (craft's `checksums`). sha256 comes from the approved manifest; other
    algorithms are computed from the verified local files. Idempotent."""
    algorithms = [str(a) for a in (option(ctx, "checksums") or [])]
    if not algorithms or CHECKSUMS_MARKER in body:
        return body
    names = sorted(ctx.files)
    head = "| file | " + " | ".join(algorithms) + " |"
    rule = "|---|" + "---|" * len(algorithms)
    rows = []
    for name in names:
        cells = []
        for algo in algorithms:
            if algo == "sha256" and name in ctx.artifacts:
                cells.append(ctx.artifacts[name].sha256)
            else:
                digest = hashlib.new(algo)
                with open(ctx.files[name], "rb") as fh:
                    for block in iter(lambda: fh.read(1024 * 1024), b""):
                        digest.update(block)
                cells.append(digest.hexdigest())
        rows.append(f"| `{name}` | " + " | ".join(f"`{c}`" for c in cells) + " |")
    table = "\n".join([CHECKSUMS_MARKER, "### Checksums", "", head, rule, *rows])
    return (body.rstrip() + "\n\n" + table + "\n") if body.strip() else table + "\n"
