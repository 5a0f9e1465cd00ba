"""The HTTP layer: one threaded server on 127.0.0.1 for the API, uploads, git and admin.

Layout (like GitHub Enterprise Server):
  /api/v3/...        REST API           /api/uploads/...   release asset uploads
  /api/graphql       GraphQL against GitHub's schema (valet.sandbox.graphql)
  /{owner}/{repo}.git  git smart HTTP   /{owner}/{repo}/releases/download/...  assets
  /_sandbox/...      admin API (not logged, no faults)

A second server on its own port (``role="storage"``) serves the signed download URLs
that asset and artifact downloads redirect to, as GitHub's object storage does on its
own host. Like that storage, it refuses a request that carries an Authorization
header (400): a client must not send its token along a redirect to another origin.
(Uploads stay on the API's origin, ``/api/uploads``, as on GitHub Enterprise Server:
PyGithub, which the github target uploads with, accepts an upload host other than
the API's only for github.com.)
"""

from __future__ import annotations

import hashlib
import math
import re
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

from valet.sandbox import githttp
from valet.sandbox.app import App
from valet.sandbox.faults import Fault
from valet.sandbox.routing import ApiError, Request, Response, Router

_GIT_PATH = re.compile(r"^/([^/]+)/([^/]+?)(?:\.git)?/(info/refs|git-upload-pack|git-receive-pack)$")
_DRAIN_LIMIT = 16 * 1024 * 1024


def graphql_operation(body: bytes) -> dict[str, Any]:
    """For the request log: a GraphQL request's ``operation`` (query or mutation) and its
    top-level ``fields`` (the mutations it runs, in order); {} when it cannot be read."""
    import graphql

    from valet.pacing import graphql_operations

    ops = graphql_operations(body)
    if len(ops) != 1:
        return {}
    return {"operation": ops[0].operation.value,
            "fields": [f.name.value for f in ops[0].selection_set.selections
                       if isinstance(f, graphql.FieldNode)]}


def _classify(path: str) -> tuple[str, str]:
    """``(kind, path relative to its mount)`` for the request log."""
    if path.startswith("/api/v3/") or path == "/api/v3":
        return "api", path[len("/api/v3"):] or "/"
    if path.startswith("/api/uploads/"):
        return "uploads", path[len("/api/uploads"):]
    if path == "/api/graphql":
        return "graphql", "/"
    if _GIT_PATH.match(path):
        return "git", path
    if path.startswith("/_sandbox/oidc/"):
        return "oidc", path
    return "web", path


def _etag(payload: bytes) -> str:
    return 'W/"' + hashlib.sha256(payload).hexdigest() + '"'


def _conditional(resp: Response, headers: dict[str, str]) -> tuple[Response, bool]:
    """GitHub's conditional requests: every 200 JSON answer of a GET carries an ETag of its
    content; a request whose If-None-Match names it gets 304 with no body (and costs no
    rate limit). Weak comparison, as HTTP has it for If-None-Match."""
    if resp.status != 200 or resp.stream is not None or resp.body is None \
            or isinstance(resp.body, bytes):
        return resp, False
    etag = _etag(resp.encoded())
    cache = {"ETag": etag, "Cache-Control": "private, max-age=60, s-maxage=60",
             "Vary": "Accept, Authorization, Cookie, X-GitHub-OTP"}
    resp.headers.update(cache)
    wanted = headers.get("if-none-match", "")
    tags = {t.strip().removeprefix("W/") for t in wanted.split(",") if t.strip()}
    if "*" in tags or etag.removeprefix("W/") in tags:
        return Response(304, None, dict(cache)), True
    return resp, False


# The User-Agent of the sandbox's stand-ins for third-party actions (the App token
# action's GraphQL viewer): their calls are the stand-in's, not valet's.
STANDIN_AGENT = "valet-sandbox-standin"


