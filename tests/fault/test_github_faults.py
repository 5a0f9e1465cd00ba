"""GitHub answering 502, hanging, or rate-limiting each kind of call publish makes.

Each case prepares its own release, approves it, injects one fault on one kind
of call (a path regex over the sandbox's request paths) and runs publish. The
outcome is either a success through retries, or a clear failure (label
`failed`, a comment saying what failed and how to resume) after which the
approver re-adds `accepted` and the second run finishes. Either way the release
ends published exactly once with the approved digests (``FaultWorld.check``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.fault.world import FaultWorld

pytestmark = [pytest.mark.fault, pytest.mark.sandbox]

R = r"^/api/v3/repos/[^/]+/"


@dataclass(frozen=True)
class Call:
    name: str
    method: str
    path: str  # regex on the sandbox's full request path
    store: str = "github-release"
    env: tuple[tuple[str, str], ...] = ()
    # The close through REST (the labels read, the summary's POST, the closing PATCH): a
    # run takes it when the `published` label does not exist yet, which the case makes so;
    # otherwise the close is one GraphQL mutation (tests/unit/publish/test_close.py has its
    # lost and partial answers)
    rest_close: bool = False
    # The merge target's rules come in the SDK repository's GraphQL query; their REST read
    # is made when that answer is not certain, as when main has more rules than one page
    # holds: the case gives its own repository's main such a ruleset (a store of one
    # repository per release, so that no other case sees it)
    many_rules: bool = False


# Every kind of call one clean publish run makes (from the sandbox's request log).
CALLS = [
    # The issue as the run starts comes with the first GraphQL query (its REST GET is made
    # only when that query fails, a case of the GraphQL row): the GET faulted here is the
    # later read of the REST close, the labels as they stand while the summary is posted.
    Call("issue get (the REST close's labels)", "GET", R + r"publish/issues/\d+$",
         rest_close=True),
    Call("issue events", "GET", R + r"publish/issues/\d+/events$"),
    # Both GraphQL queries: who the token is with the body's edit history,
    # valet-publish.yml and the approver's team membership; and the SDK repository's
    # default branch, configuration, tag ref and the rules of main's rulesets (no `GET
    # /repos/{sdk}`, `GET contents/.valet.yml`, `GET git/ref/tags/` or `GET
    # rules/branches/main` when it answers: a failed part is read through REST, through
    # the same retrying client).
    Call("GraphQL (who the token is, the issue and its body's edit history, valet-publish.yml, "
         "the approver's team membership, the SDK's plain reads and main's rules)", "POST",
         r"^/api/graphql$"),
    # No `GET /apps/{slug}`: the recorded author (the request App's bot) says
    # the App exists. A run on an issue someone else opened asks, through the same
    # retrying client.
    Call("workflow run (the prepare run)", "GET", R + r"sdk(-wa-\d+)?/actions/runs/\d+$"),
    Call("run artifacts (the prepare run's seal)", "GET",
         R + r"sdk(-wa-\d+)?/actions/runs/\d+/artifacts$"),
    Call("artifact zip (the seal)", "GET", R + r"sdk/actions/artifacts/\d+/zip$"),
    Call("compare (release commit on the run's commit)", "GET", R + r"sdk(-wa-\d+)?/compare/"),
    # No `GET /orgs/{o}/teams/{t}/memberships/{login}`: the approver's membership comes
    # with the GraphQL query; REST is asked, through the same retrying client, only when
    # that part of the answer does not settle it.
    Call("collaborator permission", "GET", R + r"publish/collaborators/[^/]+/permission$",
         env=(("INPUT_APPROVERS", ""),)),
    # No `GET /branches/main`: the publish App here reads the protection rule, whose
    # answer says whether main exists and is protected; a token without Administration
    # reads the branch instead, through the same retrying client.
    Call("branch rules (more than GraphQL's page)", "GET",
         R + r"sdk-wa-\d+/rules/branches/main$", store="workflow-artifacts", many_rules=True),
    Call("ruleset (bypass?)", "GET", R + r"sdk/rulesets/\d+$"),
    Call("protection rule", "GET", R + r"sdk/branches/main/protection$"),
    Call("commit statuses", "GET", R + r"sdk/commits/[0-9a-f]+/statuses$"),
    Call("check runs", "GET", R + r"sdk/commits/[0-9a-f]+/check-runs$"),
    Call("check suites", "GET", R + r"sdk/commits/[0-9a-f]+/check-suites$"),
    Call("asset download", "GET", R + r"sdk/releases/assets/\d+$"),
    Call("workflow artifacts list", "GET", R + r"sdk-wa-\d+/actions/artifacts$",
         store="workflow-artifacts"),
    Call("tag create", "POST", R + r"sdk(-wa-\d+)?/git/refs$"),
    Call("releases list", "GET", R + r"sdk/releases$"),
    Call("release create", "POST", R + r"sdk-wa-\d+/releases$", store="workflow-artifacts"),
    Call("asset upload", "POST", r"^/api/uploads/repos/[^/]+/sdk-wa-\d+/releases/\d+/assets$",
         store="workflow-artifacts"),
    Call("release PATCH (publish)", "PATCH", R + r"sdk(-wa-\d+)?/releases/\d+$"),
    Call("issue PATCH (tick, close)", "PATCH", R + r"publish/issues/\d+$", rest_close=True),
    Call("merge", "POST", R + r"sdk/merges$"),
    Call("branch delete", "DELETE", R + r"sdk/git/refs/heads/"),
    Call("comment", "POST", R + r"publish/issues/\d+/comments$", rest_close=True),
    # A clean run sets its final labels in the close (covered above);
    # label add/remove calls happen on the ci-pending, refusal and failure paths,
    # through the same retrying client.
]

# (fault name, add_fault kwargs)
FAULTS = [
    ("502 x2", {"kind": "status", "status": 502, "count": 2}),
    ("hang (once)", {"kind": "hang", "seconds": 1.5, "count": 1}),
    ("403 rate limit (once)", {"kind": "ratelimit", "seconds": 1.0, "count": 1}),
]


@pytest.mark.parametrize("fault,kwargs", FAULTS, ids=[f[0].split()[0] for f in FAULTS])
@pytest.mark.parametrize("call", CALLS, ids=[c.name.split(" (")[0].replace(" ", "-")
                                             for c in CALLS])
def test_github_fault(world: FaultWorld, fault_row, call: Call, fault: str,
                      kwargs: dict) -> None:
    rel = world.new_release(("github",), store=call.store)
    if call.many_rules:
        world.sb.admin.add_ruleset(rel.sdk, {
            "name": "many rules", "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"]}},
            "rules": [{"type": "deletion"}] * 101})
    if call.rest_close:
        world.without_label("published")
    event = world.approve(rel)
    world.sb.admin.clear_request_log()
    world.sb.admin.add_fault(path=call.path, method=call.method, **kwargs)
    code = world.run_publish(event, *_env_args(call))
    assert _hit(world, call), f"publish made no {call.name} call: the case tests nothing"
    world.sb.admin.clear_faults()
    if code == 0:
        outcome = "retried, published"
    else:
        assert "failed" in world.labels(rel) and "accepted" not in world.labels(rel)
        comment = world.last_comment(rel)
        assert "accepted" in comment, comment  # says how to resume
        again = world.run_publish(world.approve(rel), *_env_args(call))
        assert again == 0, world.last_comment(rel)
        outcome = f"failed clearly (exit {code}), re-run published"
    assert world.check(rel) == []
    fault_row(f"GitHub {fault}", f"{call.method} {call.name}", outcome)


def _hit(world: FaultWorld, call: Call) -> bool:
    import re
    import time

    # A hung request is logged when the sandbox drops it, after the client gave up.
    # The wait ends as soon as the call is seen; the bound is only for a loaded machine.
    deadline = time.monotonic() + 60
    while True:
        if any(e["method"] == call.method and re.search(call.path, e["full_path"])
               for e in world.sb.admin.request_log()):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def _env_args(call: Call) -> tuple[str, ...]:
    # Only the collaborator case changes the environment: no approvers configured
    # means "maintain permission on the publish repo", the call it needs.
    return ("--approvers", "") if call.env else ()
