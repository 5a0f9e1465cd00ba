"""Admin: register trusted publishers on the sandbox's trusted-publishing exchanges.

``POST /_sandbox/trusted-publishers`` ``{"registry": "pypi"|"npm"|"crates",
"package", "repository": "owner/name", "workflow": "publish.yml", "environment":
"production"|null}`` registers the repository's workflow (in that environment;
null: any) as the package's trusted publisher, as a release engineer does on
pypi.org, npmjs.com or crates.io; ``GET`` lists them. Registrations are kept in
the sandbox's state, so a sandbox restarted on the same ``--state`` registers them
again on its new exchanges (``replay``). Without a running exchange for the
registry the answer is 409, saying how to start one.
"""

from __future__ import annotations

import re
from typing import Any

from valet.sandbox.app import App
from valet.sandbox.routing import ApiError, Request, Response

KEY = "trusted_publishers"
REGISTRIES = ("pypi", "npm", "crates")
_PACKAGE_RE = re.compile(r"^(?:@[a-z0-9][a-z0-9._-]*/)?[A-Za-z0-9][A-Za-z0-9._-]{0,213}$")
_WORKFLOW_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.ya?ml$")


def register(app: App) -> None:
    @app.admin.route("POST", "/trusted-publishers")
    def add(req: Request) -> Response:
        b = req.json()
        registry, package = b.get("registry"), b.get("package")
        if registry not in REGISTRIES:
            raise ApiError(422, f"registry must be one of {', '.join(REGISTRIES)}, "
                                f"not {registry!r}")
        if not isinstance(package, str) or not _PACKAGE_RE.match(package):
            raise ApiError(422, f"invalid package name {package!r}")
        repo = b.get("repository")
        rec = app.state.repo(*repo.partition("/")[::2]) if isinstance(repo, str) else None
        if rec is None:
            raise ApiError(422, f"no repository {repo!r}")
        workflow = b.get("workflow") or "publish.yml"
        if not isinstance(workflow, str) or not _WORKFLOW_RE.match(workflow):
            raise ApiError(422, f"workflow must be a file name under .github/workflows "
                                f"(e.g. publish.yml), not {workflow!r}")
        environment = b.get("environment")
        if environment is not None and (not isinstance(environment, str) or not environment):
            raise ApiError(422, "environment must be a name, or null for any environment")
        front = _front(app, registry)
        publisher = front.register(package, rec["full_name"], workflow, environment)
        record = {"registry": registry, "package": publisher.package,
                  "repository": publisher.repository, "workflow": publisher.workflow,
                  "environment": publisher.environment}
        app.state.data.setdefault(KEY, []).append(record)
        app.state.touch()
        return Response(201, record)

    @app.admin.route("GET", "/trusted-publishers")
    def listing(req: Request) -> Response:
        return Response(200, list(app.state.data.get(KEY, [])))


def _front(app: App, registry: str) -> Any:
    fronts = app.fronts
    front = fronts.by_kind.get(registry) if fronts is not None else None
    if front is None:
        needs = {"crates": "--with crates,trusted-publishing",
                 "pypi": "--with trusted-publishing (and without --no-registries)",
                 "npm": "--with trusted-publishing (and without --no-registries)"}[registry]
        raise ApiError(409, f"no trusted-publishing exchange for {registry} is running: "
                            f"start the sandbox with {needs}")
    return front


def replay(app: App, fronts: Any) -> None:
    """Register the recorded publishers on new exchanges (a restart on the same state)."""
    for record in app.state.data.get(KEY, []):
        front = fronts.by_kind.get(record["registry"])
        if front is not None:
            front.register(record["package"], record["repository"], record["workflow"],
                           record["environment"])
