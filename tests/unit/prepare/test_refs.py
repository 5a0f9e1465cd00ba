from __future__ import annotations

import pytest

from valet.errors import GitError, UsageError, VersionError
from valet.refs import (
    is_valid_ref_name,
    release_branch,
    validate_branch,
    validate_repo,
    validate_sha,
    validate_tag,
    validate_version,
)


@pytest.mark.parametrize("name", ["main", "release/1.2.3", "feature/x_y+z", "v1.2.3-rc.1",
                                  "packages/foo/1.0.0"])
def test_accepts_plain_names(name: str) -> None:
    assert validate_branch(name) == name
    assert is_valid_ref_name(name)


@pytest.mark.parametrize("name", [
    "", "-rf", "a..b", "a//b", "/main", "main/", "main.", "x@{1}", "a b", "a;b", "$(id)",
    "a`b`", "refs/heads/main", "HEAD", "a/.hidden", "x.lock", "new\nline", "a~1", "a^", "a:b",
    "a?", "a*", "a[b", "a\\b", "é", "x" * 201,
])
def test_rejects_dangerous_or_ambiguous_names(name: str) -> None:
    assert not is_valid_ref_name(name)
    with pytest.raises(UsageError) as info:
        validate_branch(name)
    assert "is not allowed" in info.value.message
    assert info.value.hint and "release/1.2.3" in info.value.hint


def test_tag_errors_are_version_errors() -> None:
    with pytest.raises(VersionError, match="tag name '1.2.3 x'"):
        validate_tag("1.2.3 x")
    assert validate_tag("v1.2.3") == "v1.2.3"


def test_release_branch_joins_and_checks_both_parts() -> None:
    assert release_branch("release", "1.3.0") == "release/1.3.0"
    assert release_branch("releases/sdk", "2.0.0-rc.1+b.5") == "releases/sdk/2.0.0-rc.1+b.5"
    with pytest.raises(VersionError, match="not allowed in a branch or tag name"):
        release_branch("release", "1.3.0;rm")
    with pytest.raises(UsageError, match="release branch prefix"):
        release_branch("release/", "1.3.0")


@pytest.mark.parametrize("version", ["1..2", "-1.0.0", "1.0.0.", "1.0.0 ", "1.0/0", ""])
def test_version_grammar(version: str) -> None:
    with pytest.raises(VersionError):
        validate_version(version)


def test_repo_and_sha() -> None:
    assert validate_repo("octo-org/sdk.py") == "octo-org/sdk.py"
    for bad in ("octo", "a/b/c", "../x", "o/..", "-o/x", "o/x y"):
        with pytest.raises(UsageError, match="owner/name"):
            validate_repo(bad)
    assert validate_sha("a" * 40)
    with pytest.raises(GitError):
        validate_sha("A" * 40)
