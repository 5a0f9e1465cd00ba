"""The approval: who approved, and the body they approved.

The approver is the actor of the latest `labeled accepted` event, confirmed
against the event that started the run and authorized by ``authz``. The body
they saw is either the event's text or the digest valet recorded in its
`ci-pending` comment (for a later, scheduled run).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from valet import summary
from valet.authz import Approval, Policy, authorize
from valet.events import Actor
from valet.labels import Label
from valet.publish.timeline import latest_label_actor
from valet.request import Request


@dataclass(frozen=True)
class Approved:
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


def approve(issues: Any, policy: Policy, publish_repo: str, approver: Actor,
            request: Request, events: list[dict[str, Any]]) -> Approval:
    """The approval of ``approver``, or NotAuthorizedError with the reason."""
    confirmed = latest_label_actor(events, str(Label.ACCEPTED))
    return authorize(issues, policy, publish_repo=publish_repo, labeler=approver,
                     requester=request.requested_by,
                     confirmed_by=confirmed.login if confirmed else None)


def approved_digest(issues: Any, number: int, events: list[dict[str, Any]]) -> str | None:
    """The body the approver saw, as recorded by our ci-pending comment (see summary)."""
    writer = latest_label_actor(events, str(Label.CI_PENDING))
    if writer is None:
        return None
    for comment in reversed(issues.comments(number)):
        user = (comment.get("user") or {}).get("login")
        if not user or user.lower() != writer.login.lower():
            continue
        for data in summary.read_markers(comment.get("body") or "", summary.APPROVED_MARKER):
            digest = data.get("body_sha256")
            if isinstance(digest, str):
                return digest
    return None
