"""The end of a successful publish: one GraphQL request instead of the labels read, the
summary's POST and the closing PATCH; REST when an id is unknown; what a partial answer
or a lost one leaves."""

from __future__ import annotations

import json
from typing import Any

import graphql
import pytest

from tests.unit.publish.fakes import BOT
from tests.unit.publish.test_close_mutation import schema
from tests.unit.publish.test_publisher import N, World
from valet import close_mutation as cm
from valet.errors import GitHubError
from valet.publish_api import IssueAPI, Rest, _Unsure


def test_one_graphql_request_replaces_the_labels_read_the_summary_and_the_patch(tmp_path):
    w = World(tmp_path)
    assert w.label() == 0
    calls = [c for c in w.issues.calls if c[0] != "body_edits"]
    # the label to add is looked up while the merge is under way; then one request closes
    assert calls.count(("label_node_id", "published")) == 1
    assert calls[-1] == ("close_published", N) and calls.count(("close_published", N)) == 1
    assert not [c for c in w.issues.calls if c in (("close", N), ("comment", N))]
    assert w.issues.calls.count(("issue", N)) == 1  # at the start only: no re-read
    assert w.issues.store[N]["state"] == "closed" and w.labels == {"published"}
    assert w.checked() == {"pypi": True, "npm": True, "github": True}
    assert sum("Published" in c for c in w.comments) == 1
    assert w.issues.body_patches == 1  # the ticks, with the close


def test_labels_people_add_during_the_run_stay_without_a_read(tmp_path):
    w = World(tmp_path)
    w.issues.store[N]["labels"].append(w.issues._label("ci-pending"))  # the run sees it
    plain_merge = w.sdk.merge

    def merge(*a):
        w.issues.label_by(N, "added-while-publishing", "carol")
        return plain_merge(*a)

    w.sdk.merge = merge
    assert w.label() == 0
    assert w.labels == {"published", "added-while-publishing"}  # ci-pending went, carol's stayed
    assert w.issues.calls.count(("issue", N)) == 1


def test_a_label_that_does_not_exist_yet_closes_through_rest(tmp_path, capsys):
    w = World(tmp_path)
    del w.issues.repo_labels["published"]  # REST's PATCH creates it; GraphQL cannot
    assert w.label() == 0
    assert ("close_published", N) not in w.issues.calls
    assert {("issue", N), ("comment", N), ("close", N)} <= set(w.issues.calls)
    assert w.labels == {"published"} and w.issues.store[N]["state"] == "closed"
    assert "through REST: the label `published` does not exist yet" in capsys.readouterr().out


def test_an_issue_read_without_its_id_closes_through_rest(tmp_path, capsys):
    w = World(tmp_path)
    del w.issues.store[N]["node_id"]
    assert w.label() == 0
    assert ("close", N) in w.issues.calls and ("close_published", N) not in w.issues.calls
    assert "the issue's GraphQL id is unknown" in capsys.readouterr().out
    assert w.labels == {"published"}


def test_a_label_the_run_saw_without_an_id_closes_through_rest(tmp_path):
    w = World(tmp_path)
    event = w.issues.label_by(N, "accepted", "alice")
    for label in w.issues.store[N]["labels"]:
        label.pop("node_id")  # `accepted` must go, and its id is unknown
    assert w.publisher.handle(event) == 0
    assert ("close", N) in w.issues.calls and w.labels == {"published"}


def test_a_close_that_failed_ends_the_run_as_a_failed_patch_did(tmp_path):
    w = World(tmp_path)
    w.issues.close_fails = {cm.CLOSE: "Resource not accessible by integration"}
    code = w.label()
    assert code != 0 and w.issues.store[N]["state"] == "open"
    assert "failed" in w.labels and "accepted" not in w.labels
    last = w.comments[-1]
    assert "closing the issue failed (Resource not accessible by integration)" in last
    assert "accepted" in last and "re-publishing" in last
    assert w.checked() == {"pypi": True, "npm": True, "github": True}  # the ticks landed
    w.issues.close_fails = {}
    assert w.label() == 0  # adding `accepted` again finishes the close
    assert w.issues.store[N]["state"] == "closed" and "failed" not in w.labels
    assert sorted(k for c, k in w.reg.calls if c == "publish") == ["github", "npm", "pypi"]


def test_labels_that_failed_say_so_though_the_issue_closed(tmp_path):
    w = World(tmp_path)
    w.issues.close_fails = {cm.ADD: "Could not resolve to a node with the global id"}
    assert w.label() != 0
    assert w.issues.store[N]["state"] == "closed"
    assert "adding the labels failed" in w.comments[-1]
    assert "set its labels" in w.comments[-1]
    assert "tick the boxes" not in w.comments[-1]


def test_ticks_that_failed_say_which_boxes_to_tick_though_the_issue_closed(tmp_path):
    # GitHub runs closeIssue even when updateIssue (the ticks) failed before it
    w = World(tmp_path)
    w.issues.close_fails = {cm.BODY: "Something went wrong"}
    assert w.label() != 0
    assert w.issues.store[N]["state"] == "closed"
    last = w.comments[-1]
    assert "tick the boxes of the targets the summary lists as published" in last
    assert "set its labels" not in last


def test_a_document_that_failed_as_a_whole_fails_the_run_clearly(tmp_path):
    w = World(tmp_path)

    def down(number, close):
        raise GitHubError(f"closing #{number}: GraphQL answered no data")

    w.issues.close_published = down
    assert w.label() != 0
    assert "failed" in w.labels and "GraphQL answered no data" in w.comments[-1]
    assert w.issues.store[N]["state"] == "open"


