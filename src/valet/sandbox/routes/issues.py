"""Issues, labels, issue events and comments."""

from __future__ import annotations

from typing import Any

from valet.sandbox import shapes
from valet.sandbox.app import App
from valet.sandbox.routing import (
    ApiError,
    Request,
    Response,
    not_found,
    page_response,
    validation_failed,
)
from valet.sandbox.state import Record, now_iso, perm_at_least

BODY_LIMIT = 65536  # characters (UTF-16 code units, as GitHub counts them) in a body


def check_body(resource: str, body: Any) -> None:
    """GitHub's 422 for a body over the limit (the exact error it sends)."""
    if isinstance(body, str) and len(body.encode("utf-16-le")) // 2 > BODY_LIMIT:
        raise validation_failed(resource, "body", "custom",
                                f"body is too long (maximum is {BODY_LIMIT} characters)")


def _issue(rec: Record, number: str) -> Record:
    found = rec["issues"].get(str(number)) if str(number).isdigit() else None
    if found is None:
        raise not_found()
    return found


def ensure_label(app: App, rec: Record, name: str) -> Record:
    key = name.lower()
    if key not in rec["labels"]:
        if not name or len(name) > 50:
            raise validation_failed("Label", "name", "invalid")
        rec["labels"][key] = {"id": app.state.new_id(), "name": name, "color": "ededed",
                              "description": None, "default": False}
    return rec["labels"][key]  # type: ignore[no-any-return]


def _event(app: App, rec: Record, issue: Record, event: str, actor: str,
           label: Record | None = None, state_reason: str | None = None) -> None:
    rec["events"].append({"id": app.state.new_id(), "issue": issue["number"], "event": event,
                          "actor": actor, "created_at": now_iso(),
                          "label": {"name": label["name"], "color": label["color"]}
                          if label else None, "state_reason": state_reason})


def set_labels(app: App, rec: Record, issue: Record, names: list[str], actor: str) -> None:
    """Replace the labels of an issue, recording labeled/unlabeled events."""
    wanted = []
    for n in names:
        lb = ensure_label(app, rec, n)
        if lb["name"] not in wanted:
            wanted.append(lb["name"])
    current = list(issue["labels"])
    for name in current:
        if name.lower() not in (w.lower() for w in wanted):
            _event(app, rec, issue, "unlabeled", actor, rec["labels"].get(name.lower()))
    for name in wanted:
        if name.lower() not in (c.lower() for c in current):
            _event(app, rec, issue, "labeled", actor, rec["labels"][name.lower()])
    issue["labels"] = wanted
    issue["updated_at"] = now_iso()


def _label_names(raw: Any) -> list[str]:
    if isinstance(raw, dict):
        raw = raw.get("labels", [])
    if not isinstance(raw, list):
        raise validation_failed("Label", "labels", "invalid")
    out = []
    for item in raw:
        name = item.get("name") if isinstance(item, dict) else item
        if not isinstance(name, str):
            raise validation_failed("Label", "labels", "invalid")
        out.append(name)
    return out


def set_state(app: App, rec: Record, issue: Record, state: str, reason: Any, actor: str) -> None:
    if state not in ("open", "closed"):
        raise validation_failed("Issue", "state", "invalid")
    if state == issue["state"]:
        return
    ts = now_iso()
    issue["state"] = state
    issue["updated_at"] = ts
    if state == "closed":
        issue["state_reason"] = reason if reason in ("completed", "not_planned") else "completed"
        issue["closed_at"] = ts
        issue["closed_by"] = actor
        _event(app, rec, issue, "closed", actor, state_reason=issue["state_reason"])
    else:
        issue["state_reason"] = "reopened"
        issue["closed_at"] = None
        issue["closed_by"] = None
        _event(app, rec, issue, "reopened", actor, state_reason="reopened")


def edit_body(issue: Record, body: Any, editor: str) -> None:
    """Set an issue's body, recording the edit GraphQL's ``userContentEdits`` serves. As on
    GitHub, once a body is edited its history starts with the creator's own body."""
    if body != issue.get("body"):
        edits = issue.setdefault("edits", [])
        if not edits:
            edits.append({"editor": issue["user"], "edited_at": issue["created_at"],
                          "body": issue.get("body") or ""})
        edits.append({"editor": editor, "edited_at": now_iso(), "body": body})
    issue["body"] = body
    issue["updated_at"] = now_iso()


