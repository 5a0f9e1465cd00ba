"""SdkAPI.warm asks the SDK repository's default branch, its configuration on the merge
target and the release's tag in one GraphQL request (publish_api.SdkJoint), and each
check takes its part from it once: one POST instead of three GETs, and every part
GitHub did not answer is read through REST as before."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import pytest

from valet import branch_rules, sdk_query
from valet.errors import GitHubError
from valet.publish_api import NotFound, SdkAPI
from valet.releases import ReleaseIndex

REPO = "org/sdk"
SHA = "a" * 40
CONFIG = "targets:\n  - name: github\n"
REVIEWED = {"required_pull_request_reviews": {"required_approving_review_count": 1}}
GRAPHQL = "POST /graphql"


def _key(path: str, params: dict[str, Any] | None) -> str:
    query = "&".join(f"{k}={v}" for k, v in sorted((params or {}).items()))
    return f"GET {path}" + (f"?{query}" if query else "")


class StubRest:
    """Rest's reading surface, answering at once (a read ahead is done when started, so
    what it starts next runs before warm returns); ``asked``: every request sent."""

    def __init__(self, routes: dict[str, Any], graphql: Any) -> None:
        self.routes = routes
        self.graphql_answer = graphql
        self.asked: list[str] = []
        self.graphql_asks: list[tuple[str, dict[str, Any]]] = []
        self._ahead: dict[str, Future[Any]] = {}
        self._held: dict[str, Any] = {}

    def _answer(self, key: str) -> Any:
        self.asked.append(key)
        found = self.routes.get(key, NotFound(f"{key}: HTTP 404 Not Found"))
        if isinstance(found, Exception):
            raise found
        return found

    def _done(self, fn: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(({}, fn()))
        except Exception as exc:  # noqa: BLE001 - the reader raises it
            future.set_exception(exc)
        return future

    def prefetch(self, path: str, params: dict[str, Any] | None = None) -> Future[Any]:
        key = _key(path, params)
        if key not in self._ahead:
            self._ahead[key] = self._done(lambda: self._answer(key))
        return self._ahead[key]

    def prefetch_pages(self, path: str, params: dict[str, Any] | None = None) -> Future[Any]:
        return self.prefetch(path, {"per_page": 100, **(params or {})})

    def prefetch_graphql(self, query: str, variables: dict[str, Any]) -> Future[Any]:
        self.graphql_asks.append((query, variables))
        return self._done(self._graphql)

    def _graphql(self) -> Any:
        self.asked.append(GRAPHQL)
        if isinstance(self.graphql_answer, Exception):
            raise self.graphql_answer
        return self.graphql_answer

    def get(self, path: str, params: dict[str, Any] | None = None, doing: str = "") -> Any:
        key = _key(path, params)
        ahead = self._ahead.pop(key, None)
        if ahead is not None:
            return ahead.result()[1]
        return self._answer(key)

    def items(self, path: str, params: dict[str, Any] | None = None) -> Any:
        data = self.get(path, {"per_page": 100, **(params or {})})
        return iter(data if isinstance(data, list) else [])

    def hold(self, key: str, value: Any) -> None:
        self._held[key] = value

    def held(self, key: str) -> Any:
        return self._held.get(key)


def answer(**parts: Any) -> dict[str, Any]:
    repo: dict[str, Any] = {
        "defaultBranchRef": {"name": "main"},
        "config": {"__typename": "Blob", "text": CONFIG, "isBinary": False,
                   "isTruncated": False, "byteSize": len(CONFIG.encode())},
        "tag": {"name": "v1.2.3", "target": {"__typename": "Commit", "oid": SHA}}}
    repo.update(parts)
    return {"data": {"repository": repo}}


def routes(protection: Any = REVIEWED) -> dict[str, Any]:
    return {
        _key(f"/repos/{REPO}/branches/main/protection", None): protection,
        _key(f"/repos/{REPO}/rules/branches/main", {"per_page": 100}): [],
        _key(f"/repos/{REPO}", None): {"default_branch": "main"},
        _key(f"/repos/{REPO}/contents/.valet.yml", {"ref": "main"}): {
            "type": "file", "encoding": "base64", "content": "dGFyZ2V0czogW10K"},  # targets: []
        _key(f"/repos/{REPO}/git/ref/tags/v1.2.3", None): {
            "object": {"type": "commit", "sha": "f" * 40}},
    }


REPO_GET = _key(f"/repos/{REPO}", None)
CONTENTS_GET = _key(f"/repos/{REPO}/contents/.valet.yml", {"ref": "main"})
TAG_GET = _key(f"/repos/{REPO}/git/ref/tags/v1.2.3", None)
PLAIN = {REPO_GET, CONTENTS_GET, TAG_GET}


def warmed(graphql: Any, *, merge_target: str | None = "main", tag: str | None = "v1.2.3",
           protection: Any = REVIEWED) -> StubRest:
    rest = StubRest(routes(protection), graphql)
    SdkAPI(rest, REPO).warm(sha=None, run_id=None, merge_target=merge_target,  # type: ignore[arg-type]
                            config_path=".valet.yml", tag=tag)
    return rest


def checks(rest: StubRest) -> tuple[str, str | None, str | None]:
    """What the checks read, each through an SdkAPI of its own (deps.sdk makes one per
    call) and the run's ReleaseIndex, as publish does after warm."""
    branch = SdkAPI(rest, REPO).default_branch()  # type: ignore[arg-type]
    config = SdkAPI(rest, REPO).file(".valet.yml", "main")  # type: ignore[arg-type]
    index = ReleaseIndex(rest, REPO)
    index.warm_tag("v1.2.3")
    return branch, config, index.tag_commit("v1.2.3")


