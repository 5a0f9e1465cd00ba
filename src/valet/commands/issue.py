"""`valet issue parse`: print the parsed request of an approval issue as JSON.

Reads the issue from ``--title``/``--body-file`` or from a webhook event file
(``--event``, default ``$GITHUB_EVENT_PATH``). Prints ``Request.to_json()``
(the contract in DESIGN.md); an issue that is not a publish request exits 2
with a one-line reason.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from valet.errors import NotARequestError, UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("issue", help="read approval issues")
    issue_sub = p.add_subparsers(dest="issue_command", metavar="ACTION")
    parse = issue_sub.add_parser(
        "parse",
        help="print the parsed request of an issue as JSON",
        description="Print the parsed publish request as JSON; exit 2 if the issue is not one.",
    )
    parse.add_argument("--title", help="the issue title")
    parse.add_argument("--body-file", help="file holding the issue body ('-' for stdin)")
    parse.add_argument("--event", help="a GitHub issues event JSON file (default: $GITHUB_EVENT_PATH)")
    parse.set_defaults(func=run)
    p.set_defaults(func=_usage)


def _usage(args: argparse.Namespace) -> int:
    raise UsageError("valet issue needs an action", hint="run `valet issue parse --help`")


def _read_text(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        # newline="" keeps CRLF bodies byte for byte
        with open(path, encoding="utf-8", newline="") as fh:
            return fh.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text") from None


def issue_from_event(path: str) -> tuple[str, str]:
    """(title, body) of the issue in a webhook event file."""
    try:
        data: Any = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read the event file {path}: {exc.strerror}") from None
    except ValueError:
        raise UsageError(f"the event file {path} is not JSON") from None
    issue = data.get("issue") if isinstance(data, dict) else None
    if not isinstance(issue, dict) or not isinstance(issue.get("title"), str):
        raise NotARequestError("the event carries no issue")
    body = issue.get("body")
    return issue["title"], body if isinstance(body, str) else ""


def run(args: argparse.Namespace) -> int:
    from valet.issue_format import parse_issue

    if args.title is not None or args.body_file is not None:
        if args.event:
            raise UsageError("give either --title/--body-file or --event, not both")
        if args.title is None or args.body_file is None:
            raise UsageError("--title and --body-file go together",
                             hint="valet issue parse --title 'publish: o/r@1.0.0' --body-file body.md")
        title, body = args.title, _read_text(args.body_file)
    else:
        event = args.event or os.environ.get("GITHUB_EVENT_PATH")
        if not event:
            raise UsageError("no issue to parse",
                             hint="pass --title and --body-file, or --event FILE")
        title, body = issue_from_event(event)
    req = parse_issue(title, body)
    sys.stdout.write(json.dumps(req.to_json(), ensure_ascii=False) + "\n")
    return 0
