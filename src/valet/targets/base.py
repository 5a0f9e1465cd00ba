"""The one small interface every publish target implements.

A target is checked in three steps, all before anything irreversible:
``preflight`` (credentials, tools, matching artifacts) runs for every target
before any upload; ``status`` asks the registry whether this exact version is
already there and compares digests; only then ``publish`` uploads and returns
a receipt. Targets never build or run code from the released project.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from valet.config import Config, TargetConfig
from valet.manifest import Artifact
from valet.request import Request


class State(enum.Enum):
    ABSENT = "absent"  # not there: publish it
    PUBLISHED = "published"  # there with the approved digests: tick and skip
    CONFLICT = "conflict"  # there with other content: refuse, never overwrite


@dataclass
class StatusResult:
    state: State
    detail: str = ""
    receipt: Receipt | None = None


@dataclass
class Receipt:
    target: str  # the target key, e.g. "npm[@scope/pkg]"
    url: str | None = None  # where it can be seen
    digests: dict[str, str] = field(default_factory=dict)  # file name -> sha256 published
    detail: str = ""  # one line for the summary table


@dataclass
class TargetContext:
    request: Request
    config: Config  # the SDK config read from the protected merge target
    target: TargetConfig
    files: dict[str, Path]  # verified artifacts this target publishes: name -> local path
    artifacts: dict[str, Artifact]  # the approved facts of those same files
    workdir: Path  # private scratch dir under $RUNNER_TEMP (npmrc, twine config, ...)
    env: Mapping[str, str]  # the process environment (credentials come from here)
    github: Any = None  # PyGithub client authenticated for the SDK repo (sdk-token)
    dry_run: bool = False

    @property
    def key(self) -> str:
        return self.target.key


class Target(Protocol):
    name: ClassVar[str]
    # Which artifact names this target takes when the config sets no includeNames.
    default_include: ClassVar[re.Pattern[str]]
    # Environment variables holding credentials, for the preflight message.
    credentials: ClassVar[tuple[str, ...]]

    def preflight(self, ctx: TargetContext) -> None:
        """Raise TargetError (with a hint naming the secret or tool) if it cannot publish."""

    def status(self, ctx: TargetContext) -> StatusResult:
        """Is this version already published? Compare digests; never upload here."""

    def publish(self, ctx: TargetContext) -> Receipt:
        """Upload the files; return a receipt. Raise TargetError on failure."""


def select_files(target: TargetConfig, default_include: re.Pattern[str],
                 names: list[str]) -> list[str]:
    """The artifact names a target takes: its includeNames (or its default) minus excludeNames."""
    include = target.include_names or default_include
    chosen = [n for n in names if include.search(n)]
    if target.exclude_names is not None:
        chosen = [n for n in chosen if not target.exclude_names.search(n)]
    return sorted(chosen)


def option(ctx: TargetContext, name: str, default: Any = None) -> Any:
    return ctx.target.options.get(name, default)


def env_first(env: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for n in names:
        value = env.get(n)
        if value:
            return value
    return None
