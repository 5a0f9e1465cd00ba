"""What GitHub records about who did what, as the sandbox serves it: workflow runs
(who triggered them, from which file, on which commit), Apps by slug, the token's
own identity (GraphQL viewer), and access that is taken away."""

from __future__ import annotations

import github
import pytest
import requests

from valet.sandbox.client import SandboxAdminError

pytestmark = pytest.mark.sandbox

RELEASE = ".github/workflows/release.yml"


def test_a_run_records_who_triggered_it_and_a_rerun_records_who_reran_it(
        gh_repo_factory, sandbox_user_factory, sandbox):
    repo = gh_repo_factory()
    dana, morgan = sandbox_user_factory("dana"), sandbox_user_factory("morgan")
    head = repo.gh().get_branch("main").commit.sha
    run = sandbox.admin.create_run(repo.full_name, path=RELEASE, event="workflow_dispatch",
                                   actor=dana.login, head_sha="main", head_branch="main")
    got = repo.gh().get_workflow_run(run["id"])
    assert (got.path, got.event, got.head_sha, got.head_branch, got.status) == (
        RELEASE, "workflow_dispatch", head, "main", "in_progress")
    assert got.raw_data["triggering_actor"]["login"] == dana.login == got.actor.login
    assert got.raw_data["repository"]["full_name"] == repo.full_name
    sandbox.admin.finish_run(repo.full_name, run["id"], "success")
    sandbox.admin.rerun(repo.full_name, run["id"], morgan.login)
    again = repo.gh().get_workflow_run(run["id"]).raw_data
    assert (again["run_attempt"], again["status"]) == (2, "in_progress")
    assert (again["actor"]["login"], again["triggering_actor"]["login"]) == (dana.login,
                                                                             morgan.login)
    listed = repo.gh().get_workflow_runs(event="workflow_dispatch")
    assert [r.id for r in listed] == [run["id"]]
    with pytest.raises(github.UnknownObjectException):
        _ = repo.gh().get_workflow_run(run["id"] + 12345).raw_data


def test_runs_are_only_recorded_for_real_commits_files_and_users(gh_repo_factory, sandbox):
    repo = gh_repo_factory()
    ok = {"path": RELEASE, "event": "push", "actor": repo.owner, "head_sha": "main"}
    for bad in ({"head_sha": "0" * 40}, {"path": "release.yml"}, {"actor": "nobody-here-x"}):
        with pytest.raises(SandboxAdminError):
            sandbox.admin.create_run(repo.full_name, **{**ok, **bad})
    with pytest.raises(SandboxAdminError, match="conclusion"):
        run = sandbox.admin.create_run(repo.full_name, **ok)
        sandbox.admin.finish_run(repo.full_name, run["id"], "great")


def test_an_app_is_found_by_slug_and_its_token_is_its_bot(gh_repo_factory, sandbox):
    repo = gh_repo_factory()
    slug = f"{repo.name}-app"
    token = sandbox.admin.create_app(slug, repos=[repo.full_name])
    app = requests.get(f"{sandbox.api_url}/apps/{slug}", timeout=30,
                       headers={"Authorization": f"token {token}"})
    assert app.status_code == 200 and app.json()["slug"] == slug
    assert requests.get(f"{sandbox.api_url}/apps/{slug}-nope", timeout=30).status_code == 404
    viewer = requests.post(sandbox.graphql_url, json={"query": "query { viewer { login } }"},
                           headers={"Authorization": f"bearer {token}"}, timeout=30)
    assert viewer.json() == {"data": {"viewer": {"login": f"{slug}[bot]"}}}


