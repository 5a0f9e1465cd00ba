"""Collaborators, their permission, and team/org membership."""

from __future__ import annotations

from valet.sandbox import shapes
from valet.sandbox.app import App
from valet.sandbox.routing import Request, Response, not_found, page_response
from valet.sandbox.state import Record
from valet.sandbox.teams import is_member, members

# role -> the legacy ``permission`` field GitHub reports next to ``role_name``.
LEGACY = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read",
          "read": "read", "none": "none"}


def register(app: App) -> None:
    r = app.api

    def collaborator(rec: Record, user: Record, role: str) -> dict[str, object]:
        out = shapes.user(app.urls, user)
        out["permissions"] = {
            "admin": role == "admin", "maintain": role in ("admin", "maintain"),
            "push": role in ("admin", "maintain", "write"),
            "triage": role in ("admin", "maintain", "write", "triage"),
            "pull": role != "none",
        }
        out["role_name"] = role
        return out

    def explicit(rec: Record, login: str) -> bool:
        if rec["owner"].lower() == login.lower():
            return True
        if rec["perms"].get(login.lower(), "none") != "none":
            return True
        for team_key, role in rec.get("team_perms", {}).items():
            team = app.state.teams.get(team_key)
            if role != "none" and team and is_member(app.state, team, login):
                return True
        return False

    @r.route("GET", "/repos/{owner}/{repo}/collaborators/{login}/permission")
    def permission(req: Request, owner: str, repo: str, login: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        user = app.state.user(login)
        if user is None:
            raise not_found()
        role = app.permission(rec, user["login"])
        return Response(200, {"permission": LEGACY[role], "role_name": role,
                              "user": collaborator(rec, user, role)})

    @r.route("GET", "/repos/{owner}/{repo}/collaborators/{login}")
    def is_collaborator(req: Request, owner: str, repo: str, login: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        user = app.state.user(login)
        if user is None or not explicit(rec, user["login"]):
            raise not_found()
        return Response(204)

    @r.route("GET", "/repos/{owner}/{repo}/collaborators")
    def list_collaborators(req: Request, owner: str, repo: str) -> Response:
        rec = app.repo_for(req, owner, repo, "write")
        users = [u for u in app.state.users.values()
                 if u["type"] != "Organization" and explicit(rec, u["login"])]
        users.sort(key=lambda u: u["id"])
        return page_response(req, [collaborator(rec, u, app.permission(rec, u["login"]))
                                   for u in users])

    def team_or_404(org: str, slug: str) -> Record:
        team = app.state.teams.get(f"{org}/{slug}".lower())
        if team is None:
            raise not_found()
        return team

    @r.route("GET", "/orgs/{org}/teams/{slug}/memberships/{login}")
    def team_membership(req: Request, org: str, slug: str, login: str) -> Response:
        app.require_login(req)
        team = team_or_404(org, slug)
        if not is_member(app.state, team, login):
            raise not_found()
        return Response(200, {"url": f"{app.urls.api}/organizations/{team['id']}/team/"
                                     f"{team['id']}/memberships/{login}",
                              "role": "member", "state": "active"})

    @r.route("GET", "/orgs/{org}/teams/{slug}/members")
    def team_members(req: Request, org: str, slug: str) -> Response:
        app.require_login(req)
        team = team_or_404(org, slug)
        # Child teams' members count, each marked ``inherited`` as GitHub does.
        rows = []
        for login, inherited in members(app.state, team):
            user = app.state.user(login)
            if user:
                rows.append({**shapes.user(app.urls, user), "role": "member",
                             "inherited": inherited})
        return page_response(req, rows)

    @r.route("GET", "/orgs/{org}/members/{login}")
    def org_member(req: Request, org: str, login: str) -> Response:
        app.require_login(req)
        for team in app.state.teams.values():
            if team["org"].lower() == org.lower() and \
                    is_member(app.state, team, login):
                return Response(204)
        raise not_found()
