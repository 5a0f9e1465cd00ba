"""What GitHub recorded on an issue (pure): its labels and its events, read as facts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from valet.errors import NotARequestError
from valet.events import Actor, valid_login


def label_names(issue: Mapping[str, Any]) -> set[str]:
    return {x["name"] for x in issue.get("labels") or []
            if isinstance(x, dict) and isinstance(x.get("name"), str)}


def latest_label_actor(events: Iterable[dict[str, Any]], label: str) -> Actor | None:
    found = None
    for ev in events:
        if not isinstance(ev, dict) or ev.get("event") != "labeled":
            continue
        if (ev.get("label") or {}).get("name") != label:
            continue
        actor = ev.get("actor") or {}
        if valid_login(actor.get("login")):
            found = Actor(actor["login"], str(actor.get("type") or "User"))
    return found  # events come oldest first: the last match is the latest


def is_request_title(title: str) -> bool:
    from valet.issue_format import parse_title

    try:
        parse_title(title)
    except NotARequestError:
        return False
    return True
