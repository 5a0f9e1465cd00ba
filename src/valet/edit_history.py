"""Who ticked a target's checkbox, read from an issue body's edit history (pure).

The REST API cannot say who changed an issue body; GraphQL's ``userContentEdits``
can (publish_api.IssueAPI.body_edits). publish uses this to name, in its summary,
the person who ticked a box before approval.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from valet.errors import ValetError
from valet.events import valid_login
from valet.issue_format import targets_section
from valet.publish_api import EDITS_LIMIT, Edit


def _checked(body: str) -> set[str] | None:
    """The ids whose box is ticked in ``body``; None when it has no Targets section."""
    try:
        return {t.id for t in targets_section(body) if t.checked}
    except ValetError:
        return None


def who_ticked(edits: Sequence[Edit], keys: Iterable[str]) -> dict[str, str]:
    """key -> login of the editor whose edit ticked that box (``edits`` oldest first).

    The box's current state is the work of the last edit that turned it from unticked
    to ticked (a tick, an untick and a new tick is the second ticker's doing). The
    body before the first edit (the requester's) has every box unticked; when the
    history may be cut off (EDITS_LIMIT edits or more) a box already ticked in the
    oldest edit we see names nobody. Logins that fail GitHub's grammar name nobody.
    """
    states = [(e.login, _checked(e.body)) for e in edits]
    out: dict[str, str] = {}
    for key in keys:
        before: bool | None = False if len(edits) < EDITS_LIMIT else None
        who: str | None = None
        for login, ticked in states:
            if ticked is None:  # a body without a Targets section says nothing
                continue
            now = key in ticked
            if now and before is False:
                who = login
            elif not now:
                who = None
            before = now
        if before and who is not None and valid_login(who):
            out[key] = who
    return out
