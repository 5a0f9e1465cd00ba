"""brew target against the sandbox's contents API, read back through the API."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.sandbox import make_github
from tests.sandbox.git_scene import Scene, artifact, make_scene
from valet.errors import ConfigError, ConflictError
from valet.targets.base import State
from valet.targets.brew import BrewTarget

pytestmark = pytest.mark.sandbox

TEMPLATE = """\
class Acme < Formula
  version "{{version}}"
  url "https://dl.acme.test/{{version}}/acme-Darwin-universal"
  sha256 "{{checksums.acme-Darwin-universal}}"
  resource "src" do
    sha256 "{{checksums.acme-__VERSION____tar__gz}}"
  end
  def install
    bin.install "acme-Darwin-universal" => "acme"
  end
end
"""


@pytest.fixture
def scene(sandbox_env: Any, tmp_path: Path) -> Scene:
    return make_scene(sandbox_env, tmp_path / "scene")


def _tap(scene: Scene) -> tuple[str, str]:
    """(tap option, tap repository)"""
    name = scene.repo({"Formula/other.rb": "class Other < Formula\nend\n"}, prefix="homebrew-tools")
    return f"{scene.org}/{name.split('/')[1].removeprefix('homebrew-')}", name


def _ctx(scene: Scene, tmp: Path, tap: str, version: str, payload: bytes = b"cli") -> Any:
    files = [artifact(tmp / "a", "acme-Darwin-universal", payload + version.encode()),
             artifact(tmp / "a", f"acme-{version}.tar.gz", b"sdist" + version.encode())]
    return scene.ctx(tmp / "c", files, name="brew", version=version,
                     options={"tap": tap, "template": TEMPLATE, "formula": "acme"}), files


def _formula(scene: Scene, repo: str, ref: str | None = None) -> str:
    gh = make_github(scene.sb, scene.token).get_repo(repo)
    content = gh.get_contents("Formula/acme.rb", **({"ref": ref} if ref else {}))
    return content.decoded_content.decode()


def test_the_formula_is_rendered_committed_and_a_rerun_writes_nothing(
        scene: Scene, tmp_path: Path) -> None:
    tap, repo = _tap(scene)
    ctx, files = _ctx(scene, tmp_path / "v1", tap, "1.2.0")
    target = BrewTarget()
    target.preflight(ctx)
    assert [d.value for d in target.destinations(ctx) if d.kind == "repository"] == [repo]
    assert target.status(ctx).state is State.ABSENT
    target.publish(ctx)

    text = _formula(scene, repo)
    binary, sdist = (hashlib.sha256(p.read_bytes()).hexdigest() for p in files)
    assert f'sha256 "{binary}"' in text and f'sha256 "{sdist}"' in text
    assert 'version "1.2.0"' in text and "{{" not in text
    gh = make_github(scene.sb, scene.token).get_repo(repo)
    assert gh.get_commits(path="Formula/acme.rb")[0].commit.message == "release: acme 1.2.0"
    assert [c.name for c in gh.get_contents("Formula")] == ["acme.rb", "other.rb"]

    scene.sb.admin.clear_request_log()
    again = BrewTarget()
    assert again.status(ctx).state is State.PUBLISHED
    again.publish(ctx)
    assert scene.writes(repo) == []


def test_history_decides_for_an_earlier_version_and_a_formula_never_goes_back(
        scene: Scene, tmp_path: Path) -> None:
    tap, repo = _tap(scene)
    v1, _ = _ctx(scene, tmp_path / "v1", tap, "1.2.0")
    BrewTarget().publish(v1)
    v2, _ = _ctx(scene, tmp_path / "v2", tap, "1.3.0")
    BrewTarget().publish(v2)
    assert 'version "1.3.0"' in _formula(scene, repo)
    scene.sb.admin.clear_request_log()
    status = BrewTarget().status(v1)  # the 1.2.0 commit holds exactly our formula
    assert status.state is State.PUBLISHED and "updated since" in status.detail
    old, _ = _ctx(scene, tmp_path / "v0", tap, "1.1.0")
    status = BrewTarget().status(old)
    assert status.state is State.PUBLISHED and "newer 1.3.0" in status.detail
    BrewTarget().publish(old)
    assert scene.writes(repo) == []
    assert 'version "1.3.0"' in _formula(scene, repo)


def test_a_formula_released_with_other_checksums_is_a_conflict(scene: Scene,
                                                               tmp_path: Path) -> None:
    tap, repo = _tap(scene)
    theirs, _ = _ctx(scene, tmp_path / "t", tap, "1.4.0", payload=b"other binary")
    BrewTarget().publish(theirs)
    ours, _ = _ctx(scene, tmp_path / "o", tap, "1.4.0")
    status = BrewTarget().status(ours)
    assert status.state is State.CONFLICT and "other content" in status.detail
    scene.sb.admin.clear_request_log()
    with pytest.raises(ConflictError):
        BrewTarget().publish(ours)
    assert scene.writes(repo) == []


def test_pre_releases_are_skipped_and_unknown_names_stop_preflight(scene: Scene,
                                                                   tmp_path: Path) -> None:
    tap, repo = _tap(scene)
    rc, _ = _ctx(scene, tmp_path / "rc", tap, "2.0.0-rc.1")
    scene.sb.admin.clear_request_log()
    status = BrewTarget().status(rc)
    assert status.state is State.PUBLISHED and "pre-release" in status.detail
    assert scene.writes(repo) == []
    typo, _ = _ctx(scene, tmp_path / "t", tap, "1.2.0")
    typo.target.options["template"] = 'sha256 "{{checksums.acme-Darwin-univresal}}"'
    with pytest.raises(ConfigError, match="checksums.acme-Darwin-univresal"):
        BrewTarget().preflight(typo)
