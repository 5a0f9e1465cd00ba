"""Ticks are batched: no read before a tick, every settled target in one write, the rest
with the closing PATCH (on a fake clock for the interval)."""

from __future__ import annotations

from valet.issue_format import parse_issue
from valet.publish.ticks import Ticker

from .fakes import FakeIssues, make_body, make_request
from .test_publisher import N, World


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Run:
    """What the ticker reads and writes of a run."""

    def __init__(self, body: str) -> None:
        self.number = N
        self.body = body
        self.last_issue: dict[str, object] | None = None


def _ticked(body: str) -> dict[str, bool]:
    return {t.id: t.checked for t in parse_issue(make_request().title, body).targets}


def setup(interval: float = 60.0) -> tuple[FakeIssues, Ticker, Run, Clock]:
    issues = FakeIssues()
    issues.create(N, make_body())
    clock = Clock()
    return issues, Ticker(issues, interval=interval, clock=clock), Run(make_body()), clock


def test_ticks_wait_for_one_write_and_never_read_the_issue() -> None:
    issues, ticker, run, _ = setup()
    for key in ("pypi", "npm"):
        ticker.tick(run, key)
    assert issues.body_patches == 0 and issues.calls == []  # nothing read, nothing written
    assert _ticked(ticker.body(run)) == {"pypi": True, "npm": True, "github": False}
    ticker.flush(run)
    assert issues.body_patches == 1 and issues.calls == [("set_body", N)]
    assert _ticked(issues.store[N]["body"]) == {"pypi": True, "npm": True, "github": False}
    ticker.flush(run)
    assert issues.body_patches == 1  # nothing pending: no write


def test_the_answer_of_a_write_is_the_body_the_next_one_starts_from() -> None:
    issues, ticker, run, _ = setup()
    ticker.tick(run, "pypi")
    ticker.flush(run)
    assert ticker.known(run) == issues.store[N]["body"] and run.last_issue is not None
    ticker.tick(run, "npm")
    assert _ticked(ticker.body(run)) == {"pypi": True, "npm": True, "github": False}


def test_a_long_run_writes_at_most_once_per_interval() -> None:
    issues, ticker, run, clock = setup(interval=60.0)
    ticker.tick(run, "pypi")
    clock.now += 59
    ticker.tick(run, "npm")
    ticker.wait()
    assert issues.body_patches == 0  # within the minute: still pending
    clock.now += 2
    ticker.tick(run, "github")
    ticker.wait()
    assert issues.body_patches == 1  # one write carries all three
    assert all(_ticked(issues.store[N]["body"]).values())
    clock.now += 10
    assert ticker.pending(run) == []


def test_a_failed_write_keeps_the_ticks_for_the_next_one() -> None:
    from valet.errors import GitHubError

    issues, ticker, run, clock = setup(interval=0.0)
    real = issues.set_body

    def once_down(number: int, body: str) -> dict[str, object]:
        issues.set_body = real
        raise GitHubError("updating the body failed: HTTP 502")

    issues.set_body = once_down
    ticker.tick(run, "pypi")
    ticker.wait()
    assert ticker.pending(run) == ["pypi"]
    ticker.flush(run)
    assert ticker.pending(run) == [] and _ticked(issues.store[N]["body"])["pypi"]


def test_a_quick_run_writes_its_ticks_with_the_closing_patch_only(tmp_path) -> None:
    w = World(tmp_path)
    assert w.label() == 0 and w.labels == {"published"}
    assert w.issues.body_patches == 1  # the close, carrying every tick
    assert [c for c in w.issues.calls if c[0] == "set_body"] == []
    assert all(_ticked(w.issues.store[N]["body"]).values())


def test_a_failure_writes_the_ticks_of_what_was_published(tmp_path) -> None:
    from .fakes import Behaviour

    w = World(tmp_path)
    w.reg.behaviour["npm"] = Behaviour(publish_error="E403")
    assert w.label() != 0 and "failed" in w.labels
    assert _ticked(w.issues.store[N]["body"]) == {"pypi": True, "npm": False, "github": False}
