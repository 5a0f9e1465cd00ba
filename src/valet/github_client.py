"""The GitHub connection: PyGithub for the API, one requests session for asset bytes.

Everything that talks to GitHub gets its client from here so that the base
URL (the sandbox, GHES or api.github.com), retries, timeouts and masking are
decided once.
"""

from __future__ import annotations

import os
import time
from typing import Any
from urllib.parse import urlparse

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.util.retry import Retry

from valet import gha
from valet.errors import GitHubError, UsageError

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_SERVER_URL = "https://github.com"
USER_AGENT = "valet-release"


def api_url() -> str:
    return (os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")


def server_url() -> str:
    return (os.environ.get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL).rstrip("/")


def _is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


def timeout() -> float:
    return float(os.environ.get("VALET_HTTP_TIMEOUT", "30"))


def retry_backoff() -> float:
    return float(os.environ.get("VALET_RETRY_BACKOFF", "1.0"))


def require_token(token: str | None, what: str = "github-token") -> str:
    if not token:
        raise UsageError(
            f"no GitHub token given ({what})",
            hint=f"pass `{what}: ${{{{ steps.app-token.outputs.token }}}}` to the action, "
            "or set GITHUB_TOKEN when running locally",
        )
    gha.add_mask(token)
    return token


def connect(token: str | None, *, base_url: str | None = None, what: str = "github-token"):  # type: ignore[no-untyped-def]
    """A PyGithub client with retries on 5xx and rate limits."""
    import github
    from github import Auth, GithubRetry

    token = require_token(token, what)
    url = (base_url or api_url()).rstrip("/")
    loopback = _is_loopback(url)
    retry = GithubRetry(
        total=int(os.environ.get("VALET_RETRIES", "5")),
        backoff_factor=retry_backoff(),
        secondary_rate_wait=float(os.environ.get("VALET_SECONDARY_RATE_WAIT", "60")),
        status_forcelist=[500, 502, 503, 504],  # GithubRetry appends 403 to a list
        allowed_methods=None,  # retried for every verb; our writes are idempotent or checked
    )
    return github.Github(
        auth=Auth.Token(token),
        base_url=url,
        timeout=int(timeout()),
        user_agent=USER_AGENT,
        per_page=100,
        retry=retry,
        seconds_between_requests=None,
        # GitHub asks for a pause between content-creating calls; not needed on loopback.
        seconds_between_writes=None if loopback else 0.25,
        lazy=True,
    )


class ReadRetry(Retry):
    """Retries for the asset session's reads (GET/HEAD: always safe to repeat).

    5xx answers and timeouts back off like the PyGithub client; a rate-limit 403/429
    waits for Retry-After or X-RateLimit-Reset; any other 403/429 is answered as is.
    Uploads (POST) are never retried here: the store retries them itself, after
    removing what a failed attempt left behind.
    """

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code in (403, 429) and self._is_method_retryable(method):
            return bool(self.total)  # increment() looks at the headers
        return super().is_retry(method, status_code, has_retry_after)

    def increment(self, method: str | None = None, url: str | None = None,
                  response: Any = None, error: Exception | None = None, _pool: Any = None,
                  _stacktrace: Any = None) -> ReadRetry:
        if response is not None and response.status in (403, 429) and not _rate_limited(response):
            # not a rate limit: a permissions answer the caller must see
            raise MaxRetryError(_pool, url or "", ResponseError(f"HTTP {response.status}"))
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def get_retry_after(self, response: Any) -> float | None:
        after = super().get_retry_after(response)
        if after is not None:
            return after
        reset = response.headers.get("X-RateLimit-Reset", "")
        if response.headers.get("X-RateLimit-Remaining") == "0" and reset.isdigit():
            return max(0.0, min(int(reset) - time.time() + 1, _max_rate_wait()))
        return None


def _rate_limited(response: Any) -> bool:
    return bool(response.headers.get("Retry-After")) or \
        response.headers.get("X-RateLimit-Remaining") == "0"


def _max_rate_wait() -> float:
    return float(os.environ.get("VALET_SECONDARY_RATE_WAIT", "60")) * 5


def session(token: str | None) -> requests.Session:
    """A plain session for streaming asset downloads and uploads (reads are retried)."""
    s = requests.Session()
    retry = ReadRetry(total=int(os.environ.get("VALET_RETRIES", "5")),
                      backoff_factor=retry_backoff(),
                      status_forcelist=[500, 502, 503, 504],
                      allowed_methods=frozenset({"GET", "HEAD"}), raise_on_status=False,
                      respect_retry_after_header=True)
    for prefix in ("http://", "https://"):
        s.mount(prefix, HTTPAdapter(max_retries=retry))
    s.headers["User-Agent"] = USER_AGENT
    s.headers["X-GitHub-Api-Version"] = "2022-11-28"
    if token:
        gha.add_mask(token)
        s.headers["Authorization"] = f"Bearer {token}"
    return s


def wrap(exc: Exception, doing: str) -> GitHubError:
    """Turn a PyGithub/requests exception into a GitHubError that says what we were doing."""
    status = getattr(exc, "status", None)
    data = getattr(exc, "data", None)
    message = data.get("message") if isinstance(data, dict) else None
    detail = f"HTTP {status}: {message}" if status else str(exc)
    hint = None
    if status == 429 or (status == 403 and "rate limit" in (message or "").lower()):
        # A 403 for a rate limit is not a permissions problem: do not send people to
        # the App settings for it.
        hint = "GitHub's API rate limit was hit: wait for the limit to reset and re-run"
    elif status in (401,):
        hint = "the token is invalid or expired: check the secret passed as github-token"
    elif status in (403, 404):
        hint = ("the token cannot see or change this resource: check the GitHub App's "
                "installation and permissions for the repository")
    return GitHubError(f"{doing} failed: {detail}", hint=hint)
