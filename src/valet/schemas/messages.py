"""Turn JSON-schema validation errors into messages a user can act on (pure).

jsonschema's own wording names validator keywords and raw regular expressions
(``is not valid under any of the given schemas``, ``does not match
'^https?://'``). Each error becomes a :class:`Problem` instead: the key path
as the user writes it (``targets[0].repository_url``), what is wrong, what is
allowed in words (from the schema itself: ``enum``, ``type``, bounds, the
``description`` and its ``examples``) and, for a near-miss name or value, the
closest allowed one. Nothing here knows a particular key: a property added to
a schema gets the same messages as the others.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

_TYPE_WORDS = {
    "string": "a string", "integer": "a whole number", "number": "a number",
    "boolean": "true or false", "array": "a list", "object": "a mapping of keys to values",
    "null": "nothing",
}
_DESCRIPTION_CHARS = 220


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a document, in words."""

    path: str  # "targets[0].name", "(top level)"
    wrong: str  # "'pypy' is not a target name"
    allowed: str = ""  # "one of github, pypi, npm, crates"
    example: str | None = None  # a YAML line that is right: "name: pypi"
    suggestion: str | None = None  # the near-miss fix: "pypi"

    def render(self) -> str:
        # "changelogPolicy is not a key ..." reads as a sentence; "build: got 5" as a label
        sep = " " if self.wrong.startswith("is ") else ": "
        text = f"{self.path}{sep}{self.wrong}"
        text += f"; did you mean {self.suggestion!r}?" if self.suggestion is not None else "."
        if self.allowed:
            text += f" Allowed: {self.allowed.rstrip('.')}."
        if self.example:
            text += f" For example: `{self.example}`."
        return text


def render_problems(problems: Sequence[Problem], what: str) -> str:
    """One line for one problem, else a list under a count (every problem of the file
    at once, so one edit fixes them all)."""
    if len(problems) == 1:
        return f"{what}: {problems[0].render()}"
    listed = "\n  - ".join(p.render() for p in problems)
    return f"{what} has {len(problems)} problems:\n  - {listed}"


# -- names ----------------------------------------------------------------------------


def _fold(name: str) -> str:
    """camelCase, snake_case and kebab-case of one name compare equal."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def suggest(name: object, candidates: Iterable[object]) -> str | None:
    """The candidate the user most likely meant by ``name`` (difflib), or None."""
    if not isinstance(name, str) or not name:
        return None
    options = [c for c in candidates if isinstance(c, str) and c != name]
    folded = _fold(name)
    for c in options:
        if _fold(c) == folded:
            return c  # changelogPolicy -> changelog_policy
    by_fold = {_fold(c): c for c in options}
    close = difflib.get_close_matches(folded, list(by_fold), n=1, cutoff=0.75)
    if close:
        return by_fold[close[0]]
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return close[0] if close else None


def key_path(parts: Iterable[object]) -> str:
    """``targets[0].repository_url`` for the path ("targets", 0, "repository_url")."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def show(value: Any) -> str:
    """A value as the user wrote it, short."""
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, bool) or value is None:
        text = {True: "true", False: "false", None: "an empty value"}[value]
    elif isinstance(value, (int, float)):
        text = str(value)
    else:
        text = type_word(value)
    return text if len(text) <= 80 else text[:77] + "...'"


def got(value: Any) -> str:
    """``got 5 (a number)``, ``got a list``: what the user wrote, when its kind is wrong."""
    if value is None:
        return "is empty"
    if isinstance(value, (list, dict)):
        return f"got {type_word(value)}"
    return f"got {show(value)} ({type_word(value)})"


def type_word(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "an empty value" if value is None else type(value).__name__


def yaml_line(key: object, value: Any) -> str:
    """``key: value`` as YAML would write it (quoted when it must be)."""
    if not isinstance(key, str):
        key = "value"
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False,
                          allow_unicode=True, width=10_000)
    text = text.strip().removesuffix("...").strip()  # a lone scalar ends the document
    return f"{key}: {text}"


# -- describing a schema node ---------------------------------------------------------


def _first_sentences(text: str) -> str:
    # Keep what fits; cut at a sentence end. Role prefixes such as "pypi only:" go.
    text = re.sub(r"^\w[\w-]* only: ", "", " ".join(text.split()))
    if len(text) <= _DESCRIPTION_CHARS:
        return text
    cut = text.rfind(". ", 0, _DESCRIPTION_CHARS)
    return text[: cut + 1] if cut > 0 else text[:_DESCRIPTION_CHARS].rstrip() + "…"


def _choices(values: Sequence[Any]) -> str:
    shown = [str(v) if not isinstance(v, str) else v for v in values]
    return "one of " + ", ".join(shown) if len(shown) > 1 else f"exactly {shown[0]}"


