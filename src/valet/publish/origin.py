"""Who wrote the request and who asked for it, as GitHub recorded it.

Nothing here trusts the body's own words (`Requested by:`, the hidden block's
requester): they are text any holder of the request App's token can write.

- The issue was opened by the request App (``check_author``), not by the publish
  App itself and not by a person.
- Nobody but the request App and the publish App edited the body beyond ticking
  or unticking boxes (``check_edits``, from GraphQL's userContentEdits).
- The requesters are the actor and the triggering actor (who re-ran it) of the
  prepare run the request names (``requesters``, from the Actions API): a
  workflow_dispatch run of the SDK repository's release workflow, on a commit the
  release commit descends from, running when the request App last wrote the body.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from valet.errors import NotAuthorizedError
from valet.events import valid_login
from valet.publish.context import Refused
from valet.publish.identity import Identities
from valet.publish_api import EDITS_LIMIT, Edit
from valet.request import Request

RERUN = "run the release workflow again for a new request"


def _refuse(message: str, hint: str = RERUN) -> Refused:
    return Refused(NotAuthorizedError(message, hint=hint))


def check_author(issue: dict[str, Any], ids: Identities) -> None:
    author = (issue.get("user") or {}).get("login")
    if ids.is_publish_bot(author):
        raise _refuse(
            f"this issue was opened by {author}, valet's publish App itself: requests are "
            f"opened by the request App ({ids.request_bot}) from the release workflow",
            hint="the publish App's key must never reach the SDK side; " + RERUN)
    if not ids.is_request_bot(author):
        who = author if valid_login(author) else "someone"
        raise _refuse(
            f"this issue was opened by {who}, not by the request App {ids.request_bot}: "
            "only the release workflow opens requests, so nobody can name a requester or "
            "a draft by hand",
            hint=f"close this issue and {RERUN} (Actions → release → Run workflow)")


def check_edits(edits: list[Edit], complete: bool, ids: Identities) -> None:
    """Every edit of the body is the request App's, the publish App's, or only ticks boxes."""
    from valet.issue_format import without_ticks

    if not complete:
        raise _refuse(f"the body was edited more than {EDITS_LIMIT} times, so who changed "
                      "what cannot be read in full")
    previous: str | None = None
    for edit in edits:
        if ids.is_request_bot(edit.login) or ids.is_publish_bot(edit.login):
            previous = edit.body
            continue
        if previous is not None:
            before, after = without_ticks(previous), without_ticks(edit.body)
            if before is not None and before == after:
                previous = edit.body
                continue
        who = edit.login if valid_login(edit.login) else "a deleted account"
        raise _refuse(
            f"the request was edited by {who} ({edit.at or 'at an unknown time'}) beyond "
            "ticking boxes: only the request App writes a request",
            hint=f"{RERUN}; to skip a target, tick its box and change nothing else")


def written_at(issue: dict[str, Any], edits: list[Edit], ids: Identities) -> str:
    """When the request App last wrote the body (its newest edit, else the issue's creation)."""
    mine = [e.at for e in edits if ids.is_request_bot(e.login) and e.at]
    return mine[-1] if mine else str(issue.get("created_at") or "")


def _when(stamp: object) -> datetime | None:
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None


def requesters(sdk: Any, request: Request, release_workflow: str, body_written: str
               ) -> tuple[str, ...]:
    """Who asked for this release: the prepare run's actor and triggering actor.

    ``release_workflow``: the SDK's release workflow file the run must be of;
    ``body_written``: when the request App last wrote the body (``written_at``)."""
    if request.run_id is None:
        raise _refuse("the request names no prepare run, so who asked for it cannot be read "
                      "from GitHub")
    run = sdk.workflow_run(request.run_id)
    where = f"the prepare run {request.run_id}"
    if run is None:
        raise _refuse(f"{where} named by the request does not exist in {request.repo}")
    repo = (run.get("repository") or {}).get("full_name")
    if not isinstance(repo, str) or repo.lower() != request.repo.lower():
        raise _refuse(f"{where} belongs to {repo}, not to {request.repo}")
    path = str(run.get("path") or "").split("@", 1)[0]
    if path != release_workflow:
        raise _refuse(f"{where} is a run of {path or 'no workflow'}, not of the release "
                      f"workflow {release_workflow}",
                      hint=f"{RERUN}; if your release workflow has another file name, set "
                      "the publish action's input `release-workflow:`")
    if run.get("event") != "workflow_dispatch":
        raise _refuse(f"{where} was started by a `{run.get('event')}` event, not by someone "
                      "running the release workflow (workflow_dispatch)")
    head = run.get("head_sha")
    # via the merge target: that compare (read for the merge check anyway) often answers
    if not isinstance(head, str) or not request.sha or not _contains(sdk, head, request):
        raise _refuse(f"the release commit {request.sha} does not descend from the commit "
                      f"{head} {where} ran on")
    started, done, wrote = _when(run.get("created_at")), _when(run.get("updated_at")), \
        _when(body_written)
    finished = run.get("status") == "completed"
    if started is None or wrote is None or wrote < started or (finished and (done is None
                                                                             or wrote > done)):
        raise _refuse(f"the request App wrote this request at {body_written or 'an unknown time'}"
                      f", not while {where} ran ({run.get('created_at')} to "
                      f"{run.get('updated_at') if finished else 'now'}): that run did not "
                      "write it")
    logins: list[str] = []
    for key in ("actor", "triggering_actor"):
        login = (run.get(key) or {}).get("login")
        if isinstance(login, str) and valid_login(login) \
                and login.lower() not in (x.lower() for x in logins):
            logins.append(login)
    if not logins:
        raise _refuse(f"GitHub names nobody who started {where}")
    return tuple(logins)


def _contains(sdk: Any, head: str, request: Request) -> bool:
    return bool(sdk.contains(head, request.sha, via=request.merge_target))


def claimed_otherwise(request: Request, logins: tuple[str, ...]) -> str | None:
    """What is wrong with the body's own `Requested by:` when it names someone GitHub does
    not (None: it agrees). Never a reason to trust the body: only to say it was rewritten."""
    if request.requested_by and request.requested_by.lower() not in (x.lower() for x in logins):
        return (f"the body says the release was requested by {request.requested_by}; GitHub "
                f"says {', '.join(logins)} ran the release workflow: they are the requesters")
    return None
