"""The admin API under /_sandbox/: seed users, tokens, teams, repos, CI; read state and log.

Bytes travel base64-encoded in JSON (``files: {path: base64}``).
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from typing import Any

from valet.sandbox import seed
from valet.sandbox.app import App
from valet.sandbox.routing import ApiError, Request, Response


def _files(raw: Any) -> dict[str, bytes]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ApiError(422, "files must be an object of path -> base64 content")
    return {str(k): base64.b64decode(v) for k, v in raw.items()}


def _seed_errors(fn: Callable[..., Response]) -> Callable[..., Response]:
    @functools.wraps(fn)
    def wrapper(req: Request, **kw: str) -> Response:
        try:
            return fn(req, **kw)
        except (seed.SeedError, KeyError, TypeError, ValueError) as exc:
            raise ApiError(422, f"{type(exc).__name__}: {exc}") from None
    return wrapper


def register(app: App) -> None:
    r = app.admin

    def route(method: str, pattern: str) -> Callable[[Callable[..., Response]], Any]:
        def deco(fn: Callable[..., Response]) -> Any:
            r.add(method, pattern, _seed_errors(fn))
            return fn
        return deco

    @route("GET", "/health")
    def health(req: Request) -> Response:
        return Response(200, {"ok": True, "api_url": app.urls.api,
                              "server_url": app.urls.server})

    @route("POST", "/users")
    def users(req: Request) -> Response:
        b = req.json()
        return Response(201, seed.create_user(app, b["login"], b.get("type", "User")))

    @route("POST", "/apps")
    def apps(req: Request) -> Response:
        b = req.json()
        token = seed.create_app(app, b["slug"], b.get("repos"), b.get("permission", "write"),
                                workflows=bool(b.get("workflows")))
        return Response(201, {"token": token, "login": f"{b['slug']}[bot]"})

    @route("POST", "/tokens")
    def tokens(req: Request) -> Response:
        return Response(201, {"token": seed.create_token(app, req.json()["login"])})

    @route("POST", "/orgs")
    def orgs(req: Request) -> Response:
        return Response(201, seed.create_org(app, req.json()["login"]))

    @route("POST", "/teams")
    def teams(req: Request) -> Response:
        b = req.json()
        return Response(201, seed.create_team(app, b["org"], b["slug"], list(b.get("members", [])),
                                              parent=b.get("parent")))

    @route("POST", "/repos")
    def repos(req: Request) -> Response:
        b = req.json()
        return Response(201, seed.create_repo(
            app, b["full_name"], files=_files(b.get("files")), source_dir=b.get("source_dir"),
            default_branch=b.get("default_branch") or "main", private=bool(b.get("private")),
            description=b.get("description")))

    @route("PUT", "/repos/{owner}/{repo}/permissions/{login:path}")
    def permission(req: Request, owner: str, repo: str, login: str) -> Response:
        seed.set_permission(app, f"{owner}/{repo}", login, req.json()["permission"])
        return Response(204)

    @route("DELETE", "/repos/{owner}/{repo}/permissions/{login:path}")
    def remove_permission(req: Request, owner: str, repo: str, login: str) -> Response:
        seed.remove_permission(app, f"{owner}/{repo}", login)
        return Response(204)

    @route("DELETE", "/teams/{org}/{slug}/members/{login}")
    def remove_team_member(req: Request, org: str, slug: str, login: str) -> Response:
        seed.remove_team_member(app, org, slug, login)
        return Response(204)

    @route("POST", "/repos/{owner}/{repo}/runs")
    def create_run(req: Request, owner: str, repo: str) -> Response:
        b = req.json()
        run = seed.create_run(app, f"{owner}/{repo}", path=b["path"], event=b["event"],
                              actor=b["actor"], head_sha=b["head_sha"],
                              triggering_actor=b.get("triggering_actor"),
                              head_branch=b.get("head_branch"), name=b.get("name"),
                              at=b.get("at"))
        return Response(201, dict(run))

    @route("PATCH", "/repos/{owner}/{repo}/runs/{run_id}")
    def finish_run(req: Request, owner: str, repo: str, run_id: str) -> Response:
        b = req.json()
        run = seed.finish_run(app, f"{owner}/{repo}", run_id, b["conclusion"], at=b.get("at"))
        return Response(200, dict(run))

    @route("POST", "/repos/{owner}/{repo}/runs/{run_id}/rerun")
    def rerun(req: Request, owner: str, repo: str, run_id: str) -> Response:
        run = seed.rerun(app, f"{owner}/{repo}", run_id, req.json()["triggering_actor"])
        return Response(200, dict(run))

    @route("PUT", "/repos/{owner}/{repo}/branches/{branch:path}/protection")
    def protection(req: Request, owner: str, repo: str, branch: str) -> Response:
        b = req.json()
        seed.protect_branch(app, f"{owner}/{repo}", branch, bool(b.get("protected", True)),
                            reviews=b.get("reviews", 1), checks=b.get("checks"),
                            bypass=b.get("bypass"))
        return Response(204)

    @route("POST", "/repos/{owner}/{repo}/ci")
    def ci(req: Request, owner: str, repo: str) -> Response:
        b = req.json()
        return Response(201, seed.set_ci(app, f"{owner}/{repo}", b["sha"],
                                         statuses=b.get("statuses"),
                                         check_runs=b.get("check_runs"),
                                         check_suites=b.get("check_suites")))

    @route("POST", "/repos/{owner}/{repo}/pulls")
    def pulls(req: Request, owner: str, repo: str) -> Response:
        b = req.json()
        return Response(201, seed.create_pull(
            app, f"{owner}/{repo}", title=b["title"], user=b["user"], labels=b.get("labels"),
            head=b.get("head"), base=b.get("base"), merged_as=b.get("merged_as"),
            body=b.get("body")))

    @route("POST", "/repos/{owner}/{repo}/artifacts")
    def artifacts(req: Request, owner: str, repo: str) -> Response:
        b = req.json()
        run_id = b.get("run_id")
        zip_data = base64.b64decode(b["zip"]) if b.get("zip") is not None else None
        art = seed.add_workflow_artifact(app, f"{owner}/{repo}", b["name"], _files(b.get("files")),
                                         run_id=int(run_id) if run_id is not None else None,
                                         zip_data=zip_data, expired=bool(b.get("expired")))
        return Response(201, {"id": art})

    @route("POST", "/hooks/pre-receive")
    def pre_receive(req: Request) -> Response:
        from valet.sandbox import githttp

        return Response(200, githttp.pre_receive(app, req.json()))

    @route("PUT", "/repos/{owner}/{repo}/branches/{branch:path}/protection-rule")
    def protection_rule(req: Request, owner: str, repo: str, branch: str) -> Response:
        seed.set_branch_protection(app, f"{owner}/{repo}", branch, req.json().get("rule"))
        return Response(204)

    @route("POST", "/repos/{owner}/{repo}/rulesets")
    def rulesets(req: Request, owner: str, repo: str) -> Response:
        return Response(201, seed.add_ruleset(app, f"{owner}/{repo}", req.json()))

    @route("GET", "/state")
    def state(req: Request) -> Response:
        data = {k: v for k, v in app.state.data.items() if k != "secret"}
        return Response(200, data)

    @route("GET", "/requests")
    def requests_log(req: Request) -> Response:
        return Response(200, app.request_log())

    @route("DELETE", "/requests")
    def clear_requests(req: Request) -> Response:
        app.clear_log()
        return Response(204)

    @route("GET", "/faults")
    def list_faults(req: Request) -> Response:
        return Response(200, app.faults.snapshot())

    @route("POST", "/faults")
    def add_fault(req: Request) -> Response:
        b = req.json()
        fault = app.faults.add(path=b["path"], method=b.get("method"), kind=b.get("kind", "status"),
                               status=int(b.get("status", 502)), count=b.get("count"),
                               seconds=float(b.get("seconds", 0.0)))
        return Response(201, fault.to_json())

    @route("DELETE", "/faults")
    def clear_faults(req: Request) -> Response:
        app.faults.clear()
        return Response(204)
