"""action-request-issue/action.yml follows the composite pattern: inputs only through env."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from valet.commands.request import OPTIONS

ACTION = Path(__file__).resolve().parents[3] / "action-request-issue" / "action.yml"


def load() -> dict:
    return yaml.safe_load(ACTION.read_text())


def test_every_input_is_kebab_case_described_and_passed_through_env() -> None:
    action = load()
    env = action["runs"]["steps"][1]["env"]
    for name, spec in action["inputs"].items():
        assert name == name.lower() and "_" not in name
        assert spec.get("description")
        assert env[f"INPUT_{name.upper().replace('-', '_')}"] == f"${{{{ inputs.{name} }}}}"


def test_no_expression_inside_run() -> None:
    for step in load()["runs"]["steps"]:
        assert "${{" not in step["run"]


def test_inputs_match_the_command_options_and_outputs_come_from_the_run_step() -> None:
    action = load()
    cli = {name for name, _ in OPTIONS} - {"repo", "requested-by"}
    assert cli | {"github-token", "prepared", "force", "dry-run"} == set(action["inputs"])
    assert {k: v["value"] for k, v in action["outputs"].items()} == {
        "issue-number": "${{ steps.run.outputs.issue-number }}",
        "issue-url": "${{ steps.run.outputs.issue-url }}",
        "release-id": "${{ steps.run.outputs.release-id }}",
        "seal": "${{ steps.run.outputs.seal }}",
    }


ALL_ACTIONS = sorted(Path(__file__).resolve().parents[3].glob("action-*/**/action.yml"))


@pytest.mark.parametrize("path", ALL_ACTIONS, ids=lambda p: p.parent.name)
def test_every_action_passes_inputs_through_env_and_calls_valet_not_path(path: Path) -> None:
    """Inputs only through env, and "$VALET_BIN": valet's runtime is never put on PATH
    (the project's build must find the job's own Python, not valet's venv)."""
    action = yaml.safe_load(path.read_text())
    steps = action["runs"]["steps"]
    env = steps[-1].get("env", {})
    for name in action.get("inputs") or {}:
        assert env[f"INPUT_{name.upper().replace('-', '_')}"] == f"${{{{ inputs.{name} }}}}"
    for step in steps:
        assert "${{" not in step["run"]
    assert steps[-1]["run"].startswith('"$VALET_BIN" ')
    assert "setup-runtime.sh" in steps[0]["run"]


def test_token_free_actions_take_no_token() -> None:
    for sub in ("build", "bump"):
        action = yaml.safe_load((ACTION.parents[1] / "action-prepare-release" / sub /
                                 "action.yml").read_text())
        assert not [name for name in action["inputs"] if "token" in name]
