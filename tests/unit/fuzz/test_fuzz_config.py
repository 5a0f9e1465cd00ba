"""Fuzz the config loader (.valet.yml and .craft.yml): only ConfigError (a ValetError) escapes.

Inputs: random text; YAML-ish text assembled from YAML's own punctuation (tags,
anchors, flow collections, block scalars, odd indentation); and random
structured dicts over the real field names, dumped to YAML, so the schema and
the mapping code see well-formed but wrong-typed values.
"""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from valet.config import Config
from valet.config_load import parse_config

from .support import FUZZ, only_valet_errors

pytestmark = pytest.mark.adversarial

SOURCES = [".valet.yml", ".craft.yml", "pkg/.valet.yml", "pkg/.craft.yml"]

VALET_KEYS = ["min_version", "github_repo", "targets", "changelog_policy", "changelog_file",
              "versioning_policy", "calver_format", "calver_offset_days", "release_branch_prefix",
              "tag_prefix", "build", "artifacts", "require_names", "pre_release_command",
              "post_release_command", "bump_files", "artifact_store"]
CRAFT_KEYS = ["minVersion", "github", "targets", "changelog", "changelogPolicy",
              "preReleaseCommand", "postReleaseCommand", "releaseBranchPrefix", "versioning",
              "artifactProvider", "statusProvider", "requireNames"]
TARGET_KEYS = ["name", "id", "includeNames", "excludeNames", "include_names", "exclude_names",
               "access", "tag", "checksums", "repository_url", "registry_url", "tagPrefix",
               "config", "owner", "repo"]
WORDS = ["github", "pypi", "npm", "crates", "docker", "auto", "simple", "none", "manual",
         "calver", "main", "(", "[", "*", "\\", "%y.%-m", "%Q", "0.0.1", "99.0.0", "..",
         "../x", "/abs", "x" * 300, "$(id)", "`id`", "${{ secrets.T }}", "", " ", "\n"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.sampled_from(WORDS), st.text(max_size=15))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.sampled_from(TARGET_KEYS + WORDS[:8]), inner, max_size=4),
                      max_leaves=12)
targets = st.lists(st.one_of(
    st.dictionaries(st.sampled_from(TARGET_KEYS), values, max_size=4).map(
        lambda d: {"name": "pypi", **d}),
    st.fixed_dictionaries({"name": st.sampled_from(WORDS[:6])},
                          optional={k: values for k in TARGET_KEYS[1:6]}),
    values), max_size=4)
# Plausible values first, so many generated files get past the schema into the mapping code.
PLAUSIBLE = {
    "min_version": ["0.1.0", "99.0.0", "1"], "github_repo": ["org/sdk", "org", "o/r/x"],
    "changelog_policy": ["auto", "simple", "none", "weird"], "changelog_file": ["CHANGES.md", "../x"],
    "versioning_policy": ["auto", "manual", "calver"], "calver_format": ["%y.%-m", "%Q", "%Y"],
    "calver_offset_days": [0, 7, -1], "release_branch_prefix": ["release", "a..b", "-x"],
    "tag_prefix": ["v", "", "a b"], "build": ["make", ["make", "make dist"]],
    "artifacts": [["dist/*"], "dist/*", []], "require_names": [["\\.whl$"], ["("]],
    "pre_release_command": ["bump.sh"], "post_release_command": ["x"], "bump_files": [["pyproject.toml"]],
    "artifact_store": [{"kind": "github-release"}, {"kind": "workflow-artifacts", "name": "dist"},
                       {"kind": "workflow-artifacts", "workflows": {"ci": ["dist"]}}],
}
plausible_targets = st.lists(st.fixed_dictionaries(
    {"name": st.sampled_from(["github", "pypi", "npm", "crates", "docker"])},
    optional={"id": st.sampled_from(["a", "@s/p", "x y", ""]),
              "include_names": st.sampled_from(["\\.whl$", "(", "."]),
              "exclude_names": st.sampled_from(["x", "["]),
              "access": st.sampled_from(["public", "restricted", 1]),
              "tag": st.sampled_from(["next", ""]), "checksums": st.sampled_from([True, []]),
              "repository_url": st.sampled_from(["https://test.pypi.org/legacy/", "http://x"]),
              "registry_url": st.sampled_from(["https://crates.io", 3])}), max_size=4)
valet_dicts = st.fixed_dictionaries(
    {}, optional={k: st.one_of(st.sampled_from(v), values) for k, v in PLAUSIBLE.items()}).flatmap(
    lambda d: st.one_of(plausible_targets, targets).map(lambda t: {**d, "targets": t}))
