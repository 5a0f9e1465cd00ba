"""The release workflow to copy when CI builds the files: its jobs and what each may hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
WORKFLOW = ROOT / "examples/sdk-repo/.github/workflows/release-from-ci.yml"


def _load() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads `on:` as True
    return data  # type: ignore[no-any-return]


def _uses(job: dict[str, Any], action: str) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith(action)]
    return step


def test_bump_prepare_request_and_only_the_token_jobs_name_the_environment() -> None:
    wf = _load()
    assert list(wf["on"]) == ["workflow_dispatch"]  # no workflow_run: zizmor's dangerous trigger
    assert wf["permissions"] == {}
    jobs = wf["jobs"]
    assert list(jobs) == ["bump", "prepare", "request"]
    assert jobs["prepare"]["needs"] == "bump" and jobs["request"]["needs"] == "prepare"
    assert "environment" not in jobs["bump"]
    assert "secrets." not in yaml.safe_dump(jobs["bump"])
    assert jobs["prepare"]["environment"] == jobs["request"]["environment"] == "release"
    assert not any("run" in s for job in jobs.values() for s in job["steps"])


def test_the_request_job_reads_ci_and_waits_within_its_own_timeout() -> None:
    request = _load()["jobs"]["request"]
    token = _uses(request, "actions/create-github-app-token@")["with"]
    assert token["permission-actions"] == "read"
    assert token["permission-contents"] == "write" and token["permission-issues"] == "write"
    # the same token as release.yml's request job, which fills the draft release too
    release = yaml.safe_load((ROOT / "examples/sdk-repo/.github/workflows/release.yml")
                             .read_text(encoding="utf-8"))["jobs"]["request"]
    theirs = _uses(release, "actions/create-github-app-token@")["with"]
    assert {k: v for k, v in token.items() if k != "permission-actions"} == theirs
    ask = _uses(request, "OWNER/valet/action-request-issue@")["with"]
    assert "artifacts-dir" not in ask  # the files come from CI
    assert int(request["timeout-minutes"]) > int(ask["ci-timeout-minutes"])
    assert not any("download-artifact" in str(s.get("uses")) or "checkout" in str(s.get("uses"))
                   for s in request["steps"])
