"""Fault injection: a path pattern answers N errors (or hangs, or is slow) first.

``lost`` is the case a client cannot tell from a hang: the request is carried
out, then the connection drops before the answer (a comment is posted, its
201 never arrives).

Used by the reliability tests and the benchmarks through the admin API.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

KINDS = ("status", "hang", "ratelimit", "secondary_ratelimit", "latency", "lost")


@dataclass
class Fault:
    id: int
    path: str
    method: str | None
    kind: str
    status: int = 502
    count: int = 1  # answers left; <= 0 means unlimited
    seconds: float = 0.0
    hits: int = 0
    regex: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.regex = re.compile(self.path)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "path": self.path, "method": self.method, "kind": self.kind,
                "status": self.status, "count": self.count, "seconds": self.seconds,
                "hits": self.hits}


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._next = 1

    def add(self, *, path: str, method: str | None = None, kind: str = "status",
            status: int = 502, count: int | None = None, seconds: float = 0.0) -> Fault:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(KINDS)}")
        if count is None:
            count = 0 if kind == "latency" else 1
        with self._lock:
            fault = Fault(self._next, path, method.upper() if method else None, kind,
                          int(status), int(count), float(seconds))
            self._next += 1
            self._faults.append(fault)
            return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_json() for f in self._faults]

    def take(self, method: str, path: str) -> list[Fault]:
        """The faults that apply to this request (consuming one answer of each)."""
        hit: list[Fault] = []
        with self._lock:
            for f in list(self._faults):
                if f.method and f.method != method:
                    continue
                if not f.regex.search(path):
                    continue
                f.hits += 1
                hit.append(f)
                if f.count > 0:
                    f.count -= 1
                    if f.count == 0:
                        self._faults.remove(f)
        # Latency first, then at most one failing answer (``lost`` acts after the handler).
        hit.sort(key=lambda f: (f.kind != "latency", f.kind == "lost"))
        return hit
