"""How a run ends on the issue: a label transition (labels.py) and a comment (summary.py)."""

from __future__ import annotations

from typing import Any

from valet import gha, labels, summary
from valet.errors import CIFailedError, NotAuthorizedError, TargetError, ValetError
from valet.gate import GateResult, Verdict
from valet.labels import Label
from valet.publish.context import Run
from valet.publish.execute import Outcome
from valet.request import Request


class Report:
    def __init__(self, issues: Any, run_url: str | None) -> None:
        self.issues = issues
        self.run_url = run_url

    def transition(self, run: Run, name: str) -> None:
        add, remove = labels.diff(run.labels, name)
        for label in remove:
            self.issues.remove_label(run.number, label)
        self.issues.add_labels(run.number, add)
        run.labels = labels.transition(name).apply(run.labels)

    def refuse(self, number: int, names: set[str], exc: NotAuthorizedError) -> int:
        gha.warning(str(exc), title=exc.title)
        _, remove = labels.diff(names, "refuse")
        for name in remove:
            self.issues.remove_label(number, name)
        self.issues.comment(number, summary.refused(exc.message, exc.hint, self.run_url))
        gha.summary(f"## valet publish: approval refused\n\n{gha.md_escape(exc.message)}")
        return 0

    def ci_pending(self, run: Run) -> int:
        assert run.gate is not None
        waiting = [c.name for c in run.gate.pending] or ["no check reported yet"]
        gha.notice(f"CI is not finished on {run.request.sha}: {', '.join(waiting)}",
                   title="waiting for CI")
        run.result = "waiting for CI"
        if run.dry_run:
            self.issues.comment(run.number, summary.plan(run.request.title, [],
                                                         ci_text(run.gate), self.run_url))
            self.transition(run, "rehearsed")
            return 0
        # Comment once per approval: its record of the approved body is what the
        # scheduled re-check compares the body with.
        if str(Label.CI_PENDING) not in run.labels or not run.recorded:
            self.issues.comment(run.number, summary.ci_pending(
                run.gate, run.request.sha or "", run.body, run.approval.login, self.run_url,
                approval=run.approval_event))
            run.recorded = True
        self.transition(run, "ci-pending")
        return 0

    def ci_failed(self, run: Run) -> int:
        assert run.gate is not None
        err = CIFailedError("CI failed on the release commit: "
                            + ", ".join(f"{c.name} ({c.state})" for c in run.gate.failing))
        gha.error(err.message, title=err.title)
        run.result = "CI failed"
        self.issues.comment(run.number, summary.ci_failed(run.gate, run.request.sha or "",
                                                          self.run_url))
        self.transition(run, "rehearsed" if run.dry_run else "ci-failed")
        return err.exit_code

    def fail(self, run: Run, exc: ValetError, target: str | None = None,
             resume: bool = True) -> int:
        """``resume``: adding `accepted` again can pass (False: only a new request can)."""
        gha.error(str(exc), title=exc.title)
        run.result = f"failed: {exc.title}"
        done = list(run.outcome.done) if run.outcome else []
        self.issues.comment(run.number, summary.failure(exc.title, exc.message, exc.hint,
                                                        self.run_url, target=target, done=done,
                                                        resume=resume))
        self.transition(run, "rehearsed" if run.dry_run else "fail")
        return exc.exit_code

    def fail_early(self, number: int, names: set[str], exc: ValetError) -> int:
        """A failure before the request is known (a check could not run)."""
        gha.error(str(exc), title=exc.title)
        add, remove = labels.diff(names, "fail")
        for label in remove:
            self.issues.remove_label(number, label)
        self.issues.add_labels(number, add)
        self.issues.comment(number, summary.failure(exc.title, exc.message, exc.hint,
                                                    self.run_url))
        return exc.exit_code

    def stale(self, number: int, reason: str) -> int:
        gha.notice(reason, title="nothing to publish")
        self.issues.comment(number, summary.stale(reason, self.run_url))
        return 0

    def targets_failed(self, run: Run, outcome: Outcome) -> int:
        failed = outcome.failed
        first = failed[0]
        assert first.error is not None
        if outcome.preflight_failed:
            message = "preflight failed, nothing was uploaded anywhere: " + "; ".join(
                _keyed(r.key, r.error.message if r.error else r.outcome) for r in failed)
            return self.fail(run, TargetError(message, hint=first.error.hint))
        message = "; ".join(_keyed(r.key, r.error.message if r.error else r.outcome)
                            for r in failed)
        not_run = [k for k, r in outcome.results.items() if r.outcome == "not run"]
        if not_run:
            message += f" (not run: {', '.join(not_run)})"
        err = TargetError(message, hint=first.error.hint)
        err.exit_code = max(r.error.exit_code for r in failed if r.error)
        return self.fail(run, err, target=", ".join(r.key for r in failed))

    def step_summary(self, run: Run) -> None:
        gha.summary(summary.step_summary(
            run.request.title, approver=run.approval.login if run.approval else None,
            ci=ci_text(run.gate) if run.gate else "not checked", rows=run.rows,
            outcome=run.result, links={"release commit CI": checks_url(run.request),
                                       "prepare run": run.request.run_url,
                                       "this run": self.run_url}))


def _keyed(key: str, message: str) -> str:
    """``key: message``, unless the target's message already starts with its key."""
    return message if message.startswith(f"{key}: ") else f"{key}: {message}"


def ci_text(gate: GateResult | None) -> str:
    if gate is None:
        return "not checked"
    if gate.verdict is Verdict.GREEN and not gate.checks:
        return "no CI required (ci: none in the configuration), none reported"
    if gate.verdict is Verdict.GREEN:
        return f"green ({len(gate.checks)} checks)"
    if gate.verdict is Verdict.NONE:
        return "no check reported on the release commit"
    if gate.verdict is Verdict.PENDING:
        return "pending: " + ", ".join(c.name for c in gate.pending)
    return "failed: " + ", ".join(c.name for c in gate.failing)


def checks_url(request: Request) -> str | None:
    from valet.github_client import server_url

    if request.sha:
        return f"{server_url()}/{request.repo}/commit/{request.sha}/checks"
    return None
