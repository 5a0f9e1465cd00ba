"""Run the configured build commands and collect the artifacts they produce.

The build commands come from the project's own config, so a string command
runs through `bash -c`. Values valet computed — the version, the branch — are
never spliced into that string: they reach the command as environment
variables (VALET_VERSION, ...).

Where the build runs decides what it can reach. In the release workflow it
runs in a job of its own that holds no token (`valet build`); filtering the
environment below is only a second line for the rehearsal mode, where the
build runs beside a token: a child process can read its parent's environment
and memory, so nothing here makes that mode safe, and the request says so.

The build runs with the job's own tools: valet's runtime venv (named by
VALET_RUNTIME_BIN, set by scripts/setup-runtime.sh) is taken off its PATH, so
`python -m build` finds the Python the workflow set up, not valet's.

Only what the build itself wrote counts: files matching the artifact globs
that were there before it ran and were not rewritten (a gitignored `dist/`
from an earlier release) are left out, and every package file's name must
carry the release's version (see valet.artifact_names).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from valet import gha
from valet.errors import ArtifactError, BuildError, ConfigError, UsageError
from valet.manifest import MANIFEST_NAME, validate_name

# Variables a build never needs and must not see: our token (passed as an
# action input), the runner's job tokens, OIDC request credentials, and any
# git config injected for an authenticated push.
_SECRET_ENV_EXACT = {
    "GITHUB_TOKEN", "GH_TOKEN", "ACTIONS_RUNTIME_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_URL", "VALET_GITHUB_TOKEN",
}
_SECRET_ENV_PREFIX = ("INPUT_", "GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_")
# valet's own runtime: never the build's Python.
RUNTIME_BIN_ENV = "VALET_RUNTIME_BIN"
_RUNTIME_ENV = {RUNTIME_BIN_ENV, "VALET_BIN", "VIRTUAL_ENV", "PYTHONHOME"}

Command = str | Sequence[str]


def _without_runtime(path: str, runtime_bin: str | None) -> str:
    if not runtime_bin:
        return path
    drop = os.path.realpath(runtime_bin)
    kept = [p for p in path.split(os.pathsep) if p and os.path.realpath(p) != drop]
    return os.pathsep.join(kept)


def build_env(base: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """The build's environment: the process env minus tokens and minus valet's runtime
    venv, plus valet's values."""
    env = {
        k: v for k, v in base.items()
        if k not in _SECRET_ENV_EXACT and not k.startswith(_SECRET_ENV_PREFIX)
        and k not in ("GIT_CONFIG_COUNT", "GIT_CONFIG_PARAMETERS")
        and (k not in _RUNTIME_ENV or not base.get(RUNTIME_BIN_ENV))
    }
    if "PATH" in env:
        env["PATH"] = _without_runtime(env["PATH"], base.get(RUNTIME_BIN_ENV))
    env.update(extra)
    return env


def _child_stdout() -> IO[str] | None:
    """Where a child's output goes: our stdout as it is now (stderr while `--json`
    keeps stdout for the JSON alone), or inherited when it has no file descriptor."""
    try:
        sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    return sys.stdout


def describe(command: Command) -> str:
    return command if isinstance(command, str) else " ".join(command)


def run_build(commands: Sequence[Command], cwd: Path, *, values: Mapping[str, str],
              base_env: Mapping[str, str] | None = None,
              timeout: float | None = None) -> None:
    """Run each command in order in `cwd`; the first failure is a BuildError."""
    env = build_env(os.environ if base_env is None else base_env, values)
    if timeout is None and os.environ.get("VALET_BUILD_TIMEOUT"):
        timeout = float(os.environ["VALET_BUILD_TIMEOUT"])
    for index, command in enumerate(commands, start=1):
        argv = ["bash", "-c", command] if isinstance(command, str) else list(command)
        if not argv or not all(isinstance(a, str) for a in argv):
            raise ConfigError(f"build command #{index} is empty or not a list of strings")
        label = f"build {index}/{len(commands)}: {describe(command)}"
        with gha.group(label):
            # Build output is the project's text: keep it from acting as workflow commands.
            fence = secrets.token_hex(16) if gha.on_github() else None
            if fence:
                sys.stdout.write(f"::stop-commands::{fence}\n")
            sys.stdout.flush()
            try:
                proc = subprocess.run(argv, cwd=cwd, env=env, check=False, timeout=timeout,
                                      stdin=subprocess.DEVNULL, stdout=_child_stdout())
            except FileNotFoundError:
                raise BuildError(
                    f"build command #{index} could not start: {argv[0]!r} was not found",
                    hint="install the tool in an earlier workflow step, or fix `build` in the config",
                ) from None
            except subprocess.TimeoutExpired:
                raise BuildError(
                    f"build command #{index} ({describe(command)}) timed out after {timeout:.0f}s",
                    hint="make the build faster or raise VALET_BUILD_TIMEOUT",
                ) from None
            finally:
                if fence:
                    sys.stdout.write(f"::{fence}::\n")
                    sys.stdout.flush()
        if proc.returncode != 0:
            raise BuildError(
                f"build command #{index} ({describe(command)}) exited with status {proc.returncode}",
                hint="see the build output above; nothing was uploaded",
            )


def _check_glob(pattern: str) -> str:
    if not isinstance(pattern, str) or not pattern.strip():
        raise ConfigError("an artifact glob is empty")
    if pattern.startswith(("/", "~")) or ".." in Path(pattern).parts:
        raise ConfigError(
            f"artifact glob {pattern!r} points outside the project",
            hint="artifact globs are relative to the project directory, e.g. dist/*",
        )
    return pattern


