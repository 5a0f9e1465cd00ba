"""Changelog policies: none, simple and auto (pure: text in, text out).

- ``none``: the file is left alone; the section is empty.
- ``simple``: a non-empty section for the version must exist (it is returned
  as is), or a non-empty ``Unreleased`` section is renamed to the version.
- ``auto``: a section is written from the commits since the last tag, grouped
  by conventional-commit type, PR links when a subject ends in ``(#N)``. An
  existing non-empty section for the version (or a non-empty ``Unreleased``
  one, which is renamed) wins over the generated text: people's words first.

Headings are found in ATX (``## 1.2.3``) and setext (``1.2.3`` over ``---``)
form, outside fenced code blocks; a version heading may be written
``1.2.3``, ``v1.2.3``, ``[1.2.3] - 2024-05-01`` or ``1.2.3 (2024-05-01)``. New
headings copy the date style of the newest existing one.

Commit subjects are data. Each becomes one list item on one line: whitespace is
collapsed, a leading ``#``/``>``/``=`` is escaped and HTML-looking ``<`` become
``&lt;``, so no subject can open a heading, a quote or a hidden comment. On top
of that, the result is parsed again and refused unless its version headings
are exactly the old ones plus the new one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from valet.errors import VersionError
from valet.version import commit_level, is_merge_subject, parse_commit, parse_version

if TYPE_CHECKING:
    from valet.git import Commit


class ChangelogError(VersionError):
    """The changelog has no entry for the version being released (policy simple)."""

    title = "changelog entry missing"


@dataclass(frozen=True)
class ChangelogResult:
    text: str | None  # the new file content; None when the file stays as it is
    section: str  # the version's section body (no heading), "" for policy none


# Groups in the order they are written; the key is the conventional type.
GROUPS: tuple[tuple[str, str], ...] = (
    ("breaking", "Breaking Changes"),
    ("feat", "Features"),
    ("fix", "Bug Fixes"),
    ("perf", "Performance"),
    ("revert", "Reverts"),
    ("docs", "Documentation"),
    ("other", "Other Changes"),
)
NO_CHANGES = "No user-facing changes."

_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX_RE = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT_RE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_LIST_OR_BLOCK_RE = re.compile(r"^ {0,3}([-*+]\s|\d+[.)]\s|>|#|```|~~~)")
_UNRELEASED_RE = re.compile(r"^\[?\s*unreleased\s*\]?(\s.*)?$", re.IGNORECASE)
_PR_RE = re.compile(r"\s*\(#(\d{1,9})\)\s*$")
_DATE = r"\d{4}-\d{2}-\d{2}"


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    start: int  # index of the heading's first line
    end: int  # index after its last line (setext headings take two lines)
    setext: bool


def parse_headings(lines: Sequence[str]) -> list[Heading]:
    heads: list[Heading] = []
    fence: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _FENCE_RE.match(line)
        if fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            i += 1
            continue
        if m:
            fence = m.group(1)
            i += 1
            continue
        atx = _ATX_RE.match(line)
        if atx:
            heads.append(Heading(len(atx.group(1)), (atx.group(2) or "").strip(), i, i + 1, False))
            i += 1
            continue
        if (i + 1 < len(lines) and line.strip() and not _LIST_OR_BLOCK_RE.match(line)
                and (i == 0 or not lines[i - 1].strip() or heads and heads[-1].end == i)):
            under = _SETEXT_RE.match(lines[i + 1])
            if under:
                level = 1 if under.group(1)[0] == "=" else 2
                heads.append(Heading(level, line.strip(), i, i + 2, True))
                i += 2
                continue
        i += 1
    return heads


def heading_version(text: str) -> str | None:
    """The version a heading names (``v1.2.3``, ``[1.2.3] - date`` …), or None."""
    t = text.strip()
    if t.startswith("["):
        close = t.find("]")
        if close < 0:
            return None
        t = t[1:close]
    t = t.split()[0] if t.split() else ""
    if t[:1] in ("v", "V"):
        t = t[1:]
    try:
        return str(parse_version(t))
    except VersionError:
        return None


def _is_unreleased(text: str) -> bool:
    return bool(_UNRELEASED_RE.match(text.strip()))


def _section_end(heads: list[Heading], index: int, total: int) -> int:
    level = heads[index].level
    for h in heads[index + 1:]:
        if h.level <= level:
            return h.start
    return total


def _body(lines: list[str], start: int, end: int) -> str:
    return "\n".join(lines[start:end]).strip("\n").strip()


def _version_counts(lines: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for h in parse_headings(lines):
        v = heading_version(h.text)
        if v:
            counts[v] = counts.get(v, 0) + 1
    return counts


# -- rendering ---------------------------------------------------------------------


def sanitize_line(text: str) -> str:
    """One line of inline markdown that cannot start a block of its own."""
    out = " ".join(text.split())
    out = re.sub(r"<(?=[A-Za-z/!?])", "&lt;", out)
    if out[:1] in ("#", ">", "=", "|"):
        out = "\\" + out
    return out


def render_entry(subject: str, body: str, repo_url: str | None) -> tuple[str, str] | None:
    """(group key, list item) for one commit, or None if it is left out."""
    parsed = parse_commit(subject, body)
    if is_merge_subject(parsed.subject) or commit_level(parsed) == "none" and parsed.type != "docs":
        return None
    desc = parsed.description
    link = ""
    m = _PR_RE.search(desc)
    if m:
        desc = desc[: m.start()]
        number = m.group(1)
        link = f" ([#{number}]({repo_url.rstrip('/')}/pull/{number}))" if repo_url else \
            f" (#{number})"
    text = sanitize_line(desc) or "(no description)"
    if parsed.scope:
        text = f"**{sanitize_line(parsed.scope)}**: {text}"
    if parsed.breaking:
        key = "breaking"
    elif parsed.type in ("feat", "fix", "perf", "revert", "docs"):
        key = parsed.type
    else:
        key = "other"
    return key, f"- {text}{link}"


def render_section(commits: Sequence[Commit | tuple[str, str]], *, repo_url: str | None,
                   level: int = 2) -> str:
    """The body of an auto section: one sub-heading per non-empty group."""
    grouped: dict[str, list[str]] = {key: [] for key, _ in GROUPS}
    for c in commits:
        subject, body = (c if isinstance(c, tuple) else (c.subject, c.body))
        entry = render_entry(subject, body, repo_url)
        if entry:
            grouped[entry[0]].append(entry[1])
    blocks = []
    sub = "#" * min(level + 1, 6)
    for key, title in GROUPS:
        if grouped[key]:
            blocks.append(f"{sub} {title}\n\n" + "\n".join(grouped[key]))
    return "\n\n".join(blocks) if blocks else NO_CHANGES


def _heading_text(version: str, style_from: str | None, today: date) -> str:
    if style_from:
        if re.match(rf"^\[[^\]]+\]\s+-\s+{_DATE}", style_from):
            return f"[{version}] - {today.isoformat()}"
        if re.match(rf"^\S+\s+\({_DATE}\)\s*$", style_from):
            return f"{version} ({today.isoformat()})"
        if re.match(rf"^\S+\s+-\s+{_DATE}\s*$", style_from):
            return f"{version} - {today.isoformat()}"
    return version


def _heading_lines(head: Heading | None, level: int, text: str, old: list[str]) -> list[str]:
    if head is not None and head.setext:
        return [text, old[head.start + 1]]
    return ["#" * level + " " + text]


# -- the policies ---------------------------------------------------------------------


def apply_changelog(policy: str, current_text: str | None, version: str,
                    commits: Sequence[Commit], *, repo_url: str | None,
                    today: date) -> ChangelogResult:
    if policy == "none":
        return ChangelogResult(None, "")
    if policy not in ("simple", "auto"):
        raise VersionError(f"unknown changelog policy {policy!r}",
                           hint="use none, simple or auto")
    version = str(parse_version(version))
    text = current_text or ""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    heads = parse_headings(lines)
    version_heads = [i for i, h in enumerate(heads) if heading_version(h.text)]
    mine = [i for i in version_heads if heading_version(heads[i].text) == version]
    unreleased = [i for i, h in enumerate(heads) if _is_unreleased(h.text)]

    if mine:
        i = mine[0]
        body = _body(lines, heads[i].end, _section_end(heads, i, len(lines)))
        if body:
            return ChangelogResult(None, body)
        if policy == "simple":
            raise ChangelogError(
                f"the changelog section for {version} is empty",
                hint=f"write what changed in {version} under its heading, then re-run")
        generated = render_section(commits, repo_url=repo_url, level=heads[i].level)
        new_lines = lines[: heads[i].end] + ["", *generated.split("\n"), ""] + \
            lines[_section_end(heads, i, len(lines)):]
        return _finish(lines, new_lines, version, newline, generated)

    style = heads[version_heads[0]].text if version_heads else None
    if unreleased:
        i = unreleased[0]
        h = heads[i]
        end = _section_end(heads, i, len(lines))
        body = _body(lines, h.end, end)
        if not body and policy == "simple":
            raise ChangelogError(
                "the changelog's Unreleased section is empty",
                hint=f"write what changed in {version} under the Unreleased heading, then re-run")
        heading = _heading_lines(h, h.level, _heading_text(version, style, today), lines)
        if body:
            new_lines = lines[: h.start] + heading + lines[h.end:]
            return _finish(lines, new_lines, version, newline, body)
        generated = render_section(commits, repo_url=repo_url, level=h.level)
        new_lines = lines[: h.start] + heading + ["", *generated.split("\n"), ""] + lines[end:]
        return _finish(lines, new_lines, version, newline, generated)

    if policy == "simple":
        raise ChangelogError(
            f"the changelog has no section for {version} and no Unreleased section",
            hint=f"add a '## {version}' (or '## Unreleased') heading with the changes to the "
                 "changelog file, commit it, then re-run")

    level = heads[version_heads[0]].level if version_heads else 2
    generated = render_section(commits, repo_url=repo_url, level=level)
    block = ["#" * level + " " + _heading_text(version, style, today), "",
             *generated.split("\n"), ""]
    if not text.strip():
        new_lines = ["# Changelog", "", *block]
        return _finish([], new_lines, version, newline, generated)
    if version_heads:
        pos = heads[version_heads[0]].start
    else:
        h1 = next((h for h in heads if h.level == 1), None)
        after = [h for h in heads if h1 is not None and h.start > h1.start and h.level >= 2]
        pos = after[0].start if after else (len(lines) if h1 is not None else 0)
    before = lines[:pos]
    if before and before[-1].strip():
        before = before + [""]
    new_lines = before + block + lines[pos:]
    return _finish(lines, new_lines, version, newline, generated)


def _finish(old: list[str], new: list[str], version: str, newline: str,
            section: str) -> ChangelogResult:
    # The guard that makes heading injection impossible, whatever the escaping missed.
    before, after = _version_counts(old), _version_counts(new)
    expected = dict(before)
    expected[version] = 1
    if after != expected:
        raise ChangelogError(
            f"refusing to write the changelog: the new text would change version headings "
            f"other than {version}",
            hint="check the commit subjects since the last tag for markdown headings")
    while new and new[-1] == "":
        new = new[:-1]
    return ChangelogResult(newline.join(new) + newline, section.strip())
