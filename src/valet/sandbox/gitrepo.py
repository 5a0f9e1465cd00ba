"""Reads and writes on the sandbox's bare repositories with the git CLI.

Every API answer about branches, commits, trees and files is read from here, so
what was pushed with ``git push`` is what the API shows. Writes (contents PUT,
merges, ref updates) are made with plumbing commands and a compare-and-swap
``update-ref`` so they never race a concurrent push silently.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SHA_RE = re.compile(r"^[0-9a-f]{40}$")
_SEP = "\x1f"
_END = "\x1e"
_FORMAT = _SEP.join(["%H", "%T", "%P", "%an", "%ae", "%aI", "%cn", "%ce", "%cI", "%B"]) + _END
ZERO = "0" * 40


class GitFailed(Exception):
    pass


@dataclass
class CommitInfo:
    sha: str
    tree: str
    parents: list[str]
    author_name: str
    author_email: str
    author_date: str
    committer_name: str
    committer_email: str
    committer_date: str
    message: str


@dataclass
class FileChange:
    filename: str
    status: str  # added, removed, modified, renamed
    additions: int
    deletions: int
    sha: str
    previous_filename: str | None = None
    # The unified diff's hunks as GitHub shows them (from the first ``@@``); None for a
    # binary file or a change of mode only, where GitHub shows no ``patch``.
    patch: str | None = None


@dataclass
class Signature:
    name: str
    email: str
    date: str | None = None  # ISO 8601; None: now


def _utc(iso: str) -> str:
    """git's %aI (``2024-01-02T03:04:05+00:00``) as GitHub's ``...Z`` in UTC."""
    from datetime import datetime, timezone

    dt = datetime.fromisoformat(iso).astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def valid_ref_name(name: str) -> bool:
    """A conservative check-ref-format: refuse anything git or a shell could misread."""
    if not name or name.startswith(("-", "/")) or name.endswith(("/", ".", ".lock")):
        return False
    if ".." in name or "//" in name or "@{" in name or name == "@":
        return False
    return not any(c in name for c in " ~^:?*[\\\x7f") and all(ord(c) >= 32 for c in name)


class GitRepo:
    def __init__(self, path: Path) -> None:
        self.path = path

    # -- plumbing ---------------------------------------------------------------

    def _env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update({"GIT_DIR": str(self.path), "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0",
                    "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(self.path)})
        if extra:
            env.update(extra)
        return env

    def run(self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None,
            check: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run(["git", *args], input=input, env=self._env(env),
                              capture_output=True, check=False, cwd=cwd or self.path)
        if check and proc.returncode != 0:
            raise GitFailed(f"git {' '.join(args[:3])}: {proc.stderr.decode(errors='replace').strip()}")
        return proc

    def out(self, *args: str, **kw: object) -> str:
        return self.run(*args, **kw).stdout.decode(errors="replace")  # type: ignore[arg-type]

    # -- set-up -----------------------------------------------------------------

    def init(self, default_branch: str) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.run("init", "--quiet", "--bare", f"--initial-branch={default_branch}", str(self.path))
        self.run("config", "http.receivepack", "true")
        self.run("config", "receive.denyDeleteCurrent", "false")
        self.run("config", "uploadpack.allowAnySHA1InWant", "true")

    def commit_directory(self, src: Path, branch: str, message: str, who: Signature) -> str:
        """Commit every file under ``src`` as the root commit of ``branch``."""
        with tempfile.TemporaryDirectory(prefix="valet-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index"), "GIT_WORK_TREE": str(src)}
            self.run("add", "--all", "--force", ".", env=env, cwd=src)
            tree = self.out("write-tree", env=env).strip()
        sha = self.commit_tree(tree, [], message, who, who)
        self.run("update-ref", f"refs/heads/{branch}", sha, ZERO)
        return sha

    def commit_tree(self, tree: str, parents: list[str], message: str, author: Signature,
                    committer: Signature) -> str:
        env = {"GIT_AUTHOR_NAME": author.name, "GIT_AUTHOR_EMAIL": author.email,
               "GIT_COMMITTER_NAME": committer.name, "GIT_COMMITTER_EMAIL": committer.email}
        if author.date:
            env["GIT_AUTHOR_DATE"] = author.date
        if committer.date:
            env["GIT_COMMITTER_DATE"] = committer.date
        args = ["commit-tree", tree]
        for p in parents:
            args += ["-p", p]
        return self.out(*args, input=message.encode(), env=env).strip()

    # -- refs -------------------------------------------------------------------

    def refs(self, prefix: str = "refs/") -> list[tuple[str, str, str]]:
        """``(refname, object sha, object type)`` under ``prefix``, sorted by name."""
        out = self.out("for-each-ref", "--format=%(refname)%09%(objectname)%09%(objecttype)",
                       "--", prefix)
        rows = []
        for line in out.splitlines():
            name, sha, kind = line.split("\t")
            rows.append((name, sha, kind))
        return rows

    def peeled(self, prefix: str) -> list[tuple[str, str]]:
        """``(short name, commit sha)`` for each ref under ``prefix`` (tags peeled)."""
        out = self.out("for-each-ref", "--format=%(refname)%09%(objectname)%09%(*objectname)",
                       "--", prefix)
        rows = []
        for line in out.splitlines():
            name, sha, peeled = line.split("\t")
            rows.append((name[len(prefix):], peeled or sha))
        return rows

    def ref_sha(self, full_ref: str) -> str | None:
        proc = self.run("rev-parse", "--verify", "--quiet", "--end-of-options", full_ref,
                        check=False)
        sha = proc.stdout.decode().strip()
        return sha if proc.returncode == 0 and SHA_RE.match(sha) else None

    def object_type(self, sha: str) -> str | None:
        proc = self.run("cat-file", "-t", sha, check=False)
        return proc.stdout.decode().strip() if proc.returncode == 0 else None

    def resolve_commit(self, ref: str) -> str | None:
        """A branch, tag, full ref or (abbreviated) sha to a commit sha; None if unknown."""
        m = re.fullmatch(r"(.+?)((?:~\d*|\^\d*)*)", ref or "")
        if not m:
            return None
        name, suffix = m.group(1), m.group(2)
        if name.startswith("-") or not valid_ref_name(name):
            return None
        candidates = [name] if name.startswith("refs/") else [
            f"refs/heads/{name}", f"refs/tags/{name}", name]
        for cand in candidates:
            proc = self.run("rev-parse", "--verify", "--quiet", "--end-of-options",
                            f"{cand}{suffix}^{{commit}}", check=False)
            sha = proc.stdout.decode().strip()
            if proc.returncode == 0 and SHA_RE.match(sha):
                return sha
        return None

    def update_ref(self, ref: str, new: str, old: str | None) -> bool:
        """Compare-and-swap a ref (``old`` None: must not exist yet). False if it moved."""
        proc = self.run("update-ref", ref, new, old or ZERO, check=False)
        return proc.returncode == 0

    def force_ref(self, ref: str, new: str) -> None:
        self.run("update-ref", ref, new)

    def delete_ref(self, ref: str) -> bool:
        return self.run("update-ref", "-d", ref, check=False).returncode == 0

    def head_branch(self) -> str:
        return self.out("symbolic-ref", "--short", "HEAD").strip()

    def set_head(self, branch: str) -> None:
        self.run("symbolic-ref", "HEAD", f"refs/heads/{branch}")

    # -- commits ----------------------------------------------------------------

    def _parse(self, raw: str) -> list[CommitInfo]:
        commits = []
        for rec in raw.split(_END):
            rec = rec.lstrip("\n")
            if not rec:
                continue
            f = rec.split(_SEP)
            commits.append(CommitInfo(
                sha=f[0], tree=f[1], parents=f[2].split() if f[2] else [],
                author_name=f[3], author_email=f[4], author_date=_utc(f[5]),
                committer_name=f[6], committer_email=f[7], committer_date=_utc(f[8]),
                message=f[9].rstrip("\n"),
            ))
        return commits

    def commit(self, sha: str) -> CommitInfo | None:
        if not SHA_RE.match(sha) or self.object_type(sha) != "commit":
            return None
        return self._parse(self.out("log", "-1", f"--format={_FORMAT}", sha, "--"))[0]

    def log(self, rev: str, *, path: str | None = None, skip: int = 0,
            limit: int | None = None, exclude: str | None = None) -> list[CommitInfo]:
        args = ["log", f"--format={_FORMAT}", f"--skip={skip}"]
        if limit is not None:
            args.append(f"--max-count={limit}")
        args.append(rev)
        if exclude:
            args.append(f"^{exclude}")
        args.append("--")
        if path:
            args.append(path)
        return self._parse(self.out(*args))

    def count(self, rev: str, exclude: str | None = None, path: str | None = None) -> int:
        args = ["rev-list", "--count", rev]
        if exclude:
            args.append(f"^{exclude}")
        args.append("--")
        if path:
            args.append(path)
        return int(self.out(*args).strip() or 0)

    def merge_base(self, a: str, b: str) -> str | None:
        proc = self.run("merge-base", a, b, check=False)
        sha = proc.stdout.decode().strip()
        return sha if proc.returncode == 0 and sha else None

    def is_ancestor(self, a: str, b: str) -> bool:
        return self.run("merge-base", "--is-ancestor", a, b, check=False).returncode == 0

    def changes(self, base: str | None, head: str, *, patches: bool = False) -> list[FileChange]:
        """Files changed from ``base`` (None: the first parent / empty tree) to ``head``;
        ``patches``: with each text file's hunks, as GitHub's compare and commit show them."""
        if base is None:
            info = self.commit(head)
            base = info.parents[0] if info and info.parents else self.empty_tree()
        status = self.out("diff-tree", "-r", "-M", "--no-commit-id", "-z", "--raw", base, head)
        numstat = self.out("diff-tree", "-r", "-M", "--no-commit-id", "-z", "--numstat", base, head)
        stats: list[tuple[int, int]] = []
        parts = numstat.split("\0")
        i = 0
        while i < len(parts):
            item = parts[i]
            if not item:
                i += 1
                continue
            cols = item.split("\t")
            add = int(cols[0]) if cols[0].isdigit() else 0
            dele = int(cols[1]) if cols[1].isdigit() else 0
            stats.append((add, dele))
            # A rename has an empty path column followed by two NUL-separated paths.
            i += 3 if len(cols) == 3 and cols[2] == "" else 1
        out: list[FileChange] = []
        fields = status.split("\0")
        i = 0
        n = 0
        while i < len(fields):
            meta = fields[i]
            if not meta.startswith(":"):
                i += 1
                continue
            cols = meta[1:].split(" ")
            new_sha, code = cols[3], cols[4]
            kind = code[0]
            if kind in "RC":
                prev, name = fields[i + 1], fields[i + 2]
                i += 3
            else:
                prev, name = None, fields[i + 1]
                i += 2
            add, dele = stats[n] if n < len(stats) else (0, 0)
            n += 1
            st = {"A": "added", "D": "removed", "M": "modified", "R": "renamed",
                  "C": "copied", "T": "changed"}.get(kind, "modified")
            out.append(FileChange(name, st, add, dele, new_sha if new_sha != ZERO else cols[2],
                                  prev))
        if patches:
            hunks = self._patches(base, head)
            if len(hunks) == len(out):  # one diff per file, in the same order as --raw
                for change, patch in zip(out, hunks, strict=True):
                    change.patch = patch
        return out

    def _patches(self, base: str, head: str) -> list[str | None]:
        """Each file's hunks of ``git diff-tree -p`` (the order of ``--raw``); None where
        git shows none (binary, a mode change, an empty file)."""
        text = self.out("diff-tree", "-r", "-M", "-p", "--no-commit-id", "--no-color",
                        "--no-ext-diff", "--src-prefix=a/", "--dst-prefix=b/", base, head)
        out: list[str | None] = []
        for chunk in re.split(r"^diff --git ", text, flags=re.MULTILINE)[1:]:
            at = re.search(r"^@@ ", chunk, flags=re.MULTILINE)
            out.append(chunk[at.start():].rstrip("\n") if at else None)
        return out

    def empty_tree(self) -> str:
        return self.out("hash-object", "-t", "tree", "-w", "--stdin", input=b"").strip()

    # -- trees and blobs ----------------------------------------------------------

    def ls_tree(self, commit: str, path: str) -> list[tuple[str, str, str, int, str]] | None:
        """``(mode, type, sha, size, name)`` for ``path`` (a directory: its entries)."""
        spec = f"{commit}:{path}" if path else f"{commit}^{{tree}}"
        kind = self.object_type_of(spec)
        if kind is None:
            return None
        if kind == "tree":
            out = self.out("ls-tree", "-z", "--long", spec)
        else:
            parent = path.rsplit("/", 1)[0] if "/" in path else ""
            base = path.rsplit("/", 1)[-1]
            out = self.out("ls-tree", "-z", "--long",
                           f"{commit}:{parent}" if parent else f"{commit}^{{tree}}")
            return [e for e in self._ls(out) if e[4] == base]
        return self._ls(out)

    @staticmethod
    def _ls(out: str) -> list[tuple[str, str, str, int, str]]:
        rows = []
        for entry in out.split("\0"):
            if not entry:
                continue
            meta, name = entry.split("\t", 1)
            mode, kind, sha, size = meta.split()
            rows.append((mode, kind, sha, int(size) if size.isdigit() else 0, name))
        return rows

    def object_type_of(self, spec: str) -> str | None:
        proc = self.run("cat-file", "-t", spec, check=False)
        return proc.stdout.decode().strip() if proc.returncode == 0 else None

    def blob(self, sha: str) -> bytes:
        return self.run("cat-file", "blob", sha).stdout

    def write_file(self, parent: str | None, path: str, content: bytes | None, message: str,
                   author: Signature, committer: Signature) -> str:
        """A new commit on top of ``parent`` with ``path`` set (None: deleted)."""
        with tempfile.TemporaryDirectory(prefix="valet-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if parent:
                self.run("read-tree", parent, env=env)
            if content is None:
                # mode 0 removes the entry (update-index --remove wants a work tree)
                self.run("update-index", "--index-info", env=env,
                         input=f"0 {ZERO}\t{path}\n".encode())
            else:
                blob = self.out("hash-object", "-w", "--stdin", input=content).strip()
                self.run("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
            tree = self.out("write-tree", env=env).strip()
        return self.commit_tree(tree, [parent] if parent else [], message, author, committer)

    def merge(self, base: str, head: str, message: str, who: Signature) -> str | None:
        """A two-parent merge commit of ``head`` into ``base``; None on conflict."""
        proc = self.run("merge-tree", "--write-tree", "--no-messages", base, head, check=False)
        if proc.returncode == 1:
            return None
        if proc.returncode != 0:
            raise GitFailed(proc.stderr.decode(errors="replace"))
        tree = proc.stdout.decode().split("\n", 1)[0].strip()
        return self.commit_tree(tree, [base, head], message, who, who)

    def archive_tag(self, tag: str) -> str | None:
        return self.ref_sha(f"refs/tags/{tag}")

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
