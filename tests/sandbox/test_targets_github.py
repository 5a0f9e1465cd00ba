"""github target against the sandbox's GitHub fake: publish the draft, re-run is a no-op."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.unit.targets.ctx import make_ctx
from valet.config import Config
from valet.errors import ConflictError, IntegrityError
from valet.targets.base import State, TargetContext
from valet.targets.github import GitHubTarget

pytestmark = pytest.mark.sandbox


def _scene(tmp_path: Path, gh_repo_factory: Callable[..., Any],
           gh_client: Callable[[str], Any], version: str, *,
           previous: list[tuple[str, bool]] = ()) -> tuple[Any, Any, TargetContext]:
    from github import GithubException

    repo = gh_repo_factory({"README.md": "sdk\n"})
    gh = repo.gh()
    try:
        list(gh.get_releases())
    except GithubException as exc:  # the fake's releases routes are not there (yet)
        if exc.status == 404:
            pytest.skip("the sandbox serves no releases API")
        raise
    sha = gh.get_branch("main").commit.sha
    for tag, prerelease in previous:  # earlier published releases of the project
        gh.create_git_release(tag, tag, "", draft=False, prerelease=prerelease,
                              target_commitish=sha)
    files = []
    tmp_path.mkdir(parents=True, exist_ok=True)
    for name, data in ((f"acme-{version}.tgz", b"npm bytes"),
                       (f"acme-{version}.tar.gz", b"sdist bytes")):
        p = tmp_path / name
        p.write_bytes(data)
        files.append(p)
    tag = f"v{version}"
    draft = gh.create_git_release(tag, tag, "old notes", draft=True, target_commitish=sha)
    for p in files:
        draft.upload_asset(str(p), name=p.name, content_type="application/octet-stream")
    ctx = make_ctx(tmp_path, files, name="github", version=version, repo=repo.full_name, sha=sha,
                   release_id=draft.id, changelog="### Features\n- shiny\n",
                   github=gh_client(repo.token), config=Config(tag_prefix="v"))
    return repo, draft, ctx


def _writes(sandbox: Any, full_name: str) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in sandbox.admin.request_log()
            if r["method"] not in ("GET", "HEAD") and full_name in r["path"]]


def test_draft_published_with_flags_and_rerun_is_a_no_op(
        tmp_path: Path, sandbox: Any, gh_repo_factory: Callable[..., Any],
        gh_client: Callable[[str], Any]) -> None:
    repo, draft, ctx = _scene(tmp_path, gh_repo_factory, gh_client, "1.2.0",
                              previous=[("v1.1.0", False), ("v2.0.0-rc.1", True)])
    target = GitHubTarget()
    target.preflight(ctx)
    assert target.status(ctx).state is State.ABSENT

    receipt = target.publish(ctx)
    rel = repo.gh().get_release(draft.id)
    assert rel.draft is False and rel.prerelease is False
    assert rel.tag_name == "v1.2.0" and rel.body == "### Features\n- shiny\n"
    assert repo.gh().get_git_ref("tags/v1.2.0").object.sha == ctx.request.sha
    assert repo.gh().get_latest_release().id == draft.id  # make_latest=true
    assert sorted(a.name for a in rel.get_assets()) == sorted(ctx.files)
    assert receipt.url == rel.html_url

    sandbox.admin.clear_request_log()
    status = target.status(ctx)
    assert status.state is State.PUBLISHED
    assert status.receipt is not None and status.receipt.digests == receipt.digests
    target.publish(ctx)
    assert _writes(sandbox, repo.full_name) == []


def test_prerelease_and_older_versions_do_not_become_latest(
        tmp_path: Path, gh_repo_factory: Callable[..., Any],
        gh_client: Callable[[str], Any]) -> None:
    repo, draft, ctx = _scene(tmp_path, gh_repo_factory, gh_client, "3.0.0-rc.1",
                              previous=[("v2.0.0", False)])
    GitHubTarget().publish(ctx)
    rel = repo.gh().get_release(draft.id)
    assert rel.draft is False and rel.prerelease is True
    assert repo.gh().get_latest_release().tag_name == "v2.0.0"

    repo2, draft2, ctx2 = _scene(tmp_path / "old", gh_repo_factory, gh_client, "1.9.1",
                                 previous=[("v2.0.0", False)])
    GitHubTarget().publish(ctx2)
    assert repo2.gh().get_release(draft2.id).draft is False
    assert repo2.gh().get_latest_release().tag_name == "v2.0.0"


def test_a_swapped_asset_in_a_published_release_is_conflict(
        tmp_path: Path, sandbox: Any, gh_repo_factory: Callable[..., Any],
        gh_client: Callable[[str], Any]) -> None:
    repo, draft, ctx = _scene(tmp_path, gh_repo_factory, gh_client, "1.0.0")
    GitHubTarget().publish(ctx)
    rel = repo.gh().get_release(draft.id)
    (asset,) = [a for a in rel.get_assets() if a.name.endswith(".tgz")]
    asset.delete_asset()
    swapped = tmp_path / "swapped" / asset.name
    swapped.parent.mkdir()
    swapped.write_bytes(b"other bytes")
    rel.upload_asset(str(swapped), name=asset.name, content_type="application/octet-stream")
    assert GitHubTarget().status(ctx).state is State.CONFLICT
    sandbox.admin.clear_request_log()
    with pytest.raises(ConflictError):
        GitHubTarget().publish(ctx)
    assert _writes(sandbox, repo.full_name) == []


def _swap(repo: Any, draft: Any, tmp_path: Path, name: str) -> None:
    fresh = repo.gh().get_release(draft.id)
    asset = next(a for a in fresh.get_assets() if a.name == name)
    asset.delete_asset()
    evil = tmp_path / "evil" / name
    evil.parent.mkdir(exist_ok=True)
    evil.write_bytes(b"not what was approved")
    fresh.upload_asset(str(evil), name=name, content_type="application/octet-stream")


def test_asset_swapped_after_the_check_is_refused_before_going_public(
        tmp_path: Path, gh_repo_factory: Callable[..., Any],
        gh_client: Callable[[str], Any]) -> None:
    # status() is read once and publish() acts on it: a swap in between is caught by
    # the listing right before the publishing PATCH, and nothing goes public.
    repo, draft, ctx = _scene(tmp_path, gh_repo_factory, gh_client, "4.0.0")
    target = GitHubTarget()
    target.preflight(ctx)
    assert target.status(ctx).state is State.ABSENT
    _swap(repo, draft, tmp_path, "acme-4.0.0.tgz")
    with pytest.raises(IntegrityError, match="other content than approved for acme-4.0.0.tgz"):
        target.publish(ctx)
    rel = repo.gh().get_release(draft.id)
    assert rel.draft is True and rel.published_at is None


def test_asset_swapped_after_the_last_listing_goes_back_to_draft(
        tmp_path: Path, gh_repo_factory: Callable[..., Any],
        gh_client: Callable[[str], Any]) -> None:
    # GitHub has no check-and-publish in one step: a swap between the last listing and
    # the PATCH shows in the PATCH's answer, and the release goes back to draft.
    repo, draft, ctx = _scene(tmp_path, gh_repo_factory, gh_client, "4.0.1")

    class Raced(GitHubTarget):
        def _still_exact(self, ctx: Any, release: Any, names: list[str],
                         listed: Any = None) -> None:
            super()._still_exact(ctx, release, names, listed)
            _swap(repo, draft, tmp_path, "acme-4.0.1.tgz")

    target = Raced()
    target.preflight(ctx)
    assert target.status(ctx).state is State.ABSENT
    with pytest.raises(ConflictError, match="turned back into a draft"):
        target.publish(ctx)
    assert repo.gh().get_release(draft.id).draft is True
