"""`commit-on-git-repository`: an archive's content committed to another repository.

The archive is the one approved artifact ``include_names`` selects (craft's
``archive`` option maps there); tar (``.tgz``) or zip. It is read with
valet.archive's checks and ``strip_components`` leading directories dropped
(as ``tar --strip-components``), then replaces the content of ``branch`` of
``repository`` in one commit ``release: <version>``. With ``create_tag``
(default, as craft does) the tag ``<version>`` is pushed with it, atomically.
Never a force push: craft forces, valet refuses to rewrite history.

Status:
- the tag ``<version>`` exists: its tree is the archive's -> done; another
  tree -> conflict;
- a commit ``release: <version>`` in the branch's recent history with the
  archive's tree -> done (with ``create_tag``: only the tag is pushed); with
  another tree -> conflict;
- otherwise -> publish.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from valet import gha
from valet.archive import Entry, read_archive
from valet.errors import ConflictError, TargetError
from valet.github_client import server_url
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
    check_branch,
    check_repo,
    git_host,
    push_with_retry,
    require_token,
)


def message(version: str) -> str:
    return f"release: {version}"


class CommitOnGitRepositoryTarget:
    name: ClassVar[str] = "commit-on-git-repository"
    default_include: ClassVar[re.Pattern[str]] = re.compile(r"\.(?:tgz|tar\.gz)$")
    credentials: ClassVar[tuple[str, ...]] = ("COMMIT_ON_GIT_REPOSITORY_GITHUB_TOKEN",)

    def __init__(self) -> None:
        self._repos: dict[str, RemoteRepo] = {}
        self._entries: dict[str, list[Entry]] = {}

    def preflight(self, ctx: TargetContext) -> None:
        repo = repository(ctx)
        branch(ctx)
        strip_components(ctx)
        if create_tag(ctx) and not is_valid_ref_name(ctx.request.version):
            raise TargetError(f"{ctx.key}: {ctx.request.version!r} cannot be a tag name")
        self._archive_name(ctx)
        require_token(ctx, self.name, repo)
        self._content(ctx)

    def status(self, ctx: TargetContext) -> StatusResult:
        return self._look(ctx)[0]

    def publish(self, ctx: TargetContext) -> Receipt:
        repo = self._repo(ctx)
        where = f"{repository(ctx)}@{branch(ctx)}"
        tag_ref = f"refs/tags/{ctx.request.version}"

        def attempt() -> Receipt | None:
            result, tip, found = self._look(ctx)
            if result.state is State.CONFLICT:
                raise ConflictError(f"{ctx.key}: {result.detail}", hint=_CONFLICT_HINT)
            if result.state is State.PUBLISHED:
                assert result.receipt is not None
                return result.receipt
            if found is not None:  # our commit is there, the tag is not
                if not repo.push({tag_ref: found}):
                    return None
                return self._receipt(ctx, found, f"tagged {ctx.request.version} at "
                                                 f"{found[:12]}")
            commit = repo.build(message(ctx.request.version), self._content(ctx), parent=tip,
                                replace=True)
            updates = {f"refs/heads/{branch(ctx)}": commit}
            if create_tag(ctx):
                updates[tag_ref] = commit
            if not repo.push(updates):
                return None
            gha.info(f"{ctx.key}: committed {ctx.request.version} to {where}")
            return self._receipt(ctx, commit, f"{where}: {len(self._content(ctx))} file(s)"
                                 + (f", tag {ctx.request.version}" if create_tag(ctx) else ""))

        receipt: Receipt = push_with_retry(attempt, key=ctx.key, repo=where)
        return receipt

    def destinations(self, ctx: TargetContext) -> list[Destination]:
        return [git_host(ctx), Destination("repository", repository(ctx))]

    # -- helpers ------------------------------------------------------------

    def _archive_name(self, ctx: TargetContext) -> str:
        names = select_files(ctx.target, self.default_include, list(ctx.files))
        if len(names) != 1:
            found = ", ".join(names) or "none"
            raise TargetError(f"{ctx.key}: needs exactly one archive among the approved "
                              f"artifacts, found {found}",
                              hint="select the archive with include_names (craft: `archive`)")
        return names[0]

    def _content(self, ctx: TargetContext) -> list[Entry]:
        if ctx.key not in self._entries:
            name = self._archive_name(ctx)
            self._entries[ctx.key] = read_archive(ctx.files[name],
                                                  strip_components=strip_components(ctx))
        return self._entries[ctx.key]

    def _repo(self, ctx: TargetContext) -> RemoteRepo:
        if ctx.key not in self._repos:
            full = repository(ctx)
            self._repos[ctx.key] = RemoteRepo(full, require_token(ctx, self.name, full),
                                              ctx.workdir, key=ctx.key)
        return self._repos[ctx.key]

    def _receipt(self, ctx: TargetContext, commit: str, detail: str) -> Receipt:
        name = self._archive_name(ctx)
        return Receipt(target=ctx.key, url=f"{server_url()}/{repository(ctx)}/commit/{commit}",
                       digests={name: ctx.artifacts[name].sha256}, detail=detail)

    def _look(self, ctx: TargetContext) -> tuple[StatusResult, str | None, str | None]:
        """(status, branch tip, our commit lacking only its tag)."""
        repo = self._repo(ctx)
        where = f"{repository(ctx)}@{branch(ctx)}"
        version = ctx.request.version
        tip = repo.fetch_branch(branch(ctx))
        if tip is None:
            raise TargetError(f"{ctx.key}: {repository(ctx)} has no branch {branch(ctx)}",
                              hint="create the branch first, or fix `branch`")
        ours = repo.tree_of(self._content(ctx))
        tagged = repo.fetch_tag(version) if create_tag(ctx) else None
        if tagged is not None:
            if repo.tree(tagged) == ours:
                return (StatusResult(State.PUBLISHED, f"tag {version} holds the archive",
                                     receipt=self._receipt(ctx, tagged, "already published")),
                        tip, None)
            return (StatusResult(State.CONFLICT, f"the tag {version} of {repository(ctx)} "
                                 "holds other content"), tip, None)
        for entry in repo.log(tip):
            if entry.subject != message(version):
                continue
            if entry.tree != ours:
                return (StatusResult(State.CONFLICT, f"{where} has a commit {entry.sha[:12]} "
                                     f"for {version} with other content"), tip, None)
            if create_tag(ctx):
                return (StatusResult(State.ABSENT, f"committed in {entry.sha[:12]}, tag "
                                     f"{version} missing"), tip, entry.sha)
            return (StatusResult(State.PUBLISHED, f"committed in {entry.sha[:12]}",
                                 receipt=self._receipt(ctx, entry.sha, "already published")),
                    tip, None)
        return StatusResult(State.ABSENT, f"{where} does not hold {version} yet"), tip, None


_CONFLICT_HINT = ("valet never rewrites a published commit or tag: check the repository, or "
                  "release a new version")


def repository(ctx: TargetContext) -> str:
    return check_repo(ctx.key, option(ctx, "repository"), "repository")


def branch(ctx: TargetContext) -> str:
    value = option(ctx, "branch")
    if value is None:
        raise TargetError(f"{ctx.key}: no `branch` is set",
                          hint="name the branch of the repository to commit to, e.g. main")
    return check_branch(ctx.key, value)


def strip_components(ctx: TargetContext) -> int:
    value: Any = option(ctx, "strip_components", 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 32:
        raise TargetError(f"{ctx.key}: strip_components must be a number from 0 to 32, "
                          f"not {value!r}")
    return value


def create_tag(ctx: TargetContext) -> bool:
    value = option(ctx, "create_tag", True)
    if not isinstance(value, bool):
        raise TargetError(f"{ctx.key}: create_tag must be true or false, not {value!r}")
    return value
