"""craft field mapping and refusals, one behaviour per test."""

from __future__ import annotations

import re

import pytest

from valet.config_load import parse_config
from valet.craft_compat import UnsupportedConfigError, parse_slash_regex
from valet.errors import ConfigError


def craft(text: str):
    return parse_config(text, ".craft.yml")


@pytest.mark.parametrize(("raw", "pattern", "flags"), [
    ("/^a.*$/", "^a.*$", 0),
    ("/^a.*$/i", "(?i)^a.*$", re.IGNORECASE),
    ("/^a$/im", "(?im)^a$", re.IGNORECASE | re.MULTILINE),
    ("/a.b/s", "(?s)a.b", re.DOTALL),
    ("/a b # comment/x", "(?x)a b # comment", re.VERBOSE),
    ("/a/b/", "a/b", 0),  # the last slash ends the body
])
def test_slash_regex_flags(raw: str, pattern: str, flags: int) -> None:
    compiled = parse_slash_regex(raw, "includeNames", ".craft.yml")
    assert compiled.pattern == pattern
    assert compiled.flags & flags == flags


def test_slash_regex_case_insensitive_matches() -> None:
    assert parse_slash_regex("/^sentry-CLI$/i", "w", "s").search("Sentry-cli")
    assert not parse_slash_regex("/^sentry-CLI$/", "w", "s").search("Sentry-cli")


@pytest.mark.parametrize("raw", ["/a/g", "/a/u", "/a/iy"])
def test_unsupported_regex_flags_are_errors(raw: str) -> None:
    with pytest.raises(ConfigError, match="regex flag"):
        parse_slash_regex(raw, "targets[0] (github).includeNames", ".craft.yml")


def test_regex_without_slashes_is_an_error_naming_the_field() -> None:
    with pytest.raises(ConfigError) as info:
        craft("targets:\n  - name: github\n    includeNames: '^sentry.*$'\n")
    assert "targets[0].includeNames" in str(info.value)
    assert "/^sentry.*$/" in str(info.value)  # the hint shows how to write it


def test_invalid_regex_body_is_an_error() -> None:
    with pytest.raises(ConfigError, match="not a valid regular expression"):
        craft("requireNames:\n  - /([a-z/\n")


def test_a_craft_field_valet_lacks_is_named_with_the_supported_list() -> None:
    with pytest.raises(UnsupportedConfigError) as info:
        craft("noMerge: true\ntargets:\n  - name: github\n")
    assert info.value.unsupported == ["field noMerge"]
    assert "supported fields: minVersion, github, changelog" in str(info.value)


@pytest.mark.parametrize(("text", "where", "meant"), [
    ("changelogPolcy: auto\n", "changelogPolcy", "changelogPolicy"),
    ("prereleaseCommand: x\n", "prereleaseCommand", "preReleaseCommand"),
    ("targets:\n  - name: pypy\n", "targets[0].name", "pypi"),
    ("targets:\n  - name: github\n    tagPrefx: v\n", "targets[0].tagPrefx", "tagPrefix"),
    ("changelog:\n  filepath: C.md\n", "changelog.filepath", "filePath"),
    ("versioning:\n  polcy: auto\n", "versioning.polcy", "policy"),
])
def test_a_typo_is_a_typo_with_the_name_meant(text: str, where: str, meant: str) -> None:
    with pytest.raises(ConfigError) as info:
        craft(text)
    assert not isinstance(info.value, UnsupportedConfigError)
    message = str(info.value)
    assert where in message and f"did you mean {meant!r}?" in message
    assert "not support" not in message


def test_unknown_option_of_a_supported_target_is_named() -> None:
    with pytest.raises(UnsupportedConfigError) as info:
        craft("targets:\n  - name: github\n    previewReleases: false\n"
              "  - name: npm\n    checkPackageName: x\n")
    assert info.value.unsupported == ["option previewReleases of target github",
                                      "option checkPackageName of target npm"]


def test_unknown_nested_fields_are_named() -> None:
    with pytest.raises(UnsupportedConfigError) as info:
        craft("changelog:\n  policy: auto\n  scopeGrouping: true\n"
              "versioning:\n  policy: calver\n  calver:\n    format: '%Y.%-m'\n    week: 1\n"
              "github:\n  owner: o\n  repo: r\n  projectPath: x\n  url: x\n")
    # craft's own fields valet lacks are unsupported; names craft does not know are typos
    assert info.value.unsupported == ["field github.projectPath", "field changelog.scopeGrouping"]
    assert "github.url is not a field craft or valet knows" in str(info.value)
    assert "versioning.calver.week is not a field" in str(info.value)


