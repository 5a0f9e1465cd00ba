"""The GitHub connection: token checks and error wrapping (no network)."""

from __future__ import annotations

import github
import pytest
import requests

from valet import gha, github_client
from valet.errors import GitHubError, UsageError


@pytest.fixture(autouse=True)
def _fresh_masks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gha, "_masked", set())


@pytest.mark.parametrize("token", [None, ""])
def test_require_token_missing_says_how_to_fix(token: str | None) -> None:
    with pytest.raises(UsageError) as info:
        github_client.require_token(token, what="publish-token")
    assert "publish-token" in info.value.message
    assert info.value.hint and "publish-token:" in info.value.hint
    assert "GITHUB_TOKEN" in info.value.hint


def test_require_token_masks_it(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert github_client.require_token("ghs_abcdef123") == "ghs_abcdef123"
    assert "::add-mask::ghs_abcdef123" in capsys.readouterr().out
    assert gha.redact("ghs_abcdef123") == "***"


def test_connect_without_token_fails_before_any_request() -> None:
    with pytest.raises(UsageError):
        github_client.connect(None)


def test_connect_uses_the_configured_api_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9/api/v3/")
    gh = github_client.connect("tok_for_test")
    assert gh.requester.base_url == "http://127.0.0.1:9/api/v3"


def _gh_exc(status: int, message: str) -> github.GithubException:
    return github.GithubException(status, {"message": message}, None)


def test_wrap_401_points_at_the_token() -> None:
    err = github_client.wrap(_gh_exc(401, "Bad credentials"), "reading issue #3")
    assert isinstance(err, GitHubError)
    assert err.message == "reading issue #3 failed: HTTP 401: Bad credentials"
    assert err.hint and "token is invalid or expired" in err.hint


@pytest.mark.parametrize("status", [403, 404])
def test_wrap_403_404_point_at_permissions(status: int) -> None:
    err = github_client.wrap(_gh_exc(status, "Not Found"), "listing labels")
    assert err.message == f"listing labels failed: HTTP {status}: Not Found"
    assert err.hint and "permissions" in err.hint


@pytest.mark.parametrize("exc", [_gh_exc(403, "API rate limit exceeded for installation"),
                                 _gh_exc(429, "Too Many Requests")])
def test_wrap_rate_limit_is_not_a_permissions_problem(exc: github.GithubException) -> None:
    err = github_client.wrap(exc, "listing issues")
    assert err.hint and "rate limit" in err.hint
    assert "permissions" not in err.hint


def test_wrap_server_error_has_no_misleading_hint() -> None:
    err = github_client.wrap(_gh_exc(502, "Bad Gateway"), "merging")
    assert err.message == "merging failed: HTTP 502: Bad Gateway"
    assert err.hint is None


def test_wrap_network_error_keeps_its_text() -> None:
    err = github_client.wrap(requests.ConnectionError("connection refused"), "cloning")
    assert err.message == "cloning failed: connection refused"
    assert err.exit_code == 9
