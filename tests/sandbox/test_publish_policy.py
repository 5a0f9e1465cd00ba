"""The publish repository decides what can be released (valet-publish.yml), in-process.

The sandbox is GitHub; pypiserver and verdaccio are the session's real registries,
and the pypi and npm targets are the real ones (each call recorded on the way
through), so a refusal here is a refusal of the real code path. Each attack plays
what an org's setup allows: an SDK repository the publish App is installed on (its
own protected main, green CI, a request written by the request App from a real
release run) whose files carry the org's package names, but that the publish
repository does not list, or lists for other packages, or whose configuration
points a registry URL somewhere else. Nothing reaches a registry, no artifact is
downloaded, no registry credential is read, and the issue says why and how to fix it.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.fault.world import build_artifacts
from tests.fixtures.sandbox import SandboxUser
from tests.sandbox.helpers import PYPROJECT, bump, labeled, open_request
from tests.unit.publish.fakes import FakeStore
from valet import github_client
from valet.authz import parse_policy
from valet.manifest import Artifact
from valet.publish import Deps, Publisher, Settings
from valet.publish.identity import learn
from valet.publish_api import IssueAPI, Rest, SdkAPI
from valet.request import Request, TargetState
from valet.targets import get_target
from valet.targets.base import host_of

pytestmark = [pytest.mark.sandbox, pytest.mark.adversarial]

RELEASE = ".github/workflows/release.yml"
BRANCH = "release/1.2.3"
VERSION = "1.2.3"
CREDENTIALS = {"TWINE_PASSWORD", "PYPI_TOKEN", "NPM_TOKEN", "NODE_AUTH_TOKEN"}


class SpyEnv(Mapping[str, str]):
    """The publish process's environment, recording every variable asked for."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.read: list[str] = []

    def __getitem__(self, key: str) -> str:
        self.read.append(key)
        return self.values[key]

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.read.append(key)
        return self.values.get(key, default)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.read.append(key)
        return key in self.values

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)

    def credentials_read(self) -> set[str]:
        return set(self.read) & CREDENTIALS


@dataclass
class Spied:
    """A real target whose every call is recorded."""

    real: Any
    calls: list[tuple[str, str]]

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.real, name)
        if name not in ("preflight", "status", "publish", "destinations"):
            return attr

        def call(ctx: Any) -> Any:
            self.calls.append((name, ctx.key))
            return attr(ctx)
        return call


