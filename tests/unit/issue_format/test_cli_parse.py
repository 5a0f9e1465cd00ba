"""`valet issue parse` prints the documented JSON for all three formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.issue_format.test_parse import FIXTURES, FORMATS, load
from valet.cli import main


@pytest.mark.parametrize("name", FORMATS)
def test_title_and_body_file(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    title, _, expected = load(name)
    code = main(["issue", "parse", "--title", title, "--body-file", str(FIXTURES / f"{name}.md")])
    out = capsys.readouterr().out
    assert code == 0
    assert json.loads(out) == expected
    assert list(json.loads(out)) == ["repo", "path", "version", "requested_by", "merge_target",
                                     "sha", "targets", "artifacts"]


@pytest.mark.parametrize("name", FORMATS)
def test_event_file(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    title, body, expected = load(name)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "labeled", "issue": {"number": 3, "title": title, "body": body}}))
    assert main(["issue", "parse", "--event", str(event)]) == 0
    assert json.loads(capsys.readouterr().out) == expected


def test_event_from_github_event_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    title, body, expected = load("prepare_release")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"issue": {"title": title, "body": body}}))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    assert main(["issue", "parse"]) == 0
    assert json.loads(capsys.readouterr().out) == expected


def test_crlf_body_file_is_read_as_is(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    title, body, expected = load("craft_action")
    path = tmp_path / "body.md"
    path.write_bytes(body.replace("\n", "\r\n").encode())
    assert main(["issue", "parse", "--title", title, "--body-file", str(path)]) == 0
    assert json.loads(capsys.readouterr().out) == expected


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("publish: o/r@1.0;id", "Requested by: @a\n### Targets\n - [ ] x\n"),
        ("Bug: it crashes", "steps to reproduce"),
        ("publish: o/r@1.0.0", "no targets here"),
        ("publish: o/r@1.0.0", None),
    ],
)
def test_not_a_request_exits_2_with_one_line(title: str, body: str | None, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"issue": {"title": title, "body": body}}))
    assert main(["issue", "parse", "--event", str(event)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1
    assert "not a publish request" in captured.err


def test_event_without_an_issue_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {}}))
    assert main(["issue", "parse", "--event", str(event)]) == 2


def test_title_without_body_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["issue", "parse", "--title", "publish: o/r@1.0.0"]) == 2
    assert "--body-file" in capsys.readouterr().err
