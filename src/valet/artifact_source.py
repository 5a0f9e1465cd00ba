"""Where the files of a release request come from, and their manifest.

The request job never runs project code and never executes a file it
receives: it reads each file, hashes it and checks its name. That is the whole
contract of a source: hand over regular files, and say where they were built
(``Request.build``), so the approval issue can state it.

- :class:`BuildOutputDir` — a directory of built files: the build job's
  workflow artifact of this run, downloaded by ``actions/download-artifact``
  (``build="isolated"``), or, in the rehearsal mode, the output of a build
  that ran beside the token in the same job (``build="same-job"``).

- :class:`valet.ci_artifacts.CiArtifacts` — the workflow artifacts the SDK's own
  CI uploaded for the release commit (``build="ci"``, craft's convention).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from valet.errors import ArtifactError
from valet.manifest import MANIFEST_NAME, Manifest, build_manifest, validate_name

BUILD_KINDS = ("isolated", "ci", "same-job")


class ArtifactSource(Protocol):
    @property
    def build(self) -> str:
        """Request.build: "isolated" | "ci" | "same-job"."""

    def files(self) -> list[Path]:
        """Every file of the release, as local regular files, sorted by name."""

    def describe(self) -> str:
        """Where the files come from, for messages."""


@dataclass(frozen=True)
class BuildOutputDir:
    path: Path
    build: str = "isolated"

    def describe(self) -> str:
        return f"the build's files in {self.path}"

    def files(self) -> list[Path]:
        if not self.path.is_dir():
            raise ArtifactError(f"the artifacts directory {self.path} does not exist",
                                hint="download the build job's artifact into it "
                                "(actions/download-artifact with that `path`)")
        out: list[Path] = []
        for entry in sorted(self.path.iterdir(), key=lambda p: p.name):
            if entry.name == MANIFEST_NAME:
                continue  # computed here, never taken from the build
            if entry.is_symlink() or not entry.is_file():
                raise ArtifactError(
                    f"{entry.name} in {self.path} is not a regular file",
                    hint="the build job uploads a flat directory of files (the `dir` output "
                    "of action-prepare-release/build)")
            validate_name(entry.name)
            out.append(entry)
        return out


def release_manifest(source: ArtifactSource, *, version: str, repo: str | None, sha: str | None,
                     require_names: Sequence[str] = (),
                     expect_files: bool = True) -> tuple[Manifest, dict[str, Path]]:
    """The manifest of what ``source`` holds: every name checked (grammar, required
    patterns, the version a package file carries), every sha256 computed here."""
    from valet.artifact_names import check_versions

    paths = source.files()
    names = [p.name for p in paths]
    if not paths and expect_files:
        raise ArtifactError(f"no file to request: {source.describe()} is empty",
                            hint="check that the build job uploaded its files and that the "
                            "request job downloads the same artifact name")
    missing = [pattern for pattern in require_names
               if not any(re.search(pattern, n) for n in names)]
    if missing:
        # craft's meaning: each pattern that matched nothing, and what there was
        raise ArtifactError(
            "no artifact matches the required name pattern(s) "
            + ", ".join(f"/{m}/" for m in missing)
            + f" (the files of {source.describe()}: {', '.join(names) or 'none'})",
            hint="the build did not produce every required file: fix the build, or update "
            "`require_names` (`requireNames` in a .craft.yml) in the config")
    check_versions(names, version)
    manifest = build_manifest(version, paths, repo=repo, sha=sha)
    return manifest, {p.name: p for p in paths}
