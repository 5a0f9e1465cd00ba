"""Commits that are not conventional are grouped by their pull request's labels, the way
GitHub's generated release notes read .github/release.yml (pure: no API here)."""

from __future__ import annotations

from datetime import date

import pytest

from valet.changelog import apply_changelog, render_section
from valet.changelog.categories import (
    PullRequest,
    ReleaseConfigError,
    parse_release_config,
    pr_number,
)
from valet.git import Commit

RELEASE_YML = """\
changelog:
  exclude:
    labels: [ignore-for-release]
    authors: [dependabot]
  categories:
    - title: Breaking Changes 🛠
      labels: [breaking-change]
    - title: New Features
      labels: [enhancement, Feature]
      exclude:
        authors: [intern]
    - title: Bug Fixes
      labels: [bug]
    - title: Everything Else
      labels: ["*"]
"""


def test_parse_release_config() -> None:
    cats = parse_release_config(RELEASE_YML)
    assert cats is not None
    assert [c.title for c in cats.categories] == ["Breaking Changes 🛠", "New Features",
                                                  "Bug Fixes", "Everything Else"]
    assert cats.exclude_labels == ("ignore-for-release",)
    assert cats.categories[1].exclude_authors == ("intern",)


@pytest.mark.parametrize(("pr", "title"), [
    (PullRequest(1, ("enhancement",), "alice"), "New Features"),
    (PullRequest(2, ("feature",), "alice"), "New Features"),  # labels match case-insensitively
    (PullRequest(3, ("bug", "enhancement"), "alice"), "New Features"),  # the first category wins
    (PullRequest(4, ("enhancement",), "intern"), "Everything Else"),  # excluded from one category
    (PullRequest(5, ("bug",), "bob"), "Bug Fixes"),
    (PullRequest(6, (), "bob"), "Everything Else"),  # * takes the rest
    (PullRequest(7, ("bug", "ignore-for-release"), "bob"), None),  # left out
    (PullRequest(8, ("bug",), "Dependabot"), None),
    (None, "Everything Else"),  # a commit without a pull request
])
def test_first_matching_category(pr: PullRequest | None, title: str | None) -> None:
    cats = parse_release_config(RELEASE_YML)
    assert cats is not None and cats.title_for(pr) == title


def test_without_a_catch_all_the_rest_is_other_changes() -> None:
    cats = parse_release_config("changelog:\n  categories:\n    - title: Fixes\n"
                                "      labels: [bug]\n")
    assert cats is not None and cats.title_for(PullRequest(1, ("docs",))) == "Other Changes"


@pytest.mark.parametrize("text", ["", "changelog: {}\n", "other: 1\n",
                                  "changelog:\n  categories: []\n"])
def test_no_categories(text: str) -> None:
    assert parse_release_config(text) is None


@pytest.mark.parametrize("text", [
    "changelog: [a]\n",
    "changelog:\n  categories:\n    - labels: [bug]\n",
    "changelog:\n  categories:\n    - title: X\n",
    "changelog:\n  categories:\n    - title: X\n      labels: bug\n",
    "changelog:\n  exclude: [bug]\n  categories:\n    - title: X\n      labels: [bug]\n",
])
def test_a_malformed_release_yml_is_a_clear_error(text: str) -> None:
    with pytest.raises(ReleaseConfigError, match=r"\.github/release\.yml"):
        parse_release_config(text)


@pytest.mark.parametrize(("subject", "number"), [
    ("Fix the thing (#123)", 123), ("Merge pull request #45 from a/b", 45),
    ("Fix #123 somewhere", None), ("no number", None)])
def test_pr_number(subject: str, number: int | None) -> None:
    assert pr_number(subject) == number


def test_conventional_commits_keep_their_types_and_the_rest_follow_the_labels() -> None:
    cats = parse_release_config(RELEASE_YML)
    commits = [Commit("1" * 40, "feat: typed feature (#1)", ""),
               Commit("2" * 40, "Add a shiny thing (#2)", ""),
               Commit("3" * 40, "Repair the other thing (#3)", ""),
               Commit("4" * 40, "Bump lodash (#4)", ""),
               Commit("5" * 40, "Direct push without a PR", "")]
    pulls = {"2" * 40: PullRequest(2, ("enhancement",), "alice"),
             "3" * 40: PullRequest(3, ("bug",), "bob"),
             "4" * 40: PullRequest(4, ("dependencies",), "dependabot")}
    section = render_section(commits, repo_url=None, categories=cats, pulls=pulls)
    assert section == ("### Features\n\n- typed feature (#1)\n\n"
                       "### Bug Fixes\n\n- Repair the other thing (#3)\n\n"
                       "### New Features\n\n- Add a shiny thing (#2)\n\n"
                       "### Everything Else\n\n- Direct push without a PR")


def test_without_release_yml_they_share_one_heading() -> None:
    commits = [Commit("2" * 40, "Add a shiny thing (#2)", ""),
               Commit("3" * 40, "Repair the other thing (#3)", "")]
    section = render_section(commits, repo_url=None,
                             pulls={"2" * 40: PullRequest(2, ("enhancement",))})
    assert section == ("### Other Changes\n\n- Add a shiny thing (#2)\n"
                       "- Repair the other thing (#3)")


def test_a_category_title_is_data_escaped_like_any_line() -> None:
    cats = parse_release_config("changelog:\n  categories:\n    - title: '## 9.9.9 <!--'\n"
                                "      labels: ['*']\n")
    result = apply_changelog("auto", "## 1.2.3\n\n- old\n", "1.3.0",
                             [Commit("1" * 40, "Something", "")], repo_url=None,
                             today=date(2025, 1, 1), categories=cats)
    assert result.text is not None and "<!--" not in result.text
    assert "### \\## 9.9.9 &lt;!--" in result.text
