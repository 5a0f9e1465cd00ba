"""What ships was reviewed: the release commit is prepare's own commit on the merge target.

Anyone who can push a branch to the SDK repository (every committer holds the request
App's token in a workflow of their own) can cut a release commit on top of anything. The
merge target is protected, so what is in its history was reviewed; the one commit
valet prepare adds on top writes only version numbers and the changelog. This module
decides, from GitHub's compare of ``<merge target>...<release commit>`` alone (no
checkout, no other read), whether the release commit is exactly that:

1. *Where it sits.* The release commit is one commit ahead of the merge target
   (``ahead_by`` 1, GitHub's ``commits`` holds it alone), it has exactly one parent, and
   that parent is the merge base, so it is in the merge target's history. Already in
   that history (``identical``, ``behind``: merged, a re-run) passes too.
2. *What it changes.* The changelog may change freely (prepare writes a new section;
   the first release creates the file). Every other changed file is modified, never
   added, removed or renamed, and every change in it is a version substitution: each
   removed line and the added line in its place are equal once the new version in the
   added line is replaced by one old version, and the old version parses as a version.
   In the configuration's ``bump_files`` and in the files valet knows as version files
   by name (``valet.bump.is_version_file``: pyproject.toml, package.json, Cargo.toml,
   their lock files, a .py file) the old version may be any version (a bump replaces
   whatever the file held: a first release, a stale file). In any other file, which
   only a ``pre_release_command`` such as craft's ``scripts/bump-version.sh`` can have
   changed, it must be the previous release's version, read from the request's previous tag and parsed with the version grammar
   (request data, so it can only narrow what passes); with no previous release, such a
   file is refused.

A file GitHub shows no patch for (binary, or too large) and a compare that lists 300
files (GitHub's limit) are refused: the change cannot be read, so it is not guessed.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from valet.version import is_valid_version

COMPARE_FILES = 300  # GitHub lists at most this many files in a compare
SHOWN = 8  # problems named in a refusal; the rest are counted


@dataclass(frozen=True)
class ReleaseFiles:
    """What the merge target's configuration says prepare writes."""

    changelog: str | None  # repo-relative path; None: the changelog policy is none
    version_files: frozenset[str]  # repo-relative: the configuration's bump_files
    project: str  # the project directory, whose version files valet knows by name


def release_files(config: Any, path: str) -> ReleaseFiles:
    """From a valet.config.Config read from the merge target, for project ``path``."""
    def rel(name: str) -> str:
        return posixpath.normpath(posixpath.join(path or ".", name)).lstrip("/")

    changelog = None if config.changelog_policy == "none" else rel(config.changelog_file)
    named = frozenset(rel(f) for f in config.bump_files)
    return ReleaseFiles(changelog, named, posixpath.normpath(path or "."))


def previous_version(previous_tag: str | None, tag_prefix: str) -> str | None:
    """The previous release's version from its tag (``v1.2.2``, ``pkg/1.2.2``: the prefix,
    a ``v`` perhaps, a version, as prepare finds the previous tag), or None when there is
    none or it does not parse as a version."""
    if not previous_tag or not previous_tag.startswith(tag_prefix):
        return None
    version = previous_tag[len(tag_prefix):]
    if version[:1] in ("v", "V") and is_valid_version(version[1:]):
        version = version[1:]
    return version if is_valid_version(version) else None


def problems(compare: dict[str, Any], *, sha: str, version: str, previous: str | None,
             files: ReleaseFiles) -> list[str]:
    """Why the release commit is not prepare's own commit on the merge target ([]: it is)."""
    status = compare.get("status")
    if status in ("identical", "behind"):
        return []  # the release commit is in the merge target's history: reviewed there
    if status not in ("ahead", "diverged"):
        return [f"GitHub's compare says `{status}`, not how the release commit relates to "
                "the merge target"]
    where = _placement(compare, sha)
    if where:
        return [where]
    listed = compare.get("files")
    if not isinstance(listed, list):
        return ["GitHub's compare lists no changed files"]
    if len(listed) >= COMPARE_FILES:
        return [f"the release commit changes {len(listed)} or more files: GitHub lists at "
                f"most {COMPARE_FILES}, so what it changes cannot be read in full"]
    out: list[str] = []
    for item in listed:
        why = _file_problem(item, version=version, previous=previous, files=files)
        if why:
            out.append(why)
    return out


