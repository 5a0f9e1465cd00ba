"""gh-pages target against the sandbox: the docs archive becomes the branch, read back by clone."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.git_scene import Scene, artifact, git, make_scene
from valet.errors import ArtifactError, ConflictError, TargetError
from valet.targets.base import State
from valet.targets.gh_pages import GhPagesTarget

pytestmark = pytest.mark.sandbox


@pytest.fixture
def scene(sandbox_env: Any, tmp_path: Path) -> Scene:
    return make_scene(sandbox_env, tmp_path / "scene")


def docs_zip(directory: Path, files: dict[str, bytes], name: str = "acme-gh-pages.zip") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in files.items():
            z.writestr(f"html/{path}", data)
    (directory / name).write_bytes(buf.getvalue())
    return directory / name


def _tree(checkout: Path) -> dict[str, bytes]:
    return {str(p.relative_to(checkout)): p.read_bytes() for p in checkout.rglob("*")
            if p.is_file() and ".git" not in p.relative_to(checkout).parts}


def test_the_docs_replace_the_branch_and_a_rerun_writes_nothing(scene: Scene,
                                                                tmp_path: Path) -> None:
    docs = {"index.html": b"<h1>1.2.0</h1>", "js/app.js": b"run()"}
    ctx = scene.ctx(tmp_path / "c1", [docs_zip(tmp_path / "a", docs),
                                      artifact(tmp_path / "a", "acme-1.2.0.whl", b"wheel")],
                    name="gh-pages")
    target = GhPagesTarget()
    target.preflight(ctx)
    assert [d.value for d in target.destinations(ctx) if d.kind == "repository"] == [scene.sdk]
    assert target.status(ctx).state is State.ABSENT
    target.publish(ctx)

    checkout = scene.clone(scene.sdk, branch="gh-pages")
    assert _tree(checkout) == docs
    assert git(checkout, "log", "--format=%s %P").splitlines() == \
        ['valet(gh-pages): update, version "1.2.0" ']  # one root commit: no history
    assert (scene.clone(scene.sdk) / "README.md").exists()  # main is untouched

    scene.sb.admin.clear_request_log()
    again = GhPagesTarget()
    assert again.status(ctx).state is State.PUBLISHED
    again.publish(ctx)
    assert scene.writes(scene.sdk) == []

    # the next version replaces everything, on top of the previous commit
    ctx2 = scene.ctx(tmp_path / "c2", [docs_zip(tmp_path / "b", {"index.html": b"<h1>1.3</h1>"})],
                     name="gh-pages", version="1.3.0")
    GhPagesTarget().publish(ctx2)
    checkout = scene.clone(scene.sdk, branch="gh-pages")
    assert _tree(checkout) == {"index.html": b"<h1>1.3</h1>"}
    assert len(git(checkout, "log", "--format=%H").split()) == 2

    # 1.2.0 again: found in the history with the same docs -> done, nothing written
    scene.sb.admin.clear_request_log()
    status = GhPagesTarget().status(ctx)
    assert status.state is State.PUBLISHED and "replaced by a later update" in status.detail
    # older docs never replace newer ones
    old = scene.ctx(tmp_path / "c3", [docs_zip(tmp_path / "c", {"index.html": b"old"})],
                    name="gh-pages", version="1.1.0")
    status = GhPagesTarget().status(old)
    assert status.state is State.PUBLISHED and "newer 1.3.0" in status.detail
    GhPagesTarget().publish(old)
    assert scene.writes(scene.sdk) == []


def test_other_docs_for_a_published_version_are_a_conflict(scene: Scene, tmp_path: Path) -> None:
    ctx = scene.ctx(tmp_path / "c1", [docs_zip(tmp_path / "a", {"index.html": b"v1"})],
                    name="gh-pages")
    GhPagesTarget().publish(ctx)
    other = scene.ctx(tmp_path / "c2", [docs_zip(tmp_path / "b", {"index.html": b"evil"})],
                      name="gh-pages")
    assert GhPagesTarget().status(other).state is State.CONFLICT
    scene.sb.admin.clear_request_log()
    with pytest.raises(ConflictError):
        GhPagesTarget().publish(other)
    assert scene.writes(scene.sdk) == []


def test_a_configured_repository_and_branch(scene: Scene, tmp_path: Path) -> None:
    site = scene.repo({"CNAME": "docs.acme.test\n"}, prefix="site")
    ctx = scene.ctx(tmp_path / "c1", [docs_zip(tmp_path / "a", {"index.html": b"x"},
                                               name="docs.tar.zip")],
                    name="gh-pages", include=r"^docs\.tar\.zip$",
                    options={"repository": site, "branch": "main"})
    assert [d.value for d in GhPagesTarget().destinations(ctx) if d.kind == "repository"] == [site]
    GhPagesTarget().publish(ctx)
    checkout = scene.clone(site)
    assert _tree(checkout) == {"index.html": b"x"}  # the whole branch is the archive
    subjects = git(checkout, "log", "--format=%s").splitlines()
    assert len(subjects) == 2 and subjects[0] == 'valet(gh-pages): update, version "1.2.0"'


def test_an_unsafe_or_missing_archive_stops_in_preflight(scene: Scene, tmp_path: Path) -> None:
    bad = tmp_path / "a" / "gh-pages.zip"
    bad.parent.mkdir(parents=True)
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("../../escape.html", b"x")
    with pytest.raises(ArtifactError, match="climbs out"):
        GhPagesTarget().preflight(scene.ctx(tmp_path / "c1", [bad], name="gh-pages"))
    other = tmp_path / "b" / "docs.tgz"
    other.parent.mkdir()
    other.write_bytes(b"x")
    with pytest.raises(TargetError, match="exactly one docs archive"):
        GhPagesTarget().preflight(scene.ctx(tmp_path / "c2", [other], name="gh-pages"))
