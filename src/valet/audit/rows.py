"""One row per request, from verified facts (pure): who asked, who approved, what shipped.

Everything a row states as fact is what GitHub recorded (issue events, the edit
history, the prepare run) or what the publish App wrote (its comments and the
records in them). Anything else is a claim: it is left out of the columns and
named in a flag, never reported as what happened.

- state: from the publish App's last word (its summary, failure or refusal
  comment) after the latest approval; labels only say a run may be under way;
- approver: the actor of the `labeled accepted` event publish acted on (the one
  its summary names, else the latest before it), judged by today's rule;
- requester: who ran the prepare workflow (never the body's `Requested by:`);
- targets: published when the publish App recorded it (its done records or its
  own tick in the edit history); a box someone else ticked is `ticked`, with who.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from valet import summary
from valet.audit.facts import IssueFacts, accepted_events, actor_of, iso, when
from valet.labels import Label
from valet.publish.approval import own_records
from valet.publish.identity import Identities

# Final states of a request, in the order they are decided.
STATES = ("published", "failed", "refused", "pending", "closed", "open")

# Flag codes. Each is a reason to look at the row; docs/audit.md explains them.
FLAG_NOT_A_REQUEST = "not-a-request"
FLAG_NOT_FROM_REQUEST_APP = "not-from-request-app"
FLAG_EDITED_BY_OTHER = "edited-by-other"
FLAG_EDITED_AFTER_APPROVAL = "edited-after-approval"
FLAG_EDITS_UNVERIFIED = "edits-unverified"
FLAG_REQUESTER_UNVERIFIED = "requester-unverified"
FLAG_REQUESTER_REWRITTEN = "requester-rewritten"
FLAG_UNSEALED = "unsealed"
FLAG_SEAL_MISMATCH = "seal-mismatch"
FLAG_SEAL_EXPIRED = "seal-expired"
FLAG_NO_APPROVAL = "published-without-approval"
FLAG_APPROVAL_MISMATCH = "approval-mismatch"
FLAG_NOT_APPROVER = "approver-not-allowed"
FLAG_SELF_APPROVED = "self-approved"
FLAG_BOT_APPROVER = "bot-approver"
FLAG_REFUSED = "approval-refused"
FLAG_FORGED_RECORD = "forged-record"
FLAG_LABEL_UNVERIFIED = "published-label-unverified"


@dataclass(frozen=True)
class TargetRow:
    id: str
    outcome: str  # "published" | "ticked" | "not done"
    detail: str = ""  # who ticked a box valet did not publish

    @property
    def text(self) -> str:
        return f"{self.id}: {self.outcome}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class ArtifactRow:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Flag:
    code: str
    detail: str

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


@dataclass
class AuditRow:
    number: int
    url: str | None
    repo: str
    version: str
    requester: str | None  # who ran the prepare workflow (GitHub's record), else None
    approver: str | None
    approved_at: datetime | None
    published_at: datetime | None
    publisher: str | None  # the publish App, when its summary says it published
    state: str
    targets: list[TargetRow]
    artifacts: list[ArtifactRow]
    run_url: str | None
    flags: list[Flag]

    @property
    def flagged(self) -> bool:
        return bool(self.flags)

    def to_json(self) -> dict[str, Any]:
        return {
            "issue": self.number,
            "url": self.url,
            "repo": self.repo,
            "version": self.version,
            "requester": self.requester,
            "approver": self.approver,
            "approved_at": iso(self.approved_at),
            "published_at": iso(self.published_at),
            "publisher": self.publisher,
            "state": self.state,
            "targets": [{"id": t.id, "outcome": t.outcome, "detail": t.detail}
                        for t in self.targets],
            "artifacts": [{"name": a.name, "size": a.size, "sha256": a.sha256}
                          for a in self.artifacts],
            "run_url": self.run_url,
            "flags": [{"code": f.code, "detail": f.detail} for f in self.flags],
        }


# -- the publish App's comments ---------------------------------------------------


@dataclass(frozen=True)
class _Word:
    """One comment of the publish App: which of its kinds, when, and its text."""

    kind: str  # summary | failed | refused | approved (the ci-pending record)
    at: datetime
    body: str


def _author(comment: dict[str, Any]) -> object:
    return (comment.get("user") or {}).get("login")


def _kind(body: str) -> str | None:
    head = body.lstrip()
    for kind, marker in summary.MARKERS.items():
        if head.startswith(marker):
            return kind
    if summary.read_markers(body, summary.APPROVED_MARKER):
        return "approved"
    return None


def _words(facts: IssueFacts, ids: Identities) -> tuple[list[_Word], list[str]]:
    """The publish App's comments that carry a marker, and who else wrote one."""
    mine: list[_Word] = []
    others: list[str] = []
    for c in facts.comments:
        body = str(c.get("body") or "")
        kind = _kind(body) or ("record" if summary.read_markers(body, summary.DONE_MARKER)
                               else None)
        if kind is None:
            continue
        author = _author(c)
        if ids.is_publish_bot(author):
            mine.append(_Word(kind, when(c.get("created_at")) or _EPOCH, body))
        else:
            others.append(author if isinstance(author, str) and author else "someone")
    return mine, others


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _done_records(facts: IssueFacts, ids: Identities) -> list[dict[str, object]]:
    pairs = [(_author(c), str(c.get("body") or "")) for c in facts.comments]
    return own_records(pairs, ids, summary.DONE_MARKER)[0]


