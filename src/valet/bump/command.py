"""The project's own pre-release (or post-release) command, run without secrets.

The command line comes from the config; it is split like a shell would split
it (shlex) but no shell runs it, so nothing in it is expanded or chained. Old and
new version are appended as the last two arguments (craft's convention) and
exported as CRAFT_OLD_VERSION / CRAFT_NEW_VERSION. The environment is built
from nothing: PATH, HOME and LANG from ours, the two versions, and no token,
no GITHUB_* and no INPUT_* variable.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Mapping
from pathlib import Path

from valet import gha
from valet.errors import BuildError, ConfigError

PASSED_THROUGH = ("PATH", "HOME", "LANG")
TAIL_LINES = 30
DEFAULT_TIMEOUT = 30 * 60.0


def minimal_env(base: Mapping[str, str], old: str | None, new: str) -> dict[str, str]:
    env = {k: base[k] for k in PASSED_THROUGH if k in base}
    env.setdefault("PATH", os.defpath)
    env["CRAFT_OLD_VERSION"] = old or ""
    env["CRAFT_NEW_VERSION"] = new
    return env


def command_argv(command: str, old: str | None, new: str) -> list[str]:
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ConfigError(f"the pre-release command {command!r} cannot be split: {exc}",
                          hint="balance the quotes in pre_release_command") from None
    if not argv:
        raise ConfigError("the pre-release command is empty",
                          hint="remove pre_release_command or give it a command line")
    return [*argv, old or "", new]


def run_pre_release_command(command: str, old: str | None, new: str, cwd: Path, *,
                            timeout: float = DEFAULT_TIMEOUT,
                            base_env: Mapping[str, str] | None = None) -> None:
    argv = command_argv(command, old, new)
    env = minimal_env(os.environ if base_env is None else base_env, old, new)
    try:
        proc = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout, check=False)
    except FileNotFoundError:
        raise BuildError(f"the pre-release command {argv[0]!r} was not found",
                         hint="install it in an earlier workflow step, or fix "
                              "pre_release_command") from None
    except PermissionError:
        raise BuildError(f"the pre-release command {argv[0]!r} is not executable",
                         hint="make the script executable, or run it through its "
                              "interpreter (e.g. bash scripts/bump.sh)") from None
    except subprocess.TimeoutExpired:
        raise BuildError(f"the pre-release command did not finish within {timeout:.0f}s",
                         hint="make it faster, or check that it does not wait for input"
                         ) from None
    output = proc.stdout.decode("utf-8", "replace")
    if output.strip():
        gha.print_untrusted(output)  # its lines must not act as workflow commands
    if proc.returncode != 0:
        tail = "\n".join(output.rstrip("\n").splitlines()[-TAIL_LINES:])
        raise BuildError(
            f"the pre-release command failed with exit code {proc.returncode}: "
            f"{shlex.join(argv)}" + (f"\n--- last lines of its output ---\n{tail}" if tail else ""),
            hint="run it locally with the same two version arguments and fix it")


# -- the bump job's output: what the command changed, and only that -----------------------
#
# The command runs in a job that holds no token (`valet bump`); the prepare job, which
# holds one, applies its changes. What crosses between them is data: bump.json names
# each changed file with its sha256, files/<path> holds its new content. The prepare job
# re-checks everything (version, base commit, every path against the files the config
# names, every digest) before it writes a byte, and refuses any other path.

BUMP_JSON = "bump.json"
BUMP_FILES = "files"
MAX_BUMP_FILE = 10 * 1024 * 1024
# Never taken from a bump command, even when listed: what would change how the release
# is made or reviewed, and the changelog valet writes itself.
PROTECTED_PARTS = {".git", ".github"}
PROTECTED_NAMES = {".gitmodules", ".valet.yml", ".craft.yml"}


def _safe_rel(rel: object) -> str:
    from pathlib import PurePosixPath

    if not isinstance(rel, str) or not rel or "\\" in rel or "\0" in rel:
        raise BuildError(f"the bump job names an invalid path {rel!r}")
    p = PurePosixPath(rel)
    if p.is_absolute() or ".." in p.parts or p.as_posix() != rel:
        raise BuildError(f"the bump job names a path outside the repository: {rel!r}")
    return rel


def allowed_paths(config: object, project: str) -> set[str] | None:
    """Repo-relative paths a pre-release command may change: the config's bump_files, or
    None when it names none (then any file tracked in the project, minus protected ones)."""
    from pathlib import PurePosixPath

    files = list(getattr(config, "bump_files", []) or [])
    if not files:
        return None
    base = PurePosixPath(project or ".")
    return {(base / f).as_posix() if project not in ("", ".") else PurePosixPath(f).as_posix()
            for f in files}


def check_bump_path(rel: str, *, allowed: set[str] | None, project: str,
                    changelog_file: str | None, tracked: bool) -> None:
    """Refuse a change the prepare job must not commit, naming the path and the fix."""
    from pathlib import PurePosixPath

    p = PurePosixPath(_safe_rel(rel))
    if set(p.parts) & PROTECTED_PARTS or p.name in PROTECTED_NAMES \
            or (changelog_file and rel == changelog_file):
        raise BuildError(f"the pre-release command changed {rel}, which valet never takes from "
                         "it (workflows, git metadata, valet's config and the changelog)",
                         hint="make the command change only the version files")
    if allowed is not None:
        if rel not in allowed:
            raise BuildError(
                f"the pre-release command changed {rel}, which bump_files does not name",
                hint="only the files listed in bump_files are committed: list this file "
                f"there if the release commit should change it ({sorted(allowed)} now)")
    elif project not in ("", ".") and not rel.startswith(project.rstrip("/") + "/"):
        raise BuildError(f"the pre-release command changed {rel}, outside the project "
                         f"directory {project}",
                         hint="list the files it may change in bump_files")
    if not tracked:
        raise BuildError(f"the pre-release command created or deleted {rel}: only changes to "
                         "files already in the repository are committed",
                         hint="commit the file first, or make the command only edit files")


def write_bump_output(out_dir: Path, *, version: str, base_sha: str,
                      files: Mapping[str, bytes]) -> Path:
    import hashlib
    import json

    (out_dir / BUMP_FILES).mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        target = out_dir / BUMP_FILES / _safe_rel(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    manifest = {"v": 1, "version": version, "base_sha": base_sha,
                "files": {rel: hashlib.sha256(data).hexdigest()
                          for rel, data in sorted(files.items())}}
    (out_dir / BUMP_JSON).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n",
                                     encoding="utf-8")
    return out_dir


def bump_output_files(out_dir: Path) -> list[str]:
    """The paths a bump job's output lists (unchecked: read_bump_output checks them);
    a directory that is no bump output lists the one entry "?"."""
    import json

    try:
        meta = json.loads((out_dir / BUMP_JSON).read_text(encoding="utf-8"))
        files = meta["files"]
    except (OSError, ValueError, TypeError, KeyError):
        return ["?"]
    return [str(k) for k in files] if isinstance(files, dict) else ["?"]


def read_bump_output(out_dir: Path, root: Path, config: object, version: str, base_sha: str,
                     *, project: str, changelog_file: str | None = None) -> dict[str, bytes]:
    """The bump job's changes, checked: repo-relative path -> new content."""
    import hashlib
    import json
    import re

    from valet.git import Git

    meta_path = out_dir / BUMP_JSON
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BuildError(f"cannot read the bump job's {BUMP_JSON} in {out_dir}: {exc}",
                         hint="download the bump job's artifact into that directory") from None
    if not isinstance(meta, dict) or set(meta) != {"v", "version", "base_sha", "files"} \
            or meta["v"] != 1 or not isinstance(meta["files"], dict):
        raise BuildError(f"the bump job's {BUMP_JSON} is not one valet wrote")
    if meta["version"] != version:
        raise BuildError(f"the bump job bumped to {meta['version']!r}, this run releases "
                         f"{version!r}", hint="give both jobs the same version input; "
                         "with auto or calver, re-run the workflow")
    if meta["base_sha"] != base_sha:
        raise BuildError(f"the bump job started from {str(meta['base_sha'])[:12]}, the merge "
                         f"target is now at {base_sha[:12]}",
                         hint="the merge target moved between the two jobs: re-run the workflow")
    git = Git(root)
    allowed = allowed_paths(config, project)
    listed: dict[str, bytes] = {}
    for rel, digest in meta["files"].items():
        if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise BuildError(f"the bump job's digest for {rel!r} is not a sha256")
        tracked = git.succeeds("cat-file", "-e", f"{base_sha}:{_safe_rel(rel)}")
        check_bump_path(rel, allowed=allowed, project=project, changelog_file=changelog_file,
                        tracked=tracked)
        path = out_dir / BUMP_FILES / rel
        if path.is_symlink() or not path.is_file():
            raise BuildError(f"the bump job's artifact lacks {rel}")
        if path.stat().st_size > MAX_BUMP_FILE:
            raise BuildError(f"the bump job's {rel} is larger than {MAX_BUMP_FILE} bytes")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            raise BuildError(f"the bump job's {rel} differs from its digest in {BUMP_JSON}")
        listed[rel] = data
    root_files = out_dir / BUMP_FILES
    extra = sorted(p.relative_to(root_files).as_posix() for p in root_files.rglob("*")
                   if not p.is_dir() and p.relative_to(root_files).as_posix() not in listed) \
        if root_files.is_dir() else []
    if extra:
        raise BuildError(f"the bump job's artifact holds files {BUMP_JSON} does not list: "
                         + ", ".join(extra))
    return listed
