"""``Sandbox``: start/stop the GitHub fake and the services asked for beside it."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from valet.errors import SandboxError
from valet.sandbox import catalog
from valet.sandbox.app import App
from valet.sandbox.client import AdminClient
from valet.sandbox.crates_io import FakeCrates
from valet.sandbox.exchange import Fronts, start_fronts
from valet.sandbox.routes import trusted_publishers
from valet.sandbox.server import SandboxServer

if TYPE_CHECKING:
    from valet.sandbox.cloud import ContainerRegistry, GcsServer, MotoServer


class Sandbox:
    """The local GitHub fake on 127.0.0.1 (port 0: any free port), and the services
    asked for beside it.

    ``state_dir`` keeps bare repos, uploaded files and ``state.json`` across
    restarts (and the registries', crates' and cloud services' data under it);
    without it everything lives in a temporary directory removed by ``stop()``.
    ``services``: names from ``valet.sandbox.catalog.SERVICES`` (``registries=True``
    is the same as naming ``registries``). Their tools are checked before anything
    starts; ``stop()`` stops every one of them.
    """

    def __init__(self, state_dir: Path | str | None = None, port: int = 0,
                 registries: bool = False, services: Iterable[str] = ()) -> None:
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.port = port
        wanted = set(services) | ({"registries"} if registries else set())
        unknown = wanted - set(catalog.SERVICES)
        if unknown:
            raise ValueError(f"unknown sandbox services {sorted(unknown)}")
        self.services = tuple(name for name in catalog.SERVICES if name in wanted)
        self.registries: Any = None
        self.crates: FakeCrates | None = None
        self.fronts: Fronts | None = None
        self.docker: tuple[ContainerRegistry, ContainerRegistry] | None = None
        self.gcs: GcsServer | None = None
        self.aws: MotoServer | None = None
        self.app: App | None = None
        self._server: SandboxServer | None = None
        self._storage: SandboxServer | None = None
        self._thread: threading.Thread | None = None
        self._storage_thread: threading.Thread | None = None
        self._tmp: str | None = None
        self.base_url = self.server_url = self.api_url = self.uploads_url = self.storage_url = ""
        self.admin: AdminClient

    @property
    def want_registries(self) -> bool:
        return "registries" in self.services

    def start(self) -> Sandbox:
        if self._server is not None:
            return self
        check_tools(self.services)
        if self.state_dir is None:
            self._tmp = tempfile.mkdtemp(prefix="valet-sandbox-")
            root = Path(self._tmp)
        else:
            root = self.state_dir
            root.mkdir(parents=True, exist_ok=True)
        self.app = App(root / "github", persist=self.state_dir is not None)
        self._server = SandboxServer(self.app, self.port)
        self.port = self._server.server_address[1]
        self._storage = SandboxServer(self.app, 0, role="storage")
        self.app.set_port(self.port, self._storage.server_address[1])
        self.storage_url = self.app.urls.storage
        self.base_url = self.server_url = self.app.urls.server
        self.api_url = self.app.urls.api
        self.uploads_url = self.app.urls.uploads
        self._thread = threading.Thread(target=self._server.serve_forever,
                                         kwargs={"poll_interval": 0.1},
                                         name="valet-sandbox", daemon=True)
        self._thread.start()
        self._storage_thread = threading.Thread(target=self._storage.serve_forever,
                                                 kwargs={"poll_interval": 0.1},
                                                 name="valet-sandbox-storage", daemon=True)
        self._storage_thread.start()
        self.admin = AdminClient(self.server_url)
        try:
            for name in self.services:
                self._start_service(name, root)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_service(self, name: str, root: Path) -> None:
        getattr(self, STARTERS[name])(root)

    def _start_registries(self, root: Path) -> None:
        from valet.sandbox.registries import start_registries

        self.registries = start_registries(root / "registries")

    def _start_crates(self, root: Path) -> None:
        self.crates = FakeCrates(root=(root / "crates").resolve()).start()

    def _start_trusted_publishing(self, root: Path) -> None:
        assert self.app is not None
        self.fronts = start_fronts(self.oidc_issuer, registries=self.registries,
                                   crates=self.crates)
        with self.app.state.lock:
            trusted_publishers.replay(self.app, self.fronts)
            self.app.fronts = self.fronts

    def _start_docker(self, root: Path) -> None:
        from valet.sandbox.cloud import start_container_registry

        source = start_container_registry(root / "cloud", "docker-source", user="valet-src")
        try:
            target = start_container_registry(root / "cloud", "docker-target", user="valet-dst")
        except BaseException:
            source.stop()
            raise
        self.docker = (source, target)

    def _start_gcs(self, root: Path) -> None:
        from valet.sandbox.cloud import start_gcs

        self.gcs = start_gcs(root / "cloud")

    def _start_aws(self, root: Path) -> None:
        from valet.sandbox.cloud import start_moto

        self.aws = start_moto(root / "cloud")

    def stop(self) -> None:
        """Stop every service (the last started first), then the GitHub fake; a service
        that fails to stop does not keep the others running."""
        if self.app is not None:
            self.app.fronts = None
        with contextlib.ExitStack() as stack:
            stack.callback(self._stop_github)  # runs last
            for service in (self.registries, self.crates, self.fronts, *(self.docker or ()),
                            self.gcs, self.aws):
                if service is not None:
                    stack.callback(service.stop)
            self.aws = self.gcs = self.docker = self.fronts = self.crates = None
            self.registries = None

    def _stop_github(self) -> None:
        if self._server is not None:
            assert self.app is not None
            self.app.stopping.set()
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
            self.app.state.save(force=True)
            self._server = None
            if self._storage is not None:
                self._storage.shutdown()
                self._storage.close_connections()
                self._storage.server_close()
                self._storage = None
            for thread in (self._thread, self._storage_thread):
                if thread is not None:
                    thread.join(timeout=10)
            self.admin.close()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def graphql_url(self) -> str:
        return f"{self.server_url}/api/graphql"

    def git_url(self, full_name: str, token: str | None = None) -> str:
        """The clone URL of a repo, with the token as basic-auth password if given."""
        host = self.server_url.split("://", 1)[1]
        auth = f"x-access-token:{quote(token, safe='')}@" if token else ""
        return f"http://{auth}{host}/{full_name}.git"

    def oidc_env(self, token: str) -> dict[str, str]:
        """The Actions variables for requesting an OIDC id-token as ``token``'s identity."""
        return {"ACTIONS_ID_TOKEN_REQUEST_URL":
                f"{self.server_url}/_sandbox/oidc/token?api-version=2.0",
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN": token}

    @property
    def oidc_issuer(self) -> str:
        return f"{self.server_url}/_sandbox/oidc"

    def env(self, token: str | None = None) -> dict[str, str]:
        """Every variable the actions and targets need to reach what runs (later
        sections win: with trusted publishing the publish URLs name the exchanges)."""
        out: dict[str, str] = {}
        for section in self.sections():
            out.update(section.env)
        if token:
            out["GITHUB_TOKEN"] = token
        return out

    def sections(self) -> list[Section]:
        """What runs, one section per service: its endpoints and its variables."""
        out = [Section("GitHub API fake (REST, GraphQL, git over HTTP)",
                       [f"REST {self.api_url}", f"GraphQL {self.graphql_url}",
                        f"git {self.server_url}/OWNER/NAME.git",
                        f"admin {self.server_url}/_sandbox"],
                       {"GITHUB_API_URL": self.api_url, "GITHUB_SERVER_URL": self.server_url,
                        "GITHUB_GRAPHQL_URL": self.graphql_url})]
        if self.registries is not None:
            regs = self.registries
            out.append(Section("registries: pypiserver (PyPI) and verdaccio (npm)",
                               [f"pypiserver {regs.pypi_url} (index {regs.pypi_index_url})",
                                f"verdaccio {regs.npm_url}"], regs.env()))
        if self.crates is not None:
            out.append(Section("crates: the crates.io fake", [f"API {self.crates.url}"],
                               self.crates.env()))
        if self.fronts is not None:
            out.append(self._trusted_section(self.fronts))
        if self.docker is not None:
            source, target = self.docker
            env = {**source.env(), **target.env(), "VALET_DOCKER_SOURCE_REGISTRY": source.host,
                   "VALET_DOCKER_TARGET_REGISTRY": target.host}
            out.append(Section("docker: two container registries (plain http on loopback)",
                               [f"source {source.host} (user {source.user})",
                                f"target {target.host} (user {target.user})"], env))
        if self.gcs is not None:
            out.append(Section("gcs: fake-gcs-server", [f"JSON API {self.gcs.url}/storage/v1/"],
                               self.gcs.env()))
        if self.aws is not None:
            out.append(Section("aws: moto (any region)", [f"endpoint {self.aws.url}"],
                               self.aws.env()))
        return out

    def _trusted_section(self, fronts: Fronts) -> Section:
        env = {"ACTIONS_ID_TOKEN_REQUEST_URL": f"{self.oidc_issuer}/token?api-version=2.0"}
        lines = [f"ID tokens: issuer {self.oidc_issuer}"]
        by_kind = fronts.by_kind
        if "pypi" in by_kind:
            url = by_kind["pypi"].url
            env.update({"VALET_PYPI_URL": url, "TWINE_REPOSITORY_URL": url})
            lines.append(f"PyPI exchange {url} (in front of {by_kind['pypi'].upstream}/)")
        if "npm" in by_kind:
            env["VALET_NPM_REGISTRY"] = by_kind["npm"].url
            lines.append(f"npm exchange {by_kind['npm'].url} "
                         f"(in front of {by_kind['npm'].upstream}/)")
        if "crates" in by_kind:
            env["CRATES_API_URL"] = by_kind["crates"].url.rstrip("/")
            lines.append(f"crates.io exchange {by_kind['crates'].url} "
                         f"(in front of {by_kind['crates'].upstream})")
        return Section("trusted-publishing: OIDC exchanges (tokens still work through them)",
                       lines, env)


@dataclass(frozen=True)
class Section:
    """One running service as `valet sandbox` prints it."""

    title: str
    endpoints: list[str]
    env: dict[str, str]


def check_tools(services: Iterable[str]) -> None:
    """Refuse to start anything when a tool a requested service runs is missing,
    naming every missing tool and the command that installs it."""
    missing = [(name, tool) for name in services for tool in catalog.SERVICES[name].tools
               if not _installed(tool)]
    if not missing:
        return
    lines = "\n".join(f"  {tool.name} (for {name}): {tool.install}" for name, tool in missing)
    names = sorted({name for name, _tool in missing})
    raise SandboxError(f"cannot start the sandbox service(s) {', '.join(names)}: missing tools\n"
                       f"{lines}",
                       hint="install them, or leave those services out (`valet sandbox "
                            "--with ...`; the registries: --no-registries)")


def _installed(tool: catalog.Tool) -> bool:
    return CHECKS[tool.name]()


def _modules(*names: str) -> bool:
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in names)


def _verdaccio() -> bool:
    from valet.sandbox.registries import node_tools_dir

    return (node_tools_dir() / "node_modules" / "verdaccio" / "bin" / "verdaccio").exists()


def _docker_registry() -> bool:
    from valet.sandbox.cloud import docker_registry_executable

    return docker_registry_executable() is not None


def _fake_gcs() -> bool:
    from valet.sandbox.cloud import fake_gcs_executable

    return fake_gcs_executable() is not None


# Each catalog service's start method, and each catalog tool's check (a unit test keeps
# both equal to the catalog).
STARTERS = {name: "_start_" + name.replace("-", "_") for name in catalog.SERVICES}
CHECKS: dict[str, Callable[[], bool]] = {
    catalog.PYPISERVER.name: lambda: _modules("pypiserver", "passlib"),
    catalog.NODE.name: lambda: shutil.which("node") is not None,
    catalog.VERDACCIO.name: _verdaccio,
    catalog.DOCKER_REGISTRY.name: _docker_registry,
    catalog.SKOPEO.name: lambda: shutil.which("skopeo") is not None,
    catalog.FAKE_GCS.name: _fake_gcs,
    catalog.MOTO.name: lambda: _modules("moto", "flask"),
}
