"""Attacks on the publish side's trust root beyond the eight of its issue, in-process.

The sandbox is GitHub (real REST and GraphQL answers, real git, the Actions runs
API), publish runs in-process against it with stub targets, so every case is a
second or two. Each plays what someone with a real org's access can do: an SDK
committer holding the request App's token, a triager, someone who re-runs a
workflow, a second bot with write access, a misconfigured publish workflow.
Each ends with nothing uploaded anywhere (the stub targets saw no call) and, when
it got that far, a refusal that says why.

Every case is a ``test_attack_*`` function; the README's security section states
their number (tests/unit/docs checks it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.fixtures.sandbox import SandboxUser
from tests.sandbox.helpers import PYPROJECT, bump, labeled
from tests.unit.publish.fakes import CONFIG, FakeStore, Registry, artifacts, policy_for
from valet import github_client, summary
from valet.authz import parse_policy
from valet.errors import UsageError
from valet.issue_format import render_body
from valet.publish import Deps, Publisher, Settings
from valet.publish.identity import learn
from valet.publish_api import IssueAPI, Rest, SdkAPI
from valet.request import Request, TargetState

pytestmark = [pytest.mark.sandbox, pytest.mark.adversarial]

RELEASE = ".github/workflows/release.yml"
BRANCH = "release/1.2.3"



@dataclass
class Org:
    sb: Any
    sdk: Any
    publish: Any
    approver: SandboxUser
    requester: SandboxUser
    mallory: SandboxUser
    request_app: SandboxUser
    publish_app: SandboxUser
    base: str  # main's head: what the prepare run runs on
    sha: str  # the release commit
    tmp: Any
    store: FakeStore = field(default_factory=FakeStore)
    reg: Registry = field(default_factory=Registry)
    number: int = 0

    # -- the SDK side ------------------------------------------------------------------
    def run(self, actor: SandboxUser, path: str = RELEASE, event: str = "workflow_dispatch",
            repo: str | None = None, head: str | None = None) -> dict[str, Any]:
        return self.sb.admin.create_run(repo or self.sdk.full_name, path=path, event=event,
                                        actor=actor.login, head_sha=head or self.base)

    def finish(self, run: dict[str, Any], repo: str | None = None) -> None:
        self.sb.admin.finish_run(repo or self.sdk.full_name, run["id"], "success")

    def request_of(self, run_id: int | None, requested_by: str | None = None,
                   changelog: str = "") -> Request:
        return Request(repo=self.sdk.full_name, version="1.2.3",
                       requested_by=requested_by or self.requester.login, sha=self.sha,
                       branch=BRANCH, artifacts=artifacts(), release_id=1, run_id=run_id,
                       changelog=changelog,
                       targets=[TargetState(t) for t in ("pypi", "npm", "github")])

    def body(self, run_id: int | None, requested_by: str | None = None,
             changelog: str = "") -> str:
        return render_body(self.request_of(run_id, requested_by, changelog),
                           server_url=self.sb.server_url)

    def seal(self, run_id: int, number: int, **kw: Any) -> None:
        """What the run's request job uploads once it wrote the request (valet.seal)."""
        request = self.request_of(run_id, **kw)
        self.sb.admin.seal_request(self.publish.full_name, number, request,
                                   render_body(request, server_url=self.sb.server_url))

    def open(self, body: str, author: SandboxUser | None = None) -> int:
        """Open the request as ``author`` (default: the request App)."""
        who = author or self.request_app
        self.number = self.publish.gh(who.token).create_issue("publish: "
                                                              f"{self.sdk.full_name}@1.2.3",
                                                              body).number
        return self.number

    def request(self, actor: SandboxUser | None = None, **kw: Any) -> int:
        """What release.yml does: a run by ``actor`` opens the request, then ends."""
        run = self.run(actor or self.requester)
        number = self.open(self.body(run["id"], **kw))
        self.seal(run["id"], number, **kw)
        self.finish(run)
        return number

    # -- the publish side --------------------------------------------------------------
    def publisher(self, *, approvers: str | None = None, request_app: str | None = None,
                  token: str | None = None, app_slug: str | None = None) -> Publisher:
        gh = github_client.connect(token or self.publish_app.token)
        issues = IssueAPI(Rest(gh), self.publish.full_name)
        slug = request_app if request_app is not None else self.request_app.login[:-5]
        settings = Settings(publish_repo=self.publish.full_name, workdir=self.tmp, env={},
                            policy=parse_policy(approvers if approvers is not None
                                                else self.approver.login))
        deps = Deps(issues=issues, sdk=lambda repo: SdkAPI(Rest(gh), repo),
                    store=lambda req, cfg: self.store, resolve=self.reg.resolve,
                    sdk_github=gh,
                    identify=lambda: learn(issues, app_slug=app_slug, request_app=slug))
        return Publisher(settings, deps)

    def label(self, who: SandboxUser | None = None, **kw: Any) -> int:
        event = labeled(self.publish, self.number, who or self.approver)
        return self.publisher(**kw).handle(event)

    def last_comment(self) -> tuple[str, str]:
        comments = list(self.publish.gh(self.approver.token).get_issue(self.number)
                        .get_comments())
        return (comments[-1].user.login, comments[-1].body) if comments else ("", "")

    def labels(self) -> set[str]:
        return {x.name for x in self.publish.gh(self.approver.token).get_issue(self.number)
                .labels}

    def refused(self, *why: str) -> None:
        """Nothing reached a target; the publish App said why and took `accepted` back."""
        assert self.reg.calls == [] and self.store.downloads == 0
        author, body = self.last_comment()
        assert author == self.publish_app.login, body
        assert "nothing was published" in body
        for text in why:
            assert text in body, body
        assert "accepted" not in self.labels()


