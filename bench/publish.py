"""The figures of the publish phase under latency and at scale, and of the ci-pending sweep.

Each publish is ``valet publish`` on an ``issues/labeled`` payload, in this
process, against the sandbox (its own process) and the real registries (see
``world``). Calls are GitHub API requests in the sandbox's request log during
the run (REST, uploads and GraphQL; git, storage downloads and the sandbox's
admin API are not API calls); a ``304 Not Modified`` answer is counted apart,
as GitHub does not count it against the rate limit.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bench.env import SandboxProcess
from bench.flow import is_api as is_api
from bench.report import Figure, figure
from bench.world import API, UPLOADS, PublishWorld, Release, Run

API_LATENCY_S = 0.2
UPLOAD_LATENCY_S = 2.0
SCALE = (1, 32)
SWEEP_K = 50
_IDS = re.compile(r"/[0-9a-f]{40}|/\d+")

Say = Callable[[str], None]


def counts(log: Iterable[dict[str, Any]], publish_repo: str) -> dict[str, Any]:
    """Calls that count against the rate limit, 304s apart, issue writes, and by shape."""
    total = not_modified = issue_writes = writes = 0
    shapes: Counter[str] = Counter()
    issue_path = re.compile(rf"^/repos/{re.escape(publish_repo)}/issues/\d+$")
    for e in log:
        if not is_api(e):
            continue
        if e.get("status") == 304:
            not_modified += 1
            continue
        total += 1
        method = str(e.get("method"))
        path = str(e.get("path", ""))
        mutation = e.get("kind") == "graphql" and e.get("operation") == "mutation"
        if method in ("POST", "PATCH", "PUT", "DELETE") and (
                e.get("kind") != "graphql" or mutation):
            writes += 1
        # an issue write: a PATCH of the issue, or a mutation that writes its body or
        # closes it (the successful close: summary, labels, ticks and state in one)
        if method == "PATCH" and issue_path.match(path) or mutation and {
                "updateIssue", "closeIssue"} & set(e.get("fields") or ()):
            issue_writes += 1
        shapes[f"{method} {_IDS.sub('/N', path)}"] += 1
    return {"calls": total, "not_modified": not_modified, "issue_writes": issue_writes,
            "writes": writes, "shapes": dict(sorted(shapes.items()))}


def _publish(world: PublishWorld, rel: Release, *, api_latency: float = 0.0,
             upload_latency: float = 0.0) -> Run:
    event = world.approve(rel)
    world.set_upload_latency(upload_latency)
    if api_latency:
        world.admin.add_fault(path=API, kind="latency", seconds=api_latency, count=0)
    if upload_latency:
        world.admin.add_fault(path=UPLOADS, method="POST", kind="latency",
                              seconds=upload_latency, count=0)
    try:
        run = world.publish_run("issues", event)
    finally:
        world.admin.clear_faults()
        world.set_upload_latency(0.0)
    issue = world.issue(rel)
    if run.code != 0 or issue.get("state") != "closed":
        raise RuntimeError(f"publish of {rel.version} ({rel.store}) did not complete: exit "
                           f"{run.code}, issue {issue.get('state')}, labels "
                           f"{[x['name'] for x in issue.get('labels', [])]}: "
                           f"{world.last_comment(rel)[:2000]}")
    return run


def three_targets(sb: SandboxProcess, work: Path, runs: int, say: Say) -> list[Figure]:
    """publish_api_calls, publish_sequential_round_trips and upload_latency_ratio."""
    det: dict[str, Any] = {}
    calls: list[float] = []
    trips: list[float] = []
    ratios: list[float] = []
    last: dict[str, Any] = {}
    with PublishWorld(sb, work) as world:
        for store in ("github-release", "workflow-artifacts"):
            d: dict[str, list[float]] = {"loopback_s": [], "api_latency_s": [],
                                          "upload_latency_s": [], "calls": [],
                                          "round_trips": [], "upload_ratio": []}
            for run in range(runs):
                base = _publish(world, world.new_release(store=store))
                slow = _publish(world, world.new_release(store=store), api_latency=API_LATENCY_S)
                up = _publish(world, world.new_release(store=store),
                              upload_latency=UPLOAD_LATENCY_S)
                c = counts(base.log, world.publish)
                rt = (slow.seconds - base.seconds) / API_LATENCY_S
                ur = (up.seconds - base.seconds) / UPLOAD_LATENCY_S
                for key, value in (("loopback_s", base.seconds), ("api_latency_s", slow.seconds),
                                   ("upload_latency_s", up.seconds), ("calls", c["calls"]),
                                   ("round_trips", rt), ("upload_ratio", ur)):
                    d[key].append(round(float(value), 3))
                last[store] = c
                say(f"publish ({store}) run {run + 1}: {c['calls']} calls "
                    f"({c['not_modified']} 304), loopback {base.seconds:.2f}s, +{API_LATENCY_S}s "
                    f"per call {slow.seconds:.2f}s ({rt:.1f} round trips), +{UPLOAD_LATENCY_S}s "
                    f"per upload {up.seconds:.2f}s (ratio {ur:.2f})")
            det[store] = d
    calls = det["github-release"]["calls"]
    trips = det["github-release"]["round_trips"]
    ratios = det["workflow-artifacts"]["upload_ratio"]
    what = ("valet publish on an issues/labeled payload (in-process) for pypi + npm + github, "
            "team approvers, CI green; the sandbox in its own process, pypiserver and verdaccio "
            "behind a loopback latency proxy")
    return [
        figure("publish_api_calls", calls, details={
            "store": "github-release (the default)", "by_store": {
                s: det[s]["calls"] for s in det},
            "calls_last_run": {s: last[s]["shapes"] for s in last}, "what": what}),
        figure("publish_sequential_round_trips", trips, details={
            "store": "github-release (the default)", **{f"{s}": det[s] for s in det},
            "latency_s_per_call": API_LATENCY_S, "what": what + "; (wall with the latency "
            "on every GitHub API request - wall without) / latency"}),
        figure("upload_latency_ratio", ratios, details={
            "store": "workflow-artifacts (the github target uploads every asset at publish "
                     "time)", "github-release": det["github-release"]["upload_ratio"],
            "latency_s_per_upload": UPLOAD_LATENCY_S, "what": what + "; (wall with the latency "
            "on every upload: twine's POST, npm's PUT, each release asset POST - wall without) "
            "/ latency"}),
    ]


def scale(sb: SandboxProcess, work: Path, runs: int, say: Say) -> list[Figure]:
    """calls_per_extra_target and issue_writes at N = 1 and 32 npm targets (+ github)."""
    per: list[float] = []
    writes: dict[int, list[float]] = {n: [] for n in SCALE}
    det: dict[str, Any] = {f"n{n}": {"calls": [], "seconds": []} for n in SCALE}
    shapes: dict[str, Any] = {}
    with PublishWorld(sb, work) as world:
        for run in range(runs):
            got: dict[int, dict[str, Any]] = {}
            for n in SCALE:
                rel = world.new_release(pypi=False, npm=n, github=True)
                res = _publish(world, rel)
                got[n] = counts(res.log, world.publish)
                writes[n].append(float(got[n]["issue_writes"]))
                det[f"n{n}"]["calls"].append(got[n]["calls"])
                det[f"n{n}"]["seconds"].append(round(res.seconds, 2))
                shapes[f"n{n}"] = got[n]["shapes"]
            lo, hi = SCALE
            per.append((got[hi]["calls"] - got[lo]["calls"]) / (hi - lo))
            say(f"scale run {run + 1}: N={lo} {got[lo]['calls']} calls "
                f"({got[lo]['issue_writes']} issue writes), N={hi} {got[hi]['calls']} calls "
                f"({got[hi]['issue_writes']} issue writes): {per[-1]:.2f} per extra target")
    what = ("valet publish of N npm targets (one package each) + github, CI green, default "
            "store; calls_per_extra_target = (calls at N=32 - calls at N=1) / 31; issue writes "
            "= PATCHes of the issue (ticks and the close)")
    return [figure("calls_per_extra_target", per, details={**det, "calls_last_run": shapes,
                                                           "what": what}),
            figure("issue_writes.n1", writes[1], details={"what": what}),
            figure("issue_writes.n32", writes[32], details={"what": what})]


def sweep(sb: SandboxProcess, work: Path, runs: int, say: Say) -> list[Figure]:
    """sweep_calls: the scheduled run over K requests waiting in ci-pending, none changed."""
    samples: list[float] = []
    det: dict[str, Any] = {"not_modified": [], "seconds": [], "changed_one": []}
    shapes: dict[str, Any] = {}
    with PublishWorld(sb, work) as world:
        pending: list[Release] = []
        for _ in range(SWEEP_K):
            rel = world.new_release(pypi=False, npm=0, github=True, ci="pending")
            first = world.publish_run("issues", world.approve(rel))
            labels = {x["name"] for x in world.issue(rel).get("labels", [])}
            if first.code != 0 or "ci-pending" not in labels:
                raise RuntimeError(f"#{rel.number} did not wait in ci-pending: {labels}")
            pending.append(rel)
        say(f"sweep: {SWEEP_K} requests wait in ci-pending")
        # A first sweep after valet put them there, then the measured ones: nothing changed.
        world.publish_run("schedule", world.schedule_event())
        for run in range(runs):
            res = world.publish_run("schedule", world.schedule_event())
            c = counts(res.log, world.publish)
            samples.append(float(c["calls"]))
            det["not_modified"].append(c["not_modified"])
            det["seconds"].append(round(res.seconds, 2))
            shapes = c["shapes"]
            say(f"sweep run {run + 1}: {c['calls']} calls, {c['not_modified']} answered 304, "
                f"{res.seconds:.1f}s")
        # One turns green: the sweep dispatches its run and publishes nothing itself.
        world.set_ci(pending[0])
        res = world.publish_run("schedule", world.schedule_event())
        c = counts(res.log, world.publish)
        dispatched = any(e.get("method") == "POST" and str(e.get("path", "")).endswith(
            "/dispatches") and e.get("status") in (200, 204) for e in res.log)
        det["changed_one"] = {"calls": c["calls"], "not_modified": c["not_modified"],
                              "shapes": c["shapes"], "dispatched": dispatched,
                              "published_in_sweep": any(
                                  e.get("method") == "PATCH" and "/releases/" in str(e["path"])
                                  for e in res.log)}
        if not dispatched:
            raise RuntimeError(f"the sweep did not start the run of #{pending[0].number}, whose "
                               "CI turned green")
    return [figure("sweep_calls", samples, details={
        **det, "k": SWEEP_K, "calls_last_run": shapes,
        "what": f"one scheduled publish run over {SWEEP_K} approved requests waiting in "
                "ci-pending whose CI did not change since the previous sweep; calls that count "
                "against the rate limit (304 answers apart)"})]
