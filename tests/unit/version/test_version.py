"""Semver parsing/ordering, bumps, conventional commits, calver and resolve_version."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from valet.config import Config
from valet.errors import VersionError
from valet.git import Commit
from valet.version import (
    Version,
    bump,
    is_prerelease,
    latest_tag,
    next_calver,
    next_from_commits,
    parse_version,
    resolve_version,
    tag_name,
)

# -- parse / str / compare -------------------------------------------------------------


def test_parse_keeps_prerelease_and_build() -> None:
    v = parse_version("1.2.3-rc.1+build.5")
    assert (v.major, v.minor, v.patch) == (1, 2, 3)
    assert v.prerelease == ("rc", "1") and v.build == ("build", "5")
    assert str(v) == "1.2.3-rc.1+build.5"


@pytest.mark.parametrize("bad", ["1.2", "01.2.3", "1.2.3-", "1.2.3-01", "1.2.3+", "a.b.c",
                                 "1.2.3.4", " ", "1.2.3-rc..1", "1.2.3 extra"])
def test_invalid_versions(bad: str) -> None:
    with pytest.raises(VersionError, match="not a valid semantic version"):
        parse_version(bad)


def test_leading_v_only_for_tags_with_a_hint() -> None:
    assert parse_version("v1.2.3", tag=True) == Version(1, 2, 3)
    with pytest.raises(VersionError) as info:
        parse_version("v1.2.3")
    assert info.value.hint == "drop the leading 'v': use 1.2.3"


def test_short_version_hint() -> None:
    with pytest.raises(VersionError) as info:
        parse_version("1.2")
    assert "1.2.0" in (info.value.hint or "")


def test_semver_precedence_from_the_spec() -> None:
    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
               "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0"]
    parsed = [parse_version(s) for s in ordered]
    assert sorted(reversed(parsed)) == parsed
    assert parse_version("1.0.0+a").same_precedence(parse_version("1.0.0+b"))
    assert parse_version("1.0.0+a") != parse_version("1.0.0+b")


def test_is_prerelease() -> None:
    assert is_prerelease("1.0.0-rc.1") and is_prerelease(parse_version("2.0.0-0"))
    assert not is_prerelease("1.0.0+build")


_ident = st.from_regex(r"\A(0|[1-9][0-9]{0,5}|[0-9]*[A-Za-z-][0-9A-Za-z-]{0,6})\Z")
_build = st.from_regex(r"\A[0-9A-Za-z-]{1,8}\Z")


@given(st.integers(0, 10**9), st.integers(0, 10**9), st.integers(0, 10**9),
       st.lists(_ident, max_size=3), st.lists(_build, max_size=3))
def test_round_trip(major: int, minor: int, patch: int, pre: list[str], build: list[str]) -> None:
    v = Version(major, minor, patch, tuple(pre), tuple(build))
    text = str(v)
    assert parse_version(text) == v
    assert str(parse_version(text)) == text
    assert parse_version("v" + text, tag=True) == v


# -- bumps ------------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "kind", "expected"), [
    ("1.2.3", "major", "2.0.0"), ("1.2.3", "minor", "1.3.0"), ("1.2.3", "patch", "1.2.4"),
    ("1.2.3+b", "patch", "1.2.4"),
    ("1.3.0-rc.1", "minor", "1.3.0"), ("1.3.1-rc.1", "minor", "1.4.0"),
    ("2.0.0-rc.1", "major", "2.0.0"), ("2.1.0-rc.1", "major", "3.0.0"),
    ("1.2.4-rc.1", "patch", "1.2.4"),
])
def test_bump(start: str, kind: str, expected: str) -> None:
    assert str(bump(parse_version(start), kind)) == expected


def test_unknown_bump_kind() -> None:
    with pytest.raises(VersionError, match="unknown bump kind"):
        bump(Version(1, 0, 0), "huge")


# -- tags -------------------------------------------------------------------------------


def test_tag_name_prefix_and_monorepo_path() -> None:
    assert tag_name(Config(), "1.2.3") == "1.2.3"
    assert tag_name(Config(tag_prefix="v"), "1.2.3") == "v1.2.3"
    assert tag_name(Config(path="packages/foo"), "1.2.3") == "packages/foo/1.2.3"
    assert tag_name(Config(path="pkg", tag_prefix="v"), "1.2.3") == "pkg/v1.2.3"


def test_latest_tag_picks_highest_matching() -> None:
    tags = ["1.2.3", "v1.10.0", "1.9.0", "2.0.0-rc.1", "nightly", "pkg/9.9.9", "1.2.3.4"]
    assert latest_tag(tags, prefix="") == ("2.0.0-rc.1", parse_version("2.0.0-rc.1"))
    assert latest_tag(["1.2.3", "1.10.0", "1.9.0"], prefix="") == ("1.10.0", Version(1, 10, 0))
    assert latest_tag(tags, prefix="pkg/") == ("pkg/9.9.9", Version(9, 9, 9))
    assert latest_tag(["pkg/sub/5.0.0", "pkg/1.0.0"], prefix="pkg/") == ("pkg/1.0.0",
                                                                          Version(1, 0, 0))
    assert latest_tag(["sdk-1.0.0"], prefix="v") is None
    assert latest_tag([], prefix="") is None


# -- conventional commits -----------------------------------------------------------------


@pytest.mark.parametrize(("subjects", "expected"), [
    (["fix: a"], "1.2.4"),
    (["feat: a", "fix: b"], "1.3.0"),
    (["feat(api)!: drop x"], "2.0.0"),
    (["refactor: x"], "1.2.4"),
    (["Update the README wording"], "1.2.4"),  # not conventional: assume it ships
    (["chore(deps): bump requests"], "1.2.4"),
    (["docs: a", "perf: faster"], "1.2.4"),
    (["FEAT: shouting"], "1.3.0"),
])
def test_next_from_commits(subjects: list[str], expected: str) -> None:
    assert str(next_from_commits(Version(1, 2, 3), subjects)) == expected


def test_breaking_change_footer_in_body() -> None:
    commits = [Commit("a" * 40, "fix: x", "details\n\nBREAKING CHANGE: config renamed")]
    assert str(next_from_commits(Version(1, 2, 3), commits)) == "2.0.0"


def test_breaking_while_zero_major_bumps_minor() -> None:
    assert str(next_from_commits(Version(0, 4, 2), ["feat!: new api"])) == "0.5.0"
    assert str(next_from_commits(Version(0, 4, 2), ["feat: x"])) == "0.5.0"
    assert str(next_from_commits(Version(0, 4, 2), ["fix: x"])) == "0.4.3"


@pytest.mark.parametrize("subjects", [
    ["chore: tidy", "docs: typo", "ci: cache", "test: more", "style: fmt"],
    ["Merge pull request #5 from a/b", "release: 1.2.3"],
])
def test_nothing_releasable(subjects: list[str]) -> None:
    with pytest.raises(VersionError, match="is releasable") as info:
        next_from_commits(Version(1, 2, 3), subjects)
    assert "explicit version" in (info.value.hint or "")


def test_no_commits() -> None:
    with pytest.raises(VersionError, match="no commits since 1.2.3"):
        next_from_commits(Version(1, 2, 3), [])


# -- calver -----------------------------------------------------------------------------------


def test_calver_default_format_and_next_patch() -> None:
    assert str(next_calver(date(2025, 11, 20), "%y.%-m", 0, [])) == "25.11.0"
    assert str(next_calver(date(2025, 11, 20), "%y.%-m", 0, ["25.11.0", "25.11.1",
                                                             "25.10.7"])) == "25.11.2"


def test_calver_offset_crosses_the_month() -> None:
    assert str(next_calver(date(2025, 12, 3), "%y.%-m", 14, ["25.12.0"])) == "25.11.0"


def test_calver_zero_padding_is_dropped_for_semver() -> None:
    assert str(next_calver(date(2025, 1, 5), "%Y.%m", 0, [])) == "2025.1.0"


def test_calver_single_number_format() -> None:
    assert str(next_calver(date(2025, 1, 5), "%Y", 0, ["2025.0.0", "2024.5.0"])) == "2025.1.0"


@pytest.mark.parametrize(("fmt", "message"), [
    ("%y.%b", "not a calver token"),
    ("%Y.%m.%d", "one or two numbers"),
    ("release-%Y", "one or two numbers"),
])
def test_calver_bad_formats(fmt: str, message: str) -> None:
    with pytest.raises(VersionError, match=message):
        next_calver(date(2025, 1, 5), fmt, 0, [])


# -- resolve_version --------------------------------------------------------------------------

TODAY = date(2025, 11, 20)


def resolve(spec: str | None, config: Config | None = None, tags: list[str] | None = None,
            commits: list[str] | None = None, branches: list[str] | None = None):
    return resolve_version(
        spec, config=config or Config(), tags=["1.2.3"] if tags is None else tags,
        commits=[Commit(f"{i:040x}", s, "") for i, s in enumerate(commits or [])],
        today=TODAY, existing_branches=branches or [])


def test_explicit_version() -> None:
    r = resolve("1.3.0-rc.1+b5")
    assert (r.version, r.previous, r.previous_tag) == ("1.3.0-rc.1+b5", "1.2.3", "1.2.3")


@pytest.mark.parametrize(("kind", "expected"), [("major", "2.0.0"), ("minor", "1.3.0"),
                                                ("patch", "1.2.4")])
def test_bump_kinds_from_latest_tag(kind: str, expected: str) -> None:
    assert resolve(kind, tags=["1.2.3", "1.1.0", "other"]).version == expected


def test_bump_respects_tag_prefix_and_path() -> None:
    config = Config(path="packages/a", tag_prefix="v")
    r = resolve("minor", config, tags=["packages/a/v1.0.0", "v5.0.0", "packages/b/v9.0.0"])
    assert (r.version, r.previous_tag) == ("1.1.0", "packages/a/v1.0.0")


def test_auto_from_commits() -> None:
    r = resolve("auto", commits=["feat: add a", "fix: repair b"])
    assert (r.version, r.previous) == ("1.3.0", "1.2.3")


def test_calver_mode() -> None:
    assert resolve("calver", tags=["25.11.0"]).version == "25.11.1"


def test_policy_decides_without_spec() -> None:
    assert resolve(None, Config(versioning_policy="auto"), commits=["fix: x"]).version == "1.2.4"
    assert resolve("", Config(versioning_policy="calver"), tags=[]).version == "25.11.0"


def test_manual_policy_without_spec_asks_for_a_version() -> None:
    with pytest.raises(VersionError, match="no version given") as info:
        resolve(None)
    assert "pass the version" in (info.value.hint or "")


def test_bump_without_previous_tag() -> None:
    with pytest.raises(VersionError, match="needs a previous release") as info:
        resolve("minor", tags=["nightly"])
    assert "0.1.0" in (info.value.hint or "")


def test_first_release_explicit() -> None:
    r = resolve("0.1.0", tags=[])
    assert (r.version, r.previous, r.previous_tag) == ("0.1.0", None, None)


@pytest.mark.parametrize("tags", [["1.2.3"], ["v1.2.3"], ["1.2.3+other"]])
def test_existing_tag_is_an_error(tags: list[str]) -> None:
    with pytest.raises(VersionError, match="already tagged"):
        resolve("1.2.3", tags=tags)


@pytest.mark.parametrize("branch", ["release/1.3.0", "refs/heads/release/1.3.0",
                                    "origin/release/1.3.0"])
def test_existing_branch_is_an_error(branch: str) -> None:
    with pytest.raises(VersionError, match="release branch release/1.3.0 already exists"):
        resolve("minor", branches=["main", branch])


def test_branch_prefix_from_config() -> None:
    with pytest.raises(VersionError, match="releases/1.3.0"):
        resolve("1.3.0", Config(release_branch_prefix="releases"), branches=["releases/1.3.0"])
    assert resolve("1.3.0", branches=["releases/1.3.0"]).version == "1.3.0"


def test_v_prefixed_spec_is_refused() -> None:
    with pytest.raises(VersionError, match="not a valid semantic version"):
        resolve("v1.4.0")
