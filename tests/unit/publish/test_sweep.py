"""The scheduled sweep: it asks only whether CI changed, and it never publishes itself."""

from __future__ import annotations

from valet import gate, summary

from .fakes import BOT, open_request
from .test_publisher import N, World

PENDING = [[{"name": "tests", "status": "in_progress", "conclusion": None}]]
GREEN = [[{"name": "tests", "status": "completed", "conclusion": "success"}]]


def waiting(tmp_path, *, extra: int = 0) -> World:
    """Issue N (and ``extra`` more) approved and waiting in ci-pending, looked at once."""
    w = World(tmp_path)
    w.sdk.check_pages = PENDING
    for number in range(N + 1, N + 1 + extra):
        open_request(w.issues, w.sdk, number)
        assert w.publisher.handle(w.issues.label_by(number, "accepted", "alice")) == 0
    assert w.label() == 0 and "ci-pending" in w.labels
    assert w.publisher.sweep() == 0  # the first look records what CI looked like
    return w


def test_nothing_changed_costs_no_read_of_ci(tmp_path):
    w = waiting(tmp_path, extra=4)
    reads, looks = w.sdk.ci_reads, w.sdk.ci_conditional
    edits = [c for c in w.issues.calls if c[0] == "edit_comment"]
    assert w.publisher.sweep() == 0
    assert w.sdk.ci_reads == reads  # only conditional looks (304s on GitHub)
    assert w.sdk.ci_conditional == looks + 5
    assert [c for c in w.issues.calls if c[0] == "edit_comment"] == edits  # nothing written
    assert w.dispatched == [] and w.reg.calls == []


def test_ci_still_running_but_changed_updates_the_record_and_hands_nothing_on(tmp_path):
    w = waiting(tmp_path)
    w.sdk.check_pages = [[*PENDING[0], {"name": "lint", "status": "queued"}]]
    assert w.publisher.sweep() == 0
    assert w.dispatched == []
    reads = w.sdk.ci_reads
    assert w.publisher.sweep() == 0  # the record was updated: unchanged again
    assert w.sdk.ci_reads == reads


def test_green_is_handed_to_the_issues_own_run_once(tmp_path):
    w = waiting(tmp_path)
    w.sdk.check_pages = GREEN
    assert w.publisher.sweep() == 0
    assert w.dispatched == [("publish.yml", "refs/heads/main", {"issue": str(N)})]
    assert w.reg.calls == [] and w.store.downloads == 0  # the sweep published nothing
    assert w.publisher.sweep() == 0  # nothing changed since: not handed on again
    assert len(w.dispatched) == 1


def test_failed_ci_is_handed_on_too(tmp_path):
    w = waiting(tmp_path)
    w.sdk.check_pages = [[{"name": "tests", "status": "completed", "conclusion": "failure"}]]
    assert w.publisher.sweep() == 0
    assert [i for _, _, i in w.dispatched] == [{"issue": str(N)}]
    assert w.publisher.sweep(N) == 11 and "ci-failed" in w.labels


def test_a_record_written_by_someone_else_is_not_believed(tmp_path):
    w = World(tmp_path)
    w.sdk.check_pages = PENDING
    assert w.label() == 0
    w.sdk.check_pages = GREEN
    # mallory pastes the record of the green CI: were it believed, the sweep would find
    # "nothing changed" and the release would wait forever
    pages = w.sdk.ci_pages(gate.reads("org/sdk", "a" * 40))
    forged = summary.marker(summary.APPROVED_MARKER, {"event": 1}) + summary.marker(
        summary.CI_MARKER, {"sha": "a" * 40, "pages": [[p.url, p.params, p.etag] for p in pages]})
    w.issues.comment_as(N, "mallory", forged, "User")
    assert w.publisher.sweep() == 0
    assert [i for _, _, i in w.dispatched] == [{"issue": str(N)}]


def test_a_request_that_no_longer_parses_is_handed_to_its_run_which_refuses_it(tmp_path):
    w = waiting(tmp_path)
    w.issues.store[N]["body"] = "nothing left"
    assert w.publisher.sweep() == 0
    assert [i for _, _, i in w.dispatched] == [{"issue": str(N)}]
    assert w.publisher.sweep(N) == 0
    assert "accepted" not in w.labels and w.reg.calls == []


def test_without_its_own_workflow_it_says_so_and_hands_nothing_on(tmp_path):
    w = waiting(tmp_path)
    w.settings.dispatch_workflow = None
    w.sdk.check_pages = GREEN
    assert w.publisher.sweep() == 2
    assert w.dispatched == [] and w.reg.calls == []


def test_a_run_the_sweep_started_for_an_issue_no_longer_waiting_does_nothing(tmp_path):
    w = World(tmp_path)
    assert w.label() == 0 and w.labels == {"published"}
    assert w.publisher.sweep(N) == 0
    assert len([c for c in w.issues.calls if c[0] == "close_published"]) == 1


def test_the_record_is_kept_on_the_publish_apps_comment(tmp_path):
    w = waiting(tmp_path)
    mine = [c for c in w.issues._comments[N] if c["user"]["login"] == BOT]
    (holder,) = [c for c in mine if summary.read_markers(c["body"], summary.APPROVED_MARKER)]
    [record] = summary.read_markers(holder["body"], summary.CI_MARKER)
    assert record["sha"] == "a" * 40 and len(record["pages"]) == len(gate.reads("org/sdk", "a" * 40))
    assert summary.read_markers(holder["body"], summary.APPROVED_MARKER)  # still there
