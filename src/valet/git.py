"""A thin wrapper over the git command line (the only module that runs git).

Arguments are passed as a list, never through a shell; refs and paths coming
from users are validated by the callers (see valet.refs) before they get here,
and every ref argument is placed after `--` or checked to not start with '-'.
"""

from __future__ import annotations

import base64
import os
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
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


# Who commits when valet writes a commit itself (release commits, git targets).
BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"

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

    def feed(self, args: Sequence[str], chunks: Iterable[bytes]) -> str:
        """Run git with ``chunks`` streamed to its stdin (binary, e.g. fast-import); its stdout."""
        env = dict(os.environ)
        env.update({"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})
        if self.env:
            env.update(self.env)
        with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
            try:
                proc = subprocess.Popen(["git", *args], cwd=self.cwd, env=env,
                                        stdin=subprocess.PIPE, stdout=out, stderr=err)
            except FileNotFoundError:
                raise GitError("git is not installed", hint="install git and re-run") from None
            assert proc.stdin is not None
            try:
                for chunk in chunks:
                    proc.stdin.write(chunk)
                proc.stdin.close()
            except BrokenPipeError:
                pass  # git stopped reading: its exit code and stderr say why
            finally:
                rc = proc.wait()
            err.seek(0)
            out.seek(0)
            if rc != 0:
                message = err.read().decode("utf-8", "replace").strip()
                raise GitError(f"git {' '.join(args[:1])} failed: {message}")
            return out.read().decode("utf-8", "replace")

    def attempt(self, *args: str) -> tuple[int, str, str]:
        """(exit code, stdout, stderr) for a command whose failure the caller reads."""
        proc = self._exec(args)
        return proc.returncode, proc.stdout, proc.stderr

    def blob(self, sha: str) -> bytes:
        """The bytes of one blob (binary-safe, unlike run())."""
        env = dict(os.environ)
        env.update({"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})
        if self.env:
            env.update(self.env)
        proc = subprocess.run(["git", "cat-file", "blob", sha], cwd=self.cwd, env=env,
                              capture_output=True, check=False)
        if proc.returncode != 0:
            raise GitError(f"git cat-file blob {sha[:12]} failed: "
                           f"{proc.stderr.decode('utf-8', 'replace').strip()}")
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
