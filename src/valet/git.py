"""A thin wrapper over the git command line (the only module that runs git).

Arguments are passed as a list, never through a shell; refs and paths coming
from users are validated by the callers (see valet.refs) before they get here,
and every ref argument is placed after `--` or checked to not start with '-'.
"""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from valet import gha
from valet.errors import GitError


@dataclass(frozen=True)
class Commit:
    sha: str
    subject: str
    body: str


_SEP = "\x1f"
_END = "\x1e"


class Git:
    def __init__(self, cwd: str | Path, env: dict[str, str] | None = None) -> None:
        self.cwd = Path(cwd)
        self.env = env

    def _exec(self, args: Sequence[str], input: str | None = None) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        env.update({"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})
        if self.env:
            env.update(self.env)
        try:
            return subprocess.run(["git", *args], cwd=self.cwd, env=env, input=input, text=True,
                                  capture_output=True, check=False)
        except FileNotFoundError:
            raise GitError("git is not installed", hint="install git and re-run") from None

    def run(self, *args: str, check: bool = True, input: str | None = None) -> str:
        proc = self._exec(args, input)
        if check and proc.returncode != 0:
            cmd = " ".join(args[:2])
            raise GitError(f"git {cmd} failed: {proc.stderr.strip() or proc.stdout.strip()}")
        return proc.stdout

    def succeeds(self, *args: str) -> bool:
        """Whether the command exits 0 (for git's yes/no questions, e.g. --is-ancestor)."""
        return self._exec(args).returncode == 0

    # -- queries --------------------------------------------------------------

    def toplevel(self) -> Path:
        return Path(self.run("rev-parse", "--show-toplevel").strip())

    def head_sha(self) -> str:
        return self.run("rev-parse", "HEAD").strip()

    def rev_parse(self, ref: str) -> str | None:
        proc = self._exec(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"])
        return (proc.stdout.strip() or None) if proc.returncode == 0 else None

    def current_branch(self) -> str | None:
        out = self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False).strip()
        return out or None

    def tags(self) -> list[str]:
        return [t for t in self.run("tag", "--list").splitlines() if t]

    def local_branches(self) -> list[str]:
        out = self.run("for-each-ref", "--format=%(refname:short)", "refs/heads/")
        return [b for b in out.splitlines() if b]

    def remote_refs(self, remote: str = "origin") -> dict[str, str]:
        """ref name -> sha on the remote (heads and tags). An unreachable remote is an
        error, not an empty answer: a plan that silently ignored existing remote
        branches would mislead."""
        refs: dict[str, str] = {}
        for line in self.run("ls-remote", "--heads", "--tags", remote).splitlines():
            sha, _, name = line.partition("\t")
            if name and not name.endswith("^{}"):
                refs[name] = sha
        return refs

    def commits(self, rev_range: str, paths: Sequence[str] = ()) -> list[Commit]:
        """Commits in a range, newest first, optionally limited to paths."""
        args = ["log", f"--format=%H{_SEP}%s{_SEP}%b{_END}", rev_range]
        if paths:
            args += ["--", *paths]
        out = self.run(*args)
        commits = []
        for record in out.split(_END):
            record = record.strip("\n")
            if not record:
                continue
            sha, subject, body = (record.split(_SEP) + ["", ""])[:3]
            commits.append(Commit(sha=sha.strip(), subject=subject, body=body.strip()))
        return commits


def auth_env(remote_url: str, token: str | None) -> dict[str, str]:
    """Git config, via the environment of one git process, that authenticates HTTPS
    to the remote's host. Nothing reaches argv or .git/config; an empty value first
    resets any header persisted by actions/checkout (two Authorization headers fail)."""
    parsed = urlparse(remote_url)
    if not token or parsed.scheme not in ("http", "https") or not parsed.netloc:
        return {}
    gha.add_mask(token)
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    gha.add_mask(basic)
    host = parsed.netloc.rsplit("@", 1)[-1]
    key = f"http.{parsed.scheme}://{host}/.extraheader"
    return {
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": key,
        "GIT_CONFIG_VALUE_0": "",
        "GIT_CONFIG_KEY_1": key,
        "GIT_CONFIG_VALUE_1": f"AUTHORIZATION: basic {basic}",
    }
