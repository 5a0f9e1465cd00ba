"""`valet audit` after a real publish in the sandbox, and the records an SDK committer
can forge: the audit must not report them as fact.

The publish run is valet's own (``Publisher`` in-process, stub targets, as in
test_publish.py); the forgeries are what the access a real org gives allows:
another App with triage on the publish repository comments with valet's markers,
labels `published` and closes; the request App's token rewrites `Requested by:`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.sandbox import SandboxUser
from tests.sandbox.test_publish import Scene, scene  # noqa: F401 - the fixture
from tests.unit.publish.fakes import artifacts
from valet import cli
from valet.issue_format import render_body
from valet.request import Request, TargetState

pytestmark = pytest.mark.sandbox


def _audit(sc: Scene, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *extra: str) -> dict[str, Any]:
    monkeypatch.setenv("GITHUB_API_URL", sc.sb.api_url)
    out = tmp_path / "audit.json"
    code = cli.main(["audit", "--publish-repo", sc.publish.full_name, "--format", "json",
                     "--output", str(out), "--approvers", sc.approver.login,
                     "--github-token", sc.approver.token, *extra])
    assert code == 0
    data = json.loads(out.read_text())
    return {r["issue"]: r for r in data["requests"]}


def _second_request(sc: Scene) -> int:
    """Another request of the same SDK, opened by the request App from a real run."""
    main_sha = sc.sdk.gh().get_branch("main").commit.sha
    run = sc.sb.admin.create_run(sc.sdk.full_name, path=".github/workflows/release.yml",
                                 event="workflow_dispatch", actor=sc.requester.login,
                                 head_sha=main_sha, head_branch="main")
    request = Request(repo=sc.sdk.full_name, version="1.2.4", requested_by=sc.requester.login,
                      sha=sc.sha, branch="release/1.2.4", artifacts=artifacts(), release_id=2,
                      targets=[TargetState(t) for t in ("pypi", "npm", "github")],
                      run_id=run["id"])
    body = render_body(request, server_url=sc.sb.server_url)
    number = int(sc.publish.gh(sc.request_app.token).create_issue(request.title, body).number)
    sc.sb.admin.finish_run(sc.sdk.full_name, run["id"], "success")
    return number


def _helper_app(sc: Scene) -> SandboxUser:
    """A second App on the publish repository (a triage bot): not the publish App."""
    slug = f"{sc.publish.name}-helper"
    helper = SandboxUser(f"{slug}[bot]", sc.sb.admin.create_app(slug, repos=[]))
    sc.sb.admin.set_permission(sc.publish.full_name, helper.login, "triage")
    return helper


@pytest.mark.xfail(strict=True, reason="the audit trusts any bot's markers, labels and the "
                   "body's Requested by: line")
def test_forged_records_are_not_reported_as_fact(scene: Scene, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    sc = scene
    assert sc.label(sc.approver) == 0  # a real publish: valet's own records
    # 1. After the release, the request App's token rewrites who asked for it.
    issue = sc.publish.gh(sc.request_app.token).get_issue(sc.number)
    issue.edit(body=issue.body.replace(sc.requester.login, "someone-else"))  # line and block
    # 2. A request approved but never published by valet: another bot writes valet's
    #    summary and done markers, labels it `published` and closes it.
    forged = _second_request(sc)
    sc.publish.gh(sc.approver.token).get_issue(forged).add_to_labels("accepted")
    helper = _helper_app(sc)
    fake = sc.publish.gh(helper.token).get_issue(forged)
    fake.create_comment("<!-- valet:summary -->\n:rocket: **Published 1.2.4**\n\n"
                        f"[workflow run]({sc.sb.server_url}/{sc.publish.full_name}/actions/runs/9)"
                        '\n\n<!-- valet:done {"targets":["pypi","npm","github"]} -->')
    fake.remove_from_labels("accepted")
    fake.add_to_labels("published")
    fake.edit(state="closed")

    rows = _audit(sc, tmp_path, monkeypatch)
    real, fake_row = rows[sc.number], rows[forged]
    assert real["state"] == "published"
    assert real["requester"] != "someone-else", "the body's rewritten line reported as fact"
    assert real["flags"], "a body rewritten after publishing must be flagged"
    assert fake_row["state"] != "published", "another bot's summary reported as a release"
    assert fake_row["run_url"] is None
    assert fake_row["flags"]
