"""Read the SDK's release configuration from its protected merge target.

Publish never reads the configuration from the release branch: any committer
can push there, and the configuration decides which targets get the tokens.
The merge target (the request's, else the repository's default branch) is a
protected branch, so it is read through the contents API at that ref.
"""

from __future__ import annotations

import posixpath
from typing import Protocol

from valet.config import Config
from valet.errors import ConfigError

CONFIG_NAMES = (".valet.yml", ".craft.yml")


class ContentsAPI(Protocol):
    repo: str

    def file(self, path: str, ref: str) -> str | None:
        """The file's text at ref, or None when it does not exist."""


def candidates(path: str) -> list[str]:
    """Where the configuration may be, in order: under the project path, then the root."""
    base = posixpath.normpath(path or ".")
    if base.startswith("..") or base.startswith("/"):
        raise ConfigError(f"project path {path!r} leaves the repository")
    dirs = [base] if base == "." else [base, "."]
    return [posixpath.normpath(posixpath.join(d, name)) for d in dirs for name in CONFIG_NAMES]


def read_sdk_config(api: ContentsAPI, *, ref: str, path: str = ".") -> Config:
    from valet.config_load import parse_config

    for candidate in candidates(path):
        text = api.file(candidate, ref)
        if text is not None:
            return parse_config(text, posixpath.basename(candidate), path=path or ".")
    raise ConfigError(
        f"no .valet.yml or .craft.yml in {api.repo} at {ref}"
        + ("" if path in ("", ".") else f" (looked in {path}/ and the root)"),
        hint=f"commit a .valet.yml to {ref} (the merge target, a protected branch): publish "
        "reads the configuration from there, never from the release branch",
    )
