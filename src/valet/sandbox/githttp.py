"""Smart HTTP for the bare repositories: ``git http-backend`` run as a CGI program.

Authentication is GitHub's: HTTP basic with any user name and a token as the
password. Reads need read access (anonymous is fine on a public repo); pushes
need write access. A missing or wrong credential gets a 401 challenge so that
git retries with the credentials from the URL.

Pushes meet the branch's rules as on GitHub: a ``pre-receive`` hook (one script
for every repository, through ``core.hooksPath``) sends the ref updates, with the
pusher and the quarantine holding the pushed objects, back to the sandbox
(``POST /_sandbox/hooks/pre-receive``, signed), which answers with GitHub's
``remote:`` lines (GH006 / GH013 / the Workflows refusal) and the verdict. git
then reports the ref as ``[remote rejected] ... (pre-receive hook declined)``;
GitHub's own wording of that last part differs.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from valet.sandbox import protection
from valet.sandbox.gitrepo import GitRepo
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


_HOOK = """#!{python}
# The sandbox's pre-receive hook: ask the sandbox whether these ref updates may land.
import json, os, sys, urllib.request
updates = [line.split() for line in sys.stdin.read().splitlines() if line.strip()]
env = os.environ
body = json.dumps({{"repo": env["VALET_SANDBOX_REPO"], "login": env.get("VALET_SANDBOX_PUSHER"),
                   "sig": env["VALET_SANDBOX_HOOK_SIG"], "updates": updates,
                   "objects": env.get("GIT_OBJECT_DIRECTORY"),
                   "alternates": env.get("GIT_ALTERNATE_OBJECT_DIRECTORIES")}}).encode()
req = urllib.request.Request(env["VALET_SANDBOX_HOOK_URL"], data=body,
                             headers={{"Content-Type": "application/json"}})
opener = urllib.request.build_opener(urllib.request.ProxyHandler({{}}))
with opener.open(req, timeout=120) as resp:
    answer = json.load(resp)
for line in answer.get("lines", []):
    print(line, file=sys.stderr)
sys.exit(0 if answer.get("ok") else 1)
"""


def hooks_dir(app: App) -> Path:
    """The directory of the one pre-receive hook (written on first use)."""
    path = app.root / "hooks"
    hook = path / "pre-receive"
    if not hook.exists():
        path.mkdir(parents=True, exist_ok=True)
        tmp = hook.with_suffix(".tmp")
        tmp.write_text(_HOOK.format(python=sys.executable))
        tmp.chmod(0o755)
        os.replace(tmp, hook)
    return path


def _hook_sig(app: App, full_name: str, login: str | None) -> str:
    return app.sign(f"pre-receive:{full_name.lower()}:{(login or '').lower()}")


class _Quarantined(GitRepo):
    """The bare repository as the hook sees it: pushed objects are not in it yet."""

    def __init__(self, path: Path, objects: str | None, alternates: str | None) -> None:
        super().__init__(path)
        self._extra = {k: v for k, v in (("GIT_OBJECT_DIRECTORY", objects),
                                         ("GIT_ALTERNATE_OBJECT_DIRECTORIES", alternates)) if v}

    def _env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return super()._env({**self._extra, **(extra or {})})


def pre_receive(app: App, body: dict[str, Any]) -> dict[str, Any]:
    """The hook's question (called with the state lock held): ``{"ok", "lines"}``."""
    full, login = str(body.get("repo") or ""), body.get("login") or None
    owner, _, name = full.partition("/")
    rec = app.state.repo(owner, name)
    if rec is None or not app.check_signature(
            f"pre-receive:{full.lower()}:{(login or '').lower()}", str(body.get("sig") or "")):
        return {"ok": False, "lines": ["error: the sandbox refused an unsigned hook call"]}
    git = _Quarantined(app.git(rec).path, body.get("objects"), body.get("alternates"))
    lines: list[str] = []
    for update in body.get("updates") or []:
        old, new, ref = (list(update) + ["", "", ""])[:3]
        verdict = protection.check(app, rec, git, ref, old, new, login, via="push")
        if not verdict.ok:
            lines += protection.push_lines(verdict, ref, app.urls.server, rec["full_name"])
    return {"ok": not lines, "lines": lines}


def run_backend(app: App, method: str, owner: str, repo: str, rest: str, query: str,
                headers: dict[str, str], rfile: IO[bytes], login: str | None,
                ) -> tuple[int, list[tuple[str, str]], subprocess.Popen[bytes], IO[bytes]]:
    """Start http-backend; returns status, headers and the process whose stdout is the body."""
    with app.state.lock:
        rec = app.state.repo(owner, repo)
        assert rec is not None
        git_dir = app.git(rec).path
        full_name = rec["full_name"]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(app.root),
        "GIT_PROJECT_ROOT": str(git_dir.parent.parent), "GIT_HTTP_EXPORT_ALL": "1",
        "GIT_HTTP_MAX_REQUEST_BUFFER": "200M", "GIT_CONFIG_NOSYSTEM": "1",
        "PATH_INFO": f"/{git_dir.parent.name}/{git_dir.name}/{rest}",
        "REQUEST_METHOD": method, "QUERY_STRING": query, "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_USER": login or "", "CONTENT_TYPE": headers.get("content-type", ""),
        "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1",
        # Every push goes through the sandbox's pre-receive hook (see pre_receive).
        "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "core.hooksPath",
        "GIT_CONFIG_VALUE_0": str(hooks_dir(app)),
        "VALET_SANDBOX_HOOK_URL": f"{app.urls.server}/_sandbox/hooks/pre-receive",
        "VALET_SANDBOX_REPO": full_name, "VALET_SANDBOX_PUSHER": login or "",
        "VALET_SANDBOX_HOOK_SIG": _hook_sig(app, full_name, login),
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

