"""The figures of a whole release: api_calls_per_release and label_to_published_s.

Both come from ``valet.sandbox.scenario`` (the flow of ``valet demo``): the
example release.yml (prepare, build, request) and publish.yml (publish on a real
``issues/labeled`` payload) run with act against the GitHub fake and the real
registries, for the demo SDK's three targets (pypi, npm, github), CI green
before the label.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from bench.report import Figure, figure

_IDS = re.compile(r"/[0-9a-f]{40}|/\d+")
WATCHER = "bench-watch"  # the login polling the issue; its calls are not counted


def is_api(entry: dict[str, Any]) -> bool:
    """A GitHub REST, uploads or GraphQL request (not git smart-HTTP, web downloads or
    OIDC): each counts against the rate limit.

    The log's ``kind`` says so; older logs only had the full path."""
    kind = entry.get("kind")
    if kind is not None:
        return kind in ("api", "uploads", "graphql")
    return str(entry.get("path", "")).startswith(("/api/v3", "/api/uploads", "/api/graphql"))


def classify(entry: dict[str, Any], sdk: str, publish: str) -> str | None:
    """Which side made an API call of the release phase: prepare (the SDK repo), request
    (the publish repo), or None for what is not a GitHub API call (git, admin)."""
    if not is_api(entry) or entry.get("standin"):
        return None
    path = str(entry.get("path", ""))
    # request fills the draft release, checks the SDK repo's blocker issues (its
    # killswitch) and opens the issue in the publish repo; the rest is prepare.
    if f"/repos/{publish}/" in path + "/" or path.startswith(f"/repos/{sdk}/issues") \
            or f"/repos/{sdk}/releases" in path:
        return "request"
    return "prepare"


def api_counts(entries: list[dict[str, Any]], *, exclude_users: set[str]) -> tuple[int, Counter[str]]:
    """(GitHub API calls, calls per "METHOD /path" with ids folded) of a request-log slice."""
    total = 0
    shapes: Counter[str] = Counter()
    for e in entries:
        if not is_api(e) or e.get("user") in exclude_users or e.get("standin"):
            continue  # the watcher's polls; a third-party action's stand-in (its own calls)
        path = str(e.get("path", ""))
        total += 1
        shapes[f"{e.get('method')} {_IDS.sub('/N', path)}"] += 1
    return total, shapes


class _Watch:
    """Polls the issue (as WATCHER) until it is closed; records when."""

    def __init__(self, api: str, repo: str, number: int, token: str) -> None:
        self.url = f"{api}/repos/{repo}/issues/{number}"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.closed_at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="bench-watch")

    def _run(self) -> None:
        with requests.Session() as s:
            s.trust_env = False
            while not self._stop.is_set():
                try:
                    state = s.get(self.url, headers=self.headers, timeout=10).json().get("state")
                except (requests.RequestException, ValueError):
                    state = None
                if state == "closed":
                    self.closed_at = time.monotonic()
                    return
                self._stop.wait(0.2)

    def __enter__(self) -> _Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)


def one_release(work: Path, version: str, upload_mib_s: float) -> dict[str, Any]:
    from valet.sandbox.scenario import Scenario

    with Scenario(work, version=version) as sc:
        sc.start_world()
        sc.seed()
        sb = sc.sandbox
        assert sb is not None
        admin = sb.admin
        watch_token = admin.create_token(WATCHER)
        mark = len(admin.request_log())
        sc.release()
        release_log = admin.request_log()[mark:]
        sc.ci_green()
        sc.read_request()  # the scenario reading the issue: not valet's calls
        label_at = time.monotonic()
        sc.approve()
        mark = len(admin.request_log())
        with _Watch(sb.api_url, sc.publish, int(sc.result.issue["number"]), watch_token) as w:
            sc.run_publish()
            finished = time.monotonic()
        publish_log = admin.request_log()[mark:]
        sc.collect()
        res = sc.result
        if res.issue.get("state") != "closed" or res.digest_mismatches():
            raise RuntimeError(f"the release did not complete: issue {res.issue.get('state')}, "
                               f"mismatches {res.digest_mismatches()}")
        closed_at = w.closed_at or finished
        sizes = sum(int(a["size"]) for a in res.github_release.get("assets", []))
    side: Counter[str] = Counter()
    for e in release_log:
        who = classify(e, sc.sdk, sc.publish)
        if who:
            side[who] += 1
    prepare_request, release_shapes = api_counts(release_log, exclude_users={WATCHER})
    publish, publish_shapes = api_counts(publish_log, exclude_users={WATCHER})
    # Pure upload time: the bytes of every published artifact at this machine's loopback
    # throughput (the curl figure of the 1 GiB test); what is left is valet + act + waits.
    upload_s = sizes / (upload_mib_s * 1024 * 1024)
    return {"api_calls": prepare_request + publish, "prepare": side["prepare"],
            "request": side["request"], "publish": publish,
            "label_to_closed_s": closed_at - label_at, "upload_s": upload_s,
            "publish_act_s": res.publish_run.duration if res.publish_run else None,
            "artifact_bytes": sizes, "release_shapes": dict(release_shapes),
            "publish_shapes": dict(publish_shapes)}


def measure(work: Path, runs: int, say: Callable[[str], None],
            upload_mib_s: float | None = None) -> list[Figure]:
    rate = upload_mib_s or 100.0
    calls: list[float] = []
    latency: list[float] = []
    per_phase: dict[str, list[Any]] = {"prepare": [], "request": [], "publish": [],
                                       "label_to_closed_s": [], "upload_s": [],
                                       "publish_act_s": []}
    last: dict[str, Any] = {}
    for run in range(runs):
        last = one_release(work / f"run{run}", f"1.{run}.0", rate)
        calls.append(float(last["api_calls"]))
        latency.append(last["label_to_closed_s"] - last["upload_s"])
        for key in per_phase:
            value = last[key]
            per_phase[key].append(round(value, 3) if isinstance(value, float) else value)
        say(f"release run {run + 1}: {last['api_calls']} API calls (prepare {last['prepare']}, "
            f"request {last['request']}, publish {last['publish']}), label->closed "
            f"{last['label_to_closed_s']:.1f}s")
    api_fig = figure("api_calls_per_release", calls, details={
        "prepare": per_phase["prepare"], "request": per_phase["request"],
        "publish": per_phase["publish"],
        "calls_last_run": {"prepare+request": last.get("release_shapes"),
                           "publish": last.get("publish_shapes")},
        "what": "GitHub REST + uploads requests in the sandbox's request log (git smart-HTTP "
                "and admin calls excluded) during the example release.yml (prepare + request) "
                "and publish.yml (labeled event) runs under act, 3 targets: pypi, npm, github"})
    lat_fig = figure("label_to_published_s", latency, details={
        "label_to_closed_s": per_phase["label_to_closed_s"], "upload_s": per_phase["upload_s"],
        "publish_act_s": per_phase["publish_act_s"], "upload_rate_mib_s": rate,
        "what": "from adding `accepted` (CI already green) to the issue being seen closed "
                "(polled every 0.2 s), publish.yml run by act on the labeled payload; minus the "
                "pure upload time = artifact bytes / loopback throughput (curl figure)"})
    return [api_fig, lat_fig]