Stamp = tuple[int, int, int, int]  # (st_dev, st_ino, st_ctime_ns, st_size)


def _stamp(path: Path) -> Stamp:
    st = path.stat()
    return (st.st_dev, st.st_ino, st.st_ctime_ns, st.st_size)


def _matches(base: Path, globs: Sequence[str]) -> list[Path]:
    out: list[Path] = []
    for pattern in globs:
        for path in sorted(base.glob(_check_glob(pattern))):
            if path.is_symlink() or not path.is_file():
                continue
            if base not in path.resolve().parents:
                continue
            out.append(path)
    return out


def snapshot(base: Path, globs: Sequence[str]) -> dict[Path, Stamp]:
    """What the artifact globs match before the build: a file still carrying the same
    stamp afterwards was not written by the build (a rename, copy or rewrite changes
    the inode or the ctime)."""
    base = base.resolve()
    return {p.resolve(): _stamp(p) for p in _matches(base, globs)}


def collect_artifacts(base: Path, globs: Sequence[str],
                      require_names: Sequence[re.Pattern[str]] = (), *,
                      before: Mapping[Path, Stamp] | None = None) -> list[Path]:
    """Regular files matched by the globs (relative to base), sorted by name.

    With ``before`` (a `snapshot` taken before the build) a file the build did not
    write is left out, with a notice. No file at all, or a `require_names` pattern
    that no file matches, is an ArtifactError raised before anything is uploaded.
    """
    base = base.resolve()
    if not globs and not require_names:
        return []  # `artifacts: []` in the config: this release ships no files on purpose
    found: dict[str, Path] = {}
    stale: list[str] = []
    for path in _matches(base, globs):
        resolved = path.resolve()
        if path.name == MANIFEST_NAME:
            continue  # a manifest left from an earlier run is not an artifact
        if before is not None and before.get(resolved) == _stamp(path):
            stale.append(resolved.relative_to(base).as_posix())
            continue
        validate_name(path.name)
        previous = found.get(path.name)
        if previous is not None and previous != resolved:
            raise ArtifactError(
                f"two files are named {path.name}: {previous.relative_to(base)} and "
                f"{resolved.relative_to(base)}",
                hint="artifact names must be unique: narrow the artifact globs",
            )
        found[path.name] = resolved
    if stale:
        gha.notice(f"left out {len(stale)} file(s) the build did not write (there before it "
                   f"ran, unchanged): {', '.join(sorted(stale))}")
    if not found:
        raise ArtifactError(
            f"the build produced no artifact matching {', '.join(globs) or '(no globs)'} "
            f"under {base}",
            hint="check the `build` commands and the `artifacts` globs in the config",
        )
    names = sorted(found)
    missing = [p.pattern for p in require_names if not any(p.search(n) for n in names)]
    if missing:
        raise ArtifactError(
            "no artifact matches the required name pattern(s) "
            + ", ".join(f"'{m}'" for m in missing)
            + f" (artifacts: {', '.join(names)})",
            hint="the build did not produce every required file: fix the build, or update "
            "`require_names` in the config (`requireNames` in a .craft.yml)",
        )
    return [found[n] for n in names]


def fresh_out_dir(out_dir: Path | None, prefix: str) -> Path:
    """A new, empty directory for the build's files (``out_dir`` must be new or empty)."""
    import tempfile

    if out_dir is None:
        return Path(tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("RUNNER_TEMP")))
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise UsageError(f"the output directory {out_dir} is not empty",
                         hint="pass a new or empty directory: only this build's files may "
                         "be in it")
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir


def build_release(config: Any, project_dir: Path, *, version: str, values: Mapping[str, str],
                  out_dir: Path | None = None) -> tuple[Path, list[Path]]:
    """Run the config's build and copy what it produced into a fresh flat directory.

    Returns (the directory, its files sorted by name). Only files the build wrote
    count; a package file carrying another version than ``version`` is refused.
    """
    from valet.artifact_names import check_versions

    before = snapshot(project_dir, config.artifacts)
    if config.build:
        run_build(config.build, project_dir, values=values)
    paths = collect_artifacts(project_dir, config.artifacts, config.require_names, before=before)
    check_versions([p.name for p in paths], version)
    dest = fresh_out_dir(out_dir, "valet-build-")
    copied = []
    for path in paths:
        target = dest / path.name
        shutil.copyfile(path, target)
        copied.append(target)
    return dest, copied


def checkout_release_commit(root: Path, sha: str) -> None:
    """Build exactly the release commit: check it out when the checkout is elsewhere.

    The build job holds no token, so a commit it lacks is fetched without one (a
    public repository); otherwise check it out in the workflow (actions/checkout
    with `ref:` the release commit).
    """
    from valet.git import Git
    from valet.refs import validate_sha

    validate_sha(sha)
    git = Git(root)
    if git.head_sha() == sha:
        return
    if git.run("status", "--porcelain", "--untracked-files=no").strip():
        raise UsageError(f"the checkout has uncommitted changes and is not the release commit "
                         f"{sha[:12]}", hint="check out the release commit first "
                         "(actions/checkout with `ref: ${{ needs.prepare.outputs.sha }}`)")
    if git.rev_parse(sha) is None and not git.succeeds("fetch", "-q", "--no-tags", "origin", sha):
        raise UsageError(f"the release commit {sha[:12]} is not in this checkout",
                         hint="check it out in the workflow: actions/checkout with "
                         "`ref: ${{ needs.prepare.outputs.sha }}`")
    git.run("checkout", "-q", "--detach", sha)
    gha.notice(f"checked out the release commit {sha[:12]} to build it")
