"""Branch protection in the sandbox: the `protected` flag GitHub shows to every reader,
a protection rule to admins only, a ruleset's rules to everyone, and the admin calls
that set them. What the rules refuse is in test_rules.py."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.fixtures.sandbox import unique
from valet.sandbox.client import SandboxAdminError

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def repo(sandbox: Any) -> dict[str, Any]:
    admin = sandbox.admin
    owner = unique("prot-owner")
    full = f"{owner}/{unique('prot')}"
    admin.create_repo(full)
    reader = unique("prot-reader")
    admin.set_permission(full, reader, "read")
    http = requests.Session()
    http.trust_env = False
    return {"full": full, "owner": admin.create_token(owner), "reader": admin.create_token(reader),
            "http": http, "api": f"{sandbox.api_url}/repos/{full}"}


def get(repo: dict[str, Any], path: str, who: str = "reader") -> requests.Response:
    return repo["http"].get(repo["api"] + path, timeout=30,
                            headers={"Authorization": f"token {repo[who]}"})


def test_a_branch_is_unprotected_until_the_admin_protects_it(sandbox: Any, repo: dict) -> None:
    main = get(repo, "/branches/main").json()
    assert main["protected"] is False and main["protection"]["enabled"] is False
    assert get(repo, "/branches/main/protection", "owner").json()["message"] == \
        "Branch not protected"

    sandbox.admin.protect_branch(repo["full"], "main")  # a ruleset
    main = get(repo, "/branches/main").json()
    assert main["protected"] is True and main["protection"]["enabled"] is True
    listed = {b["name"]: b["protected"] for b in get(repo, "/branches").json()}
    assert listed == {"main": True}
    # A ruleset is not a protection rule: that endpoint still says so (as GitHub does),
    # while every reader sees the ruleset's rules.
    assert get(repo, "/branches/main/protection", "owner").json()["message"] == \
        "Branch not protected"
    rules = get(repo, "/rules/branches/main").json()
    assert [r["type"] for r in rules] == ["deletion", "non_fast_forward", "pull_request"]
    assert rules[2]["parameters"]["required_approving_review_count"] == 1
    assert {r["ruleset_source_type"] for r in rules} == {"Repository"}

    sandbox.admin.set_branch_protection(repo["full"], "main", {
        "required_pull_request_reviews": {"required_approving_review_count": 2}})
    rule = get(repo, "/branches/main/protection", "owner")
    assert rule.status_code == 200 and rule.json()["url"].endswith("/branches/main/protection")
    assert rule.json()["required_pull_request_reviews"]["required_approving_review_count"] == 2
    # the rule is for admins; the flag above is for everyone who can read the repo
    assert get(repo, "/branches/main/protection").status_code == 404

    sandbox.admin.set_branch_protection(repo["full"], "main", None)
    sandbox.admin.protect_branch(repo["full"], "main", protected=False)
    assert get(repo, "/branches/main").json()["protected"] is False
    assert get(repo, "/rules/branches/main").json() == []


def test_protection_is_per_branch_and_survives_branch_creation(sandbox: Any, repo: dict) -> None:
    sandbox.admin.protect_branch(repo["full"], "release/2.0")  # a ruleset may name it first
    owner = {"Authorization": f"token {repo['owner']}"}
    sha = get(repo, "/branches/main").json()["commit"]["sha"]
    for ref in ("refs/heads/release/2.0", "refs/heads/feature-x"):
        made = repo["http"].post(repo["api"] + "/git/refs", json={"ref": ref, "sha": sha},
                                 headers=owner, timeout=30)
        assert made.status_code == 201
    assert get(repo, "/branches/release/2.0").json()["protected"] is True
    assert get(repo, "/branches/feature-x").json()["protected"] is False
    state = sandbox.admin.state()["repos"][repo["full"].lower()]
    assert [rs["name"] for rs in state["rulesets"]] == ["protect release/2.0"]


def test_protecting_a_bad_name_or_unknown_repo_is_refused(sandbox: Any, repo: dict) -> None:
    with pytest.raises(SandboxAdminError, match="invalid branch name"):
        sandbox.admin.protect_branch(repo["full"], "bad..name")
    with pytest.raises(SandboxAdminError, match="no repository"):
        sandbox.admin.protect_branch("nobody/nothing", "main")


def test_sdk_api_reads_protection_with_an_app_token(sandbox: Any, sandbox_env: Any,
                                                     repo: dict) -> None:
    from valet import github_client
    from valet.publish_api import Rest, SdkAPI

    token = sandbox.admin.create_app(unique("prot-app"), repos=[repo["full"]],
                                     permission="write")
    sdk = SdkAPI(Rest(github_client.connect(token)), repo["full"])
    sandbox.admin.protect_branch(repo["full"], "main")
    assert sdk.branch_protected("main") is True
    assert sdk.branch_protected("feature-x") is False  # made by the test above
    assert sdk.branch_protected("no-such-branch") is None
    before = len(sandbox.admin.request_log())
    sdk.branch_protected("release/2.0")
    calls = sandbox.admin.request_log()[before:]
    assert [(c["method"], c["path"]) for c in calls] == [
        ("GET", f"/repos/{repo['full']}/branches/release/2.0")]
