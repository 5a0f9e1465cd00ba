"""A publish repository in memory with a clock, where valet's own publish runs, for the
audit to read back: the fakes of tests/unit/publish, each write stamped in order."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tests.unit.publish.fakes import (
    BOT,
    REQUEST_BOT,
    FakeIssues,
    FakeSdk,
    FakeStore,
    Registry,
    identities,
    make_body,
    open_request,
    prepare_run,
)
from valet import audit
from valet.authz import parse_policy
from valet.publish import Deps, Publisher, Settings

N = 5


class ClockIssues(FakeIssues):
    """FakeIssues whose events, comments and edits carry GitHub's timestamps (whole
    seconds, in the order they happen), and which lists its issues as the audit does."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = datetime(2030, 1, 1, 0, 0, 20, tzinfo=timezone.utc)
        self.fail_edits = False

    def now(self) -> str:
        self.clock += timedelta(seconds=1)
        return self.clock.strftime("%Y-%m-%dT%H:%M:%SZ")

    def create(self, number: int, body: str, title: str = "publish: org/sdk@1.2.3",
               labels: tuple[str, ...] = (), author: str = REQUEST_BOT) -> None:
        super().create(number, body, title, labels, author)
        self.store[number]["html_url"] = f"https://github.com/org/publish/issues/{number}"

    def event(self, number: int, event: str, login: str, kind: str = "User",
              **extra: Any) -> None:
        super().event(number, event, login, kind, created_at=self.now(), **extra)

    def _post(self, number: int, body: str) -> None:
        super()._post(number, body)
        self._comments[number][-1]["created_at"] = self.now()

    def comment_as(self, number: int, login: str, body: str, kind: str = "User") -> None:
        super().comment_as(number, login, body, kind)
        self._comments[number][-1]["created_at"] = self.now()

    def edit_body(self, number: int, body: str, login: str, at: str | None = None) -> None:
        super().edit_body(number, body, login, at or self.now())

    def _close(self, number: int) -> None:
        super()._close(number)
        self.event(number, "closed", BOT, "Bot")

    def body_edits(self, number: int) -> list[Any]:
        if self.fail_edits:
            from valet.errors import GitHubError

            raise GitHubError("reading the edit history: HTTP 403: Resource not accessible")
        return super().body_edits(number)

    def all_issues(self, since: str | None = None) -> list[dict[str, Any]]:
        return [copy.deepcopy(i) for _, i in sorted(self.store.items(), reverse=True)]


class World:
    """One request (#5) of org/sdk, requested by `requester`, approvable by alice."""

    def __init__(self, tmp_path: Path, *, approvers: str = "alice", **rules: Any) -> None:
        self.issues = ClockIssues()
        self.issues.roles.update({"alice": "maintain", "bob": "maintain"})
        self.sdk = FakeSdk()
        self.sdk.runs[4242] = prepare_run("requester")
        self.store = FakeStore()
        self.reg = Registry()
        open_request(self.issues, self.sdk, N, make_body())
        self.ids = identities()
        self.policy = parse_policy(approvers, **rules)
        self.settings = Settings(publish_repo="org/publish", policy=self.policy,
                                 workdir=tmp_path, env={"STUB_TOKEN": "x"},
                                 run_url="https://github.com/org/publish/actions/runs/77",
                                 identities=self.ids)
        self.publisher = Publisher(self.settings, Deps(
            issues=self.issues, sdk=lambda repo: self.sdk, store=lambda req, cfg: self.store,
            resolve=self.reg.resolve))

    def label(self, who: str = "alice", label: str = "accepted", number: int = N,
              kind: str = "User") -> int:
        return self.publisher.handle(self.issues.label_by(number, label, who, kind))

    def body(self, number: int = N) -> str:
        return str(self.issues.store[number]["body"])

    def rows(self) -> dict[int, audit.AuditRow]:
        rules = audit.Rules(ids=self.ids, policy=self.policy, publish_repo="org/publish")
        facts = audit.collect(self.issues, lambda repo: self.sdk, rules)
        return {r.number: r for r in audit.build_rows(facts, self.ids)}

    def row(self, number: int = N) -> audit.AuditRow:
        return self.rows()[number]


def codes(row: audit.AuditRow) -> list[str]:
    return [f.code for f in row.flags]