@pytest.mark.parametrize(("text", "named"), [
    ("statusProvider:\n  name: zeus\n", "statusProvider zeus"),
    ("artifactProvider:\n  name: gcs\n", "artifactProvider gcs"),
])
def test_other_providers_are_refused(text: str, named: str) -> None:
    with pytest.raises(UnsupportedConfigError) as info:
        craft(text)
    assert info.value.unsupported == [named]


def test_changelog_forms() -> None:
    assert craft("changelog: HISTORY.md\n").changelog_file == "HISTORY.md"
    c = craft("changelog:\n  filePath: docs/CHANGES.md\n  policy: simple\n")
    assert (c.changelog_file, c.changelog_policy) == ("docs/CHANGES.md", "simple")
    c = craft("changelogPolicy: auto\n")
    assert (c.changelog_file, c.changelog_policy) == ("CHANGELOG.md", "auto")
    assert craft("{}").changelog_policy == "none"


def test_conflicting_changelog_policies_are_an_error() -> None:
    with pytest.raises(ConfigError, match="disagree"):
        craft("changelogPolicy: simple\nchangelog:\n  policy: auto\n")


@pytest.mark.parametrize("text", [
    "changelogPolicy: sometimes\n",
    "versioning:\n  policy: semver\n",
    "versioning:\n  calver:\n    offset: -3\n",
    "releaseBranchPrefix: 'rel ease'\n",
    "releaseBranchPrefix: ../x\n",
    "changelog: ../../etc/passwd\n",
    "github:\n  owner: 'a b'\n  repo: r\n",
    "targets:\n  - name: npm\n    access: everyone\n",
    "targets:\n  - name: github\n    tagPrefix: '$(x)'\n",
    "targets:\n  - name: github\n    checksums:\n      - algorithm: md5\n",
    "targets:\n  - id: x\n",
    "targets: github\n",
    "requireNames: /a/\n",
    "minVersion: latest\n",
])
def test_invalid_values_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        craft(text)
    assert not isinstance(info.value, UnsupportedConfigError)
    assert "invalid values" in str(info.value)


def test_versioning_calver_settings() -> None:
    c = craft("versioning:\n  policy: calver\n  calver:\n    format: '%Y.%-m'\n    offset: 3\n")
    assert (c.versioning_policy, c.calver_format, c.calver_offset_days) == ("calver", "%Y.%-m", 3)


def test_numbers_in_yaml_become_strings() -> None:
    c = craft("minVersion: 1.1\ntargets:\n  - name: npm\n    id: 2\n")
    assert c.min_version == "1.1"
    assert c.targets[0].key == "npm[2]"


def test_duplicate_target_without_distinct_id_is_an_error() -> None:
    with pytest.raises(ConfigError, match="listed twice"):
        craft("targets:\n  - name: npm\n  - name: npm\n")


def test_differing_tag_prefixes_are_an_error() -> None:
    with pytest.raises(ConfigError, match="one tag prefix"):
        craft("targets:\n  - name: github\n    tagPrefix: v\n"
              "  - name: github\n    id: two\n    tagPrefix: rel-\n")


def test_unsupported_and_invalid_are_reported_together() -> None:
    with pytest.raises(UnsupportedConfigError) as info:
        craft("changelogPolicy: never\ntargets:\n  - name: hex\n")
    assert info.value.unsupported == ["target hex"]
    assert "also invalid" in str(info.value) and "never" in str(info.value)


def test_artifact_provider_default_and_list_forms() -> None:
    assert craft("{}").artifact_store.kind == "workflow-artifacts"
    c = craft("artifactProvider:\n  name: github\n  config:\n    artifacts: [a, b]\n")
    assert c.artifact_store.workflows == {"*": ["a", "b"]}
    c = craft("artifactProvider:\n  name: github\n  config:\n    artifacts: dist\n")
    assert c.artifact_store.workflows == {"*": ["dist"]}


def test_monorepo_path_is_kept() -> None:
    c = parse_config("targets:\n  - name: pypi\n", "packages/a/.craft.yml", path="packages/a")
    assert c.path == "packages/a"
    assert c.source == "packages/a/.craft.yml"


# -- docker, gcs, aws-lambda-layer ------------------------------------------------


def test_docker_flat_login_keys_become_image_fields() -> None:
    config = craft("targets:\n  - name: docker\n    source: ghcr.io/acme/app\n"
                   "    sourceUsernameVar: GHCR_USER\n    sourcePasswordVar: GHCR_TOKEN\n"
                   "    target: acme/app\n    registry: docker.io\n"
                   "    usernameVar: HUB_USER\n    passwordVar: HUB_TOKEN\n"
                   "    sourceFormat: '{{{source}}}:sha-{{{revision}}}'\n")
    assert config.targets[0].options == {
        "source": {"image": "ghcr.io/acme/app", "username_var": "GHCR_USER",
                   "password_var": "GHCR_TOKEN"},
        "target": {"image": "acme/app", "registry": "docker.io", "username_var": "HUB_USER",
                   "password_var": "HUB_TOKEN"},
        "source_format": "{{{source}}}:sha-{{{revision}}}"}


