"""Branch protection rules and rulesets, and what they refuse.

Two kinds of rules guard a branch, as on GitHub:

* a **branch protection rule** (``rec["protection"][pattern]``, the body of
  ``PUT /repos/{o}/{r}/branches/{b}/protection`` normalized): required pull request
  reviews with their bypass allowances, required status checks, push restrictions,
  force-push/deletion/linear-history/lock settings, ``enforce_admins``;
* **rulesets** (``rec["rulesets"]``: ``{id, name, target, enforcement, conditions,
  bypass_actors, rules}`` as ``POST /repos/{o}/{r}/rulesets`` takes them): only
  ``active`` ones are enforced; bypass actors are Apps (``Integration``), users,
  teams, repository roles and organization admins.

``check`` answers one ref update — who, which ref, old and new sha, and how
(``push``, ``api`` for the merges and refs endpoints, ``pull_request`` for a PR
merge) — with the violations GitHub would report, split by kind so each channel
can word them as GitHub does (``GH006`` for protection rules, ``GH013`` for
rulesets on a push; the API answers with the reasons). The Workflows check
(an App without the Workflows permission may not push commits that change
``.github/workflows/``) lives here too: GitHub applies it to the same updates.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from valet.sandbox.gitrepo import ZERO, GitRepo
from valet.sandbox.state import Record, perm_at_least

if TYPE_CHECKING:
    from valet.sandbox.app import App

PASSING = ("success", "neutral", "skipped")
# RepositoryRole bypass actors: GitHub's ids for the built-in roles.
ROLE_IDS = {1: "read", 2: "maintain", 3: "triage", 4: "write", 5: "admin"}
WORKFLOWS = ".github/workflows/"
DOCS = "https://docs.github.com/articles/about-protected-branches"


@dataclass
class Verdict:
    protection: list[str] = field(default_factory=list)  # reasons from the protection rule
    rulesets: list[str] = field(default_factory=list)  # reasons from active rulesets
    workflows: list[str] = field(default_factory=list)  # workflow files an App may not write

    @property
    def ok(self) -> bool:
        return not (self.protection or self.rulesets or self.workflows)


# -- which rules apply ------------------------------------------------------------


def _ref_matches(pattern: str, ref: str, default_branch: str) -> bool:
    if pattern == "~ALL":
        return True
    if pattern == "~DEFAULT_BRANCH":
        return ref == f"refs/heads/{default_branch}"
    return fnmatch.fnmatchcase(ref, pattern)


def ruleset_applies(rs: Record, ref: str, default_branch: str) -> bool:
    if rs.get("target", "branch") != "branch" or not ref.startswith("refs/heads/"):
        return False
    cond = (rs.get("conditions") or {}).get("ref_name") or {}
    include = cond.get("include") or []
    exclude = cond.get("exclude") or []
    return any(_ref_matches(p, ref, default_branch) for p in include) and \
        not any(_ref_matches(p, ref, default_branch) for p in exclude)


def active_rulesets(rec: Record, branch: str) -> list[Record]:
    ref = f"refs/heads/{branch}"
    return [rs for rs in rec.get("rulesets", [])
            if rs.get("enforcement") == "active" and ruleset_applies(rs, ref, rec["default_branch"])]


def protection_rule(rec: Record, branch: str) -> Record | None:
    """The branch protection rule for ``branch``: an exact name wins over a pattern."""
    rules: dict[str, Record] = rec.get("protection", {})
    if branch in rules:
        return rules[branch]
    for pattern, rule in sorted(rules.items()):
        if fnmatch.fnmatchcase(branch, pattern):
            return rule
    return None


def is_protected(rec: Record, branch: str) -> bool:
    """What ``GET /branches/{b}`` reports as ``protected``: any rule or active ruleset."""
    return protection_rule(rec, branch) is not None or bool(active_rulesets(rec, branch))


def rules_in_force(rec: Record, branch: str) -> list[dict[str, Any]]:
    """``GET /rules/branches/{b}``: every rule of every active ruleset for the branch."""
    out = []
    for rs in active_rulesets(rec, branch):
        for rule in rs.get("rules", []):
            item = {"type": rule["type"], "ruleset_source_type": "Repository",
                    "ruleset_source": rec["full_name"], "ruleset_id": rs["id"]}
            if rule.get("parameters") is not None:
                item["parameters"] = rule["parameters"]
            out.append(item)
    return out


# -- who may bypass ---------------------------------------------------------------


def _team_ids_of(app: App, login: str) -> set[int]:
    from valet.sandbox.teams import teams_of

    return {t["id"] for t in teams_of(app.state, login)}


def bypass_mode(app: App, rec: Record, rs: Record, login: str | None) -> str:
    """``current_user_can_bypass`` for ``login``: always / pull_requests_only / exempt / never."""
    if not login:
        return "never"
    user = app.state.user(login)
    if user is None:
        return "never"
    role = app.permission(rec, login)
    best = "never"
    for actor in rs.get("bypass_actors", []):
        kind, ident = actor.get("actor_type"), actor.get("actor_id")
        hit = False
        if kind == "Integration":
            hit = any(a["id"] == ident and a["bot"].lower() == login.lower()
                      for a in app.state.data["apps"].values())
        elif kind == "User":
            hit = user["id"] == ident
        elif kind == "Team":
            hit = ident in _team_ids_of(app, login)
        elif kind == "RepositoryRole":
            need = ROLE_IDS.get(int(ident or 0))
            hit = need is not None and perm_at_least(role, need)
        elif kind == "OrganizationAdmin":
            hit = rec["owner"].lower() == login.lower() or role == "admin"
        if not hit:
            continue
        mode = actor.get("bypass_mode") or "always"
        rank = {"never": 0, "pull_request": 1, "always": 2, "exempt": 3}
        if rank.get(mode, 0) > rank.get(best, 0):
            best = mode
    return "pull_requests_only" if best == "pull_request" else best


def _in_allowances(app: App, allow: Record | None, login: str) -> bool:
    if not allow:
        return False
    low = login.lower()
    if any(u.lower() == low for u in allow.get("users", [])):
        return True
    if any(f"{slug}[bot]".lower() == low for slug in allow.get("apps", [])):
        return True
    from valet.sandbox.teams import teams_of

    mine = {f"{t['org']}/{t['slug']}".lower() for t in teams_of(app.state, login)}
    return any(t.lower() in mine for t in allow.get("teams", []))


# -- the checks ------------------------------------------------------------------


def _checks_passing(rec: Record, sha: str, contexts: Iterable[dict[str, Any]],
                    app: App) -> list[str]:
    """The required contexts that are not green on ``sha`` (statuses or check runs)."""
    latest: dict[tuple[str, str], str] = {}
    for s in rec["statuses"].get(sha, []):
        latest[(s["context"], s["creator"].lower())] = s["state"]
    missing = []
    for want in contexts:
        name = want["context"]
        app_id = want.get("integration_id")
        bots = None
        if app_id is not None:
            bots = {a["bot"].lower() for a in app.state.data["apps"].values() if a["id"] == app_id}
        ok = any(state == "success" and (bots is None or who in bots)
                 for (ctx, who), state in latest.items() if ctx == name)
        if not ok:
            ok = any(run["name"] == name and run["head_sha"] == sha
                     and run["status"] == "completed" and run.get("conclusion") in PASSING
                     and (bots is None or f"{run['app']}[bot]".lower() in bots)
                     for run in rec["check_runs"])
        if not ok:
            missing.append(name)
    return missing


def _checks_reason(missing: list[str], total: int) -> str:
    if len(missing) == 1 and total == 1:
        return f'Required status check "{missing[0]}" is expected.'
    return f"{len(missing)} of {total} required status checks are expected."


def _new_commits(git: GitRepo, old: str | None, new: str) -> list[str]:
    """Commits that ``new`` brings to the branch (all of them for a new branch)."""
    args = ["rev-list", new]
    args += [f"^{old}"] if old else ["--not", "--all"]
    return git.out(*args).split()


def _has_merge_commits(git: GitRepo, old: str | None, new: str) -> bool:
    args = ["rev-list", "--merges", new] + ([f"^{old}"] if old else [])
    return bool(git.out(*args).split())


def _name_status(git: GitRepo, base: str, head: str) -> list[tuple[str, str]]:
    """``(status letter, path)`` of each file that differs (no rename detection)."""
    out = git.out("diff-tree", "-r", "--no-commit-id", "--name-status", "-z", base, head)
    parts = out.split("\0")[:-1]  # the output ends with a NUL
    return [(s[:1], p) for s, p in zip(parts[0::2], parts[1::2], strict=True)]


def workflow_changes(git: GitRepo, old: str | None, new: str) -> list[str]:
    """Workflow files the commits new to the repository add or modify."""
    changed: set[str] = set()
    for sha in _new_commits(git, old, new):
        if not git.run("cat-file", "-e", f"{sha}^", check=False).returncode:
            base = f"{sha}^"
        else:
            base = git.empty_tree()
        for status, path in _name_status(git, base, sha):
            if status in ("A", "M", "T") and path.startswith(WORKFLOWS):
                changed.add(path)
    return sorted(changed)


def workflows_vs_default(git: GitRepo, default_branch: str, target: str) -> list[str]:
    """Workflow files ``target`` adds or modifies relative to the default branch's tip
    (GitHub's rule for creating or editing a release on that commit)."""
    base = git.resolve_commit(default_branch)
    if base is None or base == target:
        return []
    return sorted(path for status, path in _name_status(git, base, target)
                  if status in ("A", "M", "T") and path.startswith(WORKFLOWS))


def app_lacks_workflows(app: App, login: str | None) -> bool:
    """An App's token without the Workflows permission (people's tokens have it)."""
    for a in app.state.data["apps"].values():
        if login and a["bot"].lower() == login.lower():
            return (a.get("permissions") or {}).get("workflows") != "write"
    return False


def check(app: App, rec: Record, git: GitRepo, ref: str, old: str | None, new: str | None,
          login: str | None, *, via: str) -> Verdict:
    """What the rules in force say about moving ``ref`` from ``old`` to ``new`` (None: absent)."""
    verdict = Verdict()
    old = None if old in (None, ZERO) else old
    new = None if new in (None, ZERO) else new
    if new and git.object_type(new) == "commit" and app_lacks_workflows(app, login):
        verdict.workflows = workflow_changes(git, old, new)
    if not ref.startswith("refs/heads/"):
        return verdict
    branch = ref[len("refs/heads/"):]
    forced = bool(old and new and not git.is_ancestor(old, new))
    role = app.permission(rec, login) if login else "none"

    for rs in active_rulesets(rec, branch):
        mode = bypass_mode(app, rec, rs, login)
        if mode in ("always", "exempt") or (mode == "pull_requests_only" and via == "pull_request"):
            continue
        for rule in rs.get("rules", []):
            kind, params = rule["type"], rule.get("parameters") or {}
            reason = None
            if kind == "deletion" and new is None:
                reason = "Cannot delete this branch"
            elif kind == "non_fast_forward" and forced:
                reason = "Cannot force-push to this branch"
            elif kind == "creation" and old is None and new:
                reason = "Cannot create ref due to creations being restricted."
            elif kind == "update" and old and new:
                reason = "Cannot update this protected ref."
            elif kind == "pull_request" and old and new and via != "pull_request":
                # (creating the branch is the `creation` rule's business)
                reason = "Changes must be made through a pull request."
            elif kind == "required_status_checks" and new:
                wanted = params.get("required_status_checks") or []
                if not (old is None and params.get("do_not_enforce_on_create")):
                    missing = _checks_passing(rec, new, wanted, app)
                    if missing:
                        reason = _checks_reason(missing, len(wanted))
            elif kind == "required_linear_history" and new and _has_merge_commits(git, old, new):
                reason = "This branch must not contain merge commits."
            if reason and reason not in verdict.rulesets:
                verdict.rulesets.append(reason)

    rule = protection_rule(rec, branch)
    admin_exempt = rule is not None and role == "admin" and not rule.get("enforce_admins")
    if rule is not None and not admin_exempt:
        reasons = verdict.protection
        restrictions = rule.get("restrictions")
        if rule.get("lock_branch") and new:
            reasons.append("Cannot change this locked branch")
        if restrictions is not None and login and not _in_allowances(app, restrictions, login):
            reasons.append("You're not authorized to push to this branch. Visit "
                           f"{DOCS} for more information.")
        if new is None and not rule.get("allow_deletions"):
            reasons.append("Cannot delete this protected branch")
        if forced and not rule.get("allow_force_pushes"):
            reasons.append("Cannot force-push to this protected branch")
        reviews = rule.get("required_pull_request_reviews")
        if reviews is not None and old and new and via != "pull_request" and not (
                login and _in_allowances(app, reviews.get("bypass_pull_request_allowances"),
                                         login)):
            reasons.append("Changes must be made through a pull request.")
        checks = rule.get("required_status_checks")
        if checks is not None and new:
            wanted = [{"context": c} for c in checks.get("contexts", [])]
            wanted += [{"context": c["context"], "integration_id": c.get("app_id")}
                       for c in checks.get("checks", [])]
            missing = _checks_passing(rec, new, wanted, app)
            if missing:
                reasons.append(_checks_reason(missing, len(wanted)))
        if rule.get("required_linear_history") and new and _has_merge_commits(git, old, new):
            reasons.append("This branch must not contain merge commits.")
    return verdict


# -- how each channel words a refusal ----------------------------------------------------


def api_message(verdict: Verdict) -> str:
    """The ``message`` of the API's refusal (merges and refs endpoints)."""
    if verdict.rulesets:
        return "Repository rule violations found\n\n" + "".join(f"{r}\n\n" for r in verdict.rulesets)
    if verdict.protection:
        return verdict.protection[0]
    return workflow_message(verdict.workflows, push=False)


def workflow_message(paths: list[str], *, push: bool) -> str:
    first = paths[0] if paths else WORKFLOWS
    return (f"refusing to allow a GitHub App to create or update workflow `{first}` "
            "without `workflows` permission")


def push_lines(verdict: Verdict, ref: str, server: str, full_name: str) -> list[str]:
    """What ``git push`` shows after ``remote:`` when the hook declines ``ref``."""
    from urllib.parse import quote

    lines: list[str] = []
    if verdict.workflows:
        lines.append(f"error: {workflow_message(verdict.workflows, push=True)}")
    elif verdict.rulesets:
        lines.append(f"error: GH013: Repository rule violations found for {ref}.")
        lines.append(f"Review all repository rules at {server}/{full_name}/rules?ref="
                     f"{quote(ref, safe='')}")
        lines.append("")
        for reason in verdict.rulesets:
            lines += [f"- {reason}", ""]
    elif verdict.protection:
        lines.append(f"error: GH006: Protected branch update failed for {ref}.")
        lines += [f"error: {r}" for r in verdict.protection]
    return lines
