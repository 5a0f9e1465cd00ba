"""`valet request` with the files CI uploaded for the release commit (craft's github artifact
provider), against the sandbox's Actions API: runs of a commit, their artifacts, the zip
behind a 302. The waiting itself runs on a fake clock: each "sleep" is where the test
moves CI on, so no test waits for real time."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from valet.ci_artifacts import CiArtifacts, make_rules
from valet.cli import main
from valet.errors import ArtifactError, CIFailedError, CIPendingError
from valet.issue_format import parse_issue

pytestmark = pytest.mark.sandbox

WHEEL = "sentry_arroyo-1.0.0-py3-none-any.whl"
SDIST = "sentry_arroyo-1.0.0.tar.gz"


def craft_yml(repo: str, extra: str = "") -> str:
    owner, name = repo.split("/")
    return (f"github:\n  owner: {owner}\n  repo: {name}\nchangelog: CHANGES.rst\n"
            "changelogPolicy: auto\nstatusProvider:\n  name: github\n"
            "artifactProvider:\n  name: github\n" + extra
            + "targets:\n  - name: github\n  - name: pypi\n")


def zip_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


@dataclass
class Scene:
    sb: Any
    sdk: Any  # SandboxRepo
    publish: str
    sha: str
    gh: Any
    project: Path
    clock: list[float] = field(default_factory=lambda: [0.0])

    def run(self, name: str = "CI", *, path: str | None = None, branch: str = "release/1.0.0",
            repo: str | None = None) -> int:
        wf = path or f".github/workflows/{name.lower().replace(' ', '-')}.yml"
        return int(self.sb.admin.create_run(repo or self.sdk.full_name, path=wf, event="push",
                                            actor=self.sdk.owner, head_sha=self.sha,
                                            head_branch=branch, name=name)["id"])

    def finish(self, run_id: int, conclusion: str = "success") -> None:
        self.sb.admin.finish_run(self.sdk.full_name, run_id, conclusion)

    def upload(self, run_id: int, name: str, files: dict[str, bytes], **kw: Any) -> int:
        return self.sb.admin.add_workflow_artifact(self.sdk.full_name, name, run_id=run_id,
                                                   zip_data=zip_of(files), **kw)

    def request(self, *extra: str) -> int:
        return main(["request", "--version", "1.0.0", "--sha", self.sha, *extra])

    def issue(self) -> Any:
        (issue,) = [i for i in self.gh.get_repo(self.publish).get_issues(state="all")
                    if i.title == f"publish: {self.sdk.full_name}@1.0.0"]
        return issue

    def no_request_and_no_draft(self) -> bool:
        issues = list(self.gh.get_repo(self.publish).get_issues(state="all"))
        return not issues and not list(self.sdk.gh().get_releases())

    def source(self, workflows: dict[str, list[str]] | None = None, *, timeout: float = 600,
               on_sleep: Callable[[int], None] | None = None) -> CiArtifacts:
        """CiArtifacts on a fake clock: sleeping moves the clock, then calls
        ``on_sleep(n)`` (the n-th sleep) to let CI make progress."""
        from valet import github_client

        sleeps = [0]

        def sleep(seconds: float) -> None:
            self.clock[0] += seconds
            sleeps[0] += 1
            if on_sleep is not None:
                on_sleep(sleeps[0])

        return CiArtifacts(session=github_client.session(self.sdk.token),
                           repo=self.sdk.full_name, sha=self.sha,
                           rules=make_rules(workflows or {}, sha=self.sha), timeout=timeout,
                           poll=20, clock=lambda: self.clock[0], sleep=sleep)


@pytest.fixture
def scene(sandbox_env: Any, gh_repo_factory: Callable[..., Any], gh_client: Callable[[str], Any],
          tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scene]:
    sdk = gh_repo_factory({"README.md": "sdk\n"}, prefix="sdk")
    publish = f"{sdk.owner}/publish"
    sandbox_env.admin.create_repo(publish, files={"README.md": "publish\n"})
    sha = sdk.gh().get_branch("main").commit.sha
    project = tmp_path / "project"
    project.mkdir()
    (project / ".craft.yml").write_text(craft_yml(sdk.full_name))
    monkeypatch.chdir(project)
    for key, value in {"GITHUB_REPOSITORY": sdk.full_name, "GITHUB_ACTOR": sdk.owner,
                       "GITHUB_TOKEN": sdk.token, "RUNNER_TEMP": str(tmp_path)}.items():
        monkeypatch.setenv(key, value)
    yield Scene(sandbox_env, sdk, publish, sha, gh_client(sdk.token), project)


def test_the_sha_named_artifact_of_ci_is_requested_with_its_digests(scene: Scene) -> None:
    files = {WHEEL: b"wheel bytes", f"dist/{SDIST}": b"sdist bytes",
             "manifest.json": b'{"forged": true}'}  # never taken: valet computes its own
    build = scene.run("build")
    scene.upload(build, scene.sha, files)
    scene.upload(build, "coverage", {"coverage.xml": b"<x/>"})  # not the sha-named one
    scene.finish(build)
    tests = scene.run("tests")  # still running: the request does not wait for it
    assert scene.request() == 0

    req = parse_issue(scene.issue().title, scene.issue().body)
    assert req.build == "ci" and req.store == "github-release"
    assert {a.name: a.sha256 for a in req.artifacts} == {
        WHEEL: hashlib.sha256(b"wheel bytes").hexdigest(),
        SDIST: hashlib.sha256(b"sdist bytes").hexdigest()}
    (draft,) = [r for r in scene.sdk.gh().get_releases() if r.draft]
    assert draft.id == req.release_id
    assert sorted(a.name for a in draft.get_assets()) == sorted([WHEEL, SDIST, "manifest.json"])
    scene.finish(tests)


def test_the_token_never_reaches_the_blob_host(scene: Scene) -> None:
    build = scene.run("build")
    scene.upload(build, scene.sha, {WHEEL: b"w", SDIST: b"s"})
    scene.finish(build)
    scene.sb.admin.clear_request_log()
    assert scene.request("--dry-run") == 0
    log = scene.sb.admin.request_log()
    zips = [e for e in log if e["path"].endswith("/zip")]
    # the storage origin answers 400 to a request that brings a token along, as GitHub's does
    blobs = [e for e in log if e["kind"] == "storage" and e["path"].startswith("/artifacts/")]
    assert [e["status"] for e in zips] == [302] and zips[0]["user"] == scene.sdk.owner
    assert [e["status"] for e in blobs] == [200] and blobs[0]["user"] is None
    assert scene.no_request_and_no_draft()  # a dry run uploads and opens nothing


def test_the_request_waits_for_the_run_that_uploads_the_artifact(scene: Scene) -> None:
    build = scene.run("build")

    def ci(n: int) -> None:  # the build uploads on the 2nd poll and ends on the 4th
        if n == 2:
            scene.upload(build, scene.sha, {WHEEL: b"w", SDIST: b"s"})
        if n == 4:
            scene.finish(build)

    source = scene.source(on_sleep=ci)
    try:
        assert sorted(p.name for p in source.files()) == sorted([SDIST, WHEEL])
    finally:
        source.close()
    assert scene.clock[0] == 80  # four polls of 20 s: it went on at the first chance


def test_a_bounded_wait_ends_with_what_it_waited_for(scene: Scene) -> None:
    source = scene.source(timeout=120)
    with pytest.raises(CIPendingError) as info:
        source.files()
    assert "did not finish within 2 minutes: no workflow run on the release commit yet" \
        in info.value.message
    assert "on: push" in (info.value.hint or "") and "re-run this job" in (info.value.hint or "")
    assert scene.clock[0] == 120  # never past the bound

    going = scene.run("build")
    with pytest.raises(CIPendingError, match=r"no artifact named \w+ yet; still running: "
                                             rf"build \(run {going}\) in_progress"):
        scene.source(timeout=60).files()


def test_failed_ci_is_refused_before_anything_is_uploaded(scene: Scene) -> None:
    build = scene.run("build")
    scene.upload(build, scene.sha, {WHEEL: b"w", SDIST: b"s"})
    scene.finish(build, "failure")
    assert scene.request() == CIFailedError.exit_code
    assert scene.no_request_and_no_draft()


def test_no_sha_named_artifact_says_what_ci_uploaded(scene: Scene, capsys: Any) -> None:
    build = scene.run("build")
    scene.upload(build, "dist", {WHEEL: b"w"})
    scene.finish(build)
    assert scene.request() == ArtifactError.exit_code
    err = capsys.readouterr().err
    assert f"no workflow run of the release commit uploaded an artifact named {scene.sha}" in err
    assert "artifacts there: dist" in err
    assert scene.no_request_and_no_draft()


def test_require_names_is_checked_against_what_ci_produced(scene: Scene, capsys: Any) -> None:
    (scene.project / ".craft.yml").write_text(craft_yml(
        scene.sdk.full_name, "requireNames:\n  - /^sentry_arroyo-.*\\.whl$/\n"
                             "  - /^sentry_arroyo-.*\\.tar\\.gz$/\n"))
    build = scene.run("build")
    scene.upload(build, scene.sha, {SDIST: b"s"})
    scene.finish(build)
    assert scene.request() == ArtifactError.exit_code
    err = capsys.readouterr().err
    assert "no artifact matches the required name pattern(s) /^sentry_arroyo-.*\\.whl$/ " in err
    assert f"(the files of the workflow artifacts of the release commit {scene.sha[:12]}: " \
           f"{SDIST})" in err and "requireNames" in err
    assert scene.no_request_and_no_draft()


def test_the_workflow_map_takes_that_workflows_artifacts_only(scene: Scene) -> None:
    (scene.project / ".craft.yml").write_text(
        "artifactProvider:\n  name: github\n  config:\n    artifacts:\n      CI:\n"
        "        - npm-package\n"
        "targets:\n  - name: npm\n    id: '@acme/lib'\n    includeNames: /^acme-lib-\\d.*\\.tgz$/\n"
        "  - name: npm\n    id: '@acme/cli'\n    includeNames: /^acme-cli-\\d.*\\.tgz$/\n"
        "  - name: github\n")
    ci = scene.run("CI")
    scene.upload(ci, "npm-package", {"acme-lib-1.0.0.tgz": b"lib", "acme-cli-1.0.0.tgz": b"cli"})
    scene.finish(ci)
    docs = scene.run("Docs")
    scene.upload(docs, "npm-package", {"acme-docs-1.0.0.tgz": b"docs"})
    scene.finish(docs)
    fork = scene.run("CI", path=".github/workflows/ci-fork.yml")  # a second CI workflow file
    scene.finish(fork)
    assert scene.request() == 0
    req = parse_issue(scene.issue().title, scene.issue().body)
    assert sorted(a.name for a in req.artifacts) == ["acme-cli-1.0.0.tgz", "acme-lib-1.0.0.tgz"]
    assert [t.id for t in req.targets] == ["npm[@acme/lib]", "npm[@acme/cli]", "github"]


def test_an_expired_artifact_says_to_run_ci_again(scene: Scene) -> None:
    build = scene.run("build")
    scene.upload(build, scene.sha, {WHEEL: b"w"}, expired=True)
    scene.finish(build)
    with pytest.raises(ArtifactError, match="has expired"):
        scene.source().files()


def test_two_different_files_of_one_name_are_refused(scene: Scene) -> None:
    ci = scene.run("CI")
    scene.upload(ci, "linux", {"sentry-cli": b"elf"})
    scene.upload(ci, "mac", {"sentry-cli": b"mach-o"})
    scene.upload(ci, "same-a", {"README": b"same"})
    scene.upload(ci, "same-b", {"README": b"same"})
    scene.finish(ci)
    with pytest.raises(ArtifactError, match="two different files named sentry-cli"):
        scene.source({"CI": ["linux", "mac"]}).files()
    source = scene.source({"CI": ["same-*"]})
    try:
        assert [p.name for p in source.files()] == ["README"]  # the same bytes twice: one
    finally:
        source.close()


CRATES_CRAFT_YML = """\
github:
  owner: {owner}
  repo: {name}
