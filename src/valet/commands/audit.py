"""`valet audit`: list every publish request of a publish repo with who approved it."""

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
        description="One row per publish request of the publish repository: who asked, who "
        "approved (the actor of the last `accepted` label), when it was published, each "
        "target's outcome and the approved digests. Rows that need a look are flagged.",
    )
    p.add_argument("--publish-repo", required=True, metavar="OWNER/REPO",
                   help="the repository holding the approval issues")
    p.add_argument("--since", metavar="DATE",
                   help="only issues updated at or after DATE (YYYY-MM-DD or ISO 8601, UTC)")
    p.add_argument("--format", choices=("md", "json", "csv"), default="md",
                   help="output format (default: md)")
    p.add_argument("--approvers", metavar="LIST",
                   help="allowed approvers (logins and org/team, comma separated); "
                   "approvals by anyone else are flagged")
    p.add_argument("--valet-login", action="append", default=[], metavar="LOGIN",
                   help="the login publish comments as (repeatable); by default any bot's "
                   "marker comments count")
    p.add_argument("--github-token", metavar="TOKEN",
                   help="token that can read the publish repo's issues (default: $GITHUB_TOKEN)")
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


def _check_repo(raw: str) -> str:
    if not _REPO_RE.fullmatch(raw) or raw.split("/")[1] in (".", ".."):
        raise UsageError(f"--publish-repo {raw!r} is not OWNER/REPO",
                         hint="for example --publish-repo my-org/publish")
    return raw


def run(args: argparse.Namespace) -> int:
    from valet import audit, gha
    from valet.github_client import connect
    from valet.publish_api import IssueAPI, Rest

    repo = _check_repo(args.publish_repo)
    since = parse_since(args.since)
    token = args.github_token or os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN")
    gh = connect(token, what="--github-token")
    api = IssueAPI(Rest(gh), repo)
    policy = audit.parse_approvers(args.approvers, team_member=api.team_member)
    facts = audit.collect(gh, repo, since)
    rows = audit.build_rows(facts, policy, valet_logins=args.valet_login or None)
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