def test_one_post_replaces_the_three_gets() -> None:
    rest = warmed(answer())
    assert rest.asked.count(GRAPHQL) == 1 and not PLAIN & set(rest.asked)
    assert checks(rest) == ("main", CONFIG, SHA)
    assert rest.asked.count(GRAPHQL) == 1 and not PLAIN & set(rest.asked), rest.asked
    query, variables = rest.graphql_asks[0]
    assert query == sdk_query.query(tag=True, target=True)
    assert variables == {"owner": "org", "name": "sdk", "configExpr": "refs/heads/main:.valet.yml",
                         "tagRef": "refs/tags/v1.2.3", "branchRef": "refs/heads/main"}


def test_each_part_answers_once_then_github_is_asked_again() -> None:
    rest = warmed(answer())
    assert checks(rest) == ("main", CONFIG, SHA)
    sdk, index = SdkAPI(rest, REPO), ReleaseIndex(rest, REPO)  # type: ignore[arg-type]
    assert sdk.default_branch() == "main"
    assert sdk.file(".valet.yml", "main") == "targets: []\n"
    index.forget_tag("v1.2.3")  # as after the tag's POST answered 422
    assert index.tag_commit("v1.2.3") == "f" * 40
    assert PLAIN <= set(rest.asked)


def test_an_annotated_tag_gives_the_commit_it_tags() -> None:
    tag = {"name": "v1.2.3", "target": {"__typename": "Tag", "oid": "b" * 40,
                                        "target": {"__typename": "Commit", "oid": SHA}}}
    rest = warmed(answer(tag=tag))
    assert checks(rest)[2] == SHA and TAG_GET not in rest.asked


def test_no_ref_is_no_tag_and_no_file_no_configuration() -> None:
    rest = warmed(answer(tag=None, config=None))
    assert checks(rest) == ("main", None, None)
    assert not PLAIN & set(rest.asked)


def test_no_default_branch_is_the_same_error_as_rests() -> None:
    rest = warmed(answer(defaultBranchRef=None))
    with pytest.raises(GitHubError, match="org/sdk reports no default branch"):
        SdkAPI(rest, REPO).default_branch()  # type: ignore[arg-type]


def test_a_part_answered_with_an_error_is_read_through_rest_alone() -> None:
    body = answer(config=None)
    body["errors"] = [{"path": ["repository", "config"], "message": "something went wrong"}]
    rest = warmed(body)
    # the protection rule makes main a source of configuration: its REST read starts ahead
    assert CONTENTS_GET in rest.asked and not {REPO_GET, TAG_GET} & set(rest.asked)
    assert checks(rest) == ("main", "targets: []\n", SHA)
    assert rest.asked.count(CONTENTS_GET) == 1 and not {REPO_GET, TAG_GET} & set(rest.asked)


def test_a_binary_configuration_is_read_through_rest() -> None:
    rest = warmed(answer(config={"__typename": "Blob", "text": None, "isBinary": True,
                                 "isTruncated": False, "byteSize": 3}))
    assert checks(rest)[1] == "targets: []\n" and rest.asked.count(CONTENTS_GET) == 1


