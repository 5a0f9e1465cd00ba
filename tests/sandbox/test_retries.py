"""Which GitHub calls are sent again after a failure, against the sandbox's faults.

A POST creates something: when its answer is lost (GitHub acted, the client
saw a dropped connection) sending it again duplicates it. A rate-limit answer
means GitHub did nothing: waiting and sending again is safe.
"""

from __future__ import annotations

import pytest

from valet import github_client
from valet.errors import GitHubError
from valet.publish_api import IssueAPI, Rest

pytestmark = pytest.mark.sandbox

COMMENTS = r"^/api/v3/repos/[^/]+/[^/]+/issues/\d+/comments$"


def _issue(gh_repo_factory):  # type: ignore[no-untyped-def]
    repo = gh_repo_factory()
    number = repo.gh().create_issue("publish: acme/sdk@1.0.0").number
    return repo, number


def _rest(sandbox, token: str) -> Rest:  # type: ignore[no-untyped-def]
    return Rest(github_client.connect(token, base_url=sandbox.api_url))


def test_a_comment_whose_answer_is_lost_is_posted_once(gh_repo_factory, sandbox) -> None:
    repo, number = _issue(gh_repo_factory)
    api = IssueAPI(_rest(sandbox, repo.token), repo.full_name)
    sandbox.admin.add_fault(path=COMMENTS, method="POST", kind="lost", count=1)
    api.comment(number, "published 1.0.0")
    bodies = [c.body for c in repo.gh().get_issue(number).get_comments()]
    assert bodies == ["published 1.0.0"]


def test_a_comment_that_never_arrived_is_sent_again(gh_repo_factory, sandbox) -> None:
    repo, number = _issue(gh_repo_factory)
    api = IssueAPI(_rest(sandbox, repo.token), repo.full_name)
    sandbox.admin.add_fault(path=COMMENTS, method="POST", kind="status", status=502, count=1)
    api.comment(number, "published 1.0.0")
    assert [c.body for c in repo.gh().get_issue(number).get_comments()] == ["published 1.0.0"]


@pytest.mark.parametrize("kind", ["ratelimit", "secondary_ratelimit"])
def test_a_rate_limited_post_waits_and_is_sent_once_more(gh_repo_factory, sandbox,
                                                         kind: str) -> None:
    repo, number = _issue(gh_repo_factory)
    api = IssueAPI(_rest(sandbox, repo.token), repo.full_name)
    sandbox.admin.add_fault(path=COMMENTS, method="POST", kind=kind, seconds=1, count=1)
    api.comment(number, "published 1.0.0")
    assert [c.body for c in repo.gh().get_issue(number).get_comments()] == ["published 1.0.0"]
    posts = [e for e in sandbox.admin.request_log()
             if e["method"] == "POST"
             and e["path"] == f"/repos/{repo.full_name}/issues/{number}/comments"]
    assert [e["status"] for e in posts] == [403, 201]


def test_a_post_with_no_way_to_check_it_is_not_repeated(gh_repo_factory, sandbox) -> None:
    repo, number = _issue(gh_repo_factory)
    rest = _rest(sandbox, repo.token)
    sandbox.admin.add_fault(path=COMMENTS, method="POST", kind="lost", count=1)
    with pytest.raises(GitHubError) as info:
        rest.call("POST", f"/repos/{repo.full_name}/issues/{number}/comments",
                  body={"body": "once"})
    assert "not repeated" in info.value.message
    assert [c.body for c in repo.gh().get_issue(number).get_comments()] == ["once"]


def test_a_patch_whose_answer_is_lost_is_sent_again_and_lands_once(gh_repo_factory,
                                                                   sandbox) -> None:
    repo, number = _issue(gh_repo_factory)
    api = IssueAPI(_rest(sandbox, repo.token), repo.full_name)
    sandbox.admin.add_fault(path=r"/issues/\d+$", method="PATCH", kind="lost", count=1)
    assert api.set_body(number, "- [x] pypi")["body"] == "- [x] pypi"
    patches = [e for e in sandbox.admin.request_log()
               if e["method"] == "PATCH" and e["path"] == f"/repos/{repo.full_name}/issues/{number}"]
    assert len(patches) == 2  # sending the same body again leaves the same issue


def test_every_client_paces_its_writes_and_only_its_writes(gh_repo_factory, sandbox,
                                                           monkeypatch) -> None:
    from valet import pacing

    seen: list[str] = []
    monkeypatch.setenv("VALET_PACE_WRITES", "1")
    monkeypatch.setattr(pacing.WritePacer, "wait", lambda self: seen.append("write") or 0.0)
    monkeypatch.setattr(pacing, "_default", None)
    repo, number = _issue(gh_repo_factory)
    gh = github_client.connect(repo.token, base_url=sandbox.api_url)
    issue = gh.get_repo(repo.full_name).get_issue(number)  # reads
    issue.edit(body="edited")  # PyGithub: PATCH
    IssueAPI(_rest(sandbox, repo.token), repo.full_name).comment(number, "hi")  # Rest: POST
    s = github_client.session(repo.token)
    assert s.get(f"{sandbox.api_url}/repos/{repo.full_name}", timeout=10).ok  # session: read
    assert s.delete(f"{sandbox.api_url}/repos/{repo.full_name}/releases/assets/1",
                    timeout=10).status_code == 404  # session: a write (even one that fails)
    assert seen == ["write"] * 3
