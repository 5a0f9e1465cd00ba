"""Cargo.toml (``[package].version`` or ``[workspace.package].version``) and the
matching entries of Cargo.lock (local packages: the ones without ``source``)."""

from __future__ import annotations

import tomlkit

from valet.bump.base import Update, parse_toml, set_toml_version


def inherits_workspace_version(content: str, name: str = "Cargo.toml") -> bool:
    package = parse_toml(content, name).get("package") or {}
    version = package.get("version")
    return isinstance(version, dict) and version.get("workspace") is True


def package_name(content: str, name: str = "Cargo.toml") -> str | None:
    package = parse_toml(content, name).get("package") or {}
    value = package.get("name")
    return str(value) if isinstance(value, str) else None


def workspace_members(content: str, name: str = "Cargo.toml") -> list[str]:
    workspace = parse_toml(content, name).get("workspace") or {}
    return [str(m) for m in workspace.get("members") or [] if isinstance(m, str)]


def update(content: str, new: str, *, name: str = "Cargo.toml") -> Update:
    doc = parse_toml(content, name)
    olds: list[str] = []
    notes: list[str] = []
    package = doc.get("package")
    if isinstance(package, dict):
        version = package.get("version")
        if isinstance(version, str):
            olds.append(set_toml_version(package, new))
        elif isinstance(version, dict) and version.get("workspace") is True:
            notes.append(f"{name}: [package] takes its version from the workspace")
    ws_package = (doc.get("workspace") or {}).get("package")
    if isinstance(ws_package, dict) and isinstance(ws_package.get("version"), str):
        olds.append(set_toml_version(ws_package, new))
    if not olds and not notes:
        notes.append(f"{name}: no [package].version or [workspace.package].version to update")
    return Update(tomlkit.dumps(doc) if olds else content, tuple(olds), tuple(notes))


def update_lock(content: str, new: str, packages: list[str], *,
                name: str = "Cargo.lock") -> Update:
    doc = parse_toml(content, name)
    olds: list[str] = []
    for entry in doc.get("package") or []:
        # a registry or git dependency of the same name has a `source`: never touch it
        if entry.get("name") in packages and "source" not in entry:
            olds.append(set_toml_version(entry, new))
    if not olds:
        return Update(content, (), (f"{name}: no entry for {', '.join(packages) or 'the crate'}",))
    return Update(tomlkit.dumps(doc), tuple(olds))
