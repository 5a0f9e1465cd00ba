"""What the audit reads from GitHub about one request, checked by the publish side's rules.

``collect`` is the I/O edge: every `publish: ` issue of the publish repository with
its events, comments and body edits, the prepare run its request names (SDK
repository, Actions API) and the approvers' rights today. The verdicts come from
the functions publish itself runs (``publish.origin``, ``authz.authorize``), so the
audit and publish can never disagree about what counts:

- a request is an issue the request App opened (``origin.check_author``);
- only the request App and the publish App write the body beyond ticking boxes
  (``origin.check_edits``, GraphQL's edit history);
- the requester is who ran the prepare workflow, as GitHub recorded it
  (``origin.requesters``); the body's `Requested by:` is only a claim;
- that run wrote the request: its seal (``seal_check.verdict``), else its actor is
  not the requester;
- an approver is judged by the publish repository's rule as it stands today
  (``authz.authorize``), so someone who lost the right since stands out.

A check that cannot run (GitHub refuses, the history is too long) is recorded as
such: the row says it is unverified, never that it passed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from valet.authz import Policy, authorize
from valet.errors import NotARequestError, NotAuthorizedError, ValetError
from valet.events import Actor, valid_login
from valet.publish.context import DEFAULT_RELEASE_WORKFLOW, Refused
from valet.publish.identity import Identities
from valet.publish.seal_check import Verdict
from valet.publish_api import Edit
from valet.request import Request

TITLE_PREFIX = "publish: "


@dataclass
class IssueFacts:
    """One issue as GitHub recorded it, and what the publish side's rules say of it.

    ``issue``, ``events`` and ``comments`` are the REST payloads (oldest first)."""

    issue: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    # The request as approved: parsed from the body as it stood at the approval
    # publish acted on (from the edit history), else from the body now.
    request: Request | None = None
    parse_error: str | None = None
    ticked: frozenset[str] = frozenset()  # the boxes ticked in the body now
    # The body's edit history (None: it could not be read, see edits_error).
    edits: list[Edit] | None = None
    edits_error: str | None = None
    approved: int | None = None  # the index in ``edits`` of the body approved
    # Refusals of the publish rules (None: the rule holds).
    author_problem: str | None = None  # not opened by the request App
    edit_problem: str | None = None  # written beyond ticks by someone else
    requesters: tuple[str, ...] = ()  # who ran the prepare workflow (GitHub's record)
    requester_problem: str | None = None  # why that is unknown
    # What the named run's seal says of the request (None: not read, there being no
    # verified run to vouch for it); when it does not vouch, ``requesters`` is emptied
    # and GitHub's actors of that run are kept here, for the flag to name.
    seal: Verdict | None = None
    run_actors: tuple[str, ...] = ()
    # login (lower-case) -> why the publish rule refuses them today (None: allowed)
    approvers: dict[str, str | None] = field(default_factory=dict)

    @property
    def number(self) -> int:
        return int(self.issue["number"])

    @property
    def author(self) -> str | None:
        login = (self.issue.get("user") or {}).get("login")
        return login if isinstance(login, str) else None


@dataclass(frozen=True)
class Rules:
    """What the audit judges with: the same facts the publish action is configured with."""

    ids: Identities
    policy: Policy = field(default_factory=Policy)
    publish_repo: str = ""
    release_workflow: str = DEFAULT_RELEASE_WORKFLOW


def when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def accepted_events(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    from valet.labels import Label

    return [e for e in events if isinstance(e, dict) and e.get("event") == "labeled"
            and (e.get("label") or {}).get("name") == str(Label.ACCEPTED)]


def actor_of(event: dict[str, Any]) -> Actor | None:
    actor = event.get("actor") or {}
    login = actor.get("login") if isinstance(actor, dict) else None
    if not valid_login(login):
        return None
    return Actor(str(login), str(actor.get("type") or "User"))


# -- verifying (each with the publish side's own function) -----------------------


def _refusal(check: Callable[[], Any]) -> tuple[Any, str | None]:
    try:
        return check(), None
    except Refused as refused:
        return None, refused.error.message


def approval_time(facts: IssueFacts, ids: Identities) -> datetime | None:
    """When the approval publish acted on was given: the latest `labeled accepted` before
    the publish App's first summary (publish acts on the latest), else the latest."""
    from valet import summary

    done = [when(c.get("created_at")) for c in facts.comments
            if ids.is_publish_bot((c.get("user") or {}).get("login"))
            and str(c.get("body") or "").lstrip().startswith(summary.MARKER_SUMMARY)]
    until = min((d for d in done if d is not None), default=None)
    stamps = [when(e.get("created_at")) for e in accepted_events(facts.events)]
    seen = [t for t in stamps if t is not None and (until is None or t <= until)]
    return seen[-1] if seen else None


