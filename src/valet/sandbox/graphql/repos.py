"""Resolvers for ``repository``: its fields, refs, git objects, check suites and runs.

A repository the token cannot read is NOT_FOUND, as on GitHub (and as the REST
contents and checks routes answer 404). ``ref(qualifiedName:)`` matches the full name
first, then a branch, then a tag; ``object`` takes a rev-parse ``expression``
(``main:path/to/file``) or an ``oid``, and is null when nothing matches. A blob's
``text`` is null when it is binary. Check statuses and conclusions are GitHub's enum
values (``QUEUED``, ``COMPLETED``, ``SUCCESS``...); a conclusion is null until done.
"""

from __future__ import annotations

import re
from typing import Any

from graphql import GraphQLResolveInfo

from valet.sandbox import shapes
from valet.sandbox.gitrepo import SHA_RE, GitRepo, valid_ref_name
from valet.sandbox.graphql import issues, rules
from valet.sandbox.graphql.base import Ctx, Fail, Obj, actor, connection, ctx, readable, upper
from valet.sandbox.shapes import node_id
from valet.sandbox.state import Record

_TAG_HEADER = re.compile(r"^(object|type|tag|tagger) (.*)$")
BINARY_PROBE = 8000  # bytes git looks at for a NUL to call a file binary


def repository(info: GraphQLResolveInfo, owner: str, name: str,
               followRenames: bool = True) -> Obj:
    c = ctx(info)
    rec = c.app.state.repo(owner, name)
    if rec is None or not readable(c, rec):
        raise Fail(f"Could not resolve to a Repository with the name '{owner}/{name}'.",
                   "NOT_FOUND")
    return repository_obj(c, rec)


ROOT: Obj = {"repository": repository}


def repository_obj(c: Ctx, rec: Record) -> Obj:
    full = rec["full_name"]
    git = c.app.git(rec)
    owner = c.app.state.user(rec["owner"])

    def default_branch_ref(info: GraphQLResolveInfo) -> Obj | None:
        return ref_obj(c, rec, git, f"refs/heads/{rec['default_branch']}")

    def ref(info: GraphQLResolveInfo, qualifiedName: str) -> Obj | None:
        for cand in (qualifiedName, f"refs/heads/{qualifiedName}", f"refs/tags/{qualifiedName}"):
            if cand.startswith("refs/") and cand.count("/") >= 2:
                found = ref_obj(c, rec, git, cand)
                if found is not None:
                    return found
        return None

    def obj(info: GraphQLResolveInfo, expression: str | None = None,
            oid: str | None = None) -> Obj | None:
        if oid is not None:
            sha = oid.lower() if SHA_RE.fullmatch(oid.lower()) else None
        elif expression is not None:
            sha = rev_parse(git, expression)
        else:
            raise Fail("Either expression or oid must be given")
        return git_object(c, rec, git, sha) if sha else None

    return {
        "__typename": "Repository", "id": node_id("Repository", rec["id"]),
        "databaseId": rec["id"], "name": rec["name"], "nameWithOwner": full,
        "isPrivate": rec["private"], "url": f"{c.app.urls.server}/{full}",
        "visibility": "PRIVATE" if rec["private"] else "PUBLIC",
        "owner": lambda info: {**(actor(c, rec["owner"]) or {}),
                               "__typename": "Organization" if owner and
                               owner["type"] == "Organization" else "User"},
        "defaultBranchRef": default_branch_ref, "ref": ref, "object": obj,
        **issues.repository_fields(c, rec),
    }


def rev_parse(git: GitRepo, expression: str) -> str | None:
    """The object ``expression`` names (``rev``, ``rev:path``); None if none."""
    rev, sep, path = expression.partition(":")
    if rev.startswith("-") or not rev or not (SHA_RE.fullmatch(rev) or valid_ref_name(rev)
                                            or rev == "HEAD"):
        return None
    if sep and (path.startswith("/") or ".." in path.split("/")):
        return None
    proc = git.run("rev-parse", "--verify", "--quiet", "--end-of-options", expression,
                   check=False)
    sha = proc.stdout.decode().strip()
    return sha if proc.returncode == 0 and SHA_RE.fullmatch(sha) else None


def ref_obj(c: Ctx, rec: Record, git: GitRepo, full_ref: str) -> Obj | None:
    if not valid_ref_name(full_ref):
        return None
    sha = git.ref_sha(full_ref)
    if sha is None:
        return None
    prefix, name = ("/".join(full_ref.split("/")[:2]) + "/", "/".join(full_ref.split("/")[2:]))
    out: Obj = {"__typename": "Ref", "id": node_id("Ref", f"{rec['full_name']}:{full_ref}"),
                "name": name, "prefix": prefix,
                "target": lambda info: git_object(c, rec, git, sha)}
    if prefix == "refs/heads/":  # rulesets target branches only here (no tag rulesets)
        out["rules"] = rules.ref_rules(c, rec, name)
    return out


def git_object(c: Ctx, rec: Record, git: GitRepo, sha: str) -> Obj | None:
    kind = git.object_type(sha)
    if kind == "commit":
        return commit_obj(c, rec, git, sha)
    if kind == "tag":
        return tag_obj(c, rec, git, sha)
    if kind == "blob":
        return blob_obj(rec, git, sha)
    if kind == "tree":
        return {"__typename": "Tree", "oid": sha, "abbreviatedOid": sha[:7],
                "id": node_id("Tree", f"{rec['full_name']}:{sha}")}
    return None