# -- the row ------------------------------------------------------------------


def _identity(facts: IssueFacts) -> tuple[str, str]:
    if facts.request is not None:
        where = facts.request.repo
        if facts.request.path not in ("", "."):
            where = f"{where}/{facts.request.path}"
        return where, facts.request.version
    from valet.errors import ValetError
    from valet.issue_format import parse_title

    title = str(facts.issue.get("title") or "")
    try:
        repo, path, version = parse_title(title)
    except ValetError:
        return title[len("publish: "):].strip(), ""
    return (repo if path in ("", ".") else f"{repo}/{path}"), version


def _run_url(word: _Word | None) -> str | None:
    import re

    if word is None:
        return None
    match = re.search(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?/[A-Za-z0-9._/-]+/actions/runs/"
                      r"[0-9]+(?:/attempts/[0-9]+)?", word.body)
    return match.group(0) if match else None


def _approval(facts: IssueFacts, published: _Word | None, flags: list[Flag]
              ) -> dict[str, Any] | None:
    """The `labeled accepted` event publish acted on (or, unpublished, the latest)."""
    attempts = accepted_events(facts.events)
    if published is None:
        return attempts[-1] if attempts else None
    before = [e for e in attempts if (when(e.get("created_at")) or _EPOCH) <= published.at]
    latest = before[-1] if before else None
    records = summary.read_markers(published.body, summary.DONE_MARKER)
    named = records[-1].get("event") if records else None
    if isinstance(named, int) and not isinstance(named, bool):
        by_id = [e for e in attempts if e.get("id") == named]
        if not by_id:
            flags.append(Flag(FLAG_APPROVAL_MISMATCH, f"the publish App's summary names the "
                                                      f"approval event {named}, which the "
                                                      "issue's events do not hold"))
            return latest
        return by_id[0]
    return latest


def _targets(facts: IssueFacts, ids: Identities) -> list[TargetRow]:
    from valet.edit_history import who_ticked

    if facts.request is None:
        return []
    done: set[str] = set()
    for record in _done_records(facts, ids):
        keys = record.get("targets")
        if isinstance(keys, list):
            done.update(k for k in keys if isinstance(k, str))
    ticked = [t.id for t in facts.request.targets if t.id in facts.ticked]
    tickers = who_ticked(facts.edits, ticked) if facts.edits is not None else {}
    rows = []
    for t in facts.request.targets:
        if t.id in done or (t.id in facts.ticked and ids.is_publish_bot(tickers.get(t.id))):
            rows.append(TargetRow(t.id, "published"))
        elif t.id in facts.ticked:
            who = tickers.get(t.id)
            rows.append(TargetRow(t.id, "ticked", f"ticked by {who}, not published by valet"
                                  if who else "not published by valet; who ticked it is unknown"))
        else:
            rows.append(TargetRow(t.id, "not done"))
    return rows