def _warm_graphql() -> None:
    from valet.sandbox.graphql import engine  # noqa: F401 - the resolvers, imported once
    from valet.sandbox.graphql.schema import schema

    schema()


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, app: App, port: int, role: str = "main") -> None:
        self.app = app
        self.role = role
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), Handler)
        if role == "main":
            # The GraphQL schema takes most of a second to build: a server builds it as it
            # starts, in the background, so the first GraphQL request is answered as fast
            # as any other (a client with a short timeout would otherwise see it hang).
            threading.Thread(target=_warm_graphql, name="graphql-schema", daemon=True).start()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "valet-sandbox"
    sys_version = ""
    timeout = 300
    server: SandboxServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle and
        # delayed ACKs add ~40 ms to every keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    # -- dispatch -----------------------------------------------------------------

    def _handle(self) -> None:
        app = self.server.app
        start = time.monotonic()
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        method = self.command
        kind, rel = _classify(path)
        # ``path`` is relative to its mount (REST: ``/repos/o/r``, as in GitHub's docs);
        # ``full_path`` is what was requested. Faults match ``full_path``.
        entry: dict[str, Any] = {"method": method, "path": rel, "query": parts.query,
                                 "status": 0, "user": None, "ms": 0.0, "kind": kind,
                                 "full_path": path, "at": round(time.time(), 4)}
        if headers.get("user-agent", "").startswith(STANDIN_AGENT):
            # a stand-in for a third-party action (act_runner), not valet: counted apart
            entry["standin"] = True
        # The issuer's endpoints are what jobs and registries call (logged, faultable);
        # making a job's request token is seeding, like the rest of the admin API.
        admin = path.startswith("/_sandbox/") and (
            not path.startswith("/_sandbox/oidc/") or path == "/_sandbox/oidc/request-tokens")
        if self.server.role == "storage":
            kind, rel, admin = "storage", path, False
            entry["kind"], entry["path"] = kind, rel
        req: Request | None = None
        logged = False
        lost = False
        try:
            if not admin:
                for fault in app.faults.take(method, path):
                    if fault.kind == "lost":
                        lost = True
                    elif self._fault(fault, entry):
                        return
            git = _GIT_PATH.match(path) if self.server.role == "main" else None
            if git:
                self._git(git.group(1), git.group(2), git.group(3), parts.query, headers, entry)
                return
            router, prefix, base = self._mount(path)
            req = Request(app, method, path[len(prefix):] or "/", parse_qs(parts.query,
                          keep_blank_values=True), headers, base, self._rfile())
            try:
                if router is None:
                    raise ApiError(404, "Not Found")
                if router is app.storage:
                    if headers.get("authorization"):
                        # What object storage answers a signed URL that also brings a token.
                        raise ApiError(400, "Only one auth mechanism allowed; only the signature "
                                       "query parameter or the Authorization header should be "
                                       "specified")
                elif router is not app.admin:
                    req.login, req.token = app.authenticate(headers)
                entry["user"] = req.login
                resp = app.dispatch(router, req)
                if router is app.graphql:
                    entry.update(graphql_operation(req.body_bytes()))
            except ApiError as err:
                resp = Response(err.status, err.body(), dict(err.headers))
            except Exception:  # noqa: BLE001 (a sandbox bug: answer 500 and show it)
                traceback.print_exc(file=sys.stderr)
                resp = Response(500, {"message": "Server Error", "documentation_url": ""})
            if not req.consumed:
                self._drain(headers)
            not_modified = False
            if router is app.api and method in ("GET", "HEAD"):
                resp, not_modified = _conditional(resp, headers)
            if router is not None and router not in (app.admin, app.storage):
                # GitHub does not count a 304 against the rate limit
                resp.headers.update(app.rate_headers(req.login, count=not not_modified))
                entry["counted"] = not not_modified  # against the rate limit
            entry["status"] = resp.status
            # Log before answering: a client that reads the log right after its
            # own call returns must find that call there (the demo counts calls
            # per phase this way).
            entry["ms"] = round((time.monotonic() - start) * 1000, 2)
            if lost:
                entry["lost"] = True
            if not admin:
                app.log(entry)
            logged = True
            if lost:  # carried out; the answer never reaches the client
                self.close_connection = True
                return
            self._send(resp, method)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            if not logged and not admin:
                entry["ms"] = round((time.monotonic() - start) * 1000, 2)
                app.log(entry)

    def _rfile(self) -> IO[bytes]:
        return cast(IO[bytes], self.rfile)

    def _mount(self, path: str) -> tuple[Router | None, str, str]:
        app = self.server.app
        u = app.urls
        if self.server.role == "storage":
            return app.storage, "", u.storage
        if path.startswith("/api/v3/") or path == "/api/v3":
            return app.api, "/api/v3", u.api
        if path.startswith("/api/uploads/"):
            return app.uploads, "/api/uploads", u.uploads
        if path.startswith("/_sandbox/"):
            return app.admin, "/_sandbox", f"{u.server}/_sandbox"
        if path == "/api/graphql":
            return app.graphql, "/api/graphql", f"{u.server}/api/graphql"
        if path.startswith("/api/"):
            return None, "", u.server
        return app.web, "", u.server

    def _drain(self, headers: dict[str, str]) -> None:
        length = int(headers.get("content-length", "0") or 0)
        if "chunked" in headers.get("transfer-encoding", "").lower() or length > _DRAIN_LIMIT:
            self.close_connection = True
            return
        while length > 0:
            data = self.rfile.read(min(65536, length))
            if not data:
                break
            length -= len(data)

    # -- faults ---------------------------------------------------------------------

    def _fault(self, fault: Fault, entry: dict[str, Any]) -> bool:
        """Apply one fault; True when the request has been answered (or dropped)."""
        app = self.server.app
        if fault.kind == "latency":
            app.stopping.wait(fault.seconds)
            return False
        self._drain({k.lower(): v for k, v in self.headers.items()})
        if fault.kind == "hang":
            app.stopping.wait(fault.seconds or 60.0)
            self.close_connection = True
            entry["status"] = 0
            return True
        if fault.kind == "ratelimit":
            reset = int(time.time() + max(1.0, fault.seconds))
            body = {"message": "API rate limit exceeded for user ID 1. (But here's the good news: "
                    "Authenticated requests get a higher rate limit.)",
                    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}
            resp = Response(403, body, {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0",
                                        "X-RateLimit-Used": "5000", "X-RateLimit-Resource": "core",
                                        "X-RateLimit-Reset": str(reset)})
        elif fault.kind == "secondary_ratelimit":
            body = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes "
                    "before you try again.",
                    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}
            resp = Response(403, body, {"Retry-After": str(max(1, math.ceil(fault.seconds)))})
        else:
            resp = Response(fault.status, {"message": "Server Error" if fault.status >= 500
                                           else "Injected fault", "documentation_url": ""})
        self._send(resp, self.command)
        entry["status"] = resp.status
        return True

    # -- git smart HTTP --------------------------------------------------------------

    def _git(self, owner: str, repo: str, rest: str, query: str, headers: dict[str, str],
             entry: dict[str, Any]) -> None:
        app = self.server.app
        login, refusal = githttp.authorize(app, headers, owner, repo, rest, query)
        entry["user"] = login
        if refusal is not None:
            self._drain(headers)
            body = (refusal.message + "\n").encode()
            self.send_response(refusal.status)
            if refusal.challenge:
                self.send_header("WWW-Authenticate", 'Basic realm="GitHub"')
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            entry["status"] = refusal.status
            return
        push = rest == "git-receive-pack" and self.command == "POST"
        before = githttp.branch_refs(app, owner, repo) if push else {}
        status, out_headers, proc, errors = githttp.run_backend(
            app, self.command, owner, repo, rest, query, headers, self._rfile(), login)
        try:
            self.send_response(status)
            for name, value in out_headers:
                self.send_header(name, value)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            githttp.copy_body(proc, cast(IO[bytes], self.wfile))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            errors.close()
        entry["status"] = status
        if push:
            githttp.announce_push(app, owner, repo, before)

    # -- responses ------------------------------------------------------------------

    def _send(self, resp: Response, method: str) -> None:
        self.send_response(resp.status)
        headers = dict(resp.headers)
        payload = b"" if resp.stream is not None else resp.encoded()
        if resp.body is not None and not isinstance(resp.body, bytes):
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        headers.setdefault("X-GitHub-Api-Version-Selected", "2022-11-28")
        headers.setdefault("X-GitHub-Request-Id", f"{id(resp):X}")
        if resp.stream is not None:
            if resp.length is not None:
                headers["Content-Length"] = str(resp.length)
            else:
                headers["Connection"] = "close"
                self.close_connection = True
        elif resp.status not in (204, 304):
            headers["Content-Length"] = str(len(payload))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if method == "HEAD":
            return
        if resp.stream is not None:
            read = getattr(resp.stream, "read", None)
            try:
                if read is not None:
                    while True:
                        chunk = read(65536)
                        if not chunk:
                            break
                        self.wfile.write(chunk)
                else:
                    for chunk in resp.stream:  # type: ignore[union-attr]
                        self.wfile.write(chunk)
            finally:
                close = getattr(resp.stream, "close", None)
                if close:
                    close()
        elif payload:
            self.wfile.write(payload)

