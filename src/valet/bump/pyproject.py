"""pyproject.toml: PEP 621 ``[project].version`` and Poetry ``[tool.poetry].version``.

tomlkit keeps comments, quoting and spacing. A version declared dynamic is
reported, never added: where it really lives is told by ``dynamic_source``.
"""

from __future__ import annotations

from typing import Any

import tomlkit

from valet.bump.base import Update, parse_toml, set_toml_version


def update(content: str, new: str, *, name: str = "pyproject.toml") -> Update:
    doc = parse_toml(content, name)
    olds: list[str] = []
    notes: list[str] = []
    project = doc.get("project")
    if isinstance(project, dict):
        if isinstance(project.get("version"), str):
            olds.append(set_toml_version(project, new))
        elif "version" in (project.get("dynamic") or []):
            notes.append(f"{name}: the version is dynamic ({dynamic_source(doc)}); "
                         "[project] was left unchanged")
    poetry = (doc.get("tool") or {}).get("poetry")
    if isinstance(poetry, dict) and isinstance(poetry.get("version"), str):
        olds.append(set_toml_version(poetry, new))
    if not olds and not notes:
        notes.append(f"{name}: no [project].version or [tool.poetry].version to update")
    return Update(tomlkit.dumps(doc) if olds else content, tuple(olds), tuple(notes))


def dynamic_source(doc: Any) -> str:
    """Where a dynamic version comes from, in words (for the note)."""
    tool = doc.get("tool") or {}
    attr = version_attr(doc)
    if attr:
        return f"read from {attr}"
    hatch_path = ((tool.get("hatch") or {}).get("version") or {}).get("path")
    if hatch_path:
        return f"read from {hatch_path}"
    if "setuptools_scm" in tool or ((tool.get("hatch") or {}).get("version") or {}).get(
            "source") == "vcs" or "pdm" in tool and ((tool["pdm"].get("version") or {}).get(
            "source") == "scm"):
        return "taken from the git tag"
    return "set by the build backend"


def version_attr(doc: Any) -> str | None:
    """setuptools' ``[tool.setuptools.dynamic] version = {attr = "pkg.__version__"}``."""
    dyn = ((doc.get("tool") or {}).get("setuptools") or {}).get("dynamic") or {}
    spec = dyn.get("version")
    if isinstance(spec, dict) and isinstance(spec.get("attr"), str):
        return str(spec["attr"])
    return None


def version_files(content: str) -> list[str]:
    """Files holding ``__version__`` that pyproject.toml points at (relative paths)."""
    doc = parse_toml(content, "pyproject.toml")
    files: list[str] = []
    attr = version_attr(doc)
    if attr and attr.endswith(".__version__"):
        module = attr[: -len(".__version__")].replace(".", "/")
        for root in ("", "src/"):
            files += [f"{root}{module}/__init__.py", f"{root}{module}.py"]
    hatch_path = (((doc.get("tool") or {}).get("hatch") or {}).get("version") or {}).get("path")
    if isinstance(hatch_path, str):
        files.append(str(hatch_path))
    return files


def project_name(content: str) -> str | None:
    doc = parse_toml(content, "pyproject.toml")
    name = (doc.get("project") or {}).get("name") or (
        ((doc.get("tool") or {}).get("poetry") or {}).get("name"))
    return str(name) if name else None
