"""The pre-release command: no shell, versions as last two args, minimal environment."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from valet.bump.command import command_argv, minimal_env, run_pre_release_command
from valet.errors import BuildError, ConfigError

DUMP = ("import json, os, sys; json.dump({'argv': sys.argv[1:], 'env': dict(os.environ)}, "
        "open('out.json', 'w'))")


def test_arguments_environment_and_no_shell(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_secret")
    monkeypatch.setenv("INPUT_GITHUB_TOKEN", "ghs_secret")
    monkeypatch.setenv("GITHUB_REPOSITORY", "o/r")
    monkeypatch.setenv("NPM_TOKEN", "npm_secret")
    monkeypatch.setenv("LANG", "C.UTF-8")
    script = tmp_path / "bump.py"
    script.write_text(DUMP)
    command = f"{sys.executable} bump.py --flag '$HOME; rm -rf x' `id`"
    run_pre_release_command(command, "1.2.3", "1.3.0", tmp_path)
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["argv"] == ["--flag", "$HOME; rm -rf x", "`id`", "1.2.3", "1.3.0"]
    env = out["env"]
    assert env["CRAFT_OLD_VERSION"] == "1.2.3" and env["CRAFT_NEW_VERSION"] == "1.3.0"
    allowed = {"PATH", "HOME", "LANG", "CRAFT_OLD_VERSION", "CRAFT_NEW_VERSION",
               "LC_CTYPE"}  # Python itself may set LC_CTYPE on coercion
    assert set(env) <= allowed
    assert "ghs_secret" not in json.dumps(env) and "npm_secret" not in json.dumps(env)


def test_minimal_env_and_first_release() -> None:
    env = minimal_env({"PATH": "/bin", "HOME": "/h", "GITHUB_TOKEN": "x", "INPUT_A": "b",
                       "LANG": "C"}, None, "0.1.0")
    assert env == {"PATH": "/bin", "HOME": "/h", "LANG": "C", "CRAFT_OLD_VERSION": "",
                   "CRAFT_NEW_VERSION": "0.1.0"}
    assert command_argv("bash scripts/bump.sh", None, "0.1.0") == [
        "bash", "scripts/bump.sh", "", "0.1.0"]


def test_failure_carries_the_output_tail(tmp_path: Path) -> None:
    lines = "; ".join(f"print('line {i}')" for i in range(50))
    command = f"{sys.executable} -c \"{lines}; raise SystemExit(3)\""
    with pytest.raises(BuildError) as info:
        run_pre_release_command(command, "1.0.0", "1.0.1", tmp_path)
    message = str(info.value)
    assert "exit code 3" in message and "line 49" in message and "line 5\n" not in message


def test_missing_program(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="was not found"):
        run_pre_release_command("no-such-program-xyz", "1.0.0", "1.0.1", tmp_path)


def test_timeout(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="did not finish"):
        run_pre_release_command(f"{sys.executable} -c 'import time; time.sleep(5)'",
                                "1", "2", tmp_path, timeout=0.5)


@pytest.mark.parametrize(("command", "message"), [("", "is empty"),
                                                  ("bash 'unbalanced", "cannot be split")])
def test_bad_command_lines(tmp_path: Path, command: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        run_pre_release_command(command, "1.0.0", "1.0.1", tmp_path)


def test_output_cannot_issue_workflow_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    run_pre_release_command(f"{sys.executable} -c \"print('::add-mask::x')\"", "1", "2",
                            tmp_path)
    out = capsys.readouterr().out
    assert out.startswith("::stop-commands::")
