"""GitHub's GraphQL schema, built once per process on first use.

The SDL is GitHub's own public schema, vendored at ``data/github-schema.graphql``
(npm ``@octokit/graphql-schema``). Building it takes about 0.6 s, so nothing builds it
until the first GraphQL request: a test run that never sends one does not pay for it.
"""

from __future__ import annotations

import threading
from pathlib import Path

from graphql import GraphQLSchema, build_schema

SDL_PATH = Path(__file__).resolve().parent.parent / "data" / "github-schema.graphql"

_lock = threading.Lock()
_schema: GraphQLSchema | None = None


def sdl() -> str:
    return SDL_PATH.read_text(encoding="utf-8")


def schema() -> GraphQLSchema:
    """The built schema (the first call builds it; later ones share it)."""
    global _schema
    if _schema is None:
        with _lock:
            if _schema is None:
                # assume_valid_sdl: the published SDL defines two fields of
                # EnterpriseOwnerInfo twice, which SDL validation rejects. assume_valid:
                # some of GitHub's types deprecate a field their interface does not
                # (Project.id, PullRequest.databaseId...), which graphql-core 3.3's
                # schema validation rejects. GitHub serves the schema as is; so do we.
                _schema = build_schema(sdl(), assume_valid_sdl=True, assume_valid=True,
                                       no_location=True)
    return _schema
