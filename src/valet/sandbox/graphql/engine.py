"""Run one GraphQL request against GitHub's schema: parse, validate, execute.

Answers have GitHub's shapes: a document that does not parse or validate against the
schema (an unknown field, argument or type), or variables that do not fit their
declared types, get ``{"errors": [...]}`` and no ``data``; an error while executing
(NOT_FOUND, FORBIDDEN, a connection without ``first``/``last``, a field the sandbox
does not implement) sits next to ``data`` with its ``path`` and, where GitHub gives
one, its ``type``. The status is 200 either way.
"""

from __future__ import annotations

import re
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    OperationDefinitionNode,
    execute,
    parse,
    print_ast,
    validate,
)

from valet.sandbox.app import App
from valet.sandbox.graphql import issues, mutations, orgs, repos
from valet.sandbox.graphql.base import Ctx, Fail, resolve
from valet.sandbox.graphql.schema import schema

Json = dict[str, Any]

# graphql-core's wording -> GitHub's, for the validation errors a client meets most.
_REWORD = (
    (re.compile(r"^Cannot query field '(\w+)' on type '(\w+)'\..*$", re.S),
     r"Field '\1' doesn't exist on type '\2'"),
    (re.compile(r"^Unknown argument '(\w+)' on field '(\w+)\.(\w+)'\..*$", re.S),
     r"Field '\3' doesn't accept argument '\1'"),
)
_VARIABLE = re.compile(r"^Variable '\$(\w+)'")


def _root() -> Json:
    root: Json = {}
    for module in (issues, repos, orgs, mutations):
        root.update(module.ROOT)
    return root


def _reword(message: str) -> str:
    for pattern, repl in _REWORD:
        if pattern.match(message):
            return pattern.sub(repl, message)
    return message


def _variable_types(doc: DocumentNode) -> dict[str, str]:
    out = {}
    for op in doc.definitions:
        if isinstance(op, OperationDefinitionNode):
            for d in op.variable_definitions or ():
                out[d.variable.name.value] = print_ast(d.type)
    return out


def _format(err: GraphQLError, doc: DocumentNode | None = None) -> Json:
    out: Json = {}
    original = err.original_error
    if isinstance(original, Fail) and original.type:
        out["type"] = original.type
    if err.path is not None:
        out["path"] = list(err.path)
    if err.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in err.locations]
    message = original.message if isinstance(original, Fail) else err.message
    m = _VARIABLE.match(message) if doc is not None and err.path is None else None
    if m and doc is not None:
        # GitHub names the declared type and says the value does not fit it.
        declared = _variable_types(doc).get(m.group(1), "")
        out["extensions"] = {"problems": [{"path": [], "explanation": message}]}
        message = f"Variable ${m.group(1)} of type {declared} was provided invalid value"
    out["message"] = _reword(message)
    return out


def run(app: App, login: str, query: str, variables: Json,
        operation_name: str | None = None) -> Json:
    """The JSON answer to one GraphQL request made with ``login``'s token."""
    try:
        doc = parse(query)
    except GraphQLError as err:
        return {"errors": [_format(err)]}
    gql = schema()
    problems = validate(gql, doc, hide_suggestions=True)
    if problems:
        return {"errors": [_format(e) for e in problems]}
    result = execute(gql, doc, root_value=_root(), context_value=Ctx(app, login),
                     variable_values=variables, operation_name=operation_name,
                     field_resolver=resolve, hide_suggestions=True)
    if not isinstance(result, ExecutionResult):
        raise TypeError("the sandbox's resolvers are synchronous")
    out: Json = {}
    # Errors before execution (variables that do not fit) have no path and no data;
    # an error that nulls the whole answer still leaves ``"data": null``.
    if result.data is not None or not result.errors or any(e.path for e in result.errors):
        out["data"] = result.data
    if result.errors:
        out["errors"] = [_format(e, doc) for e in result.errors]
    return out
