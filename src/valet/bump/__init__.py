"""Version bumps: pure ``content -> content`` updaters and the plan over a project.

``plan_bumps`` only reads: it returns the changes (path, old text, new text) so
prepare can show them in a dry run and write them itself.

Which files: ``config.bump_files`` when set (with a pre-release command, also the
files the command may change: those valet cannot update are left to it); else,
when a pre-release command is configured, none (the command bumps, as in craft);
else the files found in the
project directory: pyproject.toml (+ the file its dynamic version points at, or
a ``__version__`` literal in the package that still holds the old version),
package.json (+ package-lock.json / npm-shrinkwrap.json), Cargo.toml (+ its
workspace members that inherit the version, + Cargo.lock).
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, NamedTuple

from valet.bump import cargo, package_json, pyproject, python_file
from valet.bump.base import Update
from valet.errors import ConfigError

if TYPE_CHECKING:
    from valet.config import Config

__all__ = ["BumpPlan", "FileChange", "Update", "is_version_file", "plan_bumps", "update_content"]

# The version files valet can rewrite, by file name (plus any .py file holding __version__).
VERSION_FILES = ("pyproject.toml", "package.json", "package-lock.json", "npm-shrinkwrap.json",
                 "Cargo.toml", "Cargo.lock")


class FileChange(NamedTuple):
    path: str  # relative to the project directory, '/'-separated
    old: str
    new: str


class BumpPlan(NamedTuple):
    changes: list[FileChange]
    notes: list[str]


def is_version_file(name: str) -> bool:
    """Can valet set the version in this file (by its name)? With a pre-release command,
    ``bump_files`` may also list others: the files the command changes."""
    base = PurePosixPath(name).name
    return base in VERSION_FILES or base.endswith(".py")


def update_content(name: str, content: str, new: str) -> Update:
    """Dispatch on the file name (Cargo.lock needs crate names: use cargo.update_lock)."""
    base = PurePosixPath(name).name
    if base == "pyproject.toml":
        return pyproject.update(content, new, name=name)
    if base == "package.json":
        return package_json.update(content, new, name=name)
    if base in ("package-lock.json", "npm-shrinkwrap.json"):
        return package_json.update_lock(content, new, name=name)
    if base == "Cargo.toml":
        return cargo.update(content, new, name=name)
    if base.endswith(".py"):
        return python_file.update(content, new, name=name)
    raise ConfigError(
        f"valet does not know how to set the version in {name}",
        hint="bump_files takes pyproject.toml, package.json, package-lock.json, Cargo.toml, "
             "Cargo.lock or a .py file with __version__; use pre_release_command for others")


class _Project:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.changes: dict[str, FileChange] = {}
        self.notes: list[str] = []

    def read(self, rel: str, *, required: bool = False) -> str | None:
        p = PurePosixPath(rel)
        if p.is_absolute() or ".." in p.parts:
            raise ConfigError(f"version file {rel!r} must be a path inside the project",
                              hint="list it relative to the project directory, without '..'")
        path = self.root / p
        if path.is_symlink():
            msg = f"{rel} is a symbolic link: valet does not follow it when bumping versions"
            if required:
                raise ConfigError(msg, hint="list the real file in bump_files")
            self.notes.append(msg)
            return None
        if not path.is_file():
            if required:
                raise ConfigError(f"the version file {rel} does not exist",
                                  hint="fix bump_files in the config")
            return None
        if rel in self.changes:
            return self.changes[rel].new
        try:
            # bytes -> str keeps CRLF line endings exactly as they are
            return path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{rel} is not UTF-8 text") from None

    def original(self, rel: str) -> str:
        return (self.root / rel).read_bytes().decode("utf-8")

    def apply(self, rel: str, update: Update) -> None:
        self.notes.extend(update.notes)
        old = self.changes[rel].old if rel in self.changes else self.original(rel)
        if update.content != old:
            self.changes[rel] = FileChange(rel, old, update.content)
        elif rel in self.changes:
            del self.changes[rel]


def _python_candidates(root: Path, pyproject_text: str) -> tuple[list[str], bool]:
    """(files to look at, pointed-at explicitly by pyproject)."""
    pointed = pyproject.version_files(pyproject_text)
    if pointed:
        return pointed, True
    name = pyproject.project_name(pyproject_text)
    if not name:
        return [], False
    module = re.sub(r"[-_.]+", "_", name).lower()
    files = []
    for base in (f"src/{module}", module):
        for leaf in ("__init__.py", "__version__.py", "_version.py", "version.py", "__about__.py"):
            files.append(f"{base}/{leaf}")
    return files, False


def _plan_python(project: _Project, old: str | None, new: str) -> None:
    text = project.read("pyproject.toml")
    if text is None:
        return
    project.apply("pyproject.toml", pyproject.update(text, new))
    candidates, pointed = _python_candidates(project.root, text)
    for rel in candidates:
        content = project.read(rel)
        if content is None:
            continue
        found = python_file.current(content)
        # A guessed file is bumped only when it holds the old version: a stray
        # __version__ of something else is left alone.
        if found is not None and (pointed or (old is not None and found == old)):
            project.apply(rel, python_file.update(content, new, name=rel))
            if pointed:
                break


def _plan_node(project: _Project, new: str) -> None:
    text = project.read("package.json")
    if text is None:
        return
    project.apply("package.json", package_json.update(text, new))
    for lock in ("package-lock.json", "npm-shrinkwrap.json"):
        content = project.read(lock)
        if content is not None:
            project.apply(lock, package_json.update_lock(content, new, name=lock))


def _plan_cargo(project: _Project, new: str) -> None:
    text = project.read("Cargo.toml")
    if text is None:
        return
    update = cargo.update(text, new)
    project.apply("Cargo.toml", update)
    names: list[str] = []
    if update.old_versions and not cargo.inherits_workspace_version(text):
        name = cargo.package_name(text)
        if name:
            names.append(name)
    if update.old_versions:
        # members that say `version.workspace = true` now carry the new version too
        for pattern in cargo.workspace_members(text):
            if ".." in PurePosixPath(pattern).parts or pattern.startswith("/"):
                continue
            for member in sorted(project.root.glob(f"{pattern}/Cargo.toml")):
                rel = member.relative_to(project.root).as_posix()
                content = project.read(rel)
                if content and cargo.inherits_workspace_version(content, rel):
                    name = cargo.package_name(content, rel)
                    if name:
                        names.append(name)
        if cargo.inherits_workspace_version(text):
            name = cargo.package_name(text)
            if name:
                names.append(name)
    lock = project.read("Cargo.lock")
    if lock is not None and names:
        project.apply("Cargo.lock", cargo.update_lock(lock, new, names))


def plan_bumps(project_dir: Path, old: str | None, new: str, config: Config) -> BumpPlan:
    """The version-file changes for releasing ``new`` (paths relative to project_dir)."""
    project = _Project(Path(project_dir))
    if config.bump_files:
        for rel in config.bump_files:
            content = project.read(rel, required=True)
            assert content is not None
            if PurePosixPath(rel).name == "Cargo.lock":
                toml = project.read(str(PurePosixPath(rel).parent / "Cargo.toml"))
                name = cargo.package_name(toml) if toml else None
                project.apply(rel, cargo.update_lock(content, new, [name] if name else []))
            elif config.pre_release_command and not is_version_file(rel):
                # With a pre-release command, bump_files also names the files it may
                # change (only those are committed): the ones valet cannot update are its.
                project.notes.append(f"{rel}: left to the pre-release command")
            else:
                project.apply(rel, update_content(rel, content, new))
    elif config.pre_release_command:
        project.notes.append("version files are left to the pre-release command "
                             f"({config.pre_release_command}); list bump_files to have "
                             "valet update some as well")
    else:
        _plan_python(project, old, new)
        _plan_node(project, new)
        _plan_cargo(project, new)
        if not project.changes and not project.notes:
            project.notes.append("no version file found (pyproject.toml, package.json, "
                                 "Cargo.toml): nothing to bump")
    changes = sorted(project.changes.values(), key=lambda c: c.path)
    return BumpPlan(changes, project.notes)
