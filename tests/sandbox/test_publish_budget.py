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

BUDGET = 22  # publish_api_calls, 3 targets, default store (README: Performance; the
# calls and why each is made: bench/README.md). The issue itself, valet-publish.yml, the
# approver's team membership and the `published` label's id come in the run's first
# GraphQL query (was: the issue's REST GET); the SDK repository's default branch,
# configuration, tag ref and the rules of main's rulesets in a second (was: GET
# /rules/branches/main); the close is one GraphQL mutation (was: the labels read, the
# summary's POST, the PATCH)


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
    # the issue: never through REST (the run's first GraphQL query answers it, and the
    # close's label removals are relative); every other path once
    assert issue not in gets, gets
    assert all(n == 1 for n in gets.values()), gets
    # the `published` label's id comes with the run's first GraphQL query
    assert f"/repos/{world.publish}/labels/published" not in gets
    assert not any(p.endswith("/contents/valet-publish.yml") for p in gets), gets
    assert not any("/memberships/" in p for p in gets), gets
    # no REST write of the publish issue: the summary, labels and close are the mutation
    assert not [e for e in run.log if is_api(e) and e["method"] != "GET"
                and e["path"].startswith(issue)], calls
    # who the token is, the issue and its body's edits, valet-publish.yml, the approver's
    # team and the label's id: one GraphQL query; the SDK repository's default branch,
    # configuration on main, the release's tag and main's rules: another; the close: one
    # mutation, last. The request App is the issue's author as GitHub recorded it
    graphql = [e for e in run.log if e.get("kind") == "graphql"]
    assert [e.get("operation") for e in graphql] == ["query", "query", "mutation"]
    assert graphql[-1]["fields"] == ["addComment", "addLabelsToLabelable",
                                     "removeLabelsFromLabelable", "updateIssue", "closeIssue"]
    assert graphql[-1] is [e for e in run.log if is_api(e)][-1]
    closed = world.issue(rel)
    assert closed["state"] == "closed" and closed["state_reason"] == "completed"
    assert [x["name"] for x in closed["labels"]] == ["published"]
    assert not any(p.startswith("/apps/") for p in gets)
    sdk = f"/repos/{rel.sdk}"
    # GraphQL answered all four: none of their REST reads was made
    assert sdk not in gets and not any(p.startswith((f"{sdk}/contents/", f"{sdk}/git/ref/",
                                                     f"{sdk}/rules/")) for p in gets), gets
    # main's rules came from that answer, and so did the read of each one's ruleset
    assert len([p for p in gets if p.startswith(f"{sdk}/rulesets/")]) == 1, gets
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