CRAFT_PLAUSIBLE = {
    "minVersion": ["0.23.1", "2.0.0"], "github": [{"owner": "org", "repo": "sdk"}, {"owner": 1}],
    "changelog": ["CHANGES", {"filePath": "CHANGES.md", "policy": "auto"}],
    "changelogPolicy": ["auto", "simple", "none"], "preReleaseCommand": ["bash scripts/bump.sh", ""],
    "postReleaseCommand": ["x"], "releaseBranchPrefix": ["release", "a b"],
    "versioning": [{"policy": "calver", "calver": {"format": "%y.%-m", "offset": 3}},
                   {"policy": "auto"}],
    "artifactProvider": [{"name": "github"}, {"name": "none"}, {"name": "gcs"}],
    "statusProvider": [{"name": "github", "config": {"contexts": ["ci"]}}],
    "requireNames": [["/\\.whl$/"], ["/(/"], ["/x/imsx"]],
}
craft_targets = st.lists(st.fixed_dictionaries(
    {"name": st.sampled_from(["github", "pypi", "npm", "crates", "docker", "gcs"])},
    optional={"id": st.sampled_from(["a", "@s/p"]), "includeNames": st.sampled_from(["/\\.whl$/", "/(/", "x"]),
              "excludeNames": st.sampled_from(["/x/i", "//"]), "access": st.sampled_from(["public", 2]),
              "tagPrefix": st.sampled_from(["v", 3]), "checksums": st.sampled_from([[{"algorithm": "sha256", "format": "hex"}], 1])}),
    max_size=4)
craft_dicts = st.fixed_dictionaries(
    {}, optional={k: st.one_of(st.sampled_from(v), values) for k, v in CRAFT_PLAUSIBLE.items()}).flatmap(
    lambda d: st.one_of(craft_targets, targets).map(lambda t: {**d, "targets": t}))
any_dicts = st.one_of(valet_dicts, craft_dicts,
                      st.dictionaries(st.sampled_from(VALET_KEYS + CRAFT_KEYS), values, max_size=6))

YAML_BITS = ["targets:", "  - name: pypi", "- ", ": ", "? ", "&a ", "*a", "<<: *a", "!!python/object:os.system",
             "!!binary", "!custom", "{", "}", "[", "]", ",", "|", ">-", "---", "...", "%YAML 1.1",
             "#", "'", '"', "\t", "  ", "\n", "\r\n", "~", "null", "yes", "0x1F", "1e999",
             "2001-01-01", "=", "\\", "\ufeff", "\x85", "changelog: {policy: auto}"]
yamlish = st.lists(st.one_of(st.sampled_from(YAML_BITS), st.text(max_size=6)), max_size=30).map("".join)


class _NoAliases(yaml.SafeDumper):
    # generated values share objects; anchors would only test the anchor refusal
    def ignore_aliases(self, data: object) -> bool:
        return True


def dump(data: object) -> str:
    return yaml.dump(data, Dumper=_NoAliases, allow_unicode=True)


def _check(out: object) -> None:
    # a ValetError is checked by only_valet_errors; anything else must be a Config
    if not isinstance(out, Exception):
        assert isinstance(out, Config)
        assert all(t.key for t in out.targets)


@FUZZ
@given(st.text(max_size=200), st.sampled_from(SOURCES))
def test_random_text(text: str, source: str) -> None:
    _check(only_valet_errors(parse_config, text, source))


@FUZZ
@given(yamlish, st.sampled_from(SOURCES))
def test_yaml_ish_text(text: str, source: str) -> None:
    _check(only_valet_errors(parse_config, text, source))


PATHS = st.sampled_from([".", "pkg", "a/b", "..", "/x", "a\\b"])


@FUZZ
@given(valet_dicts, PATHS)
def test_structured_valet_yml(data: dict, path: str) -> None:
    text = dump(data)
    _check(only_valet_errors(parse_config, text, ".valet.yml", path=path))


@FUZZ
@given(craft_dicts, PATHS)
def test_structured_craft_yml(data: dict, path: str) -> None:
    text = dump(data)
    _check(only_valet_errors(parse_config, text, ".craft.yml", path=path))


@FUZZ
@given(any_dicts, st.sampled_from(SOURCES))
def test_structured_dicts_of_either_kind(data: dict, source: str) -> None:
    _check(only_valet_errors(parse_config, dump(data), source))


@FUZZ
@given(values, st.sampled_from(SOURCES))
def test_any_top_level_value(data: object, source: str) -> None:
    _check(only_valet_errors(parse_config, dump(data), source))
