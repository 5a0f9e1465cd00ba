"""Mustache-style substitution of data, and nothing else.

Craft configurations carry small templates: a Homebrew formula with
``{{version}}`` and ``{{checksums.<file>}}``, a URL with ``{{file}}``. valet
fills in values; it never evaluates anything. Supported tags:

- ``{{name}}``, ``{{{name}}}`` and ``{{&name}}``: the value, inserted as is.
  Mustache would HTML-escape the first form; these templates are Ruby files
  and URLs, where an escaped ``&`` or ``/`` would be a bug, so no form escapes.
- ``name`` may be dotted (``checksums.sdk-linux``): each part looks one level
  deeper into the values, as in mustache.

Anything else (sections ``{{#x}}``/``{{^x}}``/``{{/x}}``, partials, comments,
delimiter changes, an unclosed ``{{``) is an error, and so is a name that is not
in the values: a typo must not become an empty string in a published file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from valet.errors import ConfigError

_TAG = re.compile(r"\{\{(\{)?(&)?\s*([^{}]*?)\s*(\})?\}\}")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@+-]*$")


def render(template: str, values: Mapping[str, Any], *, what: str) -> str:
    """``template`` with every tag replaced by its value; ConfigError naming every
    unknown or unsupported tag (``what`` says which template, for the message)."""
    unknown: list[str] = []
    unsupported: list[str] = []

    def one(m: re.Match[str]) -> str:
        triple_open, amp, name, triple_close = m.group(1), m.group(2), m.group(3), m.group(4)
        if bool(triple_open) != bool(triple_close) or (amp and triple_open) or \
                not _NAME.fullmatch(name):
            unsupported.append(m.group(0))
            return ""
        value = lookup(values, name)
        if value is None:
            unknown.append(name)
            return ""
        return value

    out = _TAG.sub(one, template)
    rest = _TAG.sub("", template)
    if "{{" in rest:
        start = rest.index("{{")
        unsupported.append(rest[start:start + 20].split("\n")[0])
    if unsupported:
        shown = ", ".join(dict.fromkeys(unsupported))
        raise ConfigError(
            f"{what}: unsupported template tag(s) {shown}",
            hint="templates substitute values only: write {{name}} (or {{{name}}}); sections, "
                 "partials, comments and delimiter changes are not supported")
    if unknown:
        shown = ", ".join(dict.fromkeys(unknown))
        raise ConfigError(f"{what}: unknown template variable(s) {shown}",
                          hint=f"available: {', '.join(available(values))}")
    return out


def lookup(values: Mapping[str, Any], name: str) -> str | None:
    """The value of a dotted name as text, or None when any part is missing."""
    node: Any = values
    for part in name.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    if isinstance(node, bool) or not isinstance(node, (str, int)):
        return None
    return str(node)


def available(values: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Every name a template may use, dotted, sorted (for the error message)."""
    names: list[str] = []
    for key in sorted(values):
        value = values[key]
        if isinstance(value, Mapping):
            names.extend(available(value, f"{prefix}{key}."))
        else:
            names.append(f"{prefix}{key}")
    return names
