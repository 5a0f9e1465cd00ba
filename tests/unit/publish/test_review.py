"""The approval checks of the orchestrator (review.py, flow.py) against in-memory fakes:
the event is a hint, the issue as it stands now decides, and every refusal is visible."""

from __future__ import annotations

from dataclasses import replace

import pytest

from valet.errors import UsageError
from valet.events import Labeled

from .fakes import BOT, SHA, FakeIssues, make_body, prepare_run
from .test_publisher import N, World


def labeled(w: World, **kw: object) -> Labeled:
    return replace(w.issues.label_by(N, "accepted", "alice"), **kw)  # type: ignore[arg-type]


def test_an_event_whose_label_is_gone_publishes_nothing_and_says_so(tmp_path):
    w = World(tmp_path)
    ev = labeled(w)
    w.issues.remove_label(N, "accepted")  # removed before the (re-)run started
    assert w.publisher.handle(ev) == 0
    assert w.reg.calls == [] and w.store.downloads == 0
    assert "no longer on the issue" in w.comments[-1] and "Nothing was published" in w.comments[-1]


def test_dry_run_holds_when_only_the_event_had_it(tmp_path):
    w = World(tmp_path)
    ev = labeled(w, labels=("dry-run", "accepted"))  # the issue itself has no dry-run now
    assert w.publisher.handle(ev) == 0
    assert [c for c, _ in w.reg.calls if c == "publish"] == []
    assert "Dry run" in w.comments[-1] and w.sdk.merges == []


def test_closed_after_the_approval_is_a_retraction(tmp_path):
    w = World(tmp_path)
    ev = labeled(w)
    w.issues.event(N, "closed", "requester", created_at="2030-01-02T00:00:00Z")
    w.issues.event(N, "reopened", "mallory")
    assert w.publisher.handle(ev) == 0
    assert w.reg.calls == [] and "accepted" not in w.labels
    assert "closed by requester" in w.comments[-1] and "after it was approved" in w.comments[-1]


def test_closed_and_reopened_before_the_approval_is_fine(tmp_path):
    w = World(tmp_path)
    w.issues.event(N, "closed", "requester")
    w.issues.event(N, "reopened", "mallory")
    assert w.label() == 0
    assert w.labels == {"published"}


@pytest.mark.parametrize("author", ["mallory", BOT, "other-app[bot]"])
def test_only_the_request_app_opens_requests(tmp_path, author):
    w = World(tmp_path)
    w.issues.store[N]["user"] = {"login": author}
    assert w.label() == 0
    assert w.reg.calls == [] and "accepted" not in w.labels
    assert "opened by" in w.comments[-1]


@pytest.mark.parametrize("title", ["publish: org/sdk/../x@1.2.3", "publish: org/sdk@1.2.3\u200b",
                                   "publish:\u202e org/sdk@1.2.3", "Publish: org/sdk@1.2.3"])
def test_a_title_aimed_at_valet_that_does_not_parse_is_refused_with_a_comment(tmp_path, title):
    w = World(tmp_path)
    w.issues.store[N]["title"] = title
    assert w.label() == 0
    assert w.reg.calls == [] and "accepted" not in w.labels
    assert "the title is not a publish request" in w.comments[-1]
    assert "\u200b" not in w.comments[-1] and "\u202e" not in w.comments[-1]


def test_an_unrelated_issue_labelled_accepted_is_left_alone(tmp_path):
    w = World(tmp_path)
    w.issues.store[N].update(title="Docs: typo", body="please fix")
    assert w.label() == 0
    assert w.comments == [] and "accepted" in w.labels


@pytest.mark.parametrize("edit", [
    lambda b: b.replace(" - [ ] npm\n", " - [ ] npm\n<!-- - [ ] evil -->\n"),
    lambda b: b.replace(" - [ ] github\n", ""),
    lambda b: b.replace(" - [ ] github\n", "\n - [ ] github\n"),
], ids=["hidden-line", "missing-line", "line-after-the-list"])
def test_a_targets_list_that_would_drop_a_target_refuses(tmp_path, edit):
    w = World(tmp_path)
    w.issues.store[N]["body"] = edit(w.issues.store[N]["body"])
    assert w.label() == 0
    assert w.reg.calls == [] and "Targets list" in w.comments[-1]


def test_an_integrity_failure_names_the_file_and_asks_for_a_new_request(tmp_path):
    w = World(tmp_path)
    w.store.content["pkg-1.2.3.tgz"] = b"evil"
    assert w.label() == 8
    comment = w.comments[-1]
    assert "draft release changed after the request" in comment and "pkg-1.2.3.tgz" in comment
    assert "run the release workflow again" in comment
    assert "Add `accepted` again to resume" not in comment


def test_the_closing_comment_names_the_release_not_the_title(tmp_path):
    w = World(tmp_path)
    assert w.label() == 0
    assert "**Published org/sdk\\@1.2.3**" in w.comments[-1]
    assert "Published publish:" not in w.comments[-1]


def test_resume_of_an_issue_that_does_not_exist_says_so(tmp_path):
    w = World(tmp_path)
    with pytest.raises(UsageError, match="issue #99 does not exist in org/publish") as exc:
        w.publisher.resume(99, strict=False)
    assert "installed" not in exc.value.message


def test_without_identities_publish_refuses_to_run(tmp_path):
    w = World(tmp_path)
    w.settings.identities = None
    with pytest.raises(UsageError, match="request identity is not configured"):
        w.label()
    assert w.reg.calls == [] and w.comments == []


def test_the_requester_is_the_runs_actor_and_the_body_only_warns(tmp_path, capsys):
    w = World(tmp_path, requested_by="alice")  # the body says alice...
    w.sdk.runs[4242] = prepare_run("requester")  # ...GitHub says requester ran it
    assert w.label() == 0
    assert w.labels == {"published"}
    out = capsys.readouterr()
    assert "GitHub says requester ran the release workflow" in out.out + out.err


def test_a_record_by_another_author_is_ignored_with_a_warning(tmp_path, capsys):
    w = World(tmp_path)
    w.sdk.check_pages = [[{"name": "tests", "status": "queued"}]]
    w.label()
    w.issues.comment_as(N, "valet-request[bot]", "<!-- valet:approved "
                        '{"body_sha256":"0","approver":"alice","event":1} -->', "Bot")
    w.sdk.check_pages = [[{"name": "tests", "status": "completed", "conclusion": "success"}]]
    assert w.sweep_then_its_run() == 0
    assert w.labels == {"published"}  # the publish App's own record decided
    out = capsys.readouterr()
    assert "not written by the publish App" in out.out + out.err


def test_fakes_are_what_github_records():
    issues = FakeIssues()
    issues.create(1, make_body())
    assert issues.issue(1)["user"]["login"].endswith("[bot]") and SHA
