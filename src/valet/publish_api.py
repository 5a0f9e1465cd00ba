"""The GitHub REST calls publish makes, in one small facade.

Publish talks to exact REST endpoints (issues, labels, events, comments,
collaborator permission, team membership, contents, statuses, check runs,
merges, refs) through ``Rest``: one token, the retry policy, pacing and base URL
chosen in github_client, reads that can start ahead (``prefetch``) and
conditional reads (``get_conditional``). Keeping the calls here lets the
orchestration be tested against a stub with the same methods, and lets the
sandbox see the same requests GitHub would.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from valet import issue_query
from valet.errors import GitHubError
from valet.github_client import wrap

# The queries are built in issue_query (pure); their names stay importable from here.
from valet.issue_query import EDITS_LIMIT as EDITS_LIMIT
from valet.issue_query import EDITS_QUERY as EDITS_QUERY
from valet.issue_query import VIEWER_EDITS_QUERY as VIEWER_EDITS_QUERY
from valet.issue_query import VIEWER_QUERY as VIEWER_QUERY
from valet.issue_query import rest_login

_NEXT_RE = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


class NotFound(GitHubError):
    """A 404 (or 422 on a missing ref) that a caller may treat as an answer."""


@dataclass(frozen=True)
class Edit:
    """One edit of an issue body: who (None: a deleted account), when, the body after it."""

    login: str | None
    at: str
    body: str


class EditHistory(list[Edit]):
    """The edits of a body, oldest first; ``complete`` is False when GitHub holds more
    than were read (the oldest are missing)."""

    complete: bool = True


def graphql_url(api_url: str) -> str:
    """GITHUB_GRAPHQL_URL, else derived from the REST URL: ``https://api.github.com`` ->
    ``https://api.github.com/graphql``; GHES ``https://HOST/api/v3`` -> ``https://HOST/api/graphql``."""
    explicit = (os.environ.get("GITHUB_GRAPHQL_URL") or "").strip()
    if explicit:
        return explicit.rstrip("/")
    parts = urlsplit(api_url.rstrip("/"))
    path = parts.path[: -len("/v3")] if parts.path.endswith("/v3") else parts.path
    return urlunsplit((parts.scheme, parts.netloc, f"{path}/graphql", "", ""))


@dataclass(frozen=True)
class Conditional:
    """A conditional GET's answer: 304 (``data`` None, the ETag sent) or 200 with its ETag."""

    status: int
    etag: str | None
    data: Any

    @property
    def changed(self) -> bool:
        return self.status != 304


@dataclass(frozen=True)
class Page:
    """One page of a paginated list as read: where (``url`` and ``params``), its ETag, its
    JSON. A later read of ``url`` with ``If-None-Match: etag`` tells whether it changed."""

    url: str
    params: dict[str, Any] | None
    etag: str | None
    data: Any


# A POST's fate after a timeout or 5xx is unknown: ``Confirm`` looks (a read) and returns
# what the POST would have answered when its effect is there, else None (then it is sent
# again). ``SAFE`` marks a POST that reads (GraphQL) or sets a state (labels, merges).
Confirm = Callable[[], Any]
SAFE: Confirm = lambda: None  # noqa: E731 - a marker, compared by identity
POST_ATTEMPTS = 3
PREFETCH_WORKERS = 16  # GitHub asks for at most 100 requests at once


