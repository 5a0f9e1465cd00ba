"""One function per figure; each returns one sample (and what it measured)."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from valet.config import Config, TargetConfig
from valet.manifest import artifact_for
from valet.request import Request, TargetState

REPO_ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024


# -- artifacts --------------------------------------------------------------------------


def npm_tarball(dest: Path, name: str, version: str) -> Path:
    """A minimal npm tarball (package/package.json + index.js), as `npm pack` lays it out."""
    manifest = json.dumps({"name": name, "version": version, "main": "index.js",
                           "license": "MIT"}).encode()
    path = dest / f"{name}-{version}.tgz"
    with tarfile.open(path, "w:gz") as tar:
        for member, data in (("package/package.json", manifest),
                             ("package/index.js", b"module.exports = 1;\n")):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return path


def big_wheel(dest: Path, project: str, version: str, size: int) -> Path:
    """A valid wheel of about ``size`` bytes: one stored (uncompressed) data member.

    Content: 1 MiB of random bytes repeated, each block stamped with its index,
    so no two blocks are equal and writing 1 GiB takes seconds, not minutes.
    """
    module = project.replace("-", "_")
    path = dest / f"{module}-{version}-py3-none-any.whl"
    dist_info = f"{module}-{version}.dist-info"
    seed = os.urandom(MIB)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        with zf.open(f"{module}/data.bin", "w", force_zip64=True) as fh:
            left, i = size, 0
            while left > 0:
                block = i.to_bytes(8, "big") + seed[8:]
                fh.write(block[:left])
                left -= len(block)
                i += 1
        zf.writestr(f"{module}/__init__.py", "")
        zf.writestr(f"{dist_info}/METADATA", f"Metadata-Version: 2.1\nName: {project}\n"
                    f"Version: {version}\nSummary: valet benchmark payload\n")
        zf.writestr(f"{dist_info}/WHEEL", "Wheel-Version: 1.0\nGenerator: valet-bench\n"
                    "Root-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr(f"{dist_info}/RECORD", "")
    return path


# -- targets_concurrency_ratio --------------------------------------------------------------


def publish_npm_targets(registry: str, token: str, work: Path, *, count: int, version: str,
                        max_parallel: int) -> float:
    """Wall time of valet.publish.execute (preflight, status, publish) for ``count``
    independent npm targets, one package each, against ``registry``."""
    from valet.publish import Plan, PlanItem, execute
    from valet.targets import get_target
    from valet.targets.base import TargetContext

    dist = work / "dist"
    dist.mkdir(parents=True, exist_ok=True)
    files = [npm_tarball(dist, f"valet-bench-c{i}", version) for i in range(count)]
    arts = {p.name: artifact_for(p) for p in files}
    targets = [TargetConfig(name="npm", id=f"valet-bench-c{i}", options={"registry": registry},
                            include_names=re.compile(re.escape(p.name) + "$"))
               for i, p in enumerate(files)]
    config = Config(targets=targets)
    request = Request(repo="acme/sdk", version=version, sha="a" * 40,
                      targets=[TargetState(t.key, False) for t in targets],
                      artifacts=list(arts.values()))
    plan = Plan(run=[PlanItem(t.key, t, [p.name]) for t, p in zip(targets, files, strict=True)])
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", ""),
           "NPM_TOKEN": token}

    def make_ctx(item: PlanItem) -> TargetContext:
        wd = work / "work" / item.key.replace("[", "_").replace("]", "")
        wd.mkdir(parents=True, exist_ok=True)
        return TargetContext(request=request, config=config, target=item.target,
                             files={n: dist / n for n in item.files},
                             artifacts={n: arts[n] for n in item.files}, workdir=wd, env=env)

    start = time.monotonic()
    out = execute(plan, get_target, make_ctx, tick=lambda _k: None, max_parallel=max_parallel)
    elapsed = time.monotonic() - start
    bad = [f"{r.key}: {r.outcome} {r.error}" for r in out.results.values() if r.outcome != "published"]
    if bad:
        raise RuntimeError("npm publish failed in the benchmark: " + "; ".join(bad))
    return elapsed


def default_max_parallel() -> int:
    """What `valet publish` uses when the action's max-parallel input is left alone."""
    import dataclasses

    from valet.publish import Settings

    default: Any = {f.name: f for f in dataclasses.fields(Settings)}["max_parallel"].default
    return int(default)


# -- child processes (peak RSS) ----------------------------------------------------------


def run_child(what: str, spec: Mapping[str, Any], work: Path, env: Mapping[str, str],
              log: Path) -> tuple[dict[str, Any], int]:
    """Run bench.children ``what``; (its JSON result, peak RSS KiB of its descendants).

    The child reports the peak of the processes it waited for (twine, npm). wait4's
    rusage here would count this process's forked image before the child's exec:
    the bench runner's own size, not valet's or twine's.
    """
    spec_path = work / f"{what}-spec.json"
    spec_path.write_text(json.dumps(dict(spec)))
    with open(log, "ab") as err:
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bench.children", what, str(spec_path)],
            stdout=subprocess.PIPE, stderr=err, env=_with_bench_path(env), cwd=str(work))
        assert proc.stdout is not None
        output = proc.stdout.read().decode(errors="replace")
        _pid, status, _usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    result = None
    for line in output.splitlines():
        if line.startswith("BENCH-RESULT "):
            result = json.loads(line[len("BENCH-RESULT "):])
    if proc.returncode != 0 or result is None:
        raise RuntimeError(f"children {what} failed (exit {proc.returncode}); see {log}\n"
                           + output[-2000:])
    return result, int(result.get("children_max_kib", 0))


