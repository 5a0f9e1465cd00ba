"""Team membership as GitHub counts it: a team's members include its child teams'.

Team records carry ``members`` (direct) and ``parent`` (the parent's ``org/slug`` key,
or None). A member of a child team is a member of every ancestor, for membership
checks, member lists and the repository access granted to the ancestors.
"""

from __future__ import annotations

from valet.sandbox.state import Record, State


def _key(team: Record) -> str:
    return f"{team['org']}/{team['slug']}".lower()


def descendants(state: State, team: Record) -> list[Record]:
    """``team`` and every team below it (each once, even if the state has a cycle)."""
    out, todo, seen = [], [team], set()
    while todo:
        cur = todo.pop()
        if _key(cur) in seen:
            continue
        seen.add(_key(cur))
        out.append(cur)
        todo += [t for t in state.teams.values() if (t.get("parent") or "").lower() == _key(cur)]
    return out


def members(state: State, team: Record) -> list[tuple[str, bool]]:
    """``(login, inherited)`` of every member, direct ones first."""
    found: dict[str, tuple[str, bool]] = {}
    for t in descendants(state, team):
        for m in t["members"]:
            found.setdefault(m.lower(), (m, t is not team))
    return sorted(found.values(), key=lambda m: (m[1], m[0].lower()))


def is_member(state: State, team: Record, login: str) -> bool:
    return login.lower() in (m.lower() for m, _ in members(state, team))


def teams_of(state: State, login: str) -> list[Record]:
    """Every team ``login`` belongs to, directly or through a child team."""
    return [t for t in state.teams.values() if is_member(state, t, login)]
