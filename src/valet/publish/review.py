"""The checks of an approval, in order, before anything of the SDK is read.

Each takes the review (the issue as it stands now, its events, the approver the
event names) and what it needs, fills the review, or raises ``Refused`` (label
removed, reason commented) or a ValetError. The event that started the run is
only a hint: every fact is re-read from GitHub here.
"""

from __future__ import annotations

from typing import Any

from valet.errors import NotARequestError, NotAuthorizedError
from valet.labels import Label
from valet.publish import origin, seal_check
from valet.publish.approval import approve
from valet.publish.context import Refused, Review, Settings
from valet.publish.identity import Identities
from valet.publish.timeline import actor_login, closed_after, latest_label_event


def still_approved(review: Review) -> None:
    """No `closed` event since the latest `labeled accepted` (closing retracts a request)."""
    approval = latest_label_event(review.events, str(Label.ACCEPTED))
    closed = closed_after(review.events, approval)
    if closed is not None:
        raise Refused(NotAuthorizedError(
            f"the issue was closed by {actor_login(closed)} ({closed.get('created_at')}) after "
            f"it was approved by {actor_login(approval)}: closing retracts a request, and "
            "reopening it does not bring the approval back",
            hint="if the release should go ahead, an approver adds `accepted` again"))


def opened_by_request_app(review: Review, ids: Identities) -> None:
    origin.check_author(review.issue, ids)


def parses(review: Review) -> None:
    """The request parses (from the body the approver saw) and hides or drops no target."""
    from valet.issue_format import check_targets_list, parse_issue

    approved = review.approved
    body = approved.text if approved.text is not None else review.body
    try:
        review.request = parse_issue(str(review.issue.get("title") or ""), body)
        check_targets_list(body)
    except NotARequestError as exc:
        raise Refused(NotAuthorizedError(
            f"the issue is not a valid publish request: {exc.message}",
            hint="run the release workflow again for a new request (its body is generated; "
            "edits outside the checkboxes break it)")) from None


def written_only_by_request_app(review: Review, issues: Any, ids: Identities) -> None:
    edits = issues.body_edits(review.number)
    origin.check_edits(list(edits), bool(getattr(edits, "complete", True)), ids)
    review.written_at = origin.written_at(review.issue, list(edits), ids)
    review.written_body = seal_check.written_body(review.body, list(edits), ids)


def requested_by(review: Review, sdk: Any, settings: Settings) -> None:
    from valet import gha

    assert review.request is not None
    review.requesters = origin.requesters(sdk, review.request, settings.release_workflow,
                                          review.written_at)
    rewritten = origin.claimed_otherwise(review.request, review.requesters)
    if rewritten:
        gha.warning(rewritten, title="requester")


def sealed_by_its_run(review: Review, sdk: Any, settings: Settings) -> None:
    """The prepare run that names the requesters sealed this very request."""
    assert review.request is not None
    seal_check.check(sdk, review.request, publish_repo=settings.publish_repo,
                     number=review.number, body=review.written_body)


def approver_allowed(review: Review, issues: Any, settings: Settings) -> None:
    assert review.request is not None
    try:
        review.approval = approve(issues, settings.policy, settings.publish_repo, review.approver,
                                  review.requesters, review.events)
    except NotAuthorizedError as exc:
        raise Refused(exc) from None


def body_unchanged(review: Review) -> None:
    """The body now is the body the approver saw (the event's, or the publish App's record)."""
    from valet import gha

    approved = review.approved
    if not approved.known and approved.required:
        raise Refused(NotAuthorizedError(
            "no record of the body that was approved (the publish App's `ci-pending` "
            "comment for the latest approval is missing), so an edit after approval "
            "cannot be ruled out",
            hint="remove the `accepted` label and add it again"))
    if not approved.known:
        gha.warning("no approved body to compare with (run by hand without an event): "
                    "the body is taken as it is now", title="body not compared")
    elif not approved.matches(review.body):
        who = review.approval.login if review.approval else "the approver"
        raise Refused(NotAuthorizedError(
            f"the issue body changed after it was approved (the body now differs from the "
            f"body @{who} approved)",
            hint="check the edit, then remove and add `accepted` again to approve the "
            "body as it is now"))
