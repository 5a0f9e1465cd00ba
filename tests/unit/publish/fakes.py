"""In-memory stand-ins for what publish talks to: the publish repo's issues, the SDK
repo, the artifact store and the targets. Each records the calls it receives so a
test can assert what publish did (and did not) do."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from valet.errors import IntegrityError, TargetError
from valet.events import Labeled
from valet.issue_format import render_body
from valet.manifest import Artifact
from valet.publish_api import Edit, NotFound
from valet.request import Request, TargetState
from valet.targets.base import Receipt, State, StatusResult, TargetContext

PUBLISH_REPO = "org/publish"
SDK_REPO = "org/sdk"
SHA = "a" * 40
BASE = "b" * 40  # the commit the prepare run ran on (the release commit's parent)
BOT = "valet-app[bot]"  # the publish App: what these fakes write as
REQUEST_BOT = "valet-request[bot]"  # the request App: who opens requests
RUN_ID = 4242  # the prepare run every request names
CREATED = "2030-01-01T00:00:10Z"  # when the request App opened the issue


def identities() -> Any:
    from valet.publish.identity import Identities

    return Identities(publish_bot=BOT, request_bot=REQUEST_BOT)


def prepare_run(actor: str = "requester", triggering: str | None = None, **kw: Any) -> dict[str, Any]:
    """The release.yml run as GitHub records it (GET /actions/runs/{id})."""
    run = {"id": RUN_ID, "repository": {"full_name": SDK_REPO},
           "path": ".github/workflows/release.yml", "event": "workflow_dispatch",
           "head_sha": BASE, "status": "completed", "conclusion": "success",
           "created_at": "2030-01-01T00:00:00Z", "updated_at": "2030-01-01T00:01:00Z",
           "actor": {"login": actor}, "triggering_actor": {"login": triggering or actor}}
    run.update(kw)
    return run

CONTENT = {
    "pkg-1.2.3.tar.gz": b"sdist bytes",
    "pkg-1.2.3-py3-none-any.whl": b"wheel bytes",
    "pkg-1.2.3.tgz": b"npm tarball bytes",
}


def artifacts() -> list[Artifact]:
    import hashlib

    return [Artifact(n, len(b), hashlib.sha256(b).hexdigest()) for n, b in sorted(CONTENT.items())]


def make_request(targets: list[str] | None = None, requested_by: str = "requester",
                 merge_target: str | None = None, previous: str | None = None,
                 run_id: int = RUN_ID) -> Request:
    return Request(repo=SDK_REPO, version="1.2.3", requested_by=requested_by,
                   merge_target=merge_target, sha=SHA, branch="release/1.2.3",
                   targets=[TargetState(t) for t in (targets or ["pypi", "npm", "github"])],
                   artifacts=artifacts(), release_id=7, run_id=run_id, previous=previous)


def make_body(**kw: Any) -> str:
    return render_body(make_request(**kw), server_url="https://github.com")


# valet-publish.yml of the publish repo: serves org/sdk with every target kind (the stub
# targets name no destinations, so their kind is what is checked).
POLICY = ("repos:\n  org/sdk:\n    targets: [github, pypi, npm, crates, docker, gcs, "
          "aws-lambda-layer, registry, gh-pages, commit-on-git-repository, brew, upm]\n")

def policy_for(sdk: str) -> str:
    """valet-publish.yml serving ``sdk`` with the target kinds of CONFIG (and crates), for
    a publish repo in the sandbox."""
    return f"repos:\n  {sdk}:\n    targets: [pypi, npm, github, crates]\n"


CONFIG = """targets:
  - name: pypi
  - name: npm
  - name: github
