"""action-prepare-release run by act (host mode) against the sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.helpers import tagged_sdk_clone

pytestmark = [pytest.mark.act, pytest.mark.sandbox]

REPO_ROOT = Path(__file__).resolve().parents[2]

CONFIG = """\
changelog_policy: auto
build: mkdir -p dist && printf 'sdist %s' "$VALET_VERSION" > "dist/demo-$VALET_VERSION.tar.gz"
artifacts: [dist/*]
"""

WORKFLOW = """\
name: release
on:
  workflow_dispatch:
    inputs:
      version: {required: true}
      dry-run: {required: false, default: "false"}
jobs:
  prepare:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: prep
        uses: acme/valet/action-prepare-release@v1
        with:
          version: ${{ inputs.version }}
          dry-run: ${{ inputs.dry-run }}
          github-token: ${{ secrets.RELEASE_TOKEN }}
      - name: show outputs
        env:
          OUT_VERSION: ${{ steps.prep.outputs.version }}
          OUT_SHA: ${{ steps.prep.outputs.sha }}
          OUT_MANIFEST: ${{ steps.prep.outputs.manifest }}
        run: |
          printf 'seen version=%s sha=%s\\n' "$OUT_VERSION" "$OUT_SHA"
          if [ -n "$OUT_MANIFEST" ]; then test -s "$OUT_MANIFEST"; echo manifest-ok; fi
"""


@pytest.fixture
def sdk_checkout(sandbox: Any, gh_repo_factory: Any, tmp_path: Path) -> tuple[Any, Path]:
    # The checkout act copies has a token-free origin: the action must authenticate itself.
    return tagged_sdk_clone(sandbox, gh_repo_factory, tmp_path / "sdk", {
        "pyproject.toml": '[project]\nname = "demo"\nversion = "1.2.3"\n',
        ".valet.yml": CONFIG, ".gitignore": "dist/\n", ".github/workflows/release.yml": WORKFLOW})


def _run(sandbox: Any, repo: Any, clone: Path, inputs: dict[str, str]) -> Any:
    from valet.sandbox.act_runner import run_workflow

    event = {"inputs": inputs, "sender": {"login": repo.owner},
             "repository": {"full_name": repo.full_name}}
    result = run_workflow(clone, ".github/workflows/release.yml", "workflow_dispatch", event,
                          env=sandbox.env(), secrets={"RELEASE_TOKEN": repo.token},
                          local_actions={"acme/valet@v1": REPO_ROOT}, timeout=300)
    assert result.ok, result.describe()
    return result


def test_action_prepares_the_release_and_sets_outputs(sandbox: Any,
                                                      sdk_checkout: tuple[Any, Path]) -> None:
    repo, clone = sdk_checkout
    result = _run(sandbox, repo, clone, {"version": "auto", "dry-run": "false"})
    out = result.outputs["prep"]
    assert out["version"] == "1.3.0"
    assert out["branch"] == "release/1.3.0"
    assert out["previous-tag"] == "1.2.3"
    assert len(out["sha"]) == 40 and out["manifest"].endswith("manifest.json")
    assert "add a" in out["changelog"]
    gh = repo.gh()
    assert gh.get_branch("release/1.3.0").commit.sha == out["sha"]
    (rel,) = [r for r in gh.get_releases() if r.tag_name == "1.3.0"]
    assert rel.draft and str(rel.id) == out["release-id"]
    assert sorted(a.name for a in rel.get_assets()) == ["demo-1.3.0.tar.gz", "manifest.json"]
    assert "manifest-ok" in result.stdout
    assert repo.token not in result.stdout


def test_action_dry_run_sets_plan_outputs_and_pushes_nothing(
        sandbox: Any, sdk_checkout: tuple[Any, Path]) -> None:
    repo, clone = sdk_checkout
    result = _run(sandbox, repo, clone, {"version": "minor", "dry-run": "true"})
    out = result.outputs["prep"]
    assert (out["version"], out["branch"], out["sha"]) == ("1.3.0", "release/1.3.0", "")
    branches = [b.name for b in repo.gh().get_branches()]
    assert branches == ["main"]
    assert not [r for r in repo.gh().get_releases() if r.tag_name == "1.3.0"]
    assert json.dumps(out)  # all outputs are plain strings
