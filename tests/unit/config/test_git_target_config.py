"""Options of the git targets: .valet.yml keys, and craft's mapped onto them (bad ones reported)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from valet.config import TargetConfig
from valet.config_load import parse_config
from valet.craft_compat import UnsupportedConfigError
from valet.errors import ConfigError

CORPUS = Path(__file__).parent / "fixtures" / "craft"


def one(target_yaml: str) -> TargetConfig:
    config = parse_config("targets:\n" + target_yaml, ".craft.yml")
    (target,) = config.targets
    return target


def corpus_target(file: str, name: str) -> TargetConfig:
    """One target of a corpus file, parsed on its own (the file may need other targets)."""
    data = yaml.safe_load((CORPUS / file).read_text())
    (raw,) = [t for t in data["targets"] if t["name"] == name]
    return one(yaml.safe_dump([raw], sort_keys=False))


def test_registry_sdks_of_sentry_javascript() -> None:
    t = corpus_target("getsentry__sentry-javascript.craft.yml", "registry")
    browser = t.options["sdks"]["npm:@sentry/browser"]
    assert browser == {"only_if_present": r"^sentry-browser-\d.*\.tgz$",
                       "include_names": r"\.js$",
                       "checksums": [{"algorithm": "sha384", "format": "base64"}]}
    assert t.options["sdks"]["npm:@sentry/ember"] == {
        "only_if_present": r"^sentry-ember-\d.*\.tgz$"}
    assert len(t.options["sdks"]) == 15


def test_registry_apps_of_sentry_cli_keep_the_case_insensitive_flag() -> None:
    t = corpus_target("getsentry__sentry-cli.craft.yml", "registry")
    app = t.options["apps"]["app:sentry-cli"]
    assert app["url_template"] == "https://downloads.sentry-cdn.com/sentry-cli/{{version}}/{{file}}"
    assert app["include_names"] == "(?i)^sentry-cli-(Darwin|Windows|Linux).*$"
    assert re.search(app["include_names"], "SENTRY-CLI-linux-x86_64")
    assert app["checksums"] == [{"algorithm": "sha256", "format": "hex"}]


@pytest.mark.parametrize("file,kind,canonical", [
    ("getsentry__relay.craft.yml", "apps", "app:relay"),
    ("getsentry__craft.craft.yml", "apps", "app:craft"),
    ("getsentry__sentry-ruby.craft.yml", "sdks", "gem:sentry-raven"),
])
def test_the_legacy_single_package_form(file: str, kind: str, canonical: str) -> None:
    t = corpus_target(file, "registry")
    assert list(t.options) == [kind] and list(t.options[kind]) == [canonical]
    if file.startswith("getsentry__relay"):
        assert t.include_names is not None and t.include_names.pattern == \
            "(?i)^relay-(Darwin|Linux|Windows).*$"
        assert t.options[kind][canonical] == {
            "url_template": "https://downloads.sentry-cdn.com/relay/{{version}}/{{file}}"}
    if file.startswith("getsentry__craft"):
        assert t.options[kind][canonical]["checksums"] == [{"algorithm": "sha256",
                                                            "format": "hex"}]


def test_registry_remote_and_bad_values() -> None:
    t = one("  - name: registry\n    remote: acme/registry\n    sdks:\n      'npm:@a/b':\n")
    assert t.options == {"repository": "acme/registry", "sdks": {"npm:@a/b": None}}
    with pytest.raises(ConfigError) as info:
        parse_config("targets:\n  - name: registry\n    type: app\n    config: {canonical: 'app:x'}"
                     "\n    sdks:\n      'npm:x':\n      'not canonical':\n"
                     "      'npm:y': {checksums: [{algorithm: md5, format: hex}]}\n",
                     ".craft.yml")
    message = info.value.message
    assert "old single-package form" in message and "'not canonical'" in message
    assert "md5" in message
    with pytest.raises(UnsupportedConfigError) as refused:
        parse_config("targets:\n  - name: registry\n    sdks:\n      'npm:x': {fancy: 1}\n",
                     ".craft.yml")
    assert refused.value.unsupported == ["option sdks.npm:x.fancy of target registry"]
    with pytest.raises(ConfigError, match="type \\(sdk or app\\) and config.canonical"):
        parse_config("targets:\n  - name: registry\n    type: app\n", ".craft.yml")


def test_gh_pages_repository_from_owner_and_repo() -> None:
    assert one("  - name: gh-pages\n").options == {}
    t = one("  - name: gh-pages\n    githubOwner: acme\n    githubRepo: docs\n    branch: site\n")
    assert t.options == {"repository": "acme/docs", "branch": "site"}
    with pytest.raises(ConfigError, match="githubOwner and githubRepo"):
        one("  - name: gh-pages\n    githubOwner: acme\n")


def test_commit_on_git_repository_of_sentry_javascript() -> None:
    t = corpus_target("getsentry__sentry-javascript.craft.yml", "commit-on-git-repository")
    assert t.key == "commit-on-git-repository[getsentry/deno]"
    assert t.options == {"repository": "getsentry/sentry-deno", "branch": "main",
                         "strip_components": 1, "create_tag": True}
    assert t.include_names is not None and t.include_names.pattern == r"^sentry-deno-\d.*\.tgz$"


def test_commit_on_git_repository_refusals_and_include_names_winning() -> None:
    with pytest.raises(ConfigError) as info:
        one("  - name: commit-on-git-repository\n    archive: /x/\n"
            "    repositoryUrl: https://gitlab.com/a/b.git\n")
    assert "GitHub repositories only" in info.value.message
    assert "branch is required" in info.value.message
    config = parse_config("targets:\n  - name: commit-on-git-repository\n    archive: /a/\n"
                          "    includeNames: /b/\n    branch: main\n"
                          "    repositoryUrl: https://github.com/acme/deno\n", ".craft.yml")
    assert config.targets[0].include_names is not None
    assert config.targets[0].include_names.pattern == "b"
    assert any("archive is ignored" in n for n in config.notes)


def test_brew_of_sentry_cli_and_its_required_tap() -> None:
    t = corpus_target("getsentry__sentry-cli.craft.yml", "brew")
    assert t.options["tap"] == "getsentry/tools"
    assert t.options["template"].startswith("class SentryCli < Formula\n")
    assert '  sha256 "{{checksums.sentry-cli-Darwin-universal}}"' in t.options["template"]
    with pytest.raises(ConfigError, match="tap is required.*homebrew/core"):
        one("  - name: brew\n    template: x\n")


def test_upm_of_sentry_unity_and_its_required_repository() -> None:
    t = corpus_target("getsentry__sentry-unity.craft.yml", "upm")
    assert t.options == {"repository": "getsentry/unity"}
    with pytest.raises(ConfigError, match="releaseRepoOwner and releaseRepoName"):
        one("  - name: upm\n    releaseRepoOwner: getsentry\n")


VALET_YML = r"""
targets:
  - name: registry
    repository: acme/registry
    branch: main
    sdks:
      "npm:@acme/sdk":
        include_names: '\.js$'
        checksums: [{algorithm: sha384, format: base64}]
      "pypi:acme":
    apps:
      "app:acme-cli":
        url_template: "https://dl.acme.test/{{version}}/{{file}}"
        name: Acme CLI
  - name: gh-pages
    branch: gh-pages
  - name: commit-on-git-repository
    id: deno
    repository: acme/deno
    branch: main
    include_names: '^acme-deno-.*\.tgz$'
    strip_components: 1
    create_tag: false
  - name: brew
    tap: acme/tools
    template: 'version "{{version}}"'
    formula: acme
    path: Formula
  - name: upm
    repository: acme/unity
    branch: main
