"""What the sandbox's branch rules refuse, on every channel GitHub enforces them on:
real ``git push`` through http-backend, ``POST /merges`` and git refs writes; plus the
Workflows permission (pushes and releases), check suites and child teams."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.fixtures.sandbox import unique

pytestmark = pytest.mark.sandbox


def _http() -> requests.Session:
    http = requests.Session()
    http.trust_env = False
    return http


def git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=check)


@pytest.fixture
def world(sandbox: Any, tmp_path: Path) -> dict[str, Any]:
    admin = sandbox.admin
    org = unique("rules-org")
    full = f"{org}/{unique('rules')}"
    admin.create_repo(full, files={"README.md": "hi\n"})
    dev = unique("rules-dev")
    admin.set_permission(full, dev, "write")
    slug = unique("rules-app")
    bot_token = admin.create_app(slug, repos=[full], permission="write")
    dev_token = admin.create_token(dev)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", sandbox.git_url(full, dev_token), str(clone)],
                   check=True, capture_output=True)
    return {"full": full, "dev": dev_token, "bot": bot_token, "slug": slug, "clone": clone,
            "api": f"{sandbox.api_url}/repos/{full}", "org": org}


def commit(clone: Path, path: str, text: str) -> str:
    target = clone / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    git(clone, "add", path)
    git(clone, "commit", "-qm", f"change {path}")
    return git(clone, "rev-parse", "HEAD").stdout.strip()


def test_a_push_to_a_ruleset_branch_is_declined_as_github_words_it(sandbox: Any,
                                                                   world: dict) -> None:
    sandbox.admin.protect_branch(world["full"], "main", reviews=1)
    commit(world["clone"], "a.txt", "a\n")
    push = git(world["clone"], "push", "origin", "HEAD:main", check=False)
    assert push.returncode != 0
    assert "GH013: Repository rule violations found for refs/heads/main." in push.stderr
    assert "remote: - Changes must be made through a pull request." in push.stderr
    assert "[remote rejected]" in push.stderr
    # a new branch is fine: the rule guards main only
    assert git(world["clone"], "push", "origin", "HEAD:refs/heads/feature", check=False).returncode == 0


def test_force_push_and_deletion_meet_a_protection_rule(sandbox: Any, world: dict) -> None:
    sandbox.admin.set_branch_protection(world["full"], "main", {})  # the defaults: no force, no delete
    clone = world["clone"]
    commit(clone, "b.txt", "b\n")
    assert git(clone, "push", "origin", "HEAD:main", check=False).returncode == 0  # plain push: ok
    git(clone, "reset", "-q", "--hard", "HEAD~1")
    forced = git(clone, "push", "--force", "origin", "HEAD:main", check=False)
    assert forced.returncode != 0
    assert "GH006: Protected branch update failed for refs/heads/main." in forced.stderr
    assert "Cannot force-push to this protected branch" in forced.stderr
    gone = git(clone, "push", "origin", ":main", check=False)
    assert gone.returncode != 0 and "Cannot delete this protected branch" in gone.stderr


def test_merges_need_a_pull_request_unless_the_app_bypasses(sandbox: Any, world: dict) -> None:
    http, full = _http(), world["full"]
    clone = world["clone"]
    commit(clone, "c.txt", "c\n")
    git(clone, "push", "-q", "origin", "HEAD:refs/heads/release/1.0")
    sandbox.admin.protect_branch(full, "main", reviews=1, checks=["ci/build"])
    auth = {"Authorization": f"token {world['bot']}"}
    body = {"base": "main", "head": "release/1.0"}
    refused = http.post(f"{world['api']}/merges", json=body, headers=auth, timeout=30)
    assert refused.status_code == 409
    assert refused.json()["message"] == (
        "Repository rule violations found\n\nChanges must be made through a pull request.\n\n"
        'Required status check "ci/build" is expected.\n\n')
    rules = http.get(f"{world['api']}/rulesets", headers=auth, timeout=30).json()
    assert rules[0]["current_user_can_bypass"] == "never" and "bypass_actors" not in rules[0]

    sandbox.admin.protect_branch(full, "main", reviews=1, checks=["ci/build"],
                                 bypass=[world["slug"]])
    rules = http.get(f"{world['api']}/rulesets", headers=auth, timeout=30).json()
    assert rules[0]["current_user_can_bypass"] == "always"
    merged = http.post(f"{world['api']}/merges", json=body, headers=auth, timeout=30)
    assert merged.status_code == 201
    # the developer is still bound by the rules: a ref update is refused (422)
    dev = {"Authorization": f"token {world['dev']}"}
    moved = http.patch(f"{world['api']}/git/refs/heads/main", headers=dev, timeout=30,
                       json={"sha": merged.json()["parents"][1]["sha"], "force": True})
    assert moved.status_code == 422 and "Cannot force-push to this branch" in moved.json()["message"]


def test_a_protection_rule_lets_its_bypass_apps_and_admins_merge(sandbox: Any,
                                                                 world: dict) -> None:
    http, full = _http(), world["full"]
    commit(world["clone"], "d.txt", "d\n")
    git(world["clone"], "push", "-q", "origin", "HEAD:refs/heads/topic")
    rule = {"required_pull_request_reviews": {"required_approving_review_count": 1}}
    sandbox.admin.set_branch_protection(full, "main", rule)
    auth = {"Authorization": f"token {world['bot']}"}
    body = {"base": "main", "head": "topic"}
    refused = http.post(f"{world['api']}/merges", json=body, headers=auth, timeout=30)
    assert refused.status_code == 409
    assert refused.json()["message"] == "Changes must be made through a pull request."
    rule["required_pull_request_reviews"]["bypass_pull_request_allowances"] = {
        "apps": [world["slug"]]}
    sandbox.admin.set_branch_protection(full, "main", rule)
    assert http.post(f"{world['api']}/merges", json=body, headers=auth, timeout=30).status_code == 201


def test_an_app_without_workflows_permission_cannot_push_or_release_workflows(
        sandbox: Any, world: dict, tmp_path: Path) -> None:
    http, full = _http(), world["full"]
    app_clone = tmp_path / "app-clone"
    subprocess.run(["git", "clone", "-q", sandbox.git_url(full, world["bot"]), str(app_clone)],
                   check=True, capture_output=True)
    sha = commit(app_clone, ".github/workflows/ci.yml", "on: push\n")
    push = git(app_clone, "push", "origin", "HEAD:refs/heads/wf", check=False)
    assert push.returncode != 0
    assert ("refusing to allow a GitHub App to create or update workflow "
            "`.github/workflows/ci.yml` without `workflows` permission") in push.stderr
    # a person may; the App may then not make a release of that commit (404, as GitHub)
    git(app_clone, "push", "-q", sandbox.git_url(full, world["dev"]), "HEAD:refs/heads/wf")
    auth = {"Authorization": f"token {world['bot']}"}
    release = {"tag_name": "v1.0.0", "target_commitish": sha, "draft": True}
    assert http.post(f"{world['api']}/releases", json=release, headers=auth,
                     timeout=30).status_code == 404
    sandbox.admin.create_app(world["slug"], workflows=True)
    assert http.post(f"{world['api']}/releases", json=release, headers=auth,
                     timeout=30).status_code == 201


def test_check_suites_show_queued_ci_before_any_run(sandbox: Any, world: dict) -> None:
    http = _http()
    head = sandbox.admin.set_ci(world["full"], "main",
                                check_suites=[{"app": "github-actions", "status": "queued"}])
    auth = {"Authorization": f"token {world['dev']}"}
    suites = http.get(f"{world['api']}/commits/{head}/check-suites", headers=auth,
                      timeout=30).json()
    assert [(s["status"], s["latest_check_runs_count"]) for s in suites["check_suites"]] == [
        ("queued", 0)]
    runs = http.get(f"{world['api']}/commits/{head}/check-runs", headers=auth, timeout=30).json()
    assert runs["total_count"] == 0  # what a gate reading only runs would take for "nothing"
    sandbox.admin.set_ci(world["full"], head, check_runs=[
        {"name": "build", "status": "completed", "conclusion": "failure"}])
    suites = http.get(f"{world['api']}/commits/{head}/check-suites", headers=auth,
                      timeout=30).json()["check_suites"]
    assert [(s["status"], s["conclusion"]) for s in suites] == [("completed", "failure")]


def test_team_membership_includes_child_teams(sandbox: Any, world: dict) -> None:
    http, org = _http(), world["org"]
    child_member = unique("rules-child")
    sandbox.admin.create_team(org, "release", [])
    sandbox.admin.create_team(org, "sdk-leads", [child_member], parent="release")
    auth = {"Authorization": f"token {world['dev']}"}
    got = http.get(f"{sandbox.api_url}/orgs/{org}/teams/release/memberships/{child_member}",
                   headers=auth, timeout=30)
    assert got.status_code == 200 and got.json()["state"] == "active"
    members = http.get(f"{sandbox.api_url}/orgs/{org}/teams/release/members", headers=auth,
                       timeout=30).json()
    assert [(m["login"], m["inherited"]) for m in members] == [(child_member, True)]
