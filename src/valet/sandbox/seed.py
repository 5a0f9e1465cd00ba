"""Seeding operations behind the admin API: users, apps, tokens, teams, repos, CI.

Each function takes the ``App`` and must be called with ``app.state.lock`` held
(the admin routes do that through ``App.dispatch``).
"""

from __future__ import annotations

import hashlib
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
               permission: str = "write", workflows: bool = False) -> str:
    """An App and a token for its bot. ``workflows``: the Workflows permission (write),
    without which GitHub refuses the App's writes that add or change workflow files."""
    rec = ensure_app(app, slug)
    rec["permissions"] = {"workflows": "write"} if workflows else {}
    for full in repos or []:
        set_permission(app, full, rec["bot"], permission)
    return create_token(app, rec["bot"])


def create_org(app: App, login: str) -> dict[str, Any]:
    return shapes.user(app.urls, ensure_user(app, login, "Organization"))


def create_team(app: App, org: str, slug: str, members: list[str],
                parent: str | None = None) -> dict[str, Any]:
    """A team (idempotent; members are added). ``parent``: the slug of its parent team in
    the same org; the parent's members then include this team's."""
    ensure_user(app, org, "Organization")
    for m in members:
        ensure_user(app, m)
    key = f"{org}/{slug}".lower()
    parent_key = f"{org}/{parent}".lower() if parent else None
    if parent_key is not None and (parent_key not in app.state.teams or parent_key == key):
        raise SeedError(f"no parent team {org}/{parent}")
    team = app.state.teams.get(key)
    if team is None:
        team = {"id": app.state.new_id(), "org": org, "slug": slug, "name": slug, "members": []}
        app.state.teams[key] = team
    if parent_key is not None:
        team["parent"] = parent_key
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
        "releases": {}, "assets": {}, "artifacts": {}, "pulls": {},
    }
    git = app.git(rec)
    if git.path.exists():
        shutil.rmtree(git.path)
    git.init(default_branch)
    with tempfile.TemporaryDirectory(prefix="valet-seed-") as tmp:
        src = Path(tmp)
        if source_dir:
            # Links stay links (a release registry's latest.json is one).
            shutil.copytree(source_dir, src, dirs_exist_ok=True, symlinks=True,
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


RULE_TYPES = ("creation", "update", "deletion", "required_linear_history", "required_signatures",
              "pull_request", "required_status_checks", "non_fast_forward", "merge_queue",
              "required_deployments", "workflows", "code_scanning")
BYPASS_TYPES = ("Integration", "OrganizationAdmin", "RepositoryRole", "Team", "DeployKey", "User")


def _actor_id(app: App, kind: str, name: Any) -> int | None:
    """A bypass actor named for convenience (App slug, login, org/team) -> its id."""
    if isinstance(name, int) or name is None:
        return name
    if kind == "Integration":
        return int(ensure_app(app, str(name))["id"])
    if kind == "User":
        user = app.state.user(str(name))
        if user is None:
            raise SeedError(f"no user {name}")
        return int(user["id"])
    if kind == "Team":
        team = app.state.teams.get(str(name).lower())
        if team is None:
            raise SeedError(f"no team {name}")
        return int(team["id"])
    raise SeedError(f"give {kind} bypass actors by id")


def add_ruleset(app: App, full_name: str, body: dict[str, Any]) -> dict[str, Any]:
    """A repository ruleset as ``POST /repos/{o}/{r}/rulesets`` takes it.

    Bypass actors may name their actor by ``actor`` (App slug, login or ``org/team``)
    instead of ``actor_id``. Returns the stored ruleset (with its id)."""
    rec = repo_or_fail(app, full_name)
    if not body.get("name"):
        raise SeedError("a ruleset needs a name")
    if body.get("enforcement", "active") not in ("active", "evaluate", "disabled"):
        raise SeedError(f"invalid enforcement {body.get('enforcement')!r}")
    rules = []
    for rule in body.get("rules") or []:
        if rule.get("type") not in RULE_TYPES:
            raise SeedError(f"unknown rule type {rule.get('type')!r}; one of {', '.join(RULE_TYPES)}")
        rules.append({"type": rule["type"], **({"parameters": rule["parameters"]}
                                               if "parameters" in rule else {})})
    actors = []
    for actor in body.get("bypass_actors") or []:
        kind = actor.get("actor_type")
        if kind not in BYPASS_TYPES:
            raise SeedError(f"invalid bypass actor type {kind!r}")
        ident = actor.get("actor_id", _actor_id(app, kind, actor.get("actor")))
        if actor.get("bypass_mode", "always") not in ("always", "pull_request", "exempt"):
            raise SeedError(f"invalid bypass_mode {actor.get('bypass_mode')!r}")
        actors.append({"actor_id": ident, "actor_type": kind,
                       "bypass_mode": actor.get("bypass_mode", "always")})
    ts = now_iso()
    rs = {"id": app.state.new_id(), "name": str(body["name"]), "target": body.get("target", "branch"),
          "enforcement": body.get("enforcement", "active"),
          "conditions": body.get("conditions") or {"ref_name": {"include": ["~DEFAULT_BRANCH"],
                                                                "exclude": []}},
          "bypass_actors": actors, "rules": rules, "created_at": ts, "updated_at": ts}
    rec.setdefault("rulesets", []).append(rs)
    app.state.touch()
    return dict(rs)


def set_branch_protection(app: App, full_name: str, branch: str,
                          body: dict[str, Any] | None) -> None:
    """A branch protection rule for ``branch`` (a name or fnmatch pattern) as
    ``PUT /branches/{b}/protection`` takes it; ``None`` deletes it. Restrictions and
    bypass allowances list ``users``, ``teams`` (``org/slug``) and ``apps`` (slugs)."""
    if not branch or any(c in branch for c in " ~^:\\"):
        raise SeedError(f"invalid branch pattern {branch!r}")
    rec = repo_or_fail(app, full_name)
    rules = rec.setdefault("protection", {})
    if body is None:
        rules.pop(branch, None)
        app.state.touch()
        return

    def allowances(raw: Any) -> dict[str, list[str]] | None:
        if raw is None:
            return None
        return {k: [str(x) for x in raw.get(k) or []] for k in ("users", "teams", "apps")}

    reviews = body.get("required_pull_request_reviews")
    checks = body.get("required_status_checks")
    rules[branch] = {
        "required_status_checks": None if checks is None else {
            "strict": bool(checks.get("strict")), "contexts": list(checks.get("contexts") or []),
            "checks": list(checks.get("checks") or [])},
        "enforce_admins": bool(body.get("enforce_admins")),
        "required_pull_request_reviews": None if reviews is None else {
            "required_approving_review_count": int(reviews.get("required_approving_review_count", 1)),
            "dismiss_stale_reviews": bool(reviews.get("dismiss_stale_reviews")),
            "require_code_owner_reviews": bool(reviews.get("require_code_owner_reviews")),
            "require_last_push_approval": bool(reviews.get("require_last_push_approval")),
            "bypass_pull_request_allowances": allowances(
                reviews.get("bypass_pull_request_allowances")) or
            {"users": [], "teams": [], "apps": []}},
        "restrictions": allowances(body.get("restrictions")),
        "required_linear_history": bool(body.get("required_linear_history")),
        "allow_force_pushes": bool(body.get("allow_force_pushes")),
        "allow_deletions": bool(body.get("allow_deletions")),
        "lock_branch": bool(body.get("lock_branch")),
    }
    app.state.touch()


def protect_branch(app: App, full_name: str, branch: str, protected: bool = True, *,
                   reviews: int | None = 1, checks: list[str] | None = None,
                   bypass: list[str] | None = None) -> dict[str, Any] | None:
    """Protect ``branch`` with a ruleset, the way most repositories are set up now:
    no deletion, no force-push, changes through a pull request with ``reviews``
    approvals (None: no pull request rule), ``checks`` required, and ``bypass`` Apps
    (slugs) or users (logins) on its bypass list. Replaces the ruleset an earlier call made for the
    branch; ``protected=False`` removes it. The branch need not exist yet."""
    if not valid_ref_name(branch):
        raise SeedError(f"invalid branch name {branch!r}")
    rec = repo_or_fail(app, full_name)
    name = f"protect {branch}"
    rec["rulesets"] = [rs for rs in rec.get("rulesets", []) if rs["name"] != name]
    app.state.touch()
    if not protected:
        return None
    rules: list[dict[str, Any]] = [{"type": "deletion"}, {"type": "non_fast_forward"}]
    if reviews is not None:
        rules.append({"type": "pull_request", "parameters": {
            "required_approving_review_count": reviews, "dismiss_stale_reviews_on_push": False,
            "require_code_owner_review": False, "require_last_push_approval": False,
            "required_review_thread_resolution": False, "allowed_merge_methods": ["merge"]}})
    if checks:
        rules.append({"type": "required_status_checks", "parameters": {
            "required_status_checks": [{"context": c} for c in checks],
            "strict_required_status_checks_policy": False, "do_not_enforce_on_create": True}})
    return add_ruleset(app, full_name, {
        "name": name, "conditions": {"ref_name": {"include": [f"refs/heads/{branch}"],
                                                  "exclude": []}},
        "bypass_actors": [{"actor_type": "Integration" if name.lower() in app.state.data["apps"]
                           else "User", "actor": name} for name in bypass or []],
        "rules": rules})


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


def ensure_suite(app: App, rec: Record, sha: str, app_slug: str,
                 status: str = "queued") -> Record:
    """The check suite of ``app_slug`` on ``sha`` (GitHub keeps one per App and commit)."""
    suites = rec.setdefault("check_suites", [])
    for suite in suites:
        if suite["head_sha"] == sha and suite["app"] == app_slug:
            return suite  # type: ignore[no-any-return]
    ts = now_iso()
    suite = {"id": app.state.new_id(), "head_sha": sha, "app": app_slug, "status": status,
             "conclusion": None, "created_at": ts, "updated_at": ts}
    suites.append(suite)
    app.state.touch()
    return suite


def add_check_run(app: App, rec: Record, sha: str, body: dict[str, Any], app_slug: str) -> Record:
    ts = now_iso()
    status = body.get("status") or ("completed" if body.get("conclusion") else "queued")
    run = {"id": app.state.new_id(), "head_sha": sha, "name": body["name"], "status": status,
           "conclusion": body.get("conclusion") if status == "completed" else None,
           "started_at": body.get("started_at") or ts,
           "completed_at": body.get("completed_at") or (ts if status == "completed" else None),
           "external_id": body.get("external_id") or "", "details_url": body.get("details_url"),
           "output": body.get("output") or {}, "app": app_slug,
           "suite_id": ensure_suite(app, rec, sha, app_slug)["id"]}
    rec["check_runs"].append(run)
    app.state.touch()
    return run


def set_ci(app: App, full_name: str, sha: str, *, statuses: list[dict[str, Any]] | None = None,
           check_runs: list[dict[str, Any]] | None = None,
           check_suites: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    rec = repo_or_fail(app, full_name)
    commit = app.git(rec).resolve_commit(sha)
    if commit is None:
        raise SeedError(f"no commit {sha} in {full_name}")
    bot = ci_bot(app)
    for s in statuses or []:
        if s.get("state") not in ("error", "failure", "pending", "success"):
            raise SeedError(f"invalid status state {s.get('state')!r}")
        creator = s.get("creator") or bot["login"]
        if app.state.user(creator) is None:
            raise SeedError(f"no user {creator} (a status's creator)")
        add_status(app, rec, commit, s, creator)
    for c in check_runs or []:
        if not c.get("name"):
            raise SeedError("a check run needs a name")
        slug = c.get("app") or CI_APP
        ensure_app(app, slug)
        add_check_run(app, rec, commit, c, slug)
    for s in check_suites or []:
        # A suite GitHub created for a push before any run exists (e.g. a queued workflow).
        slug = s.get("app") or CI_APP
        ensure_app(app, slug)
        if s.get("status", "queued") not in ("queued", "in_progress", "completed", "requested",
                                              "waiting", "pending"):
            raise SeedError(f"invalid check suite status {s.get('status')!r}")
        suite = ensure_suite(app, rec, commit, slug, s.get("status", "queued"))
        suite["status"] = s.get("status", "queued")
        suite["conclusion"] = s.get("conclusion") if suite["status"] == "completed" else None
    return {"sha": commit}


def create_pull(app: App, full_name: str, *, title: str, user: str,
                labels: list[str] | None = None, head: str | None = None,
                base: str | None = None, merged_as: str | None = None,
                body: str | None = None) -> dict[str, Any]:
    """A pull request; numbered with the issues, as on GitHub. ``merged_as``: the commit
    it landed as on the base branch (a merge or squash commit): the PR is then merged."""
    from valet.sandbox.routes.issues import ensure_label

    rec = repo_or_fail(app, full_name)
    git = app.git(rec)
    author = app.state.user(user) or ensure_user(app, user)
    base_ref = base or rec["default_branch"]
    base_sha = git.resolve_commit(base_ref)
    if base_sha is None:
        raise SeedError(f"no branch {base_ref} in {full_name}")
    merge_sha = git.resolve_commit(merged_as) if merged_as else None
    if merged_as and merge_sha is None:
        raise SeedError(f"no commit {merged_as} in {full_name}")
    head_sha = git.resolve_commit(head) if head else merge_sha
    if head_sha is None:
        raise SeedError("a pull request needs a head branch or commit, or merged_as")
    number = rec["next_number"]
    rec["next_number"] += 1
    ts = now_iso()
    pull: Record = {
        "id": app.state.new_id(), "number": number, "title": title, "body": body,
        "user": author["login"], "labels": [ensure_label(app, rec, n)["name"] for n in labels or []],
        "head_ref": head if head and git.ref_sha(f"refs/heads/{head}") else f"pr-{number}",
        "head_sha": head_sha, "base_ref": base_ref, "base_sha": base_sha,
        "state": "closed" if merge_sha else "open", "created_at": ts, "updated_at": ts,
        "closed_at": ts if merge_sha else None, "merged_at": ts if merge_sha else None,
        "merge_commit_sha": merge_sha, "merged_by": rec["owner"] if merge_sha else None,
    }
    rec.setdefault("pulls", {})[str(number)] = pull
    app.state.touch()
    return shapes.pull_request(app.urls, app.state, rec, pull)


def add_workflow_artifact(app: App, full_name: str, name: str,
                          files: dict[str, bytes] | None = None, *, run_id: int | None = None,
                          zip_data: bytes | None = None, expired: bool = False) -> int:
    """A workflow artifact: ``files`` zipped here, or ``zip_data`` kept byte for byte (what
    upload-artifact sent, e.g. act's artifact server's copy). With ``run_id`` it belongs
    to that recorded run (its commit and branch); without, to a run of the default
    branch's tip that the sandbox does not list. Its ``digest`` is the zip's sha256, as
    GitHub reports for artifacts uploaded by upload-artifact v4."""
    rec = repo_or_fail(app, full_name)
    if not isinstance(name, str) or not name or len(name) > 255:
        raise SeedError(f"invalid artifact name {name!r}")
    if zip_data is None:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for path, data in (files or {}).items():
                zf.writestr(path, data)
        zip_data = buf.getvalue()
    elif files:
        raise SeedError("give files or zip_data, not both")
    if run_id is not None:
        run = _run_or_fail(app, full_name, str(run_id))
        head, branch, owner_run = run["head_sha"], run.get("head_branch"), int(run["id"])
    else:
        head = app.git(rec).resolve_commit(rec["default_branch"])
        branch, owner_run = rec["default_branch"], app.state.new_id()
    art_id = app.state.new_id()
    target = app.files_root / "artifacts" / f"{art_id}.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(zip_data)
    ts = now_iso()
    rec["artifacts"][str(art_id)] = {
        "id": art_id, "name": name, "size_in_bytes": len(zip_data), "created_at": ts,
        "updated_at": ts, "expires_at": "2099-01-01T00:00:00Z", "run_id": owner_run,
        "head_sha": head, "head_branch": branch, "expired": bool(expired),
        "digest": "sha256:" + hashlib.sha256(zip_data).hexdigest(),
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
