"""`valet prepare`: plan computation and apply, against real git repos made in tmp."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from valet.cli import main
from valet.errors import ArtifactError, BuildError, GitError, UsageError, VersionError
from valet.prepare import PrepareOptions, apply_plan, compute_plan

from .conftest import commit_file, git, snapshot

BUILD_CONFIG = """\
changelog_policy: auto
build:
  - mkdir -p dist && printf '%s' "$VALET_VERSION" > "dist/demo-$VALET_VERSION.tar.gz"
artifacts: [dist/*]
"""


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().out


def test_done_when_dry_run_json_leaves_the_repo_byte_identical(
        make_repo: Any, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    before = snapshot(repo)
    monkeypatch.chdir(repo)
    code, out = run_cli(["prepare", "auto", "--dry-run", "--json"], capsys)
    assert code == 0
    plan = json.loads(out)
    assert plan["version"] == "1.3.0"
    assert plan["previous_version"] == "1.2.3"
    assert plan["branch"] == "release/1.3.0"
    assert "pyproject.toml" in plan["files"]
    assert "changelog" in plan
    assert snapshot(repo) == before


def test_dry_run_with_changelog_and_origin_changes_nothing(
        make_repo: Any, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo("changelog_policy: auto\n", origin=True)
    # a new remote commit: a dry run must not fetch it (no ref, no FETCH_HEAD)
    other = repo.parent / "other"
    git(repo.parent, "clone", "-q", str(repo.parent / "origin.git"), str(other))
    git(other, "config", "user.email", "o@valet.invalid")
    git(other, "config", "user.name", "o")
    commit_file(other, "c.txt", "c\n", "fix: remote only")
    git(other, "push", "-q", "origin", "main")
    before = snapshot(repo)
    monkeypatch.chdir(repo)
    code, out = run_cli(["prepare", "--dry-run", "--json", "minor"], capsys)
    plan = json.loads(out)
    assert code == 0 and plan["version"] == "1.3.0"
    assert sorted(plan["files"]) == ["CHANGELOG.md", "pyproject.toml"]
    assert "add a" in plan["changelog"] and "repair b" in plan["changelog"]
    assert plan["merge_target"] == "main"
    assert snapshot(repo) == before
    assert not (repo / "CHANGELOG.md").exists()


def test_human_dry_run_prints_the_plan(make_repo: Any, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(make_repo())
    code, out = run_cli(["prepare", "patch", "--dry-run"], capsys)
    assert code == 0
    assert "version:        1.2.4 (previous 1.2.3, tag 1.2.3)" in out
    assert "release branch: release/1.2.4" in out
    assert "dry run: nothing was changed" in out


def test_dirty_tree_is_refused_with_the_files(make_repo: Any) -> None:
    repo = make_repo()
    (repo / "a.txt").write_text("changed\n")
    (repo / "new file.txt").write_text("x\n")
    with pytest.raises(GitError) as info:
        compute_plan(PrepareOptions(spec="auto", cwd=repo, dry_run=True))
    assert "uncommitted changes: a.txt, new file.txt" in info.value.message
    assert "commit" in (info.value.hint or "")


def test_existing_tag_is_refused(make_repo: Any) -> None:
    with pytest.raises(VersionError, match=r"version 1\.2\.3 is already tagged"):
        compute_plan(PrepareOptions(spec="1.2.3", cwd=make_repo(), dry_run=True))


def test_existing_foreign_branch_is_refused(make_repo: Any) -> None:
    repo = make_repo(origin=True)
    git(repo, "push", "-q", "origin", "main:refs/heads/release/1.3.0")
    with pytest.raises(VersionError, match="the release branch release/1.3.0 already exists"):
        compute_plan(PrepareOptions(spec="auto", cwd=repo, dry_run=True))


def test_unfinished_release_branch_is_resumed(make_repo: Any) -> None:
    repo = make_repo(origin=True)
    git(repo, "checkout", "-q", "-b", "wip")
    commit_file(repo, "pyproject.toml", "x", "release: 1.3.0")
    git(repo, "push", "-q", "origin", "wip:refs/heads/release/1.3.0")
    git(repo, "checkout", "-q", "main")
    git(repo, "fetch", "-q", "origin")
    plan, _ = compute_plan(PrepareOptions(spec="1.3.0", cwd=repo, dry_run=True))
    assert plan.resume and plan.branch == "release/1.3.0" and plan.files == []


def test_bad_merge_target_is_refused(make_repo: Any) -> None:
    repo = make_repo()
    with pytest.raises(UsageError, match="merge target '--upload-pack=x' is not allowed"):
        compute_plan(PrepareOptions(spec="auto", cwd=repo, merge_target="--upload-pack=x",
                                    dry_run=True))
    with pytest.raises(GitError, match="the merge target nope does not exist"):
        compute_plan(PrepareOptions(spec="auto", cwd=repo, merge_target="nope", dry_run=True))


def _apply(repo: Path, tmp_path: Path, **kw: Any) -> Any:
    opts = PrepareOptions(spec="auto", cwd=repo, token="t0ken-value", repo="o/r",
                          out_dir=tmp_path / "out", **kw)
    plan, ctx = compute_plan(opts)
    return apply_plan(plan, ctx, opts)


def test_apply_commits_once_and_pushes_and_runs_no_project_code(make_repo: Any,
                                                                tmp_path: Path) -> None:
    repo = make_repo(BUILD_CONFIG, origin=True)
    result = _apply(repo, tmp_path)
    origin = tmp_path / "origin.git"
    assert git(origin, "rev-parse", "refs/heads/release/1.3.0").strip() == result.sha
    assert git(origin, "log", "--format=%s", "main..release/1.3.0").splitlines() == [
        "release: 1.3.0"]
    changed = git(origin, "diff", "--name-only", "main", "release/1.3.0").split()
    assert sorted(changed) == ["CHANGELOG.md", "pyproject.toml"]
    assert 'version = "1.3.0"' in git(origin, "show", "release/1.3.0:pyproject.toml")
    # the build belongs to the token-free build job: nothing of it ran here
    assert not (repo / "dist").exists()
    assert (result.artifacts_dir, result.build_mode) == (None, "isolated")
    # the token never lands in the repo's config
    assert "t0ken" not in (repo / ".git" / "config").read_text()


def test_same_job_build_builds_into_a_fresh_directory_before_the_push(make_repo: Any,
                                                                       tmp_path: Path) -> None:
    repo = make_repo(BUILD_CONFIG, origin=True)
    result = _apply(repo, tmp_path, build_here=True)
    assert result.build_mode == "same-job" and result.pushed
    assert result.artifacts_dir == tmp_path / "out"
    assert [a.name for a in result.artifacts] == ["demo-1.3.0.tar.gz"]
    assert (tmp_path / "out" / "demo-1.3.0.tar.gz").read_bytes() == b"1.3.0"


def test_build_failure_pushes_nothing(make_repo: Any, tmp_path: Path) -> None:
    repo = make_repo("build: exit 7\n", origin=True)
    with pytest.raises(BuildError, match="exited with status 7"):
        _apply(repo, tmp_path, build_here=True)
    assert "release/" not in git(tmp_path / "origin.git", "for-each-ref")


def test_no_artifacts_fails_before_the_push(make_repo: Any, tmp_path: Path) -> None:
    repo = make_repo("build: 'true'\n", origin=True)
    with pytest.raises(ArtifactError, match="the build produced no artifact matching dist/"):
        _apply(repo, tmp_path, build_here=True)
    assert "release/" not in git(tmp_path / "origin.git", "for-each-ref")


def test_unmatched_require_names_fails_before_the_push(make_repo: Any, tmp_path: Path) -> None:
    repo = make_repo(BUILD_CONFIG + "require_names: ['\\.whl$']\n", origin=True)
    with pytest.raises(ArtifactError, match=r"no artifact matches the required name pattern"):
        _apply(repo, tmp_path, build_here=True)
    assert "release/" not in git(tmp_path / "origin.git", "for-each-ref")


def test_stale_files_are_left_out_and_another_version_is_refused(make_repo: Any,
                                                                 tmp_path: Path) -> None:
    repo = make_repo(BUILD_CONFIG, origin=True, extra={".gitignore": "dist/\n"})
    git(repo, "push", "-q", "origin", "main")
    (repo / "dist").mkdir()
    (repo / "dist" / "demo-1.2.0.tar.gz").write_bytes(b"an old build")  # gitignored leftover
    result = _apply(repo, tmp_path, build_here=True)
    assert [a.name for a in result.artifacts] == ["demo-1.3.0.tar.gz"]
    assert (repo / "dist" / "demo-1.2.0.tar.gz").exists()  # left alone, not shipped


def test_a_build_writing_another_version_is_refused_naming_the_file(make_repo: Any,
                                                                    tmp_path: Path) -> None:
    config = BUILD_CONFIG.replace('"dist/demo-$VALET_VERSION.tar.gz"', '"dist/demo-1.2.9.tar.gz"')
    repo = make_repo(config, origin=True)
    with pytest.raises(ArtifactError) as info:
        _apply(repo, tmp_path, build_here=True)
    assert "demo-1.2.9.tar.gz (sdist of version 1.2.9)" in info.value.message
    assert "release 1.3.0" in info.value.message
    assert "release/" not in git(tmp_path / "origin.git", "for-each-ref")


def test_outputs_and_summary_on_github(make_repo: Any, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(BUILD_CONFIG + "targets:\n  - name: pypi\n", origin=True)
    out_file, summary = tmp_path / "out.txt", tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out_file))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("INPUT_VERSION", "minor")
    monkeypatch.chdir(repo)
    code = main(["prepare", "--no-push", "--repo", "o/r"])
    assert code == 0, capsys.readouterr()
    text = out_file.read_text()
    for name in ("version", "branch", "tag", "sha", "previous-tag", "changelog",
                 "artifact-name", "artifacts-dir", "prepared"):
        assert f"\n{name}<<ghadelimiter_" in "\n" + text
    prepared = json.loads(text.split("prepared<<", 1)[1].split("\n")[1])
    assert (prepared["version"], prepared["targets"], prepared["build_mode"]) == (
        "1.3.0", ["pypi"], "isolated")
    assert prepared["artifact_name"] == prepared["sha"]
    assert "build job builds this commit without a token" in summary.read_text()
    assert "release/1.3.0" not in git(tmp_path / "origin.git", "for-each-ref")


def test_same_job_build_warns_in_the_summary(make_repo: Any, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(BUILD_CONFIG, origin=True)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.chdir(repo)
    assert main(["prepare", "minor", "--no-push", "--same-job-build", "--out-dir",
                 str(tmp_path / "built")]) == 0, capsys.readouterr()
    text = summary.read_text()
    assert "The build ran in the same job as the token" in text
    assert "demo-1.3.0.tar.gz" in text


def test_a_pre_release_command_needs_the_bump_job(make_repo: Any, tmp_path: Path) -> None:
    repo = make_repo(BUILD_CONFIG + "pre_release_command: bash scripts/bump.sh\n", origin=True,
                     extra={"scripts/bump.sh": "touch pwned\n"})
    before = git(repo, "for-each-ref")
    with pytest.raises(UsageError) as info:
        _apply(repo, tmp_path)
    assert "is project code" in info.value.message
    assert "action-prepare-release/bump" in (info.value.hint or "")
    assert git(repo, "for-each-ref") == before and not (repo / "pwned").exists()


def test_pre_release_command_changes_are_in_the_one_commit(make_repo: Any,
                                                           tmp_path: Path) -> None:
    script = 'printf "%s -> %s" "$1" "$2" > VERSION\n'
    repo = make_repo(BUILD_CONFIG + "pre_release_command: bash scripts/bump.sh\n", origin=True,
                     extra={"scripts/bump.sh": script})
    result = _apply(repo, tmp_path, build_here=True)
    origin = tmp_path / "origin.git"
    assert git(origin, "show", "release/1.3.0:VERSION") == "1.2.3 -> 1.3.0"
    assert git(origin, "rev-list", "--count", "main..release/1.3.0").strip() == "1"
    assert "VERSION" in result.plan.files


def test_failed_build_restores_the_checkout_so_a_rerun_works(make_repo: Any,
                                                            tmp_path: Path) -> None:
    repo = make_repo("build: test -f ok-to-build && mkdir -p dist && echo x > dist/x.tgz\n"
                     "artifacts: [dist/*]\n", origin=True)
    (repo / ".gitignore").write_text("dist/\nok-to-build\n")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-q", "-m", "chore: ignore")
    git(repo, "push", "-q", "origin", "main")
    with pytest.raises(BuildError):
        _apply(repo, tmp_path, build_here=True)
    assert git(repo, "symbolic-ref", "--short", "HEAD").strip() == "main"
    assert "release/" not in git(repo, "for-each-ref")
    (repo / "ok-to-build").write_text("")
    result = _apply(repo, tmp_path, build_here=True)
    assert result.pushed and [a.name for a in result.artifacts] == ["x.tgz"]


def test_a_request_too_large_for_one_issue_is_refused_before_any_change(
        make_repo: Any, tmp_path: Path) -> None:
    from valet.errors import RequestTooLargeError

    targets = "".join(f"  - name: npm\n    id: '@acme/package-number-{i:04d}'\n"
                      for i in range(1200))
    repo = make_repo(BUILD_CONFIG + "targets:\n" + targets, origin=True)
    before = git(repo, "for-each-ref")
    with pytest.raises(RequestTooLargeError) as info:
        _apply(repo, tmp_path)
    assert "1200 target(s)" in info.value.message and "65,536" in info.value.message
    assert "own .valet.yml" in (info.value.hint or "")
    assert git(repo, "for-each-ref") == before
    assert "release/" not in git(tmp_path / "origin.git", "for-each-ref")


def test_auth_env_carries_the_token_only_in_env() -> None:
    import base64

    from valet.prepare import auth_env

    env = auth_env("https://github.com/o/r.git", "ghs_abc123")
    assert env["GIT_CONFIG_COUNT"] == "2"
    assert env["GIT_CONFIG_KEY_0"] == env["GIT_CONFIG_KEY_1"] == \
        "http.https://github.com/.extraheader"
    assert env["GIT_CONFIG_VALUE_0"] == ""  # resets a header persisted by actions/checkout
    basic = env["GIT_CONFIG_VALUE_1"].split()[-1]
    assert base64.b64decode(basic) == b"x-access-token:ghs_abc123"
    assert auth_env("/srv/git/o.git", "ghs_abc123") == {}
    assert auth_env("https://github.com/o/r.git", None) == {}
