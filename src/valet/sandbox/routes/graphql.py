"""``POST /api/graphql``: the two GraphQL queries valet makes.

publish reads an issue body's edit history (the REST API has none) from
``repository(owner:, name:) { issue(number:) { userContentEdits(first:) { totalCount
nodes { editedAt editor { login } diff } } } }``, and learns who its own token is from
``viewer { login }`` (``GET /user`` answers 403 to an App installation token; GraphQL's
viewer is the App's bot), or both in one query (``viewer { login }`` first, then the
edits: a run asks once). This is not a GraphQL server: a query is read as a token
list and must have exactly one of those shapes (the edits with
``$owner``/``$name``/``$number`` variables, ``totalCount`` optional, any subset of the
three node fields, in any order). Anything else gets GitHub's answer to a query it
cannot run: status 200 with ``{"errors": [{"message": ...}]}``.

As on GitHub: edits come newest first; ``diff`` is the whole body after that edit;
a body never edited has no history, and once edited the oldest node is the
creator's own body (editor: the author, at the issue's creation);
a repository the token cannot read and a missing issue are ``NOT_FOUND`` errors
next to ``data``; no token, or a bad one, is a 401.
"""

from __future__ import annotations

import re
from typing import Any

from valet.sandbox.app import App
from valet.sandbox.routing import ApiError, Request, Response
from valet.sandbox.state import perm_at_least

DOCS = "https://docs.github.com/graphql"
FIELDS = ("editedAt", "editor", "diff")
_TOKEN = re.compile(r"\$?[A-Za-z_][A-Za-z0-9_]*|\d+|[{}():!\[\]=]|\S")


class _Shape(Exception):
    """The query is not the one shape the sandbox answers."""


def _errors(message: str, **extra: Any) -> Response:
    return Response(200, {"errors": [{"message": message, **extra}]})


def _expect(tokens: list[str], at: int, *want: str) -> int:
    for w in want:
        if at >= len(tokens) or tokens[at] != w:
            raise _Shape(f"expected {w!r} at token {at}")
        at += 1
    return at


def _args(tokens: list[str], at: int, names: set[str]) -> tuple[dict[str, str], int]:
    """``( a: $a, b: $b )`` in any order (commas are whitespace in GraphQL)."""
    at = _expect(tokens, at, "(")
    out: dict[str, str] = {}
    while at < len(tokens) and tokens[at] != ")":
        name = tokens[at]
        at = _expect(tokens, at + 1, ":")
        if name not in names or name in out or at >= len(tokens):
            raise _Shape(f"unexpected argument {name!r}")
        out[name] = tokens[at]
        at += 1
    if set(out) != names:
        raise _Shape("missing arguments")
    return out, _expect(tokens, at, ")")


def _tokens(query: str) -> tuple[list[str], int]:
    """The query's tokens, and where its selection starts (after ``query Name(...)``)."""
    text = re.sub(r"#[^\n]*", " ", query).replace(",", " ")
    tokens = _TOKEN.findall(text)
    at = 0
    if tokens[:1] == ["query"]:
        at = 1
        if at < len(tokens) and re.fullmatch(r"[A-Za-z_]\w*", tokens[at]):
            at += 1  # the operation name
        if at < len(tokens) and tokens[at] == "(":
            while at < len(tokens) and tokens[at] != ")":
                at += 1  # variable definitions: their values are checked below
            at += 1
    return tokens, at


def is_viewer(query: str) -> bool:
    """``{ viewer { login } }`` (with or without ``query``)."""
    tokens, at = _tokens(query)
    return tokens[at:] == ["{", "viewer", "{", "login", "}", "}"]


