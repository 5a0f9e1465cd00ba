"""What every version updater returns: the new content plus notes for the user."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Update:
    content: str  # the file's new content (equal to the input when nothing changed)
    old_versions: tuple[str, ...] = ()  # the version(s) found before the update
    notes: tuple[str, ...] = field(default=())  # e.g. "version is dynamic: left alone"
