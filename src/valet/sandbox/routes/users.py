"""Users and the rate limit: GET /user, /users/{login}, /rate_limit."""

from __future__ import annotations

from valet.sandbox import shapes
from valet.sandbox.app import App
from valet.sandbox.routing import Request, Response, not_found


def register(app: App) -> None:
    r = app.api

    @r.route("GET", "/user")
    def me(req: Request) -> Response:
        login = app.require_login(req)
        user = app.state.user(login)
        assert user is not None
        return Response(200, shapes.user_full(app.urls, user, app.state, private=True))

    @r.route("GET", "/users/{login}")
    def get_user(req: Request, login: str) -> Response:
        user = app.state.user(login)
        if user is None:
            raise not_found()
        return Response(200, shapes.user_full(app.urls, user, app.state))

    @r.route("GET", "/rate_limit")
    def rate_limit(req: Request) -> Response:
        limit, used, reset = app.rate_status(req.login)
        core = {"limit": limit, "used": used, "remaining": max(0, limit - used), "reset": reset}
        other = {"limit": limit, "used": 0, "remaining": limit, "reset": reset}
        search = {"limit": 30, "used": 0, "remaining": 30, "reset": reset}
        return Response(200, {"resources": {"core": core, "search": search, "graphql": other,
                                            "integration_manifest": other},
                              "rate": core})
