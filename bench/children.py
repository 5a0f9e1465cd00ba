"""Work the benchmark runs in a child process, so its memory is measured alone.

    python -m bench.children upload  SPEC.json   # prepare's store upload
    python -m bench.children publish SPEC.json   # download + verify + pypi + github

Prints one JSON line: timings, the process's own VmHWM and the peak of the processes
it ran (twine, npm: ``getrusage(RUSAGE_CHILDREN)``, measured here rather than in the
parent because a child's rusage as its parent reads it includes the parent's forked
image before the exec: in a whole ``make bench`` that is the bench runner's size).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any


def vm_hwm_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return -1


def _store(spec: dict[str, Any]) -> Any:
    from valet import github_client
    from valet.store import open_store

    return open_store("github-release", gh=github_client.connect(spec["token"]),
                      session=github_client.session(spec["token"]), repo=spec["repo"],
                      tag=spec["version"], version=spec["version"],
                      release_id=spec.get("release_id"))


def upload(spec: dict[str, Any]) -> dict[str, Any]:
    from valet.manifest import build_manifest

    path = Path(spec["file"])
    manifest = build_manifest(spec["version"], [path], repo=spec["repo"], sha=spec["sha"])
    start = time.monotonic()
    ref = _store(spec).upload(manifest, {path.name: path})
    return {"upload_s": time.monotonic() - start, "release_id": ref.release_id,
            "artifact": manifest.artifacts[0].__dict__}


def publish(spec: dict[str, Any]) -> dict[str, Any]:
    import os

    from valet import github_client
    from valet.config import Config, TargetConfig
    from valet.manifest import Artifact
    from valet.publish import Plan, PlanItem, execute
    from valet.request import Request, TargetState
    from valet.targets import get_target
    from valet.targets.base import TargetContext

    art = Artifact(**spec["artifact"])
    work = Path(spec["work"])
    start = time.monotonic()
    files = _store(spec).download_verified([art], work / "artifacts")
    downloaded = time.monotonic()
    pypi = TargetConfig(name="pypi", options={"repository_url": spec["pypi_url"],
                                              "index_url": spec["pypi_index_url"]})
    gh = TargetConfig(name="github")
    config = Config(targets=[pypi, gh])
    request = Request(repo=spec["repo"], version=spec["version"], sha=spec["sha"],
                      targets=[TargetState("pypi", False), TargetState("github", False)],
                      artifacts=[art], release_id=spec["release_id"])
    plan = Plan(run=[PlanItem("pypi", pypi, [art.name]), PlanItem("github", gh, [art.name])])
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", ""),
           "TWINE_USERNAME": spec["pypi_user"], "TWINE_PASSWORD": spec["pypi_password"]}
    client = github_client.connect(spec["token"])

    def make_ctx(item: PlanItem) -> TargetContext:
        wd = work / "work" / item.key
        wd.mkdir(parents=True, exist_ok=True)
        return TargetContext(request=request, config=config, target=item.target,
                             files=dict(files), artifacts={art.name: art}, workdir=wd, env=env,
                             github=client)

    out = execute(plan, get_target, make_ctx, tick=lambda _k: None)
    done = time.monotonic()
    bad = [f"{r.key}: {r.outcome} {r.error}" for r in out.results.values()
           if r.outcome != "published"]
    if bad:
        raise SystemExit("publish failed: " + "; ".join(bad))
    return {"download_s": downloaded - start, "publish_s": done - downloaded}


def verify(spec: dict[str, Any]) -> dict[str, Any]:
    from valet.manifest import Artifact

    art = Artifact(**spec["artifact"])
    start = time.monotonic()
    _store(spec).download_verified([art], Path(spec["work"]))
    return {"seconds": time.monotonic() - start}


def main(argv: list[str]) -> int:
    what, spec_path = argv
    spec = json.loads(Path(spec_path).read_text())
    result = {"upload": upload, "publish": publish, "verify": verify}[what](spec)
    result["vm_hwm_kib"] = vm_hwm_kib()
    result["children_max_kib"] = int(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print("BENCH-RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
