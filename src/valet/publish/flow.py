"""The orchestrator: from an event (a hint) to one request checked, planned and applied.

``process`` reads the issue and decides on the approval (the request parses,
the approver is allowed, the body is the approved one); ``_publish`` then runs
``checks`` — every check before any download or token use, in order — and
only then the CI gate, the download and the targets.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from valet import gha, summary
from valet.errors import NotARequestError, NotAuthorizedError, ValetError
from valet.events import Actor, Ignored, Labeled, Sweep
from valet.gate import Verdict, check_gate
from valet.labels import Label
from valet.publish import checks
from valet.publish.approval import Approved, approve, approved_digest
from valet.publish.checks import Refused
from valet.publish.context import Deps, Run, Settings
from valet.publish.execute import execute, rows_for
from valet.publish.finish import finish
from valet.publish.plan import Plan, PlanItem
from valet.publish.report import Report, ci_text
from valet.publish.ticks import Ticker, who_ticked
from valet.publish.timeline import is_request_title, label_names, latest_label_actor
from valet.targets.base import TargetContext

Check = Callable[[Run], None]


class Publisher:
    def __init__(self, settings: Settings, deps: Deps) -> None:
        self.s = settings
        self.d = deps
        self.report = Report(deps.issues, settings.run_url)
        self.ticker = Ticker(deps.issues)

    # ---- entry points --------------------------------------------------

    def handle(self, event: Labeled | Sweep | Ignored) -> int:
        if isinstance(event, Ignored):
            gha.notice(event.reason, title="nothing to publish")
            return 0
        if isinstance(event, Sweep):
            return self.sweep(event.issue)
        return self.on_labeled(event)

    def on_labeled(self, ev: Labeled) -> int:
        if ev.label != str(Label.ACCEPTED):
            gha.notice(f"label `{ev.label}` added: only `accepted` starts a release",
                       title="nothing to publish")
            return 0
        if ev.repo.lower() != self.s.publish_repo.lower():
            gha.notice(f"the event comes from {ev.repo}, not {self.s.publish_repo}",
                       title="nothing to publish")
            return 0
        if ev.state != "open" or ev.is_pull_request:
            gha.notice(f"#{ev.number} is not an open issue", title="nothing to publish")
            return 0
        if not is_request_title(ev.title):
            gha.notice(f"#{ev.number} is not a publish request (its title does not parse)",
                       title="nothing to publish")
            return 0
        return self.process(ev.number, approver=ev.sender, approved=Approved(text=ev.body))

    def sweep(self, only: int | None = None) -> int:
        """Re-check issues waiting in ci-pending (schedule / workflow_dispatch)."""
        waiting = self.d.issues.open_issues_with([str(Label.CI_PENDING), str(Label.ACCEPTED)])
        if only is not None:
            waiting = [i for i in waiting if i.get("number") == only]
        if not waiting:
            gha.info("no approved issue is waiting for CI")
            return 0
        worst = 0
        for item in waiting:
            number = int(item["number"])
            with gha.group(f"#{number}"):
                try:
                    code = self.resume(number, strict=True)
                except ValetError as exc:
                    gha.error(f"#{number}: {exc}", title=exc.title)
                    code = exc.exit_code
            worst = worst or code
        return worst

    def resume(self, number: int, *, strict: bool = True) -> int:
        """Act on an issue without its label event (sweep, or `--issue N`).

        The approver is the actor of the latest `labeled accepted` event; the body is
        compared with the digest valet recorded when it put the issue in ci-pending
        (``strict``: refuse when there is none; `--issue` by hand only warns).
        """
        issue = self.d.issues.issue(number)
        names = label_names(issue)
        if issue.get("state") != "open" or str(Label.ACCEPTED) not in names:
            gha.notice(f"#{number} is not open with `accepted`", title="nothing to publish")
            return 0
        if not is_request_title(issue.get("title") or ""):
            gha.notice(f"#{number} is not a publish request", title="nothing to publish")
            return 0
        events = self.d.issues.events(number)
        actor = latest_label_actor(events, str(Label.ACCEPTED))
        if actor is None:
            return self.report.refuse(number, names, NotAuthorizedError(
                "no `labeled accepted` event found for this issue",
                hint="remove the `accepted` label and add it again"))
        digest = approved_digest(self.d.issues, number, events)
        if digest is None and strict:
            return self.report.refuse(number, names, NotAuthorizedError(
                "no record of the body that was approved (valet's `ci-pending` comment is "
                "missing), so an edit after approval cannot be ruled out",
                hint="remove the `accepted` label and add it again"))
        return self.process(number, approver=actor, approved=Approved(digest=digest),
                            issue=issue, events=events)

    # ---- one request: the approval ---------------------------------------

    def process(self, number: int, *, approver: Actor, approved: Approved,
                issue: dict[str, Any] | None = None,
                events: list[dict[str, Any]] | None = None) -> int:
        from valet.issue_format import parse_issue

        issue = issue if issue is not None else self.d.issues.issue(number)
        names = label_names(issue)
        body_now = issue.get("body") or ""
        title = issue.get("title") or ""
        if issue.get("state") != "open":
            gha.notice(f"#{number} is closed", title="nothing to publish")
            return 0
        if not is_request_title(title):
            gha.notice(f"#{number} is not a publish request (its title does not parse)",
                       title="nothing to publish")
            return 0
        try:
            request = parse_issue(title, approved.text if approved.text is not None else body_now)
        except NotARequestError as exc:
            return self.report.refuse(number, names, NotAuthorizedError(
                f"the issue is not a valid publish request: {exc.message}",
                hint="re-create the request with `valet request` (its body is generated; "
                "edits outside the checkboxes break it)"))
        gha.info(f"request: {request.title} (#{number}), labelled by {approver.login}")

        if events is None:
            events = self.d.issues.events(number)
        try:
            approval = approve(self.d.issues, self.s.policy, self.s.publish_repo, approver,
                               request, events)
        except NotAuthorizedError as exc:
            return self.report.refuse(number, names, exc)
        if not approved.known:
            gha.warning("no approved body to compare with (run by hand without an event): "
                        "the body is taken as it is now", title="body not compared")
        elif not approved.matches(body_now):
            return self.report.refuse(number, names, NotAuthorizedError(
                "the issue body changed after it was approved (the body now differs from the "
                f"body @{approval.login} approved)",
                hint="check the edit, then remove and add `accepted` again to approve the "
                "body as it is now"))

        dry_run = self.s.dry_run or str(Label.DRY_RUN) in names
        run = Run(number=number, request=request, approval=approval, labels=names,
                  dry_run=dry_run, body=body_now, events=events)
        try:
            return self._publish(run)
        except Refused as refused:
            return self.report.refuse(run.number, run.labels, refused.error)
        except ValetError as exc:
            return self.report.fail(run, exc)
        finally:
            self.report.step_summary(run)

    # ---- one request: the checks, then the targets -------------------------

    def checks(self) -> list[Check]:
        """Every check before any download or token use, in this order.

        A check reads what it needs, fills the run, or raises Refused (label removed,
        reason commented) or a ValetError (the run fails)."""
        sdk = self.d.sdk
        return [
            lambda run: checks.merge_target(run, sdk(run.request.repo), self.s),
            lambda run: checks.landing(run, sdk(run.request.repo)),
            lambda run: checks.config_and_plan(run, sdk(run.request.repo), self.d.resolve),
        ]

    def _publish(self, run: Run) -> int:
        for check in self.checks():
            check(run)
        assert run.config is not None and run.plan is not None
        request, config, plan = run.request, run.config, run.plan
        if not run.dry_run:
            self.report.transition(run, "resume")
        self._mask_credentials(plan)
        if plan.ticked:
            run.ticked_by = who_ticked(self.d.issues, run.number, plan.ticked)

        # CI on the release commit.
        sdk = self.d.sdk(request.repo)
        gate = check_gate(sdk, request.repo, checks.release_commit(run),
                          ignore=self.s.ignore_checks, run_marker=_run_marker(),
                          required=config.status_contexts, ci_required=config.ci != "none")
        run.gate = gate
        if gate.verdict in (Verdict.PENDING, Verdict.NONE):
            return self.report.ci_pending(run)
        if gate.verdict is Verdict.FAILED:
            return self.report.ci_failed(run)
        if str(Label.CI_PENDING) in run.labels and not run.dry_run:
            self.report.transition(run, "ci-green")

        # Every artifact, verified, before any target sees one.
        files: dict[str, Path] = {}
        if plan.run:
            dest = self.s.workdir / f"valet-{run.number}"
            dest.mkdir(parents=True, exist_ok=True)
            store = self.d.store(request, config)
            run.store = store
            with gha.group("download and verify artifacts"):
                files = store.download_verified(list(request.artifacts), dest / "artifacts")
        by_name = {a.name: a for a in request.artifacts}

        def make_ctx(item: PlanItem) -> TargetContext:
            work = self.s.workdir / f"valet-{run.number}" / "work" / _safe_dir(item.key)
            work.mkdir(parents=True, exist_ok=True)
            return TargetContext(request=request, config=config, target=item.target,
                                 files={n: files[n] for n in item.files if n in files},
                                 artifacts={n: by_name[n] for n in item.files if n in by_name},
                                 workdir=work, env=self.s.env, github=self.d.sdk_github,
                                 dry_run=run.dry_run)

        with gha.group("publish targets"):
            outcome = execute(plan, self.d.resolve, make_ctx,
                              tick=lambda k: self.ticker.tick(run, k),
                              max_parallel=self.s.max_parallel, dry_run=run.dry_run)
        run.outcome = outcome
        run.rows = rows_for(outcome, plan, by_name, run.ticked_by)
        if run.dry_run:
            self.d.issues.comment(run.number, summary.plan(request.title, run.rows,
                                                           ci_text(gate), self.s.run_url))
            self.report.transition(run, "rehearsed")
            run.result = "dry run"
            return 0
        if outcome.failed:
            return self.report.targets_failed(run, outcome)
        return finish(run, self.d, self.report)

    def _mask_credentials(self, plan: Plan) -> None:
        for item in plan.run:
            try:
                names = self.d.resolve(item.name).credentials
            except ValetError:
                continue
            for var in names:
                gha.add_mask(self.s.env.get(var))


def _safe_dir(key: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in key) or "target"


def _run_marker() -> str | None:
    run_id = os.environ.get("GITHUB_RUN_ID")
    return f"/actions/runs/{run_id}/" if run_id else None
