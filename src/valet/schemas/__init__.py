"""JSON schemas shipped with the package (the repo's schemas/ holds the same files).

``validate(name, data)`` raises the given ValetError subclass with a message that
names each failing field, what is wrong and what is allowed (see
``schemas.messages``), never jsonschema's own wording.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from valet.errors import ValetError
from valet.schemas.messages import Problem, problems_from_errors, render_problems


@cache
def load(name: str) -> dict[str, Any]:
    text = resources.files(__name__).joinpath(f"{name}.schema.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def problems(name: str, data: Any) -> list[Problem]:
    """Everything wrong with ``data`` against the schema ``name``, in document order."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(load(name))
    return problems_from_errors(validator.iter_errors(data), data, load(name))


def validate(name: str, data: Any, *, error: type[ValetError] = ValetError,
             what: str | None = None, hint: str | None = None) -> None:
    found = problems(name, data)
    if found:
        raise error(render_problems(found, what or name), hint=hint)
