"""Which GitHub calls are sent again after a failure, against the sandbox's faults.

A POST creates something: when its answer is lost (GitHub acted, the client
saw a dropped connection) sending it again duplicates it. A rate-limit answer
means GitHub did nothing: waiting and sending again is safe.
"""

from __future__ import annotations

import pytest

from valet import github_client
from valet.publish_api import IssueAPI, Rest

pytestmark = pytest.mark.sandbox

COMMENTS = r"^/api/v3/repos/[^/]+/[^/]+/issues/\d+/comments$"


def _issue(gh_repo_factory):  # type: ignore[no-untyped-def]
    repo = gh_repo_factory()
    number = repo.gh().create_issue("publish: acme/sdk@1.0.0").number
    return repo, number


@pytest.mark.xfail(strict=True, reason="the client retries every POST after a dropped answer")
def test_a_comment_whose_answer_is_lost_is_posted_once(gh_repo_factory, sandbox) -> None:
    repo, number = _issue(gh_repo_factory)
    api = IssueAPI(Rest(github_client.connect(repo.token, base_url=sandbox.api_url)),
                   repo.full_name)
    sandbox.admin.add_fault(path=COMMENTS, method="POST", kind="lost", count=1)
    api.comment(number, "published 1.0.0")
    bodies = [c.body for c in repo.gh().get_issue(number).get_comments()]
    assert bodies == ["published 1.0.0"]