def approved_digests(facts: IssueFacts, ids: Identities) -> list[str]:
    """The digests of approved bodies the publish App recorded (newest first): in its
    summary after publishing, and in its ci-pending record of each approval."""
    from valet import summary
    from valet.publish.approval import own_records

    pairs = [((c.get("user") or {}).get("login"), str(c.get("body") or ""))
             for c in facts.comments]
    found: list[str] = []
    for kind in (summary.DONE_MARKER, summary.APPROVED_MARKER):
        for record in reversed(own_records(pairs, ids, kind)[0]):
            digest = record.get("body_sha256")
            if isinstance(digest, str):
                found.append(digest)
    return found


def approved_version(facts: IssueFacts, ids: Identities) -> int | None:
    """Which version of the body (an index into ``edits``) was the one approved.

    By the digest the publish App recorded when it can (exact); else the newest
    version written at or before the approval (edits in the approval's second are
    taken as before it: timestamps are whole seconds). None: no edit history."""
    from valet import summary

    edits = facts.edits or []
    if not edits:
        return None
    for digest in approved_digests(facts, ids):
        for index in range(len(edits) - 1, -1, -1):
            if summary.body_digest(edits[index].body) == digest:
                return index
    moment = approval_time(facts, ids)
    if moment is None:
        return len(edits) - 1
    index = 0
    for i, edit in enumerate(edits):
        if (when(edit.at) or moment) <= moment:
            index = i
    return index


def verify_origin(facts: IssueFacts, rules: Rules, sdk: Callable[[str], Any]) -> None:
    """Who opened, wrote and asked for the request (publish.origin), as it was approved."""
    from valet.publish import origin

    _, facts.author_problem = _refusal(lambda: origin.check_author(facts.issue, rules.ids))
    written = str(facts.issue.get("created_at") or "")
    if facts.edits is not None:
        complete = bool(getattr(facts.edits, "complete", True))
        _, facts.edit_problem = _refusal(
            lambda: origin.check_edits(list(facts.edits or []), complete, rules.ids))
        # The request publish acted on: the body as it stood at the approval (an edit
        # after it, flagged in the row, does not rewrite what was approved).
        facts.approved = approved_version(facts, rules.ids)
        then = facts.edits[: facts.approved + 1] if facts.approved is not None else []
        if then and len(then) < len(facts.edits):
            _parse(facts, then[-1].body, ticks=False)
        written = origin.written_at(facts.issue, then, rules.ids)
    if facts.request is None:
        facts.requester_problem = "the body is not a request"
        return
    request = facts.request
    try:
        found, facts.requester_problem = _refusal(
            lambda: origin.requesters(sdk(request.repo), request, rules.release_workflow,
                                      written))
    except ValetError as exc:  # GitHub would not say (no access, rate limit, ...)
        facts.requester_problem = f"the prepare run could not be read: {exc.message}"
        return
    facts.requesters = tuple(found or ())


def verify_seal(facts: IssueFacts, rules: Rules, seals: _Seals) -> None:
    """Whether the run that names the requesters sealed the request as approved, judged as
    publish judges it (``seal_check.verdict``)."""
    from valet import seal
    from valet.publish import seal_check

    request = facts.request
    if request is None or request.run_id is None or not facts.requesters:
        return  # no run GitHub shows asked for it: nothing for a seal to vouch for
    # The body as the request App last wrote it up to the version approved: what
    # publish checked when it acted (a later rewrite is flagged on its own).
    then = (facts.edits or [])[: (facts.approved or 0) + 1] if facts.edits else []
    now = facts.issue.get("body")
    body = seal_check.written_body(now if isinstance(now, str) else "", then, rules.ids)
    try:
        listed, data = seals.read(request.repo, request.run_id)
    except ValetError as exc:  # GitHub would not say: unverified, never passed
        facts.requester_problem = f"the prepare run's seal could not be read: {exc.message}"
        facts.requesters = ()
        return
    facts.seal = seal_check.verdict(listed, data, seal.make(rules.publish_repo, facts.number,
                                                            request, body))
    if facts.seal.state in (seal_check.UNSEALED, seal_check.MISMATCH):
        # that run did not write this request: whoever ran it did not ask for it
        facts.run_actors, facts.requesters = facts.requesters, ()