def _with_bench_path(env: Mapping[str, str]) -> dict[str, str]:
    """The child imports ``bench`` from this checkout (it is not installed with valet)."""
    out = dict(env)
    out["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), out.get("PYTHONPATH", ""))
                                        if p)
    return out


def sandbox_repo(admin: Any, api_url: str, repo: str, login: str = "bench") -> tuple[str, str]:
    """A repo ``login`` administers; (token, sha of main)."""
    import requests

    token = admin.create_token(login)
    admin.create_repo(repo, files={"README.md": "valet benchmark\n"})
    admin.set_permission(repo, login, "admin")
    resp = requests.get(f"{api_url}/repos/{repo}/branches/main",
                        headers={"Authorization": f"Bearer {token}"}, timeout=30)
    resp.raise_for_status()
    return token, str(resp.json()["commit"]["sha"])


def child_env(sandbox_env: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
    env.update({k: v for k, v in sandbox_env.items() if k.startswith("GITHUB_")})
    return env


def big_release(sb: Any, work: Path, log: Path, *, repo: str, version: str,
                size: int) -> dict[str, Any]:
    """Generate a ``size`` wheel, upload it as prepare does (in a child); the spec of it."""
    token, sha = sandbox_repo(sb.admin, sb.info["api_url"], repo)
    dist = work / "dist"
    dist.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    wheel = big_wheel(dist, "valet-bench-big", version, size)
    generated = time.monotonic() - start
    spec: dict[str, Any] = {"token": token, "repo": repo, "version": version, "sha": sha,
                            "file": str(wheel)}
    result, kids = run_child("upload", spec, work, child_env(sb.env), log)
    wheel.unlink()  # the publish side gets it from the store
    spec.update(release_id=result["release_id"], artifact=result["artifact"],
                generate_s=generated, upload_s=result["upload_s"],
                upload_rss_mib=max(result["vm_hwm_kib"], kids) / 1024)
    return spec


def publish_big(sb: Any, spec: Mapping[str, Any], work: Path, log: Path) -> dict[str, Any]:
    """download + verify + pypi + github of the big release, in a child: its peak RSS."""
    env = sb.env
    full = dict(spec, work=str(work), pypi_url=env["VALET_PYPI_URL"],
                pypi_index_url=env["VALET_PYPI_INDEX_URL"], pypi_user=env["TWINE_USERNAME"],
                pypi_password=env["TWINE_PASSWORD"])
    result, kids = run_child("publish", full, work, child_env(env), log)
    shutil.rmtree(work / "artifacts", ignore_errors=True)
    return {"valet_mib": result["vm_hwm_kib"] / 1024, "children_mib": kids / 1024,
            "download_s": result["download_s"], "publish_s": result["publish_s"]}


def asset_url(sb: Any, spec: Mapping[str, Any]) -> str:
    import requests

    api = sb.info["api_url"]
    resp = requests.get(f"{api}/repos/{spec['repo']}/releases/{spec['release_id']}/assets",
                        headers={"Authorization": f"Bearer {spec['token']}"}, timeout=30)
    resp.raise_for_status()
    name = spec["artifact"]["name"]
    (asset,) = [a for a in resp.json() if a["name"] == name]
    return f"{api}/repos/{spec['repo']}/releases/assets/{asset['id']}"


def verify_once(sb: Any, spec: Mapping[str, Any], work: Path, log: Path) -> dict[str, float]:
    """Seconds for the store's download_verified (in a child) and for curl -o + sha256sum."""
    art = spec["artifact"]
    dest = work / "verify"
    result, _ = run_child("verify", dict(spec, work=str(dest)), work, child_env(sb.env), log)
    valet_s = float(result["seconds"])
    shutil.rmtree(dest, ignore_errors=True)
    headers = work / "curl-headers"
    headers.write_text(f"Authorization: Bearer {spec['token']}\n"
                       "Accept: application/octet-stream\n")
    headers.chmod(0o600)
    out = work / "curl.bin"
    start = time.monotonic()
    subprocess.run(["curl", "-sS", "-f", "-L", "-H", f"@{headers}", "-o", str(out),
                    asset_url(sb, spec)], check=True)
    digest = subprocess.run(["sha256sum", str(out)], check=True, capture_output=True,
                            text=True).stdout.split()[0]
    curl_s = time.monotonic() - start
    out.unlink()
    if digest != art["sha256"]:
        raise RuntimeError("curl fetched other bytes than the approved artifact")
    return {"valet_s": valet_s, "curl_s": curl_s, "ratio": curl_s / valet_s,
            "valet_mib_s": art["size"] / MIB / valet_s, "curl_mib_s": art["size"] / MIB / curl_s}




# -- action_setup_s -------------------------------------------------------------------------


def setup_runtime(runner_temp: Path, pip_cache: Path, log: Path) -> float:
    """Seconds for scripts/setup-runtime.sh (the first step of every action)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VALET_RUNTIME", "GITHUB_PATH", "GITHUB_ENV", "VIRTUAL_ENV")}
    env.update(RUNNER_TEMP=str(runner_temp), PIP_CACHE_DIR=str(pip_cache))
    # The interpreter the actions get from the runner image, not our .venv.
    env["VALET_PYTHON"] = os.environ.get("VALET_BENCH_PYTHON") or _base_python()
    start = time.monotonic()
    with open(log, "ab") as out:
        subprocess.run(["bash", str(REPO_ROOT / "scripts" / "setup-runtime.sh")], env=env,
                       stdout=out, stderr=subprocess.STDOUT, check=True)
    return time.monotonic() - start


def _base_python() -> str:
    base = Path(getattr(sys, "_base_executable", "") or sys.executable)
    return str(base) if base.exists() else (shutil.which("python3") or sys.executable)
