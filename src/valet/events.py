"""The runner's event payload (GITHUB_EVENT_PATH) as validated data.

Only the fields publish needs are read, each checked for type and shape; a
payload that is not one of the events publish acts on becomes ``Ignored`` with
a reason, never an exception: the workflow filters events too, and an odd
event is a notice, not a failure.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from valet.errors import UsageError

_LOGIN_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$")
_REPO_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_LABEL_MAX = 100


@dataclass(frozen=True)
class Actor:
    login: str
    type: str = "User"  # "User", "Bot", "Organization", "Mannequin"

    @property
    def is_bot(self) -> bool:
        return self.type == "Bot" or self.login.lower().endswith("[bot]")


@dataclass(frozen=True)
class Labeled:
    """An `issues` event with action `labeled`."""

    repo: str
    number: int
    label: str
    sender: Actor
    title: str
    body: str
    state: str  # "open" / "closed"
    labels: tuple[str, ...]
    is_pull_request: bool = False


@dataclass(frozen=True)
class Sweep:
    """A `schedule` or `workflow_dispatch` run: re-check issues waiting in ci-pending."""

    repo: str
    kind: str  # "schedule" or "workflow_dispatch"
    issue: int | None = None  # workflow_dispatch may name one issue


@dataclass(frozen=True)
class Ignored:
    reason: str


Event = Labeled | Sweep | Ignored


def valid_login(login: Any) -> bool:
    return isinstance(login, str) and bool(_LOGIN_RE.fullmatch(login))


def valid_repo(repo: Any) -> bool:
    return isinstance(repo, str) and bool(_REPO_RE.fullmatch(repo)) and not repo.endswith((".", "/.."))


def _dict(data: Any, key: str) -> dict[str, Any]:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, dict):
        raise ValueError(f"`{key}` is missing or not an object")
    return value


def _str(data: dict[str, Any], key: str, *, allow_null: bool = False) -> str:
    value = data.get(key)
    if value is None and allow_null:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"`{key}` is missing or not a string")
    return value


def _repo_of(payload: Any, fallback: str | None) -> str:
    repo = None
    if isinstance(payload, dict) and isinstance(payload.get("repository"), dict):
        repo = payload["repository"].get("full_name")
    repo = repo or fallback
    if not valid_repo(repo):
        raise ValueError(f"repository {repo!r} is not an owner/name")
    return repo  # type: ignore[return-value]


def _actor(data: dict[str, Any]) -> Actor:
    login = data.get("login")
    if not valid_login(login):
        raise ValueError(f"login {login!r} is not a GitHub login")
    kind = data.get("type", "User")
    if not isinstance(kind, str):
        raise ValueError("`type` of the sender is not a string")
    return Actor(login=str(login), type=kind)


def parse_event(name: str, payload: Any, *, repository: str | None = None) -> Event:
    """Turn (GITHUB_EVENT_NAME, decoded payload) into an Event. Malformed data raises UsageError."""
    try:
        return _parse(name, payload, repository)
    except ValueError as exc:
        raise UsageError(
            f"the {name or 'unknown'} event payload is not valid: {exc}",
            hint="run valet publish from a workflow triggered by `issues: labeled`, "
            "`schedule` or `workflow_dispatch`, or pass --repo and --issue",
        ) from None


def _parse(name: str, payload: Any, repository: str | None) -> Event:
    if name in ("schedule", "workflow_dispatch"):
        wanted: int | None = None
        if name == "workflow_dispatch" and isinstance(payload, dict):
            raw = (payload.get("inputs") or {}).get("issue") if isinstance(payload.get("inputs"), dict) else None
            if raw not in (None, ""):
                if not (isinstance(raw, (str, int)) and str(raw).isdigit() and int(raw) > 0):
                    raise ValueError(f"input `issue` {raw!r} is not an issue number")
                wanted = int(raw)
        return Sweep(repo=_repo_of(payload, repository), kind=name, issue=wanted)
    if name != "issues":
        return Ignored(f"valet publish does not act on `{name}` events")
    if not isinstance(payload, dict):
        raise ValueError("the payload is not an object")
    action = payload.get("action")
    if action != "labeled":
        return Ignored(f"issues event with action `{action}`: only `labeled` is acted on")
    issue = _dict(payload, "issue")
    label = _dict(payload, "label")
    number = issue.get("number")
    if not isinstance(number, int) or isinstance(number, bool) or number <= 0:
        raise ValueError("`issue.number` is not a positive integer")
    label_name = _str(label, "name")
    if len(label_name) > _LABEL_MAX:
        raise ValueError("the label name is too long")
    labels = []
    for item in issue.get("labels") or []:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            labels.append(item["name"])
    state = _str(issue, "state")
    return Labeled(
        repo=_repo_of(payload, repository),
        number=number,
        label=label_name,
        sender=_actor(_dict(payload, "sender")),
        title=_str(issue, "title"),
        body=_str(issue, "body", allow_null=True),
        state=state,
        labels=tuple(labels),
        is_pull_request="pull_request" in issue,
    )


def load_event(name: str | None, path: str | None, *, repository: str | None = None) -> Event:
    if not name or not path:
        raise UsageError(
            "no event to act on: GITHUB_EVENT_NAME / GITHUB_EVENT_PATH are not set",
            hint="run inside a workflow, or pass --repo OWNER/REPO --issue N",
        )
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the event payload {path}: {exc}") from None
    return parse_event(name, payload, repository=repository)
