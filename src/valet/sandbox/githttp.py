"""Smart HTTP for the bare repositories: ``git http-backend`` run as a CGI program.

Authentication is GitHub's: HTTP basic with any user name and a token as the
password. Reads need read access (anonymous is fine on a public repo); pushes
need write access. A missing or wrong credential gets a 401 challenge so that
git retries with the credentials from the URL.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
from typing import IO, TYPE_CHECKING

from valet.sandbox.routing import read_body
from valet.sandbox.state import perm_at_least

if TYPE_CHECKING:
    from valet.sandbox.app import App

SERVICES = ("info/refs", "git-upload-pack", "git-receive-pack", "HEAD")


def _backend() -> str:
    exec_path = subprocess.run(["git", "--exec-path"], capture_output=True, text=True,
                               check=True).stdout.strip()
    return os.path.join(exec_path, "git-http-backend")


class GitAnswer:
    """What the HTTP layer should send when the request is refused."""

    def __init__(self, status: int, message: str, challenge: bool = False) -> None:
        self.status = status
        self.message = message
        self.challenge = challenge


def authorize(app: App, headers: dict[str, str], owner: str, repo: str, rest: str,
              query: str) -> tuple[str | None, GitAnswer | None]:
    """``(login, refusal)``: who is calling, and why they may not (None: allowed)."""
    login = None
    raw = headers.get("authorization", "")
    if raw:
        scheme, _, value = raw.partition(" ")
        token = ""
        if scheme.lower() == "basic":
            try:
                token = base64.b64decode(value.strip()).decode().partition(":")[2]
            except ValueError:
                token = ""
        elif scheme.lower() in ("token", "bearer"):
            token = value.strip()
        with app.state.lock:
            user = app.state.user(app.state.tokens.get(token))
        if user is None:
            return None, GitAnswer(401, "Invalid username or token.", challenge=True)
        login = user["login"]
    push = rest == "git-receive-pack" or "service=git-receive-pack" in query
    with app.state.lock:
        rec = app.state.repo(owner, repo)
        perm = app.permission(rec, login) if rec else "none"
    if rec is None or not perm_at_least(perm, "read"):
        if login is None:
            return None, GitAnswer(401, "Authentication required", challenge=True)
        return login, GitAnswer(404, "Repository not found.")
    if push and not perm_at_least(perm, "write"):
        if login is None:
            return None, GitAnswer(401, "Authentication required", challenge=True)
        return login, GitAnswer(403, f"Permission to {rec['full_name']}.git denied to {login}.")
    return login, None


def run_backend(app: App, method: str, owner: str, repo: str, rest: str, query: str,
                headers: dict[str, str], rfile: IO[bytes], login: str | None,
                ) -> tuple[int, list[tuple[str, str]], subprocess.Popen[bytes], IO[bytes]]:
    """Start http-backend; returns status, headers and the process whose stdout is the body."""
    with app.state.lock:
        rec = app.state.repo(owner, repo)
        assert rec is not None
        git_dir = app.git(rec).path
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(app.root),
        "GIT_PROJECT_ROOT": str(git_dir.parent.parent), "GIT_HTTP_EXPORT_ALL": "1",
        "GIT_HTTP_MAX_REQUEST_BUFFER": "200M", "GIT_CONFIG_NOSYSTEM": "1",
        "PATH_INFO": f"/{git_dir.parent.name}/{git_dir.name}/{rest}",
        "REQUEST_METHOD": method, "QUERY_STRING": query, "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_USER": login or "", "CONTENT_TYPE": headers.get("content-type", ""),
        "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1",
    }
    if headers.get("content-length"):
        env["CONTENT_LENGTH"] = headers["content-length"]
    if headers.get("content-encoding"):
        env["HTTP_CONTENT_ENCODING"] = headers["content-encoding"]
    if headers.get("git-protocol"):
        env["GIT_PROTOCOL"] = headers["git-protocol"]
    spool = tempfile.TemporaryFile()
    if method == "POST":
        for chunk in read_body(rfile, headers):
            spool.write(chunk)
        if "chunked" in headers.get("transfer-encoding", "").lower():
            env["CONTENT_LENGTH"] = str(spool.tell())
    spool.seek(0)
    errors = tempfile.TemporaryFile()
    proc = subprocess.Popen([_backend()], stdin=spool, stdout=subprocess.PIPE, stderr=errors,
                            env=env)
    spool.close()
    assert proc.stdout is not None
    status = 200
    out_headers: list[tuple[str, str]] = []
    while True:
        line = proc.stdout.readline()
        if not line or line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("latin-1").partition(":")
        value = value.strip()
        if name.lower() == "status":
            status = int(value.split()[0])
        else:
            out_headers.append((name.strip(), value))
    return status, out_headers, proc, errors


def copy_body(proc: subprocess.Popen[bytes], wfile: IO[bytes]) -> None:
    assert proc.stdout is not None
    try:
        shutil.copyfileobj(proc.stdout, wfile, 65536)
    finally:
        proc.stdout.close()
        proc.wait()


def branch_refs(app: App, owner: str, repo: str) -> dict[str, str]:
    """ref -> sha of every branch and tag, to tell what a push changed."""
    with app.state.lock:
        rec = app.state.repo(owner, repo)
        if rec is None:
            return {}
        git = app.git(rec)
    return {name: sha for name, sha, _kind in git.refs("refs/heads/") + git.refs("refs/tags/")}


def announce_push(app: App, owner: str, repo: str, before: dict[str, str]) -> None:
    """Tell the push listeners (``App.on_push``) which refs the push changed."""
    after = branch_refs(app, owner, repo)
    updates = [(ref, before.get(ref), after.get(ref)) for ref in sorted(set(before) | set(after))
               if before.get(ref) != after.get(ref)]
    if updates:
        with app.state.lock:
            rec = app.state.repo(owner, repo)
            full_name = rec["full_name"] if rec else f"{owner}/{repo}"
        app.notify_push(full_name, updates)