class Rest:
    """Raw REST for one token: concurrent, paced, retried as github_client decides.

    Every thread gets its own session (a requests session is not shared across
    threads safely). ``prefetch`` starts a GET in the background; the next ``call``
    of that same GET takes its answer instead of asking again (once: a later call
    reads afresh). Checks stay in their order; their reads are already under way.
    """

    def __init__(self, gh: Any = None, *, token: str | None = None,
                 base_url: str | None = None) -> None:
        from valet.github_client import api_url

        if gh is not None:  # a PyGithub client: the same token and API URL
            from valet.github_client import token_of

            token = token or token_of(gh)
            base_url = base_url or gh.requester.base_url
        self.token = token
        self.base_url = (base_url or api_url()).rstrip("/")
        self._local = threading.local()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._ahead: dict[tuple[Any, ...], Future[Any]] = {}
        self._shared: dict[str, Future[Any]] = {}
        self._held: dict[str, Any] = {}
        self._ahead_lock = threading.Lock()

    # -- transport ------------------------------------------------------------------
    def _session(self) -> Any:
        s = getattr(self._local, "session", None)
        if s is None:
            from valet.github_client import RETRIED_METHODS, session

            s = session(self.token, methods=RETRIED_METHODS)
            s.headers["Accept"] = "application/vnd.github+json"
            self._local.session = s
        return s

    def _url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            a, b = urlsplit(path), urlsplit(self.base_url)
            if (a.scheme, a.netloc) != (b.scheme, b.netloc):
                # the token only ever goes to the API's own host
                raise GitHubError(f"refusing to send the token to {a.scheme}://{a.netloc}, "
                                  f"which is not the API host {b.netloc}")
            return path
        return f"{self.base_url}{path}"

    def _send(self, verb: str, path: str, params: dict[str, Any] | None, body: Any,
              headers: dict[str, str] | None, doing: str) -> Any:
        import requests

        from valet.github_client import timeout

        try:
            return self._session().request(verb, self._url(path), params=params,
                                           json=body if body is not None else None,
                                           headers=headers, timeout=timeout(),
                                           allow_redirects=True)
        except requests.exceptions.RetryError as exc:
            raise _Unsure(wrap(exc, doing)) from None
        except requests.RequestException as exc:
            raise _Unsure(wrap(exc, doing)) from None

    @staticmethod
    def _answer(resp: Any, doing: str) -> tuple[dict[str, Any], Any]:
        headers = {k.lower(): v for k, v in resp.headers.items()}
        if resp.status_code in (200, 201, 202, 204, 304):
            if resp.status_code in (204, 304) or not resp.content:
                return headers, None
            try:
                return headers, resp.json()
            except ValueError:
                raise GitHubError(f"{doing} failed: the answer is not JSON") from None
        try:
            message = resp.json().get("message", "")
        except (ValueError, AttributeError):
            message = resp.text[:200]
        exc = Exception(message)
        exc.status = resp.status_code  # type: ignore[attr-defined]
        exc.data = {"message": message}  # type: ignore[attr-defined]
        err = wrap(exc, doing)
        if resp.status_code == 404:
            raise NotFound(err.message, hint=err.hint)
        if resp.status_code >= 500:
            raise _Unsure(err)
        if resp.status_code in (403, 429) and _rate_limited(headers):
            raise _RateLimited(err, _rate_wait(headers))
        raise err

    # -- calls ----------------------------------------------------------------------
    def call(self, verb: str, path: str, *, params: dict[str, Any] | None = None,
             body: Any = None, doing: str = "", headers: dict[str, str] | None = None,
             confirm: Confirm | None = None) -> tuple[dict[str, Any], Any]:
        """``(headers, decoded JSON or None)``; NotFound for a 404, GitHubError otherwise.

        A POST that timed out or got a 5xx is repeated only when ``confirm`` is given:
        ``SAFE``, or a read that finds the POST's effect (then its answer is returned)."""
        verb = verb.upper()
        doing = doing or f"{verb} {path}"
        if headers is None and (verb == "GET" and body is None or verb == "POST"):
            ahead = self._take(("GET", *_key(path, params)) if verb == "GET"
                               else ("POST", path, _body_key(body)))
            if ahead is not None:
                return ahead.result()  # type: ignore[no-any-return]
        if verb != "POST":
            try:
                return self._answer(self._send(verb, path, params, body, headers, doing), doing)
            except (_Unsure, _RateLimited) as exc:
                raise exc.error from None  # the transport already retried what it may
        return self._post(path, params, body, headers, doing, confirm)

    def _post(self, path: str, params: dict[str, Any] | None, body: Any,
              headers: dict[str, str] | None, doing: str,
              confirm: Confirm | None) -> tuple[dict[str, Any], Any]:
        from valet.github_client import retry_backoff

        last: GitHubError | None = None
        for attempt in range(1, POST_ATTEMPTS + 1):
            try:
                return self._answer(self._send("POST", path, params, body, headers, doing),
                                    doing)
            except _RateLimited as exc:  # GitHub refused it: nothing happened, wait and resend
                last = exc.error
                if attempt == POST_ATTEMPTS or exc.wait is None:
                    raise exc.error from None
                time.sleep(exc.wait)
            except _Unsure as exc:  # it may have happened: look before sending it again
                last = exc.error
                if confirm is None or attempt == POST_ATTEMPTS:
                    raise GitHubError(
                        f"{exc.error.message} (not repeated: GitHub may have acted on it)",
                        hint=exc.error.hint) from None
                if confirm is not SAFE:
                    found = confirm()
                    if found is not None:
                        return {}, found
                time.sleep(retry_backoff() * attempt)
        assert last is not None
        raise last

    def prefetch(self, path: str, params: dict[str, Any] | None = None) -> Future[Any]:
        """Start ``GET path`` now; the next identical ``call`` takes its answer. The future
        (of ``(headers, data)``) lets a read that depends on this one start when it is in."""
        return self._ahead_of(("GET", *_key(path, params)),
                              lambda: self.call("GET", path, params=params, headers={},
                                                doing=f"GET {path}"))

    def prefetch_graphql(self, query: str, variables: dict[str, Any]) -> Future[Any]:
        """Start a GraphQL query (a read) now; the next identical ``graphql`` takes it."""
        body = {"query": query, "variables": variables}
        url = graphql_url(self.base_url)
        return self._ahead_of(("POST", url, _body_key(body)),
                              lambda: self.call("POST", url, body=body, confirm=SAFE,
                                                headers={}, doing="GraphQL query"))

    def _ahead_of(self, key: tuple[Any, ...], fetch: Callable[[], Any]) -> Future[Any]:
        with self._ahead_lock:
            if key in self._ahead:
                return self._ahead[key]
            with self._pool_lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(max_workers=PREFETCH_WORKERS,
                                                    thread_name_prefix="prefetch")
                future = self._pool.submit(fetch)
            self._ahead[key] = future
            return future

    def _take(self, key: tuple[Any, ...]) -> Future[Any] | None:
        with self._ahead_lock:
            return self._ahead.pop(key, None)

    def hold(self, key: str, value: Any) -> None:
        """Keep ``value`` (a read ahead several facades of this token share, such as the
        SDK repository's joint query) for ``held``; a later ``hold`` replaces it."""
        with self._ahead_lock:
            self._held[key] = value

    def held(self, key: str) -> Any:
        with self._ahead_lock:
            return self._held.get(key)

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None

    def get_conditional(self, path: str, params: dict[str, Any] | None = None, *,
                        etag: str | None = None, doing: str = "") -> Conditional:
        """GET with ``If-None-Match``: GitHub answers 304 (and does not count it against
        the rate limit) when nothing changed since ``etag``."""
        doing = doing or f"GET {path}"
        headers = {"If-None-Match": etag} if etag else {}
        try:
            resp = self._send("GET", path, params, None, headers, doing)
            if resp.status_code == 304:
                return Conditional(304, etag, None)
            got, data = self._answer(resp, doing)
        except (_Unsure, _RateLimited) as exc:
            raise exc.error from None
        return Conditional(200, got.get("etag"), data)

    def graphql(self, query: str, variables: dict[str, Any], doing: str) -> dict[str, Any]:
        """``data`` of a GraphQL query; GitHubError for an error answer (sent with 200).

        The token only ever goes to the REST API's host (``_url``): a GITHUB_GRAPHQL_URL
        elsewhere is an error here, not a leak."""
        _, data = self.call("POST", graphql_url(self.base_url),
                            body={"query": query, "variables": variables}, doing=doing,
                            confirm=SAFE)
        return graphql_data(data, doing)

    def get(self, path: str, params: dict[str, Any] | None = None, doing: str = "") -> Any:
        return self.call("GET", path, params=params, doing=doing)[1]

    def get_shared(self, path: str, doing: str = "") -> Any:
        """A GET several checks of one run ask, answered once for all of them (a compare of
        two commits that each reads for its own question): a NotFound is shared too."""
        with self._ahead_lock:
            future = self._shared.get(path)
            if future is None:
                future = self._shared[path] = Future()
                mine = True
            else:
                mine = False
        if mine:
            try:
                future.set_result(self.get(path, doing=doing))
            except BaseException as exc:  # noqa: BLE001 - every asker sees the same answer
                future.set_exception(exc)
        return future.result()

    def prefetch_bytes(self, path: str, limit: int) -> Future[Any]:
        """Start ``get_bytes(path, limit)`` now; the next identical one takes its answer."""
        return self._ahead_of(("BYTES", path, str(limit)),
                              lambda: self._get_bytes(path, limit, f"GET {path}"))

    def get_bytes(self, path: str, limit: int, doing: str) -> bytes | None:
        """The body of a GET that answers a file (an artifact's zip: a redirect to storage,
        which requests follows without the token); None for 404 or 410 (expired).
        GitHubError when it is larger than ``limit`` bytes or the call fails."""
        ahead = self._take(("BYTES", path, str(limit)))
        if ahead is not None:
            return ahead.result()  # type: ignore[no-any-return]
        return self._get_bytes(path, limit, doing)

    def _get_bytes(self, path: str, limit: int, doing: str) -> bytes | None:
        import requests

        from valet.github_client import timeout

        try:
            resp = self._session().get(self._url(path), stream=True, allow_redirects=True,
                                       timeout=timeout())
        except requests.RequestException as exc:
            raise wrap(exc, doing) from None
        with resp:
            if resp.status_code in (404, 410):
                return None
            if resp.status_code != 200:
                try:
                    self._answer(resp, doing)  # raises GitHub's error, said as usual
                except (_Unsure, _RateLimited) as exc:
                    raise exc.error from None  # the transport already retried what it may
                raise GitHubError(f"{doing} failed: HTTP {resp.status_code}")
            data = bytearray()
            for block in resp.iter_content(16 * 1024):
                data += block
                if len(data) > limit:
                    raise GitHubError(f"{doing}: the answer is larger than {limit} bytes")
            return bytes(data)

    def pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        query: dict[str, Any] | None = {"per_page": 100, **(params or {})}
        url: str | None = path
        seen = 0
        while url:
            headers, data = self.call("GET", url, params=query)
            yield data
            seen += 1
            query = None  # the next link carries the query
            link = headers.get("link") or ""
            match = _NEXT_RE.search(link)
            url = match.group(1) if match and seen < 1000 else None

    def read_pages(self, path: str, params: dict[str, Any] | None = None) -> list[Page]:
        """Every page of a paginated GET, each with the ETag GitHub gave it."""
        query: dict[str, Any] | None = {"per_page": 100, **(params or {})}
        url: str | None = path
        out: list[Page] = []
        while url and len(out) < 1000:
            headers, data = self.call("GET", url, params=query, headers={})
            out.append(Page(url, query, headers.get("etag"), data))
            query = None  # the next link carries the query
            match = _NEXT_RE.search(headers.get("link") or "")
            url = match.group(1) if match else None
        return out

    def unchanged(self, pages: list[Page]) -> bool:
        """Whether every page still has its ETag: conditional GETs, each a 304 (free of rate
        limit) while nothing changed; the first one that did change stops the look."""
        if not pages or any(not p.etag for p in pages):
            return False
        for page in pages:
            if self.get_conditional(page.url, page.params, etag=page.etag).changed:
                return False
        return True

    def prefetch_pages(self, path: str, params: dict[str, Any] | None = None) -> Future[Any]:
        """Start the first page of ``pages(path, params)``."""
        return self.prefetch(path, {"per_page": 100, **(params or {})})

    def items(self, path: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        for page in self.pages(path, params):
            if isinstance(page, list):
                yield from page


def graphql_data(data: Any, doing: str) -> dict[str, Any]:
    """``data`` of a GraphQL answer; GitHubError for an error answer (sent with 200)."""
    if not isinstance(data, dict):
        raise GitHubError(f"{doing}: GraphQL answered no JSON object")
    errors = data.get("errors")
    if errors:
        first = errors[0] if isinstance(errors, list) and errors else {}
        message = first.get("message") if isinstance(first, dict) else None
        raise GitHubError(f"{doing}: GraphQL error: {message or errors!r}")
    out = data.get("data")
    if not isinstance(out, dict):
        raise GitHubError(f"{doing}: GraphQL answered no data")
    return out


class _Unsure(Exception):
    """The request may or may not have reached GitHub (timeout, connection, 5xx)."""

    def __init__(self, error: GitHubError) -> None:
        super().__init__(error.message)
        self.error = error


class _RateLimited(Exception):
    """GitHub refused the request for a rate limit (it did nothing); ``wait``: how long."""

    def __init__(self, error: GitHubError, wait: float | None) -> None:
        super().__init__(error.message)
        self.error = error
        self.wait = wait


def _rate_limited(headers: dict[str, str]) -> bool:
    return bool(headers.get("retry-after")) or headers.get("x-ratelimit-remaining") == "0"


def _rate_wait(headers: dict[str, str]) -> float | None:
    """Seconds GitHub asks to wait (Retry-After, else until X-RateLimit-Reset), capped."""
    cap = float(os.environ.get("VALET_SECONDARY_RATE_WAIT", "60")) * 5
    after = headers.get("retry-after", "")
    if after.strip().isdigit():
        return min(float(after), cap)
    reset = headers.get("x-ratelimit-reset", "")
    if headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
        wait = int(reset) - time.time() + 1
        return max(0.0, wait) if wait <= cap else None
    return None


SEAL_ZIP_LIMIT = 256 * 1024  # a seal's zip is well under 1 KiB


def _seal_list(repo: str, run_id: int, name: str | None = None
               ) -> tuple[str, dict[str, Any]]:
    from valet.seal import ARTIFACT

    return (f"/repos/{repo}/actions/runs/{int(run_id)}/artifacts",
            {"name": name or ARTIFACT, "per_page": 100})


def _artifact_zip(repo: str, artifact_id: int) -> str:
    return f"/repos/{repo}/actions/artifacts/{int(artifact_id)}/zip"


def _key(path: str, params: dict[str, Any] | None) -> tuple[str, tuple[tuple[str, str], ...]]:
    return path, tuple(sorted((str(k), str(v)) for k, v in (params or {}).items()))


def _body_key(body: Any) -> str:
    import json

    return json.dumps(body, sort_keys=True, separators=(",", ":"))


class _Once:
    """Call ``fn`` at most once, from whichever thread asks first."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._fn: Callable[[], Any] | None = fn
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            fn, self._fn = self._fn, None
        if fn is not None:
            fn()


def _answered(done: Future[Any], key: str) -> str | None:
    """``key`` of a read ahead's JSON answer, or None (it failed: the check will say why)."""
    try:
        _, data = done.result()
    except Exception:  # noqa: BLE001 - the check that reads it raises it again
        return None
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None


def _answer_of(done: Future[Any]) -> Any:
    try:
        return done.result()[1]
    except Exception:  # noqa: BLE001 - the check that reads it raises it again
        return None


def _lists_ancestor(compare: Any, commit: str) -> bool:
    """Whether a compare ``X...sha`` names ``commit`` as its merge base or among its
    commits: every one of those is in ``sha``'s history (a 250-commit list may be cut
    short, so only a match counts, never an absence)."""
    if not isinstance(compare, dict):
        return False
    base = compare.get("merge_base_commit")
    if isinstance(base, dict) and base.get("sha") == commit:
        return True
    return any(isinstance(c, dict) and c.get("sha") == commit
               for c in compare.get("commits") or [])


def _team_key(org: str, slug: str, login: str) -> tuple[str, str, str, str]:
    # GitHub compares organization logins, team slugs and logins without case
    return ("team", org.lower(), slug.lower(), login.lower())


def seg(value: str) -> str:
    """One URL path segment (a label name, a login)."""
    return quote(value, safe="")


def ref_path(branch: str) -> str:
    """A branch name inside a path: slashes stay, everything else is quoted."""
    return quote(branch, safe="/")


def filenames(compare: dict[str, Any]) -> list[str]:
    """The paths a compare's answer lists as changed."""
    return [str(f.get("filename")) for f in compare.get("files") or [] if isinstance(f, dict)]


def read_file(rest: Rest, repo: str, path: str, ref: str | None) -> str | None:
    """A file's text through the contents API (``ref`` None: the default branch, in the
    same one GET); None when absent."""
    import base64

    where = f"at {ref} " if ref else "on the default branch "
    try:
        data = rest.get(f"/repos/{repo}/contents/{quote(path, safe='/')}",
                        {"ref": ref} if ref else None, doing=f"reading {path} {where}in {repo}")
    except NotFound:
        return None
    if not isinstance(data, dict) or data.get("type") != "file":
        return None
    content = data.get("content") or ""
    if data.get("encoding", "base64") != "base64":
        raise GitHubError(f"{path} in {repo} came back in an unexpected encoding")
    try:
        return base64.b64decode(content).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise GitHubError(f"{path} in {repo} {where.strip()} is not UTF-8 text") from None


class IssueAPI:
    """Calls on the publish repository (github-token)."""

    def __init__(self, rest: Rest, repo: str) -> None:
        self.rest = rest
        self.repo = repo
        # The one query ``warm`` starts (issue_query.build), by the part each read takes
        # from it: "viewer", ("issue", n), ("edits", n), "policy", ("team", org, slug,
        # login), ("label", name); each with where its part is in the answer. Each part is
        # taken once; a later read asks GitHub again.
        self._joint: dict[Any, tuple[Future[Any], int]] = {}
        self._joint_lock = threading.Lock()
        # The issue ``warm`` asked for in that query (its author may answer ``app``).
        self._issue_ahead: tuple[Future[Any], int] | None = None

    def warm(self, number: int, *, approver: str | None = None,
             teams: tuple[tuple[str, str], ...] = (), role: bool = False,
             comments: bool = False, viewer: bool = False, policy: bool = False,
             labels: tuple[str, ...] = ()) -> None:
        """Start the reads a run of ``number`` makes (publish.ahead): the issue, its events
        and edits, the approver's teams or role (``role``: no approvers configured), the
        comments. In the edits' GraphQL query too: who this token is (``viewer``),
        valet-publish.yml (``policy``), the approver's membership of ``teams`` and the
        ids of ``labels`` (those the close adds). ``approver`` is the event's hint: a
        check that names someone else reads that one's membership itself."""
        from valet.publish_policy import POLICY_FILE

        self.rest.prefetch_pages(f"/repos/{self.repo}/issues/{number}/events")
        owner, _, name = self.repo.partition("/")
        asked = tuple(teams) if approver else ()
        query, variables = issue_query.build(
            owner, name, number, viewer=viewer, issue=True,
            policy_path=POLICY_FILE if policy else None, teams=asked, login=approver,
            labels=labels)
        joint = self.rest.prefetch_graphql(query, variables)
        with self._joint_lock:
            self._issue_ahead = (joint, number)
            self._joint[("issue", number)] = (joint, number)
            self._joint[("edits", number)] = (joint, 0)
            if viewer:
                self._joint["viewer"] = (joint, 0)
            if policy:
                self._joint["policy"] = (joint, 0)
            for i, (org, slug) in enumerate(asked):
                assert approver is not None
                self._joint[_team_key(org, slug, approver)] = (joint, i)
            for i, label in enumerate(labels):
                self._joint[("label", label.lower())] = (joint, i)
        if comments:
            self.rest.prefetch_pages(f"/repos/{self.repo}/issues/{number}/comments")
        if approver and role:
            self.warm_approver(approver, role=role)

    def warm_policy(self) -> None:
        """Start the REST read of valet-publish.yml (``policy_text``), for a run that does
        not ``warm`` (that one asks for it in its query)."""
        from valet.publish_policy import POLICY_FILE

        self.rest.prefetch(f"/repos/{self.repo}/contents/{POLICY_FILE}")

    def policy_text(self) -> str | None:
        """valet-publish.yml from the default branch of the publish repository (None: there
        is none), never of a ref an event or an issue names: from ``warm``'s query when it
        settles it (issue_query.policy_of), else one GET of the contents API."""
        from valet.publish_policy import POLICY_FILE

        joint = self._joint_answer("policy")
        text = issue_query.policy_of(joint[0]) if joint else issue_query.REST
        if text is not issue_query.REST:
            return text  # type: ignore[return-value]
        return read_file(self.rest, self.repo, POLICY_FILE, None)

    def label_node_id(self, name: str) -> str | None:
        """The GraphQL node id of the publish repository's label ``name`` (None: it has no
        such label): from ``warm``'s query (as the run started) when it asked, else
        ``GET /repos/{publish}/labels/{name}``."""
        joint = self._joint_answer(("label", name.lower()))
        got = issue_query.label_of(joint[0], joint[1], name) if joint else issue_query.REST
        if got is not issue_query.REST:
            return got  # type: ignore[return-value]
        try:
            data = self.rest.get(f"/repos/{self.repo}/labels/{seg(name)}",
                                 doing=f"reading the label {name} of {self.repo}")
        except NotFound:
            return None
        node = data.get("node_id") if isinstance(data, dict) else None
        if not isinstance(node, str) or not node:
            raise GitHubError(f"GitHub answered the label {name} of {self.repo} without "
                              "its node id")
        return node

    def warm_identity(self, request_app: str) -> None:
        """Start what identity.learn reads: who this token is (unless the joint query of
        ``warm`` asks already), and the request App."""
        with self._joint_lock:
            joint = "viewer" in self._joint
        if not joint:
            self.rest.prefetch_graphql(VIEWER_QUERY, {})
        with self._joint_lock:
            ahead = self._issue_ahead
        if ahead is None:  # else its author may answer (``app``)
            self.rest.prefetch(f"/apps/{seg(request_app)}")

    def _take_joint(self, key: Any) -> tuple[Future[Any], int] | None:
        with self._joint_lock:
            return self._joint.pop(key, None)

    def _joint_answer(self, key: Any) -> tuple[Any, int] | None:
        """The joint query's answer for ``key``'s part and where that part is in it; None
        when it was not asked or the request failed (the REST read says why, should it
        fail too)."""
        entry = self._take_joint(key)
        if entry is None:
            return None
        joint, where = entry
        try:
            _, answer = joint.result()
        except GitHubError:
            return None
        return answer, where

    def warm_approver(self, login: str, *, teams: tuple[tuple[str, str], ...] = (),
                      role: bool = False) -> None:
        for org, slug in teams:
            self.rest.prefetch(f"/orgs/{seg(org)}/teams/{seg(slug)}/memberships/{seg(login)}")
        if role:
            self.rest.prefetch(f"/repos/{self.repo}/collaborators/{seg(login)}/permission")

    def issue(self, number: int) -> dict[str, Any]:
        """The issue as ``GET /repos/{publish}/issues/{number}`` answers it. The first read
        of the number ``warm`` asked for takes the fields a run reads from that query
        when it settles them (issue_query.issue_of); every other read is the GET."""
        joint = self._joint_answer(("issue", number))
        got = issue_query.issue_of(joint[0], number) if joint else issue_query.REST
        if got is not issue_query.REST:
            return got  # type: ignore[return-value]
        return self.rest.get(f"/repos/{self.repo}/issues/{number}", doing=f"reading issue #{number}")

    def events(self, number: int) -> list[dict[str, Any]]:
        return list(self.rest.items(f"/repos/{self.repo}/issues/{number}/events"))

    def comments(self, number: int) -> list[dict[str, Any]]:
        return list(self.rest.items(f"/repos/{self.repo}/issues/{number}/comments"))

    def viewer_login(self) -> str:
        """Who this token acts as: an App installation token is the App's bot.

        GraphQL's ``viewer``: REST's ``GET /user`` answers 403 to an installation token."""
        doing = "asking GitHub who the github-token is"
        data: Any = None
        joint = self._joint_answer("viewer")  # None: not asked, or it failed: ask alone
        if joint is not None:
            data = issue_query.data_of(joint[0])
            if not isinstance((data or {}).get("viewer"), dict):
                data = None  # another part failed (its own check says so): ask alone
        if data is None:
            data = self.rest.graphql(VIEWER_QUERY, {}, doing)
        login = (data.get("viewer") or {}).get("login") if isinstance(data, dict) else None
        if not isinstance(login, str) or not login:
            raise GitHubError("GitHub did not say who the github-token is (GraphQL viewer)")
        return login

    def app(self, slug: str) -> dict[str, Any] | None:
        """The GitHub App ``slug`` (``GET /apps/{slug}``); None when there is none.

        When the issue this run reads (``warm``) was opened by ``{slug}[bot]``, a Bot,
        GitHub has answered already: only a GitHub App has a ``[bot]`` account, and
        that one is the App's own (what is known then: its slug)."""
        author = self._issue_author()
        if author is not None and author.lower() == f"{slug}[bot]".lower():
            return {"slug": slug}
        try:
            data = self.rest.get(f"/apps/{seg(slug)}", doing=f"looking up the GitHub App {slug}")
        except NotFound:
            return None
        return data if isinstance(data, dict) else None

    def _issue_author(self) -> str | None:
        """The login of the Bot that opened the issue ``warm`` asked for (None: not a Bot,
        or not asked, or the query did not settle the issue: then the App is asked for
        itself). Only read here: the issue's own read still takes that part."""
        with self._joint_lock:
            ahead = self._issue_ahead
        if ahead is None:
            return None
        joint, number = ahead
        try:
            _, answer = joint.result()
        except Exception:  # noqa: BLE001 - the run's own read of the issue says why
            return None
        data = issue_query.issue_of(answer, number)
        user = data.get("user") if isinstance(data, dict) else None
        if not isinstance(user, dict) or user.get("type") != "Bot":
            return None
        login = user.get("login")
        return login if isinstance(login, str) and login.endswith("[bot]") else None

    def body_edits(self, number: int) -> EditHistory:
        """The edits of the issue body, oldest first (GraphQL: REST has no edit history).

        At most the newest EDITS_LIMIT; the creator's first body is not an edit (GitHub
        lists it as the oldest node once the body was edited: it is kept, as an edit by
        the author). Raises GitHubError when GraphQL fails or answers something else."""
        owner, _, name = self.repo.partition("/")
        doing = f"reading the edit history of #{number}"
        joint = self._take_joint(("edits", number))
        answer = joint[0].result()[1] if joint is not None else None
        data = issue_query.data_of(answer)
        if data is None:  # not asked with the run's query, or that failed as a whole
            data = self.rest.graphql(EDITS_QUERY, {"owner": owner, "name": name,
                                                   "number": number}, doing)
        else:
            failed = issue_query.error_at(answer, "repository", "issue")
            if failed is not None:  # another part's error is that part's alone
                raise GitHubError(f"{doing}: GraphQL error: {failed}")
        try:
            history = data["repository"]["issue"]["userContentEdits"]
            nodes = history["nodes"]
        except (KeyError, TypeError):
            raise GitHubError(f"{doing}: GraphQL answered an unexpected shape") from None
        edits = EditHistory()
        for node in nodes if isinstance(nodes, list) else []:
            if not isinstance(node, dict) or not isinstance(node.get("diff"), str):
                continue  # a deleted revision has no text
            edits.append(Edit(rest_login(node.get("editor")),
                              str(node.get("editedAt") or ""), node["diff"]))
        edits.reverse()  # GitHub lists the newest first
        total = history.get("totalCount") if isinstance(history, dict) else None
        edits.complete = isinstance(total, int) and total <= len(nodes)
        return edits

    def comment(self, number: int, body: str) -> None:
        self.rest.call("POST", f"/repos/{self.repo}/issues/{number}/comments",
                       body={"body": body}, doing=f"commenting on #{number}",
                       confirm=self._landed(number, body))

    def _landed(self, number: int, body: str) -> Confirm:
        """A look for comment ``body`` on ``number``, posted from now on: the same text
        among the comments since just before it was sent is that comment."""
        path = f"/repos/{self.repo}/issues/{number}/comments"
        sent = time.time()

        def landed() -> Any:
            since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(sent - 600))
            for item in self.rest.items(path, {"since": since}):
                if isinstance(item, dict) and item.get("body") == body:
                    return item
            return None

        return landed

    def close_published(self, number: int, close: Any) -> Any:
        """Send ``close`` (a close_mutation.Close) as one GraphQL request: the
        close_mutation.Answer of what GitHub carried out.

        GitHubError when the request as a whole failed. A request whose fate is unknown
        (a timeout, a 5xx) is sent again only after a look at the comments: once the
        summary is there, the resend leaves it out (everything else is idempotent)."""
        from valet import close_mutation as cm

        doing = f"closing #{number}"
        url = graphql_url(self.rest.base_url)
        landed = self._landed(number, close.summary) if close.summary is not None else None
        found: list[Any] = []

        def look() -> Any:
            if landed is not None and landed() is not None:
                found.append(True)
                return {"summary landed": True}  # not GitHub's answer: resent below
            return None

        text, variables = cm.document(close)
        _, data = self.rest.call("POST", url, body={"query": text, "variables": variables},
                                 doing=doing, confirm=look if landed is not None else SAFE)
        if not found:
            return cm.parse(close, data, doing)
        from valet import gha

        gha.info(f"the summary of #{number} landed before the answer was lost: the rest "
                  "of the close is sent again without it")
        rest = close.without(cm.COMMENT)
        text, variables = cm.document(rest)
        _, data = self.rest.call("POST", url, body={"query": text, "variables": variables},
                                 doing=doing, confirm=SAFE)
        return cm.parse(rest, data, doing).merged(cm.Answer((cm.COMMENT,)))

    def edit_comment(self, comment_id: int, body: str) -> None:
        self.rest.call("PATCH", f"/repos/{self.repo}/issues/comments/{int(comment_id)}",
                       body={"body": body}, doing=f"updating comment {comment_id}")

    def dispatch(self, workflow: str, ref: str, inputs: dict[str, str]) -> dict[str, Any]:
        """Start a ``workflow_dispatch`` run of ``workflow`` (its file name) at ``ref``; the
        run's id and URLs as GitHub answers them. Not sent again after a failure that
        leaves it unknown whether the run started (the next sweep asks again)."""
        _, data = self.rest.call(
            "POST", f"/repos/{self.repo}/actions/workflows/{seg(workflow)}/dispatches",
            body={"ref": ref, "inputs": inputs, "return_run_details": True},
            doing=f"starting {workflow} for {inputs}")
        return data if isinstance(data, dict) else {}

    def set_body(self, number: int, body: str) -> dict[str, Any]:
        """Write the body; returns the issue as GitHub answers it (labels included)."""
        _, data = self.rest.call("PATCH", f"/repos/{self.repo}/issues/{number}",
                                 body={"body": body}, doing=f"updating the body of #{number}")
        return data if isinstance(data, dict) else {}

    def close(self, number: int, labels: list[str] | None = None,
              body: str | None = None) -> dict[str, Any]:
        """Close as completed; with `labels`, set the final labels in the same call, with
        `body` the body too (the ticks not written yet). Returns the issue as GitHub
        answers it."""
        payload: dict[str, Any] = {"state": "closed", "state_reason": "completed"}
        if labels is not None:
            payload["labels"] = labels
        if body is not None:
            payload["body"] = body
        _, data = self.rest.call("PATCH", f"/repos/{self.repo}/issues/{number}", body=payload,
                                 doing=f"closing #{number}")
        return data if isinstance(data, dict) else {}

    def add_labels(self, number: int, labels: list[str]) -> None:
        if labels:
            # Adding labels twice leaves the same labels: safe to send again.
            self.rest.call("POST", f"/repos/{self.repo}/issues/{number}/labels",
                           body={"labels": labels}, doing=f"labelling #{number}", confirm=SAFE)

    def remove_label(self, number: int, label: str) -> None:
        try:
            self.rest.call("DELETE", f"/repos/{self.repo}/issues/{number}/labels/{seg(label)}",
                           doing=f"removing label {label} from #{number}")
        except NotFound:
            pass  # already gone: the state we wanted

    def all_issues(self, since: str | None = None) -> Iterator[dict[str, Any]]:
        """Every issue (open and closed, pull requests left out), newest first; with
        ``since`` (ISO 8601), only those updated at or after it."""
        params: dict[str, Any] = {"state": "all", "sort": "created", "direction": "desc"}
        if since:
            params["since"] = since
        for item in self.rest.items(f"/repos/{self.repo}/issues", params):
            if isinstance(item, dict) and "pull_request" not in item:
                yield item

    def open_issues_with(self, labels: list[str]) -> list[dict[str, Any]]:
        wanted = set(labels)
        found = []
        for item in self.rest.items(f"/repos/{self.repo}/issues",
                                    {"state": "open", "labels": ",".join(labels)}):
            if not isinstance(item, dict) or "pull_request" in item:
                continue
            names = {x.get("name") for x in item.get("labels") or [] if isinstance(x, dict)}
            if wanted <= names:  # the filter is an AND on GitHub; check it ourselves anyway
                found.append(item)
        return found

    # -- authz.AuthzAPI ----------------------------------------------------

    def team_member(self, org: str, slug: str, login: str) -> bool:
        """Whether ``login`` is an active member of org/slug: from ``warm``'s query when it
        asked for this login and settles it (issue_query.member_of), else REST's
        membership (``state`` active)."""
        joint = self._joint_answer(_team_key(org, slug, login))
        got = issue_query.member_of(joint[0], joint[1], login) if joint else issue_query.REST
        if got is not issue_query.REST:
            return bool(got)
        try:
            data = self.rest.get(f"/orgs/{seg(org)}/teams/{seg(slug)}/memberships/{seg(login)}",
                                 doing=f"checking {login}'s membership of {org}/{slug}")
        except NotFound:
            return False
        return isinstance(data, dict) and data.get("state") == "active"

    def repo_role(self, repo: str, login: str) -> str:
        try:
            data = self.rest.get(f"/repos/{repo}/collaborators/{seg(login)}/permission",
                                 doing=f"reading {login}'s permission on {repo}")
        except NotFound:
            return "none"
        if not isinstance(data, dict):
            return "none"
        role = data.get("role_name") or data.get("permission") or "none"
        return str(role).lower()


