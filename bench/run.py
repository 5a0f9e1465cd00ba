#!/usr/bin/env python3
"""`make bench`: measure the performance figures and write bench/results.json.

Not part of `make test`. Every figure is the median of --runs runs (default 3),
with min and max. See bench/README.md for what each figure measures exactly.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `bench` is this directory, not part of the package

from bench import flow  # noqa: E402
from bench import measures as m  # noqa: E402
from bench import publish as pub  # noqa: E402
from bench.env import LatencyProxy, SandboxProcess  # noqa: E402
from bench.report import (  # noqa: E402
    Figure,
    figure,
    flat_figures,
    render_table,
    results_document,
    validate_document,
)

GIB = 1024 * 1024 * 1024
LATENCY_S = 2.0
EVERY_REQUEST_S = 0.5
TARGETS = 6
PART_FIGURES = {
    "publish": ["publish_api_calls", "publish_sequential_round_trips", "upload_latency_ratio"],
    "scale": ["calls_per_extra_target", "issue_writes.n1", "issue_writes.n32"],
    "sweep": ["sweep_calls"],
    "concurrency": ["targets_concurrency_ratio"],
    "bigfiles": ["peak_rss_mib_1gib", "verify_throughput_ratio"],
    "setup": ["action_setup_s.cold", "action_setup_s.warm"],
    "scenario": ["api_calls_per_release", "label_to_published_s"],
}
PART_FIGURES_ALL = {name for names in PART_FIGURES.values() for name in names}


def say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)


def concurrency(sb: SandboxProcess, work: Path, runs: int) -> Figure:
    """All 6 at once (max-parallel 6) / one at a time; the action's default pool too."""
    env = sb.env
    default = m.default_max_parallel()
    ratios: list[float] = []
    timings: dict[str, list[float]] = {"sequential_s": [], "all_at_once_s": [],
                                       "default_pool_s": [], "default_pool_ratio": [],
                                       "every_request_ratio": []}
    with LatencyProxy(env["VALET_NPM_REGISTRY"], LATENCY_S, methods=("PUT",)) as proxy:
        for run in range(runs):
            def timed(mode: int, parallel: int, run: int = run) -> float:
                # A new version per run and mode: a registry never takes one twice.
                return m.publish_npm_targets(proxy.url, env["NPM_TOKEN"],
                                             work / f"c{run}-{mode}", count=TARGETS,
                                             version=f"1.{run}.{mode}", max_parallel=parallel)

            t1 = timed(1, 1)
            tall = timed(2, TARGETS)
            tdef = timed(3, default)
            ratios.append(tall / t1)
            for key, value in (("sequential_s", t1), ("all_at_once_s", tall),
                               ("default_pool_s", tdef), ("default_pool_ratio", tdef / t1)):
                timings[key].append(round(value, 3))
            say(f"concurrency run {run + 1}: one at a time {t1:.2f}s, all {TARGETS} at once "
                f"{tall:.2f}s (ratio {tall / t1:.3f}), default max-parallel {default} "
                f"{tdef:.2f}s (ratio {tdef / t1:.3f})")
    # A registry far away is slow for every request, not only the upload: the
    # status checks and the reads around each upload then count too.
    with LatencyProxy(env["VALET_NPM_REGISTRY"], EVERY_REQUEST_S,
                      methods=("GET", "PUT", "POST", "DELETE")) as proxy:
        for run in range(runs):
            t1, tall = (m.publish_npm_targets(proxy.url, env["NPM_TOKEN"],
                                              work / f"e{run}-{mode}", count=TARGETS,
                                              version=f"2.{run}.{mode}", max_parallel=parallel)
                        for mode, parallel in ((1, 1), (2, TARGETS)))
            timings["every_request_ratio"].append(round(tall / t1, 3))
            say(f"every-request latency run {run + 1}: one at a time {t1:.2f}s, all at once "
                f"{tall:.2f}s (ratio {tall / t1:.3f})")
    return figure("targets_concurrency_ratio", ratios, details=dict(
        timings, targets=TARGETS, latency_s_per_upload=LATENCY_S, default_max_parallel=default,
        what="valet.publish.execute (preflight, status, publish) of 6 npm targets, one "
             "package each, real NpmTarget + npm CLI against verdaccio behind a loopback proxy "
             "adding 2 s to every PUT (the upload); max-parallel 6 divided by max-parallel 1. "
             "default_pool_*: the same with the action's default max-parallel. "
             "every_request_ratio: all at once / one at a time with 0.5 s added to every "
             "registry request instead (status reads, packument reads, the upload)"))


