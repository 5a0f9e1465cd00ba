"""What every resolver module shares: the request context, errors, objects, connections.

Objects are plain dicts keyed by GraphQL field name; a value is either the field's
value or a function ``(info, **args)`` computing it on demand (so a query pays only for
the fields it asks). ``resolve`` is the engine's default field resolver: a field no
dict provides is an error naming ``Type.field``, never a silent null.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLResolveInfo

from valet.sandbox.app import App
from valet.sandbox.state import Record, perm_at_least

Obj = dict[str, Any]
PAGE_LIMIT = 100  # GitHub's most records per connection page


@dataclass
class Ctx:
    app: App
    login: str  # the token's user (GraphQL always needs a token)

    @property
    def is_bot(self) -> bool:
        user = self.app.state.user(self.login)
        return bool(user and user["type"] == "Bot")


def ctx(info: GraphQLResolveInfo) -> Ctx:
    return info.context  # type: ignore[no-any-return]


class Fail(Exception):
    """An error GitHub reports next to ``data``, with its ``type`` (NOT_FOUND, FORBIDDEN...)."""

    def __init__(self, message: str, type: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.type = type


def unimplemented(type_name: str, field: str) -> Fail:
    return Fail(f"the valet sandbox does not implement {type_name}.{field}")


def resolve(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    """The strict default field resolver."""
    name = info.field_name
    if isinstance(source, Mapping) and name in source:
        value = source[name]
        return value(info, **args) if callable(value) else value
    raise unimplemented(info.parent_type.name, name)


# -- node ids (the REST ``node_id``) ------------------------------------------------


def decode_id(raw: Any) -> tuple[str, str] | None:
    """``(kind, ident)`` of an id made by ``shapes.node_id``; None if it is not one."""
    if not isinstance(raw, str) or not raw:
        return None
    try:
        text = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    kind, sep, ident = text.partition(":")
    return (kind, ident) if sep and kind and ident else None


def unresolved_node(raw: Any) -> Fail:
    return Fail(f"Could not resolve to a node with the global id of '{raw}'", "NOT_FOUND")


def readable(c: Ctx, rec: Record) -> bool:
    return perm_at_least(c.app.permission(rec, c.login), "read")


def forbidden(c: Ctx, mutation: str) -> Fail:
    if c.is_bot:
        return Fail("Resource not accessible by integration", "FORBIDDEN")
    return Fail(f"{c.login} does not have the correct permissions to execute `{mutation}`",
                "FORBIDDEN")


# -- actors -------------------------------------------------------------------------


def actor(c: Ctx, login: str | None) -> Obj | None:
    """A User, Bot or Organization as an ``Actor`` (None: the account is gone)."""
    user = c.app.state.user(login)
    if user is None:
        return None
    kind = {"Bot": "Bot", "Organization": "Organization"}.get(user["type"], "User")
    url = f"{c.app.urls.server}/{user['login']}"
    return {"__typename": kind, "login": user["login"], "databaseId": user["id"],
            "url": url, "resourcePath": f"/{user['login']}",
            "avatarUrl": lambda info, size=None: f"{c.app.urls.server}/avatars/{user['login']}",
            "name": user.get("name")}


# -- connections --------------------------------------------------------------------


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:v2:{index}".encode()).decode()


def _index(cursor: Any) -> int:
    try:
        text = base64.b64decode(str(cursor), validate=True).decode()
        kind, _, index = text.rpartition(":")
        if kind == "cursor:v2" and index.isdigit():
            return int(index)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise Fail(f"`{cursor}` does not appear to be a valid cursor.", "INVALID_CURSOR_ARGUMENTS")


def connection(info: GraphQLResolveInfo, items: Sequence[Any], node: Callable[[Any], Any],
               args: Mapping[str, Any]) -> Obj:
    """A connection over ``items`` with GitHub's rules for ``first``/``last``."""
    field = info.field_name
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise Fail(f"You must provide a `first` or `last` value to properly paginate the "
                   f"`{field}` connection.", "MISSING_PAGINATION_BOUNDARIES")
    for name, value in (("first", first), ("last", last)):
        if value is not None and value < 0:
            raise Fail(f"`{name}` on the `{field}` connection cannot be less than zero.")
        if value is not None and value > PAGE_LIMIT:
            raise Fail(f"Requesting {value} records on the `{field}` connection exceeds the "
                       f"`{name}` limit of {PAGE_LIMIT} records.", "EXCESSIVE_PAGINATION")
    lo, hi = 0, len(items)
    if args.get("after") is not None:
        lo = max(lo, _index(args["after"]) + 1)
    if args.get("before") is not None:
        hi = min(hi, _index(args["before"]))
    window = list(range(lo, max(lo, hi)))
    if first is not None:
        window = window[:first]
    if last is not None:
        window = window[-last:] if last else []
    nodes = [node(items[i]) for i in window]
    return {
        "totalCount": len(items),
        "nodes": nodes,
        "edges": [{"cursor": _cursor(i), "node": n} for i, n in zip(window, nodes, strict=True)],
        "pageInfo": {"hasNextPage": (window[-1] if window else lo - 1) < hi - 1,
                     "hasPreviousPage": bool(window) and window[0] > lo,
                     "startCursor": _cursor(window[0]) if window else None,
                     "endCursor": _cursor(window[-1]) if window else None},
    }


def upper(value: str | None) -> str | None:
    return value.upper() if value else None

