"""The CLI's single error handler: exit codes, annotations, tracebacks."""

from __future__ import annotations

import argparse
import sys
import types
from pathlib import Path

import pytest

from valet import cli, gha
from valet.errors import EXIT_CODES, IntegrityError, ValetError


def _install(monkeypatch: pytest.MonkeyPatch, exc: BaseException | None, code: int = 0) -> None:
    """Add a `boom` sub-command that raises exc (or returns code)."""
    module = types.ModuleType("valet.commands.boom")

    def run(args: argparse.Namespace) -> int:
        if exc is not None:
            raise exc
        return code

    def register(sub: argparse._SubParsersAction) -> None:
        sub.add_parser("boom").set_defaults(func=run)

    module.register = register  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "valet.commands.boom", module)
    monkeypatch.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, "boom"))
    monkeypatch.setenv("VALET_DEBUG", "")
    monkeypatch.delenv("VALET_DEBUG")
    monkeypatch.setattr(gha, "_masked", set())


def _integrity() -> IntegrityError:
    return IntegrityError("pkg.tgz: sha256 differs", hint="re-run prepare and approve again")


def test_valet_error_off_github(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _install(monkeypatch, _integrity())
    assert cli.main(["boom"]) == 8
    captured = capsys.readouterr()
    assert captured.err.startswith("error: integrity check failed: pkg.tgz: sha256 differs\n")
    assert "hint: re-run prepare and approve again" in captured.err
    assert "Traceback" not in captured.err
    assert "::error" not in captured.out + captured.err


def test_valet_error_on_github(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    _install(monkeypatch, _integrity())
    assert cli.main(["boom"]) == 8
    captured = capsys.readouterr()
    [line] = [ln for ln in captured.out.splitlines() if ln.startswith("::error")]
    assert line == ("::error title=integrity check failed::pkg.tgz: sha256 differs"
                    "%0A  hint: re-run prepare and approve again")
    assert "Traceback" not in captured.err
    text = summary.read_text()
    assert "integrity check failed" in text and "re-run prepare and approve again" in text


def test_traceback_only_with_debug(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _install(monkeypatch, _integrity())
    assert cli.main(["--debug", "boom"]) == 8
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "IntegrityError" in err


@pytest.mark.parametrize("name", sorted(EXIT_CODES))
def test_every_error_class_maps_to_its_exit_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    import valet.errors

    cls: type[ValetError] = getattr(valet.errors, name)
    _install(monkeypatch, cls("something went wrong"))
    assert cli.main(["boom"]) == EXIT_CODES[name]
    assert f"error: {cls.title}: something went wrong" in capsys.readouterr().err


def test_return_value_is_the_exit_code(monkeypatch: pytest.MonkeyPatch) -> None:
    _install(monkeypatch, None, code=3)
    assert cli.main(["boom"]) == 3


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "usage: valet" in capsys.readouterr().err


def test_masked_secret_is_redacted_from_the_error(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    _install(monkeypatch, ValetError("login with tok_123456 failed"))
    gha.add_mask("tok_123456")
    assert cli.main(["boom"]) == 1
    err = capsys.readouterr().err
    assert "tok_123456" not in err and "login with *** failed" in err
