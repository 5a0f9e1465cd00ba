"""A scene for the git targets' sandbox tests: one org, a publisher, repositories.

The publisher's token is the SDK client's token (what `sdk-token` is on the
publish side); every repository of the scene is created in the org with the
publisher as a writer. Destinations are read back with plain ``git clone``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fixtures.sandbox import make_github, unique
from tests.unit.targets.ctx import make_ctx
from valet.targets.base import TargetContext


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "dev", "GIT_AUTHOR_EMAIL": "dev@valet.invalid",
           "GIT_COMMITTER_NAME": "dev", "GIT_COMMITTER_EMAIL": "dev@valet.invalid"}
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env,
                          check=False)
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


@dataclass
class Scene:
    sb: Any
    org: str
    login: str
    token: str
    sdk: str
    work: Path

    def repo(self, files: dict[str, str | bytes] | None = None, *, prefix: str = "dest",
             default_branch: str = "main") -> str:
        full = f"{self.org}/{unique(prefix)}"
        self.sb.admin.create_repo(full, files=files, default_branch=default_branch)
        self.sb.admin.set_permission(full, self.login, "write")
        return full

    def clone(self, full: str, *, branch: str | None = None) -> Path:
        dest = self.work / unique("clone")
        args = ["clone", "-q"] + (["--branch", branch] if branch else [])
        git(self.work, *args, self.sb.git_url(full, self.token), str(dest))
        return dest

    def push_change(self, full: str, branch: str, edit: Callable[[Path], None],
                    message: str, *, tags: tuple[str, ...] = ()) -> str:
        """Commit ``edit(checkout)`` on ``branch`` as someone else and push it."""
        checkout = self.clone(full, branch=branch)
        edit(checkout)
        git(checkout, "add", "-A")
        git(checkout, "commit", "-q", "--allow-empty", "-m", message)
        for tag in tags:
            git(checkout, "tag", tag)
        git(checkout, "push", "-q", "origin", f"HEAD:refs/heads/{branch}", *tags)
        return git(checkout, "rev-parse", "HEAD").strip()

    def writes(self, full: str) -> list[str]:
        """Every write to ``full`` in the request log: git pushes and non-GET API calls."""
        out = []
        for r in self.sb.admin.request_log():
            path = r.get("full_path") or r["path"]
            if full not in path:
                continue
            if r.get("kind") == "git" and path.endswith("git-receive-pack") \
                    and r["method"] == "POST":
                out.append(f"push {full}")
            elif r.get("kind") != "git" and r["method"] not in ("GET", "HEAD"):
                out.append(f"{r['method']} {r['path']}")
        return out

    def ctx(self, tmp_path: Path, files: list[Path], *, name: str, version: str = "1.2.0",
            options: dict[str, Any] | None = None, include: str | None = None,
            target_id: str | None = None, env: dict[str, str] | None = None,
            changelog: str = "") -> TargetContext:
        gh = make_github(self.sb, self.token)
        return make_ctx(tmp_path, files, name=name, version=version, options=options,
                        include=include, github=gh, repo=self.sdk, target_id=target_id,
                        env=env, changelog=changelog)


def make_scene(sb: Any, work: Path) -> Scene:
    org = unique("acme")
    sb.admin.create_org(org)
    login = unique("publisher")
    sb.admin.create_user(login)
    token = sb.admin.create_token(login)
    sdk = f"{org}/{unique('sdk')}"
    sb.admin.create_repo(sdk, files={"README.md": "sdk\n"})
    sb.admin.set_permission(sdk, login, "write")
    work.mkdir(parents=True, exist_ok=True)
    return Scene(sb, org, login, token, sdk, work)


def artifact(directory: Path, name: str, data: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(data)
    return path
