"""Changelog policies: none, simple and auto (pure: text in, text out).

- ``none``: the file is left alone; the section is empty.
- ``simple``: a non-empty section for the version must exist (it is returned
  as is), or a non-empty ``Unreleased`` section is renamed to the version.
- ``auto``: a section is written from the commits since the last tag, grouped
  by conventional-commit type, PR links when a subject ends in ``(#N)``.
  Commits that are not conventional are grouped by their pull request's
  labels when the repository's ``.github/release.yml`` defines categories
  (``categories``; the pull requests are looked up by ``changelog.pulls``),
  else listed under "Other Changes". An existing non-empty section for the
  version (or a non-empty ``Unreleased`` one, which is renamed) wins over the
  generated text: people's words first.

The file keeps its format (``changelog.headings``): markdown (ATX or setext)
or reStructuredText, headings in the style and level of its version headings,
and a version heading may be written ``1.2.3``, ``v1.2.3``, ``[1.2.3] -
2024-05-01`` or ``1.2.3 (2024-05-01)``. New headings copy the date style of the
newest existing one.

Commit subjects are data. Each becomes one list item on one line: whitespace is
collapsed and whatever could start a block of its own in the file's format is
escaped (a leading ``#``/``>``/``=``, HTML-looking ``<``, rst's ``..`` and
inline markup), so no subject can open a heading, a quote, a directive or a
hidden comment. On top of that, the result is parsed again and refused unless
its version headings are exactly the old ones plus the new one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from valet.changelog.categories import UNCATEGORIZED, Categories, PullRequest
from valet.changelog.headings import (
    Dialect,
    Heading,
    Style,
    bullet,
    detect_dialect,
    heading_lines,
    parse_headings,
    sub_style,
)
from valet.errors import VersionError
from valet.version import commit_level, is_merge_subject, parse_commit, parse_version

if TYPE_CHECKING:
    from valet.git import Commit

__all__ = ["ChangelogError", "ChangelogResult", "apply_changelog", "parse_headings",
           "render_section"]


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

_UNRELEASED_RE = re.compile(r"^\[?\s*unreleased\s*\]?(\s.*)?$", re.IGNORECASE)
_PR_RE = re.compile(r"\s*\(#(\d{1,9})\)\s*$")
_DATE = r"\d{4}-\d{2}-\d{2}"
_RST_INLINE_RE = re.compile(r"([\\*`|_])")


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


def _version_counts(lines: list[str], dialect: Dialect) -> dict[str, int]:
    counts: dict[str, int] = {}
    for h in parse_headings(lines, dialect):
        v = heading_version(h.text)
        if v:
            counts[v] = counts.get(v, 0) + 1
    return counts


# -- rendering ---------------------------------------------------------------------


def sanitize_line(text: str, dialect: Dialect = "markdown") -> str:
    """One line of inline text that cannot start a block of its own in ``dialect``."""
    out = " ".join(text.split())
    if dialect == "markdown":
        out = re.sub(r"<(?=[A-Za-z/!?])", "&lt;", out)
    else:  # rst and plain: a backslash escapes in both (and in markdown too)
        out = _RST_INLINE_RE.sub(r"\\\1", out)
        out = re.sub(r"<(?=[A-Za-z/!?])", r"\\<", out)
        if out.startswith(".."):
            out = "\\" + out
    if out[:1] in ("#", ">", "=", "|"):
        out = "\\" + out
    return out


@dataclass(frozen=True)
class Entry:
    """One list item, before it is written in a file's format."""

    description: str
    scope: str | None = None
    pr: int | None = None


def classify(subject: str, body: str) -> tuple[str, Entry] | None:
    """(group key, entry) for one commit, or None if it is left out."""
    parsed = parse_commit(subject, body)
    if is_merge_subject(parsed.subject) or commit_level(parsed) == "none" and parsed.type != "docs":
        return None
    desc = parsed.description
    number = None
    m = _PR_RE.search(desc)
    if m:
        desc = desc[: m.start()]
        number = int(m.group(1))
    if parsed.breaking:
        key = "breaking"
    elif parsed.type in ("feat", "fix", "perf", "revert", "docs"):
        key = parsed.type
    else:
        key = "other"
    return key, Entry(desc, parsed.scope or None, number)


def _item(entry: Entry, repo_url: str | None, dialect: Dialect, marker: str = "-") -> str:
    text = sanitize_line(entry.description, dialect) or "(no description)"
    if entry.scope:
        text = f"**{sanitize_line(entry.scope, dialect)}**: {text}"
    link = ""
    if entry.pr is not None:
        url = f"{repo_url.rstrip('/')}/pull/{entry.pr}" if repo_url else None
        if url and dialect == "markdown":
            link = f" ([#{entry.pr}]({url}))"
        elif url and dialect == "rst":
            link = f" (`#{entry.pr} <{url}>`__)"
        else:
            link = f" (#{entry.pr})"
    return f"{marker} {text}{link}"


