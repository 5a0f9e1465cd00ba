"""Real package registries for the sandbox: pypiserver (PyPI) and verdaccio 5 (npm).

Both listen on 127.0.0.1 on free ports, keep all their state under one
directory, and run each in its own process group so that ``stop()`` (or the
``atexit`` hook, or a SIGTERM/SIGHUP to the parent) kills the whole group.
On Linux, a registry started from the main thread also gets a parent-death
signal, so it dies with the parent even when the parent is SIGKILLed.

Environment the sandbox hands to the actions (``Registries.env()``):

=========================  ==============================================
``VALET_PYPI_URL``         upload base of pypiserver (``http://127.0.0.1:P/``)
``VALET_PYPI_INDEX_URL``   its simple index (``.../simple/``, sha256 fragments)
``TWINE_REPOSITORY_URL``   same as ``VALET_PYPI_URL`` (twine reads it)
``TWINE_USERNAME``         the one upload user, ``__token__`` (as on PyPI)
``TWINE_PASSWORD``         its password
``PYPI_TOKEN``             the same password: what the publish step takes on PyPI
``VALET_NPM_REGISTRY``     verdaccio base URL (``http://127.0.0.1:Q/``)
``NPM_TOKEN``              bearer token of the one npm user
``NODE_AUTH_TOKEN``        same token (the actions/setup-node convention)
=========================  ==============================================

npm does not read ``NPM_TOKEN`` by itself: write ``Registries.npmrc_text()``
to a ``.npmrc`` (or pass ``--userconfig``) to use the token.

Duplicate uploads are refused by both registries (no overwrite): pypiserver
answers 409 Conflict, except to a client whose User-Agent says twine, which
gets 400 "Package ... already exists!" (what pypi.org does: twine's
``--skip-existing`` keys on it); verdaccio answers 403 "cannot publish over the
previously published versions". tests/sandbox/test_registries.py pins both.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from valet.errors import SandboxError

START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
# PyPI API tokens authenticate as the user `__token__`: so does the sandbox's one upload
# user, so the documented PYPI_TOKEN (the password alone) works against it as against PyPI.
PYPI_USER = "__token__"
NPM_USER = "valet-npm"
REPO_ROOT = Path(__file__).resolve().parents[3]


# --------------------------------------------------------------------------- process groups
# Process-group ids of every registry still running, for the atexit / signal
# clean-up. Only os.killpg on ints is done from a signal handler: no locks.
_LIVE_GROUPS: set[int] = set()
_HOOKS_INSTALLED = False
_PR_SET_PDEATHSIG = 1


def _kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def kill_all_registries() -> None:
    """Kill every registry process group this process started (async-signal-safe enough:
    no locks, no allocation beyond a list copy)."""
    for pgid in list(_LIVE_GROUPS):
        _kill_group(pgid)
        _LIVE_GROUPS.discard(pgid)


def _chain_signal(signum: int) -> None:
    previous = signal.getsignal(signum)

    def handler(sig: int, frame: FrameType | None) -> None:
        kill_all_registries()
        if callable(previous):
            previous(sig, frame)
            return
        # Default disposition: die of the same signal, as if we never caught it.
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)

    # Only take over signals nobody else handles (an owner that installs its own
    # handler, like `valet sandbox`, calls stop() itself).
    if previous in (signal.SIG_DFL, None):
        signal.signal(signum, handler)


def _install_hooks() -> None:
    global _HOOKS_INSTALLED
    if _HOOKS_INSTALLED:
        return
    _HOOKS_INSTALLED = True
    atexit.register(kill_all_registries)
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGHUP):
            _chain_signal(signum)


def track_group(pgid: int) -> None:
    """Have the atexit / signal clean-up kill this process group (used by act runs too)."""
    _install_hooks()
    _LIVE_GROUPS.add(pgid)


def untrack_group(pgid: int) -> None:
    _LIVE_GROUPS.discard(pgid)


def child_setup() -> Callable[[], None] | None:
    """A preexec function asking Linux to SIGKILL the child when its parent dies.

    The parent-death signal fires when the *thread* that forked exits, so it is
    only used from the main thread (which lives as long as the process)."""
    if not sys.platform.startswith("linux"):
        return None
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    parent = os.getpid()

    def setup() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent already died between fork and prctl
            os._exit(1)

    return setup


def processes_mentioning(text: str) -> list[tuple[int, str]]:
    """(pid, command line) of every process whose command line or working directory
    contains ``text`` (reads /proc; empty elsewhere). verdaccio renames its process
    title to "verdaccio", so its working directory (its state dir) is what names it."""
    found: list[tuple[int, str]] = []
    for entry, raw in _processes():
        cmd = raw.replace(b"\0", b" ").decode(errors="replace").strip()
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            cwd = ""
        if text in cmd or text in cwd:
            found.append((int(entry.name), cmd))
    return found


def _processes() -> Iterator[tuple[Path, bytes]]:
    """(/proc/PID, raw command line) of every user process (none off Linux); kernel
    threads and zombies, which have no command line, are skipped."""
    proc_root = Path("/proc")
    if not proc_root.is_dir():
        return
    for entry in proc_root.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if raw:
            yield entry, raw


SESSION_ENV = "VALET_SANDBOX_SESSION"


def processes_with_env(name: str, value: str) -> list[tuple[int, str]]:
    """(pid, command line) of every process started with ``name=value`` in its environment.

    A test session puts a unique ``VALET_SANDBOX_SESSION`` in its environment; every
    process it starts (registries, act, the steps act runs) inherits it, so this finds
    them all even when their state lives outside the session's temp dir."""
    needle = f"{name}={value}".encode()
    found: list[tuple[int, str]] = []
    for entry, raw in _processes():
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if needle in environ:
            found.append((int(entry.name), raw.replace(b"\0", b" ").decode(errors="replace")))
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


