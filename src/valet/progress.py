"""Progress lines for long transfers, in a form CI logs keep readable.

No carriage returns or bars: one plain line every `every_percent` percent or
every `every_seconds` seconds, whichever comes first, with bytes done, total
and throughput.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


class Progress:
    """Report bytes moved for one transfer. Call update(n) per chunk and done() at the end."""

    def __init__(self, label: str, total: int | None, *, every_percent: int = 10,
                 every_seconds: float = 5.0, emit: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 min_total: int = 4 * 1024 * 1024) -> None:
        from valet import gha

        self.label = label
        self.total = total
        # Small files get only their final line: percent lines would be noise.
        self.every_percent = max(1, every_percent) if (total or 0) >= min_total else 101
        self.every_seconds = every_seconds
        self.emit = emit or gha.info
        self.clock = clock
        self.done_bytes = 0
        self._start = clock()
        self._last_time = self._start
        self._last_step = 0
        self._finished = False

    def line(self) -> str:
        elapsed = max(self.clock() - self._start, 1e-9)
        rate = human_bytes(self.done_bytes / elapsed) + "/s"
        if self.total:
            pct = 100 * self.done_bytes // self.total
            return (f"{self.label}: {human_bytes(self.done_bytes)} / {human_bytes(self.total)} "
                    f"({pct}%) at {rate}")
        return f"{self.label}: {human_bytes(self.done_bytes)} at {rate}"

    def update(self, n: int) -> None:
        self.done_bytes += n
        now = self.clock()
        step = (100 * self.done_bytes // self.total) // self.every_percent if self.total else 0
        if step > self._last_step or now - self._last_time >= self.every_seconds:
            self._last_step = max(step, self._last_step)
            self._last_time = now
            if not (self.total and self.done_bytes >= self.total):
                self.emit(self.line())

    def done(self) -> None:
        if not self._finished:
            self._finished = True
            self.emit(self.line() + " done")


ProgressFactory = Callable[[str, "int | None"], Progress]


def default_factory(label: str, total: int | None) -> Progress:
    return Progress(label, total)