@pytest.fixture(name="org")
def org_fixture(sandbox_env, gh_repo_factory, sandbox_user_factory, tmp_path) -> Org:
    sb = sandbox_env
    sdk = gh_repo_factory({".valet.yml": CONFIG, "README.md": "sdk", "pyproject.toml": PYPROJECT},
                          prefix="sdk")
    publish = gh_repo_factory({"README.md": "publish",
                               "valet-publish.yml": policy_for(sdk.full_name)},
                              prefix="publish")
    sb.admin.protect_branch(sdk.full_name, "main")
    people = [sandbox_user_factory(p) for p in ("approver", "requester", "mallory")]
    approver, requester, mallory = people
    sb.admin.set_permission(publish.full_name, approver.login, "maintain")
    for user in (requester, mallory):
        sb.admin.set_permission(publish.full_name, user.login, "triage")
    request_slug, publish_slug = f"{publish.name}-rq", f"{publish.name}-pb"
    request_app = SandboxUser(f"{request_slug}[bot]", sb.admin.create_app(
        request_slug, repos=[sdk.full_name], permission="write"))
    sb.admin.set_permission(publish.full_name, request_app.login, "triage")
    publish_app = SandboxUser(f"{publish_slug}[bot]", sb.admin.create_app(
        publish_slug, repos=[sdk.full_name, publish.full_name], permission="admin"))
    repo = sdk.gh()
    base = repo.get_branch("main").commit.sha
    repo.create_git_ref(f"refs/heads/{BRANCH}", base)
    sha = bump(repo, BRANCH)
    sb.admin.set_ci(sdk.full_name, sha, check_runs=[
        {"name": "tests", "status": "completed", "conclusion": "success"}])
    return Org(sb, sdk, publish, approver, requester, mallory, request_app, publish_app,
               base, sha, tmp_path)


def test_the_way_it_should_work_publishes(org: Org) -> None:
    """The baseline every attack departs from: it does publish."""
    org.request()
    assert org.label() == 0
    assert sorted(k for c, k in org.reg.calls if c == "publish") == ["github", "npm", "pypi"]
    assert "published" in org.labels()


# -- an SDK committer holding the request App's token ------------------------------------


