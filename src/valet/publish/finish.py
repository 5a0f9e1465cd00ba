"""The end of a successful run: every box ticked, the approved commit merged, the issue closed.

The merge starts as soon as every target but github is out (``start_landing``),
while github makes the release public; the GraphQL ids of the labels the close
adds are looked up meanwhile. Once the merge is answered, one GraphQL request
(close_mutation) posts the summary, adds and removes the labels of the
``publish`` transition, writes every tick not written yet and closes the issue:
removing labels is relative, so labels people added during the run stay
without reading the issue again. When an id is unknown (a label that does not
exist yet: REST creates it, GraphQL cannot) the close goes through REST as
before: the labels read, the summary posted with it, one closing PATCH.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from valet import close_mutation, gha, labels, summary
from valet.errors import GitHubError, TargetError, ValetError
from valet.publish.context import Deps, Run
from valet.publish.plan import GITHUB
from valet.publish.report import Report
from valet.publish.ticks import Ticker
from valet.publish.timeline import label_names


@dataclass(frozen=True)
class Ids:
    """The GraphQL ids the close needs: the issue's, the labels to add and to remove."""

    issue: str
    add: tuple[str, ...]
    remove: tuple[str, ...]


def close_ids(run: Run, issues: Any) -> tuple[Ids | None, str]:
    """``(ids, "")``, or ``(None, why not)`` when one is unknown (then REST closes).

    The issue's id and those of the labels on it came with the issue read at the
    start; a label to add that was not on it is looked up (``label_node_id``)."""
    if run.node_id is None:
        return None, "the issue's GraphQL id is unknown"
    publish = labels.transition("publish")
    add: list[str] = []
    for name in closing_labels():
        node = run.label_ids.get(name)
        if node is None:
            try:
                node = issues.label_node_id(name)
            except ValetError as exc:
                return None, f"looking up the label `{name}` failed ({exc.message})"
        if node is None:
            return None, (f"the label `{name}` does not exist yet (GraphQL cannot create it, "
                          "REST does)")
        add.append(node)
    remove: list[str] = []
    # only those the run saw: what people added meanwhile is not ours to remove
    for name in sorted(str(x) for x in publish.remove if str(x) in run.labels):
        node = run.label_ids.get(name)
        if node is None:
            return None, f"the GraphQL id of the label `{name}` is unknown"
        remove.append(node)
    return Ids(run.node_id, tuple(add), tuple(remove)), ""


def closing_labels() -> tuple[str, ...]:
    """The labels the close adds (the run's first query asks for their GraphQL ids)."""
    return tuple(sorted(str(x) for x in labels.transition("publish").add))


class Landing:
    """The merge (and the branch's deletion) under way in the background, and the ids
    the close needs looked up meanwhile."""

    def __init__(self, run: Run, deps: Deps) -> None:
        self.ids = _in_background(lambda: close_ids(run, deps.issues), "close ids")
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="merge")
        self._note = pool.submit(merge, run, deps.sdk(run.request.repo))
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
    """Merge (and delete the branch) in the background, the close's ids looked up."""
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
    ids, why = landing.ids.result() if landing is not None else close_ids(run, deps.issues)
    written = body if body != ticker.known(run) else None  # None: no tick left to write
    if ids is None:
        gha.info(f"closing #{run.number} through REST: {why}")
        run.labels = _close_rest(run, deps, ticker, text, written)
    else:
        _close_graphql(run, deps, ticker, ids, text, written)
    run.result = "published"
    return 0


def _close_graphql(run: Run, deps: Deps, ticker: Ticker, ids: Ids, text: str,
                   written: str | None) -> None:
    """The summary, the labels, the ticks and the close in one request; GitHubError
    (the run fails as when the closing PATCH fails: nothing published is lost) when
    GitHub did not carry out all of it."""
    cm = close_mutation
    pending = ticker.pending(run)
    answer = deps.issues.close_published(run.number, cm.Close(
        ids.issue, text, ids.add, ids.remove, written))
    if answer.issue is not None:  # closed: the issue as GitHub holds it now
        ticker.wrote(run, answer.issue, pending)
        run.labels = label_names(answer.issue)
    else:
        if written is None or cm.BODY in answer.done:
            ticker.wrote(run, {"body": written} if written is not None else None, pending)
        if cm.ADD not in answer.failed and cm.REMOVE not in answer.failed:
            run.labels = labels.transition("publish").apply(run.labels)
    if answer.ok:
        return
    failed = "; ".join(f"{cm.WHAT[s]} failed ({m})" for s, m in answer.failed.items())
    if cm.CLOSE in answer.failed:
        hint = ("nothing needs re-publishing: add `accepted` again to finish the close, or "
                "close the issue by hand")
    else:
        # GitHub runs every mutation of the document even when an earlier one failed, so
        # the issue is closed: say what is left to do on it, by hand.
        todo = []
        if cm.ADD in answer.failed or cm.REMOVE in answer.failed:
            todo.append("set its labels (`published` on, `accepted` off)")
        if cm.BODY in answer.failed:
            todo.append("tick the boxes of the targets the summary lists as published")
        if cm.COMMENT in answer.failed:
            todo.append("post the summary")
        hint = ("nothing needs re-publishing and the issue is closed: "
                + ("; ".join(todo) or "check its labels and boxes") + ", by hand")
    raise GitHubError(f"every target is published and the release merged, but on "
                      f"#{run.number} {failed}", hint=hint)


def _close_rest(run: Run, deps: Deps, ticker: Ticker, text: str,
                written: str | None) -> set[str]:
    """The labels as they stand read while the summary is posted (people may have added
    some while it published), then one PATCH: state, final labels, every tick."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="summary") as pool:
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
    closed = deps.issues.close(run.number, labels=sorted(final), body=written)
    ticker.wrote(run, closed if isinstance(closed, dict) else None, pending)
    return final


def merge(run: Run, sdk: Any) -> str:
    """Merge the approved commit (or open the pull request) and delete the branch."""
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
            if not landed:  # a pull request: its head branch stays
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
