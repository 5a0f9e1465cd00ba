"""The act harness end to end: a real `issues`/`labeled` payload drives a workflow with a
local composite action against the sandbox, and the sandbox's state shows what it did."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

import valet
from tests.fixtures.act import default_local_actions
from valet.sandbox.registries import REPO_ROOT
from valet.sandbox.webhooks import issue_event

pytestmark = [pytest.mark.act, pytest.mark.sandbox]

WORKFLOW = textwrap.dedent("""\
    name: on-label
    on:
      issues:
        types: [labeled]
    permissions: {}
    jobs:
      ack:
        if: github.event.label.name == 'accepted'
        runs-on: ubuntu-latest
        steps:
          - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
          - id: version
            uses: acme-tools/helpers/valet-version@v1
          - id: ack
            uses: ./.github/actions/ack
            with:
              token: ${{ secrets.GITHUB_TOKEN }}
              issue: ${{ github.event.issue.number }}
              label: ${{ github.event.label.name }}
              note: ${{ steps.version.outputs.version }}
    """)

# Inputs reach the script through env only; the JSON body is built by Python, so
# nothing from the event is ever parsed by the shell.
ACK_ACTION = textwrap.dedent("""\
    name: ack
    description: Comment on the issue and label it `acked`.
    inputs:
      token: {description: API token, required: true}
      issue: {description: issue number, required: true}
      label: {description: the label that was added, required: true}
      note: {description: free text, required: false, default: ""}
    outputs:
      comment-id:
        description: id of the comment
        value: ${{ steps.post.outputs.comment-id }}
    runs:
      using: composite
      steps:
        - id: post
          shell: bash
          env:
            TOKEN: ${{ inputs.token }}
            ISSUE: ${{ inputs.issue }}
            LABEL: ${{ inputs.label }}
            NOTE: ${{ inputs.note }}
          run: |
            set -euo pipefail
            api="$GITHUB_API_URL/repos/$GITHUB_REPOSITORY/issues/$ISSUE"
            "$VALET_RUNTIME/bin/python" -c 'import json, os; print(json.dumps({"body": "acked " + os.environ["LABEL"] + " with " + os.environ["NOTE"]}))' > body.json
            curl -sS --fail-with-body -X POST -H "Authorization: Bearer $TOKEN" \\
              -H "Content-Type: application/json" --data @body.json "$api/comments" > comment.json
            curl -sS --fail-with-body -X POST -H "Authorization: Bearer $TOKEN" \\
              -H "Content-Type: application/json" --data '{"labels": ["acked"]}' "$api/labels" > /dev/null
            id="$("$VALET_RUNTIME/bin/python" -c 'import json; print(json.load(open("comment.json"))["id"])')"
            echo "comment-id=$id" >> "$GITHUB_OUTPUT"
            rm -f body.json comment.json
    """)

# The same layout as valet's own actions: the action sits one level below the repo
# root and runs ../scripts/setup-runtime.sh first.
VERSION_ACTION = textwrap.dedent("""\
    name: valet-version
    description: Set up the valet runtime and report its version.
    outputs:
      version:
        description: valet --version
        value: ${{ steps.v.outputs.version }}
    runs:
      using: composite
      steps:
        - shell: bash
          run: '"$GITHUB_ACTION_PATH/../scripts/setup-runtime.sh"'
        - id: v
          shell: bash
          run: echo "version=$("$VALET_BIN" --version)" >> "$GITHUB_OUTPUT"
    """)


@pytest.fixture
def helpers_repo(tmp_path: Path) -> Path:
    root = tmp_path / "helpers"
    (root / "valet-version").mkdir(parents=True)
    (root / "valet-version" / "action.yml").write_text(VERSION_ACTION)
    (root / "scripts").mkdir()
    shutil.copy2(REPO_ROOT / "scripts" / "setup-runtime.sh", root / "scripts")
    return root


def _get(sandbox: Any, token: str, path: str) -> Any:
    resp = requests.get(f"{sandbox.api_url}{path}", timeout=30,
                        headers={"Authorization": f"Bearer {token}"})
    resp.raise_for_status()
    return resp.json()


def _labeled_payload(sandbox: Any, repo: Any, approver: Any, number: int,
                     label: str) -> dict[str, Any]:
    return issue_event(
        "labeled",
        repo=_get(sandbox, repo.token, f"/repos/{repo.full_name}"),
        issue=_get(sandbox, repo.token, f"/repos/{repo.full_name}/issues/{number}"),
        sender=_get(sandbox, repo.token, f"/users/{approver.login}"),
        label=_get(sandbox, repo.token, f"/repos/{repo.full_name}/labels/{label}"),
    )


@pytest.fixture
def labeled_issue(sandbox: Any, gh_repo_factory: Callable[..., Any],
                  sandbox_user_factory: Callable[..., Any]) -> Callable[[str], Any]:
    """make(label) -> (repo, approver, issue number): an issue labelled by an approver."""

    def make(label: str) -> Any:
        repo = gh_repo_factory({".github/workflows/on-label.yml": WORKFLOW,
                                ".github/actions/ack/action.yml": ACK_ACTION,
                                "README.md": "act harness\n"}, prefix="harness")
        approver = sandbox_user_factory("approver")
        sandbox.admin.set_permission(repo.full_name, approver.login, "maintain")
        gh_repo = repo.gh()
        issue = gh_repo.create_issue(title="publish: acme/sdk@1.2.3", body="please")
        gh_repo.create_label(label, "0e8a16")
        repo.gh(approver.token).get_issue(issue.number).add_to_labels(label)
        return repo, approver, issue.number

    return make


def test_labeled_webhook_drives_a_local_composite_action(
        sandbox: Any, act_run: Callable[..., Any], labeled_issue: Callable[[str], Any],
        helpers_repo: Path, tmp_path: Path) -> None:
    repo, approver, number = labeled_issue("accepted")
    event = _labeled_payload(sandbox, repo, approver, number, "accepted")
    actions = {**default_local_actions(tmp_path / "stubs"), "acme-tools/helpers@v1": helpers_repo}

    result = act_run(repo, ".github/workflows/on-label.yml", "issues", event,
                     local_actions=actions)

    assert result.jobs == {"ack": "success"}, result.describe()
    issue = repo.gh().get_issue(number)
    comments = list(issue.get_comments())
    assert [c.body for c in comments] == [f"acked accepted with valet {valet.__version__}"]
    assert comments[0].user.login == repo.owner  # the token the workflow was given
    assert result.output("ack", "comment-id") == str(comments[0].id)
    assert {label.name for label in issue.labels} == {"accepted", "acked"}
    # The token is a secret: act's log and our copy of it never show it.
    assert repo.token not in result.stdout


def test_other_label_skips_the_job(
        sandbox: Any, act_run: Callable[..., Any], labeled_issue: Callable[[str], Any],
        helpers_repo: Path, tmp_path: Path) -> None:
    repo, approver, number = labeled_issue("documentation")
    event = _labeled_payload(sandbox, repo, approver, number, "documentation")
    actions = {**default_local_actions(tmp_path / "stubs"), "acme-tools/helpers@v1": helpers_repo}

    result = act_run(repo, ".github/workflows/on-label.yml", "issues", event,
                     local_actions=actions)

    assert result.jobs.get("ack") != "success", result.describe()
    assert not [s for s in result.steps if s.step == "ack"], result.describe()
    issue = repo.gh().get_issue(number)
    assert list(issue.get_comments()) == []
    assert {label.name for label in issue.labels} == {"documentation"}


def test_environment_act_gives_the_steps(
        sandbox: Any, act_run: Callable[..., Any], gh_repo_factory: Callable[..., Any],
        sandbox_user_factory: Callable[..., Any]) -> None:
    workflow = textwrap.dedent("""\
        on: workflow_dispatch
        jobs:
          env:
            runs-on: ubuntu-latest
            steps:
              - id: e
                run: |
                  for v in GITHUB_REPOSITORY GITHUB_API_URL GITHUB_SERVER_URL GITHUB_ACTOR \\
                           GITHUB_EVENT_NAME VALET_RUNTIME; do
                    echo "$(echo "$v" | tr A-Z_ a-z-)=${!v}" >> "$GITHUB_OUTPUT"
                  done
                  test -d "$RUNNER_TEMP"
        """)
    repo = gh_repo_factory({".github/workflows/env.yml": workflow}, prefix="harness-env")
    sender = sandbox_user_factory("dispatcher")
    event = {"inputs": {}, "sender": {"login": sender.login}}

    result = act_run(repo, ".github/workflows/env.yml", "workflow_dispatch", event)

    out = result.outputs["e"]
    assert out["github-repository"] == repo.full_name
    assert out["github-api-url"] == sandbox.api_url
    assert out["github-server-url"] == sandbox.server_url
    assert out["github-actor"] == sender.login
    assert out["github-event-name"] == "workflow_dispatch"
    assert Path(out["valet-runtime"], "bin", "valet").exists()


def test_each_run_is_recorded_as_github_records_it_and_a_rerun_keeps_its_id(
        sandbox: Any, act_run: Callable[..., Any], gh_repo_factory: Callable[..., Any],
        sandbox_user_factory: Callable[..., Any]) -> None:
    workflow = textwrap.dedent("""\
        on: workflow_dispatch
        jobs:
          id:
            runs-on: ubuntu-latest
            steps:
              - id: r
                run: echo "run=$GITHUB_RUN_ID/$GITHUB_RUN_ATTEMPT" >> "$GITHUB_OUTPUT"
        """)
    repo = gh_repo_factory({".github/workflows/release.yml": workflow}, prefix="harness-runs")
    dana, morgan = sandbox_user_factory("dana"), sandbox_user_factory("morgan")

    first = act_run(repo, ".github/workflows/release.yml", "workflow_dispatch",
                    {"inputs": {}, "sender": {"login": dana.login}})
    run_id, attempt = first.outputs["r"]["run"].split("/")
    assert attempt == "1" and run_id != "1"  # not act's fixed id: the sandbox's record
    run = repo.gh().get_workflow_run(int(run_id)).raw_data
    assert (run["path"], run["event"], run["status"], run["conclusion"]) == (
        ".github/workflows/release.yml", "workflow_dispatch", "completed", "success")
    assert run["head_sha"] == repo.gh().get_branch("main").commit.sha
    assert run["triggering_actor"]["login"] == run["actor"]["login"] == dana.login
    assert run["repository"]["full_name"] == repo.full_name

    again = act_run(repo, ".github/workflows/release.yml", "workflow_dispatch",
                    {"inputs": {}, "sender": {"login": morgan.login}}, rerun_of=int(run_id))
    assert again.outputs["r"]["run"] == f"{run_id}/2"
    rerun = repo.gh().get_workflow_run(int(run_id)).raw_data
    assert (rerun["actor"]["login"], rerun["triggering_actor"]["login"]) == (dana.login,
                                                                             morgan.login)
