"""The approval request: the data model (rendering and parsing live in issue_format).

A Request is everything a release manager approves: which repo and version,
who asked, the release commit, the targets (checked = done or skipped on
purpose) and every artifact with its digest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from valet.manifest import Artifact


@dataclass
class TargetState:
    id: str  # "pypi", "npm[@scope/pkg]", ... as in the checkbox line
    checked: bool = False


@dataclass
class Request:
    repo: str  # "owner/repo"
    version: str
    path: str = "."  # monorepo sub-path, "." for the root
    requested_by: str | None = None
    merge_target: str | None = None  # None = the repo's default branch
    sha: str | None = None  # the release commit (40 hex)
    targets: list[TargetState] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    branch: str | None = None  # the release branch
    changelog: str = ""
    run_url: str | None = None  # the prepare run
    release_id: int | None = None  # the draft release holding the artifacts
    store: str = "github-release"  # artifact store kind
    # Checkbox lines whose id is not in the hidden block: never published (the
    # visible list can only narrow the request), but worth a warning.
    ignored_targets: list[str] = field(default_factory=list)
    previous: str | None = None  # the previous release's tag (or sha), for the changes link
    # The workflow run (release.yml) that prepared and requested this release. The
    # publish side reads its triggering actor from the Actions API: the requester
    # as GitHub recorded it, not as the body says.
    run_id: int | None = None
    # Where the artifacts were built: "isolated" (a job of its own, holding no
    # token), "ci" (the SDK's own CI on the release commit, craft-style) or
    # "same-job" (rehearsal mode: the build ran where a token was reachable).
    build: str = "isolated"
    # Container images approved by digest (docker target): one entry per image,
    # {"id": target key, "source": "registry/name:tag", "digest": "sha256:<64 hex>"}.
    images: list[dict[str, str]] = field(default_factory=list)

    @property
    def title(self) -> str:
        where = self.repo if self.path in ("", ".") else f"{self.repo}/{self.path.strip('/')}"
        return f"publish: {where}@{self.version}"

    def to_json(self) -> dict[str, Any]:
        """The `valet issue parse` contract (see docs/issue-format.md)."""
        return {
            "repo": self.repo,
            "path": self.path,
            "version": self.version,
            "requested_by": self.requested_by,
            "merge_target": self.merge_target,
            "sha": self.sha,
            "targets": [{"id": t.id, "checked": t.checked} for t in self.targets],
            "artifacts": [a.to_json() for a in self.artifacts],
        }

    def unchecked(self) -> list[str]:
        return [t.id for t in self.targets if not t.checked]
