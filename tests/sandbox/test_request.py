"""`valet request` against the GitHub sandbox: draft filled from the build's files,
idempotent, keeps ticks, killswitch, pagination, refusals before any upload."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from valet.cli import main
from valet.errors import ArtifactError, KillswitchError, RequestTooLargeError
from valet.issue_format import parse_issue, set_target_checked

pytestmark = pytest.mark.sandbox

SHA = "7" * 40


@dataclass
class Setup:
    sdk: Any  # SandboxRepo
    publish: str
    gh: Any  # github.Github acting as the SDK repo's owner
    workdir: Path
    api_url: str

    def publish_issues(self, title: str | None = None) -> list[Any]:
        issues = self.gh.get_repo(self.publish).get_issues(state="all")
        return [i for i in issues if title is None or i.title == title]

    def request(self, *extra: str, version: str = "1.0.0") -> int:
        return main(["request", "--version", version, "--sha", SHA,
                     "--artifacts-dir", str(self.workdir / "built"), *extra])

    def drafts(self, tag: str = "1.0.0") -> list[Any]:
        return [r for r in self.sdk.gh().get_releases() if r.tag_name == tag]


@pytest.fixture
def setup(sandbox_env: Any, gh_repo_factory: Callable[..., Any], gh_client: Callable[[str], Any],
          tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Setup:
    sdk = gh_repo_factory({"README.md": "sdk\n"}, prefix="sdk")
    publish = f"{sdk.owner}/publish"
    sandbox_env.admin.create_repo(publish, files={"README.md": "publish\n"})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_REPOSITORY", sdk.full_name)
    monkeypatch.setenv("GITHUB_ACTOR", sdk.owner)
    monkeypatch.setenv("GITHUB_TOKEN", sdk.token)
    (tmp_path / "built").mkdir()
    (tmp_path / "built" / "sdk-1.0.0.tgz").write_bytes(b"twelve bytes")
    return Setup(sdk, publish, gh_client(sdk.token), tmp_path, sandbox_env.api_url)


def test_requesting_twice_updates_one_issue(setup: Setup) -> None:
    title = f"publish: {setup.sdk.full_name}@1.0.0"
    assert setup.request("--targets", "pypi,npm", "--changelog", "- first") == 0
    assert setup.request("--targets", "pypi,npm", "--changelog", "- second") == 0
    issues = setup.publish_issues(title)
    assert len(issues) == 1
    assert "- second" in issues[0].body and "- first" not in issues[0].body
    req = parse_issue(issues[0].title, issues[0].body)
    assert req.requested_by == setup.sdk.owner and req.sha == SHA
    assert [(a.name, a.size) for a in req.artifacts] == [("sdk-1.0.0.tgz", 12)]
    (draft,) = setup.drafts()
    assert draft.draft and req.release_id == draft.id and req.build == "isolated"
    assert sorted(a.name for a in draft.get_assets()) == ["manifest.json", "sdk-1.0.0.tgz"]


def test_a_rerun_after_a_partial_upload_repairs_the_draft(setup: Setup, tmp_path: Path) -> None:
    assert setup.request("--targets", "github") == 0
    (draft,) = setup.drafts()
    for asset in draft.get_assets():
        asset.delete_asset()
    short = tmp_path / "short"
    short.write_bytes(b"twelve")
    draft.upload_asset(str(short), name="sdk-1.0.0.tgz")
    assert setup.request("--targets", "github") == 0
    (again,) = setup.drafts()
    assert again.id == draft.id
    assert sorted((a.name, a.size) for a in again.get_assets() if a.name != "manifest.json") == [
        ("sdk-1.0.0.tgz", 12)]


def test_a_stale_file_is_refused_before_any_upload(setup: Setup,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    (setup.workdir / "built" / "sdk-0.9.0.tgz").write_bytes(b"old")
    assert setup.request("--targets", "npm") == ArtifactError.exit_code
    err = capsys.readouterr().err
    assert "sdk-0.9.0.tgz (npm tarball of version 0.9.0)" in err and "release 1.0.0" in err
    assert setup.drafts() == [] and setup.publish_issues() == []


def test_a_request_too_large_for_one_issue_uploads_nothing(setup: Setup,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    for i in range(400):
        (setup.workdir / "built" / f"sdk-part-{i:04d}-with-a-rather-long-name-1.0.0.tgz"
         ).write_bytes(b"x")
    assert setup.request("--targets", "npm") == RequestTooLargeError.exit_code
    assert "401 file(s)" in capsys.readouterr().err
    assert setup.drafts() == [] and setup.publish_issues() == []


def test_a_ticked_target_stays_ticked(setup: Setup) -> None:
    assert setup.request("--targets", "pypi npm[@s/p]") == 0
    issue = setup.publish_issues()[0]
    issue.edit(body=set_target_checked(issue.body, "npm[@s/p]"))
    assert setup.request("--targets", "pypi npm[@s/p] crates", "--changelog", "- more") == 0
    issue = setup.gh.get_repo(setup.publish).get_issue(issue.number)
    assert [(t.id, t.checked) for t in parse_issue(issue.title, issue.body).targets] == [
        ("pypi", False), ("npm[@s/p]", True), ("crates", False)]
    assert len(setup.publish_issues()) == 1


def test_an_open_release_blocker_stops_the_request(setup: Setup,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    setup.sdk.gh().create_issue(title="prod is on fire", labels=["release-blocker"])
    assert setup.request("--targets", "pypi") == KillswitchError.exit_code
    assert "release-blocker" in capsys.readouterr().err
    assert setup.publish_issues() == []


def test_force_overrides_the_killswitch(setup: Setup) -> None:
    setup.sdk.gh().create_issue(title="prod is on fire", labels=["release-blocker"])
    assert setup.request("--targets", "pypi", "--force") == 0
    assert len(setup.publish_issues()) == 1


def test_a_closed_blocker_does_not_stop_the_request(setup: Setup) -> None:
    blocker = setup.sdk.gh().create_issue(title="was on fire", labels=["release-blocker"])
    blocker.edit(state="closed")
    assert setup.request("--targets", "pypi") == 0


def test_the_exact_title_is_found_past_the_first_page(setup: Setup) -> None:
    repo = setup.gh.get_repo(setup.publish)
    name = setup.sdk.full_name
    assert setup.request("--targets", "pypi") == 0  # the oldest issue: last in the default order
    first = setup.publish_issues()[0].number
    # Seeded with plain HTTP calls: PyGithub paces its writes, 110 of them would be slow.
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {setup.sdk.token}"
    url = f"{setup.api_url}/repos/{setup.publish}/issues"
    for i in range(110):
        title = f"publish: {name}@1.0.0-rc.{i}" if i % 2 else f"publish: {name}@1.0.{i + 1}"
        session.post(url, json={"title": title, "body": "noise"}, timeout=30).raise_for_status()
    assert repo.get_issues(state="open").totalCount == 111
    admin = setup.sdk._sandbox.admin
    admin.clear_request_log()
    assert setup.request("--targets", "pypi", "--changelog", "- again") == 0
    listed = [r for r in admin.request_log()
              if r["method"] == "GET" and r["path"].endswith(f"/repos/{setup.publish}/issues")]
    assert len(listed) >= 2, "the exact title sits on the second page of open issues"
    matching = setup.publish_issues(f"publish: {name}@1.0.0")
    assert [i.number for i in matching] == [first]
    assert "- again" in matching[0].body


def test_dry_run_creates_nothing(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    assert setup.request("--targets", "pypi", "--dry-run") == 0
    assert "### Targets" in capsys.readouterr().out
    assert setup.publish_issues() == []


def test_a_request_job_without_a_checkout_reads_the_docker_config_of_the_release_commit(
        sandbox_env: Any, gh_repo_factory: Callable[..., Any], gh_client: Callable[[str], Any],
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, container_registries: Any) -> None:
    """The example request job checks nothing out: the docker target's image is still
    resolved, from the .valet.yml of the release commit (read through the API), and its
    digest is what the request approves."""
    from tests.sandbox.oci_images import push_image

    src, dst = container_registries
    name = f"acme/app-{tmp_path.name[-8:]}"
    config = (f"targets:\n  - name: docker\n    source: {src.host}/{name}\n"
              f"    target: {dst.host}/{name}\nartifacts: []\n")
    sdk = gh_repo_factory({".valet.yml": config, "README.md": "sdk\n"}, prefix="sdk")
    sha = sdk.gh().get_branch("main").commit.sha
    publish = f"{sdk.owner}/publish"
    sandbox_env.admin.create_repo(publish, files={"README.md": "publish\n"})
    digest = push_image(src, tmp_path, f"{name}:{sha}", "release")
    empty = tmp_path / "no-checkout"
    empty.mkdir()
    monkeypatch.chdir(empty)
    for key, value in {**src.env(), "GITHUB_REPOSITORY": sdk.full_name,
                       "GITHUB_ACTOR": sdk.owner, "GITHUB_TOKEN": sdk.token}.items():
        monkeypatch.setenv(key, value)

    assert main(["request", "--version", "1.0.0", "--sha", sha, "--targets", "docker"]) == 0

    (issue,) = [i for i in gh_client(sdk.token).get_repo(publish).get_issues(state="all")
                if i.title == f"publish: {sdk.full_name}@1.0.0"]
    req = parse_issue(issue.title, issue.body)
    assert req.images == [{"id": "docker", "source": f"{src.host}/{name}:{sha}", "digest": digest}]


def test_the_request_seals_what_it_wrote_ticks_aside(setup: Setup, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """valet-request.json names the publish repo, the issue, the release and the digest of
    the body as written; the `seal` output is its path; a re-request keeps a ticked box
    and the digest still matches the body as the issue holds it."""
    import json

    from valet import seal

    runner = tmp_path / "runner-temp"
    runner.mkdir()
    outputs = tmp_path / "outputs"
    monkeypatch.setenv("RUNNER_TEMP", str(runner))
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    assert setup.request("--targets", "pypi npm") == 0
    issue = setup.publish_issues()[0]
    issue.edit(body=set_target_checked(issue.body, "npm"))
    assert setup.request("--targets", "pypi npm", "--changelog", "- more") == 0
    path = runner / "valet-seal" / seal.FILE
    assert f"seal={path}" in outputs.read_text() or str(path) in outputs.read_text()
    issue = setup.gh.get_repo(setup.publish).get_issue(issue.number)
    written = seal.loads(path.read_bytes())
    assert written == seal.Seal(publish_repo=setup.publish, issue=issue.number,
                                repo=setup.sdk.full_name, version="1.0.0", sha=SHA,
                                body_sha256=seal.body_digest(issue.body))
    assert "[x] npm" in issue.body and "- more" in issue.body
    assert json.loads(path.read_text())["kind"] == seal.KIND


def test_a_dry_run_writes_no_seal(setup: Setup, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNNER_TEMP", str(tmp_path))
    assert setup.request("--targets", "pypi", "--dry-run") == 0
    assert not (tmp_path / "valet-seal").exists()
