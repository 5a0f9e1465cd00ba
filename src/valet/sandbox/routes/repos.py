"""Repositories, branches and tags."""

from __future__ import annotations

import re

from valet.sandbox import shapes
from valet.sandbox.app import App
from valet.sandbox.routing import ApiError, Request, Response, not_found, page_response
from valet.sandbox.state import Record, perm_at_least


def _natural(name: str) -> list[object]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def _protected(rec: Record, branch: str) -> bool:
    return branch in rec.get("protected_branches", ())  # older state files have no list


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
        return page_response(req, [shapes.short_branch(app.urls, rec["full_name"], n, s,
                                                       _protected(rec, n)) for n, s in rows])

    @r.route("GET", "/repos/{owner}/{repo}/branches/{branch:path}")
    def get_branch(req: Request, owner: str, repo: str, branch: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        git = app.git(rec)
        sha = git.ref_sha(f"refs/heads/{branch}") if not branch.startswith("-") else None
        info = git.commit(sha) if sha else None
        if info is None:
            raise ApiError(404, "Branch not found")
        return Response(200, shapes.branch(app.urls, app.state, rec["full_name"], branch, info,
                                           _protected(rec, branch)))

    @r.route("GET", "/repos/{owner}/{repo}/branches/{branch:path}/protection")
    def get_protection(req: Request, owner: str, repo: str, branch: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        # GitHub shows protection rules to admins only (an App needs the administration
        # permission); everyone with read access sees the `protected` flag on the branch.
        if not perm_at_least(app.permission(rec, req.login), "admin"):
            raise not_found()
        if branch.startswith("-") or app.git(rec).ref_sha(f"refs/heads/{branch}") is None:
            raise ApiError(404, "Branch not found")
        if not _protected(rec, branch):
            raise ApiError(404, "Branch not protected")
        return Response(200, shapes.branch_protection(app.urls, rec["full_name"], branch))

    @r.route("GET", "/repos/{owner}/{repo}/tags")
    def list_tags(req: Request, owner: str, repo: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        rows = sorted(app.git(rec).peeled("refs/tags/"), key=lambda t: _natural(t[0]),
                      reverse=True)
        return page_response(req, [shapes.tag(app.urls, rec["full_name"], n, s) for n, s in rows])
