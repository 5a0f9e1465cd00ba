from __future__ import annotations

import json

from valet.cli import main


def test_labels_prints_the_state_machine(capsys):
    assert main(["publish", "--labels"]) == 0
    out = capsys.readouterr().out
    assert "| `ci-pending` |" in out and "| refuse |" in out


def test_an_event_it_does_not_act_on_is_a_notice_and_success(tmp_path, monkeypatch, capsys):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "opened", "issue": {}, "sender": {"login": "a"}}))
    monkeypatch.setenv("INPUT_GITHUB_TOKEN", "ghs_test_token_value")
    monkeypatch.setenv("INPUT_REQUEST_APP", "org-valet-request")
    monkeypatch.setenv("GITHUB_REPOSITORY", "org/publish")
    monkeypatch.setenv("GITHUB_EVENT_NAME", "issues")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    assert main(["publish"]) == 0  # nothing reached the (dead) API
    assert "only `labeled` is acted on" in capsys.readouterr().err


def test_missing_token_and_bad_inputs_are_usage_errors(monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_REPOSITORY", "org/publish")
    assert main(["publish"]) == 2
    assert "github-token" in capsys.readouterr().err
    monkeypatch.setenv("INPUT_GITHUB_TOKEN", "ghs_test_token_value")
    monkeypatch.setenv("INPUT_REQUEST_APP", "org-valet-request")
    monkeypatch.setenv("INPUT_APPROVERS", "alice, $(id)")
    assert main(["publish"]) == 2
    monkeypatch.setenv("INPUT_APPROVERS", "alice")
    monkeypatch.setenv("INPUT_MAX_PARALLEL", "0")
    assert main(["publish"]) == 2


def test_without_a_request_app_publish_refuses_to_run_and_says_what_to_set(monkeypatch, capsys):
    monkeypatch.setenv("INPUT_GITHUB_TOKEN", "ghs_test_token_value")
    monkeypatch.setenv("GITHUB_REPOSITORY", "org/publish")
    assert main(["publish", "--sweep"]) == 2
    err = capsys.readouterr().err
    assert "request identity is not configured" in err and "request-app:" in err
    monkeypatch.setenv("INPUT_REQUEST_APP", "not a slug!")
    assert main(["publish", "--sweep"]) == 2
    assert "is not a GitHub App slug" in capsys.readouterr().err


def test_without_a_repository_it_says_what_to_pass(monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    monkeypatch.setenv("INPUT_GITHUB_TOKEN", "ghs_test_token_value")
    assert main(["publish"]) == 2
    err = capsys.readouterr().err
    assert "None" not in err and "--repo OWNER/REPO" in err