def blob_obj(rec: Record, git: GitRepo, sha: str) -> Obj:
    data = git.blob(sha)
    binary = b"\0" in data[:BINARY_PROBE]
    return {"__typename": "Blob", "oid": sha, "abbreviatedOid": sha[:7],
            "id": node_id("Blob", f"{rec['full_name']}:{sha}"), "byteSize": len(data),
            "isBinary": binary, "isTruncated": False,
            "text": None if binary else data.decode("utf-8", errors="replace")}


def tag_obj(c: Ctx, rec: Record, git: GitRepo, sha: str) -> Obj:
    raw = git.run("cat-file", "tag", sha).stdout.decode(errors="replace")
    head, _, message = raw.partition("\n\n")
    fields: dict[str, str] = {}
    for line in head.splitlines():
        m = _TAG_HEADER.match(line)
        if m:
            fields[m.group(1)] = m.group(2)
    target = fields.get("object", "")
    return {"__typename": "Tag", "oid": sha, "abbreviatedOid": sha[:7],
            "id": node_id("Tag", f"{rec['full_name']}:{sha}"), "name": fields.get("tag", ""),
            "message": message or None,
            "target": lambda info: git_object(c, rec, git, target)}


def commit_obj(c: Ctx, rec: Record, git: GitRepo, sha: str) -> Obj:
    full = rec["full_name"]

    def info_of() -> Any:
        found = git.commit(sha)
        assert found is not None
        return found

    def suites(info: GraphQLResolveInfo, **args: Any) -> Obj:
        found = [s for s in rec.get("check_suites", []) if s["head_sha"] == sha]
        flt = args.get("filterBy") or {}
        if flt.get("appId") is not None:
            found = [s for s in found if _app_id(c, s["app"]) == flt["appId"]]
        if flt.get("checkName") is not None:
            named = {r["suite_id"] for r in rec["check_runs"] if r["name"] == flt["checkName"]}
            found = [s for s in found if s["id"] in named]
        found.sort(key=lambda s: s["id"])
        return connection(info, found, lambda s: suite_obj(c, rec, s), args)

    return {
        "__typename": "Commit", "oid": sha, "abbreviatedOid": sha[:7],
        "id": node_id("Commit", sha), "url": f"{c.app.urls.server}/{full}/commit/{sha}",
        "message": lambda info: info_of().message,
        "messageHeadline": lambda info: info_of().message.split("\n", 1)[0],
        "committedDate": lambda info: info_of().committer_date,
        "authoredDate": lambda info: info_of().author_date,
        "tree": lambda info: {"__typename": "Tree", "oid": info_of().tree,
                              "abbreviatedOid": info_of().tree[:7]},
        "checkSuites": suites,
    }


def _app_id(c: Ctx, slug: str) -> int | None:
    app_rec = c.app.state.data["apps"].get(slug.lower())
    return int(app_rec["id"]) if app_rec else None


def _runs_of(rec: Record, suite: Record) -> list[Record]:
    return [r for r in rec["check_runs"] if r.get("suite_id") == suite["id"]]


def suite_obj(c: Ctx, rec: Record, suite: Record) -> Obj:
    all_runs = _runs_of(rec, suite)
    status, conclusion = shapes.suite_state(suite, all_runs)
    app_rec = c.app.state.data["apps"].get(suite["app"].lower())

    def runs(info: GraphQLResolveInfo, **args: Any) -> Obj:
        flt = args.get("filterBy") or {}
        found = list(all_runs)
        if (flt.get("checkType") or "LATEST") == "LATEST":
            newest: dict[str, Record] = {}
            for run in sorted(found, key=lambda r: r["id"]):
                newest[run["name"]] = run
            found = list(newest.values())
        if flt.get("appId") is not None and flt["appId"] != _app_id(c, suite["app"]):
            found = []
        if flt.get("checkName") is not None:
            found = [r for r in found if r["name"] == flt["checkName"]]
        wanted = [*(flt.get("statuses") or []), *([flt["status"]] if flt.get("status") else [])]
        if wanted:
            found = [r for r in found if r["status"].upper() in wanted]
        if flt.get("conclusions"):
            found = [r for r in found if upper(r.get("conclusion")) in flt["conclusions"]]
        found.sort(key=lambda r: r["id"])
        return connection(info, found, lambda r: run_obj(c, rec, r), args)

    return {
        "__typename": "CheckSuite", "id": node_id("CheckSuite", suite["id"]),
        "databaseId": suite["id"], "status": status.upper(),
        "conclusion": upper(conclusion) if status == "completed" else None,
        "createdAt": suite["created_at"], "updatedAt": suite["updated_at"],
        "app": {"__typename": "App", "databaseId": app_rec["id"], "slug": app_rec["slug"],
                "name": app_rec["slug"], "id": node_id("App", app_rec["id"])}
        if app_rec else None,
        "checkRuns": runs,
    }


def run_obj(c: Ctx, rec: Record, run: Record) -> Obj:
    full = rec["full_name"]
    out = run.get("output") or {}
    url = f"{c.app.urls.server}/{full}/runs/{run['id']}"
    return {
        "__typename": "CheckRun", "id": node_id("CheckRun", run["id"]),
        "databaseId": run["id"], "name": run["name"], "status": run["status"].upper(),
        "conclusion": upper(run.get("conclusion")) if run["status"] == "completed" else None,
        "detailsUrl": run.get("details_url") or url, "externalId": run.get("external_id"),
        "startedAt": run.get("started_at"), "completedAt": run.get("completed_at"),
        "title": out.get("title"), "summary": out.get("summary"), "text": out.get("text"),
        "url": url, "permalink": url,
    }
