"""Everything publish writes for people: issue comments and the step summary.

Pure rendering. Every value that came from outside (target ids, file names,
error text from a registry, logins) is escaped with ``md_escape`` so it cannot
mention people, inject links or break the table. Hidden markers
(``<!-- valet:... -->``) carry the few facts a later run reads back.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from valet.gate import NO_CHECKS_HINT, Check, GateResult, Verdict
from valet.gha import md_escape

# Hidden markers at the start of the comments publish writes, and the records inside
# them that a later run (and ``valet audit``) reads back. Anyone can paste a marker:
# a comment counts only when the publish App wrote it (publish.approval.own_records).
MARKER_SUMMARY = "<!-- valet:summary -->"
MARKER_REFUSED = "<!-- valet:refused -->"
MARKER_FAILED = "<!-- valet:failed -->"
MARKERS: dict[str, str] = {
    "summary": MARKER_SUMMARY,
    "refused": MARKER_REFUSED,
    "failed": MARKER_FAILED,
}
APPROVED_MARKER = "valet:approved"
DONE_MARKER = "valet:done"
CI_MARKER = "valet:ci"  # what the sweep last saw of CI (ETags), on its ci-pending comment
_MARKER_RE = re.compile(r"<!-- (valet:[a-z]+) (\{[^<>]*\}) -->")


def body_digest(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def marker(kind: str, data: dict[str, object]) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e")  # stays inside the comment
    return f"<!-- {kind} {text} -->"


def read_markers(text: str, kind: str) -> list[dict[str, object]]:
    found = []
    for m in _MARKER_RE.finditer(text or ""):
        if m.group(1) != kind:
            continue
        try:
            data = json.loads(m.group(2))
        except ValueError:
            continue
        if isinstance(data, dict):
            found.append(data)
    return found


def with_marker(text: str, kind: str, data: dict[str, object]) -> str:
    """``text`` with its ``kind`` marker replaced by this one (or added at the end)."""
    kept = "".join(part for part in _split_markers(text, kind)).rstrip()
    return f"{kept}\n\n{marker(kind, data)}" if kept else marker(kind, data)


def _split_markers(text: str, kind: str) -> list[str]:
    out, last = [], 0
    for m in _MARKER_RE.finditer(text or ""):
        if m.group(1) == kind:
            out.append(text[last:m.start()])
            last = m.end()
    out.append((text or "")[last:])
    return out


def _e(text: object) -> str:
    return md_escape(str(text))


def _code(text: object) -> str:
    # Inside a code span nothing renders (no mention, no link); only the table pipe and
    # the backtick itself need care.
    clean = str(text).replace("`", "'").replace("\r", " ").replace("\n", " ").replace("|", "\\|")
    return f"`{clean}`"


def _who(login: str | None) -> str:
    # A login in a code span: shown, but nobody is notified by our bot.
    return f"`{login}`" if login and re.match(r"^[A-Za-z0-9\-\[\]]+$", login) else "someone"


def _link(label: str, url: str | None) -> str:
    if url and re.match(r"^https?://[^\s()<>]+$", url):
        return f"[{_e(label)}]({url})"
    return _e(label)


def _hint(hint: str) -> str:
    """A hint's words, escaped; the YAML it ends with (its lines indented by four spaces
    or more) as a code block, so it can be pasted as it is (nothing renders in there)."""
    lines = hint.split("\n")
    start = next((i for i, line in enumerate(lines) if i and line.startswith("    ")), None)
    if start is None or not all(not x.strip() or x.startswith("    ") for x in lines[start:]):
        return _e(hint)
    block = "\n".join(x[4:] for x in lines[start:]).replace("`", "'")
    return f"{_e(' '.join(lines[:start]))}\n\n```yaml\n{block}\n```"


def _run(run_url: str | None) -> str:
    return f"\n\n{_link('workflow run', run_url)}" if run_url else ""


def refused(reason: str, hint: str | None, run_url: str | None) -> str:
    text = f"{MARKER_REFUSED}\n:no_entry: **Approval refused — nothing was published.**\n\n{_e(reason)}"
    if hint:
        text += f"\n\n**What to do:** {_hint(hint)}"
    text += "\n\nThe `accepted` label was removed."
    return text + _run(run_url)


def _check_lines(checks: Iterable[Check]) -> str:
    return "\n".join(f"- {_link(c.name, c.url)} — {_code(c.state)}" for c in checks)


def ci_pending(result: GateResult, sha: str, body: str, approver: str, run_url: str | None,
               approval: int | None = None) -> str:
    if result.verdict is Verdict.NONE:
        text = (f":hourglass: **Waiting for CI** on {_code(sha)}.\n\n{_e(NO_CHECKS_HINT)}")
    else:
        text = (f":hourglass: **Waiting for CI** on {_code(sha)}: approved by {_who(approver)}; "
                f"a scheduled run publishes once these finish green:\n\n"
                f"{_check_lines(result.pending)}")
    text += "\n\nThe label `ci-pending` stays on until then; nothing is published before."
    # The record a scheduled run compares the body with: it counts only as written by the
    # publish App, for this approval (the id of its `labeled accepted` event).
    text += "\n\n" + marker(APPROVED_MARKER, {"body_sha256": body_digest(body), "approver": approver,
                                              "event": approval})
    return text + _run(run_url)


def ci_failed(result: GateResult, sha: str, run_url: str | None) -> str:
    return (f"{MARKER_FAILED}\n:x: **CI failed** on the release commit {_code(sha)} — nothing was published.\n\n"
            f"{_check_lines(result.failing)}\n\n"
            "Fix the failure on the release branch (re-run the prepare workflow for a new "
            "request) or re-run the failed checks, then add `accepted` again."
            + _run(run_url))


def stale(reason: str, run_url: str | None) -> str:
    """A run that found no approval to act on (an old event re-run, a label already gone)."""
    return (f":information_source: **Nothing was published.** {_e(reason)}\n\n"
            "To publish this request, an approver adds `accepted` again." + _run(run_url))


def failure(title: str, message: str, hint: str | None, run_url: str | None, *,
            target: str | None = None, done: Iterable[str] = (), resume: bool = True) -> str:
    where = f" on target {_code(target)}" if target else ""
    text = f"{MARKER_FAILED}\n:x: **{_e(title)}{where}.**\n\n{_e(message)}"
    if hint:
        text += f"\n\n**How to fix:** {_hint(hint)}"
    done = list(done)
    if done:
        text += ("\n\nAlready published (ticked, never uploaded again): "
                 + ", ".join(f"{_code(d)}" for d in done))
    if resume:
        text += "\n\nAdd `accepted` again to resume: only unticked targets are published."
    text += "\n\n" + marker(DONE_MARKER, {"targets": done})
    return text + _run(run_url)


@dataclass
class Row:
    key: str
    outcome: str  # published / already published / ticked before / failed / not run / planned
    detail: str = ""
    digests: dict[str, str] = field(default_factory=dict)
    url: str | None = None


def _digest_cell(digests: dict[str, str]) -> str:
    return "<br>".join(f"{_e(n)}: {_code(d)}" for n, d in sorted(digests.items())) or "-"


def table(rows: Iterable[Row]) -> str:
    lines = ["| target | outcome | published | sha256 | link |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {_code(r.key)} | {_e(r.outcome)} | {_e(r.detail) or '-'} | "
                     f"{_digest_cell(r.digests)} | {_link('open', r.url) if r.url else '-'} |")
    return "\n".join(lines)


def plan(title: str, rows: Iterable[Row], ci: str, run_url: str | None) -> str:
    return (f":clipboard: **Dry run for {_e(title)}** — nothing was uploaded, merged, ticked "
            f"or closed.\n\nCI: {_e(ci)}\n\n{table(rows)}\n\nRemove `dry-run` and add "
            "`accepted` to publish." + _run(run_url))


def published(title: str, rows: Iterable[Row], approver: str, merge: str,
              run_url: str | None, *, done: Iterable[str] = (), approval: int | None = None,
              body: str | None = None) -> str:
    """The last word on a published request. Its record (the targets valet published or
    found published, the `labeled accepted` event it acted on, its actor and the digest
    of the body approved) is what ``valet audit`` reads back, from the publish App's
    comments only."""
    what = title[len("publish: "):] if title.startswith("publish: ") else title
    record = marker(DONE_MARKER, {"targets": list(done), "event": approval, "approver": approver,
                                  "body_sha256": body_digest(body) if body is not None else None})
    return (f"{MARKER_SUMMARY}\n:rocket: **Published {_e(what)}**, approved by {_who(approver)}.\n\n"
            f"{table(rows)}\n\n{_e(merge)}\n\n{record}" + _run(run_url))


def step_summary(title: str, *, approver: str | None, ci: str, rows: Iterable[Row],
                 outcome: str, links: dict[str, str | None]) -> str:
    parts = [f"## valet publish: {_e(title)}", "",
             f"- outcome: **{_e(outcome)}**",
             f"- approver: {_who(approver)}",
             f"- CI: {_e(ci)}"]
    for label, url in links.items():
        if url:
            parts.append(f"- {_link(label, url)}")
    rows = list(rows)
    if rows:
        parts += ["", table(rows)]
    return "\n".join(parts)
