"""The GitHub calls of one publish of the bench's 3-target release (pypi, npm, github).

The same world and counting as ``make bench``'s ``publish_api_calls`` (bench/world.py,
bench/publish.py): ``valet publish`` as the action runs it, the real targets and
store, the sandbox in its own process with pypiserver and verdaccio. The budget is
the figure the README states; what each remaining call is for is listed in
bench/README.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.env import SandboxProcess
from bench.publish import _publish, counts, is_api
from bench.world import PublishWorld

pytestmark = pytest.mark.sandbox

BUDGET = 28  # publish_api_calls, 3 targets, default store (README: Performance): 26, the
# publish repo's valet-publish.yml, the draft's assets listed again before it goes public,
# and the prepare run's seal (its valet-request artifacts, the newest one's zip), less the
# SDK repository's default branch, configuration and tag ref, asked in one GraphQL query


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PublishWorld]:
    work = Path(tmp_path_factory.mktemp("budget"))
    with SandboxProcess(work / "sandbox.log") as sb, PublishWorld(sb, work) as w:
        yield w


def test_a_three_target_publish_stays_within_its_call_budget(world: PublishWorld) -> None:
    rel = world.new_release()
    run = _publish(world, rel)
    c = counts(run.log, world.publish)
    calls = [f"{e['method']} {e['path']}" for e in run.log if is_api(e)]
    assert c["calls"] <= BUDGET, calls
    assert c["issue_writes"] == 1  # the close carries every tick
    gets = Counter(e["path"] for e in run.log if is_api(e) and e["method"] == "GET")
    issue = f"/repos/{world.publish}/issues/{rel.number}"
    # the issue: at the start, and its labels just before the close; everything else once
    assert gets.pop(issue) == 2
    assert all(n == 1 for n in gets.values()), gets
    # who the token is and the body's edits: one GraphQL request; the SDK repository's
    # default branch, configuration on main and the release's tag: another; the request
    # App is the issue's author as GitHub recorded it (not looked up by slug)
    assert sum(1 for e in run.log if e.get("kind") == "graphql") == 2
    assert not any(p.startswith("/apps/") for p in gets)
    sdk = f"/repos/{rel.sdk}"
    # GraphQL answered all three: none of their REST reads was made
    assert sdk not in gets and not any(p.startswith((f"{sdk}/contents/", f"{sdk}/git/ref/"))
                                       for p in gets), gets
    # the protection rule answers whether main is protected: the branch is not read
    assert f"{sdk}/branches/main/protection" in gets and f"{sdk}/branches/main" not in gets
    # main...sha answers the merge check, the workflows check (main did not move) and
    # whether the release commit descends from the prepare run's commit
    assert [p for p in gets if "/compare/" in p] == [f"{sdk}/compare/main...{rel.sha}"]
    # the prepare run's seal: its artifacts of that name and the newest one's zip, once
    assert sum(1 for p in gets if p.startswith(f"{sdk}/actions/runs/")
               and p.endswith("/artifacts")) == 1
    assert sum(1 for p in gets if p.startswith(f"{sdk}/actions/artifacts/")
               and p.endswith("/zip")) == 1
