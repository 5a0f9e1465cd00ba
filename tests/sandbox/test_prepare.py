"""A real `valet prepare` against the sandbox: branch pushed over git HTTP, draft release."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.helpers import tagged_sdk_clone
from valet.cli import main

pytestmark = pytest.mark.sandbox

CONFIG = """\
changelog_policy: auto
build:
  - mkdir -p dist && printf 'sdist %s' "$VALET_VERSION" > "dist/demo-$VALET_VERSION.tar.gz"
  - printf 'wheel %s' "$VALET_VERSION" > "dist/demo-$VALET_VERSION-py3-none-any.whl"
artifacts: [dist/*]
"""


@pytest.fixture
def sdk(sandbox: Any, gh_repo_factory: Any, tmp_path: Path) -> tuple[Any, Path]:
    """An SDK repo on the sandbox tagged 1.2.3 plus `feat: add a` and `fix: repair b`,
    cloned with a token-free origin URL (the token reaches git only through env)."""
    return tagged_sdk_clone(sandbox, gh_repo_factory, tmp_path / "clone", {
        "pyproject.toml": '[project]\nname = "demo"\nversion = "1.2.3"\n',
        ".valet.yml": CONFIG, ".gitignore": "dist/\n"})


def _prepare(clone: Path, repo: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
             *args: str) -> dict[str, Any]:
    monkeypatch.chdir(clone)
    monkeypatch.setenv("INPUT_GITHUB_TOKEN", repo.token)
    monkeypatch.setenv("GITHUB_REPOSITORY", repo.full_name)
    out = tmp_path / f"out-{len(list(tmp_path.glob('out-*')))}"
    assert main(["prepare", *args, "--json", "--out-dir", str(out)]) == 0
    return {"manifest": json.loads((out / "manifest.json").read_text())}


def test_prepare_pushes_one_commit_and_fills_the_draft(
        sdk: tuple[Any, Path], sandbox_env: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    repo, clone = sdk
    result = _prepare(clone, repo, tmp_path, monkeypatch, "auto")
    printed = json.loads(capsys.readouterr().out)
    assert printed["version"] == "1.3.0" and printed["pushed"] is True
    gh = repo.gh()
    branch = gh.get_branch("release/1.3.0")
    cmp = gh.compare("main", "release/1.3.0")
    assert cmp.ahead_by == 1 and cmp.commits[0].commit.message.startswith("release: 1.3.0")
    assert sorted(f.filename for f in cmp.files) == ["CHANGELOG.md", "pyproject.toml"]
    assert branch.commit.sha == printed["sha"] == result["manifest"]["sha"]
    rels = [r for r in gh.get_releases() if r.tag_name == "1.3.0"]
    assert len(rels) == 1 and rels[0].draft and rels[0].id == printed["release_id"]
    manifest = result["manifest"]
    assets = {a.name: a for a in rels[0].get_assets()}
    assert sorted(assets) == sorted([f["name"] for f in manifest["files"]] + ["manifest.json"])
    dist = clone / "dist"
    for f in manifest["files"]:
        assert assets[f["name"]].size == f["size"]
        assert hashlib.sha256((dist / f["name"]).read_bytes()).hexdigest() == f["sha256"]
    # the token was never written to the clone's config
    assert repo.token not in (clone / ".git" / "config").read_text()


def test_rerun_after_partial_upload_repairs_the_draft(
        sdk: tuple[Any, Path], sandbox_env: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    repo, clone = sdk
    first = _prepare(clone, repo, tmp_path, monkeypatch, "1.3.0")
    gh = repo.gh()
    (rel,) = [r for r in gh.get_releases() if r.tag_name == "1.3.0"]
    assets = {a.name: a for a in rel.get_assets()}
    assets["demo-1.3.0-py3-none-any.whl"].delete_asset()
    assets["demo-1.3.0.tar.gz"].delete_asset()
    short = tmp_path / "short"
    short.write_bytes(b"sdist")
    rel.upload_asset(str(short), name="demo-1.3.0.tar.gz")
    sha_before = gh.get_branch("release/1.3.0").commit.sha

    again = _prepare(clone, repo, tmp_path, monkeypatch, "1.3.0")
    assert again["manifest"] == first["manifest"]
    assert gh.get_branch("release/1.3.0").commit.sha == sha_before  # resumed, not re-created
    rels = [r for r in gh.get_releases() if r.tag_name == "1.3.0"]
    assert len(rels) == 1
    names = [a.name for a in rels[0].get_assets()]
    assert sorted(names) == sorted([f["name"] for f in first["manifest"]["files"]]
                                   + ["manifest.json"])
    sizes = {a.name: a.size for a in rels[0].get_assets()}
    for f in first["manifest"]["files"]:
        assert sizes[f["name"]] == f["size"]
