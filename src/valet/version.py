"""Versions: semver 2.0 parsing and ordering, bumps, and choosing the next version.

Every function here is pure: the caller passes tags, commits, branches and
today's date in, so each mode (explicit, major/minor/patch, auto, calver,
config-driven) is tested without a repository.

Decisions worth knowing (the configuration docs should repeat them):

- A leading ``v`` is accepted only in tags (``v1.2.3``), never in a version the
  user types: ``valet prepare v1.2.3`` is refused with a hint, so the version
  written into files and branch names is always the bare semver.
- Bumping a pre-release finishes it first (npm semantics): ``1.3.0-rc.1`` →
  ``minor`` → ``1.3.0``; ``2.0.0-rc.1`` → ``major`` → ``2.0.0``.
- ``auto`` while the major is 0: a breaking change bumps the *minor*
  (``0.4.2`` → ``0.5.0``). Leaving 0.x is a deliberate act: pass ``1.0.0`` or
  ``major``.
- ``auto`` counts as releasable: breaking changes, ``feat``, ``fix``, ``perf``,
  ``refactor``, ``build``, ``revert``, ``deps`` scopes (``chore(deps): ...``) and
  any subject that is not a conventional commit. Not releasable: ``chore``,
  ``docs``, ``style``, ``test``, ``ci``, valet's own ``release:`` commits and
  merge commits. Only non-releasable commits → VersionError.
- ``calver``: the date part comes from the format (``%y.%-m`` by default) applied
  to ``today - offset``; numbers lose leading zeros so the result is valid
  semver (``%m`` in January gives ``1``); the patch is the next free number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import total_ordering
from typing import TYPE_CHECKING, Literal

from valet.errors import VersionError

if TYPE_CHECKING:
    from valet.config import Config
    from valet.git import Commit

BumpKind = Literal["major", "minor", "patch"]
BUMP_KINDS: tuple[str, ...] = ("major", "minor", "patch")

_NUM = r"(?:0|[1-9]\d*)"
_PRE_ID = r"(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)"
_BUILD_ID = r"[0-9A-Za-z-]+"
_SEMVER_RE = re.compile(
    rf"^(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"(?:-(?P<pre>{_PRE_ID}(?:\.{_PRE_ID})*))?"
    rf"(?:\+(?P<build>{_BUILD_ID}(?:\.{_BUILD_ID})*))?$",
    re.ASCII,  # \d would also take other scripts' digits: '1.2.3\u0663' is not 1.2.33
)
# Longest accepted version string: keeps branch and tag names bounded.
MAX_VERSION_LENGTH = 128


@total_ordering
@dataclass(frozen=True, eq=False)
class Version:
    """A semantic version. Ordering follows semver precedence (build metadata
    ignored); equality is exact, so ``1.0.0+a`` and ``1.0.0+b`` are different
    versions of the same precedence."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text

    def __repr__(self) -> str:
        return f"Version({str(self)!r})"

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        # A release sorts after all of its pre-releases; numeric identifiers sort
        # before alphanumeric ones and compare as numbers.
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return (self.major, self.minor, self.patch, self.prerelease, self.build) == (
            other.major, other.minor, other.patch, other.prerelease, other.build)

    def __hash__(self) -> int:
        return hash((self.major, self.minor, self.patch, self.prerelease, self.build))

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def same_precedence(self, other: Version) -> bool:
        return self._key() == other._key()

    @property
    def core(self) -> Version:
        return Version(self.major, self.minor, self.patch)


