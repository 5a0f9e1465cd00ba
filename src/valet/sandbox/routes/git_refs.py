"""Git references and git commit objects (the Git database API)."""

from __future__ import annotations

from typing import Any

from valet.sandbox import protection, shapes
from valet.sandbox.app import App
from valet.sandbox.gitrepo import SHA_RE, GitRepo, valid_ref_name
from valet.sandbox.routing import ApiError, Request, Response, page_response, validation_failed
from valet.sandbox.state import Record, now_iso


def _full(ref: str) -> str:
    return ref if ref.startswith("refs/") else f"refs/{ref}"


def _ref_json(app: App, rec: Record, git: GitRepo, ref: str) -> dict[str, Any] | None:
    if not valid_ref_name(ref):
        return None
    for name, sha, kind in git.refs(ref):
        if name == ref:
            return shapes.git_ref(app.urls, rec["full_name"], name, sha, kind)
    return None


def _enforce(app: App, req: Request, rec: Record, git: GitRepo, ref: str, old: str | None,
             new: str | None) -> None:
    """The branch's rules and the Workflows permission, as GitHub applies them to ref writes."""
    verdict = protection.check(app, rec, git, ref, old, new, req.login, via="api")
    if not verdict.ok:
        raise ApiError(422, protection.api_message(verdict))


def register(app: App) -> None:
    r = app.api

    def get_one(req: Request, owner: str, repo: str, ref: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        git = app.git(rec)
        found = _ref_json(app, rec, git, _full(ref))
        if found is None:
            raise ApiError(404, "Not Found")
        return Response(200, found)

    def matching(req: Request, owner: str, repo: str, ref: str = "") -> Response:
        rec = app.repo_for(req, owner, repo)
        prefix = _full(ref) if ref else "refs/"
        rows = [(n, s, k) for n, s, k in app.git(rec).refs("refs/") if n.startswith(prefix)]
        return page_response(req, [shapes.git_ref(app.urls, rec["full_name"], n, s, k)
                                   for n, s, k in rows])

    r.add("GET", "/repos/{owner}/{repo}/git/ref/{ref:path}", get_one)
    r.add("GET", "/repos/{owner}/{repo}/git/matching-refs/{ref:path}", matching)
    r.add("GET", "/repos/{owner}/{repo}/git/matching-refs", matching)

    @r.route("GET", "/repos/{owner}/{repo}/git/refs")
    def all_refs(req: Request, owner: str, repo: str) -> Response:
        return matching(req, owner, repo)

    @r.route("GET", "/repos/{owner}/{repo}/git/refs/{ref:path}")
    def refs_legacy(req: Request, owner: str, repo: str, ref: str) -> Response:
        # The old endpoint: an exact match is one object, a prefix a list.
        rec = app.repo_for(req, owner, repo)
        found = _ref_json(app, rec, app.git(rec), _full(ref))
        if found is not None:
            return Response(200, found)
        resp = matching(req, owner, repo, ref)
        if not resp.body:
            raise ApiError(404, "Not Found")
        return resp

    @r.route("POST", "/repos/{owner}/{repo}/git/refs")
    def create_ref(req: Request, owner: str, repo: str) -> Response:
        rec = app.repo_for(req, owner, repo, "write")
        body = req.json()
        ref, sha = body.get("ref"), body.get("sha")
        if not isinstance(ref, str) or not ref.startswith("refs/") or ref.count("/") < 2 \
                or not valid_ref_name(ref):
            raise ApiError(422, "ref must start with 'refs' and have at least two slashes.")
        if not isinstance(sha, str) or not SHA_RE.match(sha):
            raise validation_failed("Ref", "sha", "invalid")
        git = app.git(rec)
        kind = git.object_type(sha)
        if kind is None:
            raise ApiError(422, "Object does not exist")
        if git.ref_sha(ref) is not None:
            raise ApiError(422, "Reference already exists")
        _enforce(app, req, rec, git, ref, None, sha)
        if not git.update_ref(ref, sha, None):
            raise ApiError(422, "Reference already exists")
        rec["pushed_at"] = now_iso()
        return Response(201, shapes.git_ref(app.urls, rec["full_name"], ref, sha, kind),
                        {"Location": f"{app.urls.api}/repos/{rec['full_name']}/git/{ref}"})

    @r.route("PATCH", "/repos/{owner}/{repo}/git/refs/{ref:path}")
    def update_ref(req: Request, owner: str, repo: str, ref: str) -> Response:
        rec = app.repo_for(req, owner, repo, "write")
        body = req.json()
        sha, force = body.get("sha"), bool(body.get("force", False))
        full = _full(ref)
        if not isinstance(sha, str) or not SHA_RE.match(sha):
            raise validation_failed("Ref", "sha", "invalid")
        git = app.git(rec)
        old = git.ref_sha(full) if valid_ref_name(full) else None
        if old is None:
            raise ApiError(422, "Reference does not exist")
        kind = git.object_type(sha)
        if kind is None:
            raise ApiError(422, "Object does not exist")
        if not force and kind == "commit" and not git.is_ancestor(old, sha):
            raise ApiError(422, "Update is not a fast forward")
        _enforce(app, req, rec, git, full, old, sha)
        if not git.update_ref(full, sha, old):
            raise ApiError(422, "Reference cannot be updated")
        rec["pushed_at"] = now_iso()
        return Response(200, shapes.git_ref(app.urls, rec["full_name"], full, sha, kind))

    @r.route("DELETE", "/repos/{owner}/{repo}/git/refs/{ref:path}")
    def delete_ref(req: Request, owner: str, repo: str, ref: str) -> Response:
        rec = app.repo_for(req, owner, repo, "write")
        full = _full(ref)
        git = app.git(rec)
        old = git.ref_sha(full) if valid_ref_name(full) else None
        if old is None:
            raise ApiError(422, "Reference does not exist")
        _enforce(app, req, rec, git, full, old, None)
        if not git.delete_ref(full):
            raise ApiError(422, "Reference does not exist")
        return Response(204)

    @r.route("GET", "/repos/{owner}/{repo}/git/commits/{sha}")
    def git_commit(req: Request, owner: str, repo: str, sha: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        info = app.git(rec).commit(sha.lower())
        if info is None:
            raise ApiError(404, "Not Found")
        return Response(200, shapes.git_commit(app.urls, rec["full_name"], info))
