"""Validate sandbox answers against the committed cut of GitHub's OpenAPI description.

``Checker.check(method, route_pattern, status, body)`` raises ``Nonconformant``
when the body does not match the documented response schema (missing required
field, wrong type, ...). Answers with a status the description does not list
must still be a GitHub error body (basic-error); a 304 to a conditional GET has
no body, whether the description lists it or not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SUBSET_PATH = (Path(__file__).resolve().parents[2] / "src" / "valet" / "sandbox" / "data"
               / "openapi-subset.json")
BASE = "urn:valet:openapi-subset"

# Routes the sandbox serves that GitHub's description has no entry for (old
# aliases clients still call): validated against the operation they mirror.
ALIASES = {
    ("GET", "/repos/{owner}/{repo}/contents"): ("get", "/repos/{owner}/{repo}/contents/{path}"),
    ("GET", "/repos/{owner}/{repo}/git/matching-refs"):
        ("get", "/repos/{owner}/{repo}/git/matching-refs/{ref}"),
    ("GET", "/repos/{owner}/{repo}/git/refs"):
        ("get", "/repos/{owner}/{repo}/git/matching-refs/{ref}"),
    ("GET", "/repos/{owner}/{repo}/git/refs/{ref:path}"):
        ("get", "/repos/{owner}/{repo}/git/ref/{ref}"),
    ("GET", "/repos/{owner}/{repo}/statuses/{ref:path}"):
        ("get", "/repos/{owner}/{repo}/commits/{ref}/statuses"),
}


class Nonconformant(AssertionError):
    pass


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


class Checker:
    def __init__(self, subset: dict[str, Any] | None = None) -> None:
        self.subset = subset if subset is not None else json.loads(SUBSET_PATH.read_text())
        self.registry: Registry = Registry().with_resource(
            BASE, Resource.from_contents(self.subset, default_specification=DRAFT202012))
        self.by_route: dict[tuple[str, str], tuple[str, str]] = {}
        for template, ops in self.subset["paths"].items():
            for method, op in ops.items():
                self.by_route[(method.upper(), op["route"])] = (method, template)
        for key, target in ALIASES.items():
            self.by_route.setdefault(key, target)
        self._validators: dict[tuple[str, str, str], jsonschema.protocols.Validator] = {}

    def knows(self, method: str, route: str) -> bool:
        return (method, route) in self.by_route

    def _validator(self, method: str, template: str, status: str) -> Any:
        key = (method, template, status)
        if key not in self._validators:
            ref = f"{BASE}#/" + _pointer("paths", template, method, "responses", status)
            schema = {"$ref": ref}
            self._validators[key] = jsonschema.Draft202012Validator(schema, registry=self.registry)
        return self._validators[key]

    def _error_validator(self) -> Any:
        key = ("", "", "basic-error")
        if key not in self._validators:
            schema = {"$ref": f"{BASE}#/components/schemas/basic-error"}
            base = jsonschema.Draft202012Validator(schema, registry=self.registry)
            self._validators[key] = base
        return self._validators[key]

    def check(self, method: str, route: str, status: int, body: Any) -> None:
        target = self.by_route.get((method, route))
        if target is None:
            raise Nonconformant(f"{method} {route}: not in the OpenAPI subset")
        op_method, template = target
        responses = self.subset["paths"][template][op_method]["responses"]
        code = str(status)
        if status == 304 and method == "GET":
            # Conditional requests work on every GET (GitHub's REST docs, "Use conditional
            # requests"); the description lists 304 on a few. Either way: no body.
            if body not in (None, b"", ""):
                raise Nonconformant(f"{method} {route} 304: expected no body")
            return
        if status >= 400 and (not isinstance(body, dict)
                              or not {"message", "documentation_url"} <= set(body)):
            # basic-error requires nothing, but GitHub always sends both.
            raise Nonconformant(f"{method} {route} {status}: not a GitHub error body")
        if code not in responses:
            if status >= 400:
                self._validate(self._error_validator(), body, method, route, status)
                return
            raise Nonconformant(f"{method} {route}: status {status} is not documented "
                                f"({', '.join(responses)})")
        if responses[code] is None:
            if status >= 400:  # documented without a body; GitHub still sends its error body
                self._validate(self._error_validator(), body, method, route, status)
                return
            if body not in (None, b"", ""):
                raise Nonconformant(f"{method} {route} {status}: expected no body")
            return
        self._validate(self._validator(op_method, template, code), body, method, route, status)

    @staticmethod
    def _validate(validator: Any, body: Any, method: str, route: str, status: int) -> None:
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        if errors:
            first = errors[0]
            where = "/".join(str(p) for p in first.absolute_path) or "(root)"
            raise Nonconformant(f"{method} {route} {status}: at {where}: {first.message[:300]}"
                                f" ({len(errors)} error(s))")
