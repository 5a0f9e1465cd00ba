"""Strict grammars for the names valet puts into git refs and API paths.

Branch names, tag names and versions reach git, the GitHub API and log lines.
They come from config files, issue titles and action inputs, so they are data:
each is checked against a grammar much narrower than what git itself accepts
(no shell metacharacters, no whitespace, no leading '-', nothing git would
reinterpret such as '..', '@{' or a '.lock' suffix).
"""

from __future__ import annotations

import re

from valet.errors import GitError, UsageError, ValetError, VersionError

MAX_REF_LENGTH = 200

# One path component of a ref: starts with a letter or digit, then a safe set.
_COMPONENT_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+\-]*$")
# A version as it may appear in a ref: semver-like, calver-like; letters, digits, . + -
_VERSION_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+\-]{0,127}$")
_REPO_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_SHA_RE = re.compile(r"^[0-9a-f]{40}$")


def _check_ref(name: object, what: str, error: type[ValetError]) -> str:
    problem = _ref_problem(name)
    if problem:
        raise error(
            f"{what} {name!r} is not allowed: {problem}",
            hint=f"use a {what} made of letters, digits and '.', '_', '+', '-', with '/' "
            "between parts (for example release/1.2.3)",
        )
    assert isinstance(name, str)
    return name


def _ref_problem(name: object) -> str | None:
    if not isinstance(name, str) or not name:
        return "it is empty"
    if len(name) > MAX_REF_LENGTH:
        return f"it is longer than {MAX_REF_LENGTH} characters"
    if name.startswith("-"):
        return "it starts with '-'"
    if name.startswith("/") or name.endswith("/"):
        return "it starts or ends with '/'"
    if ".." in name or "@{" in name or "//" in name:
        return "it contains '..', '//' or '@{'"
    if name.endswith(".") or name == "@":
        return "it ends with '.'"
    if name.startswith("refs/") or name == "HEAD":
        return "it is a full ref or HEAD, not a short name"
    for part in name.split("/"):
        if not _COMPONENT_RE.fullmatch(part):
            return f"the part {part!r} holds a character outside [A-Za-z0-9._+-] or starts with one"
        if part.endswith(".lock"):
            return f"the part {part!r} ends with '.lock'"
    return None


def is_valid_ref_name(name: object) -> bool:
    return _ref_problem(name) is None


def validate_branch(name: object, *, what: str = "branch name") -> str:
    """A branch name (short form, no refs/heads/)."""
    return _check_ref(name, what, UsageError)


def validate_tag(name: object, *, what: str = "tag name") -> str:
    """A tag name (short form, no refs/tags/)."""
    return _check_ref(name, what, VersionError)


def validate_prefix(prefix: object, *, what: str = "release branch prefix") -> str:
    """A branch prefix such as `release` or `releases/sdk` (no trailing slash)."""
    return _check_ref(prefix, what, UsageError)


def validate_version(version: object) -> str:
    """A version string as it may appear in a branch or tag name."""
    if (not isinstance(version, str) or not _VERSION_RE.fullmatch(version)
            or ".." in version or version.endswith((".", ".lock"))):
        raise VersionError(
            f"version {version!r} is not allowed in a branch or tag name",
            hint="use a semantic version such as 1.2.3 or 1.3.0-rc.1",
        )
    return version


def release_branch(prefix: str, version: str) -> str:
    """`<prefix>/<version>`, both parts validated and the result checked again."""
    validate_prefix(prefix)
    validate_version(version)
    return _check_ref(f"{prefix}/{version}", "release branch", GitError)


def validate_repo(repo: object, *, what: str = "repository") -> str:
    """`owner/name` as GitHub spells it."""
    if not isinstance(repo, str) or not _REPO_RE.fullmatch(repo) or repo.endswith((".", "/..")):
        raise UsageError(
            f"{what} {repo!r} is not of the form owner/name",
            hint="give the repository as owner/name, for example octo-org/sdk",
        )
    return repo


def validate_sha(sha: object, *, what: str = "commit sha") -> str:
    if not isinstance(sha, str) or not _SHA_RE.fullmatch(sha):
        raise GitError(f"{what} {sha!r} is not a 40-character lowercase hex sha")
    return sha
