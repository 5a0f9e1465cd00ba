"""`valet sandbox admin`: docs/cli.md's "Create a world from nothing", run line by line
against a sandbox of its own, builds the world the page says it builds."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import requests

from valet.cli import main
from valet.sandbox import Sandbox

pytestmark = pytest.mark.sandbox

CLI_MD = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def walkthrough() -> list[list[str]]:
    text = CLI_MD.read_text(encoding="utf-8")
    start = text.index("#### Create a world from nothing")
    end = text.index("\n#### ", start + 1)
    return [[line for line in block.splitlines() if line.strip() and not line.startswith("#")]
            for block in re.findall(r"```sh\n(.*?)```", text[start:end], re.DOTALL)]


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Any:
    with Sandbox() as sb:  # what the page's first block starts, without the registries
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


def test_the_documented_walkthrough_creates_the_world(world: Any) -> None:
    start, commands = walkthrough()
    assert start == ["valet sandbox --no-registries"]
    assert len(commands) >= 10
    out: dict[str, str] = {}
    for line in commands:
        argv = shlex.split(line)
        assert argv[:3] == ["valet", "sandbox", "admin"] and not set("$|&;`") & set(line), line
        code, out[line] = run(*argv[1:])
        assert code == 0, line

    tokens = {line.split()[-1] if "create-token" in line else line.split()[4]: printed
              for line, printed in out.items() if "create-token" in line or "create-app" in line}
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
    assert _api(world, alice, "/repos/acme/sdk/commits/main/status")["state"] == "success"
    runs = _api(world, alice, "/repos/acme/sdk/commits/main/check-runs")["check_runs"]
    assert [(r["name"], r["conclusion"]) for r in runs] == [("tests", "success")]
    log = out["valet sandbox admin requests"].splitlines()
    assert log == []  # seeding goes through the admin API, which the log leaves out


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
