"""Issues, labels, events, comments and search, through PyGithub."""

from __future__ import annotations

import github
import pytest
import requests

pytestmark = pytest.mark.sandbox


def test_issue_lifecycle_events_and_actor(gh_repo_factory, sandbox_user_factory, sandbox):
    repo = gh_repo_factory()
    r = repo.gh()
    issue = r.create_issue("publish: acme/sdk@1.2.3", body="body", labels=["ci-pending"])
    assert issue.number == 1 and [lb.name for lb in issue.labels] == ["ci-pending"]
    approver = sandbox_user_factory("approver")
    sandbox.admin.set_permission(repo.full_name, approver.login, "maintain")
    as_approver = repo.gh(approver.token).get_issue(issue.number)
    as_approver.add_to_labels("accepted")
    issue.remove_from_labels("ci-pending")
    issue.edit(state="closed")
    issue.edit(state="open")
    events = [(e.event, e.actor.login, e.label.name if e.event.endswith("labeled") else None)
              for e in issue.get_events()]
    assert events == [("labeled", repo.owner, "ci-pending"),
                      ("labeled", approver.login, "accepted"),
                      ("unlabeled", repo.owner, "ci-pending"),
                      ("closed", repo.owner, None), ("reopened", repo.owner, None)]
    got = r.get_issue(issue.number)
    assert got.state == "open" and [lb.name for lb in got.labels] == ["accepted"]
    issue.set_labels("published", "dry-run")
    assert sorted(lb.name for lb in r.get_issue(1).labels) == ["dry-run", "published"]
    issue.edit(title="new title", body="new body")
    assert (r.get_issue(1).title, r.get_issue(1).body) == ("new title", "new body")


def test_labels_need_triage(gh_repo_factory, sandbox_user_factory, sandbox):
    repo = gh_repo_factory()
    outsider = sandbox_user_factory("outsider")
    r = repo.gh(outsider.token)
    issue = r.create_issue("from outside", labels=["accepted"])
    assert issue.labels == []  # dropped silently, as on GitHub
    with pytest.raises(github.GithubException) as exc:
        issue.add_to_labels("accepted")
    assert exc.value.status == 403
    with pytest.raises(github.GithubException) as exc:
        r.create_label("x", "ffffff")
    assert exc.value.status == 403
    repo.gh().get_issue(issue.number).edit(title="the owner may")
    repo.gh(outsider.token).get_issue(issue.number).edit(body="so may the author")
    assert repo.gh().get_issue(issue.number).title == "the owner may"
    other = sandbox_user_factory("other")
    with pytest.raises(github.GithubException) as exc:
        repo.gh(other.token).get_issue(issue.number).edit(title="not yours")
    assert exc.value.status == 403


def test_repo_labels(gh_repo_factory):
    r = gh_repo_factory().gh()
    created = r.create_label("accepted", "0e8a16", "approved for publishing")
    assert (created.name, created.color) == ("accepted", "0e8a16")
    assert r.get_label("Accepted").description == "approved for publishing"
    with pytest.raises(github.GithubException) as exc:
        r.create_label("accepted", "000000")
    assert exc.value.status == 422
    assert exc.value.data["errors"][0]["code"] == "already_exists"
    issue = r.create_issue("x")
    issue.add_to_labels("accepted")
    issue.remove_from_labels("accepted")
    with pytest.raises(github.GithubException) as exc:
        issue.remove_from_labels("accepted")
    assert exc.value.status == 404
    assert [lb.name for lb in r.get_labels()] == ["accepted"]