preReleaseCommand: ""
targets:
  - name: crates
    noDevDeps: true
  - name: github
"""


def test_crates_with_no_dev_deps_loads_and_publishes_the_crate_ci_built(
        scene: Scene, tmp_path: Path, capsys: Any) -> None:
    """craft packed with `cargo hack publish --no-dev-deps`; valet ships CI's .crate as it
    is. The publish side's steps, for real: the config from the merge target, the files
    from the draft the request filled (verified), the crates target to a crates.io fake."""
    from tests.unit.targets.ctx import CARGO_TOML, write_tar_gz
    from valet import github_client
    from valet.publish_api import Rest, SdkAPI
    from valet.sandbox.crates_io import FakeCrates
    from valet.sdk_config import read_sdk_config
    from valet.store.github_release import GitHubReleaseStore
    from valet.targets.base import TargetContext
    from valet.targets.crates import CratesTarget

    owner, name = scene.sdk.full_name.split("/")
    text = CRATES_CRAFT_YML.format(owner=owner, name=name)
    repo = scene.sdk.gh()
    scene.sha = repo.create_file(".craft.yml", "craft config", text, branch="main")["commit"].sha
    (scene.project / ".craft.yml").write_text(text)
    assert main(["config", "check", str(scene.project)]) == 0
    assert "targets[0].noDevDeps: craft ran `cargo hack publish --no-dev-deps`" \
        in capsys.readouterr().out

    toml = CARGO_TOML.format(name="acme-sdk", version="1.0.0", extra="")
    toml = toml.replace('[dev-dependencies.tempfile]\nversion = "3"\n\n', "")  # packed so
    crate = write_tar_gz(tmp_path / "ci" / "acme-sdk-1.0.0.crate", {
        "acme-sdk-1.0.0/Cargo.toml": toml.encode(),
        "acme-sdk-1.0.0/src/lib.rs": b"pub fn f() {}\n"})
    build = scene.run("build")
    scene.upload(build, scene.sha, {crate.name: crate.read_bytes()})
    scene.finish(build)
    assert scene.request() == 0
    request = parse_issue(scene.issue().title, scene.issue().body)
    assert [(a.name, a.sha256) for a in request.artifacts] == [
        (crate.name, hashlib.sha256(crate.read_bytes()).hexdigest())]

    token = scene.sdk.token
    config = read_sdk_config(SdkAPI(Rest(github_client.connect(token)), scene.sdk.full_name),
                             ref="main")
    target = config.target("crates")
    assert target is not None and target.options == {}
    assert any("noDevDeps" in n for n in config.notes)
    store = GitHubReleaseStore(gh=github_client.connect(token), session=github_client.session(
        token), repo=scene.sdk.full_name, tag="1.0.0", version="1.0.0",
        release_id=request.release_id)
    files = store.download_verified(list(request.artifacts), tmp_path / "verified")
    fake = FakeCrates().start()
    try:
        ctx = TargetContext(request=request, config=config, target=target, files=files,
                            artifacts={a.name: a for a in request.artifacts},
                            workdir=tmp_path / "work",
                            env={"CARGO_REGISTRY_TOKEN": fake.token, "CRATES_API_URL": fake.url})
        (tmp_path / "work").mkdir()
        CratesTarget().preflight(ctx)
        assert CratesTarget().publish(ctx).detail == "uploaded 1 crate(s)"
        assert fake.crates[("acme_sdk", "1.0.0")].crate == crate.read_bytes()
    finally:
        fake.stop()


def test_artifact_provider_none_requests_no_files_and_the_github_target_publishes(
        scene: Scene, tmp_path: Path) -> None:
    """A github-only release (getsentry/self-hosted's shape): nothing is waited for, the
    draft holds only manifest.json, and the github target makes it the tagged release."""
    from valet import github_client
    from valet.publish_api import Rest, SdkAPI
    from valet.sdk_config import read_sdk_config
    from valet.store.github_release import GitHubReleaseStore
    from valet.targets.base import TargetContext
    from valet.targets.github import GitHubTarget

    owner, name = scene.sdk.full_name.split("/")
    text = (f"minVersion: \"0.10.0\"\ngithub:\n  owner: {owner}\n  repo: {name}\n"
            "releaseBranchPrefix: releases\nchangelogPolicy: none\n"
            "artifactProvider:\n  name: none\nstatusProvider:\n  name: github\n"
            "targets:\n  - name: github\n")
    scene.sha = scene.sdk.gh().create_file(".craft.yml", "craft", text, branch="main")[
        "commit"].sha
    (scene.project / ".craft.yml").write_text(text)
    scene.sb.admin.clear_request_log()
    assert scene.request() == 0
    assert not [e for e in scene.sb.admin.request_log() if "/actions/" in e["path"]]
    request = parse_issue(scene.issue().title, scene.issue().body)
    assert request.artifacts == [] and request.build == "isolated"
    (draft,) = [r for r in scene.sdk.gh().get_releases() if r.draft]
    assert draft.id == request.release_id
    assert [a.name for a in draft.get_assets()] == ["manifest.json"]

    token = scene.sdk.token
    config = read_sdk_config(SdkAPI(Rest(github_client.connect(token)), scene.sdk.full_name),
                             ref="main")
    assert config.artifacts == [] and config.release_branch_prefix == "releases"
    store = GitHubReleaseStore(gh=github_client.connect(token), session=github_client.session(
        token), repo=scene.sdk.full_name, tag="1.0.0", version="1.0.0",
        release_id=request.release_id)
    assert store.download_verified([], tmp_path / "verified") == {}
    (tmp_path / "work").mkdir()
    ctx = TargetContext(request=request, config=config, target=config.targets[0], files={},
                        artifacts={}, workdir=tmp_path / "work", env={},
                        github=github_client.connect(token))
    GitHubTarget().preflight(ctx)
    GitHubTarget().publish(ctx)
    published = scene.sdk.gh().get_release(request.release_id)
    assert not published.draft and published.tag_name == "1.0.0"
    assert scene.sdk.gh().get_git_ref("tags/1.0.0").object.sha == scene.sha
