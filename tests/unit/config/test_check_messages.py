"""`valet config check` over broken configs: every message names the key, says what is
allowed and, for a near-miss name or value, suggests the one meant; none leaks
jsonschema's wording or a raw regular expression from the schema."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import NamedTuple

import pytest

from valet.cli import main
from valet.errors import ConfigError

SCHEMA = Path(__file__).resolve().parents[3] / "src" / "valet" / "schemas" / "config.schema.json"

# What jsonschema says, that no user should have to read.
JSONSCHEMA_WORDING = ("is not valid under any of the given schemas", "is not of type",
                      "more problem(s)", "does not match", "Additional properties",
                      "is a required property", "is too short", "is too long",
                      "is less than the minimum", "is valid under each of", "Failed validating")


class Case(NamedTuple):
    file: str  # .valet.yml or .craft.yml
    text: str
    key: str  # the key path the message must name
    allowed: str  # a fragment of what the message says is allowed
    meant: str | None = None  # the near-miss suggestion the message must make


PYPI = "targets:\n  - name: pypi\n"
NPM = "targets:\n  - name: npm\n"

CASES = {
    # names and values one letter off
    "target name typo": Case(".valet.yml", "targets:\n  - name: pypy\n",
                             "targets[0].name", "one of github, pypi, npm, crates", "pypi"),
    "camelCase key": Case(".valet.yml", "changelogPolicy: auto\n", "changelogPolicy",
                          "the keys min_version", "changelog_policy"),
    "top-level key typo": Case(".valet.yml", "tag_prefx: v\n", "tag_prefx", "tag_prefix",
                               "tag_prefix"),
    "policy value typo": Case(".valet.yml", "changelog_policy: atuo\n", "changelog_policy",
                              "one of none, simple, auto", "auto"),
    "versioning value typo": Case(".valet.yml", "versioning_policy: calvar\n",
                                  "versioning_policy", "one of manual, auto, calver", "calver"),
    "option typo": Case(".valet.yml", PYPI + "    repositry_url: https://x.example/\n",
                        "targets[0].repositry_url", "repository_url", "repository_url"),
    "option typo on npm": Case(".valet.yml", NPM + "    acess: public\n", "targets[0].acess",
                               "access", "access"),
    "option of another target": Case(".valet.yml", PYPI + "    access: public\n",
                                     "targets[0].access", "the options of pypi: repository_url"),
    "artifact store kind typo": Case(".valet.yml", "artifact_store:\n  kind: github-releases\n",
                                     "artifact_store.kind", "one of github-release",
                                     "github-release"),
    # values the schema's shape refuses
    "calver token": Case(".valet.yml", "calver_format: '%Q'\n", "calver_format",
                         "the tokens %Y %y %m", None),
    "calver three numbers": Case(".valet.yml", "calver_format: '%Y.%m.%d'\n", "calver_format",
                                 "one or two numbers separated by a dot"),
    "calver offset": Case(".valet.yml", "calver_offset_days: 400\n", "calver_offset_days",
                          "a whole number, from 0 to 366"),
    "build a number": Case(".valet.yml", "build: 5\n", "build",
                           "a string or a list of strings"),
    "targets a mapping": Case(".valet.yml", "targets: {name: pypi}\n", "targets", "a list"),
    "target a string": Case(".valet.yml", "targets: [pypi]\n", "targets[0]",
                            "a mapping of keys to values"),
    "target without name": Case(".valet.yml", "targets:\n  - id: x\n", "targets[0].name",
                                "one of github, pypi"),
    "branch prefix with a space": Case(".valet.yml", "release_branch_prefix: 'a b'\n",
                                       "release_branch_prefix", "letters, digits"),
    "branch prefix ending .lock": Case(".valet.yml", "release_branch_prefix: rel.lock\n",
                                       "release_branch_prefix", "none ending in '.lock'"),
    "tag prefix": Case(".valet.yml", "tag_prefix: '-x'\n", "tag_prefix", "letters, digits"),
    "repository name": Case(".valet.yml", "github_repo: sdk\n", "github_repo", "owner/name"),
    "changelog outside": Case(".valet.yml", "changelog_file: ../x.md\n", "changelog_file",
                              "relative to the project directory"),
    "bad regex": Case(".valet.yml", PYPI + "    include_names: '(['\n",
                      "targets[0].include_names", "a Python regular expression"),
    "target id with two spaces": Case(".valet.yml", NPM + "    id: my  pkg\n", "targets[0].id",
                                      "single spaces"),
    # what a later step would refuse
    "plain http upload": Case(".valet.yml", PYPI + "    repository_url: http://pypi.example/legacy/"
                              "\n    index_url: https://pypi.example/simple/\n",
                              "targets[0].repository_url", "an https URL"),
    "plain http npm": Case(".valet.yml", NPM + "    registry: http://npm.example/\n",
                           "targets[0].registry", "plain http only for 127.0.0.1"),
    "plain http crates": Case(".valet.yml", "targets:\n  - name: crates\n"
                              "    registry_url: http://crates.example\n",
                              "targets[0].registry_url", "an https URL"),
    "credentials in a URL": Case(".valet.yml", NPM + "    registry: https://me:pw@npm.example/\n",
                                 "targets[0].registry", "without credentials"),
    "ftp URL": Case(".valet.yml", PYPI + "    repository_url: ftp://x\n",
                    "targets[0].repository_url", "https"),
    "custom index missing": Case(".valet.yml", PYPI + "    repository_url: https://pypi.example/legacy/\n",
                                 "targets[0].index_url", "PEP 503 simple index"),
    "dist-tag a version": Case(".valet.yml", NPM + "    tag: v2\n", "targets[0].tag",
                               "not a version"),
    "prerelease tag latest": Case(".valet.yml", NPM + "    prerelease_tag: latest\n",
                                  "targets[0].prerelease_tag", "not latest"),
    "glob outside": Case(".valet.yml", "artifacts: ['~/dist/*']\n", "artifacts[0]",
                         "a glob relative to the project directory"),
    "no files for pypi": Case(".valet.yml", PYPI + "artifacts: []\n", "targets[0].name",
                              "list the files the build produces in artifacts"),
    "unbalanced command": Case(".valet.yml", "pre_release_command: \"bump 'x\"\n",
                               "pre_release_command", "balanced quotes"),
    "unknown version file": Case(".valet.yml", "bump_files: [setup.cfg]\n", "bump_files[0]",
                                 "pyproject.toml, package.json"),
    "missing version file": Case(".valet.yml", "bump_files: [pkg/pyproject.toml]\n",
                                 "bump_files[0]", "a file relative to the project directory"),
    "missing pre-release script": Case(".valet.yml", "pre_release_command: ./scripts/bump.sh\n",
                                       "pre_release_command", "a script path relative"),
    # .craft.yml: typos are typos, with craft's names
    "craft field typo": Case(".craft.yml", "changelogPolcy: auto\n", "changelogPolcy",
                             "the fields valet reads here", "changelogPolicy"),
    "craft target typo": Case(".craft.yml", "targets:\n  - name: pypy\n", "targets[0].name",
                              "the targets valet publishes to", "pypi"),
    "craft option typo": Case(".craft.yml", "targets:\n  - name: github\n    tagPrefx: v\n",
                              "targets[0].tagPrefx", "the github options valet reads",
                              "tagPrefix"),
    "craft nested typo": Case(".craft.yml", "changelog:\n  filepath: C.md\n",
                              "changelog.filepath", "filePath, policy", "filePath"),
    "craft policy typo": Case(".craft.yml", "changelogPolicy: atuo\n", "changelogPolicy",
                              "one of none, simple, auto", "auto"),
    "craft access": Case(".craft.yml", "targets:\n  - name: npm\n    access: publc\n",
                         "targets[0].access", "one of public, restricted", "public"),
    "craft calver token": Case(".craft.yml", "versioning:\n  calver:\n    format: '%Q'\n",
                               "versioning.calver.format", "the tokens %Y"),
    "craft require names": Case(".craft.yml", "requireNames: ['/(/']\n", "requireNames[0]",
                                "regular expression"),
}


def _schema_patterns() -> list[str]:
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                found.append(node["pattern"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(SCHEMA.read_text(encoding="utf-8")))
    return found


def _check(tmp_path: Path, case: Case, capsys: pytest.CaptureFixture[str]) -> str:
    (tmp_path / case.file).write_text(case.text, encoding="utf-8")
    code = main(["config", "check", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == ConfigError.exit_code, captured.out
    return captured.err + captured.out


def test_there_are_at_least_25_cases() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_message_names_the_key_says_what_is_allowed_and_suggests(
        tmp_path: Path, case: Case, capsys: pytest.CaptureFixture[str]) -> None:
    out = _check(tmp_path, case, capsys)
    lines = [ln for ln in out.splitlines() if case.key in ln]
    # the key, as the user wrote it, starts the problem's sentence
    line = next((ln for ln in lines if re.search(rf"(^|[\s:-]){re.escape(case.key)}[ :]", ln)),
                None)
    assert line is not None, out
    assert "Allowed:" in line and case.allowed in line.split("Allowed:", 1)[1], line
    if case.meant is not None:
        assert f"did you mean {case.meant!r}?" in line, line
    else:
        assert "did you mean" not in line
    for phrase in JSONSCHEMA_WORDING:
        assert phrase not in out
    for pattern in _schema_patterns():
        assert pattern not in out
    assert "not support" not in out  # nothing here is a real craft name valet lacks


def test_every_problem_of_a_file_is_reported_at_once(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = ("changelogPolicy: auto\ncalver_format: '%Q'\n"
            "targets:\n  - name: pypy\n  - name: npm\n    registry: http://npm.example/\n")
    out = _check(tmp_path, Case(".valet.yml", text, "", ""), capsys)
    assert ".valet.yml has 2 problems:" in out  # the schema's first, then (once fixed) the rules
    assert "changelogPolicy is not a key" in out and "targets[0].name: 'pypy'" in out
    fixed = text.replace("changelogPolicy", "changelog_policy").replace("pypy", "pypi")
    out = _check(tmp_path, Case(".valet.yml", fixed, "", ""), capsys)
    assert ".valet.yml has 2 problems:" in out
    assert "calver_format:" in out and "targets[1].registry:" in out


def test_a_craft_name_valet_lacks_is_unsupported_not_a_typo(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _check(tmp_path, Case(".craft.yml", "targets:\n  - name: hex\n", "", ""), capsys)
    assert "does not support yet: target hex" in out and "did you mean" not in out


def test_missing_file_hint_names_the_flag_config_check_takes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", str(tmp_path), "--file", "nope.yml"]) == 3
    err = capsys.readouterr().err
    assert "--file" in err and "--config" not in err


@pytest.mark.parametrize(("source", "name"), [(".valet.yml", "include_names"),
                                              (".craft.yml", "includeNames")])
def test_hints_use_the_names_of_the_file_the_config_came_from(
        tmp_path: Path, source: str, name: str) -> None:
    from tests.unit.targets.ctx import make_ctx
    from valet.config import Config
    from valet.errors import TargetError
    from valet.targets import get_target

    for kind in ("pypi", "npm", "crates"):
        ctx = make_ctx(tmp_path, [], name=kind, config=Config(source=source))
        with pytest.raises(TargetError) as info:
            get_target(kind).preflight(ctx)
        assert (info.value.hint or "").endswith(f"this target's {name}")


def test_key_names_per_mode() -> None:
    from valet.config import Config

    valet, craft = Config(source=".valet.yml"), Config(source="pkg/.craft.yml")
    assert valet.key_name("require_names") == "require_names"
    assert craft.key_name("require_names") == "requireNames"
    assert craft.key_name("targets[2].exclude_names") == "targets[2].excludeNames"
    assert craft.key_name("calver_format") == "versioning.calver.format"