@dataclass
class Org:
    sb: Any
    regs: Any
    publish: Any
    approver: SandboxUser
    requester: SandboxUser
    request_app: SandboxUser
    publish_app: SandboxUser
    tmp: Path
    pkg: str  # the org's package, which sdk builds
    repos: dict[str, Any] = field(default_factory=dict)  # name -> SandboxRepo
    shas: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (base, release)
    calls: list[tuple[str, str]] = field(default_factory=list)
    store: FakeStore | None = None
    env: SpyEnv | None = None
    number: int = 0

    @property
    def pypi_host(self) -> str:
        return host_of(self.regs.pypi_url)

    @property
    def npm_host(self) -> str:
        return host_of(self.regs.npm_url)

    def policy(self, text: str) -> None:
        """Write valet-publish.yml on the publish repo's default branch."""
        repo = self.publish.gh()
        try:
            current = repo.get_contents("valet-publish.yml")
            repo.update_file("valet-publish.yml", "policy", text, current.sha)
        except Exception:  # noqa: BLE001 - not there yet
            repo.create_file("valet-publish.yml", "policy", text)

    def serve_sdk(self, *, hosts: bool = True, packages: str | None = None) -> str:
        sdk = self.repos["sdk"].full_name
        pkg = packages or self.pkg
        text = (f"repos:\n  {sdk}:\n    targets: [pypi, npm]\n    packages:\n"
                f"      pypi: [{pkg}]\n      npm: [{pkg}]\n")
        if hosts:
            text += (f"hosts:\n  pypi: [\"{self.pypi_host}\"]\n"
                     f"  npm: [\"{self.npm_host}\"]\n")
        self.policy(text)
        return text

    def request(self, name: str, pkg: str | None = None) -> int:
        """release.yml in repo ``name``: a run by the requester opens the request for a draft
        whose files are ``pkg``'s (default: the org's package)."""
        repo = self.repos[name]
        base, sha = self.shas[name]
        files = {p.name: p.read_bytes() for p in build_artifacts(
            self.tmp / f"dist-{uuid.uuid4().hex[:6]}", pkg or self.pkg, VERSION).values()}
        self.store = FakeStore()
        self.store.content = files  # the draft as the store serves it, verified
        request = Request(repo=repo.full_name, version=VERSION,
                          requested_by=self.requester.login, sha=sha, branch=BRANCH,
                          artifacts=[Artifact(n, len(b), hashlib.sha256(b).hexdigest())
                                     for n, b in sorted(files.items())],
                          release_id=1, targets=[TargetState("pypi"), TargetState("npm")])
        self.number = open_request(self.sb, request, publish=self.publish,
                                   request_app=self.request_app,
                                   requester=self.requester.login, head=base)
        return self.number

    def label(self) -> int:
        event = labeled(self.publish, self.number, self.approver)
        gh = github_client.connect(self.publish_app.token)
        issues = IssueAPI(Rest(gh), self.publish.full_name)
        home = self.tmp / "npm-home"
        home.mkdir(exist_ok=True)
        self.env = SpyEnv({"PATH": os.environ.get("PATH", ""), "HOME": str(home),
                           "GITHUB_API_URL": self.sb.api_url,
                           "GITHUB_SERVER_URL": self.sb.server_url, **self.regs.env()})
        settings = Settings(publish_repo=self.publish.full_name, workdir=self.tmp,
                            env=self.env, policy=parse_policy(self.approver.login))
        deps = Deps(issues=issues, sdk=lambda repo: SdkAPI(Rest(gh), repo),
                    store=lambda req, cfg: self.store, resolve=self.resolve, sdk_github=gh,
                    identify=lambda: learn(issues, app_slug=None,
                                           request_app=self.request_app.login[:-5]))
        return Publisher(settings, deps).handle(event)

    def resolve(self, name: str) -> Any:
        return Spied(get_target(name), self.calls)

    # -- what happened -------------------------------------------------------------------
    def last_comment(self) -> tuple[str, str]:
        comments = list(self.publish.gh(self.approver.token).get_issue(self.number)
                        .get_comments())
        return (comments[-1].user.login, comments[-1].body) if comments else ("", "")

    def labels(self) -> set[str]:
        return {x.name for x in self.publish.gh(self.approver.token).get_issue(self.number)
                .labels}

    def on_pypi(self, pkg: str) -> list[str]:
        page = requests.get(f"{self.regs.pypi_index_url}{pkg}/", timeout=30)
        return [] if page.status_code == 404 else [
            n for n in page.text.split('"') if VERSION in n and "#sha256=" in n]

    def on_npm(self, pkg: str) -> bool:
        meta = requests.get(f"{self.regs.npm_url.rstrip('/')}/{pkg}", timeout=30,
                            headers={"Authorization": f"Bearer {self.regs.npm_token}"})
        return meta.status_code == 200 and VERSION in (meta.json().get("versions") or {})

    def refused(self, *why: str, pkg: str | None = None) -> str:
        """Nothing reached a registry, nothing was downloaded, no credential was read; the
        publish App said why on the issue and took `accepted` back."""
        pkg = pkg or self.pkg
        assert [c for c in self.calls if c[0] != "destinations"] == []
        assert self.store is not None and self.store.downloads == 0
        assert self.env is not None and self.env.credentials_read() == set()
        assert self.on_pypi(pkg) == [] and not self.on_npm(pkg)
        author, body = self.last_comment()
        assert author == self.publish_app.login, body
        assert "nothing was published" in body
        for text in why:
            assert text in body, body
        assert "accepted" not in self.labels()
        return body


def _sdk_repo(org: Org, gh_repo_factory: Any, name: str, config: str) -> None:
    sb = org.sb
    repo = gh_repo_factory({".valet.yml": config, "README.md": name, "pyproject.toml": PYPROJECT},
                           prefix=name)
    gh = repo.gh()
    base = gh.get_branch("main").commit.sha
    gh.create_git_ref(f"refs/heads/{BRANCH}", base)
    sha = bump(gh, BRANCH)  # the release commit, as prepare makes it
    sb.admin.set_ci(repo.full_name, sha, check_runs=[
        {"name": "tests", "status": "completed", "conclusion": "success"}])
    org.repos[name], org.shas[name] = repo, (base, sha)


CONFIG = "targets:\n  - name: pypi\n  - name: npm\n"


@pytest.fixture
def org(sandbox_env, gh_repo_factory, sandbox_user_factory, registries, tmp_path) -> Org:
    sb = sandbox_env
    publish = gh_repo_factory({"README.md": "publish"}, prefix="publish")
    approver, requester = (sandbox_user_factory(p) for p in ("approver", "requester"))
    sb.admin.set_permission(publish.full_name, approver.login, "maintain")
    sb.admin.set_permission(publish.full_name, requester.login, "triage")
    request_slug, publish_slug = f"{publish.name}-rq", f"{publish.name}-pb"
    org = Org(sb, registries, publish, approver, requester,
              SandboxUser(f"{request_slug}[bot]", ""), SandboxUser(f"{publish_slug}[bot]", ""),
              tmp_path, pkg=f"acme-sdk-{uuid.uuid4().hex[:8]}")
    _sdk_repo(org, gh_repo_factory, "sdk", CONFIG)
    # An SDK repository of the same org the Apps are installed on (all repositories, as
    # an org installs them), with its own protected main and green CI, that the publish
    # repository does not serve.
    _sdk_repo(org, gh_repo_factory, "other", CONFIG)
    # ... and one whose merge target points the pypi target at another index.
    _sdk_repo(org, gh_repo_factory, "elsewhere",
              "targets:\n  - name: pypi\n"
              "    repository_url: https://pypi.attacker.example/legacy/\n"
              "    index_url: https://pypi.attacker.example/simple/\n  - name: npm\n")
    sdks = [r.full_name for r in org.repos.values()]
    org.request_app = SandboxUser(org.request_app.login, sb.admin.create_app(
        request_slug, repos=sdks, permission="write"))
    sb.admin.set_permission(publish.full_name, org.request_app.login, "triage")
    org.publish_app = SandboxUser(org.publish_app.login, sb.admin.create_app(
        publish_slug, repos=[*sdks, publish.full_name], permission="admin"))
    for sdk in sdks:  # reviewed pull requests; the publish App merges past the rule
        sb.admin.protect_branch(sdk, "main", bypass=[publish_slug])
    return org


