"""``POST /api/graphql``: GitHub's GraphQL API, answered by valet.sandbox.graphql.

The request is ``{"query", "variables", "operationName"}`` as GitHub takes it; no
token, or a bad one, is a 401 (GitHub's GraphQL API has no anonymous access). Every
request is logged with kind ``graphql`` (server.py) and faults apply to it like to any
other path.
"""

from __future__ import annotations

from valet.sandbox.app import App
from valet.sandbox.routing import ApiError, Request, Response


def register(app: App) -> None:
    @app.graphql.route("POST", "/")
    def graphql(req: Request) -> Response:
        if req.login is None:
            raise ApiError(401, "This endpoint requires you to be authenticated.")
        body = req.json()
        query, variables = body.get("query"), body.get("variables") or {}
        operation = body.get("operationName") or None
        if not isinstance(query, str) or not isinstance(variables, dict) or \
                not (operation is None or isinstance(operation, str)):
            return Response(200, {"errors": [{
                "message": "A query attribute must be specified and must be a string."}]})
        # Imported here: the schema and its resolvers load on the first GraphQL request.
        from valet.sandbox.graphql import engine

        return Response(200, engine.run(app, req.login, query, variables, operation))
