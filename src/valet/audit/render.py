"""The audit's rows as markdown, JSON or CSV (pure).

Every cell that came from GitHub (titles, logins, target ids, file names, flag
details) is escaped for its format: markdown cannot mention anyone or inject a
link, and no CSV cell starts a spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable

from valet import gha
from valet.audit.facts import iso
from valet.audit.rows import AuditRow

COLUMNS = ("issue", "repo", "version", "state", "requester", "approver", "approved_at",
           "published_at", "publisher", "targets", "artifacts", "run_url", "flags")


def _targets_text(row: AuditRow) -> str:
    return "; ".join(t.text for t in row.targets)


def _artifacts_text(row: AuditRow) -> str:
    return "; ".join(f"{a.name} ({a.size} bytes) sha256:{a.sha256}" for a in row.artifacts)


def _flags_text(row: AuditRow) -> str:
    return "; ".join(str(f) for f in row.flags)


def _safe_url(url: str) -> bool:
    # Only plain http(s) URLs become links; anything else is not shown as a link.
    return re.fullmatch(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~%/-]*)?",
                        url) is not None


def render_md(rows: list[AuditRow]) -> str:
    flagged = sum(1 for r in rows if r.flagged)
    lines = [
        "## valet audit",
        "",
        f"{len(rows)} publish request(s), {flagged} flagged.",
        "",
        "| | issue | repo | version | state | requester | approver | approved | published "
        "| publisher | targets | artifacts | run | flags |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        mark = ":warning:" if r.flagged else ":white_check_mark:"
        issue = f"[\\#{r.number}]({r.url})" if r.url and _safe_url(r.url) else f"\\#{r.number}"
        run = f"[run]({r.run_url})" if r.run_url and _safe_url(r.run_url) else ""
        cells = [
            mark, issue, gha.md_escape(r.repo), gha.md_escape(r.version), r.state,
            gha.md_escape(r.requester or "unverified"), gha.md_escape(r.approver or ""),
            iso(r.approved_at) or "", iso(r.published_at) or "",
            gha.md_escape(r.publisher or ""),
            "<br>".join(gha.md_escape(t.text) for t in r.targets),
            "<br>".join(gha.md_escape(f"{a.name} ({a.size} bytes) sha256:{a.sha256}")
                        for a in r.artifacts),
            run,
            "<br>".join("**" + gha.md_escape(f.code) + "** " + gha.md_escape(f.detail)
                        for f in r.flags),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def render_json(rows: list[AuditRow]) -> str:
    data = {"requests": [r.to_json() for r in rows],
            "flagged": sum(1 for r in rows if r.flagged)}
    return json.dumps(data, indent=2, sort_keys=False) + "\n"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not evaluate: a leading formula character gets a quote."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def render_csv(rows: list[AuditRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow([csv_cell(v) for v in (
            r.number, r.repo, r.version, r.state, r.requester, r.approver,
            iso(r.approved_at), iso(r.published_at), r.publisher, _targets_text(r),
            _artifacts_text(r), r.run_url, _flags_text(r),
        )])
    return out.getvalue()


RENDERERS: dict[str, Callable[[list[AuditRow]], str]] = {
    "md": render_md,
    "json": render_json,
    "csv": render_csv,
}
