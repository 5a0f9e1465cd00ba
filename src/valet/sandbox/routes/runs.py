"""Workflow runs: ``GET /repos/{owner}/{repo}/actions/runs[/{run_id}]``, and
``POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches``.

Runs are recorded by the admin API (``AdminClient.create_run``), which the act
harness calls for every workflow it runs against a sandbox repository, with what
GitHub would record: the workflow file, the event, the actor and the
triggering actor (who re-ran it, for a re-run), the commit it ran on.

A dispatch is checked as GitHub checks it (write access; the workflow file, by
file name or id, exists at the ref and has a ``workflow_dispatch`` trigger; the
inputs are declared ones, the required ones given, at most 25) and records a
queued ``workflow_dispatch`` run with its inputs: 204, or 200 with the run's id
and URLs when ``return_run_details`` is true. Nothing runs it: a test (or the
act harness) runs the workflow for it.
"""

from __future__ import annotations

from typing import Any

from valet.sandbox import seed, shapes
from valet.sandbox.app import App
from valet.sandbox.routing import ApiError, Request, Response, not_found, paginate
from valet.sandbox.state import perm_at_least

MAX_INPUTS = 25


def register(app: App) -> None:
    r = app.api

    @r.route("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}")
    def get_run(req: Request, owner: str, repo: str, run_id: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        run = rec.get("runs", {}).get(run_id)
        if run is None:
            raise not_found()
        return Response(200, shapes.workflow_run(app.urls, app.state, rec, run))

    @r.route("POST", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches")
    def dispatch(req: Request, owner: str, repo: str, workflow_id: str) -> Response:
        rec = app.repo_for(req, owner, repo)
        login = app.require_login(req)
        if not perm_at_least(app.permission(rec, login), "write"):
            app.forbid(login, "write")
        body = req.json()
        ref = body.get("ref")
        if not isinstance(ref, str) or not ref:
            raise ApiError(422, "Invalid request.\n\n\"ref\" wasn't supplied.")
        inputs = body.get("inputs") or {}
        if not isinstance(inputs, dict):
            raise ApiError(422, "Invalid request.\n\nFor 'properties/inputs', "
                                f"{inputs!r} is not an object.")
        if len(inputs) > MAX_INPUTS:
            raise ApiError(422, f"you may only define up to {MAX_INPUTS} `inputs` for a "
                                "workflow_dispatch event")
        path = _workflow_path(rec, workflow_id)
        git = app.git(rec)
        branch = ref.removeprefix("refs/heads/")
        commit = git.resolve_commit(ref)
        if commit is None:
            raise ApiError(422, f"No ref found for: {ref}")
        declared = _dispatch_inputs(app, rec, commit, path)
        unknown = sorted(set(inputs) - set(declared))
        if unknown:
            raise ApiError(422, "Unexpected inputs provided: " + str(unknown))
        missing = sorted(k for k, spec in declared.items()
                         if isinstance(spec, dict) and spec.get("required") and k not in inputs)
        if missing:
            raise ApiError(422, "Required input '" + missing[0] + "' not provided")
        run = seed.create_run(app, rec["full_name"], path=path, event="workflow_dispatch",
                              actor=login, head_sha=commit, head_branch=branch)
        run.update(status="queued",
                   inputs={k: v if isinstance(v, str) else str(v) for k, v in inputs.items()})
        app.state.touch()
        if body.get("return_run_details") is True:
            full = rec["full_name"]
            return Response(200, {
                "workflow_run_id": run["id"],
                "run_url": f"{app.urls.api}/repos/{full}/actions/runs/{run['id']}",
                "html_url": f"{app.urls.server}/{full}/actions/runs/{run['id']}"})
        return Response(204)

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


def _workflow_path(rec: dict[str, Any], workflow_id: str) -> str:
    """``publish.yml`` or a workflow's numeric id -> ``.github/workflows/publish.yml``."""
    if workflow_id.isdigit():
        for path, wid in (rec.get("workflow_ids") or {}).items():
            if str(wid) == workflow_id:
                return str(path)
        raise not_found()
    if "/" in workflow_id or not workflow_id.endswith((".yml", ".yaml")):
        raise not_found()
    return f".github/workflows/{workflow_id}"


def _dispatch_inputs(app: App, rec: dict[str, Any], commit: str, path: str) -> dict[str, Any]:
    """The ``workflow_dispatch`` inputs the workflow file declares at ``commit``; 404 when
    there is no such file, 422 when it has no workflow_dispatch trigger."""
    import yaml

    git = app.git(rec)
    entries = git.ls_tree(commit, path)
    if not entries or entries[0][1] != "blob":
        raise not_found()
    try:
        doc = yaml.safe_load(git.blob(entries[0][2]))
    except yaml.YAMLError:
        raise ApiError(422, "Workflow does not have 'workflow_dispatch' trigger") from None
    triggers = doc.get("on", doc.get(True)) if isinstance(doc, dict) else None  # YAML 1.1: on
    if isinstance(triggers, str):
        triggers = {triggers: None}
    elif isinstance(triggers, list):
        triggers = {t: None for t in triggers}
    if not isinstance(triggers, dict) or "workflow_dispatch" not in triggers:
        raise ApiError(422, "Workflow does not have 'workflow_dispatch' trigger")
    spec = triggers.get("workflow_dispatch") or {}
    inputs = spec.get("inputs") if isinstance(spec, dict) else None
    return inputs if isinstance(inputs, dict) else {}
