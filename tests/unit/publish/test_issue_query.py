"""The run's one GraphQL query of the publish repository: built against GitHub's schema,
its answer read part by part (issue_query)."""

from __future__ import annotations

from importlib import resources
from typing import Any

import graphql
import pytest

from valet import issue_query as iq
from valet.issue_query import REST

POLICY = "repos:\n  - repo: org/sdk\n    targets: [pypi]\n"


@pytest.fixture(scope="module")
def schema() -> graphql.GraphQLSchema:
    text = (resources.files("valet.sandbox") / "data" / "github-schema.graphql").read_text()
    built = graphql.build_schema(text, assume_valid_sdl=True)
    # GitHub's published schema deprecates some implementations of interface fields the
    # interface itself does not deprecate; graphql-core calls that invalid, GitHub serves
    # it. That is the only thing it finds: then queries are validated against it as is.
    found = graphql.validate_schema(built)
    assert found and all("must not be deprecated" in e.message for e in found)
    built._validation_errors = []  # type: ignore[attr-defined]
    return built


TEAMS = [("acme", "release"), ("acme", "ops"), ("other-org", "Leads")]


@pytest.mark.parametrize("teams", [0, 1, 3])
def test_the_query_validates_against_githubs_schema(schema, teams):
    query, variables = iq.build("org", "publish", 7, viewer=True,
                                policy_path="valet-publish.yml", teams=TEAMS[:teams],
                                login="alice", labels=["published"])
    doc = graphql.parse(query)
    assert graphql.validate(schema, doc) == []
    # every value is a variable: none of them is in the query text
    for value in ("org", "publish", "alice", "published", "acme", "release", "Leads",
                  "valet-publish.yml"):
        assert f'"{value}"' not in query and value not in query.replace("$", " ").split()
    assert variables["policyExpr"] == "HEAD:valet-publish.yml"  # the default branch only
    assert [variables[f"org{i}"] for i in range(teams)] == [o for o, _ in TEAMS[:teams]]
    assert [variables[f"slug{i}"] for i in range(teams)] == [s for _, s in TEAMS[:teams]]
    assert (f"t{teams}:" not in query) and all(f"t{i}: organization" in query
                                              for i in range(teams))
    # the variables the query declares are exactly those sent
    op = doc.definitions[0]
    assert isinstance(op, graphql.OperationDefinitionNode)
    assert {d.variable.name.value for d in op.variable_definitions or ()} == set(variables)


def test_without_extras_it_is_the_edits_query_of_today(schema):
    assert iq.build("o", "n", 1)[0] == iq.EDITS_QUERY
    assert iq.build("o", "n", 1, viewer=True)[0] == iq.VIEWER_EDITS_QUERY
    # teams without a known approver are not asked (the REST check reads them)
    query, variables = iq.build("o", "n", 1, teams=TEAMS)
    assert query == iq.EDITS_QUERY and "login" not in variables
    for q in (iq.EDITS_QUERY, iq.VIEWER_EDITS_QUERY, iq.VIEWER_QUERY):
        assert graphql.validate(schema, graphql.parse(q)) == []


def test_a_hostile_value_stays_a_value(schema):
    evil = 'x") { viewer { login } } #'
    query, variables = iq.build("o", "n", 1, policy_path=evil, teams=[(evil, evil)],
                                login=evil, labels=[evil])
    assert evil not in query and graphql.validate(schema, graphql.parse(query)) == []
    assert variables["login"] == evil and variables["label0"] == evil


# -- reading the answer ----------------------------------------------------------------


def blob(text: str | None, *, size: int | None = None, binary: bool | None = False,
         truncated: bool = False) -> dict[str, Any]:
    return {"__typename": "Blob", "text": text, "isBinary": binary, "isTruncated": truncated,
            "byteSize": len((text or "").encode()) if size is None else size}


def answer(repo: dict[str, Any] | None = None, errors: list[dict[str, Any]] | None = None,
           **top: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"data": {"viewer": {"login": "bot[bot]"}, "repository": repo, **top}}
    if errors:
        out["errors"] = errors
    return out


def err(*path: str, kind: str = "NOT_FOUND") -> dict[str, Any]:
    return {"type": kind, "path": list(path), "message": f"{kind} at {'.'.join(path)}"}


def test_the_policy_text_is_what_the_contents_api_decodes():
    assert iq.policy_of(answer({"policy": blob(POLICY)})) == POLICY
    accented = "repos:\n  - repo: org/sdk  # café\n"
    assert iq.policy_of(answer({"policy": blob(accented)})) == accented
    assert iq.policy_of(answer({"policy": None})) is None  # no such file: no policy


