"""Publish an approved release: check, plan, then apply.

The order of checks is the security model of DESIGN.md: the event, the
approver, the body unchanged since approval, the configuration from the
protected merge target, CI on the release commit, every artifact's digest; only
then the targets. The plan is computed first (pure: which targets, which
files); applying it preflights every target before any upload, asks each
registry whether the version is already there, publishes the rest concurrently
and `github` (which makes the release public) last, ticking each checkbox as
its target succeeds. Every outcome is a label transition (labels.py) and a
comment (summary.py).
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from valet import gha, labels, summary
from valet.authz import Approval, Policy, authorize
from valet.config import Config, TargetConfig
from valet.errors import (
    CIFailedError,
    ConfigError,
    ConflictError,
    GitHubError,
    NotARequestError,
    NotAuthorizedError,
    TargetError,
    ValetError,
)
from valet.events import Actor, Ignored, Labeled, Sweep, valid_login
from valet.gate import GateResult, Verdict, check_gate
from valet.labels import Label
from valet.manifest import Artifact
from valet.request import Request
from valet.targets.base import Receipt, State, Target, TargetContext, select_files

GITHUB = "github"
Resolve = Callable[[str], Target]


# -- the plan (pure) ----------------------------------------------------------


@dataclass
class PlanItem:
    key: str
    target: TargetConfig
    files: list[str]

    @property
    def name(self) -> str:
        return self.target.name


@dataclass
class Plan:
    run: list[PlanItem] = field(default_factory=list)  # configured, in the issue, unchecked
    ticked: list[str] = field(default_factory=list)  # already checked in the issue
    unknown: list[str] = field(default_factory=list)  # in the issue, not in the configuration

    @property
    def keys(self) -> list[str]:
        return [i.key for i in self.run]


def make_plan(request: Request, config: Config, resolve: Resolve) -> Plan:
    """Targets = configured ∩ in the issue ∩ unchecked, each with the files it takes."""
    plan = Plan()
    names = [a.name for a in request.artifacts]
    seen: set[str] = set()
    for state in request.targets:
        if state.id in seen:  # a repeated checkbox line names one target
            continue
        seen.add(state.id)
        tc = config.target(state.id)
        if tc is None:
            plan.unknown.append(state.id)
        elif state.checked:
            plan.ticked.append(state.id)
        else:
            impl = resolve(tc.name)
            plan.run.append(PlanItem(state.id, tc, select_files(tc, impl.default_include, names)))
    return plan


def require_known(plan: Plan, config: Config) -> None:
    if plan.unknown:
        configured = ", ".join(t.key for t in config.targets) or "none"
        raise ConfigError(
            f"the issue lists target(s) {', '.join(plan.unknown)} that the SDK's "
            f"{config.source} on its merge target does not configure (configured: {configured})",
            hint="targets are read from the protected merge target: add the target there and "
            "re-run the prepare workflow, or remove its line from the request",
        )


# -- applying the plan ------------------------------------------------------


@dataclass
class Result:
    key: str
    outcome: str  # published, already published, planned, failed, conflict, not run
    receipt: Receipt | None = None
    error: ValetError | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome in ("published", "already published", "planned")


@dataclass
class Outcome:
    results: dict[str, Result] = field(default_factory=dict)
    preflight_failed: bool = False

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results.values() if not r.ok and r.outcome != "not run"]

    @property
    def done(self) -> list[str]:
        return [k for k, r in self.results.items() if r.outcome in ("published", "already published")]


def _as_error(exc: BaseException, key: str) -> ValetError:
    if isinstance(exc, ValetError):
        return exc
    return TargetError(f"{key}: unexpected {type(exc).__name__}: {exc}",
                       hint="this is a bug in valet or the target; the log of the run has details")


def execute(plan: Plan, resolve: Resolve, make_ctx: Callable[[PlanItem], TargetContext], *,
            tick: Callable[[str], None], max_parallel: int = 4, dry_run: bool = False) -> Outcome:
    """Preflight all, status each, publish the absent ones (github last), tick each success."""
    out = Outcome()
    impls = {i.key: resolve(i.name) for i in plan.run}
    ctxs = {i.key: make_ctx(i) for i in plan.run}

    # 1. Preflight every target before anything is uploaded anywhere.
    for item in plan.run:
        try:
            impls[item.key].preflight(ctxs[item.key])
        except Exception as exc:  # noqa: BLE001 - one target's failure is reported, not raised
            out.results[item.key] = Result(item.key, "failed", error=_as_error(exc, item.key),
                                           detail="preflight")
    if out.results:
        out.preflight_failed = True
        for item in plan.run:
            out.results.setdefault(item.key, Result(item.key, "not run",
                                                    detail="another target failed its preflight"))
        return out

    # 2. Ask every registry first: already there (tick), conflict (fail), or absent.
    # The questions go out concurrently (they only read); the answers are handled
    # here, in plan order, so ticks stay on this thread.
    with ThreadPoolExecutor(max_workers=max(1, max_parallel), thread_name_prefix="status") as pool:
        asked = [(item, pool.submit(impls[item.key].status, ctxs[item.key])) for item in plan.run]
    absent: list[PlanItem] = []
    for item, answer in asked:
        try:
            st = answer.result()
        except Exception as exc:  # noqa: BLE001
            out.results[item.key] = Result(item.key, "failed", error=_as_error(exc, item.key),
                                           detail="status")
            continue
        if st.state is State.PUBLISHED:
            out.results[item.key] = Result(item.key, "already published", receipt=st.receipt,
                                           detail=st.detail)
            if not dry_run:
                _tick(tick, out, item.key)
        elif st.state is State.CONFLICT:
            out.results[item.key] = Result(
                item.key, "conflict", detail=st.detail,
                error=ConflictError(f"{item.key}: {st.detail or 'published with other content'}",
                                    hint="a version is never overwritten: release a new version"))
        else:
            absent.append(item)
    if dry_run:
        for item in absent:
            out.results[item.key] = Result(item.key, "planned", detail=_files_detail(item))
        return out

    # 3. Independent targets concurrently; ticks happen here, on this thread, one at a time.
    first = [i for i in absent if i.name != GITHUB]
    last = [i for i in absent if i.name == GITHUB]
    if first:
        with ThreadPoolExecutor(max_workers=max(1, max_parallel), thread_name_prefix="target") as pool:
            futures = {pool.submit(impls[i.key].publish, ctxs[i.key]): i for i in first}
            for fut in as_completed(futures):
                _settle(out, futures[fut], tick, fut.result)

    # 4. github makes the release public: only when everything else is out.
    for item in last:
        if out.failed:
            out.results[item.key] = Result(item.key, "not run",
                                           detail="another target failed: the release stays a draft")
            continue
        _settle(out, item, tick, partial(impls[item.key].publish, ctxs[item.key]))
    return out


def _settle(out: Outcome, item: PlanItem, tick: Callable[[str], None],
            publish: Callable[[], Receipt]) -> None:
    """Record one target's publish (its receipt or its error); tick it on success."""
    try:
        receipt = publish()
    except Exception as exc:  # noqa: BLE001 - any failure of one target is that target's failure
        out.results[item.key] = Result(item.key, "failed", error=_as_error(exc, item.key),
                                       detail="publish")
        return
    out.results[item.key] = Result(item.key, "published", receipt=receipt,
                                   detail=receipt.detail if receipt else "")
    _tick(tick, out, item.key)


