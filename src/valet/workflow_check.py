"""Does publishing this release need the Workflows permission?

GitHub refuses to create or edit a release (publishing a draft is an edit) whose
commit adds or modifies files under ``.github/workflows/`` relative to the default
branch, unless the token has Workflows: write; it answers 404. ``needs_workflows``
is pure; ``check`` first reads which files differ (both ways round: the release
branch's changes, and the default branch's since it was cut, read only when the
first compare says the default branch moved; reads the merge check makes too);
only when workflow files are among them does it ask GitHub with one empty edit
of the draft, which gets that 404 without the permission.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from valet.errors import ConfigError

WORKFLOWS = ".github/workflows/"


def needs_workflows(changed: Iterable[str]) -> list[str]:
    return sorted({p for p in changed if p.startswith(WORKFLOWS)})


def check(sdk: Any, *, default_branch: str, sha: str, release_id: int | None) -> None:
    """Raise ConfigError naming Workflows: write when the release cannot be published."""
    if release_id is None:
        return
    from valet.publish_api import filenames

    release_side = sdk.compare(default_branch, sha)
    changed = filenames(release_side)
    if release_side.get("status") not in ("ahead", "identical"):
        # The default branch moved since the release was cut: its own changes count too.
        # Not moved (nothing behind), that compare has no files: GitHub's answer above
        # says so, and it is not asked.
        changed += sdk.changed_files(sha, default_branch)
    paths = needs_workflows(changed)
    if not paths or sdk.touch_release(release_id):
        return  # nothing GitHub asks Workflows for, or the token has it
    raise ConfigError(
        f"the release commit {sha[:12]} changes workflow files relative to {default_branch} "
        f"({', '.join(paths)}); GitHub lets only a token with the Workflows permission "
        "publish such a release, and the publish App's token has not got it",
        hint="give the publish App the repository permission Workflows: read and write "
        "(and accept the new permission on its installation), then add `accepted` again")
