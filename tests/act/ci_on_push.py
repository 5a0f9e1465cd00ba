"""GitHub Actions' push trigger for the act tests: a push to a release branch runs the SDK's CI.

On GitHub, the prepare job's push of the release branch starts the SDK's own CI
workflow on the release commit; that run uploads workflow artifacts, and its jobs
appear as check runs of the commit. Here:

* the sandbox tells us about the push (``App.on_push``, after git's receive-pack);
* a thread of ours clones the pushed commit and runs the CI workflow with act on it,
  with a ``push`` event for that branch, recorded in the sandbox as a workflow run of
  that commit (``admin.create_run``) whose id act gets as ``GITHUB_RUN_ID``;
* the workflow's ``actions/upload-artifact`` (the stand-in, on the real
  ``@actions/artifact`` library) uploads to act's artifact server, keyed by that run
  id; when act ends, each artifact's zip, byte for byte as act stored it, becomes an
  artifact of that run in the sandbox (``GET /actions/runs/{id}/artifacts``, the zip
  behind a 302), then each job becomes a check run of the commit, and the run is
  marked completed with act's result.

What differs from GitHub: the artifacts become visible when the run ends rather than
when each upload ends. The run is in the sandbox's list from the push on, and CI starts
only once the request job has asked for the commit's runs and seen it ``in_progress``
(``hold_until_polled``; the sandbox logs each request before answering it): under act
the jobs before the request job take seconds, less than a real project's CI, so without
the hold the request job would find CI done and never wait.
"""

from __future__ import annotations

import queue
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.act.world import World, git


@dataclass
class CiRun:
    ref: str
    sha: str
    run_id: int
    result: Any  # ActResult
    artifacts: dict[str, bytes]  # name -> zip, as uploaded


@dataclass
class CiOnPush:
    """Runs ``workflow`` (named ``name``) of the SDK repo for every push to ``prefix``*."""

    world: World
    workflow: str = ".github/workflows/ci.yml"
    name: str = "CI"
    prefix: str = "refs/heads/release/"
    hold_until_polled: bool = True  # start CI once the request job has seen its run going
    runs: list[CiRun] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    _queue: queue.Queue[tuple[str, str] | None] = field(default_factory=queue.Queue)

    def __enter__(self) -> CiOnPush:
        self._remove = self.world.sb.app.on_push(self._pushed)
        self._thread = threading.Thread(target=self._work, name="ci-on-push", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._remove()
        self._queue.put(None)
        self._thread.join(timeout=600)
        assert not self._thread.is_alive(), "the CI thread did not end"

    def _pushed(self, full_name: str, updates: list[tuple[str, str | None, str | None]]) -> None:
        if full_name.lower() != self.world.sdk.lower():
            return
        for ref, _old, new in updates:
            if new and ref.startswith(self.prefix):
                self._queue.put((ref, new))

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                self.runs.append(self._run(*item))
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                self.errors.append(exc)

    def _run(self, ref: str, sha: str) -> CiRun:
        w = self.world
        admin = w.sb.admin
        branch = ref.removeprefix("refs/heads/")
        app = w.sb.app
        mark = app.log_length()
        # GitHub records the run when the push arrives, before any runner picks it up.
        run = admin.create_run(w.sdk, path=self.workflow, event="push", actor=w.requester[0],
                               head_sha=sha, head_branch=branch, name=self.name)
        checkout = w.work / f"ci-{uuid.uuid4().hex[:8]}"
        git(w.work, "clone", "-q", w.sb.git_url(w.sdk), str(checkout))
        git(checkout, "checkout", "-q", "-B", branch, sha)
        if self.hold_until_polled:
            # CI of a real project takes longer than the jobs before the request job: let
            # the request job see this run in progress once (it then waits for it).
            app.wait_for_request(
                lambda e: e["method"] == "GET" and e["status"] == 200
                and e["path"] == f"/repos/{w.sdk}/actions/runs" and f"head_sha={sha}" in e["query"],
                after=mark, timeout=300)
        # No `sender`: the act runner would record a run of its own, and mark it completed
        # when act exits, before the artifacts are the run's. This run is ours (above).
        event = {"ref": ref, "after": sha, "before": "0" * 40,
                 "repository": {"full_name": w.sdk, "name": w.sdk.split("/")[1],
                                "owner": {"login": w.org}, "default_branch": "main"},
                 "pusher": {"name": w.requester[0]}}
        work = w.work / f"act-ci-{run['id']}"
        result = w.act(checkout, self.workflow, "push", event, secrets={},
                       env={"GITHUB_RUN_ID": str(run["id"])}, work_dir=work)
        uploaded: dict[str, bytes] = {}
        store = work / "artifacts" / str(run["id"])
        for folder in sorted(store.iterdir()) if store.is_dir() else []:
            data = (folder / f"{folder.name}.zip").read_bytes()
            admin.add_workflow_artifact(w.sdk, folder.name, run_id=int(run["id"]),
                                        zip_data=data)
            uploaded[folder.name] = data
        conclusion = "success" if result.ok else "failure"
        admin.set_ci(w.sdk, sha, check_runs=[
            {"name": job, "status": "completed",
             "conclusion": "success" if state == "success" else "failure"}
            for job, state in (result.jobs or {"ci": conclusion}).items()])
        admin.finish_run(w.sdk, int(run["id"]), conclusion)
        return CiRun(ref, sha, int(run["id"]), result, uploaded)