def _tick(tick: Callable[[str], None], out: Outcome, key: str) -> None:
    try:
        tick(key)
    except ValetError as exc:
        prev = out.results[key]
        out.results[key] = Result(key, "failed", receipt=prev.receipt, detail="tick", error=TargetError(
            f"{key} was published but its checkbox could not be ticked: {exc.message}",
            hint="add `accepted` again: the target will be found published and ticked"))


def _files_detail(item: PlanItem) -> str:
    return ", ".join(item.files) if item.files else "no files"


def rows_for(outcome: Outcome, plan: Plan, artifacts: Mapping[str, Artifact],
             ticked_by: Mapping[str, str]) -> list[summary.Row]:
    rows = [summary.Row(k, f"skipped: {ticked_by.get(k, 'ticked before approval')}")
            for k in plan.ticked]
    by_key = {i.key: i for i in plan.run}
    for key, res in outcome.results.items():
        item = by_key.get(key)
        digests = dict(res.receipt.digests) if res.receipt and res.receipt.digests else {}
        if not digests and item is not None and res.outcome in ("published", "planned",
                                                                  "already published"):
            digests = {n: artifacts[n].sha256 for n in item.files if n in artifacts}
        detail = res.detail
        if res.error is not None:
            detail = res.error.message
        elif res.receipt and res.receipt.detail:
            detail = res.receipt.detail
        elif item is not None and res.outcome in ("published", "planned") and not detail:
            detail = _files_detail(item)
        rows.append(summary.Row(key, res.outcome, detail, digests,
                                res.receipt.url if res.receipt else None))
    return rows


