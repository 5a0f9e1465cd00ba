"""Two runs that could both publish one thing, and a release that could not land.

- The sweep and an approval: a request waits in ci-pending, its CI turns green,
  the scheduled sweep runs while a release engineer adds `accepted` again. The
  sweep publishes nothing itself: it starts the issue's own run (a
  workflow_dispatch with the issue number, which publish.yml puts in the issue's
  concurrency group, the group the approval's run is in; see
  tests/unit/publish/test_concurrency_group.py). GitHub runs the two one after the
  other, in either order: the release is published exactly once.
- Two releases of one repository cut from the same main: the first publishes and
  merges; the second would not merge (both changed the changelog), and is
  refused before anything of it is uploaded.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.fault.world import FaultWorld, Release

pytestmark = [pytest.mark.fault, pytest.mark.sandbox]

WORKFLOW = Path(__file__).resolve().parents[2] / "examples/publish-repo/.github/workflows/publish.yml"
OWN_RUN = {"GITHUB_WORKFLOW_REF": "{repo}/.github/workflows/publish.yml@refs/heads/main",
           "GITHUB_REF": "refs/heads/main"}


def _run(world: FaultWorld, name: str, payload: dict[str, Any]) -> int:
    from valet.cli import main

    path = world.work / "events" / f"{name}-{uuid.uuid4().hex[:6]}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload))
    env = {k: v.format(repo=world.publish) for k, v in OWN_RUN.items()}
    with world.patched({"GITHUB_EVENT_NAME": name, "GITHUB_EVENT_PATH": str(path), **env}):
        return main(["publish"])


def _sweep(world: FaultWorld) -> int:
    return _run(world, "schedule", {"schedule": "*/15 * * * *",
                                    "repository": {"full_name": world.publish}})


def _its_run(world: FaultWorld, number: int) -> int:
    return _run(world, "workflow_dispatch", {"inputs": {"issue": str(number)},
                                             "repository": {"full_name": world.publish}})


def _with_publish_yml(world: FaultWorld) -> None:
    repo = world.gh().get_repo(world.publish)
    try:
        repo.get_contents(".github/workflows/publish.yml")
    except Exception:  # noqa: BLE001 - absent: add it (the world is shared by the cases)
        repo.create_file(".github/workflows/publish.yml", "publish workflow",
                         WORKFLOW.read_text())


def _dispatched(world: FaultWorld, since: int) -> list[dict[str, Any]]:
    runs = world.gh().get_repo(world.publish).get_workflow_runs(event="workflow_dispatch")
    return [r.raw_data for r in runs if r.id > since]


def _waiting(world: FaultWorld) -> Release:
    rel = world.new_release()
    world.sb.admin.set_ci(rel.sdk, rel.sha, check_runs=[{"name": "lint", "status": "in_progress"}])
    assert world.run_publish(world.approve(rel)) == 0
    assert {"accepted", "ci-pending"} <= world.labels(rel)
    return rel


@pytest.mark.parametrize("first", ["approval", "sweep's run"])
def test_a_sweep_racing_an_approval_publishes_once(world: FaultWorld, fault_row,
                                                   first: str) -> None:
    _with_publish_yml(world)
    rel = _waiting(world)
    assert _sweep(world) == 0  # CI still running: it only records what it saw
    world.sb.admin.set_ci(rel.sdk, rel.sha, check_runs=[
        {"name": "lint", "status": "completed", "conclusion": "success"}])
    known = max([r["id"] for r in _dispatched(world, 0)], default=0)
    mark = len(world.sb.admin.request_log())
    assert _sweep(world) == 0
    sweep_log = world.sb.admin.request_log()[mark:]
    started = _dispatched(world, known)
    assert [r["event"] for r in started] == ["workflow_dispatch"]
    assert world.pypi_uploads(rel) == 0 and world.npm_uploads(rel) == 0
    assert not any(e["method"] in ("PATCH", "POST") and f"/repos/{rel.sdk}/" in e["path"]
                   for e in sweep_log), "the sweep acted on the SDK repository"
    # The approver adds `accepted` again meanwhile; GitHub runs the two runs of the
    # issue's group one after the other.
    approval = world.approve(rel)
    runs = [lambda: world.run_publish(approval), lambda: _its_run(world, rel.number)]
    if first != "approval":
        runs.reverse()
    assert [run() for run in runs] == [0, 0]
    assert world.check(rel) == [], [world.last_comment(rel), world.labels(rel)]  # published once: every upload counted at the proxies
    fault_row("sweep races an approval", f"{first} runs first",
              "the sweep started the issue's run; published once")


def test_two_releases_cut_from_one_main_the_second_is_refused_before_any_upload(
        world: FaultWorld, fault_row) -> None:
    first = world.new_release(shared="CHANGELOG.md")
    second = world.new_release(shared="CHANGELOG.md")  # cut before the first merged
    assert world.run_publish(world.approve(first)) == 0
    assert world.check(first) == []
    second.marks = {"pypi": len(world.pypi.entries()), "npm": len(world.npm.entries())}
    code = world.run_publish(world.approve(second))
    assert code == 20, world.last_comment(second)
    assert world.pypi_uploads(second) == 0 and world.npm_uploads(second) == 0
    (draft,) = world.releases(second)
    assert draft.draft  # nothing public
    assert "failed" in world.labels(second) and "CHANGELOG.md" in world.last_comment(second)
    fault_row("two releases cut from one main", "the second, after the first merged",
              "refused before any upload (the merge would conflict)")
