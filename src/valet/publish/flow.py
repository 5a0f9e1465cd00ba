"""The orchestrator: from an event (a hint) to one request checked, planned and applied.

``process`` re-reads the issue and runs ``approval_checks`` (the approval stands,
the request App wrote the request, who asked for it, who approved it, the body
they approved); ``_publish`` then runs ``checks`` — the SDK-side checks — and only
then ``apply``: the CI gate, the download and the targets. Nothing is downloaded
and no registry token is used before every check in both lists passed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from valet import gha
from valet.errors import NotAuthorizedError, UsageError, ValetError
from valet.events import Actor, Ignored, Labeled, Sweep
from valet.labels import Label
from valet.publish import ahead, checks, review, served
from valet.publish.apply import apply
from valet.publish.approval import Approved, approval_id, approved_digest
from valet.publish.context import Deps, Refused, Review, Run, Settings
from valet.publish.identity import Identities
from valet.publish.report import Report
from valet.publish.ticks import Ticker
from valet.publish.timeline import (
    aimed_at_valet,
    is_request_title,
    label_names,
    latest_label_actor,
    node_ids,
)
from valet.publish_api import NotFound

Check = Callable[[Run], None]
ReviewCheck = Callable[[Review], None]


class Publisher:
    def __init__(self, settings: Settings, deps: Deps) -> None:
        self.s = settings
        self.d = deps
        self.report = Report(deps.issues, settings.run_url)
        self.ticker = Ticker(deps.issues)

    @property
    def ids(self) -> Identities:
        if self.s.identities is None and self.d.identify is not None:
            self.s.identities = self.d.identify()
        if self.s.identities is None:
            raise UsageError(
                "the request identity is not configured: valet publish must know which App "
                "opens requests and which App it is itself",
                hint="set the publish action's inputs `request-app:` (the SDK side's App) and "
                "`app-slug:` (this App: ${{ steps.app-token.outputs.app-slug }})")
        return self.s.identities

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
        if ev.is_pull_request:
            gha.notice(f"#{ev.number} is not an issue", title="nothing to publish")
            return 0
        ahead.start(self.d, self.s, ev.number, title=ev.title, body=ev.body,
                    approver=ev.sender.login)
        return self.process(ev.number, approver=ev.sender, approved=Approved(text=ev.body),
                            event=ev)

    def sweep(self, only: int | None = None) -> int:
        """A schedule run looks at every issue waiting in ci-pending and hands those whose CI
        decided to their own run (publish.sweep: it publishes nothing itself); the run it
        starts (workflow_dispatch with ``issue``) re-checks and publishes that one issue."""
        if only is not None:
            return self.resume(only, strict=True, waiting=True)
        if self.d.warm_identity is not None and self.s.identities is None:
            self.d.warm_identity()
        from valet.publish.sweep import sweep

        return sweep(self.d, self.s, self.ids)

    def resume(self, number: int, *, strict: bool = True, waiting: bool = False) -> int:
        """Act on an issue without its label event (its sweep-started run, or `--issue N`).

        The approver is the actor of the latest `labeled accepted` event; the body is
        compared with the digest the publish App recorded for that approval when it put
        the issue in ci-pending (``strict``: refuse when there is none; `--issue` by hand
        only warns).
        """
        ahead.start(self.d, self.s, number, title="", body="", approver=None, resume=True)
        ids = self.ids
        issue = self._issue(number)
        names = label_names(issue)
        if issue.get("state") != "open" or str(Label.ACCEPTED) not in names:
            gha.notice(f"#{number} is not open with `accepted`", title="nothing to publish")
            return 0
        if waiting and str(Label.CI_PENDING) not in names:
            # a run the sweep started, after another run of this issue acted on it
            gha.notice(f"#{number} is not waiting for CI (any more)", title="nothing to publish")
            return 0
        ahead.sdk_side(self.d, self.s, str(issue.get("title") or ""),
                       str(issue.get("body") or ""))
        events = self.d.issues.events(number)
        actor = latest_label_actor(events, str(Label.ACCEPTED))
        if actor is not None:
            ahead.approver(self.d, self.s, actor.login)
        if actor is None:
            return self.report.refuse(number, names, NotAuthorizedError(
                "no `labeled accepted` event found for this issue",
                hint="remove the `accepted` label and add it again"))
        digest = approved_digest(self.d.issues, number, events, ids)
        if digest is None and waiting and _earlier_record(self.d.issues, number, ids):
            # Approved again since it went to ci-pending: that approval's own run (queued in
            # this issue's group, after this one) acts on it; refusing here would retract it.
            # Said on the issue too: should GitHub have dropped that run (a newer pending run
            # of a group replaces an older one), a person sees what to do.
            return self.report.stale(number, (
                f"The run the scheduled sweep started once CI finished found an approval by "
                f"{actor.login} newer than the one the request waited with; the run of that "
                "approval publishes it."))
        return self.process(number, approver=actor,
                            approved=Approved(digest=digest, required=strict),
                            issue=issue, events=events)

    # ---- one request: the approval ---------------------------------------

    def approval_checks(self) -> list[ReviewCheck]:
        """The approval, checked in this order before anything of the SDK is read."""
        ids, issues = self.ids, self.d.issues
        return [
            review.still_approved,
            lambda r: review.opened_by_request_app(r, ids),
            review.parses,
            lambda r: served.repo_served(r, self.d, self.s),  # before the SDK is read
            lambda r: review.written_only_by_request_app(r, issues, ids),
            lambda r: review.requested_by(r, self.d.sdk(r.request.repo), self.s),  # type: ignore[union-attr]
            lambda r: review.sealed_by_its_run(r, self.d.sdk(r.request.repo), self.s),  # type: ignore[union-attr]
            lambda r: review.approver_allowed(r, issues, self.s),
            review.body_unchanged,
        ]

    def process(self, number: int, *, approver: Actor, approved: Approved,
                event: Labeled | None = None, issue: dict[str, Any] | None = None,
                events: list[dict[str, Any]] | None = None) -> int:
        self.ids  # noqa: B018 - refuse to run at all without both identities
        issue = issue if issue is not None else self._issue(number)
        names = label_names(issue)
        title = str(issue.get("title") or "")
        if issue.get("state") != "open" or "pull_request" in issue:
            gha.notice(f"#{number} is not an open issue", title="nothing to publish")
            return 0
        if not is_request_title(title):
            from valet.issue_format import parse_title

            if not aimed_at_valet(title, str(issue.get("body") or "")):
                gha.notice(f"#{number} is not a publish request (its title does not parse)",
                           title="nothing to publish")
                return 0
            try:
                parse_title(title)
            except ValetError as exc:
                return self.report.refuse(number, names, NotAuthorizedError(
                    f"the title is not a publish request: {exc.message}",
                    hint="requests are opened by the release workflow with the title "
                    "`publish: OWNER/REPO[/PATH]@VERSION`: run it again for a new request"))
        if str(Label.ACCEPTED) not in names:
            if event is None:
                gha.notice(f"#{number} does not have `accepted`", title="nothing to publish")
                return 0
            return self.report.stale(number, "The `accepted` label this run was started for "
                                     "is no longer on the issue (an old run re-run, or the "
                                     "label was removed before the run started).")
        rev = Review(number=number, issue=issue, names=names,
                     events=events if events is not None else self.d.issues.events(number),
                     approver=approver, approved=approved, event=event)
        try:
            for check in self.approval_checks():
                check(rev)
        except Refused as refused:
            return self.report.refuse(number, names, refused.error)
        except ValetError as exc:
            return self.report.fail_early(number, names, exc)
        assert rev.request is not None and rev.approval is not None
        gha.info(f"request: {rev.request.title} (#{number}), approved by {rev.approval.login}, "
                 f"requested by {', '.join(rev.requesters)}")

        # dry-run holds when the issue has it now, or had it when the event was sent.
        dry_run = (self.s.dry_run or str(Label.DRY_RUN) in names
                   or (event is not None and str(Label.DRY_RUN) in event.labels))
        run = Run(number=number, request=rev.request, approval=rev.approval, labels=names,
                  dry_run=dry_run, body=rev.body, events=rev.events,
                  approval_event=approval_id(rev.events),
                  recorded=approved.digest is not None)
        run.node_id, run.label_ids = node_ids(issue)
        try:
            return self._publish(run)
        except Refused as refused:
            return self.report.refuse(run.number, run.labels, refused.error)
        except ValetError as exc:
            return self.report.fail(run, exc)
        finally:
            self.report.step_summary(run)

    def _issue(self, number: int) -> dict[str, Any]:
        try:
            return self.d.issues.issue(number)  # type: ignore[no-any-return]
        except NotFound:
            raise UsageError(f"issue #{number} does not exist in {self.s.publish_repo}",
                             hint="pass the number of an approval issue of the publish "
                             "repository (`publish: OWNER/REPO@VERSION`)") from None

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
            lambda run: served.destinations_allowed(run, self.d, self.s),
            lambda run: checks.reviewed(run, sdk(run.request.repo)),
            lambda run: checks.merges_cleanly(run, sdk(run.request.repo)),
        ]

    def _publish(self, run: Run) -> int:
        for check in self.checks():
            check(run)
        return apply(run, self.d, self.s, self.report, self.ticker, self.ids)


def _earlier_record(issues: Any, number: int, ids: Identities) -> bool:
    """The publish App recorded an approval of this issue, just not the latest one."""
    from valet import summary
    from valet.publish.approval import own_comments

    return bool(own_comments(issues, number, ids, summary.APPROVED_MARKER))