class SdkJoint:
    """The SDK repository's joint query of one run (sdk_query: its default branch, the
    configuration on the merge target, the release's tag), started by ``SdkAPI.warm``.

    Each part answers its check once, and only the question it was asked: the
    configuration of ``config_path`` on the merge target (or, asked as ``HEAD:``, on
    the default branch this same answer names), the tag it asked for. A part GitHub
    did not answer as REST would (``sdk_query.parse``) is None: its check reads REST.
    """

    def __init__(self, future: Future[Any], *, merge_target: str | None, config_path: str,
                 tag: str | None) -> None:
        self.future = future
        self.merge_target = merge_target
        self.config_path = config_path
        self.tag_name = tag
        self._lock = threading.Lock()
        self._answer: Any = None
        self._taken: set[str] = set()

    def answer(self) -> Any:
        """The parsed answer (``sdk_query.Answer``), waiting for it; a failed request
        answers nothing (every check reads REST)."""
        from valet import sdk_query

        with self._lock:
            if self._answer is not None:
                return self._answer
        try:
            _, body = self.future.result()
        except Exception:  # noqa: BLE001 - each check's own REST read says what fails
            body = None
        parsed = sdk_query.parse(body, tag=self.tag_name, branch=self.merge_target or None)
        with self._lock:
            self._answer = parsed
        return parsed

    def _take(self, part: str, known: Any) -> Any:
        if known is None:
            return None
        with self._lock:
            if part in self._taken:
                return None  # used once: a second asker reads GitHub again
            self._taken.add(part)
        return known

    def _untaken(self, part: str) -> bool:
        with self._lock:
            return part not in self._taken

    def _of_branch(self, branch: str) -> bool:
        """Whether the answer's branch parts (configuration, rules) are ``branch``'s: the
        merge target's, or without one the default branch as this same answer names it."""
        if self.merge_target:
            return branch == self.merge_target
        default = self.answer().default_branch
        return default is not None and default.value == branch

    def _config_known(self, path: str, ref: str) -> Any:
        if path != self.config_path or not self._of_branch(ref):
            return None
        return self.answer().config

    def answers_config(self, path: str, ref: str) -> bool:
        """Whether ``config(path, ref)`` will answer (nothing is taken)."""
        return self._untaken("config") and self._config_known(path, ref) is not None

    def config(self, path: str, ref: str) -> Any:
        """``Known`` text of ``path`` at branch ``ref`` (value None: no such file)."""
        return self._take("config", self._config_known(path, ref))

    def default_branch(self) -> Any:
        return self._take("default_branch", self.answer().default_branch)

    def _rules_known(self, branch: str) -> Any:
        return self.answer().rules if self._of_branch(branch) else None

    def answers_rules(self, branch: str) -> bool:
        """Whether ``rules(branch)`` will answer (nothing is taken)."""
        return self._untaken("rules") and self._rules_known(branch) is not None

    def rules(self, branch: str) -> Any:
        """``Known`` rules of the merge target's active rulesets, as
        ``GET /rules/branches/{branch}`` lists them (rules_query)."""
        return self._take("rules", self._rules_known(branch))

    def asks_tag(self, tag: str) -> bool:
        return self.tag_name is not None and tag == self.tag_name

    def answers_tag(self, tag: str) -> bool:
        return self._untaken("tag") and self.asks_tag(tag) and self.answer().tag is not None

    def tag(self, tag: str) -> Any:
        """``Known`` commit ``refs/tags/<tag>`` points at (annotated: the commit it tags;
        value None: no such tag)."""
        return self._take("tag", self.answer().tag if self.asks_tag(tag) else None)


