"""The GitHub connection: PyGithub for the API, one requests session for asset bytes.

Everything that talks to GitHub gets its client from here so that the base
URL (the sandbox, GHES or api.github.com), retries, timeouts, pacing and
masking are decided once.

Retries: a read, and a write that sets a state (PATCH, PUT, DELETE: repeating
it lands in the same state), is retried on 5xx and timeouts with backoff; a
rate-limit answer (403/429 with ``Retry-After``, or ``X-RateLimit-Remaining:
0`` until ``X-RateLimit-Reset``) waits as GitHub asks. A POST creates
something (a comment, a release, a dispatched run): it is never retried here
after a timeout or a 5xx, because GitHub may have acted on it; the caller
decides (publish_api.Rest re-reads before it tries again). Every write is paced
(valet.pacing).
"""

from __future__ import annotations

import os
import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.util.retry import Retry

from valet import gha, pacing
from valet.errors import GitHubError, UsageError

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_SERVER_URL = "https://github.com"
USER_AGENT = "valet-release"


def api_url() -> str:
    return (os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")


def server_url() -> str:
    return (os.environ.get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL).rstrip("/")


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


# Verbs retried after a timeout or a 5xx: they read, or set a state that a repeat sets again.
RETRIED_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})


def connect(token: str | None, *, base_url: str | None = None, what: str = "github-token"):  # type: ignore[no-untyped-def]
    """A PyGithub client with retries on 5xx and rate limits (POST: rate limits only, see
    the module docstring) and paced writes."""
    import github
    from github import Auth, GithubRetry

    token = require_token(token, what)
    url = (base_url or api_url()).rstrip("/")
    retry = GithubRetry(
        total=int(os.environ.get("VALET_RETRIES", "5")),
        backoff_factor=retry_backoff(),
        secondary_rate_wait=float(os.environ.get("VALET_SECONDARY_RATE_WAIT", "60")),
        # GithubRetry appends 403 (retried only for a rate limit); 429 waits for Retry-After.
        status_forcelist=[429, 500, 502, 503, 504],
        allowed_methods=RETRIED_METHODS,
    )
    gh = github.Github(
        auth=Auth.Token(token),
        base_url=url,
        timeout=int(timeout()),
        user_agent=USER_AGENT,
        per_page=100,
        retry=retry,
        seconds_between_requests=None,
        seconds_between_writes=None,  # valet.pacing paces every client of the process at once
        lazy=True,
    )
    _pace(gh.requester)
    return gh


def token_of(gh: Any) -> str | None:
    """The token a PyGithub client of ``connect`` authenticates with (None: none)."""
    auth = getattr(getattr(gh, "requester", None), "auth", None)
    token = getattr(auth, "token", None)
    return token if isinstance(token, str) else None


def _pace(requester: Any) -> None:
    """Route the requester's calls through the process's write pacer.

    Every PyGithub object made from this client calls its requester's request
    methods (``verb`` first); wrapping them on this one instance paces them all."""
    for name in ("requestJsonAndCheck", "requestBlobAndCheck", "requestMultipartAndCheck",
                 "requestMemoryBlobAndCheck"):
        original = getattr(requester, name, None)
        if original is None:
            continue

        def paced(verb: str, url: str, *args: Any, _original: Any = original,
                  **kwargs: Any) -> Any:
            # (verb, url, parameters, headers, input): a GraphQL body says if it mutates
            body = kwargs.get("input", args[2] if len(args) > 2 else None)
            pacing.before_write(verb, url, body)
            return _original(verb, url, *args, **kwargs)

        setattr(requester, name, paced)


class ApiRetry(Retry):
    """Retries for valet's own sessions (the asset session, publish_api.Rest).

    5xx answers and timeouts back off like the PyGithub client; a rate-limit 403/429
    waits for Retry-After or X-RateLimit-Reset; any other 403/429 is answered as is.
    Only the methods it is built with are retried; a POST never is (the store retries
    an upload itself after removing what a failed attempt left behind; Rest re-reads
    before it repeats a POST).
    """

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code in (403, 429) and self._is_method_retryable(method):
            return bool(self.total)  # increment() looks at the headers
        return super().is_retry(method, status_code, has_retry_after)

    def increment(self, method: str | None = None, url: str | None = None,
                  response: Any = None, error: Exception | None = None, _pool: Any = None,
                  _stacktrace: Any = None) -> ApiRetry:
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


def api_retry(methods: frozenset[str]) -> ApiRetry:
    return ApiRetry(total=int(os.environ.get("VALET_RETRIES", "5")),
                    backoff_factor=retry_backoff(), status_forcelist=[500, 502, 503, 504],
                    allowed_methods=methods, raise_on_status=False,
                    respect_retry_after_header=True)


class PacedAdapter(HTTPAdapter):
    """An adapter whose writes wait for the process's pacer (valet.pacing)."""

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        pacing.before_write(str(request.method or "GET"), str(request.url or ""),
                            request.body)
        return super().send(request, *args, **kwargs)


def session(token: str | None, *, methods: frozenset[str] = frozenset({"GET", "HEAD"}),
            pool: int = 10) -> requests.Session:
    """A plain session for streaming asset downloads and uploads (reads are retried;
    ``methods`` widens that); writes are paced."""
    s = requests.Session()
    retry = api_retry(methods)
    for prefix in ("http://", "https://"):
        s.mount(prefix, PacedAdapter(max_retries=retry, pool_connections=pool, pool_maxsize=pool))
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