"""


BUMP = '@@ -1,3 +1,3 @@\n [project]\n name = "pkg"\n-version = "1.2.2"\n+version = "1.2.3"'


def release_compare(files: list[dict[str, Any]] | None = None, *, status: str = "ahead",
                    parents: tuple[str, ...] = (BASE,), ahead_by: int = 1,
                    behind_by: int = 0) -> dict[str, Any]:
    """GitHub's compare of the merge target with the release commit SHA: by default what
    valet prepare makes (one commit on BASE, the version in pyproject.toml bumped)."""
    return {"status": status, "ahead_by": ahead_by, "behind_by": behind_by,
            "total_commits": ahead_by, "merge_base_commit": {"sha": BASE},
            "commits": [{"sha": SHA, "parents": [{"sha": p} for p in parents]}],
            "files": files if files is not None else [
                {"filename": "pyproject.toml", "status": "modified", "patch": BUMP}]}


def _etag(data: Any) -> str:
    import hashlib
    import json

    return 'W/"' + hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest() + '"'


def open_request(issues: FakeIssues, sdk: FakeSdk, number: int, body: str | None = None,
                 **kw: Any) -> str:
    """What release.yml's request job does: open the request ``number`` as the request
    App and seal it as its run. Without ``body``: the request of a run of its own (a
    copy of the prepare run RUN_ID), as one run opens one request. Returns the body."""
    if body is None:
        run_id = RUN_ID + number
        sdk.runs[run_id] = {**copy.deepcopy(sdk.runs[RUN_ID]), "id": run_id}
        body = make_body(run_id=run_id)
    issues.create(number, body, **kw)
    sdk.seal_request(number, body, **({"title": kw["title"]} if "title" in kw else {}))
    return body


class FakeIssues:
    def __init__(self, repo: str = PUBLISH_REPO) -> None:
        self.repo = repo
        self.store: dict[int, dict[str, Any]] = {}
        self._events: dict[int, list[dict[str, Any]]] = {}
        self._comments: dict[int, list[dict[str, Any]]] = {}
        self.roles: dict[str, str] = {"alice": "maintain"}  # the usual approver
        self.teams: dict[tuple[str, str], set[str]] = {}
        self.calls: list[tuple[Any, ...]] = []
        self.body_patches = 0
        self.edits: dict[int, list[Any]] = {}  # number -> publish_api.Edit, oldest first
        self._next_event = 100
        self.apps = {"valet-app", "valet-request"}
        self.policy: str | None = POLICY  # valet-publish.yml on the default branch
        self.policy_reads = 0
        # the repository's labels (name -> GraphQL id): valet's own exist; any label put
        # on an issue exists from then on, as on GitHub
        from valet.labels import Label

        self.repo_labels: dict[str, str] = {str(x): label_id(str(x)) for x in Label}
        self.close_fails: dict[str, str] = {}  # close_mutation step -> GitHub's error

    # seeding
    def create(self, number: int, body: str, title: str = "publish: org/sdk@1.2.3",
               labels: tuple[str, ...] = (), author: str = REQUEST_BOT) -> None:
        self.store[number] = {"number": number, "node_id": f"I_{number}", "title": title,
                              "body": body, "state": "open",
                              "labels": [self._label(x) for x in labels],
                              "user": {"login": author, "type": "Bot" if "[bot]" in author
                                       else "User"}, "created_at": CREATED}
        self._events[number] = []
        self._comments[number] = []

    def event(self, number: int, event: str, login: str, kind: str = "User",
              **extra: Any) -> None:
        self._next_event += 1
        self._events[number].append({"id": self._next_event, "event": event,
                                     "actor": {"login": login, "type": kind}, **extra})

    def edit_body(self, number: int, body: str, login: str,
                  at: str = "2030-01-01T00:00:30Z") -> None:
        """An edit of the body by ``login``, kept in its history as GitHub keeps it (once
        edited, the history starts with the creator's own body)."""
        issue = self.store[number]
        history = self.edits.setdefault(number, [])
        if not history:
            history.append(Edit(issue["user"]["login"], issue["created_at"], issue["body"]))
        history.append(Edit(login, at, body))
        issue["body"] = body

    def comment_as(self, number: int, login: str, body: str, kind: str = "User") -> None:
        self._comments[number].append({"user": {"login": login, "type": kind}, "body": body})

    def label_by(self, number: int, label: str, login: str, kind: str = "User") -> Labeled:
        self._add_label(number, label, login, kind)
        issue = self.store[number]
        return Labeled(repo=self.repo, number=number, label=label,
                       sender=__import__("valet.events", fromlist=["Actor"]).Actor(login, kind),
                       title=issue["title"], body=issue["body"], state="open",
                       labels=tuple(self.label_names(number)))

    def _label(self, name: str) -> dict[str, Any]:
        """A label as REST shows it on an issue (created in the repository if new)."""
        node = self.repo_labels.setdefault(name, label_id(name))
        return {"name": name, "node_id": node}

    def _add_label(self, number: int, label: str, login: str, kind: str = "User") -> None:
        if label not in self.label_names(number):
            self.store[number]["labels"].append(self._label(label))
        self.event(number, "labeled", login, kind, label={"name": label})

    def label_names(self, number: int) -> list[str]:
        return [x["name"] for x in self.store[number]["labels"]]

    def comment_bodies(self, number: int) -> list[str]:
        return [c["body"] for c in self._comments[number]]

    # the IssueAPI surface
    def issue(self, number: int) -> dict[str, Any]:
        self.calls.append(("issue", number))
        if number not in self.store:
            raise NotFound(f"reading issue #{number}: HTTP 404: Not Found",
                           hint="is the GitHub App installed on org/publish?")
        return copy.deepcopy(self.store[number])

    def events(self, number: int) -> list[dict[str, Any]]:
        return copy.deepcopy(self._events[number])

    def comments(self, number: int) -> list[dict[str, Any]]:
        return copy.deepcopy(self._comments[number])

    def body_edits(self, number: int) -> list[Any]:
        self.calls.append(("body_edits", number))
        return list(self.edits.get(number, []))

    def viewer_login(self) -> str:
        return BOT

    def policy_text(self) -> str | None:
        self.policy_reads += 1
        return self.policy

    def app(self, slug: str) -> dict[str, Any] | None:
        return {"slug": slug} if slug in self.apps else None

    def comment(self, number: int, body: str) -> None:
        self.calls.append(("comment", number))
        self._post(number, body)

    def _post(self, number: int, body: str) -> None:
        """A comment of the publish App lands."""
        self._comments[number].append({"id": self._next_comment(), "body": body,
                                       "user": {"login": BOT, "type": "Bot"}})

    def _next_comment(self) -> int:
        self._comment_ids = getattr(self, "_comment_ids", 9000) + 1
        return self._comment_ids

    def edit_comment(self, comment_id: int, body: str) -> None:
        self.calls.append(("edit_comment", comment_id))
        for comments in self._comments.values():
            for c in comments:
                if c.get("id") == comment_id:
                    c["body"] = body
                    return
        raise NotFound(f"no comment {comment_id}")

    def set_body(self, number: int, body: str) -> dict[str, Any]:
        self.calls.append(("set_body", number))
        self.body_patches += 1
        self.edit_body(number, body, BOT)
        return copy.deepcopy(self.store[number])

    def close(self, number: int, labels: list[str] | None = None,
              body: str | None = None) -> dict[str, Any]:
        self.calls.append(("close", number))
        if body is not None:  # an edit by the publish App, as GitHub records it
            self.body_patches += 1
            self.edit_body(number, body, BOT)
        if labels is not None:
            before = set(self.label_names(number))
            for label in labels:
                if label not in before:
                    self._add_label(number, label, BOT, "Bot")
            self.store[number]["labels"] = [self._label(x) for x in labels]
        self._close(number)
        return copy.deepcopy(self.store[number])

    def _close(self, number: int) -> None:
        self.store[number]["state"] = "closed"

    def label_node_id(self, name: str) -> str | None:
        self.calls.append(("label_node_id", name))
        return self.repo_labels.get(name)

    def close_published(self, number: int, close: Any) -> Any:
        """What GitHub does with close_mutation's document: each step in order, on its own
        (``close_fails`` names those that fail); ids that name nothing fail their step."""
        from valet import close_mutation as cm

        self.calls.append(("close_published", number))
        issue = self.store[number]
        if close.issue_id != issue["node_id"]:
            raise AssertionError(f"{close.issue_id} is not the id of #{number}")
        names = {node: name for name, node in self.repo_labels.items()}
        done: list[str] = []
        failed: dict[str, str] = {}
        for step in close.steps:
            ids = close.add if step == cm.ADD else close.remove if step == cm.REMOVE else ()
            if step in self.close_fails or any(i not in names for i in ids):
                failed[step] = self.close_fails.get(step, "Could not resolve to a node")
                continue
            if step == cm.COMMENT:
                self._post(number, close.summary)
            elif step == cm.ADD:
                for node in ids:
                    self._add_label(number, names[node], BOT, "Bot")
            elif step == cm.REMOVE:
                for node in ids:
                    self.remove_label(number, names[node])
            elif step == cm.BODY:
                self.body_patches += 1
                self.edit_body(number, close.body, BOT)
            else:
                self._close(number)
            done.append(step)
        now = None
        if cm.CLOSE in done:
            now = {"body": issue["body"], "state": "closed", "state_reason": "completed",
                   "labels": [{"name": x} for x in self.label_names(number)]}
        return cm.Answer(tuple(done), failed, now)

    def add_labels(self, number: int, labels: list[str]) -> None:
        for label in labels:
            self._add_label(number, label, BOT, "Bot")

    def remove_label(self, number: int, label: str) -> None:
        self.store[number]["labels"] = [x for x in self.store[number]["labels"] if x["name"] != label]

    def open_issues_with(self, labels: list[str]) -> list[dict[str, Any]]:
        return [copy.deepcopy(i) for n, i in sorted(self.store.items())
                if i["state"] == "open" and set(labels) <= set(self.label_names(n))]

    def team_member(self, org: str, slug: str, login: str) -> bool:
        return login in self.teams.get((org, slug), set())

    def repo_role(self, repo: str, login: str) -> str:
        return self.roles.get(login, "none")


def label_id(name: str) -> str:
    """A label's GraphQL id in these fakes."""
    return f"LA_{name}"


class FakeSdk:
    def __init__(self, repo: str = SDK_REPO) -> None:
        self.repo = repo
        self.default = "main"
        self.files: dict[tuple[str, str], str] = {("main", ".valet.yml"): CONFIG}
        self.statuses: list[dict[str, Any]] = []
        self.check_pages: list[list[dict[str, Any]]] = [[
            {"name": "tests", "status": "completed", "conclusion": "success",
             "html_url": "https://github.com/org/sdk/runs/1"}]]
        self.merges: list[tuple[str, str]] = []
        self.deleted: list[str] = []
        self.runs: dict[int, dict[str, Any]] = {RUN_ID: prepare_run()}
        self.ancestors: set[tuple[str, str]] = {(BASE, SHA)}  # (ancestor, commit)
        self.file_reads: list[tuple[str, str]] = []
        self.merge_fails = False
        # Branch protection: None protects every branch (so other tests keep their meaning);
        # a set names the protected ones. Branches in `missing` do not exist.
        self.protected: set[str] | None = None
        self.missing: set[str] = set()
        self.branch_reads: list[str] = []
        self.ci_reads = 0  # full reads of the CI reports by a sweep
        self.compares: list[tuple[str, str]] = []
        self.diverged: dict[tuple[str, str], dict[str, Any]] = {}
        self.ci_conditional = 0  # conditional looks (304s on GitHub)
        # The rules of a protected branch (GET /rules/branches): by default a ruleset that
        # requires a reviewed pull request, which the publish App may bypass.
        self.rules: list[dict[str, Any]] = [
            {"type": "deletion", "ruleset_id": 1},
            {"type": "pull_request", "ruleset_id": 1,
             "parameters": {"required_approving_review_count": 1}}]
        self.can_bypass = "always"
        self.protection: tuple[bool, dict[str, Any] | None] = (False, None)  # no Administration
        self.changed: dict[tuple[str, str], list[str]] = {}
        self.release_touchable = True
        self.pulls: list[tuple[str, str]] = []
        # workflow artifacts: run id -> records (GitHub's fields, plus the zip's bytes)
        self.artifacts: dict[int, list[dict[str, Any]]] = {}
        self.artifact_reads: list[str] = []

    # seeding
    def seal_request(self, number: int, body: str, title: str = "publish: org/sdk@1.2.3",
                     publish_repo: str = PUBLISH_REPO, expired: bool = False) -> None:
        """What the request job of the run the request names uploads once it wrote
        ``body`` as issue ``number``: its seal (valet.seal), the artifact valet-request."""
        from valet import seal
        from valet.issue_format import parse_issue

        request = parse_issue(title, body)
        assert request.run_id is not None
        records = self.artifacts.setdefault(int(request.run_id), [])
        records.append({"id": 9000 + sum(map(len, self.artifacts.values())),
                        "name": seal.ARTIFACT, "expired": expired,
                        "created_at": f"2030-01-01T00:00:{20 + len(records):02d}Z",
                        "zip": seal.make(publish_repo, number, request, body).zipped()})

    def pages(self, path: str, params: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
        if path.endswith("/statuses"):
            yield self.statuses
        elif path.endswith("/check-suites"):
            yield {"total_count": 0, "check_suites": []}
        elif path.endswith("/check-runs"):
            for page in self.check_pages:
                yield {"total_count": sum(map(len, self.check_pages)), "check_runs": page}
        else:
            raise AssertionError(path)

    def compare(self, base: str, head: str) -> dict[str, Any]:
        """GitHub's compare: ``diverged`` answers from ``self.diverged`` ({(base, head):
        answer}); otherwise the release commit is prepare's: one commit on its merge target
        that bumps pyproject.toml (``release_compare``), or bumps the version in each of the
        files ``self.changed`` names."""
        if (base, head) not in self.compares:  # read once per run (Rest.get_shared)
            self.compares.append((base, head))
        listed = self.changed.get((base, head))
        files = None if listed is None else [
            {"filename": f, "status": "modified", "patch": BUMP} for f in listed]
        return copy.deepcopy(self.diverged.get((base, head), release_compare(files)))

    def ci_pages(self, reads: Any) -> list[Any]:
        """The CI pages with an ETag each (of their content), as publish_api reads them."""
        from valet.publish_api import Page

        self.ci_reads += 1
        out = []
        for path, params in reads:
            for i, data in enumerate(self.pages(path, params)):
                out.append(Page(path if i == 0 else f"{path}?page={i + 1}",
                                {"per_page": 100, **(params or {})} if i == 0 else None,
                                _etag(data), data))
        return out

    def ci_unchanged(self, pages: list[Any]) -> bool:
        """Conditional reads of the recorded pages: unchanged while every ETag holds."""
        self.ci_conditional += 1
        firsts = tuple((p.url, {k: v for k, v in (p.params or {}).items() if k != "per_page"}
                        or None) for p in pages if p.params is not None)
        now = {p.url: p.etag for p in self.ci_pages(firsts)}
        self.ci_reads -= 1  # that was the conditional look, not a read
        return all(now.get(p.url) == p.etag for p in pages)

    def default_branch(self) -> str:
        return self.default

    def workflow_run(self, run_id: int) -> dict[str, Any] | None:
        return copy.deepcopy(self.runs.get(run_id))

    def run_artifacts(self, run_id: int, name: str) -> list[dict[str, Any]]:
        self.artifact_reads.append("list")
        return [{k: v for k, v in a.items() if k != "zip"}
                for a in self.artifacts.get(run_id, []) if a["name"] == name]

    def artifact_zip(self, artifact_id: int, limit: int) -> bytes | None:
        self.artifact_reads.append("zip")
        for a in (a for records in self.artifacts.values() for a in records):
            if a["id"] == artifact_id:
                return None if a["expired"] else bytes(a["zip"])[:limit]
        return None

    def contains(self, ancestor: str, sha: str, via: str | None = None) -> bool:
        return ancestor == sha or (ancestor, sha) in self.ancestors

    def branch_protected(self, branch: str) -> bool | None:
        self.branch_reads.append(branch)
        if branch in self.missing:
            return None
        return self.protected is None or branch in self.protected

    def branch_rules(self, branch: str) -> list[dict[str, Any]]:
        protected = self.protected is None or branch in self.protected
        return list(self.rules) if protected else []

    def ruleset(self, ruleset_id: int) -> dict[str, Any]:
        return {"id": ruleset_id, "current_user_can_bypass": self.can_bypass}

    def protection_rule(self, branch: str) -> tuple[bool, dict[str, Any] | None]:
        if branch in self.missing:  # GitHub's bare 404 "Branch not found"
            return (False, None)
        return self.protection

    def changed_files(self, base: str, head: str) -> list[str]:
        return self.changed.get((base, head), [])

    def already_in(self, base: str, sha: str) -> bool:
        return (base, sha) in self.merges

    def touch_release(self, release_id: int) -> bool:
        return self.release_touchable

    def open_pull_request(self, base: str, head: str, title: str, body: str) -> dict[str, Any]:
        self.pulls.append((base, head))
        return {"number": 7, "html_url": f"https://github.com/{self.repo}/pull/7"}

    def file(self, path: str, ref: str) -> str | None:
        self.file_reads.append((ref, path))
        return self.files.get((ref, path))

    def merge(self, base: str, head: str, message: str) -> str:
        if self.merge_fails:
            from valet.errors import GitHubError

            raise GitHubError("merging failed: HTTP 409: Merge conflict")
        self.merges.append((base, head))
        return "merged"

    def delete_branch(self, branch: str) -> bool:
        self.deleted.append(branch)
        return True


class FakeStore:
    def __init__(self) -> None:
        self.content = dict(CONTENT)
        self.downloads = 0
        self.deleted = False

    def download_verified(self, expected: list[Artifact], dest: Path, *,
                          on_file: Any = None) -> dict[str, Path]:
        import hashlib

        self.downloads += 1
        dest.mkdir(parents=True, exist_ok=True)
        out = {}
        for art in expected:
            data = self.content.get(art.name)
            if data is None or hashlib.sha256(data).hexdigest() != art.sha256:
                raise IntegrityError(f"{art.name}: sha256 differs from the approved digest")
            (dest / art.name).write_bytes(data)
            out[art.name] = dest / art.name
            if on_file is not None:
                on_file(art.name, out[art.name])
        return out

    def delete(self) -> None:
        self.deleted = True


@dataclass
class Behaviour:
    preflight_error: str | None = None
    state: State = State.ABSENT
    publish_error: str | None = None
    status_error: str | None = None


@dataclass
class Registry:
    """A stub target registry: per key behaviour, and every call recorded."""

    behaviour: dict[str, Behaviour] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    published: dict[str, list[str]] = field(default_factory=dict)  # key -> files uploaded

    def resolve(self, name: str) -> StubTarget:
        return StubTarget(self, name)


_DEFAULTS = {"pypi": r"\.(whl|tar\.gz)$", "npm": r"\.tgz$", "github": r"."}


class StubTarget:
    credentials = ("STUB_TOKEN",)

    def __init__(self, registry: Registry, name: str) -> None:
        self.registry = registry
        self.name = name
        self.default_include = re.compile(_DEFAULTS.get(name, "."))

    def _b(self, ctx: TargetContext) -> Behaviour:
        return self.registry.behaviour.setdefault(ctx.key, Behaviour())

    def preflight(self, ctx: TargetContext) -> None:
        self.registry.calls.append(("preflight", ctx.key))
        if self._b(ctx).preflight_error:
            raise TargetError(self._b(ctx).preflight_error or "")
        assert set(ctx.files) == set(ctx.artifacts)
        for path in ctx.files.values():
            assert path.exists()

    def status(self, ctx: TargetContext) -> StatusResult:
        self.registry.calls.append(("status", ctx.key))
        if self._b(ctx).status_error:
            raise TargetError(self._b(ctx).status_error or "")
        state = self._b(ctx).state
        if ctx.key in self.registry.published:
            state = State.PUBLISHED
        receipt = Receipt(ctx.key, f"https://example.test/{ctx.key}",
                          {n: a.sha256 for n, a in ctx.artifacts.items()}, "already there")
        return StatusResult(state, f"stub says {state.value}",
                            receipt if state is State.PUBLISHED else None)

    def publish(self, ctx: TargetContext) -> Receipt:
        self.registry.calls.append(("publish", ctx.key))
        assert not ctx.dry_run
        if self._b(ctx).publish_error:
            raise TargetError(self._b(ctx).publish_error or "")
        self.registry.published[ctx.key] = sorted(ctx.files)
        return Receipt(ctx.key, f"https://example.test/{ctx.key}",
                       {n: a.sha256 for n, a in ctx.artifacts.items()},
                       f"uploaded {len(ctx.files)} file(s)")


def not_found(*_: Any, **__: Any) -> None:
    raise NotFound("nope")
