"""An unprotected merge target is refused end to end: act + the sandbox + the registries.

The SDK's merge target decides, through its configuration, which targets get the
registry tokens and where they upload; publish.yml must refuse a release whose
merge target is not a protected branch, before reading that configuration. One
module-scoped world (tests/act/world.py), whose seeding protects main; this test
lifts that protection and puts it back.
"""

from __future__ import annotations

import importlib.util

import pytest

from tests.act.world import World, world_fixture  # noqa: F401 - a fixture

pytestmark = [pytest.mark.act, pytest.mark.sandbox, pytest.mark.adversarial]

_MISSING = [m for m in ("issues", "ci", "releases", "access")
            if importlib.util.find_spec(f"valet.sandbox.routes.{m}") is None]
if _MISSING:
    pytest.skip(f"the sandbox has no {', '.join(_MISSING)} routes yet", allow_module_level=True)


def test_an_unprotected_merge_target_is_refused_and_nothing_is_published(world: World) -> None:
    v = "3.0.0"
    world.release(v)
    world.set_ci(v, "completed", "success")  # everything else would let it through
    world.sb.admin.protect_branch(world.sdk, "main", protected=False)
    try:
        world.sb.admin.clear_request_log()
        result = world.label(v, world.approver)
        log = world.sb.admin.request_log()
    finally:
        world.sb.admin.protect_branch(world.sdk, "main", bypass=[f"publish-{world.org}"])
    assert result.ok, result.describe()  # a refusal is the run doing its job: exit 0
    assert "accepted" not in world.labels(v) and world.issue(v).state == "open"
    refusal = world.comments(v)[-1]
    assert "refused" in refusal and "not a protected branch" in refusal
    assert "main is not protected" in refusal
    assert "allow-unprotected-merge-target" in refusal
    # one look at the branch's rules (GitHub's "Branch not protected" answers for a branch
    # that exists), then nothing read from it and nothing sent anywhere
    sdk_paths = [e["path"] for e in log if e["path"].startswith(f"/repos/{world.sdk}/")]
    assert f"/repos/{world.sdk}/branches/main/protection" in sdk_paths
    assert not any("/contents/" in p or p.endswith("/merges") for p in sdk_paths)
    assert not any(n.startswith(f"{world.dist}-{v}") for n in world.pypi_digests())
    assert world.npm_tarball_sha256(v) is None
    assert world.release_of(v).draft
    assert f"release/{v}" in {b.name for b in world.gh().get_repo(world.sdk).get_branches()}
    assert world.checked(v) == {"pypi": False, "npm": False, "github": False}


def test_valets_own_label_changes_never_start_the_job_that_holds_the_concurrency_group(
        world: World) -> None:
    """publish.yml's concurrency sits on the job, after its `if:`. On GitHub a skipped job
    never enters its group, so what this shows with act is the half act can show: the
    runs that valet's own label changes start (here `ci-pending`, which valet adds while
    the `accepted` run waits for CI) skip the job, with no API call; and the `accepted`
    run that waited is then published by the sweep. act does not implement concurrency
    groups (no queueing, no cancelling), so the cancellation rule itself is GitHub's
    documented one; tests/unit/foundation/test_publish_yml.py checks the placement.
    """
    from valet.sandbox.webhooks import issue_event

    v = "3.1.0"
    world.release(v)
    world.set_ci(v, "in_progress", None)
    assert world.label(v, world.approver).ok
    assert "ci-pending" in world.labels(v) and "accepted" in world.labels(v)
    repo = world.gh().get_repo(world.publish)
    issue = repo.get_issue(world.issues[v])
    for name in ("ci-pending",):  # the label valet adds while the approval waits
        event = issue_event("labeled", repo=repo.raw_data, issue=issue.raw_data,
                            sender={"login": "valet[bot]", "type": "Bot", "id": 2},
                            label=repo.get_label(name).raw_data)
        world.sb.admin.clear_request_log()
        result = world.run_publish("issues", event)
        assert result.ok, result.describe()
        assert "publish" not in result.jobs or result.jobs["publish"] == "skipped"
        assert world.sb.admin.request_log() == []  # the job never started
    assert "accepted" in world.labels(v)  # nothing took the approval away
    world.set_ci(v, "completed", "success")
    sweep = world.sweep()  # it hands the issue to its own run, which publishes
    assert sweep.ok, sweep.describe()
    assert world.labels(v) == {"published"}