def test_attack_the_body_names_another_requester_while_its_run_runs(org: Org) -> None:
    """The run writes the body (so the write-time check passes), but names someone else:
    the requester is the run's actor, who may not approve."""
    org.sb.admin.set_permission(org.sdk.full_name, org.approver.login, "write")
    org.request(actor=org.approver, requested_by=org.requester.login)
    assert org.label() == 0
    org.refused("requested this release", org.approver.login)


def test_attack_whoever_reran_the_release_may_not_approve_it(org: Org) -> None:
    """The approver re-runs the requester's release run (GitHub records them as its
    triggering actor) and the re-run rewrites the request: they may not approve it."""
    run = org.run(org.requester)
    org.finish(run)
    org.sb.admin.rerun(org.sdk.full_name, run["id"], org.approver.login)
    org.seal(run["id"], org.open(org.body(run["id"])))
    org.finish(run)
    assert org.label() == 0
    org.refused("requested this release", org.approver.login)


def test_attack_a_request_naming_someone_elses_release_run_while_it_runs(org: Org) -> None:
    """Alice's release run is running; the approver, holding the request App's token,
    opens a request that names it (its release commit descends from the run's head),
    so GitHub names Alice as the requester, and approves it himself. The run never
    wrote it: it has no seal."""
    run = org.run(org.requester)
    org.open(org.body(run["id"], changelog="- the approver's own release"))
    assert org.label() == 0
    org.refused(f"the prepare run {run['id']}", "did not write this request",
                "no unexpired", "upload-artifact", "overwrite: true")
    org.finish(run)


def test_attack_a_copy_of_a_sealed_request_under_another_issue(org: Org) -> None:
    """Alice's run opened and sealed its request; the attacker opens the same body
    again (a second issue, the run still running) and the approver approves that one:
    the seal names Alice's issue, not this one."""
    run = org.run(org.requester)
    mine = org.open(org.body(run["id"]))
    org.seal(run["id"], mine)
    org.open(org.body(run["id"]))
    assert org.number != mine
    assert org.label() == 0
    org.refused("did not write this request", f"the issue {mine}, this request {org.number}")
    org.finish(run)


def test_attack_the_request_app_rewrites_a_sealed_request_while_its_run_runs(
        org: Org) -> None:
    """Alice's run opened and sealed its request; while it still runs, the attacker
    rewrites the body with the request App's token (a changelog of their own): the edit
    is the request App's and falls in the run's time, but the run sealed another body."""
    run = org.run(org.requester)
    number = org.open(org.body(run["id"]))
    org.seal(run["id"], number)
    org.publish.gh(org.request_app.token).get_issue(number).edit(
        body=org.body(run["id"], changelog="- whatever the attacker says"))
    assert org.label() == 0
    org.refused("did not write this request", "the body's digest")
    org.finish(run)


def test_attack_an_expired_seal_does_not_vouch(org: Org) -> None:
    """The run's seal expired (retention-days): nothing says the run wrote the request."""
    run = org.run(org.requester)
    number = org.open(org.body(run["id"]))
    from valet import seal

    org.sb.admin.add_workflow_artifact(
        org.sdk.full_name, seal.ARTIFACT, run_id=run["id"], expired=True,
        zip_data=seal.make(org.publish.full_name, number, org.request_of(run["id"]),
                           org.body(run["id"])).zipped())
    org.finish(run)
    assert org.label() == 0
    org.refused("did not write this request", "no unexpired")


def test_a_sealed_request_still_publishes_once_its_boxes_are_ticked(org: Org) -> None:
    """The seal ignores ticks: a request whose box a person ticked (to skip it) and that
    the publish App ticks as targets ship still matches its run's seal."""
    number = org.request()
    issue = org.publish.gh(org.approver.token).get_issue(number)
    issue.edit(body=issue.body.replace("- [ ] npm\n", "- [x] npm\n", 1))
    assert org.label() == 0
    assert sorted(k for c, k in org.reg.calls if c == "publish") == ["github", "pypi"]


