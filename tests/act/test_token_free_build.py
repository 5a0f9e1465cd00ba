"""A hostile build cannot reach the release machinery's token (act, end to end).

The SDK's build is malicious (tests/act/data/hostile_probe.py, run as the second
`build` command by `valet build`): it searches every process's environment and
command line, the git configuration and credential helpers, and the runner's files
(the GITHUB_ENV directory, RUNNER_TEMP, the workspace) for anything shaped like a
GitHub token, and leaves a daemon behind that reads the environment and command line
of every new process for the rest of its job. It is never told the token: the test
compares what it found with the request App's token.

* The example release.yml (prepare, build without a token, request): the probe and
  the daemon find nothing, the release is still requested and published, and the
  approved digests are the digests of what the build wrote.
* The same probe in the one-job rehearsal workflow (`same-job-build: true`) finds the
  token — so the first result means something — and the step summary and the request
  issue say in words that the build ran where a token was reachable.

What act's host mode changes, and how the test stays honest about it:

* Every job runs on this one host, one after another, as children of one act
  process; on GitHub each job gets a fresh machine that is gone when the job ends.
  "The rest of the job" is therefore bounded by the daemon itself: it stops, without
  reading it, at the first process of another job (on GitHub that process would run
  on another machine), or when act ends. The test checks it did watch the rest of the
  build job (it saw the upload-artifact step's process) and stopped at the request job.
* act holds every secret of the run in its own memory and in its secret file, and
  does not enforce `environment:`: here every job could name the key. On GitHub the
  build job's runner never receives the request App's key, because only jobs that
  name the `release` environment get its secrets. The probe therefore reads what a
  job can read on a runner (environments, command lines, files of its own job), not
  act's process memory or its input files, which this host's root could read too.
"""

from __future__ import annotations

import json
import os
import select
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.act.world import APP_TOKEN_ACTION, World, world_fixture  # noqa: F401 - a fixture
from valet.issue_format import parse_issue

pytestmark = [pytest.mark.act, pytest.mark.sandbox, pytest.mark.adversarial]

HERE = Path(__file__).resolve().parent

REHEARSAL_YML = f"""\
name: rehearsal
on:
  workflow_dispatch:
    inputs:
      version: {{required: true}}
permissions: {{}}
jobs:
  release:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    steps:
      - id: app-token
        uses: {APP_TOKEN_ACTION}
        with:
          app-id: ${{{{ vars.REQUEST_APP_ID }}}}
          private-key: ${{{{ secrets.REQUEST_APP_PRIVATE_KEY }}}}
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683
        with:
          fetch-depth: 0
          persist-credentials: false
      - uses: actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065
      - id: prepare
        uses: OWNER/valet/action-prepare-release@v1
        with:
          version: ${{{{ inputs.version }}}}
          github-token: ${{{{ steps.app-token.outputs.token }}}}
          same-job-build: "true"
      - id: request
        uses: OWNER/valet/action-request-issue@v1
        with:
          github-token: ${{{{ steps.app-token.outputs.token }}}}
          publish-repo: ${{{{ github.repository_owner }}}}/publish
          prepared: ${{{{ steps.prepare.outputs.prepared }}}}
"""

WORLD_SDK_FILES = {
    ".valet.yml": ("build: [python build.py, python hostile_probe.py]\nartifacts: [dist/*]\n"
                   "targets:\n  - name: pypi\n  - name: npm\n  - name: github\n"),
    "hostile_probe.py": (HERE / "data" / "hostile_probe.py").read_text(),
    ".github/workflows/rehearsal.yml": REHEARSAL_YML,
}


def _run(world: World, workflow: str, version: str, reports: Path) -> Any:
    event = {"inputs": {"version": version}, "sender": {"login": world.requester[0]},
             "repository": {"full_name": world.sdk, "name": world.sdk.split("/")[1],
                            "owner": {"login": world.org}}}
    return world.act(world.sdk_dir, f".github/workflows/{workflow}", "workflow_dispatch", event,
                     secrets={"REQUEST_APP_PRIVATE_KEY": world.request_app[1]},
                     env={"HOSTILE_REPORT_DIR": str(reports)})


