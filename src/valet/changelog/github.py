"""What the changelog reads from the repository and from GitHub (I/O at the edge).

Prepare calls ``changelog_for_release``: it reads the repository's
``.github/release.yml`` (when there is one and it defines categories) and then,
for each commit that is not a conventional commit, the labels and author of
its pull request: ``GET /repos/{owner}/{repo}/pulls/{number}`` when the
subject names one (``... (#123)``, ``Merge pull request #123``), else
``GET /repos/{owner}/{repo}/commits/{sha}/pulls``. Everything else is the
pure work of ``valet.changelog``. Labels are data: they only choose a heading.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from valet import gha
from valet.changelog import ChangelogResult, apply_changelog, classify
from valet.changelog.categories import (
    RELEASE_CONFIG_FILES,
    Categories,
    PullRequest,
    parse_release_config,
    pr_number,
)
from valet.config import Config
from valet.errors import GitHubError
from valet.git import Commit

# A release with more commits than this to look up is grouped without labels: the
# lookups would cost more API calls than a release should (each one is a request).
MAX_LOOKUPS = 300


def read_release_config(root: Path) -> Categories | None:
    for name in RELEASE_CONFIG_FILES:
        path = root / name
        if path.is_file() and not path.is_symlink():
            return parse_release_config(path.read_text(encoding="utf-8"))
    return None


def _pull(data: Any) -> PullRequest | None:
    if not isinstance(data, dict) or not isinstance(data.get("number"), int):
        return None
    labels = tuple(str(lb["name"]) for lb in data.get("labels") or []
                   if isinstance(lb, dict) and isinstance(lb.get("name"), str))
    user = data.get("user")
    login = user.get("login") if isinstance(user, dict) else None
    return PullRequest(data["number"], labels, login if isinstance(login, str) else None)


def _get(session: Any, url: str, doing: str) -> Any:
    """The JSON at ``url``; None when GitHub has no such pull request (404)."""
    import requests

    from valet.github_client import timeout, wrap

    try:
        resp = session.get(url, timeout=timeout())
    except requests.RequestException as exc:
        raise GitHubError(f"{doing} failed: {exc}") from None
    if resp.status_code == 404:
        return None
    if resp.status_code != 200:
        try:
            message = str(resp.json().get("message", ""))
        except (ValueError, AttributeError):
            message = resp.text[:200]
        failure = Exception(message)
        failure.status = resp.status_code  # type: ignore[attr-defined]
        failure.data = {"message": message}  # type: ignore[attr-defined]
        raise wrap(failure, doing)
    return resp.json()


def _conventional_group(commit: Commit) -> str | None:
    found = classify(commit.subject, commit.body)
    return found[0] if found else None


def fetch_pulls(commits: Sequence[Commit], *, repo: str, token: str | None,
                session: Any = None) -> dict[str, PullRequest]:
    """The pull request of each commit that is not conventional, by commit sha."""
    from valet.github_client import api_url
    from valet.github_client import session as make_session

    wanted = [c for c in commits if _conventional_group(c) == "other"]
    if len(wanted) > MAX_LOOKUPS:
        gha.warning(f"{len(wanted)} commits to look up pull request labels for: more than "
                    f"{MAX_LOOKUPS}, so they are listed without label categories")
        return {}
    http = session or make_session(token)
    base = f"{api_url()}/repos/{repo}"
    by_number: dict[int, PullRequest | None] = {}
    out: dict[str, PullRequest] = {}
    for c in wanted:
        number = pr_number(c.subject)
        pr: PullRequest | None
        if number is not None:
            if number not in by_number:
                by_number[number] = _pull(_get(http, f"{base}/pulls/{number}",
                                               f"reading pull request #{number}"))
            pr = by_number[number]
        else:
            listed = _get(http, f"{base}/commits/{c.sha}/pulls",
                          f"finding the pull request of {c.sha[:12]}")
            listed = listed if isinstance(listed, list) else []
            merged = [p for p in listed
                      if isinstance(p, dict) and p.get("merge_commit_sha") == c.sha]
            pr = _pull((merged or listed)[0]) if merged or listed else None
        if pr is not None:
            out[c.sha] = pr
    return out


def changelog_for_release(config: Config, current: str, version: str,
                          commits: Sequence[Commit], *, root: Path, filename: str,
                          repo: str | None, repo_url: str | None, token: str | None,
                          today: date) -> ChangelogResult:
    categories = read_release_config(root) if config.changelog_policy == "auto" else None
    pulls: dict[str, PullRequest] = {}
    if categories is not None:
        if repo and token:
            pulls = fetch_pulls(commits, repo=repo, token=token)
        else:
            gha.warning("no GitHub token or repository to read pull request labels with: "
                        "commits that are not conventional go under the catch-all category")
    return apply_changelog(config.changelog_policy, current, version, list(commits),
                           repo_url=repo_url, today=today, filename=filename,
                           categories=categories, pulls=pulls)
