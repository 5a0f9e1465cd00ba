"""``Ref.rules``: the rules of the active rulesets that apply to a branch, as GitHub's
GraphQL shows them (``RepositoryRule``: ``type`` an upper-case ``RepositoryRuleType``,
``parameters`` the ``RuleParameters`` member of that type, ``repositoryRuleset``).

The same rules ``GET /rules/branches/{b}`` lists (protection.rules_in_force: only
``active`` rulesets, never evaluate-mode or disabled ones); the parameters are the
stored REST ones under GraphQL's camelCase names, with the values GitHub fills in when
a ruleset is created without them. A parameter with neither is an error, never a
made-up value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLResolveInfo

from valet.sandbox import protection
from valet.sandbox.graphql.base import Ctx, Fail, Obj, connection, upper
from valet.sandbox.shapes import node_id
from valet.sandbox.state import Record

PARAMETERS = {  # REST rule type -> its RuleParameters member
    "update": "UpdateParameters", "pull_request": "PullRequestParameters",
    "required_status_checks": "RequiredStatusChecksParameters",
    "merge_queue": "MergeQueueParameters",
    "required_deployments": "RequiredDeploymentsParameters",
    "workflows": "WorkflowsParameters", "code_scanning": "CodeScanningParameters",
}
# What GitHub stores for a parameter a ruleset was created without.
DEFAULTS: dict[str, Any] = {
    "dismiss_stale_reviews_on_push": False, "require_code_owner_review": False,
    "require_last_push_approval": False, "required_review_thread_resolution": False,
    "required_approving_review_count": 0, "allowed_merge_methods": ["merge", "squash", "rebase"],
    "strict_required_status_checks_policy": False, "do_not_enforce_on_create": False,
    "update_allows_fetch_and_merge": False, "integration_id": None, "ref": None, "sha": None,
}
_ORDER = {"CREATED_AT": "created_at", "UPDATED_AT": "updated_at"}


def camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(w.title() for w in rest)


def _object(values: dict[str, Any], typename: str | None) -> Obj:
    """``values`` (REST names) under GraphQL's names; a field asked that neither the
    ruleset nor GitHub's defaults hold is an error."""
    out: Obj = {"__typename": typename} if typename else {}
    for key, value in {**DEFAULTS, **values}.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            value = [_object(v, None) for v in value]
        out[camel(key)] = value
    return out


def _parameters(rule: Record) -> Obj | None:
    typename = PARAMETERS.get(rule["type"])
    if typename is None:
        return None
    return _object(dict(rule.get("parameters") or {}), typename)


def ruleset_obj(rs: Record) -> Obj:
    return {"__typename": "RepositoryRuleset", "id": node_id("RepositoryRuleset", rs["id"]),
            "databaseId": rs["id"], "name": rs["name"],
            "enforcement": str(rs["enforcement"]).upper(),
            "target": upper(rs.get("target", "branch")),
            "createdAt": rs["created_at"], "updatedAt": rs["updated_at"]}


def ref_rules(c: Ctx, rec: Record, branch: str) -> Callable[..., Obj]:
    """The ``rules`` field of the Ref ``refs/heads/<branch>``."""
    def resolve(info: GraphQLResolveInfo, **args: Any) -> Obj:
        order = args.get("orderBy") or {"field": "UPDATED_AT", "direction": "DESC"}
        found = [(rs, i, rule) for rs in protection.active_rulesets(rec, branch)
                 for i, rule in enumerate(rs.get("rules", []))]
        if order["field"] == "TYPE":
            found.sort(key=lambda x: (x[2]["type"], x[0]["id"], x[1]))
        elif order["field"] in _ORDER:
            found.sort(key=lambda x: (x[0][_ORDER[order["field"]]], x[0]["id"], x[1]))
        else:
            raise Fail(f"unknown orderBy field {order['field']}")
        if order.get("direction") == "DESC":
            found.reverse()
        return connection(info, found, lambda x: {
            "__typename": "RepositoryRule",
            "id": node_id("RepositoryRule", f"{x[0]['id']}:{x[1]}"),
            "type": x[2]["type"].upper(), "parameters": _parameters(x[2]),
            "repositoryRuleset": ruleset_obj(x[0])}, args)
    return resolve
