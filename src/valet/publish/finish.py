"""The end of a successful run: every box ticked, the approved commit merged, the issue closed."""

from __future__ import annotations

from typing import Any

from valet import gha, labels, summary
from valet.errors import GitHubError, TargetError, ValetError
from valet.publish.context import Deps, Run
from valet.publish.plan import GITHUB
from valet.publish.report import Report
from valet.publish.timeline import label_names


def finish(run: Run, deps: Deps, report: Report) -> int:
    from valet.issue_format import parse_issue

    request = run.request
    fresh = run.last_issue or deps.issues.issue(run.number)
    current = parse_issue(fresh.get("title") or request.title, fresh.get("body") or "")
    left = [t.id for t in current.targets if not t.checked]
    if left:  # someone unticked a box meanwhile, or a target was never in the plan
        return report.fail(run, TargetError(
            f"targets still unticked after the run: {', '.join(left)}",
            hint="add `accepted` again to publish them"))
    sdk = deps.sdk(request.repo)
    merge_note = merge(run, sdk)
    if run.config is not None and not any(t.name == GITHUB for t in run.config.targets
                                          if t.key in {x.id for x in request.targets}):
        store = run.store or deps.store(request, run.config)
        try:
            store.delete()
        except ValetError as exc:
            gha.warning(f"could not delete the draft release: {exc}")
    if run.merge_error is not None:
        return report.fail(run, run.merge_error)
    deps.issues.comment(run.number, summary.published(
        request.title, run.rows, run.approval.login, merge_note, report.run_url,
        done=run.outcome.done if run.outcome else (), approval=run.approval_event,
        body=run.body))
    # Final labels and close in one call (labels replace: computed from the
    # issue as it stands, so labels people added are kept).
    final = labels.transition("publish").apply(label_names(fresh) | run.labels)
    deps.issues.close(run.number, labels=sorted(final))
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