def parse_version(text: str, *, tag: bool = False) -> Version:
    """Parse a semver 2.0 string. With ``tag=True`` a leading ``v`` is allowed."""
    if not isinstance(text, str):
        raise VersionError(f"version {text!r} is not a string")
    raw = text.strip()
    if tag and raw[:1] in ("v", "V"):
        raw = raw[1:]
    m = _SEMVER_RE.match(raw) if len(raw) <= MAX_VERSION_LENGTH else None
    if m is None:
        hint = "give a semantic version such as 1.2.3, 1.3.0-rc.1 or 2.0.0+build.5"
        if raw[:1] in ("v", "V") and _SEMVER_RE.match(raw[1:]):
            hint = f"drop the leading 'v': use {raw[1:]}"
        elif re.fullmatch(r"\d+(\.\d+)?", raw):
            hint = "a version needs three numbers: MAJOR.MINOR.PATCH, e.g. " + (
                raw + ".0" if "." in raw else raw + ".0.0")
        raise VersionError(f"{text!r} is not a valid semantic version", hint=hint)
    pre = tuple(m.group("pre").split(".")) if m.group("pre") else ()
    build = tuple(m.group("build").split(".")) if m.group("build") else ()
    return Version(int(m.group("major")), int(m.group("minor")), int(m.group("patch")), pre, build)


def is_valid_version(text: str) -> bool:
    try:
        parse_version(text)
    except VersionError:
        return False
    return True


def is_prerelease(v: Version | str) -> bool:
    version = parse_version(v) if isinstance(v, str) else v
    return bool(version.prerelease)


def bump(v: Version, kind: str) -> Version:
    """major / minor / patch; a pre-release is finished rather than skipped over."""
    if kind == "major":
        if v.prerelease and v.minor == 0 and v.patch == 0:
            return Version(v.major, 0, 0)
        return Version(v.major + 1, 0, 0)
    if kind == "minor":
        if v.prerelease and v.patch == 0:
            return Version(v.major, v.minor, 0)
        return Version(v.major, v.minor + 1, 0)
    if kind == "patch":
        if v.prerelease:
            return Version(v.major, v.minor, v.patch)
        return Version(v.major, v.minor, v.patch + 1)
    raise VersionError(f"unknown bump kind {kind!r}", hint="use major, minor or patch")


# -- tags ---------------------------------------------------------------------


def tag_prefix(config: Config) -> str:
    """What comes before the version in a tag: ``<path>/`` in a monorepo, then the
    configured tag prefix (``v``, ``sdk-``, ...)."""
    path = (config.path or ".").strip("/")
    head = "" if path in ("", ".") else path + "/"
    return head + (config.tag_prefix or "")


def tag_name(config: Config, version: Version | str) -> str:
    """``1.2.3``, ``v1.2.3`` or ``packages/foo/1.2.3``."""
    return f"{tag_prefix(config)}{version}"


def release_branch_name(config: Config, version: Version | str) -> str:
    """``<release_branch_prefix>/<version>`` (as craft names it)."""
    return f"{config.release_branch_prefix}/{version}"


def versions_from_tags(tags: Iterable[str], *, prefix: str) -> list[tuple[str, Version]]:
    """(tag, version) for every tag that is ``prefix`` + (``v``?) + semver."""
    found: list[tuple[str, Version]] = []
    for t in tags:
        t = t.strip()
        if not t.startswith(prefix):
            continue
        rest = t[len(prefix):]
        try:
            found.append((t, parse_version(rest, tag=True)))
        except VersionError:
            continue
    return found


def latest_tag(tags: Sequence[str], *, prefix: str) -> tuple[str, Version] | None:
    """The highest semver (stable or pre-release) among the tags with this prefix."""
    found = versions_from_tags(tags, prefix=prefix)
    if not found:
        return None
    # Ties (1.0.0 vs v1.0.0, or differing build metadata): the first listed wins.
    best = found[0]
    for item in found[1:]:
        if item[1] > best[1]:
            best = item
    return best


# -- conventional commits -------------------------------------------------------

_CONVENTIONAL_RE = re.compile(
    r"^(?P<type>[A-Za-z]+)(?:\((?P<scope>[^()\r\n]*)\))?(?P<bang>!)?:\s*(?P<desc>\S.*)$"
)
_BREAKING_FOOTER_RE = re.compile(r"^BREAKING[ -]CHANGE:\s*\S", re.MULTILINE)
# Types that describe no change to what is shipped.
NON_RELEASABLE_TYPES = frozenset({"chore", "docs", "style", "test", "tests", "ci", "release"})
_MERGE_RE = re.compile(r"^Merge (pull request|branch|remote-tracking branch|tag) ")


