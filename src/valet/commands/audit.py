"""`valet audit`: list every publish request of a publish repo, traceable to GitHub's records."""

from __future__ import annotations

import argparse
import os
import re
from datetime import datetime, timezone

from valet.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "audit",
        help="list publish requests with requester, approver, targets and flags",
        description="One row per publish request of the publish repository: who asked (the "
        "prepare run's triggering actor), who approved (the `labeled accepted` event publish "
        "acted on), what the publish App published, and a flag for anything that cannot be "
        "verified. The rules are the publish action's: give it the same inputs.",
    )
    p.add_argument("--publish-repo", required=True, metavar="OWNER/REPO",
                   help="the repository holding the approval issues")
    p.add_argument("--app-slug", metavar="SLUG",
                   help="the publish App (as action-publish's app-slug): only its comments "
                   "and records count")
    p.add_argument("--request-app", metavar="SLUG",
                   help="the request App (as action-publish's request-app): only issues it "
                   "opened are requests")
    p.add_argument("--release-workflow", metavar="PATH", default=None,
                   help="the SDK's release workflow file (as action-publish's "
                   "release-workflow; default .github/workflows/release.yml)")
    p.add_argument("--approvers", metavar="LIST",
                   help="who may approve, as action-publish's approvers (logins and "
                   "org/team); empty: maintain or admin on the publish repository")
    p.add_argument("--allow-self-approval", action="store_true",
                   help="as action-publish's allow-self-approval: true")
    p.add_argument("--allow-bots", metavar="LIST", help="as action-publish's allow-bots")
    p.add_argument("--since", metavar="DATE",
                   help="only issues updated at or after DATE (YYYY-MM-DD or ISO 8601, UTC)")
    p.add_argument("--format", choices=("md", "json", "csv"), default="md",
                   help="output format (default: md)")
    p.add_argument("--github-token", metavar="TOKEN",
                   help="token that can read the publish repo's issues, team membership and "
                   "permissions (default: $GITHUB_TOKEN)")
    p.add_argument("--sdk-token", metavar="TOKEN",
                   help="token that can read the SDK repositories' workflow runs and their "
                   "artifacts (the runs' seals) "
                   "(default: --github-token)")
    p.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(func=run)


def parse_since(raw: str | None) -> datetime | None:
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--since {text!r} is not a date",
                         hint="give a date as YYYY-MM-DD or an ISO 8601 time such as "
                         "2024-05-01T12:00:00Z") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


_REPO_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
_WORKFLOW_RE = re.compile(r"\.github/workflows/[A-Za-z0-9._-]+\.ya?ml")


def _check_repo(raw: str) -> str:
    if not _REPO_RE.fullmatch(raw) or raw.split("/")[1] in (".", ".."):
        raise UsageError(f"--publish-repo {raw!r} is not OWNER/REPO",
                         hint="for example --publish-repo my-org/publish")
    return raw


def _workflow(raw: str | None) -> str:
    from valet.publish.context import DEFAULT_RELEASE_WORKFLOW

    workflow = (raw or DEFAULT_RELEASE_WORKFLOW).strip()
    if not _WORKFLOW_RE.fullmatch(workflow):
        raise UsageError(f"--release-workflow {workflow!r} is not a workflow file",
                         hint="for example --release-workflow .github/workflows/release.yml")
    return workflow


def run(args: argparse.Namespace) -> int:
    from valet import audit, gha
    from valet.authz import parse_policy
    from valet.github_client import connect
    from valet.publish.identity import named
    from valet.publish_api import IssueAPI, Rest, SdkAPI

    repo = _check_repo(args.publish_repo)
    since = parse_since(args.since)
    workflow = _workflow(args.release_workflow)
    policy = parse_policy(args.approvers, allow_self_approval=args.allow_self_approval,
                          allow_bots=args.allow_bots)
    token = args.github_token or os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN")
    for secret in (token, args.sdk_token):
        gha.add_mask(secret)
    gh = connect(token, what="--github-token")
    sdk_gh = connect(args.sdk_token, what="--sdk-token") if args.sdk_token else gh
    issues = IssueAPI(Rest(gh), repo)
    ids = named(issues, app_slug=args.app_slug, request_app=args.request_app)
    rules = audit.Rules(ids=ids, policy=policy, publish_repo=repo, release_workflow=workflow)
    sdk_rest = Rest(sdk_gh)
    facts = audit.collect(issues, lambda r: SdkAPI(sdk_rest, r), rules, since)
    rows = audit.build_rows(facts, ids)
    text = audit.RENDERERS[args.format](rows)
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        gha.info(f"wrote {len(rows)} row(s) to {args.output}")
    else:
        # The rows hold text from issues (titles, logins, comments): not ours.
        gha.print_untrusted(text.rstrip("\n"))
    flagged = sum(1 for r in rows if r.flagged)
    if gha.on_github():
        gha.summary(audit.render_md(rows))
        if flagged:
            gha.warning(f"{flagged} publish request(s) flagged in the audit", title="valet audit")
    return 0
