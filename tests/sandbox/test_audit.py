"""`valet audit` against the sandbox: a published request and a refused approval.

The publish repo is seeded through the REST API as the real actors would act:
the request app opens the issues, release engineers add labels with their own
tokens (so the issue events name them), and the publish app comments, removes
labels and closes, as valet's publish side does.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from valet import audit, cli
from valet.issue_format import render_body
from valet.manifest import Artifact
from valet.request import Request, TargetState

pytestmark = pytest.mark.sandbox

PUBLISH = "audit-org/publish"
SHA = "c0ffee" + "0" * 34


def _attr(obj: Any, *names: str) -> Any:
    for name in names:
        value = getattr(obj, name, None)
        if value is not None:
            return value
    raise AttributeError(f"sandbox fixture has none of {names}")


class Api:
    """Plain REST calls with one token (what GitHub itself would see)."""

    def __init__(self, api_url: str, token: str) -> None:
        self.base = api_url.rstrip("/")
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.headers["Authorization"] = f"Bearer {token}"

    def __call__(self, method: str, path: str, body: Any = None) -> Any:
        resp = self.http.request(method, self.base + path, json=body, timeout=30)
        assert resp.status_code < 400, (method, path, resp.status_code, resp.text)
        return resp.json() if resp.content else None


def _body(version: str, requester: str, server_url: str) -> str:
    req = Request(repo="audit-org/sdk", version=version, requested_by=requester, sha=SHA,
                  targets=[TargetState("github"), TargetState("pypi")],
                  artifacts=[Artifact(f"sdk-{version}.tar.gz", 321, "ab" * 32)])
    return render_body(req, server_url=server_url)


@pytest.fixture(scope="module")
def seeded(sandbox: Any) -> Iterator[dict[str, Any]]:
    from valet.sandbox.client import AdminClient

    api_url = _attr(sandbox, "api_url")
    server_url = _attr(sandbox, "server_url", "url")
    admin = getattr(sandbox, "admin", None) or AdminClient(server_url)
    admin.create_org("audit-org")
    admin.create_repo(PUBLISH, files={"README.md": "publish repo\n"})
    tokens = {login: admin.create_token(login) for login in ("rel-eng", "mallory", "auditor")}
    admin.set_permission(PUBLISH, "rel-eng", "maintain")
    admin.set_permission(PUBLISH, "mallory", "triage")
    admin.set_permission(PUBLISH, "auditor", "read")
    request_app = admin.create_app("audit-request", repos=[PUBLISH])
    publish_app = admin.create_app("audit-publish", repos=[PUBLISH])
    requester = Api(api_url, request_app)
    valet = Api(api_url, publish_app)
    rel_eng = Api(api_url, tokens["rel-eng"])
    mallory = Api(api_url, tokens["mallory"])

    # 1: approved by an allowed approver, published, closed.
    one = requester("POST", f"/repos/{PUBLISH}/issues",
                    {"title": "publish: audit-org/sdk@1.0.0", "body": _body("1.0.0", "dev-a", server_url)})
    rel_eng("POST", f"/repos/{PUBLISH}/issues/{one['number']}/labels", {"labels": ["accepted"]})
    run = f"{server_url}/{PUBLISH}/actions/runs/4242"
    valet("POST", f"/repos/{PUBLISH}/issues/{one['number']}/comments",
          {"body": f"{audit.MARKER_SUMMARY}\n### Published 1.0.0\n\n[publish run]({run})"})
    valet("DELETE", f"/repos/{PUBLISH}/issues/{one['number']}/labels/accepted")
    valet("POST", f"/repos/{PUBLISH}/issues/{one['number']}/labels", {"labels": ["published"]})
    valet("PATCH", f"/repos/{PUBLISH}/issues/{one['number']}", {"state": "closed"})

    # 2: labelled by someone who may not approve; valet removes the label and says why.
    two = requester("POST", f"/repos/{PUBLISH}/issues",
                    {"title": "publish: audit-org/sdk@1.1.0", "body": _body("1.1.0", "dev-a", server_url)})
    mallory("POST", f"/repos/{PUBLISH}/issues/{two['number']}/labels", {"labels": ["accepted"]})
    valet("DELETE", f"/repos/{PUBLISH}/issues/{two['number']}/labels/accepted")
    valet("POST", f"/repos/{PUBLISH}/issues/{two['number']}/comments",
          {"body": f"{audit.MARKER_REFUSED}\n@mallory is not an allowed approver."})

    # Not a request: must not appear.
    requester("POST", f"/repos/{PUBLISH}/issues", {"title": "Release blocker", "body": "x"})
    yield {"one": one["number"], "two": two["number"], "run": run, "token": tokens["auditor"],
           "api_url": api_url}


def _audit(seeded: dict[str, Any], fmt: str, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("GITHUB_API_URL", seeded["api_url"])
    out = tmp_path / f"audit.{fmt}"
    code = cli.main(["audit", "--publish-repo", PUBLISH, "--format", fmt, "--output", str(out),
                     "--approvers", "rel-eng", "--github-token", seeded["token"]])
    assert code == 0
    return out.read_text()


def test_audit_json(seeded: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = json.loads(_audit(seeded, "json", tmp_path, monkeypatch))
    rows = {r["issue"]: r for r in data["requests"]}
    assert set(rows) == {seeded["one"], seeded["two"]}
    one, two = rows[seeded["one"]], rows[seeded["two"]]
    assert (one["version"], one["requester"], one["approver"], one["state"]) == \
        ("1.0.0", "dev-a", "rel-eng", "published")
    assert one["published_at"] and one["approved_at"] and one["approved_at"] <= one["published_at"]
    assert one["run_url"] == seeded["run"]
    assert [t["id"] for t in one["targets"]] == ["github", "pypi"]
    assert one["artifacts"] == [{"name": "sdk-1.0.0.tar.gz", "size": 321, "sha256": "ab" * 32}]
    assert one["flags"] == []
    assert (two["version"], two["approver"], two["state"], two["published_at"]) == \
        ("1.1.0", "mallory", "refused", None)
    assert [f["code"] for f in two["flags"]] == [audit.FLAG_NOT_APPROVER, audit.FLAG_REFUSED]
    assert data["flagged"] == 1


def test_audit_csv(seeded: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records = list(csv.DictReader(io.StringIO(_audit(seeded, "csv", tmp_path, monkeypatch))))
    by_issue = {int(r["issue"]): r for r in records}
    assert set(by_issue) == {seeded["one"], seeded["two"]}
    assert by_issue[seeded["one"]]["approver"] == "rel-eng"
    assert by_issue[seeded["one"]]["state"] == "published"
    assert by_issue[seeded["one"]]["flags"] == ""
    assert by_issue[seeded["two"]]["state"] == "refused"
    assert by_issue[seeded["two"]]["flags"].startswith(audit.FLAG_NOT_APPROVER)


def test_audit_markdown(seeded: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = _audit(seeded, "md", tmp_path, monkeypatch)
    assert "2 publish request(s), 1 flagged." in text
    rows = [ln for ln in text.splitlines() if ln.startswith("| :")]
    flagged = [ln for ln in rows if ln.startswith("| :warning:")]
    assert len(rows) == 2 and len(flagged) == 1
    assert "mallory" in flagged[0] and "refused" in flagged[0]
    clean = [ln for ln in rows if ln not in flagged][0]
    assert "rel-eng" in clean and "published" in clean and seeded["run"] in clean
