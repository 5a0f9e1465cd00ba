"""POST /api/graphql: an issue body's edit history, as publish reads it."""

from __future__ import annotations

import pytest
import requests

from tests.fixtures.sandbox import make_github
from valet.errors import GitHubError
from valet.publish_api import EDITS_QUERY, Edit, IssueAPI, Rest

pytestmark = pytest.mark.sandbox


def ask(sandbox, token, query=EDITS_QUERY, **variables):
    headers = {"Authorization": f"bearer {token}"} if token else {}
    return requests.post(sandbox.graphql_url, json={"query": query, "variables": variables},
                         headers=headers, timeout=30)


def test_a_patch_records_an_edit_by_its_author_newest_first(
        gh_repo_factory, sandbox_user_factory, sandbox):
    repo = gh_repo_factory()
    editor = sandbox_user_factory("editor")
    sandbox.admin.set_permission(repo.full_name, editor.login, "write")
    issue = repo.gh().create_issue("publish: org/sdk@1.0.0", body="first")
    repo.gh(editor.token).get_issue(issue.number).edit(body="second")
    repo.gh().get_issue(issue.number).edit(body="third")
    repo.gh().get_issue(issue.number).edit(title="a title only", body="third")  # no change
    untouched = repo.gh().create_issue("never edited", body="as created")

    resp = ask(sandbox, editor.token, owner=repo.owner, name=repo.name, number=issue.number)
    assert resp.status_code == 200
    history = resp.json()["data"]["repository"]["issue"]["userContentEdits"]
    nodes = history["nodes"]
    # once edited, the history starts with the creator's own body
    assert [(n["editor"]["login"], n["diff"]) for n in nodes] == [
        (repo.owner, "third"), (editor.login, "second"), (repo.owner, "first")]
    assert history["totalCount"] == 3
    assert all(n["editedAt"].endswith("Z") for n in nodes)
    assert ask(sandbox, editor.token, owner=repo.owner, name=repo.name,
               number=untouched.number).json()["data"]["repository"]["issue"][
                   "userContentEdits"] == {"totalCount": 0, "nodes": []}

    # the same through publish's client: oldest first
    api = IssueAPI(Rest(make_github(sandbox, editor.token)), repo.full_name)
    edits = api.body_edits(issue.number)
    assert [(e.login, e.body) for e in edits] == [
        (repo.owner, "first"), (editor.login, "second"), (repo.owner, "third")]
    assert isinstance(edits[0], Edit) and edits.complete


def test_only_the_fields_asked_for_and_at_most_first(gh_repo_factory, sandbox):
    repo = gh_repo_factory()
    issue = repo.gh().create_issue("t", body="0")
    for i in range(1, 4):
        repo.gh().get_issue(issue.number).edit(body=str(i))
    query = """query Edits($owner: String!, $name: String!, $number: Int!) {
      repository(name: $name, owner: $owner) {
        issue(number: $number) { userContentEdits(first: 2) { nodes { diff } } } } }"""
    resp = ask(sandbox, repo.token, query, owner=repo.owner, name=repo.name, number=issue.number)
    assert resp.json() == {"data": {"repository": {"issue": {"userContentEdits": {
        "nodes": [{"diff": "3"}, {"diff": "2"}]}}}}}



def test_a_history_longer_than_one_page_is_known_to_be_cut_off(gh_repo_factory, sandbox):
    repo = gh_repo_factory()
    issue = repo.gh().create_issue("t", body="0")
    api = IssueAPI(Rest(make_github(sandbox, repo.token)), repo.full_name)
    for i in range(1, 100):
        repo.gh().get_issue(issue.number).edit(body=str(i))
    assert api.body_edits(issue.number).complete  # the creator's body and 99 edits: 100
    repo.gh().get_issue(issue.number).edit(body="100")
    edits = api.body_edits(issue.number)
    assert not edits.complete and len(edits) == 100 and edits[0].body == "1"


