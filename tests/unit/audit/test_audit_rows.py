"""Rows from what GitHub recorded and what the publish App wrote, after valet's own
publish runs on the fakes; and the forgeries an SDK committer can write, flagged."""

from __future__ import annotations

import pytest

from tests.unit.publish.fakes import BOT, REQUEST_BOT, prepare_run
from valet import summary
from valet.targets.base import State

from .world import N, World, codes


@pytest.fixture
def world(tmp_path) -> World:
    return World(tmp_path)


def test_a_release_valet_published_is_traced_to_github_records(world: World) -> None:
    assert world.label("alice") == 0
    row = world.row()
    assert (row.repo, row.version, row.state) == ("org/sdk", "1.2.3", "published")
    assert (row.requester, row.approver, row.publisher) == ("requester", "alice", BOT)
    assert row.approved_at is not None and row.published_at is not None
    assert row.approved_at <= row.published_at
    assert [(t.id, t.outcome) for t in row.targets] == [
        ("pypi", "published"), ("npm", "published"), ("github", "published")]
    assert row.run_url == "https://github.com/org/publish/actions/runs/77"
    assert row.flags == []


def test_the_published_summary_records_what_the_audit_reads(world: World) -> None:
    approved = world.body()
    assert world.label("alice") == 0
    [record] = summary.read_markers(world.issues.comment_bodies(N)[-1], summary.DONE_MARKER)
    assert record["targets"] == ["pypi", "npm", "github"]
    assert record["approver"] == "alice" and isinstance(record["event"], int)
    assert record["body_sha256"] == summary.body_digest(approved)


def test_a_done_marker_by_another_bot_publishes_nothing(world: World) -> None:
    """Approved, never published by valet: another bot writes valet's summary and done
    markers, a triager labels `published` and closes."""
    world.issues.label_by(N, "accepted", "alice")
    world.issues.comment_as(N, "helper[bot]", f"{summary.MARKER_SUMMARY}\nPublished. "
                            "https://github.com/org/publish/actions/runs/9\n"
                            + summary.marker(summary.DONE_MARKER,
                                             {"targets": ["pypi", "npm", "github"]}), "Bot")
    world.issues.label_by(N, "published", "triager")
    world.issues.store[N]["state"] = "closed"
    row = world.row()
    assert row.state == "closed"
    assert (row.published_at, row.publisher, row.run_url) == (None, None, None)
    assert [t.outcome for t in row.targets] == ["not done"] * 3
    assert codes(row) == ["forged-record", "published-label-unverified"]
    assert "helper[bot]" in row.flags[0].detail and "triager" in row.flags[1].detail


def test_a_forged_done_marker_does_not_make_a_ticked_box_published(world: World) -> None:
    world.issues.edit_body(N, world.body().replace("- [ ] npm", "- [x] npm"), "mallory")
    world.issues.comment_as(N, "mallory", summary.marker(summary.DONE_MARKER,
                                                         {"targets": ["npm"]}))
    row = world.row()
    npm = [t for t in row.targets if t.id == "npm"][0]
    assert (npm.outcome, npm.detail) == ("ticked", "ticked by mallory, not published by valet")
    assert codes(row) == ["forged-record"]  # a tick is no edit beyond ticks


def test_the_requester_is_who_ran_the_prepare_workflow_not_the_body(world: World) -> None:
    # The run itself rewrites the line and the hidden block (its `requested-by:` input)
    # and seals what it wrote: publish goes ahead, the row names whom GitHub names.
    rewritten = world.body().replace("requester", "someone-else")
    world.issues.edit_body(N, rewritten, REQUEST_BOT, at="2030-01-01T00:00:30Z")
    world.sdk.seal_request(N, rewritten)
    assert world.label("alice") == 0
    row = world.row()
    assert row.requester == "requester"
    assert codes(row) == ["requester-rewritten"]
    assert "someone-else" in row.flags[0].detail


def test_a_rewrite_after_publishing_does_not_change_the_row(world: World) -> None:
    assert world.label("alice") == 0
    world.issues.edit_body(N, world.body().replace("requester", "someone-else")
                           .replace("pkg-1.2.3", "evil-1.2.3"), REQUEST_BOT)
    row = world.row()
    assert row.requester == "requester"
    assert all(a.name.startswith("pkg-") for a in row.artifacts), "the approved files"
    assert codes(row) == ["edited-after-approval"]
    assert REQUEST_BOT in row.flags[0].detail


def test_a_body_edited_by_a_person_is_flagged(world: World) -> None:
    world.issues.edit_body(N, world.body().replace("pkg-1.2.3.tgz", "pkg-1.2.3.tgZ"), "mallory")
    assert codes(world.row())[0] == "edited-by-other"


def test_an_issue_a_person_opened_is_not_a_request(world: World) -> None:
    world.issues.create(6, world.body(), author="mallory")
    row = world.row(6)
    assert codes(row)[0] == "not-from-request-app"
    assert "mallory" in row.flags[0].detail


def test_without_the_prepare_run_the_requester_is_unverified(world: World) -> None:
    del world.sdk.runs[4242]
    row = world.row()
    assert row.requester is None
    assert codes(row) == ["requester-unverified"]
    assert "does not exist" in row.flags[0].detail and "requester" in row.flags[0].detail


