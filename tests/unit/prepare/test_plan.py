"""`valet prepare`: plan computation and apply, against real git repos made in tmp."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from valet.cli import main
from valet.errors import ArtifactError, BuildError, GitError, UsageError, VersionError
from valet.prepare import PrepareOptions, apply_plan, compute_plan
from valet.store import StoreRef

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


class FakeStore:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, dict[str, Path], str | None]] = []

    def upload(self, manifest: Any, files: dict[str, Path], *,
               notes: str | None = None) -> StoreRef:
        self.calls.append((manifest, files, notes))
        return StoreRef(kind="github-release", tag="1.3.0", release_id=42, url="u")


def _apply(repo: Path, tmp_path: Path, store: FakeStore, **kw: Any) -> Any:
    opts = PrepareOptions(spec="auto", cwd=repo, token="t0ken-value", repo="o/r",
                          out_dir=tmp_path / "out", **kw)
    plan, ctx = compute_plan(opts)
    return apply_plan(plan, ctx, opts, store_factory=lambda *a: store)


def test_apply_commits_once_builds_pushes_and_uploads(make_repo: Any, tmp_path: Path) -> None:
    repo = make_repo(BUILD_CONFIG, origin=True)
    store = FakeStore()
    result = _apply(repo, tmp_path, store)
    origin = tmp_path / "origin.git"
    assert git(origin, "rev-parse", "refs/heads/release/1.3.0").strip() == result.sha
    assert git(origin, "log", "--format=%s", "main..release/1.3.0").splitlines() == [
        "release: 1.3.0"]
    changed = git(origin, "diff", "--name-only", "main", "release/1.3.0").split()
    assert sorted(changed) == ["CHANGELOG.md", "pyproject.toml"]
    assert 'version = "1.3.0"' in git(origin, "show", "release/1.3.0:pyproject.toml")
    (manifest, files, notes) = store.calls[0]
    assert [a.name for a in manifest.artifacts] == ["demo-1.3.0.tar.gz"]
    assert manifest.sha == result.sha and manifest.repo == "o/r"
    assert files["demo-1.3.0.tar.gz"].read_bytes() == b"1.3.0"
    assert notes and "add a" in notes
    assert json.loads(result.manifest_path.read_text())["files"][0]["size"] == 5
    assert result.release_id == 42
    # the token never lands in the repo's config
    assert "t0ken" not in (repo / ".git" / "config").read_text()


def test_build_failure_pushes_nothing(make_repo: Any, tmp_path: Path) -> None:
    repo = make_repo("build: exit 7\n", origin=True)
    store = FakeStore()
    with pytest.raises(BuildError, match="exited with status 7"):
        _apply(repo, tmp_path, store)
    assert "release/" not in git(tmp_path / "origin.git", "for-each-ref")
    assert store.calls == []


def test_no_artifacts_fails_before_upload(make_repo: Any, tmp_path: Path) -> None:
    repo = make_repo("build: 'true'\n", origin=True)
    store = FakeStore()
    with pytest.raises(ArtifactError, match="the build produced no artifact matching dist/"):
        _apply(repo, tmp_path, store)
    assert store.calls == []
    assert "release/" not in git(tmp_path / "origin.git", "for-each-ref")


def test_unmatched_require_names_fails_before_upload(make_repo: Any, tmp_path: Path) -> None:
    repo = make_repo(BUILD_CONFIG + "require_names: ['\\.whl$']\n", origin=True)
    store = FakeStore()
    with pytest.raises(ArtifactError, match=r"no artifact matches the required name pattern"):
        _apply(repo, tmp_path, store)
    assert store.calls == []


def test_outputs_and_summary_on_github(make_repo: Any, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(BUILD_CONFIG, origin=True)
    out_file, summary = tmp_path / "out.txt", tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out_file))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("INPUT_VERSION", "minor")
    monkeypatch.chdir(repo)
    code = main(["prepare", "--no-push", "--out-dir", str(tmp_path / "m")])
    assert code == 0, capsys.readouterr()
    text = out_file.read_text()
    for name in ("version", "branch", "sha", "previous-tag", "changelog", "manifest",
                 "release-id"):
        assert f"\n{name}<<ghadelimiter_" in "\n" + text
    assert "1.3.0\n" in text and str(tmp_path / "m" / "manifest.json") in text
    assert "demo-1.3.0.tar.gz" in summary.read_text()
    assert "release/1.3.0" not in git(tmp_path / "origin.git", "for-each-ref")


def test_pre_release_command_changes_are_in_the_one_commit(make_repo: Any,
                                                           tmp_path: Path) -> None:
    script = 'printf "%s -> %s" "$1" "$2" > VERSION\n'
    repo = make_repo(BUILD_CONFIG + "pre_release_command: bash scripts/bump.sh\n", origin=True,
                     extra={"scripts/bump.sh": script})
    result = _apply(repo, tmp_path, FakeStore())
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
        _apply(repo, tmp_path, FakeStore())
    assert git(repo, "symbolic-ref", "--short", "HEAD").strip() == "main"
    assert "release/" not in git(repo, "for-each-ref")
    (repo / "ok-to-build").write_text("")
    store = FakeStore()
    result = _apply(repo, tmp_path, store)
    assert result.pushed and [a.name for a in store.calls[0][0].artifacts] == ["x.tgz"]


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


def test_upload_without_a_token_fails_before_any_change(make_repo: Any, tmp_path: Path) -> None:
    repo = make_repo(BUILD_CONFIG, origin=True)
    opts = PrepareOptions(spec="auto", cwd=repo, repo="o/r", token=None)
    plan, ctx = compute_plan(opts)
    before = git(repo, "for-each-ref")
    with pytest.raises(UsageError, match="needs a GitHub token"):
        apply_plan(plan, ctx, opts)
    assert git(repo, "for-each-ref") == before
