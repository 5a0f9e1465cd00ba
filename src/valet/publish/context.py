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
from valet.errors import ValetError
from valet.gate import GateResult
from valet.publish.execute import Outcome
from valet.publish.plan import Plan, Resolve
from valet.request import Request


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


@dataclass
class Deps:
    """What publish talks to; the CLI wires real clients, the tests stubs."""

    issues: Any  # publish_api.IssueAPI
    sdk: Callable[[str], Any]  # repo -> publish_api.SdkAPI
    store: Callable[[Request, Config], Any]  # -> store with download_verified / delete
    resolve: Resolve
    sdk_github: Any = None  # PyGithub client for targets (sdk-token)


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
    result: str = "started"
    last_issue: dict[str, Any] | None = None  # the issue as our last tick left it
