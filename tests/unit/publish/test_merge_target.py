"""The merge target must be a protected branch: its configuration decides the targets and
their registry URLs, so a branch anyone can push to is refused before its config is read
(unless `allow-unprotected-merge-target` says this is a rehearsal)."""

from __future__ import annotations

from typing import Any

import pytest

from valet.cli import main
from valet.errors import ConfigError
from valet.labels import Label

from .fakes import CONFIG, SHA
from .test_publisher import N, World


def unprotected_world(tmp_path: Any, **kw: Any) -> World:
    w = World(tmp_path, **kw)
    w.sdk.protected = set()  # no branch is protected
    return w


def test_an_unprotected_default_branch_is_refused_before_its_config_is_read(tmp_path):
    w = unprotected_world(tmp_path)  # no merge target in the request: the default branch
    assert w.label() == 0
    assert w.sdk.branch_reads == ["main"]  # one lookup of the branch
    assert w.sdk.file_reads == [] and w.store.downloads == 0 and w.reg.calls == []
    assert w.sdk.merges == [] and w.issues.store[N]["state"] == "open"
    assert w.labels == set()  # accepted removed, no failure label: nothing went wrong yet
    refusal = w.comments[-1]
    assert "refused" in refusal and "main of org/sdk is not a protected branch" in refusal
    # the comment says how to fix it: protect the branch, or opt out for a rehearsal
    assert "ruleset" in refusal and "allow-unprotected-merge-target" in refusal


def test_a_refusal_keeps_the_labels_of_an_earlier_failure(tmp_path):
    w = unprotected_world(tmp_path)
    w.issues.add_labels(N, [str(Label.FAILED)])
    assert w.label() == 0
    assert w.labels == {str(Label.FAILED)}  # the failure is not cleared by a refused approval


def test_a_protected_merge_target_is_looked_up_once_then_published(tmp_path):
    w = World(tmp_path, merge_target="stable", targets=["pypi"])
    w.sdk.protected = {"stable"}
    w.sdk.files = {("stable", ".valet.yml"): CONFIG}
    assert w.label() == 0
    assert w.sdk.branch_reads == ["stable"] and w.uploads() == ["pypi"]
    assert w.sdk.merges == [("stable", SHA)]


def test_the_opt_out_publishes_from_an_unprotected_branch_with_a_warning(tmp_path, capsys):
    w = unprotected_world(tmp_path)
    w.settings.allow_unprotected_merge_target = True
    assert w.label() == 0
    assert sorted(w.uploads()) == ["github", "npm", "pypi"] and w.labels == {"published"}
    err = capsys.readouterr().err
    assert "unprotected merge target" in err and "main of org/sdk: main is not protected" in err


def test_the_opt_out_does_not_let_the_release_branch_be_the_merge_target(tmp_path):
    w = unprotected_world(tmp_path, merge_target="release/1.2.3")
    w.settings.allow_unprotected_merge_target = True
    assert w.label() == ConfigError.exit_code
    assert w.reg.calls == [] and w.sdk.file_reads == []


def test_a_dry_run_is_refused_too(tmp_path):
    w = unprotected_world(tmp_path, dry_run=True)
    assert w.label() == 0
    assert w.reg.calls == [] and w.sdk.file_reads == [] and "not a protected branch" in w.comments[-1]


def test_a_merge_target_that_does_not_exist_fails_as_a_config_error(tmp_path):
    w = World(tmp_path, merge_target="gone")
    w.sdk.missing = {"gone"}
    assert w.label() == ConfigError.exit_code
    assert w.sdk.file_reads == [] and w.reg.calls == []
    assert "gone does not exist in org/sdk" in w.comments[-1] and "failed" in w.labels


def test_a_sweep_refuses_when_protection_was_lifted_while_ci_ran(tmp_path):
    w = World(tmp_path)
    w.sdk.check_pages = [[{"name": "tests", "status": "in_progress", "conclusion": None}]]
    assert w.label() == 0 and str(Label.CI_PENDING) in w.labels
    w.sdk.check_pages = [[{"name": "tests", "status": "completed", "conclusion": "success"}]]
    w.sdk.protected = set()
    assert w.sweep_then_its_run() == 0
    assert w.reg.calls == [] and "not a protected branch" in w.comments[-1]
    assert w.labels == set()  # accepted and ci-pending removed


# -- the input, through the CLI --------------------------------------------------------


class _Capture:
    settings: Any = None

    def __init__(self, settings: Any, deps: Any) -> None:
        _Capture.settings = settings

    def sweep(self) -> int:
        return 0


@pytest.mark.parametrize("raw,expected", [(None, False), ("false", False), ("true", True)])
def test_the_input_reaches_the_settings(monkeypatch, raw, expected):
    import valet.publish

    monkeypatch.setattr(valet.publish, "Publisher", _Capture)
    monkeypatch.setenv("INPUT_GITHUB_TOKEN", "ghs_test_token_value")
    monkeypatch.setenv("INPUT_REQUEST_APP", "org-valet-request")
    monkeypatch.setenv("GITHUB_REPOSITORY", "org/publish")
    if raw is not None:
        monkeypatch.setenv("INPUT_ALLOW_UNPROTECTED_MERGE_TARGET", raw)
    _Capture.settings = None
    assert main(["publish", "--sweep"]) == 0
    assert _Capture.settings.allow_unprotected_merge_target is expected


