"""Endpoint groups: one module each, each with ``register(app)``."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from valet.sandbox.app import App

MODULES = (
    "admin", "users", "repos", "git_refs", "contents", "commits", "ci", "issues", "search",
    "access", "releases", "artifacts", "oidc", "graphql", "pulls", "runs", "apps",
    "trusted_publishers",
)


def register_all(app: App) -> None:
    for name in MODULES:
        try:
            module = importlib.import_module(f"valet.sandbox.routes.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"valet.sandbox.routes.{name}":
                continue  # not written yet
            raise
        module.register(app)
