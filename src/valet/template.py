"""Placeholders in target options: mustache-style substitution of values, nothing else.

Craft configurations carry small templates: a Homebrew formula with
``{{version}}`` and ``{{checksums.<file>}}``, a URL with ``{{file}}``, an image
reference with ``{{{target}}}``. valet fills in values; it never evaluates
anything. Supported tags:

- ``{{name}}``, ``{{{name}}}`` and ``{{&name}}``: the value, inserted as is.
  Mustache would HTML-escape the first form; these templates are Ruby files,
  URLs and image names, where an escaped ``&`` or ``/`` would be a bug, so no
  form escapes.
- ``name`` may be dotted (``checksums.sdk-linux``): each part looks one level
  deeper into the values, as in mustache.

Anything else (sections ``{{#x}}``/``{{^x}}``/``{{/x}}``, partials, comments,
delimiter changes, an unclosed ``{{``) is an error, and so is a name that is not
in the values: a typo must not become an empty string in a published file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Set
from typing import Any

from valet.errors import ConfigError

_TAG = re.compile(r"\{\{(\{)?(&)?\s*([^{}]*?)\s*(\})?\}\}")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@+-]*$")


def _tags(template: str) -> tuple[list[str], list[str]]:
    """(the names the template uses, the tags that are no placeholder), in order."""
    names: list[str] = []
    bad: list[str] = []
    for m in _TAG.finditer(template):
        triple_open, amp, name, triple_close = m.group(1), m.group(2), m.group(3), m.group(4)
        if bool(triple_open) != bool(triple_close) or (amp and triple_open) or \
                not _NAME.fullmatch(name):
            bad.append(m.group(0))
        else:
            names.append(name)
    rest = _TAG.sub("", template)
    if "{{" in rest:
        start = rest.index("{{")
        bad.append(rest[start:start + 20].split("\n")[0])
    return names, bad


def variables(template: str) -> set[str]:
    """The names a template uses (dotted names as written)."""
    return set(_tags(template)[0])


def check(template: str, allowed: Set[str], *, where: str) -> None:
    """ConfigError if the template holds a tag that is no placeholder, or uses a name
    whose first part is not in ``allowed`` (for checks before the values are known)."""
    names, bad = _tags(template)
    _refuse_bad(bad, where)
    unknown = [n for n in dict.fromkeys(names) if n.split(".", 1)[0] not in allowed]
    if unknown:
        _refuse_unknown(unknown, sorted(allowed), where)


def render(template: str, values: Mapping[str, Any], *, where: str) -> str:
    """``template`` with every placeholder replaced by its value; ConfigError naming
    every unknown name or unsupported tag (``where`` says which template)."""
    names, bad = _tags(template)
    _refuse_bad(bad, where)
    unknown = [n for n in dict.fromkeys(names) if lookup(values, n) is None]
    if unknown:
        _refuse_unknown(unknown, available(values), where)
    return _TAG.sub(lambda m: str(lookup(values, m.group(3))), template)


def _refuse_bad(bad: list[str], where: str) -> None:
    if bad:
        shown = ", ".join(dict.fromkeys(bad))
        raise ConfigError(
            f"{where}: {shown} holds braces that are not a placeholder",
            hint="write placeholders as {{name}} (or {{{name}}}); sections, partials, "
                 "comments and delimiter changes are not supported")


def _refuse_unknown(unknown: list[str], known: list[str], where: str) -> None:
    shown = ", ".join("{{" + n + "}}" for n in unknown)
    raise ConfigError(f"{where}: unknown placeholder(s) {shown}",
                      hint="the placeholders allowed here: "
                           + ", ".join("{{" + k + "}}" for k in known))


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
