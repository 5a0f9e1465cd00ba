"""Real git repositories in tmp, made with the git CLI (no network)."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

PYPROJECT = '[project]\nname = "demo"\nversion = "1.2.3"\n'


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


def commit_file(repo: Path, rel: str, text: str, message: str) -> None:
    path = repo / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    git(repo, "add", rel)
    git(repo, "commit", "-q", "-m", message)


def snapshot(repo: Path) -> dict[str, object]:
    """Everything a dry run must leave alone: status, refs, and the bytes of every file
    (work tree and .git, index included)."""
    files = {}
    for p in sorted(repo.rglob("*")):
        if p.is_file():
            files[p.relative_to(repo).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return {
        "status": git(repo, "status", "--porcelain=v1", "--untracked-files=all"),
        "refs": git(repo, "for-each-ref"),
        "head": git(repo, "symbolic-ref", "-q", "HEAD"),
        "files": files,
    }


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Path]:
    """A repo on `main` tagged 1.2.3, then `feat: add a` and `fix: repair b`."""

    def make(config: str | None = None, *, origin: bool = False, tag: str = "1.2.3",
             extra: dict[str, str] | None = None) -> Path:
        repo = tmp_path / "repo"
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        git(repo, "config", "user.name", "tester")
        git(repo, "config", "user.email", "tester@valet.invalid")
        commit_file(repo, "pyproject.toml", PYPROJECT, "chore: initial")
        if config is not None:
            commit_file(repo, ".valet.yml", config, "chore: valet config")
        for rel, text in (extra or {}).items():
            commit_file(repo, rel, text, f"chore: add {rel}")
        git(repo, "tag", tag)
        commit_file(repo, "a.txt", "a\n", "feat: add a")
        commit_file(repo, "b.txt", "b\n", "fix: repair b")
        if origin:
            bare = tmp_path / "origin.git"
            git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
            git(repo, "remote", "add", "origin", str(bare))
            git(repo, "push", "-q", "origin", "main", "--tags")
            git(repo, "fetch", "-q", "origin")
        return repo

    return make
