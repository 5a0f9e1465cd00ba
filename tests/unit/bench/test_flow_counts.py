"""Which request-log entries the API-call figure counts, and for which side."""

from __future__ import annotations

from bench.flow import WATCHER, api_counts, classify, is_api

SDK, PUB = "acme/widget-sdk", "acme/publish"


def _e(path: str, kind: str | None = "api", method: str = "GET",
       user: str = "acme-publish[bot]") -> dict[str, object]:
    entry: dict[str, object] = {"method": method, "path": path, "user": user}
    if kind is not None:
        entry["kind"] = kind
    return entry


def test_rest_uploads_and_graphql_are_api_calls() -> None:
    assert is_api(_e("/repos/acme/x/releases", "api"))
    assert is_api(_e("/repos/acme/x/releases/1/assets", "uploads"))
    # a GraphQL request counts against the rate limit as a REST call does
    assert is_api(_e("/", "graphql", "POST"))
    assert is_api(_e("/api/graphql", None, "POST"))
    assert not is_api(_e("/acme/x.git/info/refs", "git"))
    assert not is_api(_e("/acme/x/releases/download/1.0.0/a.whl", "web"))
    assert not is_api(_e("/_sandbox/oidc/token", "oidc"))
    # logs written before the sandbox recorded `kind`: the full path decides
    assert is_api(_e("/api/v3/repos/acme/x", None))
    assert not is_api(_e("/acme/x.git/git-upload-pack", None))


def test_release_side_split_prepare_and_request() -> None:
    # the draft release is filled by the request job, from the build job's files
    assert classify(_e(f"/repos/{SDK}/releases", method="POST"), SDK, PUB) == "request"
    assert classify(_e(f"/repos/{SDK}/releases/9/assets", "uploads", "POST"), SDK, PUB) == "request"
    assert classify(_e(f"/repos/{SDK}/git/refs/heads/main"), SDK, PUB) == "prepare"
    assert classify(_e(f"/repos/{SDK}/issues"), SDK, PUB) == "request"  # the killswitch check
    assert classify(_e(f"/repos/{PUB}/issues", method="POST"), SDK, PUB) == "request"
    assert classify(_e(f"/{SDK}.git/git-receive-pack", "git", "POST"), SDK, PUB) is None


def test_counts_fold_ids_and_leave_out_the_watcher_and_git() -> None:
    log = [_e(f"/repos/{PUB}/issues/7"), _e(f"/repos/{PUB}/issues/7"),
           _e(f"/repos/{PUB}/issues/7", user=WATCHER),
           _e(f"/repos/{SDK}/commits/{'a' * 40}/check-runs"),
           _e(f"/{SDK}.git/info/refs", "git")]
    total, shapes = api_counts(log, exclude_users={WATCHER})
    assert total == 3
    assert shapes == {f"GET /repos/{PUB}/issues/N": 2, f"GET /repos/{SDK}/commits/N/check-runs": 1}


def test_a_stand_ins_own_calls_are_not_valets() -> None:
    # the App token action's sandbox stand-in asks GraphQL's viewer for the slug (the
    # real action learns it with its JWT): a call of that action, not of valet
    log = [_e("/", "graphql", "POST"), {**_e("/", "graphql", "POST"), "standin": True}]
    assert api_counts(log, exclude_users=set())[0] == 1
    assert classify(log[1], SDK, PUB) is None
