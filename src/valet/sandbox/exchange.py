"""Trusted-publishing exchanges in front of the sandbox's real registries.

A ``Front`` listens on 127.0.0.1 in front of one registry (pypiserver, verdaccio
or the crates.io fake) and speaks that registry's trusted-publishing protocol:

- ``pypi``: ``GET /_/oidc/audience`` -> ``{"audience": ...}``; ``POST
  /_/oidc/mint-token`` ``{"token": JWT}`` -> ``{"success": true, "token", "expires"}``
  or 422 ``{"message", "errors": [{"code", "description"}]}``;
- ``npm``: ``POST /-/npm/v1/oidc/token/exchange/package/<escaped name>`` with the JWT
  as bearer, audience ``npm:<host>`` -> 201 ``{"token"}`` or ``{"message"}``;
- ``crates``: ``POST /api/v1/trusted_publishing/tokens`` ``{"jwt"}``, audience
  ``<host:port>`` -> ``{"token"}`` or 400 ``{"errors": [{"detail"}]}``; ``DELETE``
  of the same path with the token as bearer revokes it.

Each exchange verifies the JWT with a real JWT library against the sandbox
issuer's JWKS (signature, issuer, audience, expiry, one use per ``jti``) and
looks for a registered trusted publisher (package, repository, workflow file,
environment) matching its claims. The token it mints is new, random and short
lived; it is only good through this front, which swaps it for the registry's own
credential (the pypiserver user, the verdaccio token, the fake's token) when it
forwards a request, and only for the packages of its grant. Everything else is
forwarded untouched, so uploads still reach the real registry.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import secrets
import struct
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

KINDS = ("pypi", "npm", "crates")
LIFETIME = {"pypi": 900.0, "npm": 900.0, "crates": 1800.0}  # seconds, as the registries do
PREFIX = {"pypi": "pypi-", "npm": "npm_", "crates": "cio_tp_"}
PYPI_AUDIENCE = "sandbox-pypi"
_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
        "upgrade", "content-length", "host"}


def mint_token(kind: str) -> str:
    """A new random registry token (the secrets guard of the tests records each one)."""
    return PREFIX[kind] + secrets.token_urlsafe(32)


def normalize(kind: str, package: str) -> str:
    if kind == "pypi":
        return re.sub(r"[-_.]+", "-", package).lower()
    if kind == "crates":
        return package.replace("-", "_").lower()
    return package


@dataclass(frozen=True)
class Publisher:
    """A trusted publisher as a registry stores it."""

    package: str
    repository: str  # owner/name
    workflow: str  # the workflow file name, e.g. publish.yml
    environment: str | None = None  # None: any environment

    def matches(self, claims: Mapping[str, Any]) -> bool:
        repo = str(claims.get("repository") or "")
        ref = str(claims.get("workflow_ref") or "")
        workflow = ref.split("@", 1)[0].rsplit("/", 1)[-1] if "/.github/workflows/" in ref else ""
        if repo.lower() != self.repository.lower() or workflow != self.workflow:
            return False
        if self.environment is None:
            return True
        return str(claims.get("environment") or "").lower() == self.environment.lower()


@dataclass
class Grant:
    token: str
    packages: frozenset[str]
    expires: float
    revoked: bool = False

    def live(self) -> bool:
        return not self.revoked and time.time() < self.expires


@dataclass
class Exchange:
    outcome: str  # minted | refused | revoked
    packages: tuple[str, ...] = ()
    reason: str = ""
    claims: dict[str, Any] = field(default_factory=dict)


@dataclass
class Forwarded:
    method: str
    path: str
    status: int
    with_grant: bool  # the request carried a minted token


class Refused(Exception):
    def __init__(self, status: int, reason: str, code: str = "invalid-token") -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.code = code


class Front:
    """One registry's trusted-publishing exchange and the forwarding in front of it."""

    def __init__(self, kind: str, upstream: str, credential: str | tuple[str, str], *,
                 issuer: str, audience: str | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(kind)
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be a loopback http URL: {upstream}")
        self.kind = kind
        self.upstream = upstream.rstrip("/")
        self._up = (parts.hostname, parts.port or 80)
        self._credential = credential
        self.issuer = issuer.rstrip("/")
        self._audience = audience
        self.publishers: list[Publisher] = []
        self.grants: dict[str, Grant] = {}
        self.exchanges: list[Exchange] = []
        self.forwarded: list[Forwarded] = []
        self._used_jti: set[str] = set()
        self._jwks: Any = None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    # -- control ----------------------------------------------------------------------

    @property
    def audience(self) -> str:
        if self._audience:
            return self._audience
        netloc = urlsplit(self.url).netloc
        if self.kind == "pypi":
            return PYPI_AUDIENCE
        if self.kind == "npm":
            return f"npm:{urlsplit(self.url).hostname}"
        return netloc

    def register(self, package: str, repository: str, workflow: str = "publish.yml",
                 environment: str | None = "production") -> Publisher:
        pub = Publisher(normalize(self.kind, package), repository, workflow, environment)
        with self._lock:
            self.publishers.append(pub)
        return pub

    def start(self) -> Front:
        front = self

        class Handler(_Handler):
            owner = front

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{port}/"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                         daemon=True, name=f"exchange-{self.kind}").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def uploads(self) -> list[Forwarded]:
        """Forwarded writes (uploads / publishes) that the registry accepted."""
        with self._lock:
            return [f for f in self.forwarded
                    if f.method in ("POST", "PUT") and f.status // 100 == 2]

    # -- the exchange -----------------------------------------------------------------

    def verify(self, token: str) -> dict[str, Any]:
        """The JWT's claims, checked as a registry checks them; Refused otherwise."""
        import jwt

        if self._jwks is None:
            self._jwks = jwt.PyJWKClient(f"{self.issuer}/.well-known/jwks", cache_keys=True)
        try:
            key = self._jwks.get_signing_key_from_jwt(token)
            claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=self.audience,
                                issuer=self.issuer, leeway=5,
                                options={"require": ["exp", "iat", "nbf", "iss", "aud", "jti"]})
        except jwt.PyJWTError as exc:
            raise Refused(401, f"invalid token: {exc}") from None
        with self._lock:
            if claims["jti"] in self._used_jti:
                raise Refused(401, "invalid token: this token was already used")
            self._used_jti.add(claims["jti"])
        return dict(claims)

    def mint(self, claims: Mapping[str, Any], wanted: str | None = None) -> Grant:
        with self._lock:
            packages = frozenset(p.package for p in self.publishers if p.matches(claims))
        if wanted is not None:
            packages = packages & {normalize(self.kind, wanted)}
        if not packages:
            raise Refused(404 if self.kind == "npm" else 422 if self.kind == "pypi" else 400,
                          "no trusted publisher matches this token", code="invalid-publisher")
        grant = Grant(mint_token(self.kind), packages, time.time() + LIFETIME[self.kind])
        with self._lock:
            self.grants[grant.token] = grant
        return grant

    def _record(self, ex: Exchange) -> None:
        with self._lock:
            self.exchanges.append(ex)

    # -- forwarding -------------------------------------------------------------------

    def upstream_auth(self) -> str:
        if isinstance(self._credential, tuple):
            raw = f"{self._credential[0]}:{self._credential[1]}".encode()
            return "Basic " + base64.b64encode(raw).decode()
        if self.kind == "crates":
            return self._credential
        return f"Bearer {self._credential}"

    def grant_of(self, header: str | None) -> Grant | None:
        """The grant a request's Authorization names (None: not a minted token)."""
        if not header:
            return None
        scheme, _, value = header.partition(" ")
        candidates = [header.strip(), value.strip()]
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            candidates = [password] if user == "__token__" else []
        with self._lock:
            for c in candidates:
                if c in self.grants:
                    return self.grants[c]
        return None

    def package_written(self, method: str, path: str, body: bytes,
                        headers: Mapping[str, str]) -> str | None:
        """The package a write request publishes (None: not a publish)."""
        if self.kind == "pypi" and method == "POST":
            match = re.search(rb'name="name"\r\n\r\n([^\r\n]+)', body)
            return normalize("pypi", match.group(1).decode()) if match else ""
        if self.kind == "npm" and method in ("PUT", "DELETE"):
            name = unquote(urlsplit(path).path.lstrip("/").split("/-rev/")[0])
            return name
        if self.kind == "crates" and method == "PUT" and path == "/api/v1/crates/new":
            try:
                (n,) = struct.unpack("<I", body[:4])
                return normalize("crates", json.loads(body[4:4 + n])["name"])
            except (struct.error, ValueError, KeyError, TypeError):
                return ""
        return None

    def package_exists(self, name: str) -> bool:
        """npm: does the registry hold any version of this package?"""
        status, _h, _b = self.forward_raw("GET", "/" + name.replace("/", "%2f"), b"",
                                          {"Authorization": self.upstream_auth()})
        return status == 200

    def crate_exists(self, name: str) -> bool:
        status, _h, _b = self.forward_raw("GET", f"/api/v1/crates/{name}", b"", {})
        return status == 200

    def forward_raw(self, method: str, path: str, body: bytes,
                    headers: Mapping[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(*self._up, timeout=120)
        try:
            out = {k: v for k, v in headers.items() if k.lower() not in _HOP}
            out["Content-Length"] = str(len(body))
            conn.request(method, path, body=body, headers=out)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, [(k, v) for k, v in resp.getheaders()
                                 if k.lower() not in _HOP], data
        finally:
            conn.close()


def _json_body(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError:
        return None


class _Handler(BaseHTTPRequestHandler):
    owner: Front
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def _body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: Any, headers: list[tuple[str, str]] | None = None,
              raw: bytes | None = None) -> None:
        data = raw if raw is not None else (b"" if payload is None else
                                           json.dumps(payload).encode())
        self.send_response(status)
        for k, v in headers if headers is not None else [("Content-Type", "application/json")]:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _refuse(self, exc: Refused) -> None:
        front = self.owner
        if front.kind == "pypi":
            self._send(exc.status, {"message": "Token request failed",
                                    "errors": [{"code": exc.code, "description": exc.reason}]})
        elif front.kind == "npm":
            self._send(exc.status, {"message": f"OIDC token exchange error - {exc.reason}"})
        else:
            detail = ("No matching Trusted Publishing config found"
                      if exc.code == "invalid-publisher" else "Failed to decode JWT")
            self._send(400, {"errors": [{"detail": detail}]})

    def _handle(self) -> None:
        front = self.owner
        method, path = self.command, self.path
        body = self._body()
        route = urlsplit(path).path
        try:
            if front.kind == "pypi" and route == "/_/oidc/audience" and method == "GET":
                return self._send(200, {"audience": front.audience})
            if front.kind == "pypi" and route == "/_/oidc/mint-token" and method == "POST":
                return self._exchange(str((_json_body(body) or {}).get("token") or ""))
            npm_prefix = "/-/npm/v1/oidc/token/exchange/package/"
            if front.kind == "npm" and route.startswith(npm_prefix) and method == "POST":
                auth = self.headers.get("Authorization") or ""
                token = auth[7:] if auth.lower().startswith("bearer ") else ""
                return self._exchange(token, wanted=unquote(route[len(npm_prefix):]))
            if front.kind == "crates" and route == "/api/v1/trusted_publishing/tokens":
                if method == "POST":
                    return self._exchange(str((_json_body(body) or {}).get("jwt") or ""))
                if method == "DELETE":
                    return self._revoke()
        except Refused as exc:
            return self._refuse(exc)
        self._forward(method, path, body)

    def _exchange(self, token: str, wanted: str | None = None) -> None:
        front = self.owner
        try:
            if not token:
                raise Refused(400 if front.kind != "npm" else 401, "no token in the request",
                              code="invalid-payload")
            claims = front.verify(token)
        except Refused as exc:
            front._record(Exchange("refused", (wanted,) if wanted else (), exc.reason))
            raise
        if front.kind == "npm" and wanted is not None and not front.package_exists(wanted):
            # npm keeps trusted publishers on the package: a name never published has none.
            front._record(Exchange("refused", (wanted,), "package not found", claims))
            raise Refused(404, "package not found", code="invalid-publisher")
        try:
            grant = front.mint(claims, wanted)
        except Refused as exc:
            front._record(Exchange("refused", (wanted,) if wanted else (), exc.reason, claims))
            raise
        front._record(Exchange("minted", tuple(sorted(grant.packages)), "", claims))
        if front.kind == "pypi":
            return self._send(200, {"success": True, "token": grant.token,
                                    "expires": int(grant.expires)})
        return self._send(201 if front.kind == "npm" else 200, {"token": grant.token})

    def _revoke(self) -> None:
        front = self.owner
        grant = front.grant_of(self.headers.get("Authorization"))
        if grant is None:
            return self._send(401, {"errors": [{"detail": "authentication failed"}]})
        grant.revoked = True
        front._record(Exchange("revoked", tuple(sorted(grant.packages))))
        return self._send(204, None, headers=[])

    def _forward(self, method: str, path: str, body: bytes) -> None:
        front = self.owner
        headers = {k: v for k, v in self.headers.items()}
        auth_key = next((k for k in headers if k.lower() == "authorization"), None)
        grant = front.grant_of(headers.get(auth_key) if auth_key else None)
        if grant is not None:
            status = self._check_grant(grant, method, path, body, headers)
            if status is not None:
                with front._lock:
                    front.forwarded.append(Forwarded(method, path, status, True))
                return
            assert auth_key is not None
            headers[auth_key] = front.upstream_auth()
        status, out_headers, data = front.forward_raw(method, path, body, headers)
        with front._lock:
            front.forwarded.append(Forwarded(method, path, status, grant is not None))
        self._send(status, None, headers=out_headers, raw=data)

    def _check_grant(self, grant: Grant, method: str, path: str, body: bytes,
                     headers: Mapping[str, str]) -> int | None:
        """None when the minted token may make this request; else the refusal sent."""
        front = self.owner
        if not grant.live():
            self._deny(403, "the token has expired or was revoked")
            return 403
        package = front.package_written(method, path, body, headers)
        if package is None:
            return None
        if package not in grant.packages:
            self._deny(403, f"the token is not valid for {package!r}")
            return 403
        if front.kind == "crates" and not front.crate_exists(package):
            self._deny(403, "Trusted Publishing tokens do not support creating new crates. "
                            "Publish the crate manually, first")
            return 403
        return None

    def _deny(self, status: int, reason: str) -> None:
        kind = self.owner.kind
        if kind == "pypi":
            page = (f"<html><head><title>{status} {reason}</title></head>"
                    f"<body><h1>{status} {reason}</h1></body></html>").encode()
            self._send(status, None, headers=[("Content-Type", "text/html")], raw=page)
        elif kind == "npm":
            self._send(status, {"error": reason})
        else:
            self._send(status, {"errors": [{"detail": reason}]})


@dataclass
class Fronts:
    """The fronts of one sandbox, by kind (``pypi``, ``npm``, ``crates``): one for each
    registry that runs."""

    by_kind: dict[str, Front] = field(default_factory=dict)

    def _get(self, kind: str) -> Front:
        front = self.by_kind.get(kind)
        if front is None:
            from valet.errors import SandboxError

            raise SandboxError(f"no trusted-publishing exchange for {kind}: its registry "
                               "is not running",
                               hint="start the registry too (`valet sandbox --with "
                                    "trusted-publishing` fronts every registry it runs)")
        return front

    @property
    def pypi(self) -> Front:
        return self._get("pypi")

    @property
    def npm(self) -> Front:
        return self._get("npm")

    @property
    def crates(self) -> Front:
        return self._get("crates")

    def all(self) -> list[Front]:
        return list(self.by_kind.values())

    def register(self, repository: str, *, pypi: str | None = None, npm: str | None = None,
                 crates: str | None = None, workflow: str = "publish.yml",
                 environment: str | None = "production") -> None:
        """Register ``repository``'s workflow as the trusted publisher of these packages."""
        for kind, package in (("pypi", pypi), ("npm", npm), ("crates", crates)):
            if package:
                self._get(kind).register(package, repository, workflow, environment)

    def stop(self) -> None:
        for front in self.all():
            front.stop()


def start_fronts(issuer: str, *, registries: Any = None, crates: Any = None) -> Fronts:
    """A front for each registry given: pypiserver and verdaccio (``Registries``) and the
    crates.io fake (``FakeCrates``), trusting the ID tokens of ``issuer``."""
    upstreams: list[tuple[str, str, str | tuple[str, str]]] = []
    if registries is not None:
        upstreams += [("pypi", registries.pypi_url,
                       (registries.pypi_user, registries.pypi_password)),
                      ("npm", registries.npm_url, registries.npm_token)]
    if crates is not None:
        upstreams.append(("crates", crates.url, crates.token))
    fronts = Fronts()
    try:
        for kind, upstream, credential in upstreams:
            fronts.by_kind[kind] = Front(kind, upstream, credential, issuer=issuer).start()
    except BaseException:
        fronts.stop()
        raise
    return fronts
