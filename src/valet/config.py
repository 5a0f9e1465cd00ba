"""The normalized configuration model (loading lives in config_load).

Both `.valet.yml` and `.craft.yml` (compatibility mode) load into this one
model; everything downstream reads only these fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

ChangelogPolicy = Literal["none", "simple", "auto"]


@dataclass
class TargetConfig:
    name: str  # registry module name: "github", "pypi", "npm", "crates", ...
    id: str | None = None  # craft's optional `id`, to tell two targets of one kind apart
    options: dict[str, Any] = field(default_factory=dict)  # target-specific settings
    include_names: re.Pattern[str] | None = None
    exclude_names: re.Pattern[str] | None = None

    @property
    def key(self) -> str:
        """The id used in the issue's checkbox line: `name` or `name[id]`."""
        return f"{self.name}[{self.id}]" if self.id else self.name

    def matches(self, filename: str) -> bool:
        if self.include_names is not None and not self.include_names.search(filename):
            return False
        if self.exclude_names is not None and self.exclude_names.search(filename):
            return False
        return True


@dataclass
class ArtifactStoreConfig:
    kind: Literal["github-release", "workflow-artifacts"] = "github-release"
    name: str | None = None  # workflow artifact name (craft convention: the commit sha)
    # craft's artifactProvider.config.artifacts: workflow name -> artifact names
    # ("*" = any workflow); empty = the artifact named by the commit sha.
    workflows: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Config:
    source: str = ".valet.yml"  # the file it was read from
    path: str = "."  # monorepo sub-path of the project
    targets: list[TargetConfig] = field(default_factory=list)
    changelog_policy: ChangelogPolicy = "none"
    changelog_file: str = "CHANGELOG.md"
    versioning_policy: Literal["manual", "auto", "calver"] = "manual"
    calver_format: str = "%y.%-m"
    calver_offset_days: int = 0
    release_branch_prefix: str = "release"
    tag_prefix: str = ""
    build: list[str] = field(default_factory=list)  # shell commands run by prepare
    artifacts: list[str] = field(default_factory=lambda: ["dist/*"])  # globs, relative to path
    require_names: list[re.Pattern[str]] = field(default_factory=list)
    pre_release_command: str | None = None
    post_release_command: str | None = None
    bump_files: list[str] = field(default_factory=list)  # explicit version files; empty = detect
    artifact_store: ArtifactStoreConfig = field(default_factory=ArtifactStoreConfig)
    status_provider: str = "github"
    github_repo: str | None = None  # "owner/repo" if set in config
    min_version: str | None = None
    status_contexts: list[str] = field(default_factory=list)  # required contexts (craft: statusProvider.config.contexts)
    ci: Literal["required", "none"] = "required"  # none: a repository without CI
    notes: list[str] = field(default_factory=list)  # fields accepted but ignored, for `config check`

    @property
    def craft(self) -> bool:
        """Read from a .craft.yml (compatibility mode)."""
        return self.source.endswith(".craft.yml")

    def key_name(self, key: str) -> str:
        """A key as the file it came from spells it, for messages: ``require_names`` in
        a .valet.yml, ``requireNames`` in a .craft.yml; ``targets[0].include_names`` →
        ``targets[0].includeNames``."""
        if not self.craft:
            return key
        from valet.craft_compat import CRAFT_KEY_NAMES

        if key in CRAFT_KEY_NAMES:
            return CRAFT_KEY_NAMES[key]
        head, dot, last = key.rpartition(".")
        return f"{head}{dot}{CRAFT_KEY_NAMES.get(last, last)}"

    def target(self, key: str) -> TargetConfig | None:
        for t in self.targets:
            if t.key == key:
                return t
        return None

    def to_json(self) -> dict[str, Any]:
        """The `valet config check --json` contract."""
        return {
            "source": self.source,
            "path": self.path,
            "targets": [
                {"name": t.name, "id": t.id, "key": t.key, "options": t.options,
                 "include_names": t.include_names.pattern if t.include_names else None,
                 "exclude_names": t.exclude_names.pattern if t.exclude_names else None}
                for t in self.targets
            ],
            "changelog": {"policy": self.changelog_policy, "file": self.changelog_file},
            "versioning": {"policy": self.versioning_policy, "calver_format": self.calver_format,
                           "calver_offset_days": self.calver_offset_days},
            "release_branch_prefix": self.release_branch_prefix,
            "tag_prefix": self.tag_prefix,
            "build": self.build,
            "artifacts": self.artifacts,
            "require_names": [p.pattern for p in self.require_names],
            "pre_release_command": self.pre_release_command,
            "post_release_command": self.post_release_command,
            "artifact_store": {"kind": self.artifact_store.kind, "name": self.artifact_store.name,
                               "workflows": self.artifact_store.workflows},
            "status_provider": self.status_provider,
            "github": self.github_repo,
            "min_version": self.min_version,
            "status_contexts": self.status_contexts,
            "ci": self.ci,
            "notes": self.notes,
        }
