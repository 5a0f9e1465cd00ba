"""Resolvers for the viewer, issues, their labels, comments and body edit history.

As on GitHub: ``userContentEdits`` come newest first, ``diff`` is the whole body after
that edit, a body never edited has no history and once edited the oldest node is the
creator's own body (editor: the author, at the issue's creation); a deleted editor is
null. ``Issue.id``, ``Label.id`` and ``IssueComment.id`` are the REST ``node_id``s.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from valet.sandbox.graphql.base import Ctx, Fail, Obj, actor, connection, ctx
from valet.sandbox.shapes import node_id
from valet.sandbox.state import Record


def viewer(info: GraphQLResolveInfo) -> Obj:
    c = ctx(info)
    user = c.app.state.user(c.login)
    assert user is not None  # the route refused a token without a user
    return {"login": user["login"], "databaseId": user["id"],
            "id": node_id("User", user["id"]), "name": user.get("name"),
            "url": f"{c.app.urls.server}/{user['login']}"}


ROOT: Obj = {"viewer": viewer}


def label(c: Ctx, rec: Record, lb: Record) -> Obj:
    return {"__typename": "Label", "id": node_id("Label", lb["id"]), "name": lb["name"],
            "color": lb["color"], "description": lb.get("description"),
            "isDefault": bool(lb.get("default")),
            "url": f"{c.app.urls.server}/{rec['full_name']}/labels/{lb['name']}"}


def comment(c: Ctx, rec: Record, cm: Record) -> Obj:
    full = rec["full_name"]
    return {"__typename": "IssueComment", "id": node_id("IssueComment", cm["id"]),
            "databaseId": cm["id"], "body": cm["body"],
            "author": lambda info: actor(c, cm["user"]),
            "createdAt": cm["created_at"], "updatedAt": cm["updated_at"],
            "url": f"{c.app.urls.server}/{full}/issues/{cm['issue']}#issuecomment-{cm['id']}"}


def _edit(c: Ctx, issue: Record, edit: Record, index: int) -> Obj:
    return {"id": node_id("UserContentEdit", f"{issue['id']}:{index}"),
            "editedAt": edit["edited_at"], "createdAt": edit["edited_at"],
            "updatedAt": edit["edited_at"], "diff": edit["body"],
            "editor": lambda info: actor(c, edit["editor"]),
            "deletedAt": None, "deletedBy": None}


def _state_reason(issue: Record) -> str | None:
    if issue["state"] == "open":
        return "REOPENED" if issue.get("state_reason") == "reopened" else None
    return (issue.get("state_reason") or "completed").upper()


def issue(c: Ctx, rec: Record, issue: Record) -> Obj:
    full = rec["full_name"]

    def labels(info: GraphQLResolveInfo, **args: Any) -> Obj:
        found = [rec["labels"][n.lower()] for n in issue["labels"] if n.lower() in rec["labels"]]
        if args.get("orderBy") not in (None, {"field": "CREATED_AT", "direction": "ASC"}):
            raise Fail("the valet sandbox does not implement Issue.labels(orderBy:)")
        found.sort(key=lambda lb: lb["id"])
        return connection(info, found, lambda lb: label(c, rec, lb), args)

    def edits(info: GraphQLResolveInfo, **args: Any) -> Obj:
        history = list(enumerate(issue.get("edits", [])))
        history.reverse()  # newest first
        return connection(info, history, lambda ie: _edit(c, issue, ie[1], ie[0]), args)

    def comments(info: GraphQLResolveInfo, **args: Any) -> Obj:
        if args.get("orderBy") is not None:
            raise Fail("the valet sandbox does not implement Issue.comments(orderBy:)")
        found = sorted((cm for cm in rec["comments"].values()
                        if cm["issue"] == issue["number"]), key=lambda cm: cm["id"])
        return connection(info, found, lambda cm: comment(c, rec, cm), args)

    def state_reason(info: GraphQLResolveInfo, enableDuplicate: bool = False) -> str | None:
        return _state_reason(issue)

    return {
        "__typename": "Issue", "id": node_id("Issue", issue["id"]), "databaseId": issue["id"],
        "number": issue["number"], "title": issue["title"], "body": issue.get("body") or "",
        "state": issue["state"].upper(), "stateReason": state_reason,
        "closed": issue["state"] == "closed", "closedAt": issue.get("closed_at"),
        "createdAt": issue["created_at"], "updatedAt": issue["updated_at"],
        "author": lambda info: actor(c, issue["user"]),
        "url": f"{c.app.urls.server}/{full}/issues/{issue['number']}",
        "labels": labels, "userContentEdits": edits, "comments": comments,
    }


def repository_fields(c: Ctx, rec: Record) -> Obj:
    """The fields of ``Repository`` that read issues and labels."""

    def one_issue(info: GraphQLResolveInfo, number: int) -> Obj:
        found = rec["issues"].get(str(number))
        if found is None:
            raise Fail(f"Could not resolve to an Issue with the number of {number}.",
                       "NOT_FOUND")
        return issue(c, rec, found)

    def one_label(info: GraphQLResolveInfo, name: str) -> Obj | None:
        lb = rec["labels"].get(name.lower())
        return label(c, rec, lb) if lb else None

    def labels(info: GraphQLResolveInfo, **args: Any) -> Obj:
        if args.get("query") is not None or args.get("orderBy") not in (
                None, {"field": "CREATED_AT", "direction": "ASC"}):
            raise Fail("the valet sandbox does not implement Repository.labels(query:, orderBy:)")
        found = sorted(rec["labels"].values(), key=lambda lb: lb["id"])
        return connection(info, found, lambda lb: label(c, rec, lb), args)

    return {"issue": one_issue, "label": one_label, "labels": labels}