@dataclass
class Service:
    """One registry process (the leader of its own process group)."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    url: str

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        pgid = self.proc.pid  # start_new_session: pid == pgid
        if self.proc.poll() is None:
            _kill_group(pgid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        # Whatever is left in the group (children of the leader) goes too.
        _kill_group(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=timeout)
        _LIVE_GROUPS.discard(pgid)


def _spawn(name: str, argv: Sequence[str], log_path: Path, cwd: Path,
           env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        try:
            proc = subprocess.Popen(
                list(argv), cwd=cwd, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=child_setup(),  # noqa: PLW1509
                env=env,
            )
        except OSError as exc:
            raise SandboxError(f"cannot start {name}: {exc}",
                               hint="run `make setup` to install the sandbox tools") from exc
    track_group(proc.pid)
    return proc


def _wait_ready(service: Service, probe: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if not service.alive():
            raise SandboxError(
                f"{service.name} exited with code {service.proc.returncode} while starting; "
                f"log tail ({service.log_path}):\n{_tail(service.log_path)}",
                hint="check that the port is free and the tool is installed (`make setup`)")
        try:
            with urllib.request.urlopen(probe, timeout=2) as resp:  # noqa: S310 - loopback
                if resp.status < 500:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
            last = f"HTTP {exc.code}"
        except (OSError, ValueError) as exc:
            last = str(exc)
        time.sleep(0.1)
    service.stop()
    raise SandboxError(
        f"{service.name} did not answer {probe} within {timeout:.0f}s ({last}); "
        f"log tail ({service.log_path}):\n{_tail(service.log_path)}",
        hint="a slow machine may need a longer VALET_SANDBOX_START_TIMEOUT")


def _start_timeout() -> float:
    try:
        return float(os.environ.get("VALET_SANDBOX_START_TIMEOUT", START_TIMEOUT))
    except ValueError:
        return START_TIMEOUT


# --------------------------------------------------------------------------- pypiserver
def _write_htpasswd(path: Path, user: str, password: str) -> None:
    # On import passlib reads bcrypt's version from an attribute bcrypt 4.1 removed and
    # logs a traceback about it (https://github.com/pyca/bcrypt/issues/684); the
    # sha256_crypt hash written here does not use bcrypt.
    logging.getLogger("passlib.handlers.bcrypt").setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            # passlib imports the stdlib `crypt` module, deprecated since 3.11.
            warnings.simplefilter("ignore", DeprecationWarning)
            from passlib.apache import HtpasswdFile
    except ImportError as exc:
        raise SandboxError("passlib is not installed; pypiserver needs it for upload auth",
                           hint="install the dev requirements (`make setup`)") from exc
    ht = HtpasswdFile(str(path), new=True, default_scheme="sha256_crypt")
    ht.set_password(user, password)
    ht.save()


def start_pypiserver(state_dir: Path, *, user: str = PYPI_USER,
                     password: str | None = None) -> tuple[Service, str, str]:
    root = state_dir / "pypi"
    packages = root / "packages"
    packages.mkdir(parents=True, exist_ok=True)
    password = password or secrets.token_urlsafe(18)
    htpasswd = root / "htpasswd"
    _write_htpasswd(htpasswd, user, password)
    log_path = root / "pypiserver.log"
    for _attempt in range(3):
        port = free_port()
        argv = [sys.executable, "-m", "pypiserver", "run",
                "--host", "127.0.0.1", "--port", str(port),
                "--passwords", str(htpasswd), "--authenticate", "update",
                "--disable-fallback", "--hash-algo", "sha256",
                "--health-endpoint", "/health",
                "--log-stream", "stderr", str(packages)]
        proc = _spawn("pypiserver", argv, log_path, cwd=root)
        service = Service("pypiserver", proc, log_path, f"http://127.0.0.1:{port}/")
        try:
            _wait_ready(service, f"{service.url}health", _start_timeout())
            return service, user, password
        except SandboxError:
            service.stop()
            if "in use" not in _tail(log_path):
                raise
    raise SandboxError(f"pypiserver found no free port; log tail:\n{_tail(log_path)}")


# --------------------------------------------------------------------------- verdaccio
def node_tools_dir() -> Path:
    """tools/node of this checkout (override with VALET_NODE_TOOLS)."""
    return Path(os.environ.get("VALET_NODE_TOOLS") or REPO_ROOT / "tools" / "node")


def _verdaccio_config(root: Path, port: int) -> str:
    storage = root / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    # JSON is YAML: no hand-quoting of paths.
    config: dict[str, Any] = {
        "storage": str(storage),
        "plugins": str(root / "plugins"),
        "listen": f"127.0.0.1:{port}",
        "web": {"enable": False},
        "auth": {"htpasswd": {"file": str(root / "htpasswd"), "max_users": 1}},
        # No uplinks: nothing is ever fetched from (or leaked to) npmjs.org.
        "uplinks": {},
        "packages": {
            pattern: {"access": "$all", "publish": "$authenticated",
                      "unpublish": "$authenticated"}
            for pattern in ("@*/*", "**")
        },
        "publish": {"allow_offline": True},
        "middlewares": {"audit": {"enabled": False}},
        "server": {"keepAliveTimeout": 60},
        "max_body_size": "200mb",
        "log": {"type": "file", "path": str(root / "verdaccio.log"), "format": "json",
                "level": "http"},
    }
    return json.dumps(config, indent=2)


def _npm_adduser(url: str, user: str, password: str) -> str:
    body = json.dumps({"_id": f"org.couchdb.user:{user}", "name": user, "password": password,
                       "type": "user", "roles": [],
                       "email": f"{user}@valet.invalid"}).encode()
    req = urllib.request.Request(  # noqa: S310 - loopback http only
        f"{url}-/user/org.couchdb.user:{user}", data=body, method="PUT",
        headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback
            answer = json.load(resp)
    except urllib.error.HTTPError as exc:
        raise SandboxError(f"verdaccio refused to create user {user}: HTTP {exc.code} "
                           f"{exc.read()[:300]!r}") from exc
    token = answer.get("token")
    if not isinstance(token, str) or not token:
        raise SandboxError(f"verdaccio created {user} but returned no token: {answer!r}")
    return token


def start_verdaccio(state_dir: Path, *, user: str = NPM_USER) -> tuple[Service, str]:
    root = state_dir / "npm"
    root.mkdir(parents=True, exist_ok=True)
    tools = node_tools_dir()
    entry = tools / "node_modules" / "verdaccio" / "bin" / "verdaccio"
    node = shutil.which("node")
    if node is None or not entry.exists():
        raise SandboxError(f"verdaccio is not installed (looked for {entry}, node={node})",
                           hint="run `make setup` (npm ci in tools/node)")
    log_path = root / "verdaccio.out"
    for _attempt in range(3):
        port = free_port()
        config = root / "config.yaml"
        config.write_text(_verdaccio_config(root, port))
        env = {**os.environ, "NODE_ENV": "production"}
        proc = _spawn("verdaccio", [node, str(entry), "--config", str(config),
                                    "--listen", f"127.0.0.1:{port}"],
                      log_path, cwd=root, env=env)
        service = Service("verdaccio", proc, log_path, f"http://127.0.0.1:{port}/")
        try:
            _wait_ready(service, f"{service.url}-/ping", _start_timeout())
        except SandboxError:
            service.stop()
            if "EADDRINUSE" not in _tail(log_path):
                raise
            continue
        try:
            token = _npm_adduser(service.url, user, secrets.token_urlsafe(18))
        except BaseException:
            service.stop()
            raise
        return service, token
    raise SandboxError(f"verdaccio found no free port; log tail:\n{_tail(log_path)}")


# --------------------------------------------------------------------------- both
@dataclass
class Registries:
    """The two running registries and their credentials."""

    state_dir: Path
    pypi_url: str
    pypi_user: str
    pypi_password: str
    npm_url: str
    npm_user: str
    npm_token: str
    services: list[Service] = field(default_factory=list, repr=False)

    @property
    def pypi_index_url(self) -> str:
        return f"{self.pypi_url}simple/"

    def env(self) -> dict[str, str]:
        return {
            "VALET_PYPI_URL": self.pypi_url,
            "VALET_PYPI_INDEX_URL": self.pypi_index_url,
            "TWINE_REPOSITORY_URL": self.pypi_url,
            "TWINE_USERNAME": self.pypi_user,
            "TWINE_PASSWORD": self.pypi_password,
            "PYPI_TOKEN": self.pypi_password,
            "VALET_NPM_REGISTRY": self.npm_url,
            "NPM_TOKEN": self.npm_token,
            "NODE_AUTH_TOKEN": self.npm_token,
        }

    def secrets(self) -> set[str]:
        """Values to mask in logs."""
        return {self.pypi_password, self.npm_token}

    def npmrc_text(self) -> str:
        """An .npmrc that makes npm publish to verdaccio with the token."""
        hostpath = self.npm_url.split("://", 1)[1]
        return f"registry={self.npm_url}\n//{hostpath}:_authToken={self.npm_token}\n"

    def pids(self) -> list[int]:
        return [s.pid for s in self.services]

    def alive(self) -> bool:
        return all(s.alive() for s in self.services)

    def stop(self) -> None:
        for service in self.services:
            service.stop()

    def __enter__(self) -> Registries:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_registries(state_dir: Path) -> Registries:
    """Start pypiserver and verdaccio with their state under ``state_dir``."""
    state_dir = Path(state_dir).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    pypi, pypi_user, pypi_password = start_pypiserver(state_dir)
    try:
        npm, npm_token = start_verdaccio(state_dir)
    except BaseException:
        pypi.stop()
        raise
    return Registries(state_dir=state_dir, pypi_url=pypi.url, pypi_user=pypi_user,
                      pypi_password=pypi_password, npm_url=npm.url, npm_user=NPM_USER,
                      npm_token=npm_token, services=[pypi, npm])
