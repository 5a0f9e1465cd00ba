"""The CI gate against the sandbox: statuses with their creators, check suites, `ci: none`.

Hole "CI overridden" (docs/security.md): CI reports `ci/build = failure`; an SDK
committer POSTs `success` for the same context. GitHub's combined status then
shows success (it keeps the newest status per context, whoever wrote it); valet
must not publish.
"""

from __future__ import annotations

import requests

from tests.sandbox.test_publish import scene  # noqa: F401 (the fixture)


def post_status(scene, token: str, context: str, state: str) -> None:  # noqa: F811
    http = requests.Session()
    http.trust_env = False
    resp = http.post(f"{scene.sb.api_url}/repos/{scene.sdk.full_name}/statuses/{scene.sha}",
                     json={"state": state, "context": context},
                     headers={"Authorization": f"token {token}"}, timeout=30)
    assert resp.status_code == 201, resp.text


def test_a_committers_success_does_not_turn_ci_failure_green(scene, sandbox_user_factory):  # noqa: F811
    scene.sb.admin.set_ci(scene.sdk.full_name, scene.sha,
                          statuses=[{"context": "ci/build", "state": "failure"}])
    committer = sandbox_user_factory("committer")
    scene.sb.admin.set_permission(scene.sdk.full_name, committer.login, "write")
    post_status(scene, committer.token, "ci/build", "success")
    combined = scene.sdk.gh().get_commit(scene.sha).get_combined_status()
    assert combined.state == "success"  # what the attack relies on
    assert scene.label(scene.approver) != 0
    assert scene.reg.calls == [] and scene.store.downloads == 0
    assert "ci-failed" in scene.labels() and scene.issue().state == "open"
    assert "ci/build" in scene.comments()[-1]


def test_a_queued_suite_without_runs_waits(scene):  # noqa: F811
    # the scene's `tests` run is green; a second CI App's suite is queued with no run yet
    scene.sb.admin.set_ci(scene.sdk.full_name, scene.sha,
                          check_suites=[{"app": "buildkite", "status": "queued"}])
    assert scene.label(scene.approver) == 0
    assert scene.reg.calls == [] and "ci-pending" in scene.labels()
    assert "buildkite" in scene.comments()[-1]


def test_ci_none_publishes_a_repository_without_ci(sandbox_env, gh_repo_factory,
                                                   sandbox_user_factory, tmp_path, monkeypatch):
    from tests.unit.publish.fakes import CONFIG

    step_summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    # A commit without any status, suite or run: the default waits, `ci: none` publishes.
    s = _scene_without_ci(sandbox_env, gh_repo_factory, sandbox_user_factory, tmp_path, CONFIG)
    assert s.label(s.approver) == 0 and s.reg.calls == [] and "ci-pending" in s.labels()
    s2 = _scene_without_ci(sandbox_env, gh_repo_factory, sandbox_user_factory, tmp_path,
                           CONFIG + "ci: none\n")
    assert s2.label(s2.approver) == 0
    assert sorted(s2.uploads()) == ["github", "npm", "pypi"]
    assert "no CI required (ci: none" in step_summary.read_text()


def _scene_without_ci(sb, gh_repo_factory, sandbox_user_factory, tmp_path, config):
    from tests.sandbox.helpers import PYPROJECT, bump, open_request, two_apps
    from tests.sandbox.test_publish import BRANCH, Scene
    from tests.unit.publish.fakes import FakeStore, Registry, artifacts, policy_for
    from valet.request import Request, TargetState

    approver = sandbox_user_factory("approver")
    requester = sandbox_user_factory("requester")
    sdk = gh_repo_factory({".valet.yml": config, "README.md": "sdk", "pyproject.toml": PYPROJECT},
                          prefix="sdk")
    publish = gh_repo_factory({"README.md": "publish",
                               "valet-publish.yml": policy_for(sdk.full_name)},
                              prefix="publish")
    sb.admin.set_permission(publish.full_name, approver.login, "maintain")
    repo = sdk.gh()
    main_sha = repo.get_branch("main").commit.sha
    repo.create_git_ref(f"refs/heads/{BRANCH}", main_sha)
    sha = bump(repo, BRANCH)
    request = Request(repo=sdk.full_name, version="1.2.3", requested_by=requester.login,
                      sha=sha, branch=BRANCH, artifacts=artifacts(), release_id=1,
                      targets=[TargetState(t) for t in ("pypi", "npm", "github")])
    request_app, publish_app = two_apps(sb, sdk.full_name, publish.full_name)
    sb.admin.protect_branch(sdk.full_name, "main", bypass=[publish_app.login[: -len("[bot]")]])
    number = open_request(sb, request, publish=publish, request_app=request_app,
                          requester=requester.login, head=main_sha)
    return Scene(sb, publish, sdk, approver, requester, sha, number, FakeStore(), Registry(),
                 tmp_path, request_app, publish_app)
