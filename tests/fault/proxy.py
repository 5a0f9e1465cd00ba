"""A loopback reverse proxy in front of a registry that misbehaves on request.

``FaultProxy(upstream).start()`` listens on 127.0.0.1 and forwards every request
to ``upstream`` (pypiserver or verdaccio), except those matching a rule added
with ``add(path=REGEX, method=None, kind=..., count=1, seconds=...)``:

- ``status``: answer ``status`` (default 500) without forwarding;
- ``hang``: read the request, wait ``seconds``, drop the connection without
  forwarding (a gateway that times out before the registry saw anything);
- ``lost``: forward, let the registry answer, then wait ``seconds`` and drop the
  connection instead of passing the answer on (the upload happened, the client
  never hears so: the case that tempts a blind retry into a double publish);
- ``latency``: wait ``seconds``, then forward normally (count 0: every match).

Every request is logged (method, path, the status the client got: 0 = dropped,
and the status upstream gave when it was asked) so a test can count uploads that
reached the registry.
"""

from __future__ import annotations

import http.client
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
        "upgrade", "content-length", "host"}


@dataclass
class Rule:
    path: str
    method: str | None
    kind: str
    status: int = 500
    count: int = 1  # answers left; 0 = forever
    seconds: float = 0.0
    hits: int = 0
    regex: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.regex = re.compile(self.path)


@dataclass
class Entry:
    method: str
    path: str
    status: int  # what the client got (0: dropped)
    upstream: int | None  # what the registry answered (None: not forwarded)
    fault: str | None = None


class FaultProxy:
    KINDS = ("status", "hang", "lost", "latency")

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        assert parts.scheme == "http" and parts.hostname, upstream
        self.up_host = parts.hostname
        self.up_port = parts.port or 80
        self.up_prefix = parts.path.rstrip("/")
        self.rules: list[Rule] = []
        self.log: list[Entry] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # -- control ------------------------------------------------------------------
    def start(self) -> FaultProxy:
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{port}{self.up_prefix}/"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True,
                                        name="fault-proxy")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def add(self, *, path: str, method: str | None = None, kind: str = "status",
            status: int = 500, count: int | None = None, seconds: float = 0.0) -> Rule:
        if kind not in self.KINDS:
            raise ValueError(kind)
        if count is None:
            count = 0 if kind == "latency" else 1
        rule = Rule(path, method.upper() if method else None, kind, status, count, seconds)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def entries(self) -> list[Entry]:
        with self._lock:
            return list(self.log)

    def _take(self, method: str, path: str) -> list[Rule]:
        hit: list[Rule] = []
        with self._lock:
            for rule in list(self.rules):
                if rule.method and rule.method != method:
                    continue
                if not rule.regex.search(path):
                    continue
                rule.hits += 1
                hit.append(rule)
                if rule.count > 0:
                    rule.count -= 1
                    if rule.count == 0:
                        self.rules.remove(rule)
        hit.sort(key=lambda r: r.kind != "latency")
        return hit

    def _record(self, entry: Entry) -> None:
        with self._lock:
            self.log.append(entry)


class _Handler(BaseHTTPRequestHandler):
    owner: FaultProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
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

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _handle(self) -> None:
        proxy = self.owner
        method, path = self.command, self.path
        body = self._body()
        rules = proxy._take(method, urlsplit(path).path)
        fault = None
        for rule in rules:
            if rule.kind == "latency":
                proxy._stopping.wait(rule.seconds)
                continue
            fault = rule
            break
        if fault is not None and fault.kind == "status":
            payload = b'{"error": "injected fault"}'
            self.send_response(fault.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            proxy._record(Entry(method, path, fault.status, None, "status"))
            return
        if fault is not None and fault.kind == "hang":
            proxy._stopping.wait(fault.seconds)
            self._drop()
            proxy._record(Entry(method, path, 0, None, "hang"))
            return
        status, headers, data = self._forward(method, path, body)
        if fault is not None and fault.kind == "lost":
            proxy._stopping.wait(fault.seconds)
            self._drop()
            proxy._record(Entry(method, path, 0, status, "lost"))
            return
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in _HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(data)
        proxy._record(Entry(method, path, status, status, None))

    def _forward(self, method: str, path: str, body: bytes) -> tuple[int, list[tuple[str, str]],
                                                                     bytes]:
        proxy = self.owner
        conn = http.client.HTTPConnection(proxy.up_host, proxy.up_port, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        # The registry builds absolute URLs (tarballs, redirects) from Host: keep the proxy's.
        headers["Host"] = self.headers.get("Host") or f"{proxy.up_host}:{proxy.up_port}"
        headers["Content-Length"] = str(len(body))
        try:
            conn.request(method, path, body=body if body or method in ("POST", "PUT") else None,
                         headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, resp.getheaders(), data
        finally:
            conn.close()
