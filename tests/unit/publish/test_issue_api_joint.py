"""IssueAPI's one request at a run's start: the policy, the approver's teams and the close's
labels come with the viewer and the edits, and each falls back to its REST read alone."""

from __future__ import annotations

import base64
from concurrent.futures import Future
from typing import Any

import pytest

from valet.errors import GitHubError
from valet.publish import ahead
from valet.publish_api import EDITS_QUERY, VIEWER_QUERY, IssueAPI, NotFound

REPO = "org/publish"
POLICY = "repos:\n  - repo: org/sdk\n    targets: [pypi]\n"
TEAMS = (("acme", "release"), ("Acme", "Ops"))
CONTENTS = f"/repos/{REPO}/contents/valet-publish.yml"


def membership(org: str, slug: str, login: str) -> str:
    return f"/orgs/{org}/teams/{slug}/memberships/{login}"


def done(value: Any) -> Future[Any]:
    f: Future[Any] = Future()
    if isinstance(value, BaseException):
        f.set_exception(value)
    else:
        f.set_result(({}, value))
    return f


class StubRest:
    """Rest's surface IssueAPI uses; what is read, and the answers to give."""

    def __init__(self, joint: Any, gets: dict[str, Any] | None = None,
                 alone: dict[str, Any] | None = None) -> None:
        self.joint = joint
        self.gets = gets or {}
        self.alone = alone or {}
        self.prefetched: list[str] = []
        self.posts: list[tuple[str, dict[str, Any]]] = []  # GraphQL requests started or sent
        self.read: list[str] = []

    def prefetch(self, path: str, params: Any = None) -> Future[Any]:
        self.prefetched.append(path)
        return done(None)

    def prefetch_pages(self, path: str, params: Any = None) -> Future[Any]:
        return self.prefetch(path, params)

    def prefetch_graphql(self, query: str, variables: dict[str, Any]) -> Future[Any]:
        self.posts.append((query, variables))
        return done(self.joint)

    def graphql(self, query: str, variables: dict[str, Any], doing: str) -> Any:
        self.posts.append((query, variables))
        got = self.alone[query]
        if isinstance(got, Exception):
            raise got
        return got

    def get(self, path: str, params: Any = None, doing: str = "") -> Any:
        self.read.append(path)
        got = self.gets.get(path)
        if got is None:
            raise NotFound(f"{path}: Not Found")
        return got


def blob(text: str) -> dict[str, Any]:
    return {"__typename": "Blob", "text": text, "isBinary": False, "isTruncated": False,
            "byteSize": len(text.encode())}


def team(*logins: str) -> dict[str, Any]:
    return {"team": {"members": {"nodes": [{"login": x} for x in logins]}}}


EDITS = {"userContentEdits": {"totalCount": 1, "nodes": [
    {"editedAt": "t1", "editor": {"login": "bot[bot]"}, "diff": "body"}]}}


def data(**extra: Any) -> dict[str, Any]:
    repo = {"issue": EDITS, "policy": blob(POLICY),
            "l0": {"id": "LA_published", "name": "published"}}
    repo.update(extra.pop("repository", {}))
    return {"viewer": {"login": "publish-app[bot]"}, "repository": repo,
            "t0": team("alice"), "t1": team("alice2"), **extra}


def warmed(rest: StubRest, approver: str | None = "alice") -> IssueAPI:
    api = IssueAPI(rest, REPO)  # type: ignore[arg-type]
    api.warm(7, approver=approver, teams=TEAMS, viewer=True, policy=True,
             labels=("published",))
    return api


def rest_contents(text: str) -> dict[str, Any]:
    return {"type": "file", "encoding": "base64",
            "content": base64.b64encode(text.encode()).decode()}


