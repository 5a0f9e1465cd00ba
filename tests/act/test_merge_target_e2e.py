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

from tests.act.world import DIST, World, world_fixture  # noqa: F401 - a fixture

pytestmark = [pytest.mark.act, pytest.mark.sandbox, pytest.mark.adversarial]

_MISSING = [m for m in ("issues", "ci", "releases", "access")
            if importlib.util.find_spec(f"valet.sandbox.routes.{m}") is None]
if _MISSING:
    pytest.skip(f"the sandbox has no {', '.join(_MISSING)} routes yet", allow_module_level=True)


def test_an_unprotected_merge_target_is_refused_and_nothing_is_published(world: World) -> None:
    v = "3.0.0"  # unique across the act modules: the registries are the session's
    world.release(v)
    world.set_ci(v, "completed", "success")  # everything else would let it through
    world.sb.admin.protect_branch(world.sdk, "main", protected=False)
    try:
        world.sb.admin.clear_request_log()
        result = world.label(v, world.approver)
        log = world.sb.admin.request_log()
    finally:
        world.sb.admin.protect_branch(world.sdk, "main")
    assert result.ok, result.describe()  # a refusal is the run doing its job: exit 0
    assert "accepted" not in world.labels(v) and world.issue(v).state == "open"
    refusal = world.comments(v)[-1]
    assert "refused" in refusal and "not a protected branch" in refusal
    assert "allow-unprotected-merge-target" in refusal
    # one look at the branch, then nothing read from it and nothing sent anywhere
    sdk_paths = [e["path"] for e in log if e["path"].startswith(f"/repos/{world.sdk}/")]
    assert f"/repos/{world.sdk}/branches/main" in sdk_paths
    assert not any("/contents/" in p or p.endswith("/merges") for p in sdk_paths)
    assert not any(n.startswith(f"{DIST}-{v}") for n in world.pypi_digests())
    assert world.npm_tarball_sha256(v) is None
    assert world.release_of(v).draft
    assert f"release/{v}" in {b.name for b in world.gh().get_repo(world.sdk).get_branches()}
    assert world.checked(v) == {"pypi": False, "npm": False, "github": False}