def describe_type(node: dict[str, Any]) -> str:
    """The kind of value a schema node takes, in words ("a list of strings")."""
    if "enum" in node:
        return _choices(node["enum"])
    if "const" in node:
        return f"exactly {node['const']}"
    for combo in ("oneOf", "anyOf"):
        if combo in node:
            return " or ".join(dict.fromkeys(describe_type(alt) for alt in node[combo]))
    kind = node.get("type")
    if isinstance(kind, list):
        return " or ".join(_TYPE_WORDS.get(str(k), str(k)) for k in kind)
    if kind == "array" and isinstance(node.get("items"), dict):
        items = node["items"]
        if "enum" in items:
            return f"a list of {', '.join(map(str, items['enum']))}"
        inner = describe_type(items)
        plural = {"a string": "strings", "a whole number": "whole numbers",
                  "a mapping of keys to values": "mappings"}.get(inner)
        return f"a list of {plural}" if plural else "a list"
    return _TYPE_WORDS.get(str(kind), "a value")


def describe(node: dict[str, Any], *, kind: bool = True, about: str | None = None) -> str:
    """What the node allows: its kind and bounds, then what it is for (its description,
    or ``about``: the description of the key it belongs to)."""
    bounds = _bounds(node)
    desc = node.get("description") or about
    desc = _first_sentences(desc) if isinstance(desc, str) and desc and "enum" not in node else ""
    if not kind:  # the kind is right, the form is not: what it is for says the form
        if bounds == "not empty":
            bounds = ""
        if desc and bounds:
            return f"{desc.rstrip('.')} ({bounds})"
        return desc or bounds
    text = ", ".join(p for p in (describe_type(node), bounds) if p)
    return f"{text} — {desc}" if desc else text


def _bounds(node: dict[str, Any]) -> str:
    lo, hi = node.get("minimum"), node.get("maximum")
    if lo is not None and hi is not None:
        return f"from {lo} to {hi}"
    if lo is not None:
        return f"at least {lo}"
    if hi is not None:
        return f"at most {hi}"
    lo, hi = node.get("minLength"), node.get("maxLength")
    if lo and hi:
        return f"{lo} to {hi} characters"
    if hi:
        return f"at most {hi} characters"
    if lo == 1:
        return "not empty"
    if lo:
        return f"at least {lo} characters"
    return ""


def example_of(node: dict[str, Any]) -> Any:
    """A value the node accepts: its first ``examples`` entry, ``default``, or an enum value."""
    examples = node.get("examples")
    if isinstance(examples, list) and examples:
        return examples[0]
    if "default" in node:
        return node["default"]
    if node.get("enum"):
        return node["enum"][0]
    items = node.get("items")
    if node.get("type") == "array" and isinstance(items, dict):
        inner = example_of(items)
        return None if inner is None else [inner]
    for combo in ("oneOf", "anyOf"):
        for alt in node.get(combo) or []:
            found = example_of(alt)
            if found is not None:
                return found
    return None


# -- jsonschema errors -> problems ------------------------------------------------------


def problems_from_errors(errors: Iterable[Any], instance: Any,
                         schema: dict[str, Any] | None = None) -> list[Problem]:
    """Every error (``jsonschema.ValidationError``) as problems, in file order, once each.

    ``schema`` (the root) lets a node without a description borrow the one of the key it
    belongs to (a list item, an option under a ``$ref``)."""
    out: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    ordered = sorted(errors, key=lambda e: _order(instance, list(e.absolute_path)))
    for error in ordered:
        for problem in _Converter(schema or {}).convert(error):
            key = (problem.path, problem.wrong)
            if key not in seen:
                seen.add(key)
                out.append(problem)
    return out


def _order(instance: Any, path: list[Any]) -> tuple[int, ...]:
    """Where a path is in the document: keys in their written order, list items by index."""
    out: list[int] = []
    node = instance
    for part in path:
        if isinstance(node, dict):
            keys = list(node)
            out.append(keys.index(part) if part in node else len(keys))
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int):
            out.append(part)
            node = node[part] if 0 <= part < len(node) else None
        else:
            out.append(0)
            node = None
    return tuple(out)


def _leaf_key(path: Sequence[Any]) -> object:
    for part in reversed(path):
        if isinstance(part, str):
            return part
    return None


def _example_line(path: Sequence[Any], node: dict[str, Any]) -> str | None:
    value = example_of(node)
    if value is None:
        return None
    if path and isinstance(path[-1], int):
        value = [value]  # an item of a list: show it inside the list
    return yaml_line(_leaf_key(path), value)