def test_one_post_answers_the_policy_the_teams_the_labels_the_viewer_and_the_edits():
    rest = StubRest({"data": data()})
    api = warmed(rest)
    assert len(rest.posts) == 1
    query, variables = rest.posts[0]
    assert variables["login"] == "alice" and variables["label0"] == "published"
    assert (variables["org1"], variables["slug1"]) == ("Acme", "Ops")
    assert CONTENTS not in rest.prefetched
    assert not any("/memberships/" in p for p in rest.prefetched)
    assert api.policy_text() == POLICY
    assert api.team_member("acme", "release", "alice") is True
    assert api.label_node_id("published") == "LA_published"
    assert api.viewer_login() == "publish-app[bot]"
    assert [e.body for e in api.body_edits(7)] == ["body"]
    assert rest.read == [] and len(rest.posts) == 1
    # a team that does not list the approver is no refusal yet: REST's membership decides
    assert api.team_member("acme", "ops", "Alice") is False  # only alice2 matched
    assert rest.read == ["/orgs/acme/teams/ops/memberships/Alice"]


def test_each_part_is_taken_once_then_read_again():
    rest = StubRest({"data": data()}, gets={
        CONTENTS: rest_contents("changed: yes\n"),
        membership("acme", "release", "alice"): {"state": "active"},
        f"/repos/{REPO}/labels/published": {"node_id": "LA_again"}})
    api = warmed(rest)
    assert api.policy_text() == POLICY and api.policy_text() == "changed: yes\n"
    assert api.team_member("acme", "release", "alice") is True
    assert api.team_member("acme", "release", "alice") is True
    assert api.label_node_id("published") == "LA_published"
    assert api.label_node_id("published") == "LA_again"
    assert rest.read == [CONTENTS, membership("acme", "release", "alice"),
                         f"/repos/{REPO}/labels/published"]


def test_an_organization_error_sends_only_that_team_to_rest():
    answer = {"data": data(t1=None), "errors": [
        {"type": "FORBIDDEN", "path": ["t1"], "message": "Resource protected by SAML"}]}
    rest = StubRest(answer, gets={membership("Acme", "Ops", "alice"): {"state": "active"}})
    api = warmed(rest)
    assert api.team_member("Acme", "Ops", "alice") is True
    assert api.team_member("acme", "release", "alice") is True
    assert api.policy_text() == POLICY
    assert [e.body for e in api.body_edits(7)] == ["body"]
    assert api.viewer_login() == "publish-app[bot]"
    assert rest.read == [membership("Acme", "Ops", "alice")] and len(rest.posts) == 1


def test_a_pending_membership_on_rest_is_not_one():
    full = team(*(f"alice{i}" for i in range(100)))
    rest = StubRest({"data": data(t0=full)},
                    gets={membership("acme", "release", "alice"): {"state": "pending"}})
    api = warmed(rest)
    assert api.team_member("acme", "release", "alice") is False  # asked REST: pending
    assert rest.read == [membership("acme", "release", "alice")]


def test_an_approver_other_than_the_hint_is_read_through_rest():
    rest = StubRest({"data": data()}, gets={membership("acme", "release", "bob"): None})
    api = warmed(rest)
    assert api.team_member("acme", "release", "bob") is False  # 404: not a member
    assert rest.read == [membership("acme", "release", "bob")]


def test_without_a_known_approver_the_teams_stay_on_rest():
    rest = StubRest({"data": data()})
    api = warmed(rest, approver=None)
    assert "login" not in rest.posts[0][1] and " t0:" not in rest.posts[0][0]
    api.warm_approver("alice", teams=TEAMS)
    assert membership("acme", "release", "alice") in rest.prefetched


def test_an_error_answer_without_data_reads_every_part_alone():
    rest = StubRest({"errors": [{"message": "Something went wrong"}]}, gets={
        CONTENTS: rest_contents(POLICY),
        membership("acme", "release", "alice"): {"state": "active"},
        f"/repos/{REPO}/labels/published": {"node_id": "LA_rest"}},
        alone={VIEWER_QUERY: {"viewer": {"login": "publish-app[bot]"}},
               EDITS_QUERY: {"repository": {"issue": EDITS}}})
    api = warmed(rest)
    assert api.policy_text() == POLICY
    assert api.team_member("acme", "release", "alice") is True
    assert api.label_node_id("published") == "LA_rest"
    assert api.viewer_login() == "publish-app[bot]"
    assert [e.body for e in api.body_edits(7)] == ["body"]
    assert [q for q, _ in rest.posts[1:]] == [VIEWER_QUERY, EDITS_QUERY]
    assert len(rest.read) == 3


