"""The three renderers, and collect() over a stub of GitHub's REST answers."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from typing import Any

import pytest

from tests.unit.publish.fakes import BOT, artifacts
from valet import audit, summary

from .world import N, World


@pytest.fixture
def world(tmp_path) -> World:
    return World(tmp_path)


def test_json_has_every_field(world: World) -> None:
    assert world.label("alice") == 0
    data = json.loads(audit.render_json(list(world.rows().values())))
    assert data["flagged"] == 0
    [item] = data["requests"]
    assert item["approved_at"] <= item["published_at"]
    assert {k: v for k, v in item.items() if k not in ("approved_at", "published_at")} == {
        "issue": N,
        "url": f"https://github.com/org/publish/issues/{N}",
        "repo": "org/sdk",
        "version": "1.2.3",
        "requester": "requester",
        "approver": "alice",
        "publisher": BOT,
        "state": "published",
        "targets": [{"id": t, "outcome": "published", "detail": ""}
                    for t in ("pypi", "npm", "github")],
        "artifacts": [{"name": a.name, "size": a.size, "sha256": a.sha256} for a in artifacts()],
        "run_url": "https://github.com/org/publish/actions/runs/77",
        "flags": [],
    }


def test_csv_columns_and_values(world: World) -> None:
    world.issues.edit_body(N, world.body().replace("- [ ] npm", "- [x] npm"), "bob")
    assert world.label("alice") == 0
    [header, line] = list(csv.reader(io.StringIO(audit.render_csv(list(world.rows().values())))))
    record = dict(zip(header, line, strict=True))
    assert header == list(audit.COLUMNS)
    assert (record["approver"], record["requester"], record["publisher"]) == (
        "alice", "requester", BOT)
    assert record["state"] == "published"
    assert record["targets"] == ("pypi: published; npm: ticked (ticked by bob, not published "
                                 "by valet); github: published")
    first = artifacts()[0]
    assert record["artifacts"].startswith(f"{first.name} ({first.size} bytes) sha256:{first.sha256}")
    assert record["flags"] == ""


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
def test_csv_cell_neutralises_formulas(value: str) -> None:
    assert audit.csv_cell(value) == "'" + value


@pytest.mark.parametrize("value,expected", [("bob", "bob"), (None, ""), (7, "7"), ("a=b", "a=b")])
def test_csv_cell_leaves_plain_values(value: object, expected: str) -> None:
    assert audit.csv_cell(value) == expected


def test_csv_from_hostile_issue_has_no_formula_cell(world: World) -> None:
    world.issues.create(6, "x", title="publish: =cmd|' /C calc'!A0")
    world.issues.comment_as(6, "@SUM(1+1)", summary.MARKER_REFUSED)
    rows = list(world.rows().values())
    cells = [c for line in csv.reader(io.StringIO(audit.render_csv(rows))) for c in line]
    assert "'=cmd|' /C calc'!A0" in cells
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)


def test_markdown_escapes_cells_and_marks_flagged_rows(world: World) -> None:
    world.issues.create(6, world.body(), title="publish: mal|lory")
    world.issues.label_by(6, "accepted", "mallory")
    world.issues.comment_as(6, "ev<img src=x>il", summary.MARKER_SUMMARY)
    assert world.label("alice") == 0
    text = audit.render_md(list(world.rows().values()))
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
    assert "**approver-not-allowed**" in body[0] and "**forged-record**" in body[0]
    assert "**not-a-request**" in body[0]
    assert ":white_check_mark:" in body[1]
    assert "[run](https://github.com/org/publish/actions/runs/77)" in body[1]
    assert f"[\\#{N}](https://github.com/org/publish/issues/{N})" in body[1]


def test_markdown_does_not_link_odd_urls(world: World) -> None:
    world.issues.store[N]["html_url"] = "javascript:alert(1)"
    text = audit.render_md(list(world.rows().values()))
    assert "javascript" not in text
    assert f"\\#{N}" in text


def test_empty_audit_renders_in_every_format() -> None:
    assert "0 publish request(s), 0 flagged." in audit.render_md([])
    assert json.loads(audit.render_json([])) == {"requests": [], "flagged": 0}
    assert audit.render_csv([]).splitlines() == [",".join(audit.COLUMNS)]
# -- collect and the command, over a stub of GitHub's answers ---------------------


class StubRequester:
    """Answers GET calls from a dict of path -> pages (lists), with Link headers; GraphQL
    with an empty edit history; `GET /apps/{slug}` for the two Apps. It is the session
    publish_api.Rest gets from github_client.session (``install``)."""

    base_url = "https://api.github.com"

    def __init__(self, pages: dict[str, list[Any]]) -> None:
        self.pages = pages
        self.calls: list[tuple[str, dict[str, Any] | None]] = []
        self.headers: dict[str, str] = {}

    def request(self, verb: str, url: str, params: Any = None, **_: Any) -> Any:
        import requests

        path = url.removeprefix(self.base_url)
        if verb == "POST" and path.endswith("/graphql"):
            return _answer(200, {"data": {"repository": {"issue": {"userContentEdits": {
                "totalCount": 0, "nodes": []}}}}})
        assert verb == "GET"
        self.calls.append((path, params))
        if path in ("/apps/pub", "/apps/req"):
            return _answer(200, {"slug": path.rsplit("/", 1)[1]})
        path, _, page = path.partition("?page=")
        if path not in self.pages:
            return _answer(404, {"message": "Not Found"})
        index = int(page or 1) - 1
        pages = self.pages[path]
        resp: requests.Response = _answer(200, pages[index])
        if index + 1 < len(pages):
            resp.headers["link"] = f'<{self.base_url}{path}?page={index + 2}>; rel="next"'
        return resp

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import valet.github_client

        monkeypatch.setattr(valet.github_client, "session", lambda token, **kw: self)


def _answer(status: int, data: Any) -> Any:
    import requests

    resp = requests.Response()
    resp.status_code = status
    resp._content = json.dumps(data).encode()
    return resp


class StubGithub:
    def __init__(self, requester: StubRequester) -> None:
        self.requester = requester


def _issue(number: int, title: str, **extra: Any) -> dict[str, Any]:
    return {"number": number, "title": title, "state": "open", "labels": [],
            "created_at": "2024-05-01T12:00:00Z", "updated_at": "2024-05-01T12:00:00Z",
            "closed_at": None, "body": "", "html_url": f"http://127.0.0.1:1/o/p/issues/{number}",
            "user": {"login": "req[bot]", "type": "Bot"}, **extra}


def test_collect_reads_every_page_and_only_publish_issues(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from valet.publish.identity import named
    from valet.publish_api import IssueAPI, Rest

    base = "/repos/o/p/issues"
    requester = StubRequester({
        base: [[_issue(3, "publish: acme/sdk@1.0.0", labels=[{"name": "published"}],
                       state="closed", closed_at="2024-05-01T13:00:00Z"),
                _issue(2, "unrelated bug")],
               [_issue(1, "publish: acme/sdk@0.9.0"),
                _issue(5, "publish: a/b@1", pull_request={"url": "x"})]],
        f"{base}/3/events": [[{"id": 1, "event": "labeled", "created_at": "2024-05-01T12:30:00Z",
                               "actor": {"login": "bob"}, "label": {"name": "accepted"}}],
                             [{"id": 2, "event": "closed", "created_at": "2024-05-01T13:00:00Z",
                               "actor": {"login": "pub[bot]"}, "label": None}]],
        f"{base}/3/comments": [[{"user": {"login": "pub[bot]", "type": "Bot"},
                                 "body": summary.MARKER_SUMMARY + " done",
                                 "created_at": "2024-05-01T13:00:00Z"}]],
        f"{base}/1/events": [[]],
        f"{base}/1/comments": [[]],
        "/repos/o/p/collaborators/bob/permission": [{"role_name": "maintain"}],
    })
    requester.install(monkeypatch)
    issues = IssueAPI(Rest(StubGithub(requester)), "o/p")
    ids = named(issues, app_slug="pub", request_app="req")
    since = datetime(2024, 4, 1, tzinfo=timezone.utc)
    facts = audit.collect(issues, lambda repo: None, audit.Rules(ids=ids, publish_repo="o/p"),
                          since)
    assert [f.number for f in facts] == [3, 1]
    first = facts[0]
    assert [e["event"] for e in first.events] == ["labeled", "closed"]
    assert first.request is None and first.parse_error  # empty body: not a request
    assert first.edits == [] and first.author_problem is None
    url, params = [c for c in requester.calls if c[0] == base][0]
    assert params is not None and params["state"] == "all" and params["since"] == "2024-04-01T00:00:00Z"
    row = audit.build_rows(facts, ids)[0]
    assert (row.number, row.approver, row.state, row.publisher) == (3, "bob", "published",
                                                                    "pub[bot]")


def _cli_stub(monkeypatch: pytest.MonkeyPatch) -> StubRequester:
    base = "/repos/o/p/issues"
    requester = StubRequester({
        base: [[_issue(3, "publish: acme/sdk@=1", labels=[{"name": "published"}], state="closed",
                       closed_at="2024-05-01T13:00:00Z")]],
        f"{base}/3/events": [[]],
        f"{base}/3/comments": [[]],
    })
    import valet.github_client

    def connect(token: str | None, **kw: Any) -> StubGithub:
        valet.github_client.require_token(token, kw.get("what", "github-token"))
        return StubGithub(requester)

    monkeypatch.setattr(valet.github_client, "connect", connect)
    requester.install(monkeypatch)
    return requester


APPS = ["--app-slug", "pub", "--request-app", "req"]


@pytest.mark.parametrize("fmt", ["md", "json", "csv"])
def test_command_writes_the_chosen_format(monkeypatch: pytest.MonkeyPatch, tmp_path: Any,
                                          fmt: str) -> None:
    from valet import cli

    _cli_stub(monkeypatch)
    monkeypatch.setenv("GITHUB_TOKEN", "tok_from_env")
    out = tmp_path / f"audit.{fmt}"
    assert cli.main(["audit", "--publish-repo", "o/p", *APPS, "--format", fmt,
                     "--output", str(out)]) == 0
    text = out.read_text()
    if fmt == "json":
        [item] = json.loads(text)["requests"]
        assert [f["code"] for f in item["flags"]] == ["not-a-request",
                                                      "published-label-unverified"]
        assert item["state"] == "closed"
    elif fmt == "csv":
        assert text.splitlines()[0] == ",".join(audit.COLUMNS)
        assert ",closed," in text
    else:
        assert "published-label-unverified" in text


def test_command_prints_to_stdout(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from valet import cli

    _cli_stub(monkeypatch)
    assert cli.main(["audit", "--publish-repo", "o/p", *APPS, "--format", "json",
                     "--github-token", "tok_arg"]) == 0
    assert json.loads(capsys.readouterr().out)["flagged"] == 1


@pytest.mark.parametrize("argv,code,needle", [
    (["--publish-repo", "not-a-repo", *APPS], 2, "OWNER/REPO"),
    (["--publish-repo", "o/p", *APPS, "--since", "last week"], 2, "not a date"),
    (["--publish-repo", "o/p", *APPS, "--approvers", "not a/valid/team"], 2, "approvers"),
    (["--publish-repo", "o/p", *APPS, "--release-workflow", "release.yml"], 2, "workflow file"),
    (["--publish-repo", "o/p", *APPS], 2, "no GitHub token"),
    (["--publish-repo", "o/p", "--request-app", "req", "--github-token", "t"], 2, "--app-slug"),
    (["--publish-repo", "o/p", "--app-slug", "pub", "--github-token", "t"], 2, "request-app"),
    (["--publish-repo", "o/p", "--app-slug", "pub", "--request-app", "pub",
      "--github-token", "t"], 2, "publish App itself"),
    (["--publish-repo", "o/p", "--app-slug", "nope", "--request-app", "req",
      "--github-token", "t"], 2, "not a GitHub App"),
])
def test_command_usage_errors(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                              argv: list[str], code: int, needle: str) -> None:
    from valet import cli

    _cli_stub(monkeypatch)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    if "--approvers" in argv:
        monkeypatch.setenv("GITHUB_TOKEN", "tok_from_env")
    assert cli.main(["audit", *argv]) == code
    assert needle in capsys.readouterr().err


def test_parse_since() -> None:
    from valet.commands.audit import parse_since

    assert parse_since(None) is None
    assert parse_since("2024-05-01") == datetime(2024, 5, 1, tzinfo=timezone.utc)
    assert parse_since("2024-05-01T10:00:00+02:00") == datetime(2024, 5, 1, 8, tzinfo=timezone.utc)
