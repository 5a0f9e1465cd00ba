"""GET /search/issues: the subset of GitHub's issue search syntax the actions use.

Supported qualifiers: ``repo:o/r``, ``is:issue``/``is:pr``, ``is:open``/``is:closed``
(and ``state:``), ``in:title``/``in:body``, ``label:x`` (``label:"x y"``),
``author:login``; the other words and ``"quoted phrases"`` must all appear
(case-insensitively) in the fields chosen by ``in:`` (default title and body).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from valet.sandbox import shapes
from valet.sandbox.app import App
from valet.sandbox.routing import Request, Response, paginate, validation_failed
from valet.sandbox.state import Record, perm_at_least

_TOKEN = re.compile(r'(-?[\w]+:"[^"]*"|-?[\w]+:\S+|"[^"]*"|\S+)')


@dataclass
class Query:
    repos: list[str] = field(default_factory=list)
    kind: str | None = None
    state: str | None = None
    fields: set[str] = field(default_factory=set)
    labels: list[str] = field(default_factory=list)
    author: str | None = None
    terms: list[str] = field(default_factory=list)


def parse_query(q: str) -> Query:
    out = Query()
    for tok in _TOKEN.findall(q):
        key, sep, value = tok.partition(":")
        value = value.strip('"')
        if sep and not tok.startswith('"'):
            key = key.lower()
            if key == "repo":
                out.repos.append(value.lower())
                continue
            if key == "is" and value.lower() in ("issue", "pr"):
                out.kind = value.lower()
                continue
            if key in ("is", "state") and value.lower() in ("open", "closed"):
                out.state = value.lower()
                continue
            if key == "in":
                out.fields.update(v.strip().lower() for v in value.split(","))
                continue
            if key == "label":
                out.labels.append(value.lower())
                continue
            if key == "author":
                out.author = value.lower()
                continue
            if key in ("type",):
                out.kind = "issue" if value.lower() == "issue" else "pr"
                continue
        term = tok.strip('"').lower()
        if term:
            out.terms.append(term)
    return out


def matches(q: Query, issue: Record) -> bool:
    if q.kind == "pr":
        return False  # the sandbox has no pull requests
    if q.state and issue["state"] != q.state:
        return False
    names = {n.lower() for n in issue["labels"]}
    if any(lb not in names for lb in q.labels):
        return False
    if q.author and issue["user"].lower() != q.author:
        return False
    fields = q.fields or {"title", "body"}
    text = " ".join([issue["title"] if "title" in fields else "",
                     (issue.get("body") or "") if "body" in fields else ""]).lower()
    return all(t in text for t in q.terms)


def register(app: App) -> None:
    @app.api.route("GET", "/search/issues")
    def search_issues(req: Request) -> Response:
        raw = req.arg("q")
        if not raw:
            raise validation_failed("Search", "q", "missing")
        q = parse_query(raw)
        results: list[tuple[Record, Record]] = []
        for key, rec in app.state.repos.items():
            if q.repos and key not in q.repos:
                continue
            if not perm_at_least(app.permission(rec, req.login), "read"):
                continue
            results.extend((rec, i) for i in rec["issues"].values() if matches(q, i))
        sort = req.arg("sort")
        field_name = "updated_at" if sort == "updated" else "created_at"
        desc = req.arg("order", "desc") != "asc"
        results.sort(key=lambda ri: (ri[1][field_name], ri[1]["id"]), reverse=desc)
        chunk, headers = paginate(req, results[:1000])
        items = []
        for rec, issue in chunk:
            item = shapes.issue(app.urls, app.state, rec, issue)
            item["score"] = 1.0
            items.append(item)
        body = {"total_count": len(results), "incomplete_results": False, "items": items,
                "search_type": "lexical"}
        return Response(200, body, headers)