@dataclass(frozen=True)
class ParsedCommit:
    type: str | None  # lower-cased conventional type, None if not conventional
    scope: str | None
    breaking: bool
    description: str  # the subject without "type(scope)!: "
    subject: str


def parse_commit(subject: str, body: str = "") -> ParsedCommit:
    subject = " ".join(subject.split())
    m = _CONVENTIONAL_RE.match(subject)
    breaking = bool(_BREAKING_FOOTER_RE.search(body or ""))
    if not m:
        return ParsedCommit(None, None, breaking, subject, subject)
    scope = (m.group("scope") or "").strip() or None
    return ParsedCommit(m.group("type").lower(), scope, breaking or bool(m.group("bang")),
                        m.group("desc").strip(), subject)


def is_merge_subject(subject: str) -> bool:
    return bool(_MERGE_RE.match(subject))


def commit_level(parsed: ParsedCommit) -> Literal["major", "minor", "patch", "none"]:
    if is_merge_subject(parsed.subject):
        return "none"
    if parsed.breaking:
        return "major"
    if parsed.type == "feat":
        return "minor"
    if parsed.type in NON_RELEASABLE_TYPES and (parsed.scope or "").lower() != "deps":
        return "none"
    return "patch"


def _as_pair(item: Commit | tuple[str, str] | str) -> tuple[str, str]:
    if isinstance(item, str):
        return item, ""
    if isinstance(item, tuple):
        return item[0], item[1]
    return item.subject, item.body


def next_from_commits(previous: Version,
                      subjects_and_bodies: Iterable[Commit | tuple[str, str] | str]) -> Version:
    """The next version from conventional commits since ``previous`` (see module doc)."""
    commits = [_as_pair(c) for c in subjects_and_bodies]
    if not commits:
        raise VersionError(
            f"there are no commits since {previous}: nothing to release",
            hint="commit the changes to release first, or pass an explicit version")
    levels = {commit_level(parse_commit(s, b)) for s, b in commits}
    if levels <= {"none"}:
        raise VersionError(
            f"none of the {len(commits)} commit(s) since {previous} is releasable "
            "(only chore/docs/style/test/ci/merge commits)",
            hint="release with an explicit version or major/minor/patch if you still "
                 "want a release, or land a feat:/fix: change first")
    if "major" in levels:
        return bump(previous, "minor" if previous.major == 0 else "major")
    if "minor" in levels:
        return bump(previous, "minor")
    return bump(previous, "patch")


# -- calver ---------------------------------------------------------------------

_CALVER_TOKEN_RE = re.compile(r"%(-?)([A-Za-z%])")


def format_calver(day: date, fmt: str) -> str:
    """craft's strftime subset: %Y %y %m %-m %d %-d %j %-j %U/%W/%V week numbers."""

    def sub(m: re.Match[str]) -> str:
        nopad, code = m.group(1) == "-", m.group(2)
        values = {
            "Y": (day.year, 4), "y": (day.year % 100, 2), "m": (day.month, 2),
            "d": (day.day, 2), "j": (day.timetuple().tm_yday, 3),
            "V": (day.isocalendar()[1], 2), "G": (day.isocalendar()[0], 4),
            "U": (int(day.strftime("%U")), 2), "W": (int(day.strftime("%W")), 2),
        }
        if code not in values:
            raise VersionError(
                f"calver format {fmt!r} uses %{m.group(1)}{code}, which is not a calver token",
                hint="use %Y, %y, %m, %-m, %d, %-d, %j, %V, %G, %U or %W separated by dots")
        value, width = values[code]
        return str(value) if nopad else str(value).zfill(width)

    return _CALVER_TOKEN_RE.sub(sub, fmt)


def calver_base(today: date, fmt: str, offset_days: int = 0) -> str:
    """The date part as dot-separated numbers without leading zeros (``25.11``)."""
    text = format_calver(today - timedelta(days=offset_days), fmt)
    parts = text.split(".")
    if not 1 <= len(parts) <= 2 or not all(p.isdigit() for p in parts):
        raise VersionError(
            f"calver format {fmt!r} gives {text!r}: valet needs one or two numbers "
            "separated by a dot (the patch number is added after them)",
            hint="use a format such as %y.%-m (the default) or %Y.%-m")
    return ".".join(str(int(p)) for p in parts)


