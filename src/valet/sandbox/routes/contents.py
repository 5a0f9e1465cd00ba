"""Repository contents: read a file or directory, create/update/delete a file as a commit."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from valet.sandbox import shapes
from valet.sandbox.app import App
from valet.sandbox.gitrepo import Signature, valid_ref_name
from valet.sandbox.routing import ApiError, Request, Response, validation_failed
from valet.sandbox.state import Record, noreply_email, now_iso


def signature_of(app: App, login: str, override: Any = None) -> Signature:
    if isinstance(override, dict) and override.get("name") and override.get("email"):
        return Signature(str(override["name"]), str(override["email"]), override.get("date"))
    user = app.state.user(login)
    assert user is not None
    return Signature(user["login"], user.get("email") or noreply_email(user))


def _b64(data: bytes) -> str:
    raw = base64.b64encode(data).decode()
    return "\n".join(raw[i:i + 60] for i in range(0, len(raw), 60)) + ("\n" if raw else "")


def _clean_path(path: str) -> str:
    path = path.strip("/")
    if any(p in ("", ".", "..") for p in path.split("/")) and path:
        raise ApiError(404, "Not Found")
    return path


def register(app: App) -> None:
    r = app.api

    def get_contents(req: Request, owner: str, repo: str, path: str = "") -> Response:
        rec = app.repo_for(req, owner, repo)
        git = app.git(rec)
        path = _clean_path(path)
        ref = req.arg("ref") or rec["default_branch"]
        sha = git.resolve_commit(ref)
        if sha is None:
            raise ApiError(404, f"No commit found for the ref {ref}")
        entries = git.ls_tree(sha, path)
        if entries is None:
            raise ApiError(404, "Not Found")
        full = rec["full_name"]
        if git.object_type_of(f"{sha}:{path}" if path else f"{sha}^{{tree}}") == "tree":
            items = [shapes.content_entry(
                app.urls, full, ref, f"{path}/{name}" if path else name, name,
                "dir" if kind == "tree" else ("submodule" if kind == "commit" else "file"),
                obj, size) for mode, kind, obj, size, name in entries]
            return Response(200, items)
        mode, kind, obj, size, name = entries[0]
        data = git.blob(obj)
        accept = req.header("accept")
        if "raw" in accept:
            return Response(200, data, {"Content-Type": "application/vnd.github.raw"})
        out = shapes.content_entry(app.urls, full, ref, path, name, "file", obj, len(data))
        out.update({"content": _b64(data), "encoding": "base64"})
        return Response(200, out)

    r.add("GET", "/repos/{owner}/{repo}/contents", get_contents)
    r.add("GET", "/repos/{owner}/{repo}/contents/{path:path}", get_contents)

    def write(req: Request, rec: Record, path: str, delete: bool) -> Response:
        login = app.require_login(req)
        body = req.json()
        message = body.get("message")
        if not isinstance(message, str) or not message:
            raise validation_failed("Commit", "message", "missing_field")
        content: bytes | None = None
        if not delete:
            raw = body.get("content")
            if not isinstance(raw, str):
                raise validation_failed("Commit", "content", "missing_field")
            try:
                content = base64.b64decode(raw, validate=False)
            except (binascii.Error, ValueError):
                raise ApiError(422, "content is not valid Base64") from None
        branch = body.get("branch") or rec["default_branch"]
        if not isinstance(branch, str) or not valid_ref_name(branch):
            raise validation_failed("Commit", "branch")
        git = app.git(rec)
        parent = git.ref_sha(f"refs/heads/{branch}")
        if parent is None:
            raise ApiError(404, f"Branch {branch} not found")
        existing = git.ls_tree(parent, path)
        current = existing[0][2] if existing and existing[0][1] == "blob" else None
        given = body.get("sha")
        if current is not None and not given:
            raise ApiError(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
        if current is not None and given != current:
            raise ApiError(409, f"{path} does not match {given}")
        if current is None and delete:
            raise ApiError(404, "Not Found")
        if current is None and given:
            raise ApiError(409, f"{path} does not match {given}")
        committer = signature_of(app, login, body.get("committer"))
        author = signature_of(app, login, body.get("author")) if body.get("author") else committer
        new = git.write_file(parent, path, content, message, author, committer)
        if not git.update_ref(f"refs/heads/{branch}", new, parent):
            raise ApiError(409, f"{branch} was updated while writing; retry")
        rec["pushed_at"] = now_iso()
        info = git.commit(new)
        assert info is not None
        full = rec["full_name"]
        commit = shapes.git_commit(app.urls, full, info)
        if delete:
            return Response(200, {"content": None, "commit": commit})
        entry = git.ls_tree(new, path)
        assert entry
        name, blob, size = entry[0][4], entry[0][2], entry[0][3]
        out = {"content": shapes.content_entry(app.urls, full, branch, path, name, "file", blob,
                                               size),
               "commit": commit}
        return Response(201 if current is None else 200, out)

    @r.route("PUT", "/repos/{owner}/{repo}/contents/{path:path}")
    def put_contents(req: Request, owner: str, repo: str, path: str) -> Response:
        rec = app.repo_for(req, owner, repo, "write")
        return write(req, rec, _clean_path(path), delete=False)

    @r.route("DELETE", "/repos/{owner}/{repo}/contents/{path:path}")
    def delete_contents(req: Request, owner: str, repo: str, path: str) -> Response:
        rec = app.repo_for(req, owner, repo, "write")
        return write(req, rec, _clean_path(path), delete=True)