def test_the_edits_own_error_fails_the_edits_alone():
    answer = {"data": data(repository={"issue": None}), "errors": [
        {"type": "NOT_FOUND", "path": ["repository", "issue"],
         "message": "Could not resolve to an Issue with the number of 7."}]}
    rest = StubRest(answer)
    api = warmed(rest)
    assert api.viewer_login() == "publish-app[bot]"
    assert api.policy_text() == POLICY
    with pytest.raises(GitHubError, match="Could not resolve to an Issue"):
        api.body_edits(7)
    assert len(rest.posts) == 1 and rest.read == []


def test_a_missing_policy_is_no_policy_and_a_binary_one_fails_as_rest_does():
    rest = StubRest({"data": data(repository={"policy": None})})
    assert warmed(rest).policy_text() is None and rest.read == []
    binary = {"__typename": "Blob", "text": None, "isBinary": True, "isTruncated": False,
              "byteSize": 4}
    raw = {"type": "file", "encoding": "base64",
           "content": base64.b64encode(b"\xff\xfe\x00\x01").decode()}
    rest = StubRest({"data": data(repository={"policy": binary})}, gets={CONTENTS: raw})
    with pytest.raises(GitHubError, match="not UTF-8 text"):
        warmed(rest).policy_text()
    assert rest.read == [CONTENTS]


def test_a_failed_request_leaves_each_part_to_its_own_read():
    rest = StubRest(GitHubError("GraphQL query failed: HTTP 502"),
                    gets={CONTENTS: rest_contents(POLICY)},
                    alone={VIEWER_QUERY: {"viewer": {"login": "publish-app[bot]"}}})
    api = warmed(rest)
    assert api.policy_text() == POLICY
    assert api.viewer_login() == "publish-app[bot]"
    with pytest.raises(GitHubError, match="502"):
        api.body_edits(7)  # as before: the edits' request failed


def test_label_node_id_alone_is_one_rest_read():
    rest = StubRest(None, gets={f"/repos/{REPO}/labels/ci%20failed": {"node_id": "LA_x"}})
    api = IssueAPI(rest, REPO)  # type: ignore[arg-type]
    assert api.label_node_id("ci failed") == "LA_x"
    assert api.label_node_id("published") is None  # no such label
    rest.gets[f"/repos/{REPO}/labels/odd"] = {"name": "odd"}
    with pytest.raises(GitHubError, match="node id"):
        api.label_node_id("odd")


class _Issues:
    def __init__(self) -> None:
        self.warmed: list[tuple[int, dict[str, Any]]] = []

    def warm(self, number: int, **kw: Any) -> None:
        self.warmed.append((number, kw))

    def warm_policy(self) -> None:
        raise AssertionError("the policy comes with warm's query")


def test_a_run_start_asks_for_the_policy_and_the_close_labels_in_its_query(monkeypatch):
    from valet.authz import parse_policy
    from valet.publish.context import Deps, Settings

    issues = _Issues()
    deps = Deps(issues=issues, sdk=lambda repo: None, store=lambda r, c: None,
                resolve=lambda name: None)  # type: ignore[arg-type,return-value]
    settings = Settings(publish_repo=REPO, policy=parse_policy("acme/release"))
    monkeypatch.setattr(ahead, "sdk_side", lambda *a, **k: None)
    ahead.start(deps, settings, 7, title="", body="", approver="alice")
    [(number, kw)] = issues.warmed
    assert number == 7 and kw["policy"] is True and kw["labels"] == ("published",)
    assert kw["approver"] == "alice" and kw["teams"] == (("acme", "release"),)


# -- the issue itself, from the same query ---------------------------------------------------

ISSUE_PATH = f"/repos/{REPO}/issues/7"
REST_ISSUE = {"number": 7, "title": "publish: org/sdk@1.2.0", "body": "body", "state": "open",
              "node_id": "I_rest", "user": {"login": "request-app[bot]", "type": "Bot"},
              "labels": [{"name": "accepted", "node_id": "LA_acc"}]}


def with_issue(author: Any = None, **over: Any) -> dict[str, Any]:
    issue = {**EDITS, "id": "I_7", "number": 7, "title": "publish: org/sdk@1.2.0",
             "body": "body", "state": "OPEN", "stateReason": None,
             "createdAt": "2030-01-01T00:00:10Z",
             "author": author or {"__typename": "Bot", "login": "request-app"},
             "labels": {"pageInfo": {"hasNextPage": False},
                        "nodes": [{"id": "LA_acc", "name": "accepted"}]}, **over}
    return {"data": data(repository={"issue": issue})}


