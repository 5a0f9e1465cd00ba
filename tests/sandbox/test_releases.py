"""Releases (draft → publish), assets (streamed upload, digest, download) and artifacts."""

from __future__ import annotations

import hashlib
import io
import zipfile

import github
import pytest
import requests

pytestmark = pytest.mark.sandbox


def test_draft_visibility_publish_creates_tag(gh_repo_factory, sandbox_user_factory):
    repo = gh_repo_factory()
    r = repo.gh()
    main = r.get_branch("main").commit.sha
    draft = r.create_git_release("v1.0.0", "1.0.0", "notes", draft=True, target_commitish="main")
    assert draft.draft and r.get_release(draft.id).draft
    with pytest.raises(github.GithubException):
        r.get_git_ref("tags/v1.0.0").object  # noqa: B018 (no tag before publishing)
    with pytest.raises(github.UnknownObjectException):
        r.get_release("v1.0.0")  # by tag: published releases only
    reader = sandbox_user_factory("reader")
    as_reader = repo.gh(reader.token)
    assert as_reader.get_releases().totalCount == 0
    with pytest.raises(github.UnknownObjectException):
        as_reader.get_release(draft.id).draft  # noqa: B018
    published = draft.update_release("1.0.0", "notes", draft=False)
    assert not published.draft and published.published_at is not None
    assert r.get_git_ref("tags/v1.0.0").object.sha == main
    assert r.get_release("v1.0.0").id == draft.id
    assert as_reader.get_latest_release().tag_name == "v1.0.0"
    with pytest.raises(github.GithubException) as exc:
        r.create_git_release("v1.0.0", "dup", "")
    assert exc.value.status == 422


def test_latest_ignores_prereleases_and_honours_make_latest(gh_repo_factory):
    r = gh_repo_factory().gh()
    r.create_git_release("v1.0.0", "1.0.0", "")
    r.create_git_release("v2.0.0-rc.1", "rc", "", prerelease=True)
    assert r.get_latest_release().tag_name == "v1.0.0"
    r.create_git_release("v1.1.0", "1.1.0", "", make_latest="false")
    assert r.get_latest_release().tag_name == "v1.0.0"
    r.create_git_release("v0.9.1", "0.9.1", "", make_latest="true")
    assert r.get_latest_release().tag_name == "v0.9.1"


def test_asset_upload_digest_download_delete(tmp_path, gh_repo_factory, sandbox):
    repo = gh_repo_factory()
    r = repo.gh()
    rel = r.create_git_release("v2.0.0", "2.0.0", "", draft=True)
    data = bytes(range(256)) * 4096  # 1 MiB
    path = tmp_path / "pkg-2.0.0.tgz"
    path.write_bytes(data)
    asset = rel.upload_asset(str(path), label="the package", content_type="application/gzip")
    assert asset.digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert (asset.name, asset.size, asset.label) == ("pkg-2.0.0.tgz", len(data), "the package")
    with pytest.raises(github.GithubException) as exc:
        rel.upload_asset(str(path))
    assert exc.value.status == 422
    assert exc.value.data["errors"][0]["code"] == "already_exists"
    # The API answers 302 to a signed URL on another origin (GitHub's object storage);
    # the bytes need no token there, and a client that sends one along is refused.
    s = requests.Session()
    s.headers["Authorization"] = f"token {repo.token}"
    redirect = s.get(asset.url, headers={"Accept": "application/octet-stream"},
                     allow_redirects=False, timeout=10)
    assert redirect.status_code == 302
    location = redirect.headers["Location"]
    assert location.startswith(sandbox.storage_url) and sandbox.storage_url != sandbox.server_url
    assert requests.get(location, timeout=10).content == data
    leaked = requests.get(location, headers={"Authorization": f"token {repo.token}"}, timeout=10)
    assert leaked.status_code == 400 and "Only one auth mechanism" in leaked.json()["message"]
    # requests drops the token when the redirect leaves the API's origin: one call works
    followed = s.get(asset.url, headers={"Accept": "application/octet-stream"}, timeout=10)
    assert followed.status_code == 200 and followed.content == data
    # Draft assets are not downloadable anonymously; published ones are.
    assert requests.get(asset.browser_download_url, timeout=10).status_code == 404
    rel = rel.update_release("2.0.0", "", draft=False)
    published = r.get_release(rel.id).assets[0]
    assert requests.get(published.browser_download_url, timeout=10).content == data
    assert [a.name for a in rel.get_assets()] == ["pkg-2.0.0.tgz"]
    published.delete_asset()
    assert list(r.get_release(rel.id).get_assets()) == []
    rel.delete_release()
    with pytest.raises(github.UnknownObjectException):
        r.get_release(rel.id).draft  # noqa: B018


def test_upload_needs_write(tmp_path, gh_repo_factory, sandbox_user_factory, sandbox):
    repo = gh_repo_factory()
    rel = repo.gh().create_git_release("v1", "1", "", draft=False)
    reader = sandbox_user_factory("reader")
    resp = requests.post(f"{sandbox.uploads_url}/repos/{repo.full_name}/releases/{rel.id}/assets",
                         params={"name": "x.bin"}, data=b"abc",
                         headers={"Authorization": f"token {reader.token}",
                                  "Content-Type": "application/octet-stream"}, timeout=10)
    assert resp.status_code == 403
    assert set(resp.json()) >= {"message", "documentation_url"}


def test_workflow_artifacts(gh_repo_factory, sandbox):
    repo = gh_repo_factory()
    art_id = sandbox.admin.add_workflow_artifact(repo.full_name, "dist",
                                                 {"pkg-1.0.tgz": b"tarball", "manifest.json": b"{}"})
    sandbox.admin.add_workflow_artifact(repo.full_name, "other", {"x": b"x"})
    r = repo.gh()
    listed = list(r.get_artifacts("dist"))
    assert [a.id for a in listed] == [art_id]
    assert r.get_artifact(art_id).name == "dist"
    resp = requests.get(listed[0].archive_download_url,
                        headers={"Authorization": f"token {repo.token}"}, timeout=10)
    with zipfile.ZipFile(io.BytesIO(resp.content)) as zf:
        assert sorted(zf.namelist()) == ["manifest.json", "pkg-1.0.tgz"]
        assert zf.read("pkg-1.0.tgz") == b"tarball"
    anon = requests.get(listed[0].archive_download_url, timeout=10, allow_redirects=False)
    assert anon.status_code == 401


def test_drafts_may_share_a_tag_but_only_one_published_release_owns_it(gh_repo_factory):
    r = gh_repo_factory().gh()
    first = r.create_git_release("v3.0.0", "3.0.0", "", draft=True)
    second = r.create_git_release("v3.0.0", "3.0.0 again", "", draft=True)  # as on GitHub
    assert {x.id for x in r.get_releases() if x.tag_name == "v3.0.0"} == {first.id, second.id}
    first.update_release("3.0.0", "", draft=False)
    with pytest.raises(github.GithubException) as exc:
        second.update_release("3.0.0 again", "", draft=False)
    assert exc.value.status == 422
    assert exc.value.data["errors"][0]["code"] == "already_exists"
    with pytest.raises(github.GithubException):
        r.create_git_release("v3.0.0", "published twice", "")
