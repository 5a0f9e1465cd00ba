"""The CI gate against the sandbox: statuses with their creators, check suites, `ci: none`.

Hole "CI overridden" (docs/security.md): CI reports `ci/build = failure`; an SDK
committer POSTs `success` for the same context. GitHub's combined status then
shows success (it keeps the newest status per context, whoever wrote it); valet
must not publish.
"""

from __future__ import annotations

import pytest
import requests

from tests.sandbox.test_publish import scene  # noqa: F401 (the fixture)


def post_status(scene, token: str, context: str, state: str) -> None:  # noqa: F811
    http = requests.Session()
    http.trust_env = False
    resp = http.post(f"{scene.sb.api_url}/repos/{scene.sdk.full_name}/statuses/{scene.sha}",
                     json={"state": state, "context": context},
                     headers={"Authorization": f"token {token}"}, timeout=30)
    assert resp.status_code == 201, resp.text


@pytest.mark.xfail(strict=True, reason="the gate reads the combined status: the newest wins")
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
