"""Seeding operations behind the admin API: users, apps, tokens, teams, repos, CI.

Each function takes the ``App`` and must be called with ``app.state.lock`` held
(the admin routes do that through ``App.dispatch``).
"""

from __future__ import annotations

import io
import secrets
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from valet.sandbox import shapes
from valet.sandbox.app import App
from valet.sandbox.gitrepo import Signature, valid_ref_name
from valet.sandbox.state import PERMISSIONS, Record, now_iso

SEED_AUTHOR = Signature("valet sandbox", "sandbox@valet.invalid")
CI_APP = "github-actions"


class SeedError(ValueError):
    pass


def _valid_login(login: str) -> str:
    base = login[:-5] if login.endswith("[bot]") else login
    if not base or len(base) > 39 or not all(c.isalnum() or c in "-_." for c in base):
        raise SeedError(f"invalid login {login!r}")
    return login


def ensure_user(app: App, login: str, type: str = "User") -> Record:
    _valid_login(login)
    rec = app.state.user(login)
    if rec:
        return rec
    uid = app.state.new_id()
    rec = {"login": login, "id": uid, "type": type, "name": login, "email": None,
           "created_at": now_iso()}
    if type == "User":
        rec["email"] = f"{login}@users.sandbox.invalid"
    app.state.users[login.lower()] = rec
    app.state.touch()
    return rec


def create_user(app: App, login: str, type: str = "User") -> dict[str, Any]:
    if type not in ("User", "Organization", "Bot"):
        raise SeedError(f"invalid user type {type!r}")
    return shapes.user(app.urls, ensure_user(app, login, type))


def create_token(app: App, login: str) -> str:
    user = app.state.user(login) or ensure_user(app, login)
    prefix = "ghs_" if user["type"] == "Bot" else "ghp_"
    token = prefix + secrets.token_urlsafe(27).replace("-", "a").replace("_", "b")
    app.state.tokens[token] = user["login"]
    app.state.touch()
    return token


def ensure_app(app: App, slug: str) -> Record:
    apps = app.state.data["apps"]
    if slug.lower() not in apps:
        bot = ensure_user(app, f"{slug}[bot]", "Bot")
        apps[slug.lower()] = {"id": app.state.new_id(), "slug": slug, "bot": bot["login"],
                              "created_at": now_iso()}
        app.state.touch()
    return apps[slug.lower()]  # type: ignore[no-any-return]


def create_app(app: App, slug: str, repos: list[str] | None = None,
               permission: str = "write") -> str:
    rec = ensure_app(app, slug)
    for full in repos or []:
        set_permission(app, full, rec["bot"], permission)
    return create_token(app, rec["bot"])


def create_org(app: App, login: str) -> dict[str, Any]:
    return shapes.user(app.urls, ensure_user(app, login, "Organization"))


def create_team(app: App, org: str, slug: str, members: list[str]) -> dict[str, Any]:
    ensure_user(app, org, "Organization")
    for m in members:
        ensure_user(app, m)
    key = f"{org}/{slug}".lower()
    team = app.state.teams.get(key)
    if team is None:
        team = {"id": app.state.new_id(), "org": org, "slug": slug, "name": slug, "members": []}
        app.state.teams[key] = team
    team["members"] = sorted({*team["members"], *members}, key=str.lower)
    app.state.touch()
    return dict(team)


def create_repo(app: App, full_name: str, *, files: dict[str, bytes] | None = None,
                source_dir: str | None = None, default_branch: str = "main",
                private: bool = False, description: str | None = None) -> dict[str, Any]:
    owner, _, name = full_name.partition("/")
    if not owner or not name or "/" in name or not all(c.isalnum() or c in "-_." for c in name):
        raise SeedError(f"invalid repository name {full_name!r}")
    if not valid_ref_name(default_branch):
        raise SeedError(f"invalid branch name {default_branch!r}")
    if app.state.repo(owner, name):
        raise SeedError(f"repository {full_name} already exists")
    owner_rec = app.state.user(owner) or ensure_user(app, owner, "Organization")
    rec: Record = {
        "id": app.state.new_id(), "owner": owner_rec["login"], "name": name,
        "full_name": f"{owner_rec['login']}/{name}", "private": bool(private),
        "default_branch": default_branch, "description": description,
        "created_at": now_iso(), "perms": {}, "team_perms": {}, "labels": {}, "issues": {},
        "next_number": 1, "comments": {}, "events": [], "statuses": {}, "check_runs": [],
        "releases": {}, "assets": {}, "artifacts": {},
    }
    git = app.git(rec)
    if git.path.exists():
        shutil.rmtree(git.path)
    git.init(default_branch)
    with tempfile.TemporaryDirectory(prefix="valet-seed-") as tmp:
        src = Path(tmp)
        if source_dir:
            shutil.copytree(source_dir, src, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns(".git"))
        for path, content in (files or {}).items():
            if path.startswith("/") or ".." in Path(path).parts:
                raise SeedError(f"invalid file path {path!r}")
            target = src / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        if not any(src.iterdir()):
            (src / "README.md").write_text(f"# {name}\n")
        git.commit_directory(src, default_branch, "Initial commit", SEED_AUTHOR)
    app.state.repos[rec["full_name"].lower()] = rec
    app.state.touch()
    return shapes.repo(app.urls, app.state, rec, "admin")


