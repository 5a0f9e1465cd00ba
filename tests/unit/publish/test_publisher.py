"""The whole publish flow against in-memory fakes (issues, SDK repo, store, targets)."""

from __future__ import annotations

import pytest

from valet.authz import parse_policy
from valet.errors import TargetError
from valet.events import Actor
from valet.issue_format import parse_issue
from valet.publish import Deps, Publisher, Settings
from valet.targets.base import State

from .fakes import (
    BOT,
    CONFIG,
    SHA,
    Behaviour,
    FakeIssues,
    FakeSdk,
    FakeStore,
    Registry,
    identities,
    make_body,
    open_request,
    prepare_run,
)

N = 5


class World:
    def __init__(self, tmp_path, *, targets=None, approvers="alice", merge_target=None,
                 dry_run=False, requested_by="requester", previous=None):
        self.issues = FakeIssues()
        self.sdk = FakeSdk()
        self.store = FakeStore()
        self.reg = Registry()
        open_request(self.issues, self.sdk, N, make_body(
            targets=targets, requested_by=requested_by, merge_target=merge_target,
            previous=previous))
        self.sdk.runs[4242] = prepare_run(requested_by)
        self.settings = Settings(publish_repo="org/publish", policy=parse_policy(approvers),
                                 dry_run=dry_run, workdir=tmp_path,
                                 env={"STUB_TOKEN": "s3cret-token"}, run_url="https://github.com/org/publish/actions/runs/1",
                                 identities=identities(), dispatch_workflow="publish.yml",
                                 dispatch_ref="refs/heads/main")
        self.dispatched: list[tuple[str, str, dict[str, str]]] = []
        self.publisher = Publisher(self.settings, Deps(
            issues=self.issues, sdk=lambda repo: self.sdk, store=lambda req, cfg: self.store,
            resolve=self.reg.resolve,
            dispatch=lambda wf, ref, inputs: self.dispatched.append((wf, ref, inputs))))

    def sweep_then_its_run(self) -> int:
        """A scheduled sweep, then the runs it started (as GitHub would start them)."""
        before = len(self.dispatched)
        assert self.publisher.sweep() == 0
        codes = [self.publisher.sweep(int(inputs["issue"]))
                 for _, _, inputs in self.dispatched[before:]]
        return max(codes, default=0)

    def label(self, who="alice", kind="User", label="accepted"):
        ev = self.issues.label_by(N, label, who, kind)
        return self.publisher.handle(ev)

    @property
    def labels(self):
        return set(self.issues.label_names(N))

    @property
    def comments(self):
        return self.issues.comment_bodies(N)

    def checked(self):
        issue = self.issues.store[N]
        return {t.id: t.checked for t in parse_issue(issue["title"], issue["body"]).targets}

    def uploads(self):
        return [k for c, k in self.reg.calls if c == "publish"]


def test_happy_path_publishes_ticks_merges_and_closes(tmp_path):
    w = World(tmp_path)
    assert w.label() == 0
    assert sorted(w.uploads()) == ["github", "npm", "pypi"] and w.uploads()[-1] == "github"
    assert w.checked() == {"pypi": True, "npm": True, "github": True}
    assert w.sdk.merges == [("main", SHA)] and w.sdk.deleted == ["release/1.2.3"]
    assert w.issues.store[N]["state"] == "closed"
    assert w.labels == {"published"}
    assert "Published" in w.comments[-1] and "pkg-1.2.3.tgz" in w.comments[-1]
    assert not w.store.deleted  # github is a target: it published the draft
    # the configuration was read from the merge target only
    assert {ref for ref, _ in w.sdk.file_reads} == {"main"}
    assert (tmp_path / f"valet-{N}" / "artifacts" / "pkg-1.2.3.tgz").exists()


@pytest.mark.parametrize("who,kind,why", [
    ("mallory", "User", "not an allowed approver"),
    ("requester", "User", "requested this release"),
    ("alice[bot]", "Bot", "is a bot"),
])
def test_refused_labelers_publish_nothing(tmp_path, who, kind, why):
    w = World(tmp_path, approvers="alice requester alice[bot]" if who != "mallory" else "alice")
    assert w.label(who, kind) == 0
    assert w.reg.calls == [] and w.store.downloads == 0
    assert "accepted" not in w.labels
    assert len(w.comments) == 1 and why in w.comments[0] and "refused" in w.comments[0]
    assert w.issues.store[N]["state"] == "open"


def test_body_edited_after_approval_is_refused(tmp_path):
    w = World(tmp_path)
    ev = w.issues.label_by(N, "accepted", "alice")
    w.issues.edit_body(N, w.issues.store[N]["body"].replace("- [ ] npm", "- [x] npm"), "mallory")
    assert w.publisher.handle(ev) == 0
    assert w.reg.calls == [] and "accepted" not in w.labels
    assert "changed after it was approved" in w.comments[-1]


