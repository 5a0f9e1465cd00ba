"""A GitHub repository a git target writes to: fetch, read, build a commit, push.

Shared by registry, gh-pages, commit-on-git-repository and upm. The local side
is a private bare repository under the target's workdir; nothing is checked
out and nothing from the artifacts is written to disk: ``build`` streams the
entries straight into ``git fast-import``. The token reaches git only through
the environment of each git process (``valet.git.auth_env``), never argv or
``.git/config``, and only for the GitHub server's host.

Which token: the target's own ``<NAME>_GITHUB_TOKEN`` variable when the publish
step sets it (``REGISTRY_GITHUB_TOKEN``, ``GH_PAGES_GITHUB_TOKEN``, ...), else the
token of the SDK client (the ``sdk-token`` input).

Pushes are plain fast-forwards, never forced: when the branch moved meanwhile
the push is rejected, and the target looks again (someone may have published
the same thing) before it builds a new commit on the new tip.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from valet import gha
from valet.archive import Entry
from valet.errors import GitError, TargetError
from valet.git import BOT_EMAIL, BOT_NAME, Git, auth_env
from valet.github_client import server_url
from valet.refs import is_valid_ref_name
from valet.targets.base import Destination, TargetContext, host_of

REPO_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
HISTORY_DEPTH = 50  # commits read back when looking for an earlier commit of ours
PUSH_ATTEMPTS = 5
_builds = itertools.count(1)
T = TypeVar("T")


def token_var(target_name: str) -> str:
    """The environment variable that holds this target's own token, e.g. BREW_GITHUB_TOKEN."""
    return re.sub(r"[^A-Z0-9]", "_", target_name.upper()) + "_GITHUB_TOKEN"


def destination_token(ctx: TargetContext, target_name: str) -> str | None:
    """The target's own token if the publish step sets one, else the SDK client's token."""
    own = ctx.env.get(token_var(target_name))
    if own:
        gha.add_mask(own)
        return str(own)
    auth = getattr(getattr(ctx.github, "requester", None), "auth", None)
    token = getattr(auth, "token", None)
    return str(token) if token else None


def require_token(ctx: TargetContext, target_name: str, repo: str) -> str:
    token = destination_token(ctx, target_name)
    if not token:
        var = token_var(target_name)
        raise TargetError(
            f"{ctx.key}: no token to write {repo}",
            hint=f"pass `sdk-token` (a GitHub App token whose installation covers {repo}, with "
                 f"contents: write), or set {var} in the publish step's env:\n"
                 "      - uses: OWNER/valet/action-publish@v1\n"
                 "        env:\n"
                 f"          {var}: ${{{{ secrets.{var} }}}}")
    return token


def git_host(ctx: TargetContext) -> Destination:
    """The host git pushes go to (the GitHub server), for ``destinations``."""
    from valet.github_client import DEFAULT_SERVER_URL

    return Destination("host", host_of(ctx.env.get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL))


def api_host(ctx: TargetContext) -> Destination:
    """The host of the GitHub API a target writes through, for ``destinations``."""
    from valet.github_client import DEFAULT_API_URL

    return Destination("host", host_of(ctx.env.get("GITHUB_API_URL") or DEFAULT_API_URL))


def check_repo(key: str, value: Any, what: str) -> str:
    if not isinstance(value, str) or not REPO_RE.fullmatch(value) or \
            value.split("/")[1] in (".", ".."):
        raise TargetError(f"{key}: {what} {value!r} is not a GitHub owner/name",
                          hint=f"set {what} to the repository as owner/name, e.g. acme/docs")
    return value


def check_branch(key: str, value: Any, what: str = "branch") -> str:
    if not isinstance(value, str) or not is_valid_ref_name(value):
        raise TargetError(f"{key}: {what} {value!r} is not a valid branch name",
                          hint="use a plain branch name such as main or gh-pages")
    return value


@dataclass(frozen=True)
class LogEntry:
    sha: str
    subject: str
    tree: str


