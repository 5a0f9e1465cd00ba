"""build_rows: who approved, when, final state and the flags that must stand out."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from valet import audit
from valet.audit import Comment, IssueEvent, IssueFacts
from valet.manifest import Artifact
from valet.request import Request, TargetState

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
SHA = "ab" * 32


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def request(requested_by: str | None = "alice") -> Request:
    return Request(repo="acme/sdk", version="1.2.3", requested_by=requested_by,
                   targets=[TargetState("pypi", True), TargetState("npm[@acme/sdk]", False)],
                   artifacts=[Artifact("sdk-1.2.3.tgz", 1234, SHA)])


def labeled(label: str, who: str | None, minute: int, event: str = "labeled") -> IssueEvent:
    return IssueEvent(event=event, created_at=at(minute), actor=who, label=label)


def valet_comment(marker: str, minute: int, text: str = "", author: str = "valet-publish[bot]") -> Comment:
    return Comment(author=author, body=f"{marker}\n{text}", created_at=at(minute),
                   author_is_bot=author.endswith("[bot]"))


def published_issue(**kw: object) -> IssueFacts:
    facts = IssueFacts(
        number=7, title="publish: acme/sdk@1.2.3", state="closed", labels=["published"],
        created_at=at(0), updated_at=at(12), closed_at=at(12),
        url="https://github.example/acme/publish/issues/7", request=request(),
        events=[labeled("accepted", "bob", 10), labeled("accepted", "valet-publish[bot]", 12, "unlabeled"),
                labeled("published", "valet-publish[bot]", 12),
                IssueEvent("closed", at(12), "valet-publish[bot]")],
        comments=[valet_comment(audit.MARKER_SUMMARY, 12,
                                "Published. Run: https://github.example/acme/publish/actions/runs/99 .")],
    )
    for key, value in kw.items():
        setattr(facts, key, value)
    return facts


POLICY = audit.ApproverPolicy(logins=frozenset({"bob", "carol"}), display="bob, carol")


def codes(row: audit.AuditRow) -> list[str]:
    return [f.code for f in row.flags]


def test_published_request_row() -> None:
    [row] = audit.build_rows([published_issue()], POLICY)
    assert (row.repo, row.version, row.requester) == ("acme/sdk", "1.2.3", "alice")
    assert (row.approver, row.approved_at, row.published_at) == ("bob", at(10), at(12))
    assert row.state == "published"
    assert [(t.id, t.outcome) for t in row.targets] == [("pypi", "done"), ("npm[@acme/sdk]", "not done")]
    assert [(a.name, a.sha256) for a in row.artifacts] == [("sdk-1.2.3.tgz", SHA)]
    assert row.run_url == "https://github.example/acme/publish/actions/runs/99"
    assert row.flags == []


def test_approver_is_the_last_accepted_before_publishing() -> None:
    facts = published_issue()
    facts.events = [labeled("accepted", "carol", 2), labeled("accepted", "bob", 10),
                    labeled("accepted", "mallory", 30)]  # after publishing: not the approval
    [row] = audit.build_rows([facts])
    assert (row.approver, row.approved_at) == ("bob", at(10))


def test_published_without_any_approval_stands_out() -> None:
    facts = published_issue(events=[labeled("published", "someone", 12)])
    [row] = audit.build_rows([facts], POLICY)
    assert row.approver is None and row.approved_at is None
    assert codes(row) == [audit.FLAG_NO_APPROVAL]


def test_approval_after_publishing_does_not_count() -> None:
    facts = published_issue(events=[labeled("accepted", "bob", 30)])
    [row] = audit.build_rows([facts], POLICY)
    assert audit.FLAG_NO_APPROVAL in codes(row)


def test_refused_approval_by_non_approver() -> None:
    facts = IssueFacts(
        number=8, title="publish: acme/sdk@1.2.4", state="open", labels=[],
        created_at=at(0), updated_at=at(21), request=request(),
        events=[labeled("accepted", "mallory", 20),
                labeled("accepted", "valet-publish[bot]", 21, "unlabeled")],
        comments=[valet_comment(audit.MARKER_REFUSED, 21, "@mallory is not an allowed approver")],
    )
    [row] = audit.build_rows([facts], POLICY)
    assert row.state == "refused"
    assert row.approver == "mallory"
    assert row.published_at is None
    assert codes(row) == [audit.FLAG_NOT_APPROVER, audit.FLAG_REFUSED]
    assert "mallory" in row.flags[0].detail


def test_refusal_then_good_approval_is_pending_but_keeps_the_history() -> None:
    facts = IssueFacts(
        number=9, title="publish: acme/sdk@1.2.5", state="open", labels=["accepted", "ci-pending"],
        created_at=at(0), updated_at=at(40), request=request(),
        events=[labeled("accepted", "mallory", 20), labeled("accepted", "x[bot]", 21, "unlabeled"),
                labeled("accepted", "carol", 30), labeled("ci-pending", "x[bot]", 40)],
        comments=[valet_comment(audit.MARKER_REFUSED, 21)],
    )
    [row] = audit.build_rows([facts], POLICY)
    assert row.state == "pending"
    assert row.approver == "carol"
    assert codes(row) == [audit.FLAG_NOT_APPROVER, audit.FLAG_REFUSED]


def test_no_policy_means_no_approver_flag() -> None:
    facts = published_issue(events=[labeled("accepted", "anyone", 10)])
    [row] = audit.build_rows([facts])
    assert row.flags == []


def test_team_membership_is_asked_once_per_login() -> None:
    asked: list[tuple[str, str, str]] = []

    def member(org: str, slug: str, login: str) -> bool:
        asked.append((org, slug, login))
        return login == "dave"

    policy = audit.ApproverPolicy(teams=(("acme", "release"),), team_member=member)
    rows = audit.build_rows([published_issue(events=[labeled("accepted", "dave", 10)]),
                             published_issue(number=6, events=[labeled("accepted", "dave", 10)]),
                             published_issue(number=5, events=[labeled("accepted", "erin", 10)])],
                            policy)
    assert [codes(r) for r in rows] == [[], [], [audit.FLAG_NOT_APPROVER]]
    assert sorted(asked) == [("acme", "release", "dave"), ("acme", "release", "erin")]


@pytest.mark.parametrize("approver", ["alice", "ALICE"])
def test_self_approval_stands_out(approver: str) -> None:
    [row] = audit.build_rows([published_issue(events=[labeled("accepted", approver, 10)])])
    assert codes(row) == [audit.FLAG_SELF_APPROVED]


def test_bot_approver_stands_out() -> None:
    [row] = audit.build_rows([published_issue(events=[labeled("accepted", "helper[bot]", 10)])])
    assert codes(row) == [audit.FLAG_BOT_APPROVER]


def test_unexplained_update_after_approval_is_flagged() -> None:
    facts = published_issue(state="open", labels=["accepted"], closed_at=None,
                            events=[labeled("accepted", "bob", 10)], comments=[],
                            updated_at=at(15))
    [row] = audit.build_rows([facts], POLICY)
    assert row.state == "pending"
    assert codes(row) == [audit.FLAG_EDITED]


def test_update_explained_by_an_event_is_not_flagged() -> None:
    facts = published_issue(state="open", labels=["accepted"], closed_at=None,
                            events=[labeled("accepted", "bob", 10)], comments=[],
                            updated_at=at(10))
    assert audit.build_rows([facts], POLICY)[0].flags == []


def test_edit_before_approval_is_not_flagged() -> None:
    facts = published_issue(state="open", labels=[], closed_at=None, events=[], comments=[],
                            updated_at=at(5))
    [row] = audit.build_rows([facts], POLICY)
    assert row.state == "open" and row.flags == []


def test_marker_written_by_a_person_is_ignored_and_flagged() -> None:
    facts = published_issue(state="open", labels=[], closed_at=None,
                            events=[labeled("accepted", "bob", 10)],
                            comments=[valet_comment(audit.MARKER_REFUSED, 11, author="mallory"),
                                      valet_comment(audit.MARKER_SUMMARY, 11,
                                                    "https://evil.example/x/y/actions/runs/1",
                                                    author="mallory")],
                            updated_at=at(11))
    [row] = audit.build_rows([facts], POLICY)
    assert row.state == "open", "a pasted refusal marker does not make the request refused"
    assert row.run_url is None
    assert codes(row) == [audit.FLAG_FORGED_MARKER]
    assert "mallory" in row.flags[0].detail


def test_valet_logins_select_whose_markers_count() -> None:
    facts = published_issue(comments=[valet_comment(audit.MARKER_SUMMARY, 12,
                                                    "https://gh.example/a/b/actions/runs/5",
                                                    author="publisher")])
    [trusting_bots] = audit.build_rows([facts], POLICY)
    assert trusting_bots.run_url is None
    assert codes(trusting_bots) == [audit.FLAG_FORGED_MARKER]
    [named] = audit.build_rows([facts], POLICY, valet_logins=["Publisher"])
    assert named.run_url == "https://gh.example/a/b/actions/runs/5"
    assert named.flags == []


@pytest.mark.parametrize("labels,state", [(["failed"], "failed"), (["ci-failed"], "failed"),
                                          (["ci-pending"], "pending"), (["accepted"], "pending"),
                                          (["dry-run"], "open")])
def test_states_from_labels(labels: list[str], state: str) -> None:
    facts = published_issue(state="open", labels=labels, closed_at=None, updated_at=at(12))
    assert audit.build_rows([facts])[0].state == state


def test_closed_without_publishing() -> None:
    facts = published_issue(labels=[], events=[IssueEvent("closed", at(12), "bob")], comments=[])
    assert audit.build_rows([facts])[0].state == "closed"


def test_unparsable_issue_is_listed_and_flagged() -> None:
    facts = published_issue(request=None, parse_error="the body has no '### Targets' heading",
                            title="publish: acme/sdk@9.9.9")
    [row] = audit.build_rows([facts])
    assert (row.repo, row.version, row.requester) == ("acme/sdk", "9.9.9", None)
    assert row.targets == [] and row.artifacts == []
    assert codes(row) == [audit.FLAG_NOT_A_REQUEST]
    assert "Targets" in row.flags[0].detail


def test_missing_requester_is_flagged() -> None:
    [row] = audit.build_rows([published_issue(request=request(requested_by=None))])
    assert codes(row) == [audit.FLAG_NO_REQUESTER]


def test_rows_are_newest_first() -> None:
    rows = audit.build_rows([published_issue(number=3), published_issue(number=11),
                             published_issue(number=7)])
    assert [r.number for r in rows] == [11, 7, 3]


def test_parse_approvers_uses_the_shared_grammar() -> None:
    assert audit.parse_approvers(None) is None
    assert audit.parse_approvers("  ") is None
    policy = audit.parse_approvers("@Bob, acme/release-team carol")
    assert policy is not None
    assert policy.logins == frozenset({"bob", "carol"})
    assert policy.teams == (("acme", "release-team"),)
    assert policy.allows("BOB") and not policy.allows("mallory")


def test_markers_are_distinct_hidden_comments() -> None:
    assert set(audit.MARKERS) == {"summary", "refused", "failed"}
    values = list(audit.MARKERS.values())
    assert len(set(values)) == 3
    assert all(v.startswith("<!-- valet:") and v.endswith(" -->") for v in values)
