"""Repositories, branches, their protection rules and rulesets, and tags."""

from __future__ import annotations

import re
from typing import Any

from valet.sandbox import protection, shapes
from valet.sandbox.app import App
from valet.sandbox.routing import ApiError, Request, Response, not_found, page_response
from valet.sandbox.state import Record, perm_at_least


def _natural(name: str) -> list[object]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def _protected(rec: Record, branch: str) -> bool:
    return protection.is_protected(rec, branch)


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
        # GitHub shows protection rules to admins only (an App needs the Administration
        # permission: without it, 403); everyone with read access sees the `protected`
        # flag on the branch and, through /rules/branches, the rulesets' rules.
        if not perm_at_least(app.permission(rec, req.login), "admin"):
            user = app.state.user(req.login)
            if user and user["type"] == "Bot":
                raise ApiError(403, "Resource not accessible by integration")
            raise not_found()
        if branch.startswith("-") or app.git(rec).ref_sha(f"refs/heads/{branch}") is None:
            raise ApiError(404, "Branch not found")
        rule = protection.protection_rule(rec, branch)
        if rule is None:
            raise ApiError(404, "Branch not protected")
        return Response(200, shapes.branch_protection(app.urls, app.state, rec["full_name"],
                                                      branch, rule))

    @r.route("GET", "/repos/{owner}/{repo}/rules/branches/{branch:path}")
    def branch_rules(req: Request, owner: str, repo: str, branch: str) -> Response:
        # Metadata: read is enough; the branch need not exist.
        rec = app.repo_for(req, owner, repo)
        return page_response(req, protection.rules_in_force(rec, branch))

    def ruleset_json(req: Request, rec: Record, rs: Record) -> dict[str, Any]:
        full = rec["full_name"]
        out: dict[str, Any] = {
            "id": rs["id"], "name": rs["name"], "target": rs.get("target", "branch"),
            "source_type": "Repository", "source": full, "enforcement": rs["enforcement"],
            "conditions": rs.get("conditions"), "rules": rs.get("rules", []),
            "node_id": shapes.node_id("RepositoryRuleset", rs["id"]),
            "_links": {"self": {"href": f"{app.urls.api}/repos/{full}/rulesets/{rs['id']}"},
                       "html": {"href": f"{app.urls.server}/{full}/rules/{rs['id']}"}},
            "created_at": rs["created_at"], "updated_at": rs["updated_at"],
            "current_user_can_bypass": protection.bypass_mode(app, rec, rs, req.login),
        }
        # Only those who may edit the ruleset see who can bypass it.
        if perm_at_least(app.permission(rec, req.login), "admin"):
            out["bypass_actors"] = rs.get("bypass_actors", [])
        return out

    @r.route("GET", "/repos/{owner}/{repo}/rulesets")
    def list_rulesets(req: Request, owner: str, repo: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        return page_response(req, [ruleset_json(req, rec, rs) for rs in rec.get("rulesets", [])])

    @r.route("GET", "/repos/{owner}/{repo}/rulesets/{ruleset_id}")
    def get_ruleset(req: Request, owner: str, repo: str, ruleset_id: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        for rs in rec.get("rulesets", []):
            if str(rs["id"]) == ruleset_id:
                return Response(200, ruleset_json(req, rec, rs))
        raise not_found()

    @r.route("GET", "/repos/{owner}/{repo}/tags")
    def list_tags(req: Request, owner: str, repo: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        rows = sorted(app.git(rec).peeled("refs/tags/"), key=lambda t: _natural(t[0]),
                      reverse=True)
        return page_response(req, [shapes.tag(app.urls, rec["full_name"], n, s) for n, s in rows])
