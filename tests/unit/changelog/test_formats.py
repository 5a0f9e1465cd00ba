"""A changelog keeps its format: the new section is written in the style and level of the
file's own version headings (ATX, setext, reStructuredText with or without overlines)."""

from __future__ import annotations

from datetime import date

import pytest

from valet.changelog import apply_changelog
from valet.changelog.headings import detect_dialect, parse_headings
from valet.git import Commit

TODAY = date(2025, 11, 20)
REPO = "https://github.com/o/r"
COMMITS = [Commit("a" * 40, "feat(api): add a (#12)", ""),
           Commit("b" * 40, "fix: repair *b* in `x_y_`", "")]


def auto(text: str, filename: str, version: str = "0.27.0") -> str:
    result = apply_changelog("auto", text, version, COMMITS, repo_url=REPO, today=TODAY,
                             filename=filename)
    assert result.text is not None
    return result.text


def test_atx() -> None:
    text = "# Changelog\n\n## 0.26.2\n\n- old\n"
    assert auto(text, "CHANGELOG.md") == (
        "# Changelog\n\n## 0.27.0\n\n"
        f"### Features\n\n- **api**: add a ([#12]({REPO}/pull/12))\n\n"
        "### Bug Fixes\n\n- repair *b* in `x_y_`\n\n"
        "## 0.26.2\n\n- old\n")


def test_setext_markdown() -> None:
    text = "Changelog\n=========\n\n0.26.2\n------\n\n* old\n"
    assert auto(text, "CHANGES.md") == (
        "Changelog\n=========\n\n0.27.0\n------\n\n"
        f"### Features\n\n* **api**: add a ([#12]({REPO}/pull/12))\n\n"
        "### Bug Fixes\n\n* repair *b* in `x_y_`\n\n"
        "0.26.2\n------\n\n* old\n")


def test_setext_level_one_versions_get_setext_groups() -> None:
    text = "0.26.2\n======\n\n- old\n"
    assert auto(text, "CHANGES.md").startswith(
        "0.27.0\n======\n\nFeatures\n--------\n\n- **api**: add a")


def test_rst_underlines() -> None:
    text = "Changelog\n=========\n\n0.26.2\n------\n\nFixes\n~~~~~\n\n* old\n"
    assert auto(text, "CHANGES.rst") == (
        "Changelog\n=========\n\n0.27.0\n------\n\n"
        f"Features\n~~~~~~~~\n\n* **api**: add a (`#12 <{REPO}/pull/12>`__)\n\n"
        "Bug Fixes\n~~~~~~~~~\n\n* repair \\*b\\* in \\`x\\_y\\_\\`\n\n"
        "0.26.2\n------\n\nFixes\n~~~~~\n\n* old\n")


def test_rst_overlines_and_fixed_width_rules() -> None:
    text = ("==========\nChangelog\n==========\n\n"
            "**********\n0.26.2\n**********\n\n- old\n")
    out = auto(text, "HISTORY.rst")
    assert out.startswith("==========\nChangelog\n==========\n\n"
                          "**********\n0.27.0\n**********\n\nFeatures\n--------\n\n- **api**")
    assert out.endswith("**********\n0.26.2\n**********\n\n- old\n")


def test_rst_unreleased_is_renamed_with_a_long_enough_underline() -> None:
    text = "Unreleased\n----------\n\n* mine\n\n0.26.2\n------\n\n* old\n"
    result = apply_changelog("simple", text, "0.27.0-rc.10", [], repo_url=REPO, today=TODAY,
                             filename="CHANGES.rst")
    assert result.text == ("0.27.0-rc.10\n------------\n\n* mine\n\n0.26.2\n------\n\n* old\n")


def test_an_extensionless_rst_file_is_recognised_by_its_markup() -> None:
    # getsentry/responses' CHANGES: setext-looking headings, rst ``literals``
    text = "0.26.2\n------\n\n* Default headers (such as ``Content-Type``) are stripped\n"
    assert detect_dialect(text.split("\n"), "CHANGES") == "rst"
    out = auto(text, "CHANGES")
    assert out.startswith("0.27.0\n------\n\nFeatures\n========\n\n* **api**: add a (`#12 <")
    assert "## " not in out


def test_an_ambiguous_file_gets_text_both_formats_read_alike() -> None:
    text = "0.26.2\n------\n\n- old\n"
    assert detect_dialect(text.split("\n"), "CHANGES") == "plain"
    out = auto(text, "CHANGES")
    assert out.startswith("0.27.0\n------\n\n**Features**\n\n- **api**: add a (#12)\n")
    assert "#" not in out.replace("(#12)", "")


def test_an_empty_rst_file_gets_a_title_and_distinct_levels() -> None:
    out = auto("", "CHANGES.rst")
    assert out.startswith("Changelog\n=========\n\n0.27.0\n------\n\nFeatures\n~~~~~~~~\n")


def test_the_release_notes_section_is_markdown_whatever_the_file() -> None:
    result = apply_changelog("auto", "0.26.2\n------\n\n* old\n", "0.27.0", COMMITS,
                             repo_url=REPO, today=TODAY, filename="CHANGES.rst")
    assert result.section.startswith(f"### Features\n\n- **api**: add a ([#12]({REPO}/pull/12))")


@pytest.mark.parametrize("subject", [
    "fix: x\n9.9.9\n~~~~~", "fix: .. raw:: html", "fix: `evil <https://x>`_", "fix: |sub|",
    "fix: ~~~~~~", "9.9.9", "fix: ====",
])
def test_rst_subjects_cannot_inject_headings_or_directives(subject: str) -> None:
    text = "Changelog\n=========\n\n1.2.3\n-----\n\n* old\n"
    out = apply_changelog("auto", text, "1.3.0", [Commit("c" * 40, subject, ""),
                                                   Commit("d" * 40, "fix: fine", "")],
                          repo_url=REPO, today=TODAY, filename="CHANGES.rst").text
    assert out is not None
    heads = parse_headings(out.split("\n"), "rst")
    assert [h.text for h in heads if h.level == 2] == ["1.3.0", "1.2.3"]
    assert "\n.. " not in out and "`__" not in out.replace(f"<{REPO}/pull/", "")
