"""Run the configured build commands and collect the artifacts they produce.

The build commands come from the project's own config (trusted like any
build script in the repo), so a string command runs through `bash -c`. Values
valet computed — the version, the branch — are never spliced into that
string: they reach the command as environment variables (VALET_VERSION, ...).
Tokens valet holds are removed from the build's environment: the build runs
project code and needs none of them.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from valet import gha
from valet.errors import ArtifactError, BuildError, ConfigError
from valet.manifest import MANIFEST_NAME, validate_name

# Variables a build never needs and must not see: our token (passed as an
# action input), the runner's job tokens, OIDC request credentials, and any
# git config injected for an authenticated push.
_SECRET_ENV_EXACT = {
    "GITHUB_TOKEN", "GH_TOKEN", "ACTIONS_RUNTIME_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_URL", "VALET_GITHUB_TOKEN",
}
_SECRET_ENV_PREFIX = ("INPUT_", "GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_")

Command = str | Sequence[str]


def build_env(base: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """The build's environment: the process env minus tokens, plus valet's values."""
    env = {
        k: v for k, v in base.items()
        if k not in _SECRET_ENV_EXACT and not k.startswith(_SECRET_ENV_PREFIX)
        and k not in ("GIT_CONFIG_COUNT", "GIT_CONFIG_PARAMETERS")
    }
    env.update(extra)
    return env


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
                                      stdin=subprocess.DEVNULL)
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
                hint="see the build output above; the release branch was not pushed and "
                "nothing was uploaded",
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


def collect_artifacts(base: Path, globs: Sequence[str],
                      require_names: Sequence[re.Pattern[str]] = ()) -> list[Path]:
    """Regular files matched by the globs (relative to base), sorted by name.

    No file at all, or a `require_names` pattern that no file matches, is an
    ArtifactError raised before anything is uploaded.
    """
    base = base.resolve()
    if not globs and not require_names:
        return []  # `artifacts: []` in the config: this release ships no files on purpose
    found: dict[str, Path] = {}
    for pattern in globs:
        for path in sorted(base.glob(_check_glob(pattern))):
            if path.is_symlink() or not path.is_file():
                continue
            resolved = path.resolve()
            if base not in resolved.parents:
                continue
            if path.name == MANIFEST_NAME:
                continue  # a manifest left from an earlier run is not an artifact
            validate_name(path.name)
            previous = found.get(path.name)
            if previous is not None and previous != resolved:
                raise ArtifactError(
                    f"two files are named {path.name}: {previous.relative_to(base)} and "
                    f"{resolved.relative_to(base)}",
                    hint="artifact names must be unique: narrow the artifact globs",
                )
            found[path.name] = resolved
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
