"""Changelog policies none, simple and auto, and heading-injection safety."""

from __future__ import annotations

from datetime import date

import pytest

from valet.changelog import ChangelogError, apply_changelog, parse_headings
from valet.errors import VersionError
from valet.git import Commit

TODAY = date(2025, 11, 20)
REPO = "https://github.com/o/r"


def commits(*subjects: str, body: str = "") -> list[Commit]:
    return [Commit(f"{i:040x}", s, body) for i, s in enumerate(subjects)]


def apply(policy: str, text: str | None, version: str = "1.3.0", subjects: tuple[str, ...] = (),
          repo_url: str | None = REPO):
    return apply_changelog(policy, text, version, commits(*subjects), repo_url=repo_url,
                           today=TODAY)


def test_none_changes_nothing() -> None:
    r = apply("none", "# Changelog\n", subjects=("feat: x",))
    assert (r.text, r.section) == (None, "")


# -- simple ---------------------------------------------------------------------------


def test_simple_existing_section_is_returned_unchanged() -> None:
    text = "# Changelog\n\n## 1.3.0\n\n- added x\n\n## 1.2.3\n\n- old\n"
    r = apply("simple", text)
    assert (r.text, r.section) == (None, "- added x")


def test_simple_setext_and_v_prefixed_headings() -> None:
    r = apply("simple", "Changes\n=======\n\nv1.3.0\n------\n\n- a\n\n1.2.0\n-----\n\n- b\n")
    assert (r.text, r.section) == (None, "- a")


def test_simple_unreleased_is_renamed() -> None:
    text = "# Changelog\n\n## Unreleased\n\n- added x\n\n## 1.2.3\n\n- old\n"
    r = apply("simple", text)
    assert r.text == "# Changelog\n\n## 1.3.0\n\n- added x\n\n## 1.2.3\n\n- old\n"
    assert r.section == "- added x"


def test_simple_keep_a_changelog_style_gets_a_date() -> None:
    text = "# Changelog\n\n## [Unreleased]\n\n- x\n\n## [1.2.3] - 2025-01-02\n\n- y\n"
    r = apply("simple", text)
    assert r.text is not None and "## [1.3.0] - 2025-11-20\n\n- x" in r.text


@pytest.mark.parametrize(("text", "message"), [
    ("# Changelog\n\n## 1.2.3\n\n- old\n", "no section for 1.3.0 and no Unreleased section"),
    (None, "no section for 1.3.0"),
    ("", "no section for 1.3.0"),
    ("## 1.3.0\n\n## 1.2.3\n- old\n", "section for 1.3.0 is empty"),
    ("## Unreleased\n\n## 1.2.3\n- old\n", "Unreleased section is empty"),
])
def test_simple_errors(text: str | None, message: str) -> None:
    with pytest.raises(ChangelogError, match=message) as info:
        apply("simple", text)
    assert isinstance(info.value, VersionError) and info.value.exit_code == 4
    assert info.value.hint and ("heading" in info.value.hint or "write" in info.value.hint)


# -- auto ---------------------------------------------------------------------------------


def test_auto_groups_by_type_with_pr_links() -> None:
    text = "# Changelog\n\nIntro.\n\n## 1.2.3\n\n- old\n"
    r = apply("auto", text, subjects=(
        "feat(api): add a (#12)", "fix: repair b", "perf: faster c (#7)",
        "chore: tidy", "docs: explain", "refactor: move", "Merge pull request #3 from x/y",
        "feat!: drop python 3.8"))
    assert r.text == (
        "# Changelog\n\nIntro.\n\n## 1.3.0\n\n"
        "### Breaking Changes\n\n- drop python 3.8\n\n"
        f"### Features\n\n- **api**: add a ([#12]({REPO}/pull/12))\n\n"
        "### Bug Fixes\n\n- repair b\n\n"
        f"### Performance\n\n- faster c ([#7]({REPO}/pull/7))\n\n"
        "### Documentation\n\n- explain\n\n"
        "### Other Changes\n\n- move\n\n"
        "## 1.2.3\n\n- old\n")
    assert r.section.startswith("### Breaking Changes\n\n- drop python 3.8")