def repo_or_fail(app: App, full_name: str) -> Record:
    owner, _, name = full_name.partition("/")
    rec = app.state.repo(owner, name)
    if rec is None:
        raise SeedError(f"no repository {full_name}")
    return rec


def set_permission(app: App, full_name: str, login: str, permission: str) -> None:
    if permission not in PERMISSIONS:
        raise SeedError(f"invalid permission {permission!r}; one of {', '.join(PERMISSIONS)}")
    rec = repo_or_fail(app, full_name)
    if "/" in login:  # a team: org/slug
        if login.lower() not in app.state.teams:
            raise SeedError(f"no team {login}")
        rec["team_perms"][login.lower()] = permission
    else:
        user = app.state.user(login) or ensure_user(app, login)
        rec["perms"][user["login"].lower()] = permission
    app.state.touch()


def protect_branch(app: App, full_name: str, branch: str, protected: bool = True) -> None:
    """Mark ``branch`` protected (or not), as a branch protection rule or ruleset would.

    Only the flag is kept (what ``GET /branches/{branch}`` reports as ``protected``);
    pushes are not restricted. The branch need not exist yet, as with a ruleset.
    """
    if not valid_ref_name(branch):
        raise SeedError(f"invalid branch name {branch!r}")
    rec = repo_or_fail(app, full_name)
    names = [b for b in rec.get("protected_branches", []) if b != branch]
    if protected:
        names.append(branch)
    rec["protected_branches"] = sorted(names)
    app.state.touch()


def ci_bot(app: App) -> Record:
    return app.state.user(ensure_app(app, CI_APP)["bot"])  # type: ignore[return-value]


def add_status(app: App, rec: Record, sha: str, body: dict[str, Any], creator: str) -> Record:
    ts = now_iso()
    status = {"id": app.state.new_id(), "state": body["state"], "context": body.get("context")
              or "default", "description": body.get("description"),
              "target_url": body.get("target_url"), "creator": creator, "created_at": ts,
              "updated_at": ts}
    rec["statuses"].setdefault(sha, []).append(status)
    app.state.touch()
    return status


def add_check_run(app: App, rec: Record, sha: str, body: dict[str, Any], app_slug: str) -> Record:
    ts = now_iso()
    status = body.get("status") or ("completed" if body.get("conclusion") else "queued")
    run = {"id": app.state.new_id(), "head_sha": sha, "name": body["name"], "status": status,
           "conclusion": body.get("conclusion") if status == "completed" else None,
           "started_at": body.get("started_at") or ts,
           "completed_at": body.get("completed_at") or (ts if status == "completed" else None),
           "external_id": body.get("external_id") or "", "details_url": body.get("details_url"),
           "output": body.get("output") or {}, "app": app_slug}
    rec["check_runs"].append(run)
    app.state.touch()
    return run


