"""`valet build` (the token-free build job) and the prepare JSON it and `valet request` read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from valet.build import checkout_release_commit
from valet.cli import main
from valet.errors import UsageError

from .conftest import git

CONFIG = """\
build: mkdir -p dist && printf '%s' "$VALET_VERSION" > "dist/demo-$VALET_VERSION.tar.gz"
artifacts: [dist/*]
"""


def test_build_builds_the_release_commit_into_a_fresh_directory(
        make_repo: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(CONFIG)
    release = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "HEAD~1")  # the checkout is elsewhere: build the release commit
    prepared = tmp_path / "prepare.json"
    prepared.write_text(json.dumps({"version": "1.3.0", "sha": release, "pushed": True,
                                    "branch": "release/1.3.0", "tag": "1.3.0"}))
    out_file = tmp_path / "out.txt"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out_file))
    monkeypatch.chdir(repo)
    assert main(["build", "--from", str(prepared), "--out-dir", str(tmp_path / "built")]) == 0
    assert git(repo, "rev-parse", "HEAD").strip() == release
    assert (tmp_path / "built" / "demo-1.3.0.tar.gz").read_bytes() == b"1.3.0"
    text = out_file.read_text()
    assert str(tmp_path / "built") in text and "\n1\n" in text


def test_build_reads_the_prepared_input(make_repo: Any, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo(CONFIG)
    sha = git(repo, "rev-parse", "HEAD").strip()
    monkeypatch.setenv("INPUT_PREPARED", json.dumps({"version": "2.0.0", "sha": sha}))
    monkeypatch.chdir(repo)
    assert main(["build", "--out-dir", str(tmp_path / "b")]) == 0
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["demo-2.0.0.tar.gz"]


def test_checkout_refuses_a_missing_commit_or_a_dirty_tree(make_repo: Any) -> None:
    repo = make_repo(CONFIG)
    with pytest.raises(UsageError, match="is not in this checkout"):
        checkout_release_commit(repo, "1" * 40)
    other = git(repo, "rev-parse", "HEAD~1").strip()
    (repo / "a.txt").write_text("changed\n")
    with pytest.raises(UsageError, match="uncommitted changes"):
        checkout_release_commit(repo, other)


@pytest.mark.parametrize(("text", "message"), [
    ("not json", "is not JSON"),
    ('["a list"]', "is not the JSON of `valet prepare`"),
    ('{"version": "1.0.0", "sha": "", "pushed": false}', "the JSON of a dry run"),
])
def test_request_from_refuses_what_prepare_did_not_write(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        text: str, message: str) -> None:
    (tmp_path / "p.json").write_text(text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_REPOSITORY", "o/sdk")
    monkeypatch.setenv("GITHUB_ACTOR", "alice")
    assert main(["request", "--dry-run", "--from", "p.json"]) == UsageError.exit_code
    assert message in capsys.readouterr().err
