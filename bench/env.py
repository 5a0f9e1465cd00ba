"""What the measurements talk to: the sandbox in its own process, a latency proxy.

The sandbox runs in a child process so that its server threads never share a
GIL with the code being measured (the download/verify throughput would
otherwise measure the sandbox as much as valet).
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from valet.sandbox.client import AdminClient

_CHILD = """
import json, sys
from valet.sandbox import Sandbox
sb = Sandbox(registries=True).start()
info = {"env": sb.env(), "server_url": sb.server_url, "api_url": sb.api_url}
if sb.registries is not None:
    info["npmrc"] = sb.registries.npmrc_text()
print(json.dumps(info), flush=True)
try:
    sys.stdin.read()  # until the parent closes our stdin (or dies)
finally:
    sb.stop()
"""


class SandboxProcess:
    """``valet.sandbox.Sandbox(registries=True)`` in a child process."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.proc: subprocess.Popen[str] | None = None
        self.info: dict[str, Any] = {}
        self.admin: AdminClient

    def start(self, timeout: float = 120.0) -> SandboxProcess:
        env = dict(os.environ)
        env.pop("GITHUB_API_URL", None)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and code
                [sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=log, text=True, env=env, start_new_session=True)
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline and not line:
            line = self.proc.stdout.readline()
            if self.proc.poll() is not None:
                break
        if not line:
            self.stop()
            raise RuntimeError(f"the sandbox did not start; see {self.log}")
        self.info = json.loads(line)
        self.admin = AdminClient(self.info["server_url"])
        return self

    @property
    def env(self) -> dict[str, str]:
        return dict(self.info["env"])

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin:
                proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- latency proxy ------------------------------------------------------------------

_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te",
        "trailer"}


class LatencyProxy:
    """A reverse proxy on 127.0.0.1 that adds ``seconds`` to every request whose
    method is in ``methods`` (the rest pass straight through).

    Each request is answered on its own thread: the latency of one client never
    delays another, as with a real registry far away.
    """

    def __init__(self, upstream: str, seconds: float, methods: tuple[str, ...] = ("PUT",)) -> None:
        parts = urlsplit(upstream)
        self.up_host = parts.hostname or "127.0.0.1"
        self.up_port = parts.port or 80
        self.seconds = seconds
        self.methods = {m.upper() for m in methods}
        self.delayed = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if self.command in proxy.methods:
                    with proxy._lock:
                        proxy.delayed += 1
                    time.sleep(proxy.seconds)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                conn = http.client.HTTPConnection(proxy.up_host, proxy.up_port, timeout=120)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                finally:
                    conn.close()
                self.send_response(resp.status, resp.reason)
                for k, v in resp.getheaders():
                    if k.lower() not in _HOP and k.lower() != "content-length":
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _forward

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                # a client that hangs up first (npm, twine closing keep-alive sockets) is
                # not worth a traceback on the bench's terminal
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                        name="latency-proxy")

    def __enter__(self) -> LatencyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def env_vars(values: dict[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
