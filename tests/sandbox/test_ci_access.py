"""Commit statuses, check runs (paginated), collaborator permission and team membership."""

from __future__ import annotations

import github
import pytest

pytestmark = pytest.mark.sandbox


def test_statuses_and_combined_state(gh_repo_factory, sandbox):
    repo = gh_repo_factory()
    r = repo.gh()
    sha = r.get_branch("main").commit.sha
    commit = r.get_commit(sha)
    assert commit.get_combined_status().state == "pending"  # nothing reported yet
    commit.create_status("pending", context="build")
    commit.create_status("success", context="build")
    commit.create_status("success", context="lint", target_url="http://ci.invalid/1")
    combined = commit.get_combined_status()
    assert (combined.state, combined.total_count) == ("success", 2)
    assert combined.sha == sha
    assert len(list(commit.get_statuses())) == 3
    sandbox.admin.set_ci(repo.full_name, "main", statuses=[{"context": "e2e", "state": "failure"}])
    assert commit.get_combined_status().state == "failure"
    with pytest.raises(github.GithubException) as exc:
        commit.create_status("bogus")
    assert exc.value.status == 422


def test_check_runs_paginated_and_latest(gh_repo_factory, sandbox):
    repo = gh_repo_factory()
    r = repo.gh()
    sha = r.get_branch("main").commit.sha
    runs = [{"name": f"job-{i}", "status": "completed", "conclusion": "success"}
            for i in range(130)]
    runs.append({"name": "job-0", "status": "in_progress"})  # a re-run: newest wins
    sandbox.admin.set_ci(repo.full_name, sha, check_runs=runs)
    listed = r.get_commit(sha).get_check_runs()
    assert listed.totalCount == 130
    got = list(listed)
    assert len(got) == 130 and len({c.id for c in got}) == 130
    job0 = [c for c in got if c.name == "job-0"]
    assert [(c.status, c.conclusion) for c in job0] == [("in_progress", None)]
    assert r.get_commit(sha).get_check_runs(filter="all").totalCount == 131
    assert r.get_commit(sha).get_check_runs(check_name="job-7").totalCount == 1


def test_check_runs_are_made_by_apps(gh_repo_factory, sandbox):
    repo = gh_repo_factory()
    sha = repo.gh().get_branch("main").commit.sha
    with pytest.raises(github.GithubException) as exc:
        repo.gh().create_check_run("user-made", sha)
    assert exc.value.status == 403
    bot = sandbox.admin.create_app(f"ci-{repo.name}", repos=[repo.full_name])
    run = repo.gh(bot).create_check_run("tests", sha, status="in_progress")
    run.edit(conclusion="failure")
    got = repo.gh().get_check_run(run.id)
    assert (got.status, got.conclusion, got.app.slug) == ("completed", "failure",
                                                          f"ci-{repo.name}")


@pytest.mark.parametrize(("role", "permission"), [
    ("admin", "admin"), ("maintain", "write"), ("write", "write"), ("triage", "read"),
    ("read", "read")])
def test_collaborator_permission(gh_repo_factory, sandbox_user_factory, sandbox, role,
                                 permission):
    repo = gh_repo_factory(private=True)
    user = sandbox_user_factory("collab")
    sandbox.admin.set_permission(repo.full_name, user.login, role)
    r = repo.gh()
    assert r.get_collaborator_permission(user.login) == permission
    raw = r._requester.requestJsonAndCheck(
        "GET", f"{r.url}/collaborators/{user.login}/permission")[1]
    assert raw["role_name"] == role and raw["user"]["login"] == user.login
    assert r.has_in_collaborators(user.login)


def test_non_collaborator_and_teams(gh_repo_factory, sandbox_user_factory, sandbox, gh_client):
    repo = gh_repo_factory(owner="team-org")
    stranger = sandbox_user_factory("stranger")
    r = repo.gh()
    assert r.get_collaborator_permission(stranger.login) == "read"  # public repo
    assert not r.has_in_collaborators(stranger.login)
    member = sandbox_user_factory("member")
    sandbox.admin.create_team("team-org", "release-engineers", [member.login])
    import requests

    url = f"{sandbox.api_url}/orgs/team-org/teams/release-engineers/memberships"
    h = {"Authorization": f"token {repo.token}"}
    ok = requests.get(f"{url}/{member.login}", headers=h, timeout=10)
    assert ok.status_code == 200 and ok.json()["state"] == "active"
    assert requests.get(f"{url}/{stranger.login}", headers=h, timeout=10).status_code == 404
    # A team granted on the repo gives its members that role.
    sandbox.admin.set_permission(repo.full_name, "team-org/release-engineers", "maintain")
    assert r.get_collaborator_permission(member.login) == "write"
