"""action-request-issue/action.yml follows the composite pattern: inputs only through env."""

from __future__ import annotations

from pathlib import Path

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
    assert cli | {"github-token", "force", "dry-run"} == set(action["inputs"])
    assert {k: v["value"] for k, v in action["outputs"].items()} == {
        "issue-number": "${{ steps.run.outputs.issue-number }}",
        "issue-url": "${{ steps.run.outputs.issue-url }}",
    }
