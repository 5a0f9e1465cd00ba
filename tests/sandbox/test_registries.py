"""The sandbox's real registries accept an upload once and refuse the same version again."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures.registries import npm_available, twine_cmd
from valet.errors import SandboxError
from valet.sandbox import registries as regmod
from valet.sandbox.registries import Registries

pytestmark = pytest.mark.sandbox


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _twine_upload(regs: Registries, files: list[Path]) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", **regs.env(), "TWINE_NON_INTERACTIVE": "1"}
    return subprocess.run([*twine_cmd(), "upload", "--disable-progress-bar",
                           *map(str, files)], env=env, capture_output=True, text=True)


def _index_digests(regs: Registries, project: str) -> dict[str, str]:
    with urllib.request.urlopen(f"{regs.pypi_index_url}{project}/", timeout=10) as resp:
        page = resp.read().decode()
    return dict((m.group(1), m.group(2))
                for m in re.finditer(r'href="[^"]*/([^/"#]+)#sha256=([0-9a-f]{64})"', page))


def test_twine_upload_then_same_version_refused(
        registries: Registries, make_python_dist: Callable[..., list[Path]]) -> None:
    project = f"valet-probe-{uuid.uuid4().hex[:8]}"
    first = make_python_dist(project, "1.0.0", payload="first")
    done = _twine_upload(registries, first)
    assert done.returncode == 0, done.stdout + done.stderr

    served = _index_digests(registries, project)
    assert served == {f.name: _sha256(f) for f in first}

    # Same version, different bytes: the index must refuse it and keep the original.
    second = make_python_dist(project, "1.0.0", payload="second, different bytes")
    assert {f.name for f in second} == set(served)
    assert {_sha256(f) for f in second}.isdisjoint(served.values())
    log = registries.state_dir / "pypi" / "pypiserver.log"
    already = log.read_text().count("already exists")
    again = _twine_upload(registries, second[:1])
    assert again.returncode != 0
    # pypiserver answers twine 400 (as pypi.org does) and anyone else 409.
    assert "400 Bad Request" in again.stdout + again.stderr, again.stdout + again.stderr
    assert log.read_text().count("already exists") == already + 1
    assert _index_digests(registries, project) == served


def test_pypi_upload_needs_the_password(
        registries: Registries, make_python_dist: Callable[..., list[Path]]) -> None:
    files = make_python_dist(f"valet-probe-{uuid.uuid4().hex[:8]}", "0.1.0")
    env = {"PATH": "/usr/bin:/bin", **registries.env(), "TWINE_PASSWORD": "wrong",
           "TWINE_NON_INTERACTIVE": "1"}
    proc = subprocess.run([*twine_cmd(), "upload", "--disable-progress-bar", str(files[0])],
                          env=env, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "403" in proc.stdout + proc.stderr or "401" in proc.stdout + proc.stderr


@pytest.mark.skipif(not npm_available(), reason="npm is not installed")
def test_npm_publish_then_same_version_refused(
        registries: Registries, make_npm_tarball: Callable[..., Path],
        npm_env: Callable[[Registries], dict[str, str]]) -> None:
    name = f"@valet-probe/pkg-{uuid.uuid4().hex[:8]}"
    env = npm_env(registries)
    first = make_npm_tarball(name, "1.0.0", payload="first")
    done = subprocess.run(["npm", "publish", str(first), "--ignore-scripts",
                           "--registry", registries.npm_url, "--access", "public"],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr

    encoded = name.replace("/", "%2f")
    with urllib.request.urlopen(f"{registries.npm_url}{encoded}", timeout=10) as resp:
        packument = json.load(resp)
    shasum = hashlib.sha1(first.read_bytes()).hexdigest()  # noqa: S324 - npm's own field
    assert packument["versions"]["1.0.0"]["dist"]["shasum"] == shasum

    second = make_npm_tarball(name, "1.0.0", payload="second, different bytes")
    again = subprocess.run(["npm", "publish", str(second), "--ignore-scripts",
                            "--registry", registries.npm_url, "--access", "public"],
                           env=env, capture_output=True, text=True)
    assert again.returncode != 0
    out = again.stdout + again.stderr
    # npm 11 checks the packument first and refuses on its own, so the registry's
    # refusal is shown with the same PUT npm would send.
    assert "cannot publish over the previously published versions" in out, out
    status, answer = _npm_put(registries, name, "1.0.0", second)
    assert status in (403, 409), (status, answer)
    assert "previously published" in answer or "already" in answer, answer
    with urllib.request.urlopen(f"{registries.npm_url}{encoded}", timeout=10) as resp:
        assert json.load(resp)["versions"]["1.0.0"]["dist"]["shasum"] == shasum


def _npm_put(regs: Registries, name: str, version: str, tarball: Path,
             token: str | None = None) -> tuple[int, str]:
    """PUT /<name> with the document `npm publish` sends; returns (status, body)."""
    data = tarball.read_bytes()
    filename = f"{name}-{version}.tgz"
    doc = {
        "_id": name, "name": name, "dist-tags": {"latest": version},
        "versions": {version: {
            "name": name, "version": version, "_id": f"{name}@{version}",
            "dist": {"shasum": hashlib.sha1(data).hexdigest(),  # noqa: S324
                     "tarball": f"{regs.npm_url}{name}/-/{filename}"}}},
        "_attachments": {filename: {"content_type": "application/octet-stream",
                                    "data": base64.b64encode(data).decode(),
                                    "length": len(data)}},
    }
    req = urllib.request.Request(
        f"{regs.npm_url}{name.replace('/', '%2f')}", data=json.dumps(doc).encode(),
        method="PUT", headers={"Content-Type": "application/json",
                               "Authorization": f"Bearer {token or regs.npm_token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_npm_publish_without_token_refused(
        registries: Registries, make_npm_tarball: Callable[..., Path],
        npm_env: Callable[[Registries], dict[str, str]], tmp_path: Path) -> None:
    if not npm_available():
        pytest.skip("npm is not installed")
    env = npm_env(registries)
    anonymous = tmp_path / "anon.npmrc"
    anonymous.write_text(f"registry={registries.npm_url}\n")
    env["NPM_CONFIG_USERCONFIG"] = str(anonymous)
    tarball = make_npm_tarball(f"valet-probe-{uuid.uuid4().hex[:8]}", "1.0.0")
    proc = subprocess.run(["npm", "publish", str(tarball), "--ignore-scripts",
                           "--registry", registries.npm_url], env=env,
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert re.search(r"\b(E401|E403|ENEEDAUTH)\b", proc.stdout + proc.stderr)


def test_env_names_point_at_the_running_registries(registries: Registries) -> None:
    env = registries.env()
    assert env["TWINE_REPOSITORY_URL"] == env["VALET_PYPI_URL"] == registries.pypi_url
    assert env["VALET_NPM_REGISTRY"] == registries.npm_url
    assert env["NPM_TOKEN"] == registries.npm_token
    req = urllib.request.Request(f"{registries.npm_url}-/whoami",
                                 headers={"Authorization": f"Bearer {registries.npm_token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert json.load(resp)["username"] == registries.npm_user
    for url in (registries.pypi_url, registries.npm_url):
        assert url.startswith("http://127.0.0.1:")


def test_registry_that_cannot_start_names_its_log(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    tools = tmp_path / "tools"
    entry = tools / "node_modules" / "verdaccio" / "bin" / "verdaccio"
    entry.parent.mkdir(parents=True)
    entry.write_text("console.error('broken verdaccio for the test'); process.exit(3);\n")
    monkeypatch.setenv("VALET_NODE_TOOLS", str(tools))
    with pytest.raises(SandboxError) as info:
        regmod.start_verdaccio(tmp_path / "state")
    assert "exited with code 3" in str(info.value)
    assert "broken verdaccio for the test" in str(info.value)
    assert regmod.processes_mentioning(str(tmp_path / "state")) == []