class _Converter:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root

    def _resolve(self, ref: str) -> Any:
        node: Any = self.root
        for part in ref.removeprefix("#/").split("/"):
            node = node.get(part) if isinstance(node, dict) else None
        return node

    def about(self, error: Any) -> str | None:
        """The nearest description on the way from the root to the failing node."""
        found: str | None = None
        node: Any = self.root
        for part in list(error.absolute_schema_path)[:-1]:
            if isinstance(node, dict) and isinstance(node.get("$ref"), str) and part != "$ref":
                node = self._resolve(node["$ref"])
            if isinstance(node, dict):
                node = node.get(part) if part != "$ref" else self._resolve(node["$ref"])
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            else:
                return found
            if isinstance(node, dict) and isinstance(node.get("description"), str):
                found = node["description"]
        return found

    def convert(self, error: Any) -> list[Problem]:
        path = list(error.absolute_path)
        where = key_path(path)
        kind = error.validator
        node = error.schema if isinstance(error.schema, dict) else {}
        value = error.instance
        about = None if node.get("description") else self.about(error)

        if kind == "additionalProperties" and isinstance(value, dict):
            known = list((node.get("properties") or {}).keys())
            patterns = [re.compile(p) for p in (node.get("patternProperties") or {})]
            extra = [k for k in value
                     if k not in known and not any(p.search(str(k)) for p in patterns)]
            return [Problem(key_path([*path, k]), "is not a key valet knows here",
                            allowed=f"the keys {', '.join(known)}" if known else "no keys",
                            suggestion=suggest(k, known)) for k in extra]
        if kind == "required":
            missing = [k for k in error.validator_value if isinstance(value, dict) and k not in value]
            props = node.get("properties") or {}
            return [Problem(key_path([*path, k]), "is missing (it is required)",
                            allowed=describe(props.get(k) or {}),
                            example=_example_line([k], props.get(k) or {})) for k in missing]
        if kind in ("enum", "const"):
            options = node.get("enum") if kind == "enum" else [node.get("const")]
            return [Problem(where, f"{show(value)} is not allowed",
                            allowed=_choices(options or []),
                            suggestion=suggest(value, options or []))]
        if kind in ("oneOf", "anyOf"):
            return self._alternatives(error, path, node)
        if kind == "type":
            return [Problem(where, got(value), allowed=describe(node, about=about),
                            example=_example_line(path, node))]
        if kind in ("minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum",
                    "exclusiveMaximum", "minItems", "maxItems"):
            wrong = "must not be empty" if kind in ("minLength", "minItems") and not value \
                else f"{show(value)} is out of bounds"
            return [Problem(where, wrong, allowed=describe(node, about=about),
                            example=_example_line(path, node))]
        # pattern, format, uniqueItems, not, ...: the form is wrong; say what it should be.
        return [Problem(where, f"{show(value)} does not have the allowed form",
                        allowed=describe(node, kind=False, about=about),
                        example=_example_line(path, node))]

    def _alternatives(self, error: Any, path: list[Any], node: dict[str, Any]) -> list[Problem]:
        """oneOf/anyOf: explain the alternative the value was meant to be, not every one."""
        alts = [a for a in node.get(error.validator) or [] if isinstance(a, dict)]
        by_branch: dict[int, list[Any]] = {}
        for sub in error.context or []:
            index = sub.relative_schema_path[0] if sub.relative_schema_path else 0
            by_branch.setdefault(int(index), []).append(sub)
        depth = len(path)

        def mismatched(errs: list[Any]) -> bool:  # the value is not of this branch's type
            return any(e.validator == "type" and len(e.absolute_path) == depth for e in errs)

        def off_discriminator(errs: list[Any]) -> bool:  # {name: pypi} against the npm branch
            return any(e.validator in ("const", "enum") and len(e.absolute_path) == depth + 1
                       for e in errs)

        candidates = [i for i in range(len(alts)) if not mismatched(by_branch.get(i, []))]
        if not candidates:
            return [Problem(key_path(path), got(error.instance), allowed=describe(node),
                            example=_example_line(path, node))]
        fitting = [i for i in candidates if not off_discriminator(by_branch.get(i, []))]
        if not fitting:
            # every branch refuses its discriminator: say which values it may take
            values: list[Any] = []
            key: object = None
            for i in candidates:
                for e in by_branch.get(i, []):
                    if e.validator in ("const", "enum") and len(e.absolute_path) == depth + 1:
                        key = e.absolute_path[-1]
                        values += e.schema.get("enum") or [e.schema.get("const")]
            wrong_value = error.instance.get(key) if isinstance(error.instance, dict) else None
            values = list(dict.fromkeys(v for v in values if v is not None))
            return [Problem(key_path([*path, key]), f"{show(wrong_value)} is not allowed",
                            allowed=_choices(values) if values else describe(node),
                            suggestion=suggest(wrong_value, values))]
        best = min(fitting, key=lambda i: len(by_branch.get(i, [])))
        errs = by_branch.get(best, [])
        if not errs:  # valid against more than one alternative (oneOf)
            return [Problem(key_path(path), "fits more than one of the allowed forms",
                            allowed=describe(node))]
        return [p for e in errs for p in self.convert(e)]