def _edited_after(facts: IssueFacts, ids: Identities) -> str | None:
    """Who changed the body beyond ticks after the version approved (publish's own ticks
    aside)."""
    from valet.issue_format import without_ticks

    edits = facts.edits or []
    if facts.approved is None:
        return None
    before = edits[facts.approved].body
    for edit in edits[facts.approved + 1:]:
        if not ids.is_publish_bot(edit.login) and without_ticks(before) != without_ticks(edit.body):
            return f"{edit.login or 'a deleted account'} at {edit.at}"
        before = edit.body
    return None


def _seal_flag(facts: IssueFacts) -> Flag | None:
    """What the named run's seal says, when it does not vouch for the request. Expired
    is milder: artifacts expire after retention-days, the run's record stays."""
    from valet.publish import seal_check

    said, req = facts.seal, facts.request
    if said is None or said.sealed or req is None:
        return None
    where = seal_check.where(req)
    if said.state == seal_check.EXPIRED:
        return Flag(FLAG_SEAL_EXPIRED, f"{where} can no longer show that it wrote this "
                    f"request: {said.why}; the requester is GitHub's record of that run")
    claim = f" (the body claims {req.requested_by})" if req.requested_by else ""
    actors = ", ".join(facts.run_actors) or "nobody"
    return Flag(FLAG_UNSEALED if said.state == seal_check.UNSEALED else FLAG_SEAL_MISMATCH,
                f"{where} did not write this request: {said.why}. GitHub records {actors} as "
                f"that run's actor, not as who asked for this request{claim}")


