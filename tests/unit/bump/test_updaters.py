"""Each updater against before/after fixture files: only the version changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from valet.bump import cargo, package_json, pyproject, python_file, update_content
from valet.errors import ConfigError

FIX = Path(__file__).parent / "fixtures"


def read(case: str, name: str) -> str:
    return (FIX / case / name).read_bytes().decode("utf-8")


@pytest.mark.parametrize(("case", "ext", "new", "old"), [
    ("pep621", "toml", "1.3.0", "1.2.3"),
    ("poetry", "toml", "1.0.0", "0.9.0"),
])
def test_pyproject(case: str, ext: str, new: str, old: str) -> None:
    result = pyproject.update(read(case, f"before.{ext}"), new)
    assert result.content == read(case, f"after.{ext}")
    assert result.old_versions == (old,)
    assert result.notes == ()


def test_pyproject_dynamic_version_is_reported_not_broken() -> None:
    before = read("dynamic", "before.toml")
    result = pyproject.update(before, "1.3.0")
    assert result.content == read("dynamic", "after.toml") == before
    assert result.notes == ("pyproject.toml: the version is dynamic (taken from the git tag); "
                            "[project] was left unchanged",)


def test_pyproject_dynamic_attr_is_named() -> None:
    text = ('[project]\nname = "d"\ndynamic = ["version"]\n\n[tool.setuptools.dynamic]\n'
            'version = {attr = "d.__version__"}\n')
    result = pyproject.update(text, "2.0.0")
    assert "read from d.__version__" in result.notes[0]
    assert pyproject.version_files(text) == ["d/__init__.py", "d.py", "src/d/__init__.py",
                                             "src/d.py"]


def test_pyproject_without_version() -> None:
    result = pyproject.update('[tool.black]\nline-length = 100\n', "1.0.0")
    assert result.old_versions == () and "no [project].version" in result.notes[0]


def test_pyproject_invalid_toml() -> None:
    with pytest.raises(ConfigError, match="pyproject.toml is not valid TOML"):
        pyproject.update("[project\n", "1.0.0")


@pytest.mark.parametrize(("case", "new", "old"), [
    ("package_json", "1.3.0", "1.2.3"),
    ("package_json_tabs", "2.0.0", "2.0.0-rc.1"),
])
def test_package_json(case: str, new: str, old: str) -> None:
    result = package_json.update(read(case, "before.json"), new)
    assert result.content == read(case, "after.json")
    assert result.old_versions == (old,)


def test_package_json_keeps_missing_trailing_newline() -> None:
    result = package_json.update(read("package_json_tabs", "before.json"), "2.0.0")
    assert not result.content.endswith("\n")


def test_package_lock_top_level_and_root_package() -> None:
    result = package_json.update_lock(read("package_lock", "before.json"), "1.3.0")
    assert result.content == read("package_lock", "after.json")
    assert result.old_versions == ("1.2.3", "1.2.3")


def test_package_json_without_version_and_invalid_json() -> None:
    assert package_json.update('{"name": "x"}\n', "1.0.0").notes
    with pytest.raises(ConfigError, match="package.json is not valid JSON"):
        package_json.update('{"version": "1.0.0",}', "1.1.0")


def test_package_json_unicode_and_escapes_survive() -> None:
    before = '{\n  "description": "caf\\u00e9 \\\\ \\"q\\"",\n  "version": "1.0.0"\n}\n'
    result = package_json.update(before, "1.0.1")
    assert result.content == before.replace('"1.0.0"', '"1.0.1"')


@pytest.mark.parametrize(("case", "new", "old"), [
    ("cargo_package", "0.5.0", "0.4.2"),
    ("cargo_workspace", "3.2.0", "3.1.0"),
])
def test_cargo_toml(case: str, new: str, old: str) -> None:
    result = cargo.update(read(case, "before.toml"), new)
    assert result.content == read(case, "after.toml")
    assert result.old_versions == (old,)


def test_cargo_member_inheriting_the_workspace_version() -> None:
    text = '[package]\nname = "m"\nversion.workspace = true\n'
    result = cargo.update(text, "1.0.0")
    assert result.content == text
    assert "takes its version from the workspace" in result.notes[0]
    assert cargo.inherits_workspace_version(text)


def test_cargo_lock_only_the_local_entry() -> None:
    result = cargo.update_lock(read("cargo_lock", "before.lock"), "0.5.0", ["demo"])
    assert result.content == read("cargo_lock", "after.lock")
    assert result.old_versions == ("0.4.2",)


def test_cargo_lock_without_the_crate() -> None:
    result = cargo.update_lock(read("cargo_lock", "before.lock"), "0.5.0", ["other"])
    assert result.old_versions == () and "no entry for other" in result.notes[0]


def test_python_version_assignment() -> None:
    result = python_file.update(read("python_init", "before.py"), "1.3.0")
    assert result.content == read("python_init", "after.py")
    assert result.old_versions == ("1.2.3",)


def test_python_without_literal_version() -> None:
    text = "from importlib.metadata import version\n__version__ = version('x')\n"
    result = python_file.update(text, "1.0.0")
    assert result.content == text and "no __version__" in result.notes[0]


def test_crlf_is_preserved() -> None:
    before = '[project]\r\nname = "x"\r\nversion = "1.0.0"\r\n'
    assert pyproject.update(before, "1.0.1").content == before.replace("1.0.0", "1.0.1")
    before = '{\r\n  "version": "1.0.0"\r\n}\r\n'
    assert package_json.update(before, "1.0.1").content == before.replace("1.0.0", "1.0.1")
    before = '__version__ = "1.0.0"\r\n'
    assert python_file.update(before, "1.0.1").content == '__version__ = "1.0.1"\r\n'


def test_dispatch_by_name() -> None:
    assert update_content("sub/package.json", '{"version": "1.0.0"}', "2.0.0").content == \
        '{"version": "2.0.0"}'
    with pytest.raises(ConfigError, match="does not know how to set the version in setup.cfg"):
        update_content("setup.cfg", "", "1.0.0")
