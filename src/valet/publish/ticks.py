"""The checkboxes: tick one as its target succeeds, and say who ticked the others."""

from __future__ import annotations

import threading
from typing import Any

from valet import gha, summary
from valet.errors import ValetError
from valet.publish.context import Run
from valet.publish.identity import Identities


class Ticker:
    def __init__(self, issues: Any) -> None:
        self.issues = issues
        self._lock = threading.Lock()

    def tick(self, run: Run, key: str) -> None:
        from valet.issue_format import set_target_checked

        with self._lock:
            issue = self.issues.issue(run.number)
            body = issue.get("body") or ""
            new = set_target_checked(body, key, True)
            if new != body:
                patched = self.issues.set_body(run.number, new)
                issue = patched if isinstance(patched, dict) and patched else {}
            # The issue as it stands right after our write: finishing reads it
            # instead of asking again.
            run.last_issue = issue or None
        gha.info(f"ticked {key}")


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
