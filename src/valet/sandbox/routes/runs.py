"""Workflow runs: ``GET /repos/{owner}/{repo}/actions/runs[/{run_id}]``.

Runs are recorded by the admin API (``AdminClient.create_run``), which the act
harness calls for every workflow it runs against a sandbox repository, with what
GitHub would record: the workflow file, the event, the actor and the
triggering actor (who re-ran it, for a re-run), the commit it ran on.
"""

from __future__ import annotations

from valet.sandbox import shapes
from valet.sandbox.app import App
from valet.sandbox.routing import Request, Response, not_found, paginate


def register(app: App) -> None:
    r = app.api

    @r.route("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}")
    def get_run(req: Request, owner: str, repo: str, run_id: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        run = rec.get("runs", {}).get(run_id)
        if run is None:
            raise not_found()
        return Response(200, shapes.workflow_run(app.urls, app.state, rec, run))

    @r.route("GET", "/repos/{owner}/{repo}/actions/runs")
    def list_runs(req: Request, owner: str, repo: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        wanted = {k: req.arg(k) for k in ("event", "status", "head_sha", "branch")}
        items = []
        for run in rec.get("runs", {}).values():
            if wanted["event"] and run["event"] != wanted["event"]:
                continue
            if wanted["status"] and wanted["status"] not in (run["status"], run.get("conclusion")):
                continue
            if wanted["head_sha"] and run["head_sha"] != wanted["head_sha"]:
                continue
            if wanted["branch"] and run.get("head_branch") != wanted["branch"]:
                continue
            items.append(run)
        items.sort(key=lambda x: x["id"], reverse=True)
        chunk, headers = paginate(req, items)
        return Response(200, {"total_count": len(items),
                              "workflow_runs": [shapes.workflow_run(app.urls, app.state, rec, x)
                                                for x in chunk]}, headers)
