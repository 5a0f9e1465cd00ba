"""Pull requests, read-only: what the changelog reads (labels and author of a PR).

They are created through the admin API (``create_pull``) and numbered with the
issues, as on GitHub. Unlike GitHub, the issues endpoints do not list them.
"""

from __future__ import annotations

from valet.sandbox import shapes
from valet.sandbox.app import App
from valet.sandbox.routing import ApiError, Request, Response, not_found, page_response


def register(app: App) -> None:
    r = app.api

    @r.route("GET", "/repos/{owner}/{repo}/pulls/{number}")
    def get_pull(req: Request, owner: str, repo: str, number: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        pull = rec.get("pulls", {}).get(number) if number.isdigit() else None
        if pull is None:
            raise not_found()
        return Response(200, shapes.pull_request(app.urls, app.state, rec, pull))

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
