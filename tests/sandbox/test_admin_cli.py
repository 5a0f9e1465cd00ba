"""`valet sandbox admin`: docs/cli.md's "Create a world from nothing", run line by line
against a sandbox of its own (the services its first line names), builds the world the
page says it builds, and its trusted-publishing rehearsal publishes as the page says."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.unit.targets.ctx import make_crate, make_ctx
from valet.cli import build_parser, main
from valet.commands import sandbox as sandbox_command
from valet.errors import TrustedPublishingError
from valet.sandbox import Sandbox
from valet.targets.base import State
from valet.targets.crates import CratesTarget

pytestmark = pytest.mark.sandbox

CLI_MD = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def walkthrough() -> list[list[str]]:
    text = CLI_MD.read_text(encoding="utf-8")
    start = text.index("#### Create a world from nothing")
    end = text.index("\n#### ", start + 1)
    return [[line for line in block.splitlines() if line.strip() and not line.startswith("#")]
            for block in re.findall(r"```sh\n(.*?)```", text[start:end], re.DOTALL)]


def _services(start: list[str]) -> tuple[str, ...]:
    """The services the page's `valet sandbox ...` line asks for, read by the CLI's parser."""
    (line,) = start
    args = build_parser().parse_args(shlex.split(line)[1:])
    assert args.func is sandbox_command.run, line
    return sandbox_command.services_of(args)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Any:
    # What the page's first block starts (in this process, as the CLI would).
    with Sandbox(services=_services(walkthrough()[0])) as sb:
        monkeypatch.setenv("VALET_SANDBOX_ADMIN_URL", sb.server_url + "/_sandbox")
        yield sb


def run(*argv: str) -> tuple[int, str]:
    """One CLI call and what it printed. Printing tokens is this command's job: its stdout
    is read here, not left in the test's captured output (which must hold no token)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(list(argv))
    return code, buf.getvalue().strip()


def _api(sb: Any, token: str, path: str) -> Any:
    resp = requests.get(sb.api_url + path, headers={"Authorization": f"token {token}"},
                        timeout=30)
    assert resp.status_code == 200, (path, resp.status_code, resp.text)
    return resp.json()


