from __future__ import annotations

import re
from pathlib import Path

import pytest

from valet.build import build_env, collect_artifacts, run_build
from valet.errors import ArtifactError, BuildError, ConfigError, UsageError


def test_build_gets_values_through_env_and_no_token(tmp_path: Path) -> None:
    base = {"PATH": "/usr/bin:/bin", "INPUT_GITHUB_TOKEN": "ghs_secret", "GITHUB_TOKEN": "t",
            "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraheader",
            "GIT_CONFIG_VALUE_0": "AUTHORIZATION: basic xyz", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "o",
            "HOME": str(tmp_path)}
    # A version string with shell syntax stays data: it is never part of the command text.
    values = {"VALET_VERSION": "1.3.0$(touch pwned)"}
    run_build(['env > env.txt; printf %s "$VALET_VERSION" > version.txt'], tmp_path,
              values=values, base_env=base)
    assert (tmp_path / "version.txt").read_text() == "1.3.0$(touch pwned)"
    assert not (tmp_path / "pwned").exists()
    env = (tmp_path / "env.txt").read_text()
    for leaked in ("ghs_secret", "GIT_CONFIG", "AUTHORIZATION", "ACTIONS_ID_TOKEN", "GITHUB_TOKEN"):
        assert leaked not in env
    assert "HOME=" in env


def test_list_commands_run_without_a_shell(tmp_path: Path) -> None:
    run_build([["touch", "a b;c"]], tmp_path, values={}, base_env={"PATH": "/usr/bin:/bin"})
    assert (tmp_path / "a b;c").exists()


def test_failing_command_is_a_build_error(tmp_path: Path) -> None:
    with pytest.raises(BuildError) as info:
        run_build(["true", "exit 3"], tmp_path, values={}, base_env={"PATH": "/usr/bin:/bin"})
    assert "build command #2 (exit 3) exited with status 3" in info.value.message
    assert "nothing was uploaded" in (info.value.hint or "")


def test_missing_program_is_a_build_error(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="'no-such-tool-xyz' was not found"):
        run_build([["no-such-tool-xyz"]], tmp_path, values={}, base_env={"PATH": "/usr/bin"})


def test_env_filter() -> None:
    env = build_env({"INPUT_VERSION": "1", "GH_TOKEN": "x", "KEEP": "y"}, {"VALET_VERSION": "2"})
    assert env == {"KEEP": "y", "VALET_VERSION": "2"}


def _files(base: Path, *names: str) -> None:
    for name in names:
        p = base / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(name.encode())


def test_collects_files_sorted_and_deduplicated(tmp_path: Path) -> None:
    _files(tmp_path, "dist/b-1.0.tar.gz", "dist/a-1.0-py3-none-any.whl", "dist/sub/ignored.txt",
           "out/c.tgz", "dist/manifest.json")
    (tmp_path / "dist" / "link.whl").symlink_to(tmp_path / "out" / "c.tgz")
    found = collect_artifacts(tmp_path, ["dist/*", "dist/*.whl", "out/*.tgz"])
    assert [p.name for p in found] == ["a-1.0-py3-none-any.whl", "b-1.0.tar.gz", "c.tgz"]


def test_no_artifact_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    with pytest.raises(ArtifactError) as info:
        collect_artifacts(tmp_path, ["dist/*"])
    assert "the build produced no artifact matching dist/*" in info.value.message
    assert "artifacts" in (info.value.hint or "")


def test_empty_glob_list_ships_nothing_on_purpose(tmp_path: Path) -> None:
    assert collect_artifacts(tmp_path, []) == []


def test_unmatched_require_names_is_an_error(tmp_path: Path) -> None:
    _files(tmp_path, "dist/pkg-1.0.tar.gz")
    with pytest.raises(ArtifactError) as info:
        collect_artifacts(tmp_path, ["dist/*"], [re.compile(r"\.tar\.gz$"), re.compile(r"\.whl$")])
    assert "'\\.whl$'" in info.value.message  # valet's spelling, not craft's /re/
    assert "pkg-1.0.tar.gz" in info.value.message
    assert "`require_names`" in (info.value.hint or "")


