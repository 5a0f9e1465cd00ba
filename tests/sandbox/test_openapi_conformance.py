"""Every route the sandbox serves answers what GitHub's OpenAPI description says.

One scenario calls each route (success and the usual errors) over plain HTTP;
each answer's status and JSON body are validated against
src/valet/sandbox/data/openapi-subset.json (cut by scripts/cut_openapi.py).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import requests

from tests.fixtures.sandbox import unique
from tests.sandbox.openapi_check import SUBSET_PATH, Checker, Nonconformant

pytestmark = pytest.mark.sandbox

SPEC = (Path(__file__).resolve().parents[2] / "tools/node/node_modules/@octokit/openapi/"
        "generated/api.github.com.json")
PUBLISH_YML = """on:
  workflow_dispatch:
    inputs:
      issue:
        required: false
        default: ""
jobs: {}
"""


class Recorder:
    """Calls the sandbox and checks every answer; collects failures instead of stopping."""

    def __init__(self, sandbox: Any, checker: Checker) -> None:
        self.sb = sandbox
        self.checker = checker
        self.http = requests.Session()
        self.http.trust_env = False
        self.seen: set[tuple[str, str]] = set()
        self.failures: list[str] = []
        self.checked = 0

    def __call__(self, method: str, path: str, token: str | None, expect: int, *,
                 json_body: Any = None, data: bytes | None = None,
                 params: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
                 uploads: bool = False) -> Any:
        base = self.sb.uploads_url if uploads else self.sb.api_url
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"token {token}"
        resp = self.http.request(method, base + path, json=json_body, data=data, params=params,
                                 headers=h, allow_redirects=False, timeout=30)
        router = self.sb.app.uploads if uploads else self.sb.app.api
        route = router.pattern_for(
            method, unquote(urlsplit(resp.request.url).path)[len(urlsplit(base).path):])
        if resp.status_code != expect:
            self.failures.append(f"{method} {path}: expected {expect}, got {resp.status_code} "
                                 f"{resp.text[:200]}")
        if route is None:
            self.failures.append(f"{method} {path}: no route")
            return None
        self.seen.add((method, route))
        body = resp.json() if resp.content and "json" in resp.headers.get("Content-Type", "") \
            else None
        try:
            self.checker.check(method, route, resp.status_code, body)
            self.checked += 1
        except Nonconformant as exc:
            self.failures.append(str(exc))
        return body


@pytest.fixture(scope="module")
def checker() -> Checker:
    return Checker()


@pytest.fixture(scope="module")
def exercised(sandbox: Any, checker: Checker) -> Recorder:  # noqa: PLR0915 (one scenario)
    admin = sandbox.admin
    call = Recorder(sandbox, checker)
    owner = unique("conf-owner")
    T = admin.create_token(owner)
    R = f"{owner}/{unique('conf')}"
    admin.create_repo(R, files={"README.md": "# conf\n", "dir/a.txt": "a\n",
                                ".github/workflows/publish.yml": PUBLISH_YML,
                                ".github/workflows/ci.yml": "on: push\njobs: {}\n"})
    org = unique("conf-org")
    member = unique("conf-member")
    admin.create_team(org, "releasers", [member])
    reader = unique("conf-reader")
    admin.create_user(reader)
    admin.set_permission(R, reader, "read")
    bot_slug = unique("conf-app")
    bot = admin.create_app(bot_slug, repos=[R])
    p = f"/repos/{R}"

    # users, rate limit, repo
    call("GET", "/user", T, 200)
    call("GET", f"/users/{owner}", T, 200)
    call("GET", f"/users/{org}", T, 200)
    call("GET", "/users/no-such-user-x", T, 404)
    call("GET", "/user", None, 401)
    call("GET", "/rate_limit", T, 200)
    call("GET", p, T, 200)
    call("GET", p, None, 200)
    call("GET", "/repos/no-such/repo", T, 404)
    # branches, contents
    call("GET", f"{p}/branches", T, 200)
    call("GET", f"{p}/branches/main", T, 200)
    call("GET", f"{p}/branches/nope", T, 404)
    call("GET", f"{p}/branches/main/protection", T, 404)  # not protected yet
    # a protection rule (the owner is an admin it does not bind) and a ruleset elsewhere
    admin.set_branch_protection(R, "main", {
        "required_status_checks": {"strict": False, "contexts": ["ci"]},
        "required_pull_request_reviews": {"required_approving_review_count": 1,
                                          "bypass_pull_request_allowances": {"apps": []}},
        "restrictions": {"users": [owner], "teams": [], "apps": []}})
    call("GET", f"{p}/branches/main", T, 200)
    call("GET", f"{p}/branches", T, 200)
    call("GET", f"{p}/branches/main/protection", T, 200)
    call("GET", f"{p}/branches/main/protection", admin.create_token(reader), 404)  # admins only
    call("GET", f"{p}/branches/main/protection", bot, 403)  # an App without Administration
    admin.protect_branch(R, "guarded", reviews=1, checks=["ci"])
    call("GET", f"{p}/rules/branches/guarded", admin.create_token(reader), 200)
    call("GET", f"{p}/rules/branches/not-yet-a-branch", None, 200)
    rulesets = call("GET", f"{p}/rulesets", T, 200)
    call("GET", f"{p}/rulesets/{rulesets[0]['id']}", bot, 200)
    call("GET", f"{p}/rulesets/999999", T, 404)
    call("GET", f"{p}/contents/README.md", T, 200, params={"ref": "main"})
    call("GET", f"{p}/contents/dir", T, 200)
    call("GET", f"{p}/contents", T, 200)
    call("GET", f"{p}/contents/nope.txt", T, 404)
    created = call("PUT", f"{p}/contents/new.txt", T, 201,
                   json_body={"message": "add", "content": "bmV3Cg=="})
    blob = created["content"]["sha"]
    updated = call("PUT", f"{p}/contents/new.txt", T, 200,
                   json_body={"message": "upd", "content": "dXBkCg==", "sha": blob})
    call("PUT", f"{p}/contents/new.txt", T, 422, json_body={"message": "x", "content": "eA=="})
    call("PUT", f"{p}/contents/new.txt", T, 409,
         json_body={"message": "x", "content": "eA==", "sha": blob})
    call("DELETE", f"{p}/contents/new.txt", T, 200,
         json_body={"message": "rm", "sha": updated["content"]["sha"]})
    # refs and git commits
    main = call("GET", f"{p}/git/ref/heads/main", T, 200)["object"]["sha"]
    call("GET", f"{p}/git/ref/heads/nope", T, 404)
    call("GET", f"{p}/git/matching-refs/heads", T, 200)
    call("GET", f"{p}/git/matching-refs", T, 200)
    call("GET", f"{p}/git/refs", T, 200)
    call("GET", f"{p}/git/refs/heads/main", T, 200)
    call("POST", f"{p}/git/refs", T, 201, json_body={"ref": "refs/heads/side", "sha": main})
    call("POST", f"{p}/git/refs", T, 422, json_body={"ref": "refs/heads/side", "sha": main})
    call("POST", f"{p}/git/refs", admin.create_token(reader), 403,
         json_body={"ref": "refs/heads/x", "sha": main})
    call("PATCH", f"{p}/git/refs/heads/side", T, 200, json_body={"sha": main, "force": True})
    call("POST", f"{p}/git/refs", T, 201, json_body={"ref": "refs/heads/guarded", "sha": main})
    call("DELETE", f"{p}/git/refs/heads/guarded", T, 422)  # the ruleset forbids deletion
    call("GET", f"{p}/git/commits/{main}", T, 200)
    call("GET", f"{p}/git/commits/{'0' * 40}", T, 404)
    # commits, compare, merges
    side = call("PUT", f"{p}/contents/side.txt", T, 201,
                json_body={"message": "side", "content": "cwo=", "branch": "side"})
    call("GET", f"{p}/commits", T, 200, params={"sha": "main", "path": "README.md"})
    call("GET", f"{p}/commits/{main}", T, 200)
    call("GET", f"{p}/commits/nope", T, 422)
    call("GET", f"{p}/compare/main...side", T, 200)
    call("GET", f"{p}/compare/main...nope", T, 404)
    call("POST", f"{p}/merges", T, 201, json_body={"base": "main", "head": "side"})
    call("POST", f"{p}/merges", T, 204, json_body={"base": "main", "head": "side"})
    call("POST", f"{p}/merges", T, 404, json_body={"base": "main", "head": "nope"})
    call("POST", f"{p}/merges", T, 409, json_body={"base": "guarded", "head": "side"})
    call("PUT", f"{p}/contents/README.md", T, 200, json_body={
        "message": "conflict a", "content": "YQo=", "branch": "side",
        "sha": call("GET", f"{p}/contents/README.md", T, 200, params={"ref": "side"})["sha"]})
    call("PUT", f"{p}/contents/README.md", T, 200, json_body={
        "message": "conflict b", "content": "Ygo=",
        "sha": call("GET", f"{p}/contents/README.md", T, 200)["sha"]})
    call("POST", f"{p}/merges", T, 409, json_body={"base": "main", "head": "side"})
    pull = call("POST", f"{p}/pulls", T, 201,
                json_body={"base": "main", "head": "side", "title": "t", "body": "b"})
    call("POST", f"{p}/pulls", T, 422, json_body={"base": "main", "head": "side", "title": "t"})
    call("GET", f"{p}/pulls", T, 200, params={"head": f"{owner}:side", "base": "main"})
    call("GET", f"{p}/pulls/{pull['number']}", T, 200)
    call("GET", f"{p}/issues/{pull['number']}", T, 200)  # a pull request is an issue too
    call("GET", f"{p}/pulls/99999", T, 404)
    call("DELETE", f"{p}/git/refs/heads/side", T, 204)
    call("DELETE", f"{p}/git/refs/heads/side", T, 422)
    assert side
    head = call("GET", f"{p}/branches/main", T, 200)["commit"]["sha"]
    # statuses and check runs
    call("POST", f"{p}/statuses/{head}", T, 201,
         json_body={"state": "success", "context": "ci", "target_url": "http://ci.invalid"})
    call("POST", f"{p}/statuses/{head}", T, 422, json_body={"state": "bogus"})
    call("GET", f"{p}/commits/main/status", T, 200)
    call("GET", f"{p}/commits/main/statuses", T, 200)
    call("GET", f"{p}/statuses/{head}", T, 200)
    run = call("POST", f"{p}/check-runs", bot, 201,
               json_body={"name": "tests", "head_sha": head, "status": "in_progress",
                          "output": {"title": "t", "summary": "s"}})
    call("POST", f"{p}/check-runs", T, 403, json_body={"name": "x", "head_sha": head})
    call("PATCH", f"{p}/check-runs/{run['id']}", bot, 200, json_body={"conclusion": "success"})
    call("GET", f"{p}/check-runs/{run['id']}", T, 200)
    admin.set_ci(R, head, check_runs=[{"name": "seeded", "status": "completed",
                                       "conclusion": "failure"}])
    call("GET", f"{p}/commits/{head}/check-runs", T, 200, params={"per_page": 1})
    admin.set_ci(R, head, check_suites=[{"app": unique("conf-ci"), "status": "queued"}])
    call("GET", f"{p}/commits/{head}/check-suites", T, 200)
    call("GET", f"{p}/commits/{head}/check-suites", T, 200, params={"check_name": "tests"})
    # pull requests (what the changelog reads: labels and author)
    pull = admin.create_pull(R, "Add a thing", user=owner, labels=["enhancement"],
                             merged_as=head)
    call("GET", f"{p}/pulls/{pull['number']}", T, 200)
    call("GET", f"{p}/pulls/9999", T, 404)
    call("GET", f"{p}/commits/{head}/pulls", T, 200)
    call("GET", f"{p}/commits/main/pulls", T, 200)
    call("GET", f"{p}/commits/nope/pulls", T, 422)
    # issues, labels, events, comments, search
    issue = call("POST", f"{p}/issues", T, 201,
                 json_body={"title": "publish: a/b@1.0.0", "body": "b", "labels": ["ci-pending"]})
    n = issue["number"]
    call("POST", f"{p}/issues", T, 422, json_body={"body": "no title"})
    call("GET", f"{p}/issues", T, 200, params={"state": "all", "labels": "ci-pending"})
    call("GET", f"{p}/issues/{n}", T, 200)
    call("GET", f"{p}/issues/9999", T, 404)
    call("PATCH", f"{p}/issues/{n}", T, 200, json_body={"title": "publish: a/b@1.0.1"})
    call("POST", f"{p}/labels", T, 201, json_body={"name": "accepted", "color": "00ff00",
                                                     "description": "ok"})
    call("POST", f"{p}/labels", T, 422, json_body={"name": "accepted", "color": "00ff00"})
    call("GET", f"{p}/labels", T, 200)
    call("GET", f"{p}/labels/accepted", T, 200)
    call("GET", f"{p}/labels/nope", T, 404)
    call("PATCH", f"{p}/labels/accepted", T, 200, json_body={"color": "00aa00"})
    call("POST", f"{p}/issues/{n}/labels", T, 200, json_body={"labels": ["accepted"]})
    call("GET", f"{p}/issues/{n}/labels", T, 200)
    call("PUT", f"{p}/issues/{n}/labels", T, 200, json_body={"labels": ["accepted", "x"]})
    call("DELETE", f"{p}/issues/{n}/labels/x", T, 200)
    call("DELETE", f"{p}/issues/{n}/labels/x", T, 404)
    call("DELETE", f"{p}/issues/{n}/labels", T, 204)
    call("DELETE", f"{p}/labels/x", T, 204)
    call("PATCH", f"{p}/issues/{n}", T, 200, json_body={"state": "closed"})
    events = call("GET", f"{p}/issues/{n}/events", T, 200)
    call("GET", f"{p}/issues/events/{events[0]['id']}", T, 200)
    comment = call("POST", f"{p}/issues/{n}/comments", T, 201, json_body={"body": "hi"})
    call("POST", f"{p}/issues/{n}/comments", T, 422, json_body={})
    call("GET", f"{p}/issues/{n}/comments", T, 200)
    call("GET", f"{p}/issues/comments/{comment['id']}", T, 200)
    call("PATCH", f"{p}/issues/comments/{comment['id']}", T, 200, json_body={"body": "edited"})
    call("DELETE", f"{p}/issues/comments/{comment['id']}", T, 204)
    call("GET", "/search/issues", T, 200, params={"q": f'repo:{R} is:issue in:title "a/b"'})
    call("GET", "/search/issues", T, 422)
    # collaborators and teams
    call("GET", f"{p}/collaborators", T, 200)
    call("GET", f"{p}/collaborators/{reader}", T, 204)
    call("GET", f"{p}/collaborators/{member}", T, 404)
    call("GET", f"{p}/collaborators/{reader}/permission", T, 200)
    call("GET", f"{p}/collaborators/no-such-user-x/permission", T, 404)
    call("GET", f"/orgs/{org}/teams/releasers/memberships/{member}", T, 200)
    call("GET", f"/orgs/{org}/teams/releasers/memberships/{reader}", T, 404)
    call("GET", f"/orgs/{org}/teams/releasers/members", T, 200)
    call("GET", f"/orgs/{org}/members/{member}", T, 204)
    call("GET", f"/orgs/{org}/members/{reader}", T, 404)
    # releases and assets
    rel = call("POST", f"{p}/releases", T, 201,
               json_body={"tag_name": "v1.0.0", "target_commitish": "main", "name": "1.0.0",
                          "draft": True})
    call("POST", f"{p}/releases", T, 422, json_body={"name": "no tag"})
    # drafts are bound to no tag: a second one may name v1.0.0 too
    twin = call("POST", f"{p}/releases", T, 201, json_body={"tag_name": "v1.0.0", "draft": True})
    call("DELETE", f"{p}/releases/{twin['id']}", T, 204)
    asset = call("POST", f"/repos/{R}/releases/{rel['id']}/assets", T, 201,
                 params={"name": "pkg.tgz", "label": "pkg"}, data=b"bytes",
                 headers={"Content-Type": "application/gzip"}, uploads=True)
    call("POST", f"/repos/{R}/releases/{rel['id']}/assets", T, 422, params={"name": "pkg.tgz"},
         data=b"again", headers={"Content-Type": "application/gzip"}, uploads=True)
    call("GET", f"{p}/releases/{rel['id']}/assets", T, 200)
    call("GET", f"{p}/releases/assets/{asset['id']}", T, 200)
    call("GET", f"{p}/releases/assets/{asset['id']}", T, 302,
         headers={"Accept": "application/octet-stream"})
    call("GET", f"{p}/releases/assets/999999", T, 404)
    call("PATCH", f"{p}/releases/assets/{asset['id']}", T, 200, json_body={"label": "new"})
    call("GET", f"{p}/releases/tags/v1.0.0", T, 404)  # drafts are not found by tag
    call("GET", f"{p}/releases/latest", T, 404)
    call("PATCH", f"{p}/releases/{rel['id']}", T, 200, json_body={"draft": False})
    call("POST", f"{p}/releases", T, 422, json_body={"tag_name": "v1.0.0"})  # published: owned
    call("GET", f"{p}/releases", T, 200)
    call("GET", f"{p}/releases/{rel['id']}", T, 200)
    call("GET", f"{p}/releases/tags/v1.0.0", T, 200)
    call("GET", f"{p}/releases/latest", T, 200)
    call("GET", f"{p}/tags", T, 200)
    call("DELETE", f"{p}/releases/assets/{asset['id']}", T, 204)
    call("DELETE", f"{p}/releases/{rel['id']}", T, 204)
    call("DELETE", f"{p}/releases/{rel['id']}", T, 404)
    # workflow artifacts
    art = admin.add_workflow_artifact(R, "dist", {"a.txt": b"a"})
    call("GET", f"{p}/actions/artifacts", T, 200, params={"name": "dist"})
    call("GET", f"{p}/actions/artifacts/{art}", T, 200)
    call("GET", f"{p}/actions/artifacts/{art}/zip", T, 302)
    # workflow runs, as the act harness records them, and a GitHub App by its slug
    recorded = admin.create_run(R, path=".github/workflows/release.yml",
                                event="workflow_dispatch", actor=owner, head_sha=head)
    admin.rerun(R, recorded["id"], owner)
    admin.finish_run(R, recorded["id"], "success")
    call("GET", f"{p}/actions/runs/{recorded['id']}", T, 200)
    call("GET", f"{p}/actions/runs/{recorded['id'] + 999999}", T, 404)
    call("GET", f"{p}/actions/runs", T, 200, params={"event": "workflow_dispatch"})
    call("GET", f"/apps/{bot_slug}", T, 200)
    call("GET", f"/apps/{bot_slug}-missing", T, 404)
    # a run's artifacts, as CI of the release commit leaves them; an expired one is gone
    ci_run = admin.create_run(R, path=".github/workflows/ci.yml", event="push", actor=owner,
                              head_sha=head, head_branch="main", name="CI")
    of_run = admin.add_workflow_artifact(R, head, {"a.whl": b"w"}, run_id=ci_run["id"])
    gone = admin.add_workflow_artifact(R, "old", {"a": b"a"}, run_id=ci_run["id"], expired=True)
    admin.finish_run(R, ci_run["id"], "success")
    call("GET", f"{p}/actions/runs", T, 200, params={"head_sha": head, "per_page": 1})
    call("GET", f"{p}/actions/runs/{ci_run['id']}/artifacts", T, 200,
         params={"name": head, "direction": "asc"})
    call("GET", f"{p}/actions/runs/{ci_run['id']}/artifacts", T, 200)
    # the query publish sends for the prepare run's seal (valet.seal)
    call("GET", f"{p}/actions/runs/{ci_run['id']}/artifacts", T, 200,
         params={"name": "valet-request", "per_page": 100})
    call("GET", f"{p}/actions/artifacts/{of_run}/zip", T, 302)
    call("GET", f"{p}/actions/artifacts/{gone}/zip", T, 410)
    # workflow_dispatch, as the sweep sends it
    dispatches = f"{p}/actions/workflows/publish.yml/dispatches"
    call("POST", dispatches, T, 204, json_body={"ref": "main", "inputs": {"issue": "7"}})
    call("POST", dispatches, T, 200, json_body={"ref": "main", "inputs": {"issue": "7"},
                                                "return_run_details": True})
    call("POST", dispatches, T, 422, json_body={"ref": "main", "inputs": {"nope": "1"}})
    call("POST", dispatches, T, 422, json_body={"ref": "no-such-branch"})
    call("POST", dispatches, T, 422, json_body={"inputs": {}})
    call("POST", f"{p}/actions/workflows/ci.yml/dispatches", T, 422, json_body={"ref": "main"})
    call("POST", f"{p}/actions/workflows/gone.yml/dispatches", T, 404, json_body={"ref": "main"})
    call("POST", dispatches, admin.create_token(reader), 403, json_body={"ref": "main"})
    # conditional requests: the ETag of an answer gets 304 and no body, on any GET
    etag = call.http.get(f"{sandbox.api_url}{p}/issues/{n}", headers={
        "Authorization": f"token {T}"}, timeout=30).headers["ETag"]
    call("GET", f"{p}/issues/{n}", T, 304, headers={"If-None-Match": etag})
    runs_etag = call.http.get(f"{sandbox.api_url}{p}/commits/{head}/check-runs", headers={
        "Authorization": f"token {T}"}, timeout=30).headers["ETag"]
    call("GET", f"{p}/commits/{head}/check-runs", T, 304, headers={"If-None-Match": runs_etag})
    return call


def test_every_answer_matches_githubs_description(exercised: Recorder) -> None:
    assert exercised.failures == [], "\n".join(exercised.failures)
    assert exercised.checked > 100


def test_every_served_route_is_exercised(exercised: Recorder, sandbox: Any,
                                         checker: Checker) -> None:
    served = set(sandbox.app.api.patterns()) | set(sandbox.app.uploads.patterns())
    assert served - exercised.seen == set()
    assert all(checker.knows(m, r) for m, r in served)


def test_checker_catches_broken_bodies(exercised: Recorder, sandbox: Any,
                                       checker: Checker) -> None:
    owner = unique("neg")
    token = sandbox.admin.create_token(owner)
    repo = f"{owner}/neg"
    sandbox.admin.create_repo(repo)
    http = requests.Session()
    http.headers["Authorization"] = f"token {token}"
    good = http.post(f"{sandbox.api_url}/repos/{repo}/issues", json={"title": "t"},
                     timeout=10).json()
    route = "/repos/{owner}/{repo}/issues/{number}"
    checker.check("GET", route, 200, good)

    missing = copy.deepcopy(good)
    del missing["number"]
    with pytest.raises(Nonconformant, match="number"):
        checker.check("GET", route, 200, missing)
    wrong_type = copy.deepcopy(good)
    wrong_type["number"] = "1"
    with pytest.raises(Nonconformant):
        checker.check("GET", route, 200, wrong_type)
    nested = copy.deepcopy(good)
    del nested["user"]["login"]
    with pytest.raises(Nonconformant):
        checker.check("GET", route, 200, nested)
    with pytest.raises(Nonconformant):
        checker.check("GET", route, 404, {"nothing": "here"})  # not an error body
    with pytest.raises(Nonconformant):
        checker.check("GET", route, 201, good)  # undocumented success status
    branches = http.get(f"{sandbox.api_url}/repos/{repo}/branches", timeout=10).json()
    branches[0]["protected"] = "no"
    with pytest.raises(Nonconformant):
        checker.check("GET", "/repos/{owner}/{repo}/branches", 200, branches)


def test_a_304_costs_no_rate_limit_and_a_change_gets_a_new_etag(sandbox: Any) -> None:
    admin = sandbox.admin
    owner = unique("etag")
    token = admin.create_token(owner)
    repo = f"{owner}/{unique('etag')}"
    admin.create_repo(repo, files={"README.md": "x\n"})
    http = requests.Session()
    http.trust_env = False
    http.headers["Authorization"] = f"token {token}"
    sha = http.get(f"{sandbox.api_url}/repos/{repo}/branches/main", timeout=30).json()[
        "commit"]["sha"]
    url = f"{sandbox.api_url}/repos/{repo}/commits/{sha}/check-runs"
    first = http.get(url, timeout=30)
    etag, used = first.headers["ETag"], int(first.headers["X-RateLimit-Used"])
    again = http.get(url, headers={"If-None-Match": etag}, timeout=30)
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag
    assert int(again.headers["X-RateLimit-Used"]) == used  # not counted
    also = http.get(url, headers={"If-None-Match": etag.removeprefix("W/")}, timeout=30)
    assert also.status_code == 304  # If-None-Match compares weakly
    admin.set_ci(repo, sha, check_runs=[{"name": "tests", "status": "in_progress"}])
    changed = http.get(url, headers={"If-None-Match": etag}, timeout=30)
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert int(changed.headers["X-RateLimit-Used"]) == used + 1
    logged = [e for e in admin.request_log() if e["path"] == f"/repos/{repo}/commits/{sha}/check-runs"]
    assert [(e["status"], e["counted"]) for e in logged] == [
        (200, True), (304, False), (304, False), (200, True)]


@pytest.mark.skipif(not SPEC.exists(), reason="@octokit/openapi is not installed")
def test_committed_subset_is_current() -> None:
    from scripts.cut_openapi import cut, served_routes

    fresh = cut(json.loads(SPEC.read_text()), served_routes())
    committed = json.loads(SUBSET_PATH.read_text())
    assert committed == json.loads(json.dumps(fresh)), \
        "re-run scripts/cut_openapi.py and commit src/valet/sandbox/data/openapi-subset.json"