def test_the_documented_walkthrough_creates_the_world(world: Any, tmp_path: Path) -> None:
    start, commands = walkthrough()
    assert world.services == ("crates", "trusted-publishing")  # nothing that spawns
    assert len(commands) >= 10
    out: dict[str, str] = {}
    for line in commands:
        argv = shlex.split(line)
        assert argv[:3] == ["valet", "sandbox", "admin"] and not set("$|&;`") & set(line), line
        code, out[line] = run(*argv[1:])
        assert code == 0, line

    tokens = {line.split()[-1] if "create-token" in line else line.split()[4]: printed
              for line, printed in out.items() if "create-token" in line or "create-app" in line}
    (id_request_token,) = [printed for line, printed in out.items()
                           if "create-oidc-token" in line]
    alice, riley = tokens["alice"], tokens["riley"]
    release, publish = tokens["acme-release"], tokens["acme-publish"]
    assert _api(world, alice, "/user")["login"] == "alice"
    assert _api(world, release, "/user")["login"] == "acme-release[bot]"
    sdk = _api(world, alice, "/repos/acme/sdk")
    assert sdk["owner"]["type"] == "Organization" and sdk["description"] == "the SDK"
    assert sdk["permissions"]["push"] and not sdk["permissions"]["admin"]
    assert _api(world, alice, "/repos/acme/sdk/branches/main")["protected"] is True
    rules = _api(world, alice, "/repos/acme/sdk/rules/branches/main")
    assert [r["type"] for r in rules] == ["deletion", "non_fast_forward", "pull_request"]
    ruleset = _api(world, publish, f"/repos/acme/sdk/rulesets/{rules[0]['ruleset_id']}")
    assert ruleset["current_user_can_bypass"] == "always"  # the publish App merges directly
    assert _api(world, riley, "/repos/acme/publish/collaborators/riley/permission")[
        "role_name"] == "maintain"
    assert _api(world, riley, "/orgs/acme/teams/release-engineers/memberships/riley")[
        "state"] == "active"
    for bot in (release, publish):
        assert _api(world, bot, "/repos/acme/publish")["permissions"]["push"]
        assert _api(world, bot, "/repos/acme/sdk")["permissions"]["push"]
    # the destinations of the registry and brew targets: the publish App writes there
    assert _api(world, publish, "/repos/acme/release-registry")["default_branch"] == "master"
    for dest in ("acme/release-registry", "acme/homebrew-tap"):
        assert _api(world, publish, f"/repos/{dest}")["permissions"]["push"]
        assert not _api(world, release, f"/repos/{dest}")["permissions"]["push"]
    assert _api(world, alice, "/repos/acme/sdk/commits/main/status")["state"] == "success"
    runs = _api(world, alice, "/repos/acme/sdk/commits/main/check-runs")["check_runs"]
    assert [(r["name"], r["conclusion"]) for r in runs] == [("tests", "success")]
    log = out["valet sandbox admin requests"].splitlines()
    assert log == []  # seeding goes through the admin API, which the log leaves out

    # The trusted-publishing rehearsal the page describes, with the exported variables only.
    env = world.env()
    assert env["CRATES_API_URL"] == world.fronts.crates.url.rstrip("/")  # the exchange
    first = make_crate(tmp_path / "first", name="acme-sdk", version="1.0.0")
    by_token = _crates_ctx(tmp_path / "first", first, "1.0.0", {
        "CRATES_API_URL": env["CRATES_API_URL"],
        "CARGO_REGISTRY_TOKEN": env["CARGO_REGISTRY_TOKEN"]})
    CratesTarget().publish(by_token)  # through the exchange, which passes the token on
    job = {"CRATES_API_URL": env["CRATES_API_URL"],
           "ACTIONS_ID_TOKEN_REQUEST_URL": env["ACTIONS_ID_TOKEN_REQUEST_URL"],
           "ACTIONS_ID_TOKEN_REQUEST_TOKEN": id_request_token}
    second = make_crate(tmp_path / "second", name="acme-sdk", version="1.0.1")
    ctx = _crates_ctx(tmp_path / "second", second, "1.0.1", job)
    assert CratesTarget().status(ctx).state is State.ABSENT
    CratesTarget().publish(ctx)
    assert CratesTarget().status(ctx).state is State.PUBLISHED
    assert set(world.crates.crates) == {("acme_sdk", "1.0.0"), ("acme_sdk", "1.0.1")}
    exchanges = world.fronts.crates.exchanges
    assert [(e.outcome, e.packages) for e in exchanges] == [
        ("minted", ("acme_sdk",)), ("revoked", ("acme_sdk",))]
    # A job of another workflow of the same repository gets no token.
    code, other = run("sandbox", "admin", "create-oidc-token", "acme/publish",
                      "--workflow", "release.yml")
    assert code == 0
    third = make_crate(tmp_path / "third", name="acme-sdk", version="1.0.2")
    refused = _crates_ctx(tmp_path / "third", third, "1.0.2",
                          {**job, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": other})
    with pytest.raises(TrustedPublishingError, match="No matching Trusted Publishing config"):
        CratesTarget().publish(refused)
    assert ("acme_sdk", "1.0.2") not in world.crates.crates


def _crates_ctx(tmp_path: Path, crate: Path, version: str, env: dict[str, str]) -> Any:
    return make_ctx(tmp_path, [crate], name="crates", version=version, env=env)


def test_errors_say_what_to_do(world: Any, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "admin", "set-permission", "nobody/nothing", "x", "read"]) == 16
    assert "no repository nobody/nothing" in capsys.readouterr().err
    assert main(["sandbox", "admin", "set-ci", "acme/sdk", "main", "--status", "ci"]) == 2
    monkeypatch.delenv("VALET_SANDBOX_ADMIN_URL")
    assert main(["sandbox", "admin", "create-org", "x"]) == 2
    assert "VALET_SANDBOX_ADMIN_URL" in capsys.readouterr().err


def test_requests_lists_the_api_calls_made(world: Any) -> None:
    code, token = run("sandbox", "admin", "create-token", "carol")
    assert code == 0
    _api(world, token, "/user")
    assert run("sandbox", "admin", "requests", "--clear") == (0, "GET /api/v3/user 200 carol")
    assert run("sandbox", "admin", "requests") == (0, "")


def test_create_repo_from_a_directory_keeps_its_symlinks(world: Any, tmp_path: Path) -> None:
    # A release registry's layout: latest.json is a link to the newest version file.
    src = tmp_path / "registry"
    (src / "packages/npm/@acme/sdk").mkdir(parents=True)
    (src / "packages/npm/@acme/sdk/1.0.0.json").write_text('{"version": "1.0.0"}\n')
    os.symlink("1.0.0.json", src / "packages/npm/@acme/sdk/latest.json")
    assert run("sandbox", "admin", "create-repo", "acme/registry", "--from", str(src))[0] == 0
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", world.git_url("acme/registry"), str(clone)],
                   check=True, capture_output=True)
    link = clone / "packages/npm/@acme/sdk/latest.json"
    assert link.is_symlink() and os.readlink(link) == "1.0.0.json"


def test_trusted_publisher_errors_say_what_to_do(
        world: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("sandbox", "admin", "create-repo", "acme/publish")[0] == 0
    # no pypiserver runs in this world, so no PyPI exchange either
    assert main(["sandbox", "admin", "add-trusted-publisher", "pypi", "acme", "acme/publish"]) == 16
    err = capsys.readouterr().err
    assert "no trusted-publishing exchange for pypi is running" in err
    assert "--with trusted-publishing" in err
    assert main(["sandbox", "admin", "add-trusted-publisher", "crates", "acme-sdk",
                 "acme/nothing"]) == 16
    assert "no repository 'acme/nothing'" in capsys.readouterr().err
    assert main(["sandbox", "admin", "add-trusted-publisher", "crates", "acme-sdk",
                 "acme/publish", "--workflow", ".github/workflows/publish.yml"]) == 16
    assert "a file name under .github/workflows" in capsys.readouterr().err
    code, printed = run("sandbox", "admin", "add-trusted-publisher", "crates", "Acme-SDK",
                        "acme/publish", "--any-environment")
    assert (code, printed) == (0, "trusted publisher of crates acme_sdk: acme/publish "
                                  ".github/workflows/publish.yml (any environment)")
    assert world.admin.trusted_publishers() == [
        {"registry": "crates", "package": "acme_sdk", "repository": "acme/publish",
         "workflow": "publish.yml", "environment": None}]