def parse(query: str) -> tuple[int, list[str], bool, bool]:
    """``(first, node fields, totalCount asked, viewer asked)`` of the edit-history query
    (``viewer { login }`` may come first); raises _Shape for anything else."""
    tokens, at = _tokens(query)
    at = _expect(tokens, at, "{")
    viewer = tokens[at:at + 4] == ["viewer", "{", "login", "}"]
    if viewer:
        at += 4
    at = _expect(tokens, at, "repository")
    args, at = _args(tokens, at, {"owner", "name"})
    if args != {"owner": "$owner", "name": "$name"}:
        raise _Shape("repository takes $owner and $name")
    at = _expect(tokens, at, "{", "issue")
    args, at = _args(tokens, at, {"number"})
    if args != {"number": "$number"}:
        raise _Shape("issue takes $number")
    at = _expect(tokens, at, "{", "userContentEdits")
    args, at = _args(tokens, at, {"first"})
    if not args["first"].isdigit():
        raise _Shape("first must be a literal number")
    first = int(args["first"])
    at = _expect(tokens, at, "{")
    total = at < len(tokens) and tokens[at] == "totalCount"
    at = _expect(tokens, at + 1 if total else at, "nodes", "{")
    fields: list[str] = []
    while at < len(tokens) and tokens[at] != "}":
        name = tokens[at]
        if name not in FIELDS or name in fields:
            raise _Shape(f"unexpected field {name!r}")
        at += 1
        if name == "editor":
            at = _expect(tokens, at, "{", "login", "}")
        fields.append(name)
    if not fields:
        raise _Shape("no fields selected")
    at = _expect(tokens, at, "}", "}", "}", "}", "}")
    if at != len(tokens):
        raise _Shape("trailing tokens")
    return first, fields, total, viewer


def register(app: App) -> None:
    @app.graphql.route("POST", "/")
    def graphql(req: Request) -> Response:
        if req.login is None:
            raise ApiError(401, "This endpoint requires you to be authenticated.")
        body = req.json()
        query, variables = body.get("query"), body.get("variables") or {}
        if not isinstance(query, str) or not isinstance(variables, dict):
            return _errors("A query attribute must be specified and must be a string.")
        if is_viewer(query):
            return Response(200, {"data": {"viewer": {"login": req.login}}})
        try:
            first, fields, total, viewer = parse(query)
        except _Shape as exc:
            return _errors("the valet sandbox answers two queries only: viewer's login and "
                           f"an issue's userContentEdits ({exc})")
        owner, name, number = (variables.get(k) for k in ("owner", "name", "number"))
        if not isinstance(owner, str) or not isinstance(name, str):
            return _errors("Variable $owner and $name of type String! were provided invalid values")
        if not isinstance(number, int) or isinstance(number, bool):
            return _errors("Variable $number of type Int! was provided invalid value")
        if not 1 <= first <= 100:
            return _errors(f"Requesting {first} records on the `userContentEdits` connection "
                           "exceeds the `first` limit of 100 records.")
        me = {"viewer": {"login": req.login}} if viewer else {}
        rec = app.state.repo(owner, name)
        if rec is None or not perm_at_least(app.permission(rec, req.login), "read"):
            return Response(200, {"data": {**me, "repository": None}, "errors": [{
                "type": "NOT_FOUND", "path": ["repository"],
                "message": f"Could not resolve to a Repository with the name '{owner}/{name}'."}]})
        issue = rec["issues"].get(str(number))
        if issue is None:
            return Response(200, {"data": {**me, "repository": {"issue": None}}, "errors": [{
                "type": "NOT_FOUND", "path": ["repository", "issue"],
                "message": f"Could not resolve to an Issue with the number of {number}."}]})
        nodes = []
        for edit in reversed(issue.get("edits", [])[-first:] if first else []):
            user = app.state.user(edit["editor"])
            full = {"editedAt": edit["edited_at"], "diff": edit["body"],
                    # a deleted account: GitHub shows no editor
                    "editor": {"login": user["login"]} if user else None}
            nodes.append({f: full[f] for f in fields})
        edits: dict[str, Any] = {"nodes": nodes}
        if total:
            edits = {"totalCount": len(issue.get("edits", [])), **edits}
        return Response(200, {"data": {**me, "repository": {"issue": {
            "userContentEdits": edits}}}})