@pytest.mark.parametrize("policy", [
    blob(None, size=10, binary=True),             # binary: REST says "not UTF-8 text"
    blob(None, size=10, binary=None),             # GitHub could not tell
    blob(POLICY, truncated=True),                 # cut short: REST says why
    blob(POLICY, size=len(POLICY) + 1),           # not the bytes of the file (transcoded)
    blob("caf\ufffd\n", size=4),                  # undecodable bytes replaced
    blob("caf\ufffd\n"),                          # ... even when the sizes agree
    blob("other/valet-publish.yml"),              # a symbolic link's target: REST follows
    blob(""),                                     # empty: REST decides what that means
    {"__typename": "Tree"},                       # a directory: REST's answer decides
    {"__typename": "Blob", "text": POLICY},       # fields missing
    "nonsense",
])
def test_a_policy_blob_in_doubt_is_read_through_rest(policy):
    assert iq.policy_of(answer({"policy": policy})) is REST


def test_a_surrogate_in_the_text_is_in_doubt():
    assert iq.policy_of(answer({"policy": blob("a\ud800\n", size=3)})) is REST


def members(*logins: str) -> dict[str, Any]:
    return {"team": {"members": {"nodes": [{"login": x} for x in logins]}}}


def test_membership_is_an_exact_login_among_the_members():
    got = answer({}, t0=members("alice-bot", "Alice"), t1=members("alicia"),
                 t2={"team": None})
    assert iq.member_of(got, 0, "alice") is True  # logins compare without case
    # a prefix is not the login, and a list without it is no refusal: REST decides
    assert iq.member_of(got, 1, "alice") is REST
    # no such team, or one the token cannot see: REST tells the 404 from the 403
    assert iq.member_of(got, 2, "alice") is REST
    assert iq.member_of(got, 3, "alice") is REST  # not asked


def test_a_full_page_without_the_login_asks_rest():
    full = [f"alice{i}" for i in range(iq.MEMBERS_LIMIT)]
    assert iq.member_of(answer({}, t0=members(*full)), 0, "alice") is REST
    assert iq.member_of(answer({}, t0=members(*full, "alice")), 0, "alice") is True


@pytest.mark.parametrize("kind", ["NOT_FOUND", "FORBIDDEN"])
def test_an_error_on_one_team_asks_rest_for_that_team_only(kind):
    got = answer({"policy": blob(POLICY), "l0": {"id": "LA_1", "name": "published"}},
                 errors=[err("t1", kind=kind)], t0=members("alice"), t1=None)
    assert iq.member_of(got, 1, "alice") is REST
    assert iq.member_of(got, 0, "alice") is True
    assert iq.policy_of(got) == POLICY
    assert iq.label_of(got, 0, "published") == "LA_1"
    assert iq.error_at(got, "repository", "issue") is None
    assert iq.error_at(got, "t1") == f"{kind} at t1"


def test_an_error_inside_a_part_or_around_it_is_that_parts():
    got = answer(None, errors=[err("repository")], t0=members("alice"))
    assert iq.policy_of(got) is REST and iq.label_of(got, 0, "published") is REST
    assert iq.error_at(got, "repository", "issue") == "NOT_FOUND at repository"
    assert iq.member_of(got, 0, "alice") is True
    inner = answer({"policy": blob(POLICY), "issue": None},
                   errors=[err("repository", "issue")])
    assert iq.error_at(inner, "repository", "issue") is not None
    assert iq.policy_of(inner) == POLICY


def test_an_error_answer_without_data_settles_nothing():
    none = {"errors": [{"message": "Something went wrong"}]}
    assert iq.data_of(none) is None
    assert iq.policy_of(none) is REST and iq.member_of(none, 0, "alice") is REST
    assert iq.label_of(none, 0, "published") is REST
    # an error without a path touches every part, data or not
    pathless = answer({"policy": blob(POLICY)}, errors=[{"message": "rate limited"}])
    assert iq.policy_of(pathless) is REST
    assert iq.error_at(pathless, "repository", "issue") == "rate limited"
    bad: Any
    for bad in (None, [], "x", {"data": []}):
        assert iq.data_of(bad) is None and iq.policy_of(bad) is REST


def test_a_label_id_or_its_absence():
    got = answer({"l0": {"id": "LA_9", "name": "Published"}, "l1": None,
                  "l2": {"id": "LA_3", "name": "other"}, "l3": {"name": "x"}})
    assert iq.label_of(got, 0, "published") == "LA_9"
    assert iq.label_of(got, 1, "failed") is None  # no such label
    assert iq.label_of(got, 2, "published") is REST  # not the label asked for
    assert iq.label_of(got, 3, "x") is REST
    assert iq.label_of(got, 4, "x") is REST  # not asked


