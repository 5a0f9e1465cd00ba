"""The sandbox application: state, routers, authentication and access checks.

The HTTP layer (server.py) turns sockets into ``Request`` objects and hands them
to ``App.dispatch``; every endpoint module registers its routes on one of the
three routers (REST API, uploads, admin).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from valet.sandbox.faults import Faults
from valet.sandbox.gitrepo import GitRepo
from valet.sandbox.routing import ApiError, Request, Response, Router, not_found
from valet.sandbox.shapes import Urls
from valet.sandbox.state import PERMISSIONS, Record, State, perm_at_least
from valet.sandbox.teams import is_member

RATE_LIMIT = 5000
RefUpdate = tuple[str, "str | None", "str | None"]  # (ref, old sha, new sha)
PushListener = Callable[[str, "list[RefUpdate]"], None]


class App:
    def __init__(self, root: Path, *, persist: bool) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.state = State(root, persist=persist)
        self.git_root = root / "git"
        self.files_root = root / "files"
        self.git_root.mkdir(exist_ok=True)
        self.files_root.mkdir(exist_ok=True)
        self.urls = Urls("http://127.0.0.1:0", "http://127.0.0.1:0/api/v3",
                         "http://127.0.0.1:0/api/uploads")
        self.api = Router()
        self.uploads = Router()
        self.admin = Router()
        self.web = Router()  # github.com-style pages: release downloads
        # Signed download URLs that the API and the download pages redirect to: served on
        # an origin of their own, like GitHub's object storage.
        self.storage = Router()
        self.graphql = Router()  # POST /api/graphql: GitHub's schema (sandbox.graphql)
        self.faults = Faults()
        # The trusted-publishing exchanges (valet.sandbox.exchange.Fronts) while they run.
        self.fronts: Any = None
        self.stopping = threading.Event()
        self.secret = self.state.data.setdefault("secret", secrets.token_hex(16))
        self._log: list[dict[str, Any]] = []
        self._log_lock = threading.Lock()
        self._logged = threading.Condition(self._log_lock)
        self._rate: dict[str, tuple[int, int]] = {}  # login -> (window start, used)
        self._push_listeners: list[PushListener] = []
        from valet.sandbox import routes

        routes.register_all(self)

    # -- pushes: what starts workflows on GitHub --------------------------------------

    def on_push(self, listener: PushListener) -> Callable[[], None]:
        """Call ``listener(full_name, updates)`` after every push over git that changed
        refs; ``updates`` is ``[(ref, old sha or None, new sha or None)]``. It runs in the
        server's thread, after the push has been answered: it must return quickly (hand
        the work to a thread of its own). Returns the function that removes it."""
        with self._log_lock:
            self._push_listeners.append(listener)

        def remove() -> None:
            with self._log_lock:
                if listener in self._push_listeners:
                    self._push_listeners.remove(listener)
        return remove

    def notify_push(self, full_name: str, updates: list[RefUpdate]) -> None:
        with self._log_lock:
            listeners = list(self._push_listeners)
        for listener in listeners:
            listener(full_name, updates)

    def set_port(self, port: int, storage_port: int | None = None) -> None:
        server = f"http://127.0.0.1:{port}"
        storage = f"http://127.0.0.1:{storage_port}" if storage_port else server
        self.urls = Urls(server, f"{server}/api/v3", f"{server}/api/uploads", storage)

    # -- request log and rate-limit headers -------------------------------------

    def log(self, entry: dict[str, Any]) -> None:
        with self._logged:
            self._log.append(entry)
            self._logged.notify_all()

    def request_log(self) -> list[dict[str, Any]]:
        with self._log_lock:
            return list(self._log)

    def log_length(self) -> int:
        with self._log_lock:
            return len(self._log)

    def wait_for_request(self, match: Callable[[dict[str, Any]], bool], *, after: int = 0,
                         timeout: float) -> dict[str, Any] | None:
        """The first request logged from position ``after`` on (``log_length()`` before the
        event you wait for) that ``match``es; blocks until one is logged, or None after
        ``timeout`` seconds. Entries are logged before the answer is sent."""
        deadline = time.monotonic() + timeout
        with self._logged:
            while True:
                for entry in self._log[after:]:
                    if match(entry):
                        return entry
                after = len(self._log)
                left = deadline - time.monotonic()
                if left <= 0 or not self._logged.wait(left):
                    return next((e for e in self._log[after:] if match(e)), None)

    def clear_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    def rate_headers(self, login: str | None, resource: str = "core", *,
                     count: bool = True) -> dict[str, str]:
        """The X-RateLimit-* headers of an answer; ``count`` False: an answer GitHub does
        not count (a 304 to a conditional request)."""
        key = login or "-anonymous"
        limit = RATE_LIMIT if login else 60
        now = int(time.time())
        with self._log_lock:
            start, used = self._rate.get(key, (now, 0))
            if now - start >= 3600:
                start, used = now, 0
            if count:
                used += 1
            self._rate[key] = (start, used)
        return {"X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": str(max(0, limit - used)),
                "X-RateLimit-Reset": str(start + 3600), "X-RateLimit-Used": str(used),
                "X-RateLimit-Resource": resource}

    def rate_status(self, login: str | None) -> tuple[int, int, int]:
        key = login or "-anonymous"
        limit = RATE_LIMIT if login else 60
        now = int(time.time())
        with self._log_lock:
            start, used = self._rate.get(key, (now, 0))
        return limit, used, start + 3600

    # -- authentication ---------------------------------------------------------

    def authenticate(self, headers: dict[str, str]) -> tuple[str | None, str | None]:
        """``(login, token)`` from the Authorization header; raises 401 for a bad token."""
        raw = headers.get("authorization", "").strip()
        if not raw:
            return None, None
        scheme, _, value = raw.partition(" ")
        scheme = scheme.lower()
        value = value.strip()
        if scheme == "basic":
            try:
                decoded = base64.b64decode(value).decode()
            except ValueError:
                raise ApiError(401, "Bad credentials") from None
            _, _, token = decoded.partition(":")
        elif scheme in ("token", "bearer"):
            token = value
        else:
            raise ApiError(401, "Bad credentials")
        with self.state.lock:
            login = self.state.tokens.get(token)
            user = self.state.user(login)
        if not user:
            raise ApiError(401, "Bad credentials")
        return user["login"], token

    # -- access checks ------------------------------------------------------------

    def permission(self, rec: Record, login: str | None) -> str:
        """The effective role of ``login`` on a repo: none/read/triage/write/maintain/admin."""
        base = "none" if rec["private"] else "read"
        if not login:
            return base
        if rec["owner"].lower() == login.lower():
            return "admin"
        best = rec["perms"].get(login.lower(), base)
        # Team grants on the repo, if any.
        for team_key, role in rec.get("team_perms", {}).items():
            team = self.state.teams.get(team_key)
            if team and is_member(self.state, team, login):
                if PERMISSIONS.index(role) > PERMISSIONS.index(best):
                    best = role
        return best if PERMISSIONS.index(best) >= PERMISSIONS.index(base) else base

    def repo_for(self, req: Request, owner: str, name: str, need: str = "read") -> Record:
        """The repo record, or GitHub's answer when the caller may not do this."""
        rec = self.state.repo(owner, name)
        if rec is None:
            raise not_found()
        perm = self.permission(rec, req.login)
        if not perm_at_least(perm, "read"):
            raise not_found()
        if not perm_at_least(perm, need):
            if req.login is None:
                raise ApiError(401, "Requires authentication")
            self.forbid(req.login, need)
        return rec

    def forbid(self, login: str, need: str) -> None:
        user = self.state.user(login)
        if user and user["type"] == "Bot":
            raise ApiError(403, "Resource not accessible by integration")
        if need == "admin":
            raise ApiError(403, "Must have admin rights to Repository.")
        raise ApiError(403, "Must have push access to repository.")

    def require_login(self, req: Request) -> str:
        if req.login is None:
            raise ApiError(401, "Requires authentication")
        return req.login

    def git(self, rec: Record) -> GitRepo:
        return GitRepo(self.git_root / rec["owner"].lower() / f"{rec['name'].lower()}.git")

    # -- signed storage URLs (what GitHub's 302 redirects point at) ------------

    def sign(self, what: str) -> str:
        return hmac.new(self.secret.encode(), what.encode(), hashlib.sha256).hexdigest()[:32]

    def check_signature(self, what: str, sig: str) -> bool:
        return hmac.compare_digest(self.sign(what), sig)

    # -- dispatch -----------------------------------------------------------------

    def dispatch(self, router: Router, req: Request) -> Response:
        handler, params = router.match(req.method, req.path)
        streaming = getattr(handler, "streaming", False)
        if streaming:
            # Reads the body itself, outside the lock (uploads can be large).
            return handler(req, **params)
        req.body_bytes()
        with self.state.lock:
            try:
                return handler(req, **params)
            finally:
                if req.method not in ("GET", "HEAD"):
                    self.state.touch()
                    self.state.save()


def streaming(fn: Any) -> Any:
    """Mark a handler that takes the lock itself because it streams the request body."""
    fn.streaming = True
    return fn