def render_entry(subject: str, body: str, repo_url: str | None) -> tuple[str, str] | None:
    """(group key, markdown list item) for one commit, or None if it is left out."""
    found = classify(subject, body)
    return None if found is None else (found[0], _item(found[1], repo_url, "markdown"))


def group_entries(commits: Sequence[Commit | tuple[str, str]], *,
                  categories: Categories | None = None,
                  pulls: Mapping[str, PullRequest] | None = None) -> dict[str, list[Entry]]:
    """Entries by group title, in the order they are written: conventional types first,
    then the release.yml categories (a title equal to a type's joins it), then Other
    Changes. ``pulls``: the pull request of a commit, by sha."""
    titles = dict(GROUPS)
    grouped: dict[str, list[Entry]] = {title: [] for key, title in GROUPS if key != "other"}
    if categories is not None:
        for cat in categories.categories:
            grouped.setdefault(cat.title, [])
    grouped.setdefault(UNCATEGORIZED, [])
    for c in commits:
        subject, body, sha = (c[0], c[1], None) if isinstance(c, tuple) else (
            c.subject, c.body, c.sha)
        found = classify(subject, body)
        if found is None:
            continue
        key, entry = found
        if key != "other":
            grouped[titles[key]].append(entry)
            continue
        if categories is None:
            grouped[UNCATEGORIZED].append(entry)
            continue
        title = categories.title_for((pulls or {}).get(sha or ""))
        if title is not None:  # None: excluded from release notes by release.yml
            grouped[title].append(entry)
    return {title: items for title, items in grouped.items() if items}


def render_groups(groups: Mapping[str, list[Entry]], *, repo_url: str | None,
                  dialect: Dialect = "markdown", style: Style | None = None,
                  level: int = 3, marker: str = "-") -> str:
    style = style or Style("atx")
    blocks = []
    for title, items in groups.items():
        head = heading_lines(sanitize_line(title, dialect), style, level)
        blocks.append("\n".join([*head, "", *(_item(e, repo_url, dialect, marker)
                                                for e in items)]))
    return "\n\n".join(blocks) if blocks else NO_CHANGES


def render_section(commits: Sequence[Commit | tuple[str, str]], *, repo_url: str | None,
                   level: int = 2, categories: Categories | None = None,
                   pulls: Mapping[str, PullRequest] | None = None) -> str:
    """The markdown body of an auto section (one sub-heading per non-empty group), as the
    approval issue and the release notes show it."""
    groups = group_entries(commits, categories=categories, pulls=pulls)
    return render_groups(groups, repo_url=repo_url, level=min(level + 1, 6))


def _heading_text(version: str, style_from: str | None, today: date) -> str:
    if style_from:
        if re.match(rf"^\[[^\]]+\]\s+-\s+{_DATE}", style_from):
            return f"[{version}] - {today.isoformat()}"
        if re.match(rf"^\S+\s+\({_DATE}\)\s*$", style_from):
            return f"{version} ({today.isoformat()})"
        if re.match(rf"^\S+\s+-\s+{_DATE}\s*$", style_from):
            return f"{version} - {today.isoformat()}"
    return version


# -- the policies ---------------------------------------------------------------------


@dataclass
class _File:
    lines: list[str]
    dialect: Dialect
    heads: list[Heading]
    marker: str = "-"


class _Writer:
    """The generated section of one release, in the file's format and as markdown."""

    def __init__(self, commits: Sequence[Commit], repo_url: str | None, file: _File,
                 categories: Categories | None, pulls: Mapping[str, PullRequest] | None) -> None:
        self.groups = group_entries(commits, categories=categories, pulls=pulls)
        self.repo_url = repo_url
        self.file = file

    def body(self, version_head: Heading | None, level: int) -> tuple[list[str], str]:
        """(lines for the file, markdown for the release notes)."""
        style, sub = sub_style(self.file.heads, version_head, self.file.dialect, level)
        text = render_groups(self.groups, repo_url=self.repo_url, dialect=self.file.dialect,
                             style=style, level=sub, marker=self.file.marker)
        notes = render_groups(self.groups, repo_url=self.repo_url, level=3)
        return text.split("\n"), notes


