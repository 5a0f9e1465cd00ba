"""``Sandbox``: start/stop the GitHub fake (and optionally the registries) in-process."""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

from valet.sandbox.app import App
from valet.sandbox.client import AdminClient
from valet.sandbox.server import SandboxServer


class Sandbox:
    """The local GitHub fake on 127.0.0.1 (port 0: any free port).

    ``state_dir`` keeps bare repos, uploaded files and ``state.json`` across
    restarts; without it everything lives in a temporary directory removed by
    ``stop()``.
    """

    def __init__(self, state_dir: Path | str | None = None, port: int = 0,
                 registries: bool = False) -> None:
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.port = port
        self.want_registries = registries
        self.registries: Any = None
        self.app: App | None = None
        self._server: SandboxServer | None = None
        self._storage: SandboxServer | None = None
        self._thread: threading.Thread | None = None
        self._storage_thread: threading.Thread | None = None
        self._tmp: str | None = None
        self.base_url = self.server_url = self.api_url = self.uploads_url = self.storage_url = ""
        self.admin: AdminClient

    def start(self) -> Sandbox:
        if self._server is not None:
            return self
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
        if self.want_registries:
            try:
                from valet.sandbox.registries import start_registries
                self.registries = start_registries(root / "registries")
            except BaseException:
                self.stop()
                raise
        return self

    def stop(self) -> None:
        if self.registries is not None:
            try:
                self.registries.stop()
            finally:
                self.registries = None
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

    def env(self, token: str | None = None) -> dict[str, str]:
        out = {"GITHUB_API_URL": self.api_url, "GITHUB_SERVER_URL": self.server_url,
               "GITHUB_GRAPHQL_URL": self.graphql_url}
        if token:
            out["GITHUB_TOKEN"] = token
        if self.registries is not None:
            out.update(self.registries.env())
        return out
