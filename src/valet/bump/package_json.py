"""package.json and package-lock.json / npm-shrinkwrap.json.

The files are edited in place, not re-serialized: only the characters of the
version string change, so indentation, key order, escapes and the trailing
newline stay exactly as npm (or the user) wrote them. A small scanner finds the
span of the string value at a key path; json.loads checks the result.
"""

from __future__ import annotations

import json
import re

from valet.bump.base import Update
from valet.errors import ConfigError

_WS = " \t\r\n"
_NUMBER_RE = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")


class _Scanner:
    """Records the spans of string values whose key path is wanted."""

    def __init__(self, text: str, wanted: set[tuple[str, ...]]) -> None:
        self.text = text
        self.wanted = wanted
        self.spans: dict[tuple[str, ...], tuple[int, int]] = {}

    def ws(self, i: int) -> int:
        while i < len(self.text) and self.text[i] in _WS:
            i += 1
        return i

    def string(self, i: int) -> tuple[str, int]:
        end = i + 1
        while self.text[end] != '"':
            end += 2 if self.text[end] == "\\" else 1
        return json.loads(self.text[i: end + 1]), end + 1

    def value(self, i: int, path: tuple[str, ...]) -> int:
        i = self.ws(i)
        ch = self.text[i]
        if ch == "{":
            i = self.ws(i + 1)
            if self.text[i] == "}":
                return i + 1
            while True:
                key, i = self.string(self.ws(i))
                i = self.ws(i)  # the ':'
                i = self.value(i + 1, (*path, key))
                i = self.ws(i)
                if self.text[i] == "}":
                    return i + 1
                i += 1  # ','
        if ch == "[":
            i = self.ws(i + 1)
            if self.text[i] == "]":
                return i + 1
            index = 0
            while True:
                i = self.ws(self.value(i, (*path, str(index))))
                index += 1
                if self.text[i] == "]":
                    return i + 1
                i += 1
        if ch == '"':
            _, end = self.string(i)
            if path in self.wanted:
                self.spans[path] = (i, end)
            return end
        for word in ("true", "false", "null"):
            if self.text.startswith(word, i):
                return i + len(word)
        m = _NUMBER_RE.match(self.text, i)
        assert m is not None  # the text passed json.loads first
        return m.end()


def _replace(content: str, name: str, paths: list[tuple[str, ...]],
             new: str) -> tuple[str, list[str]]:
    try:
        json.loads(content)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name} is not valid JSON: {exc}",
                          hint=f"fix {name} so that it parses") from None
    scanner = _Scanner(content, set(paths))
    scanner.value(0, ())
    olds = []
    out = content
    # right to left, so earlier spans stay valid
    for start, end in sorted((scanner.spans[p] for p in paths if p in scanner.spans),
                             reverse=True):
        olds.append(json.loads(out[start:end]))
        out = out[:start] + json.dumps(new) + out[end:]
    return out, olds[::-1]


def update(content: str, new: str, *, name: str = "package.json") -> Update:
    out, olds = _replace(content, name, [("version",)], new)
    if not olds:
        return Update(content, (), (f"{name}: no top-level \"version\" to update",))
    return Update(out, tuple(olds))


def update_lock(content: str, new: str, *, name: str = "package-lock.json") -> Update:
    """The top-level ``version`` and ``packages[""].version`` (lockfile v2/v3)."""
    out, olds = _replace(content, name, [("version",), ("packages", "", "version")], new)
    if not olds:
        return Update(content, (), (f"{name}: no version of the root package to update",))
    return Update(out, tuple(olds))