def test_access_can_be_taken_away(gh_repo_factory, sandbox_user_factory, sandbox):
    repo = gh_repo_factory()
    org = f"{repo.name}-org"
    alice = sandbox_user_factory("alice")
    sandbox.admin.create_team(org, "releasers", [alice.login])
    sandbox.admin.set_permission(repo.full_name, alice.login, "maintain")
    member = f"{sandbox.api_url}/orgs/{org}/teams/releasers/memberships/{alice.login}"
    perm = f"{sandbox.api_url}/repos/{repo.full_name}/collaborators/{alice.login}/permission"
    auth = {"Authorization": f"token {repo.token}"}
    assert requests.get(member, headers=auth, timeout=30).status_code == 200
    assert requests.get(perm, headers=auth, timeout=30).json()["role_name"] == "maintain"
    sandbox.admin.remove_team_member(org, "releasers", alice.login)
    sandbox.admin.remove_permission(repo.full_name, alice.login)
    assert requests.get(member, headers=auth, timeout=30).status_code == 404
    assert requests.get(perm, headers=auth, timeout=30).json()["role_name"] == "read"  # public
    with pytest.raises(SandboxAdminError):
        sandbox.admin.remove_team_member(org, "no-such-team", alice.login)


def test_the_issue_a_run_reads_answers_for_the_app_that_opened_it(gh_repo_factory, sandbox):
    from tests.fixtures.sandbox import make_github
    from valet.publish_api import IssueAPI, Rest

    repo = gh_repo_factory()
    slug = f"{repo.name}-req"
    token = sandbox.admin.create_app(slug, repos=[repo.full_name], permission="write")
    by_app = make_github(sandbox, token).get_repo(repo.full_name).create_issue("by the App")
    by_person = repo.gh().create_issue("by a person")

    sandbox.admin.clear_request_log()
    issues = IssueAPI(Rest(make_github(sandbox, token)), repo.full_name)
    issues.warm(by_app.number)
    assert issues.app(slug) == {"slug": slug}  # GitHub recorded its bot as the author
    issue = issues.issue(by_app.number)
    assert issue["user"] == {"login": f"{slug}[bot]", "type": "Bot"}
    paths = [e["path"] for e in sandbox.admin.request_log()]
    assert not any(p.startswith("/apps/") for p in paths)
    # the issue came with the run's GraphQL query, as REST would have answered it
    rest = repo.gh().get_issue(by_app.number).raw_data
    assert f"/repos/{repo.full_name}/issues/{by_app.number}" not in paths
    assert {k: issue[k] for k in ("number", "title", "body", "state", "state_reason",
                                  "created_at", "node_id")} == \
        {k: rest[k] or ("" if k == "body" else None)
         for k in ("number", "title", "body", "state", "state_reason", "created_at",
                   "node_id")}
    # An issue opened by anyone else proves nothing: the App is asked for, and a slug
    # that is no App is none.
    other = IssueAPI(Rest(make_github(sandbox, token)), repo.full_name)
    other.warm(by_person.number)
    assert other.app(f"{slug}-nope") is None
    assert other.app(slug)["slug"] == slug
    assert any(e["path"] == f"/apps/{slug}-nope" for e in sandbox.admin.request_log())


def test_a_person_whose_login_is_an_apps_slug_does_not_answer_for_the_app(
        gh_repo_factory, sandbox):
    """GraphQL names an App's bot by its slug: a User of that very login is someone else,
    and the issue they open neither answers ``app`` nor reads as the bot's."""
    from tests.fixtures.sandbox import make_github
    from valet.publish_api import IssueAPI, Rest

    repo = gh_repo_factory()
    slug = f"{repo.name}-req"
    token = sandbox.admin.create_app(slug, repos=[repo.full_name], permission="write")
    sandbox.admin.create_user(slug)
    person = make_github(sandbox, sandbox.admin.create_token(slug))
    number = person.get_repo(repo.full_name).create_issue("by a person named like the App"
                                                          ).number

    sandbox.admin.clear_request_log()
    issues = IssueAPI(Rest(make_github(sandbox, token)), repo.full_name)
    issues.warm(number)
    assert issues.app(slug)["slug"] == slug  # asked for: the author is not its bot
    assert issues.issue(number)["user"] == {"login": slug, "type": "User"}
    paths = [e["path"] for e in sandbox.admin.request_log()]
    assert f"/apps/{slug}" in paths
    assert f"/repos/{repo.full_name}/issues/{number}" not in paths