# -- the orchestration --------------------------------------------------------


@dataclass
class Settings:
    publish_repo: str
    policy: Policy
    dry_run: bool = False
    max_parallel: int = 4
    ignore_checks: tuple[str, ...] = ()
    allow_unprotected_merge_target: bool = False  # rehearsals against a scratch branch only
    workdir: Path = field(default_factory=lambda: Path(os.environ.get("RUNNER_TEMP") or tempfile.gettempdir()))
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    run_url: str | None = None


class Refused(Exception):
    def __init__(self, error: NotAuthorizedError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass
class Deps:
    """What publish talks to; the CLI wires real clients, the tests stubs."""

    issues: Any  # publish_api.IssueAPI
    sdk: Callable[[str], Any]  # repo -> publish_api.SdkAPI
    store: Callable[[Request, Config], Any]  # -> store with download_verified / delete
    resolve: Resolve
    sdk_github: Any = None  # PyGithub client for targets (sdk-token)


class Publisher:
    def __init__(self, settings: Settings, deps: Deps) -> None:
        self.s = settings
        self.d = deps
        self._body_lock = threading.Lock()

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
        if not _is_request_title(ev.title, ev.body):
            gha.notice(f"#{ev.number} is not a publish request (its title does not parse)",
                       title="nothing to publish")
            return 0
        return self.process(ev.number, approver=ev.sender, approved=_Approved(text=ev.body))

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
        names = _label_names(issue)
        if issue.get("state") != "open" or str(Label.ACCEPTED) not in names:
            gha.notice(f"#{number} is not open with `accepted`", title="nothing to publish")
            return 0
        if not _is_request_title(issue.get("title") or "", issue.get("body") or ""):
            gha.notice(f"#{number} is not a publish request", title="nothing to publish")
            return 0
        events = self.d.issues.events(number)
        actor = _latest_label_actor(events, str(Label.ACCEPTED))
        if actor is None:
            return self._refuse(number, names, NotAuthorizedError(
                "no `labeled accepted` event found for this issue",
                hint="remove the `accepted` label and add it again"), None, events=events)
        digest = self._approved_digest(number, events)
        if digest is None and strict:
            return self._refuse(number, names, NotAuthorizedError(
                "no record of the body that was approved (valet's `ci-pending` comment is "
                "missing), so an edit after approval cannot be ruled out",
                hint="remove the `accepted` label and add it again"), None)
        return self.process(number, approver=actor, approved=_Approved(digest=digest),
                            issue=issue, events=events)

    # ---- one request ---------------------------------------------------

    def process(self, number: int, *, approver: Actor, approved: _Approved,
                issue: dict[str, Any] | None = None,
                events: list[dict[str, Any]] | None = None) -> int:
        from valet.issue_format import parse_issue

        issue = issue if issue is not None else self.d.issues.issue(number)
        names = _label_names(issue)
        body_now = issue.get("body") or ""
        title = issue.get("title") or ""
        if issue.get("state") != "open":
            gha.notice(f"#{number} is closed", title="nothing to publish")
            return 0
        if not _is_request_title(title):
            gha.notice(f"#{number} is not a publish request (its title does not parse)",
                       title="nothing to publish")
            return 0
        try:
            request = parse_issue(title, approved.text if approved.text is not None else body_now)
        except NotARequestError as exc:
            return self._refuse(number, names, NotAuthorizedError(
                f"the issue is not a valid publish request: {exc.message}",
                hint="re-create the request with `valet request` (its body is generated; "
                "edits outside the checkboxes break it)"), None)
        gha.info(f"request: {request.title} (#{number}), labelled by {approver.login}")

        # 2. The approver.
        if events is None:
            events = self.d.issues.events(number)
        confirmed = _latest_label_actor(events, str(Label.ACCEPTED))
        try:
            approval = authorize(self.d.issues, self.s.policy, publish_repo=self.s.publish_repo,
                                 labeler=approver, requester=request.requested_by,
                                 confirmed_by=confirmed.login if confirmed else None)
        except NotAuthorizedError as exc:
            return self._refuse(number, names, exc, request)
        # 3. The body the approver saw is the body now.
        if not approved.known:
            gha.warning("no approved body to compare with (run by hand without an event): "
                        "the body is taken as it is now", title="body not compared")
        elif not approved.matches(body_now):
            return self._refuse(number, names, NotAuthorizedError(
                "the issue body changed after it was approved (the body now differs from the "
                f"body @{approval.login} approved)",
                hint="check the edit, then remove and add `accepted` again to approve the "
                "body as it is now"), request)

        dry_run = self.s.dry_run or str(Label.DRY_RUN) in names
        ctx = _Run(number=number, request=request, approval=approval, labels=names,
                   dry_run=dry_run, body=body_now)
        try:
            return self._publish(ctx, events)
        except ValetError as exc:
            return self._fail(ctx, exc)
        finally:
            self._step_summary(ctx)

    def _publish(self, run: _Run, events: list[dict[str, Any]]) -> int:
        request = run.request
        sdk = self.d.sdk(request.repo)
        merge_target = request.merge_target or sdk.default_branch()
        run.merge_target = merge_target
        if request.branch and merge_target == request.branch:
            # Any committer can push to the release branch: its config must never decide
            # which targets (and registry URLs) get the tokens.
            raise ConfigError(
                f"the merge target {merge_target} is the release branch itself",
                hint="the configuration is read from the merge target, which must be a "
                "protected branch such as main: re-create the request with that merge target")
        refusal = self._unprotected_merge_target(sdk, request.repo, merge_target)
        if refusal is not None:
            run.result = "refused: merge target not protected"
            return self._refuse(run.number, run.labels, refusal, request)
        if not run.dry_run:
            self._transition(run, "resume")
        # 4. Configuration from the protected merge target.
        from valet.sdk_config import read_sdk_config

        config = read_sdk_config(sdk, ref=merge_target, path=request.path)
        run.config = config
        if request.ignored_targets:
            gha.warning(
                "the Targets list names ids that are not part of the request (added to the "
                f"body by hand?): {', '.join(request.ignored_targets)}; they are ignored",
                title="ignored target lines")
        plan = make_plan(request, config, self.d.resolve)
        run.plan = plan
        require_known(plan, config)
        self._mask_credentials(plan)
        if plan.ticked:
            run.ticked_by = self._who_ticked(run.number, plan.ticked)

        # 5. CI on the release commit.
        if not request.sha:
            raise ConfigError("the request names no release commit (sha)",
                              hint="re-create the request with `valet request`")
        gate = check_gate(sdk, request.repo, request.sha, ignore=self.s.ignore_checks,
                          run_marker=_run_marker())
        run.gate = gate
        if gate.verdict in (Verdict.PENDING, Verdict.NONE):
            return self._ci_pending(run)
        if gate.verdict is Verdict.FAILED:
            return self._ci_failed(run)
        if str(Label.CI_PENDING) in run.labels and not run.dry_run:
            self._transition(run, "ci-green")

        # 6. Every artifact, verified, before any target sees one.
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

        # 7. Apply.
        with gha.group("publish targets"):
            outcome = execute(plan, self.d.resolve, make_ctx, tick=lambda k: self._tick(run, k),
                              max_parallel=self.s.max_parallel, dry_run=run.dry_run)
        run.outcome = outcome
        rows = rows_for(outcome, plan, by_name, run.ticked_by)
        run.rows = rows
        if run.dry_run:
            self.d.issues.comment(run.number, summary.plan(request.title, rows, _ci_text(gate),
                                                           self.s.run_url))
            self._transition(run, "rehearsed")
            run.result = "dry run"
            return 0
        if outcome.failed:
            return self._targets_failed(run, outcome)
        return self._finish(run)

    def _unprotected_merge_target(self, sdk: Any, repo: str,
                                  branch: str) -> NotAuthorizedError | None:
        """The refusal when the merge target is not protected (None: go on).

        The requester writes the merge target, and its configuration decides the targets
        and their registry URLs: a branch anyone can push to would let them choose where
        the tokens go.
        """
        protected = sdk.branch_protected(branch)
        if protected is None:
            raise ConfigError(f"the merge target {branch} does not exist in {repo}",
                              hint="re-create the request with an existing, protected merge "
                              "target such as the default branch")
        if protected:
            return None
        if self.s.allow_unprotected_merge_target:
            gha.warning(f"the merge target {branch} of {repo} is not protected; going on because "
                        "allow-unprotected-merge-target is true (rehearsals only)",
                        title="unprotected merge target")
            return None
        return NotAuthorizedError(
            f"the merge target {branch} of {repo} is not a protected branch: its configuration "
            "decides which targets get the registry tokens and where they upload, and anyone "
            "who can push to it could change that",
            hint=f"protect {branch} in {repo}'s settings (a branch protection rule or a "
            "ruleset) and add `accepted` again, or re-create the request with a protected "
            "merge target; for a rehearsal only, set the publish action's input "
            "`allow-unprotected-merge-target: true`")

    # ---- outcomes ------------------------------------------------------

    def _refuse(self, number: int, names: set[str], exc: NotAuthorizedError,
                request: Request | None, events: list[dict[str, Any]] | None = None) -> int:
        gha.warning(str(exc), title=exc.title)
        add, remove = labels.diff(names, "refuse")
        for name in remove:
            self.d.issues.remove_label(number, name)
        self.d.issues.comment(number, summary.refused(exc.message, exc.hint, self.s.run_url))
        gha.summary(f"## valet publish: approval refused\n\n{gha.md_escape(exc.message)}")
        return 0

    def _ci_pending(self, run: _Run) -> int:
        assert run.gate is not None
        waiting = [c.name for c in run.gate.pending] or ["no check reported yet"]
        gha.notice(f"CI is not finished on {run.request.sha}: {', '.join(waiting)}",
                   title="waiting for CI")
        run.result = "waiting for CI"
        if run.dry_run:
            self.d.issues.comment(run.number, summary.plan(run.request.title, [], _ci_text(run.gate),
                                                           self.s.run_url))
            self._transition(run, "rehearsed")
            return 0
        if str(Label.CI_PENDING) not in run.labels:  # comment once
            self.d.issues.comment(run.number, summary.ci_pending(
                run.gate, run.request.sha or "", run.body, run.approval.login, self.s.run_url))
            self._transition(run, "ci-pending")
        return 0

    def _ci_failed(self, run: _Run) -> int:
        assert run.gate is not None
        err = CIFailedError("CI failed on the release commit: "
                            + ", ".join(f"{c.name} ({c.state})" for c in run.gate.failing))
        gha.error(err.message, title=err.title)
        run.result = "CI failed"
        self.d.issues.comment(run.number, summary.ci_failed(run.gate, run.request.sha or "",
                                                            self.s.run_url))
        if not run.dry_run:
            self._transition(run, "ci-failed")
        else:
            self._transition(run, "rehearsed")
        return err.exit_code

    def _fail(self, run: _Run, exc: ValetError, target: str | None = None) -> int:
        gha.error(str(exc), title=exc.title)
        run.result = f"failed: {exc.title}"
        done = list(run.outcome.done) if run.outcome else []
        self.d.issues.comment(run.number, summary.failure(exc.title, exc.message, exc.hint,
                                                          self.s.run_url, target=target, done=done))
        self._transition(run, "rehearsed" if run.dry_run else "fail")
        return exc.exit_code

    def _targets_failed(self, run: _Run, outcome: Outcome) -> int:
        failed = outcome.failed
        first = failed[0]
        assert first.error is not None
        if outcome.preflight_failed:
            message = "preflight failed, nothing was uploaded anywhere: " + "; ".join(
                _keyed(r.key, r.error.message if r.error else r.outcome) for r in failed)
            err: ValetError = TargetError(message, hint=first.error.hint)
            return self._fail(run, err)
        message = "; ".join(_keyed(r.key, r.error.message if r.error else r.outcome)
                            for r in failed)
        not_run = [k for k, r in outcome.results.items() if r.outcome == "not run"]
        if not_run:
            message += f" (not run: {', '.join(not_run)})"
        err = TargetError(message, hint=first.error.hint)
        err.exit_code = max(r.error.exit_code for r in failed if r.error)
        return self._fail(run, err, target=", ".join(r.key for r in failed))

    def _finish(self, run: _Run) -> int:
        from valet.issue_format import parse_issue

        request = run.request
        fresh = run.last_issue or self.d.issues.issue(run.number)
        current = parse_issue(fresh.get("title") or request.title, fresh.get("body") or "")
        left = [t.id for t in current.targets if not t.checked]
        if left:  # someone unticked a box meanwhile, or a target was never in the plan
            return self._fail(run, TargetError(
                f"targets still unticked after the run: {', '.join(left)}",
                hint="add `accepted` again to publish them"))
        sdk = self.d.sdk(request.repo)
        merge_note = self._merge(run, sdk)
        if run.config is not None and not any(t.name == GITHUB for t in run.config.targets
                                              if t.key in {x.id for x in request.targets}):
            store = run.store or self.d.store(request, run.config)
            try:
                store.delete()
            except ValetError as exc:
                gha.warning(f"could not delete the draft release: {exc}")
        if run.merge_error is not None:
            return self._fail(run, run.merge_error)
        self.d.issues.comment(run.number, summary.published(
            request.title, run.rows, run.approval.login, merge_note, self.s.run_url))
        # Final labels and close in one call (labels replace: computed from the
        # issue as it stands, so labels people added are kept).
        final = labels.transition("publish").apply(_label_names(fresh) | run.labels)
        self.d.issues.close(run.number, labels=sorted(final))
        run.labels = final
        run.result = "published"
        return 0

    def _merge(self, run: _Run, sdk: Any) -> str:
        branch = run.request.branch
        target = run.merge_target
        if not branch or not target:
            return "No release branch is recorded in the request: nothing was merged."
        # Merge the approved commit, never the branch tip: anything pushed to the
        # release branch after the request was not approved and must not reach
        # the protected merge target. (A sha already in the target is a no-op,
        # so a re-run after the branch was deleted still finishes.)
        head = run.request.sha or branch
        try:
            state = sdk.merge(target, head,
                              f"Merge {branch}: release {run.request.version}")
        except GitHubError as exc:
            run.merge_error = GitHubError(
                f"every target is published, but merging {branch} into {target} failed: "
                f"{exc.message}",
                hint=f"merge {branch} into {target} by hand (nothing needs re-publishing), "
                "or fix the conflict and add `accepted` again to retry the merge")
            return ""
        deleted = sdk.delete_branch(branch)
        what = "merged into" if state == "merged" else "was already in"
        return (f"Branch {branch} {what} {target}"
                + ("; the branch was deleted." if deleted else "."))

    # ---- helpers -------------------------------------------------------

    def _transition(self, run: _Run, name: str) -> None:
        add, remove = labels.diff(run.labels, name)
        for label in remove:
            self.d.issues.remove_label(run.number, label)
        self.d.issues.add_labels(run.number, add)
        run.labels = labels.transition(name).apply(run.labels)

    def _tick(self, run: _Run, key: str) -> None:
        from valet.issue_format import set_target_checked

        with self._body_lock:
            issue = self.d.issues.issue(run.number)
            body = issue.get("body") or ""
            new = set_target_checked(body, key, True)
            if new != body:
                patched = self.d.issues.set_body(run.number, new)
                issue = patched if isinstance(patched, dict) and patched else {}
            # The issue as it stands right after our write: _finish reads it
            # instead of asking again.
            run.last_issue = issue or None
        gha.info(f"ticked {key}")

    def _approved_digest(self, number: int, events: list[dict[str, Any]]) -> str | None:
        """The body the approver saw, as recorded by our ci-pending comment (see summary)."""
        writer = _latest_label_actor(events, str(Label.CI_PENDING))
        if writer is None:
            return None
        for comment in reversed(self.d.issues.comments(number)):
            user = (comment.get("user") or {}).get("login")
            if not user or user.lower() != writer.login.lower():
                continue
            for data in summary.read_markers(comment.get("body") or "", summary.APPROVED_MARKER):
                digest = data.get("body_sha256")
                if isinstance(digest, str):
                    return digest
        return None

    def _who_ticked(self, number: int, ticked: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        try:
            comments = self.d.issues.comments(number)
        except ValetError:
            return out
        for comment in comments:
            # anyone can paste a marker into a comment: only a bot's (valet's) count
            if (comment.get("user") or {}).get("type") != "Bot":
                continue
            for data in summary.read_markers(comment.get("body") or "", summary.DONE_MARKER):
                keys = data.get("targets")
                for key in keys if isinstance(keys, list) else []:
                    if key in ticked:
                        out[str(key)] = "published by valet in an earlier run"
        rest = [k for k in ticked if k not in out]
        for key, login in self._tickers(number, rest).items():
            # No "@": a table cell's `\@` is not a sure way to stop GitHub notifying them.
            out[key] = f"ticked by {login} before approval"
        return out

    def _tickers(self, number: int, keys: list[str]) -> dict[str, str]:
        """key -> who ticked it, from the body's edit history; {} when it cannot be read.

        Only a name in the summary depends on it: no error here may fail a publish."""
        body_edits = getattr(self.d.issues, "body_edits", None)
        if not keys or body_edits is None:
            return {}
        from valet.edit_history import who_ticked

        try:
            return who_ticked(body_edits(number), keys)
        except Exception as exc:  # noqa: BLE001 - GraphQL down, forbidden or changed shape
            gha.debug(f"who ticked the boxes of #{number} is unknown: {exc}")
            return {}

    def _mask_credentials(self, plan: Plan) -> None:
        for item in plan.run:
            try:
                names = self.d.resolve(item.name).credentials
            except ValetError:
                continue
            for var in names:
                gha.add_mask(self.s.env.get(var))

    def _step_summary(self, run: _Run) -> None:
        gha.summary(summary.step_summary(
            run.request.title, approver=run.approval.login,
            ci=_ci_text(run.gate) if run.gate else "not checked", rows=run.rows,
            outcome=run.result, links={"release commit CI": _checks_url(run.request),
                                       "prepare run": run.request.run_url,
                                       "this run": self.s.run_url}))


@dataclass(frozen=True)
class _Approved:
    """The body the approver saw: its text (from the label event) or its digest (recorded
    in valet's ci-pending comment); neither when run by hand."""

    text: str | None = None
    digest: str | None = None

    @property
    def known(self) -> bool:
        return self.text is not None or self.digest is not None

    def matches(self, body: str) -> bool:
        if self.text is not None:
            return self.text == body
        return self.digest is not None and summary.body_digest(body) == self.digest


@dataclass
class _Run:
    number: int
    request: Request
    approval: Approval
    labels: set[str]
    dry_run: bool
    body: str
    merge_target: str | None = None
    config: Config | None = None
    plan: Plan | None = None
    gate: GateResult | None = None
    outcome: Outcome | None = None
    rows: list[summary.Row] = field(default_factory=list)
    ticked_by: dict[str, str] = field(default_factory=dict)
    store: Any = None
    merge_error: ValetError | None = None
    result: str = "started"
    last_issue: dict[str, Any] | None = None  # the issue as our last tick left it


def _label_names(issue: Mapping[str, Any]) -> set[str]:
    return {x["name"] for x in issue.get("labels") or []
            if isinstance(x, dict) and isinstance(x.get("name"), str)}


def _latest_label_actor(events: Iterable[dict[str, Any]], label: str) -> Actor | None:
    found = None
    for ev in events:
        if not isinstance(ev, dict) or ev.get("event") != "labeled":
            continue
        if (ev.get("label") or {}).get("name") != label:
            continue
        actor = ev.get("actor") or {}
        if valid_login(actor.get("login")):
            found = Actor(actor["login"], str(actor.get("type") or "User"))
    return found  # events come oldest first: the last match is the latest


def _is_request_title(title: str, body: str = "") -> bool:
    from valet.issue_format import parse_title

    try:
        parse_title(title)
    except NotARequestError:
        return False
    return True


def _keyed(key: str, message: str) -> str:
    """``key: message``, unless the target's message already starts with its key."""
    return message if message.startswith(f"{key}: ") else f"{key}: {message}"


def _safe_dir(key: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in key) or "target"


def _run_marker() -> str | None:
    run_id = os.environ.get("GITHUB_RUN_ID")
    return f"/actions/runs/{run_id}/" if run_id else None


def _ci_text(gate: GateResult | None) -> str:
    if gate is None:
        return "not checked"
    if gate.verdict is Verdict.GREEN:
        return f"green ({len(gate.checks)} checks)"
    if gate.verdict is Verdict.NONE:
        return "no check reported on the release commit"
    if gate.verdict is Verdict.PENDING:
        return "pending: " + ", ".join(c.name for c in gate.pending)
    return "failed: " + ", ".join(c.name for c in gate.failing)


def _checks_url(request: Request) -> str | None:
    from valet.github_client import server_url

    if request.sha:
        return f"{server_url()}/{request.repo}/commit/{request.sha}/checks"
    return None
