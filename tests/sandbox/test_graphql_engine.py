"""POST /api/graphql answers real GraphQL, validated against GitHub's own schema."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.sandbox.helpers import clone, git
from valet.sandbox.graphql.schema import SDL_PATH

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[2]


def ask(sandbox, token, query, **variables):
    headers = {"Authorization": f"bearer {token}"} if token else {}
    resp = requests.post(sandbox.graphql_url, json={"query": query, "variables": variables},
                         headers=headers, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()


def rest(sandbox, token, method, path, **kw):
    resp = requests.request(method, f"{sandbox.api_url}{path}", timeout=30,
                            headers={"Authorization": f"token {token}"}, **kw)
    assert resp.status_code < 300, resp.text
    return resp.json() if resp.content else None


ISSUE = """query($owner: String!, $name: String!, $number: Int!) {
  repository(owner: $owner, name: $name) { issue(number: $number) {
    id number title body state
    labels(first: 10) { nodes { id name } }
    userContentEdits(first: 10) { totalCount nodes { editedAt editor { login } diff } } } } }"""


# -- the schema and the queries valet sends -----------------------------------------


def test_the_vendored_schema_is_the_published_one():
    published = ROOT / "tools/node/node_modules/@octokit/graphql-schema/schema.graphql"
    if not published.exists():
        pytest.skip("tools/node/node_modules is not installed (make setup)")
    assert SDL_PATH.read_bytes() == published.read_bytes()


def _query_constants() -> list[tuple[str, str]]:
    """Every module-level ``*_QUERY``/``*_MUTATION`` string of valet (not the sandbox)."""
    found = []
    for path in sorted((ROOT / "src/valet").rglob("*.py")):
        if "sandbox" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        names = [t.id for node in tree.body if isinstance(node, ast.Assign)
                 for t in node.targets if isinstance(t, ast.Name)
                 and t.id.endswith(("_QUERY", "_MUTATION"))]
        if names:
            module = importlib.import_module(
                ".".join(path.relative_to(ROOT / "src").with_suffix("").parts))
            found += [(f"{module.__name__}.{n}", getattr(module, n)) for n in names
                      if isinstance(getattr(module, n), str)]
    return found


def test_every_query_valet_sends_validates_against_githubs_schema():
    from graphql import parse, validate

    from valet.sandbox.graphql.schema import schema

    queries = _query_constants()
    assert {"valet.issue_query.EDITS_QUERY", "valet.issue_query.VIEWER_QUERY",
            "valet.issue_query.VIEWER_EDITS_QUERY"} <= {n for n, _ in queries}
    for name, text in queries:
        assert validate(schema(), parse(text)) == [], name


def test_a_process_that_sends_no_graphql_never_loads_it(tmp_path):
    code = ("import sys; from pathlib import Path; from valet.sandbox.app import App; "
            f"App(Path({str(tmp_path)!r}), persist=False); "
            "assert 'graphql' not in sys.modules, 'graphql-core was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# -- validation and strictness ----------------------------------------------------


def test_viewer_is_the_token_and_an_app_token_is_its_bot(sandbox, sandbox_user_factory):
    user = sandbox_user_factory("viewer")
    assert ask(sandbox, user.token, "{ viewer { login } }") == {
        "data": {"viewer": {"login": user.login}}}
    token = sandbox.admin.create_app("gql-viewer-app")
    assert ask(sandbox, token, "query { me: viewer { login } }")["data"] == {
        "me": {"login": "gql-viewer-app[bot]"}}
    assert requests.post(sandbox.graphql_url, json={"query": "{ viewer { login } }"},
                         timeout=30).status_code == 401


def test_a_schema_invalid_document_is_answered_as_github_does(sandbox, sandbox_user_factory):
    user = sandbox_user_factory("invalid")
    unknown = ask(sandbox, user.token, "{ viewer { nme } }")
    assert "data" not in unknown
    assert unknown["errors"][0]["message"] == "Field 'nme' doesn't exist on type 'User'"
    assert unknown["errors"][0]["locations"] == [{"line": 1, "column": 12}]
    arg = ask(sandbox, user.token, '{ repository(owner: "a", name: "b", color: 1) { id } }')
    assert "data" not in arg
    assert arg["errors"][0]["message"] == "Field 'repository' doesn't accept argument 'color'"
    no_type = ask(sandbox, user.token, "query($x: Nope) { viewer { login } }")
    assert "data" not in no_type
    assert "Unknown type 'Nope'." in [e["message"] for e in no_type["errors"]]
    assert "data" not in ask(sandbox, user.token, "{ viewer { login }")  # does not parse
    required = ask(sandbox, user.token, "{ repository(owner: \"a\") { id } }")
    assert "data" not in required and "name" in required["errors"][0]["message"]
    wrong = ask(sandbox, user.token, ISSUE, owner="a", name="b", number="1")
    assert "data" not in wrong
    assert wrong["errors"][0]["message"] == \
        "Variable $number of type Int! was provided invalid value"


def test_a_field_the_sandbox_does_not_resolve_is_an_error_never_null(
        sandbox, sandbox_user_factory):
    user = sandbox_user_factory("strict")
    out = ask(sandbox, user.token, "{ viewer { login bio } }")
    assert out["data"] == {"viewer": {"login": user.login, "bio": None}}
    assert out["errors"] == [{"path": ["viewer", "bio"],
                              "locations": [{"line": 1, "column": 18}],
                              "message": "the valet sandbox does not implement User.bio"}]


def test_connections_need_first_or_last_and_at_most_100(gh_repo_factory, sandbox):
    repo = gh_repo_factory()
    number = repo.gh().create_issue("t", body="b").number
    base = ("query($owner: String!, $name: String!, $number: Int!) {"
            " repository(owner: $owner, name: $name) { issue(number: $number) { %s } } }")
    where = {"owner": repo.owner, "name": repo.name, "number": number}
    missing = ask(sandbox, repo.token, base % "labels { totalCount }", **where)
    assert missing["data"] == {"repository": {"issue": {"labels": None}}}
    assert missing["errors"][0]["message"] == ("You must provide a `first` or `last` value "
                                               "to properly paginate the `labels` connection.")
    assert missing["errors"][0]["path"] == ["repository", "issue", "labels"]
    many = ask(sandbox, repo.token, base % "userContentEdits(first: 101) { totalCount }",
               **where)
    assert many["errors"][0]["message"] == ("Requesting 101 records on the `userContentEdits` "
                                            "connection exceeds the `first` limit of 100 "
                                            "records.")
    last = ask(sandbox, repo.token, base % "labels(last: 250) { totalCount }", **where)
    assert "exceeds the `last` limit of 100" in last["errors"][0]["message"]


def test_pages_follow_the_after_cursor(gh_repo_factory, sandbox):
    repo = gh_repo_factory()
    issue = repo.gh().create_issue("t", body="b")
    issue.add_to_labels("a", "b", "c")
    query = ("query($owner: String!, $name: String!, $number: Int!, $after: String) {"
             " repository(owner: $owner, name: $name) { issue(number: $number) {"
             " labels(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor }"
             " nodes { name } } } } }")
    where = {"owner": repo.owner, "name": repo.name, "number": issue.number}
    page = ask(sandbox, repo.token, query, **where)["data"]["repository"]["issue"]["labels"]
    assert [n["name"] for n in page["nodes"]] == ["a", "b"] and page["totalCount"] == 3
    assert page["pageInfo"]["hasNextPage"] is True
    rest_page = ask(sandbox, repo.token, query, **where, after=page["pageInfo"]["endCursor"])
    page = rest_page["data"]["repository"]["issue"]["labels"]
    assert [n["name"] for n in page["nodes"]] == ["c"]
    assert page["pageInfo"]["hasNextPage"] is False


# -- reads --------------------------------------------------------------------------


def test_an_issue_its_labels_and_ids_are_the_rest_ones(gh_repo_factory, sandbox):
    repo = gh_repo_factory()
    issue = repo.gh().create_issue("the title", body="the body")
    issue.add_to_labels("release")
    where = {"owner": repo.owner, "name": repo.name, "number": issue.number}
    got = ask(sandbox, repo.token, ISSUE, **where)["data"]["repository"]["issue"]
    label = rest(sandbox, repo.token, "GET", f"/repos/{repo.full_name}/labels/release")
    assert got == {"id": issue.raw_data["node_id"], "number": issue.number,
                   "title": "the title", "body": "the body", "state": "OPEN",
                   "labels": {"nodes": [{"id": label["node_id"], "name": "release"}]},
                   "userContentEdits": {"totalCount": 0, "nodes": []}}
    lookup = ("query($owner: String!, $name: String!, $l: String!) {"
              " repository(owner: $owner, name: $name) { label(name: $l) { id name } } }")
    assert ask(sandbox, repo.token, lookup, owner=repo.owner, name=repo.name,
               l="RELEASE")["data"]["repository"]["label"] == {
                   "id": label["node_id"], "name": "release"}
    assert ask(sandbox, repo.token, lookup, owner=repo.owner, name=repo.name,
               l="absent")["data"] == {"repository": {"label": None}}


def test_a_repository_the_token_cannot_read_and_a_missing_issue_are_not_found(
        gh_repo_factory, sandbox_user_factory, sandbox):
    repo = gh_repo_factory(private=True)
    number = repo.gh().create_issue("t", body="b").number
    outsider = sandbox_user_factory("outsider")
    hidden = ask(sandbox, outsider.token, ISSUE, owner=repo.owner, name=repo.name,
                 number=number)
    assert hidden["data"] == {"repository": None}
    assert hidden["errors"][0] == {
        "type": "NOT_FOUND", "path": ["repository"], "locations": [{"line": 2, "column": 3}],
        "message": f"Could not resolve to a Repository with the name '{repo.full_name}'."}
    missing = ask(sandbox, repo.token, ISSUE, owner=repo.owner, name=repo.name, number=999)
    assert missing["data"] == {"repository": {"issue": None}}
    assert missing["errors"][0]["type"] == "NOT_FOUND"
    assert missing["errors"][0]["path"] == ["repository", "issue"]
    assert missing["errors"][0]["message"] == "Could not resolve to an Issue with the number of 999."


REFS = """query($owner: String!, $name: String!, $q: String!) {
  repository(owner: $owner, name: $name) {
    defaultBranchRef { name target { oid } }
    ref(qualifiedName: $q) { id name prefix
      target { __typename oid ... on Tag { name target { __typename oid } } } } } }"""


def test_refs_branches_lightweight_and_annotated_tags(gh_repo_factory, sandbox, tmp_path):
    repo = gh_repo_factory({"README.md": "hi\n"})
    head = rest(sandbox, repo.token, "GET", f"/repos/{repo.full_name}/branches/main")
    sha = head["commit"]["sha"]
    light = rest(sandbox, repo.token, "POST", f"/repos/{repo.full_name}/git/refs",
                 json={"ref": "refs/tags/v1.0.0", "sha": sha})
    work = clone(repo.clone_url, tmp_path / "work")
    git(work, "-c", "user.name=t", "-c", "user.email=t@example.com",
        "tag", "-a", "v2.0.0", "-m", "two")
    git(work, "push", "-q", "origin", "v2.0.0")
    where = {"owner": repo.owner, "name": repo.name}

    got = ask(sandbox, repo.token, REFS, **where, q="refs/tags/v1.0.0")["data"]["repository"]
    assert got["defaultBranchRef"] == {"name": "main", "target": {"oid": sha}}
    assert got["ref"] == {"id": light["node_id"], "name": "v1.0.0", "prefix": "refs/tags/",
                          "target": {"__typename": "Commit", "oid": sha}}
    annotated = ask(sandbox, repo.token, REFS, **where, q="refs/tags/v2.0.0")
    target = annotated["data"]["repository"]["ref"]["target"]
    assert target["__typename"] == "Tag" and target["oid"] != sha and target["name"] == "v2.0.0"
    assert target["target"] == {"__typename": "Commit", "oid": sha}
    branch = ask(sandbox, repo.token, REFS, **where, q="refs/heads/main")
    assert branch["data"]["repository"]["ref"]["prefix"] == "refs/heads/"
    assert ask(sandbox, repo.token, REFS, **where, q="main")["data"]["repository"]["ref"][
        "name"] == "main"
    assert ask(sandbox, repo.token, REFS, **where, q="refs/heads/nope")["data"][
        "repository"]["ref"] is None


OBJECT = """query($owner: String!, $name: String!, $expr: String, $oid: GitObjectID) {
  repository(owner: $owner, name: $name) { object(expression: $expr, oid: $oid) {
    __typename oid ... on Blob { text byteSize isBinary isTruncated } } } }"""


def test_objects_by_expression_and_oid(gh_repo_factory, sandbox, sandbox_user_factory):
    repo = gh_repo_factory({"docs/notes.md": "notes\n", "logo.bin": b"\x89PNG\0\x01\x02"},
                           private=True)
    where = {"owner": repo.owner, "name": repo.name}
    blob = ask(sandbox, repo.token, OBJECT, **where, expr="main:docs/notes.md")
    text = blob["data"]["repository"]["object"]
    listed = rest(sandbox, repo.token, "GET", f"/repos/{repo.full_name}/contents/docs/notes.md")
    assert text == {"__typename": "Blob", "oid": listed["sha"], "text": "notes\n",
                    "byteSize": 6, "isBinary": False, "isTruncated": False}
    binary = ask(sandbox, repo.token, OBJECT, **where, expr="main:logo.bin")
    assert binary["data"]["repository"]["object"]["text"] is None
    assert binary["data"]["repository"]["object"]["isBinary"] is True
    by_oid = ask(sandbox, repo.token, OBJECT, **where, oid=listed["sha"])
    assert by_oid["data"]["repository"]["object"]["text"] == "notes\n"
    commit = ask(sandbox, repo.token, OBJECT, **where, expr="main")
    assert commit["data"]["repository"]["object"]["__typename"] == "Commit"
    for absent in ("main:nope.md", "nope:docs/notes.md", "--output=x"):
        assert ask(sandbox, repo.token, OBJECT, **where, expr=absent)["data"] == {
            "repository": {"object": None}}, absent
    outsider = sandbox_user_factory("reader")
    hidden = ask(sandbox, outsider.token, OBJECT, **where, expr="main:docs/notes.md")
    assert hidden["data"] == {"repository": None}
    assert hidden["errors"][0]["type"] == "NOT_FOUND"


CHECKS = """query($owner: String!, $name: String!, $expr: String!, $type: CheckRunType,
                  $appId: Int) {
  repository(owner: $owner, name: $name) { object(expression: $expr) { ... on Commit {
    oid checkSuites(first: 10, filterBy: {appId: $appId}) {
      totalCount pageInfo { hasNextPage endCursor }
      nodes { databaseId status conclusion app { databaseId slug }
        checkRuns(first: 10, filterBy: {checkType: $type}) {
          totalCount pageInfo { hasNextPage }
          nodes { databaseId name status conclusion detailsUrl } } } } } } } }"""


def test_check_suites_and_runs_of_a_commit(gh_repo_factory, sandbox):
    repo = gh_repo_factory()
    sha = sandbox.admin.set_ci(repo.full_name, "main", check_runs=[
        {"name": "build", "status": "completed", "conclusion": "failure", "app": "gql-ci"},
        {"name": "build", "status": "completed", "conclusion": "success", "app": "gql-ci"},
        {"name": "lint", "status": "in_progress", "app": "gql-ci"},
        {"name": "scan", "status": "completed", "conclusion": "neutral", "app": "gql-scan"}])
    where = {"owner": repo.owner, "name": repo.name, "expr": "main"}
    got = ask(sandbox, repo.token, CHECKS, **where)["data"]["repository"]["object"]
    assert got["oid"] == sha
    suites = got["checkSuites"]
    assert suites["totalCount"] == 2 and suites["pageInfo"]["hasNextPage"] is False
    ci, scan = suites["nodes"]
    assert ci["app"]["slug"] == "gql-ci" and scan["app"]["slug"] == "gql-scan"
    assert (ci["status"], ci["conclusion"]) == ("IN_PROGRESS", None)
    assert (scan["status"], scan["conclusion"]) == ("COMPLETED", "NEUTRAL")
    latest = [(r["name"], r["status"], r["conclusion"]) for r in ci["checkRuns"]["nodes"]]
    assert latest == [("build", "COMPLETED", "SUCCESS"), ("lint", "IN_PROGRESS", None)]
    rest_runs = rest(sandbox, repo.token, "GET",
                     f"/repos/{repo.full_name}/commits/{sha}/check-runs")["check_runs"]
    assert {r["databaseId"] for r in ci["checkRuns"]["nodes"]} <= {r["id"] for r in rest_runs}
    assert all(r["detailsUrl"] for r in ci["checkRuns"]["nodes"])
    every = ask(sandbox, repo.token, CHECKS, **where, type="ALL")["data"]["repository"]["object"]
    assert every["checkSuites"]["nodes"][0]["checkRuns"]["totalCount"] == 3
    only = ask(sandbox, repo.token, CHECKS, **where, appId=scan["app"]["databaseId"])
    assert [s["app"]["slug"] for s in only["data"]["repository"]["object"]["checkSuites"][
        "nodes"]] == ["gql-scan"]


TEAM = """query($org: String!, $slug: String!, $q: String) {
  organization(login: $org) { team(slug: $slug) {
    members(first: 50, query: $q) { totalCount pageInfo { hasNextPage } nodes { login } } } } }"""


def test_team_members_include_child_teams_and_filter_by_login(sandbox, sandbox_user_factory):
    from tests.fixtures.sandbox import unique

    org = unique("gqlorg")
    sandbox.admin.create_org(org)
    alice, bob, carol = (sandbox_user_factory(p) for p in ("alice", "bob", "carol"))
    sandbox.admin.create_team(org, "releasers", [alice.login])
    sandbox.admin.create_team(org, "leads", [bob.login], parent="releasers")
    sandbox.admin.create_team(org, "others", [carol.login])
    got = ask(sandbox, carol.token, TEAM, org=org, slug="releasers")
    members = got["data"]["organization"]["team"]["members"]
    assert members["totalCount"] == 2
    assert sorted(n["login"] for n in members["nodes"]) == sorted([alice.login, bob.login])
    rest_members = rest(sandbox, carol.token, "GET", f"/orgs/{org}/teams/releasers/members")
    assert {m["login"] for m in rest_members} == {n["login"] for n in members["nodes"]}
    needle = bob.login.split("-")[0].upper()  # "BOB": case-insensitive substring
    only = ask(sandbox, carol.token, TEAM, org=org, slug="releasers", q=needle)
    assert [n["login"] for n in only["data"]["organization"]["team"]["members"]["nodes"]] \
        == [bob.login]
    assert ask(sandbox, carol.token, TEAM, org=org, slug="nope")["data"] == {
        "organization": {"team": None}}
    gone = ask(sandbox, carol.token, TEAM, org=unique("noorg"), slug="x")
    assert gone["data"] == {"organization": None} and gone["errors"][0]["type"] == "NOT_FOUND"


# -- mutations ------------------------------------------------------------------------


MUTATE = """mutation($issue: ID!, $body: String!, $labels: [ID!]!, $drop: [ID!]!) {
  comment: addComment(input: {subjectId: $issue, body: $body}) {
    commentEdge { node { id databaseId body url } } subject { id } }
  add: addLabelsToLabelable(input: {labelableId: $issue, labelIds: $labels}) {
    labelable { ... on Issue { labels(first: 10) { nodes { name } } } } }
  drop: removeLabelsFromLabelable(input: {labelableId: $issue, labelIds: $drop}) {
    labelable { ... on Issue { labels(first: 10) { nodes { name } } } } }
  edit: updateIssue(input: {id: $issue, body: "edited"}) { issue { id body } }
  close: closeIssue(input: {issueId: $issue, stateReason: COMPLETED}) {
    issue { state stateReason body labels(first: 10) { nodes { name } } } } }"""


def _label_ids(sandbox, repo, *names):
    return [rest(sandbox, repo.token, "POST", f"/repos/{repo.full_name}/labels",
                 json={"name": n})["node_id"] for n in names]


def test_mutations_run_in_order_with_the_rest_side_effects(
        gh_repo_factory, sandbox_user_factory, sandbox):
    repo = gh_repo_factory()
    triager = sandbox_user_factory("triager")
    sandbox.admin.set_permission(repo.full_name, triager.login, "triage")
    issue = repo.gh().create_issue("publish: sdk@1.0.0", body="the request")
    ready, blocked = _label_ids(sandbox, repo, "ready", "blocked")
    out = ask(sandbox, triager.token, MUTATE, issue=issue.raw_data["node_id"],
              body="approved", labels=[ready, blocked], drop=[blocked])
    assert "errors" not in out, out
    data = out["data"]
    node = data["comment"]["commentEdge"]["node"]
    assert data["comment"]["subject"] == {"id": issue.raw_data["node_id"]}
    assert [n["name"] for n in data["add"]["labelable"]["labels"]["nodes"]] == \
        ["ready", "blocked"]
    assert [n["name"] for n in data["drop"]["labelable"]["labels"]["nodes"]] == ["ready"]
    assert data["edit"]["issue"] == {"id": issue.raw_data["node_id"], "body": "edited"}
    assert data["close"]["issue"] == {"state": "CLOSED", "stateReason": "COMPLETED",
                                      "body": "edited",
                                      "labels": {"nodes": [{"name": "ready"}]}}

    base = f"/repos/{repo.full_name}/issues/{issue.number}"
    comments = rest(sandbox, repo.token, "GET", f"{base}/comments")
    assert [(c["id"], c["node_id"], c["body"], c["user"]["login"], c["html_url"])
            for c in comments] == [(node["databaseId"], node["id"], "approved", triager.login,
                                    node["url"])]
    events = [(e["event"], e["actor"]["login"], (e.get("label") or {}).get("name"))
              for e in rest(sandbox, repo.token, "GET", f"{base}/events")]
    assert events == [("labeled", triager.login, "ready"), ("labeled", triager.login, "blocked"),
                      ("unlabeled", triager.login, "blocked"), ("closed", triager.login, None)]
    now = rest(sandbox, repo.token, "GET", base)
    assert (now["state"], now["state_reason"], now["body"]) == ("closed", "completed", "edited")
    assert [lb["name"] for lb in now["labels"]] == ["ready"]
    edits = ask(sandbox, repo.token, ISSUE, owner=repo.owner, name=repo.name,
                number=issue.number)["data"]["repository"]["issue"]["userContentEdits"]
    assert [(n["editor"]["login"], n["diff"]) for n in edits["nodes"]] == [
        (triager.login, "edited"), (repo.owner, "the request")]


def test_a_mutation_the_token_may_not_make_is_forbidden_and_changes_nothing(
        gh_repo_factory, sandbox_user_factory, sandbox):
    repo = gh_repo_factory()
    reader = sandbox_user_factory("reader")
    issue = repo.gh().create_issue("t", body="b")
    (ready,) = _label_ids(sandbox, repo, "ready")
    query = """mutation($issue: ID!, $labels: [ID!]!) {
      add: addLabelsToLabelable(input: {labelableId: $issue, labelIds: $labels}) {
        labelable { ... on Issue { id } } }
      comment: addComment(input: {subjectId: $issue, body: "a comment"}) {
        commentEdge { node { body } } }
      close: closeIssue(input: {issueId: $issue}) { issue { state } } }"""
    out = ask(sandbox, reader.token, query, issue=issue.raw_data["node_id"], labels=[ready])
    # each mutation has its own answer: a reader may comment, not label or close
    assert out["data"] == {"add": None, "comment": {"commentEdge": {"node": {
        "body": "a comment"}}}, "close": None}
    assert [(e["type"], e["path"]) for e in out["errors"]] == [
        ("FORBIDDEN", ["add"]), ("FORBIDDEN", ["close"])]
    assert out["errors"][0]["message"] == (f"{reader.login} does not have the correct "
                                           "permissions to execute `AddLabelsToLabelable`")
    bot = sandbox.admin.create_app("gql-reader-app", repos=[repo.full_name], permission="read")
    as_bot = ask(sandbox, bot, query, issue=issue.raw_data["node_id"], labels=[ready])
    assert as_bot["errors"][0]["message"] == "Resource not accessible by integration"
    now = rest(sandbox, repo.token, "GET", f"/repos/{repo.full_name}/issues/{issue.number}")
    assert now["labels"] == [] and now["state"] == "open"

    private = gh_repo_factory(private=True)
    secret = private.gh().create_issue("secret", body="b")
    hidden = ask(sandbox, reader.token, query, issue=secret.raw_data["node_id"], labels=[ready])
    assert [e["type"] for e in hidden["errors"]] == ["NOT_FOUND"] * 3
    assert hidden["errors"][0]["message"] == (
        f"Could not resolve to a node with the global id of '{secret.raw_data['node_id']}'")
    assert rest(sandbox, private.token, "GET",
                f"/repos/{private.full_name}/issues/{secret.number}/comments") == []


def test_the_request_log_counts_each_graphql_post(sandbox, sandbox_user_factory):
    user = sandbox_user_factory("logged")
    sandbox.admin.clear_request_log()
    ask(sandbox, user.token, "{ viewer { login } }")
    ask(sandbox, user.token, "{ viewer { nme } }")
    assert len([e for e in sandbox.admin.request_log() if e.get("kind") == "graphql"]) == 2


def test_a_server_builds_the_schema_as_it_starts(tmp_path):
    # The first GraphQL request must not wait most of a second for the schema: a client
    # with a short timeout (the fault tests use 1 s) would see it hang.
    code = ("import time; from pathlib import Path; from valet.sandbox.app import App; "
            "from valet.sandbox.server import SandboxServer; "
            "import valet.sandbox.graphql.schema as s; "
            f"srv = SandboxServer(App(Path({str(tmp_path)!r}), persist=False), 0); "
            "deadline = time.monotonic() + 30\n"
            "while s._schema is None and time.monotonic() < deadline: time.sleep(0.05)\n"
            "assert s._schema is not None, 'the schema was not built'; srv.server_close()")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