def test_a_served_repository_publishes_to_the_registries_it_allows(org: Org) -> None:
    """The baseline every attack departs from: the same request, served, does publish to
    the real pypiserver and verdaccio."""
    org.serve_sdk()
    org.request("sdk")
    assert org.label() == 0, org.last_comment()
    assert sorted(k for c, k in org.calls if c == "publish") == ["npm", "pypi"]
    assert org.on_pypi(org.pkg) and org.on_npm(org.pkg)
    assert "published" in org.labels()


def test_attack_a_repository_the_publish_repo_does_not_serve(org: Org) -> None:
    """Hole 6: a request for a repository the publish repository does not list, whose
    files carry the org's package name, is refused before its repository is read."""
    org.serve_sdk()
    org.request("other")
    org.sb.admin.clear_request_log()
    assert org.label() == 0
    other = org.repos["other"].full_name
    body = org.refused(f"{other} is not served by {org.publish.full_name}",
                       "valet-publish.yml", f"repos:\n  {other}:", "targets: [npm, pypi]")
    read = [r["path"] for r in org.sb.admin.request_log()
            if r["path"].lower().startswith(f"/repos/{other.lower()}/")]
    assert read == [], read  # not its run, its config, its branches: nothing
    assert org.calls == []
    assert "default branch" in body


def test_attack_a_served_repository_releasing_another_repositorys_package(org: Org) -> None:
    """sdk is served for its own package; its draft carries the package of another
    repository of the org: refused before any download or token."""
    theirs = f"{org.pkg}-core"
    org.serve_sdk()
    org.request("sdk", pkg=theirs)
    assert org.label() == 0
    dist = theirs  # PEP 503: the wheel's project
    org.refused(f"pypi: the package {dist}", "is not listed", f"pypi: [{org.pkg}, {dist}]",
                pkg=theirs)


def test_attack_a_merge_target_pointing_a_registry_elsewhere(org: Org) -> None:
    """elsewhere is served with every package; its main points the pypi target at another
    index, where the publish token would go: refused, and the token is never read."""
    repo = org.repos["elsewhere"].full_name
    org.policy(f"repos:\n  {repo}:\n    targets: [pypi, npm]\n    packages:\n"
               f"      pypi: [{org.pkg}]\n      npm: [{org.pkg}]\n"
               f"hosts:\n  pypi: [\"{org.pypi_host}\"]\n  npm: [\"{org.npm_host}\"]\n")
    org.request("elsewhere")
    assert org.label() == 0
    org.refused("pypi: the host pypi.attacker.example", "is not allowed", "hosts:")


def test_attack_a_target_kind_the_repository_is_not_served_for(org: Org) -> None:
    repo = org.repos["sdk"].full_name
    org.policy(f"repos:\n  {repo}:\n    targets: [pypi]\n    packages:\n"
               f"      pypi: [{org.pkg}]\nhosts:\n  pypi: [\"{org.pypi_host}\"]\n")
    org.request("sdk")
    assert org.label() == 0
    org.refused("the target npm", "targets: [npm, pypi]")


def test_no_valet_publish_yml_refuses_every_request_with_a_starter_file(org: Org) -> None:
    org.request("sdk")
    assert org.label() == 0
    sdk = org.repos["sdk"].full_name
    org.refused("has no valet-publish.yml", f"repos:\n  {sdk}:", "targets: [npm, pypi]")


def test_the_policy_is_one_read_of_the_default_branch(org: Org) -> None:
    """Read once per run, from the default branch (HEAD: never a branch the request or
    the event names); a file on another branch changes nothing."""
    org.serve_sdk()  # what the other branch keeps
    repo = org.publish.gh()
    repo.create_git_ref("refs/heads/other", repo.get_branch("main").commit.sha)
    org.serve_sdk(packages="something-else")  # the default branch's
    org.request("sdk")
    org.sb.admin.clear_request_log()
    assert org.label() == 0
    org.refused("is not listed")
    log = org.sb.admin.request_log()
    # read in the run's GraphQL query with the edits (the blob at HEAD: the default
    # branch), so the contents API is not asked; the others are the viewer's own (this
    # harness does not start the identity's reads ahead) and the SDK repository's query
    # (the policy serves that repository: only the package is not listed)
    assert sum(1 for r in log if r.get("kind") == "graphql") == 3
    assert not [r for r in log if "valet-publish.yml" in r["path"]], log