def apply_changelog(policy: str, current_text: str | None, version: str,
                    commits: Sequence[Commit], *, repo_url: str | None, today: date,
                    filename: str | None = None, categories: Categories | None = None,
                    pulls: Mapping[str, PullRequest] | None = None) -> ChangelogResult:
    """``filename`` (its suffix) helps tell the format; ``categories`` and ``pulls``
    group the commits that are not conventional (see the module docstring)."""
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
    dialect = detect_dialect(lines, filename)
    heads = parse_headings(lines, dialect)
    file = _File(lines, dialect, heads, bullet(lines))
    writer = _Writer(commits, repo_url, file, categories, pulls)
    version_heads = [i for i, h in enumerate(heads) if heading_version(h.text)]
    mine = [i for i in version_heads if heading_version(heads[i].text) == version]
    unreleased = [i for i, h in enumerate(heads) if _is_unreleased(h.text)]

    def finish(new_lines: list[str], section: str) -> ChangelogResult:
        return _finish(lines, new_lines, version, newline, section, dialect)

    if mine:
        i = mine[0]
        body = _body(lines, heads[i].end, _section_end(heads, i, len(lines)))
        if body:
            return ChangelogResult(None, body)
        if policy == "simple":
            raise ChangelogError(
                f"the changelog section for {version} is empty",
                hint=f"write what changed in {version} under its heading, then re-run")
        generated, notes = writer.body(heads[i], heads[i].level)
        new_lines = lines[: heads[i].end] + ["", *generated, ""] + \
            lines[_section_end(heads, i, len(lines)):]
        return finish(new_lines, notes)

    newest = heads[version_heads[0]] if version_heads else None
    style_text = newest.text if newest else None
    if unreleased:
        i = unreleased[0]
        h = heads[i]
        end = _section_end(heads, i, len(lines))
        body = _body(lines, h.end, end)
        if not body and policy == "simple":
            raise ChangelogError(
                "the changelog's Unreleased section is empty",
                hint=f"write what changed in {version} under the Unreleased heading, then re-run")
        heading = heading_lines(_heading_text(version, style_text, today), h.style, h.level,
                                like=h)
        if body:
            return finish(lines[: h.start] + heading + lines[h.end:], body)
        generated, notes = writer.body(h, h.level)
        return finish(lines[: h.start] + heading + ["", *generated, ""] + lines[end:], notes)

    if policy == "simple":
        example = "\n".join(heading_lines(version, newest.style, newest.level, like=newest)) \
            if newest else f"## {version}"
        raise ChangelogError(
            f"the changelog has no section for {version} and no Unreleased section",
            hint=f"add a {example!r} (or Unreleased) heading with the changes to the "
                 "changelog file, commit it, then re-run")

    title = [] if text.strip() else [*heading_lines("Changelog", *_title_style(dialect)), ""]
    if title:  # an empty file: its title comes first, and counts for the styles below
        file.heads = parse_headings(title, dialect)
    style, level = _new_version_style(file, newest)
    heading = heading_lines(_heading_text(version, style_text, today), style, level, like=newest)
    if title:
        file.heads = parse_headings([*title, *heading, ""], dialect)
    generated, notes = writer.body(newest or Heading(level, version, 0, 0, style), level)
    block = [*heading, "", *generated, ""]
    if title:
        return finish([*title, *block], notes)
    if version_heads:
        pos = heads[version_heads[0]].start
    else:
        h1 = next((h for h in heads if h.level == 1), None)
        after = [h for h in heads if h1 is not None and h.start > h1.start and h.level >= 2]
        pos = after[0].start if after else (len(lines) if h1 is not None else 0)
    before = lines[:pos]
    if before and before[-1].strip():
        before = before + [""]
    return finish(before + block + lines[pos:], notes)


def _title_style(dialect: Dialect) -> tuple[Style, int]:
    return (Style("atx"), 1) if dialect == "markdown" else (Style("rst", "="), 1)


def _new_version_style(file: _File, newest: Heading | None) -> tuple[Style, int]:
    """The style of a new version heading: the newest one's, else one level under the
    file's title, in the file's format."""
    if newest is not None:
        return newest.style, newest.level
    title = file.heads[0] if file.heads else None
    if file.dialect == "markdown" or title is None:
        return Style("atx"), 2
    if title.style.kind == "setext":
        return Style("setext", "-"), 2
    return sub_style(file.heads, title, "rst", title.level)


def _finish(old: list[str], new: list[str], version: str, newline: str,
            section: str, dialect: Dialect) -> ChangelogResult:
    # The guard that makes heading injection impossible, whatever the escaping missed.
    before, after = _version_counts(old, dialect), _version_counts(new, dialect)
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