def test_auto_pr_without_repo_url() -> None:
    r = apply("auto", None, subjects=("fix: b (#9)",), repo_url=None)
    assert r.text == "# Changelog\n\n## 1.3.0\n\n### Bug Fixes\n\n- b (#9)\n"


def test_auto_existing_non_empty_section_is_kept() -> None:
    text = "## 1.3.0\n\nHand-written notes.\n\n## 1.2.3\n"
    r = apply("auto", text, subjects=("feat: x",))
    assert (r.text, r.section) == (None, "Hand-written notes.")


def test_auto_existing_empty_section_is_filled() -> None:
    r = apply("auto", "## 1.3.0\n\n## 1.2.3\n\n- old\n", subjects=("fix: x",))
    assert r.text == "## 1.3.0\n\n### Bug Fixes\n\n- x\n\n## 1.2.3\n\n- old\n"


def test_auto_unreleased_with_content_is_renamed_and_kept() -> None:
    r = apply("auto", "## Unreleased\n\n- mine\n", subjects=("fix: x",))
    assert (r.text, r.section) == ("## 1.3.0\n\n- mine\n", "- mine")


def test_auto_empty_unreleased_is_filled() -> None:
    r = apply("auto", "# C\n\n## Unreleased\n\n## 1.2.3\n- old\n", subjects=("feat: y",))
    assert r.text == "# C\n\n## 1.3.0\n\n### Features\n\n- y\n\n## 1.2.3\n- old\n"


def test_auto_only_chores() -> None:
    r = apply("auto", None, subjects=("chore: x", "ci: y"))
    assert r.section == "No user-facing changes."


def test_auto_title_only_file_appends_after_preamble() -> None:
    r = apply("auto", "# Changelog\n\nAll notable changes.\n", subjects=("fix: x",))
    assert r.text == "# Changelog\n\nAll notable changes.\n\n## 1.3.0\n\n### Bug Fixes\n\n- x\n"


def test_auto_follows_the_heading_level_in_use() -> None:
    r = apply("auto", "# 1.2.3\n\n- old\n", subjects=("fix: x",))
    assert r.text == "# 1.3.0\n\n## Bug Fixes\n\n- x\n\n# 1.2.3\n\n- old\n"


def test_crlf_file_stays_crlf() -> None:
    r = apply("simple", "## Unreleased\r\n\r\n- x\r\n")
    assert r.text == "## 1.3.0\r\n\r\n- x\r\n"


def test_headings_in_code_fences_are_not_sections() -> None:
    text = "## 1.2.3\n\n```\n## 1.3.0\n```\n"
    with pytest.raises(ChangelogError, match="no section for 1.3.0"):
        apply("simple", text)


# -- injection -------------------------------------------------------------------------------


@pytest.mark.parametrize("subject", [
    "## 9.9.9",
    "fix: x\n## 9.9.9",
    "feat: ok\n\n9.9.9\n-----",
    "# 9.9.9",
    "docs: <!-- hide the rest",
    "fix(## 9.9.9): scoped",
    "> 9.9.9",
])
def test_commit_subjects_cannot_inject_headings(subject: str) -> None:
    text = "# Changelog\n\n## 1.2.3\n\n- old\n"
    r = apply("auto", text, subjects=(subject, "fix: fine"))
    assert r.text is not None
    versions = [h.text for h in parse_headings(r.text.split("\n")) if h.level == 2]
    assert versions == ["1.3.0", "1.2.3"]
    assert "9.9.9" not in [h.text.strip("# ") for h in parse_headings(r.text.split("\n"))]
    assert "<!--" not in r.text


def test_invalid_version_and_policy() -> None:
    with pytest.raises(VersionError, match="not a valid semantic version"):
        apply("auto", None, version="1.3")
    with pytest.raises(VersionError, match="unknown changelog policy"):
        apply("always", None)
