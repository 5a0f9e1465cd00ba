"""`upm`: a Unity package released from its own repository.

The approved ``package-release.zip`` (craft's name; ``include_names`` picks
another) is read with valet.archive's checks and replaces the content of
``branch`` (default ``main``) of the release repository ``repository``, in one
commit ``release <version>`` pushed together with the tag ``<version>``
(atomically, never forced). Then a GitHub release is published there for that
tag, with the changelog as its notes, ``prerelease`` from the version and
``make_latest`` only for the highest release (the github target's rule).

Status:
- the tag exists: its tree is the package's and a published release exists ->
  done; no release yet -> publish creates it; another tree -> conflict;
- a commit ``release <version>`` in the branch's recent history: the package's
  tree -> publish pushes only the tag and the release; another tree -> conflict;
- otherwise -> publish.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from valet import gha
from valet.archive import Entry, read_archive
from valet.errors import ConflictError, GitHubError, TargetError
from valet.github_client import wrap
from valet.refs import is_valid_ref_name
from valet.targets.base import (
    Destination,
    Receipt,
    State,
    StatusResult,
    TargetContext,
    option,
    select_files,
)
from valet.targets.git_destination import (
    RemoteRepo,
    api_host,
    check_branch,
    check_repo,
    git_host,
    push_with_retry,
    require_token,
    token_var,
)
from valet.targets.github import make_latest, prerelease

DEFAULT_BRANCH = "main"


def message(version: str) -> str:
    return f"release {version}"


class UpmTarget:
    name: ClassVar[str] = "upm"
    default_include: ClassVar[re.Pattern[str]] = re.compile(r"^package-release\.zip$")
    credentials: ClassVar[tuple[str, ...]] = ("UPM_GITHUB_TOKEN",)

    def __init__(self) -> None:
        self._repos: dict[str, RemoteRepo] = {}
        self._entries: dict[str, list[Entry]] = {}

    def preflight(self, ctx: TargetContext) -> None:
        repo = repository(ctx)
        branch(ctx)
        if not is_valid_ref_name(ctx.request.version):
            raise TargetError(f"{ctx.key}: {ctx.request.version!r} cannot be a tag name")
        self._archive_name(ctx)
        require_token(ctx, self.name, repo)
        self._content(ctx)

    def status(self, ctx: TargetContext) -> StatusResult:
        return self._look(ctx).status

    def publish(self, ctx: TargetContext) -> Receipt:
        repo = self._repo(ctx)
        full = repository(ctx)
        tag = ctx.request.version

        def attempt() -> _Look | None:
            look = self._look(ctx)
            if look.status.state is State.CONFLICT:
                raise ConflictError(f"{ctx.key}: {look.status.detail}", hint=_CONFLICT_HINT)
            if look.status.state is State.PUBLISHED or look.tagged is not None:
                return look
            if look.committed is not None:
                updates = {f"refs/tags/{tag}": look.committed}
            else:
                commit = repo.build(message(tag), self._content(ctx), parent=look.tip,
                                    replace=True)
                updates = {f"refs/heads/{branch(ctx)}": commit, f"refs/tags/{tag}": commit}
            if not repo.push(updates):
                return None
            look.tagged = updates[f"refs/tags/{tag}"]
            gha.info(f"{ctx.key}: {full}: pushed {tag} at {look.tagged[:12]}")
            return look

        look: _Look = push_with_retry(attempt, key=ctx.key, repo=f"{full}@{branch(ctx)}")
        if look.status.state is State.PUBLISHED:
            assert look.status.receipt is not None
            return look.status.receipt
        release = self._release(ctx, look.releases, look.tagged)
        return self._receipt(ctx, release.get("html_url"), f"{full}: release {tag}")

    def destinations(self, ctx: TargetContext) -> list[Destination]:
        return [git_host(ctx), api_host(ctx), Destination("repository", repository(ctx))]

    # -- helpers ------------------------------------------------------------

    def _archive_name(self, ctx: TargetContext) -> str:
        names = select_files(ctx.target, self.default_include, list(ctx.files))
        if len(names) != 1:
            found = ", ".join(names) or "none"
            raise TargetError(f"{ctx.key}: needs exactly one package archive among the "
                              f"approved artifacts, found {found}",
                              hint="ship the package as package-release.zip, or select it "
                                   "with include_names")
        return names[0]

    def _content(self, ctx: TargetContext) -> list[Entry]:
        if ctx.key not in self._entries:
            self._entries[ctx.key] = read_archive(ctx.files[self._archive_name(ctx)])
        return self._entries[ctx.key]

    def _repo(self, ctx: TargetContext) -> RemoteRepo:
        if ctx.key not in self._repos:
            full = repository(ctx)
            self._repos[ctx.key] = RemoteRepo(full, require_token(ctx, self.name, full),
                                              ctx.workdir, key=ctx.key)
        return self._repos[ctx.key]

    def _receipt(self, ctx: TargetContext, url: Any, detail: str) -> Receipt:
        name = self._archive_name(ctx)
        return Receipt(target=ctx.key, url=str(url) if url else None,
                       digests={name: ctx.artifacts[name].sha256}, detail=detail)

    def _look(self, ctx: TargetContext) -> _Look:
        repo = self._repo(ctx)
        full, tag = repository(ctx), ctx.request.version
        where = f"{full}@{branch(ctx)}"
        tip = repo.fetch_branch(branch(ctx))
        ours = repo.tree_of(self._content(ctx))
        look = _Look(StatusResult(State.ABSENT, f"{where} does not hold {tag} yet"), tip)
        tagged = repo.fetch_tag(tag)
        if tagged is not None:
            if repo.tree(tagged) != ours:
                look.status = StatusResult(State.CONFLICT, f"the tag {tag} of {full} holds "
                                           "other content")
                return look
            look.tagged = tagged
            look.releases = _Releases(ctx, full).list()
            published = [r for r in look.releases if r.get("tag_name") == tag
                         and not r.get("draft")]
            if published:
                look.status = StatusResult(State.PUBLISHED, f"{full}: release {tag} is out",
                                           receipt=self._receipt(ctx, published[0].get("html_url"),
                                                                 "already published"))
            else:
                look.status = StatusResult(State.ABSENT, f"tag {tag} is there, its release "
                                           "is not")
            return look
        for entry in repo.log(tip) if tip else []:
            if entry.subject != message(tag):
                continue
            if entry.tree != ours:
                look.status = StatusResult(State.CONFLICT, f"{where} has a commit "
                                           f"{entry.sha[:12]} for {tag} with other content")
            else:
                look.committed = entry.sha
                look.status = StatusResult(State.ABSENT, f"committed in {entry.sha[:12]}, tag "
                                           f"{tag} missing")
            return look
        look.releases = []
        return look

    def _release(self, ctx: TargetContext, releases: list[dict[str, Any]] | None,
                 commit: str | None) -> dict[str, Any]:
        """The published release for the tag: created (or a draft of it published)."""
        api = _Releases(ctx, repository(ctx))
        tag = ctx.request.version
        current = releases if releases is not None else api.list()
        others = [str(r.get("tag_name")) for r in current
                  if not r.get("draft") and not r.get("prerelease") and r.get("tag_name") != tag]
        body = {"tag_name": tag, "target_commitish": commit, "name": tag,
                "body": ctx.request.changelog or "",
                "draft": False, "prerelease": prerelease(ctx),
                "make_latest": make_latest(tag, others, prefix="")}
        drafts = [r for r in current if r.get("tag_name") == tag and r.get("draft")]
        if drafts:
            return api.call("PATCH", f"/releases/{drafts[0]['id']}", body)
        return api.call("POST", "/releases", body)


_CONFLICT_HINT = ("valet never rewrites a released package: check the release repository, or "
                  "release a new version")


class _Look:
    def __init__(self, status: StatusResult, tip: str | None) -> None:
        self.status = status
        self.tip = tip
        self.tagged: str | None = None  # the commit the tag points at
        self.committed: str | None = None  # our commit, not tagged yet
        self.releases: list[dict[str, Any]] | None = None


class _Releases:
    """The release calls on the release repository, with upm's token."""

    def __init__(self, ctx: TargetContext, repo: str) -> None:
        own = ctx.env.get(token_var(UpmTarget.name))
        if own:
            from valet.github_client import connect

            self.gh = connect(own, what=token_var(UpmTarget.name))
        elif ctx.github is not None:
            self.gh = ctx.github
        else:
            raise TargetError(f"{ctx.key}: no GitHub client for {repo}",
                              hint=f"pass `sdk-token`, or set {token_var(UpmTarget.name)}")
        self.base = f"/repos/{repo}"
        self.key = ctx.key

    def call(self, verb: str, path: str, body: Any = None) -> dict[str, Any]:
        from github import GithubException

        try:
            _h, data = self.gh.requester.requestJsonAndCheck(verb, self.base + path, input=body)
        except GithubException as exc:
            raise TargetError(str(wrap(exc, f"{self.key}: {verb} {self.base}{path}"))) from None
        if not isinstance(data, dict):
            raise GitHubError(f"{self.key}: {verb} {self.base}{path} answered no object")
        return data

    def list(self) -> list[dict[str, Any]]:
        from github import GithubException

        try:
            _h, data = self.gh.requester.requestJsonAndCheck(
                "GET", f"{self.base}/releases", parameters={"per_page": 100})
        except GithubException as exc:
            raise TargetError(str(wrap(exc, f"{self.key}: listing the releases of "
                                            f"{self.base[7:]}"))) from None
        return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


def repository(ctx: TargetContext) -> str:
    return check_repo(ctx.key, option(ctx, "repository"), "repository")


def branch(ctx: TargetContext) -> str:
    return check_branch(ctx.key, option(ctx, "branch") or DEFAULT_BRANCH)