def big_files(sb: SandboxProcess, work: Path, runs: int, log: Path) -> list[Figure]:
    rss: list[float] = []
    det: dict[str, list[float]] = {"valet_process_mib": [], "process_tree_max_mib": [],
                                   "prepare_upload_mib": [], "download_s": [], "publish_s": []}
    spec: dict[str, Any] = {}
    for run in range(runs):
        rwork = work / f"big{run}"
        rwork.mkdir(parents=True)
        spec = m.big_release(sb, rwork, log, repo=f"acme/big{run}", version=f"1.0.{run}",
                             size=GIB)
        pub = m.publish_big(sb, spec, rwork, log)
        peak = max(pub["valet_mib"], pub["children_mib"])
        rss.append(peak)
        det["valet_process_mib"].append(round(pub["valet_mib"], 1))
        det["process_tree_max_mib"].append(round(pub["children_mib"], 1))
        det["prepare_upload_mib"].append(round(spec["upload_rss_mib"], 1))
        det["download_s"].append(round(pub["download_s"], 2))
        det["publish_s"].append(round(pub["publish_s"], 2))
        say(f"1 GiB run {run + 1}: peak RSS {peak:.1f} MiB (download {pub['download_s']:.1f}s, "
            f"pypi+github {pub['publish_s']:.1f}s; prepare upload {spec['upload_rss_mib']:.1f} MiB)")
    rss_fig = figure("peak_rss_mib_1gib", rss, details=dict(det, what=(
        "a child process runs the store's download_verified of a 1 GiB wheel from the sandbox "
        "draft release, then valet.publish.execute with the pypi (twine -> pypiserver) and "
        "github (publish the draft) targets; figure = max(VmHWM of that process, ru_maxrss "
        "of the processes it ran, read by the child: RUSAGE_CHILDREN)")))
    ratios: list[float] = []
    vdet: dict[str, list[float]] = {"valet_s": [], "curl_sha256sum_s": [], "valet_mib_s": [],
                                    "curl_mib_s": []}
    vwork = work / "verify"
    vwork.mkdir()
    for run in range(runs):
        v = m.verify_once(sb, spec, vwork, log)
        ratios.append(v["ratio"])
        vdet["valet_s"].append(round(v["valet_s"], 2))
        vdet["curl_sha256sum_s"].append(round(v["curl_s"], 2))
        vdet["valet_mib_s"].append(round(v["valet_mib_s"], 1))
        vdet["curl_mib_s"].append(round(v["curl_mib_s"], 1))
        say(f"verify run {run + 1}: valet {v['valet_mib_s']:.0f} MiB/s, curl+sha256sum "
            f"{v['curl_mib_s']:.0f} MiB/s, ratio {v['ratio']:.2f}")
    verify_fig = figure("verify_throughput_ratio", ratios, details=dict(vdet, what=(
        "throughput of GitHubReleaseStore.download_verified (find release, list assets, "
        "stream + sha256 + fsync, in a child process) divided by `curl -sSfL -o` then "
        "`sha256sum` of the same asset URL, same run, same 1 GiB")))
    return [rss_fig, verify_fig]


def setup(work: Path, runs: int, log: Path) -> list[Figure]:
    work.mkdir(parents=True, exist_ok=True)
    cold: list[float] = []
    warm: list[float] = []
    for run in range(runs):
        rt, cache = work / f"rt{run}", work / f"pip{run}"
        rt.mkdir()
        cache.mkdir()
        cold.append(m.setup_runtime(rt, cache, log))
        warm.append(m.setup_runtime(rt, cache, log))
        say(f"setup run {run + 1}: cold {cold[-1]:.1f}s, warm {warm[-1]:.3f}s")
        shutil.rmtree(rt, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)
    what = ("scripts/setup-runtime.sh with a fresh RUNNER_TEMP and an empty PIP_CACHE_DIR "
            "(cold), then again in the same RUNNER_TEMP (warm: the venv of that lock hash is "
            "reused). Wheels come from this machine's pip configuration (local mirror)")
    return [figure("action_setup_s.cold", cold, details={"what": what}),
            figure("action_setup_s.warm", warm, details={"what": what})]


