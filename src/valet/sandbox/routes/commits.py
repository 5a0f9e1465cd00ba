"""Commits (list, get), compare and merges."""

from __future__ import annotations

from valet.sandbox import protection, shapes
from valet.sandbox.app import App
from valet.sandbox.gitrepo import valid_ref_name
from valet.sandbox.routes.contents import signature_of
from valet.sandbox.routing import (
    ApiError,
    Request,
    Response,
    link_header,
    page_args,
    validation_failed,
)
from valet.sandbox.state import now_iso


def register(app: App) -> None:
    r = app.api

    @r.route("GET", "/repos/{owner}/{repo}/commits")
    def list_commits(req: Request, owner: str, repo: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        git = app.git(rec)
        ref = req.arg("sha") or rec["default_branch"]
        sha = git.resolve_commit(ref)
        if sha is None:
            raise ApiError(404, f"No commit found for SHA: {ref}")
        path = req.arg("path") or None
        page, per_page = page_args(req)
        total = git.count(sha, path=path)
        commits = git.log(sha, path=path, skip=(page - 1) * per_page, limit=per_page)
        body = [shapes.commit(app.urls, app.state, rec["full_name"], c) for c in commits]
        return Response(200, body, link_header(req, total, page, per_page))

    @r.route("GET", "/repos/{owner}/{repo}/commits/{ref:path}")
    def get_commit(req: Request, owner: str, repo: str, ref: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        git = app.git(rec)
        sha = git.resolve_commit(ref)
        info = git.commit(sha) if sha else None
        if info is None:
            raise ApiError(422, f"No commit found for SHA: {ref}")
        files = git.changes(None, info.sha, patches=True)
        return Response(200, shapes.commit(app.urls, app.state, rec["full_name"], info, files))

    @r.route("GET", "/repos/{owner}/{repo}/compare/{basehead:path}")
    def compare(req: Request, owner: str, repo: str, basehead: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        git = app.git(rec)
        base_ref, sep, head_ref = basehead.partition("...")
        if not sep:
            base_ref, sep, head_ref = basehead.partition("..")
        if not sep:
            raise ApiError(404, "Not Found")
        base, head = git.resolve_commit(base_ref), git.resolve_commit(head_ref)
        if base is None or head is None:
            raise ApiError(404, "Not Found")
        mb = git.merge_base(base, head)
        if mb is None:
            raise ApiError(404, f"No common ancestor between {base_ref} and {head_ref}.")
        ahead = git.count(head, exclude=base)
        behind = git.count(base, exclude=head)
        status = ("identical" if ahead == 0 and behind == 0 else
                  "ahead" if behind == 0 else "behind" if ahead == 0 else "diverged")
        full = rec["full_name"]
        commits = list(reversed(git.log(head, exclude=base, limit=250)))
        base_info, mb_info = git.commit(base), git.commit(mb)
        assert base_info and mb_info
        api = f"{app.urls.api}/repos/{full}"
        html = f"{app.urls.server}/{full}/compare/{base_ref}...{head_ref}"
        body = {
            "url": f"{api}/compare/{base_ref}...{head_ref}", "html_url": html,
            "permalink_url": f"{app.urls.server}/{full}/compare/{base}...{head}",
            "diff_url": f"{html}.diff", "patch_url": f"{html}.patch",
            "base_commit": shapes.commit(app.urls, app.state, full, base_info),
            "merge_base_commit": shapes.commit(app.urls, app.state, full, mb_info),
            "status": status, "ahead_by": ahead, "behind_by": behind, "total_commits": ahead,
            "commits": [shapes.commit(app.urls, app.state, full, c) for c in commits],
            "files": [shapes.diff_entry(app.urls, full, head, f) for f in git.changes(mb, head, patches=True)],
        }
        return Response(200, body)

    @r.route("POST", "/repos/{owner}/{repo}/merges")
    def merge(req: Request, owner: str, repo: str) -> Response:
        rec = app.repo_for(req, owner, repo, "write")
        login = app.require_login(req)
        body = req.json()
        base_name, head_name = body.get("base"), body.get("head")
        if not isinstance(base_name, str) or not base_name:
            raise validation_failed("Merge", "base", "missing_field")
        if not isinstance(head_name, str) or not head_name:
            raise validation_failed("Merge", "head", "missing_field")
        git = app.git(rec)
        base_ref = f"refs/heads/{base_name}"
        base = git.ref_sha(base_ref) if valid_ref_name(base_name) else None
        if base is None:
            raise ApiError(404, "Base does not exist")
        head = git.resolve_commit(head_name)
        if head is None:
            raise ApiError(404, "Head does not exist")
        if git.is_ancestor(head, base):
            return Response(204)
        message = body.get("commit_message") or f"Merge {head_name} into {base_name}"
        who = signature_of(app, login)
        new = git.merge(base, head, str(message), who)
        if new is None:
            raise ApiError(409, "Merge conflict")
        # The rules of the base branch decide, as for a push of the merge commit.
        verdict = protection.check(app, rec, git, base_ref, base, new, login, via="api")
        if verdict.protection or verdict.rulesets:
            raise ApiError(409, protection.api_message(verdict))
        if not git.update_ref(base_ref, new, base):
            raise ApiError(409, "Base branch was modified. Review and try the merge again.")
        rec["pushed_at"] = now_iso()
        info = git.commit(new)
        assert info is not None
        files = git.changes(base, new)
        return Response(201, shapes.commit(app.urls, app.state, rec["full_name"], info, files))
