"""A real `valet prepare` against the sandbox: branch pushed over git HTTP, then (by hand)
`valet request --from prepare.json` fills the draft release and opens the request."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.helpers import tagged_sdk_clone
from valet.cli import main
from valet.errors import GitError
from valet.issue_format import parse_issue

pytestmark = pytest.mark.sandbox

CONFIG = """\
changelog_policy: auto
build:
  - mkdir -p dist && printf 'sdist %s' "$VALET_VERSION" > "dist/demo-$VALET_VERSION.tar.gz"
  - printf 'wheel %s' "$VALET_VERSION" > "dist/demo-$VALET_VERSION-py3-none-any.whl"
  - for i in $(seq 1 120); do echo "noisy build line $i"; done
artifacts: [dist/*]
targets:
  - name: pypi
  - name: github
"""


@pytest.fixture
def sdk(sandbox: Any, gh_repo_factory: Any, tmp_path: Path) -> tuple[Any, Path]:
    """An SDK repo on the sandbox tagged 1.2.3 plus `feat: add a` and `fix: repair b`,
    cloned with a token-free origin URL (the token reaches git only through env)."""
    return tagged_sdk_clone(sandbox, gh_repo_factory, tmp_path / "clone", {
        "pyproject.toml": '[project]\nname = "demo"\nversion = "1.2.3"\n',
        ".valet.yml": CONFIG, ".gitignore": "dist/\n"})


def _env(sandbox: Any, repo: Any, token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
    env.update(sandbox.env())
    env.update({"GITHUB_TOKEN": token, "GITHUB_REPOSITORY": repo.full_name,
                "GITHUB_ACTOR": repo.owner})
    return env


def _cli(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "valet", *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=300, check=False)


def _as_jq_does(stdout: str) -> Any:
    """`prepare --json | jq .`: stdout must be exactly one JSON document."""
    jq = shutil.which("jq")
    if jq:
        subprocess.run([jq, "-e", "."], input=stdout, text=True, capture_output=True,
                       check=True)
    return json.loads(stdout)


def test_prepare_pushes_one_commit_and_nothing_else(
        sdk: tuple[Any, Path], sandbox: Any, tmp_path: Path) -> None:
    repo, clone = sdk
    proc = _cli(["prepare", "auto", "--json"], clone, _env(sandbox, repo, repo.token))
    assert proc.returncode == 0, proc.stderr
    printed = _as_jq_does(proc.stdout)
    assert printed["version"] == "1.3.0" and printed["pushed"] is True
    assert printed["build_mode"] == "isolated" and printed["targets"] == ["pypi", "github"]
    gh = repo.gh()
    cmp = gh.compare("main", "release/1.3.0")
    assert cmp.ahead_by == 1 and cmp.commits[0].commit.message.startswith("release: 1.3.0")
    assert sorted(f.filename for f in cmp.files) == ["CHANGELOG.md", "pyproject.toml"]
    assert gh.get_branch("release/1.3.0").commit.sha == printed["sha"]
    # prepare runs no build and uploads nothing: that is the build and request jobs' work
    assert not (clone / "dist").exists() and "noisy build line" not in proc.stderr
    assert not [r for r in gh.get_releases() if r.tag_name == "1.3.0"]
    assert repo.token not in (clone / ".git" / "config").read_text()


def test_prepare_json_then_request_from_it_opens_the_request(
        sdk: tuple[Any, Path], sandbox: Any, gh_client: Any, tmp_path: Path) -> None:
    """The by-hand path: `valet prepare --same-job-build --json > prepare.json` (a noisy
    build: its output goes to stderr, stdout stays one JSON document), then
    `valet request --from prepare.json`."""
    repo, clone = sdk
    sandbox.admin.create_repo(f"{repo.owner}/publish", files={"README.md": "publish\n"})
    env = _env(sandbox, repo, repo.token)
    proc = _cli(["prepare", "1.3.0", "--json", "--same-job-build", "--out-dir",
                 str(tmp_path / "built")], clone, env)
    assert proc.returncode == 0, proc.stderr
    assert "noisy build line 120" in proc.stderr and "noisy build line 7" not in proc.stdout
    printed = _as_jq_does(proc.stdout)
    assert printed["build_mode"] == "same-job"
    assert [a["name"] for a in printed["built"]] == ["demo-1.3.0-py3-none-any.whl",
                                                     "demo-1.3.0.tar.gz"]
    (tmp_path / "prepare.json").write_text(proc.stdout)

    req = _cli(["request", "--from", str(tmp_path / "prepare.json")], tmp_path, env)
    assert req.returncode == 0, req.stderr
    gh = repo.gh()
    (rel,) = [r for r in gh.get_releases() if r.tag_name == "1.3.0"]
    assert rel.draft
    assets = {a.name: a for a in rel.get_assets()}
    assert sorted(assets) == ["demo-1.3.0-py3-none-any.whl", "demo-1.3.0.tar.gz",
                              "manifest.json"]
    (issue,) = [i for i in gh_client(repo.token).get_repo(f"{repo.owner}/publish").get_issues(state="open")
                if i.title == f"publish: {repo.full_name}@1.3.0"]
    parsed = parse_issue(issue.title, issue.body)
    assert (parsed.sha, parsed.branch, parsed.release_id) == (printed["sha"], "release/1.3.0",
                                                              rel.id)
    assert parsed.build == "same-job"
    assert "The build ran where a token was reachable" in issue.body
    built = tmp_path / "built"
    for art in parsed.artifacts:
        assert assets[art.name].size == art.size
        assert hashlib.sha256((built / art.name).read_bytes()).hexdigest() == art.sha256


def test_an_invalid_token_says_so_with_the_fix(sdk: tuple[Any, Path], sandbox: Any,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    repo, clone = sdk
    monkeypatch.chdir(clone)
    for key, value in sandbox.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("INPUT_GITHUB_TOKEN", "ghs_" + "0" * 36)
    monkeypatch.setenv("GITHUB_REPOSITORY", repo.full_name)
    assert main(["prepare", "auto"]) == GitError.exit_code
    err = capsys.readouterr().err
    assert "the token is invalid or expired" in err
    assert "could not read Username" not in err and "terminal prompts" not in err
    assert "github-token" in err  # the fix
