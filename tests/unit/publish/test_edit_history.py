"""Who ticked a box before approval: the edit-history walk, the GraphQL call, the fallback."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.publish.fakes import BOT, make_body
from tests.unit.publish.test_publisher import N, World
from valet.edit_history import who_ticked
from valet.errors import GitHubError
from valet.issue_format import set_target_checked
from valet.publish_api import EDITS_LIMIT, EDITS_QUERY, Edit, IssueAPI, graphql_url

BODY = make_body()


def edit(login: str | None, *ticked: str, body: str = BODY) -> Edit:
    for key in ticked:
        body = set_target_checked(body, key, True)
    return Edit(login, "2024-05-01T10:00:00Z", body)


# -- the walk (pure) -----------------------------------------------------------------


def test_the_editor_whose_edit_ticked_the_box_is_named():
    edits = [edit("bob"), edit("mallory", "npm"), edit("carol", "npm", "pypi")]
    assert who_ticked(edits, ["npm", "pypi"]) == {"npm": "mallory", "pypi": "carol"}


def test_a_box_unticked_and_ticked_again_names_the_last_ticker():
    edits = [edit("mallory", "npm"), edit("bob"), edit("eve", "npm")]
    assert who_ticked(edits, ["npm"]) == {"npm": "eve"}


def test_a_box_unticked_in_the_last_edit_names_nobody():
    assert who_ticked([edit("mallory", "npm"), edit("bob")], ["npm"]) == {}


def test_no_history_or_a_body_without_targets_names_nobody():
    assert who_ticked([], ["npm"]) == {}
    assert who_ticked([Edit("mallory", "t", "no targets here")], ["npm"]) == {}
    # a broken edit in between does not hide the tick before it
    edits = [edit("mallory", "npm"), Edit("bob", "t", "garbage")]
    assert who_ticked(edits, ["npm"]) == {"npm": "mallory"}


def test_a_cut_off_history_does_not_guess_who_ticked_before_it():
    old = [edit("bob", "npm")] + [edit("bob", "npm", "pypi")] * (EDITS_LIMIT - 1)
    # npm was ticked before the oldest edit we see; pypi within the window
    assert who_ticked(old, ["npm", "pypi"]) == {"pypi": "bob"}
    newer = [edit("bob")] + [edit("eve", "npm")] * (EDITS_LIMIT - 1)
    assert who_ticked(newer, ["npm"]) == {"npm": "eve"}


@pytest.mark.parametrize("login", [None, "@here", "a b", "x" * 60, "evil](http://e)"])
def test_a_login_outside_githubs_grammar_names_nobody(login):
    assert who_ticked([edit(login, "npm")], ["npm"]) == {}


# -- the GraphQL call -----------------------------------------------------------------


class StubRest:
    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.asked: list[tuple[str, dict[str, Any]]] = []

    def graphql(self, query: str, variables: dict[str, Any], doing: str) -> Any:
        self.asked.append((query, variables))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def nodes(*items: dict[str, Any]) -> dict[str, Any]:
    return {"repository": {"issue": {"userContentEdits": {"nodes": list(items)}}}}


def test_body_edits_asks_for_the_issue_and_returns_oldest_first():
    rest = StubRest(nodes({"editedAt": "t2", "editor": {"login": "eve"}, "diff": "two"},
                          {"editedAt": "t1", "editor": None, "diff": "one"},
                          {"editedAt": "t0", "editor": {"login": "x"}, "diff": None}))
    edits = IssueAPI(rest, "org/publish").body_edits(7)  # type: ignore[arg-type]
    assert edits == [Edit(None, "t1", "one"), Edit("eve", "t2", "two")]
    assert rest.asked == [(EDITS_QUERY, {"owner": "org", "name": "publish", "number": 7})]


@pytest.mark.parametrize("answer", [{"repository": None}, {}, nodes("nope")])
def test_body_edits_of_an_unexpected_answer(answer):
    got = None
    try:
        got = IssueAPI(StubRest(answer), "org/publish").body_edits(7)  # type: ignore[arg-type]
    except GitHubError as exc:
        assert "edit history of #7" in exc.message
    assert got in (None, [])


@pytest.mark.parametrize(("api", "want"), [
    ("https://api.github.com", "https://api.github.com/graphql"),
    ("https://api.github.com/", "https://api.github.com/graphql"),
    ("https://ghe.example/api/v3", "https://ghe.example/api/graphql"),
    ("http://127.0.0.1:8080/api/v3/", "http://127.0.0.1:8080/api/graphql"),
])
def test_graphql_url_from_the_api_url(monkeypatch, api, want):
    monkeypatch.delenv("GITHUB_GRAPHQL_URL", raising=False)
    assert graphql_url(api) == want


def test_graphql_url_from_the_runner(monkeypatch):
    monkeypatch.setenv("GITHUB_GRAPHQL_URL", "https://ghe.example/api/graphql/")
    assert graphql_url("https://ghe.example/api/v3") == "https://ghe.example/api/graphql"


# -- publish: a failed lookup keeps today's wording -------------------------------------


def test_the_history_that_vouches_for_the_body_cannot_be_read_so_nothing_is_published(
        tmp_path, monkeypatch):
    """The edit history is a check (who wrote the body), not a nicety: without it the run
    fails and says why, before anything of the SDK is read."""
    w = World(tmp_path)

    def broken(number: int) -> list[Edit]:
        raise GitHubError("reading the edit history of #5: GraphQL error: Something went wrong")

    monkeypatch.setattr(w.issues, "body_edits", broken)
    assert w.label() == GitHubError.exit_code
    assert w.reg.calls == [] and w.sdk.file_reads == [] and w.store.downloads == 0
    assert "edit history" in w.comments[-1] and "failed" in w.labels


def test_a_failed_ticker_lookup_after_the_check_keeps_the_plain_wording(tmp_path, monkeypatch):
    w = World(tmp_path)
    w.issues.edit_body(N, set_target_checked(w.issues.store[N]["body"], "npm", True), "mallory")
    real = w.issues.body_edits
    calls = []

    def second_fails(number: int) -> list[Edit]:
        calls.append(number)
        if len(calls) > 1:
            raise RuntimeError("a bug in the lookup")
        return real(number)

    monkeypatch.setattr(w.issues, "body_edits", second_fails)
    assert w.label() == 0
    assert sorted(w.uploads()) == ["github", "pypi"]
    npm_row = next(line for line in w.comments[-1].splitlines() if "npm" in line and "|" in line)
    assert "skipped: ticked before approval" in npm_row


def test_the_history_is_read_on_every_approval(tmp_path):
    w = World(tmp_path)
    assert w.label() == 0
    assert ("body_edits", N) in w.issues.calls


def test_a_box_valet_ticked_earlier_keeps_its_wording(tmp_path):
    w = World(tmp_path)
    w.issues.edit_body(N, set_target_checked(w.issues.store[N]["body"], "npm", True), BOT)
    w.issues.comment(N, '<!-- valet:done {"targets":["npm"]} -->')  # valet's own marker
    assert w.label() == 0
    npm_row = next(line for line in w.comments[-1].splitlines() if "npm" in line and "|" in line)
    assert "published by valet in an earlier run" in npm_row


def test_a_box_ticked_in_githubs_web_editor_is_only_ticking():
    # The web editor saves the body with CRLF line ends: every line "changed", yet the
    # person only ticked a box. Anything else they changed there still refuses.
    from tests.unit.publish.fakes import REQUEST_BOT, identities
    from valet.publish.context import Refused
    from valet.publish.origin import check_edits

    body = make_body()
    ticked = set_target_checked(body, "pypi").replace("\n", "\r\n")
    wrote = Edit(REQUEST_BOT, "2026-01-01T00:00:00Z", body)
    check_edits([wrote, Edit("alice", "2026-01-01T00:01:00Z", ticked)], True, identities())
    evil = ticked.replace("pkg-1.2.3", "evil-1.2.3")
    with pytest.raises(Refused):
        check_edits([wrote, Edit("alice", "2026-01-01T00:01:00Z", evil)], True, identities())
