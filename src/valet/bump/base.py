"""What every version updater returns: the new content plus notes for the user."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import tomlkit
from tomlkit.items import String

from valet.errors import ConfigError


@dataclass(frozen=True)
class Update:
    content: str  # the file's new content (equal to the input when nothing changed)
    old_versions: tuple[str, ...] = ()  # the version(s) found before the update
    notes: tuple[str, ...] = field(default=())  # e.g. "version is dynamic: left alone"


def parse_toml(content: str, name: str) -> Any:
    """A tomlkit document (it keeps comments, quoting and spacing on the way back)."""
    try:
        return tomlkit.parse(content)
    except Exception as exc:  # noqa: BLE001 - tomlkit raises many types
        raise ConfigError(f"{name} is not valid TOML: {exc}",
                          hint=f"fix {name} so that it parses") from None


def set_toml_version(table: Any, new: str) -> str:
    """Set ``table["version"]`` in the same string style; return the old value."""
    old = table["version"]
    table["version"] = String.from_raw(new, old.type) if isinstance(old, String) else new
    return str(old)
