"""The three renderers, and collect() over a stub of GitHub's REST answers."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from typing import Any

import pytest

from valet import audit

from .test_audit_rows import POLICY, SHA, at, published_issue


def test_json_has_every_field() -> None:
    rows = audit.build_rows([published_issue()], POLICY)
    data = json.loads(audit.render_json(rows))
    assert data["flagged"] == 0
    [item] = data["requests"]
    assert item == {
        "issue": 7,
        "url": "https://github.example/acme/publish/issues/7",
        "repo": "acme/sdk",
        "version": "1.2.3",
        "requester": "alice",
        "approver": "bob",
        "approved_at": "2024-05-01T12:10:00Z",
        "published_at": "2024-05-01T12:12:00Z",
        "state": "published",
        "targets": [{"id": "pypi", "checked": True, "outcome": "done"},
                    {"id": "npm[@acme/sdk]", "checked": False, "outcome": "not done"}],
        "artifacts": [{"name": "sdk-1.2.3.tgz", "size": 1234, "sha256": SHA}],
        "run_url": "https://github.example/acme/publish/actions/runs/99",
        "flags": [],
    }


def test_csv_columns_and_values() -> None:
    rows = audit.build_rows([published_issue()], POLICY)
    [header, line] = list(csv.reader(io.StringIO(audit.render_csv(rows))))
    record = dict(zip(header, line, strict=True))
    assert header == list(audit.COLUMNS)
    assert record["approver"] == "bob"
    assert record["state"] == "published"
    assert record["targets"] == "pypi: done; npm[@acme/sdk]: not done"
    assert record["artifacts"] == f"sdk-1.2.3.tgz (1234 bytes) sha256:{SHA}"
    assert record["published_at"] == "2024-05-01T12:12:00Z"
    assert record["flags"] == ""


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
def test_csv_cell_neutralises_formulas(value: str) -> None:
    assert audit.csv_cell(value) == "'" + value


@pytest.mark.parametrize("value,expected", [("bob", "bob"), (None, ""), (7, "7"), ("a=b", "a=b")])
def test_csv_cell_leaves_plain_values(value: object, expected: str) -> None:
    assert audit.csv_cell(value) == expected


def test_csv_from_hostile_issue_has_no_formula_cell() -> None:
    facts = published_issue(events=[audit.IssueEvent("labeled", at(10), "=cmd|' /C calc'!A0",
                                                     "accepted")])
    assert facts.request is not None
    facts.request.requested_by = "@SUM(1+1)"
    facts.request.version = "+1.0.0"
    rows = audit.build_rows([facts], POLICY)
    cells = [c for line in csv.reader(io.StringIO(audit.render_csv(rows))) for c in line]
    assert "'=cmd|' /C calc'!A0" in cells and "'@SUM(1+1)" in cells and "'+1.0.0" in cells
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)


def test_markdown_escapes_cells_and_marks_flagged_rows() -> None:
    facts = published_issue(events=[audit.IssueEvent("labeled", at(10), "mal|lory", "accepted")])
    assert facts.request is not None
    facts.request.requested_by = "ev<img src=x>il"
    rows = audit.build_rows([facts, published_issue(number=3)], POLICY)
    text = audit.render_md(rows)
    lines = text.splitlines()
    assert "2 publish request(s), 1 flagged." in text
    table = [ln for ln in lines if ln.startswith("| ")]
    header, *body = table
    columns = header.count(" | ")
    for line in body:
        assert line.replace("\\|", "").count(" | ") == columns, "a cell broke out of the table"
    assert "mal\\|lory" in body[0] and ":warning:" in body[0]
    assert "ev\\<img src=x\\>il" in body[0]
    assert "<img" not in text.replace("\\<", "")
    assert "**approver-not-allowed**" in body[0]
    assert ":white_check_mark:" in body[1]
    assert "[run](https://github.example/acme/publish/actions/runs/99)" in body[1]
    assert "[\\#3](https://github.example/acme/publish/issues/7)" in body[1]


def test_markdown_does_not_link_odd_urls() -> None:
    facts = published_issue(url="javascript:alert(1)")
    text = audit.render_md(audit.build_rows([facts]))
    assert "javascript" not in text
    assert "\\#7" in text


def test_empty_audit_renders_in_every_format() -> None:
    assert "0 publish request(s), 0 flagged." in audit.render_md([])
    assert json.loads(audit.render_json([])) == {"requests": [], "flagged": 0}
    assert audit.render_csv([]).splitlines() == [",".join(audit.COLUMNS)]


# -- collect over a stub of the REST API --------------------------------------


class StubRequester:
    """Answers GET calls from a dict of path -> pages (lists), with Link headers: the
    session publish_api.Rest gets from github_client.session (see ``install``)."""

    base_url = "http://stub.invalid/api/v3"

    def __init__(self, pages: dict[str, list[list[dict[str, Any]]]]) -> None:
        self.pages = pages
        self.calls: list[tuple[str, dict[str, Any] | None]] = []
        self.headers: dict[str, str] = {}

    def request(self, verb: str, url: str, params: Any = None, **_: Any) -> Any:
        import json as _json

        import requests

        assert verb == "GET"
        path = url.removeprefix(self.base_url)
        self.calls.append((path, params))
        path, _, page = path.partition("?page=")
        index = int(page or 1) - 1
        pages = self.pages[path]
        resp = requests.Response()
        resp.status_code = 200
        resp._content = _json.dumps(pages[index]).encode()
        if index + 1 < len(pages):
            resp.headers["link"] = f'<{self.base_url}{path}?page={index + 2}>; rel="next"'
        return resp

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import valet.github_client

        monkeypatch.setattr(valet.github_client, "session", lambda token, **kw: self)


class StubGithub:
    def __init__(self, requester: StubRequester) -> None:
        self.requester = requester


def _issue(number: int, title: str, **extra: Any) -> dict[str, Any]:
    return {"number": number, "title": title, "state": "open", "labels": [],
            "created_at": "2024-05-01T12:00:00Z", "updated_at": "2024-05-01T12:00:00Z",
            "closed_at": None, "body": "", "html_url": f"http://127.0.0.1:1/o/p/issues/{number}",
            **extra}


def test_collect_reads_every_page_and_only_publish_issues(
        monkeypatch: pytest.MonkeyPatch) -> None:
    base = "/repos/o/p/issues"
    requester = StubRequester({
        base: [[_issue(3, "publish: acme/sdk@1.0.0", labels=[{"name": "published"}],
                       state="closed", closed_at="2024-05-01T13:00:00Z"),
                _issue(2, "unrelated bug")],
               [_issue(1, "publish: acme/sdk@0.9.0"),
                _issue(5, "publish: a/b@1", pull_request={"url": "x"})]],
        f"{base}/3/events": [[{"event": "labeled", "created_at": "2024-05-01T12:30:00Z",
                               "actor": {"login": "bob"}, "label": {"name": "accepted"}}],
                             [{"event": "closed", "created_at": "2024-05-01T13:00:00Z",
                               "actor": {"login": "v[bot]"}, "label": None}]],
        f"{base}/3/comments": [[{"user": {"login": "v[bot]", "type": "Bot"},
                                 "body": audit.MARKER_SUMMARY + " done",
                                 "created_at": "2024-05-01T13:00:00Z"}]],
        f"{base}/1/events": [[]],
        f"{base}/1/comments": [[]],
    })
    requester.install(monkeypatch)
    since = datetime(2024, 4, 1, tzinfo=timezone.utc)
    facts = audit.collect(StubGithub(requester), "o/p", since)
    assert [f.number for f in facts] == [3, 1]
    first = facts[0]
    assert first.labels == ["published"] and first.state == "closed"
    assert [(e.event, e.actor, e.label) for e in first.events] == [
        ("labeled", "bob", "accepted"), ("closed", "v[bot]", None)]
    assert first.comments[0].author_is_bot
    assert first.request is None and first.parse_error  # empty body: not a request
    url, params = requester.calls[0]
    assert url == base
    assert params is not None and params["state"] == "all" and params["since"] == "2024-04-01T00:00:00Z"
    row = audit.build_rows(facts)[0]
    assert (row.number, row.approver, row.state) == (3, "bob", "published")


# -- the command ------------------------------------------------------------


def _cli_stub(monkeypatch: pytest.MonkeyPatch) -> StubRequester:
    base = "/repos/o/p/issues"
    requester = StubRequester({
        base: [[_issue(3, "publish: acme/sdk@=1", labels=[{"name": "published"}], state="closed",
                       closed_at="2024-05-01T13:00:00Z")]],
        f"{base}/3/events": [[]],
        f"{base}/3/comments": [[]],
    })
    import valet.github_client

    seen: dict[str, Any] = {}

    def connect(token: str | None, **kw: Any) -> StubGithub:
        seen["token"] = token
        valet.github_client.require_token(token, kw.get("what", "github-token"))
        return StubGithub(requester)

    monkeypatch.setattr(valet.github_client, "connect", connect)
    requester.install(monkeypatch)
    return requester


@pytest.mark.parametrize("fmt", ["md", "json", "csv"])
def test_command_writes_the_chosen_format(monkeypatch: pytest.MonkeyPatch, tmp_path: Any,
                                          fmt: str) -> None:
    from valet import cli

    _cli_stub(monkeypatch)
    monkeypatch.setenv("GITHUB_TOKEN", "tok_from_env")
    out = tmp_path / f"audit.{fmt}"
    assert cli.main(["audit", "--publish-repo", "o/p", "--format", fmt, "--output", str(out)]) == 0
    text = out.read_text()
    if fmt == "json":
        [item] = json.loads(text)["requests"]
        assert item["flags"][0]["code"] == audit.FLAG_NOT_A_REQUEST
        assert item["state"] == "published"
    elif fmt == "csv":
        assert text.splitlines()[0] == ",".join(audit.COLUMNS)
        assert ",published," in text
    else:
        assert "published-without-approval" in text


def test_command_prints_to_stdout(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from valet import cli

    _cli_stub(monkeypatch)
    assert cli.main(["audit", "--publish-repo", "o/p", "--format", "json",
                     "--github-token", "tok_arg"]) == 0
    assert json.loads(capsys.readouterr().out)["flagged"] == 1


@pytest.mark.parametrize("argv,code,needle", [
    (["--publish-repo", "not-a-repo"], 2, "OWNER/REPO"),
    (["--publish-repo", "o/p", "--since", "last week"], 2, "not a date"),
    (["--publish-repo", "o/p", "--approvers", "not a/valid/team"], 2, "approvers"),
    (["--publish-repo", "o/p"], 2, "no GitHub token"),
])
def test_command_usage_errors(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                              argv: list[str], code: int, needle: str) -> None:
    from valet import cli

    _cli_stub(monkeypatch)
    if "--approvers" in argv:
        monkeypatch.setenv("GITHUB_TOKEN", "tok_from_env")
    assert cli.main(["audit", *argv]) == code
    assert needle in capsys.readouterr().err


def test_parse_since() -> None:
    from valet.commands.audit import parse_since

    assert parse_since(None) is None
    assert parse_since("2024-05-01") == datetime(2024, 5, 1, tzinfo=timezone.utc)
    assert parse_since("2024-05-01T10:00:00+02:00") == datetime(2024, 5, 1, 8, tzinfo=timezone.utc)
