"""`valet publish`: act on the event in GITHUB_EVENT_PATH, or on `--repo O/R --issue N`.

Inputs come from action inputs (INPUT_*) with flags overriding them; registry
credentials reach the targets through the environment the workflow maps.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Any

from valet.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "publish",
        help="publish an approved release (acts on the workflow event or --repo/--issue)",
        description="Authorize the approver, check the request, gate on CI, verify every "
        "artifact and publish it to each target; resume publishes only unticked targets.",
    )
    p.add_argument("--repo", help="the publish repository OWNER/REPO (with --issue)")
    p.add_argument("--issue", type=int, help="act on this issue instead of the event")
    p.add_argument("--sweep", action="store_true",
                   help="re-check every issue waiting in ci-pending (what schedule runs do)")
    p.add_argument("--dry-run", action="store_true", default=None,
                   help="run every check and the plan; upload, tick, merge and close nothing")
    p.add_argument("--approvers", help="logins and/or org/team allowed to approve")
    p.add_argument("--request-app", help="slug of the request App, the only author of requests")
    p.add_argument("--max-parallel", type=int, help="targets published at once (default 4)")
    p.add_argument("--labels", action="store_true",
                   help="print the label state machine (markdown) and exit")
    p.set_defaults(func=run)


_REPO_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")


def run(args: argparse.Namespace) -> int:
    from valet import gha, labels

    if args.labels:
        sys.stdout.write(labels.render_markdown())
        return 0

    from valet import github_client
    from valet.authz import parse_policy
    from valet.events import Sweep, load_event
    from valet.publish import Deps, Publisher, Settings
    from valet.publish.context import DEFAULT_RELEASE_WORKFLOW
    from valet.publish.identity import learn, request_app_slug
    from valet.publish_api import IssueAPI, Rest, SdkAPI
    from valet.targets import get_target

    token = gha.get_input("github-token") or os.environ.get("GITHUB_TOKEN")
    github_client.require_token(token, "github-token")
    sdk_token = gha.get_input("sdk-token") or token
    gha.add_mask(sdk_token)

    repo = args.repo or os.environ.get("GITHUB_REPOSITORY")
    if not repo:
        raise UsageError("no publish repository given: valet publish acts on the approval "
                         "issues of one repository",
                         hint="pass --repo OWNER/REPO (with --issue N or --sweep); inside a "
                         "workflow GITHUB_REPOSITORY names it")
    if not _REPO_RE.fullmatch(repo):
        raise UsageError(f"publish repository {repo!r} is not OWNER/REPO",
                         hint="pass --repo OWNER/REPO (GITHUB_REPOSITORY inside a workflow)")
    approvers = args.approvers if args.approvers is not None else gha.get_input("approvers")
    policy = parse_policy(approvers,
                          allow_self_approval=gha.get_bool_input("allow-self-approval", False),
                          allow_bots=gha.get_input("allow-bots"))
    dry_run = args.dry_run if args.dry_run is not None else gha.get_bool_input("dry-run", False)
    max_parallel = args.max_parallel or _int_input("max-parallel", 4)
    ignore = tuple(x for x in re.split(r"[,\n]+", gha.get_input("ignore-checks") or "")
                   if x.strip())

    workflow = (gha.get_input("release-workflow") or DEFAULT_RELEASE_WORKFLOW).strip()
    if not re.fullmatch(r"\.github/workflows/[A-Za-z0-9._-]+\.ya?ml", workflow):
        raise UsageError(f"release-workflow {workflow!r} is not a workflow file",
                         hint="name the SDK's release workflow by its path, for example "
                         "release-workflow: .github/workflows/release.yml")
    dispatch_workflow, dispatch_ref = _own_workflow(os.environ.get("GITHUB_WORKFLOW_REF"),
                                                    os.environ.get("GITHUB_REF"))
    settings = Settings(publish_repo=repo, policy=policy, dry_run=dry_run,
                        release_workflow=workflow, dispatch_workflow=dispatch_workflow,
                        dispatch_ref=dispatch_ref,
                        max_parallel=max_parallel, ignore_checks=tuple(x.strip() for x in ignore),
                        allow_unprotected_merge_target=gha.get_bool_input(
                            "allow-unprotected-merge-target", False),
                        run_url=gha.run_url())
    gh = github_client.connect(token, what="github-token")
    sdk_gh = gh if sdk_token == token else github_client.connect(sdk_token, what="sdk-token")
    sdk_rest = Rest(sdk_gh)
    indexes: dict[str, Any] = {}

    def releases_of(sdk_repo: str) -> Any:
        from valet.releases import ReleaseIndex

        # One per SDK repository for the run: the store and the github target share it.
        return indexes.setdefault(sdk_repo.lower(), ReleaseIndex(sdk_rest, sdk_repo, sdk_gh))

    def store_for(request, config):  # type: ignore[no-untyped-def]
        from valet.store import open_store
        from valet.version import tag_name

        # The same tag name prepare gave the draft (tag prefix and monorepo path).
        return open_store(request.store or config.artifact_store.kind, gh=sdk_gh,
                          session=github_client.session(sdk_token), repo=request.repo,
                          tag=tag_name(config, request.version), version=request.version,
                          release_id=request.release_id, sha=request.sha,
                          # unnamed: the release commit's sha, as prepare's notice says
                          artifact_name=config.artifact_store.name or request.sha,
                          index=releases_of(request.repo))

    issues = IssueAPI(Rest(gh), repo)
    # A sweep starts an issue's own run with this token: the job's GITHUB_TOKEN (given
    # `actions: write`, and a workflow_dispatch it sends does start a run) keeps that right
    # off the publish App; default: github-token.
    dispatch_token = gha.get_input("dispatch-token") or token
    gha.add_mask(dispatch_token)
    dispatcher = issues if dispatch_token == token else IssueAPI(
        Rest(token=dispatch_token, base_url=github_client.api_url()), repo)
    # Who publish is (its token's bot) and who opens requests: configured up front,
    # checked against GitHub before the first issue is read.
    request_app = request_app_slug(args.request_app or gha.get_input("request-app"))
    app_slug = gha.get_input("app-slug")
    deps = Deps(issues=issues, sdk=lambda r: SdkAPI(sdk_rest, r),
                store=store_for, resolve=get_target, sdk_github=sdk_gh,
                identify=lambda: learn(issues, app_slug=app_slug, request_app=request_app),
                warm_identity=lambda: issues.warm_identity(request_app), releases=releases_of,
                dispatch=lambda wf, ref, inputs: dispatcher.dispatch(wf, ref, inputs))
    publisher = Publisher(settings, deps)
    if args.sweep:
        return publisher.sweep()
    if args.issue is not None:
        if args.issue <= 0:
            raise UsageError("--issue must be a positive issue number")
        return publisher.resume(args.issue, strict=False)
    event = load_event(os.environ.get("GITHUB_EVENT_NAME"), os.environ.get("GITHUB_EVENT_PATH"),
                       repository=repo)
    if isinstance(event, Sweep) and event.repo.lower() != repo.lower():
        raise UsageError(f"the event belongs to {event.repo}, not {repo}")
    return publisher.handle(event)


def _own_workflow(workflow_ref: str | None, ref: str | None) -> tuple[str | None, str | None]:
    """(file name, ref) of the running workflow from GITHUB_WORKFLOW_REF
    (``owner/repo/.github/workflows/publish.yml@refs/heads/main``); (None, None) outside one."""
    if not workflow_ref or "@" not in workflow_ref:
        return None, None
    path, _, at = workflow_ref.rpartition("@")
    match = re.fullmatch(r"[^/]+/[^/]+/\.github/workflows/([A-Za-z0-9._-]+\.ya?ml)", path)
    if match is None:
        return None, None
    return match.group(1), (at or ref or None)


def _int_input(name: str, default: int) -> int:
    from valet import gha

    raw = gha.get_input(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 32:
        raise UsageError(f"input {name!r} must be a whole number from 1 to 32, got {raw!r}")
    return int(raw)
