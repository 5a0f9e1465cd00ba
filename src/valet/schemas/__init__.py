"""JSON schemas shipped with the package (the repo's schemas/ holds the same files).

``validate(name, data)`` raises the given ValetError subclass with a message that
names the failing field, never a jsonschema traceback.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from valet.errors import ValetError


@cache
def load(name: str) -> dict[str, Any]:
    text = resources.files(__name__).joinpath(f"{name}.schema.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def validate(name: str, data: Any, *, error: type[ValetError] = ValetError,
             what: str | None = None) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(load(name))
    problems = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if not problems:
        return
    first = problems[0]
    where = "/".join(str(p) for p in first.absolute_path) or "(top level)"
    more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
    raise error(f"{what or name}: at {where}: {first.message}{more}")