# -- the issue itself ---------------------------------------------------------------------


def gql_issue(**over: Any) -> dict[str, Any]:
    issue: dict[str, Any] = {
        "id": "I_7", "number": 7, "title": "publish: org/sdk@1.2.0", "body": "the body",
        "state": "OPEN", "stateReason": None, "createdAt": "2030-01-01T00:00:10Z",
        "author": {"__typename": "Bot", "login": "request-app"},
        "labels": {"pageInfo": {"hasNextPage": False},
                   "nodes": [{"id": "LA_acc", "name": "accepted"},
                             {"id": "LA_dry", "name": "dry-run"}]}}
    issue.update(over)
    return issue


def answer_with(issue: Any, errors: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"data": {"viewer": {"login": "publish-app[bot]"},
                                    "repository": {"issue": issue}}}
    if errors is not None:
        out["errors"] = errors
    return out


def test_the_issue_is_asked_in_the_same_query_with_its_number_a_variable(schema):
    query, variables = iq.build("org", "publish", 7, viewer=True, issue=True,
                                policy_path="valet-publish.yml", labels=["published"])
    assert graphql.validate(schema, graphql.parse(query)) == []
    assert variables["number"] == 7 and "7" not in query.split()
    assert f"labels(first: {iq.LABELS_LIMIT})" in query and "createdAt" in query
    # the issue's fields are asked only when asked for
    assert "createdAt" not in iq.build("org", "publish", 7, viewer=True)[0]


def test_a_bot_authored_open_issue_reads_as_rest_answers_it():
    got = iq.issue_of(answer_with(gql_issue()), 7)
    assert got == {
        "number": 7, "title": "publish: org/sdk@1.2.0", "body": "the body",
        "state": "open", "state_reason": None, "created_at": "2030-01-01T00:00:10Z",
        "node_id": "I_7", "user": {"login": "request-app[bot]", "type": "Bot"},
        "labels": [{"name": "accepted", "node_id": "LA_acc"},
                   {"name": "dry-run", "node_id": "LA_dry"}]}


def test_a_person_whose_login_is_an_apps_slug_stays_that_person():
    # GraphQL names the App's bot "request-app" too: only __typename tells them apart
    got = iq.issue_of(answer_with(gql_issue(author={"__typename": "User",
                                                    "login": "request-app"})), 7)
    assert got is not REST and got["user"] == {"login": "request-app", "type": "User"}


def test_a_closed_issue_has_its_reason_in_lower_case():
    got = iq.issue_of(answer_with(gql_issue(state="CLOSED", stateReason="NOT_PLANNED",
                                            labels={"pageInfo": {"hasNextPage": False},
                                                    "nodes": []})), 7)
    assert got is not REST
    assert (got["state"], got["state_reason"], got["labels"]) == ("closed", "not_planned", [])


@pytest.mark.parametrize("issue", [
    gql_issue(labels={"pageInfo": {"hasNextPage": True},
                      "nodes": [{"id": f"LA_{i}", "name": f"l{i}"} for i in range(100)]}),
    gql_issue(author=None),  # a deleted account: REST's answer decides what it says
    gql_issue(author={"__typename": "Mannequin", "login": "imported"}),
    gql_issue(author={"__typename": "User", "login": "not[bot]"}),
    gql_issue(author={"__typename": "Bot", "login": ""}),
    gql_issue(number=8),
    gql_issue(state="MERGED"),
    gql_issue(id=""),
    gql_issue(body=None),
    gql_issue(createdAt=None),
    gql_issue(labels={"pageInfo": {"hasNextPage": False}, "nodes": [{"name": "x"}]}),
    gql_issue(labels=None),
    {k: v for k, v in gql_issue().items() if k != "stateReason"},
    None,  # a pull request's number: GraphQL's issue(number:) does not answer it
    "not an object",
])
def test_an_issue_in_doubt_is_read_through_rest(issue):
    assert iq.issue_of(answer_with(issue), 7) is REST


def test_an_error_at_the_issue_or_inside_it_or_around_it_reads_rest():
    for path in (["repository", "issue"], ["repository", "issue", "labels"],
                 ["repository"], None):
        err = {"message": "boom", **({"path": path} if path else {})}
        assert iq.issue_of(answer_with(gql_issue(), [err]), 7) is REST
    # another part's error is that part's alone
    other = [{"message": "SAML", "path": ["t0"]}]
    assert iq.issue_of(answer_with(gql_issue(), other), 7) is not REST
    assert iq.issue_of({"errors": [{"message": "Something went wrong"}]}, 7) is REST
    assert iq.issue_of(None, 7) is REST
