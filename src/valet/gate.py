"""The CI gate: is the release commit green?

``evaluate`` is pure: it takes the commit statuses (latest per context, as the
combined-status endpoint returns them) and every check run (the check-runs
endpoint, all pages) and returns a verdict. ``fetch`` does the paginated reads
through a tiny protocol so the decision logic is tested without a network.
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
    kind: str  # "status" or "check"


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
    return Check(
        name=str(item.get("context") or "status"),
        state=str(item.get("state") or "pending").lower(),
        url=item.get("target_url") if isinstance(item.get("target_url"), str) else None,
        kind="status",
    )


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


def evaluate(statuses: Iterable[dict[str, Any]], check_runs: Iterable[dict[str, Any]], *,
             ignore: Iterable[str] = (), run_marker: str | None = None) -> GateResult:
    patterns = [p for p in ignore if p]
    result = GateResult(Verdict.GREEN)
    for check in [*map(_status_check, statuses), *map(_run_check, check_runs)]:
        if _ignored(check, patterns, run_marker):
            result.ignored.append(check)
            continue
        result.checks.append(check)
        if check.state in PASSING:
            continue
        if check.state in RUNNING:
            result.pending.append(check)
        else:  # failing or a state we do not know: never let it pass
            result.failing.append(check)
    if result.failing:
        result.verdict = Verdict.FAILED
    elif result.pending:
        result.verdict = Verdict.PENDING
    elif not result.checks:
        result.verdict = Verdict.NONE
    return result


class GateAPI(Protocol):
    def pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        """Each decoded JSON page of a paginated GET."""


def reads(repo: str, sha: str) -> tuple[tuple[str, dict[str, Any] | None], ...]:
    """The paginated lists ``fetch`` reads, as ``(path, params)``: a run starts them ahead
    (publish.ahead) and a sweep asks them conditionally (publish.sweep)."""
    return ((f"/repos/{repo}/commits/{sha}/status", None),
            (f"/repos/{repo}/commits/{sha}/check-runs", {"filter": "latest"}))


def fetch(api: GateAPI, repo: str, sha: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(statuses, check runs) of a commit, every page of both."""
    (status_path, status_params), (runs_path, runs_params) = reads(repo, sha)
    statuses: list[dict[str, Any]] = []
    for page in api.pages(status_path, status_params):
        statuses.extend(x for x in (page or {}).get("statuses") or [] if isinstance(x, dict))
    runs: list[dict[str, Any]] = []
    for page in api.pages(runs_path, runs_params):
        runs.extend(x for x in (page or {}).get("check_runs") or [] if isinstance(x, dict))
    return statuses, runs


def check_gate(api: GateAPI, repo: str, sha: str, *, ignore: Iterable[str] = (),
               run_marker: str | None = None) -> GateResult:
    statuses, runs = fetch(api, repo, sha)
    return evaluate(statuses, runs, ignore=ignore, run_marker=run_marker)
