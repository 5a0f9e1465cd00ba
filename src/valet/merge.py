"""Land the release on the merge target the way its rules allow (see branch_rules).

``direct``: one merge commit of the approved sha through ``POST /merges``.
``pull_request``: a pull request from the release branch, opened after every target
is published; its reviewers merge it under the branch's own rules (the summary
names it). Nothing here decides: the plan was made before the first upload.
"""

from __future__ import annotations

from typing import Any

from valet.branch_rules import MergePlan
from valet.errors import GitHubError


def land(sdk: Any, plan: MergePlan, *, branch: str, sha: str, version: str) -> tuple[str, bool]:
    """``(note for the summary, merged)``; raises GitHubError when GitHub refuses."""
    target = plan.branch
    if plan.mode == "direct":
        # The approved commit, never the branch tip: anything pushed to the release
        # branch after the request was not approved (a sha already there is a no-op).
        state = sdk.merge(target, sha, f"Merge {branch}: release {version}")
        what = "merged into" if state == "merged" else "was already in"
        return f"Branch {branch} {what} {target}", True
    if sdk.already_in(target, sha):  # GitHub opens no pull request without commits
        return f"Branch {branch} was already in {target}", True
    why = "; ".join(plan.reasons)
    body = (f"Release {version} is published. {target} does not let the publish App merge "
            f"directly ({why}), so this pull request brings the release commit {sha} into "
            f"{target} under {target}'s own rules.")
    pr = sdk.open_pull_request(target, branch, f"Release {version}: merge {branch} into {target}",
                               body)
    number, url = pr.get("number"), pr.get("html_url")
    if not isinstance(number, int):
        raise GitHubError(f"GitHub answered no pull request number for {branch} -> {target}")
    return (f"{target} requires changes through a pull request ({why}): opened #{number} "
            f"({url}) from {branch}; merge it to land the release", False)