@pytest.mark.parametrize("graphql", [
    {"errors": [{"message": "Bad credentials"}]},
    {"data": None},
    GitHubError("GraphQL query failed: HTTP 502"),
])
def test_an_answer_without_data_sends_every_check_to_rest(graphql: Any) -> None:
    rest = warmed(graphql)
    assert checks(rest) == ("main", "targets: []\n", "f" * 40)
    assert all(rest.asked.count(k) == 1 for k in PLAIN), rest.asked


def test_a_branch_refused_as_a_source_of_configuration_gets_no_rest_read() -> None:
    """The joint query reads the configuration ahead; using it is the check's, after
    branch_rules (a refused branch's config_and_plan never runs)."""
    body = answer()
    body["errors"] = [{"path": ["repository", "config"], "message": "x"}]
    rest = warmed(body, protection=NotFound("Branch not protected"))
    assert CONTENTS_GET not in rest.asked


def test_a_tag_of_another_name_than_guessed_is_read_through_rest() -> None:
    rest = warmed(answer(), tag="1.2.3")  # the configuration's tag_prefix is "v"
    assert checks(rest)[2] == "f" * 40 and rest.asked.count(TAG_GET) == 1


def test_without_a_merge_target_head_is_read_for_the_default_branch_only() -> None:
    rest = warmed(answer(), merge_target=None)
    assert rest.graphql_asks[0][1]["configExpr"] == "HEAD:.valet.yml"
    # the default branch's rules are read once the answer names it
    assert _key(f"/repos/{REPO}/branches/main/protection", None) in rest.asked
    assert checks(rest) == ("main", CONFIG, SHA)
    assert not PLAIN & set(rest.asked) and rest.asked.count(GRAPHQL) == 1
    other = warmed(answer(), merge_target=None)
    # HEAD's file is not another branch's: that one is read through REST
    assert SdkAPI(other, REPO).file(".valet.yml", "stable") is None  # type: ignore[arg-type]
    assert _key(f"/repos/{REPO}/contents/.valet.yml", {"ref": "stable"}) in other.asked


def test_another_path_or_branch_than_asked_is_read_through_rest() -> None:
    rest = warmed(answer())
    sdk = SdkAPI(rest, REPO)  # type: ignore[arg-type]
    assert sdk.file(".craft.yml", "main") is None
    assert sdk.file(".valet.yml", "stable") is None
    assert {_key(f"/repos/{REPO}/contents/.craft.yml", {"ref": "main"}),
            _key(f"/repos/{REPO}/contents/.valet.yml", {"ref": "stable"})} <= set(rest.asked)
    assert sdk.file(".valet.yml", "main") == CONFIG  # still unused: the joint answers it


def test_a_rest_without_the_joint_reads_as_before() -> None:
    class Plain(StubRest):
        hold = None  # type: ignore[assignment]

    rest = Plain(routes(), answer())
    SdkAPI(rest, REPO).warm(sha=None, run_id=None, merge_target="main",  # type: ignore[arg-type]
                            config_path=".valet.yml", tag="v1.2.3")
    assert GRAPHQL not in rest.asked and {REPO_GET, CONTENTS_GET} <= set(rest.asked)


# -- the merge target's rules (rules_query) -------------------------------------------

RULES_GET = _key(f"/repos/{REPO}/rules/branches/main", {"per_page": 100})
RULESET_GET = _key(f"/repos/{REPO}/rulesets/5", None)
NOT_PROTECTED = NotFound("Branch not protected")


def pr_rule(approvals: int, *, more: bool = False, rid: Any = 5) -> dict[str, Any]:
    params = {"__typename": "PullRequestParameters", "allowedMergeMethods": ["merge"],
              "dismissStaleReviewsOnPush": False, "requireCodeOwnerReview": False,
              "requireLastPushApproval": False, "requiredApprovingReviewCount": approvals,
              "requiredReviewThreadResolution": False}
    return {"prefix": "refs/heads/", "name": "main", "rules": {
        "pageInfo": {"hasNextPage": more}, "nodes": [
            {"type": "DELETION", "repositoryRuleset": {"databaseId": 5}, "parameters": None},
            {"type": "PULL_REQUEST", "repositoryRuleset": None if rid is None else
             {"databaseId": rid}, "parameters": params}]}}


def config_failed(**parts: Any) -> dict[str, Any]:
    """An answer whose configuration part failed: whether the warm-up starts the REST
    read of the configuration shows whether the rules made main a source of it."""
    body = answer(**parts)
    body["errors"] = [{"path": ["repository", "config"], "message": "x"}]
    return body