# -- IssueAPI: the request, and a request whose answer never came ----------------------


class Resp:
    def __init__(self, status: int, data: Any) -> None:
        self.status_code = status
        self.headers: dict[str, str] = {}
        self.content = json.dumps(data).encode()
        self.text = self.content.decode()
        self._data = data

    def json(self) -> Any:
        return self._data


class GitHub(Rest):
    """Rest against a scripted GitHub: each GraphQL document is validated against the
    vendored schema and carried out; ``lose`` answers are lost after the work is done."""

    def __init__(self, lose: int = 0, comment_lands: bool = True) -> None:
        super().__init__(token="t", base_url="https://api.github.com")
        self.lose = lose
        self.comment_lands = comment_lands
        self.comments: list[dict[str, Any]] = []
        self.documents: list[tuple[list[str], dict[str, Any]]] = []
        self.labels = {"accepted"}

    def _send(self, verb: str, path: str, params: Any, body: Any, headers: Any,
              doing: str) -> Any:
        if verb == "GET" and path.endswith("/issues/7/comments"):
            return Resp(200, list(self.comments))
        assert (verb, path) == ("POST", "https://api.github.com/graphql"), (verb, path)
        doc = graphql.parse(body["query"])
        assert graphql.validate(schema(), doc) == []
        op = doc.definitions[0]
        assert isinstance(op, graphql.OperationDefinitionNode)
        fields = [f.name.value for f in op.selection_set.selections]  # type: ignore[attr-defined]
        self.documents.append((fields, body["variables"]))
        v = body["variables"]
        data: dict[str, Any] = {}
        if "addComment" in fields:
            if self.comment_lands:
                self.comments.append({"body": v["summary"], "user": {"login": BOT}})
            data["comment"] = {"commentEdge": {"node": {"id": "IC_1"}}}
        if "addLabelsToLabelable" in fields:
            self.labels.add("published")
            data["addLabels"] = {"clientMutationId": None}
        if "removeLabelsFromLabelable" in fields:
            self.labels.discard("accepted")
            data["removeLabels"] = {"clientMutationId": None}
        data["close"] = {"issue": {"state": "CLOSED", "stateReason": "COMPLETED", "body": "b",
                                   "labels": {"nodes": [{"name": x} for x in self.labels]}}}
        if self.lose:
            self.lose -= 1
            raise _Unsure(GitHubError("POST graphql: HTTP 502"))
        return Resp(200, {"data": data})


CLOSE = cm.Close("I_7", "## Published 1.2.3", add=("LA_pub",), remove=("LA_acc",))


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VALET_RETRY_BACKOFF", "0")


def test_the_close_is_one_request_with_every_value_in_variables() -> None:
    gh = GitHub()
    answer = IssueAPI(gh, "org/publish").close_published(7, CLOSE)
    assert answer.ok and answer.issue["labels"] == [{"name": "published"}]
    assert gh.documents == [(["addComment", "addLabelsToLabelable", "removeLabelsFromLabelable",
                              "closeIssue"], {"issue": "I_7", "summary": "## Published 1.2.3",
                                              "add": ["LA_pub"], "remove": ["LA_acc"]})]


def test_a_lost_answer_never_posts_the_summary_twice() -> None:
    gh = GitHub(lose=1)
    answer = IssueAPI(gh, "org/publish").close_published(7, CLOSE)
    assert answer.ok and answer.done == (cm.COMMENT, cm.ADD, cm.REMOVE, cm.CLOSE)
    assert [c["body"] for c in gh.comments] == ["## Published 1.2.3"]
    # the resend carries what is still to do, the idempotent rest, without the comment
    assert [fields for fields, _ in gh.documents] == [
        ["addComment", "addLabelsToLabelable", "removeLabelsFromLabelable", "closeIssue"],
        ["addLabelsToLabelable", "removeLabelsFromLabelable", "closeIssue"]]
    assert "summary" not in gh.documents[1][1]


def test_a_lost_request_whose_summary_is_not_there_is_sent_again_whole() -> None:
    gh = GitHub(lose=1, comment_lands=False)
    answer = IssueAPI(gh, "org/publish").close_published(7, CLOSE)
    assert answer.ok
    assert [fields[0] for fields, _ in gh.documents] == ["addComment", "addComment"]


def test_a_request_never_answered_is_not_taken_for_done() -> None:
    gh = GitHub(lose=5, comment_lands=False)
    with pytest.raises(GitHubError) as info:
        IssueAPI(gh, "org/publish").close_published(7, CLOSE)
    assert "not repeated" in info.value.message


class Labels(Rest):
    """Rest against a repository whose only label is `published`."""

    def __init__(self) -> None:
        super().__init__(token="t", base_url="https://api.github.com")
        self.asked: list[str] = []

    def _send(self, verb: str, path: str, params: Any, body: Any, headers: Any,
              doing: str) -> Any:
        self.asked.append(f"{verb} {path}")
        if path.endswith("/repos/org/publish/labels/published"):
            return Resp(200, {"id": 3, "node_id": "LA_kwDOpublished", "name": "published"})
        return Resp(404, {"message": "Not Found"})


def test_a_labels_id_is_its_rest_node_id_and_none_when_it_does_not_exist() -> None:
    rest = Labels()
    api = IssueAPI(rest, "org/publish")
    assert api.label_node_id("published") == "LA_kwDOpublished"
    assert api.label_node_id("we/ird name") is None
    assert rest.asked[-1] == "GET /repos/org/publish/labels/we%2Fird%20name"
