"""upm target against the sandbox: commit + tag read back by clone, the release by the API."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.sandbox import make_github
from tests.sandbox.git_scene import Scene, git, make_scene
from valet.errors import ConflictError
from valet.targets.base import State
from valet.targets.upm import UpmTarget

pytestmark = pytest.mark.sandbox

PACKAGE = {"package.json": b'{"name": "io.acme.unity", "version": "1.2.0"}',
           "Runtime/Acme.dll": b"MZ\x90\x00dll", "Runtime/Acme.dll.meta": b"guid: 1"}


@pytest.fixture
def scene(sandbox_env: Any, tmp_path: Path) -> Scene:
    return make_scene(sandbox_env, tmp_path / "scene")


def package_zip(directory: Path, files: dict[str, bytes]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    (directory / "package-release.zip").write_bytes(buf.getvalue())
    return directory / "package-release.zip"


def _files(checkout: Path) -> dict[str, bytes]:
    return {str(p.relative_to(checkout)): p.read_bytes() for p in checkout.rglob("*")
            if p.is_file() and ".git" not in p.relative_to(checkout).parts}


def _ctx(scene: Scene, tmp: Path, repo: str, version: str = "1.2.0",
         files: dict[str, bytes] = PACKAGE) -> Any:
    other = tmp / "a" / "libsentry.so"
    zipped = package_zip(tmp / "a", files)
    other.write_bytes(b"so")
    return scene.ctx(tmp / "c", [zipped, other], name="upm", version=version,
                     options={"repository": repo}, changelog="### Fixes\n- a fix\n")


def test_commit_tag_and_release_and_a_rerun_writes_nothing(scene: Scene, tmp_path: Path) -> None:
    unity = scene.repo({"README.md": "old content\n"}, prefix="unity")
    ctx = _ctx(scene, tmp_path / "v1", unity)
    target = UpmTarget()
    target.preflight(ctx)
    assert [d.value for d in target.destinations(ctx) if d.kind == "repository"] == [unity]
    assert target.status(ctx).state is State.ABSENT
    receipt = target.publish(ctx)

    checkout = scene.clone(unity)
    assert _files(checkout) == PACKAGE  # the repository holds exactly the package
    assert git(checkout, "log", "-1", "--format=%s").strip() == "release 1.2.0"
    head = git(checkout, "rev-parse", "HEAD").strip()
    assert git(checkout, "rev-parse", "1.2.0^{commit}").strip() == head
    rel = make_github(scene.sb, scene.token).get_repo(unity).get_release("1.2.0")
    assert not rel.draft and not rel.prerelease and rel.body == "### Fixes\n- a fix\n"
    assert make_github(scene.sb, scene.token).get_repo(unity).get_latest_release().id == rel.id
    assert receipt.url == rel.html_url

    scene.sb.admin.clear_request_log()
    again = UpmTarget()
    assert again.status(ctx).state is State.PUBLISHED
    again.publish(ctx)
    assert scene.writes(unity) == []


def test_a_tag_without_its_release_gets_only_the_release(scene: Scene, tmp_path: Path) -> None:
    unity = scene.repo({"README.md": "x\n"}, prefix="unity")
    ctx = _ctx(scene, tmp_path / "v1", unity)
    UpmTarget().publish(ctx)
    repo = make_github(scene.sb, scene.token).get_repo(unity)
    repo.get_release("1.2.0").delete_release()  # as if the run died after the push
    status = UpmTarget().status(ctx)
    assert status.state is State.ABSENT and "its release is not" in status.detail
    scene.sb.admin.clear_request_log()
    UpmTarget().publish(ctx)
    assert scene.writes(unity) == [f"POST /repos/{unity}/releases"]
    assert not repo.get_release("1.2.0").draft


def test_a_tag_with_another_package_is_a_conflict(scene: Scene, tmp_path: Path) -> None:
    unity = scene.repo({"README.md": "x\n"}, prefix="unity")
    UpmTarget().publish(_ctx(scene, tmp_path / "v1", unity))
    other = _ctx(scene, tmp_path / "v2", unity, files={**PACKAGE, "Runtime/Acme.dll": b"evil"})
    assert UpmTarget().status(other).state is State.CONFLICT
    scene.sb.admin.clear_request_log()
    with pytest.raises(ConflictError):
        UpmTarget().publish(other)
    assert scene.writes(unity) == []


def test_a_pre_release_is_not_latest(scene: Scene, tmp_path: Path) -> None:
    unity = scene.repo({"README.md": "x\n"}, prefix="unity")
    UpmTarget().publish(_ctx(scene, tmp_path / "v1", unity))
    UpmTarget().publish(_ctx(scene, tmp_path / "v2", unity, version="2.0.0-beta.1",
                             files={**PACKAGE, "CHANGELOG.md": b"beta"}))
    repo = make_github(scene.sb, scene.token).get_repo(unity)
    assert repo.get_release("2.0.0-beta.1").prerelease
    assert repo.get_latest_release().tag_name == "1.2.0"
    checkout = scene.clone(unity)
    assert git(checkout, "log", "--format=%s").splitlines()[:2] == ["release 2.0.0-beta.1",
                                                                     "release 1.2.0"]
