"""Admin-side OIDC: request tokens, the id-token endpoint, discovery and JWKS."""

from __future__ import annotations

import secrets

from valet.sandbox.app import App
from valet.sandbox.routing import ApiError, Request, Response


def register(app: App) -> None:
    issuer = None

    def get_issuer():  # type: ignore[no-untyped-def]
        nonlocal issuer
        if issuer is None:
            from valet.sandbox.oidc import Issuer

            issuer = Issuer(f"{app.urls.server}/_sandbox/oidc")
        return issuer

    @app.admin.route("POST", "/oidc/request-tokens")
    def create_request_token(req: Request) -> Response:
        b = req.json()
        repo = b.get("repository")
        if not isinstance(repo, str) or app.state.repo(*repo.partition("/")[::2]) is None:
            raise ApiError(422, f"no repository {repo!r}")
        rec = app.state.repo(*repo.partition("/")[::2])
        assert rec is not None
        token = "oidc_" + secrets.token_urlsafe(24)
        binding = {k: b.get(k) for k in ("ref", "environment", "workflow", "actor", "sha",
                                         "event_name")}
        owner = app.state.user(rec["owner"]) or {}
        binding.update({"repository": rec["full_name"], "repo_id": rec["id"],
                        "owner_id": owner.get("id"),
                        "visibility": "private" if rec.get("private") else "public",
                        "run_id": app.state.new_id()})
        app.state.data.setdefault("oidc_request_tokens", {})[token] = binding
        app.state.touch()
        # GitHub's request URL already carries a query: clients append `&audience=`.
        return Response(201, {"token": token,
                              "url": f"{app.urls.server}/_sandbox/oidc/token?api-version=2.0"})

    @app.admin.route("GET", "/oidc/token")
    def id_token(req: Request) -> Response:
        raw = req.header("authorization")
        scheme, _, value = raw.partition(" ")
        binding = app.state.data.get("oidc_request_tokens", {}).get(value.strip())
        if scheme.lower() != "bearer" or binding is None:
            raise ApiError(401, "Bad credentials")
        # Without an audience GitHub uses the URL of the repository's owner.
        owner = str(binding["repository"]).split("/")[0]
        audience = req.arg("audience") or f"{app.urls.server}/{owner}"
        return Response(200, {"count": 1, "value": get_issuer().token(binding, audience)})

    @app.admin.route("GET", "/oidc/.well-known/openid-configuration")
    def discovery(req: Request) -> Response:
        return Response(200, get_issuer().discovery())

    @app.admin.route("GET", "/oidc/.well-known/jwks")
    def jwks(req: Request) -> Response:
        return Response(200, get_issuer().jwks())