def test_spoofed_sender_not_matching_issue_events_is_refused(tmp_path):
    w = World(tmp_path)
    ev = w.issues.label_by(N, "accepted", "mallory")
    from dataclasses import replace

    assert w.publisher.handle(replace(ev, sender=Actor("alice"))) == 0
    assert w.reg.calls == [] and "could not be confirmed" in w.comments[-1]


def test_config_comes_from_the_merge_target_not_the_release_branch(tmp_path):
    w = World(tmp_path, merge_target="stable", targets=["pypi"])
    w.sdk.files = {("stable", ".valet.yml"): "targets:\n  - name: pypi\n",
                   ("release/1.2.3", ".valet.yml"): CONFIG + "  - name: crates\n"}
    assert w.label() == 0
    assert {ref for ref, _ in w.sdk.file_reads} == {"stable"}
    assert w.uploads() == ["pypi"]
    assert w.sdk.merges == [("stable", SHA)]
    assert w.store.deleted  # github is not a target: the draft release goes away


def test_issue_target_not_configured_on_the_merge_target_fails(tmp_path):
    w = World(tmp_path)
    w.sdk.files = {("main", ".valet.yml"): "targets:\n  - name: pypi\n"}
    assert w.label() == 3
    assert w.reg.calls == [] and "failed" in w.labels and "accepted" not in w.labels
    assert "npm, github" in w.comments[-1]


def test_ci_pending_then_green_via_sweep(tmp_path):
    w = World(tmp_path)
    w.sdk.check_pages = [[{"name": "tests", "status": "in_progress", "conclusion": None,
                           "html_url": "https://github.com/org/sdk/runs/9"}]]
    assert w.label() == 0
    assert w.labels == {"accepted", "ci-pending"} and w.reg.calls == []
    assert len(w.comments) == 1 and "Waiting for CI" in w.comments[0]
    # a scheduled run while still pending: no new comment, nothing handed on
    assert w.publisher.sweep() == 0
    assert len(w.comments) == 1 and w.reg.calls == [] and w.dispatched == []
    # nothing changed: the next sweep only asks whether CI changed (304s on GitHub)
    reads = w.sdk.ci_reads
    assert w.publisher.sweep() == 0
    assert w.sdk.ci_reads == reads and w.dispatched == []
    w.sdk.check_pages = [[{"name": "tests", "status": "completed", "conclusion": "success"}]]
    # green: the sweep publishes nothing itself, it starts the issue's own run
    assert w.publisher.sweep() == 0
    assert w.dispatched == [("publish.yml", "refs/heads/main", {"issue": str(N)})]
    assert w.reg.calls == [] and "ci-pending" in w.labels
    assert w.publisher.sweep(N) == 0  # that run
    assert sorted(w.uploads()) == ["github", "npm", "pypi"]
    assert w.labels == {"published"} and w.issues.store[N]["state"] == "closed"
    # the same run started twice (a sweep raced an approval): the second does nothing
    assert w.publisher.sweep(N) == 0
    assert sorted(w.uploads()) == ["github", "npm", "pypi"]


def test_sweep_refuses_when_body_changed_while_waiting(tmp_path):
    w = World(tmp_path)
    w.sdk.check_pages = [[{"name": "tests", "status": "queued"}]]
    w.label()
    w.issues.edit_body(N, w.issues.store[N]["body"].replace("- [ ] npm", "- [x] npm"), "mallory")
    w.sdk.check_pages = [[{"name": "tests", "status": "completed", "conclusion": "success"}]]
    assert w.sweep_then_its_run() == 0
    assert w.reg.calls == [] and "accepted" not in w.labels and "ci-pending" not in w.labels
    assert "changed after it was approved" in w.comments[-1]


def test_sweep_reauthorizes_the_latest_labeler(tmp_path):
    w = World(tmp_path)
    w.sdk.check_pages = [[{"name": "tests", "status": "queued"}]]
    w.label()
    # someone not allowed re-labels while waiting: they become the approver, and are refused
    mallory = w.issues.label_by(N, "accepted", "mallory")
    w.sdk.check_pages = [[{"name": "tests", "status": "completed", "conclusion": "success"}]]
    # the run the sweep starts leaves the newer approval to its own run ...
    assert w.sweep_then_its_run() == 0
    assert w.reg.calls == []
    # ... which refuses it (GitHub starts it for the label, in the same group)
    assert w.publisher.handle(mallory) == 0
    assert w.reg.calls == [] and "mallory" in w.comments[-1]


def test_no_checks_at_all_waits_and_explains_the_app_token(tmp_path):
    w = World(tmp_path)
    w.sdk.check_pages = [[]]
    assert w.label() == 0
    assert "ci-pending" in w.labels and "GitHub App token" in w.comments[-1]