def test_attack_a_request_naming_a_run_of_another_workflow(org: Org) -> None:
    """The request names the run of some CI workflow someone else started."""
    run = org.run(org.requester, path=".github/workflows/ci.yml")
    org.open(org.body(run["id"]))
    org.finish(run)
    assert org.label() == 0
    org.refused("not of the release workflow", RELEASE)


def test_attack_a_request_naming_a_push_run_of_the_release_workflow(org: Org) -> None:
    run = org.run(org.requester, event="push")
    org.open(org.body(run["id"]))
    org.finish(run)
    assert org.label() == 0
    org.refused("push", "event, not by someone running the release workflow")


def test_attack_a_request_naming_a_run_of_another_repository(org: Org, gh_repo_factory) -> None:
    """A run of the same file in a repository of the attacker's own, by someone else."""
    other = gh_repo_factory({"README.md": "x"}, prefix="other")
    head = other.gh().get_branch("main").commit.sha
    run = org.run(org.requester, repo=other.full_name, head=head)
    org.open(org.body(run["id"]))
    org.finish(run, repo=other.full_name)
    assert org.label() == 0
    org.refused("does not exist in", org.sdk.full_name)


def test_attack_a_request_naming_an_old_finished_run_of_someone_else(org: Org) -> None:
    """Bob's release run ended yesterday; the attacker writes a request that names it."""
    run = org.sb.admin.create_run(org.sdk.full_name, path=RELEASE, event="workflow_dispatch",
                                  actor=org.requester.login, head_sha=org.base,
                                  at="2020-01-01T10:00:00Z")
    org.sb.admin.finish_run(org.sdk.full_name, run["id"], "success", at="2020-01-01T10:05:00Z")
    org.open(org.body(run["id"]))  # written after that run ended
    assert org.label() == 0
    org.refused("not while the prepare run", str(run["id"]))


def test_attack_a_request_that_names_no_run(org: Org) -> None:
    org.open(org.body(None))
    assert org.label() == 0
    org.refused("names no prepare run")


def test_attack_a_release_commit_that_does_not_descend_from_the_runs_commit(
        org: Org) -> None:
    """The run ran on a commit of another branch, which the release commit lacks."""
    repo = org.sdk.gh()
    repo.create_git_ref("refs/heads/side", org.base)
    side = repo.create_file("side.txt", "side", "x\n", branch="side")["commit"].sha
    run = org.run(org.requester, head=side)
    org.open(org.body(run["id"]))
    org.finish(run)
    assert org.label() == 0
    org.refused("does not descend from")


# -- who opened and who wrote the request ---------------------------------------------------


def test_attack_the_publish_app_itself_opens_a_request(org: Org) -> None:
    """The publish App's key leaked to the SDK side (or one App on both sides)."""
    run = org.run(org.requester)
    org.open(org.body(run["id"]), author=org.publish_app)
    org.finish(run)
    assert org.label() == 0
    org.refused("valet's publish App itself")


def test_attack_a_second_bot_opens_a_request(org: Org) -> None:
    helper = SandboxUser(f"{org.publish.name}-helper[bot]", org.sb.admin.create_app(
        f"{org.publish.name}-helper", repos=[org.publish.full_name], permission="maintain"))
    run = org.run(org.requester)
    org.open(org.body(run["id"]), author=helper)
    org.finish(run)
    assert org.label() == 0
    org.refused("not by the request App")


def test_attack_a_person_whose_login_is_the_request_apps_slug_opens_a_request(org: Org) -> None:
    """GraphQL names the request App's bot by its slug, so an account of that login (a
    User, not a Bot) reads the same as the App there: the run reads who opened the
    issue from its first GraphQL query and must still tell the two apart."""
    slug = org.request_app.login.removesuffix("[bot]")
    org.sb.admin.create_user(slug)
    person = SandboxUser(slug, org.sb.admin.create_token(slug))
    run = org.run(org.requester)
    number = org.open(org.body(run["id"]), author=person)
    org.seal(run["id"], number)
    org.finish(run)
    org.sb.admin.clear_request_log()
    assert org.label() == 0
    org.refused(f"opened by {slug}, not by the request App")
    # it was the query's answer that said so: the run did not read the issue through REST
    issue = f"/repos/{org.publish.full_name}/issues/{number}"
    assert not [e for e in org.sb.admin.request_log() if e["method"] == "GET"
                and e["path"] == issue and e["user"] == org.publish_app.login]


