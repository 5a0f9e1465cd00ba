from __future__ import annotations

import pytest

from valet.authz import authorize, parse_policy
from valet.errors import NotAuthorizedError, UsageError
from valet.events import Actor


class StubAPI:
    """Roles default to "triage" (a listed approver who can add labels) unless given."""

    def __init__(self, roles=None, teams=None):
        self.roles = roles if roles is not None else {"alice": "triage", "carol": "triage"}
        self.teams = teams or {}
        self.asked: list[tuple] = []

    def team_member(self, org, slug, login):
        self.asked.append(("team", org, slug, login))
        return login in self.teams.get((org, slug), set())

    def repo_role(self, repo, login):
        self.asked.append(("role", repo, login))
        return self.roles.get(login, "none")


def decide(api, policy, who="alice", kind="User", requester="bob", confirmed="same"):
    requesters = (requester,) if isinstance(requester, str) else tuple(requester or ())
    return authorize(api, policy, publish_repo="org/publish", labeler=Actor(who, kind),
                     requesters=requesters,
                     confirmed_by=who if confirmed == "same" else confirmed)


def test_listed_login_is_allowed_case_insensitively():
    approval = decide(StubAPI(), parse_policy("Alice, carol"), who="alice")
    assert approval.login == "alice" and approval.via == "listed in approvers"


def test_team_member_is_allowed_through_the_membership_api():
    api = StubAPI(teams={("org", "release"): {"dave"}})
    approval = decide(api, parse_policy("org/release"), who="dave")
    assert approval.via == "member of org/release"
    assert ("team", "org", "release", "dave") in api.asked


def test_not_listed_and_not_in_team_is_refused_with_the_allowed_list():
    api = StubAPI(teams={("org", "release"): {"dave"}}, roles={"eve": "admin"})
    with pytest.raises(NotAuthorizedError) as exc:
        decide(api, parse_policy("carol\norg/release"), who="eve")
    assert "@eve is not an allowed approver" in exc.value.message
    assert "carol" in exc.value.message and "org/release" in exc.value.message
    assert exc.value.hint
    # with approvers configured, repository permission does not make an approver
    assert not any(a[0] == "role" for a in api.asked)


@pytest.mark.parametrize("role", ["read", "none"])
def test_a_listed_login_without_access_to_the_publish_repo_any_more_is_refused(role):
    api = StubAPI(roles={"alice": role})
    with pytest.raises(NotAuthorizedError, match="no longer has access") as exc:
        decide(api, parse_policy("alice"), who="alice")
    assert ("role", "org/publish", "alice") in api.asked  # asked now, not remembered
    assert "give them access" in exc.value.hint


@pytest.mark.parametrize("role", ["admin", "maintain"])
def test_without_approvers_maintain_or_admin_may_approve(role):
    approval = decide(StubAPI(roles={"alice": role}), parse_policy(""))
    assert role in approval.via


@pytest.mark.parametrize("role", ["write", "triage", "read", "none"])
def test_without_approvers_write_or_less_is_refused(role):
    with pytest.raises(NotAuthorizedError, match=f"has {role} permission"):
        decide(StubAPI(roles={"alice": role}), parse_policy(None))


def test_requester_cannot_approve_own_release():
    with pytest.raises(NotAuthorizedError, match="requested this release"):
        decide(StubAPI(), parse_policy("alice"), who="alice", requester="ALICE")


def test_self_approval_when_allowed():
    policy = parse_policy("alice", allow_self_approval=True)
    assert decide(StubAPI(), policy, who="alice", requester="alice").login == "alice"


def test_whoever_triggered_or_reran_the_release_may_not_approve_it():
    for who in ("dana", "morgan"):
        with pytest.raises(NotAuthorizedError, match="requested this release"):
            decide(StubAPI(roles={who: "triage"}), parse_policy(who), who=who,
                   requester=("dana", "morgan"))


def test_unknown_requester_is_refused_unless_self_approval_allowed():
    with pytest.raises(NotAuthorizedError, match="does not say who requested"):
        decide(StubAPI(), parse_policy("alice"), requester=None)
    assert decide(StubAPI(), parse_policy("alice", allow_self_approval=True), requester=None)


@pytest.mark.parametrize("who,kind", [("helper[bot]", "Bot"), ("helper", "Bot"), ("helper[bot]", "User")])
def test_bots_are_refused(who, kind):
    with pytest.raises(NotAuthorizedError, match="is a bot"):
        decide(StubAPI(roles={who: "admin"}), parse_policy(who.replace("[bot]", "")), who=who, kind=kind)


def test_allow_listed_bot_still_needs_to_be_an_approver():
    policy = parse_policy("", allow_bots="helper[bot]")
    api = StubAPI(roles={"helper[bot]": "admin"})
    assert decide(api, policy, who="helper[bot]", kind="Bot").via.startswith("admin")
    with pytest.raises(NotAuthorizedError, match="not an allowed approver"):
        decide(StubAPI(), parse_policy("alice", allow_bots="helper[bot]"), who="helper[bot]", kind="Bot")


@pytest.mark.parametrize("confirmed", [None, "mallory"])
def test_labeler_must_match_the_issue_events(confirmed):
    with pytest.raises(NotAuthorizedError, match="could not be confirmed"):
        decide(StubAPI(), parse_policy("alice"), confirmed=confirmed)


@pytest.mark.parametrize("bad", ["al ice;rm", "-alice", "org/", "a/b/c", "x" * 40, "$(id)"])
def test_policy_rejects_malformed_entries(bad):
    with pytest.raises(UsageError):
        parse_policy(bad if " " not in bad else bad.replace(" ", ""))


def test_policy_parses_mixed_separators():
    policy = parse_policy("@alice, bob\n org/Release-Team ,")
    assert policy.logins == {"alice", "bob"}
    assert [str(t) for t in policy.teams] == ["org/release-team"]
    assert policy.configured
    assert not parse_policy("  \n ").configured
