"""``__version__ = "1.2.3"`` at the top level of a Python file."""

from __future__ import annotations

import re

from valet.bump.base import Update

# Only an assignment at column 0 with a plain string literal: anything computed
# (importlib.metadata, a variable) is left alone.
_VERSION_RE = re.compile(
    r"""^(?P<lhs>__version__\s*(?::\s*str\s*)?=\s*)(?P<q>["'])(?P<v>[^"'\\\r\n]*)(?P=q)""",
    re.MULTILINE)


def current(content: str) -> str | None:
    m = _VERSION_RE.search(content)
    return m.group("v") if m else None


def update(content: str, new: str, *, name: str = "__init__.py") -> Update:
    m = _VERSION_RE.search(content)
    if not m:
        return Update(content, (), (f"{name}: no __version__ = \"...\" assignment to update",))
    replaced = content[: m.start("v")] + new + content[m.end("v"):]
    return Update(replaced, (m.group("v"),))