def _placement(compare: dict[str, Any], sha: str) -> str | None:
    ahead = compare.get("ahead_by")
    commits = compare.get("commits")
    if ahead != 1 or not isinstance(commits, list) or len(commits) != 1:
        count = ahead if isinstance(ahead, int) else "an unknown number of"
        return (f"the release commit is {count} commits ahead of the merge target, not one: "
                "commits between the merge target and the release commit were not reviewed "
                "there")
    commit = commits[0] if isinstance(commits[0], dict) else {}
    if str(commit.get("sha") or "").lower() != sha.lower():
        return f"the one commit ahead of the merge target is {commit.get('sha')}, not {sha}"
    parents = [p.get("sha") for p in commit.get("parents") or [] if isinstance(p, dict)]
    if len(parents) != 1:
        return (f"the release commit is a merge commit ({len(parents)} parents): prepare "
                "makes one commit on top of the merge target")
    base = (compare.get("merge_base_commit") or {}).get("sha")
    if not isinstance(base, str) or not isinstance(parents[0], str) \
            or parents[0].lower() != base.lower():
        return (f"the release commit's parent {parents[0]} is not the merge base with the "
                "merge target")
    return None


def _file_problem(item: Any, *, version: str, previous: str | None,
                  files: ReleaseFiles) -> str | None:
    if not isinstance(item, dict) or not isinstance(item.get("filename"), str):
        return "GitHub's compare lists a file without a name"
    name, status = item["filename"], item.get("status")
    if files.changelog is not None and name == files.changelog and status in ("modified",
                                                                                "added"):
        return None
    if status != "modified":
        moved = item.get("previous_filename")
        return f"{moved} → {name} is renamed" if status == "renamed" and moved else \
            f"{name} is {status}"
    patch = item.get("patch")
    if not isinstance(patch, str):
        return f"{name}: GitHub shows no patch (a binary file, or too large to show)"
    own = name in files.version_files or _version_file(name, files.project)
    allowed = None if own else previous
    if not own and previous is None:
        return (f"{name} changed, and with no previous release only the changelog and the "
                "configuration's version files may change")
    for removed, added in _pairs(patch):
        if removed is None or added is None:
            line = added if added is not None else removed
            return f"{name}: a line {'added' if added is not None else 'removed'} " \
                f"({_short(line or '')}), not a version changed"
        old = old_version(removed, added, version)
        if old is None or (allowed is not None and old != allowed):
            return f"{name}: {_short(removed)} → {_short(added)} is not " + (
                f"{previous} → {version}" if allowed is not None else f"a version → {version}")
    return None


def _version_file(name: str, project: str) -> bool:
    """A file of the project valet knows as a version file by its name."""
    from valet.bump import is_version_file

    if project not in ("", ".") and not name.startswith(project.rstrip("/") + "/"):
        return False
    return is_version_file(name)


def _pairs(patch: str) -> Iterable[tuple[str | None, str | None]]:
    """Each removed line with the added line in its place, hunk by hunk; a removed line
    without an added one (or the other way round) comes with None."""
    removed: list[str] = []
    added: list[str] = []

    def flush() -> Iterable[tuple[str | None, str | None]]:
        for i in range(max(len(removed), len(added))):
            yield (removed[i] if i < len(removed) else None,
                   added[i] if i < len(added) else None)
        removed.clear()
        added.clear()

    for line in patch.split("\n"):
        if line.startswith("\\"):  # "\ No newline at end of file": about the line before
            continue
        if line.startswith("-"):
            if added:  # a new run of changes: + lines come after the - lines they replace
                yield from flush()
            removed.append(line[1:])
        elif line.startswith("+"):
            added.append(line[1:])
        else:
            yield from flush()
    yield from flush()


def old_version(removed: str, added: str, version: str) -> str | None:
    """The one version ``removed`` has where ``added`` has ``version`` (every occurrence
    replaced by the same one), or None when the two differ otherwise."""
    if not version or version not in added:
        return None
    parts = [re.escape(p) for p in added.split(version)]
    pattern = parts[0] + "(?P<old>.+?)" + "(?P=old)".join(parts[1:])
    match = re.fullmatch(pattern, removed)
    if match is None:
        return None
    old = match.group("old")
    return old if old != version and is_valid_version(old) else None


def _short(line: str, limit: int = 80) -> str:
    text = line.strip()
    shown = text if len(text) <= limit else text[:limit - 1] + "…"
    return f"`{shown.replace('`', chr(39))}`"


def describe(found: list[str]) -> str:
    shown = "; ".join(found[:SHOWN])
    return shown + (f"; and {len(found) - SHOWN} more" if len(found) > SHOWN else "")
