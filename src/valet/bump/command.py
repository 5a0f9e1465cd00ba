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
