"""The merge target's ruleset rules as GraphQL gives them, in the shape of the REST read.

``GET /repos/{o}/{r}/rules/branches/{b}`` ("Get rules for a branch") lists every rule
of every *active* ruleset that applies to the branch, repository- and organization-
level alike; evaluate-mode and disabled rulesets are left out, and Metadata: read is
enough. GitHub's schema describes ``Ref.rules`` the same way ("rules from active
Repository and Organization rulesets that apply to this ref"), so the SDK repository's
joint query (sdk_query) asks for it on ``refs/heads/<target>`` and this module turns
the answer into the list branch_rules reads from REST: ``type`` in REST's lower case,
``parameters`` under REST's key names, ``ruleset_id`` from the ruleset's
``databaseId`` (REST's ``ruleset_source*`` fields are not asked: nothing reads them).

Only an answer that says exactly what REST would is taken; anything else is None and
the REST read is made: another page of rules (``hasNextPage``), no ref (REST answers a
missing branch too, and branch_rules decides what that means), a rule whose ruleset
is hidden (no ``databaseId``: whether the App may bypass it could not be read), a type
REST does not list or parameters that are not that type's, a field missing or of
another kind. It does no I/O.
"""

from __future__ import annotations

from typing import Any

# GraphQL field -> REST key of each RuleParameters member, with the fields of the
# objects a list holds (StatusCheckConfiguration, WorkflowFileReference, CodeScanningTool).
Fields = tuple[tuple[str, str, tuple[tuple[str, str], ...] | None], ...]
_PATTERN: Fields = (("name", "name", None), ("negate", "negate", None),
                    ("operator", "operator", None), ("pattern", "pattern", None))
PARAMETERS: dict[str, Fields] = {
    "PullRequestParameters": (
        ("allowedMergeMethods", "allowed_merge_methods", None),
        ("dismissStaleReviewsOnPush", "dismiss_stale_reviews_on_push", None),
        ("requireCodeOwnerReview", "require_code_owner_review", None),
        ("requireLastPushApproval", "require_last_push_approval", None),
        ("requiredApprovingReviewCount", "required_approving_review_count", None),
        ("requiredReviewThreadResolution", "required_review_thread_resolution", None)),
    "RequiredStatusChecksParameters": (
        ("doNotEnforceOnCreate", "do_not_enforce_on_create", None),
        ("requiredStatusChecks", "required_status_checks",
         (("context", "context"), ("integrationId", "integration_id"))),
        ("strictRequiredStatusChecksPolicy", "strict_required_status_checks_policy", None)),
    "UpdateParameters": (("updateAllowsFetchAndMerge", "update_allows_fetch_and_merge", None),),
    "MergeQueueParameters": (
        ("checkResponseTimeoutMinutes", "check_response_timeout_minutes", None),
        ("groupingStrategy", "grouping_strategy", None),
        ("maxEntriesToBuild", "max_entries_to_build", None),
        ("maxEntriesToMerge", "max_entries_to_merge", None),
        ("mergeMethod", "merge_method", None),
        ("minEntriesToMerge", "min_entries_to_merge", None),
        ("minEntriesToMergeWaitMinutes", "min_entries_to_merge_wait_minutes", None)),
    "RequiredDeploymentsParameters": (
        ("requiredDeploymentEnvironments", "required_deployment_environments", None),),
    "WorkflowsParameters": (
        ("doNotEnforceOnCreate", "do_not_enforce_on_create", None),
        ("workflows", "workflows", (("path", "path"), ("ref", "ref"),
                                    ("repositoryId", "repository_id"), ("sha", "sha")))),
    "CodeScanningParameters": (
        ("codeScanningTools", "code_scanning_tools",
         (("alertsThreshold", "alerts_threshold"),
          ("securityAlertsThreshold", "security_alerts_threshold"), ("tool", "tool"))),),
    "BranchNamePatternParameters": _PATTERN,
    "TagNamePatternParameters": _PATTERN,
    "CommitMessagePatternParameters": _PATTERN,
    "CommitAuthorEmailPatternParameters": _PATTERN,
    "CommitterEmailPatternParameters": _PATTERN,
    "FilePathRestrictionParameters": (("restrictedFilePaths", "restricted_file_paths", None),),
    "FileExtensionRestrictionParameters": (
        ("restrictedFileExtensions", "restricted_file_extensions", None),),
    "MaxFilePathLengthParameters": (("maxFilePathLength", "max_file_path_length", None),),
    "MaxFileSizeParameters": (("maxFileSize", "max_file_size", None),),
}
# Each rule type REST lists for a branch, with the parameters it comes with (None: none,
# REST's rule has no ``parameters``). A type GraphQL has and REST does not (``LOCK_BRANCH``,
# ``MAX_REF_UPDATES``, ``AUTHORIZATION``...) is not known here: the REST read says.
RULE_TYPES: dict[str, frozenset[str | None]] = {
    "creation": frozenset({None}), "deletion": frozenset({None}),
    "non_fast_forward": frozenset({None}), "required_linear_history": frozenset({None}),
    "required_signatures": frozenset({None}),
    "update": frozenset({None, "UpdateParameters"}),
    "pull_request": frozenset({"PullRequestParameters"}),
    "required_status_checks": frozenset({"RequiredStatusChecksParameters"}),
    "merge_queue": frozenset({"MergeQueueParameters"}),
    "required_deployments": frozenset({"RequiredDeploymentsParameters"}),
    "workflows": frozenset({"WorkflowsParameters"}),
    "code_scanning": frozenset({"CodeScanningParameters"}),
    "branch_name_pattern": frozenset({"BranchNamePatternParameters"}),
    "tag_name_pattern": frozenset({"TagNamePatternParameters"}),
    "commit_message_pattern": frozenset({"CommitMessagePatternParameters"}),
    "commit_author_email_pattern": frozenset({"CommitAuthorEmailPatternParameters"}),
    "committer_email_pattern": frozenset({"CommitterEmailPatternParameters"}),
    "file_path_restriction": frozenset({"FilePathRestrictionParameters"}),
    "file_extension_restriction": frozenset({"FileExtensionRestrictionParameters"}),
    "max_file_path_length": frozenset({"MaxFilePathLengthParameters"}),
    "max_file_size": frozenset({"MaxFileSizeParameters"}),
}
# The nullable fields of the members; REST has no key for one that is not set.
_OPTIONAL = frozenset({"allowedMergeMethods", "name", "integrationId", "ref", "sha"})
PAGE = 100  # REST's page and GraphQL's most nodes: a longer list is read through REST


