#!/usr/bin/env python3
"""Cut GitHub's OpenAPI description down to the operations the sandbox serves.

    .venv/bin/python scripts/cut_openapi.py [SPEC] [OUT]

SPEC defaults to tools/node/node_modules/@octokit/openapi/generated/api.github.com.json,
OUT to src/valet/sandbox/data/openapi-subset.json (committed). The operations
are the sandbox's own routes (read from its routers), matched to GitHub's path
templates with parameter names ignored. The output keeps, per operation, the
JSON schema of each documented response, plus every component schema they
reference (recursively), converted from OpenAPI 3.0 to JSON Schema:

- ``nullable: true`` becomes ``type: [T, "null"]`` (or ``anyOf [..., null]``);
- ``oneOf`` becomes ``anyOf``: GitHub's unions overlap (a ``labeled`` and an
  ``unlabeled`` issue event have the same shape), so "exactly one" would
  reject real answers;
- descriptions and examples are dropped to keep the file small.

``$ref``s stay as ``#/components/schemas/<name>`` pointers into the output
file, which is self-contained. Re-run it when the sandbox grows a route.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = ROOT / "tools/node/node_modules/@octokit/openapi/generated/api.github.com.json"
DEFAULT_OUT = ROOT / "src/valet/sandbox/data/openapi-subset.json"
DROP = {"description", "example", "examples", "title", "externalDocs", "x-github",
        "deprecated", "readOnly", "writeOnly", "xml", "discriminator"}


def normalize(template: str) -> str:
    """``/repos/{owner}/{repo}/issues/{issue_number}`` -> ``/repos/{}/{}/issues/{}``."""
    return re.sub(r"\{[^}]+\}", "{}", template)


def served_routes() -> list[tuple[str, str]]:
    sys.path.insert(0, str(ROOT / "src"))
    from valet.sandbox.app import App

    with tempfile.TemporaryDirectory() as tmp:
        app = App(Path(tmp), persist=False)
        return sorted(set(app.api.patterns()) | set(app.uploads.patterns()))


def convert(node: Any) -> Any:
    """An OpenAPI 3.0 schema object as JSON Schema."""
    if isinstance(node, list):
        return [convert(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: convert(v) for k, v in node.items() if k not in DROP and k != "nullable"}
    if "oneOf" in out:
        out["anyOf"] = out.pop("oneOf")
    if node.get("nullable"):
        if isinstance(out.get("type"), str) and "$ref" not in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def refs_in(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for v in node.values():
            refs_in(v, found)
    elif isinstance(node, list):
        for v in node:
            refs_in(v, found)


def resolve_response(spec: dict[str, Any], resp: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in resp:
        resp = spec["components"]["responses"][resp["$ref"].rsplit("/", 1)[1]]
    return resp


def cut(spec: dict[str, Any], routes: list[tuple[str, str]]) -> dict[str, Any]:
    index = {}
    for template, ops in spec["paths"].items():
        index[normalize(template)] = (template, ops)
    operations: dict[str, dict[str, Any]] = {}
    missing = []
    for method, pattern in routes:
        key = normalize(pattern)
        hit = index.get(key)
        if hit is None or method.lower() not in hit[1]:
            missing.append(f"{method} {pattern}")
            continue
        template, ops = hit
        op = ops[method.lower()]
        responses: dict[str, Any] = {}
        for status, resp in op.get("responses", {}).items():
            resp = resolve_response(spec, resp)
            content = resp.get("content", {})
            media = content.get("application/json") or next(iter(content.values()), None)
            responses[status] = convert(media["schema"]) if media and "schema" in media else None
        operations.setdefault(template, {})[method.lower()] = {
            "operationId": op.get("operationId"), "route": pattern, "responses": responses}
    schemas: dict[str, Any] = {}
    pending: set[str] = set()
    refs_in(operations, pending)
    while pending:
        name = pending.pop()
        if name in schemas:
            continue
        schemas[name] = convert(spec["components"]["schemas"][name])
        more: set[str] = set()
        refs_in(schemas[name], more)
        pending |= more - set(schemas)
    return {
        "source": "@octokit/openapi generated/api.github.com.json",
        "openapi": spec.get("openapi"), "api_version": spec.get("info", {}).get("version"),
        "not_in_description": sorted(missing),
        "paths": dict(sorted(operations.items())),
        "components": {"schemas": dict(sorted(schemas.items()))},
    }


def main(argv: list[str]) -> int:
    spec_path = Path(argv[1]) if len(argv) > 1 else DEFAULT_SPEC
    out_path = Path(argv[2]) if len(argv) > 2 else DEFAULT_OUT
    spec = json.loads(spec_path.read_text())
    subset = cut(spec, served_routes())
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(subset, indent=1, sort_keys=False) + "\n")
    n_ops = sum(len(v) for v in subset["paths"].values())
    print(f"{out_path}: {n_ops} operations, {len(subset['components']['schemas'])} schemas; "
          f"not in GitHub's description: {', '.join(subset['not_in_description']) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
