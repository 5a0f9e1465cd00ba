"""Publish against the sandbox's branch rules, with the publish App's token on the SDK side:
the rules of the merge target decide whether its configuration is trusted and how the
release lands, before anything is uploaded; a release whose commit changes workflows
needs the App's Workflows permission."""

from __future__ import annotations

import dataclasses

import pytest

from tests.fixtures.sandbox import SandboxUser
from tests.sandbox.helpers import PYPROJECT, bump, open_request, two_apps
from tests.sandbox.test_publish import BRANCH, Scene
from tests.unit.publish.fakes import CONFIG, FakeStore, Registry, artifacts, policy_for
from valet.request import Request, TargetState

pytestmark = pytest.mark.sandbox


def make_scene(sb, gh_repo_factory, sandbox_user_factory, tmp_path, *, workflow: bool = False,
               app_workflows: bool = False) -> tuple[Scene, str]:
    approver = sandbox_user_factory("approver")
    requester = sandbox_user_factory("requester")
    files = {".valet.yml": CONFIG, "README.md": "sdk", "pyproject.toml": PYPROJECT}
    if workflow:  # a workflow that names the version: prepare's pre-release command bumps it
        files[".github/workflows/ci.yml"] = "on: push\nenv:\n  SDK_VERSION: 1.2.2\n"
    sdk = gh_repo_factory(files, prefix="sdk")
    publish = gh_repo_factory({"README.md": "publish",
                               "valet-publish.yml": policy_for(sdk.full_name)},
                              prefix="publish")
    sb.admin.set_permission(publish.full_name, approver.login, "maintain")
    slug = f"publish-{sdk.name}"
    # The publish App (what publish runs as, on both repositories) and the request App.
    app_token = sb.admin.create_app(slug, repos=[sdk.full_name, publish.full_name],
                                    permission="write", workflows=app_workflows)
    request_app, _ = two_apps(sb, sdk.full_name, publish.full_name)
    repo = sdk.gh()
    main_sha = repo.get_branch("main").commit.sha
    repo.create_git_ref(f"refs/heads/{BRANCH}", main_sha)
    sha = bump(repo, BRANCH, ".github/workflows/ci.yml" if workflow else "pyproject.toml")
    sb.admin.set_ci(sdk.full_name, sha, statuses=[{"context": "ci", "state": "success"}])
    release = repo.create_git_release("1.2.3", "1.2.3", "", draft=True, target_commitish=sha)
    request = Request(repo=sdk.full_name, version="1.2.3", requested_by=requester.login,
                      sha=sha, branch=BRANCH, artifacts=artifacts(), release_id=release.id,
                      previous="1.2.2",
                      targets=[TargetState(t) for t in ("pypi", "npm", "github")])
    number = open_request(sb, request, publish=publish, request_app=request_app,
                          requester=requester.login, head=main_sha)
    as_app = dataclasses.replace(sdk, token=app_token)  # publish talks to the SDK as the App
    return Scene(sb, publish, as_app, approver, requester, sha, number, FakeStore(), Registry(),
                 tmp_path, request_app, SandboxUser(f"{slug}[bot]", app_token)), slug


def main_sha(scene: Scene) -> str:
    return scene.sb.app.git(scene.sb.app.state.repo(*scene.sdk.full_name.split("/"))) \
        .ref_sha("refs/heads/main")


def test_rules_requiring_prs_and_checks_without_bypass_land_through_a_pull_request(
        sandbox_env, gh_repo_factory, sandbox_user_factory, tmp_path):
    scene, _ = make_scene(sandbox_env, gh_repo_factory, sandbox_user_factory, tmp_path)
    scene.sb.admin.protect_branch(scene.sdk.full_name, "main", reviews=1, checks=["ci"])
    before = main_sha(scene)
    scene.sb.admin.clear_request_log()
    assert scene.label(scene.approver) == 0
    assert sorted(scene.uploads()) == ["github", "npm", "pypi"]
    assert main_sha(scene) == before  # no direct merge was even tried into a branch it refuses
    pulls = scene.sdk.gh().get_pulls(state="open")
    assert [(p.head.ref, p.base.ref) for p in pulls] == [(BRANCH, "main")]
    last = scene.comments()[-1].replace("\\", "")
    assert f"opened #{pulls[0].number}" in last and "merge it" in last
    # the decision came before the first upload: the merge endpoint was never called
    log = [r["path"] for r in scene.sb.admin.request_log()]
    assert not any(p == f"/repos/{scene.sdk.full_name}/merges" for p in log)
    assert _rules_reads(scene) == []  # the rules came in the SDK repository's query


def test_with_the_app_on_the_bypass_list_publish_merges(sandbox_env, gh_repo_factory,
                                                        sandbox_user_factory, tmp_path):
    scene, slug = make_scene(sandbox_env, gh_repo_factory, sandbox_user_factory, tmp_path)
    scene.sb.admin.protect_branch(scene.sdk.full_name, "main", reviews=1, checks=["ci"],
                                  bypass=[slug])
    assert scene.label(scene.approver) == 0
    assert scene.labels() == {"published"}
    assert scene.sdk.gh().compare(scene.sha, "main").status in ("ahead", "identical")
    assert list(scene.sdk.gh().get_pulls(state="all")) == []


