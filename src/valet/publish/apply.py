"""After every check passed: the CI gate, the download, the targets, the end of the run.

CI on the release commit decides first (pending: wait in ci-pending; failed:
ci-failed). Then every artifact is downloaded and verified before any target
sees one; the targets run (``execute``), ticking their boxes; a dry run comments
the plan, a failure says what to do, and success merges and closes (``finish``).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from valet import gha, summary
from valet.errors import IntegrityError, ValetError
from valet.gate import Verdict, check_gate
from valet.labels import Label
from valet.publish import checks
from valet.publish.context import Deps, Run, Settings
from valet.publish.execute import Execution, rows_for
from valet.publish.finish import finish, start_landing
from valet.publish.identity import Identities
from valet.publish.plan import Plan, PlanItem
from valet.publish.report import Report, ci_text
from valet.publish.ticks import Ticker, who_ticked
from valet.targets.base import TargetContext


def apply(run: Run, deps: Deps, settings: Settings, report: Report, ticker: Ticker,
          ids: Identities) -> int:
    assert run.config is not None and run.plan is not None
    request, config, plan = run.request, run.config, run.plan
    index = deps.releases(request.repo) if deps.releases is not None else None
    if index is not None and any(i.name == "github" for i in plan.run):
        from valet.version import tag_name

        index.warm_tag(tag_name(config, request.version))  # with the CI reads, ahead
    if not run.dry_run:
        report.transition(run, "resume")
    _mask_credentials(plan, deps, settings)
    if plan.ticked:
        run.ticked_by = who_ticked(deps.issues, run.number, plan.ticked, ids)

    # CI on the release commit.
    gate = check_gate(deps.sdk(request.repo), request.repo, checks.release_commit(run),
                      ignore=settings.ignore_checks, run_marker=_run_marker(),
                      required=config.status_contexts, ci_required=config.ci != "none")
    run.gate = gate
    if gate.verdict in (Verdict.PENDING, Verdict.NONE):
        return report.ci_pending(run)
    if gate.verdict is Verdict.FAILED:
        return report.ci_failed(run)
    if str(Label.CI_PENDING) in run.labels and not run.dry_run:
        report.transition(run, "ci-green")

    # Every artifact is downloaded and verified (in the background, a few at once); a
    # target's checks start once its own files are in, and nothing is uploaded before
    # every file is verified and every target passed its checks (execute).
    downloads: Downloads | None = None
    if plan.run:
        dest = settings.workdir / f"valet-{run.number}"
        dest.mkdir(parents=True, exist_ok=True)
        store = deps.store(request, config)
        run.store = store
        gha.info("download and verify artifacts")
        downloads = Downloads(store, list(request.artifacts), dest / "artifacts")
    by_name = {a.name: a for a in request.artifacts}

    def make_ctx(item: PlanItem) -> TargetContext:
        work = settings.workdir / f"valet-{run.number}" / "work" / safe_dir(item.key)
        work.mkdir(parents=True, exist_ok=True)
        files = downloads.files if downloads is not None else {}
        return TargetContext(request=request, config=config, target=item.target,
                             files={n: files[n] for n in item.files if n in files},
                             artifacts={n: by_name[n] for n in item.files if n in by_name},
                             workdir=work, env=settings.env, github=deps.sdk_github,
                             dry_run=run.dry_run, releases=index)

    exe = Execution(plan, deps.resolve, make_ctx, tick=lambda k: ticker.tick(run, k),
                    max_parallel=settings.max_parallel, dry_run=run.dry_run,
                    ready=downloads.ready if downloads is not None else None)
    run.outcome = exe.out
    with gha.group("check targets"):
        exe.check()
    if downloads is not None:
        try:
            downloads.wait_all()
        except IntegrityError as exc:
            return report.fail(run, _tampered(request.repo, exc), resume=False)
    if not exe.out.preflight_failed and not run.dry_run:
        with gha.group("publish targets"):
            exe.publish_first()
            # Once every other target is out, the release lands on the merge target while
            # github makes the release public (finish waits for both).
            landing = start_landing(run, deps) if exe.first_ok else None
            exe.publish_last()
    else:
        landing = None
    outcome = exe.out
    run.rows = rows_for(outcome, plan, by_name, run.ticked_by)
    if run.dry_run:
        deps.issues.comment(run.number, summary.plan(request.title, run.rows, ci_text(gate),
                                                     settings.run_url))
        report.transition(run, "rehearsed")
        run.result = "dry run"
        return 0
    if outcome.failed:
        ticker.flush(run)
        if landing is not None:
            landing.result()  # merged (or tried): the failure comment says so
        return report.targets_failed(run, outcome)
    return finish(run, deps, report, ticker, landing)


class Downloads:
    """The store's download of every approved artifact, in the background.

    ``ready(item)`` waits for that target's own files (a target's checks start on
    them); ``wait_all()`` for every file, raising the store's error (IntegrityError:
    a file is not the approved one)."""

    def __init__(self, store: Any, artifacts: list[Any], dest: Path) -> None:
        self.files: dict[str, Path] = {}
        self._cond = threading.Condition()
        self._error: BaseException | None = None
        self._done = False
        self._thread = threading.Thread(target=self._run, args=(store, artifacts, dest),
                                        name="downloads", daemon=True)
        self._thread.start()

    def _run(self, store: Any, artifacts: list[Any], dest: Path) -> None:
        try:
            store.download_verified(artifacts, dest, on_file=self._one)
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits
            self._error = exc
        finally:
            with self._cond:
                self._done = True
                self._cond.notify_all()

    def _one(self, name: str, path: Path) -> None:
        with self._cond:
            self.files[name] = path
            self._cond.notify_all()

    def ready(self, item: PlanItem) -> None:
        with self._cond:
            while not all(n in self.files for n in item.files):
                if self._done:
                    raise self._error or IntegrityError(
                        f"{item.key}: its files were not downloaded")
                self._cond.wait()

    def wait_all(self) -> dict[str, Path]:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return dict(self.files)


def _mask_credentials(plan: Plan, deps: Deps, settings: Settings) -> None:
    for item in [*plan.run, *plan.done]:  # a ticked one may be read again (plan.rereads)
        try:
            names = deps.resolve(item.name).credentials
        except ValetError:
            continue
        for var in names:
            gha.add_mask(settings.env.get(var))


def _tampered(repo: str, exc: IntegrityError) -> IntegrityError:
    """What an integrity failure means for the people reading the issue."""
    return IntegrityError(
        f"the draft release changed after the request: {exc.message}. Nothing was "
        "published: the stored files are not the ones requested, so the draft may have "
        "been tampered with",
        hint=f"check who changed the draft release of {repo}, then run the release workflow "
        "again for a new request (adding `accepted` again cannot pass: the request names "
        "the files as they were)")


def safe_dir(key: str) -> str:
    """A directory name for a target key: readable, and one per key. Keys hold `[`,
    spaces, `(`, `/` (``docker[Docker Hub (release)]``); mapping them to `_` alone
    would give ``npm[a/b]`` and ``npm[a_b]`` one directory, so a digest of the key
    keeps two targets that run at the same time apart."""
    import hashlib

    readable = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in key)
    return f"{readable[:64] or 'target'}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def _run_marker() -> str | None:
    run_id = os.environ.get("GITHUB_RUN_ID")
    return f"/actions/runs/{run_id}/" if run_id else None