def verify_approvers(facts: IssueFacts, rules: Rules, authz: Any) -> None:
    """Every `accepted` attempt's actor, judged by the publish rule as it stands today."""
    # When GitHub's record of the requester is missing, the row says so; self-approval
    # cannot be judged then, the rest of the rule can.
    policy = rules.policy if facts.requesters else replace(rules.policy, allow_self_approval=True)
    for event in accepted_events(facts.events):
        actor = actor_of(event)
        if actor is None or actor.login.lower() in facts.approvers:
            continue
        try:
            authorize(authz, policy, publish_repo=rules.publish_repo, labeler=actor,
                      requesters=facts.requesters, confirmed_by=actor.login)
            facts.approvers[actor.login.lower()] = None
        except NotAuthorizedError as exc:
            facts.approvers[actor.login.lower()] = exc.message


class _Asked:
    """authz's two questions, each asked once per audit (many rows share approvers)."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self._teams: dict[tuple[str, str, str], bool] = {}
        self._roles: dict[tuple[str, str], str] = {}

    def team_member(self, org: str, slug: str, login: str) -> bool:
        key = (org.lower(), slug.lower(), login.lower())
        if key not in self._teams:
            self._teams[key] = bool(self.api.team_member(org, slug, login))
        return self._teams[key]

    def repo_role(self, repo: str, login: str) -> str:
        key = (repo.lower(), login.lower())
        if key not in self._roles:
            self._roles[key] = str(self.api.repo_role(repo, login))
        return self._roles[key]


class _Seals:
    """Each named run's seal read once per audit (``seal_check.read``: its artifacts list
    and, when it has a seal, one zip), however many requests name the run."""

    def __init__(self, sdk: Callable[[str], Any]) -> None:
        self.sdk = sdk
        self._read: dict[tuple[str, int], tuple[list[dict[str, Any]], bytes | None]
                         | ValetError] = {}

    def read(self, repo: str, run_id: int) -> tuple[list[dict[str, Any]], bytes | None]:
        from valet.publish import seal_check

        key = (repo.lower(), int(run_id))
        if key not in self._read:
            try:
                self._read[key] = seal_check.read(self.sdk(repo), int(run_id))
            except ValetError as exc:
                self._read[key] = exc
        got = self._read[key]
        if isinstance(got, ValetError):
            raise got
        return got


# -- collecting (the I/O edge) ----------------------------------------------


def read_issue(issues: Any, issue: dict[str, Any]) -> IssueFacts:
    """The issue's events, comments, edit history and parsed request."""
    number = int(issue["number"])
    facts = IssueFacts(issue=issue, events=list(issues.events(number)),
                       comments=list(issues.comments(number)))
    body = issue.get("body")
    _parse(facts, body if isinstance(body, str) else "", ticks=True)
    try:
        facts.edits = issues.body_edits(number)
    except ValetError as exc:
        facts.edits_error = exc.message
    return facts


def _parse(facts: IssueFacts, body: str, *, ticks: bool) -> None:
    """The request in ``body``; ``ticks``: also take which boxes are ticked (the body now)."""
    from valet.issue_format import parse_issue

    try:
        facts.request = parse_issue(str(facts.issue.get("title") or ""), body)
        facts.parse_error = None
    except NotARequestError as exc:
        facts.request, facts.parse_error = None, exc.message
        return
    if ticks:
        facts.ticked = frozenset(t.id for t in facts.request.targets if t.checked)


def collect(issues: Any, sdk: Callable[[str], Any], rules: Rules,
            since: datetime | None = None) -> list[IssueFacts]:
    """Every `publish: ` issue of the publish repository (updated since ``since``), read
    and verified. ``issues``: publish_api.IssueAPI; ``sdk``: repo -> publish_api.SdkAPI."""
    authz = _Asked(issues)
    seals = _Seals(sdk)
    found: list[IssueFacts] = []
    for issue in issues.all_issues(since=iso(since)):
        if not isinstance(issue, dict) or "pull_request" in issue:
            continue
        if not str(issue.get("title") or "").startswith(TITLE_PREFIX):
            continue
        facts = read_issue(issues, issue)
        verify_origin(facts, rules, sdk)
        verify_seal(facts, rules, seals)
        verify_approvers(facts, rules, authz)
        found.append(facts)
    return found
