"""`gh-pages`: the docs archive becomes the whole content of a branch, in one commit.

The archive is one approved artifact: by default ``gh-pages.zip`` or
``<anything>-gh-pages.zip`` (craft's convention); ``include_names`` picks
another, zip or tar. It is read with valet.archive's checks (no path out of the
tree, no link out, size limits) and, as craft does, a single top-level
directory is dropped. The content replaces the branch's tree (default
``gh-pages`` of the SDK repository; ``repository`` and ``branch`` choose
another) in one commit ``valet(gh-pages): update, version "<v>"``; a missing
branch is created without history.

Status:
- the branch's tree is exactly the archive's -> done;
- an earlier commit of ours for this version (craft's or valet's message) with
  the same tree -> done (a later release replaced it since); with another
  tree -> conflict;
- the tip is our commit for a higher version -> done, skipped: older docs never
  replace newer ones;
- otherwise -> publish.
"""

from __future__ import annotations

import re
from typing import ClassVar

from valet import gha
from valet.archive import Entry, read_archive
from valet.errors import ConflictError, TargetError, VersionError
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
    check_branch,
    check_repo,
    git_host,
    push_with_retry,
    require_token,
)
from valet.version import parse_version

DEFAULT_BRANCH = "gh-pages"
_MESSAGE_RE = re.compile(r'^(?:craft|valet)\(gh-pages\): update, version "(?P<version>[^"]+)"$')


def message(version: str) -> str:
    return f'valet(gh-pages): update, version "{version}"'


class GhPagesTarget:
    name: ClassVar[str] = "gh-pages"
    default_include: ClassVar[re.Pattern[str]] = re.compile(r"^(?:.+-)?gh-pages\.zip$")
    credentials: ClassVar[tuple[str, ...]] = ("GH_PAGES_GITHUB_TOKEN",)

    def __init__(self) -> None:
        self._repos: dict[str, RemoteRepo] = {}
        self._entries: dict[str, list[Entry]] = {}

    def preflight(self, ctx: TargetContext) -> None:
        repo = repository(ctx)
        branch(ctx)
        self._archive_name(ctx)
        require_token(ctx, self.name, repo)
        self._content(ctx)

    def status(self, ctx: TargetContext) -> StatusResult:
        repo = self._repo(ctx)
        tip = repo.fetch_branch(branch(ctx))
        return self._decide(ctx, repo, tip, self._tree(ctx, repo))

    def publish(self, ctx: TargetContext) -> Receipt:
        repo = self._repo(ctx)
        where = f"{repository(ctx)}@{branch(ctx)}"

        def attempt() -> Receipt | None:
            tip = repo.fetch_branch(branch(ctx))
            ours = self._tree(ctx, repo)
            result = self._decide(ctx, repo, tip, ours)
            if result.state is State.CONFLICT:
                raise ConflictError(f"{ctx.key}: {result.detail}", hint=_CONFLICT_HINT)
            if result.state is State.PUBLISHED:
                assert result.receipt is not None
                return result.receipt
            commit = repo.build(message(ctx.request.version), self._content(ctx), parent=tip,
                                replace=True)
            if not repo.push({f"refs/heads/{branch(ctx)}": commit}):
                return None
            gha.info(f"{ctx.key}: {where} now holds the docs of {ctx.request.version}")
            return self._receipt(ctx, f"{_web(repository(ctx))}/tree/{branch(ctx)}",
                                 f"{where}: {len(self._content(ctx))} file(s)")

        result: Receipt = push_with_retry(attempt, key=ctx.key, repo=where)
        return result

    def destinations(self, ctx: TargetContext) -> list[Destination]:
        return [git_host(ctx), Destination("repository", repository(ctx))]

    # -- helpers ------------------------------------------------------------

    def _archive_name(self, ctx: TargetContext) -> str:
        names = select_files(ctx.target, self.default_include, list(ctx.files))
        if len(names) != 1:
            found = ", ".join(names) or "none"
            raise TargetError(f"{ctx.key}: needs exactly one docs archive among the approved "
                              f"artifacts, found {found}",
                              hint="ship the docs as gh-pages.zip (or NAME-gh-pages.zip), or "
                                   "select the archive with include_names")
        return names[0]

    def _content(self, ctx: TargetContext) -> list[Entry]:
        if ctx.key not in self._entries:
            name = self._archive_name(ctx)
            self._entries[ctx.key] = read_archive(ctx.files[name], flatten=True)
        return self._entries[ctx.key]

    def _repo(self, ctx: TargetContext) -> RemoteRepo:
        if ctx.key not in self._repos:
            full = repository(ctx)
            self._repos[ctx.key] = RemoteRepo(full, require_token(ctx, self.name, full),
                                              ctx.workdir, key=ctx.key)
        return self._repos[ctx.key]

    def _tree(self, ctx: TargetContext, repo: RemoteRepo) -> str:
        """The tree the archive makes (built locally, not pushed)."""
        return repo.tree_of(self._content(ctx))

    def _receipt(self, ctx: TargetContext, url: str, detail: str) -> Receipt:
        name = self._archive_name(ctx)
        return Receipt(target=ctx.key, url=url, digests={name: ctx.artifacts[name].sha256},
                       detail=detail)

    def _decide(self, ctx: TargetContext, repo: RemoteRepo, tip: str | None,
                ours: str) -> StatusResult:
        where = f"{repository(ctx)}@{branch(ctx)}"
        url = f"{_web(repository(ctx))}/tree/{branch(ctx)}"
        if tip is None:
            return StatusResult(State.ABSENT, f"{where} does not exist yet")
        history = repo.log(tip)
        if history and history[0].tree == ours:
            return StatusResult(State.PUBLISHED, f"{where} holds the approved docs",
                                receipt=self._receipt(ctx, url, "already published"))
        for entry in history:
            m = _MESSAGE_RE.match(entry.subject)
            if m and m.group("version") == ctx.request.version:
                if entry.tree == ours:
                    return StatusResult(State.PUBLISHED, f"published in {entry.sha[:12]}, "
                                        "replaced by a later update since",
                                        receipt=self._receipt(ctx, url, "already published"))
                return StatusResult(State.CONFLICT, f"{where} has a commit {entry.sha[:12]} for "
                                    f"{ctx.request.version} with other content")
        newer = _newer_on_tip(history[0].subject if history else "", ctx.request.version)
        if newer:
            detail = f"skipped: {where} holds the docs of the newer {newer}"
            gha.warning(f"{ctx.key}: {detail}")
            return StatusResult(State.PUBLISHED, detail,
                                receipt=self._receipt(ctx, url, detail))
        return StatusResult(State.ABSENT, f"{where} does not hold {ctx.request.version} yet")


_CONFLICT_HINT = ("valet never replaces a version's docs with other content: check the "
                  "branch, or release a new version")


def _web(repo: str) -> str:
    from valet.github_client import server_url

    return f"{server_url()}/{repo}"


def _newer_on_tip(subject: str, version: str) -> str | None:
    m = _MESSAGE_RE.match(subject)
    if not m:
        return None
    try:
        theirs, mine = parse_version(m.group("version")), parse_version(version)
    except VersionError:
        return None
    return m.group("version") if mine < theirs else None


def repository(ctx: TargetContext) -> str:
    return check_repo(ctx.key, option(ctx, "repository") or ctx.request.repo, "repository")


def branch(ctx: TargetContext) -> str:
    return check_branch(ctx.key, option(ctx, "branch") or DEFAULT_BRANCH)