def test_docker_object_form_keeps_crafts_keys_as_valet_names() -> None:
    config = craft("targets:\n  - name: docker\n    source: {image: us.gcr.io/p/app, "
                   "skipLogin: true}\n    target: {image: acme/app, format: "
                   "'{{{target}}}:v{{{version}}}'}\n")
    assert config.targets[0].options == {
        "source": {"image": "us.gcr.io/p/app", "skip_login": True},
        "target": {"image": "acme/app", "format": "{{{target}}}:v{{{version}}}"}}


@pytest.mark.parametrize("text, message", [
    ("  - name: docker\n    target: acme/app\n", "needs `source`"),
    ("  - name: docker\n    source: a.io/x\n    target: b/x\n    targetFormat: '{{{tag}}}'\n",
     "unknown placeholder"),
    ("  - name: gcs\n    bucket: assets\n", "must list at least one"),
    ("  - name: gcs\n    bucket: assets\n    paths:\n      - path: /a/\n        metadata:\n"
     "          acl: public\n", "metadata.acl"),
    ("  - name: aws-lambda-layer\n    layerName: L\n    license: MIT\n"
     "    compatibleRuntimes: [{name: node}]\n", r"compatible_runtimes\[0\]"),
])
def test_bad_cloud_target_options_are_reported_at_load(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        craft("targets:\n" + text)


def test_aws_lambda_is_read_as_aws_lambda_layer_with_notes() -> None:
    config = craft("targets:\n  - name: aws-lambda\n")
    assert [t.key for t in config.targets] == ["aws-lambda-layer"]
    assert any("aws-lambda is read as aws-lambda-layer" in n for n in config.notes)
    assert any("publishing refuses it until they are set" in n for n in config.notes)
    full = craft("targets:\n  - name: aws-lambda\n    layerName: L\n    license: MIT\n"
                 "    compatibleRuntimes: [{name: node, versions: [nodejs20.x]}]\n"
                 "    compatibleArchitectures: [arm64]\n    linkPrereleases: true\n")
    assert full.targets[0].options == {
        "layer_name": "L", "license": "MIT", "link_prereleases": True,
        "compatible_runtimes": [{"name": "node", "versions": ["nodejs20.x"]}],
        "compatible_architectures": ["arm64"]}


def test_unknown_options_of_the_cloud_targets_are_refused() -> None:
    with pytest.raises(UnsupportedConfigError) as info:
        craft("targets:\n  - name: gcs\n    bucket: a-b\n    paths: /x/\n    gzip: false\n")
    assert info.value.unsupported == ["option gzip of target gcs"]


def test_crates_no_dev_deps_is_accepted_with_a_notice_and_changes_no_option() -> None:
    config = craft("targets:\n  - name: crates\n    noDevDeps: true\n")
    (target,) = config.targets
    assert target.name == "crates" and target.options == {}
    (note,) = [n for n in config.notes if "noDevDeps" in n]
    assert note.startswith("targets[0].noDevDeps: craft ran `cargo hack publish --no-dev-deps`")
    assert "cargo hack package --no-dev-deps" in note
    assert not [n for n in craft("targets:\n  - name: crates\n    noDevDeps: false\n").notes
                if "noDevDeps" in n]


def test_crates_no_dev_deps_takes_a_boolean() -> None:
    with pytest.raises(ConfigError, match=r"targets\[0\]\.noDevDeps: got 'yes'"):
        craft("targets:\n  - name: crates\n    noDevDeps: 'yes'\n")


@pytest.mark.parametrize(("artifacts", "where"), [
    ("{CI: ['/(x/']}", "artifactProvider.config.artifacts.CI"),
    ("{'/(x/': npm-package}", r"artifactProvider.config.artifacts \(workflow name\)"),
    ("['ok', '/a/g']", r"artifactProvider.config.artifacts\[1\]"),
    ("[]", "artifactProvider.config.artifacts must name at least one artifact"),
])
def test_artifact_names_are_checked_when_the_file_loads(artifacts: str, where: str) -> None:
    with pytest.raises(ConfigError, match=where):
        craft(f"artifactProvider:\n  name: github\n  config:\n    artifacts: {artifacts}\n"
              "targets:\n  - name: github\n")
