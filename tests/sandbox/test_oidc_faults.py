"""OIDC id-tokens, fault injection, rate-limit headers, request log and persistence."""

from __future__ import annotations

import base64
import json

import github
import pytest
import requests

from valet.sandbox import Sandbox

pytestmark = pytest.mark.sandbox


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_oidc_token_is_a_verifiable_jwt(gh_repo_factory, sandbox):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    repo = gh_repo_factory()
    rt = sandbox.admin.create_oidc_request_token(repo.full_name, environment="production")
    env = sandbox.oidc_env(rt)
    resp = requests.get(env["ACTIONS_ID_TOKEN_REQUEST_URL"], params={"audience": "pypi"},
                        headers={"Authorization": f"bearer {rt}"}, timeout=10)
    assert resp.status_code == 200
    header, claims, sig = resp.json()["value"].split(".")
    body = json.loads(_b64(claims))
    assert body["aud"] == "pypi" and body["repository"] == repo.full_name
    assert body["sub"] == f"repo:{repo.full_name}:environment:production"
    issuer = body["iss"]
    jwks = requests.get(f"{issuer}/.well-known/jwks", timeout=10).json()["keys"][0]
    key = rsa.RSAPublicNumbers(int.from_bytes(_b64(jwks["e"]), "big"),
                               int.from_bytes(_b64(jwks["n"]), "big")).public_key()
    key.verify(_b64(sig), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
    bad = requests.get(env["ACTIONS_ID_TOKEN_REQUEST_URL"],
                       headers={"Authorization": "bearer nope"}, timeout=10)
    assert bad.status_code == 401


def test_n_errors_then_success_with_retries(gh_repo_factory, sandbox):
    repo = gh_repo_factory()
    path = f"/repos/{repo.full_name}/issues$"
    sandbox.admin.add_fault(path=path, method="POST", kind="status", status=502, count=2)
    retry = github.GithubRetry(total=3, backoff_factor=0, status_forcelist=[502],
                               allowed_methods=None)
    gh = github.Github(auth=github.Auth.Token(repo.token), base_url=sandbox.api_url,
                       retry=retry, seconds_between_writes=None, lazy=True)
    sandbox.admin.clear_request_log()
    issue = gh.get_repo(repo.full_name).create_issue("after two 502s")
    assert issue.number == 1
    statuses = [e["status"] for e in sandbox.admin.request_log()
                if e["path"].endswith(f"{repo.full_name}/issues") and e["method"] == "POST"]
    assert statuses == [502, 502, 201]
    assert sandbox.admin.faults() == []  # used up


def test_fault_without_retry_surfaces(gh_repo_factory, gh_client, sandbox):
    repo = gh_repo_factory()
    sandbox.admin.add_fault(path=f"/repos/{repo.full_name}$", kind="status", status=503)
    gh = gh_client(repo.token)
    with pytest.raises(github.GithubException) as exc:
        gh.get_repo(repo.full_name)
    assert exc.value.status == 503
    assert gh.get_repo(repo.full_name).name == repo.name  # the fault answered once


def test_latency_and_hang(gh_repo_factory, sandbox):
    repo = gh_repo_factory()
    url = f"{sandbox.api_url}/repos/{repo.full_name}"
    fault = sandbox.admin.add_fault(path=f"/repos/{repo.full_name}/branches$", kind="latency",
                                    seconds=0.3)
    for _ in range(2):
        assert requests.get(f"{url}/branches", timeout=10).status_code == 200
    hits = [f for f in sandbox.admin.faults() if f["id"] == fault["id"]]
    assert hits[0]["hits"] == 2  # latency applies to every match until cleared
    slow = [e for e in sandbox.admin.request_log() if e["path"].endswith("/branches")
            and repo.full_name in e["path"]]
    assert all(e["ms"] >= 300 for e in slow)
    sandbox.admin.clear_faults()
    sandbox.admin.add_fault(path=f"/repos/{repo.full_name}/tags$", kind="hang", seconds=2)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{url}/tags", timeout=0.5)
    assert requests.get(f"{url}/tags", timeout=10).status_code == 200


def test_rate_limit_faults_and_headers(gh_repo_factory, sandbox):
    repo = gh_repo_factory()
    h = {"Authorization": f"token {repo.token}"}
    url = f"{sandbox.api_url}/repos/{repo.full_name}"
    first = requests.get(url, headers=h, timeout=10)
    second = requests.get(url, headers=h, timeout=10)
    assert int(second.headers["X-RateLimit-Remaining"]) < int(first.headers["X-RateLimit-Remaining"])
    assert second.headers["X-RateLimit-Resource"] == "core"
    sandbox.admin.add_fault(path=f"/repos/{repo.full_name}$", kind="ratelimit", seconds=30)
    limited = requests.get(url, headers=h, timeout=10)
    assert limited.status_code == 403 and limited.headers["X-RateLimit-Remaining"] == "0"
    assert int(limited.headers["X-RateLimit-Reset"]) > int(first.headers["X-RateLimit-Reset"]) - 3600
    assert "rate limit" in limited.json()["message"]
    sandbox.admin.add_fault(path=f"/repos/{repo.full_name}$", kind="secondary_ratelimit",
                            seconds=7)
    secondary = requests.get(url, headers=h, timeout=10)
    assert secondary.status_code == 403 and secondary.headers["Retry-After"] == "7"
    assert "secondary rate limit" in secondary.json()["message"]
    assert requests.get(url, headers=h, timeout=10).status_code == 200
    rl = requests.get(f"{sandbox.api_url}/rate_limit", headers=h, timeout=10).json()
    assert rl["resources"]["core"]["limit"] == 5000


def test_request_log_records_user(gh_repo_factory, sandbox):
    repo = gh_repo_factory()
    sandbox.admin.clear_request_log()
    repo.gh().get_issues().totalCount  # noqa: B018
    log = sandbox.admin.request_log()
    assert log and all(e["user"] == repo.owner for e in log)
    assert log[0]["method"] == "GET" and log[0]["path"].startswith(f"/repos/{repo.full_name}")
    assert log[0]["kind"] == "api" and log[0]["full_path"].startswith("/api/v3/repos/")


def test_state_persists_across_restarts(tmp_path):
    with Sandbox(state_dir=tmp_path / "state") as sb:
        token = sb.admin.create_token("persisted")
        sb.admin.create_repo("persisted/repo", files={"f.txt": "1"})
        gh = github.Github(auth=github.Auth.Token(token), base_url=sb.api_url)
        gh.get_repo("persisted/repo").create_issue("kept")
        sha = gh.get_repo("persisted/repo").get_branch("main").commit.sha
    with Sandbox(state_dir=tmp_path / "state") as sb:
        gh = github.Github(auth=github.Auth.Token(token), base_url=sb.api_url)
        r = gh.get_repo("persisted/repo")
        assert r.get_issue(1).title == "kept"
        assert r.get_branch("main").commit.sha == sha