def sdk_joint(rest: Any, repo: str) -> SdkJoint | None:
    """The joint query ``SdkAPI.warm`` started for ``repo`` on this token, if any."""
    held = getattr(rest, "held", None)
    found = held(_joint_key(repo)) if callable(held) else None
    return found if isinstance(found, SdkJoint) else None


def _joint_key(repo: str) -> str:
    return f"sdk-joint:{repo.lower()}"


class SdkAPI:
    """Calls on the SDK repository (sdk-token)."""

    def __init__(self, rest: Rest, repo: str) -> None:
        self.rest = rest
        self.repo = repo
        self._release_compare: Future[Any] | None = None  # merge target...sha, read ahead

    def pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        return self.rest.pages(path, params)

    def ci_pages(self, reads: tuple[tuple[str, dict[str, Any] | None], ...]) -> list[Page]:
        """Every page of the CI reports ``reads`` names (gate.reads), with their ETags."""
        out: list[Page] = []
        for path, params in reads:
            out.extend(self.rest.read_pages(path, params))
        return out

    def ci_unchanged(self, pages: list[Page]) -> bool:
        return self.rest.unchanged(pages)

    def warm(self, *, sha: str | None, run_id: int | None, merge_target: str | None,
             config_path: str, gate: tuple[tuple[str, dict[str, Any] | None], ...] = (),
             tag: str | None = None) -> None:
        """Start the reads the checks make of this repository (publish.ahead): one GraphQL
        query for the default branch, the configuration on the merge target and the
        release's ``tag`` (sdk_query; each part its check takes, or reads REST for),
        the prepare run and then whether the release commit descends from its head, the
        merge target's rules (of the default branch, when the request names none), and
        the CI reports of the release commit (``gate``: ``(path, params)`` of each
        paginated list the gate reads)."""
        joint = self._start_joint(merge_target, config_path, tag)
        if merge_target:  # first: the run's follow-up looks at its compare (_after_run)
            self._warm_branch(merge_target, config_path, sha, joint)
        elif joint is not None:
            joint.future.add_done_callback(lambda f: self._after_joint(joint, config_path,
                                                                       sha))
        else:
            self._warm_repo(config_path, sha)
        if run_id is not None and sha:
            run = self.rest.prefetch(f"/repos/{self.repo}/actions/runs/{int(run_id)}")
            run.add_done_callback(lambda f: self._after_run(f, sha))
            # the run's seal (publish.seal_check): the list run_artifacts asks for, then
            # the newest seal's zip, so that the check waits on no trip of its own
            seals = self.rest.prefetch(*_seal_list(self.repo, int(run_id)))
            seals.add_done_callback(self._after_seals)
        for path, params in gate:
            self.rest.prefetch_pages(path, params)

    def _start_joint(self, merge_target: str | None, config_path: str,
                     tag: str | None) -> SdkJoint | None:
        from valet import sdk_query

        start = getattr(self.rest, "prefetch_graphql", None)
        if start is None or not callable(getattr(self.rest, "hold", None)):
            return None
        future = start(sdk_query.query(tag=tag is not None, target=bool(merge_target)),
                       sdk_query.variables(self.repo, merge_target=merge_target,
                                           config_path=config_path, tag=tag))
        joint = SdkJoint(future, merge_target=merge_target, config_path=config_path, tag=tag)
        self.rest.hold(_joint_key(self.repo), joint)
        return joint

    def _joint(self) -> SdkJoint | None:
        return sdk_joint(self.rest, self.repo)

    def _after_joint(self, joint: SdkJoint, config_path: str, sha: str | None) -> None:
        """No merge target named: the default branch's reads once the answer names it,
        else (that part failed) once REST does."""
        part = joint.answer().default_branch
        if part is None:
            self._warm_repo(config_path, sha)
        elif part.value:
            self._warm_branch(part.value, config_path, sha, joint)

    def _warm_repo(self, config_path: str, sha: str | None) -> None:
        repo = self.rest.prefetch(f"/repos/{self.repo}")
        repo.add_done_callback(lambda f: self._after_repo(f, config_path, sha))

    def _warm_branch(self, branch: str, config_path: str, sha: str | None = None,
                     joint: SdkJoint | None = None) -> None:
        """What branch_rules.read asks of the merge target, then its configuration once
        the answers make it a source of configuration (branch_rules.config_refusal: a
        pull request with an approving review required): a branch refused as one is
        never read from through REST (the joint query reads it ahead; only the check,
        after branch_rules, uses it)."""
        if sha:  # does the release commit still merge into it, and what changed on its
            # side since it was cut (checks.merges_cleanly, workflow_check; the prepare
            # run's commit is often among its commits: contains)
            self._release_compare = self.rest.prefetch(
                f"/repos/{self.repo}/compare/{ref_path(branch)}...{ref_path(sha)}")
        if joint is None:
            self.rest.prefetch(f"/repos/{self.repo}")  # the default branch (checks.landing)
        else:  # read through REST only when the joint answer does not say it
            joint.future.add_done_callback(lambda f: None if joint.answer().default_branch
                                           is not None else self.rest.prefetch(
                                               f"/repos/{self.repo}"))
        config = _Once(lambda: self._warm_config(branch, config_path, joint))
        # branch_rules.read: the protection rule first; the branch itself only when the
        # rule cannot be read
        rule = self.rest.prefetch(f"/repos/{self.repo}/branches/{ref_path(branch)}/protection")
        rule.add_done_callback(lambda f: self._after_protection(f, branch, config))
        if joint is None:
            self._warm_rules(branch, config)
        else:  # the joint answer's rules when it gives them, else REST's
            joint.future.add_done_callback(lambda f: self._after_joint_rules(joint, branch,
                                                                             config))

    def _after_joint_rules(self, joint: SdkJoint, branch: str, config: _Once) -> None:
        # read ahead only: the answer is taken by branch_rules.read (SdkAPI.branch_rules)
        if joint.answers_rules(branch):
            self._after_rules(joint.answer().rules.value, config)
        else:
            self._warm_rules(branch, config)

    def _warm_rules(self, branch: str, config: _Once) -> None:
        rules = self.rest.prefetch_pages(f"/repos/{self.repo}/rules/branches/{ref_path(branch)}")
        rules.add_done_callback(lambda f: self._after_rules_read(f, config))

    def _warm_config(self, branch: str, config_path: str, joint: SdkJoint | None) -> None:
        """The configuration's REST read, unless the joint answer gives it."""
        def rest() -> None:
            self.rest.prefetch(f"/repos/{self.repo}/contents/{quote(config_path, safe='/')}",
                               {"ref": branch})

        if joint is None:
            rest()
        else:
            joint.future.add_done_callback(
                lambda f: None if joint.answers_config(config_path, branch) else rest())

    def _after_protection(self, done: Future[Any], branch: str, config: _Once) -> None:
        try:
            _, data = done.result()
        except NotFound as exc:
            if "not protected" not in exc.message.lower():  # hidden, or no such branch
                self.rest.prefetch(f"/repos/{self.repo}/branches/{ref_path(branch)}")
            return
        except Exception:  # noqa: BLE001 - 403: not readable; the branch says if protected
            self.rest.prefetch(f"/repos/{self.repo}/branches/{ref_path(branch)}")
            return
        reviews = (data or {}).get("required_pull_request_reviews") if isinstance(data, dict) \
            else None
        if isinstance(reviews, dict) and int(reviews.get("required_approving_review_count")
                                             or 0) >= 1:
            config()

    def _after_rules_read(self, done: Future[Any], config: _Once) -> None:
        try:
            _, data = done.result()
        except Exception:  # noqa: BLE001
            return
        self._after_rules(data, config)

    def _after_rules(self, data: Any, config: _Once) -> None:
        """Each ruleset's read (whether the App may bypass it), and the configuration's
        when a pull request with an approving review is required (config_refusal)."""
        rules = [r for r in data or [] if isinstance(r, dict)] if isinstance(data, list) else []
        for rid in sorted({r["ruleset_id"] for r in rules if isinstance(r.get("ruleset_id"), int)}):
            self.rest.prefetch(f"/repos/{self.repo}/rulesets/{rid}")
        if any(r.get("type") == "pull_request" and int((r.get("parameters") or {}).get(
                "required_approving_review_count") or 0) >= 1 for r in rules):
            config()

    def _after_seals(self, done: Future[Any]) -> None:
        from valet.seal import newest

        try:
            _, data = done.result()
        except Exception:  # noqa: BLE001 - run_artifacts raises it again
            return
        found = newest((data or {}).get("artifacts") if isinstance(data, dict) else None)
        if found is not None:
            self.rest.prefetch_bytes(_artifact_zip(self.repo, int(found["id"])), SEAL_ZIP_LIMIT)

    def _after_run(self, done: Future[Any], sha: str) -> None:
        head = _answered(done, "head_sha")
        if not head:
            return
        compare = self._release_compare
        if compare is None:
            self._warm_contains(head, sha)
        else:  # asked only when the merge target's compare does not answer it (contains)
            compare.add_done_callback(lambda f: None if _lists_ancestor(
                _answer_of(f), head) else self._warm_contains(head, sha))

    def _warm_contains(self, head: str, sha: str) -> None:
        self.rest.prefetch(f"/repos/{self.repo}/compare/{seg(head)}...{seg(sha)}")

    def _after_repo(self, done: Future[Any], config_path: str, sha: str | None) -> None:
        branch = _answered(done, "default_branch")
        if branch:
            self._warm_branch(branch, config_path, sha)

    def default_branch(self) -> str:
        joint = self._joint()
        part = joint.default_branch() if joint is not None else None
        if part is not None:  # GraphQL's defaultBranchRef (None: an empty repository)
            branch: Any = part.value
        else:
            data = self.rest.get(f"/repos/{self.repo}", doing=f"reading {self.repo}")
            branch = data.get("default_branch") if isinstance(data, dict) else None
        if not isinstance(branch, str) or not branch:
            raise GitHubError(f"{self.repo} reports no default branch")
        return branch

    def workflow_run(self, run_id: int) -> dict[str, Any] | None:
        """A workflow run of this repository as GitHub recorded it; None when there is none."""
        try:
            data = self.rest.get(f"/repos/{self.repo}/actions/runs/{int(run_id)}",
                                 doing=f"reading workflow run {run_id} of {self.repo}")
        except NotFound:
            return None
        return data if isinstance(data, dict) else None

    def run_artifacts(self, run_id: int, name: str) -> list[dict[str, Any]]:
        """The artifacts named ``name`` of a workflow run (one page: a run that uploads
        one name more than 100 times is no release run); [] when the run is gone."""
        path, params = _seal_list(self.repo, int(run_id), name)
        try:
            data = self.rest.get(path, params,
                                 doing=f"listing the artifacts of run {run_id} of {self.repo}")
        except NotFound:
            return []
        items = data.get("artifacts") if isinstance(data, dict) else None
        return [a for a in items if isinstance(a, dict)] if isinstance(items, list) else []

    def artifact_zip(self, artifact_id: int, limit: int) -> bytes | None:
        """An artifact's zip, at most ``limit`` bytes; None when gone or expired."""
        return self.rest.get_bytes(_artifact_zip(self.repo, artifact_id), limit,
                                   doing=f"downloading artifact {artifact_id} of {self.repo}")

    def contains(self, ancestor: str, sha: str, via: str | None = None) -> bool:
        """Whether commit ``sha`` has ``ancestor`` in its history (or is it).

        ``via``: a branch whose compare with ``sha`` the run reads anyway (the merge
        target, ``compare``): its merge base and the commits it lists are all in
        ``sha``'s history, so when ``ancestor`` is one of them GitHub has answered
        already; otherwise (or when that compare fails) ``ancestor...sha`` is asked."""
        if ancestor == sha:
            return True
        if via:
            try:
                if _lists_ancestor(self.compare(via, sha), ancestor):
                    return True
            except GitHubError:
                pass  # asked directly below
        try:
            data = self.rest.get(f"/repos/{self.repo}/compare/{seg(ancestor)}...{seg(sha)}",
                                 doing=f"comparing {ancestor} with {sha} in {self.repo}")
        except NotFound:
            return False
        return isinstance(data, dict) and data.get("status") in ("ahead", "identical")

    def compare(self, base: str, head: str) -> dict[str, Any]:
        """``GET /compare/{base}...{head}`` (no paging: the files, at most 300, are listed);
        a NotFound when the two share no history. Read once per run: the merge check and
        the workflows check ask the same one (``Rest.get_shared``)."""
        data = self.rest.get_shared(
            f"/repos/{self.repo}/compare/{ref_path(base)}...{ref_path(head)}",
            doing=f"comparing {head} with {base} in {self.repo}")
        if not isinstance(data, dict):
            raise GitHubError(f"comparing {head} with {base} in {self.repo}: no JSON object")
        return data

    def branch_protected(self, branch: str) -> bool | None:
        """Whether ``branch`` is protected (a rule or a ruleset); None when it does not exist.

        ``GET /branches/{branch}`` shows ``protected`` to anyone who can read the repo;
        the protection endpoint itself needs admin, which an App token rarely has.
        """
        try:
            data = self.rest.get(f"/repos/{self.repo}/branches/{ref_path(branch)}",
                                 doing=f"reading branch {branch} of {self.repo}")
        except NotFound:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("protected"), bool):
            raise GitHubError(f"branch {branch} of {self.repo} came back without `protected`")
        return bool(data["protected"])

    # -- branch_rules.RulesAPI -------------------------------------------------

    def branch_rules(self, branch: str) -> list[dict[str, Any]]:
        """The rules of every active ruleset for ``branch`` (Metadata: read suffices): the
        joint query's answer when it gave them (once), else REST's."""
        joint = self._joint()
        part = joint.rules(branch) if joint is not None else None
        if part is not None:
            return [dict(r) for r in part.value]
        return [r for r in self.rest.items(f"/repos/{self.repo}/rules/branches/{ref_path(branch)}")
                if isinstance(r, dict)]

    def ruleset(self, ruleset_id: int) -> dict[str, Any]:
        """One ruleset; ``current_user_can_bypass`` says whether this token may bypass it."""
        data = self.rest.get(f"/repos/{self.repo}/rulesets/{int(ruleset_id)}",
                             doing=f"reading ruleset {ruleset_id} of {self.repo}")
        return data if isinstance(data, dict) else {}

    def protection_rule(self, branch: str) -> tuple[bool, dict[str, Any] | None]:
        """``(readable, rule)`` of the branch protection rule: ``(True, None)`` when there is
        none, ``(False, None)`` when this token may not read it (no Administration)."""
        try:
            data = self.rest.get(f"/repos/{self.repo}/branches/{ref_path(branch)}/protection",
                                 doing=f"reading the protection rule of {branch} in {self.repo}")
        except NotFound as exc:
            # "Branch not protected" is an answer; a bare 404 is GitHub hiding it from us
            return ("not protected" in exc.message.lower(), None)
        except GitHubError as exc:
            if "HTTP 403" in exc.message:
                return (False, None)
            raise
        return (True, data if isinstance(data, dict) else None)

    def changed_files(self, base: str, head: str) -> list[str]:
        """Paths that differ between ``base`` and ``head`` from their merge base (compare)."""
        return filenames(self.compare(base, head))

    def already_in(self, base: str, sha: str) -> bool:
        """Whether ``sha`` is already in ``base`` (compare: nothing ahead)."""
        data = self.rest.get(f"/repos/{self.repo}/compare/{ref_path(base)}...{ref_path(sha)}",
                             doing=f"comparing {base}...{sha}")
        return isinstance(data, dict) and data.get("ahead_by") == 0

    def touch_release(self, release_id: int) -> bool:
        """An empty edit of a release: False when GitHub answers 404 for it, as it does for
        a token without Workflows: write when the release's commit changes workflows."""
        try:
            self.rest.call("PATCH", f"/repos/{self.repo}/releases/{int(release_id)}", body={},
                           doing=f"checking access to release {release_id} of {self.repo}")
        except NotFound:
            return False
        return True

    def open_pull_request(self, base: str, head: str, title: str, body: str) -> dict[str, Any]:
        """Open (or find the open) pull request from ``head`` into ``base``."""
        owner = self.repo.split("/", 1)[0]
        for pr in self.rest.items(f"/repos/{self.repo}/pulls",
                                  {"state": "open", "head": f"{owner}:{head}", "base": base}):
            if isinstance(pr, dict):
                return pr
        _, data = self.rest.call("POST", f"/repos/{self.repo}/pulls",
                                 body={"base": base, "head": head, "title": title, "body": body},
                                 doing=f"opening a pull request from {head} into {base}")
        return data if isinstance(data, dict) else {}

    def file(self, path: str, ref: str) -> str | None:
        """A file's text at branch ref; None when absent. The joint query's answer when it
        read this file on this branch (once), else the contents API."""
        joint = self._joint()
        part = joint.config(path, ref) if joint is not None else None
        if part is not None:
            return part.value  # type: ignore[no-any-return]
        return read_file(self.rest, self.repo, path, ref)

    def merge(self, base: str, head: str, message: str) -> str:
        """Merge head into base with a merge commit: 'merged' or 'up-to-date'."""
        # A merge sent twice: the second finds head already in base (204), the same state.
        headers, data = self.rest.call("POST", f"/repos/{self.repo}/merges",
                                       body={"base": base, "head": head, "commit_message": message},
                                       doing=f"merging {head} into {base} in {self.repo}",
                                       confirm=SAFE)
        return "merged" if data else "up-to-date"

    def delete_branch(self, branch: str) -> bool:
        try:
            self.rest.call("DELETE", f"/repos/{self.repo}/git/refs/heads/{ref_path(branch)}",
                           doing=f"deleting branch {branch} in {self.repo}")
        except NotFound:
            return False
        except GitHubError as exc:
            if "HTTP 422" in exc.message:  # the reference does not exist
                return False
            raise
        return True