def check_calver_format(fmt: str) -> None:
    """Raise the VersionError ``next_calver`` would raise for this format (any day: every
    token gives digits, so the shape of the result does not depend on the date)."""
    calver_base(date(2025, 11, 30), fmt)


def next_calver(today: date, fmt: str, offset_days: int,
                existing_versions: Iterable[Version | str]) -> Version:
    """``<date part>.<n>`` with n the next free number for that date part.

    A one-number date part (e.g. ``%Y``) gives ``YYYY.n.0``."""
    base = calver_base(today, fmt, offset_days)
    nums = [int(p) for p in base.split(".")]
    used: set[int] = set()
    for item in existing_versions:
        v = parse_version(item, tag=True) if isinstance(item, str) else item
        if len(nums) == 2 and (v.major, v.minor) == (nums[0], nums[1]):
            used.add(v.patch)
        elif len(nums) == 1 and v.major == nums[0]:
            used.add(v.minor)
    n = max(used) + 1 if used else 0
    if len(nums) == 2:
        return Version(nums[0], nums[1], n)
    return Version(nums[0], n, 0)


# -- the whole decision ------------------------------------------------------------


@dataclass(frozen=True)
class Resolved:
    version: str
    previous: str | None  # the previous version (from the latest matching tag)
    previous_tag: str | None


def _branch_short(name: str) -> str:
    for head in ("refs/heads/", "refs/remotes/origin/", "remotes/origin/", "origin/"):
        if name.startswith(head):
            return name[len(head):]
    return name


def resolve_version(spec: str | None, *, config: Config, tags: Sequence[str],
                    commits: Sequence[Commit], today: date,
                    existing_branches: Sequence[str]) -> Resolved:
    """Turn what the user asked for into the version to release.

    ``spec``: an explicit semver, ``major``/``minor``/``patch``, ``auto``,
    ``calver``, or None/empty (the config's versioning policy decides).
    ``tags``: all tags of the repository; ``commits``: the commits since the
    latest matching tag (newest first); ``existing_branches``: local and/or remote
    branch names (``refs/heads/`` and ``origin/`` forms are understood).
    """
    prefix = tag_prefix(config)
    latest = latest_tag(tags, prefix=prefix)
    previous_tag, previous = (latest[0], latest[1]) if latest else (None, None)
    mode = (spec or "").strip()
    if not mode:
        policy = config.versioning_policy
        if policy == "manual":
            raise VersionError(
                "no version given and the versioning policy is manual",
                hint="pass the version to release (e.g. 1.2.3, or major/minor/patch/auto/"
                     "calver), or set versioning_policy: auto (or calver) in .valet.yml")
        mode = policy

    def need_previous() -> Version:
        if previous is None:
            where = f" starting with {prefix!r}" if prefix else ""
            raise VersionError(
                f"'{mode}' needs a previous release, but no tag{where} is a semantic version",
                hint="give the first version explicitly (e.g. 0.1.0 or 1.0.0); later "
                     f"releases can use {mode}")
        return previous

    if mode in BUMP_KINDS:
        new = bump(need_previous(), mode)
    elif mode == "auto":
        new = next_from_commits(need_previous(), [(c.subject, c.body) for c in commits])
    elif mode == "calver":
        new = next_calver(today, config.calver_format, config.calver_offset_days,
                          [v for _, v in versions_from_tags(tags, prefix=prefix)])
    else:
        new = parse_version(mode)

    version = str(new)
    for t, v in versions_from_tags(tags, prefix=prefix):
        if v.same_precedence(new):
            raise VersionError(
                f"version {version} is already tagged ({t})",
                hint="pick another version; a released version is never re-released")
    branch = release_branch_name(config, version)
    if branch in {_branch_short(b) for b in existing_branches}:
        raise VersionError(
            f"the release branch {branch} already exists",
            hint=f"a release of {version} is already being prepared: finish or delete the "
                 f"branch {branch}, or pick another version")
    return Resolved(version=version, previous=str(previous) if previous else None,
                    previous_tag=previous_tag)
