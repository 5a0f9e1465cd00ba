"""`valet sandbox`: prints the environment, serves, and stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.sandbox


def _start(state: Path, *extra: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    env = dict(os.environ)
    for key in ("GITHUB_API_URL", "GITHUB_SERVER_URL"):
        env.pop(key, None)
    proc = subprocess.Popen([sys.executable, "-m", "valet", "sandbox", "--port", "0",
                             "--state", str(state), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    exports: dict[str, str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("export "):
            key, _, value = line[len("export "):].strip().partition("=")
            exports[key] = shlex.split(value)[0]
        if "VALET_SANDBOX_ADMIN_URL" in exports:
            break
    else:
        proc.kill()
        raise AssertionError(f"no exports; stderr: {proc.stderr.read() if proc.stderr else ''}")
    return proc, exports


def _port_closed(url: str) -> bool:
    host, port = url.split("://")[1].split("/")[0].split(":")
    with socket.socket() as s:
        return s.connect_ex((host, int(port))) != 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serves_prints_env_and_stops_cleanly(tmp_path, sig):
    proc, env = _start(tmp_path / "state", "--no-registries")
    try:
        assert env["GITHUB_API_URL"] == env["GITHUB_SERVER_URL"] + "/api/v3"
        token = env["VALET_SANDBOX_USER_TOKEN"]
        me = requests.get(f"{env['GITHUB_API_URL']}/user",
                          headers={"Authorization": f"token {token}"}, timeout=10)
        assert me.status_code == 200 and me.json()["login"] == "octocat"
        app = requests.get(f"{env['GITHUB_API_URL']}/user",
                           headers={"Authorization": f"token {env['VALET_SANDBOX_APP_TOKEN']}"},
                           timeout=10)
        assert app.json()["type"] == "Bot"
    finally:
        proc.send_signal(sig)
        rc = proc.wait(timeout=30)
    assert rc == 0
    assert _port_closed(env["GITHUB_SERVER_URL"])


def test_restart_with_state_keeps_tokens_and_repos(tmp_path):
    state = tmp_path / "state"
    proc, env = _start(state, "--no-registries")
    try:
        requests.post(f"{env['VALET_SANDBOX_ADMIN_URL']}/repos",
                      json={"full_name": "octocat/kept"}, timeout=10).raise_for_status()
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
    proc, env2 = _start(state, "--no-registries")
    try:
        assert env2["VALET_SANDBOX_USER_TOKEN"] == env["VALET_SANDBOX_USER_TOKEN"]
        repo = requests.get(f"{env2['GITHUB_API_URL']}/repos/octocat/kept",
                            headers={"Authorization": f"token {env2['VALET_SANDBOX_USER_TOKEN']}"},
                            timeout=10)
        assert repo.status_code == 200 and repo.json()["permissions"]["admin"] is True
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0


VERDACCIO = Path(__file__).resolve().parents[2] / "tools/node/node_modules/verdaccio"


@pytest.mark.skipif(not VERDACCIO.exists(), reason="verdaccio is not installed")
def test_with_registries_nothing_survives_sigterm(tmp_path):
    from valet.sandbox.registries import processes_mentioning

    state = tmp_path / "state-with-registries"
    proc, env = _start(state)
    try:
        assert requests.get(env["VALET_PYPI_INDEX_URL"], timeout=10).status_code == 200
        assert requests.get(env["VALET_NPM_REGISTRY"] + "-/ping", timeout=10).status_code == 200
        assert processes_mentioning(str(state)), "the registries run under the state dir"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    assert processes_mentioning(str(state)) == []
    assert _port_closed(env["VALET_PYPI_URL"].rstrip("/"))
    assert _port_closed(env["GITHUB_SERVER_URL"])
