"""`valet config check` prints the normalized config or fails with the config exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from valet.cli import main

CORPUS = Path(__file__).parent / "fixtures" / "craft"


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".craft.yml").write_text((CORPUS / "getsentry__dotagents.craft.yml").read_text())
    assert main(["config", "check", str(tmp_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(t["name"], t["id"]) for t in data["targets"]] == [
        ("npm", "@sentry/dotagents-lib"), ("npm", "@sentry/dotagents"), ("github", None)]
    assert data["changelog"] == {"policy": "auto", "file": "CHANGELOG.md"}
    assert data["versioning"]["policy"] == "manual"
    assert data["release_branch_prefix"] == "release"
    assert data["artifact_store"]["kind"] == "workflow-artifacts"


def test_text_output_with_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pkg = tmp_path / "packages" / "a"
    pkg.mkdir(parents=True)
    (pkg / ".valet.yml").write_text("targets:\n  - name: npm\n    id: '@s/a'\n"
                                    "changelog_policy: simple\ntag_prefix: v\n")
    assert main(["config", "check", str(tmp_path), "--path", "packages/a"]) == 0
    out = capsys.readouterr().out
    assert "config: packages/a/.valet.yml (project path: packages/a)" in out
    assert "  - npm[@s/a]" in out
    assert "changelog: simple (CHANGELOG.md)" in out
    assert "tag: v<version>" in out


def test_unsupported_craft_config_exits_with_the_config_code(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".craft.yml").write_text((CORPUS / "getsentry__sentry-elixir.craft.yml").read_text())
    assert main(["config", "check", str(tmp_path)]) == 3
    captured = capsys.readouterr()
    assert "target hex" in captured.out + captured.err


def test_missing_action_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["config"]) == 2