def _wait_gone(pid: int, timeout: float = 120) -> None:
    """Until the daemon has exited (it stops by itself; a pidfd says when)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            os.kill(pid, signal.SIGKILL)
            raise AssertionError(f"the hostile watcher {pid} did not stop by itself")
    finally:
        os.close(fd)


def _reports(reports: Path, job: str) -> tuple[dict[str, Any], dict[str, Any]]:
    probe = json.loads((reports / f"probe-{job}.json").read_text())
    _wait_gone(int(probe["watcher_pid"]))
    watcher = json.loads((reports / f"watcher-{job}.json").read_text())
    return probe, watcher


def _tokens(found: list[dict[str, str]], *tokens: str) -> list[str]:
    """Where the probe found one of ``tokens`` (the Apps' tokens, which it never saw)."""
    return sorted({f["where"] for f in found if any(t in f["value"] for t in tokens)})


def _record_issue(world: World, version: str) -> Any:
    title = f"publish: {world.sdk}@{version}"
    (issue,) = [i for i in world.gh().get_repo(world.publish).get_issues(state="open")
                if i.title == title]
    world.issues[version] = issue.number
    return issue


def test_a_hostile_build_finds_no_token_and_the_release_still_completes(world: World) -> None:
    # (the registries are shared with the other act modules: a version of its own)
    v = "7.0.0"
    reports = world.work / "hostile-three-jobs"
    result = _run(world, "release.yml", v, reports)
    assert result.ok, result.describe()
    assert result.jobs == {"prepare": "success", "build": "success", "request": "success"}
    probe, watcher = _reports(reports, "build")

    # It really searched: many processes, the runner's files, the git config.
    assert probe["processes"] > 10 and probe["files"] > 5 and probe["git_config_lines"] > 0
    assert {Path(p).name for p in probe["runner_files"]} >= {"envs.txt"} or \
        len(probe["runner_files"]) >= 3
    tokens = (world.request_app[1], world.app_token)
    assert _tokens(probe["found"], *tokens) == []
    # The daemon watched the rest of the build job (the upload step's node process) and
    # stopped at the first process of the request job, unread.
    ours = [o for o in watcher["observed"] if o["ours"]]
    assert any("upload" in o["cmd"] for o in ours), watcher["observed"]
    assert {o["job"] for o in ours} <= {"build", ""}
    assert watcher["stopped"] == "job request started"
    assert _tokens(watcher["found"], *tokens) == []

    # The release still completes, and what was approved is what the build wrote.
    issue = _record_issue(world, v)
    request = parse_issue(issue.title, issue.body)
    assert request.build == "isolated"
    # the release.yml run, as the sandbox recorded it: publish reads its requester there
    run = world.gh().get_repo(world.sdk).get_workflow_run(request.run_id)
    assert run.triggering_actor.login == world.requester[0]
    assert "token was reachable" not in issue.body
    assert world.manifest(v) == probe["built"]
    world.set_ci(v, "completed", "success")
    published = world.label(v, world.approver)
    assert published.ok, published.describe()
    assert world.labels(v) == {"published"}
    pypi = world.pypi_digests()
    for name, digest in probe["built"].items():
        if name.endswith((".whl", ".tar.gz")):
            assert pypi[name] == digest
    npm = [d for n, d in probe["built"].items() if n.endswith(".tgz")]
    assert [world.npm_tarball_sha256(v)] == npm


def test_the_same_probe_finds_the_token_when_the_build_shares_the_job(world: World) -> None:
    """The one-job rehearsal: the probe is not blind, and the request says so."""
    v = "7.1.0"
    reports = world.work / "hostile-one-job"
    result = _run(world, "rehearsal.yml", v, reports)
    assert result.ok, result.describe()
    probe, watcher = _reports(reports, "release")
    where = _tokens(probe["found"], world.request_app[1])
    assert any(w.startswith("/proc/") for w in where), probe["found"]
    # the daemon, left in the same job, reads the request step's token too
    assert _tokens(watcher["found"], world.request_app[1])
    assert watcher["stopped"] == "act ended"

    issue = _record_issue(world, v)
    assert parse_issue(issue.title, issue.body).build == "same-job"
    assert "The build ran where a token was reachable" in issue.body
    summaries = "\n".join(md for _step, md in result.summaries)
    assert "The build ran in the same job as the token" in summaries
    assert "built in the same job as the token" in summaries
