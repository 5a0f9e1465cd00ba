"""The .valet.yml format: schema, normalization, strict YAML, finding the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from valet import schemas
from valet.config_load import load_config, parse_config, validate_path
from valet.errors import ConfigError

FULL = """\
min_version: 0.0.1
github_repo: octo-org/sdk
targets:
  - name: github
    checksums: [sha256]
  - name: pypi
    include_names: '\\.(whl|tar\\.gz)$'
    repository_url: https://test.pypi.org/legacy/
  - name: npm
    id: '@scope/pkg'
    include_names: '(?i)^scope-pkg-.*\\.tgz$'
    exclude_names: 'debug'
    access: public
    tag: beta
  - name: crates
    registry_url: https://crates.example
changelog_policy: auto
changelog_file: docs/CHANGES.md
versioning_policy: calver
calver_format: '%Y.%-m'
calver_offset_days: 7
release_branch_prefix: releases/sdk
tag_prefix: v
build: [python -m build, npm pack]
artifacts: dist/*
require_names: ['\\.whl$']
pre_release_command: ./scripts/bump.sh
post_release_command: ./scripts/post.sh
bump_files: [pyproject.toml]
artifact_store:
  kind: workflow-artifacts
  name: dist
"""


def test_a_full_file_maps_every_field() -> None:
    c = parse_config(FULL, ".valet.yml")
    assert [t.key for t in c.targets] == ["github", "pypi", "npm[@scope/pkg]", "crates"]
    assert c.targets[0].options == {"checksums": ["sha256"]}
    assert c.targets[1].options == {"repository_url": "https://test.pypi.org/legacy/"}
    assert c.targets[2].options == {"access": "public", "tag": "beta"}
    assert c.targets[2].matches("SCOPE-pkg-1.0.0.tgz")
    assert not c.targets[2].matches("scope-pkg-1.0.0-debug.tgz")
    assert c.targets[3].options == {"registry_url": "https://crates.example"}
    assert (c.changelog_policy, c.changelog_file) == ("auto", "docs/CHANGES.md")
    assert (c.versioning_policy, c.calver_format, c.calver_offset_days) == (
        "calver", "%Y.%-m", 7)
    assert (c.release_branch_prefix, c.tag_prefix) == ("releases/sdk", "v")
    assert c.build == ["python -m build", "npm pack"]
    assert c.artifacts == ["dist/*"]
    assert [p.pattern for p in c.require_names] == [r"\.whl$"]
    assert (c.pre_release_command, c.post_release_command) == ("./scripts/bump.sh",
                                                               "./scripts/post.sh")
    assert c.bump_files == ["pyproject.toml"]
    assert (c.artifact_store.kind, c.artifact_store.name) == ("workflow-artifacts", "dist")
    assert c.github_repo == "octo-org/sdk"
    assert c.source == ".valet.yml"


def test_defaults_of_an_empty_file() -> None:
    c = parse_config("", ".valet.yml")
    assert c.targets == [] and c.changelog_policy == "none"
    assert c.versioning_policy == "manual" and c.artifacts == ["dist/*"]
    assert c.release_branch_prefix == "release" and c.tag_prefix == ""


def test_to_json_contract() -> None:
    data = parse_config(FULL, ".valet.yml").to_json()
    json.dumps(data)  # serializable
    assert data["targets"][2]["name"] == "npm" and data["targets"][2]["id"] == "@scope/pkg"
    assert data["changelog"] == {"policy": "auto", "file": "docs/CHANGES.md"}
    assert data["versioning"]["policy"] == "calver"
    assert data["release_branch_prefix"] == "releases/sdk"
    assert data["artifact_store"]["kind"] == "workflow-artifacts"


def test_option_of_another_target_is_refused_with_the_right_list() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("targets:\n  - name: pypi\n    access: public\n", ".valet.yml")
    assert "targets[0].access is an option of the npm target, not of pypi" in str(info.value)
    assert "the options of pypi: repository_url, index_url" in str(info.value)


def test_duplicate_target_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match="listed twice"):
        parse_config("targets:\n  - name: npm\n  - name: npm\n", ".valet.yml")


def test_bad_regex_names_the_field() -> None:
    with pytest.raises(ConfigError, match=r"targets\[0\]\.include_names: '\(\[' is not a valid"):
        parse_config("targets:\n  - name: pypi\n    include_names: '(['\n", ".valet.yml")


def test_min_version_newer_than_valet_is_refused() -> None:
    with pytest.raises(ConfigError, match="needs valet 999.0.0 or newer"):
        parse_config("min_version: 999.0.0\n", ".valet.yml")


@pytest.mark.parametrize(("text", "message"), [
    ("a: 1\na: 2\n", "the key 'a' appears twice"),
    ("x: &a [1]\ny: *a\n", "anchors and aliases"),
    ("- a\n- b\n", "mapping of settings"),
    ("targets: [\n", "not valid YAML at line"),
])
def test_strict_yaml(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, ".valet.yml")
    assert message in str(info.value)


def test_oversized_file_is_refused() -> None:
    with pytest.raises(ConfigError, match="larger than"):
        parse_config("# " + "x" * 300_000 + "\n", ".valet.yml")


@pytest.mark.parametrize("bad", ["/abs", "../up", "a/../../b", "a\\b", "a b", "-x"])
def test_project_paths_are_validated(bad: str) -> None:
    with pytest.raises(ConfigError, match="project path"):
        validate_path(bad)


def test_project_path_normalization() -> None:
    assert validate_path("./packages/a/") == "packages/a"
    assert validate_path("") == "."


def test_valet_yml_wins_over_craft_yml(tmp_path: Path) -> None:
    (tmp_path / ".craft.yml").write_text("targets:\n  - name: docker\n")
    (tmp_path / ".valet.yml").write_text("targets:\n  - name: pypi\n")
    c = load_config(tmp_path)
    assert c.source == ".valet.yml" and [t.name for t in c.targets] == ["pypi"]


def test_monorepo_file_under_path_then_root(tmp_path: Path) -> None:
    (tmp_path / "packages" / "a").mkdir(parents=True)
    (tmp_path / ".valet.yml").write_text("targets:\n  - name: github\n")
    c = load_config(tmp_path, "packages/a")
    assert c.source == ".valet.yml" and c.path == "packages/a"
    (tmp_path / "packages" / "a" / ".valet.yml").write_text("targets:\n  - name: npm\n")
    c = load_config(tmp_path, "packages/a")
    assert c.source == "packages/a/.valet.yml" and [t.name for t in c.targets] == ["npm"]


def test_missing_config_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert "no .valet.yml (or .craft.yml) found" in info.value.message
    assert info.value.hint and "create .valet.yml" in info.value.hint
    assert "- name: github" in info.value.hint


def test_explicit_config_file(tmp_path: Path) -> None:
    (tmp_path / "release.craft.yml").write_text("targets:\n  - name: crates\n")
    (tmp_path / "other.yml").write_text("targets:\n  - name: pypi\n")
    assert load_config(tmp_path, config_file="release.craft.yml").targets[0].name == "crates"
    assert load_config(tmp_path, config_file="other.yml").targets[0].name == "pypi"
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path, config_file="nope.yml")


def _properties(node: object, where: str = "") -> list[tuple[str, dict]]:
    found: list[tuple[str, dict]] = []
    if isinstance(node, dict):
        for key, value in (node.get("properties") or {}).items():
            found.append((f"{where}/{key}", value))
        for key, value in node.items():
            found += _properties(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _properties(value, f"{where}/{i}")
    return found


def test_every_schema_property_is_documented() -> None:
    props = _properties(schemas.load("config"))
    assert len(props) >= 25
    undocumented = [w for w, p in props if len(str(p.get("description", ""))) < 15]
    assert undocumented == []


def test_schema_keys_match_the_config_model() -> None:
    from dataclasses import fields

    from valet.config import Config

    model = {f.name for f in fields(Config)}
    keys = set(schemas.load("config")["properties"])
    assert keys - model == set()


def test_workflow_artifact_names_are_checked_when_the_file_loads() -> None:
    from valet.config_load import parse_config

    config = parse_config("artifact_store:\n  kind: workflow-artifacts\n  workflows:\n"
                          "    CI: [npm-*, /^docs-/i]\ntargets: [{name: npm}]\n", ".valet.yml")
    assert config.artifact_store.workflows == {"CI": ["npm-*", "/^docs-/i"]}
    with pytest.raises(ConfigError) as info:
        parse_config("artifact_store:\n  kind: workflow-artifacts\n  workflows:\n"
                     "    '/(ci/': [ok, /a/g]\ntargets: [{name: github}]\n", ".valet.yml")
    text = str(info.value)
    assert "artifact_store.workflows./(ci/ (the workflow's name): '/(ci/' is not a valid" in text
    assert "artifact_store.workflows./(ci/[1]: the regex flag(s) 'g'" in text
