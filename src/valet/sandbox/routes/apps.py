"""GitHub Apps: ``GET /apps/{app_slug}`` (an App's public facts, by its slug)."""

from __future__ import annotations

from valet.sandbox import shapes
from valet.sandbox.app import App
from valet.sandbox.routing import Request, Response, not_found


def register(app: App) -> None:
    @app.api.route("GET", "/apps/{slug}")
    def get_app(req: Request, slug: str) -> Response:
        rec = app.state.data["apps"].get(slug.lower())
        if rec is None:
            raise not_found()
        return Response(200, shapes.integration(app.urls, app.state, rec))
