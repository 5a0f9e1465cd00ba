"""Wait, fail or take: the decision over the release commit's runs and artifacts."""

from __future__ import annotations

from valet.ci_artifacts import make_rules
from valet.ci_artifacts.decide import (
    Artifact,
    Failed,
    Ready,
    Run,
    Wait,
    current_runs,
    decide,
    runs_to_list,
)

SHA = "c" * 40
REPO = "acme/sdk"


def run(rid: int, name: str = "CI", status: str = "completed", conclusion: str | None = "success",
        *, workflow: str | None = None, repo: str = REPO) -> Run:
    return Run(rid, name, status, conclusion if status == "completed" else None,
               f"https://github.test/{REPO}/actions/runs/{rid}", workflow or name, repo)


def art(aid: int, name: str, run_id: int, *, expired: bool = False) -> Artifact:
    return Artifact(aid, name, 10, run_id, expired=expired)


SHA_RULE = make_rules({}, sha=SHA)


def test_no_run_yet_waits() -> None:
    verdict = decide(SHA_RULE, [], {})
    assert isinstance(verdict, Wait) and "no workflow run" in verdict.reason


def test_the_sha_artifact_is_taken_once_its_run_succeeded_while_others_still_run() -> None:
    runs = [run(1, "build"), run(2, "tests", "in_progress")]
    verdict = decide(SHA_RULE, runs, {1: [art(10, SHA, 1)], 2: []})
    assert isinstance(verdict, Ready)
    assert [a.id for a in verdict.artifacts] == [10]


def test_the_sha_artifact_of_a_running_run_waits_for_that_run() -> None:
    runs = [run(1, "build", "in_progress")]
    verdict = decide(SHA_RULE, runs, {1: [art(10, SHA, 1)]})
    assert isinstance(verdict, Wait) and "build (run 1) uploaded" in verdict.reason


def test_no_sha_artifact_waits_while_runs_go_then_fails_naming_what_was_there() -> None:
    going = decide(SHA_RULE, [run(1, "build", "queued")], {1: []})
    assert isinstance(going, Wait)
    done = decide(SHA_RULE, [run(1, "build")], {1: [art(10, "dist", 1)]})
    assert isinstance(done, Failed) and not done.ci_failed
    assert f"an artifact named {SHA}" in done.message and "artifacts there: dist" in done.message


def test_a_failed_run_gives_no_artifact() -> None:
    verdict = decide(SHA_RULE, [run(1, "build", conclusion="failure")], {1: [art(10, SHA, 1)]})
    assert isinstance(verdict, Failed) and verdict.ci_failed
    assert "build (run 1) concluded failure" in verdict.message


def test_an_expired_artifact_is_refused() -> None:
    verdict = decide(SHA_RULE, [run(1)], {1: [art(10, SHA, 1, expired=True)]})
    assert isinstance(verdict, Failed) and "expired" in verdict.message


def test_the_newest_run_of_a_workflow_replaces_older_ones_and_forks_do_not_count() -> None:
    runs = current_runs([run(1, "CI", conclusion="failure"), run(5, "CI"),
                         run(7, "CI", repo="mallory/sdk"), run(3, "lint")], REPO, skip=3)
    assert [r.id for r in runs] == [5]


WORKFLOW_RULES = make_rules({"CI": ["npm-package"]}, sha=SHA)


def test_a_workflow_rule_waits_for_every_run_of_its_workflow_and_lists_none_before() -> None:
    runs = [run(1, "CI", "in_progress"), run(2, "lint")]
    assert runs_to_list(WORKFLOW_RULES, runs) == []
    assert isinstance(decide(WORKFLOW_RULES, runs, {}), Wait)
    assert [r.id for r in runs_to_list(SHA_RULE, runs)] == [1, 2]


def test_a_workflow_rule_takes_matching_artifacts_of_its_workflow_only() -> None:
    runs = [run(1, "CI"), run(2, "Docs")]
    verdict = decide(WORKFLOW_RULES, runs, {1: [art(10, "npm-package", 1), art(11, "coverage", 1)],
                                            2: [art(12, "npm-package", 2)]})
    assert isinstance(verdict, Ready) and [a.id for a in verdict.artifacts] == [10]


def test_every_pattern_must_match_as_craft_requires() -> None:
    rules = make_rules({"CI": ["npm-package", "docs"]}, sha=SHA)
    verdict = decide(rules, [run(1, "CI")], {1: [art(10, "npm-package", 1)]})
    assert isinstance(verdict, Failed)
    assert ("artifact pattern docs (from workflow CI) matched no artifact; artifacts there: "
            "npm-package") in verdict.message


def test_a_workflow_pattern_matching_no_run_names_the_workflows_that_ran() -> None:
    waiting = decide(WORKFLOW_RULES, [run(1, "Build", "in_progress")], {})
    assert isinstance(waiting, Wait)
    verdict = decide(WORKFLOW_RULES, [run(1, "Build"), run(2, "Lint")], {})
    assert isinstance(verdict, Failed)
    assert "workflow pattern CI matched no workflow run" in verdict.message
    assert "workflows that ran: Build, Lint" in verdict.message


def test_a_matching_artifact_of_a_failed_run_fails_as_ci() -> None:
    verdict = decide(WORKFLOW_RULES, [run(1, "CI", conclusion="cancelled")],
                     {1: [art(10, "npm-package", 1)]})
    assert isinstance(verdict, Failed) and verdict.ci_failed and "cancelled" in verdict.message


def test_an_unmatched_pattern_says_which_run_did_not_succeed() -> None:
    verdict = decide(WORKFLOW_RULES, [run(1, "CI", conclusion="failure")], {1: []})
    assert isinstance(verdict, Failed) and "did not succeed: CI (run 1)" in verdict.message


def test_a_glob_takes_every_match_and_one_per_name_of_a_run() -> None:
    rules = make_rules({"*": ["sentry-*"]}, sha=SHA)
    runs = [run(1, "Build Linux"), run(2, "Build macOS")]
    verdict = decide(rules, runs, {1: [art(10, "sentry-linux", 1), art(13, "sentry-linux", 1)],
                                   2: [art(11, "sentry-macos", 2), art(12, "junit", 2)]})
    assert isinstance(verdict, Ready) and [a.id for a in verdict.artifacts] == [11, 13]


def test_any_workflow_waits_for_every_run() -> None:
    rules = make_rules({"*": ["sentry-*"]}, sha=SHA)
    runs = [run(1, "Build"), run(2, "Slow tests", "in_progress")]
    assert isinstance(decide(rules, runs, {1: [art(10, "sentry-linux", 1)]}), Wait)
