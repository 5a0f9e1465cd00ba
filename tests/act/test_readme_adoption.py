"""The README's build on the real action runtime (act): the example's build job as it is.

The SDK repository holds exactly the README's `.valet.yml` (`build: python -m build`)
and a plain setuptools project. The build job is the one of the example release.yml,
unchanged except that what the prepare job would pass comes from workflow inputs. The
action's runtime is installed the way it is on GitHub — scripts/setup-runtime.sh with
no VALET_RUNTIME: a venv under RUNNER_TEMP from runtime.lock, which has no `build` —
so `python -m build` only works if it runs with the job's own Python (the one
setup-python and `pip install build` set up), never valet's venv.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.act.world import REPO_ROOT, World, git, world_fixture  # noqa: F401 - a fixture

pytestmark = [pytest.mark.act, pytest.mark.sandbox]

RELEASE_YML = REPO_ROOT / "examples" / "sdk-repo" / ".github" / "workflows" / "release.yml"


def readme_config() -> str:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    guide = readme[readme.index("## Adopt valet"):]
    block = re.search(r"```yaml\n(.*?)```", guide, re.DOTALL)
    assert block, "the adoption guide shows a .valet.yml"
    return block.group(1)


def build_job_workflow() -> str:
    """The example's build job, fed by workflow inputs instead of the prepare job."""
    example = yaml.safe_load(RELEASE_YML.read_text())
    job = dict(example["jobs"]["build"])
    job.pop("needs")
    text = yaml.safe_dump({"name": "build-only", "on": {"workflow_dispatch": {"inputs": {
        "prepared": {"required": True}, "sha": {"required": True},
        "artifact-name": {"required": True}}}}, "permissions": {}, "jobs": {"build": job}},
        sort_keys=False)
    for name in ("prepared", "sha", "artifact-name"):
        text = text.replace(f"needs.prepare.outputs.{name}", f"inputs.{name}")
    assert "needs." not in text
    return text


WORLD_SDK_FILES: dict[str, str | None] = {
    ".valet.yml": readme_config(),
    "build.py": None,  # a build.py in the project would be what `python -m build` runs
    "pyproject.toml": ('[build-system]\nrequires = ["setuptools>=61"]\n'
                       'build-backend = "setuptools.build_meta"\n\n'
                       '[project]\nname = "readme-demo"\nversion = "0.1.0"\n'),
    "src/readme_demo/__init__.py": '__version__ = "0.1.0"\n',
    ".github/workflows/build-only.yml": build_job_workflow(),
}


def _pip_cache() -> dict[str, str]:
    """This machine's pip cache, so the install downloads nothing it already has (the
    install itself is the real one: a new venv, the lock, --require-hashes)."""
    out = subprocess.run([sys.executable, "-m", "pip", "cache", "dir"], capture_output=True,
                         text=True, check=False).stdout.strip()
    return {"PIP_CACHE_DIR": out} if out and Path(out).is_dir() else {}


def test_the_readme_build_runs_on_the_real_runtime_with_the_jobs_python(world: World) -> None:
    lock = (REPO_ROOT / "requirements" / "runtime.lock").read_text()
    assert not re.search(r"(?m)^build==", lock), "the runtime itself has no `build`"
    assert "build: python -m build" in readme_config()
    sha = git(world.sdk_dir, "rev-parse", "HEAD").strip()
    prepared = {"version": "0.1.0", "sha": sha, "tag": "0.1.0", "branch": "main", "path": "."}
    event = {"inputs": {"prepared": json.dumps(prepared), "sha": sha, "artifact-name": "dist"},
             "sender": {"login": world.requester[0]},
             "repository": {"full_name": world.sdk, "name": world.sdk.split("/")[1],
                            "owner": {"login": world.org}}}
    result = world.act(world.sdk_dir, ".github/workflows/build-only.yml", "workflow_dispatch",
                       event, secrets={}, env={"VALET_RUNTIME": "", **_pip_cache()})
    assert result.ok, result.describe()
    assert "valet runtime: installing into" in result.stdout
    assert "build 1/1: python -m build" in result.stdout
    assert "No module named build" not in result.stdout
    built = re.findall(r"\|\s+(readme_demo-0\.1\.0\S*)\s+\d+ bytes\s+sha256 [0-9a-f]{64}",
                       result.stdout)
    assert sorted(set(built)) == ["readme_demo-0.1.0-py3-none-any.whl",
                                  "readme_demo-0.1.0.tar.gz"]
    assert result.output("build", "files") == "2"
    zipped = list((result.work_dir or Path()).glob("artifacts/*/dist/dist.zip"))
    assert len(zipped) == 1 and zipped[0].stat().st_size > 0
