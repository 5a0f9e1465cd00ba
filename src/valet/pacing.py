"""Pacing of content-creating requests to GitHub's published guidance.

GitHub's secondary rate limits ask for no more than 80 content-creating
requests (POST, PATCH, PUT, DELETE) per minute and 500 per hour, and answer
more with 403/429 and a ``Retry-After`` (docs: "Rate limits for the REST API",
secondary rate limits). ``WritePacer`` keeps a process below both: before each
write, ``wait()`` sleeps until the write fits the sliding minute and hour
windows. Reads are never paced; a release's handful of writes never waits. A GraphQL
POST counts as a write when its document mutates (GitHub counts mutations as
content-creating), not when it only queries.

One pacer per process (``default()``), on loopback too, so the sandbox sees the
pace GitHub would; ``VALET_PACE_WRITES=0`` turns it off (the test suite does,
explicitly: hundreds of publishes in one process would otherwise wait).
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

PER_MINUTE = 80
PER_HOUR = 500
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


def is_write(method: str, url: str, body: Any = None) -> bool:
    """A content-creating request: a write verb, except a GraphQL query (a POST that reads).

    A GraphQL POST is a write when its document mutates, and when the document cannot be
    read (no body, not JSON, not GraphQL): GitHub counts mutations as content-creating."""
    if method.upper() not in WRITE_METHODS:
        return False
    if not url.split("?", 1)[0].rstrip("/").endswith("/graphql"):
        return True
    return not graphql_reads(body)


def graphql_reads(body: Any) -> bool:
    """Whether a GraphQL request body (bytes, text or its decoded JSON) only queries."""
    import graphql

    ops = graphql_operations(body)
    return bool(ops) and all(op.operation is graphql.OperationType.QUERY for op in ops)


def graphql_operations(body: Any) -> list[Any]:
    """The operation definitions of a GraphQL request body (bytes, text or its decoded
    JSON); [] when it is none (not JSON, no ``query``, not GraphQL)."""
    import json

    import graphql

    try:
        if isinstance(body, (bytes, bytearray)):
            body = body.decode("utf-8")
        if isinstance(body, str):
            body = json.loads(body)
        query = body.get("query") if isinstance(body, dict) else None
        if not isinstance(query, str):
            return []
        return [d for d in graphql.parse(query, no_location=True).definitions
                if isinstance(d, graphql.OperationDefinitionNode)]
    except (ValueError, graphql.GraphQLError):  # UnicodeDecodeError is a ValueError
        return []


class WritePacer:
    """At most ``per_minute`` writes in any 60 s and ``per_hour`` in any 3600 s."""

    def __init__(self, *, per_minute: int = PER_MINUTE, per_hour: int = PER_HOUR,
                 enabled: bool = True, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 on_wait: Callable[[float], None] | None = None) -> None:
        self.windows = ((60.0, per_minute), (3600.0, per_hour))
        self.enabled = enabled
        self._clock = clock
        self._sleep = sleep
        self._on_wait = on_wait
        self._sent: deque[float] = deque()  # start times of the last writes, oldest first
        self._lock = threading.Lock()
        self.waited = 0.0  # total seconds spent waiting (for the log and the tests)

    def delay(self, now: float) -> float:
        """Seconds until one more write fits every window (0: now)."""
        wait = 0.0
        for span, limit in self.windows:
            inside = [t for t in self._sent if t > now - span]
            if len(inside) >= limit:
                # the oldest write that must leave the window before this one may go
                wait = max(wait, inside[-limit] + span - now)
        return wait

    def wait(self) -> float:
        """Block until a write may go, and count it; the seconds waited."""
        if not self.enabled:
            return 0.0
        waited = 0.0
        with self._lock:  # writers queue up in order: the windows stay exact
            while True:
                now = self._clock()
                pause = self.delay(now)
                if pause <= 0:
                    break
                if self._on_wait is not None:
                    self._on_wait(pause)
                self._sleep(pause)
                waited += pause
            self._sent.append(now)
            horizon = now - max(span for span, _ in self.windows)
            while self._sent and self._sent[0] <= horizon:
                self._sent.popleft()
            self.waited += waited
        return waited


_default: WritePacer | None = None
_default_lock = threading.Lock()


def enabled_by_env() -> bool:
    return (os.environ.get("VALET_PACE_WRITES") or "1").strip().lower() not in (
        "0", "false", "no", "off")


def default() -> WritePacer:
    """The process's pacer (created on first use, from VALET_PACE_WRITES)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = WritePacer(enabled=enabled_by_env(), on_wait=_say_waiting)
        return _default


def before_write(method: str, url: str, body: Any = None) -> None:
    """Pace ``method url`` if it creates content (the hook every GitHub client calls)."""
    if is_write(method, url, body):
        pacer = default()
        pacer.enabled = enabled_by_env()
        pacer.wait()


def _say_waiting(seconds: float) -> None:
    from valet import gha

    gha.info(f"pacing writes to GitHub's guidance ({PER_MINUTE}/min, {PER_HOUR}/h): waiting "
             f"{seconds:.1f}s")
