"""Group pull requests by label the way GitHub's generated release notes do (pure).

The repository's ``.github/release.yml`` (or ``.yaml``) is GitHub's own
convention for this::

    changelog:
      exclude:
        labels: [ignore-for-release]
        authors: [dependabot]
      categories:
        - title: New Features
          labels: [enhancement]
        - title: Other Changes
          labels: ["*"]

A pull request goes to the first category one of whose labels it carries (and
that does not exclude it by label or author); ``*`` takes any pull request no
earlier category took. One with a label or author under ``changelog.exclude``
is left out. One that no category takes is listed under "Other Changes".

The file is data from the repository: it only ever chooses headings and which
entries appear; titles are escaped like every other line of the changelog.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from valet.errors import VersionError

RELEASE_CONFIG_FILES = (".github/release.yml", ".github/release.yaml")
UNCATEGORIZED = "Other Changes"
_PR_RE = re.compile(r"\(#(\d{1,9})\)\s*$")
_MERGE_PR_RE = re.compile(r"^Merge pull request #(\d{1,9}) from ")


@dataclass(frozen=True)
class PullRequest:
    number: int
    labels: tuple[str, ...] = ()
    author: str | None = None


@dataclass(frozen=True)
class Category:
    title: str
    labels: tuple[str, ...]
    exclude_labels: tuple[str, ...] = ()
    exclude_authors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Categories:
    categories: tuple[Category, ...]
    exclude_labels: tuple[str, ...] = ()
    exclude_authors: tuple[str, ...] = ()

    def title_for(self, pr: PullRequest | None) -> str | None:
        """The category title of ``pr`` (None: the release notes leave it out). A commit
        without a pull request counts as one with no labels and no author."""
        labels = {lb.lower() for lb in (pr.labels if pr else ())}
        author = (pr.author or "").lower() if pr else ""
        if labels & _lower(self.exclude_labels) or author and author in _lower(self.exclude_authors):
            return None
        for cat in self.categories:
            if labels & _lower(cat.exclude_labels) or author and author in _lower(
                    cat.exclude_authors):
                continue
            if "*" in cat.labels or labels & _lower(cat.labels):
                return cat.title
        return UNCATEGORIZED


def _lower(values: Sequence[str]) -> set[str]:
    return {v.lower() for v in values}


class ReleaseConfigError(VersionError):
    """The repository's .github/release.yml is not what GitHub documents."""

    title = "release notes configuration invalid"


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
        raise ReleaseConfigError(f".github/release.yml: {where} must be a list of names",
                                 hint="see GitHub's documentation on automatically generated "
                                      "release notes, or remove the file")
    return tuple(str(v) for v in value)


def _exclude(raw: Any, where: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if raw is None:
        return (), ()
    if not isinstance(raw, dict):
        raise ReleaseConfigError(f".github/release.yml: {where} must be a mapping with "
                                 "labels and/or authors")
    return _strings(raw.get("labels"), f"{where}.labels"), \
        _strings(raw.get("authors"), f"{where}.authors")


def parse_release_config(text: str) -> Categories | None:
    """The categories of a release.yml, or None when it defines none."""
    from valet.config_load import load_yaml

    data = load_yaml(text, ".github/release.yml")
    changelog = data.get("changelog") if isinstance(data, dict) else None
    if changelog is None:
        return None
    if not isinstance(changelog, dict):
        raise ReleaseConfigError(".github/release.yml: changelog must be a mapping")
    ex_labels, ex_authors = _exclude(changelog.get("exclude"), "changelog.exclude")
    raw = changelog.get("categories") or []
    if not isinstance(raw, list):
        raise ReleaseConfigError(".github/release.yml: changelog.categories must be a list")
    cats = []
    for i, item in enumerate(raw):
        where = f"changelog.categories[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("title"), (str, int)) \
                or not str(item.get("title")).strip():
            raise ReleaseConfigError(f".github/release.yml: {where} needs a title")
        labels = _strings(item.get("labels"), f"{where}.labels")
        if not labels:
            raise ReleaseConfigError(f".github/release.yml: {where} needs labels "
                                     "(\"*\" takes every pull request)")
        c_labels, c_authors = _exclude(item.get("exclude"), f"{where}.exclude")
        cats.append(Category(" ".join(str(item["title"]).split()), labels, c_labels, c_authors))
    if not cats:
        return None
    return Categories(tuple(cats), ex_labels, ex_authors)


def pr_number(subject: str) -> int | None:
    """The pull request a commit subject names: ``... (#123)`` (squash merge) or ``Merge
    pull request #123 from ...``."""
    m = _PR_RE.search(subject) or _MERGE_PR_RE.match(subject)
    return int(m.group(1)) if m else None
