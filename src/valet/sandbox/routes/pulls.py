"""Pull requests: what the changelog reads (labels and author of a PR) and what publish
opens when the merge target's rules do not let it merge directly.

PRs are created through the admin API (``create_pull``) or ``POST /pulls``, numbered
with the issues, as on GitHub. Unlike GitHub, the issues endpoints do not list them,
and merging one (reviews, auto-merge) is not served: the sandbox's people merge with
``POST /merges`` under the branch's rules.
"""

from __future__ import annotations

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
from valet.sandbox.state import now_iso


def _custom(message: str) -> ApiError:
    return ApiError(422, "Validation Failed",
                    errors=[{"resource": "PullRequest", "code": "custom", "message": message}])


def register(app: App) -> None:
    r = app.api

    @r.route("GET", "/repos/{owner}/{repo}/pulls/{number}")
    def get_pull(req: Request, owner: str, repo: str, number: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        pull = rec.get("pulls", {}).get(number) if number.isdigit() else None
        if pull is None:
            raise not_found()
        return Response(200, shapes.pull_request(app.urls, app.state, rec, pull))

    @r.route("GET", "/repos/{owner}/{repo}/pulls")
    def list_pulls(req: Request, owner: str, repo: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        state, head, base = req.arg("state") or "open", req.arg("head"), req.arg("base")
        found = []
        for pull in sorted(rec.get("pulls", {}).values(), key=lambda p: -p["number"]):
            if state != "all" and pull["state"] != state:
                continue
            if head and f"{rec['owner']}:{pull['head_ref']}".lower() != head.lower():
                continue
            if base and pull["base_ref"] != base:
                continue
            found.append(shapes.pull_request(app.urls, app.state, rec, pull, full_record=False))
        return page_response(req, found)

    @r.route("POST", "/repos/{owner}/{repo}/pulls")
    def create_pull(req: Request, owner: str, repo: str) -> Response:
        rec = app.repo_for(req, owner, repo, "write")
        login = app.require_login(req)
        body = req.json()
        for name in ("base", "head", "title"):
            if not isinstance(body.get(name), str) or not body[name]:
                raise validation_failed("PullRequest", name, "missing_field")
        base, title = str(body["base"]), str(body["title"])
        head = str(body["head"]).split(":", 1)[-1]
        git = app.git(rec)
        head_sha = git.ref_sha(f"refs/heads/{head}") if valid_ref_name(head) else None
        base_sha = git.ref_sha(f"refs/heads/{base}") if valid_ref_name(base) else None
        if head_sha is None:
            raise validation_failed("PullRequest", "head", "invalid")
        if base_sha is None:
            raise validation_failed("PullRequest", "base", "invalid")
        for pull in rec.get("pulls", {}).values():
            if pull["state"] == "open" and pull["head_ref"] == head and pull["base_ref"] == base:
                raise _custom(f"A pull request already exists for {rec['owner']}:{head}.")
        if git.count(head_sha, exclude=base_sha) == 0:
            raise _custom(f"No commits between {base} and {head}")
        number = rec["next_number"]  # pull requests and issues share the numbers
        rec["next_number"] += 1
        ts = now_iso()
        pull = {"id": app.state.new_id(), "number": number, "title": title,
                "body": body.get("body"), "user": login, "labels": [], "head_ref": head,
                "head_sha": head_sha, "base_ref": base, "base_sha": base_sha, "state": "open",
                "created_at": ts, "updated_at": ts, "closed_at": None, "merged_at": None,
                "merge_commit_sha": None, "merged_by": None}
        rec.setdefault("pulls", {})[str(number)] = pull
        out = shapes.pull_request(app.urls, app.state, rec, pull)
        return Response(201, out, {"Location": out["url"]})

    @r.route("GET", "/repos/{owner}/{repo}/commits/{ref:path}/pulls")
    def commit_pulls(req: Request, owner: str, repo: str, ref: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        sha = app.git(rec).resolve_commit(ref)
        if sha is None:
            raise ApiError(422, f"No commit found for SHA: {ref}")
        found = [p for p in rec.get("pulls", {}).values()
                 if sha in (p.get("merge_commit_sha"), p["head_sha"])]
        found.sort(key=lambda p: p["number"], reverse=True)
        return page_response(req, [shapes.pull_request(app.urls, app.state, rec, p,
                                                       full_record=False) for p in found])
