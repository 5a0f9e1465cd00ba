"""Placeholders in target options: ``{{name}}`` and ``{{{name}}}``.

Craft writes its templates in Mustache; the options valet reads from them only
ever use plain variables (``{{{version}}}``, ``{{revision}}``), never sections,
partials or HTML escaping. So this is not a Mustache engine: both spellings
stand for the raw value, and anything else between braces -- an unknown
variable, a section ``{{#x}}``, a stray ``{{`` -- is a configuration error,
as craft's own renderer refuses unknown variables too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from valet.errors import ConfigError

_PLACEHOLDER = re.compile(r"\{\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}\}|\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def variables(template: str) -> set[str]:
    """The variable names a template uses."""
    return {m.group(1) or m.group(2) for m in _PLACEHOLDER.finditer(template)}


def check(template: str, allowed: set[str] | frozenset[str], *, where: str) -> None:
    """Raise ConfigError if the template uses a variable outside ``allowed`` or holds
    braces that are no placeholder."""
    unknown = sorted(variables(template) - set(allowed))
    if unknown:
        raise ConfigError(
            f"{where}: unknown placeholder(s) {', '.join('{{' + u + '}}' for u in unknown)} "
            f"in {template!r}",
            hint="the placeholders allowed here: "
                 + ", ".join("{{" + a + "}}" for a in sorted(allowed)))
    rest = _PLACEHOLDER.sub("", template)
    if "{{" in rest or "}}" in rest:
        raise ConfigError(f"{where}: {template!r} holds braces that are not a placeholder",
                          hint="write placeholders as {{name}} or {{{name}}}, nothing else")


def render(template: str, values: Mapping[str, str], *, where: str) -> str:
    """Fill in every placeholder (see the module docstring)."""
    check(template, frozenset(values), where=where)
    return _PLACEHOLDER.sub(lambda m: values[m.group(1) or m.group(2)], template)
