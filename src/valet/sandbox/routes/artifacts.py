"""Workflow-run artifacts: list (the repository's, or one run's; by name), get, and the zip
download (302 to storage, 410 once expired)."""

from __future__ import annotations

import os

from valet.sandbox import shapes
from valet.sandbox.app import App
from valet.sandbox.routing import ApiError, Request, Response, not_found, paginate, redirect
from valet.sandbox.state import Record


def register(app: App) -> None:
    r = app.api

    def artifact_or_404(rec: Record, aid: str) -> Record:
        art = rec["artifacts"].get(aid)
        if art is None:
            raise not_found()
        return art  # type: ignore[no-any-return]

    @r.route("GET", "/repos/{owner}/{repo}/actions/artifacts")
    def list_artifacts(req: Request, owner: str, repo: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        name = req.arg("name")
        items = [a for a in rec["artifacts"].values() if not name or a["name"] == name]
        items.sort(key=lambda a: a["id"], reverse=True)
        chunk, headers = paginate(req, items)
        return Response(200, {"total_count": len(items),
                              "artifacts": [shapes.artifact(app.urls, rec, a) for a in chunk]},
                        headers)

    @r.route("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/artifacts")
    def list_run_artifacts(req: Request, owner: str, repo: str, run_id: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        if run_id not in rec.get("runs", {}):
            raise not_found()
        name = req.arg("name")
        direction = req.arg("direction") or "desc"
        if direction not in ("asc", "desc"):
            raise ApiError(422, "direction must be asc or desc")
        items = [a for a in rec["artifacts"].values()
                 if str(a["run_id"]) == run_id and (not name or a["name"] == name)]
        items.sort(key=lambda a: a["id"], reverse=direction == "desc")
        chunk, headers = paginate(req, items)
        return Response(200, {"total_count": len(items),
                              "artifacts": [shapes.artifact(app.urls, rec, a) for a in chunk]},
                        headers)

    @r.route("GET", "/repos/{owner}/{repo}/actions/artifacts/{aid}")
    def get_artifact(req: Request, owner: str, repo: str, aid: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        return Response(200, shapes.artifact(app.urls, rec, artifact_or_404(rec, aid)))

    @r.route("GET", "/repos/{owner}/{repo}/actions/artifacts/{aid}/{archive_format}")
    def download_artifact(req: Request, owner: str, repo: str, aid: str,
                          archive_format: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        app.require_login(req)  # GitHub wants a token even on public repos
        art = artifact_or_404(rec, aid)
        if archive_format != "zip":
            raise not_found()
        if art.get("expired"):
            raise ApiError(410, "Artifact has expired")
        sig = app.sign(f"artifact:{aid}")
        return redirect(f"{app.urls.storage}/artifacts/{aid}.zip?sig={sig}")

    @app.storage.route("GET", "/artifacts/{name}")
    def storage(req: Request, name: str) -> Response:
        aid = name.removesuffix(".zip")
        if not app.check_signature(f"artifact:{aid}", req.arg("sig") or ""):
            raise ApiError(403, "Request has expired or the signature is invalid")
        path = app.files_root / "artifacts" / f"{aid}.zip"
        try:
            fh = open(path, "rb")  # noqa: SIM115 (closed after streaming)
        except FileNotFoundError:
            raise not_found() from None
        return Response(200, None, {"Content-Type": "application/zip"}, stream=fh,
                        length=os.fstat(fh.fileno()).st_size)
