"""Every real .craft.yml of the corpus (copied from ../shared/compat/craft-configs/)
either loads with the targets the file declares, or is refused with an error that
names exactly the fields and targets valet does not support."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from valet.config_load import SUPPORTED_TARGETS, load_config, parse_config
from valet.craft_compat import CRAFT_TARGET_ALIASES, UnsupportedConfigError, parse_craft
from valet.errors import ConfigError

CORPUS = Path(__file__).parent / "fixtures" / "craft"
FILES = sorted(p.name for p in CORPUS.glob("*.craft.yml"))


def _kind(name: str) -> str:
    """craft's earlier target names (aws-lambda) are read as valet's."""
    return CRAFT_TARGET_ALIASES.get(name, name)


def _listed(name: str) -> list[str]:
    """The target keys a corpus file lists (name, or name[id]), read as plain YAML."""
    data = yaml.safe_load((CORPUS / name).read_text(encoding="utf-8"))
    return [_kind(t["name"]) + (f"[{t['id']}]" if t.get("id") is not None else "")
            for t in data.get("targets") or []]


def _unsupported(name: str) -> list[str]:
    """What valet must refuse in a file: each target kind it lacks, in the file's order.

    Derived from SUPPORTED_TARGETS so that the expectation follows the targets that have
    landed: a file whose every target is supported must load instead (next test)."""
    data = yaml.safe_load((CORPUS / name).read_text(encoding="utf-8"))
    kinds = [t["name"] for t in data.get("targets") or []]
    return [f"target {k}" for k in dict.fromkeys(kinds) if _kind(k) not in SUPPORTED_TARGETS]


def _unfit_ids(name: str) -> list[str]:
    """Target keys the approval issue cannot carry (its grammar has no spaces or brackets
    in an id): valet refuses them when the file loads, not at `valet request`."""
    from valet.issue_format import TARGET_ID_RE

    return [key for key in _listed(name) if not TARGET_ID_RE.fullmatch(key)]


REFUSED = [n for n in FILES if _unsupported(n)]
LOADS = [n for n in FILES if not _unsupported(n) and not _unfit_ids(n)]
ID_REFUSED = [n for n in FILES if not _unsupported(n) and _unfit_ids(n)]

# file -> the normalized targets: (key, include pattern, exclude pattern, options)
LOADED: dict[str, list[tuple[str, str | None, str | None, dict[str, object]]]] = {
    "codecov__codecov-cli.craft.yml": [
        ("github", "(?i)^(codecov|codecov_)cli.*", None, {"checksums": ["sha256"]}),
        ("pypi", "(?i)codecov_cli-*", None, {}),
    ],
    "getsentry__arroyo.craft.yml": [("github", None, None, {}), ("pypi", None, None, {})],
    "getsentry__dotagents.craft.yml": [
        ("npm[@sentry/dotagents-lib]", r"^sentry-dotagents-lib-\d.*\.tgz$", None,
         {"access": "public"}),
        ("npm[@sentry/dotagents]", r"^sentry-dotagents-\d.*\.tgz$", None, {"access": "public"}),
        ("github", None, None, {}),
    ],
    "getsentry__responses.craft.yml": [("pypi", None, None, {}), ("github", None, None, {})],
    "getsentry__rust-sourcemap.craft.yml": [("crates", None, None, {})],
    "getsentry__self-hosted.craft.yml": [("github", None, None, {})],
    "getsentry__cli.craft.yml": [("npm", None, None, {}), ("github", None, None, {}),
                                 ("gh-pages", None, None, {})],
    "getsentry__sentry-unity.craft.yml": [
        ("upm", None, None, {"repository": "getsentry/unity"}),
        ("github", None, r"^libsentry.*\.so$", {}),
        ("registry", None, None, {"sdks": {"upm:sentry-unity": None}}),
    ],
}

LOADED["getsentry__launchpad.craft.yml"] = [
    ("docker[release]", None, None, {"source": "ghcr.io/getsentry/launchpad",
                                     "target": "ghcr.io/getsentry/launchpad"}),
    ("docker[latest]", None, None, {"source": "ghcr.io/getsentry/launchpad",
                                    "target": "ghcr.io/getsentry/launchpad",
                                    "target_format": "{{{target}}}:latest"}),
    ("github", None, None, {}),
]

_GCS_LONG = "public, max-age=2592000"
# file -> target key -> options, for the docker, gcs and aws-lambda-layer targets
# of the corpus: checked whether or not the rest of the file loads yet.
CLOUD_OPTIONS: dict[str, dict[str, dict[str, object]]] = {
    "getsentry__craft.craft.yml": {
        "gcs": {"bucket": "sentry-sdk-assets", "paths": [
            {"path": "/craft/{{version}}/", "metadata": {"cacheControl": _GCS_LONG}},
            {"path": "/craft/latest/", "metadata": {"cacheControl": "public, max-age=300"}}]},
        "docker": {"source": "us.gcr.io/sentryio/craft", "target": "getsentry/craft"},
        "aws-lambda-layer": {},
    },
    "getsentry__relay.craft.yml": {
        "gcs": {"bucket": "sentry-sdk-assets", "paths": [
            {"path": "/relay/{{version}}/", "metadata": {"cacheControl": _GCS_LONG}},
            {"path": "/relay/latest/", "metadata": {"cacheControl": "public, max-age=600"}}]},
        "docker[release]": {"source": "us.gcr.io/sentryio/relay", "target": "getsentry/relay"},
        "docker[latest]": {"source": "us.gcr.io/sentryio/relay", "target": "getsentry/relay",
                           "target_format": "{{{target}}}:latest"},
    },
    "getsentry__sentry-cli.craft.yml": {
        "gcs": {"bucket": "sentry-sdk-assets", "paths": [
            {"path": "/sentry-cli/{{version}}/", "metadata": {"cacheControl": _GCS_LONG}},
            {"path": "/sentry-cli/latest/", "metadata": {"cacheControl": "public, max-age=600"}}]},
        "docker[Docker Hub (release)]": {"source": "ghcr.io/getsentry/sentry-cli",
                                         "target": "getsentry/sentry-cli"},
        "docker[Docker Hub (latest)]": {"source": "ghcr.io/getsentry/sentry-cli",
                                        "target": "getsentry/sentry-cli",
                                        "target_format": "{{{target}}}:latest"},
    },
    "getsentry__sentry-javascript.craft.yml": {
        "aws-lambda-layer": {
            "layer_name": "SentryNodeServerlessSDK", "license": "MIT",
            "compatible_runtimes": [{"name": "node", "versions": [
                "nodejs10.x", "nodejs12.x", "nodejs14.x", "nodejs16.x", "nodejs18.x",
                "nodejs20.x"]}]},
        "gcs[browser-cdn-bundles]": {"bucket": "sentry-js-sdk", "paths": [
            {"path": "/{{version}}/", "metadata": {"cacheControl": "public, max-age=31536000"}}]},
    },
    "getsentry__sentry-python.craft.yml": {
        "aws-lambda-layer": {
            "layer_name": "SentryPythonServerlessSDK", "license": "MIT",
            "compatible_runtimes": [{"name": "python", "versions": [
                "python3.7", "python3.8", "python3.9", "python3.10", "python3.11",
                "python3.12", "python3.13"]}]},
    },
    "getsentry__launchpad.craft.yml": {
        "docker[release]": LOADED["getsentry__launchpad.craft.yml"][0][3],
        "docker[latest]": LOADED["getsentry__launchpad.craft.yml"][1][3],
    },
}



def test_the_corpus_is_complete() -> None:
    assert len(FILES) == 20
    assert set(LOADED) <= set(LOADS)  # the detailed expectations below are of loading files


@pytest.mark.parametrize("name", REFUSED)
def test_refused_files_name_exactly_what_is_unsupported(name: str) -> None:
    text = (CORPUS / name).read_text(encoding="utf-8")
    with pytest.raises(UnsupportedConfigError) as info:
        parse_config(text, ".craft.yml")
    assert info.value.unsupported == _unsupported(name)
    message = str(info.value)
    for item in _unsupported(name):
        assert item in message
    # supported things are not blamed, and the hint lists what is supported
    for kind in SUPPORTED_TARGETS:
        assert f"target {kind}," not in message and not message.endswith(f"target {kind}")
    assert "option " not in message.split("hint:")[0]  # every option of a supported target maps
    assert "supported targets: " + ", ".join(SUPPORTED_TARGETS) in message
    assert info.value.exit_code == 3


@pytest.mark.parametrize("name", LOADS)
def test_files_with_only_supported_targets_load_with_the_targets_they_list(name: str) -> None:
    config = parse_config((CORPUS / name).read_text(encoding="utf-8"), ".craft.yml")
    assert [t.key for t in config.targets] == _listed(name)
    assert config.source == ".craft.yml"


@pytest.mark.parametrize("name", ["getsentry__cli.craft.yml", "getsentry__sentry-unity.craft.yml",
                                  "getsentry__sentry-javascript.craft.yml",
                                  "getsentry__relay.craft.yml",
                                  "getsentry__craft.craft.yml", "getsentry__launchpad.craft.yml"])
def test_the_git_and_cloud_targets_bring_these_files_over(name: str) -> None:
    assert name in LOADS


def test_every_id_of_the_corpus_is_one_the_approval_issue_can_carry() -> None:
    # sentry-cli's docker targets are `id: Docker Hub (release)`: the issue line
    # ` - [ ] docker[Docker Hub (release)]` is what craft writes, and valet reads it.
    assert ID_REFUSED == []
    assert "getsentry__sentry-cli.craft.yml" in LOADS
    keys = [t.key for t in parse_config((CORPUS / "getsentry__sentry-cli.craft.yml")
                                        .read_text(encoding="utf-8"), ".craft.yml").targets]
    assert "docker[Docker Hub (release)]" in keys and "docker[Docker Hub (latest)]" in keys


@pytest.mark.parametrize("tid,where", [
    ("a  b", "issue"), ("a ", "issue"), ("a_ b", "issue"), ("www.evil.example", "issue"),
    ("me@evil.example", "issue"), ("Docker Hub]", "load"), ("a\u200bb", "load"),
    ("a\u202eb", "load"), (":rocket:", "load"), ("https://evil.example", "load")])
def test_ids_the_approval_issue_cannot_carry_are_refused_when_the_file_loads(
        tid: str, where: str) -> None:
    text = (f"targets:\n  - name: docker\n    id: {json.dumps(tid)}\n    source: a/b\n"
            "    target: c/d\n")
    with pytest.raises(ConfigError) as info:
        parse_config(text, ".craft.yml")
    message = str(info.value)
    assert "targets[0]" in message
    assert ("cannot appear in an approval issue" if where == "issue"
            else "holds characters valet does not allow") in message


@pytest.mark.parametrize("name", sorted(CLOUD_OPTIONS))
def test_cloud_targets_of_the_corpus_map_their_options(name: str) -> None:
    # The file without the targets valet does not support: what remains must load,
    # and the docker / gcs / aws-lambda-layer targets keep every option.
    data = yaml.safe_load((CORPUS / name).read_text(encoding="utf-8"))
    data["targets"] = [t for t in data["targets"] if _kind(t["name"]) in SUPPORTED_TARGETS]
    config = parse_craft(data, ".craft.yml")
    got = {t.key: t.options for t in config.targets
           if t.name in ("docker", "gcs", "aws-lambda-layer")}
    assert got == CLOUD_OPTIONS[name]


@pytest.mark.parametrize("name", sorted(LOADED))
def test_loaded_files_keep_their_targets(name: str) -> None:
    config = parse_config((CORPUS / name).read_text(encoding="utf-8"), ".craft.yml")
    got = [(t.key, t.include_names.pattern if t.include_names else None,
            t.exclude_names.pattern if t.exclude_names else None, t.options)
           for t in config.targets]
    assert got == LOADED[name]
    assert config.source == ".craft.yml"


def test_codecov_maps_tag_prefix_and_case_insensitive_regexes() -> None:
    config = parse_config((CORPUS / "codecov__codecov-cli.craft.yml").read_text(), ".craft.yml")
    assert config.tag_prefix == "v"
    assert config.github_repo == "codecov/codecov-cli"
    assert config.changelog_policy == "auto"
    github = config.targets[0]
    assert github.matches("CODECOV_CLI-linux")
    assert github.include_names is not None and github.include_names.flags & re.IGNORECASE
    assert config.min_version is None


def test_arroyo_fields() -> None:
    config = parse_config((CORPUS / "getsentry__arroyo.craft.yml").read_text(), ".craft.yml")
    assert config.changelog_file == "CHANGES.rst"
    assert config.changelog_policy == "auto"
    assert config.min_version == "0.23.1"
    assert config.github_repo == "getsentry/arroyo"
    assert config.status_provider == "github"
    assert config.artifact_store.kind == "workflow-artifacts"
    assert config.versioning_policy == "manual"


def test_dotagents_workflow_artifacts_and_pre_release_command() -> None:
    config = parse_config((CORPUS / "getsentry__dotagents.craft.yml").read_text(), ".craft.yml")
    assert config.artifact_store.kind == "workflow-artifacts"
    assert config.artifact_store.workflows == {"CI": ["npm-package"]}
    assert config.pre_release_command == "node scripts/bump-version.mjs"
    lib = config.target("npm[@sentry/dotagents-lib]")
    assert lib is not None
    assert lib.matches("sentry-dotagents-lib-1.2.3.tgz")
    assert not lib.matches("sentry-dotagents-1.2.3.tgz")


def test_responses_has_a_file_but_no_policy_so_craft_default_none() -> None:
    config = parse_config((CORPUS / "getsentry__responses.craft.yml").read_text(), ".craft.yml")
    assert config.changelog_file == "CHANGES"
    assert config.changelog_policy == "none"
    assert [p.pattern for p in config.require_names] == [
        r"^responses-.+-py2.py3-none-any.whl$", r"^responses-.+.tar.gz$"]
    assert config.min_version == "0.21.0"


def test_self_hosted_release_prefix_and_no_artifacts() -> None:
    config = parse_config((CORPUS / "getsentry__self-hosted.craft.yml").read_text(),
                          ".craft.yml")
    assert config.release_branch_prefix == "releases"
    assert config.changelog_policy == "none"
    assert config.artifacts == []
    assert config.artifact_store.kind == "github-release"
    assert config.github_repo == "getsentry/onpremise"
    assert any("artifactProvider none" in n for n in config.notes)


def test_rust_sourcemap_crates_and_command() -> None:
    config = parse_config((CORPUS / "getsentry__rust-sourcemap.craft.yml").read_text(),
                          ".craft.yml")
    assert config.pre_release_command == "bash scripts/bump-version"
    assert config.github_repo == "getsentry/rust-sourcemap"


def test_launchpad_would_map_calver_empty_command_and_contexts() -> None:
    # The file is refused for its docker targets; the rest of it maps.
    text = (CORPUS / "getsentry__launchpad.craft.yml").read_text()
    text = text.split("targets:")[0]
    config = parse_config(text, ".craft.yml")
    assert config.versioning_policy == "calver"
    assert config.calver_format == "%y.%-m" and config.calver_offset_days == 14
    assert config.pre_release_command is None
    assert any("preReleaseCommand is empty" in n for n in config.notes)
    assert config.status_contexts == ["build-arm64", "build-amd64",
                                      "Create multi-platform manifest"]


def test_cli_maps_changelog_object_versioning_and_both_commands() -> None:
    config = parse_config((CORPUS / "getsentry__cli.craft.yml").read_text(), ".craft.yml")
    assert config.changelog_policy == "auto"
    assert config.versioning_policy == "auto"
    assert config.pre_release_command == "bun run script/bump-version.ts --pre"
    assert config.post_release_command == "bun run script/bump-version.ts --post"
    assert [t.key for t in config.targets] == ["npm", "github", "gh-pages"]
    assert len(config.require_names) == 2


def test_load_config_reads_a_craft_file_from_disk(tmp_path: Path) -> None:
    (tmp_path / ".craft.yml").write_text((CORPUS / "getsentry__arroyo.craft.yml").read_text())
    config = load_config(tmp_path)
    assert config.source == ".craft.yml"
    assert [t.key for t in config.targets] == ["github", "pypi"]


def test_craft_default_pre_release_script_is_used_when_present(tmp_path: Path) -> None:
    (tmp_path / ".craft.yml").write_text("targets:\n  - name: github\n")
    assert load_config(tmp_path).pre_release_command is None
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "bump-version.sh").write_text("#!/bin/sh\n")
    config = load_config(tmp_path)
    assert config.pre_release_command == "bash scripts/bump-version.sh"
    # an explicit empty command turns the default off, as in craft
    (tmp_path / ".craft.yml").write_text("preReleaseCommand: ''\ntargets:\n  - name: github\n")
    assert load_config(tmp_path).pre_release_command is None


def test_refusal_is_a_config_error_for_callers_that_catch_that() -> None:
    with pytest.raises(ConfigError):
        parse_config((CORPUS / "getsentry__sentry-elixir.craft.yml").read_text(), ".craft.yml")