def test_a_bad_input_value_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.setenv("INPUT_GITHUB_TOKEN", "ghs_test_token_value")
    monkeypatch.setenv("INPUT_REQUEST_APP", "org-valet-request")
    monkeypatch.setenv("GITHUB_REPOSITORY", "org/publish")
    monkeypatch.setenv("INPUT_ALLOW_UNPROTECTED_MERGE_TARGET", "maybe")
    assert main(["publish", "--sweep"]) == 2
    assert "allow-unprotected-merge-target" in capsys.readouterr().err


# -- the rules, not the flag; how the release lands (branch_rules, merge) --------------


def test_a_branch_whose_only_rules_block_force_push_and_deletion_is_refused(tmp_path):
    w = World(tmp_path)
    w.sdk.rules = [{"type": "deletion", "ruleset_id": 1},
                   {"type": "non_fast_forward", "ruleset_id": 1}]
    assert w.label() == 0
    assert w.sdk.file_reads == [] and w.store.downloads == 0 and w.reg.calls == []
    refusal = plain(w.comments[-1])
    assert "(deletion, non_fast_forward) do not require a pull request" in refusal
    assert "at least one approving review" in refusal


def test_a_pull_request_rule_without_reviews_is_not_enough(tmp_path):
    w = World(tmp_path)
    w.sdk.rules = [{"type": "pull_request", "ruleset_id": 1,
                    "parameters": {"required_approving_review_count": 0}}]
    assert w.label() == 0 and w.reg.calls == []
    assert "no approving review" in plain(w.comments[-1])


def test_a_protection_rule_the_app_cannot_read_is_refused_with_the_permission_to_add(tmp_path):
    w = World(tmp_path)
    w.sdk.rules = []  # protected, but by no ruleset: a protection rule it may not read
    assert w.label() == 0 and w.reg.calls == []
    assert "cannot read" in plain(w.comments[-1]) and "Administration: read" in plain(w.comments[-1])


def test_a_readable_protection_rule_with_reviews_is_trusted(tmp_path):
    w = World(tmp_path)
    w.sdk.rules = []
    w.sdk.protection = (True, {"required_pull_request_reviews": {
        "required_approving_review_count": 1,
        "bypass_pull_request_allowances": {"apps": []}}})
    assert w.label() == 0
    assert sorted(w.uploads()) == ["github", "npm", "pypi"]
    # the App is not in the rule's allowances: a pull request instead of a merge
    assert w.sdk.merges == [] and w.sdk.pulls == [("main", "release/1.2.3")]


def test_without_bypass_the_release_lands_through_a_pull_request(tmp_path):
    w = World(tmp_path)
    w.sdk.can_bypass = "never"
    w.sdk.rules.append({"type": "required_status_checks", "ruleset_id": 1,
                        "parameters": {"required_status_checks": [{"context": "ci"}]}})
    assert w.label() == 0
    assert sorted(w.uploads()) == ["github", "npm", "pypi"] and w.labels == {"published"}
    assert w.sdk.merges == [] and w.sdk.deleted == []  # the branch is the PR's head
    assert w.sdk.pulls == [("main", "release/1.2.3")]
    assert "opened #7" in plain(w.comments[-1]) and "merge it" in plain(w.comments[-1])


def test_a_locked_merge_target_fails_before_anything_publishes(tmp_path):
    w = World(tmp_path)
    w.sdk.protection = (True, {"lock_branch": {"enabled": True}})
    assert w.label() == ConfigError.exit_code
    assert w.store.downloads == 0 and w.reg.calls == []
    assert "is locked" in plain(w.comments[-1])


def test_a_release_that_changes_workflows_needs_the_workflows_permission(tmp_path):
    w = World(tmp_path)
    w.sdk.changed[("main", SHA)] = [".github/workflows/ci.yml", "pyproject.toml"]
    w.sdk.release_touchable = False  # GitHub's 404 for a token without Workflows: write
    assert w.label() == ConfigError.exit_code
    assert w.store.downloads == 0 and w.reg.calls == []
    assert "Workflows" in plain(w.comments[-1]) and ".github/workflows/ci.yml" in plain(w.comments[-1])
    # (the workflow's version bumped by a pre-release command: from the previous release's)
    w2 = World(tmp_path / "granted", previous="1.2.2")
    w2.sdk.changed[("main", SHA)] = [".github/workflows/ci.yml"]
    assert w2.label() == 0 and w2.labels == {"published"}


def test_the_default_branchs_own_changes_are_read_only_when_it_moved(tmp_path):
    # Not moved since the release was cut: the compare the merge check read says so,
    # and the other way round is not asked.
    w = World(tmp_path)
    assert w.label() == 0
    assert (SHA, "main") not in w.sdk.compares
    # Moved, and its side changed a workflow: that side is read, and counts.
    w2 = World(tmp_path / "moved")
    w2.sdk.diverged[("main", SHA)] = {"status": "diverged", "files": [],
                                      "merge_base_commit": {"sha": "b" * 40}}
    w2.sdk.changed[(SHA, "main")] = [".github/workflows/deploy.yml"]
    w2.sdk.release_touchable = False
    assert w2.label() == ConfigError.exit_code
    assert w2.store.downloads == 0 and w2.reg.calls == []
    assert ".github/workflows/deploy.yml" in plain(w2.comments[-1])


def plain(comment: str) -> str:
    return comment.replace("\\", "")  # markdown escapes out of the way
