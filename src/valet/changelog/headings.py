"""Headings of a changelog file, in the style the file uses (pure).

Three heading styles:

- ATX (markdown): ``## 1.2.3``;
- setext (markdown): ``1.2.3`` over a line of ``=`` (level 1) or ``-`` (level 2);
- reStructuredText: a title under a line of one punctuation character, with or
  without the same line above it; levels follow the order in which the file
  first uses each (character, overline) pair, as docutils does.

``detect_dialect`` decides how a file is read and written: ``markdown`` (an
ATX heading, or a ``.md`` name), ``rst`` (a ``.rst`` name, an overline, an
underline character markdown does not have, a directive) or ``plain`` (only
``=``/``-`` underlines: readable as both, so new text uses only what both
render the same). Fenced code blocks (markdown) hide headings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

Dialect = Literal["markdown", "rst", "plain"]

_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX_RE = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT_RE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_LIST_OR_BLOCK_RE = re.compile(r"^ {0,3}([-*+]\s|\d+[.)]\s|>|#|```|~~~)")
# docutils accepts any of these as a section adornment
_RST_CHARS = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
_RST_RULE_RE = re.compile(r"^([" + re.escape(_RST_CHARS) + r"])\1{2,}[ \t]*$")
# a directive or comment, a hyperlink, an inline literal: rst, not markdown
_RST_MARKERS_RE = re.compile(r"^\.\. [\w|:-]|`[^`]+ <[^>]+>`__?|``[^`]+``")
_BULLET_RE = re.compile(r"^([-*+]) \S")
# Underline characters for a new sub-level in an rst file, in docutils' suggested order.
_RST_SUB_CHARS = "=-~^\"'`+*#:."


@dataclass(frozen=True)
class Style:
    kind: Literal["atx", "setext", "rst", "bold"]  # bold: a **line**, not a heading
    char: str = ""  # the underline character (setext, rst)
    overline: bool = False  # rst: the same line above the title


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    start: int  # index of the heading's first line
    end: int  # index after its last line
    style: Style
    rule: str = ""  # its underline as written (setext, rst)


def detect_dialect(lines: Sequence[str], filename: str | None = None) -> Dialect:
    suffix = PurePosixPath(filename or "").suffix.lower()
    if suffix in (".rst", ".rest"):
        return "rst"
    if suffix in (".md", ".markdown", ".mdown"):
        return "markdown"
    heads = _parse_rst(lines)
    if any(h.style.overline or h.style.char not in "=-" for h in heads) or any(
            _RST_MARKERS_RE.search(line) for line in lines):
        return "rst"
    if any(h.style.kind == "atx" for h in _parse_markdown(lines)):
        return "markdown"
    return "plain" if heads else "markdown"


def parse_headings(lines: Sequence[str], dialect: Dialect = "markdown") -> list[Heading]:
    return _parse_rst(lines) if dialect == "rst" else _parse_markdown(lines)


def _parse_markdown(lines: Sequence[str]) -> list[Heading]:
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
            heads.append(Heading(len(atx.group(1)), (atx.group(2) or "").strip(), i, i + 1,
                                 Style("atx")))
            i += 1
            continue
        if (i + 1 < len(lines) and line.strip() and not _LIST_OR_BLOCK_RE.match(line)
                and (i == 0 or not lines[i - 1].strip() or heads and heads[-1].end == i)):
            under = _SETEXT_RE.match(lines[i + 1])
            if under:
                char = under.group(1)[0]
                heads.append(Heading(1 if char == "=" else 2, line.strip(), i, i + 2,
                                     Style("setext", char), rule=lines[i + 1].strip()))
                i += 2
                continue
        i += 1
    return heads


def _parse_rst(lines: Sequence[str]) -> list[Heading]:
    heads: list[Heading] = []
    levels: list[Style] = []
    i = 0
    while i < len(lines):
        over = _RST_RULE_RE.match(lines[i])
        if (over and i + 2 < len(lines) and lines[i + 1].strip()
                and not _RST_RULE_RE.match(lines[i + 1]) and lines[i + 2].strip() == lines[i].strip()
                and (i == 0 or not lines[i - 1].strip())):
            style = Style("rst", over.group(1), overline=True)
            heads.append(Heading(_level(levels, style), lines[i + 1].strip(), i, i + 3, style,
                                 rule=lines[i].strip()))
            i += 3
            continue
        line = lines[i]
        if (i + 1 < len(lines) and line.strip() and not line[:1].isspace()
                and not _RST_RULE_RE.match(line)
                and (i == 0 or not lines[i - 1].strip() or heads and heads[-1].end == i)):
            under = _RST_RULE_RE.match(lines[i + 1])
            if under and (i + 2 >= len(lines) or not lines[i + 2].strip()
                          or lines[i + 2].strip() != lines[i + 1].strip()):
                style = Style("rst", under.group(1))
                heads.append(Heading(_level(levels, style), line.strip(), i, i + 2, style,
                                     rule=lines[i + 1].strip()))
                i += 2
                continue
        i += 1
    return heads


def _level(levels: list[Style], style: Style) -> int:
    if style not in levels:
        levels.append(style)
    return levels.index(style) + 1


# -- writing ------------------------------------------------------------------------------


def heading_lines(text: str, style: Style, level: int, *, like: Heading | None = None) -> list[str]:
    """The lines of a heading in ``style``. ``like``: a heading of the file to copy the
    underline length convention from (as long as the title, or a fixed width)."""
    if style.kind == "atx":
        return ["#" * level + " " + text]
    if style.kind == "bold":
        return [f"**{text}**"]
    width = len(text)
    if like is not None and like.rule and len(like.rule) != len(like.text):
        width = max(width, len(like.rule))
    rule = style.char * max(width, 3)
    return ([rule] if style.overline else []) + [text, rule]


def sub_style(heads: Sequence[Heading], version: Heading | None, dialect: Dialect,
              level: int) -> tuple[Style, int]:
    """The style and level for the group headings inside a version's section."""
    if dialect != "rst":
        if version is not None and version.style.kind == "setext" and level + 1 <= 2:
            return Style("setext", "-"), level + 1
        if dialect == "plain":  # no heading below `-` reads the same in markdown and rst
            return Style("bold"), level + 1
        return Style("atx"), min(level + 1, 6)
    # rst: the file's own next level, else a character it does not use yet
    deeper = next((h.style for h in heads if h.level == level + 1), None)
    if deeper is not None:
        return deeper, level + 1
    used = {h.style.char for h in heads}
    char = next((c for c in _RST_SUB_CHARS if c not in used), "~")
    return Style("rst", char), level + 1


def bullet(lines: Sequence[str]) -> str:
    """The list marker the file uses (``-`` when it has no list yet)."""
    for line in lines:
        m = _BULLET_RE.match(line)
        if m:
            return m.group(1)
    return "-"