def test_a_branch_whose_only_rule_blocks_force_push_is_refused_as_the_config_source(
        sandbox_env, gh_repo_factory, sandbox_user_factory, tmp_path):
    scene, _ = make_scene(sandbox_env, gh_repo_factory, sandbox_user_factory, tmp_path)
    scene.sb.admin.add_ruleset(scene.sdk.full_name, {
        "name": "no force-push", "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"]}},
        "rules": [{"type": "non_fast_forward"}]})
    assert scene.sdk.gh().get_branch("main").protected  # the flag alone would pass
    scene.sb.admin.clear_request_log()
    assert scene.label(scene.approver) == 0
    assert scene.reg.calls == [] and scene.store.downloads == 0
    assert "accepted" not in scene.labels()
    refusal = scene.comments()[-1].replace("\\", "")
    assert "(non_fast_forward) do not require a pull request" in refusal
    # Nothing of the SDK repository's contents was read (the publish repository's own
    # valet-publish.yml is, first).
    assert not any(f"/repos/{scene.sdk.full_name}/contents/" in r["path"]
                   for r in scene.sb.admin.request_log())


def test_a_workflow_changing_release_without_workflows_permission_is_named_in_preflight(
        sandbox_env, gh_repo_factory, sandbox_user_factory, tmp_path):
    scene, slug = make_scene(sandbox_env, gh_repo_factory, sandbox_user_factory, tmp_path,
                             workflow=True)
    scene.sb.admin.protect_branch(scene.sdk.full_name, "main", bypass=[slug])
    assert scene.label(scene.approver) != 0
    assert scene.reg.calls == [] and scene.store.downloads == 0
    failure = scene.comments()[-1].replace("\\", "")
    assert "Workflows" in failure and ".github/workflows/ci.yml" in failure
    # with the permission granted, the same request publishes
    scene.sb.admin.create_app(slug, workflows=True)
    assert scene.label(scene.approver) == 0 and scene.labels() == {"published"}


def test_a_release_commit_already_in_the_merge_target_needs_no_pull_request(
        sandbox_env, gh_repo_factory, sandbox_user_factory, tmp_path):
    scene, _ = make_scene(sandbox_env, gh_repo_factory, sandbox_user_factory, tmp_path)
    scene.sb.admin.protect_branch(scene.sdk.full_name, "main", reviews=1)
    # someone with bypass fast-forwarded main to the release commit before the approval
    scene.sb.app.git(scene.sb.app.state.repo(*scene.sdk.full_name.split("/"))).force_ref(
        "refs/heads/main", scene.sha)
    assert scene.sdk.gh().compare("main", scene.sha).ahead_by == 0
    assert scene.label(scene.approver) == 0 and scene.labels() == {"published"}
    assert list(scene.sdk.gh().get_pulls(state="all")) == []
    assert "was already in main" in scene.comments()[-1].replace("\\", "")


def _rules_reads(scene: Scene) -> list[str]:
    """The REST reads of the merge target's rules (GraphQL's Ref.rules answers them)."""
    return [r["path"] for r in scene.sb.admin.request_log()
            if r["path"].startswith(f"/repos/{scene.sdk.full_name}/rules/branches/")]


@pytest.mark.parametrize("enforcement", ["evaluate", "disabled"])
def test_a_ruleset_not_enforced_makes_no_source_of_configuration_through_graphql(
        sandbox_env, gh_repo_factory, sandbox_user_factory, tmp_path, enforcement):
    """A reviewed pull request required only by a ruleset GitHub does not enforce: the
    branch's configuration is anyone's who can push, however the rules are read."""
    scene, _ = make_scene(sandbox_env, gh_repo_factory, sandbox_user_factory, tmp_path)
    scene.sb.admin.add_ruleset(scene.sdk.full_name, {
        "name": "not enforced", "enforcement": enforcement,
        "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"]}},
        "rules": [{"type": "pull_request", "parameters": {
            "required_approving_review_count": 2, "dismiss_stale_reviews_on_push": True,
            "require_code_owner_review": True, "require_last_push_approval": True,
            "required_review_thread_resolution": True}}]})
    scene.sb.admin.add_ruleset(scene.sdk.full_name, {
        "name": "no force-push", "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"]}},
        "rules": [{"type": "non_fast_forward"}]})
    scene.sb.admin.clear_request_log()
    assert scene.label(scene.approver) == 0
    assert scene.reg.calls == [] and "accepted" not in scene.labels()
    assert "(non_fast_forward) do not require a pull request" in \
        scene.comments()[-1].replace("\\", "")
    assert _rules_reads(scene) == []  # decided on GraphQL's answer
    assert not any(f"/repos/{scene.sdk.full_name}/contents/" in r["path"]
                   for r in scene.sb.admin.request_log())


def test_a_pull_request_rule_without_an_approval_makes_no_source_of_configuration(
        sandbox_env, gh_repo_factory, sandbox_user_factory, tmp_path):
    scene, _ = make_scene(sandbox_env, gh_repo_factory, sandbox_user_factory, tmp_path)
    scene.sb.admin.protect_branch(scene.sdk.full_name, "main", reviews=0)
    scene.sb.admin.clear_request_log()
    assert scene.label(scene.approver) == 0
    assert scene.reg.calls == [] and "accepted" not in scene.labels()
    assert "no approving review" in scene.comments()[-1].replace("\\", "")
    assert _rules_reads(scene) == []


def test_rules_graphql_cannot_give_in_one_page_are_read_through_rest(
        sandbox_env, gh_repo_factory, sandbox_user_factory, tmp_path):
    scene, _ = make_scene(sandbox_env, gh_repo_factory, sandbox_user_factory, tmp_path)
    scene.sb.admin.protect_branch(scene.sdk.full_name, "main", reviews=1)
    scene.sb.admin.add_ruleset(scene.sdk.full_name, {
        "name": "many", "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"]}},
        "rules": [{"type": "deletion"}] * 100})
    scene.sb.admin.clear_request_log()
    assert scene.label(scene.approver) == 0
    assert sorted(scene.uploads()) == ["github", "npm", "pypi"]
    assert len(_rules_reads(scene)) == 2  # REST's two pages of 100
