"""The SDK repository's joint GraphQL query (valet.sdk_query): valid against GitHub's
schema, its values in variables, and an answer read part by part exactly as the REST
reads it replaces would have answered (else that part is left to REST)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

import graphql
import pytest
from graphql import ParallelVisitor, TypeInfo, TypeInfoVisitor, visit
from graphql.execution.values import get_variable_values
from graphql.validation import ValidationContext, specified_rules

from valet import sdk_query
from valet.sdk_query import Known

SHA = "a" * 40
TAG_OBJ = "b" * 40


@cache
def schema() -> graphql.GraphQLSchema:
    text = (files("valet.sandbox") / "data" / "github-schema.graphql").read_text()
    return graphql.build_schema(text, assume_valid_sdl=True)


def problems(query: str, variables: dict[str, Any]) -> list[str]:
    """graphql.validate's rules, run without its schema check: GitHub's published schema
    breaks a deprecation rule graphql-core asserts (implementations of Node.id deprecated),
    which says nothing about a query. The variables are coerced as a server would."""
    doc = graphql.parse(query)
    errors: list[graphql.GraphQLError] = []
    info = TypeInfo(schema())
    context = ValidationContext(schema(), doc, info, errors.append)
    visit(doc, TypeInfoVisitor(info, ParallelVisitor([rule(context) for rule in specified_rules])))
    op = next(d for d in doc.definitions if isinstance(d, graphql.OperationDefinitionNode))
    coerced = get_variable_values(schema(), op.variable_definitions or [], variables)
    if isinstance(coerced, list):
        errors.extend(coerced)
    return [e.message for e in errors]


def test_the_checker_does_refuse_a_field_github_does_not_have() -> None:
    bad = "query($o: String!) { repository(owner: $o, name: $o) { object(expression: $o) { text } } }"
    assert problems(bad, {"o": "x"}) != []


@pytest.mark.parametrize("tag", [None, "v1.2.3"])
@pytest.mark.parametrize("target", [None, "main"])
def test_the_query_is_valid_against_githubs_schema(tag: str | None, target: str | None) -> None:
    variables = sdk_query.variables("org/sdk", merge_target=target, config_path=".valet.yml",
                                    tag=tag)
    assert problems(sdk_query.query(tag=tag is not None, target=target is not None),
                    variables) == []


def test_every_value_is_a_variable_never_query_text() -> None:
    variables = sdk_query.variables('org/s"dk', merge_target='ma"in } x', config_path="p/.valet.yml",
                                    tag='v1"2')
    text = sdk_query.query(tag=True, target=True)
    assert text == sdk_query.query(tag=True, target=True)  # one text for every request
    for value in ("org", 's"dk', "ma\"in", "v1\"2", "p/.valet.yml"):
        assert value not in text
    assert variables == {"owner": "org", "name": 's"dk',
                         "configExpr": 'refs/heads/ma"in } x:p/.valet.yml',
                         "tagRef": 'refs/tags/v1"2', "branchRef": 'refs/heads/ma"in } x'}


def test_the_configuration_is_read_from_the_branch_never_a_tag_of_its_name() -> None:
    # git resolves a bare `main` to refs/tags/main first: anyone who may push a tag
    # could otherwise choose the configuration
    assert sdk_query.config_expression("main", ".valet.yml") == "refs/heads/main:.valet.yml"
    assert sdk_query.config_expression(None, "sub/.valet.yml") == "HEAD:sub/.valet.yml"


@pytest.mark.parametrize(("path", "previous", "guess"), [
    (".", None, "1.2.3"),
    (".", "v1.2.2", "v1.2.3"),
    (".", "sdk-1.2.2-rc.1", "sdk-1.2.3"),
    (".", "0123456789abcdef0123456789abcdef01234567", "1.2.3"),  # a sha: no tag to go by
    ("packages/foo", None, "packages/foo/1.2.3"),
    ("packages/foo", "packages/foo/v1.0.0", "packages/foo/v1.2.3"),
    ("packages/foo", "other/1.0.0", "packages/foo/1.2.3"),
])
def test_the_tag_is_guessed_from_the_request(path: str, previous: str | None, guess: str) -> None:
    assert sdk_query.tag_guess(path=path, version="1.2.3", previous=previous) == guess


def repo(**parts: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"defaultBranchRef": {"name": "main"},
                            "config": blob("targets: []\n"),
                            "tag": {"name": "v1.2.3",
                                    "target": {"__typename": "Commit", "oid": SHA}}}
    base.update(parts)
    return {"data": {"repository": base}}


def blob(text: str, **extra: Any) -> dict[str, Any]:
    return {"__typename": "Blob", "text": text, "isBinary": False, "isTruncated": False,
            "byteSize": len(text.encode()), **extra}


def test_every_part_of_a_full_answer() -> None:
    got = sdk_query.parse(repo(), tag="v1.2.3")
    assert got == sdk_query.Answer(Known("main"), Known("targets: []\n"), Known(SHA))


def test_a_lightweight_and_an_annotated_tag_give_the_commit() -> None:
    annotated = {"name": "v1.2.3", "target": {"__typename": "Tag", "oid": TAG_OBJ,
                                              "target": {"__typename": "Commit", "oid": SHA}}}
    assert sdk_query.parse(repo(tag=annotated), tag="v1.2.3").tag == Known(SHA)
    assert sdk_query.parse(repo(), tag="v1.2.3").tag == Known(SHA)


def test_a_tag_of_a_tag_is_peeled_through_rest() -> None:
    nested = {"name": "v1.2.3", "target": {"__typename": "Tag", "oid": TAG_OBJ,
                                           "target": {"__typename": "Tag", "oid": "c" * 40}}}
    assert sdk_query.parse(repo(tag=nested), tag="v1.2.3").tag is None


def test_a_missing_ref_is_no_tag_and_another_name_is_no_answer() -> None:
    assert sdk_query.parse(repo(tag=None), tag="v1.2.3").tag == Known(None)
    assert sdk_query.parse(repo(), tag="1.2.3").tag is None  # not the tag that was asked
    assert sdk_query.parse(repo(), tag=None).tag is None
    bad = {"name": "v1.2.3", "target": {"__typename": "Commit", "oid": "not-an-oid"}}
    assert sdk_query.parse(repo(tag=bad), tag="v1.2.3").tag is None


def test_a_missing_configuration_is_the_404_and_a_directory_no_file() -> None:
    assert sdk_query.parse(repo(config=None)).config == Known(None)
    assert sdk_query.parse(repo(config={"__typename": "Tree"})).config == Known(None)


@pytest.mark.parametrize("config", [
    blob("x", isBinary=True),
    blob("x", isBinary=None),  # GitHub could not tell the encoding
    blob("x", isTruncated=True),
    blob("x", byteSize=5),  # not the file's bytes as UTF-8
    blob("a\ufffdb"),  # bytes that are no UTF-8, replaced (REST refuses them)
    blob("../.valet.yml"),  # a symbolic link's blob: the path it points to
    {**blob("targets: []\n"), "text": "a\ud800\n"},  # a lone surrogate: no UTF-8 at all
    blob("targets: []\n", byteSize=True),  # a size that is no number
    blob("{targets: [{name: github}]}"),  # one line that is YAML: still perhaps a link
    {**blob("x"), "text": None},
    {"__typename": "Commit"},  # a submodule
    "text",
])
def test_a_configuration_graphql_cannot_give_as_rest_does_is_left_to_rest(config: Any) -> None:
    assert sdk_query.parse(repo(config=config)).config is None


def test_no_default_branch_is_said_and_a_nameless_one_is_left_to_rest() -> None:
    assert sdk_query.parse(repo(defaultBranchRef=None)).default_branch == Known(None)
    assert sdk_query.parse(repo(defaultBranchRef={"name": ""})).default_branch is None


def test_an_error_of_one_part_leaves_only_that_part_to_rest() -> None:
    answer = repo(config=None)
    answer["errors"] = [{"type": "SOMETHING", "path": ["repository", "config"],
                         "message": "could not resolve"}]
    got = sdk_query.parse(answer, tag="v1.2.3")
    assert got == sdk_query.Answer(Known("main"), None, Known(SHA))


@pytest.mark.parametrize("errors", [
    [{"message": "rate limited"}],  # names no part
    [{"message": "x", "path": ["repository"]}],
    [{"message": "x", "path": ["viewer", "login"]}],
    "boom",
])
def test_an_error_that_names_no_part_leaves_every_part_to_rest(errors: Any) -> None:
    answer = repo()
    answer["errors"] = errors
    assert sdk_query.parse(answer, tag="v1.2.3") == sdk_query.Answer()


@pytest.mark.parametrize("body", [
    None, [], {"errors": [{"message": "Bad credentials"}]}, {"data": None},
    {"data": {"repository": None},
     "errors": [{"type": "NOT_FOUND", "path": ["repository"], "message": "no"}]},
])
def test_an_answer_without_data_leaves_every_part_to_rest(body: Any) -> None:
    assert sdk_query.parse(body, tag="v1.2.3") == sdk_query.Answer()


def test_a_part_the_answer_left_out_is_left_to_rest() -> None:
    answer = repo()
    del answer["data"]["repository"]["config"]
    del answer["data"]["repository"]["defaultBranchRef"]
    del answer["data"]["repository"]["tag"]
    assert sdk_query.parse(answer, tag="v1.2.3") == sdk_query.Answer()