def test_errors_are_graphql_errors_with_200(gh_repo_factory, sandbox_user_factory, sandbox):
    repo = gh_repo_factory(private=True)
    issue = repo.gh().create_issue("t", body="0")
    where = {"owner": repo.owner, "name": repo.name}
    other = ask(sandbox, repo.token, "{ viewer { nme } }", **where, number=issue.number)
    assert other.status_code == 200 and other.json()["errors"][0]["message"]
    assert "data" not in other.json()
    wrong_type = ask(sandbox, repo.token, **where, number=str(issue.number))
    assert wrong_type.status_code == 200 and "$number" in wrong_type.json()["errors"][0]["message"]
    missing = ask(sandbox, repo.token, **where, number=999)
    assert missing.json()["data"] == {"repository": {"issue": None}}
    assert missing.json()["errors"][0]["type"] == "NOT_FOUND"
    outsider = sandbox_user_factory("outsider")
    hidden = ask(sandbox, outsider.token, **where, number=issue.number)
    assert hidden.status_code == 200 and hidden.json()["data"] == {"repository": None}
    assert "Could not resolve to a Repository" in hidden.json()["errors"][0]["message"]
    assert ask(sandbox, None, **where, number=issue.number).status_code == 401
    assert ask(sandbox, "not-a-token", **where, number=issue.number).status_code == 401

    api = IssueAPI(Rest(make_github(sandbox, outsider.token)), repo.full_name)
    with pytest.raises(GitHubError, match="edit history of #"):
        api.body_edits(issue.number)


def test_who_the_token_is_and_the_edits_come_in_one_query(
        gh_repo_factory, sandbox_user_factory, sandbox):
    from valet.publish_api import VIEWER_EDITS_QUERY

    repo = gh_repo_factory()
    reader = sandbox_user_factory("reader")
    issue = repo.gh().create_issue("publish: org/sdk@1.0.0", body="first")
    repo.gh().get_issue(issue.number).edit(body="second")
    sandbox.admin.clear_request_log()
    issues = IssueAPI(Rest(make_github(sandbox, reader.token)), repo.full_name)
    issues.warm(issue.number, viewer=True)
    assert issues.viewer_login() == reader.login
    assert [e.body for e in issues.body_edits(issue.number)] == ["first", "second"]
    asked = [e for e in sandbox.admin.request_log() if e.get("kind") == "graphql"]
    assert len(asked) == 1
    # a missing issue fails the edits, not who the token is
    data = ask(sandbox, reader.token, VIEWER_EDITS_QUERY, owner=repo.owner, name=repo.name,
               number=999).json()
    assert data["data"]["viewer"] == {"login": reader.login} and data["errors"]
    gone = IssueAPI(Rest(make_github(sandbox, reader.token)), repo.full_name)
    gone.warm(999, viewer=True)
    assert gone.viewer_login() == reader.login
    with pytest.raises(GitHubError, match="Could not resolve to an Issue"):
        gone.body_edits(999)


POLICY = "repos:\n  org/sdk:\n    targets: [pypi]\n"


def _publish_repo(gh_repo_factory, sandbox_user_factory, sandbox, policy):
    from tests.fixtures.sandbox import unique

    org = unique("pubgql")
    repo = gh_repo_factory({"valet-publish.yml": policy}, owner=org)
    alice = sandbox_user_factory("alice")
    sandbox.admin.create_team(org, "release", [alice.login])
    sandbox.admin.create_team(org, "ops", [])
    issue = repo.gh().create_issue("publish: org/sdk@1.0.0", body="first")
    return repo, org, alice, issue


