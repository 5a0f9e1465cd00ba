"""The audit reads the seal of the run each request names (valet.seal), as publish does:
a request its named run did not seal does not name that run's actor as its requester."""

from __future__ import annotations

import json

import pytest

from tests.unit.publish.fakes import prepare_run
from valet import audit
from valet.errors import GitHubError

from .world import N, World, codes

OTHER_RUN = 4343  # someone else's release run, which opened no request of its own


@pytest.fixture
def world(tmp_path) -> World:
    return World(tmp_path)


def _run_of_someone_else(world: World) -> str:
    """A release run alice started, and a request the request App's token opened naming
    it (as #6), which that run never sealed. The body it returns is that request's."""
    from tests.unit.publish.fakes import make_body

    world.sdk.runs[OTHER_RUN] = prepare_run("alice", id=OTHER_RUN)
    body = make_body(run_id=OTHER_RUN)
    world.issues.create(6, body)
    return body


def test_a_sealed_request_has_no_seal_flag(world: World) -> None:
    assert world.label("alice") == 0  # the publish App ticks its boxes: the seal ignores ticks
    row = world.row()
    assert row.requester == "requester" and row.flags == []


def test_a_request_its_run_did_not_seal_names_no_requester(world: World) -> None:
    _run_of_someone_else(world)
    row = world.row(6)
    assert row.requester is None, "the run's actor presented as who asked for it"
    assert codes(row) == ["unsealed"]
    detail = row.flags[0].detail
    assert f"the prepare run {OTHER_RUN} of org/sdk did not write this request" in detail
    assert "no unexpired `valet-request` artifact" in detail
    assert "alice" in detail  # whom GitHub records as the run's actor, named as such
    assert world.row(N).flags == []


def test_an_unsealed_request_is_no_self_approval(world: World) -> None:
    """Alice ran the release workflow, but her run did not write #6: approving it is
    not approving her own request (the requester is unknown, as when unverified)."""
    _run_of_someone_else(world)
    world.issues.label_by(6, "accepted", "alice")
    assert codes(world.row(6)) == ["unsealed"]


def test_a_seal_of_another_issue_is_a_mismatch(world: World) -> None:
    """The request App's token copies #5 (its run 4242 sealed #5) as #6."""
    world.issues.create(6, world.body())
    row = world.row(6)
    assert row.requester is None
    assert codes(row) == ["seal-mismatch"]
    assert "its seal names the issue 5, this request 6" in row.flags[0].detail
    assert world.row(N).flags == []


def test_a_seal_of_another_body_is_a_mismatch(world: World) -> None:
    from tests.unit.publish.fakes import make_body

    _run_of_someone_else(world)
    world.sdk.seal_request(6, make_body(run_id=OTHER_RUN, merge_target="evil"))
    row = world.row(6)
    assert codes(row) == ["seal-mismatch"] and "the body's digest" in row.flags[0].detail


def test_what_is_not_a_seal_is_a_mismatch(world: World) -> None:
    world.sdk.artifacts[4242][-1]["zip"] = b"PK not a zip"
    row = world.row()
    assert row.requester is None
    assert codes(row) == ["seal-mismatch"] and "not a seal" in row.flags[0].detail


def test_an_expired_seal_of_a_published_release_is_a_mild_flag(world: World) -> None:
    assert world.label("alice") == 0
    world.sdk.artifacts[4242][-1]["expired"] = True  # retention-days went by
    row = world.row()
    assert row.state == "published"
    assert row.requester == "requester"  # GitHub's record of the run; only its seal is gone
    assert codes(row) == ["seal-expired"]
    assert "expired" in row.flags[0].detail


def test_a_seal_gone_when_downloaded_is_expired(world: World) -> None:
    """Listed as unexpired, but GitHub answers the download with 410 (it expired between)."""
    world.sdk.artifact_zip = lambda artifact_id, limit: None  # type: ignore[method-assign]
    assert codes(world.row()) == ["seal-expired"]


def test_an_unreadable_seal_leaves_the_requester_unverified(world: World) -> None:
    def refuse(run_id: int, name: str) -> list[dict[str, object]]:
        raise GitHubError("listing the artifacts: HTTP 403: Resource not accessible")

    world.sdk.run_artifacts = refuse  # type: ignore[method-assign]
    row = world.row()
    assert row.requester is None
    assert codes(row) == ["requester-unverified"]
    assert "seal could not be read" in row.flags[0].detail and "403" in row.flags[0].detail


def test_one_list_per_named_run_and_one_zip_per_seal(world: World) -> None:
    world.issues.create(7, world.body())  # names run 4242 too, which sealed #5
    _run_of_someone_else(world)  # #6 names run 4343, which sealed nothing
    world.issues.create(8, world.body(6))
    world.sdk.artifact_reads.clear()
    rows = world.rows()
    assert [codes(rows[n]) for n in (8, 7, 6, N)] == [
        ["unsealed"], ["seal-mismatch"], ["unsealed"], []]
    # runs 4242 (#5, #7) and 4343 (#6, #8): one list each, one zip (only 4242 has a seal)
    assert sorted(world.sdk.artifact_reads) == ["list", "list", "zip"]


def test_the_outputs_show_the_seal_flags(world: World) -> None:
    _run_of_someone_else(world)
    rows = audit.build_rows(audit.collect(
        world.issues, lambda repo: world.sdk,
        audit.Rules(ids=world.ids, policy=world.policy, publish_repo="org/publish")), world.ids)
    data = json.loads(audit.render_json(rows))
    by = {r["issue"]: r for r in data["requests"]}
    assert (by[6]["requester"], [f["code"] for f in by[6]["flags"]]) == (None, ["unsealed"])
    assert data["flagged"] == 1
    md = audit.render_md(rows)
    line = [x for x in md.splitlines() if "\\#6" in x][0]
    assert ":warning:" in line and "**unsealed**" in line and "| unverified |" in line
    assert "unsealed: " in audit.render_csv(rows)
