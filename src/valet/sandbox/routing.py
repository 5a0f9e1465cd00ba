"""Requests, responses, errors and the path router of the sandbox server.

Handlers are plain functions ``handler(req, **params) -> Response``; they raise
``ApiError`` for GitHub-style error answers. Nothing here knows about sockets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlencode

if TYPE_CHECKING:
    from valet.sandbox.app import App

DOCS = "https://docs.github.com/rest"


class ApiError(Exception):
    """An error answer with GitHub's body: ``{"message", "documentation_url", "status"}``."""

    def __init__(self, status: int, message: str, *, errors: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "documentation_url": DOCS}
        if self.errors is not None:
            out["errors"] = self.errors
        out["status"] = str(self.status)
        return out


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def validation_failed(resource: str, field_name: str, code: str = "invalid",
                      message: str | None = None) -> ApiError:
    err: dict[str, Any] = {"resource": resource, "code": code, "field": field_name}
    if message:
        err["message"] = message
    return ApiError(422, "Validation Failed", errors=[err])


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-able, or bytes
    headers: dict[str, str] = field(default_factory=dict)
    # A stream of bytes (file object or iterator); sent after the headers.
    stream: IO[bytes] | Iterable[bytes] | None = None
    length: int | None = None

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, separators=(",", ":")).encode()


def redirect(location: str) -> Response:
    return Response(302, None, {"Location": location})


@dataclass
class Request:
    app: App
    method: str
    path: str  # path relative to the mounted prefix (e.g. /repos/o/r)
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    base: str  # absolute URL of the mount, e.g. http://127.0.0.1:P/api/v3
    rfile: IO[bytes] | None = None
    login: str | None = None  # the token's user (None: anonymous)
    token: str | None = None
    _body: bytes | None = None
    consumed: bool = False  # set by handlers that stream the body themselves

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def body_bytes(self) -> bytes:
        if self._body is None:
            self._body = b"".join(read_body(self.rfile, self.headers)) if self.rfile else b""
            self.consumed = True
        return self._body

    def stream_body(self) -> Iterator[bytes]:
        self.consumed = True
        if self.rfile is None:
            return iter(())
        return read_body(self.rfile, self.headers)

    def json(self) -> dict[str, Any]:
        raw = self.body_bytes()
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            raise ApiError(400, "Problems parsing JSON") from None
        if not isinstance(data, dict):
            raise ApiError(400, "Body should be a JSON object")
        return data

    def arg(self, name: str, default: str | None = None) -> str | None:
        vals = self.query.get(name)
        return vals[-1] if vals else default

    def int_arg(self, name: str, default: int) -> int:
        raw = self.arg(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise validation_failed("Request", name, message=f"{name} must be an integer") from None

    def url_with(self, **params: Any) -> str:
        """This request's URL with some query parameters replaced (for Link headers)."""
        q = {k: v[-1] for k, v in self.query.items()}
        q.update({k: str(v) for k, v in params.items()})
        return f"{self.base}{self.path}?{urlencode(q)}"


def read_body(rfile: IO[bytes], headers: dict[str, str], chunk: int = 65536) -> Iterator[bytes]:
    """Yield the request body, honouring Content-Length or chunked transfer encoding."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            size_line = rfile.readline(1024)
            if not size_line:
                return
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return
            remaining = size
            while remaining:
                data = rfile.read(min(chunk, remaining))
                if not data:
                    return
                remaining -= len(data)
                yield data
            rfile.readline(1024)  # CRLF after each chunk
        return
    remaining = int(headers.get("content-length", "0") or "0")
    while remaining > 0:
        data = rfile.read(min(chunk, remaining))
        if not data:
            return
        remaining -= len(data)
        yield data


Handler = Callable[..., Response]

_PARAM = re.compile(r"\{(\w+)(:path)?\}")


class Router:
    """Routes ``METHOD /path/{param}`` patterns; ``{name:path}`` may contain slashes."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler, str]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        def repl(m: re.Match[str]) -> str:
            return f"(?P<{m.group(1)}>.+)" if m.group(2) else f"(?P<{m.group(1)}>[^/]+)"

        regex = re.compile("^" + _PARAM.sub(repl, re.escape(pattern).replace(r"\{", "{")
                                            .replace(r"\}", "}")) + "/?$")
        self._routes.append((method.upper(), regex, handler, pattern))

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            self.add(method, pattern, fn)
            return fn
        return deco

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        _, handler, params = self.resolve(method, path)
        return handler, params

    def pattern_for(self, method: str, path: str) -> str | None:
        """The route pattern that serves ``method path`` (None: no route)."""
        try:
            return self.resolve(method, path)[0]
        except ApiError:
            return None

    def resolve(self, method: str, path: str) -> tuple[str, Handler, dict[str, str]]:
        # The most specific pattern wins (most literal characters): a greedy
        # ``{ref:path}`` must not swallow ``/commits/{ref}/status``.
        best: tuple[int, str, Handler, dict[str, str]] | None = None
        for m, regex, handler, pattern in self._routes:
            if m != method and not (m == "GET" and method == "HEAD"):
                continue
            hit = regex.match(path)
            if hit:
                score = len(_PARAM.sub("", pattern))
                if best is None or score > best[0]:
                    best = (score, pattern, handler, hit.groupdict())
        if best is None:
            raise not_found()  # GitHub answers 404 for a wrong verb too
        return best[1], best[2], best[3]

    def patterns(self) -> list[tuple[str, str]]:
        return [(m, p) for m, _, _, p in self._routes]


def page_args(req: Request, default_per_page: int = 30) -> tuple[int, int]:
    """``(page, per_page)`` as GitHub reads them (per_page capped at 100)."""
    per_page = max(1, min(100, req.int_arg("per_page", default_per_page)))
    return max(1, req.int_arg("page", 1)), per_page


def link_header(req: Request, total: int, page: int, per_page: int) -> dict[str, str]:
    last = max(1, -(-total // per_page))
    links = []
    if page < last:
        links.append(f'<{req.url_with(page=page + 1, per_page=per_page)}>; rel="next"')
        links.append(f'<{req.url_with(page=last, per_page=per_page)}>; rel="last"')
    if page > 1:
        links.append(f'<{req.url_with(page=page - 1, per_page=per_page)}>; rel="prev"')
        links.append(f'<{req.url_with(page=1, per_page=per_page)}>; rel="first"')
    return {"Link": ", ".join(links)} if links else {}


def paginate(req: Request, items: list[Any], *, default_per_page: int = 30
             ) -> tuple[list[Any], dict[str, str]]:
    """Slice ``items`` by ``page``/``per_page`` and build GitHub's Link header."""
    page, per_page = page_args(req, default_per_page)
    chunk = items[(page - 1) * per_page: page * per_page]
    return chunk, link_header(req, len(items), page, per_page)


def page_response(req: Request, items: list[Any]) -> Response:
    chunk, headers = paginate(req, items)
    return Response(200, chunk, headers)
