"""A custom bump command runs in the token-free bump job; prepare commits only what the
config names (real git repos in tmp: the bump job works in its own clone, offline)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from valet.errors import BuildError
from valet.prepare import PrepareOptions, apply_plan, bump_job, compute_plan

from .conftest import git

CONFIG = """\
pre_release_command: bash scripts/bump.sh
bump_files: [pyproject.toml, VERSION]
"""
BUMP = 'printf "%s\\n" "$2" > VERSION\n'


def _repo(make_repo: Any, script: str = BUMP, config: str = CONFIG) -> Path:
    return make_repo(config, origin=True, extra={"scripts/bump.sh": script, "VERSION": "1.2.3\n"})


def _bump(tmp_path: Path, name: str = "bumpco") -> tuple[Any, Path, list[str]]:
    """The bump job: its own clone (no token, no fetch), valet bump into a fresh dir."""
    clone = tmp_path / name
    git(tmp_path, "clone", "-q", str(tmp_path / "origin.git"), str(clone))
    return bump_job(PrepareOptions(spec="auto", cwd=clone), tmp_path / f"{name}-out")


def _prepare(repo: Path, bumped: Path) -> Any:
    opts = PrepareOptions(spec="auto", cwd=repo, repo="o/r", bumped=bumped)
    plan, ctx = compute_plan(opts)
    return apply_plan(plan, ctx, opts)


def test_the_bump_job_output_is_committed_by_prepare(make_repo: Any, tmp_path: Path) -> None:
    repo = _repo(make_repo)
    plan, out, changed = _bump(tmp_path)
    assert (plan.version, changed) == ("1.3.0", ["VERSION"])
    meta = json.loads((out / "bump.json").read_text())
    assert meta["version"] == "1.3.0" and list(meta["files"]) == ["VERSION"]
    result = _prepare(repo, out)
    origin = tmp_path / "origin.git"
    assert git(origin, "show", "release/1.3.0:VERSION") == "1.3.0\n"
    assert 'version = "1.3.0"' in git(origin, "show", "release/1.3.0:pyproject.toml")
    assert git(origin, "rev-list", "--count", "main..release/1.3.0").strip() == "1"
    assert result.sha == git(origin, "rev-parse", "release/1.3.0").strip()
    # the command never ran where prepare holds the token
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.parametrize(("script", "message"), [
    (BUMP + "echo evil >> a.txt\n", "a.txt, which bump_files does not name"),
    (BUMP + "mkdir -p .github/workflows && echo x > .github/workflows/x.yml\n",
     ".github/workflows/x.yml, which valet never takes"),
    (BUMP + "echo new > NEWFILE\n", "NEWFILE, which bump_files does not name"),
])
def test_the_bump_job_refuses_other_paths(make_repo: Any, tmp_path: Path, script: str,
                                          message: str) -> None:
    _repo(make_repo, script)
    with pytest.raises(BuildError, match=message):
        _bump(tmp_path)


def test_prepare_refuses_a_tampered_bump_artifact(make_repo: Any, tmp_path: Path) -> None:
    repo = _repo(make_repo)
    _, out, _ = _bump(tmp_path)
    # a file smuggled in beside the listed ones
    (out / "files" / "a.txt").write_text("evil\n")
    with pytest.raises(BuildError, match="does not list: a.txt"):
        _prepare(repo, out)
    (out / "files" / "a.txt").unlink()
    # a listed path the config does not name
    meta = json.loads((out / "bump.json").read_text())
    (out / "files" / "a.txt").write_text("evil\n")
    meta["files"]["a.txt"] = __import__("hashlib").sha256(b"evil\n").hexdigest()
    (out / "bump.json").write_text(json.dumps(meta))
    with pytest.raises(BuildError, match="a.txt, which bump_files does not name"):
        _prepare(repo, out)
    assert "release/" not in git(tmp_path / "origin.git", "for-each-ref")
    assert "release/" not in git(repo, "for-each-ref")


def test_prepare_refuses_a_bump_for_another_base_or_version(make_repo: Any,
                                                            tmp_path: Path) -> None:
    repo = _repo(make_repo)
    _, out, _ = _bump(tmp_path)
    (repo / "c.txt").write_text("c\n")
    git(repo, "add", "c.txt")
    git(repo, "commit", "-q", "-m", "fix: c")
    git(repo, "push", "-q", "origin", "main")
    with pytest.raises(BuildError, match="the merge target moved"):
        _prepare(repo, out)
    opts = PrepareOptions(spec="2.0.0", cwd=repo, repo="o/r", bumped=out)
    plan, ctx = compute_plan(opts)
    with pytest.raises(BuildError, match="bumped to '1.3.0', this run releases '2.0.0'"):
        apply_plan(plan, ctx, opts)


def test_without_bump_files_any_tracked_project_file_but_protected_ones(make_repo: Any,
                                                                       tmp_path: Path) -> None:
    repo = _repo(make_repo, BUMP + "echo more >> a.txt\n",
                 config="pre_release_command: bash scripts/bump.sh\n")
    _, out, changed = _bump(tmp_path)
    assert changed == ["VERSION", "a.txt"]
    _prepare(repo, out)
    assert git(tmp_path / "origin.git", "show", "release/1.3.0:a.txt") == "a\nmore\n"


def test_a_bump_job_with_nothing_to_run_hands_over_nothing(make_repo: Any, tmp_path: Path,
                                                          capsys: Any) -> None:
    """One release workflow (with its bump job) fits a project without a pre-release
    command: the empty output is still checked, and nothing of it is taken."""
    repo = _repo(make_repo, config="bump_files: [pyproject.toml]\n")
    plan, out, changed = _bump(tmp_path)
    assert changed == []
    _prepare(repo, out)
    assert "the bump job ran none and changed no file" in capsys.readouterr().err
    origin = tmp_path / "origin.git"
    assert 'version = "1.3.0"' in git(origin, "show", f"release/{plan.version}:pyproject.toml")


def test_bumped_files_for_a_config_without_a_command_are_refused(make_repo: Any,
                                                                 tmp_path: Path) -> None:
    from valet.errors import UsageError

    repo = _repo(make_repo, config="bump_files: [pyproject.toml]\n")
    _, out, _ = _bump(tmp_path)
    meta = json.loads((out / "bump.json").read_text())
    meta["files"] = {"VERSION": "0" * 64}
    (out / "bump.json").write_text(json.dumps(meta))
    with pytest.raises(UsageError, match="names no pre-release command"):
        _prepare(repo, out)
    assert "release/1.3.0" not in git(tmp_path / "origin.git", "branch")
