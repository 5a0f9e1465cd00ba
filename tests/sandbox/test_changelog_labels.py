"""`valet prepare` groups commits that are not conventional by their pull request's labels,
read from the sandbox's GitHub API, when the repository has .github/release.yml; and it
writes the new section in the changelog's own format (here reStructuredText)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.helpers import git
from valet.cli import main

pytestmark = pytest.mark.sandbox

RELEASE_YML = """\
changelog:
  exclude:
    labels: [skip-changelog]
  categories:
    - title: New Features
      labels: [enhancement]
    - title: Fixes
      labels: [bug]
    - title: Other
      labels: ["*"]
"""
CHANGES = "Changes\n=======\n\n1.2.3\n-----\n\n* The first release\n"


def test_prepare_groups_by_pr_labels_and_keeps_the_rst_format(
        sandbox: Any, sandbox_env: Any, gh_repo_factory: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    repo = gh_repo_factory({
        "pyproject.toml": '[project]\nname = "demo"\nversion = "1.2.3"\n',
        ".valet.yml": "changelog_policy: auto\nchangelog_file: CHANGES.rst\n",
        ".github/release.yml": RELEASE_YML, "CHANGES.rst": CHANGES})
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", repo.clone_url, str(clone))
    git(clone, "config", "user.name", "dev")
    git(clone, "config", "user.email", "dev@valet.invalid")
    git(clone, "tag", "1.2.3")
    admin = sandbox.admin
    # squash merges name their PR; a direct commit is found through commits/{sha}/pulls
    feature = admin.create_pull(repo.full_name, "Shiny thing", user=repo.owner,
                                labels=["enhancement"], head="main")
    hidden = admin.create_pull(repo.full_name, "Internal", user=repo.owner,
                               labels=["bug", "skip-changelog"], head="main")
    subjects = [f"Add a shiny thing (#{feature['number']})", "Repair the widget",
                f"Tidy internals (#{hidden['number']})", "fix: a conventional fix"]
    for i, subject in enumerate(subjects):
        (clone / f"f{i}.txt").write_text(subject)
        git(clone, "add", f"f{i}.txt")
        git(clone, "commit", "-q", "-m", subject)
    repair = git(clone, "rev-parse", "HEAD~2").strip()
    git(clone, "push", "-q", "origin", "main", "--tags")
    admin.create_pull(repo.full_name, "Repair the widget", user=repo.owner, labels=["bug"],
                      merged_as=repair)
    git(clone, "remote", "set-url", "origin", sandbox.git_url(repo.full_name))
    admin.clear_request_log()

    monkeypatch.chdir(clone)
    monkeypatch.setenv("INPUT_GITHUB_TOKEN", repo.token)
    monkeypatch.setenv("GITHUB_REPOSITORY", repo.full_name)
    assert main(["prepare", "1.3.0", "--dry-run", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    server = sandbox.server_url
    assert plan["changelog"] == (
        "### Bug Fixes\n\n- a conventional fix\n\n"
        f"### New Features\n\n- Add a shiny thing ([#{feature['number']}]"
        f"({server}/{repo.full_name}/pull/{feature['number']}))\n\n"
        "### Fixes\n\n- Repair the widget")
    calls = [(r["method"], r["path"]) for r in admin.request_log() if r["kind"] == "api"]
    assert ("GET", f"/repos/{repo.full_name}/pulls/{feature['number']}") in calls
    assert ("GET", f"/repos/{repo.full_name}/commits/{repair}/pulls") in calls
    # the file itself, in its own format
    from valet.prepare import PrepareOptions, compute_plan

    full, _ = compute_plan(PrepareOptions(spec="1.3.0", cwd=clone, dry_run=True,
                                          token=repo.token, repo=repo.full_name))
    text = full.contents["CHANGES.rst"]
    assert text.startswith("Changes\n=======\n\n1.3.0\n-----\n\nBug Fixes\n~~~~~~~~~\n\n"
                           "* a conventional fix\n\nNew Features\n~~~~~~~~~~~~\n\n"
                           f"* Add a shiny thing (`#{feature['number']} <")
    assert text.endswith("Fixes\n~~~~~\n\n* Repair the widget\n\n1.2.3\n-----\n\n"
                         "* The first release\n")
