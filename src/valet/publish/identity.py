"""The two identities: the publish App (this run's own token) and the request App.

Publish trusts only what its own App wrote (its comments, its ticks, the
approved-body digest) and what GitHub itself recorded. So it must know, before it
reads anything back, which bot it is: GraphQL's ``viewer`` says who the token is
(REST's ``GET /user`` answers 403 to an App installation token), and the
``app-slug`` input, when given, must name that same App. Requests are issues the
request App opened; it is configured by slug (``request-app``), checked to be a
GitHub App (the author GitHub recorded for the issue the run reads, when that
is the App's bot; else ``GET /apps/{slug}``: ``IssueAPI.app``), and must not be
the publish App: an SDK committer can act as the request App, nobody outside the
publish repository may act as the publish App.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from valet.errors import UsageError

_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}")
BOT = "[bot]"


@dataclass(frozen=True)
class Identities:
    publish_bot: str  # "<slug>[bot]": the only author whose records publish trusts
    request_bot: str  # "<slug>[bot]": the only author of requests

    def is_publish_bot(self, login: object) -> bool:
        return isinstance(login, str) and login.lower() == self.publish_bot.lower()

    def is_request_bot(self, login: object) -> bool:
        return isinstance(login, str) and login.lower() == self.request_bot.lower()


def _slug(raw: str | None, what: str) -> str | None:
    text = (raw or "").strip().lstrip("@")
    text = text[: -len(BOT)] if text.endswith(BOT) else text
    if not text:
        return None
    if not _SLUG.fullmatch(text):
        raise UsageError(f"{what} {text!r} is not a GitHub App slug",
                         hint="a slug is the App's name in its URL: "
                         "https://github.com/apps/<slug> (letters, digits and '-')")
    return text


def request_app_slug(raw: str | None) -> str:
    """The configured request App's slug; UsageError (with the fix) when there is none."""
    request = _slug(raw, "request-app")
    if request is None:
        raise UsageError(
            "the request identity is not configured: valet publish must know which App "
            "opens requests, or anyone could open one",
            hint="set the publish action's input `request-app:` to the slug of the SDK "
            "side's App (the one release.yml mints), for example\n"
            "  with:\n    request-app: my-org-valet-request")
    return request


def learn(issues: Any, *, app_slug: str | None, request_app: str | None) -> Identities:
    """Both identities, checked against GitHub; UsageError (with the fix) otherwise.

    For the publish run itself: its token must be the publish App's bot."""
    request = request_app_slug(request_app)
    me = issues.viewer_login()
    if not me.endswith(BOT):
        raise UsageError(
            f"github-token acts as {me}, not as a GitHub App: publish tells its own records "
            "apart from anyone else's by their author, so it runs with the publish App's token",
            hint="mint the publish App's token in the publish job (actions/create-github-app-"
            "token with PUBLISH_APP_ID / PUBLISH_APP_PRIVATE_KEY from `production`) and pass "
            "it as github-token, with app-slug: ${{ steps.app-token.outputs.app-slug }}")
    mine = me[: -len(BOT)]
    given = _slug(app_slug, "app-slug")
    if given is not None and given.lower() != mine.lower():
        raise UsageError(
            f"app-slug says the publish App is {given}, but github-token is {me}",
            hint="pass the slug of the App whose token github-token is: "
            "app-slug: ${{ steps.app-token.outputs.app-slug }}")
    return _checked(issues, mine, request)


def named(issues: Any, *, app_slug: str | None, request_app: str | None) -> Identities:
    """Both identities as configured, for a reader that is neither App (``valet audit``):
    the same rules as ``learn`` (two different Apps, both real), without asking the token
    who it is. UsageError (with the fix) otherwise."""
    request = request_app_slug(request_app)
    mine = _slug(app_slug, "app-slug")
    if mine is None:
        raise UsageError(
            "the publish identity is not configured: only the records the publish App "
            "wrote are evidence, so the audit must know which App that is",
            hint="pass --app-slug with the slug of the publish App (the `app-slug` the "
            "publish workflow gives action-publish)")
    if issues.app(mine) is None:
        raise UsageError(f"app-slug {mine!r} is not a GitHub App",
                         hint="pass the slug in the publish App's URL, "
                         "https://github.com/apps/<slug>")
    return _checked(issues, mine, request)


def _checked(issues: Any, mine: str, request: str) -> Identities:
    """The publish App ``mine`` and the request App ``request``: two Apps, the second real."""
    if request.lower() == mine.lower():
        raise UsageError(
            f"request-app names the publish App itself ({mine}): one App on both sides means "
            "any SDK committer who can mint the request App's token can also write what "
            "publish trusts",
            hint="create a second GitHub App for the SDK side (its key in the SDK "
            "repositories' `release` environment) and set request-app: to its slug")
    if issues.app(request) is None:
        raise UsageError(f"request-app {request!r} is not a GitHub App",
                         hint="set request-app: to the slug in the request App's URL, "
                         "https://github.com/apps/<slug>")
    return Identities(publish_bot=f"{mine}{BOT}", request_bot=f"{request}{BOT}")
