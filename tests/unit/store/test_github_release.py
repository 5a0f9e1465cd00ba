from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from valet.errors import IntegrityError, VersionError
from valet.manifest import Artifact, build_manifest
from valet.store import open_store
from valet.store.github_release import GitHubReleaseStore

from .fakes import FakeGitHub

SHA = "c" * 40


def _setup(tmp_path: Path, digests: bool = True):  # type: ignore[no-untyped-def]
    files = {}
    for name, data in (("pkg-1.3.0.tar.gz", b"tarball" * 100), ("pkg-1.3.0-py3-none-any.whl",
                                                                 b"wheel" * 50)):
        p = tmp_path / "dist" / name
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(data)
        files[name] = p
    manifest = build_manifest("1.3.0", files.values(), repo="o/r", sha=SHA)
    fake = FakeGitHub(digests=digests)
    store = open_store("github-release", gh=fake, session=fake, repo="o/r", tag="1.3.0",
                       version="1.3.0")
    return fake, store, manifest, files


def test_upload_creates_one_draft_with_files_and_manifest(tmp_path: Path) -> None:
    fake, store, manifest, files = _setup(tmp_path)
    ref = store.upload(manifest, files, notes="### Features\n- a")
    (rel,) = fake.releases.values()
    assert rel.draft and rel.tag_name == "1.3.0" and rel.target_commitish == SHA
    assert rel.body == "### Features\n- a"
    assert ref.release_id == rel.id
    assert fake.names(rel.id) == sorted([*files, "manifest.json"])
    assert [n for op, n in fake.log if op == "upload"][-1] == "manifest.json"
    listed = store.list()
    assert {n: f.digest for n, f in listed.items() if n != "manifest.json"} == {
        a.name: a.sha256 for a in manifest.artifacts}


@pytest.mark.parametrize("digests", [True, False])
def test_rerun_repairs_partial_upload_without_duplicates(tmp_path: Path, digests: bool) -> None:
    fake, store, manifest, files = _setup(tmp_path, digests)
    store.upload(manifest, files)
    (rel,) = fake.releases.values()
    by_name = {a["name"]: i for i, a in fake.assets.items()}
    # one asset truncated, one asset gone, one stray asset, one "starter" half-upload
    fake.assets[by_name["pkg-1.3.0.tar.gz"]]["data"] = b"tarb"
    del fake.assets[by_name["pkg-1.3.0-py3-none-any.whl"]]
    fake.add_asset(rel.id, "old-1.2.9.tgz", b"x")
    fake.log.clear()
    again = open_store("github-release", gh=fake, session=fake, repo="o/r", tag="1.3.0",
                       version="1.3.0")
    again.upload(manifest, files)
    assert len(fake.releases) == 1
    assert fake.names(rel.id) == sorted([*files, "manifest.json"])
    uploaded = [n for op, n in fake.log if op == "upload"]
    assert sorted(uploaded) == sorted(["pkg-1.3.0.tar.gz", "pkg-1.3.0-py3-none-any.whl",
                                       "manifest.json"])
    for a in fake.assets.values():
        if a["name"] in files:
            assert a["data"] == files[a["name"]].read_bytes()


def test_rerun_with_everything_in_place_uploads_nothing(tmp_path: Path) -> None:
    fake, store, manifest, files = _setup(tmp_path)
    store.upload(manifest, files)
    fake.log.clear()
    GitHubReleaseStore(gh=fake, session=fake, repo="o/r", tag="1.3.0",  # type: ignore[arg-type]
                       version="1.3.0").upload(manifest, files)
    assert not [op for op, _ in fake.log if op in ("upload", "delete", "create_release")]


def test_same_size_different_bytes_is_replaced_even_without_digests(tmp_path: Path) -> None:
    fake, store, manifest, files = _setup(tmp_path, digests=False)
    store.upload(manifest, files)
    for a in fake.assets.values():
        if a["name"] == "pkg-1.3.0.tar.gz":
            a["data"] = b"X" * len(a["data"])
    fake.log.clear()
    GitHubReleaseStore(gh=fake, session=fake, repo="o/r", tag="1.3.0",  # type: ignore[arg-type]
                       version="1.3.0").upload(manifest, files)
    assert ("upload", "pkg-1.3.0.tar.gz") in fake.log


def test_a_published_release_is_never_uploaded_to(tmp_path: Path) -> None:
    fake, store, manifest, files = _setup(tmp_path)
    fake.create_git_release("1.3.0", "1.3.0", "", draft=False)
    with pytest.raises(VersionError, match="already has a published release for 1.3.0"):
        store.upload(manifest, files)
    with pytest.raises(VersionError, match="refusing to delete the published release"):
        store.delete()


def test_download_verified_and_tampering(tmp_path: Path) -> None:
    fake, store, manifest, files = _setup(tmp_path)
    ref = store.upload(manifest, files)
    reader = open_store("github-release", gh=fake, session=fake, repo="o/r", tag="1.3.0",
                        version="1.3.0", release_id=ref.release_id)
    got = reader.download_verified(list(manifest.artifacts), tmp_path / "dl")
    for name, path in got.items():
        assert path.read_bytes() == files[name].read_bytes()
    assert reader.download_manifest() == manifest  # type: ignore[attr-defined]

    # same size, other bytes: the digest check refuses it and leaves no file behind (the
    # digest GitHub lists already differs: refused before anything is downloaded)
    for a in fake.assets.values():
        if a["name"] == "pkg-1.3.0.tar.gz":
            a["data"] = b"Y" * len(a["data"])
    dest = tmp_path / "dl2"
    with pytest.raises(IntegrityError, match="pkg-1.3.0.tar.gz: sha256"):
        reader.download_verified(list(manifest.artifacts), dest)
    assert not (dest / "pkg-1.3.0.tar.gz").exists()
    assert not dest.exists() or not [p for p in dest.iterdir() if p.name.endswith(".part")]


def test_download_missing_or_wrong_size(tmp_path: Path) -> None:
    fake, store, manifest, files = _setup(tmp_path)
    store.upload(manifest, files)
    extra = Artifact("other.zip", 3, hashlib.sha256(b"abc").hexdigest())
    with pytest.raises(IntegrityError, match="lacks other.zip"):
        store.download_verified([*manifest.artifacts, extra], tmp_path / "d")
    bigger = [Artifact(a.name, a.size + 1, a.sha256) for a in manifest.artifacts]
    with pytest.raises(IntegrityError, match="stored size"):
        store.download_verified(bigger, tmp_path / "d")


def test_release_id_for_another_tag_is_refused(tmp_path: Path) -> None:
    fake, store, manifest, files = _setup(tmp_path)
    ref = store.upload(manifest, files)
    other = open_store("github-release", gh=fake, session=fake, repo="o/r", tag="1.4.0",
                       version="1.4.0", release_id=ref.release_id)
    with pytest.raises(IntegrityError, match="is for tag '1.3.0', not '1.4.0'"):
        other.list()


def test_delete_drops_the_draft(tmp_path: Path) -> None:
    fake, store, manifest, files = _setup(tmp_path)
    store.upload(manifest, files)
    store.delete()
    assert fake.releases == {}
