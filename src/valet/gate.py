"""The CI gate: is the release commit green?

``evaluate`` is pure: it takes every commit status (the statuses endpoint, all
pages, newest first, each with its creator), every check run (latest per name)
and every check suite of the commit, and returns a verdict. ``fetch`` does the
paginated reads through a tiny protocol so the decision logic is tested without
a network.

Which statuses count (docs/security.md, "CI overridden"): per context, the
latest status *of each creator*. The context is failing if any creator's latest
is failing, pending if any is pending, green only when every creator's latest
is green. Anyone with write access can post a status, so a later `success` from
someone else never hides CI's `failure` (GitHub's combined status would: it
keeps only the newest status per context, whoever wrote it).

Check suites: a suite that is queued or in progress with no check run yet is
CI that has not started reporting; it keeps the gate pending (an App whose
suites stay queued forever can be ignored by its slug, like a check name).
"""

from __future__ import annotations

import enum
import fnmatch
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

PASSING = frozenset({"success", "neutral", "skipped"})
FAILING = frozenset({"failure", "error", "cancelled", "timed_out", "action_required",
                     "stale", "startup_failure"})
RUNNING = frozenset({"queued", "in_progress", "pending", "waiting", "requested"})

NO_CHECKS_HINT = (
    "No status and no check run exist on the release commit. Events caused by the "
    "default GITHUB_TOKEN start no workflows, so if the release branch was pushed with "
    "it, CI never ran: push it with a GitHub App token (actions/create-github-app-token) "
    "as the example release.yml does, then re-run the prepare workflow. If CI is simply "
    "slow to start, a scheduled publish run re-checks."
)


class Verdict(enum.Enum):
    GREEN = "green"
    PENDING = "pending"
    FAILED = "failed"
    NONE = "none"  # nothing at all reported on the commit: treated as pending


@dataclass(frozen=True)
class Check:
    name: str
    state: str  # success / pending / failure / ... (for a check run: its conclusion or status)
    url: str | None
    kind: str  # "status", "check" or "suite"
    creator: str | None = None  # a status's creator (login), a suite's App slug


@dataclass
class GateResult:
    verdict: Verdict
    checks: list[Check] = field(default_factory=list)
    failing: list[Check] = field(default_factory=list)
    pending: list[Check] = field(default_factory=list)
    ignored: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.GREEN


def _status_check(item: dict[str, Any]) -> Check:
    creator = item.get("creator")
    login = creator.get("login") if isinstance(creator, dict) else None
    return Check(
        name=str(item.get("context") or "status"),
        state=str(item.get("state") or "pending").lower(),
        url=item.get("target_url") if isinstance(item.get("target_url"), str) else None,
        kind="status", creator=login if isinstance(login, str) else None,
    )


def latest_per_creator(statuses: Iterable[dict[str, Any]]) -> list[Check]:
    """The latest status of each (context, creator); statuses come newest first (by id
    when they carry one). A status without a creator counts as its own creator."""
    items = [s for s in statuses if isinstance(s, dict)]
    if all(isinstance(s.get("id"), int) for s in items):
        items.sort(key=lambda s: s["id"], reverse=True)
    seen: dict[tuple[str, str | None], Check] = {}
    for item in items:
        check = _status_check(item)
        seen.setdefault((check.name, check.creator.lower() if check.creator else None), check)
    return list(seen.values())


def _suite_check(item: dict[str, Any]) -> Check | None:
    """A suite that has not started reporting (no run yet), as a pending check; None otherwise.
    A suite with runs is represented by its runs."""
    if int(item.get("latest_check_runs_count") or 0) > 0:
        return None
    status = str(item.get("status") or "queued").lower()
    raw = item.get("app")
    app: dict[str, Any] = raw if isinstance(raw, dict) else {}
    slug = str(app.get("slug") or app.get("name") or "an App")
    if status == "completed":
        conclusion = str(item.get("conclusion") or "unknown").lower()
        if conclusion in PASSING:
            return None
        return Check(name=slug, state=conclusion, url=None, kind="suite", creator=slug)
    return Check(name=slug, state=status, url=None, kind="suite", creator=slug)