def test_attack_a_person_edits_the_digests_and_a_second_bot_restores_nothing(org: Org) -> None:
    """A person with write swaps a digest in the body (line and hidden block)."""
    number = org.request()
    org.sb.admin.set_permission(org.publish.full_name, org.mallory.login, "write")
    issue = org.publish.gh(org.mallory.token).get_issue(number)
    digest = artifacts()[0].sha256
    issue.edit(body=issue.body.replace(digest, "f" * 64))
    assert org.label() == 0
    org.refused(f"edited by {org.mallory.login}", "beyond ticking boxes")


def test_attack_an_edit_undone_still_counts(org: Org) -> None:
    """A person changes the body and changes it back: valet cannot know what the approver
    saw in between, so any edit beyond ticking refuses."""
    number = org.request()
    org.sb.admin.set_permission(org.publish.full_name, org.mallory.login, "write")
    issue = org.publish.gh(org.mallory.token).get_issue(number)
    original = issue.body
    issue.edit(body=original.replace("Merge target: (default)", "Merge target: evil"))
    issue.edit(body=original)
    assert org.label() == 0
    org.refused(f"edited by {org.mallory.login}")


def test_attack_a_history_too_long_to_read(org: Org) -> None:
    """More than one page of edits: the oldest ones (a person's?) cannot be read."""
    number = org.request()
    api = org.publish.gh(org.request_app.token).get_issue(number)
    body = api.body
    for i in range(100):
        api.edit(body=body + f"\n<!-- pad {i} -->" if i % 2 == 0 else body)
    assert org.label() == 0
    org.refused("edited more than 100 times")


# -- records only the publish App writes -------------------------------------------------


def test_attack_a_forged_approval_record_by_a_second_bot(org: Org) -> None:
    """While CI pends, a bot with write deletes valet's `ci-pending` comment and posts
    its own record; the sweep must find no record of the approval, not this one."""
    org.sb.admin.set_ci(org.sdk.full_name, org.sha, check_runs=[
        {"name": "slow", "status": "in_progress"}])
    number = org.request()
    assert org.label() == 0 and "ci-pending" in org.labels()
    helper_slug = f"{org.publish.name}-helper"
    helper = org.sb.admin.create_app(helper_slug, repos=[org.publish.full_name],
                                     permission="maintain")
    issue = org.publish.gh(helper).get_issue(number)
    for comment in issue.get_comments():
        comment.delete()
    issue.create_comment(summary.marker(summary.APPROVED_MARKER, {
        "body_sha256": summary.body_digest(issue.body), "approver": org.approver.login}))
    org.sb.admin.set_ci(org.sdk.full_name, org.sha, check_runs=[
        {"name": "slow", "status": "completed", "conclusion": "success"}])
    assert org.publisher().sweep(number) == 0  # the run the sweep starts for it
    org.refused("no record of the body that was approved")


def test_attack_a_record_of_an_earlier_approval(org: Org) -> None:
    """An approval waits for CI; `accepted` is removed and added again by someone who may
    not approve; valet's record is for the first approval, so it does not vouch."""
    org.sb.admin.set_ci(org.sdk.full_name, org.sha, check_runs=[
        {"name": "slow", "status": "in_progress"}])
    org.request()
    assert org.label() == 0 and "ci-pending" in org.labels()
    issue = org.publish.gh(org.requester.token).get_issue(org.number)
    issue.remove_from_labels("accepted")
    issue.add_to_labels("accepted")  # the requester, a triager, re-approves
    org.sb.admin.set_ci(org.sdk.full_name, org.sha, check_runs=[
        {"name": "slow", "status": "completed", "conclusion": "success"}])
    # the run the sweep starts leaves the newer approval to its own run, which refuses it
    assert org.publisher().sweep(org.number) == 0
    assert "accepted" in org.labels() and org.reg.calls == []
    assert org.label(org.requester) == 0
    org.refused("requested this release")


