"""The end of a successful run: every box ticked, the approved commit merged, the issue closed.

The merge starts as soon as every target but github is out (``start_landing``),
while github makes the release public; once the merge is answered the labels as
they stand are read (while github's PATCH and the branch's deletion are under
way), so the summary comment and the one closing PATCH (the body with every tick
not written yet, the final labels, the state) then go out together.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from valet import gha, labels, summary
from valet.errors import GitHubError, TargetError, ValetError
from valet.publish.context import Deps, Run
from valet.publish.plan import GITHUB
from valet.publish.report import Report
from valet.publish.ticks import Ticker
from valet.publish.timeline import label_names


class Landing:
    """The merge (and the branch's deletion) under way in the background, and the
    issue's labels read as soon as the merge is answered."""

    def __init__(self, run: Run, deps: Deps) -> None:
        self.labels: Future[Any] | None = None  # set before ``result()`` returns

        def read_labels() -> None:
            self.labels = _in_background(lambda: deps.issues.issue(run.number), "labels")

        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="merge")
        self._note = pool.submit(merge, run, deps.sdk(run.request.repo), merged=read_labels)
        pool.shutdown(wait=False)

    def result(self) -> str:
        """The note for the summary (``run.merge_error`` when the merge failed)."""
        return self._note.result()


def _in_background(fn: Callable[[], Any], name: str) -> Future[Any]:
    future: Future[Any] = Future()

    def work() -> None:
        try:
            future.set_result(fn())
        except BaseException as exc:  # noqa: BLE001 (handed to whoever waits on it)
            future.set_exception(exc)

    threading.Thread(target=work, name=name, daemon=True).start()
    return future


def start_landing(run: Run, deps: Deps) -> Landing:
    """Merge (and delete the branch) in the background, the labels read once merged."""
    return Landing(run, deps)


def finish(run: Run, deps: Deps, report: Report, ticker: Ticker,
           landing: Landing | None = None) -> int:
    from valet.issue_format import parse_issue

    request = run.request
    ticker.wait()
    body = ticker.body(run)  # every tick so far, written or not
    current = parse_issue(request.title, body)
    left = [t.id for t in current.targets if not t.checked]
    if left:  # a target of the request was never in the plan
        ticker.flush(run)
        return report.fail(run, TargetError(
            f"targets still unticked after the run: {', '.join(left)}",
            hint="add `accepted` again to publish them"))
    merge_note = landing.result() if landing is not None else merge(run, deps.sdk(request.repo))
    if run.config is not None and not any(t.name == GITHUB for t in run.config.targets
                                          if t.key in {x.id for x in request.targets}):
        store = run.store or deps.store(request, run.config)
        try:
            store.delete()
        except ValetError as exc:
            gha.warning(f"could not delete the draft release: {exc}")
    if run.merge_error is not None:
        ticker.flush(run)
        return report.fail(run, run.merge_error)
    text = summary.published(
        request.title, run.rows, run.approval.login, merge_note, report.run_url,
        done=run.outcome.done if run.outcome else (), approval=run.approval_event,
        body=run.body)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="summary") as pool:
        # The labels as they stand (people may have added some while it published) were
        # read once the merge was in, while github made the release public; without a
        # landing they are read now, while the summary is posted. The close sets the
        # final labels from them; the summary needs nothing of the close, nor it of it.
        now = landing.labels if landing is not None else None
        posted = pool.submit(deps.issues.comment, run.number, text) if now is not None \
            else None
        if now is None:
            now = pool.submit(deps.issues.issue, run.number)
            deps.issues.comment(run.number, text)
        try:
            seen = label_names(now.result())
        except ValetError as exc:
            gha.warning(f"reading the labels of #{run.number} failed ({exc.message}): the "
                        "final labels are computed from the ones this run saw")
            seen = label_names(run.last_issue or {})
        final = labels.transition("publish").apply(seen | run.labels)
        pending = ticker.pending(run)
        closed = deps.issues.close(run.number, labels=sorted(final),
                                   body=body if body != ticker.known(run) else None)
        ticker.wrote(run, closed if isinstance(closed, dict) else None, pending)
        if posted is not None:
            posted.result()
    run.labels = final
    run.result = "published"
    return 0


def merge(run: Run, sdk: Any, merged: Callable[[], None] | None = None) -> str:
    """Merge the approved commit (or open the pull request) and delete the branch;
    ``merged`` runs as soon as GitHub answered the merge, before the deletion."""
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
        if run.merge_plan is not None:  # decided before the first upload (checks.landing)
            from valet.merge import land

            note, landed = land(sdk, run.merge_plan, branch=branch, sha=head,
                                version=run.request.version)
            if merged is not None:
                merged()
            if not landed:  # a pull request: its head branch stays
                return note + "."
            deleted = sdk.delete_branch(branch)
            return note + ("; the branch was deleted." if deleted else ".")
        state = sdk.merge(target, head, f"Merge {branch}: release {run.request.version}")
        if merged is not None:
            merged()
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