def test_the_runs_one_query_reads_the_policy_the_teams_and_the_labels(
        gh_repo_factory, sandbox_user_factory, sandbox):
    repo, org, alice, issue = _publish_repo(gh_repo_factory, sandbox_user_factory, sandbox,
                                            POLICY)
    published = repo.gh().create_label("published", "0e8a16")
    rest_id = requests.get(f"{sandbox.api_url}/repos/{repo.full_name}/labels/published",
                           headers={"Authorization": f"token {repo.token}"},
                           timeout=30).json()["node_id"]
    assert published.name == "published" and rest_id
    sandbox.admin.clear_request_log()
    api = IssueAPI(Rest(make_github(sandbox, repo.token)), repo.full_name)
    teams = ((org, "release"), (org, "ops"), ("no-such-org-x", "release"))
    api.warm(issue.number, approver=alice.login.upper(), teams=teams, viewer=True,
             policy=True, labels=("published", "failed"))
    assert api.policy_text() == POLICY
    assert api.team_member(org, "release", alice.login.upper()) is True
    assert api.label_node_id("published") == rest_id
    assert api.label_node_id("failed") is None  # the repository has no such label
    assert [e.body for e in api.body_edits(issue.number)] == []
    log = sandbox.admin.request_log()
    assert sum(1 for e in log if e.get("kind") == "graphql") == 1
    assert not [e for e in log if e.get("kind") != "graphql"
                and e["method"] == "GET" and "/issues/" not in e["path"]], log
    # a team that does not list the approver refuses only on REST's membership answer
    sandbox.admin.clear_request_log()
    assert api.team_member(org, "ops", alice.login.upper()) is False
    assert [e["path"] for e in sandbox.admin.request_log()] == [
        f"/orgs/{org}/teams/ops/memberships/{alice.login.upper()}"]
    # the organization GitHub does not know: only that team goes to REST (404: no member)
    sandbox.admin.clear_request_log()
    assert api.team_member("no-such-org-x", "release", alice.login.upper()) is False
    assert [e["path"] for e in sandbox.admin.request_log()] == [
        f"/orgs/no-such-org-x/teams/release/memberships/{alice.login.upper()}"]


def test_a_policy_github_cannot_show_as_text_is_read_as_rest_reads_it(
        gh_repo_factory, sandbox_user_factory, sandbox):
    repo, _, _, issue = _publish_repo(gh_repo_factory, sandbox_user_factory, sandbox,
                                      b"repos:\x00\xff\n")
    api = IssueAPI(Rest(make_github(sandbox, repo.token)), repo.full_name)
    sandbox.admin.clear_request_log()
    api.warm(issue.number, policy=True)
    with pytest.raises(GitHubError, match="not UTF-8 text"):
        api.policy_text()
    log = sandbox.admin.request_log()
    assert sum(1 for e in log if e.get("kind") == "graphql") == 1
    assert [e["path"] for e in log if e.get("kind") != "graphql"
            and "/issues/" not in e["path"]] == [
        f"/repos/{repo.full_name}/contents/valet-publish.yml"]


BOT_EDITS = """query($owner: String!, $name: String!, $number: Int!) {
  repository(owner: $owner, name: $name) { issue(number: $number) {
    author { __typename login } userContentEdits(first: 10) { nodes { editor { __typename login } diff } } } } }"""


def test_a_bot_is_its_slug_in_graphql_and_publish_reads_it_as_its_rest_login(
        gh_repo_factory, sandbox):
    # GitHub's GraphQL names a Bot by its slug (`author { login }` of an App's issue is
    # "my-app", where REST says "my-app[bot]"); only `viewer` keeps the suffix.
    repo = gh_repo_factory()
    slug = f"{repo.name}-req"
    token = sandbox.admin.create_app(slug, repos=[repo.full_name], permission="write")
    issue = make_github(sandbox, token).get_repo(repo.full_name).create_issue(
        "publish: org/sdk@1.0.0", body="first")
    make_github(sandbox, token).get_repo(repo.full_name).get_issue(issue.number).edit(
        body="second")
    data = ask(sandbox, token, BOT_EDITS, owner=repo.owner, name=repo.name,
               number=issue.number).json()["data"]["repository"]["issue"]
    assert data["author"] == {"__typename": "Bot", "login": slug}
    assert [n["editor"] for n in data["userContentEdits"]["nodes"]] == [
        {"__typename": "Bot", "login": slug}] * 2
    viewer = ask(sandbox, token, "query { viewer { login } }").json()
    assert viewer == {"data": {"viewer": {"login": f"{slug}[bot]"}}}

    edits = IssueAPI(Rest(make_github(sandbox, token)), repo.full_name).body_edits(issue.number)
    assert [(e.login, e.body) for e in edits] == [(f"{slug}[bot]", "first"),
                                                 (f"{slug}[bot]", "second")]