def build_row(facts: IssueFacts, ids: Identities) -> AuditRow:
    flags: list[Flag] = []
    req = facts.request
    repo, version = _identity(facts)
    if req is None:
        flags.append(Flag(FLAG_NOT_A_REQUEST, facts.parse_error or "the body does not parse"))
    if facts.author_problem:
        flags.append(Flag(FLAG_NOT_FROM_REQUEST_APP, facts.author_problem))
    if facts.edits is None:
        flags.append(Flag(FLAG_EDITS_UNVERIFIED, "the body's edit history could not be read "
                          f"({facts.edits_error or 'unknown error'}): who wrote it is unknown"))
    elif facts.edit_problem:
        flags.append(Flag(FLAG_EDITED_BY_OTHER, facts.edit_problem))

    # Who asked: GitHub's record of the prepare run, never the body's claim.
    requester = ", ".join(facts.requesters) or None
    if req is not None and facts.requester_problem:
        claim = f" (the body claims {req.requested_by})" if req.requested_by else ""
        flags.append(Flag(FLAG_REQUESTER_UNVERIFIED, facts.requester_problem + claim))
    elif req is not None and facts.requesters:
        from valet.publish.origin import claimed_otherwise

        rewritten = claimed_otherwise(req, facts.requesters)
        if rewritten:
            flags.append(Flag(FLAG_REQUESTER_REWRITTEN, rewritten))

    seal_flag = _seal_flag(facts)
    if seal_flag is not None:
        flags.append(seal_flag)

    # What the publish App said last.
    words, forged = _words(facts, ids)
    if forged:
        flags.append(Flag(FLAG_FORGED_RECORD, "valet records in comments the publish App "
                          f"{ids.publish_bot} did not write, by {', '.join(sorted(set(forged)))}"
                          ": ignored"))
    summaries = [w for w in words if w.kind == "summary"]
    published = summaries[-1] if summaries else None
    approval = _approval(facts, published, flags)
    approved_at = when(approval.get("created_at")) if approval else None
    labels = {x.get("name") for x in facts.issue.get("labels") or [] if isinstance(x, dict)}
    state = _state(facts, words, published, approved_at, labels)
    if str(Label.PUBLISHED) in labels and published is None:
        by = sorted({a.login for e in facts.events if e.get("event") == "labeled"
                     and (e.get("label") or {}).get("name") == str(Label.PUBLISHED)
                     and (a := actor_of(e)) is not None})
        flags.append(Flag(FLAG_LABEL_UNVERIFIED, "labelled `published`"
                          + (f" by {', '.join(by)}" if by else "")
                          + f", but the publish App {ids.publish_bot} wrote no summary: "
                          "a label is not evidence"))
    if published is not None and approval is None:
        flags.append(Flag(FLAG_NO_APPROVAL, "the publish App says it published, but no "
                          "`accepted` label was added before it"))

    # Who approved, judged by today's rule; every attempt counts.
    approver_actor = actor_of(approval) if approval else None
    approver = approver_actor.login if approver_actor else None
    if approval is not None and approver_actor is None:
        flags.append(Flag(FLAG_NOT_APPROVER, "the approval's actor is unknown (deleted account?)"))
    judged: set[str] = set()
    for event in accepted_events(facts.events):
        actor = actor_of(event)
        if actor is None or actor.login.lower() in judged:
            continue
        judged.add(actor.login.lower())
        refusal = facts.approvers.get(actor.login.lower())
        if refusal:
            flags.append(Flag(FLAG_NOT_APPROVER, f"{actor.login}, by the rule today: {refusal}"))
            continue
        if actor.login.lower() in {r.lower() for r in facts.requesters}:
            flags.append(Flag(FLAG_SELF_APPROVED, f"{actor.login} requested and approved this "
                              "release (allow-self-approval is on)"))
        if actor.is_bot:
            flags.append(Flag(FLAG_BOT_APPROVER, f"{actor.login} is a bot (listed in allow-bots)"))
    refusals = [w for w in words if w.kind == "refused"]
    if refusals:
        flags.append(Flag(FLAG_REFUSED, f"valet refused {len(refusals)} approval(s)"))
    if approved_at is not None:
        edited = _edited_after(facts, ids)
        if edited:
            flags.append(Flag(FLAG_EDITED_AFTER_APPROVAL, f"the body was changed beyond ticks "
                              f"after the approval at {iso(approved_at)}, by {edited}: the "
                              "row shows the request as approved"))

    return AuditRow(
        number=facts.number,
        url=facts.issue.get("html_url") if isinstance(facts.issue.get("html_url"), str) else None,
        repo=repo,
        version=version,
        requester=requester,
        approver=approver,
        approved_at=approved_at,
        published_at=published.at if published else None,
        publisher=ids.publish_bot if published else None,
        state=state,
        targets=_targets(facts, ids),
        artifacts=[ArtifactRow(a.name, a.size, a.sha256) for a in (req.artifacts if req else [])],
        run_url=_run_url(published),
        flags=flags,
    )


def _state(facts: IssueFacts, words: list[_Word], published: _Word | None,
           approved_at: datetime | None, labels: set[Any]) -> str:
    if published is not None:
        return "published"
    since = [w for w in words if approved_at is None or w.at >= approved_at]
    last = since[-1].kind if since else None
    if last == "failed":
        return "failed"
    if last == "refused":
        return "refused"
    if facts.issue.get("state") == "open" and labels & {str(Label.ACCEPTED), str(Label.CI_PENDING)}:
        return "pending"
    if last == "approved" and facts.issue.get("state") == "open":
        return "pending"
    if facts.issue.get("state") == "closed":
        return "closed"
    return "open"


def build_rows(issues: Iterable[IssueFacts], ids: Identities) -> list[AuditRow]:
    """One row per request, newest issue first."""
    rows = [build_row(facts, ids) for facts in issues]
    return sorted(rows, key=lambda r: r.number, reverse=True)
