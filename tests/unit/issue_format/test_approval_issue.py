"""The approval issue and `valet request` against a small in-memory stub of PyGithub.

The sandbox tests (tests/sandbox/test_request.py) run the same flows against the
HTTP fake; these keep the logic fast and cover the command's input handling.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from valet.approval_issue import carry_checks, pick_existing, submit
from valet.cli import main
from valet.errors import KillswitchError
from valet.issue_format import parse_issue, set_target_checked
from valet.manifest import Artifact
from valet.request import Request, TargetState

SHA = "5" * 40


@dataclass
class Label:
    name: str


@dataclass
class Issue:
    number: int
    title: str
    body: str = ""
    labels: list[Label] = field(default_factory=list)
    pull_request: Any = None
    edits: int = 0

    @property
    def html_url(self) -> str:
        return f"https://github.example/o/publish/issues/{self.number}"

    def edit(self, body: str) -> None:
        self.body = body
        self.edits += 1

    def remove_from_labels(self, name: str) -> None:
        self.labels = [lab for lab in self.labels if lab.name != name]


@dataclass
class Repo:
    issues: list[Issue] = field(default_factory=list)

    def get_issues(self, state: str = "open", labels: list[str] | None = None) -> list[Issue]:
        assert state == "open"
        return [i for i in self.issues
                if not labels or set(labels) <= {lab.name for lab in i.labels}]

    def create_issue(self, title: str, body: str) -> Issue:
        issue = Issue(number=len(self.issues) + 1, title=title, body=body)
        self.issues.append(issue)
        return issue


class GH:
    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}

    def get_repo(self, name: str) -> Repo:
        return self.repos.setdefault(name, Repo())


def make(**changes: Any) -> Request:
    base: dict[str, Any] = dict(repo="o/sdk", version="1.0.0", requested_by="alice", sha=SHA,
                                targets=[TargetState("pypi"), TargetState("npm")],
                                artifacts=[Artifact("sdk-1.0.0.tgz", 3, "c" * 64)])
    base.update(changes)
    return Request(**base)


def go(gh: GH, req: Request, **kw: Any):
    return submit(gh, req, publish_repo="o/publish", server_url="https://github.example", **kw)


def test_first_request_creates_the_issue() -> None:
    gh = GH()
    result = go(gh, make())
    issues = gh.get_repo("o/publish").issues
    assert result.action == "created" and result.number == 1 and len(issues) == 1
    assert issues[0].title == "publish: o/sdk@1.0.0"
    assert parse_issue(issues[0].title, issues[0].body).to_json() == make().to_json()


def test_second_request_updates_in_place_and_keeps_ticks() -> None:
    gh = GH()
    go(gh, make())
    issue = gh.get_repo("o/publish").issues[0]
    issue.body = set_target_checked(issue.body, "pypi")
    result = go(gh, make(targets=[TargetState("pypi"), TargetState("crates")], changelog="- more"))
    assert result.action == "updated" and result.number == 1 and result.kept_checked == ["pypi"]
    assert len(gh.get_repo("o/publish").issues) == 1
    assert [(t.id, t.checked) for t in parse_issue(issue.title, issue.body).targets] == [
        ("pypi", True), ("crates", False)]


def test_identical_request_changes_nothing() -> None:
    gh = GH()
    go(gh, make())
    issue = gh.get_repo("o/publish").issues[0]
    assert go(gh, make()).action == "unchanged" and issue.edits == 0


def test_changed_request_after_approval_loses_the_accepted_label() -> None:
    gh = GH()
    go(gh, make())
    issue = gh.get_repo("o/publish").issues[0]
    issue.labels = [Label("accepted"), Label("ci-pending")]
    result = go(gh, make(artifacts=[Artifact("sdk-1.0.0.tgz", 4, "d" * 64)]))
    assert result.unapproved and [lab.name for lab in issue.labels] == ["ci-pending"]


def test_similar_titles_and_pull_requests_are_not_the_request() -> None:
    gh = GH()
    publish = gh.get_repo("o/publish")
    publish.issues += [Issue(1, "publish: o/sdk@1.0.0-rc.1"), Issue(2, "publish: o/sdk@1.0.0 "),
                       Issue(3, "publish: o/sdk@1.0.0", pull_request={"url": "x"}),
                       Issue(4, "publish: o/sdk@1.0.01")]
    result = go(gh, make())
    assert result.action == "created" and result.number == 5


def test_pick_existing_prefers_the_oldest_exact_match() -> None:
    issues = [Issue(9, "publish: o/sdk@1.0.0"), Issue(4, "publish: o/sdk@1.0.0"), Issue(2, "x")]
    assert pick_existing(issues, "publish: o/sdk@1.0.0").number == 4


def test_open_release_blocker_stops_the_request() -> None:
    gh = GH()
    gh.get_repo("o/sdk").issues.append(Issue(7, "prod is down", labels=[Label("release-blocker")]))
    with pytest.raises(KillswitchError, match="#7") as info:
        go(gh, make())
    assert "force" in (info.value.hint or "")
    assert gh.get_repo("o/publish").issues == []


def test_force_overrides_the_killswitch() -> None:
    gh = GH()
    gh.get_repo("o/sdk").issues.append(Issue(7, "prod is down", labels=[Label("release-blocker")]))
    assert go(gh, make(), force=True).action == "created"


def test_blocker_label_on_a_pull_request_does_not_block() -> None:
    gh = GH()
    gh.get_repo("o/sdk").issues.append(Issue(7, "wip", labels=[Label("release-blocker")],
                                            pull_request={"url": "x"}))
    assert go(gh, make()).action == "created"


def test_dry_run_reads_but_writes_nothing() -> None:
    gh = GH()
    go(gh, make())
    issue = gh.get_repo("o/publish").issues[0]
    issue.body = set_target_checked(issue.body, "npm")
    result = go(gh, make(changelog="- new"), dry_run=True)
    assert result.action == "dry-run" and result.number == 1 and issue.edits == 0
    assert " - [x] npm" in result.body and "- new" in result.body


def test_carry_checks_ignores_an_unreadable_old_body() -> None:
    req, kept = carry_checks(make(), "garbage without targets")
    assert kept == [] and not any(t.checked for t in req.targets)


# -- the command ------------------------------------------------------------------------

ABC_SHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_REPOSITORY", "o/sdk")
    monkeypatch.setenv("GITHUB_ACTOR", "alice")
    (tmp_path / "built").mkdir()
    (tmp_path / "built" / "sdk-1.0.0.tgz").write_bytes(b"abc")
    return tmp_path


@pytest.fixture
def uploads(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The draft-release uploads `valet request` makes, recorded instead of sent."""
    from valet.store import StoreRef

    made: list[dict[str, Any]] = []

    def fake(gh: Any, token: Any, req: Any, inp: Any, manifest: Any, files: Any) -> StoreRef:
        made.append({"tag": inp.tag, "names": sorted(files), "manifest": manifest})
        return StoreRef(kind="github-release", tag=inp.tag, release_id=77)

    monkeypatch.setattr("valet.commands.request._upload", fake)
    return made


