"""The sandbox's non-git state: users, tokens, teams, repos and everything on them.

One JSON document guarded by one re-entrant lock; written atomically to
``state.json`` after each change when the sandbox is persistent. Git data lives
in bare repositories next to it (see gitrepo.py). Names are matched
case-insensitively, as GitHub does: dictionaries are keyed by the lower-case
name and records keep the spelling they were created with.
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

PERMISSIONS = ("none", "read", "triage", "write", "maintain", "admin")

Record = dict[str, Any]


def now_iso(ts: float | None = None) -> str:
    dt = datetime.fromtimestamp(ts if ts is not None else time.time(), tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def perm_at_least(have: str, need: str) -> bool:
    return PERMISSIONS.index(have) >= PERMISSIONS.index(need)


def _empty() -> dict[str, Any]:
    return {
        "version": 1,
        "next_id": 1000,
        "users": {},      # login.lower() -> user record
        "tokens": {},     # token -> login
        "apps": {},       # slug -> {"id", "slug", "bot"}
        "teams": {},      # "org/slug" (lower) -> team record
        "repos": {},      # "owner/name" (lower) -> repo record
    }


class State:
    def __init__(self, root: Path, *, persist: bool) -> None:
        self.root = root
        self.persist = persist
        self.lock = threading.RLock()
        self.path = root / "state.json"
        self.dirty = False
        if self.path.exists():
            self.data: dict[str, Any] = json.loads(self.path.read_text())
        else:
            self.data = _empty()

    # -- ids and persistence --------------------------------------------------

    def new_id(self) -> int:
        with self.lock:
            self.data["next_id"] += 1
            self.dirty = True
            return int(self.data["next_id"])

    def touch(self) -> None:
        self.dirty = True

    def save(self, force: bool = False) -> None:
        with self.lock:
            if not self.persist or not (self.dirty or force):
                return
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data, separators=(",", ":")))
            os.replace(tmp, self.path)
            self.dirty = False

    # -- lookups ----------------------------------------------------------------

    @property
    def users(self) -> dict[str, Record]:
        return self.data["users"]  # type: ignore[no-any-return]

    @property
    def repos(self) -> dict[str, Record]:
        return self.data["repos"]  # type: ignore[no-any-return]

    @property
    def teams(self) -> dict[str, Record]:
        return self.data["teams"]  # type: ignore[no-any-return]

    @property
    def tokens(self) -> dict[str, str]:
        return self.data["tokens"]  # type: ignore[no-any-return]

    def user(self, login: str | None) -> Record | None:
        if not login:
            return None
        return self.users.get(login.lower())

    def repo(self, owner: str, name: str) -> Record | None:
        if name.endswith(".git"):
            name = name[:-4]
        return self.repos.get(f"{owner}/{name}".lower())

    def user_by_email(self, email: str) -> Record | None:
        email = email.lower()
        for u in self.users.values():
            if (u.get("email") or "").lower() == email or noreply_email(u).lower() == email:
                return u
        return None


def noreply_email(user: Record) -> str:
    return f"{user['id']}+{user['login']}@users.noreply.github.com"
