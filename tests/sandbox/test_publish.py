"""Publish orchestration against the GitHub sandbox, with stub targets and store.

The issues, labels, events, comments, permissions, contents, check runs,
merges and refs are the sandbox's (real REST, real git); the targets are stubs
that record every call, so these tests pin down the orchestration independently
of the real registries (tests/act/test_publish_e2e.py covers those).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, replace
from typing import Any

import pytest

from tests.fixtures.sandbox import SandboxUser
from tests.sandbox.helpers import PYPROJECT, bump, labeled, open_request
from tests.unit.publish.fakes import CONFIG, Behaviour, FakeStore, Registry, artifacts, policy_for
from valet import github_client
from valet.authz import parse_policy
from valet.events import parse_event
from valet.issue_format import parse_issue
from valet.publish import Deps, Publisher, Settings
from valet.publish.identity import learn
from valet.publish_api import IssueAPI, Rest, SdkAPI
from valet.request import Request, TargetState

pytestmark = pytest.mark.sandbox

_MISSING = [m for m in ("issues", "ci", "access")
            if importlib.util.find_spec(f"valet.sandbox.routes.{m}") is None]
if _MISSING:
    pytest.skip(f"the sandbox has no {', '.join(_MISSING)} routes yet", allow_module_level=True)

BRANCH = "release/1.2.3"



@dataclass
class Scene:
    sb: Any
    publish: Any
    sdk: Any
    approver: Any
    requester: Any
    sha: str
    number: int
    store: FakeStore
    reg: Registry
    tmp: Any
    request_app: Any  # SandboxUser of the request App's bot (opens the issue)
    publish_app: Any  # SandboxUser of the publish App's bot (what publish runs as)

    def issue(self) -> Any:
        return self.publish.gh(self.requester.token).get_issue(self.number)

    def label(self, who: Any, label: str = "accepted") -> int:
        return self.run(labeled(self.publish, self.number, who, label))

    def run(self, event: Any) -> int:
        gh = github_client.connect(self.publish_app.token)
        sdk_gh = github_client.connect(self.publish_app.token)
        settings = Settings(publish_repo=self.publish.full_name,
                            policy=parse_policy(self.approver.login), workdir=self.tmp,
                            env={})
        issues = IssueAPI(Rest(gh), self.publish.full_name)
        sdk_rest = Rest(sdk_gh)  # one for the run, as valet publish has (its reads ahead)
        deps = Deps(issues=issues, sdk=lambda repo: SdkAPI(sdk_rest, repo),
                    store=lambda req, cfg: self.store, resolve=self.reg.resolve,
                    sdk_github=sdk_gh,
                    identify=lambda: learn(issues, app_slug=None,
                                           request_app=self.request_app.login[:-5]))
        return Publisher(settings, deps).handle(event)

    def labels(self) -> set[str]:
        return {x.name for x in self.issue().labels}

    def checked(self) -> dict[str, bool]:
        i = self.issue()
        return {t.id: t.checked for t in parse_issue(i.title, i.body).targets}

    def comments(self) -> list[str]:
        return [c.body for c in self.issue().get_comments()]

    def uploads(self) -> list[str]:
        return [k for c, k in self.reg.calls if c == "publish"]


@pytest.fixture
def scene(sandbox_env, gh_repo_factory, sandbox_user_factory, tmp_path) -> Scene:
    sb = sandbox_env
    approver = sandbox_user_factory("approver")
    requester = sandbox_user_factory("requester")
    sdk = gh_repo_factory({".valet.yml": CONFIG, "README.md": "sdk", "pyproject.toml": PYPROJECT},
                          prefix="sdk")
    publish = gh_repo_factory({"README.md": "publish",
                               "valet-publish.yml": policy_for(sdk.full_name)},
                              prefix="publish")
    for user, perm in ((approver, "maintain"), (requester, "triage")):
        sb.admin.set_permission(publish.full_name, user.login, perm)
    # The release commit, as prepare makes it: the version bumped. (One that changed the
    # configuration too is refused: tests/sandbox/test_reviewed_release.py.)
    repo = sdk.gh()
    main_sha = repo.get_branch("main").commit.sha
    repo.create_git_ref(f"refs/heads/{BRANCH}", main_sha)
    sha = bump(repo, BRANCH)
    sb.admin.set_ci(sdk.full_name, sha, check_runs=[
        {"name": "tests", "status": "completed", "conclusion": "success"}])
    # Two Apps: the request App opens the issue, the publish App runs publish.
    request_slug, publish_slug = f"{publish.name}-request", f"{publish.name}-publish"
    request_app = SandboxUser(f"{request_slug}[bot]", sb.admin.create_app(
        request_slug, repos=[sdk.full_name], permission="write"))
    sb.admin.set_permission(publish.full_name, request_app.login, "triage")
    publish_app = SandboxUser(f"{publish_slug}[bot]", sb.admin.create_app(
        publish_slug, repos=[sdk.full_name, publish.full_name], permission="admin"))
    # publish reads config only from a branch that requires reviewed pull requests; the
    # publish App that merges here is on the ruleset's bypass list
    sb.admin.protect_branch(sdk.full_name, "main", bypass=[publish_slug])
    # The prepare run, as the act harness records it: the requester ran release.yml.
    request = Request(repo=sdk.full_name, version="1.2.3", requested_by=requester.login,
                      sha=sha, branch=BRANCH, artifacts=artifacts(), release_id=1,
                      targets=[TargetState(t) for t in ("pypi", "npm", "github")])
    number = open_request(sb, request, publish=publish, request_app=request_app,
                          requester=requester.login, head=main_sha)
    return Scene(sb, publish, sdk, approver, requester, sha, number, FakeStore(), Registry(),
                 tmp_path, request_app, publish_app)


def test_publish_merges_closes_and_reads_config_only_from_the_merge_target(scene):
    scene.sb.admin.clear_request_log()
    assert scene.label(scene.approver) == 0
    assert sorted(scene.uploads()) == ["github", "npm", "pypi"]
    assert scene.uploads()[-1] == "github"
    assert scene.checked() == {"pypi": True, "npm": True, "github": True}
    assert scene.issue().state == "closed"
    assert scene.labels() == {"published"}
    assert any("valet:summary" in c for c in scene.comments())
    repo = scene.sdk.gh()
    assert BRANCH not in [b.name for b in repo.get_branches()]
    assert repo.compare(scene.sha, "main").status in ("ahead", "identical")
    # the configuration came with the SDK's GraphQL query (HEAD: the default branch,
    # main, as the same answer names it: sdk_query); any contents read is of main too
    log = scene.sb.admin.request_log()
    reads = [r for r in log if "/contents/" in r["path"]
             and r["path"].startswith(f"/repos/{scene.sdk.full_name}")]
    assert all("ref=main" in (r.get("query") or "") for r in reads)


def test_attack_a_tag_named_like_the_merge_target_carries_no_configuration(scene):
    """git resolves a bare `main` to refs/tags/main before refs/heads/main: a committer
    who may push tags (rarely protected) pushes a tag `main` at a commit whose
    configuration lists only pypi, for a request that names `main` as its merge target.
    The configuration comes from the branch, so all three targets are configured and
    publish."""
    repo = scene.sdk.gh()
    main_sha = repo.get_branch("main").commit.sha
    repo.create_git_ref("refs/heads/evil", main_sha)
    current = repo.get_contents(".valet.yml", ref="evil")
    evil = repo.update_file(".valet.yml", "only pypi", "targets:\n  - name: pypi\n",
                            current.sha, branch="evil")["commit"].sha
    repo.create_git_ref("refs/tags/main", evil)
    request = Request(repo=scene.sdk.full_name, version="1.2.3", merge_target="main",
                      requested_by=scene.requester.login, sha=scene.sha, branch=BRANCH,
                      artifacts=artifacts(), release_id=1,
                      targets=[TargetState(t) for t in ("pypi", "npm", "github")])
    scene = replace(scene, number=open_request(
        scene.sb, request, publish=scene.publish, request_app=scene.request_app,
        requester=scene.requester.login, head=main_sha))
    assert scene.label(scene.approver) == 0
    assert sorted(scene.uploads()) == ["github", "npm", "pypi"]
    assert scene.labels() == {"published"}


def test_resume_after_a_failure_publishes_only_unchecked_targets(scene):
    scene.reg.behaviour["npm"] = Behaviour(publish_error="E401 bad token")
    assert scene.label(scene.approver) != 0
    assert scene.checked() == {"pypi": True, "npm": False, "github": False}
    assert "failed" in scene.labels() and "accepted" not in scene.labels()
    assert "E401 bad token" in scene.comments()[-1]
    assert scene.issue().state == "open"
    scene.reg.behaviour["npm"] = Behaviour()
    scene.reg.calls.clear()
    assert scene.label(scene.approver) == 0
    assert sorted(scene.uploads()) == ["github", "npm"]
    assert all(k != "pypi" for _, k in scene.reg.calls)
    assert scene.labels() == {"published"} and scene.issue().state == "closed"


def test_body_edited_after_approval_is_refused(scene):
    scene.publish.gh(scene.approver.token).get_issue(scene.number).add_to_labels("accepted")
    issue = scene.issue()
    payload = {"action": "labeled", "label": {"name": "accepted"},
               "issue": {"number": scene.number, "title": issue.title, "body": issue.body,
                         "state": "open", "labels": [{"name": "accepted"}]},
               "repository": {"full_name": scene.publish.full_name},
               "sender": {"login": scene.approver.login, "type": "User"}}
    # the requester ticks npm ("skip it") after the approver looked
    issue.edit(body=issue.body.replace("- [ ] npm", "- [x] npm"))
    assert scene.run(parse_event("issues", payload)) == 0
    assert scene.reg.calls == [] and scene.store.downloads == 0
    assert "accepted" not in scene.labels()
    assert "changed after it was approved" in scene.comments()[-1]


def test_requester_cannot_approve(scene):
    scene.sb.admin.set_permission(scene.publish.full_name, scene.requester.login, "maintain")
    assert scene.label(scene.requester) == 0
    assert scene.reg.calls == [] and "accepted" not in scene.labels()
    assert "requested this release" in scene.comments()[-1]


def test_an_unprotected_merge_target_is_refused_before_its_config_is_read(scene):
    scene.sb.admin.protect_branch(scene.sdk.full_name, "main", protected=False)
    scene.sb.admin.clear_request_log()
    assert scene.label(scene.approver) == 0
    assert scene.reg.calls == [] and scene.store.downloads == 0
    assert "accepted" not in scene.labels() and scene.issue().state == "open"
    assert "main of " in scene.comments()[-1] and "not a protected branch" in scene.comments()[-1]
    sdk_calls = [r["path"] for r in scene.sb.admin.request_log()
                 if r["path"].startswith(f"/repos/{scene.sdk.full_name}")]
    # the protection rule's "Branch not protected" and the rulesets decided it (an admin
    # token reads the rule; the branch's own flag is read only when the rule cannot be;
    # the rulesets' rules, none, came in the SDK repository's GraphQL query)
    assert f"/repos/{scene.sdk.full_name}/branches/main/protection" in sdk_calls
    assert f"/repos/{scene.sdk.full_name}/rules/branches/main" not in sdk_calls
    assert not any("/contents/" in p or "/merges" in p for p in sdk_calls)
