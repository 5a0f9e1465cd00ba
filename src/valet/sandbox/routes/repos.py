"""Repositories, branches and tags."""

from __future__ import annotations

import re

from valet.sandbox import shapes
from valet.sandbox.app import App
from valet.sandbox.routing import ApiError, Request, Response, page_response


def _natural(name: str) -> list[object]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def register(app: App) -> None:
    r = app.api

    @r.route("GET", "/repos/{owner}/{repo}")
    def get_repo(req: Request, owner: str, repo: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        perm = app.permission(rec, req.login) if req.login else None
        return Response(200, shapes.repo(app.urls, app.state, rec, perm))

    @r.route("GET", "/repos/{owner}/{repo}/branches")
    def list_branches(req: Request, owner: str, repo: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        rows = app.git(rec).peeled("refs/heads/")
        return page_response(req, [shapes.short_branch(app.urls, rec["full_name"], n, s)
                                   for n, s in rows])

    @r.route("GET", "/repos/{owner}/{repo}/branches/{branch:path}")
    def get_branch(req: Request, owner: str, repo: str, branch: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        git = app.git(rec)
        sha = git.ref_sha(f"refs/heads/{branch}") if not branch.startswith("-") else None
        info = git.commit(sha) if sha else None
        if info is None:
            raise ApiError(404, "Branch not found")
        return Response(200, shapes.branch(app.urls, app.state, rec["full_name"], branch, info))

    @r.route("GET", "/repos/{owner}/{repo}/tags")
    def list_tags(req: Request, owner: str, repo: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        rows = sorted(app.git(rec).peeled("refs/tags/"), key=lambda t: _natural(t[0]),
                      reverse=True)
        return page_response(req, [shapes.tag(app.urls, rec["full_name"], n, s) for n, s in rows])
