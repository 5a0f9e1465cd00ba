"""The checkboxes: ticked in batches as targets settle, and who ticked the others.

Publish owns the body once approved (the approval checks compared it with the
body the approver saw): a tick never reads the issue first. It is computed
from the body as publish last knew it (read at the start of the run, then as
GitHub answered publish's own last write) and written with every other target
settled since the last write, in one PATCH. A run that settles quickly writes
no tick of its own: its ticks go with the close (``body``); a long one
writes at most once per ``interval`` (a minute) while targets keep settling, and a failure
writes what is pending before it reports (``flush``). So a release of 32
targets costs the issue about as many writes as one of a single target, and
never more than GitHub's pace of content-creating requests allows.

A published target whose tick never reached the issue (the runner died) is
found published by its registry on the next run, and ticked then.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from valet import gha, summary
from valet.errors import ValetError
from valet.publish.context import Run
from valet.publish.identity import Identities

TICK_INTERVAL_S = 60.0  # at most one tick write a minute while targets settle


class Ticker:
    def __init__(self, issues: Any, *, interval: float = TICK_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.issues = issues
        self.interval = interval
        self._clock = clock
        self._lock = threading.RLock()
        self._write = threading.Lock()  # one body write at a time, in order
        self._runs: dict[int, _Ticks] = {}
        self._writer: threading.Thread | None = None

    def _of(self, run: Run) -> _Ticks:
        with self._lock:
            state = self._runs.get(run.number)
            if state is None or state.run is not run:
                state = self._runs[run.number] = _Ticks(run, self._clock())
            return state

    def tick(self, run: Run, key: str) -> None:
        """``key`` settled (published, or found published): ticked with the next write."""
        state = self._of(run)
        with self._lock:
            state.pending.append(key)
            due = (self.interval >= 0 and self._clock() - state.last_write >= self.interval
                   and (self._writer is None or not self._writer.is_alive()))
            if due:
                self._writer = threading.Thread(target=self._background, args=(run,),
                                                name="ticks", daemon=True)
                self._writer.start()
        gha.info(f"ticked {key} (written with the next write of the issue)")

    def _background(self, run: Run) -> None:
        try:
            self.flush(run)
        except ValetError as exc:  # the ticks stay pending: the next write carries them
            gha.warning(f"ticking #{run.number} failed, tried again with the next write: "
                        f"{exc.message}")

    def pending(self, run: Run) -> list[str]:
        state = self._of(run)
        with self._lock:
            return list(state.pending)

    def known(self, run: Run) -> str:
        """The body as publish last wrote it (or read it, at the start of the run)."""
        state = self._of(run)
        with self._lock:
            return state.body

    def body(self, run: Run) -> str:
        """The body with every tick so far: what the close writes."""
        from valet.issue_format import set_target_checked

        state = self._of(run)
        with self._lock:
            body = state.body
            for key in state.pending:
                body = set_target_checked(body, key, True)
            return body

    def wrote(self, run: Run, issue: dict[str, Any] | None, ticked: list[str]) -> None:
        """A write of the body (a tick, or the close) reached GitHub: its answer is the
        body publish knows now, and those ticks are no longer pending."""
        state = self._of(run)
        with self._lock:
            if isinstance(issue, dict) and issue:
                run.last_issue = issue
                if isinstance(issue.get("body"), str):
                    state.body = issue["body"]
            for key in ticked:
                if key in state.pending:
                    state.pending.remove(key)
            state.last_write = self._clock()

    def flush(self, run: Run) -> None:
        """Write every pending tick now, in one PATCH (nothing pending: no write)."""
        with self._write:
            ticked = self.pending(run)
            if not ticked:
                return
            body = self.body(run)
            if body == self.known(run):
                self.wrote(run, None, ticked)
                return
            patched = self.issues.set_body(run.number, body)
            self.wrote(run, patched if isinstance(patched, dict) else None, ticked)
            gha.info(f"wrote the ticks of {', '.join(ticked)}")

    def wait(self) -> None:
        """Let a background write finish (before the close writes the body itself)."""
        writer = self._writer
        if writer is not None:
            writer.join()


class _Ticks:
    def __init__(self, run: Run, now: float) -> None:
        self.run = run
        self.body = run.body  # the approved body, then each write's answer
        self.pending: list[str] = []
        self.last_write = now


def who_ticked(issues: Any, number: int, ticked: list[str], ids: Identities) -> dict[str, str]:
    from valet.publish.approval import own_comments

    out: dict[str, str] = {}
    try:
        # anyone can paste a marker into a comment: only the publish App's count
        records = own_comments(issues, number, ids, summary.DONE_MARKER)
    except ValetError:
        return out
    for data in records:
        keys = data.get("targets")
        for key in keys if isinstance(keys, list) else []:
            if key in ticked:
                out[str(key)] = "published by valet in an earlier run"
    rest = [k for k in ticked if k not in out]
    for key, login in _tickers(issues, number, rest).items():
        # No "@": a table cell's `\@` is not a sure way to stop GitHub notifying them.
        out[key] = f"ticked by {login} before approval"
    return out


def _tickers(issues: Any, number: int, keys: list[str]) -> dict[str, str]:
    """key -> who ticked it, from the body's edit history; {} when it cannot be read.

    Only a name in the summary depends on it: no error here may fail a publish."""
    body_edits = getattr(issues, "body_edits", None)
    if not keys or body_edits is None:
        return {}
    from valet.edit_history import who_ticked as from_history

    try:
        return from_history(body_edits(number), keys)
    except Exception as exc:  # noqa: BLE001 - GraphQL down, forbidden or changed shape
        gha.debug(f"who ticked the boxes of #{number} is unknown: {exc}")
        return {}