def set_ci(app: App, full_name: str, sha: str, *, statuses: list[dict[str, Any]] | None = None,
           check_runs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    rec = repo_or_fail(app, full_name)
    commit = app.git(rec).resolve_commit(sha)
    if commit is None:
        raise SeedError(f"no commit {sha} in {full_name}")
    bot = ci_bot(app)
    for s in statuses or []:
        if s.get("state") not in ("error", "failure", "pending", "success"):
            raise SeedError(f"invalid status state {s.get('state')!r}")
        add_status(app, rec, commit, s, bot["login"])
    for c in check_runs or []:
        if not c.get("name"):
            raise SeedError("a check run needs a name")
        add_check_run(app, rec, commit, c, CI_APP)
    return {"sha": commit}


def add_workflow_artifact(app: App, full_name: str, name: str, files: dict[str, bytes]) -> int:
    rec = repo_or_fail(app, full_name)
    art_id = app.state.new_id()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    target = app.files_root / "artifacts" / f"{art_id}.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(buf.getvalue())
    head = app.git(rec).resolve_commit(rec["default_branch"])
    ts = now_iso()
    rec["artifacts"][str(art_id)] = {
        "id": art_id, "name": name, "size_in_bytes": len(buf.getvalue()), "created_at": ts,
        "updated_at": ts, "expires_at": "2099-01-01T00:00:00Z", "run_id": app.state.new_id(),
        "head_sha": head, "head_branch": rec["default_branch"],
    }
    app.state.touch()
    return art_id


# -- workflow runs, as GitHub records them ------------------------------------------------

RUN_STATUSES = ("queued", "in_progress", "completed")
RUN_CONCLUSIONS = (None, "success", "failure", "cancelled", "skipped", "timed_out",
                   "action_required", "neutral", "stale", "startup_failure")


def _at(at: str | None) -> str:
    """``at`` (an ISO time, for runs seeded in the past) or now."""
    if at is None:
        return now_iso()
    from datetime import datetime

    try:
        datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        raise SeedError(f"invalid time {at!r}") from None
    return at


def create_run(app: App, full_name: str, *, path: str, event: str, actor: str,
               head_sha: str, triggering_actor: str | None = None,
               head_branch: str | None = None, name: str | None = None,
               at: str | None = None) -> Record:
    """A workflow run that has started: who triggered it, for which event, on which commit
    (``at``: when it started, default now)."""
    rec = repo_or_fail(app, full_name)
    commit = app.git(rec).resolve_commit(head_sha)
    if commit is None:
        raise SeedError(f"no commit {head_sha} in {full_name}")
    if not path.startswith(".github/workflows/") or ".." in path.split("/"):
        raise SeedError(f"invalid workflow path {path!r}")
    for login in (actor, triggering_actor or actor):
        if app.state.user(login) is None:
            raise SeedError(f"no user {login}")
    runs = rec.setdefault("runs", {})
    workflow_ids = rec.setdefault("workflow_ids", {})
    if path not in workflow_ids:
        workflow_ids[path] = app.state.new_id()
    ts = _at(at)
    run = {"id": app.state.new_id(), "name": name or path.rsplit("/", 1)[1], "path": path,
           "event": event, "actor": app.state.user(actor)["login"],  # type: ignore[index]
           "triggering_actor": app.state.user(triggering_actor or actor)["login"],  # type: ignore[index]
           "head_sha": commit, "head_branch": head_branch, "workflow_id": workflow_ids[path],
           "run_number": sum(1 for r in runs.values() if r["path"] == path) + 1,
           "run_attempt": 1, "status": "in_progress", "conclusion": None, "created_at": ts,
           "updated_at": ts, "run_started_at": ts}
    runs[str(run["id"])] = run
    app.state.touch()
    return run


def _run_or_fail(app: App, full_name: str, run_id: str) -> Record:
    run = repo_or_fail(app, full_name).get("runs", {}).get(str(run_id))
    if run is None:
        raise SeedError(f"no workflow run {run_id} in {full_name}")
    return run  # type: ignore[no-any-return]


def finish_run(app: App, full_name: str, run_id: str, conclusion: str,
               at: str | None = None) -> Record:
    if conclusion is None or conclusion not in RUN_CONCLUSIONS:
        raise SeedError(f"invalid conclusion {conclusion!r}")
    run = _run_or_fail(app, full_name, run_id)
    run.update(status="completed", conclusion=conclusion, updated_at=_at(at))
    app.state.touch()
    return run


def rerun(app: App, full_name: str, run_id: str, triggering_actor: str) -> Record:
    """A re-run: same id, next attempt, triggered by whoever re-ran it (the actor stays)."""
    run = _run_or_fail(app, full_name, run_id)
    user = app.state.user(triggering_actor)
    if user is None:
        raise SeedError(f"no user {triggering_actor}")
    ts = now_iso()
    run.update(run_attempt=run["run_attempt"] + 1, triggering_actor=user["login"],
               status="in_progress", conclusion=None, updated_at=ts, run_started_at=ts)
    app.state.touch()
    return run


# -- taking access away ---------------------------------------------------------------------


def remove_team_member(app: App, org: str, slug: str, login: str) -> None:
    team = app.state.teams.get(f"{org}/{slug}".lower())
    if team is None:
        raise SeedError(f"no team {org}/{slug}")
    team["members"] = [m for m in team["members"] if m.lower() != login.lower()]
    app.state.touch()


def remove_permission(app: App, full_name: str, login: str) -> None:
    """Remove a collaborator (or a team's grant, as ``org/slug``) from a repository."""
    rec = repo_or_fail(app, full_name)
    rec["team_perms" if "/" in login else "perms"].pop(login.lower(), None)
    app.state.touch()
