"""The artifact stores against the sandbox's GitHub fake (releases, assets, artifacts)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from valet import github_client
from valet.errors import IntegrityError
from valet.manifest import Artifact, build_manifest
from valet.store import open_store

pytestmark = pytest.mark.sandbox

SHA_FILES = {"pkg-2.0.0.tar.gz": b"T" * 300_000, "pkg-2.0.0-py3-none-any.whl": b"W" * 1234}


def _files(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, data in SHA_FILES.items():
        p = tmp_path / "dist" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        out[name] = p
    return out


def _store(repo: Any, **kw: Any) -> Any:
    return open_store("github-release", gh=github_client.connect(repo.token),
                      session=github_client.session(repo.token), repo=repo.full_name,
                      tag="2.0.0", version="2.0.0", **kw)


def _assets(repo: Any) -> tuple[Any, list[Any]]:
    rels = [r for r in repo.gh().get_releases() if r.tag_name == "2.0.0"]
    assert len(rels) == 1
    return rels[0], list(rels[0].get_assets())


def test_draft_release_holds_exactly_the_manifest(sandbox_env: Any, gh_repo_factory: Any,
                                                  tmp_path: Path) -> None:
    repo = gh_repo_factory({"README.md": "x"})
    sha = repo.gh().get_branch("main").commit.sha
    files = _files(tmp_path)
    manifest = build_manifest("2.0.0", files.values(), repo=repo.full_name, sha=sha)
    ref = _store(repo).upload(manifest, files, notes="notes here")
    rel, assets = _assets(repo)
    assert rel.draft and rel.id == ref.release_id and rel.body == "notes here"
    assert sorted(a.name for a in assets) == sorted([*files, "manifest.json"])
    listed = _store(repo, release_id=ref.release_id).list()
    for art in manifest.artifacts:
        assert listed[art.name].size == art.size
        assert listed[art.name].digest in (None, art.sha256)
    got = _store(repo, release_id=ref.release_id).download_verified(
        list(manifest.artifacts), tmp_path / "dl")
    for name, path in got.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == manifest.by_name()[name].sha256
    assert _store(repo).download_manifest() == manifest


def test_rerun_after_partial_upload_fixes_it_without_duplicates(
        sandbox_env: Any, gh_repo_factory: Any, tmp_path: Path) -> None:
    repo = gh_repo_factory({"README.md": "x"})
    files = _files(tmp_path)
    manifest = build_manifest("2.0.0", files.values(), repo=repo.full_name)
    _store(repo).upload(manifest, files)
    rel, assets = _assets(repo)
    by_name = {a.name: a for a in assets}
    by_name["pkg-2.0.0-py3-none-any.whl"].delete_asset()
    by_name["pkg-2.0.0.tar.gz"].delete_asset()
    truncated = tmp_path / "pkg-2.0.0.tar.gz"
    truncated.write_bytes(SHA_FILES["pkg-2.0.0.tar.gz"][:1000])
    rel.upload_asset(str(truncated), name="pkg-2.0.0.tar.gz")

    _store(repo).upload(manifest, files)
    rel2, assets2 = _assets(repo)
    assert rel2.id == rel.id
    names = [a.name for a in assets2]
    assert sorted(names) == sorted([*files, "manifest.json"])  # no duplicate, nothing missing
    got = _store(repo).download_verified(list(manifest.artifacts), tmp_path / "dl")
    assert got["pkg-2.0.0.tar.gz"].read_bytes() == SHA_FILES["pkg-2.0.0.tar.gz"]


def test_download_refuses_a_swapped_asset(sandbox_env: Any, gh_repo_factory: Any,
                                         tmp_path: Path) -> None:
    repo = gh_repo_factory({"README.md": "x"})
    files = _files(tmp_path)
    manifest = build_manifest("2.0.0", files.values())
    _store(repo).upload(manifest, files)
    rel, assets = _assets(repo)
    [a for a in assets if a.name == "pkg-2.0.0-py3-none-any.whl"][0].delete_asset()
    evil = tmp_path / "evil.whl"
    evil.write_bytes(b"E" * 1234)  # same size, other bytes
    rel.upload_asset(str(evil), name="pkg-2.0.0-py3-none-any.whl")
    dest = tmp_path / "dl"
    with pytest.raises(IntegrityError, match="pkg-2.0.0-py3-none-any.whl: sha256"):
        _store(repo).download_verified(list(manifest.artifacts), dest)
    assert not (dest / "pkg-2.0.0-py3-none-any.whl").exists()


def test_delete_drops_the_draft(sandbox_env: Any, gh_repo_factory: Any, tmp_path: Path) -> None:
    repo = gh_repo_factory({"README.md": "x"})
    files = _files(tmp_path)
    store = _store(repo)
    store.upload(build_manifest("2.0.0", files.values()), files)
    store.delete()
    assert [r for r in repo.gh().get_releases() if r.tag_name == "2.0.0"] == []


def test_workflow_artifacts_store(sandbox_env: Any, gh_repo_factory: Any, sandbox: Any,
                                  tmp_path: Path) -> None:
    repo = gh_repo_factory({"README.md": "x"})
    sandbox.admin.add_workflow_artifact(repo.full_name, "abc123",
                                        {"pkg.tgz": b"tgz", "manifest.json": b"{}"})
    store = open_store("workflow-artifacts", gh=None, session=github_client.session(repo.token),
                       repo=repo.full_name, tag="2.0.0", version="2.0.0", artifact_name="abc123")
    assert store.list()["pkg.tgz"].size == 3
    art = Artifact("pkg.tgz", 3, hashlib.sha256(b"tgz").hexdigest())
    assert store.download_verified([art], tmp_path)["pkg.tgz"].read_bytes() == b"tgz"