def test_list_filters_and_pagination_past_100(gh_repo_factory, sandbox):
    repo = gh_repo_factory()
    r = repo.gh()
    session = requests.Session()
    session.headers["Authorization"] = f"token {repo.token}"
    for n in range(130):
        resp = session.post(f"{sandbox.api_url}/repos/{repo.full_name}/issues",
                            json={"title": f"issue {n}", "labels": ["odd"] if n % 2 else []},
                            timeout=10)
        assert resp.status_code == 201
    numbers = [i.number for i in r.get_issues(state="open")]
    assert numbers == list(range(130, 0, -1))
    first = session.get(f"{sandbox.api_url}/repos/{repo.full_name}/issues",
                        params={"per_page": 100}, timeout=10)
    assert len(first.json()) == 100
    assert 'rel="next"' in first.headers["Link"] and "page=2" in first.links["next"]["url"]
    assert first.links["last"]["url"].endswith("page=2") or "page=2" in first.links["last"]["url"]
    second = session.get(first.links["next"]["url"], timeout=10)
    assert len(second.json()) == 30 and 'rel="prev"' in second.headers["Link"]
    odd = r.get_issues(state="open", labels=[r.get_label("odd")])
    assert odd.totalCount == 65
    r.get_issue(1).edit(state="closed")
    assert [i.number for i in r.get_issues(state="closed")] == [1]
    assert r.get_issues(state="all", direction="asc")[0].number == 1
    assert r.get_issues(creator=repo.owner).totalCount == 129


def test_search_issues(gh_repo_factory, gh_client, sandbox_user_factory):
    repo = gh_repo_factory()
    r = repo.gh()
    a = r.create_issue("publish: acme/sdk@1.2.3", body="x", labels=["accepted"])
    r.create_issue("publish: acme/sdk@1.2.4", body="x")
    r.create_issue("something else", body="publish: acme/sdk@1.2.3 mentioned")
    gh = gh_client(repo.token)
    q = f'repo:{repo.full_name} is:issue is:open in:title "publish: acme/sdk@1.2.3"'
    assert [i.number for i in gh.search_issues(q)] == [a.number]
    q_body = f'repo:{repo.full_name} "publish: acme/sdk@1.2.3"'
    assert sorted(i.number for i in gh.search_issues(q_body)) == [1, 3]
    assert gh.search_issues(f"repo:{repo.full_name} label:accepted").totalCount == 1
    a.edit(state="closed")
    assert gh.search_issues(q).totalCount == 0
    assert gh.search_issues(q.replace("is:open", "is:closed")).totalCount == 1
    private = gh_repo_factory(private=True)
    private.gh().create_issue("publish: secret@1.0.0")
    stranger = sandbox_user_factory("stranger")
    assert gh_client(stranger.token).search_issues('"publish: secret@1.0.0"').totalCount == 0
    assert gh_client(private.token).search_issues('"publish: secret@1.0.0"').totalCount == 1


def test_comments_crud(gh_repo_factory, sandbox_user_factory, sandbox):
    repo = gh_repo_factory()
    r = repo.gh()
    issue = r.create_issue("c")
    c = issue.create_comment("first")
    commenter = sandbox_user_factory("commenter")
    theirs = repo.gh(commenter.token).get_issue(issue.number).create_comment("second")
    assert [x.body for x in issue.get_comments()] == ["first", "second"]
    c.edit("edited")
    assert r.get_issue(issue.number).get_comment(c.id).body == "edited"
    with pytest.raises(github.GithubException) as exc:
        repo.gh(commenter.token).get_issue(issue.number).get_comment(c.id).edit("nope")
    assert exc.value.status == 403
    theirs.delete()
    assert [x.body for x in issue.get_comments()] == ["edited"]
    assert r.get_issue(issue.number).comments == 1


def test_a_body_over_githubs_limit_is_refused_with_its_422(gh_repo_factory):
    repo = gh_repo_factory()
    r = repo.gh()
    fits = "é" * 65536
    issue = r.create_issue("long", body=fits)
    assert len(issue.body) == 65536
    for create in (True, False):
        with pytest.raises(github.GithubException) as exc:
            if create:
                r.create_issue("too long", body=fits + "x")
            else:
                issue.edit(body="😀" * 32769)  # 65,538 UTF-16 code units, as GitHub counts
        assert exc.value.status == 422
        assert exc.value.data["message"] == "Validation Failed"
        assert exc.value.data["errors"] == [{
            "resource": "Issue", "code": "custom", "field": "body",
            "message": "body is too long (maximum is 65536 characters)"}]
    assert r.get_issue(issue.number).body == fits
