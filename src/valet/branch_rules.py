"""The rules in force on the merge target, and what they mean for a release.

Two questions, answered from the rules (never from the ``protected`` flag alone,
which is also true for a ruleset that only blocks deletion):

* **Is this branch a trustworthy source of configuration?** Its ``.valet.yml``
  decides which targets get the registry tokens and where they upload, so only a
  branch whose rules require a pull request with at least one approving review
  qualifies (``config_refusal``).
* **Can the publish App merge the release into it directly?** Only when every rule
  that would refuse a direct merge lets the App bypass it; otherwise the release
  lands through a pull request, or not at all (``plan_merge``).

The rules come from two places, as on GitHub: rulesets (``GET /rules/branches/{b}``,
readable with Metadata: read; ``GET /rulesets/{id}`` says whether the caller may
bypass each) and a branch protection rule (``GET /branches/{b}/protection``, which
needs the Administration permission). ``read`` gathers them; everything else is pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

# Ruleset rules that refuse a direct merge commit by someone who cannot bypass them.
_BLOCKS_DIRECT = {
    "pull_request": "changes must go through a pull request",
    "required_status_checks": "status checks must pass on the new commit first",
    "update": "only bypass actors may update it",
    "required_linear_history": "merge commits are not allowed",
    "merge_queue": "changes must go through the merge queue",
    "required_deployments": "deployments must succeed first",
    "workflows": "workflows must pass first",
    "code_scanning": "code scanning results are required first",
}
_BYPASSES = ("always", "exempt")


@dataclass(frozen=True)
class Rule:
    type: str
    parameters: dict[str, Any]
    ruleset_id: int | None


@dataclass
class BranchRules:
    """What governs ``branch``, as far as the caller (the publish App) can see."""

    branch: str
    protected: bool  # GitHub's flag: any protection rule or active ruleset
    rules: list[Rule] = field(default_factory=list)  # rules of the active rulesets
    bypass: dict[int, str] = field(default_factory=dict)  # ruleset id -> current_user_can_bypass
    protection: dict[str, Any] | None = None  # the branch protection rule, as GitHub shows it
    protection_readable: bool = True  # False: the rule could not be read (no Administration)
    app_slug: str | None = None  # the caller's App, to find it in the rule's allowances

    @property
    def unexplained(self) -> bool:
        """Protected, but by nothing the caller can read: a protection rule it may not see."""
        return self.protected and not self.rules and self.protection is None \
            and not self.protection_readable


def config_refusal(rules: BranchRules) -> str | None:
    """Why ``rules.branch`` is no trustworthy source of configuration (None: it is)."""
    b = rules.branch
    reviews = [int(r.parameters.get("required_approving_review_count") or 0)
               for r in rules.rules if r.type == "pull_request"]
    classic = (rules.protection or {}).get("required_pull_request_reviews")
    if classic is not None:
        reviews.append(int(classic.get("required_approving_review_count") or 0))
    if any(n >= 1 for n in reviews):
        return None
    if reviews:
        return (f"the rules of {b} require a pull request but no approving review: its "
                "author can merge a change to the configuration alone")
    if rules.unexplained:
        return (f"{b} is protected by a branch protection rule that the publish App cannot "
                "read, so valet cannot tell whether it requires reviewed pull requests")
    if not rules.protected:
        return f"{b} is not protected: anyone who can push to it can change its configuration"
    kinds = sorted({r.type for r in rules.rules} | _protection_kinds(rules.protection))
    return (f"the rules in force on {b} ({', '.join(kinds) or 'none readable'}) do not "
            "require a pull request: anyone who can push to it can change its configuration")


CONFIG_HINT = (
    "add a ruleset (or branch protection rule) to {branch} that requires a pull request "
    "with at least one approving review, then add `accepted` again; a ruleset is readable "
    "with the App's Metadata permission, a branch protection rule needs Administration: "
    "read. For a rehearsal only, set the publish action's input "
    "`allow-unprotected-merge-target: true`")


def _protection_kinds(protection: dict[str, Any] | None) -> set[str]:
    if not protection:
        return set()
    kinds = {"protection rule"}
    if not (protection.get("allow_deletions") or {}).get("enabled"):
        kinds.add("no deletion")
    if not (protection.get("allow_force_pushes") or {}).get("enabled"):
        kinds.add("no force-push")
    if protection.get("required_status_checks"):
        kinds.add("required status checks")
    return kinds


@dataclass(frozen=True)
class MergePlan:
    """How the release reaches the merge target, decided before anything publishes."""

    mode: Literal["direct", "pull_request", "blocked"]
    branch: str
    reasons: tuple[str, ...] = ()  # what stops a direct merge by the publish App
    fix: str = ""

    def note(self) -> str:
        """One sentence for the preflight log and the summary."""
        if self.mode == "direct":
            return f"the publish App can merge into {self.branch} directly"
        why = "; ".join(self.reasons)
        if self.mode == "pull_request":
            return (f"{self.branch} does not let the publish App merge directly ({why}): "
                    "valet opens a pull request for the release instead. " + self.fix)
        return f"the rules of {self.branch} block the release's merge ({why}). " + self.fix


def plan_merge(rules: BranchRules) -> MergePlan:
    """Direct merge if the App may bypass every rule that refuses one; else a pull
    request, unless the branch is locked (then nothing may land: blocked)."""
    b = rules.branch
    direct: list[str] = []
    for rule in rules.rules:
        reason = _BLOCKS_DIRECT.get(rule.type)
        if reason is None or rules.bypass.get(rule.ruleset_id or -1) in _BYPASSES:
            continue
        if reason not in direct:
            direct.append(reason)
    prot = rules.protection or {}
    if (prot.get("lock_branch") or {}).get("enabled"):
        return MergePlan("blocked", b, (f"{b} is locked (read-only)",),
                         f"unlock {b} in its branch protection rule, then add `accepted` again")
    slug = (rules.app_slug or "").lower()

    def allowed(actors: dict[str, Any] | None) -> bool:
        apps = (actors or {}).get("apps") or []
        return bool(slug) and any(str(a.get("slug", "")).lower() == slug for a in apps
                                  if isinstance(a, dict))

    reviews = prot.get("required_pull_request_reviews")
    if reviews is not None and not allowed(reviews.get("bypass_pull_request_allowances")):
        direct.append("the branch protection rule requires a pull request")
    if prot.get("required_status_checks"):
        direct.append("the branch protection rule requires status checks on the new commit")
    if prot.get("restrictions") is not None and not allowed(prot["restrictions"]):
        direct.append("the branch protection rule restricts who can push")
    if (prot.get("required_linear_history") or {}).get("enabled"):
        direct.append("the branch protection rule forbids merge commits")
    if not direct:
        return MergePlan("direct", b)
    return MergePlan("pull_request", b, tuple(direct),
                     f"To merge directly instead, add the publish App to the bypass list of "
                     f"{b}'s ruleset (or to the branch protection rule's allowances).")


class RulesAPI(Protocol):
    def branch_protected(self, branch: str) -> bool | None: ...
    def branch_rules(self, branch: str) -> list[dict[str, Any]]: ...
    def ruleset(self, ruleset_id: int) -> dict[str, Any]: ...
    def protection_rule(self, branch: str) -> tuple[bool, dict[str, Any] | None]: ...


def read(api: RulesAPI, branch: str, app_slug: str | None = None) -> BranchRules | None:
    """The rules of ``branch`` (None: the branch does not exist).

    The protection rule is asked first: GitHub answers it (the rule, or "Branch not
    protected") only for a branch that exists, so that answer and the rulesets' rules
    say what ``GET /branches/{b}``'s ``protected`` flag would (any rule or active
    ruleset), and the branch is not read too. A token that may not read the rule
    (no Administration: 403) reads the branch for the flag and its existence."""
    rules = [Rule(str(r.get("type")), dict(r.get("parameters") or {}),
                  r.get("ruleset_id") if isinstance(r.get("ruleset_id"), int) else None)
             for r in api.branch_rules(branch) if isinstance(r, dict)]
    readable, protection = api.protection_rule(branch)
    if readable:
        protected: bool | None = protection is not None or bool(rules)
    else:
        protected = api.branch_protected(branch)
        if protected is None:
            return None
    bypass: dict[int, str] = {}
    for rid in sorted({r.ruleset_id for r in rules if r.ruleset_id is not None}):
        answer = api.ruleset(rid)
        bypass[rid] = str(answer.get("current_user_can_bypass") or "never")
    return BranchRules(branch, bool(protected), rules, bypass, protection, readable, app_slug)