def rules_warmed(graphql: Any) -> StubRest:
    rest = StubRest({**routes(NOT_PROTECTED), RULESET_GET: {"current_user_can_bypass": "never"},
                     RULES_GET: [{"type": "pull_request", "ruleset_id": 5,
                                  "parameters": {"required_approving_review_count": 2}}]},
                    graphql)
    SdkAPI(rest, REPO).warm(sha=None, run_id=None, merge_target="main",  # type: ignore[arg-type]
                            config_path=".valet.yml", tag="v1.2.3")
    return rest


def test_the_rules_come_with_the_query_and_their_follow_ups_start_from_it() -> None:
    rest = rules_warmed(config_failed(rules=pr_rule(1)))
    query, variables = rest.graphql_asks[0]
    assert query == sdk_query.query(tag=True, target=True)
    assert variables["branchRef"] == "refs/heads/main"
    # no REST read of the rules; the ruleset's (its bypass) and the configuration's
    # (a reviewed pull request is required) start from the GraphQL answer
    assert RULES_GET not in rest.asked and RULESET_GET in rest.asked
    assert CONTENTS_GET in rest.asked
    got = branch_rules.read(SdkAPI(rest, REPO), "main")  # type: ignore[arg-type]
    assert got is not None and got.bypass == {5: "never"}
    assert [(r.type, r.ruleset_id) for r in got.rules] == [("deletion", 5), ("pull_request", 5)]
    assert got.rules[1].parameters["required_approving_review_count"] == 1
    assert branch_rules.config_refusal(got) is None
    assert RULES_GET not in rest.asked and rest.asked.count(RULESET_GET) == 1
    # taken once: a second reader asks GitHub
    assert SdkAPI(rest, REPO).branch_rules("main")[0]["type"] == "pull_request"  # type: ignore[arg-type]
    assert rest.asked.count(RULES_GET) == 1


def test_a_pull_request_rule_without_an_approval_starts_no_configuration_read() -> None:
    rest = rules_warmed(config_failed(rules=pr_rule(0)))
    assert RULES_GET not in rest.asked and CONTENTS_GET not in rest.asked
    got = branch_rules.read(SdkAPI(rest, REPO), "main")  # type: ignore[arg-type]
    assert got is not None and "no approving review" in (branch_rules.config_refusal(got) or "")


@pytest.mark.parametrize("rules", [pr_rule(1, more=True), pr_rule(1, rid=None), None])
def test_rules_graphql_is_not_sure_of_are_read_through_rest(rules: Any) -> None:
    rest = rules_warmed(config_failed(rules=rules))
    assert rest.asked.count(RULES_GET) == 1  # read ahead, from the REST answer on
    got = branch_rules.read(SdkAPI(rest, REPO), "main")  # type: ignore[arg-type]
    assert got is not None and got.rules[0].parameters["required_approving_review_count"] == 2
    assert rest.asked.count(RULES_GET) == 1 and CONTENTS_GET in rest.asked


def test_an_error_on_the_rules_sends_them_to_rest() -> None:
    body = answer(rules=pr_rule(1))
    body["errors"] = [{"path": ["repository", "rules", "rules"], "message": "x"}]
    rest = rules_warmed(body)
    assert rest.asked.count(RULES_GET) == 1


def test_without_a_merge_target_the_default_branchs_rules_come_with_its_name() -> None:
    rest = StubRest({**routes(NOT_PROTECTED), RULESET_GET: {"current_user_can_bypass": "never"}},
                    config_failed(defaultBranchRef=pr_rule(1)))
    SdkAPI(rest, REPO).warm(sha=None, run_id=None, merge_target=None,  # type: ignore[arg-type]
                            config_path=".valet.yml", tag=None)
    query, variables = rest.graphql_asks[0]
    assert query == sdk_query.query(tag=False, target=False) and "branchRef" not in variables
    assert RULES_GET not in rest.asked and RULESET_GET in rest.asked
    got = branch_rules.read(SdkAPI(rest, REPO), "main")  # type: ignore[arg-type]
    assert got is not None and branch_rules.config_refusal(got) is None
    assert RULES_GET not in rest.asked
    # another branch than the one the answer names: its rules are REST's
    with pytest.raises(NotFound):
        SdkAPI(rest, REPO).branch_rules("stable")  # type: ignore[arg-type]
    assert _key(f"/repos/{REPO}/rules/branches/stable", {"per_page": 100}) in rest.asked


def test_without_a_merge_target_an_unnamed_default_branch_sends_the_rules_to_rest() -> None:
    rest = warmed(config_failed(defaultBranchRef={**pr_rule(1), "name": ""}), merge_target=None)
    assert RULES_GET in rest.asked  # the default branch came from REST, then its rules