def add_comment(app: App, rec: Record, issue: Record, body: str, author: str) -> Record:
    ts = now_iso()
    c = {"id": app.state.new_id(), "issue": issue["number"], "body": body, "user": author,
         "created_at": ts, "updated_at": ts}
    rec["comments"][str(c["id"])] = c
    issue["updated_at"] = ts
    return c


def _sort_issues(req: Request, items: list[Record]) -> list[Record]:
    key = req.arg("sort", "created")
    field = {"created": "created_at", "updated": "updated_at"}.get(key or "created", "created_at")
    desc = req.arg("direction", "desc") != "asc"
    return sorted(items, key=lambda i: (i[field], i["number"]), reverse=desc)


def register(app: App) -> None:
    r = app.api

    def triage(req: Request, rec: Record) -> bool:
        return perm_at_least(app.permission(rec, req.login), "triage")

    # -- issues -----------------------------------------------------------------------

    @r.route("GET", "/repos/{owner}/{repo}/issues")
    def list_issues(req: Request, owner: str, repo: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        state = req.arg("state", "open")
        wanted = [x.strip().lower() for x in (req.arg("labels") or "").split(",") if x.strip()]
        creator = (req.arg("creator") or "").lower()
        since = req.arg("since") or ""
        items = []
        for issue in rec["issues"].values():
            if state in ("open", "closed") and issue["state"] != state:
                continue
            names = {n.lower() for n in issue["labels"]}
            if any(w not in names for w in wanted):
                continue
            if creator and issue["user"].lower() != creator:
                continue
            if since and issue["updated_at"] < since:
                continue
            items.append(issue)
        return page_response(req, [shapes.issue(app.urls, app.state, rec, i)
                                   for i in _sort_issues(req, items)])

    @r.route("POST", "/repos/{owner}/{repo}/issues")
    def create_issue(req: Request, owner: str, repo: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        login = app.require_login(req)
        body = req.json()
        title = body.get("title")
        if isinstance(title, int):
            title = str(title)
        if not isinstance(title, str) or not title.strip():
            raise validation_failed("Issue", "title", "missing_field")
        check_body("Issue", body.get("body"))
        ts = now_iso()
        number = rec["next_number"]
        rec["next_number"] += 1
        issue = {"id": app.state.new_id(), "number": number, "title": title,
                 "body": body.get("body"), "state": "open", "state_reason": None,
                 "user": login, "labels": [], "assignees": [], "created_at": ts,
                 "updated_at": ts, "closed_at": None, "closed_by": None}
        rec["issues"][str(number)] = issue
        if body.get("labels") and triage(req, rec):  # GitHub drops them silently otherwise
            set_labels(app, rec, issue, _label_names(body["labels"]), login)
        if body.get("assignees") and triage(req, rec):
            issue["assignees"] = [a for a in body["assignees"] if app.state.user(a)]
        out = shapes.issue(app.urls, app.state, rec, issue)
        return Response(201, out, {"Location": out["url"]})

    @r.route("GET", "/repos/{owner}/{repo}/issues/{number}")
    def get_issue(req: Request, owner: str, repo: str, number: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        pull = rec.get("pulls", {}).get(number) if number.isdigit() else None
        if pull is not None:  # as on GitHub: every pull request is an issue here
            return Response(200, shapes.pull_as_issue(app.urls, app.state, rec, pull))
        return Response(200, shapes.issue(app.urls, app.state, rec, _issue(rec, number)))

    @r.route("PATCH", "/repos/{owner}/{repo}/issues/{number}")
    def update_issue(req: Request, owner: str, repo: str, number: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        login = app.require_login(req)
        issue = _issue(rec, number)
        can_triage = triage(req, rec)
        if not can_triage and issue["user"].lower() != login.lower():
            app.forbid(login, "triage")
        body = req.json()
        check_body("Issue", body.get("body"))
        if "title" in body:
            if not isinstance(body["title"], str) or not body["title"].strip():
                raise validation_failed("Issue", "title", "missing_field")
            issue["title"] = body["title"]
        if "body" in body:
            edit_body(issue, body["body"], login)
        if "state" in body:
            set_state(app, rec, issue, body["state"], body.get("state_reason"), login)
        if "labels" in body and can_triage:
            set_labels(app, rec, issue, _label_names(body["labels"]), login)
        if "assignees" in body and can_triage:
            issue["assignees"] = [a for a in body["assignees"] or [] if app.state.user(a)]
        issue["updated_at"] = now_iso()
        return Response(200, shapes.issue(app.urls, app.state, rec, issue))

    # -- labels -----------------------------------------------------------------------

    @r.route("GET", "/repos/{owner}/{repo}/labels")
    def list_labels(req: Request, owner: str, repo: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        labels = sorted(rec["labels"].values(), key=lambda lb: lb["name"].lower())
        return page_response(req, [shapes.label(app.urls, rec["full_name"], lb) for lb in labels])

    @r.route("POST", "/repos/{owner}/{repo}/labels")
    def create_label(req: Request, owner: str, repo: str) -> Response:
        rec = app.repo_for(req, owner, repo, "write")
        body = req.json()
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise validation_failed("Label", "name", "missing_field")
        if name.lower() in rec["labels"]:
            raise validation_failed("Label", "name", "already_exists")
        color = str(body.get("color") or "ededed").lstrip("#")
        if len(color) != 6 or any(c not in "0123456789abcdefABCDEF" for c in color):
            raise validation_failed("Label", "color", "invalid")
        lb = ensure_label(app, rec, name)
        lb.update({"color": color.lower(), "description": body.get("description")})
        return Response(201, shapes.label(app.urls, rec["full_name"], lb))

    @r.route("GET", "/repos/{owner}/{repo}/labels/{name:path}")
    def get_label(req: Request, owner: str, repo: str, name: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        lb = rec["labels"].get(name.lower())
        if lb is None:
            raise not_found()
        return Response(200, shapes.label(app.urls, rec["full_name"], lb))

    @r.route("PATCH", "/repos/{owner}/{repo}/labels/{name:path}")
    def update_label(req: Request, owner: str, repo: str, name: str) -> Response:
        rec = app.repo_for(req, owner, repo, "write")
        lb = rec["labels"].get(name.lower())
        if lb is None:
            raise not_found()
        body = req.json()
        if body.get("color"):
            lb["color"] = str(body["color"]).lstrip("#").lower()
        if "description" in body:
            lb["description"] = body["description"]
        new = body.get("new_name")
        if isinstance(new, str) and new and new.lower() != name.lower():
            rec["labels"].pop(name.lower())
            lb["name"] = new
            rec["labels"][new.lower()] = lb
            for issue in rec["issues"].values():
                issue["labels"] = [new if n.lower() == name.lower() else n
                                   for n in issue["labels"]]
        return Response(200, shapes.label(app.urls, rec["full_name"], lb))

    @r.route("DELETE", "/repos/{owner}/{repo}/labels/{name:path}")
    def delete_label(req: Request, owner: str, repo: str, name: str) -> Response:
        rec = app.repo_for(req, owner, repo, "write")
        if rec["labels"].pop(name.lower(), None) is None:
            raise not_found()
        for issue in rec["issues"].values():
            issue["labels"] = [n for n in issue["labels"] if n.lower() != name.lower()]
        return Response(204)

    def issue_labels(rec: Record, issue: Record) -> list[dict[str, Any]]:
        return [shapes.label(app.urls, rec["full_name"], rec["labels"][n.lower()])
                for n in issue["labels"] if n.lower() in rec["labels"]]

    @r.route("GET", "/repos/{owner}/{repo}/issues/{number}/labels")
    def list_issue_labels(req: Request, owner: str, repo: str, number: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        return page_response(req, issue_labels(rec, _issue(rec, number)))

    @r.route("POST", "/repos/{owner}/{repo}/issues/{number}/labels")
    def add_labels(req: Request, owner: str, repo: str, number: str) -> Response:
        rec = app.repo_for(req, owner, repo, "triage")
        issue = _issue(rec, number)
        names = _label_names(req.json() if req.body_bytes().strip().startswith(b"{")
                             else _json_list(req))
        set_labels(app, rec, issue, [*issue["labels"], *names], app.require_login(req))
        return Response(200, issue_labels(rec, issue))

    @r.route("PUT", "/repos/{owner}/{repo}/issues/{number}/labels")
    def replace_labels(req: Request, owner: str, repo: str, number: str) -> Response:
        rec = app.repo_for(req, owner, repo, "triage")
        issue = _issue(rec, number)
        names = _label_names(req.json() if req.body_bytes().strip().startswith(b"{")
                             else _json_list(req))
        set_labels(app, rec, issue, names, app.require_login(req))
        return Response(200, issue_labels(rec, issue))

    @r.route("DELETE", "/repos/{owner}/{repo}/issues/{number}/labels")
    def clear_labels(req: Request, owner: str, repo: str, number: str) -> Response:
        rec = app.repo_for(req, owner, repo, "triage")
        set_labels(app, rec, _issue(rec, number), [], app.require_login(req))
        return Response(204)

    @r.route("DELETE", "/repos/{owner}/{repo}/issues/{number}/labels/{name:path}")
    def remove_label(req: Request, owner: str, repo: str, number: str, name: str) -> Response:
        rec = app.repo_for(req, owner, repo, "triage")
        issue = _issue(rec, number)
        if name.lower() not in (n.lower() for n in issue["labels"]):
            raise ApiError(404, "Label does not exist")
        set_labels(app, rec, issue, [n for n in issue["labels"] if n.lower() != name.lower()],
                   app.require_login(req))
        return Response(200, issue_labels(rec, issue))

    # -- events -----------------------------------------------------------------------

    @r.route("GET", "/repos/{owner}/{repo}/issues/{number}/events")
    def list_events(req: Request, owner: str, repo: str, number: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        issue = _issue(rec, number)
        events = [e for e in rec["events"] if e["issue"] == issue["number"]]
        return page_response(req, [shapes.issue_event(app.urls, app.state, rec, e)
                                   for e in events])

    @r.route("GET", "/repos/{owner}/{repo}/issues/events/{event_id}")
    def get_event(req: Request, owner: str, repo: str, event_id: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        for e in rec["events"]:
            if str(e["id"]) == event_id:
                out = shapes.issue_event(app.urls, app.state, rec, e)
                out["issue"] = shapes.issue(app.urls, app.state, rec, _issue(rec, e["issue"]))
                return Response(200, out)
        raise not_found()

    # -- comments -----------------------------------------------------------------------

    @r.route("GET", "/repos/{owner}/{repo}/issues/{number}/comments")
    def list_comments(req: Request, owner: str, repo: str, number: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        issue = _issue(rec, number)
        since = req.arg("since") or ""
        items = [c for c in rec["comments"].values()
                 if c["issue"] == issue["number"] and c["updated_at"] >= since]
        items.sort(key=lambda c: c["id"])
        return page_response(req, [shapes.comment(app.urls, app.state, rec, c) for c in items])

    @r.route("POST", "/repos/{owner}/{repo}/issues/{number}/comments")
    def create_comment(req: Request, owner: str, repo: str, number: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        login = app.require_login(req)
        issue = _issue(rec, number)
        body = req.json().get("body")
        if not isinstance(body, str) or not body:
            raise validation_failed("IssueComment", "body", "missing_field")
        c = add_comment(app, rec, issue, body, login)
        out = shapes.comment(app.urls, app.state, rec, c)
        return Response(201, out, {"Location": out["url"]})

    def own_comment(req: Request, owner: str, repo: str, cid: str) -> tuple[Record, Record]:
        rec = app.repo_for(req, owner, repo)
        login = app.require_login(req)
        c = rec["comments"].get(cid)
        if c is None:
            raise not_found()
        if c["user"].lower() != login.lower() and \
                not perm_at_least(app.permission(rec, login), "write"):
            app.forbid(login, "write")
        return rec, c

    @r.route("GET", "/repos/{owner}/{repo}/issues/comments/{cid}")
    def get_comment(req: Request, owner: str, repo: str, cid: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        c = rec["comments"].get(cid)
        if c is None:
            raise not_found()
        return Response(200, shapes.comment(app.urls, app.state, rec, c))

    @r.route("PATCH", "/repos/{owner}/{repo}/issues/comments/{cid}")
    def update_comment(req: Request, owner: str, repo: str, cid: str) -> Response:
        rec, c = own_comment(req, owner, repo, cid)
        body = req.json().get("body")
        if not isinstance(body, str) or not body:
            raise validation_failed("IssueComment", "body", "missing_field")
        c["body"] = body
        c["updated_at"] = now_iso()
        return Response(200, shapes.comment(app.urls, app.state, rec, c))

    @r.route("DELETE", "/repos/{owner}/{repo}/issues/comments/{cid}")
    def delete_comment(req: Request, owner: str, repo: str, cid: str) -> Response:
        rec, c = own_comment(req, owner, repo, cid)
        del rec["comments"][cid]
        return Response(204)


def _json_list(req: Request) -> Any:
    import json

    try:
        return json.loads(req.body_bytes() or b"[]")
    except ValueError:
        raise ApiError(400, "Problems parsing JSON") from None