def test_ci_failed_lists_the_failing_checks(tmp_path):
    w = World(tmp_path)
    w.sdk.check_pages = [[{"name": "lint", "status": "completed", "conclusion": "failure",
                           "html_url": "https://github.com/org/sdk/runs/3"}]]
    assert w.label() == 11
    assert w.labels == {"ci-failed"} and w.reg.calls == []
    assert "[lint](https://github.com/org/sdk/runs/3)" in w.comments[-1]


def test_replaced_artifact_publishes_nothing_anywhere(tmp_path):
    w = World(tmp_path)
    w.store.content["pkg-1.2.3.tgz"] = b"evil"
    assert w.label() == 8
    # A target whose own files are verified may already have asked its registry (reads);
    # nothing is uploaded anywhere until every file is verified.
    assert [c for c in w.reg.calls if c[0] == "publish"] == [] and w.labels == {"failed"}
    assert ("preflight", "npm") not in w.reg.calls  # its file is the replaced one
    assert "pkg-1.2.3.tgz" in w.comments[-1]


def test_failure_then_resume_publishes_only_unticked_targets(tmp_path):
    w = World(tmp_path)
    w.reg.behaviour["npm"] = Behaviour(publish_error="E403 wrong token")
    assert w.label() == TargetError.exit_code
    assert w.checked() == {"pypi": True, "npm": False, "github": False}
    assert w.labels == {"failed"}
    assert "npm" in w.comments[-1] and "E403 wrong token" in w.comments[-1]
    assert "actions/runs/1" in w.comments[-1]
    w.reg.behaviour["npm"] = Behaviour()
    w.reg.calls.clear()
    assert w.label() == 0
    assert sorted(w.uploads()) == ["github", "npm"]
    assert ("status", "pypi") not in w.reg.calls and ("preflight", "pypi") not in w.reg.calls
    assert w.labels == {"published"}
    assert "published by valet in an earlier run" in w.comments[-1]


def test_a_failed_target_is_named_once_in_the_comment(tmp_path):
    # Target messages start with their key already: the comment must not say "npm: npm:".
    w = World(tmp_path)
    w.reg.behaviour["npm"] = Behaviour(publish_error="npm: npm publish failed: HTTP 403")
    w.reg.behaviour["pypi"] = Behaviour(publish_error="twine said no")
    assert w.label() == TargetError.exit_code
    assert "npm: npm publish failed: HTTP 403" in w.comments[-1]
    assert "npm: npm:" not in w.comments[-1]
    assert "pypi: twine said no" in w.comments[-1]


def test_already_published_elsewhere_is_ticked_without_upload(tmp_path):
    w = World(tmp_path)
    w.reg.behaviour["pypi"] = Behaviour(state=State.PUBLISHED)
    assert w.label() == 0
    assert "pypi" not in w.uploads() and w.checked()["pypi"]


def test_dry_run_label_uploads_ticks_merges_and_closes_nothing(tmp_path):
    w = World(tmp_path)
    w.issues.store[N]["labels"].append({"name": "dry-run"})
    body = w.issues.store[N]["body"]
    assert w.label() == 0
    assert w.uploads() == [] and ("preflight", "npm") in w.reg.calls
    assert w.issues.store[N]["body"] == body and w.sdk.merges == []
    assert w.issues.store[N]["state"] == "open"
    assert "Dry run" in w.comments[-1] and "planned" in w.comments[-1]
    assert "accepted" not in w.labels


def test_merge_failure_keeps_published_targets_and_retry_merges(tmp_path):
    w = World(tmp_path)
    w.sdk.merge_fails = True
    assert w.label() != 0
    assert all(w.checked().values()) and w.labels == {"failed"}
    assert "merging release/1.2.3 into main failed" in w.comments[-1]
    assert w.issues.store[N]["state"] == "open"
    w.sdk.merge_fails = False
    w.reg.calls.clear()
    assert w.label() == 0
    assert w.uploads() == [] and w.sdk.merges == [("main", SHA)]
    assert w.issues.store[N]["state"] == "closed"


def test_ticking_rewrites_only_the_checkbox_line(tmp_path):
    w = World(tmp_path)
    before = w.issues.store[N]["body"]
    w.reg.behaviour["github"] = Behaviour(publish_error="boom")
    w.label()
    after = w.issues.store[N]["body"]
    diff = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert sorted(diff) == [(" - [ ] npm", " - [x] npm"), (" - [ ] pypi", " - [x] pypi")]


def test_registry_tokens_are_masked(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    import uuid

    secret = f"tok-{uuid.uuid4().hex}"
    w = World(tmp_path)
    w.settings.env = {"STUB_TOKEN": secret}
    w.label()
    out = capsys.readouterr().out
    assert f"::add-mask::{secret}" in out
    assert out.index("::add-mask::") < out.index("::group::publish targets")


def test_comments_are_written_by_the_bot_and_mention_nobody(tmp_path):
    w = World(tmp_path, approvers="alice")
    w.label("mallory")
    assert "@mallory" not in w.comments[0].replace("\\@", "")
    assert BOT
