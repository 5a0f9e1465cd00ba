"""commit-on-git-repository target against the sandbox, read back with git clone."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.git_scene import Scene, git, make_scene
from valet.errors import ConflictError, TargetError
from valet.targets.base import State
from valet.targets.commit_on_git_repository import CommitOnGitRepositoryTarget

pytestmark = pytest.mark.sandbox


@pytest.fixture
def scene(sandbox_env: Any, tmp_path: Path) -> Scene:
    return make_scene(sandbox_env, tmp_path / "scene")


def deno_tgz(directory: Path, version: str, files: dict[str, bytes]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"acme-deno-{version}.tgz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size, info.mtime = len(data), 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return path


def _options(repo: str, **extra: Any) -> dict[str, Any]:
    return {"repository": repo, "branch": "main", "strip_components": 1, **extra}


def _files(checkout: Path) -> dict[str, bytes]:
    return {str(p.relative_to(checkout)): p.read_bytes() for p in checkout.rglob("*")
            if p.is_file() and ".git" not in p.relative_to(checkout).parts}


def test_commit_and_tag_read_back_and_a_rerun_writes_nothing(scene: Scene,
                                                             tmp_path: Path) -> None:
    deno = scene.repo({"old.ts": "gone soon\n"}, prefix="deno")
    files = {"mod.ts": b"export const v = '1.2.0';\n", "README.md": b"# deno\n"}
    ctx = scene.ctx(tmp_path / "c", [deno_tgz(tmp_path / "a", "1.2.0", files)],
                    name="commit-on-git-repository", target_id="acme/deno",
                    include=r"^acme-deno-\d.*\.tgz$", options=_options(deno))
    target = CommitOnGitRepositoryTarget()
    target.preflight(ctx)
    assert [d.value for d in target.destinations(ctx) if d.kind == "repository"] == [deno]
    assert target.status(ctx).state is State.ABSENT
    receipt = target.publish(ctx)

    checkout = scene.clone(deno)
    assert _files(checkout) == files  # stripped one level; the old content is gone
    assert git(checkout, "log", "-1", "--format=%s").strip() == "release: 1.2.0"
    head = git(checkout, "rev-parse", "HEAD").strip()
    assert git(checkout, "rev-parse", "1.2.0^{commit}").strip() == head
    assert receipt.url and receipt.url.endswith(head)

    scene.sb.admin.clear_request_log()
    again = CommitOnGitRepositoryTarget()
    assert again.status(ctx).state is State.PUBLISHED
    again.publish(ctx)
    assert scene.writes(deno) == []


def test_a_commit_without_its_tag_gets_only_the_tag(scene: Scene, tmp_path: Path) -> None:
    deno = scene.repo({"old.ts": "x\n"}, prefix="deno")
    archive = deno_tgz(tmp_path / "a", "1.3.0", {"mod.ts": b"1.3.0"})
    untagged = scene.ctx(tmp_path / "c1", [archive], name="commit-on-git-repository",
                         version="1.3.0", options=_options(deno, create_tag=False))
    CommitOnGitRepositoryTarget().publish(untagged)
    first = git(scene.clone(deno), "rev-parse", "HEAD").strip()
    # a run interrupted after the commit: the tag is what is missing
    ctx = scene.ctx(tmp_path / "c2", [archive], name="commit-on-git-repository", version="1.3.0",
                    options=_options(deno))
    status = CommitOnGitRepositoryTarget().status(ctx)
    assert status.state is State.ABSENT and "tag 1.3.0 missing" in status.detail
    CommitOnGitRepositoryTarget().publish(ctx)
    checkout = scene.clone(deno)
    assert git(checkout, "rev-parse", "HEAD").strip() == first  # no second commit
    assert git(checkout, "rev-parse", "1.3.0^{commit}").strip() == first


def test_a_tag_holding_other_content_is_a_conflict(scene: Scene, tmp_path: Path) -> None:
    deno = scene.repo({"mod.ts": "someone else's 1.2.0\n"}, prefix="deno")
    scene.push_change(deno, "main", lambda c: None, "release: 1.2.0", tags=("1.2.0",))
    ctx = scene.ctx(tmp_path / "c", [deno_tgz(tmp_path / "a", "1.2.0", {"mod.ts": b"ours"})],
                    name="commit-on-git-repository", options=_options(deno))
    status = CommitOnGitRepositoryTarget().status(ctx)
    assert status.state is State.CONFLICT and "tag 1.2.0" in status.detail
    scene.sb.admin.clear_request_log()
    with pytest.raises(ConflictError):
        CommitOnGitRepositoryTarget().publish(ctx)
    assert scene.writes(deno) == []


def test_a_missing_branch_is_an_error_not_a_new_branch(scene: Scene, tmp_path: Path) -> None:
    deno = scene.repo({"a": "b"}, prefix="deno")
    ctx = scene.ctx(tmp_path / "c", [deno_tgz(tmp_path / "a", "1.2.0", {"m": b"1"})],
                    name="commit-on-git-repository",
                    options={**_options(deno), "branch": "release-line"})
    with pytest.raises(TargetError, match="has no branch release-line"):
        CommitOnGitRepositoryTarget().status(ctx)
