"""The merge target's rules from the SDK repository's joint query (valet.rules_query,
sdk_query's ``rules`` part): the query is valid against GitHub's schema, an answer is
turned into exactly the list ``GET /rules/branches/{b}`` gives, and anything not
certain is left to that REST read."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.unit.publish.test_sdk_query import problems, schema
from valet import branch_rules, rules_query, sdk_query
from valet.sdk_query import Known

PR = {"__typename": "PullRequestParameters", "allowedMergeMethods": ["merge", "squash"],
      "dismissStaleReviewsOnPush": False, "requireCodeOwnerReview": True,
      "requireLastPushApproval": False, "requiredApprovingReviewCount": 1,
      "requiredReviewThreadResolution": False}
CHECKS = {"__typename": "RequiredStatusChecksParameters", "doNotEnforceOnCreate": True,
          "requiredStatusChecks": [{"context": "ci", "integrationId": 7},
                                   {"context": "lint", "integrationId": None}],
          "strictRequiredStatusChecksPolicy": False}


def node(kind: str, params: Any = None, rid: Any = 5) -> dict[str, Any]:
    return {"type": kind, "repositoryRuleset": None if rid is None else {"databaseId": rid},
            "parameters": params}


def ref(*nodes: Any, more: bool = False, name: str = "main") -> dict[str, Any]:
    return {"prefix": "refs/heads/", "name": name,
            "rules": {"pageInfo": {"hasNextPage": more}, "nodes": list(nodes)}}


def body(rules: Any, errors: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"data": {"repository": {"defaultBranchRef": {"name": "main"},
                                                   "config": None, "rules": rules}}}
    if errors is not None:
        out["errors"] = errors
    return out


def test_the_query_with_the_rules_is_valid_against_githubs_schema() -> None:
    for tag in (None, "v1.2.3"):
        variables = sdk_query.variables("org/sdk", merge_target="main",
                                        config_path=".valet.yml", tag=tag)
        assert variables["branchRef"] == "refs/heads/main"
        assert problems(sdk_query.query(tag=tag is not None, target=True), variables) == []


def test_the_branch_is_a_variable_and_asked_by_its_full_name() -> None:
    variables = sdk_query.variables("org/sdk", merge_target='x" } y', config_path="c", tag=None)
    assert variables["branchRef"] == 'refs/heads/x" } y'
    assert 'x"' not in sdk_query.query(tag=False, target=True)
    assert "branchRef" not in sdk_query.variables("org/sdk", merge_target=None,
                                                  config_path="c", tag=None)


def test_every_parameters_member_is_asked_and_only_githubs_fields() -> None:
    members = set(rules_query.PARAMETERS)
    union = {t.name for t in schema().get_type("RuleParameters").types}  # type: ignore[union-attr]
    assert members == union
    for kinds in rules_query.RULE_TYPES.values():
        assert kinds <= members | {None}


def test_rules_are_read_as_rest_lists_them() -> None:
    got = rules_query.translate(ref(node("DELETION"), node("PULL_REQUEST", PR),
                                    node("REQUIRED_STATUS_CHECKS", CHECKS, rid=9)), "main")
    assert got == [
        {"type": "deletion", "ruleset_id": 5},
        {"type": "pull_request", "ruleset_id": 5, "parameters": {
            "allowed_merge_methods": ["merge", "squash"], "dismiss_stale_reviews_on_push": False,
            "require_code_owner_review": True, "require_last_push_approval": False,
            "required_approving_review_count": 1, "required_review_thread_resolution": False}},
        {"type": "required_status_checks", "ruleset_id": 9, "parameters": {
            "do_not_enforce_on_create": True,
            "required_status_checks": [{"context": "ci", "integration_id": 7},
                                       {"context": "lint"}],
            "strict_required_status_checks_policy": False}}]
    assert rules_query.translate(ref(), "main") == []  # no active ruleset: REST's []


def test_an_answer_names_the_parts_rules() -> None:
    got = sdk_query.parse(body(ref(node("PULL_REQUEST", PR))), branch="main")
    assert got.rules == Known(rules_query.translate(ref(node("PULL_REQUEST", PR)), "main"))
    assert got.rules.value[0]["parameters"]["required_approving_review_count"] == 1
    assert sdk_query.parse(body(ref()), branch=None).rules is None  # not asked


@pytest.mark.parametrize("rules", [
    ref(node("DELETION"), more=True),  # another page
    None,  # no such branch: REST answers it (and branch_rules decides)
    ref(node("DELETION"), name="other"),
    {**ref(node("DELETION")), "prefix": "refs/tags/"},
    ref(node("DELETION", rid=None)),  # the ruleset is hidden: its bypass cannot be read
    ref(node("DELETION", rid="5")),
    ref(node("DELETION", rid=True)),
    ref(node("LOCK_BRANCH")),  # a type REST does not list
    ref(node("MAX_REF_UPDATES")),
    ref(node("deletion")),  # not GitHub's enum value
    ref(node("PULL_REQUEST")),  # a pull_request rule without its parameters
    ref(node("PULL_REQUEST", CHECKS)),  # another type's parameters
    ref(node("DELETION", PR)),
    ref(node("PULL_REQUEST", {"requiredApprovingReviewCount": 1})),  # no __typename
    ref(node("PULL_REQUEST", {**PR, "requiredApprovingReviewCount": None})),
    ref(node("PULL_REQUEST", {**PR, "requiredApprovingReviewCount": "2"})),
    ref(node("PULL_REQUEST", {**PR, "requiredApprovingReviewCount": True})),
    ref(node("PULL_REQUEST", {k: v for k, v in PR.items() if k != "requireCodeOwnerReview"})),
    ref(node("REQUIRED_STATUS_CHECKS", {**CHECKS, "requiredStatusChecks": None})),
    ref(node("REQUIRED_STATUS_CHECKS", {**CHECKS, "requiredStatusChecks": [{"context": "ci"}]})),
    ref(node("PULL_REQUEST", {"__typename": "SomethingNew"})),
    ref("rule"),
    {**ref(), "rules": None},
    {"prefix": "refs/heads/", "name": "main", "rules": {"nodes": []}},
    "main",
])
def test_an_answer_not_certain_is_left_to_rest(rules: Any) -> None:
    assert rules_query.translate(copy.deepcopy(rules), "main") is None
    assert sdk_query.parse(body(rules), branch="main").rules is None


def test_without_a_named_target_the_rules_are_the_default_branchs() -> None:
    repo = {"defaultBranchRef": ref(node("PULL_REQUEST", PR)), "config": None}
    got = sdk_query.parse({"data": {"repository": repo}})
    assert got.default_branch == Known("main") and got.rules is not None
    assert got.rules.value[0]["parameters"]["required_approving_review_count"] == 1
    failed = {"data": {"repository": repo},
              "errors": [{"path": ["repository", "defaultBranchRef", "rules"], "message": "x"}]}
    assert sdk_query.parse(failed).rules is None
    for tag in (None, "v1"):
        variables = sdk_query.variables("org/sdk", merge_target=None, config_path="c", tag=tag)
        assert problems(sdk_query.query(tag=tag is not None), variables) == []


def test_an_error_on_the_rules_leaves_them_to_rest_and_the_rest_is_taken() -> None:
    errors = [{"path": ["repository", "rules", "rules", "nodes", 0, "repositoryRuleset"],
               "message": "Resource not accessible by integration", "type": "FORBIDDEN"}]
    got = sdk_query.parse(body(ref(node("DELETION", rid=None)), errors), branch="main")
    assert got.rules is None and got.default_branch == Known("main")


def rules_of(got: list[dict[str, Any]]) -> branch_rules.BranchRules:
    rules = [branch_rules.Rule(r["type"], dict(r.get("parameters") or {}), r["ruleset_id"])
             for r in got]
    return branch_rules.BranchRules("main", bool(rules), rules)


def test_a_pull_request_rule_without_an_approval_makes_no_source_of_configuration() -> None:
    got = rules_query.translate(ref(node("PULL_REQUEST", {**PR, "requiredApprovingReviewCount":
                                                          0})), "main")
    assert got is not None
    assert "no approving review" in (branch_rules.config_refusal(rules_of(got)) or "")
    reviewed = rules_query.translate(ref(node("PULL_REQUEST", PR)), "main")
    assert reviewed is not None and branch_rules.config_refusal(rules_of(reviewed)) is None
