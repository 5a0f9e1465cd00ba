"""Small helpers shared by the sandbox tests."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False,
                          env=None)
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def git_rc(cwd: Path, *args: str) -> tuple[int, str]:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def clone(url: str, dest: Path) -> Path:
    git(dest.parent, "clone", "-q", url, str(dest))
    return dest


def commit_file(repo: Path, path: str, content: str, message: str) -> str:
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)
    git(repo, "add", path)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def tagged_sdk_clone(sandbox: Any, gh_repo_factory: Any, dest: Path,
                     files: dict[str, str]) -> tuple[Any, Path]:
    """An SDK repo on the sandbox tagged 1.2.3 plus `feat: add a` and `fix: repair b`,
    cloned to ``dest`` with a token-free origin URL (the token reaches git only
    through env, as in the prepare action)."""
    repo = gh_repo_factory(files)
    git(dest.parent, "clone", "-q", repo.clone_url, str(dest))
    git(dest, "config", "user.name", "dev")
    git(dest, "config", "user.email", "dev@valet.invalid")
    git(dest, "tag", "1.2.3")
    for name, msg in (("a.txt", "feat: add a"), ("b.txt", "fix: repair b")):
        (dest / name).write_text(name)
        git(dest, "add", name)
        git(dest, "commit", "-q", "-m", msg)
    git(dest, "push", "-q", "origin", "main", "--tags")
    git(dest, "remote", "set-url", "origin", sandbox.git_url(repo.full_name))
    return repo, dest
