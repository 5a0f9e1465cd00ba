"""Hostile names against the ref, version, repo, login and file-name grammars.

Each is refused with the project's own error, a message that names the value
(as repr, so control characters stay visible) and a hint; a trailing newline or
another script's digits are refused too (``$`` and ``\\d`` would let them in).
"""

from __future__ import annotations

import pytest

from valet import refs
from valet.config_load import validate_path
from valet.errors import ArtifactError, ConfigError, GitError, UsageError, VersionError
from valet.events import valid_login, valid_repo
from valet.issue_format import is_valid_branch
from valet.manifest import validate_name
from valet.version import parse_version

pytestmark = pytest.mark.adversarial

BRANCHES = [
    "main\n", "release/1.2.3\n::set-output name=x::y", "$(id)", "`id`", "${{ github.token }}",
    "-x", "--upload-pack=evil", "a..b", "a@{1}", "refs/heads/main", "HEAD", "a b", "a\tb",
    "a;b", "a|b", "a&b", "a>b", "a\\b", "x.lock", "a/", "/a", "a//b", "a/.b", "", "a" * 201,
    "release/1.2.3\x00", "café", "a~1", "a^", "a:b", "a?b", "a*b", "a[b",
]
VERSIONS = ["1.2.3\n", "1.2.3\n::add-mask::x", "$(id)", "1.2.3 ", "v1.2.3", "1.2", "1.2.3..4",
            "01.2.3", "1.2.3-", "1.2.3+", "1.2.3\u0663", "\u0661.2.3", "1.2.3-rc.1\x00",
            "1.2.3;id", "1.2.3`id`", "9" * 200]


@pytest.mark.parametrize("name", BRANCHES)
def test_hostile_branch_names_are_refused_with_a_hint(name):
    with pytest.raises(UsageError) as info:
        refs.validate_branch(name)
    assert repr(name)[:20] in info.value.message or "empty" in info.value.message
    assert info.value.hint
    assert not is_valid_branch(name)
    assert not refs.is_valid_ref_name(name)


@pytest.mark.parametrize("name", BRANCHES)
def test_hostile_tag_names_are_version_errors(name):
    with pytest.raises(VersionError):
        refs.validate_tag(name)


@pytest.mark.parametrize("version", [v for v in VERSIONS if v.strip() == v])
def test_hostile_versions_are_refused_by_the_semver_parser(version):
    with pytest.raises(VersionError) as info:
        parse_version(version)
    assert info.value.hint and "\n" not in info.value.message.replace(repr(version), "")


@pytest.mark.parametrize("version", [v for v in VERSIONS if v not in ("v1.2.3", "1.2", "01.2.3",
                                                                      "1.2.3-", "1.2.3+", "9" * 200)])
def test_hostile_versions_never_reach_a_branch_name(version):
    # parse_version trims surrounding blanks (a typed version); the ref grammar trims nothing
    with pytest.raises((VersionError, GitError, UsageError)):
        refs.release_branch("release", version)


@pytest.mark.parametrize("repo", ["org/sdk\n", "org/sdk/x", "org", "-org/sdk", "org/sdk;id",
                                  "org/..", "org/.", "org/s dk", "org/$(id)"])
def test_hostile_repository_names_are_refused(repo):
    with pytest.raises(UsageError, match="owner/name"):
        refs.validate_repo(repo)
    assert not valid_repo(repo)


@pytest.mark.parametrize("login", ["alice\n", "al ice", "-alice", "a" * 40, "alice\x00",
                                   "alice[bot]x", "$(id)", "alice;bob", ""])
def test_hostile_logins_are_not_logins(login):
    assert not valid_login(login)


@pytest.mark.parametrize("sha", ["a" * 40 + "\n", "A" * 40, "a" * 39, "g" * 40, "a" * 41])
def test_hostile_shas_are_refused(sha):
    with pytest.raises(GitError):
        refs.validate_sha(sha)


@pytest.mark.parametrize("name", ["a.whl\n", "../a.whl", "a/b.whl", ".", "..", "-a.whl", "a b.whl",
                                  "a;b.whl", "$(id).whl", "a\x00.whl", "é.whl", "a" * 300])
def test_hostile_artifact_names_are_refused(name):
    with pytest.raises(ArtifactError, match="not allowed"):
        validate_name(name)


@pytest.mark.parametrize("path", ["../x", "/abs", "a/../../b", "a\n/b", "a\\b", "a b", "$(id)"])
def test_hostile_project_paths_are_refused(path):
    with pytest.raises(ConfigError, match="not allowed"):
        validate_path(path)