def _selection(fields: Fields) -> str:
    return " ".join(f"{gql} {{ {' '.join(g for g, _ in sub)} }}" if sub else gql
                    for gql, _, sub in fields)


def selection() -> str:
    """The fields of a ``Ref`` this module reads (a constant: values go in variables)."""
    members = " ".join(f"... on {name} {{ {_selection(fields)} }}"
                       for name, fields in PARAMETERS.items())
    return (f"prefix name rules(first: {PAGE}) {{ pageInfo {{ hasNextPage }} nodes {{ type"
            f" repositoryRuleset {{ databaseId }} parameters {{ __typename {members} }} }} }}")


class _Unsure(Exception):
    """The answer does not say for certain what REST would."""


def translate(ref: Any, branch: str) -> list[dict[str, Any]] | None:
    """REST's list of the rules of ``branch`` from ``ref`` (the answer's Ref, asked as
    ``refs/heads/<branch>``); None: not certain, read REST."""
    if not isinstance(ref, dict) or ref.get("prefix") != "refs/heads/" \
            or ref.get("name") != branch:
        return None
    conn = ref.get("rules")
    if not isinstance(conn, dict) or not isinstance(conn.get("pageInfo"), dict) \
            or conn["pageInfo"].get("hasNextPage") is not False \
            or not isinstance(conn.get("nodes"), list):
        return None
    try:
        return [_rule(node) for node in conn["nodes"]]
    except _Unsure:
        return None


def _rule(node: Any) -> dict[str, Any]:
    if not isinstance(node, dict) or not isinstance(node.get("type"), str):
        raise _Unsure
    kind = node["type"].lower()
    ruleset = node.get("repositoryRuleset")
    rid = ruleset.get("databaseId") if isinstance(ruleset, dict) else None
    if kind not in RULE_TYPES or node["type"] != kind.upper() or \
            not isinstance(rid, int) or isinstance(rid, bool):
        raise _Unsure
    params = node.get("parameters")
    typename = params.get("__typename") if isinstance(params, dict) else None
    if (params is not None and typename is None) or typename not in RULE_TYPES[kind]:
        raise _Unsure
    out: dict[str, Any] = {"type": kind, "ruleset_id": rid}
    if isinstance(params, dict) and typename is not None:
        out["parameters"] = _fields(params, PARAMETERS[typename])
    if kind == "pull_request":
        count = out["parameters"].get("required_approving_review_count")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise _Unsure  # the one parameter that makes a source of configuration
    return out


def _fields(obj: dict[str, Any], fields: Fields) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for gql, rest, sub in fields:
        if gql not in obj:
            raise _Unsure
        value = obj[gql]
        if value is None and gql in _OPTIONAL:
            continue  # REST leaves out what was never set
        if sub is not None:
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise _Unsure
            value = [_fields(v, tuple((g, r, None) for g, r in sub)) for v in value]
        out[rest] = value
    return out
