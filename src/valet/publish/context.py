"""What one publish run works with: its settings, what it talks to, and its state."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from valet import summary
from valet.authz import Approval, Policy
from valet.config import Config
from valet.errors import NotAuthorizedError, ValetError
from valet.events import Actor, Labeled
from valet.gate import GateResult
from valet.publish.execute import Outcome
from valet.publish.identity import Identities
from valet.publish.plan import Plan, Resolve
from valet.request import Request

DEFAULT_RELEASE_WORKFLOW = ".github/workflows/release.yml"


class Refused(Exception):
    """A check refused the approval: publish nothing, remove the label, say why."""

    def __init__(self, error: NotAuthorizedError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass
class Settings:
    publish_repo: str
    policy: Policy
    dry_run: bool = False
    max_parallel: int = 4
    ignore_checks: tuple[str, ...] = ()
    allow_unprotected_merge_target: bool = False  # rehearsals against a scratch branch only
    workdir: Path = field(default_factory=lambda: Path(os.environ.get("RUNNER_TEMP") or tempfile.gettempdir()))
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    run_url: str | None = None
    # Who publish is and who opens requests (identity.learn); None: not configured,
    # and publish refuses to run.
    identities: Identities | None = None
    release_workflow: str = DEFAULT_RELEASE_WORKFLOW  # in the SDK repos
    # The publish workflow (its file name) and ref a sweep starts an issue's own run of.
    dispatch_workflow: str | None = None
    dispatch_ref: str | None = None
    # The publish repository's valet-publish.yml (publish_policy.PublishPolicy) once read:
    # one GET per run (publish.served.load).
    served: Any = None


@dataclass
class Deps:
    """What publish talks to; the CLI wires real clients, the tests stubs."""

    issues: Any  # publish_api.IssueAPI
    sdk: Callable[[str], Any]  # repo -> publish_api.SdkAPI
    store: Callable[[Request, Config], Any]  # -> store with download_verified / delete
    resolve: Resolve
    sdk_github: Any = None  # PyGithub client for targets (sdk-token)
    # Learns both identities from GitHub (identity.learn) when Settings has none yet:
    # only a run that acts on an issue asks.
    identify: Callable[[], Identities] | None = None
    # Starts the reads ``identify`` makes, so they run with the others (publish.ahead).
    warm_identity: Callable[[], None] | None = None
    # SDK repo -> its valet.releases.ReleaseIndex for this run (shared by the store and
    # the github target); None: each reads for itself.
    releases: Callable[[str], Any] | None = None
    # (workflow, ref, inputs) -> the started run: a sweep hands an issue to its own run.
    dispatch: Callable[[str, str, dict[str, str]], Any] | None = None


@dataclass
class Review:
    """An issue whose approval is being checked, before anything of the SDK is read."""

    number: int
    issue: dict[str, Any]
    names: set[str]  # its labels now
    events: list[dict[str, Any]]
    approver: Actor  # who the event (or the latest `labeled accepted`) says approved
    approved: Any  # approval.Approved: the body they approved
    event: Labeled | None = None  # the event that started this run: a hint only
    request: Request | None = None
    written_at: str = ""  # when the request App last wrote the body
    written_body: str = ""  # the body as the request App last wrote it (seal_check)
    requesters: tuple[str, ...] = ()
    approval: Approval | None = None

    @property
    def body(self) -> str:
        return str(self.issue.get("body") or "")


@dataclass
class Run:
    """One request being published: what was read and decided so far."""

    number: int
    request: Request
    approval: Approval
    labels: set[str]
    dry_run: bool
    body: str
    events: list[dict[str, Any]] = field(default_factory=list)
    merge_target: str | None = None
    config: Config | None = None
    plan: Plan | None = None
    gate: GateResult | None = None
    outcome: Outcome | None = None
    rows: list[summary.Row] = field(default_factory=list)
    ticked_by: dict[str, str] = field(default_factory=dict)
    store: Any = None
    merge_error: ValetError | None = None
    branch_rules: Any = None  # branch_rules.BranchRules of the merge target
    merge_plan: Any = None  # branch_rules.MergePlan, decided before anything publishes
    # GitHub's compare of the merge target with the release commit, read once: the review
    # check and the merge check both answer from it (checks.release_compare).
    release_compare: dict[str, Any] | None = None
    result: str = "started"
    last_issue: dict[str, Any] | None = None  # the issue as our last tick left it
    approval_event: int | None = None  # the id of the `labeled accepted` event approved
    recorded: bool = False  # the publish App's record of the approved body exists
    # GraphQL ids from the issue as read at the start (REST's ``node_id``): the issue's,
    # and each label's that was on it (finish closes through GraphQL with them).
    node_id: str | None = None
    label_ids: dict[str, str] = field(default_factory=dict)
