"""`valet audit`: one row per publish request, with the approvals that stand out.

The core is pure: ``build_rows`` turns facts about issues (their parsed request,
labels, issue events and comments) into rows, and the ``render_*`` functions turn
rows into markdown, JSON or CSV. ``collect`` is the only part that talks to GitHub.

What GitHub can and cannot tell us (see docs/audit.md):
- who added a label and when: the issue events API (``labeled``/``unlabeled``);
- who approved: the actor of the last ``labeled accepted`` event before publishing;
- body edits: no REST endpoint lists them. ``updated_at`` moves on *any* change, so an
  edit is only visible when nothing else happened after it (see ``_unexplained_update``).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from valet import gha

if TYPE_CHECKING:
    from valet.request import Request

TITLE_PREFIX = "publish: "

# Hidden markers at the start of the comments publish writes. This is the single
# source: the publish side imports them, the audit recognises comments by them.
# Anyone can paste a marker, so a marker comment only counts when its author is
# the publish side (a bot, or a login given with --valet-login); a marker written
# by anyone else is itself flagged.
MARKER_SUMMARY = "<!-- valet:summary -->"
MARKER_REFUSED = "<!-- valet:refused -->"
MARKER_FAILED = "<!-- valet:failed -->"
MARKERS: dict[str, str] = {
    "summary": MARKER_SUMMARY,
    "refused": MARKER_REFUSED,
    "failed": MARKER_FAILED,
}

ACCEPTED = "accepted"
PUBLISHED = "published"
FAILED = "failed"
CI_PENDING = "ci-pending"
CI_FAILED = "ci-failed"

# Final states of a request, in the order they are decided.
STATES = ("published", "failed", "pending", "refused", "closed", "open")

# Flag codes. Each one is a reason to look at the row; docs/audit.md explains them.
FLAG_NO_APPROVAL = "published-without-approval"
FLAG_NOT_APPROVER = "approver-not-allowed"
FLAG_SELF_APPROVED = "self-approved"
FLAG_BOT_APPROVER = "bot-approver"
FLAG_REFUSED = "approval-refused"
FLAG_EDITED = "edited-after-approval"
FLAG_NOT_A_REQUEST = "not-a-request"
FLAG_NO_REQUESTER = "requester-unknown"
FLAG_FORGED_MARKER = "marker-by-person"

EDIT_SLACK = timedelta(seconds=5)
_RUN_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?/[A-Za-z0-9._/-]+/actions/runs/[0-9]+"
                      r"(?:/attempts/[0-9]+)?")
_TITLE = re.compile(r"publish: (?P<where>\S+)@(?P<version>\S+)")


# -- facts (what collect gathers) -------------------------------------------


@dataclass(frozen=True)
class IssueEvent:
    event: str  # "labeled", "unlabeled", "closed", "reopened", ...
    created_at: datetime
    actor: str | None = None
    label: str | None = None


@dataclass(frozen=True)
class Comment:
    author: str | None
    body: str
    created_at: datetime
    updated_at: datetime | None = None
    author_is_bot: bool = False


@dataclass
class IssueFacts:
    number: int
    title: str
    state: str  # "open" | "closed"
    labels: list[str]
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    url: str | None = None
    request: Request | None = None
    parse_error: str | None = None  # why the body is not a request
    events: list[IssueEvent] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)


# -- the approver policy (optional) -------------------------------------------


@dataclass(frozen=True)
class ApproverPolicy:
    """Who counts as an approver for the audit.

    ``team_member(org, slug, login)`` answers team questions (the API at the edge,
    a stub in tests). The answers are cached: one audit asks each question once.
    """

    logins: frozenset[str] = frozenset()  # lower-cased
    teams: tuple[tuple[str, str], ...] = ()
    team_member: Callable[[str, str, str], bool] | None = None
    display: str = ""
    _cache: dict[tuple[str, str, str], bool] = field(default_factory=dict, compare=False, repr=False)

    def allows(self, login: str) -> bool:
        if login.lower() in self.logins:
            return True
        for org, slug in self.teams:
            key = (org, slug, login.lower())
            if key not in self._cache:
                self._cache[key] = bool(self.team_member and self.team_member(org, slug, login))
            if self._cache[key]:
                return True
        return False


def parse_approvers(raw: str | None,
                    team_member: Callable[[str, str, str], bool] | None = None) -> ApproverPolicy | None:
    """The `--approvers` value (logins and org/team, comma or space separated), or None."""
    if not raw or not raw.strip():
        return None
    from valet.authz import parse_policy  # the one grammar for approver lists

    policy = parse_policy(raw)
    return ApproverPolicy(
        logins=policy.logins,
        teams=tuple((t.org, t.slug) for t in policy.teams),
        team_member=team_member,
        display=policy.describe(),
    )


# -- rows -------------------------------------------------------------------


@dataclass(frozen=True)
class TargetRow:
    id: str
    checked: bool

    @property
    def outcome(self) -> str:
        return "done" if self.checked else "not done"


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
    requester: str | None
    approver: str | None
    approved_at: datetime | None
    published_at: datetime | None
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
            "approved_at": _iso(self.approved_at),
            "published_at": _iso(self.published_at),
            "state": self.state,
            "targets": [{"id": t.id, "checked": t.checked, "outcome": t.outcome}
                        for t in self.targets],
            "artifacts": [{"name": a.name, "size": a.size, "sha256": a.sha256}
                          for a in self.artifacts],
            "run_url": self.run_url,
            "flags": [{"code": f.code, "detail": f.detail} for f in self.flags],
        }


def _iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.lower() == b.lower()


def _has_marker(comment: Comment, marker: str | None = None) -> bool:
    head = comment.body.lstrip()
    return any(head.startswith(m) for m in ([marker] if marker else MARKERS.values()))


def _from_valet(comment: Comment, valet_logins: frozenset[str] | None) -> bool:
    if valet_logins:
        return comment.author is not None and comment.author.lower() in valet_logins
    return comment.author_is_bot or (comment.author or "").lower().endswith("[bot]")


def _marker_comments(facts: IssueFacts, marker: str,
                     valet_logins: frozenset[str] | None = None) -> list[Comment]:
    return [c for c in facts.comments if _has_marker(c, marker) and _from_valet(c, valet_logins)]


def _accepted_events(facts: IssueFacts) -> list[IssueEvent]:
    return sorted((e for e in facts.events if e.event == "labeled" and e.label == ACCEPTED),
                  key=lambda e: e.created_at)


def _publish_time(facts: IssueFacts) -> datetime | None:
    if PUBLISHED not in facts.labels:
        return None
    if facts.closed_at is not None:
        return facts.closed_at
    stamps = [e.created_at for e in facts.events if e.event == "labeled" and e.label == PUBLISHED]
    return max(stamps) if stamps else None


def _state(facts: IssueFacts, approvals: list[IssueEvent],
           valet_logins: frozenset[str] | None) -> str:
    labels = set(facts.labels)
    if PUBLISHED in labels:
        return "published"
    if FAILED in labels or CI_FAILED in labels:
        return "failed"
    if ACCEPTED in labels or CI_PENDING in labels:
        return "pending"
    refusals = _marker_comments(facts, MARKER_REFUSED, valet_logins)
    last_approval = approvals[-1].created_at if approvals else None
    if refusals and (last_approval is None or refusals[-1].created_at >= last_approval):
        return "refused"
    if facts.state == "closed":
        return "closed"
    return "open"


def _unexplained_update(facts: IssueFacts) -> datetime | None:
    """When ``updated_at`` is later than every event and comment we can see, something
    we cannot see changed the issue last: on an approval issue that is an edit of the
    title or body. Returns that time, else None."""
    seen = [facts.created_at]
    seen += [e.created_at for e in facts.events]
    seen += [c.updated_at or c.created_at for c in facts.comments]
    if facts.closed_at:
        seen.append(facts.closed_at)
    latest = max(seen)
    # GitHub stamps updated_at and the event separately; a few seconds of slack keeps
    # the flag for real edits, not for clock rounding.
    if facts.updated_at - latest > EDIT_SLACK:
        return facts.updated_at
    return None


def _run_url(facts: IssueFacts, valet_logins: frozenset[str] | None) -> str | None:
    for comment in reversed(_marker_comments(facts, MARKER_SUMMARY, valet_logins)):
        match = _RUN_URL.search(comment.body)
        if match:
            return match.group(0)
    return None


def _identity(facts: IssueFacts) -> tuple[str, str]:
    if facts.request is not None:
        where = facts.request.repo
        if facts.request.path not in ("", "."):
            where = f"{where}/{facts.request.path}"
        return where, facts.request.version
    match = _TITLE.fullmatch(facts.title.strip())
    if match:
        return match["where"], match["version"]
    return facts.title[len(TITLE_PREFIX):].strip(), ""


def build_row(facts: IssueFacts, policy: ApproverPolicy | None = None,
              valet_logins: frozenset[str] | None = None) -> AuditRow:
    req = facts.request
    repo, version = _identity(facts)
    requester = req.requested_by if req else None
    approvals = _accepted_events(facts)
    published_at = _publish_time(facts)
    state = _state(facts, approvals, valet_logins)
    counted = [e for e in approvals if published_at is None or e.created_at <= published_at]
    approval = counted[-1] if counted else None
    approver = approval.actor if approval else None
    flags: list[Flag] = []

    if req is None:
        flags.append(Flag(FLAG_NOT_A_REQUEST, facts.parse_error or "the body does not parse"))
    elif requester is None:
        flags.append(Flag(FLAG_NO_REQUESTER, "the body names no requester"))
    if state == "published" and approval is None:
        flags.append(Flag(FLAG_NO_APPROVAL, "published, but no `accepted` label was ever added "
                                            "before it"))
    # Every approval attempt is judged, not only the last one: an attempt by someone
    # who may not approve is worth seeing even when valet refused it.
    judged: set[str] = set()
    for event in approvals:
        who = event.actor
        if who is None:
            if event is approval:
                flags.append(Flag(FLAG_NOT_APPROVER, "the approval's actor is unknown (deleted user?)"))
            continue
        if who.lower() in judged:
            continue
        judged.add(who.lower())
        if policy is not None and not policy.allows(who):
            flags.append(Flag(FLAG_NOT_APPROVER, f"{who} is not an allowed approver"
                                                 f" (allowed: {policy.display or 'the given list'})"))
        if _same(who, requester):
            flags.append(Flag(FLAG_SELF_APPROVED, f"{who} requested and approved this release"))
        if who.lower().endswith("[bot]"):
            flags.append(Flag(FLAG_BOT_APPROVER, f"{who} is a bot"))
    refusals = _marker_comments(facts, MARKER_REFUSED, valet_logins)
    if refusals:
        flags.append(Flag(FLAG_REFUSED, f"valet refused {len(refusals)} approval(s)"))
    forged = sorted({c.author or "(unknown)" for c in facts.comments
                     if _has_marker(c) and not _from_valet(c, valet_logins)})
    if forged:
        flags.append(Flag(FLAG_FORGED_MARKER, "a valet marker in a comment not written by "
                                              f"valet, by {', '.join(forged)}: ignored"))
    edited = _unexplained_update(facts)
    if edited is not None and approval is not None and edited > approval.created_at:
        flags.append(Flag(FLAG_EDITED, f"the issue changed at {_iso(edited)} with no event to "
                                       f"explain it, after the approval at {_iso(approval.created_at)}"))

    return AuditRow(
        number=facts.number,
        url=facts.url,
        repo=repo,
        version=version,
        requester=requester,
        approver=approver,
        approved_at=approval.created_at if approval else None,
        published_at=published_at,
        state=state,
        targets=[TargetRow(t.id, t.checked) for t in (req.targets if req else [])],
        artifacts=[ArtifactRow(a.name, a.size, a.sha256) for a in (req.artifacts if req else [])],
        run_url=_run_url(facts, valet_logins),
        flags=flags,
    )


def build_rows(issues: Iterable[IssueFacts], approvers_policy: ApproverPolicy | None = None,
               *, valet_logins: Iterable[str] | None = None) -> list[AuditRow]:
    """One row per request, newest issue first.

    ``valet_logins``: the login(s) publish comments as; None trusts any bot's comments.
    """
    logins = frozenset(x.lower() for x in valet_logins) if valet_logins else None
    rows = [build_row(facts, approvers_policy, logins) for facts in issues]
    return sorted(rows, key=lambda r: r.number, reverse=True)


# -- renderers --------------------------------------------------------------

COLUMNS = ("issue", "repo", "version", "state", "requester", "approver", "approved_at",
           "published_at", "targets", "artifacts", "run_url", "flags")


def _targets_text(row: AuditRow) -> str:
    return "; ".join(f"{t.id}: {t.outcome}" for t in row.targets)


def _artifacts_text(row: AuditRow) -> str:
    return "; ".join(f"{a.name} ({a.size} bytes) sha256:{a.sha256}" for a in row.artifacts)


def _flags_text(row: AuditRow) -> str:
    return "; ".join(str(f) for f in row.flags)


def render_md(rows: list[AuditRow]) -> str:
    flagged = sum(1 for r in rows if r.flagged)
    lines = [
        "## valet audit",
        "",
        f"{len(rows)} publish request(s), {flagged} flagged.",
        "",
        "| | issue | repo | version | state | requester | approver | approved | published "
        "| targets | artifacts | run | flags |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        mark = ":warning:" if r.flagged else ":white_check_mark:"
        issue = f"[\\#{r.number}]({r.url})" if r.url and _safe_url(r.url) else f"\\#{r.number}"
        run = f"[run]({r.run_url})" if r.run_url and _safe_url(r.run_url) else ""
        cells = [
            mark, issue, gha.md_escape(r.repo), gha.md_escape(r.version), r.state,
            gha.md_escape(r.requester or ""), gha.md_escape(r.approver or ""),
            _iso(r.approved_at) or "", _iso(r.published_at) or "",
            "<br>".join(gha.md_escape(f"{t.id}: {t.outcome}") for t in r.targets),
            "<br>".join(gha.md_escape(f"{a.name} ({a.size} bytes) sha256:{a.sha256}")
                        for a in r.artifacts),
            run,
            "<br>".join("**" + gha.md_escape(f.code) + "** " + gha.md_escape(f.detail)
                        for f in r.flags),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _safe_url(url: str) -> bool:
    # Only plain http(s) URLs become links; anything else is shown as text nowhere.
    return re.fullmatch(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~%/-]*)?", url) is not None


def render_json(rows: list[AuditRow]) -> str:
    data = {"requests": [r.to_json() for r in rows],
            "flagged": sum(1 for r in rows if r.flagged)}
    return json.dumps(data, indent=2, sort_keys=False) + "\n"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not evaluate: a leading formula character gets a quote."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def render_csv(rows: list[AuditRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow([csv_cell(v) for v in (
            r.number, r.repo, r.version, r.state, r.requester, r.approver,
            _iso(r.approved_at), _iso(r.published_at), _targets_text(r), _artifacts_text(r),
            r.run_url, _flags_text(r),
        )])
    return out.getvalue()


RENDERERS: dict[str, Callable[[list[AuditRow]], str]] = {
    "md": render_md,
    "json": render_json,
    "csv": render_csv,
}


# -- collecting (the I/O edge) ----------------------------------------------


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _login(obj: Any) -> str | None:
    if isinstance(obj, dict) and isinstance(obj.get("login"), str):
        return obj["login"]  # type: ignore[no-any-return]
    return None


def facts_from_api(issue: dict[str, Any], events: list[dict[str, Any]],
                   comments: list[dict[str, Any]]) -> IssueFacts:
    """Turn REST payloads into IssueFacts (parsing the request body)."""
    from valet.errors import ValetError

    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    title = str(issue.get("title") or "")
    body = issue.get("body")
    request = None
    parse_error = None
    try:
        from valet.issue_format import parse_issue

        request = parse_issue(title, body if isinstance(body, str) else "")
    except ValetError as exc:
        parse_error = exc.message
    created = _when(issue.get("created_at")) or epoch
    return IssueFacts(
        number=int(issue["number"]),
        title=title,
        state=str(issue.get("state") or "open"),
        labels=[str(x.get("name")) for x in issue.get("labels") or [] if isinstance(x, dict)],
        created_at=created,
        updated_at=_when(issue.get("updated_at")) or created,
        closed_at=_when(issue.get("closed_at")),
        url=issue.get("html_url") if isinstance(issue.get("html_url"), str) else None,
        request=request,
        parse_error=parse_error,
        events=[
            IssueEvent(
                event=str(e.get("event") or ""),
                created_at=_when(e.get("created_at")) or epoch,
                actor=_login(e.get("actor")),
                label=(e.get("label") or {}).get("name") if isinstance(e.get("label"), dict) else None,
            )
            for e in events if isinstance(e, dict)
        ],
        comments=[
            Comment(author=_login(c.get("user")), body=str(c.get("body") or ""),
                    created_at=_when(c.get("created_at")) or epoch,
                    updated_at=_when(c.get("updated_at")),
                    author_is_bot=isinstance(c.get("user"), dict) and c["user"].get("type") == "Bot")
            for c in comments if isinstance(c, dict)
        ],
    )


def collect(gh: Any, publish_repo: str, since: datetime | None = None) -> list[IssueFacts]:
    """Every `publish: ` issue of publish_repo (open and closed, updated since ``since``)."""
    from valet.publish_api import Rest

    rest = Rest(gh)
    params: dict[str, Any] = {"state": "all", "sort": "created", "direction": "desc"}
    if since is not None:
        params["since"] = _iso(since)
    found: list[IssueFacts] = []
    for issue in rest.items(f"/repos/{publish_repo}/issues", params):
        if not isinstance(issue, dict) or "pull_request" in issue:
            continue
        if not str(issue.get("title") or "").startswith(TITLE_PREFIX):
            continue
        number = int(issue["number"])
        events = list(rest.items(f"/repos/{publish_repo}/issues/{number}/events"))
        comments = list(rest.items(f"/repos/{publish_repo}/issues/{number}/comments"))
        found.append(facts_from_api(issue, events, comments))
    return found