def test_the_merge_targets_compare_answers_whether_the_release_descends_from_the_run(
        gh_repo_factory, sandbox):
    from tests.fixtures.sandbox import make_github
    from valet.publish_api import Rest, SdkAPI

    repo = gh_repo_factory()
    gh = repo.gh()
    base = gh.get_branch("main").commit.sha
    gh.create_git_ref("refs/heads/release/1.0.0", base)
    one = gh.create_file("a.txt", "one", "1\n", branch="release/1.0.0")["commit"].sha
    two = gh.create_file("b.txt", "two", "2\n", branch="release/1.0.0")["commit"].sha
    other = gh.create_file("c.txt", "elsewhere", "3\n", branch="main")["commit"].sha
    sandbox.admin.clear_request_log()
    sdk = SdkAPI(Rest(make_github(sandbox, repo.token)), repo.full_name)
    # the merge base, and a commit the compare lists: no compare of their own
    assert sdk.contains(base, two, via="main") and sdk.contains(one, two, via="main")
    compares = [e["path"] for e in sandbox.admin.request_log() if "/compare/" in e["path"]]
    assert compares == [f"/repos/{repo.full_name}/compare/main...{two}"]
    # not among them: asked directly, and GitHub's answer decides (main moved on)
    assert not sdk.contains(other, two, via="main")
    assert any(p.endswith(f"/compare/{other}...{two}") for p in
               (e["path"] for e in sandbox.admin.request_log()))


def test_a_pull_requests_number_is_read_through_rest_and_is_no_open_issue(
        gh_repo_factory, sandbox, capsys):
    """GraphQL's ``issue(number:)`` does not answer a pull request; REST's issue read does,
    with ``pull_request``: the run reads that and says it is not an open issue."""
    from tests.fixtures.sandbox import make_github
    from valet.authz import parse_policy
    from valet.events import parse_event
    from valet.publish import Deps, Publisher, Settings
    from valet.publish.identity import Identities
    from valet.publish_api import IssueAPI, Rest

    repo = gh_repo_factory({"README.md": "publish"})
    gh = repo.gh()
    main = gh.get_branch("main").commit.sha
    gh.create_git_ref("refs/heads/change", main)
    gh.create_file("CHANGE.md", "a change", "change", branch="change")
    pr = gh.create_pull(base="main", head="change", title="publish: org/sdk@1.2.3", body="")
    token = sandbox.admin.create_app(f"{repo.name}-pb", repos=[repo.full_name],
                                     permission="admin")

    rest_issue = gh.get_issue(pr.number).raw_data  # GitHub's issues API answers a PR
    assert rest_issue["number"] == pr.number and "pull_request" in rest_issue
    sandbox.admin.clear_request_log()
    issues = IssueAPI(Rest(make_github(sandbox, token)), repo.full_name)
    issues.warm(pr.number)
    assert "pull_request" in issues.issue(pr.number)
    assert [e["path"] for e in sandbox.admin.request_log() if e["method"] == "GET"
            and e["path"] == f"/repos/{repo.full_name}/issues/{pr.number}"]

    # an `issues` event naming the pull request's number (a hint, and a wrong one)
    event = parse_event("issues", {
        "action": "labeled", "label": {"name": "accepted"},
        "issue": {"number": pr.number, "title": pr.title, "body": "", "state": "open",
                  "labels": [{"name": "accepted"}]},
        "repository": {"full_name": repo.full_name},
        "sender": {"login": "someone", "type": "User"}})
    run = IssueAPI(Rest(make_github(sandbox, token)), repo.full_name)
    ids = Identities(publish_bot=f"{repo.name}-pb[bot]", request_bot="request-app[bot]")
    publisher = Publisher(Settings(publish_repo=repo.full_name, identities=ids, env={},
                                   policy=parse_policy("someone")),
                          Deps(issues=run, sdk=lambda r: None, store=lambda r, c: None,
                               resolve=lambda n: None))  # type: ignore[arg-type,return-value]
    capsys.readouterr()
    assert publisher.handle(event) == 0
    assert f"#{pr.number} is not an open issue" in capsys.readouterr().err
    assert not any(e["method"] != "GET" for e in sandbox.admin.request_log()
                   if e["path"].startswith(f"/repos/{repo.full_name}/issues/"))