# -- approvers, re-checked when the run acts ------------------------------------------------


def test_attack_a_team_approver_removed_from_the_team_while_ci_pends(org: Org) -> None:
    team_org = f"{org.publish.name}-org"
    org.sb.admin.create_team(team_org, "release", [org.approver.login])
    org.sb.admin.set_ci(org.sdk.full_name, org.sha, check_runs=[
        {"name": "slow", "status": "in_progress"}])
    org.request()
    assert org.label(approvers=f"{team_org}/release") == 0 and "ci-pending" in org.labels()
    org.sb.admin.remove_team_member(team_org, "release", org.approver.login)
    org.sb.admin.set_ci(org.sdk.full_name, org.sha, check_runs=[
        {"name": "slow", "status": "completed", "conclusion": "success"}])
    assert org.publisher(approvers=f"{team_org}/release").sweep(org.number) == 0
    org.refused("not an allowed approver")


# -- a publish workflow that is set up wrong refuses to run -------------------------------


def test_attack_one_app_on_both_sides_is_refused_before_anything_is_read(org: Org) -> None:
    org.request()
    with pytest.raises(UsageError, match="names the publish App itself"):
        org.label(request_app=org.publish_app.login[:-5])
    assert org.reg.calls == [] and org.last_comment() == ("", "")


def test_attack_a_persons_token_as_the_publish_identity(org: Org) -> None:
    """With a person's token valet could not tell its own records from theirs."""
    org.request()
    with pytest.raises(UsageError, match="not as a GitHub App"):
        org.label(token=org.approver.token)
    assert org.reg.calls == []


def test_attack_app_slug_names_another_app_than_the_token(org: Org) -> None:
    org.request()
    with pytest.raises(UsageError, match="app-slug says the publish App is"):
        org.label(app_slug=org.request_app.login[:-5])
    assert org.reg.calls == []


def test_attack_request_app_that_is_no_app(org: Org) -> None:
    org.request()
    with pytest.raises(UsageError, match="is not a GitHub App"):
        org.label(request_app=org.mallory.login)
    assert org.reg.calls == []


def test_the_seal_costs_two_reads_both_started_ahead(org: Org) -> None:
    """The seal check reads the run's `valet-request` list and its zip once each, and
    SdkAPI.warm starts both with the prepare run's read: the check itself waits on none."""
    from valet.issue_format import parse_issue
    from valet.publish import seal_check

    number = org.request()
    issue = org.publish.gh(org.approver.token).get_issue(number)
    request = parse_issue(issue.title, issue.body)
    assert request.run_id is not None
    sdk = SdkAPI(Rest(github_client.connect(org.publish_app.token)), org.sdk.full_name)
    zips = f"/repos/{org.sdk.full_name}/actions/artifacts/"
    listing = f"/repos/{org.sdk.full_name}/actions/runs/{request.run_id}/artifacts"

    def seal_reads() -> list[str]:
        return [e["path"] for e in org.sb.admin.request_log() if e["method"] == "GET"
                and (e["path"] == listing or e["path"].startswith(zips))]

    org.sb.admin.clear_request_log()
    sdk.warm(sha=org.sha, run_id=request.run_id, merge_target="main", config_path=".valet.yml")
    deadline = time.monotonic() + 30
    while len(seal_reads()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(seal_reads()) == 2, seal_reads()
    seal_check.check(sdk, request, publish_repo=org.publish.full_name, number=number,
                     body=issue.body)
    assert len(seal_reads()) == 2, seal_reads()  # both answers came from what warm started
    sdk.rest.close()
