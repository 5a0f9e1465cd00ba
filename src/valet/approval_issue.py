"""The approval issue in the publish repository: killswitch, find-or-create, update in place.

The flow is: stop if the SDK repo has an open ``release-blocker`` issue (unless
forced), look for an open issue with the exact same title in the publish repo,
carry over the ticks of targets that still exist, then create the issue or
edit it in place. Never a duplicate: the lookup lists every open issue
(paginated) and compares titles exactly, because the search API is eventually
consistent and matches words, not titles.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from valet import gha
from valet.errors import GitHubError, KillswitchError, NotARequestError
from valet.issue_format import render_body, targets_section
from valet.request import Request, TargetState

BLOCKER_LABEL = "release-blocker"
SAME_JOB_NOTE = ("The files of this request were built in the same job as the token "
                 "(rehearsal mode): project code could reach the token. Release with the "
                 "three-job release.yml, whose build job holds no token.")
ACCEPTED_LABEL = "accepted"


@dataclass
class RequestResult:
    title: str
    body: str
    number: int | None = None
    url: str | None = None
    action: str = "none"  # created | updated | unchanged | dry-run
    kept_checked: list[str] = field(default_factory=list)
    unapproved: bool = False  # the `accepted` label was removed because the request changed


# -- pure parts ------------------------------------------------------------------------


def carry_checks(req: Request, old_body: str | None) -> tuple[Request, list[str]]:
    """Tick the targets of ``req`` that are ticked in ``old_body`` (same id)."""
    if not old_body:
        return req, []
    try:
        old = targets_section(old_body)
    except NotARequestError as exc:
        gha.warning(f"the open request's Targets could not be read ({exc.message}); "
                    "all targets start unticked")
        return req, []
    ticked = {t.id for t in old if t.checked}
    targets = [TargetState(t.id, t.checked or t.id in ticked) for t in req.targets]
    kept = [t.id for t in req.targets if t.id in ticked]
    return replace(req, targets=targets), kept


def same_title(issue: Any, title: str) -> bool:
    return getattr(issue, "pull_request", None) is None and issue.title == title


def pick_existing(issues: Iterable[Any], title: str) -> Any | None:
    """The oldest open issue whose title is exactly ``title`` (PRs never count)."""
    matches = [i for i in issues if same_title(i, title)]
    if len(matches) > 1:
        gha.warning(f"{len(matches)} open issues are titled {title!r}; updating the oldest, "
                    f"#{min(i.number for i in matches)}")
    return min(matches, key=lambda i: i.number) if matches else None


# -- GitHub ------------------------------------------------------------------------------


def check_killswitch(gh: Any, repo: str, *, force: bool) -> list[int]:
    """Raise KillswitchError if ``repo`` has an open release-blocker issue (unless forced).

    Returns the blocking issue numbers (so a forced run can say what it overrode).
    """
    try:
        blockers = [i for i in gh.get_repo(repo).get_issues(state="open", labels=[BLOCKER_LABEL])
                    if getattr(i, "pull_request", None) is None]
    except Exception as exc:  # noqa: BLE001 - PyGithub raises many kinds
        raise _wrap(exc, f"listing open {BLOCKER_LABEL} issues in {repo}") from None
    numbers = sorted(i.number for i in blockers)
    if numbers and not force:
        listed = ", ".join(f"#{n}" for n in numbers[:10]) + (" ..." if len(numbers) > 10 else "")
        raise KillswitchError(
            f"{repo} has {len(numbers)} open issue(s) labelled `{BLOCKER_LABEL}` ({listed}); "
            "no new release is requested while one is open",
            hint=f"close the issue(s) or remove the `{BLOCKER_LABEL}` label, or run again with "
            "`force: true` (--force) to request the release anyway",
        )
    if numbers:
        gha.warning(f"force: requesting despite open {BLOCKER_LABEL} issue(s) "
                    + ", ".join(f"#{n}" for n in numbers))
    return numbers


def find_open_issue(gh: Any, publish_repo: str, title: str) -> Any | None:
    try:
        issues = gh.get_repo(publish_repo).get_issues(state="open")
        return pick_existing(issues, title)
    except GitHubError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise _wrap(exc, f"listing open issues in {publish_repo}") from None


def submit(gh: Any | None, req: Request, *, publish_repo: str, server_url: str,
           force: bool = False, dry_run: bool = False,
           check_blockers: bool = True) -> RequestResult:
    """Open or update the approval issue for ``req``; in a dry run only read.

    ``gh`` may be None in a dry run: nothing is read, the body is rendered as new.
    ``check_blockers=False``: the caller has run `check_killswitch` already.
    """
    title = req.title
    existing = None
    if gh is not None:
        if check_blockers:
            check_killswitch(gh, req.repo, force=force)
        existing = find_open_issue(gh, publish_repo, title)
    old_body = existing.body if existing is not None else None
    req, kept = carry_checks(req, old_body)
    body = render_body(req, server_url=server_url)
    result = RequestResult(title=title, body=body, kept_checked=kept)
    if existing is not None:
        result.number, result.url = existing.number, existing.html_url
    if dry_run:
        result.action = "dry-run"
        return result
    if gh is None:  # pragma: no cover - the command always connects unless dry-run
        raise GitHubError("no GitHub connection to open the request with")
    if existing is None:
        try:
            issue = gh.get_repo(publish_repo).create_issue(title=title, body=body)
        except Exception as exc:  # noqa: BLE001
            raise _wrap(exc, f"creating the request issue in {publish_repo}") from None
        result.number, result.url, result.action = issue.number, issue.html_url, "created"
        return result
    if (old_body or "") == body:
        result.action = "unchanged"
        return result
    try:
        existing.edit(body=body)
        labels = {getattr(label, "name", label) for label in existing.labels}
        if ACCEPTED_LABEL in labels:
            # The approval was given to the old body; publish compares the body anyway,
            # but the label must not suggest that the new content is approved.
            existing.remove_from_labels(ACCEPTED_LABEL)
            result.unapproved = True
            gha.warning(f"the request #{existing.number} changed after it was approved: "
                        f"the `{ACCEPTED_LABEL}` label was removed, approve it again")
    except Exception as exc:  # noqa: BLE001
        raise _wrap(exc, f"updating request #{existing.number} in {publish_repo}") from None
    result.action = "updated"
    return result


def summary_markdown(req: Request, result: RequestResult) -> str:
    link = (f"[#{result.number}]({result.url})" if result.number and result.url
            else "not opened (dry run)")
    verb = {"created": "opened", "updated": "updated", "unchanged": "already up to date",
            "dry-run": "dry run"}.get(result.action, result.action)
    lines = [
        f"### Release request for {gha.md_escape(req.repo)} {gha.md_escape(req.version)}",
        "",
        f"- Issue: {link} ({verb})",
        f"- Release commit: `{req.sha}`",
        "- Targets: " + ", ".join(f"`{t.id}`" for t in req.targets),
    ]
    if result.kept_checked:
        lines.append("- Kept ticked: " + ", ".join(f"`{t}`" for t in result.kept_checked))
    if req.artifacts:
        lines.append(f"- Artifacts: {len(req.artifacts)} file(s)")
    if result.unapproved:
        lines.append("- :warning: the request changed after approval; `accepted` was removed")
    if req.build == "same-job":
        lines += ["", "> [!WARNING]", f"> {SAME_JOB_NOTE}"]
    return "\n".join(lines)


def _wrap(exc: Exception, doing: str) -> GitHubError:
    from valet.github_client import wrap

    return wrap(exc, doing)
