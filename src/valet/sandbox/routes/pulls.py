"""Pull requests: open one and list them (what publish does when it may not merge directly).

Merging a pull request (reviews, auto-merge) is not served: the sandbox's people merge
with ``POST /merges`` under the branch's rules, or the test reads the PR it expects.
"""

from __future__ import annotations

from typing import Any

from valet.sandbox import shapes
from valet.sandbox.app import App
from valet.sandbox.gitrepo import valid_ref_name
from valet.sandbox.routing import (
    ApiError,
    Request,
    Response,
    not_found,
    page_response,
    validation_failed,
)
from valet.sandbox.state import Record, now_iso


def _side(app: App, rec: Record, ref: str, sha: str) -> dict[str, Any]:
    owner = app.state.user(rec["owner"])
    return {"label": f"{rec['owner']}:{ref}", "ref": ref, "sha": sha,
            "user": shapes.user(app.urls, owner) if owner else None,
            "repo": shapes.repo(app.urls, app.state, rec)}


def pull_json(app: App, rec: Record, pr: Record) -> dict[str, Any]:
    full = rec["full_name"]
    git = app.git(rec)
    api = f"{app.urls.api}/repos/{full}/pulls/{pr['number']}"
    html = f"{app.urls.server}/{full}/pull/{pr['number']}"
    head_sha = git.ref_sha(f"refs/heads/{pr['head']}") or pr["head_sha"]
    base_sha = git.ref_sha(f"refs/heads/{pr['base']}") or pr["base_sha"]
    author = app.state.user(pr["user"])
    issue_api = f"{app.urls.api}/repos/{full}/issues/{pr['number']}"
    return {
        "url": api, "id": pr["id"], "node_id": shapes.node_id("PullRequest", pr["id"]),
        "html_url": html, "diff_url": f"{html}.diff", "patch_url": f"{html}.patch",
        "issue_url": issue_api, "commits_url": f"{api}/commits",
        "review_comments_url": f"{api}/comments",
        "review_comment_url": f"{app.urls.api}/repos/{full}/pulls/comments{{/number}}",
        "comments_url": f"{issue_api}/comments",
        "statuses_url": f"{app.urls.api}/repos/{full}/statuses/{head_sha}",
        "number": pr["number"], "state": pr["state"], "locked": False, "title": pr["title"],
        "user": shapes.user(app.urls, author) if author else None, "body": pr.get("body"),
        "labels": [], "milestone": None, "active_lock_reason": None,
        "created_at": pr["created_at"], "updated_at": pr["updated_at"], "closed_at": None,
        "merged_at": None, "merge_commit_sha": None, "assignee": None, "assignees": [],
        "requested_reviewers": [], "requested_teams": [],
        "head": _side(app, rec, pr["head"], head_sha), "base": _side(app, rec, pr["base"], base_sha),
        "_links": {k: {"href": v} for k, v in (
            ("self", api), ("html", html), ("issue", issue_api),
            ("comments", f"{issue_api}/comments"), ("review_comments", f"{api}/comments"),
            ("review_comment", f"{app.urls.api}/repos/{full}/pulls/comments{{/number}}"),
            ("commits", f"{api}/commits"),
            ("statuses", f"{app.urls.api}/repos/{full}/statuses/{head_sha}"))},
        "author_association": shapes.author_association(app.state, rec, pr["user"]),
        "auto_merge": None, "draft": False, "merged": False, "mergeable": None,
        "rebaseable": None, "mergeable_state": "unknown", "merged_by": None, "comments": 0,
        "review_comments": 0, "maintainer_can_modify": False,
        "commits": git.count(head_sha, exclude=base_sha), "additions": 0, "deletions": 0,
        "changed_files": len(git.changes(git.merge_base(base_sha, head_sha), head_sha)),
    }


def register(app: App) -> None:
    r = app.api

    @r.route("POST", "/repos/{owner}/{repo}/pulls")
    def create_pull(req: Request, owner: str, repo: str) -> Response:
        rec = app.repo_for(req, owner, repo, "write")
        login = app.require_login(req)
        body = req.json()
        base, head, title = body.get("base"), body.get("head"), body.get("title")
        for name, value in (("base", base), ("head", head), ("title", title)):
            if not isinstance(value, str) or not value:
                raise validation_failed("PullRequest", name, "missing_field")
        assert isinstance(head, str) and isinstance(base, str)
        head = head.split(":", 1)[1] if ":" in head else head
        git = app.git(rec)
        head_sha = git.ref_sha(f"refs/heads/{head}") if valid_ref_name(head) else None
        base_sha = git.ref_sha(f"refs/heads/{base}") if valid_ref_name(base) else None
        if head_sha is None:
            raise validation_failed("PullRequest", "head", "invalid")
        if base_sha is None:
            raise validation_failed("PullRequest", "base", "invalid")
        for pr in rec.setdefault("pulls", {}).values():
            if pr["state"] == "open" and pr["head"] == head and pr["base"] == base:
                raise ApiError(422, "Validation Failed", errors=[{
                    "resource": "PullRequest", "code": "custom",
                    "message": f"A pull request already exists for {rec['owner']}:{head}."}])
        if git.count(head_sha, exclude=base_sha) == 0:
            raise ApiError(422, "Validation Failed", errors=[{
                "resource": "PullRequest", "code": "custom",
                "message": f"No commits between {base} and {head}"}])
        number = rec["next_number"]  # pull requests and issues share the numbers
        rec["next_number"] = number + 1
        ts = now_iso()
        pr = {"id": app.state.new_id(), "number": number, "state": "open", "title": title,
              "body": body.get("body"), "user": login, "head": head, "base": base,
              "head_sha": head_sha, "base_sha": base_sha, "created_at": ts, "updated_at": ts}
        rec["pulls"][str(number)] = pr
        out = pull_json(app, rec, pr)
        return Response(201, out, {"Location": out["url"]})

    @r.route("GET", "/repos/{owner}/{repo}/pulls")
    def list_pulls(req: Request, owner: str, repo: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        state = req.arg("state") or "open"
        head, base = req.arg("head"), req.arg("base")
        rows = []
        for pr in sorted(rec.get("pulls", {}).values(), key=lambda p: -p["number"]):
            if state != "all" and pr["state"] != state:
                continue
            if head and f"{rec['owner']}:{pr['head']}".lower() != head.lower():
                continue
            if base and pr["base"] != base:
                continue
            rows.append(pull_json(app, rec, pr))
        return page_response(req, rows)

    @r.route("GET", "/repos/{owner}/{repo}/pulls/{number}")
    def get_pull(req: Request, owner: str, repo: str, number: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        pr = rec.get("pulls", {}).get(number)
        if pr is None:
            raise not_found()
        return Response(200, pull_json(app, rec, pr))
