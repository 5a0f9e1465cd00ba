"""The approval: who approved, and the body they approved.

The approver is the actor of the latest `labeled accepted` event, confirmed
against the event that started the run and authorized by ``authz`` now. The body
they saw is either the event's text or the digest valet recorded in its
`ci-pending` comment (for a later, scheduled run). That record counts only when
the publish App wrote it, for this very approval (the id of the `labeled
accepted` event is in it): labels and comments anyone else wrote are never
evidence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from valet import gha, summary
from valet.authz import Approval, Policy, authorize
from valet.events import Actor
from valet.labels import Label
from valet.publish.identity import Identities
from valet.publish.timeline import latest_label_actor, latest_label_event


@dataclass(frozen=True)
class Approved:
    """The body the approver saw: its text (from the label event) or its digest (recorded
    in valet's ci-pending comment); neither when run by hand."""

    text: str | None = None
    digest: str | None = None
    required: bool = False  # a scheduled re-check: without a record, refuse

    @property
    def known(self) -> bool:
        return self.text is not None or self.digest is not None

    def matches(self, body: str) -> bool:
        if self.text is not None:
            return self.text == body
        return self.digest is not None and summary.body_digest(body) == self.digest


def approve(issues: Any, policy: Policy, publish_repo: str, approver: Actor,
            requesters: tuple[str, ...], events: list[dict[str, Any]]) -> Approval:
    """The approval of ``approver``, or NotAuthorizedError with the reason."""
    confirmed = latest_label_actor(events, str(Label.ACCEPTED))
    return authorize(issues, policy, publish_repo=publish_repo, labeler=approver,
                     requesters=requesters,
                     confirmed_by=confirmed.login if confirmed else None)


def approval_id(events: list[dict[str, Any]]) -> int | None:
    """The id of the latest `labeled accepted` event: which approval a record is about."""
    ev = latest_label_event(events, str(Label.ACCEPTED))
    value = ev.get("id") if ev else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def own_records(comments: Iterable[tuple[object, str]], ids: Identities, kind: str
                ) -> tuple[list[dict[str, object]], list[str]]:
    """The ``kind`` markers of the publish App's comments, oldest first, and who else
    wrote one (``comments``: (author login, body) pairs, oldest first). Only the publish
    App's records are evidence: anyone can paste a marker."""
    found: list[dict[str, object]] = []
    others: list[str] = []
    for author, body in comments:
        markers = summary.read_markers(body or "", kind)
        if not markers:
            continue
        if ids.is_publish_bot(author):
            found.extend(markers)
        else:
            others.append(author if isinstance(author, str) and author else "someone")
    return found, others


def own_comments(issues: Any, number: int, ids: Identities, kind: str
                 ) -> list[dict[str, object]]:
    """The ``kind`` markers of the publish App's comments, oldest first; markers in
    anyone else's comments are ignored with a warning."""
    pairs = [((c.get("user") or {}).get("login"), str(c.get("body") or ""))
             for c in issues.comments(number)]
    found, others = own_records(pairs, ids, kind)
    for author in others:
        gha.warning(f"ignoring a `{kind}` record in a comment by {author} on "
                    f"#{number}: not written by the publish App {ids.publish_bot}",
                    title="forged record ignored")
    return found


def approved_digest(issues: Any, number: int, events: list[dict[str, Any]],
                    ids: Identities) -> str | None:
    """The body the latest approver saw, as the publish App recorded it (None: no record)."""
    current = approval_id(events)
    for data in reversed(own_comments(issues, number, ids, summary.APPROVED_MARKER)):
        digest = data.get("body_sha256")
        if data.get("event") == current and current is not None and isinstance(digest, str):
            return digest
    return None
