"""plan_bumps finds the version files of a project and reads only."""

from __future__ import annotations

from pathlib import Path

import pytest

from valet.bump import FileChange, plan_bumps
from valet.config import Config
from valet.errors import ConfigError

FIX = Path(__file__).parent / "fixtures"


def write(root: Path, rel: str, text: str) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(text.encode())


def test_python_node_and_cargo_files_are_found(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nname = "demo-pkg"\nversion = "1.2.3"\n')
    write(tmp_path, "src/demo_pkg/__init__.py", '__version__ = "1.2.3"\n')
    write(tmp_path, "src/demo_pkg/version.py", '__version__ = "0.0.1"  # something else\n')
    write(tmp_path, "package.json", (FIX / "package_json" / "before.json").read_text())
    write(tmp_path, "package-lock.json", (FIX / "package_lock" / "before.json").read_text())
    write(tmp_path, "Cargo.toml", (FIX / "cargo_package" / "before.toml").read_text()
          .replace("0.4.2", "1.2.3"))
    write(tmp_path, "Cargo.lock", (FIX / "cargo_lock" / "before.lock").read_text()
          .replace("0.4.2", "1.2.3"))
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    plan = plan_bumps(tmp_path, "1.2.3", "1.3.0", Config())
    assert [c.path for c in plan.changes] == [
        "Cargo.lock", "Cargo.toml", "package-lock.json", "package.json", "pyproject.toml",
        "src/demo_pkg/__init__.py"]
    for change in plan.changes:
        assert change.old == before[tmp_path / change.path].decode()
        assert "1.3.0" in change.new and change.new != change.old
    lock = next(c for c in plan.changes if c.path == "Cargo.lock")
    assert lock.new.count('version = "1.3.0"') == 1  # the registry entry keeps its version
    # nothing was written
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    changes, notes = plan  # unpacks as (changes, notes)
    assert isinstance(changes[0], FileChange) and notes == []


def test_dynamic_version_attr_file_is_bumped(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nname = "d"\ndynamic = ["version"]\n'
          '[tool.setuptools.dynamic]\nversion = {attr = "d.__version__"}\n')
    write(tmp_path, "src/d/__init__.py", '__version__ = "0.1.0"\n')
    plan = plan_bumps(tmp_path, "0.0.9", "0.2.0", Config())
    assert [(c.path, c.new) for c in plan.changes] == [("src/d/__init__.py",
                                                        '__version__ = "0.2.0"\n')]
    assert any("dynamic" in n for n in plan.notes)


def test_scm_version_is_only_noted(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", (FIX / "dynamic" / "before.toml").read_text())
    plan = plan_bumps(tmp_path, "1.0.0", "1.1.0", Config())
    assert plan.changes == [] and "taken from the git tag" in plan.notes[0]


def test_cargo_workspace_members_and_lock(tmp_path: Path) -> None:
    write(tmp_path, "Cargo.toml", (FIX / "cargo_workspace" / "before.toml").read_text())
    write(tmp_path, "crates/a/Cargo.toml", '[package]\nname = "a"\nversion.workspace = true\n')
    write(tmp_path, "crates/b/Cargo.toml", '[package]\nname = "b"\nversion = "0.1.0"\n')
    write(tmp_path, "Cargo.lock", 'version = 3\n\n[[package]]\nname = "a"\nversion = "3.1.0"\n\n'
          '[[package]]\nname = "b"\nversion = "0.1.0"\n')
    plan = plan_bumps(tmp_path, "3.1.0", "3.2.0", Config())
    assert [c.path for c in plan.changes] == ["Cargo.lock", "Cargo.toml"]
    lock = plan.changes[0].new
    assert 'name = "a"\nversion = "3.2.0"' in lock and 'name = "b"\nversion = "0.1.0"' in lock


def test_explicit_bump_files(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nname = "x"\nversion = "1.0.0"\n')
    write(tmp_path, "lib/meta.py", '__version__ = "1.0.0"\n')
    plan = plan_bumps(tmp_path, "1.0.0", "1.0.1", Config(bump_files=["lib/meta.py"]))
    assert [c.path for c in plan.changes] == ["lib/meta.py"]


@pytest.mark.parametrize(("files", "message"), [
    (["missing.toml"], "does not exist"),
    (["../outside/pyproject.toml"], "inside the project"),
    (["setup.cfg"], "does not know how"),
])
def test_bad_bump_files(tmp_path: Path, files: list[str], message: str) -> None:
    write(tmp_path, "setup.cfg", "[metadata]\nversion = 1.0.0\n")
    with pytest.raises(ConfigError, match=message):
        plan_bumps(tmp_path, "1.0.0", "1.0.1", Config(bump_files=files))


def test_pre_release_command_takes_over_detection(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nname = "x"\nversion = "1.0.0"\n')
    plan = plan_bumps(tmp_path, "1.0.0", "1.0.1", Config(pre_release_command="bash b.sh"))
    assert plan.changes == [] and "pre-release command" in plan.notes[0]


def test_symlinked_version_file_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.toml"
    outside.write_text('[project]\nname = "x"\nversion = "1.0.0"\n')
    project = tmp_path / "p"
    project.mkdir()
    (project / "pyproject.toml").symlink_to(outside)
    plan = plan_bumps(project, "1.0.0", "1.0.1", Config())
    assert plan.changes == [] and "symbolic link" in plan.notes[0]


def test_nothing_to_bump_is_a_note(tmp_path: Path) -> None:
    plan = plan_bumps(tmp_path, None, "1.0.0", Config())
    assert plan.changes == [] and "no version file found" in plan.notes[0]
