"""The scheduled look at requests waiting in ci-pending: cheap, and it never publishes.

Every 15 minutes a scheduled run lists the open issues with `ci-pending` and
`accepted` (one request) and asks of each the cheapest question first: did CI
on its release commit change since the last look? The publish App's
ci-pending comment carries a record of that look (``valet:ci``: the ETag of
each page of the CI reports); asked again with ``If-None-Match``, GitHub
answers 304 while nothing changed, and a 304 costs no rate limit. So a sweep
over requests whose CI did not move costs one listing, one read of each issue's
comments and nothing else.

When CI did change the sweep reads it whole and decides nothing itself:
still running, it updates the record; decided (green, failed) or not readable
as a request, it starts that issue's own run (``workflow_dispatch`` of the
publish workflow with the issue number), which re-checks everything in the
issue's own concurrency group, the one an approval's run uses too. A sweep and
an approval of one issue can therefore never both publish: the sweep publishes
nothing, and the two runs of one issue run one after the other.

A record counts only as written by the publish App (anyone may paste a marker
into a comment): a forged one could make the sweep think nothing changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from valet import gate, gha, summary
from valet.errors import ValetError
from valet.labels import Label
from valet.publish.context import Deps, Settings
from valet.publish.identity import Identities
from valet.publish_api import Page

AT_ONCE = 8


@dataclass
class Look:
    number: int
    action: str  # "unchanged", "recorded", "dispatch"
    reason: str = ""
    error: ValetError | None = None


def sweep(deps: Deps, settings: Settings, ids: Identities) -> int:
    waiting = deps.issues.open_issues_with([str(Label.CI_PENDING), str(Label.ACCEPTED)])
    if not waiting:
        gha.info("no approved issue is waiting for CI")
        return 0
    with ThreadPoolExecutor(max_workers=min(AT_ONCE, len(waiting)),
                            thread_name_prefix="sweep") as pool:
        looks = list(pool.map(lambda item: _look(deps, settings, ids, item), waiting))
    worst = 0
    for look in looks:
        if look.error is not None:
            gha.warning(f"#{look.number}: {look.error.message}", title=look.error.title)
            worst = worst or look.error.exit_code
        elif look.action == "dispatch":
            worst = worst or _dispatch(deps, settings, look)
        else:
            gha.info(f"#{look.number}: CI {'did not change' if look.action == 'unchanged' else 'is still running'}")
    counts = {a: sum(1 for x in looks if x.action == a) for a in ("unchanged", "recorded",
                                                                   "dispatch")}
    gha.info(f"{len(looks)} waiting: {counts['unchanged']} unchanged, {counts['recorded']} "
             f"still running, {counts['dispatch']} handed to their own run")
    return worst


def _dispatch(deps: Deps, settings: Settings, look: Look) -> int:
    from valet.errors import UsageError

    if not settings.dispatch_workflow or not settings.dispatch_ref or deps.dispatch is None:
        err = UsageError(
            f"#{look.number} {look.reason}, but this run cannot start its own run: which "
            "workflow it is is unknown (GITHUB_WORKFLOW_REF)",
            hint="run the sweep from the publish workflow (schedule), or publish this issue "
            "with `valet publish --issue N`")
        gha.error(err.message, title=err.title)
        return err.exit_code
    try:
        started = deps.dispatch(settings.dispatch_workflow, settings.dispatch_ref,
                                {"issue": str(look.number)})
    except ValetError as exc:
        gha.warning(f"#{look.number} {look.reason}; starting its run failed ({exc.message}): "
                    "the next sweep tries again", title="dispatch failed")
        return 0
    where = (started or {}).get("html_url") if isinstance(started, dict) else None
    gha.notice(f"#{look.number} {look.reason}: its own run re-checks and publishes it"
               + (f" ({where})" if where else ""), title="handed to its run")
    return 0


def _look(deps: Deps, settings: Settings, ids: Identities, item: dict[str, Any]) -> Look:
    from valet.issue_format import parse_issue

    number = int(item["number"])
    try:
        request = parse_issue(str(item.get("title") or ""), str(item.get("body") or ""))
    except ValetError:
        return Look(number, "dispatch", "does not read as a request any more")
    if not request.sha:
        return Look(number, "dispatch", "names no release commit")
    try:
        holder, record = _record(deps.issues.comments(number), ids, request.sha)
        sdk = deps.sdk(request.repo)
        if record is not None and sdk.ci_unchanged(record):
            return Look(number, "unchanged")
        pages = sdk.ci_pages(gate.reads(request.repo, request.sha))
        result = gate.evaluate(*gate.fetch(_Replay(pages), request.repo, request.sha),
                               ignore=settings.ignore_checks)
        if holder is not None:
            # What the sweep saw, whatever it decides: the next one asks only if it changed.
            deps.issues.edit_comment(int(holder["id"]), summary.with_marker(
                str(holder.get("body") or ""), summary.CI_MARKER, _marker(request.sha, pages)))
    except ValetError as exc:
        return Look(number, "error", error=exc)
    if result.verdict is gate.Verdict.GREEN:
        return Look(number, "dispatch", "has green CI now")
    if result.verdict is gate.Verdict.FAILED:
        return Look(number, "dispatch", "has failing CI now")
    if holder is None:
        return Look(number, "dispatch", "has no record of its approval")
    return Look(number, "recorded")


def _record(comments: list[dict[str, Any]], ids: Identities, sha: str
            ) -> tuple[dict[str, Any] | None, list[Page] | None]:
    """The publish App's newest ci-pending comment (it holds the approval record) and the
    CI look recorded on it for ``sha``, if any."""
    holder = None
    for comment in comments:
        if not ids.is_publish_bot((comment.get("user") or {}).get("login")):
            continue
        if summary.read_markers(str(comment.get("body") or ""), summary.APPROVED_MARKER):
            holder = comment
    if holder is None:
        return None, None
    for data in summary.read_markers(str(holder.get("body") or ""), summary.CI_MARKER):
        listed = data.get("pages")
        if data.get("sha") != sha or not isinstance(listed, list):
            continue
        pages = []
        for page in listed:
            if not (isinstance(page, list) and len(page) == 3 and isinstance(page[0], str)
                    and isinstance(page[2], str)):
                return holder, None
            params = page[1] if isinstance(page[1], dict) else None
            pages.append(Page(page[0], params, page[2], None))
        return holder, pages or None
    return holder, None


def _marker(sha: str, pages: list[Page]) -> dict[str, object]:
    return {"sha": sha, "pages": [[p.url, p.params, p.etag] for p in pages]}


class _Replay:
    """The pages read, served to gate.fetch as if it read them itself."""

    def __init__(self, pages: list[Page]) -> None:
        self._pages = pages

    def pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        first = {"per_page": 100, **(params or {})}
        inside = False
        for page in self._pages:
            if page.url == path and page.params == first:
                inside = True
            elif page.params is not None:
                inside = False  # the first page of another list
            if inside:
                yield page.data