class RemoteRepo:
    """One GitHub repository, mirrored shallowly into a private bare repository."""

    def __init__(self, full_name: str, token: str | None, workdir: Path, *, key: str) -> None:
        self.full_name = full_name
        self.key = key
        self.url = f"{server_url()}/{full_name}.git"
        path = workdir / "git" / re.sub(r"[^A-Za-z0-9._-]", "_", full_name)
        env = {**auth_env(self.url, token),
               "GIT_AUTHOR_NAME": BOT_NAME, "GIT_AUTHOR_EMAIL": BOT_EMAIL,
               "GIT_COMMITTER_NAME": BOT_NAME, "GIT_COMMITTER_EMAIL": BOT_EMAIL}
        if not (path / "HEAD").is_file():
            path.mkdir(parents=True, exist_ok=True)
            Git(path).run("init", "-q", "--bare")
            Git(path).run("remote", "add", "origin", self.url)
        self.git = Git(path, env=env)
        self._refs: dict[str, str] | None = None
        self._trees: dict[int, tuple[list[Entry], str]] = {}  # the list is kept: its id stays

    # -- reading the remote -----------------------------------------------------

    def refs(self, *, fresh: bool = False) -> dict[str, str]:
        """ref -> sha on the remote (heads and tags; annotated tags peeled to their commit)."""
        if self._refs is None or fresh:
            out = self._remote("ls-remote", "--heads", "--tags", "origin")
            refs: dict[str, str] = {}
            for line in out.splitlines():
                sha, _, name = line.partition("\t")
                if name.endswith("^{}"):
                    refs[name[:-3]] = sha  # the peeled commit wins over the tag object
                elif name and name not in refs:
                    refs[name] = sha
            self._refs = refs
        return self._refs

    def default_branch(self) -> str | None:
        out = self._remote("ls-remote", "--symref", "origin", "HEAD")
        for line in out.splitlines():
            if line.startswith("ref: ") and line.endswith("\tHEAD"):
                return line[5:-5].removeprefix("refs/heads/")
        return None

    def fetch_branch(self, branch: str, *, depth: int = HISTORY_DEPTH) -> str | None:
        """The tip of the remote branch, fetched with ``depth`` commits (None: no such branch)."""
        tip = self.refs(fresh=True).get(f"refs/heads/{branch}")
        if tip is None:
            return None
        self._remote("fetch", "-q", "--no-tags", f"--depth={depth}", "origin",
                     f"+refs/heads/{branch}:refs/remotes/origin/{branch}")
        return self.git.rev_parse(f"refs/remotes/origin/{branch}")

    def fetch_tag(self, tag: str) -> str | None:
        """The commit a remote tag points at, fetched (None: no such tag)."""
        if f"refs/tags/{tag}" not in self.refs():
            return None
        self._remote("fetch", "-q", "--no-tags", "--depth=1", "origin",
                     f"+refs/tags/{tag}:refs/tags/{tag}")
        return self.git.rev_parse(f"refs/tags/{tag}")

    # -- reading fetched objects ------------------------------------------------

    def tree(self, commit: str) -> str:
        return self.git.run("rev-parse", f"{commit}^{{tree}}").strip()

    def entry(self, commit: str, path: str) -> tuple[str, str] | None:
        """(mode, blob sha) of a path in a commit, None when absent."""
        out = self.git.run("ls-tree", "-z", commit, "--", path)
        for record in out.split("\0"):
            meta, _, name = record.partition("\t")
            if name == path:
                mode, _kind, sha = meta.split()
                return mode, sha
        return None

    def read(self, commit: str, path: str) -> bytes | None:
        """The bytes of a file (a symlink's target text) in a commit, None when absent."""
        found = self.entry(commit, path)
        if found is None:
            return None
        return self.git.blob(found[1])

    def log(self, commit: str, limit: int = HISTORY_DEPTH) -> list[LogEntry]:
        out = self.git.run("log", f"-{limit}", "--format=%H%x1f%T%x1f%s", commit)
        entries = []
        for line in out.splitlines():
            sha, tree, subject = (line.split("\x1f") + ["", ""])[:3]
            entries.append(LogEntry(sha, subject, tree))
        return entries

    # -- writing --------------------------------------------------------------------

    def build(self, message: str, entries: Iterable[Entry], *, parent: str | None,
              replace: bool) -> str:
        """A new commit on ``parent`` (None: a root commit) holding ``entries``: in place of
        the parent's whole tree when ``replace``, else on top of it. Local only."""
        ref = f"refs/valet/build-{next(_builds)}"
        self.git.feed(["fast-import", "--quiet", "--date-format=raw", "--done"],
                      _stream(ref, message, entries, parent=parent, replace=replace))
        sha = self.git.rev_parse(ref)
        if sha is None:
            raise GitError(f"{self.key}: git fast-import wrote no commit")
        return sha

    def tree_of(self, entries: list[Entry]) -> str:
        """The git tree ``entries`` make on their own (built locally once per list)."""
        key = id(entries)
        if key not in self._trees:
            commit = self.build("tree", entries, parent=None, replace=True)
            self._trees[key] = (entries, self.tree(commit))
        return self._trees[key][1]

    def push(self, updates: dict[str, str]) -> bool:
        """Push ``ref -> sha`` atomically, never forced. False when the remote moved (a
        fast-forward or tag creation was rejected): look again and retry."""
        specs = [f"{sha}:{ref}" for ref, sha in updates.items()]
        rc, proc_out, err = self.git.attempt("push", "--atomic", "--porcelain", "origin", *specs)
        if rc == 0:
            self._refs = None
            return True
        lines = [line for line in proc_out.splitlines() if line.startswith("!")]
        if lines and all("[remote rejected]" not in line for line in lines):
            self._refs = None
            return False
        detail = "; ".join(lines) or err.strip()
        raise GitError(f"{self.key}: pushing to {self.full_name} failed: {detail}",
                       hint=f"check that the token can push to {self.full_name} (contents: "
                            "write) and that no branch protection rule refuses the push")

    # -- plumbing ---------------------------------------------------------------

    def _remote(self, *args: str) -> str:
        try:
            return self.git.run(*args)
        except GitError as exc:
            raise GitError(f"{self.key}: {exc.message} ({self.full_name})",
                           hint=f"check that {self.full_name} exists and that the token can "
                                "read it") from None


