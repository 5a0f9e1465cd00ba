"""What GitHub recorded on an issue (pure): its labels and its events, read as facts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from valet.errors import NotARequestError
from valet.events import Actor, valid_login


def label_names(issue: Mapping[str, Any]) -> set[str]:
    return {x["name"] for x in issue.get("labels") or []
            if isinstance(x, dict) and isinstance(x.get("name"), str)}


def node_ids(issue: Mapping[str, Any]) -> tuple[str | None, dict[str, str]]:
    """The issue's GraphQL id and each of its labels' (name -> id), as REST answers them."""
    node = issue.get("node_id")
    labels = {x["name"]: x["node_id"] for x in issue.get("labels") or []
              if isinstance(x, dict) and isinstance(x.get("name"), str)
              and isinstance(x.get("node_id"), str) and x["node_id"]}
    return (node if isinstance(node, str) and node else None), labels


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


def latest_label_event(events: Iterable[dict[str, Any]], label: str) -> dict[str, Any] | None:
    """The latest `labeled` event for ``label`` (events come oldest first)."""
    found = None
    for ev in events:
        if isinstance(ev, dict) and ev.get("event") == "labeled" \
                and (ev.get("label") or {}).get("name") == label:
            found = ev
    return found


def closed_after(events: list[dict[str, Any]], label_event: dict[str, Any] | None
                 ) -> dict[str, Any] | None:
    """The first `closed` event after ``label_event`` (None: the issue was not closed since).

    Closing is the documented retraction of a request: an approval given before it
    does not survive a reopening."""
    if label_event is None:
        return None
    seen = False
    for ev in events:
        if ev is label_event:
            seen = True
        elif seen and isinstance(ev, dict) and ev.get("event") == "closed":
            return ev
    return None


def actor_login(ev: dict[str, Any] | None) -> str:
    actor = (ev or {}).get("actor") or {}
    login = actor.get("login") if isinstance(actor, dict) else None
    return login if isinstance(login, str) and valid_login(login) else "someone"


def aimed_at_valet(title: str, body: str) -> bool:
    """A title that does not parse, on an issue that is still recognisably a publish
    request: its title starts with `publish:` once invisible characters are dropped,
    or its body holds valet's hidden block."""
    import unicodedata

    visible = "".join(c for c in title if unicodedata.category(c) not in ("Cf", "Cc", "Zs")
                      or c == " ")
    return visible.strip().lower().startswith("publish:") or "valet-request" in (body or "")