def test_a_run_of_another_workflow_does_not_name_the_requester(world: World) -> None:
    world.sdk.runs[4242] = prepare_run("requester", path=".github/workflows/ci.yml")
    assert codes(world.row()) == ["requester-unverified"]


def test_an_unreadable_edit_history_is_unverified_not_clean(world: World) -> None:
    assert world.label("alice") == 0
    world.issues.fail_edits = True
    row = world.row()
    assert codes(row) == ["edits-unverified"]
    assert "403" in row.flags[0].detail


def test_an_approver_who_lost_access_is_flagged(world: World) -> None:
    assert world.label("alice") == 0
    world.issues.roles["alice"] = "read"
    row = world.row()
    assert row.state == "published" and row.approver == "alice"
    assert codes(row) == ["approver-not-allowed"]
    assert "no longer has access" in row.flags[0].detail


def test_a_refused_attempt_is_judged_and_counted(world: World) -> None:
    world.issues.roles["mallory"] = "triage"
    assert world.label("mallory") == 0  # valet refuses
    row = world.row()
    assert (row.state, row.approver, row.published_at) == ("refused", "mallory", None)
    assert codes(row) == ["approver-not-allowed", "approval-refused"]


def test_a_refusal_then_a_good_approval_is_published_and_keeps_the_history(world: World) -> None:
    world.issues.roles["mallory"] = "triage"
    world.label("mallory")
    assert world.label("alice") == 0
    row = world.row()
    assert (row.state, row.approver) == ("published", "alice")
    assert codes(row) == ["approver-not-allowed", "approval-refused"]


def test_the_requester_approving_themself(tmp_path) -> None:
    world = World(tmp_path, approvers="alice requester", allow_self_approval=True)
    world.issues.roles["requester"] = "maintain"
    assert world.label("requester") == 0
    assert codes(world.row()) == ["self-approved"]
    strict = World(tmp_path, approvers="alice requester")
    strict.issues.roles["requester"] = "maintain"
    assert strict.label("requester") == 0  # refused by publish
    row = strict.row()
    assert row.state == "refused"
    assert codes(row) == ["approver-not-allowed", "approval-refused"]
    assert "requested this release" in row.flags[0].detail


def test_waiting_for_ci_is_pending(world: World) -> None:
    world.sdk.check_pages = [[{"name": "tests", "status": "in_progress", "conclusion": None}]]
    assert world.label("alice") == 0
    row = world.row()
    assert (row.state, row.approver, row.published_at) == ("pending", "alice", None)
    assert row.flags == []


def test_a_failed_target_leaves_the_others_published(world: World) -> None:
    from tests.unit.publish.fakes import Behaviour

    world.reg.behaviour["npm"] = Behaviour(publish_error="E401")
    assert world.label("alice") != 0
    row = world.row()
    assert row.state == "failed"
    assert [(t.id, t.outcome) for t in row.targets] == [
        ("pypi", "published"), ("npm", "not done"), ("github", "not done")]


def test_already_published_targets_count_as_valets(world: World) -> None:
    from tests.unit.publish.fakes import Behaviour

    world.reg.behaviour["pypi"] = Behaviour(state=State.PUBLISHED)
    assert world.label("alice") == 0
    assert [t.outcome for t in world.row().targets] == ["published"] * 3


def test_an_unparsable_issue_is_listed_and_flagged(world: World) -> None:
    world.issues.create(7, "no request here", title="publish: org/sdk@9.9.9")
    row = world.row(7)
    assert (row.repo, row.version, row.requester) == ("org/sdk", "9.9.9", None)
    assert row.targets == [] and row.artifacts == []
    assert codes(row) == ["not-a-request"]


def test_rows_are_newest_first_and_only_requests(world: World) -> None:
    world.issues.create(9, world.body())
    world.issues.create(8, "x", title="Release blocker")
    assert list(world.rows()) == [9, N]


def test_published_without_an_approval_event(world: World) -> None:
    assert world.label("alice") == 0
    world.issues._events[N] = [e for e in world.issues._events[N]
                               if (e.get("label") or {}).get("name") != "accepted"]
    row = world.row()
    assert row.approver is None
    assert "published-without-approval" in codes(row)


def test_identities_for_a_reader_follow_the_publish_rules(world: World) -> None:
    from valet.errors import UsageError
    from valet.publish.identity import named

    ids = named(world.issues, app_slug="valet-app", request_app="valet-request")
    assert (ids.publish_bot, ids.request_bot) == (BOT, REQUEST_BOT)
    for app_slug, request_app, needle in [(None, "valet-request", "--app-slug"),
                                          ("valet-app", None, "request-app"),
                                          ("valet-app", "valet-app", "publish App itself"),
                                          ("nope", "valet-request", "not a GitHub App"),
                                          ("valet-app", "nope", "not a GitHub App")]:
        with pytest.raises(UsageError) as err:
            named(world.issues, app_slug=app_slug, request_app=request_app)
        assert needle in f"{err.value.message} {err.value.hint}"