def test_the_issue_comes_from_the_query_once_then_from_rest():
    rest = StubRest(with_issue(), gets={ISSUE_PATH: REST_ISSUE})
    api = warmed(rest)
    assert ISSUE_PATH not in rest.prefetched and "createdAt" in rest.posts[0][0]
    first = api.issue(7)
    assert first["node_id"] == "I_7" and first["user"] == {"login": "request-app[bot]",
                                                           "type": "Bot"}
    assert first["labels"] == [{"name": "accepted", "node_id": "LA_acc"}]
    assert rest.read == []
    assert api.issue(7) is REST_ISSUE  # a later read asks GitHub again
    assert rest.read == [ISSUE_PATH]


def test_another_number_is_read_through_rest():
    rest = StubRest(with_issue(), gets={f"/repos/{REPO}/issues/8": REST_ISSUE})
    assert warmed(rest).issue(8) is REST_ISSUE
    assert rest.read == [f"/repos/{REPO}/issues/8"]


@pytest.mark.parametrize("joint", [
    GitHubError("GraphQL query failed: HTTP 502"),
    {"errors": [{"message": "Something went wrong"}]},
    # a pull request's number: GraphQL has no such Issue, REST answers the pull request
    {"data": data(repository={"issue": None}), "errors": [
        {"type": "NOT_FOUND", "path": ["repository", "issue"],
         "message": "Could not resolve to an Issue with the number of 7."}]},
    with_issue(labels={"pageInfo": {"hasNextPage": True}, "nodes": []}),
    with_issue(author={"__typename": "Mannequin", "login": "x"}),
])
def test_an_issue_the_query_does_not_settle_is_one_rest_get(joint):
    pr = {**REST_ISSUE, "pull_request": {"url": "..."}}
    rest = StubRest(joint, gets={ISSUE_PATH: pr},
                    alone={VIEWER_QUERY: {"viewer": {"login": "publish-app[bot]"}}})
    api = warmed(rest)
    assert api.issue(7) is pr
    assert rest.read == [ISSUE_PATH]


def test_a_deleted_author_is_read_through_rest():
    ghost = {**REST_ISSUE, "user": None}
    rest = StubRest({"data": data(repository={"issue": {**with_issue()["data"]["repository"]
                                                        ["issue"], "author": None}})},
                    gets={ISSUE_PATH: ghost})
    assert warmed(rest).issue(7) is ghost and rest.read == [ISSUE_PATH]


def test_the_apps_own_bot_as_author_answers_the_app():
    rest = StubRest(with_issue(), gets={ISSUE_PATH: REST_ISSUE})
    api = warmed(rest)
    api.warm_identity("request-app")
    assert "/apps/request-app" not in rest.prefetched
    assert api.app("request-app") == {"slug": "request-app"}
    assert api.app("Request-App") == {"slug": "Request-App"}
    assert rest.read == []
    assert api.issue(7)["node_id"] == "I_7"  # the issue's own read still takes the query's


def test_a_person_named_like_the_app_does_not_answer_for_it():
    # GraphQL names the App's bot by its slug: a User with that login is not the App
    person = with_issue({"__typename": "User", "login": "request-app"})
    rest = StubRest(person, gets={"/apps/request-app": {"slug": "request-app", "id": 9}})
    api = warmed(rest)
    assert api.app("request-app") == {"slug": "request-app", "id": 9}
    assert rest.read == ["/apps/request-app"]
    assert api.issue(7)["user"] == {"login": "request-app", "type": "User"}


def test_without_warm_the_app_and_the_issue_are_rest_reads():
    rest = StubRest(None, gets={ISSUE_PATH: REST_ISSUE, "/apps/request-app": {"id": 9}})
    api = IssueAPI(rest, REPO)  # type: ignore[arg-type]
    api.warm_identity("request-app")
    assert "/apps/request-app" in rest.prefetched
    assert api.app("request-app") == {"id": 9} and api.issue(7) is REST_ISSUE
