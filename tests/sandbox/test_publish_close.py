"""The successful close against the sandbox's GraphQL engine: one mutation document posts
the summary, sets the labels relative to what the run saw, writes the ticks and closes;
REST closes when the `published` label does not exist yet."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.test_publish import Scene, scene  # noqa: F401 - the fixture
from valet.labels import Label

pytestmark = pytest.mark.sandbox


def _labels_exist(scene: Scene) -> None:  # noqa: F811
    repo = scene.publish.gh()
    for label in Label:
        if str(label) not in {x.name for x in repo.get_labels()}:
            repo.create_label(str(label), "ededed")


def _issue_calls(scene: Scene) -> list[dict[str, Any]]:  # noqa: F811
    """What publish (the publish App) asked of the issue."""
    issue = f"/repos/{scene.publish.full_name}/issues/{scene.number}"
    return [e for e in scene.sb.admin.request_log() if e.get("user") == scene.publish_app.login
            and (e["path"] == issue or e["path"].startswith(issue + "/"))]


def test_the_close_is_one_mutation_and_a_label_added_meanwhile_stays(scene, monkeypatch):  # noqa: F811
    from valet.publish import finish

    _labels_exist(scene)
    plain_merge = finish.merge

    def merge(run, sdk):
        # a person labels the issue while the release lands
        scene.publish.gh(scene.approver.token).get_issue(scene.number).add_to_labels("dry-run")
        return plain_merge(run, sdk)

    monkeypatch.setattr(finish, "merge", merge)
    scene.sb.admin.clear_request_log()
    assert scene.label(scene.approver) == 0
    issue = scene.issue()
    assert issue.state == "closed" and issue.state_reason == "completed"
    assert scene.labels() == {"published", "dry-run"}  # `accepted` went, the person's stayed
    assert scene.checked() == {"pypi": True, "npm": True, "github": True}
    summaries = [c for c in issue.get_comments() if "valet:summary" in c.body]
    assert [c.user.login for c in summaries] == [scene.publish_app.login]
    mutations = [e for e in scene.sb.admin.request_log() if e.get("operation") == "mutation"]
    assert [e["fields"] for e in mutations] == [[
        "addComment", "addLabelsToLabelable", "removeLabelsFromLabelable", "updateIssue",
        "closeIssue"]]
    # the issue itself never read through REST (the run's first GraphQL query answers it,
    # the label added meanwhile stays because removing is relative), never written
    # through REST by the close
    calls = _issue_calls(scene)
    issue_path = f"/repos/{scene.publish.full_name}/issues/{scene.number}"
    assert [e["method"] for e in calls if e["path"] == issue_path] == []
    assert not [e for e in calls if e["method"] != "GET"]
    # GitHub recorded the publish App as who closed it and who labelled it
    events = [(e.event, e.actor.login) for e in issue.get_events()]
    assert ("closed", scene.publish_app.login) in events
    assert ("labeled", scene.publish_app.login) in events


def test_without_the_published_label_the_close_goes_through_rest(scene, capsys):  # noqa: F811
    scene.sb.admin.clear_request_log()
    assert scene.label(scene.approver) == 0
    assert scene.issue().state == "closed" and scene.labels() == {"published"}
    assert not [e for e in scene.sb.admin.request_log() if e.get("operation") == "mutation"]
    issue_path = f"/repos/{scene.publish.full_name}/issues/{scene.number}"
    assert "PATCH" in [e["method"] for e in _issue_calls(scene) if e["path"] == issue_path]
    assert "the label `published` does not exist yet" in capsys.readouterr().out