def test_a_person_whose_login_is_the_request_apps_slug_is_not_the_request_app(
        gh_repo_factory, sandbox):
    # Logins and App slugs are separate names on GitHub: a person can own the login
    # "<slug>". Their edit of a request is a person's edit, whatever GraphQL calls them.
    from valet.publish.context import Refused
    from valet.publish.identity import Identities
    from valet.publish.origin import check_edits

    repo = gh_repo_factory()
    slug = f"{repo.name}-req"
    token = sandbox.admin.create_app(slug, repos=[repo.full_name], permission="write")
    sandbox.admin.create_user(slug)  # a person with the App's slug as login
    person = sandbox.admin.create_token(slug)
    sandbox.admin.set_permission(repo.full_name, slug, "write")
    body = "### Targets\n\n- [ ] pypi\n"
    issue = make_github(sandbox, token).get_repo(repo.full_name).create_issue(
        "publish: org/sdk@1.0.0", body=body)
    repo.gh(person).get_issue(issue.number).edit(body=body + "\nship it to my index\n")

    edits = IssueAPI(Rest(make_github(sandbox, token)), repo.full_name).body_edits(issue.number)
    assert [e.login for e in edits] == [f"{slug}[bot]", slug]
    ids = Identities(publish_bot="valet-publish[bot]", request_bot=f"{slug}[bot]")
    with pytest.raises(Refused, match=f"edited by {slug} "):
        check_edits(list(edits), edits.complete, ids)


def test_ref_rules_are_the_active_rulesets_rules_as_githubs_graphql_types_them(
        gh_repo_factory, sandbox):
    """What sdk_query asks of the merge target (rules_query): the rules of active
    rulesets only, each of GitHub's RepositoryRuleType with its RuleParameters member and
    its ruleset's databaseId; the same list GET /rules/branches gives, once translated."""
    from valet import rules_query, sdk_query

    repo = gh_repo_factory({"README.md": "x"})
    sandbox.admin.protect_branch(repo.full_name, "main", reviews=1, checks=["ci"])
    for enforcement in ("evaluate", "disabled"):
        sandbox.admin.add_ruleset(repo.full_name, {
            "name": enforcement, "enforcement": enforcement,
            "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"]}},
            "rules": [{"type": "pull_request",
                       "parameters": {"required_approving_review_count": 3}}]})
    variables = sdk_query.variables(repo.full_name, merge_target="main",
                                    config_path=".valet.yml", tag=None)
    body = ask(sandbox, repo.token, sdk_query.query(tag=False, target=True), **variables).json()
    assert "errors" not in body, body
    ref = body["data"]["repository"]["rules"]
    assert ref["prefix"] == "refs/heads/" and ref["name"] == "main"
    assert {n["type"] for n in ref["rules"]["nodes"]} == {
        "DELETION", "NON_FAST_FORWARD", "PULL_REQUEST", "REQUIRED_STATUS_CHECKS"}
    pr = next(n for n in ref["rules"]["nodes"] if n["type"] == "PULL_REQUEST")
    assert pr["parameters"]["__typename"] == "PullRequestParameters"
    assert pr["parameters"]["requiredApprovingReviewCount"] == 1
    rest = repo.gh()._requester.requestJsonAndCheck(
        "GET", f"/repos/{repo.full_name}/rules/branches/main")[1]
    got = rules_query.translate(ref, "main")
    assert got is not None
    key = lambda r: (r["type"], r["ruleset_id"])  # noqa: E731
    assert sorted(got, key=key) == sorted(
        ({k: v for k, v in r.items() if not k.startswith("ruleset_source")} for r in rest),
        key=key)
    # no such branch: no ref (REST answers it with the rules a branch of that name would get)
    variables["branchRef"] = "refs/heads/nope"
    body = ask(sandbox, repo.token, sdk_query.query(tag=False, target=True), **variables).json()
    assert body["data"]["repository"]["rules"] is None
