"""Commit statuses (and the combined status) and check runs."""

from __future__ import annotations

from typing import Any

from valet.sandbox import seed, shapes
from valet.sandbox.app import App
from valet.sandbox.routing import (
    ApiError,
    Request,
    Response,
    not_found,
    paginate,
    validation_failed,
)
from valet.sandbox.state import Record, now_iso

STATES = ("error", "failure", "pending", "success")


def latest_statuses(rec: Record, sha: str) -> list[Record]:
    """The newest status per context, newest first (what the combined status shows)."""
    seen: dict[str, Record] = {}
    for s in rec["statuses"].get(sha, []):
        seen[s["context"]] = s
    return sorted(seen.values(), key=lambda s: s["id"], reverse=True)


def combined_state(statuses: list[Record]) -> str:
    states = {s["state"] for s in statuses}
    if not states:
        return "pending"
    if states & {"error", "failure"}:
        return "failure"
    if "pending" in states:
        return "pending"
    return "success"


def register(app: App) -> None:
    r = app.api

    def commit_sha(rec: Record, ref: str) -> str:
        sha = app.git(rec).resolve_commit(ref)
        if sha is None:
            raise ApiError(422, f"No commit found for SHA: {ref}")
        return sha

    @r.route("POST", "/repos/{owner}/{repo}/statuses/{sha}")
    def create_status(req: Request, owner: str, repo: str, sha: str) -> Response:
        rec = app.repo_for(req, owner, repo, "write")
        login = app.require_login(req)
        body = req.json()
        if body.get("state") not in STATES:
            raise validation_failed("Status", "state", "custom",
                                    f"state is not included in the list ({', '.join(STATES)})")
        commit = app.git(rec).commit(sha.lower())
        if commit is None:
            raise ApiError(422, f"No commit found for SHA: {sha}")
        status = seed.add_status(app, rec, commit.sha, body, login)
        return Response(201, shapes.status(app.urls, app.state, rec["full_name"], commit.sha,
                                           status))

    def list_statuses(req: Request, owner: str, repo: str, ref: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        sha = commit_sha(rec, ref)
        items = sorted(rec["statuses"].get(sha, []), key=lambda s: s["id"], reverse=True)
        chunk, headers = paginate(req, items)
        return Response(200, [shapes.status(app.urls, app.state, rec["full_name"], sha, s)
                              for s in chunk], headers)

    r.add("GET", "/repos/{owner}/{repo}/commits/{ref:path}/statuses", list_statuses)
    r.add("GET", "/repos/{owner}/{repo}/statuses/{ref:path}", list_statuses)

    @r.route("GET", "/repos/{owner}/{repo}/commits/{ref:path}/status")
    def combined(req: Request, owner: str, repo: str, ref: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        sha = commit_sha(rec, ref)
        latest = latest_statuses(rec, sha)
        chunk, headers = paginate(req, latest, default_per_page=100)
        full = rec["full_name"]
        statuses = []
        for s in chunk:
            item = shapes.status(app.urls, app.state, full, sha, s)
            item.pop("creator")
            item["required"] = False
            statuses.append(item)
        repo_json = shapes.repo(app.urls, app.state, rec)
        body = {"state": combined_state(latest), "statuses": statuses, "sha": sha,
                "total_count": len(latest), "repository": repo_json,
                "commit_url": f"{app.urls.api}/repos/{full}/commits/{sha}",
                "url": f"{app.urls.api}/repos/{full}/commits/{sha}/status"}
        return Response(200, body, headers)

    # -- check runs ---------------------------------------------------------------------

    def app_of(req: Request) -> str:
        login = app.require_login(req)
        for a in app.state.data["apps"].values():
            if a["bot"].lower() == login.lower():
                return str(a["slug"])
        raise ApiError(403, "You must authenticate via a GitHub App.")

    def run_or_404(rec: Record, run_id: str) -> Record:
        for run in rec["check_runs"]:
            if str(run["id"]) == run_id:
                return run  # type: ignore[no-any-return]
        raise not_found()

    def apply(run: Record, body: dict[str, Any]) -> None:
        for key in ("name", "details_url", "external_id", "started_at", "completed_at",
                    "output"):
            if key in body:
                run[key] = body[key]
        if body.get("conclusion"):
            run["conclusion"] = body["conclusion"]
            run["status"] = "completed"
        elif body.get("status"):
            run["status"] = body["status"]
        if run["status"] == "completed" and not run.get("completed_at"):
            run["completed_at"] = now_iso()
        if run["status"] == "completed" and not run.get("conclusion"):
            raise validation_failed("CheckRun", "conclusion", "missing_field")

    @r.route("POST", "/repos/{owner}/{repo}/check-runs")
    def create_check_run(req: Request, owner: str, repo: str) -> Response:
        rec = app.repo_for(req, owner, repo, "write")
        slug = app_of(req)
        body = req.json()
        if not isinstance(body.get("name"), str) or not body["name"]:
            raise validation_failed("CheckRun", "name", "missing_field")
        head = body.get("head_sha")
        commit = app.git(rec).commit(str(head).lower()) if isinstance(head, str) else None
        if commit is None:
            raise validation_failed("CheckRun", "head_sha", "invalid", "No commit found for SHA")
        if body.get("status") == "completed" and not body.get("conclusion"):
            raise validation_failed("CheckRun", "conclusion", "missing_field")
        run = seed.add_check_run(app, rec, commit.sha, body, slug)
        return Response(201, shapes.check_run(app.urls, app.state, rec["full_name"], run))

    @r.route("PATCH", "/repos/{owner}/{repo}/check-runs/{run_id}")
    def update_check_run(req: Request, owner: str, repo: str, run_id: str) -> Response:
        rec = app.repo_for(req, owner, repo, "write")
        app_of(req)
        run = run_or_404(rec, run_id)
        apply(run, req.json())
        return Response(200, shapes.check_run(app.urls, app.state, rec["full_name"], run))

    @r.route("GET", "/repos/{owner}/{repo}/check-runs/{run_id}")
    def get_check_run(req: Request, owner: str, repo: str, run_id: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        return Response(200, shapes.check_run(app.urls, app.state, rec["full_name"],
                                              run_or_404(rec, run_id)))

    @r.route("GET", "/repos/{owner}/{repo}/commits/{ref:path}/check-suites")
    def list_check_suites(req: Request, owner: str, repo: str, ref: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        sha = commit_sha(rec, ref)
        suites = [s for s in rec.get("check_suites", []) if s["head_sha"] == sha]
        if req.arg("check_name"):
            named = {c["suite_id"] for c in rec["check_runs"] if c["name"] == req.arg("check_name")}
            suites = [s for s in suites if s["id"] in named]
        suites.sort(key=lambda s: s["id"])
        chunk, headers = paginate(req, suites)
        head = app.git(rec).commit(sha)
        assert head is not None
        body = {"total_count": len(suites), "check_suites": [
            shapes.check_suite(app.urls, app.state, rec, s,
                               [c for c in rec["check_runs"] if c.get("suite_id") == s["id"]],
                               head)
            for s in chunk]}
        return Response(200, body, headers)

    @r.route("GET", "/repos/{owner}/{repo}/commits/{ref:path}/check-runs")
    def list_check_runs(req: Request, owner: str, repo: str, ref: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        sha = commit_sha(rec, ref)
        runs = [c for c in rec["check_runs"] if c["head_sha"] == sha]
        if (req.arg("filter") or "latest") == "latest":
            newest: dict[tuple[str, str], Record] = {}
            for run in runs:
                newest[(run["app"], run["name"])] = run
            runs = list(newest.values())
        if req.arg("check_name"):
            runs = [c for c in runs if c["name"] == req.arg("check_name")]
        if req.arg("status"):
            runs = [c for c in runs if c["status"] == req.arg("status")]
        runs.sort(key=lambda c: c["id"], reverse=True)
        chunk, headers = paginate(req, runs)
        body = {"total_count": len(runs),
                "check_runs": [shapes.check_run(app.urls, app.state, rec["full_name"], c)
                               for c in chunk]}
        return Response(200, body, headers)
