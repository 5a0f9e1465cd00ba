"""Webhook payloads: the real examples' shape, the sandbox's values."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.fixtures.sandbox import unique
from valet.errors import SandboxError
from valet.sandbox.webhooks import dispatch_event, example, issue_event, schedule_event

pytestmark = pytest.mark.sandbox

FOREIGN = ("Codertocat", "Hello-World", "api.github.com", "https://github.com", "octo-org")


def _keys_in_order(template: dict[str, Any], payload: dict[str, Any]) -> None:
    """Every key of the real example is in the payload, in the example's order."""
    keys = list(payload)
    assert [k for k in keys if k in template] == list(template), (list(template), keys)


def _get(sandbox: Any, token: str, path: str) -> Any:
    resp = requests.get(f"{sandbox.api_url}{path}", timeout=30,
                        headers={"Authorization": f"Bearer {token}"})
    resp.raise_for_status()
    return resp.json()


@pytest.fixture
def seeded(sandbox: Any, gh_repo_factory: Callable[..., Any],
           sandbox_user_factory: Callable[..., Any]) -> Callable[..., dict[str, Any]]:
    def make(*, org: str | None = None) -> dict[str, Any]:
        repo = gh_repo_factory({"README.md": "x\n"}, owner=org, prefix="hooks")
        sender = sandbox_user_factory("labeler")
        sandbox.admin.set_permission(repo.full_name, sender.login, "triage")
        gh = repo.gh()
        issue = gh.create_issue(title="publish: acme/sdk@2.0.0", body="body\r\nline")
        gh.create_label("accepted", "0e8a16", "approved")
        repo.gh(sender.token).get_issue(issue.number).add_to_labels("accepted")
        path = f"/repos/{repo.full_name}"
        return {
            "repo": _get(sandbox, repo.token, path),
            "issue": _get(sandbox, repo.token, f"{path}/issues/{issue.number}"),
            "sender": _get(sandbox, repo.token, f"/users/{sender.login}"),
            "label": _get(sandbox, repo.token, f"{path}/labels/accepted"),
        }

    return make


def test_labeled_payload_has_the_real_shape_and_sandbox_values(
        seeded: Callable[..., dict[str, Any]]) -> None:
    facts = seeded()
    payload = issue_event("labeled", **facts)
    real = example("issues", "labeled")

    _keys_in_order(real, payload)
    for part in ("issue", "repository", "sender", "label"):
        _keys_in_order(real[part], payload[part])
    _keys_in_order(real["issue"]["user"], payload["issue"]["user"])
    assert "organization" not in payload

    assert payload["action"] == "labeled"
    assert payload["issue"]["number"] == facts["issue"]["number"]
    assert payload["issue"]["title"] == "publish: acme/sdk@2.0.0"
    assert payload["issue"]["body"] == facts["issue"]["body"]
    assert [lab["name"] for lab in payload["issue"]["labels"]] == ["accepted"]
    assert payload["label"]["name"] == "accepted"
    assert payload["sender"]["login"] == facts["sender"]["login"]
    assert payload["repository"]["full_name"] == facts["repo"]["full_name"]
    assert payload["repository"]["owner"]["login"] == facts["repo"]["owner"]["login"]
    text = json.dumps(payload)
    for foreign in FOREIGN:
        assert foreign not in text, foreign


def test_opened_payload_for_an_org_repo_names_the_org(
        seeded: Callable[..., dict[str, Any]]) -> None:
    facts = seeded(org=unique("hooks-org"))
    facts.pop("label")
    payload = issue_event("opened", **facts)
    real = example("issues", "opened", with_org=True)

    _keys_in_order(real, payload)
    assert "label" not in payload
    assert payload["organization"]["login"] == facts["repo"]["owner"]["login"]
    text = json.dumps(payload)
    for foreign in FOREIGN:
        assert foreign not in text, foreign



def test_dispatch_and_schedule_payloads(seeded: Callable[..., dict[str, Any]]) -> None:
    facts = seeded()
    payload = dispatch_event({"issue": 7}, repo=facts["repo"], sender=facts["sender"])
    _keys_in_order({k: v for k, v in example("workflow_dispatch").items()
                    if k != "organization"}, payload)
    assert payload["inputs"] == {"issue": "7"}
    assert payload["ref"] == f"refs/heads/{facts['repo']['default_branch']}"
    assert payload["repository"]["full_name"] == facts["repo"]["full_name"]
    assert schedule_event("0 * * * *") == {"schedule": "0 * * * *"}


def test_payload_refuses_something_that_is_not_a_rest_answer(
        seeded: Callable[..., dict[str, Any]]) -> None:
    facts = seeded()
    with pytest.raises(SandboxError, match="issue"):
        issue_event("labeled", repo=facts["repo"], issue={"message": "Not Found"},
                    sender=facts["sender"], label=facts["label"])
    with pytest.raises(SandboxError, match="label"):
        issue_event("labeled", repo=facts["repo"], issue=facts["issue"],
                    sender=facts["sender"])
