"""publish.yml's concurrency group holds only the runs that publish: it sits on the job,
after the job's `if:` (a skipped job never enters its group on GitHub), never on the
workflow (where every run, even one that does nothing, enters it and can cancel the
pending `accepted` run)."""

from __future__ import annotations

from pathlib import Path

import yaml

PUBLISH_YML = (Path(__file__).resolve().parents[3]
               / "examples/publish-repo/.github/workflows/publish.yml")


def test_publish_yml_concurrency_is_on_the_job_after_its_if() -> None:
    workflow = yaml.safe_load(PUBLISH_YML.read_text())
    assert "concurrency" not in workflow
    job = workflow["jobs"]["publish"]
    keys = list(job)
    assert keys.index("if") < keys.index("concurrency")
    # the issue's own group for its approval's run and for the run a sweep starts for it
    # (tests/unit/publish/test_concurrency_group.py evaluates it)
    assert job["concurrency"] == {
        "group": "publish-${{ github.event.issue.number || github.event.inputs.issue || 'sweep' }}",
        "cancel-in-progress": False}
