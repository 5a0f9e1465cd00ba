"""What the publish repository serves (its valet-publish.yml), read once per run, and
the two checks that hold a request to it.

- ``repo_served`` (an approval check, right after the request parses): the SDK
  repository is listed, before anything of it is read;
- ``destinations_allowed`` (right after the plan, before any download or token use):
  every target the plan runs is a kind listed for the repository, and every package,
  repository, bucket and host its ``destinations()`` name is allowed.

The file is read from the publish repository's default branch (publish_api.IssueAPI
.policy_text), never from the event, the issue or the SDK side; Settings keeps it for
the rest of the run (one GET; a sweep's issues share it).
"""

from __future__ import annotations

from typing import Any

from valet.errors import ConfigError, NotServedError, ValetError
from valet.publish.context import Deps, Refused, Review, Run, Settings
from valet.publish_policy import Item, PublishPolicy, check_served, parse, refusal, refusals
from valet.targets.base import TargetContext, host_of


def load(deps: Deps, settings: Settings) -> PublishPolicy:
    if settings.served is None:
        try:
            settings.served = parse(deps.issues.policy_text(), settings.publish_repo)
        except ConfigError as exc:  # kept too: a broken file is read once, like a good one
            settings.served = exc
    if isinstance(settings.served, ConfigError):
        raise settings.served
    return settings.served  # type: ignore[no-any-return]


def serves(deps: Deps, settings: Settings, repo: str) -> bool:
    """Whether the policy lists ``repo`` (False when it cannot be read: the checks say why)."""
    try:
        policy = load(deps, settings)
    except ValetError:
        return False
    return policy.found and policy.repo(repo) is not None


def repo_served(review: Review, deps: Deps, settings: Settings) -> None:
    assert review.request is not None
    try:
        check_served(load(deps, settings), review.request.repo, settings.publish_repo,
                     [t.id for t in review.request.targets])
    except NotServedError as exc:
        raise Refused(exc) from None


def github_hosts(env: Any) -> tuple[str, ...]:
    """The GitHub this run is on (its API and git hosts): every target may write there."""
    from valet.github_client import DEFAULT_API_URL, DEFAULT_SERVER_URL

    return (host_of(env.get("GITHUB_API_URL") or DEFAULT_API_URL),
            host_of(env.get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL))


def destinations_allowed(run: Run, deps: Deps, settings: Settings) -> None:
    """Every target of the plan writes only where valet-publish.yml allows: the targets'
    ``destinations()`` are pure (the configuration and the approved file names), so this
    runs before anything is downloaded and before any credential is read."""
    assert run.config is not None and run.plan is not None
    policy = load(deps, settings)
    try:
        rp = check_served(policy, run.request.repo, settings.publish_repo,
                          [t.id for t in run.request.targets])
    except NotServedError as exc:
        raise Refused(exc) from None
    by_name = {a.name: a for a in run.request.artifacts}
    items = []
    for item in run.plan.run:
        impl = deps.resolve(item.name)
        declared = getattr(impl, "destinations", None)
        dests: list[Any] = []
        if declared is not None:  # a target that names none is held to its kind alone
            ctx = TargetContext(request=run.request, config=run.config, target=item.target,
                                files={}, artifacts={n: by_name[n] for n in item.files
                                                     if n in by_name},
                                workdir=settings.workdir, env=settings.env,
                                dry_run=run.dry_run)
            dests = list(declared(ctx))
        items.append(Item(item.key, item.name, tuple((d.kind, d.value) for d in dests)))
    found = refusals(policy, rp, items, github_hosts=github_hosts(settings.env))
    if found:
        run.result = "refused: not served"
        raise Refused(refusal(policy, rp, settings.publish_repo, found))
