"""Mutations on issues: comments, labels, the body and the state.

Each one changes the sandbox's state through the same helpers as its REST route
(routes/issues.py), so the side effects are the same: the comment is listed with its
author, labeled/unlabeled and closed events name the actor, a body change enters the
edit history. The permission rule is the REST route's too: commenting needs read
access, labels need triage, the body and the state need triage or authorship; a token
without it gets FORBIDDEN next to a null payload. Ids are REST ``node_id``s; one that
names nothing this token can see is NOT_FOUND. Several mutations in one document run
one after another, each with its own error (GraphQL executes mutation fields serially).
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from valet.sandbox.graphql import issues
from valet.sandbox.graphql.base import (
    Ctx,
    Fail,
    Obj,
    ctx,
    decode_id,
    forbidden,
    readable,
    unimplemented,
    unresolved_node,
)
from valet.sandbox.routes.issues import add_comment as store_comment
from valet.sandbox.routes.issues import check_body, edit_body, set_labels, set_state
from valet.sandbox.routing import ApiError
from valet.sandbox.shapes import node_id
from valet.sandbox.state import Record, perm_at_least


def _find_issue(c: Ctx, raw: Any) -> tuple[Record, Record]:
    """``(repo, issue)`` named by an Issue node id the token can see."""
    decoded = decode_id(raw)
    if decoded and decoded[0] == "Issue" and decoded[1].isdigit():
        ident = int(decoded[1])
        for rec in c.app.state.repos.values():
            for found in rec["issues"].values():
                if found["id"] == ident and readable(c, rec):
                    return rec, found
    raise unresolved_node(raw)


def _labels_of(c: Ctx, rec: Record, raws: list[Any]) -> list[Record]:
    out = []
    for raw in raws:
        decoded = decode_id(raw)
        found = next((lb for lb in rec["labels"].values()
                      if decoded == ("Label", str(lb["id"]))), None)
        if found is None:
            raise unresolved_node(raw)
        out.append(found)
    return out


def _can_triage(c: Ctx, rec: Record) -> bool:
    return perm_at_least(c.app.permission(rec, c.login), "triage")


def _may_edit(c: Ctx, rec: Record, issue: Record) -> bool:
    return _can_triage(c, rec) or issue["user"].lower() == c.login.lower()


def _valid_body(body: Any) -> None:
    try:
        check_body("Issue", body)
    except ApiError as exc:
        detail = (exc.errors or [{}])[0].get("message") or exc.message
        raise Fail(detail, "UNPROCESSABLE") from None


def _only(input: dict[str, Any], input_type: str, supported: set[str]) -> None:
    for key, value in input.items():
        if key not in supported and value is not None:
            raise unimplemented(input_type, key)


def add_comment(info: GraphQLResolveInfo, input: dict[str, Any]) -> Obj:
    c = ctx(info)
    _only(input, "AddCommentInput", {"subjectId", "body", "clientMutationId"})
    rec, issue = _find_issue(c, input["subjectId"])
    body = input["body"]
    if not body.strip():
        raise Fail("Body can't be blank", "UNPROCESSABLE")
    _valid_body(body)
    cm = store_comment(c.app, rec, issue, body, c.login)
    node = issues.comment(c, rec, cm)
    return {"clientMutationId": input.get("clientMutationId"),
            "commentEdge": {"cursor": node_id("cursor", cm["id"]), "node": node},
            "subject": issues.issue(c, rec, issue)}


def _relabel(info: GraphQLResolveInfo, input: dict[str, Any], mutation: str,
             add: bool) -> Obj:
    c = ctx(info)
    input_type = f"{mutation[0].upper()}{mutation[1:]}Input"
    _only(input, input_type, {"labelableId", "labelIds", "clientMutationId"})
    rec, issue = _find_issue(c, input["labelableId"])
    if not _can_triage(c, rec):
        raise forbidden(c, f"{mutation[0].upper()}{mutation[1:]}")
    names = [lb["name"] for lb in _labels_of(c, rec, input["labelIds"])]
    if add:
        wanted = [*issue["labels"], *names]
    else:
        gone = {n.lower() for n in names}
        wanted = [n for n in issue["labels"] if n.lower() not in gone]
    set_labels(c.app, rec, issue, wanted, c.login)
    return {"clientMutationId": input.get("clientMutationId"),
            "labelable": issues.issue(c, rec, issue)}


def add_labels(info: GraphQLResolveInfo, input: dict[str, Any]) -> Obj:
    return _relabel(info, input, "addLabelsToLabelable", add=True)


def remove_labels(info: GraphQLResolveInfo, input: dict[str, Any]) -> Obj:
    return _relabel(info, input, "removeLabelsFromLabelable", add=False)


def update_issue(info: GraphQLResolveInfo, input: dict[str, Any]) -> Obj:
    c = ctx(info)
    _only(input, "UpdateIssueInput", {"id", "body", "title", "clientMutationId"})
    rec, issue = _find_issue(c, input["id"])
    if not _may_edit(c, rec, issue):
        raise forbidden(c, "UpdateIssue")
    if input.get("title") is not None:
        if not input["title"].strip():
            raise Fail("Title can't be blank", "UNPROCESSABLE")
        issue["title"] = input["title"]
    if input.get("body") is not None:
        _valid_body(input["body"])
        edit_body(issue, input["body"], c.login)
    return {"clientMutationId": input.get("clientMutationId"),
            "issue": issues.issue(c, rec, issue)}


def close_issue(info: GraphQLResolveInfo, input: dict[str, Any]) -> Obj:
    c = ctx(info)
    _only(input, "CloseIssueInput", {"issueId", "stateReason", "clientMutationId"})
    rec, issue = _find_issue(c, input["issueId"])
    if not _may_edit(c, rec, issue):
        raise forbidden(c, "CloseIssue")
    reason = input.get("stateReason") or "COMPLETED"
    if reason == "DUPLICATE":
        raise Fail("the valet sandbox does not implement CloseIssueInput.stateReason: DUPLICATE")
    set_state(c.app, rec, issue, "closed", reason.lower(), c.login)
    return {"clientMutationId": input.get("clientMutationId"),
            "issue": issues.issue(c, rec, issue)}


ROOT: Obj = {"addComment": add_comment, "addLabelsToLabelable": add_labels,
             "removeLabelsFromLabelable": remove_labels, "updateIssue": update_issue,
             "closeIssue": close_issue}
