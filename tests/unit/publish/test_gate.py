from __future__ import annotations

import pytest

from valet.gate import Verdict, check_gate, evaluate


def run(name, status="completed", conclusion=None, url=None):
    return {"name": name, "status": status, "conclusion": conclusion,
            "html_url": url or f"https://github.com/o/r/runs/{name}"}


def status(context, state, url=None):
    return {"context": context, "state": state, "target_url": url}


@pytest.mark.parametrize("conclusion", ["success", "neutral", "skipped"])
def test_passing_conclusions(conclusion):
    result = evaluate([status("ci/legacy", "success")], [run("tests", conclusion=conclusion)])
    assert result.verdict is Verdict.GREEN and result.passed
    assert len(result.checks) == 2


@pytest.mark.parametrize("conclusion", ["failure", "cancelled", "timed_out", "action_required",
                                        "stale", "startup_failure", "something-new"])
def test_failing_conclusions_fail_and_are_listed_with_links(conclusion):
    result = evaluate([], [run("lint", conclusion="success"), run("tests", conclusion=conclusion)])
    assert result.verdict is Verdict.FAILED
    assert [(c.name, c.state, c.url) for c in result.failing] == [
        ("tests", conclusion, "https://github.com/o/r/runs/tests")]


@pytest.mark.parametrize("state", ["queued", "in_progress", "waiting", "requested", "pending"])
def test_running_checks_are_pending(state):
    result = evaluate([], [run("tests", status=state)])
    assert result.verdict is Verdict.PENDING
    assert [c.name for c in result.pending] == ["tests"]


@pytest.mark.parametrize("state,verdict", [("pending", Verdict.PENDING), ("failure", Verdict.FAILED),
                                           ("error", Verdict.FAILED), ("success", Verdict.GREEN)])
def test_commit_statuses(state, verdict):
    assert evaluate([status("ci/jenkins", state)], [run("t", conclusion="success")]).verdict is verdict


def test_failure_wins_over_pending():
    result = evaluate([status("a", "pending")], [run("b", conclusion="failure")])
    assert result.verdict is Verdict.FAILED and len(result.pending) == 1


def test_nothing_at_all_is_its_own_verdict():
    assert evaluate([], []).verdict is Verdict.NONE


def test_ignore_patterns_and_own_run_are_excluded():
    runs = [run("publish / publish", status="in_progress"),
            run("job", status="in_progress", url="https://github.com/o/p/actions/runs/99/job/1"),
            run("tests", conclusion="success")]
    result = evaluate([], runs, ignore=["publish*"], run_marker="/actions/runs/99/")
    assert result.verdict is Verdict.GREEN
    assert sorted(c.name for c in result.ignored) == ["job", "publish / publish"]
    # everything ignored leaves nothing: that is "none", not green
    assert evaluate([], runs[:1], ignore=["*"]).verdict is Verdict.NONE


class PagedAPI:
    def __init__(self, status_pages, run_pages):
        self.status_pages = status_pages
        self.run_pages = run_pages
        self.paths = []

    def pages(self, path, params=None):
        self.paths.append((path, params))
        if path.endswith("/statuses"):
            yield from self.status_pages
        elif path.endswith("/check-suites"):
            yield {"total_count": 0, "check_suites": []}
        else:
            for p in self.run_pages:
                yield {"total_count": 999, "check_runs": p}


def test_every_page_is_read_and_a_failure_on_the_last_page_counts():
    pages = [[run(f"ok{i}-{j}", conclusion="success") for j in range(100)] for i in range(2)]
    pages.append([run("late", conclusion="failure")])
    api = PagedAPI([[status("s1", "success")], [status("s2", "success")]], pages)
    result = check_gate(api, "o/r", "a" * 40)
    assert result.verdict is Verdict.FAILED
    assert [c.name for c in result.failing] == ["late"]
    assert len(result.checks) == 203
    assert ("/repos/o/r/commits/" + "a" * 40 + "/check-runs", {"filter": "latest"}) in api.paths


# -- who wrote a status (docs/security.md, "CI overridden") ----------------------------


def by(context, state, creator, ident):
    return {"context": context, "state": state, "target_url": None, "id": ident,
            "creator": {"login": creator, "type": "User"}}


def test_a_later_success_from_another_creator_does_not_hide_a_failure():
    statuses = [by("ci/build", "success", "mallory", 2), by("ci/build", "failure", "ci-bot", 1)]
    result = evaluate(statuses, [])
    assert result.verdict is Verdict.FAILED
    assert [(c.name, c.state, c.creator) for c in result.failing] == [
        ("ci/build", "failure", "ci-bot")]


def test_each_creators_latest_status_counts():
    # CI went from failure to success itself: green. Another creator pending: waits.
    fixed = [by("ci/build", "success", "ci-bot", 3), by("ci/build", "failure", "ci-bot", 1)]
    assert evaluate(fixed, []).verdict is Verdict.GREEN
    waiting = [by("ci/build", "pending", "other", 4), *fixed]
    assert evaluate(waiting, []).verdict is Verdict.PENDING


def test_statuses_are_ordered_by_id_not_by_page_order():
    # an answer that lists the older status first still has the newer one win
    statuses = [by("ci/build", "failure", "ci-bot", 1), by("ci/build", "success", "ci-bot", 2)]
    assert evaluate(statuses, []).verdict is Verdict.GREEN


# -- check suites, required contexts, ci: none ---------------------------------


def suite(slug, status, runs=0, conclusion=None):
    return {"app": {"slug": slug}, "status": status, "conclusion": conclusion,
            "latest_check_runs_count": runs}


@pytest.mark.parametrize("state", ["queued", "in_progress"])
def test_a_suite_without_runs_keeps_the_gate_pending(state):
    result = evaluate([], [run("lint", conclusion="success")], [suite("github-actions", state)])
    assert result.verdict is Verdict.PENDING
    assert [(c.name, c.kind) for c in result.pending] == [("github-actions", "suite")]


def test_a_suite_with_runs_is_judged_by_its_runs_and_can_be_ignored_by_app():
    runs = [run("tests", conclusion="success")]
    assert evaluate([], runs, [suite("github-actions", "in_progress", runs=1)]).verdict \
        is Verdict.GREEN
    stuck = [suite("some-app", "queued")]  # an installed App that never reports
    assert evaluate([], runs, stuck, ignore=["some-app"]).verdict is Verdict.GREEN
    assert evaluate([], [], [suite("ci", "completed", conclusion="failure")]).verdict \
        is Verdict.FAILED


def test_required_contexts_must_be_reported_and_green():
    result = evaluate([status("ci/other", "success")], [], required=["ci/build"])
    assert result.verdict is Verdict.PENDING
    assert [(c.name, c.state) for c in result.pending] == [("ci/build", "expected")]
    assert evaluate([status("ci/build", "success")], [], required=["ci/build"]).verdict \
        is Verdict.GREEN


def test_ci_none_publishes_a_commit_without_checks_but_still_honours_failures():
    assert evaluate([], [], ci_required=False).verdict is Verdict.GREEN
    assert evaluate([], []).verdict is Verdict.NONE  # the default still waits
    assert evaluate([], [run("t", conclusion="failure")], ci_required=False).verdict \
        is Verdict.FAILED
