"""Who may approve a release: the approver policy and its one decision function.

The decision is made on data (the labeler, the requester, the policy) plus two
questions to GitHub behind a small protocol (team membership, repository
permission), so every refusal and every allow path is unit-testable with a stub.
A refusal is a NotAuthorizedError whose message names who and why and whose
hint says what to do; publish turns it into a comment and removes the label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from valet.errors import NotAuthorizedError, UsageError
from valet.events import Actor

_BOT_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$")
_TEAM_RE = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/([A-Za-z0-9][A-Za-z0-9_.-]{0,99})$")
_SPLIT_RE = re.compile(r"[\s,]+")

# Repository roles that may approve when no approvers are configured.
APPROVING_ROLES = ("admin", "maintain")
# A listed login must still hold one of these on the publish repository when the run
# acts (someone removed from the repository is no approver any more).
ACCESS_ROLES = ("admin", "maintain", "write", "triage")


@dataclass(frozen=True)
class Team:
    org: str
    slug: str

    def __str__(self) -> str:
        return f"{self.org}/{self.slug}"


@dataclass(frozen=True)
class Policy:
    logins: frozenset[str] = frozenset()  # lower-cased
    teams: tuple[Team, ...] = ()
    allow_self_approval: bool = False
    allow_bots: frozenset[str] = frozenset()  # lower-cased bot logins
    _display: tuple[str, ...] = field(default=(), compare=False)

    @property
    def configured(self) -> bool:
        return bool(self.logins or self.teams)

    def describe(self) -> str:
        if not self.configured:
            return f"anyone with {' or '.join(APPROVING_ROLES)} permission on the publish repository"
        return ", ".join(self._display)


def _split(raw: str | None) -> list[str]:
    return [p for p in _SPLIT_RE.split(raw or "") if p]


def parse_policy(approvers: str | None, *, allow_self_approval: bool = False,
                 allow_bots: str | None = None) -> Policy:
    """Parse the `approvers` / `allow-bots` inputs (comma, space or newline separated)."""
    logins: set[str] = set()
    teams: list[Team] = []
    display: list[str] = []
    for item in _split(approvers):
        item = item.lstrip("@")
        team = _TEAM_RE.match(item)
        if team:
            teams.append(Team(team.group(1), team.group(2).lower()))
            display.append(f"team {item}")
        elif _BOT_RE.match(item):  # an allow-listed bot may be an approver too
            logins.add(item.lower())
            display.append(item)
        else:
            raise UsageError(
                f"approvers entry {item!r} is neither a GitHub login nor an org/team",
                hint="list logins (`alice`) and teams (`my-org/release-engineers`), "
                "separated by commas or newlines",
            )
    bots: set[str] = set()
    for item in _split(allow_bots):
        item = item.lstrip("@")
        if not _BOT_RE.match(item):
            raise UsageError(f"allow-bots entry {item!r} is not a GitHub login",
                             hint="list bot logins such as `release-bot[bot]`")
        bots.add(item.lower())
    return Policy(frozenset(logins), tuple(teams), allow_self_approval, frozenset(bots), tuple(display))


class AuthzAPI(Protocol):
    def team_member(self, org: str, slug: str, login: str) -> bool:
        """True when login is an active member of org/slug."""

    def repo_role(self, repo: str, login: str) -> str:
        """The login's role on repo: admin, maintain, write, triage, read or none."""


@dataclass(frozen=True)
class Approval:
    login: str
    via: str  # how the approver qualified, for the summary


def _refuse(message: str, hint: str) -> NotAuthorizedError:
    return NotAuthorizedError(message, hint=hint)


def authorize(api: AuthzAPI, policy: Policy, *, publish_repo: str, labeler: Actor,
              requesters: tuple[str, ...], confirmed_by: str | None) -> Approval:
    """Decide whether ``labeler`` may approve now. Raises NotAuthorizedError with the reason.

    ``confirmed_by`` is the actor of the latest `labeled accepted` issue event as
    the API reports it; it must be the labeler (the payload alone is not trusted).
    ``requesters`` are who asked for the release as GitHub recorded it (the actor and
    the triggering actor of the prepare run); none of them may approve it.
    Every question to GitHub is asked now, never remembered from an earlier run.
    """
    who = labeler.login
    if confirmed_by is None or confirmed_by.lower() != who.lower():
        seen = f"@{confirmed_by}" if confirmed_by else "nobody"
        raise _refuse(
            f"the `accepted` label could not be confirmed: the event names @{who}, "
            f"the issue's events name {seen}",
            "remove the `accepted` label and add it again",
        )
    if labeler.is_bot and who.lower() not in policy.allow_bots:
        raise _refuse(
            f"@{who} is a bot; bots may not approve releases",
            "a release engineer must add `accepted`; to let this bot approve, list it in "
            "the action's `allow-bots` input",
        )
    if not requesters and not policy.allow_self_approval:
        raise _refuse(
            "GitHub does not say who requested the release, so self-approval cannot be "
            "ruled out",
            "run the release workflow again: its run records who triggered it",
        )
    if who.lower() in {r.lower() for r in requesters} and not policy.allow_self_approval:
        raise _refuse(
            f"@{who} requested this release (they triggered the release workflow run) and "
            "may not approve it too",
            "another release engineer must add `accepted` (self-approval is off: "
            "`allow-self-approval: true` turns it on)",
        )
    # An allow-listed bot still has to qualify as an approver like anyone else.
    if policy.configured:
        if who.lower() in policy.logins:
            role = api.repo_role(publish_repo, who)
            if role in ACCESS_ROLES:
                return Approval(who, "listed in approvers")
            raise _refuse(
                f"@{who} is listed in approvers but no longer has access to the publish "
                f"repository {publish_repo} ({role or 'no'} permission)",
                f"someone who still may approve must add `accepted`; if @{who} should "
                "approve again, give them access to the publish repository",
            )
        for team in policy.teams:
            if api.team_member(team.org, team.slug, who):
                return Approval(who, f"member of {team}")
        raise _refuse(
            f"@{who} is not an allowed approver (allowed: {policy.describe()})",
            "ask one of the allowed approvers to add `accepted`, or add this person "
            "to the action's `approvers` input",
        )
    role = api.repo_role(publish_repo, who)
    if role in APPROVING_ROLES:
        return Approval(who, f"{role} permission on {publish_repo}")
    raise _refuse(
        f"@{who} has {role or 'no'} permission on {publish_repo}; approving needs "
        f"{' or '.join(APPROVING_ROLES)}",
        "ask a maintainer of the publish repository to add `accepted`, or configure "
        "the action's `approvers` input",
    )