def test_command_dry_run_prints_the_body_without_a_token(project: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["request", "--dry-run", "--version", "1.0.0", "--sha", SHA, "--targets", "pypi, npm[@s/p]",
                 "--artifacts-dir", "built", "--changelog", "- fixed @everyone"])
    out = capsys.readouterr().out
    assert code == 0
    assert " - [ ] pypi" in out and " - [ ] npm[@s/p]" in out and "`sdk-1.0.0.tgz`" in out
    assert "@\u200deveryone" in out


def test_command_reads_action_inputs_and_writes_outputs(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                        uploads: list[dict[str, Any]],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    gh = GH()
    monkeypatch.setattr("valet.github_client.connect", lambda token, **kw: gh)
    out_file = project / "out.txt"
    summary = project / "summary.md"
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    for key, value in {"VERSION": "1.0.0", "SHA": SHA, "TARGETS": "pypi", "ARTIFACTS_DIR": "built",
                       "GITHUB_TOKEN": "t0ken-value", "MERGE_TARGET": "main", "BRANCH": "release/1.0.0",
                       "TAG": "v1.0.0"}.items():
        monkeypatch.setenv(f"INPUT_{key}", value)
    monkeypatch.setenv("GITHUB_OUTPUT", str(out_file))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert main(["request"]) == 0
    issue = gh.get_repo("o/publish").issues[0]
    req = parse_issue(issue.title, issue.body)
    assert (req.merge_target, req.branch, req.release_id) == ("main", "release/1.0.0", 77)
    assert (req.run_id, req.build) == (4242, "isolated")
    assert [(a.name, a.size, a.sha256) for a in req.artifacts] == [("sdk-1.0.0.tgz", 3, ABC_SHA256)]
    assert [(u["tag"], u["names"]) for u in uploads] == [("v1.0.0", ["sdk-1.0.0.tgz"])]
    outputs = out_file.read_text()
    assert "issue-number<<" in outputs and "\n1\n" in outputs
    assert issue.html_url in outputs
    assert "1.0.0" in summary.read_text() and "#1" in summary.read_text()


def test_command_publish_repo_defaults_to_owner_publish(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                       uploads: list[dict[str, Any]]) -> None:
    gh = GH()
    monkeypatch.setattr("valet.github_client.connect", lambda token, **kw: gh)
    monkeypatch.setenv("GITHUB_TOKEN", "t0ken-value")
    assert main(["request", "--version", "1.0.0", "--sha", SHA, "--targets", "pypi",
                 "--artifacts-dir", "built"]) == 0
    assert list(gh.repos) == ["o/sdk", "o/publish"] and gh.repos["o/publish"].issues


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["--version", "2.0.0"], 7, "sdk-1.0.0.tgz (npm tarball of version 1.0.0)"),
        (["--sha", "6" * 39], 2, "release commit"),
        (["--merge-target", "main\n - [ ] x"], 2, "merge target"),
        (["--targets", "a b c$(x)"], 2, "target id"),
        (["--artifacts-dir", "nowhere"], 7, "does not exist"),
    ],
)
def test_command_refuses_bad_inputs(project: Path, argv: list[str], code: int, message: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    base = {"--version": "1.0.0", "--sha": SHA, "--targets": "pypi", "--artifacts-dir": "built"}
    for flag, value in zip(argv[::2], argv[1::2]):
        base[flag] = value
    args = ["request", "--dry-run"] + [x for kv in base.items() for x in kv]
    assert main(args) == code
    assert message in capsys.readouterr().err


def test_command_default_targets_come_from_the_config(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / ".valet.yml").write_text("targets:\n  - name: pypi\n  - name: github\n")
    assert main(["request", "--dry-run", "--version", "1.0.0", "--sha", SHA,
                 "--artifacts-dir", "built"]) == 0
    out = capsys.readouterr().out
    assert " - [ ] pypi\n - [ ] github\n" in out


def test_command_changelog_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "CHANGES.md").write_text("- from a file\n")
    assert main(["request", "--dry-run", "--version", "1.0.0", "--sha", SHA, "--targets", "pypi",
                 "--changelog-file", "CHANGES.md"]) == 0
    assert "- from a file" in capsys.readouterr().out


def test_hidden_json_is_valid_for_a_command_dry_run(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["request", "--dry-run", "--version", "1.0.0", "--sha", SHA, "--targets", "pypi",
                 "--artifacts-dir", "built"]) == 0
    out = capsys.readouterr().out
    block = out.split("<!-- valet-request ", 1)[1].split(" -->", 1)[0]
    assert json.loads(block)["artifacts"] == [{"name": "sdk-1.0.0.tgz", "size": 3, "sha256": ABC_SHA256}]