def test_same_name_from_two_dirs_is_an_error(tmp_path: Path) -> None:
    _files(tmp_path, "a/x.tgz", "b/x.tgz")
    with pytest.raises(ArtifactError, match="two files are named x.tgz"):
        collect_artifacts(tmp_path, ["a/*", "b/*"])


@pytest.mark.parametrize("glob", ["../*", "/etc/*", "~/x"])
def test_globs_stay_inside_the_project(tmp_path: Path, glob: str) -> None:
    with pytest.raises(ConfigError, match="outside the project"):
        collect_artifacts(tmp_path, [glob])


def test_bad_artifact_name_is_refused(tmp_path: Path) -> None:
    _files(tmp_path, "dist/bad name.tgz")
    with pytest.raises(ArtifactError, match="is not allowed"):
        collect_artifacts(tmp_path, ["dist/*"])


def test_valet_runtime_is_taken_off_the_build_path(tmp_path: Path) -> None:
    runtime = tmp_path / "runtime" / "bin"
    tools = tmp_path / "tools" / "bin"
    for d in (runtime, tools):
        d.mkdir(parents=True)
        (d / "python").write_text("#!/bin/sh\necho from-" + d.parent.name + "\n")
        (d / "python").chmod(0o755)
    base = {"PATH": f"{runtime}:{tools}:/usr/bin:/bin", "VALET_RUNTIME_BIN": str(runtime),
            "VALET_BIN": str(runtime / "valet"), "VIRTUAL_ENV": str(runtime.parent)}
    env = build_env(base, {})
    assert env["PATH"] == f"{tools}:/usr/bin:/bin"
    assert "VIRTUAL_ENV" not in env and "VALET_BIN" not in env
    run_build(["python > which.txt"], tmp_path, values={}, base_env=base)
    assert (tmp_path / "which.txt").read_text() == "from-tools\n"
    # Outside an action (no VALET_RUNTIME_BIN) the PATH is the user's, untouched.
    assert build_env({"PATH": f"{runtime}:/bin", "VIRTUAL_ENV": "v"}, {}) == {
        "PATH": f"{runtime}:/bin", "VIRTUAL_ENV": "v"}


def test_only_files_the_build_wrote_are_collected(tmp_path: Path) -> None:
    from valet.build import snapshot

    _files(tmp_path, "dist/old-1.0.tar.gz", "dist/rewritten-1.1.tar.gz")
    before = snapshot(tmp_path, ["dist/*"])
    _files(tmp_path, "dist/new-1.1.tar.gz")
    (tmp_path / "dist" / "rewritten-1.1.tar.gz").unlink()
    _files(tmp_path, "dist/rewritten-1.1.tar.gz")
    found = collect_artifacts(tmp_path, ["dist/*"], before=before)
    assert [p.name for p in found] == ["new-1.1.tar.gz", "rewritten-1.1.tar.gz"]


def test_build_release_copies_into_a_fresh_flat_directory(tmp_path: Path) -> None:
    from valet.build import build_release
    from valet.config import Config

    project = tmp_path / "p"
    project.mkdir()
    config = Config(build=['mkdir -p dist/x && printf w > "dist/x/demo-$VALET_VERSION.tgz"'],
                    artifacts=["dist/**/*.tgz"])
    out, files = build_release(config, project, version="2.0.0",
                               values={"VALET_VERSION": "2.0.0"}, out_dir=tmp_path / "out")
    assert out == tmp_path / "out" and [f.name for f in files] == ["demo-2.0.0.tgz"]
    assert (out / "demo-2.0.0.tgz").read_bytes() == b"w"
    with pytest.raises(UsageError, match="not empty"):
        build_release(config, project, version="2.0.0", values={"VALET_VERSION": "2.0.0"},
                      out_dir=out)
