"""Reads ahead: the GETs a run will make for one request, started together at its start.

The checks keep their order and each reads what it needs when it needs it
(through publish_api); those reads are then already answered or under way, so a
run costs a few round trips to GitHub instead of one per check. Nothing here
decides anything, and nothing here is trusted: the request is parsed from the
hint (the event's body, or the issue as read) only to know which paths to ask
for. A read ahead that no check asks for is not used; a check that asks for
another path (the hint was wrong or edited) reads it itself. Each answer is used
once: a check that reads the same thing again later asks GitHub again.

Downloads, uploads and writes never start here: they wait for every check.
"""

from __future__ import annotations

from typing import Any

from valet import gate
from valet.errors import ValetError
from valet.publish.context import Deps, Settings
from valet.publish.finish import closing_labels


def start(deps: Deps, settings: Settings, number: int, *, title: str, body: str,
          approver: str | None, resume: bool = False) -> None:
    """Start the reads of a run of issue ``number`` (``resume``: a run without its label
    event, which reads the comments for the approval record first)."""
    learning = deps.warm_identity is not None and settings.identities is None
    policy_unread = settings.served is None
    warm = getattr(deps.issues, "warm", None)
    if warm is not None:
        policy = settings.policy
        # one GraphQL request with the edits: who the token is, valet-publish.yml, the
        # approver's teams (the event's sender: only a hint, the check asks for whom
        # the events name) and the labels the close adds
        warm(number, approver=approver, teams=tuple((t.org, t.slug) for t in policy.teams),
             role=not policy.configured, comments=resume, viewer=learning,
             policy=policy_unread, labels=closing_labels())
    else:
        warm_policy = getattr(deps.issues, "warm_policy", None)
        if warm_policy is not None and policy_unread:
            warm_policy()
    if learning:
        deps.warm_identity()  # type: ignore[misc]
    sdk_side(deps, settings, title, body)


def approver(deps: Deps, settings: Settings, login: str) -> None:
    """The approver's team memberships or role, once a resumed run knows who approved."""
    warm = getattr(deps.issues, "warm_approver", None)
    if warm is not None:
        policy = settings.policy
        warm(login, teams=tuple((t.org, t.slug) for t in policy.teams),
             role=not policy.configured)


def sdk_side(deps: Deps, settings: Settings, title: str, body: str) -> None:
    """The SDK repository's reads the checks make for the request the body describes,
    once valet-publish.yml (read with the issue's reads) says it serves that repository:
    one it does not serve is never read."""
    from valet.issue_format import parse_issue
    from valet.sdk_config import candidates

    try:
        request = parse_issue(title, body)
        config_path = candidates(request.path)[0]
    except ValetError:
        return  # the checks refuse it, with the reason
    from valet.publish import served

    if not served.serves(deps, settings, request.repo):
        return
    from valet.sdk_query import tag_guess

    sdk: Any = deps.sdk(request.repo)
    github = any(t.id == "github" for t in request.targets)
    warm = getattr(sdk, "warm", None)
    if warm is not None:
        # the github target's tag, as far as the request lets one guess its name (the
        # configuration's tag_prefix is not read yet): asked with the default branch and
        # the configuration, taken only by a tag check of that very name
        tag = tag_guess(path=request.path, version=request.version,
                        previous=request.previous) if github else None
        warm(sha=request.sha, run_id=request.run_id, merge_target=request.merge_target,
             config_path=config_path,
             gate=gate.reads(request.repo, request.sha) if request.sha else (), tag=tag)
    # The draft (store) and the releases (github target) come from one listing.
    reads_releases = request.store == "github-release" or github
    if deps.releases is not None and reads_releases:
        deps.releases(request.repo).warm()
