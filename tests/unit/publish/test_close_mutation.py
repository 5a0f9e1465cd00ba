"""The successful close as one GraphQL document: built against GitHub's schema, answered
in full, in part, or not at all."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import graphql
import pytest

from valet import close_mutation as cm
from valet.errors import GitHubError


@lru_cache(maxsize=1)
def schema() -> graphql.GraphQLSchema:
    text = resources.files("valet.sandbox").joinpath("data/github-schema.graphql").read_text()
    # GitHub's published schema breaks a rule graphql-core checks (deprecated interface
    # fields): taken as GitHub serves it, as its own server does
    return graphql.build_schema(text, assume_valid=True, assume_valid_sdl=True)


def valid(text: str, variables: dict[str, Any]) -> None:
    doc = graphql.parse(text)
    assert graphql.validate(schema(), doc) == []
    # the variables are what the document declares, and GitHub's types accept them
    from graphql.execution.values import get_variable_values

    op = doc.definitions[0]
    assert isinstance(op, graphql.OperationDefinitionNode)
    assert op.operation is graphql.OperationType.MUTATION
    coerced = get_variable_values(schema(), op.variable_definitions, variables)
    assert not isinstance(coerced, list), coerced  # a list: the coercion's errors
    assert {v.variable.name.value for v in op.variable_definitions} == set(variables)


FULL = cm.Close("I_1", "## Published", add=("LA_pub",), remove=("LA_acc", "LA_pend"),
                body="- [x] pypi")
CASES = {
    "everything": FULL,
    "no body": cm.Close("I_1", "## Published", add=("LA_pub",), remove=("LA_acc",)),
    "nothing to remove": cm.Close("I_1", "s", add=("LA_pub",)),
    "comment already there": FULL.without(cm.COMMENT),
    "only the close": cm.Close("I_1", None),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_every_shape_of_the_document_validates_against_githubs_schema(case: cm.Close) -> None:
    text, variables = cm.document(case)
    valid(text, variables)


def test_the_mutations_run_in_order_and_every_value_is_a_variable() -> None:
    hostile = '"}) { x } mutation { deleteIssue(input: {issueId: "I_1"}) { clientMutationId'
    close = cm.Close("I_1", hostile, add=("LA_pub",), remove=("LA_acc",), body=hostile)
    text, variables = cm.document(close)
    assert hostile not in text and "I_1" not in text and "LA_" not in text
    assert variables == {"issue": "I_1", "summary": hostile, "add": ["LA_pub"],
                         "remove": ["LA_acc"], "body": hostile}
    order = [text.index(f"{name}(") for name in (
        "addComment", "addLabelsToLabelable", "removeLabelsFromLabelable", "updateIssue",
        "closeIssue")]
    assert order == sorted(order)
    assert "stateReason: COMPLETED" in text
    valid(text, variables)


def test_steps_left_out_leave_their_mutations_and_variables_out() -> None:
    text, variables = cm.document(cm.Close("I_1", None))
    assert "addComment" not in text and "Labelable" not in text and "updateIssue" not in text
    assert variables == {"issue": "I_1"}
    text, variables = cm.document(FULL.without(cm.COMMENT, cm.ADD))
    assert "addComment" not in text and "addLabelsToLabelable" not in text
    assert set(variables) == {"issue", "remove", "body"}


def closed(body: str = "- [x] pypi", labels: tuple[str, ...] = ("published", "mine")
           ) -> dict[str, Any]:
    return {"issue": {"state": "CLOSED", "stateReason": "COMPLETED", "body": body,
                      "labels": {"nodes": [{"name": x} for x in labels]}}}


def full_data() -> dict[str, Any]:
    return {"comment": {"commentEdge": {"node": {"id": "IC_1"}}},
            "addLabels": {"clientMutationId": None}, "removeLabels": {"clientMutationId": None},
            "body": {"issue": {"id": "I_1"}}, "close": closed()}


def test_a_full_answer_gives_the_issue_as_rest_shapes_it() -> None:
    answer = cm.parse(FULL, {"data": full_data()}, "closing #1")
    assert answer.ok and answer.done == cm.STEPS
    assert answer.issue == {"body": "- [x] pypi", "state": "closed", "state_reason": "completed",
                            "labels": [{"name": "published"}, {"name": "mine"}]}


def test_a_failed_mutation_is_named_and_the_others_count_as_done() -> None:
    data = full_data()
    data["close"] = None
    payload = {"data": data, "errors": [{"type": "FORBIDDEN", "path": ["close"],
                                          "message": "Resource not accessible by integration"}]}
    answer = cm.parse(FULL, payload, "closing #1")
    assert answer.done == (cm.COMMENT, cm.ADD, cm.REMOVE, cm.BODY)
    assert answer.failed == {cm.CLOSE: "Resource not accessible by integration"}
    assert answer.issue is None


def test_labels_that_failed_do_not_hide_a_close_that_went_through() -> None:
    data = full_data()
    data["addLabels"] = None
    payload = {"data": data, "errors": [{"path": ["addLabels"], "message": "Could not resolve"}]}
    answer = cm.parse(FULL, payload, "closing #1")
    assert cm.CLOSE in answer.done and answer.failed == {cm.ADD: "Could not resolve"}
    assert answer.issue is not None and answer.issue["state"] == "closed"


def test_a_null_field_without_its_own_error_is_a_failure_too() -> None:
    data = full_data()
    data["removeLabels"] = None
    answer = cm.parse(FULL, {"data": data, "errors": [{"message": "something went wrong"}]},
                      "closing #1")
    assert answer.failed == {cm.REMOVE: "something went wrong"}


def test_an_issue_that_came_back_open_is_not_closed() -> None:
    data = full_data()
    data["close"] = {"issue": {**closed()["issue"], "state": "OPEN"}}
    answer = cm.parse(FULL, {"data": data}, "closing #1")
    assert cm.CLOSE in answer.failed and answer.issue is None


@pytest.mark.parametrize("payload", [
    {"errors": [{"message": "Something went wrong while executing your query."}]},
    {"data": None, "errors": [{"message": "Parse error"}]},
    [], "oops", None,
])
def test_a_document_that_failed_as_a_whole_assumes_nothing(payload: Any) -> None:
    with pytest.raises(GitHubError) as info:
        cm.parse(FULL, payload, "closing #1")
    assert "closing #1" in info.value.message


def test_a_resend_keeps_what_the_first_attempt_did() -> None:
    first = cm.Answer((cm.COMMENT, cm.ADD), {cm.REMOVE: "x", cm.CLOSE: "y"})
    again = cm.parse(FULL.without(cm.COMMENT, cm.ADD), {"data": {
        "removeLabels": {"clientMutationId": None}, "body": {"issue": {"id": "I_1"}},
        "close": closed()}}, "closing #1")
    both = again.merged(first)
    assert both.ok and both.done == cm.STEPS and both.issue is not None
