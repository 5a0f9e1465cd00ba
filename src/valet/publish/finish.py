"""The end of a successful run: every box ticked, the approved commit merged, the issue closed.

The merge starts as soon as every target but github is out (``start_landing``),
while github makes the release public; then the summary comment (the labels as
they stand are read meanwhile) and one closing PATCH: the body with every tick
not written yet, the final labels, the state.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from valet import gha, labels, summary
from valet.errors import GitHubError, TargetError, ValetError
from valet.publish.context import Deps, Run
from valet.publish.plan import GITHUB
from valet.publish.report import Report
from valet.publish.ticks import Ticker
from valet.publish.timeline import label_names


def start_landing(run: Run, deps: Deps) -> Future[str]:
    """Merge (and delete the branch) in the background; the future's result is the note
    for the summary (``run.merge_error`` when it failed)."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="merge")
    future = pool.submit(merge, run, deps.sdk(run.request.repo))
    pool.shutdown(wait=False)
    return future


def finish(run: Run, deps: Deps, report: Report, ticker: Ticker,
           landing: Future[str] | None = None) -> int:
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
    # The labels as they stand now (people may have added some while it published) are
    # read while the summary is posted; the close sets the final ones from them.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="labels") as pool:
        now = pool.submit(deps.issues.issue, run.number)
        deps.issues.comment(run.number, summary.published(
            request.title, run.rows, run.approval.login, merge_note, report.run_url,
            done=run.outcome.done if run.outcome else (), approval=run.approval_event,
            body=run.body))
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
    run.labels = final
    run.result = "published"
    return 0


def merge(run: Run, sdk: Any) -> str:
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

            note, merged = land(sdk, run.merge_plan, branch=branch, sha=head,
                                version=run.request.version)
            if not merged:  # a pull request: its head branch stays
                return note + "."
            deleted = sdk.delete_branch(branch)
            return note + ("; the branch was deleted." if deleted else ".")
        state = sdk.merge(target, head, f"Merge {branch}: release {run.request.version}")
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
