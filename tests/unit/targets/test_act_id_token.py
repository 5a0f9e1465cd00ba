"""act runs model GitHub's rule: only a job with `id-token: write` can request an ID token."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from valet.errors import SandboxError
from valet.sandbox.act_runner import grants_id_token

ROOT = Path(__file__).resolve().parents[3]


def _wf(text: str) -> dict:
    return yaml.safe_load(text)


@pytest.mark.parametrize(("text", "job", "granted"), [
    ("permissions: {}\njobs:\n  a: {permissions: {id-token: write}}\n", None, True),
    ("permissions: {id-token: write}\njobs:\n  a: {runs-on: x}\n", None, True),
    # a job's own permissions replace the workflow's
    ("permissions: {id-token: write}\njobs:\n  a: {permissions: {issues: write}}\n", None, False),
    ("permissions: write-all\njobs:\n  a: {runs-on: x}\n", None, True),
    ("jobs:\n  a: {runs-on: x}\n", None, False),  # the default token never has it
    ("jobs:\n  a: {permissions: {id-token: read}}\n", None, False),
    ("jobs:\n  a: {permissions: {id-token: write}}\n  b: {permissions: {}}\n", "b", False),
    ("jobs:\n  a: {permissions: {id-token: write}}\n  b: {permissions: {}}\n", "a", True),
])
def test_grants_id_token(text: str, job: str | None, granted: bool) -> None:
    assert grants_id_token(_wf(text), job) is granted


def test_jobs_that_disagree_must_be_run_one_at_a_time() -> None:
    with pytest.raises(SandboxError) as info:
        grants_id_token(_wf("jobs:\n  a: {permissions: {id-token: write}}\n  b: {}\n"))
    assert "job" in str(info.value.hint)


def test_the_example_workflows_grant_it_to_the_publish_job_only() -> None:
    publish = _wf((ROOT / "examples/publish-repo/.github/workflows/publish.yml").read_text())
    assert publish["permissions"] == {}
    assert grants_id_token(publish, "publish")
    release = _wf((ROOT / "examples/sdk-repo/.github/workflows/release.yml").read_text())
    for job in release["jobs"]:
        assert not grants_id_token(release, job), job
