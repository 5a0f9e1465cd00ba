"""The whole valet flow end to end, with act, the sandbox and the real registries.

SDK repo (examples/sdk-repo release.yml: prepare + request) -> approval issue in
the publish repo -> label -> examples/publish-repo publish.yml -> pypiserver,
verdaccio, the GitHub release, the merge. One module-scoped world (one org, one
SDK repo, one publish repo, one set of users) is shared by the scenarios; each
scenario releases its own version so they do not depend on each other's state.
"""

from __future__ import annotations

import importlib.util

import pytest

from tests.act.world import World, world_fixture  # noqa: F401 - a fixture

pytestmark = [pytest.mark.act, pytest.mark.sandbox]

_MISSING = [m for m in ("issues", "ci", "releases", "access")
            if importlib.util.find_spec(f"valet.sandbox.routes.{m}") is None]
if _MISSING:
    pytest.skip(f"the sandbox has no {', '.join(_MISSING)} routes yet", allow_module_level=True)

def test_ci_pending_then_green_publishes_everything(world: World) -> None:
    v = "1.0.0"
    world.release(v)
    world.set_ci(v, "in_progress", None)
    first = world.label(v, world.approver)
    assert first.ok, first.describe()
    assert world.labels(v) == {"accepted", "ci-pending"}
    # (the registries are shared with other modules: look at this version only)
    assert not [n for n in world.pypi_digests() if f"-{v}" in n]
    assert world.npm_tarball_sha256(v) is None
    world.set_ci(v, "completed", "success")
    from valet.sandbox.webhooks import dispatch_event, schedule_event

    def dispatched() -> set[int]:
        return {r.id for r in world.gh().get_repo(world.publish).get_workflow_runs(
            event="workflow_dispatch") if r.path == ".github/workflows/publish.yml"}

    before = dispatched()
    sweep = world.run_publish("schedule", schedule_event())
    assert sweep.ok, sweep.describe()
    # The sweep publishes nothing itself: it started the issue's own run, which GitHub
    # runs in the issue's concurrency group; here act runs it.
    assert world.npm_tarball_sha256(v) is None
    started = dispatched() - before
    assert len(started) == 1, "the sweep did not start the issue's run"
    own = world.run_publish("workflow_dispatch", dispatch_event(
        {"issue": str(world.issue(v).number)},
        repo=world.gh().get_repo(world.publish).raw_data,
        sender={"login": "github-actions[bot]", "type": "Bot", "id": 41898282}))
    assert own.ok, own.describe()
    manifest = world.manifest(v)
    pypi = world.pypi_digests()
    for name in (f"{world.dist}-{v}-py3-none-any.whl", f"{world.dist}-{v}.tar.gz"):
        assert pypi[name] == manifest[name]
    assert world.npm_tarball_sha256(v) == manifest[f"{world.pkg}-{v}.tgz"]
    release = world.release_of(v)
    assert not release.draft
    assert {a.name for a in release.get_assets()} >= set(manifest)
    branches = {b.name for b in world.gh().get_repo(world.sdk).get_branches()}
    assert f"release/{v}" not in branches
    issue = world.issue(v)
    assert issue.state == "closed" and world.labels(v) == {"published"}
    assert world.checked(v) == {"pypi": True, "npm": True, "github": True}
    assert any("valet:summary" in c and manifest[f"{world.pkg}-{v}.tgz"] in c for c in world.comments(v))
    assert world.app_token not in sweep.stdout and world.regs.npm_token not in sweep.stdout


@pytest.mark.adversarial
def test_refused_approvers_publish_nothing(world: World) -> None:
    v = "1.1.0"
    world.release(v)
    world.set_ci(v, "completed", "success")
    for who, kind, why in ((world.mallory, "User", "not an allowed approver"),
                           (world.requester, "User", "requested this release"),
                           (world.bot, "Bot", "is a bot")):
        result = world.label(v, who, kind=kind)
        assert result.ok, result.describe()
        assert "accepted" not in world.labels(v)
        assert why in world.comments(v)[-1]
    assert f"{world.dist}-{v}.tar.gz" not in world.pypi_digests()
    assert world.npm_tarball_sha256(v) is None
    assert world.release_of(v).draft
    assert world.issue(v).state == "open"


@pytest.mark.adversarial
def test_artifact_replaced_in_the_store_publishes_nothing(world: World) -> None:
    v = "1.2.0"
    world.release(v)
    world.set_ci(v, "completed", "success")
    release = world.release_of(v)
    name = f"{world.pkg}-{v}.tgz"
    (asset,) = [a for a in release.get_assets() if a.name == name]
    asset.delete_asset()
    evil = world.work / name
    evil.write_bytes(b"not what was approved")
    release.upload_asset(str(evil), name=name)
    result = world.label(v, world.approver)
    assert not result.ok  # the job fails: a release was approved and could not be published
    assert f"{world.dist}-{v}.tar.gz" not in world.pypi_digests()
    assert world.npm_tarball_sha256(v) is None
    assert world.release_of(v).draft
    assert "failed" in world.labels(v) and "accepted" not in world.labels(v)
    assert name in world.comments(v)[-1]


@pytest.mark.fault
def test_npm_failure_then_resume_publishes_only_what_is_left(world: World) -> None:
    v = "1.3.0"
    world.release(v)
    world.set_ci(v, "completed", "success")
    first = world.label(v, world.approver, npm_token="wrong-token")
    assert not first.ok
    assert world.checked(v) == {"pypi": True, "npm": False, "github": False}
    assert "failed" in world.labels(v) and "accepted" not in world.labels(v)
    assert "npm" in world.comments(v)[-1]
    pypi_before = world.pypi_digests()
    assert f"{world.dist}-{v}.tar.gz" in pypi_before
    assert world.release_of(v).draft
    second = world.label(v, world.approver)
    assert second.ok, second.describe()
    assert world.checked(v) == {"pypi": True, "npm": True, "github": True}
    assert world.pypi_digests() == pypi_before
    assert "ticked npm" in second.stdout and "ticked pypi" not in second.stdout
    assert world.npm_tarball_sha256(v) == world.manifest(v)[f"{world.pkg}-{v}.tgz"]
    assert world.issue(v).state == "closed" and world.labels(v) == {"published"}
