"""Every failure a user can fix has its own class, message and exit code.

The CLI's single handler prints ``message`` (and ``hint``, which says how to
fix it), writes an ``::error::`` annotation on GitHub, and exits with
``exit_code``. Exit codes are part of the CLI contract: docs/cli.md lists them.
Anything that is not a ValetError is a bug: it is not caught, so Python prints
its traceback (worth filing as is) and the exit code is 1.
"""

from __future__ import annotations


class ValetError(Exception):
    """Root of all user-fixable failures."""

    exit_code = 1
    title = "valet failed"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class UsageError(ValetError):
    """Wrong command-line arguments or action inputs."""

    exit_code = 2
    title = "invalid arguments"


class NotARequestError(ValetError):
    """The issue is not a publish request (title or body outside the grammar)."""

    exit_code = 2
    title = "not a publish request"


class ConfigError(ValetError):
    """The .valet.yml / .craft.yml is missing, invalid or uses something unsupported."""

    exit_code = 3
    title = "configuration error"


class VersionError(ValetError):
    """The version cannot be resolved, is invalid or is already released."""

    exit_code = 4
    title = "version error"


class GitError(ValetError):
    """A git operation failed or the repository is not in a releasable state."""

    exit_code = 5
    title = "git error"


class BuildError(ValetError):
    """A build, pre-release or post-release command failed."""

    exit_code = 6
    title = "build failed"


class ArtifactError(ValetError):
    """Artifacts are missing, unmatched or unreadable."""

    exit_code = 7
    title = "artifact error"


class IntegrityError(ValetError):
    """An artifact differs (size or sha256) from what was approved."""

    exit_code = 8
    title = "integrity check failed"


class GitHubError(ValetError):
    """The GitHub API refused or failed a call after retries."""

    exit_code = 9
    title = "GitHub API error"


class NotAuthorizedError(ValetError):
    """The approver is not allowed to approve this release."""

    exit_code = 10
    title = "approval refused"


class NotServedError(NotAuthorizedError):
    """The publish repository's valet-publish.yml does not allow this release: the SDK
    repository, a target kind, a package, a repository or a registry host."""

    exit_code = 19
    title = "not served by this publish repository"


class CIFailedError(ValetError):
    """CI on the release commit failed."""

    exit_code = 11
    title = "CI failed"


class CIPendingError(ValetError):
    """CI on the release commit has not finished (or never started)."""

    exit_code = 12
    title = "CI pending"


class TargetError(ValetError):
    """A target failed its preflight or its upload."""

    exit_code = 13
    title = "target failed"


class ConflictError(TargetError):
    """The version is already published to a target with different content."""

    exit_code = 14
    title = "already published with different content"


class TrustedPublishingError(TargetError):
    """A target cannot trade the job's OIDC identity for a registry token."""

    exit_code = 17
    title = "trusted publishing failed"


class KillswitchError(ValetError):
    """An open release-blocker issue stops new requests."""

    exit_code = 15
    title = "release blocked"


class RequestTooLargeError(ValetError):
    """The approval request cannot fit one GitHub issue (65,536 characters)."""

    exit_code = 18
    title = "request too large"


class MergeConflictError(ValetError):
    """The release branch would not merge into its merge target: refused before publishing."""

    exit_code = 20
    title = "release would not merge"


class UnreviewedCommitError(NotAuthorizedError):
    """The release commit is not prepare's own commit on the merge target: it sits on
    commits the merge target never had, or changes more than versions and the changelog."""

    exit_code = 21
    title = "release commit not reviewed"


class SandboxError(ValetError):
    """The local sandbox could not start or a tool it needs is missing."""

    exit_code = 16
    title = "sandbox error"


# name -> exit code, for docs and tests
EXIT_CODES: dict[str, int] = {
    cls.__name__: cls.exit_code
    for cls in [
        ValetError,
        UsageError,
        NotARequestError,
        ConfigError,
        VersionError,
        GitError,
        BuildError,
        ArtifactError,
        IntegrityError,
        GitHubError,
        NotAuthorizedError,
        NotServedError,
        CIFailedError,
        CIPendingError,
        TargetError,
        ConflictError,
        TrustedPublishingError,
        KillswitchError,
        SandboxError,
        RequestTooLargeError,
        MergeConflictError,
        UnreviewedCommitError,
    ]
}
