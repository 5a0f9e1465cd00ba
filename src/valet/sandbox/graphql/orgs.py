"""Resolvers for ``organization``: its teams and their members.

A team's members include its child teams' members (``membership: ALL``, GitHub's
default), as the REST team-members endpoint lists them; ``query`` keeps the members
whose login or name contains it, ignoring case. A team that does not exist is null;
the sandbox shows every team of an organization to any token, as its REST team routes
do.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from valet.sandbox.graphql.base import Ctx, Fail, Obj, connection, ctx
from valet.sandbox.shapes import node_id
from valet.sandbox.state import Record
from valet.sandbox.teams import members


def organization(info: GraphQLResolveInfo, login: str) -> Obj:
    c = ctx(info)
    org = c.app.state.user(login)
    if org is None or org["type"] != "Organization":
        raise Fail(f"Could not resolve to an Organization with the login of '{login}'.",
                   "NOT_FOUND")

    def team(info: GraphQLResolveInfo, slug: str) -> Obj | None:
        found = c.app.state.teams.get(f"{org['login']}/{slug}".lower())
        return team_obj(c, found) if found else None

    return {"__typename": "Organization", "login": org["login"], "databaseId": org["id"],
            "id": node_id("Organization", org["id"]), "name": org.get("name"),
            "url": f"{c.app.urls.server}/{org['login']}", "team": team}


ROOT: Obj = {"organization": organization}


def _user(c: Ctx, login: str) -> Obj | None:
    user = c.app.state.user(login)
    if user is None:
        return None
    return {"__typename": "User", "login": user["login"], "databaseId": user["id"],
            "id": node_id("User", user["id"]), "name": user.get("name"),
            "url": f"{c.app.urls.server}/{user['login']}"}


def team_obj(c: Ctx, team: Record) -> Obj:
    def team_members(info: GraphQLResolveInfo, **args: Any) -> Obj:
        if args.get("orderBy") is not None or args.get("role") is not None:
            raise Fail("the valet sandbox does not implement Team.members(orderBy:, role:)")
        membership = args.get("membership") or "ALL"
        rows = [(login, inherited) for login, inherited in members(c.app.state, team)
                if membership == "ALL" or inherited == (membership == "CHILD_TEAM")]
        found = [u for u in (_user(c, login) for login, _ in rows) if u is not None]
        query = (args.get("query") or "").lower()
        if query:
            found = [u for u in found
                     if query in u["login"].lower() or query in (u["name"] or "").lower()]
        found.sort(key=lambda u: u["login"].lower())
        return connection(info, found, lambda u: u, args)

    return {"__typename": "Team", "id": node_id("Team", team["id"]), "databaseId": team["id"],
            "slug": team["slug"], "name": team["name"],
            "combinedSlug": f"{team['org']}/{team['slug']}", "members": team_members}
