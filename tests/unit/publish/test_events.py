from __future__ import annotations

import json

import pytest

from valet.errors import UsageError
from valet.events import Ignored, Labeled, Sweep, load_event, parse_event


def labeled(**over):
    payload = {
        "action": "labeled",
        "label": {"name": "accepted"},
        "issue": {"number": 5, "title": "publish: o/r@1.0.0", "body": "b", "state": "open",
                  "labels": [{"name": "accepted"}, {"name": "dry-run"}]},
        "repository": {"full_name": "org/publish"},
        "sender": {"login": "alice", "type": "User"},
    }
    payload.update(over)
    return payload


def test_labeled_event_fields():
    ev = parse_event("issues", labeled())
    assert isinstance(ev, Labeled)
    assert (ev.repo, ev.number, ev.label, ev.sender.login, ev.state) == ("org/publish", 5, "accepted", "alice", "open")
    assert ev.labels == ("accepted", "dry-run") and not ev.sender.is_bot and not ev.is_pull_request


def test_null_body_reads_as_empty():
    payload = labeled()
    payload["issue"]["body"] = None
    assert parse_event("issues", payload).body == ""


def test_bot_sender():
    ev = parse_event("issues", labeled(sender={"login": "renovate[bot]", "type": "Bot"}))
    assert ev.sender.is_bot


@pytest.mark.parametrize("action", ["opened", "unlabeled", "edited", None])
def test_other_issue_actions_are_ignored(action):
    assert isinstance(parse_event("issues", labeled(action=action)), Ignored)


@pytest.mark.parametrize("name", ["push", "pull_request_target", "issue_comment"])
def test_other_events_are_ignored(name):
    ev = parse_event(name, {})
    assert isinstance(ev, Ignored) and name in ev.reason


@pytest.mark.parametrize("over", [
    {"sender": {"login": "a b", "type": "User"}},
    {"sender": {"login": "$(id)"}},
    {"issue": {"number": "5", "title": "t", "body": "", "state": "open"}},
    {"issue": {"number": -1, "title": "t", "body": "", "state": "open"}},
    {"label": "accepted"},
    {"repository": {"full_name": "../etc"}},
])
def test_malformed_payloads_are_usage_errors(over):
    with pytest.raises(UsageError):
        parse_event("issues", labeled(**over))


def test_schedule_and_dispatch_are_sweeps():
    assert parse_event("schedule", {"repository": {"full_name": "org/publish"}}) == Sweep("org/publish", "schedule")
    ev = parse_event("workflow_dispatch", {"inputs": {"issue": "12"}}, repository="org/publish")
    assert ev == Sweep("org/publish", "workflow_dispatch", 12)
    with pytest.raises(UsageError):
        parse_event("workflow_dispatch", {"inputs": {"issue": "1; rm"}}, repository="org/publish")


def test_load_event_from_file(tmp_path):
    path = tmp_path / "event.json"
    path.write_text(json.dumps(labeled()))
    assert isinstance(load_event("issues", str(path)), Labeled)
    with pytest.raises(UsageError):
        load_event(None, None)
    path.write_text("{not json")
    with pytest.raises(UsageError):
        load_event("issues", str(path))
