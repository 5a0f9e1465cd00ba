"""Pacing content-creating requests to GitHub's guidance (80/min, 500/h), on a fake clock."""

from __future__ import annotations

import pytest

from valet import pacing
from valet.pacing import WritePacer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def pacer(clock: Clock, **kw: int) -> WritePacer:
    return WritePacer(clock=clock, sleep=clock.sleep, **kw)


def test_a_release_worth_of_writes_never_waits() -> None:
    clock = Clock()
    p = pacer(clock)
    for _ in range(pacing.PER_MINUTE):
        assert p.wait() == 0.0
    assert clock.slept == []


def test_the_81st_write_in_a_minute_waits_for_the_first_to_leave_the_window() -> None:
    clock = Clock()
    p = pacer(clock)
    for _ in range(80):
        p.wait()
        clock.now += 0.1  # 80 writes in 8 s
    assert p.wait() == pytest.approx(60.0 - 8.0)
    assert clock.now == pytest.approx(1060.0)


def test_the_hour_window_holds_when_every_minute_is_fine() -> None:
    clock = Clock()
    p = pacer(clock, per_minute=80, per_hour=5)
    for _ in range(5):
        p.wait()
        clock.now += 60  # one a minute: the minute window never fills
    waited = p.wait()
    # the 6th must wait until the first of the five is an hour old
    assert waited == pytest.approx(3600 - 5 * 60)


def test_writes_spaced_out_never_wait() -> None:
    clock = Clock()
    p = pacer(clock, per_minute=2, per_hour=500)
    for _ in range(10):
        assert p.wait() == 0.0
        clock.now += 30.0  # exactly two per minute
    assert clock.slept == []


def test_off_means_off() -> None:
    clock = Clock()
    p = WritePacer(clock=clock, sleep=clock.sleep, per_minute=1, enabled=False)
    for _ in range(5):
        assert p.wait() == 0.0
    assert clock.slept == []


@pytest.mark.parametrize("method,url,write", [
    ("POST", "https://api.github.com/repos/o/r/issues/1/comments", True),
    ("PATCH", "https://api.github.com/repos/o/r/issues/1", True),
    ("PUT", "https://api.github.com/repos/o/r/pulls/1/merge", True),
    ("DELETE", "https://api.github.com/repos/o/r/git/refs/heads/x", True),
    ("GET", "https://api.github.com/repos/o/r", False),
    ("HEAD", "https://api.github.com/repos/o/r", False),
])
def test_what_counts_as_content_creating(method: str, url: str, write: bool) -> None:
    assert pacing.is_write(method, url) is write


QUERY = b'{"query": "query($n: Int!) { viewer { login } }", "variables": {"n": 1}}'
MUTATION = ('{"query": "mutation($i: ID!) { closeIssue(input: {issueId: $i})'
            ' { clientMutationId } }", "variables": {"i": "I_1"}}')


@pytest.mark.parametrize("url", ["https://api.github.com/graphql",
                                 "https://ghe.example/api/graphql/"])
@pytest.mark.parametrize("body,write", [
    (QUERY, False),  # a query reads
    (QUERY.decode(), False),
    ({"query": "{ viewer { login } }"}, False),  # shorthand: a query
    (MUTATION, True),  # a mutation creates content, as GitHub counts it
    (MUTATION.encode(), True),
    ('{"query": "query A { viewer { login } } mutation B { x }"}', True),
    (None, True),  # unknown: paced, to be safe
    (b"not json", True),
    ('{"query": "mutation {"}', True),  # not GraphQL
])
def test_a_graphql_post_is_a_write_when_it_mutates(url: str, body: object, write: bool) -> None:
    assert pacing.is_write("POST", url, body) is write


def test_the_adapter_paces_a_graphql_mutation_and_not_a_query(monkeypatch) -> None:
    import requests

    from valet.github_client import PacedAdapter

    seen: list[str] = []
    monkeypatch.setattr(pacing, "before_write",
                        lambda m, u, b=None: seen.append("write" if pacing.is_write(m, u, b)
                                                         else "read"))
    adapter = PacedAdapter()
    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", lambda self, r, *a, **k: None)
    for body in (QUERY, MUTATION.encode()):
        req = requests.Request("POST", "https://api.github.com/graphql", data=body).prepare()
        adapter.send(req)
    assert seen == ["read", "write"]


def test_the_process_pacer_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    p = WritePacer(clock=clock, sleep=clock.sleep, per_minute=1)
    monkeypatch.setattr(pacing, "_default", p)
    monkeypatch.setenv("VALET_PACE_WRITES", "1")
    pacing.before_write("GET", "https://api.github.com/repos/o/r")  # a read: not counted
    pacing.before_write("POST", "https://api.github.com/repos/o/r/issues")
    pacing.before_write("POST", "https://api.github.com/repos/o/r/issues")
    assert clock.slept == [60.0]
    monkeypatch.setenv("VALET_PACE_WRITES", "0")  # the test suite's setting
    pacing.before_write("POST", "https://api.github.com/repos/o/r/issues")
    assert clock.slept == [60.0]
