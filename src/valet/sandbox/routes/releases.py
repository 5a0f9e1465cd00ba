"""Releases and release assets (uploads on the separate uploads endpoint)."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from typing import Any

from valet.sandbox import protection, shapes
from valet.sandbox.app import App, streaming
from valet.sandbox.gitrepo import valid_ref_name
from valet.sandbox.routing import (
    ApiError,
    Request,
    Response,
    not_found,
    page_response,
    redirect,
    validation_failed,
)
from valet.sandbox.state import Record, now_iso, perm_at_least


def _asset_name(raw: str) -> str:
    # GitHub keeps the base name and turns unusual characters into dots.
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    return re.sub(r"[^\w.+@-]", ".", name)


def register(app: App) -> None:
    r = app.api

    def can_push(req: Request, rec: Record) -> bool:
        return perm_at_least(app.permission(rec, req.login), "write")

    def visible(req: Request, rec: Record, rel: Record) -> bool:
        return not rel["draft"] or can_push(req, rec)

    def release_or_404(req: Request, rec: Record, rid: str) -> Record:
        rel = rec["releases"].get(rid)
        if rel is None or not visible(req, rec, rel):
            raise not_found()
        return rel  # type: ignore[no-any-return]

    def as_json(rec: Record, rel: Record) -> dict[str, Any]:
        return shapes.release(app.urls, app.state, rec, rel)

    def ensure_tag(rec: Record, rel: Record) -> None:
        git = app.git(rec)
        tag = rel["tag_name"]
        if git.ref_sha(f"refs/tags/{tag}") is not None:
            return
        target = git.resolve_commit(rel["target_commitish"] or rec["default_branch"])
        if target is None:
            raise validation_failed("Release", "target_commitish", "invalid")
        git.update_ref(f"refs/tags/{tag}", target, None)

    def check_fields(rec: Record, body: dict[str, Any], rid: str | None,
                     current: Record | None = None) -> None:
        tag = body.get("tag_name")
        if rid is None and (not isinstance(tag, str) or not tag):
            raise validation_failed("Release", "tag_name", "missing_field")
        if tag is not None and (not isinstance(tag, str) or not valid_ref_name(tag)):
            raise validation_failed("Release", "tag_name", "invalid")
        # As on GitHub, a draft is bound to no tag: several drafts may name the same
        # one. Only a published release owns its tag.
        draft = bool(body.get("draft", current["draft"] if current else False))
        final_tag = tag if tag is not None else (current["tag_name"] if current else None)
        if not draft and final_tag is not None:
            for other in rec["releases"].values():
                if other["tag_name"] == final_tag and str(other["id"]) != rid \
                        and not other["draft"]:
                    raise validation_failed("Release", "tag_name", "already_exists")
        if body.get("make_latest") not in (None, "true", "false", "legacy"):
            raise validation_failed("Release", "make_latest", "invalid")

    def workflows_guard(req: Request, rec: Record, target_commitish: str | None) -> None:
        """A release whose target commit adds or changes workflow files (relative to the
        default branch) needs the Workflows permission: GitHub answers 404 without it."""
        if not protection.app_lacks_workflows(app, req.login):
            return
        git = app.git(rec)
        target = git.resolve_commit(target_commitish or rec["default_branch"])
        if target and protection.workflows_vs_default(git, rec["default_branch"], target):
            raise not_found()

    def latest(rec: Record) -> Record | None:
        published = [x for x in rec["releases"].values()
                     if not x["draft"] and not x["prerelease"]
                     and x.get("make_latest") != "false"]
        if not published:
            return None
        explicit = [x for x in published if x.get("latest_at")]
        if explicit:
            return max(explicit, key=lambda x: (x["latest_at"], x["id"]))
        return max(published, key=lambda x: (x.get("published_at") or "", x["id"]))

    def publish(rec: Record, rel: Record) -> None:
        ensure_tag(rec, rel)
        rel["draft"] = False
        rel["published_at"] = now_iso()
        if rel.get("make_latest") == "true":
            rel["latest_at"] = rel["published_at"] + f"#{app.state.new_id()}"

    @r.route("GET", "/repos/{owner}/{repo}/releases")
    def list_releases(req: Request, owner: str, repo: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        rels = [x for x in rec["releases"].values() if visible(req, rec, x)]
        rels.sort(key=lambda x: (x["created_at"], x["id"]), reverse=True)
        return page_response(req, [as_json(rec, x) for x in rels])

    @r.route("POST", "/repos/{owner}/{repo}/releases")
    def create_release(req: Request, owner: str, repo: str) -> Response:
        rec = app.repo_for(req, owner, repo, "write")
        login = app.require_login(req)
        body = req.json()
        check_fields(rec, body, None)
        workflows_guard(req, rec, body.get("target_commitish"))
        ts = now_iso()
        rel: Record = {
            "id": app.state.new_id(), "tag_name": body["tag_name"],
            "target_commitish": body.get("target_commitish") or rec["default_branch"],
            "name": body.get("name"), "body": body.get("body"), "draft": True,
            "prerelease": bool(body.get("prerelease", False)),
            "make_latest": body.get("make_latest") or "legacy", "created_at": ts,
            "updated_at": ts, "published_at": None, "author": login, "assets": [],
        }
        if not body.get("draft", False):
            publish(rec, rel)
        rec["releases"][str(rel["id"])] = rel
        out = as_json(rec, rel)
        return Response(201, out, {"Location": out["url"]})

    @r.route("GET", "/repos/{owner}/{repo}/releases/latest")
    def get_latest(req: Request, owner: str, repo: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        rel = latest(rec)
        if rel is None:
            raise not_found()
        return Response(200, as_json(rec, rel))

    @r.route("GET", "/repos/{owner}/{repo}/releases/tags/{tag:path}")
    def get_by_tag(req: Request, owner: str, repo: str, tag: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        for rel in rec["releases"].values():
            if rel["tag_name"] == tag and not rel["draft"]:  # drafts are not found by tag
                return Response(200, as_json(rec, rel))
        raise not_found()

    @r.route("GET", "/repos/{owner}/{repo}/releases/{rid}")
    def get_release(req: Request, owner: str, repo: str, rid: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        return Response(200, as_json(rec, release_or_404(req, rec, rid)))

    @r.route("PATCH", "/repos/{owner}/{repo}/releases/{rid}")
    def update_release(req: Request, owner: str, repo: str, rid: str) -> Response:
        rec = app.repo_for(req, owner, repo, "write")
        rel = release_or_404(req, rec, rid)
        body = req.json()
        check_fields(rec, body, rid, rel)
        workflows_guard(req, rec, body.get("target_commitish") or rel["target_commitish"])
        for key in ("tag_name", "target_commitish", "name", "body"):
            if body.get(key) is not None:
                rel[key] = body[key]
        if "prerelease" in body:
            rel["prerelease"] = bool(body["prerelease"])
        if body.get("make_latest"):
            rel["make_latest"] = body["make_latest"]
        if rel["draft"] and body.get("draft") is False:
            publish(rec, rel)
        elif not rel["draft"] and body.get("draft") is True:
            rel["draft"] = True
            rel["published_at"] = None
        elif not rel["draft"] and body.get("make_latest") == "true":
            rel["latest_at"] = now_iso() + f"#{app.state.new_id()}"
        rel["updated_at"] = now_iso()
        return Response(200, as_json(rec, rel))

    @r.route("DELETE", "/repos/{owner}/{repo}/releases/{rid}")
    def delete_release(req: Request, owner: str, repo: str, rid: str) -> Response:
        rec = app.repo_for(req, owner, repo, "write")
        rel = release_or_404(req, rec, rid)
        for aid in rel["assets"]:
            drop_asset(rec, str(aid))
        del rec["releases"][rid]
        return Response(204)

    # -- assets -------------------------------------------------------------------------

    def asset_path(aid: str) -> str:
        return str(app.files_root / "assets" / aid)

    def drop_asset(rec: Record, aid: str) -> None:
        rec["assets"].pop(aid, None)
        try:
            os.unlink(asset_path(aid))
        except FileNotFoundError:
            pass

    def asset_or_404(req: Request, rec: Record, aid: str) -> tuple[Record, Record]:
        a = rec["assets"].get(aid)
        if a is None:
            raise not_found()
        rel = release_or_404(req, rec, str(a["release"]))
        return a, rel

    def asset_json(rec: Record, rel: Record, a: Record) -> dict[str, Any]:
        return shapes.asset(app.urls, app.state, rec["full_name"], rel, a)

    @r.route("GET", "/repos/{owner}/{repo}/releases/{rid}/assets")
    def list_assets(req: Request, owner: str, repo: str, rid: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        rel = release_or_404(req, rec, rid)
        items = [rec["assets"][str(a)] for a in rel["assets"] if str(a) in rec["assets"]]
        return page_response(req, [asset_json(rec, rel, a) for a in items])

    def storage_url(aid: str, name: str) -> str:
        return f"{app.urls.storage}/assets/{aid}/{name}?sig={app.sign('asset:' + aid)}"

    @r.route("GET", "/repos/{owner}/{repo}/releases/assets/{aid}")
    def get_asset(req: Request, owner: str, repo: str, aid: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        a, rel = asset_or_404(req, rec, aid)
        if "application/octet-stream" in req.header("accept"):
            a["download_count"] = a.get("download_count", 0) + 1
            app.state.touch()
            return redirect(storage_url(aid, a["name"]))
        return Response(200, asset_json(rec, rel, a))

    @r.route("PATCH", "/repos/{owner}/{repo}/releases/assets/{aid}")
    def update_asset(req: Request, owner: str, repo: str, aid: str) -> Response:
        rec = app.repo_for(req, owner, repo, "write")
        a, rel = asset_or_404(req, rec, aid)
        body = req.json()
        if body.get("name"):
            name = _asset_name(str(body["name"]))
            for other in rel["assets"]:
                o = rec["assets"].get(str(other))
                if o and o["name"] == name and str(other) != aid:
                    raise validation_failed("ReleaseAsset", "name", "already_exists")
            a["name"] = name
        if "label" in body:
            a["label"] = body["label"]
        a["updated_at"] = now_iso()
        return Response(200, asset_json(rec, rel, a))

    @r.route("DELETE", "/repos/{owner}/{repo}/releases/assets/{aid}")
    def delete_asset(req: Request, owner: str, repo: str, aid: str) -> Response:
        rec = app.repo_for(req, owner, repo, "write")
        a, rel = asset_or_404(req, rec, aid)
        rel["assets"] = [x for x in rel["assets"] if str(x) != aid]
        drop_asset(rec, aid)
        return Response(204)

    @streaming
    def upload_asset(req: Request, owner: str, repo: str, rid: str) -> Response:
        raw_name = req.arg("name")
        with app.state.lock:
            rec = app.repo_for(req, owner, repo, "write")
            login = app.require_login(req)
            rel = release_or_404(req, rec, rid)
            if not raw_name:
                raise validation_failed("ReleaseAsset", "name", "missing_field")
            name = _asset_name(raw_name)

            def taken() -> bool:
                return any(rec["assets"].get(str(x), {}).get("name") == name
                           for x in rel["assets"])

            if taken():
                raise validation_failed("ReleaseAsset", "name", "already_exists")
            aid = str(app.state.new_id())
        target = app.files_root / "assets"
        target.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(dir=target, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as fh:
                for chunk in req.stream_body():
                    digest.update(chunk)
                    size += len(chunk)
                    fh.write(chunk)
            with app.state.lock:
                if rid not in rec["releases"] or taken():
                    raise validation_failed("ReleaseAsset", "name", "already_exists")
                os.replace(tmp, asset_path(aid))
                ts = now_iso()
                a = {"id": int(aid), "release": rel["id"], "name": name,
                     "label": req.arg("label") or "", "state": "uploaded",
                     "content_type": req.header("content-type") or "application/octet-stream",
                     "size": size, "digest": f"sha256:{digest.hexdigest()}",
                     "download_count": 0, "created_at": ts, "updated_at": ts, "uploader": login}
                rec["assets"][aid] = a
                rel["assets"].append(int(aid))
                app.state.touch()
                app.state.save()
                return Response(201, asset_json(rec, rel, a))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    app.uploads.add("POST", "/repos/{owner}/{repo}/releases/{rid}/assets", upload_asset)

    # -- downloads: storage (signed, like GitHub's CDN redirect) and browser URLs ------

    @app.storage.route("GET", "/assets/{aid}/{name}")
    def storage(req: Request, aid: str, name: str) -> Response:
        if not app.check_signature("asset:" + aid, req.arg("sig") or ""):
            raise ApiError(403, "Request has expired or the signature is invalid")
        path = asset_path(aid)
        try:
            fh = open(path, "rb")  # noqa: SIM115 (closed after streaming)
        except FileNotFoundError:
            raise not_found() from None
        size = os.fstat(fh.fileno()).st_size
        return Response(200, None, {"Content-Type": "application/octet-stream",
                                    "Content-Disposition": f'attachment; filename="{name}"'},
                        stream=fh, length=size)

    @app.web.route("GET", "/{owner}/{repo}/releases/download/{tag}/{name}")
    def browser_download(req: Request, owner: str, repo: str, tag: str, name: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        for rel in rec["releases"].values():
            rel_tag = f"untagged-{rel['id']}" if rel["draft"] else rel["tag_name"]
            if rel_tag != tag or not visible(req, rec, rel):
                continue
            for aid in rel["assets"]:
                a = rec["assets"].get(str(aid))
                if a and a["name"] == name:
                    a["download_count"] = a.get("download_count", 0) + 1
                    return redirect(storage_url(str(aid), name))
        raise not_found()
