"""`valet sandbox`: prints the environment, serves, and stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import contextlib
import io
import os
import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
import requests

from tests.unit.targets.ctx import make_crate, make_ctx
from valet.targets.crates import CratesTarget

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


def test_restart_with_state_keeps_tokens_repos_crates_and_trusted_publishers(tmp_path):
    state = tmp_path / "state"
    services = ("--no-registries", "--with", "crates,trusted-publishing")
    proc, env = _start(state, *services)
    try:
        requests.post(f"{env['VALET_SANDBOX_ADMIN_URL']}/repos",
                      json={"full_name": "octocat/kept"}, timeout=10).raise_for_status()
        _admin(env, "add-trusted-publisher", "crates", "acme-sdk", "octocat/kept")
        crate = make_crate(tmp_path, name="acme-sdk", version="1.0.0")
        CratesTarget().publish(make_ctx(tmp_path / "first", [crate], name="crates",
                                        version="1.0.0", env={
            "CRATES_API_URL": env["CRATES_API_URL"],
            "CARGO_REGISTRY_TOKEN": env["CARGO_REGISTRY_TOKEN"]}))
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
    proc, env2 = _start(state, *services)
    try:
        assert env2["VALET_SANDBOX_USER_TOKEN"] == env["VALET_SANDBOX_USER_TOKEN"]
        repo = requests.get(f"{env2['GITHUB_API_URL']}/repos/octocat/kept",
                            headers={"Authorization": f"token {env2['VALET_SANDBOX_USER_TOKEN']}"},
                            timeout=10)
        assert repo.status_code == 200 and repo.json()["permissions"]["admin"] is True
        crates = env2["CRATES_API_URL"]
        assert requests.get(f"{crates}/api/v1/crates/acme-sdk/1.0.0", timeout=10).ok
        # the new exchange knows the publisher registered before the restart
        request_token = _admin(env2, "create-oidc-token", "octocat/kept")
        minted = requests.post(f"{crates}/api/v1/trusted_publishing/tokens", timeout=10, json={
            "jwt": _id_token(env2, request_token, crates.split("://", 1)[1])})
        assert minted.status_code == 200, minted.text
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0


def _need_every_tool() -> None:
    from valet.errors import SandboxError
    from valet.sandbox import catalog
    from valet.sandbox.service import check_tools

    try:
        check_tools(catalog.SERVICES)
    except SandboxError as exc:
        # A developer machine without a tool skips; CI (CI=true) must have them all.
        if os.environ.get("CI"):
            pytest.fail(exc.message)
        pytest.skip(exc.message)


def _admin(env: dict[str, str], *argv: str) -> str:
    """One `valet sandbox admin` call with the exported variables; what it printed (tokens
    among them: read here, never left in the captured output)."""
    from valet.cli import main

    buf = io.StringIO()
    with mock.patch.dict(os.environ, env), contextlib.redirect_stdout(buf):
        assert main(["sandbox", "admin", *argv]) == 0, argv
    return buf.getvalue().strip()


def _id_token(env: dict[str, str], request_token: str, audience: str) -> str:
    resp = requests.get(env["ACTIONS_ID_TOKEN_REQUEST_URL"], params={"audience": audience},
                        headers={"Authorization": f"bearer {request_token}"}, timeout=10)
    assert resp.status_code == 200
    return str(resp.json()["value"])


def test_every_service_answers_at_its_exported_address_and_nothing_survives_sigterm(
        tmp_path: Path) -> None:
    import boto3

    from valet.sandbox.registries import processes_mentioning

    _need_every_tool()
    state = tmp_path / "state-all"
    proc, env = _start(state, "--all")
    try:
        gh = {"Authorization": f"token {env['VALET_SANDBOX_USER_TOKEN']}"}
        assert requests.get(f"{env['GITHUB_API_URL']}/user", headers=gh, timeout=10).ok
        # pypiserver and verdaccio, directly and through their exchanges (which pass the
        # registries' own tokens on untouched)
        assert requests.get(env["VALET_PYPI_INDEX_URL"], timeout=10).status_code == 200
        assert env["TWINE_REPOSITORY_URL"] == env["VALET_PYPI_URL"] != env[
            "VALET_PYPI_INDEX_URL"].removesuffix("simple/")
        assert requests.get(env["VALET_PYPI_URL"] + "simple/", timeout=10).status_code == 200
        audience = requests.get(env["VALET_PYPI_URL"] + "_/oidc/audience", timeout=10).json()
        assert audience == {"audience": "sandbox-pypi"}
        whoami = requests.get(env["VALET_NPM_REGISTRY"] + "-/whoami", timeout=10,
                              headers={"Authorization": f"Bearer {env['NPM_TOKEN']}"})
        assert whoami.status_code == 200 and whoami.json() == {"username": "valet-npm"}
        # the crates.io fake behind its exchange: a job's ID token gets a token only for a
        # package whose trusted publisher names its workflow
        crates = env["CRATES_API_URL"]
        missing = requests.get(f"{crates}/api/v1/crates/acme-sdk", timeout=10)
        assert missing.status_code == 404 and missing.json()["errors"]
        _admin(env, "create-repo", "acme/publish")
        request_token = _admin(env, "create-oidc-token", "acme/publish")
        audience_crates = crates.split("://", 1)[1]
        exchange = f"{crates}/api/v1/trusted_publishing/tokens"
        refused = requests.post(exchange, timeout=10,
                                json={"jwt": _id_token(env, request_token, audience_crates)})
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["detail"] == "No matching Trusted Publishing config found"
        _admin(env, "add-trusted-publisher", "crates", "acme-sdk", "acme/publish")
        minted = requests.post(exchange, timeout=10,
                               json={"jwt": _id_token(env, request_token, audience_crates)})
        assert minted.status_code == 200 and minted.json()["token"].startswith("cio_tp_")
        # the two container registries, each with the login it exports
        for host in (env["VALET_DOCKER_SOURCE_REGISTRY"], env["VALET_DOCKER_TARGET_REGISTRY"]):
            prefix = "DOCKER_" + host.replace(".", "_").replace(":", "_")
            assert requests.get(f"http://{host}/v2/", timeout=10).status_code == 401
            login = (env[f"{prefix}_USERNAME"], env[f"{prefix}_PASSWORD"])
            assert requests.get(f"http://{host}/v2/", auth=login, timeout=10).status_code == 200
        # fake-gcs-server, with the bucket `create-bucket` made
        _admin(env, "create-bucket", "acme-releases")
        buckets = requests.get(f"{env['STORAGE_EMULATOR_HOST']}/storage/v1/b", timeout=10)
        assert [b["name"] for b in buckets.json()["items"]] == ["acme-releases"]
        # moto, through boto3 as the aws-lambda-layer target uses it
        lam = boto3.client("lambda", region_name="us-east-1",
                           endpoint_url=env["AWS_ENDPOINT_URL"],
                           aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                           aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
        assert lam.list_layers()["Layers"] == []
        assert len(processes_mentioning(str(state))) >= 6  # 2 registries, 2 docker, gcs, moto
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    assert processes_mentioning(str(state)) == []
    for url in (env["VALET_PYPI_INDEX_URL"], env["VALET_PYPI_URL"], crates,
                env["STORAGE_EMULATOR_HOST"], env["AWS_ENDPOINT_URL"],
                "http://" + env["VALET_DOCKER_TARGET_REGISTRY"], env["GITHUB_SERVER_URL"]):
        assert _port_closed(url), url