def _run_check(item: dict[str, Any]) -> Check:
    status = str(item.get("status") or "queued").lower()
    conclusion = item.get("conclusion")
    state = status if status != "completed" else str(conclusion or "unknown").lower()
    url = item.get("html_url") or item.get("details_url")
    return Check(name=str(item.get("name") or "check"), state=state,
                 url=url if isinstance(url, str) else None, kind="check")


def _ignored(check: Check, patterns: Iterable[str], run_marker: str | None) -> bool:
    if any(fnmatch.fnmatchcase(check.name, p) for p in patterns):
        return True
    # The publish run's own job, when it happens to report on this commit.
    return bool(run_marker and check.url and run_marker in check.url)


def evaluate(statuses: Iterable[dict[str, Any]], check_runs: Iterable[dict[str, Any]],
             suites: Iterable[dict[str, Any]] = (), *, ignore: Iterable[str] = (),
             run_marker: str | None = None, required: Iterable[str] = (),
             ci_required: bool = True) -> GateResult:
    """The verdict on everything reported on the commit.

    ``required``: contexts / check names that must be there and green (missing: pending).
    ``ci_required`` False (``ci: none``): nothing reported is green, not "none"."""
    patterns = [p for p in ignore if p]
    result = GateResult(Verdict.GREEN)
    suite_checks = [c for c in map(_suite_check, (s for s in suites if isinstance(s, dict))) if c]
    found = [*latest_per_creator(statuses), *map(_run_check, check_runs), *suite_checks]
    for name in required:
        if not any(c.name == name for c in found if c.kind != "suite"):
            found.append(Check(name=name, state="expected", url=None, kind="required"))
    for check in found:
        if _ignored(check, patterns, run_marker):
            result.ignored.append(check)
            continue
        result.checks.append(check)
        if check.state in PASSING:
            continue
        if check.state in RUNNING or check.state == "expected":
            result.pending.append(check)
        else:  # failing or a state we do not know: never let it pass
            result.failing.append(check)
    if result.failing:
        result.verdict = Verdict.FAILED
    elif result.pending:
        result.verdict = Verdict.PENDING
    elif not result.checks:
        result.verdict = Verdict.NONE if ci_required else Verdict.GREEN
    return result


class GateAPI(Protocol):
    def pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        """Each decoded JSON page of a paginated GET."""


Reported = tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]


def reads(repo: str, sha: str) -> tuple[tuple[str, dict[str, Any] | None], ...]:
    """The paginated lists ``fetch`` reads, as ``(path, params)``: a run starts them ahead
    (publish.ahead) and a sweep asks them conditionally (publish.sweep)."""
    return ((f"/repos/{repo}/commits/{sha}/statuses", None),
            (f"/repos/{repo}/commits/{sha}/check-runs", {"filter": "latest"}),
            (f"/repos/{repo}/commits/{sha}/check-suites", None))


def fetch(api: GateAPI, repo: str, sha: str) -> Reported:
    """(statuses, check runs, check suites) of a commit, every page of each. Statuses
    come from the list endpoint (each with its creator), not the combined status."""
    (status_path, status_params), (runs_path, runs_params), (suites_path, suites_params) = \
        reads(repo, sha)
    statuses: list[dict[str, Any]] = []
    for page in api.pages(status_path, status_params):
        statuses.extend(x for x in page or [] if isinstance(x, dict))
    runs: list[dict[str, Any]] = []
    for page in api.pages(runs_path, runs_params):
        runs.extend(x for x in (page or {}).get("check_runs") or [] if isinstance(x, dict))
    suites: list[dict[str, Any]] = []
    for page in api.pages(suites_path, suites_params):
        suites.extend(x for x in (page or {}).get("check_suites") or [] if isinstance(x, dict))
    return statuses, runs, suites


def check_gate(api: GateAPI, repo: str, sha: str, *, ignore: Iterable[str] = (),
               run_marker: str | None = None, required: Iterable[str] = (),
               ci_required: bool = True) -> GateResult:
    statuses, runs, suites = fetch(api, repo, sha)
    return evaluate(statuses, runs, suites, ignore=ignore, run_marker=run_marker,
                    required=required, ci_required=ci_required)