"""


def test_valet_yml_takes_every_option_of_the_git_targets() -> None:
    config = parse_config(VALET_YML, ".valet.yml")
    assert [t.key for t in config.targets] == ["registry", "gh-pages",
                                               "commit-on-git-repository[deno]", "brew", "upm"]
    registry = config.targets[0].options
    assert registry["sdks"]["pypi:acme"] is None
    assert registry["apps"]["app:acme-cli"]["name"] == "Acme CLI"
    assert config.targets[2].options["create_tag"] is False


@pytest.mark.parametrize("bad,why", [
    ("  - name: registry\n    sdks:\n      'npm:x': {fancy: 1}\n", "fancy"),
    ("  - name: registry\n    sdks:\n      'npm x':\n",
     r"targets\[0\]\.sdks: 'npm x' does not have the allowed form. Allowed: SDK packages"),
    ("  - name: registry\n    apps:\n      'app:x': {checksums: [{algorithm: md5, format: hex}]}\n",
     "md5"),
    ("  - name: upm\n    tap: a/b\n",
     "targets\\[0\\].tap is an option of the brew target, not of upm"),
    ("  - name: commit-on-git-repository\n    strip_components: -1\n",
     "strip_components: -1 is out of bounds. Allowed: a whole number, from 0 to 32"),
    ("  - name: gh-pages\n    repository: not-a-repo\n",
     "repository: 'not-a-repo' does not have the allowed form"),
])
def test_valet_yml_refuses_bad_git_target_options(bad: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        parse_config("targets:\n" + bad, ".valet.yml")


@pytest.mark.parametrize("bad,why", [
    ("  - name: brew\n    tap: a/b\n    template: 'sha256 \"{{checksum.x}}\"'\n",
     r"unknown placeholder\(s\) \{\{checksum.x\}\}"),
    ("  - name: brew\n    tap: a/b\n    template: 'x'\n    formula: 'a-{{build}}'\n",
     "formula: unknown placeholder"),
    ("  - name: brew\n    tap: a/b\n    template: '{{#version}}x{{/version}}'\n",
     "not a placeholder"),
    ("  - name: registry\n    apps:\n      'app:x': {url_template: 'https://d/{{tag}}/{{file}}'}\n",
     r"url_template of app:x: unknown placeholder\(s\) \{\{tag\}\}"),
    ("  - name: registry\n    sdks:\n      'npm:a/../../b':\n", "is not <registry>:<name>"),
    ("  - name: registry\n    sdks:\n      'npm:a': {include_names: '(unclosed'}\n",
     "not a valid regular expression"),
])
def test_templates_names_and_regexes_are_checked_when_the_config_loads(bad: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why) as info:
        parse_config("targets:\n" + bad, ".valet.yml")
    assert info.value.exit_code == 3
    craft_text = bad.replace("url_template", "urlTemplate").replace(
        "include_names: '(unclosed'", "includeNames: '/(unclosed/'")
    with pytest.raises(ConfigError, match=why.replace(r"\{\{checksum.x\}\}", "")):
        parse_config("targets:\n" + craft_text, ".craft.yml")


def test_a_registry_without_packages_loads_and_its_preflight_says_what_to_add(
        tmp_path: Path) -> None:
    from tests.unit.targets.ctx import make_ctx
    from valet.errors import TargetError
    from valet.targets.registry import RegistryTarget

    config = parse_config("targets:\n  - name: registry\n", ".valet.yml")
    target = config.targets[0]
    ctx = make_ctx(tmp_path, [], name="registry", options=target.options)
    with pytest.raises(TargetError, match="no package is configured") as info:
        RegistryTarget().preflight(ctx)
    assert info.value.hint and "sdks:" in info.value.hint
