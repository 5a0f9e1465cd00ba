"""`valet audit` against the sandbox, after a real publish: what it reports as fact, and
the records an SDK committer can forge, which it must not.

The publish run is valet's own (``Publisher`` in-process, stub targets, as in
test_publish.py); the forgeries are what the access a real org gives allows:
another App with triage on the publish repository comments with valet's markers,
labels `published` and closes; the request App's token rewrites `Requested by:`.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.sandbox import SandboxUser
from tests.sandbox import test_publish
from tests.sandbox.helpers import open_request
from tests.sandbox.test_publish import Scene
from tests.unit.publish.fakes import artifacts
from valet import cli
from valet.request import Request, TargetState

pytestmark = pytest.mark.sandbox

scene = test_publish.scene  # the same world: a real publish with stub targets


def _run(sc: Scene, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str) -> str:
    monkeypatch.setenv("GITHUB_API_URL", sc.sb.api_url)
    out = tmp_path / f"audit.{fmt}"
    code = cli.main(["audit", "--publish-repo", sc.publish.full_name, "--format", fmt,
                     "--output", str(out), "--approvers", sc.approver.login,
                     "--github-token", sc.approver.token,
                     "--app-slug", sc.publish_app.login[: -len("[bot]")],
                     "--request-app", sc.request_app.login[: -len("[bot]")]])
    assert code == 0
    return out.read_text()


def _audit(sc: Scene, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[int, Any]:
    data = json.loads(_run(sc, tmp_path, monkeypatch, "json"))
    assert data["flagged"] == sum(1 for r in data["requests"] if r["flags"])
    return {r["issue"]: r for r in data["requests"]}


def codes(row: dict[str, Any]) -> list[str]:
    return [f["code"] for f in row["flags"]]


def _second_request(sc: Scene) -> int:
    """Another request of the same SDK, opened by the request App from a real run."""
    base = sc.sdk.gh().get_commit(sc.sha).parents[0].sha  # what the release commit grew from
    request = Request(repo=sc.sdk.full_name, version="1.2.4", requested_by=sc.requester.login,
                      sha=sc.sha, branch="release/1.2.4", artifacts=artifacts(), release_id=2,
                      targets=[TargetState(t) for t in ("pypi", "npm", "github")])
    return open_request(sc.sb, request, publish=sc.publish, request_app=sc.request_app,
                        requester=sc.requester.login, head=base)


def _helper_app(sc: Scene) -> SandboxUser:
    """A second App on the publish repository (a triage bot): not the publish App."""
    slug = f"{sc.publish.name}-helper"
    helper = SandboxUser(f"{slug}[bot]", sc.sb.admin.create_app(slug, repos=[]))
    sc.sb.admin.set_permission(sc.publish.full_name, helper.login, "triage")
    return helper


def test_a_release_valet_published_is_traced_to_github_records(
        scene: Scene, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sc = scene
    assert sc.label(sc.approver) == 0
    row = _audit(sc, tmp_path, monkeypatch)[sc.number]
    assert (row["state"], row["requester"], row["approver"], row["publisher"]) == (
        "published", sc.requester.login, sc.approver.login, sc.publish_app.login)
    assert row["approved_at"] <= row["published_at"]
    assert [(t["id"], t["outcome"]) for t in row["targets"]] == [
        ("pypi", "published"), ("npm", "published"), ("github", "published")]
    assert [a["name"] for a in row["artifacts"]] == [a.name for a in artifacts()]
    assert row["flags"] == []
    records = list(csv.DictReader(io.StringIO(_run(sc, tmp_path, monkeypatch, "csv"))))
    assert [(r["issue"], r["requester"], r["publisher"], r["flags"]) for r in records] == [
        (str(sc.number), sc.requester.login, sc.publish_app.login, "")]
    md = _run(sc, tmp_path, monkeypatch, "md")
    assert "1 publish request(s), 0 flagged." in md and ":white_check_mark:" in md

    # The approver leaves the publish repository: today's rule no longer allows them.
    sc.sb.admin.remove_permission(sc.publish.full_name, sc.approver.login)
    row = _audit(sc, tmp_path, monkeypatch)[sc.number]
    assert codes(row) == ["approver-not-allowed"]
    assert "no longer has access" in row["flags"][0]["detail"]


def test_a_request_opened_by_a_person_is_not_taken_for_one(
        scene: Scene, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sc = scene
    issue = sc.publish.gh(sc.requester.token).get_issue(sc.number)
    by_hand = sc.publish.gh(sc.requester.token).create_issue(issue.title, issue.body).number
    row = _audit(sc, tmp_path, monkeypatch)[by_hand]
    assert codes(row)[0] == "not-from-request-app"
    assert sc.requester.login in row["flags"][0]["detail"]


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
    assert real["requester"] == sc.requester.login, "the body's rewritten line reported as fact"
    assert codes(real) == ["edited-after-approval"]
    assert sc.request_app.login in real["flags"][0]["detail"]
    assert fake_row["state"] == "closed", "another bot's summary reported as a release"
    assert (fake_row["run_url"], fake_row["publisher"], fake_row["published_at"]) == (None,) * 3
    assert [t["outcome"] for t in fake_row["targets"]] == ["not done"] * 3
    assert codes(fake_row) == ["forged-record", "published-label-unverified"]
    assert all(helper.login in f["detail"] for f in fake_row["flags"])


def _unsealed_requests(sc: Scene) -> tuple[int, int, int]:
    """Two release runs, each written into requests by the request App's token while it
    ran, neither sealing what the token wrote: the approver's run, which the token names
    in a request of its own (never sealed), and the requester's run, which sealed its
    request (#copied's original) but not the copy the token opened under another issue.
    Returns (never sealed, sealed original, copy)."""
    from valet.issue_format import render_body

    base = sc.sdk.gh().get_commit(sc.sha).parents[0].sha
    as_app = sc.publish.gh(sc.request_app.token)
    numbers = []
    for who, version in ((sc.approver, "1.2.5"), (sc.requester, "1.2.6")):
        run = sc.sb.admin.create_run(sc.sdk.full_name, path=".github/workflows/release.yml",
                                     event="workflow_dispatch", actor=who.login, head_sha=base,
                                     head_branch="main")
        request = Request(repo=sc.sdk.full_name, version=version, requested_by=who.login,
                          sha=sc.sha, branch=f"release/{version}", artifacts=artifacts(),
                          release_id=3, run_id=run["id"],
                          targets=[TargetState(t) for t in ("pypi", "npm", "github")])
        body = render_body(request, server_url=sc.sb.server_url)
        numbers.append(int(as_app.create_issue(request.title, body).number))
        if who is sc.requester:  # the run seals the request it opened; the token copies it
            sc.sb.admin.seal_request(sc.publish.full_name, numbers[-1], request, body)
            numbers.append(int(as_app.create_issue(request.title, body).number))
        sc.sb.admin.finish_run(sc.sdk.full_name, run["id"], "success")
    return numbers[0], numbers[1], numbers[2]


def test_a_request_its_named_run_did_not_seal_names_no_requester(
        scene: Scene, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sc = scene
    assert sc.label(sc.approver) == 0  # the honest request, sealed by its run, published
    unsealed, original, copy = _unsealed_requests(sc)
    rows = _audit(sc, tmp_path, monkeypatch)
    assert (rows[sc.number]["requester"], rows[sc.number]["flags"]) == (sc.requester.login, [])
    assert (rows[original]["requester"], rows[original]["flags"]) == (sc.requester.login, [])

    row = rows[unsealed]
    assert row["requester"] is None, "the named run's actor reported as who asked"
    assert codes(row) == ["unsealed"]
    assert "did not write this request" in row["flags"][0]["detail"]
    assert sc.approver.login in row["flags"][0]["detail"]  # whom GitHub records as its actor

    row = rows[copy]
    assert row["requester"] is None
    assert codes(row) == ["seal-mismatch"]
    assert f"its seal names the issue {original}, this request {copy}" in \
        row["flags"][0]["detail"]

    md = _run(sc, tmp_path, monkeypatch, "md")
    assert "4 publish request(s), 2 flagged." in md
    assert "**unsealed**" in md and "**seal-mismatch**" in md
    records = {r["issue"]: r for r in csv.DictReader(io.StringIO(
        _run(sc, tmp_path, monkeypatch, "csv")))}
    assert records[str(unsealed)]["flags"].startswith("unsealed: ")
    assert records[str(copy)]["requester"] == ""
