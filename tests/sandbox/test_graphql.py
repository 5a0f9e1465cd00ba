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