def quote_path(path: str) -> bytes:
    """A path in git's C-style quotes (fast-import accepts it everywhere)."""
    out = bytearray(b'"')
    for byte in path.encode("utf-8"):
        if byte in (0x22, 0x5C):
            out += b"\\" + bytes([byte])
        elif byte == 0x0A:
            out += b"\\n"
        elif byte < 0x20 or byte == 0x7F:
            out += f"\\{byte:03o}".encode()
        else:
            out.append(byte)
    out += b'"'
    return bytes(out)


def _stream(ref: str, message: str, entries: Iterable[Entry], *, parent: str | None,
            replace: bool) -> Iterator[bytes]:
    now = int(time.time())
    who = f"{BOT_NAME} <{BOT_EMAIL}> {now} +0000".encode()
    msg = message.encode("utf-8")
    yield b"feature done\n"
    yield b"commit " + ref.encode() + b"\n"
    yield b"author " + who + b"\ncommitter " + who + b"\n"
    yield b"data %d\n" % len(msg) + msg + b"\n"
    if parent:
        yield b"from " + parent.encode() + b"\n"
    if replace:
        yield b"deleteall\n"
    for entry in entries:
        yield b"M " + entry.mode.encode() + b" inline " + quote_path(entry.path) + b"\n"
        yield b"data %d\n" % len(entry.data)
        yield entry.data
        yield b"\n"
    yield b"\ndone\n"


def push_with_retry(attempt: Callable[[], T | None], *, key: str, repo: str) -> T:
    """Call ``attempt()`` until it returns something other than None (None: the push was
    rejected because the remote moved); a TargetError after PUSH_ATTEMPTS tries."""
    for n in range(PUSH_ATTEMPTS):
        result = attempt()
        if result is not None:
            return result
        gha.info(f"{key}: {repo} moved while publishing; looking again ({n + 1}/{PUSH_ATTEMPTS})")
    raise TargetError(f"{key}: {repo} kept moving; gave up after {PUSH_ATTEMPTS} attempts",
                      hint="add `accepted` again to retry: what is already there is found and "
                           "kept")