def scenario_figures(work: Path, runs: int, figures: list[Figure]) -> list[Figure]:
    # The curl throughput of the 1 GiB figure, if measured: the "pure upload" rate.
    rate = None
    for fig in figures:
        if fig.name == "verify_throughput_ratio":
            rate = sorted(fig.details["curl_mib_s"])[len(fig.details["curl_mib_s"]) // 2]
    return flow.measure(work, runs, say, rate)


def _previous(path: Path, measured: set[str]) -> list[Figure]:
    """With --only: the figures of the other parts from the last results.json, kept as they were."""
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    out = []
    for name, fig in flat_figures(old).items():
        if name in measured or name not in PART_FIGURES_ALL or not fig.get("samples"):
            continue
        kept = figure(name, fig["samples"], details=fig.get("details"),
                      note=f"kept from the run of {old.get('meta', {}).get('date', '?')}")
        out.append(kept)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--runs", type=int, default=3, help="runs per figure (default 3)")
    p.add_argument("--only", action="append", default=[],
                   choices=list(PART_FIGURES))
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    args = p.parse_args(argv)
    parts = args.only or list(PART_FIGURES)
    free = shutil.disk_usage(tempfile.gettempdir()).free
    if "bigfiles" in parts and free < 6 * GIB:
        say(f"only {free / GIB:.1f} GiB free in {tempfile.gettempdir()}: skipping the 1 GiB figures")
        parts.remove("bigfiles")
    measured = {name for part in parts for name in PART_FIGURES[part]}
    kept = _previous(args.out, measured) if args.only else []
    started = time.monotonic()
    figures: list[Figure] = []
    errors: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="valet-bench-") as tmp:
        work = Path(tmp)
        log = work / "bench.log"
        keep_log = Path(tempfile.gettempdir()) / "valet-bench.log"

        def step(name: str, fn: Callable[[], list[Figure]]) -> None:
            if name not in parts:
                return
            say(f"{name}: start")
            t = time.monotonic()
            try:
                figures.extend(fn())
            except Exception as exc:  # noqa: BLE001 - one failed figure must not lose the rest
                errors[name] = f"{type(exc).__name__}: {exc}"
                traceback.print_exc()
            say(f"{name}: {time.monotonic() - t:.0f}s")

        step("setup", lambda: setup(work / "setup", args.runs, log))
        if {"concurrency", "bigfiles", "publish", "scale", "sweep"} & set(parts):
            with SandboxProcess(work / "sandbox.log") as sb:
                step("publish", lambda: pub.three_targets(sb, work / "pub", args.runs, say))
                step("scale", lambda: pub.scale(sb, work / "scale", args.runs, say))
                step("sweep", lambda: pub.sweep(sb, work / "sweep", args.runs, say))
                step("concurrency", lambda: [concurrency(sb, work / "conc", args.runs)])
                step("bigfiles", lambda: big_files(sb, work / "big", args.runs, log))
        # The scenario starts its own sandbox and registries (and act).
        step("scenario", lambda: scenario_figures(work / "scenario", args.runs,
                                                            figures + kept))
        if log.exists():
            shutil.copyfile(log, keep_log)
            say(f"log of the child processes: {keep_log}")
    meta = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "host": {"cpus": os.cpu_count(), "python": platform.python_version(),
                     "platform": platform.platform()},
            "runs": args.runs, "total_s": round(time.monotonic() - started, 1),
            "errors": errors}
    doc = results_document(figures + kept, meta=meta)
    flat = flat_figures(doc)
    for part, err in errors.items():
        for name in PART_FIGURES[part]:
            if not flat[name]["samples"]:
                flat[name]["note"] = f"not measured: {part} failed: {err}"
    for part in {"bigfiles", "scenario"} - set(parts) - set(errors):
        for name in PART_FIGURES[part]:
            if not flat[name]["samples"] and flat[name]["note"] == "not measured":
                flat[name]["note"] = "not measured: not selected, or not enough disk space"
    problems = validate_document(doc)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    print()
    print(render_table(doc))
    print(f"\nwritten to {args.out} in {meta['total_s']:.0f}s")
    if problems:
        print("results document problems: " + "; ".join(problems), file=sys.stderr)
    return 1 if errors or problems else 0


if __name__ == "__main__":
    sys.exit(main())
