"""Adversarial cases end to end (issue 7, item 2): act + the sandbox + the real registries.

Every case runs the example workflows as users copy them (release.yml on the SDK
side, publish.yml on the publish side) and asserts, against the registries and
the sandbox's state, that nothing was published that was not approved, nothing
twice, and that the log says why. Shell payloads write a canary file under /tmp
(act runs in host mode: an injection would create it on this machine); each
test has its own canary prefix and checks that no file with it exists.

Why the workflow-command checks are strict here: act (0.2.89) does not honour
``::stop-commands::``, so a payload line that reached the log at the start of
a line would act even inside valet's fence. Forged outputs are looked for in
``ActResult.outputs`` (act's own ``set-output`` records), forged masks by a
word that must still be readable in the log.

One module-scoped world (tests/act/world.py): each test releases its own
version. The config cases come last: the post-request push case merges the
release branch into main.
"""

from __future__ import annotations

import importlib.util
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.act.world import DIST, PKG, VALET_YML, World, world_fixture  # noqa: F401 - a fixture

pytestmark = [pytest.mark.act, pytest.mark.sandbox, pytest.mark.adversarial]

_MISSING = [m for m in ("issues", "ci", "releases", "access", "commits")
            if importlib.util.find_spec(f"valet.sandbox.routes.{m}") is None]
if _MISSING:
    pytest.skip(f"the sandbox has no {', '.join(_MISSING)} routes yet", allow_module_level=True)

# Output names the payloads try to forge; no step of any run may end up with one.
FORGED = {"forged", "x", "pwned"}
# The merge target's config from the first test on: the world's, with a changelog.
MAIN_YML = VALET_YML + "changelog_policy: auto\n"
PREPARE_OUTPUTS = {"version", "branch", "tag", "sha", "previous-tag", "changelog",
                   "artifact-name", "artifacts-dir", "prepared"}


# -- helpers ----------------------------------------------------------------------


class Canary:
    """A unique /tmp prefix; shell payloads that would create files under it."""

    def __init__(self) -> None:
        self.prefix = f"/tmp/valet-pwned-{uuid.uuid4().hex[:12]}"

    def shell(self, tag: str) -> str:
        return (f"$(touch {self.prefix}-{tag}-dollar) `touch {self.prefix}-{tag}-tick` "
                "${{ github.token }}")

    def created(self) -> list[str]:
        return sorted(str(p) for p in Path("/tmp").glob(Path(self.prefix).name + "*"))


def workflow_command_lines(mask_word: str) -> list[str]:
    """Lines that would act if a runner read them as commands."""
    return ["::set-output name=forged::pwned",
            "::set-env name=VALET_PWNED::1",
            f"::add-mask::{mask_word}",
            "::stop-commands::pwned",
            "::error title=forged::this error was written by the payload"]


def assert_inert(result: Any, canary: Canary, *, readable: str) -> None:
    """No file created, no output forged, the forged mask did not take."""
    assert canary.created() == []
    forged = {(step, name) for step, outs in result.outputs.items() for name in outs
              if name in FORGED}
    assert forged == set(), result.outputs
    assert all("pwned" != v for outs in result.outputs.values() for v in outs.values())
    assert readable in result.stdout, result.describe()  # `::add-mask::<word>` not applied


def push_sdk(world: World, branch: str, files: dict[str, str], message: str, *,
             base: str = "main", token: str | None = None) -> str:
    """Commit ``files`` on top of origin/``base`` and push it as ``branch``; the sha.

    The SDK checkout act copies is left on main at origin/main afterwards.
    """
    from tests.act.world import git

    d = world.sdk_dir
    if token is None and branch == "main":
        # main takes changes only through reviewed pull requests; what lands there in
        # these stories stands for a merged one, pushed by the ruleset's bypass actor
        token = world.publish_app[1]
    url = world.sb.git_url(world.sdk, token or world.requester[1])
    git(d, "fetch", "-q", url, f"+refs/heads/{base}:refs/remotes/origin/{base}")
    git(d, "checkout", "-q", "-B", "valet-test-work", f"origin/{base}")
    for name, text in files.items():
        (d / name).write_text(text)
    git(d, "add", "--", *files)
    git(d, "-c", "user.name=committer", "-c", "user.email=c@example.com",
        "commit", "-q", "-m", message)
    sha = git(d, "rev-parse", "HEAD").strip()
    git(d, "push", "-q", url, f"HEAD:refs/heads/{branch}")
    sync_main(world)
    return sha


def sync_main(world: World) -> None:
    from tests.act.world import git

    d = world.sdk_dir
    url = world.sb.git_url(world.sdk, world.requester[1])
    git(d, "fetch", "-q", url, "+refs/heads/main:refs/remotes/origin/main")
    git(d, "checkout", "-q", "-B", "main", "origin/main")


def main_file(world: World, path: str) -> str:
    return world.gh().get_repo(world.sdk).get_contents(path, ref="main").decoded_content.decode()


def main_has(world: World, sha: str) -> bool:
    cmp = world.gh().get_repo(world.sdk).compare("main", sha)
    return cmp.status in ("identical", "behind")


def pypi_file_counts(world: World) -> dict[str, int]:
    page = requests.get(f"{world.regs.pypi_index_url}{PKG}/", timeout=30)
    if page.status_code == 404:
        return {}
    counts: dict[str, int] = {}
    import re

    for m in re.finditer(r'href="[^"]*/([^/"#]+)#sha256=', page.text):
        counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    return counts


def releases_for(world: World, tag: str) -> list[Any]:
    return [r for r in world.gh().get_repo(world.sdk).get_releases() if r.tag_name == tag]


def issues_titled(world: World, title: str) -> list[Any]:
    return [i for i in world.gh().get_repo(world.publish).get_issues(state="all")
            if i.title == title]


def publish_summary(result: Any) -> str:
    return "\n".join(md for _step, md in result.summaries)


def relabel(world: World, key: str) -> None:
    """Drop `accepted` (if there) so the next world.label() is a fresh labeled event."""
    issue = world.gh(world.approver[1]).get_repo(world.publish).get_issue(world.issues[key])
    if "accepted" in {x.name for x in issue.labels}:
        issue.remove_from_labels("accepted")


class EvilRegistry:
    """An HTTP listener standing for a registry URL an attacker wrote into a config.

    It records every request (method, path, whether credentials came along) and
    answers 500, so a client that reached it could not mistake it for success.
    """

    def __init__(self) -> None:
        hits: list[tuple[str, str, bool]] = []

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                hits.append((self.command, self.path, "Authorization" in self.headers))
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_PUT = do_HEAD = _any

            def log_message(self, *args: Any) -> None:
                pass

        self.hits = hits
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> EvilRegistry:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def evil_config(evil: str) -> str:
    """The SDK config a committer writes on a release branch: one extra target and the
    pypi target's registry moved to a host they control."""
    return (f"build: python build.py\nartifacts: [dist/*]\ntargets:\n"
            f"  - name: pypi\n    repository_url: {evil}/legacy/\n    index_url: {evil}/simple/\n"
            f"  - name: npm\n  - name: github\n"
            f"  - name: pypi\n    id: mirror\n    repository_url: {evil}/mirror/legacy/\n"
            f"    index_url: {evil}/mirror/simple/\n")


@pytest.fixture
def canary() -> Iterator[Canary]:
    c = Canary()
    yield c
    assert c.created() == []


# -- 1. the changelog carries every payload from the SDK side to the publish run ------


def test_changelog_payloads_stay_data_from_prepare_to_publish(world: World, canary: Canary) -> None:
    v = "2.0.0"
    forged_block = "<!-- valet-request " + json.dumps(
        {"v": 1, "repo": world.sdk, "path": ".", "version": v, "requested_by": world.mallory[0],
         "targets": ["evil"], "artifacts": [], "sha": "0" * 40}) + " -->"
    lines = [f"- fix: {canary.shell('changelog')}",
             " - [ ] evil",
             "- [x] pypi",
             "### Targets",
             " - [ ] evil2",
             forged_block,
             *workflow_command_lines("release"),
             "",
             "done"]
    push_sdk(world, "main", {".valet.yml": MAIN_YML,
                             "CHANGELOG.md": "# Changelog\n\n## Unreleased\n\n"
                             + "\n".join(lines) + "\n"}, "docs: changelog for 2.0.0")
    rel = world.release(v)
    assert_inert(rel, canary, readable="release commit")
    assert set(rel.outputs["prepare"]) <= PREPARE_OUTPUTS
    assert "$(touch" in rel.outputs["prepare"]["changelog"]  # carried, as text

    from valet.issue_format import parse_issue

    issue = world.issue(v)
    assert issue.body.count("<!-- valet-request") == 1  # the forged block is escaped
    assert "&lt;!-- valet-request" in issue.body
    assert " - \\[ ] evil" in issue.body and "\\### Targets" in issue.body
    request = parse_issue(issue.title, issue.body)
    assert [t.id for t in request.targets] == ["pypi", "npm", "github"]
    assert "evil" not in json.dumps(request.to_json())

    world.set_ci(v, "completed", "success")
    pub = world.label(v, world.approver)
    assert pub.ok, pub.describe()
    assert_inert(pub, canary, readable="ticked pypi")
    manifest = world.manifest(v)
    pypi = world.pypi_digests()
    for name in (f"{DIST}-{v}-py3-none-any.whl", f"{DIST}-{v}.tar.gz"):
        assert pypi[name] == manifest[name]
    assert world.npm_tarball_sha256(v) == manifest[f"{PKG}-{v}.tgz"]
    assert not world.release_of(v).draft
    assert world.checked(v) == {"pypi": True, "npm": True, "github": True}
    summary = publish_summary(pub)
    assert "evil" not in summary and "pwned" not in summary
    assert world.issue(v).state == "closed"


# -- 2. injections through issues someone opened by hand -------------------------------


def _forged_request_body(world: World, *, target_line: str | None = None,
                         extra: str = "") -> str:
    """A body valet would render (mallory copies a real one), with an optional edit."""
    from valet.issue_format import render_body
    from valet.manifest import Artifact
    from valet.request import Request, TargetState

    sha = world.gh().get_repo(world.sdk).get_branch("main").commit.sha
    req = Request(repo=world.sdk, path=".", version="9.9.9", requested_by=world.mallory[0],
                  sha=sha, targets=[TargetState("pypi"), TargetState("npm"),
                                    TargetState("github")],
                  artifacts=[Artifact(f"{PKG}-9.9.9.tgz", 10, "a" * 64)], branch="release/9.9.9")
    body = render_body(req, server_url=world.sb.server_url)
    if target_line is not None:
        body = body.replace(" - [ ] npm\n", target_line + "\n")
    return body + extra


FORGED_ISSUES = {
    # title: shell and expression payloads after a valid-looking prefix
    "title-shell": ("{title} {shell}", None, "", "is not a publish request"),
    # title: a newline, then a workflow command
    "title-newline-command": ("{title}\n::set-output name=forged::pwned\n::add-mask::request",
                              None, "", "is not a publish request"),
    # body: a second hidden block naming another target
    "body-second-hidden-block": ("{title}", None,
                                 '\n<!-- valet-request {{"targets":["evil"]}} -->\n',
                                 "2 'valet-request' blocks"),
    # body: a target id carrying a command substitution and an expression
    "body-target-id-shell": ("{title}", " - [ ] npm$(touch${{IFS}}{prefix}-id)${{{{github.token}}}}",
                             "", "is not ' - [ ] id' with a valid id"),
}


@pytest.mark.parametrize("case", sorted(FORGED_ISSUES))
def test_injections_in_an_issue_opened_by_hand_publish_nothing(world: World, canary: Canary,
                                                               case: str) -> None:
    title_tpl, line_tpl, extra, why = FORGED_ISSUES[case]
    base = f"publish: {world.sdk}@9.9.9"
    title = title_tpl.format(title=base, shell=canary.shell("title"))
    line = line_tpl.format(prefix=canary.prefix) if line_tpl else None
    body = _forged_request_body(world, target_line=line, extra=extra)
    # An SDK committer opens it as the request App (a person's own issue would be refused
    # before its text is even read: only the request App opens requests); an approver
    # labels it.
    issue = world.gh(world.request_app[1]).get_repo(world.publish).create_issue(title=title,
                                                                                 body=body)
    assert issue.title == title  # the payload reached the issue as written
    world.issues[case] = issue.number
    result = world.label(case, world.approver)
    assert result.ok, result.describe()
    assert_inert(result, canary, readable="request")
    assert why in result.stdout + "\n".join(world.comments(case)), result.describe()
    # refused: the label is taken back and the comment says why, literally
    assert "accepted" not in world.labels(case)
    comment = world.comments(case)[-1]
    assert "nothing was published" in comment
    if case.startswith("body-"):
        assert "the issue is not a valid publish request" in comment
        if case == "body-target-id-shell":
            assert "${{github.token}}" in result.stdout  # shown as text, never evaluated
            assert "github.token" in comment
    assert f"{PKG}-9.9.9.tgz" not in json.dumps(world.pypi_digests())
    assert world.npm_tarball_sha256("9.9.9") is None
    assert releases_for(world, "9.9.9") == []
    assert world.issue(case).state == "open"


# -- 3. the version (and so the branch name) from the release workflow's input --------


@pytest.mark.parametrize("payload", ["1.0.0;touch {prefix}-semi", "$(touch {prefix}-sub)",
                                     "1.0.0\n::set-output name=forged::pwned"])
def test_an_injected_version_is_refused_before_anything_is_pushed(world: World, canary: Canary,
                                                                  payload: str) -> None:
    version = payload.format(prefix=canary.prefix)
    sdk = world.gh().get_repo(world.sdk)
    branches = {b.name for b in sdk.get_branches()}
    issues = {i.number for i in world.gh().get_repo(world.publish).get_issues(state="all")}
    result = world.release_run(version)
    assert not result.ok
    assert_inert(result, canary, readable="version")
    assert "prepare" not in result.outputs or not result.outputs["prepare"].get("sha")
    assert "::error title=version error::" in result.stdout
    assert "is not a valid semantic version" in result.stdout
    assert {b.name for b in sdk.get_branches()} == branches
    assert {i.number for i in world.gh().get_repo(world.publish).get_issues(state="all")} == issues


# -- 4. a duplicate request, a re-labelled finished issue, a re-opened one ------------


def test_duplicate_request_and_relabels_publish_nothing_twice(world: World) -> None:
    v = "2.1.0"
    title = f"publish: {world.sdk}@{v}"
    world.release(v)
    first = world.issues[v]
    world.release(v)  # the same version again, while the request is open
    assert world.issues[v] == first and len(issues_titled(world, title)) == 1
    world.set_ci(v, "completed", "success")
    pub = world.label(v, world.approver)
    assert pub.ok, pub.describe()
    manifest = world.manifest(v)
    files = (f"{DIST}-{v}-py3-none-any.whl", f"{DIST}-{v}.tar.gz")

    def state() -> tuple[dict[str, int], str | None, list[list[str]]]:
        counts = pypi_file_counts(world)
        return ({f: counts.get(f, 0) for f in files}, world.npm_tarball_sha256(v),
                [sorted(a.name for a in r.get_assets()) for r in releases_for(world, v)])

    after = state()
    assert after[0] == {f: 1 for f in files}
    assert after[1] == manifest[f"{PKG}-{v}.tgz"]
    assert len(after[2]) == 1 and after[2][0] == sorted(set(after[2][0]))
    assert world.issue(v).state == "closed"

    # The finished issue labelled again: valet acts on open issues only.
    relabel(world, v)
    closed = world.label(v, world.approver)
    assert closed.ok, closed.describe()
    assert "is not an open issue" in closed.stdout
    assert state() == after

    # Re-opened and labelled: every box is ticked, nothing is uploaded again.
    world.gh(world.approver[1]).get_repo(world.publish).get_issue(first).edit(state="open")
    relabel(world, v)
    reopened = world.label(v, world.approver)
    assert "twine upload" not in reopened.stdout and "npm publish" not in reopened.stdout
    assert not any(f"ticked {t}" in reopened.stdout for t in ("pypi", "npm", "github"))
    assert "already published" in reopened.stdout or "skipped" in reopened.stdout
    assert state() == after
    assert world.checked(v) == {"pypi": True, "npm": True, "github": True}

    # And the release workflow once more for a version that is out: no new request.
    again = world.release_run(v)
    assert not again.ok
    assert len(issues_titled(world, title)) == 1
    assert state() == after


# Publish merges the approved commit (publish.finish.merge passes the request's sha),
# so a commit pushed to the release branch after approval never reaches the
# protected merge target, and a re-opened finished issue (branch already
# deleted) ends published, not failed.


def test_a_reopened_finished_issue_ends_published_not_failed(world: World) -> None:
    v = "2.1.0"
    if v not in world.issues:
        pytest.skip("needs test_duplicate_request_and_relabels_publish_nothing_twice first")
    issue = world.gh(world.approver[1]).get_repo(world.publish).get_issue(world.issues[v])
    if issue.state == "closed":
        issue.edit(state="open")
    relabel(world, v)
    result = world.label(v, world.approver)
    assert result.ok, result.describe()
    assert world.issue(v).state == "closed" and "failed" not in world.labels(v)


# -- 5. a box ticked by someone else before approval; forged lines in a person's edit ---


def _editor(world: World) -> tuple[str, str]:
    editor = f"editor-{uuid.uuid4().hex[:4]}"
    world.sb.admin.create_user(editor)
    token = world.sb.admin.create_token(editor)
    world.sb.admin.set_permission(world.publish, editor, "write")
    return editor, token


def test_box_ticked_before_approval_is_skipped_and_the_ticker_named(world: World) -> None:
    from valet.issue_format import set_target_checked

    v = "2.2.0"
    world.release(v)
    world.set_ci(v, "completed", "success")
    editor, editor_token = _editor(world)
    issue = world.gh(editor_token).get_repo(world.publish).get_issue(world.issues[v])
    issue.edit(body=set_target_checked(issue.body, "npm", True))  # only the tick

    pub = world.label(v, world.approver)
    assert pub.ok, pub.describe()
    manifest = world.manifest(v)
    assert world.pypi_digests()[f"{DIST}-{v}.tar.gz"] == manifest[f"{DIST}-{v}.tar.gz"]
    assert world.npm_tarball_sha256(v) is None  # skipped: never uploaded
    assert not world.release_of(v).draft
    assert "ticked npm" not in pub.stdout
    summary = publish_summary(pub)
    comment = world.comments(v)[-1]
    for text in (summary, comment):
        # the editor is named from the body's edit history (GraphQL), never @-mentioned
        assert f"skipped: ticked by {editor} before approval" in text
        assert f"@{editor}" not in text
        assert world.approver[0] in text
    assert world.issue(v).state == "closed"


def test_forged_lines_in_a_persons_edit_refuse_the_request(world: World, canary: Canary) -> None:
    """A person with write on the publish repo ticks a box and, in the same edit, adds a
    target line, a shell payload and workflow commands: beyond ticking, so refused."""
    from valet.issue_format import set_target_checked

    v = "2.2.1"
    world.release(v)
    world.set_ci(v, "completed", "success")
    editor, editor_token = _editor(world)
    issue = world.gh(editor_token).get_repo(world.publish).get_issue(world.issues[v])
    body = set_target_checked(issue.body, "npm", True)
    body = body.replace(" - [ ] github\n", " - [ ] github\n - [ ] evil\n")
    body = body.replace("Quick links:", "\n".join([canary.shell("body"),
                                                   *workflow_command_lines("edited"),
                                                   "Quick links:"]))
    issue.edit(body=body)

    pub = world.label(v, world.approver)
    assert pub.ok, pub.describe()
    assert_inert(pub, canary, readable="edited by")
    assert not [n for n in world.pypi_digests() if f"-{v}" in n]
    assert world.npm_tarball_sha256(v) is None and world.release_of(v).draft
    comment = world.comments(v)[-1]
    assert f"edited by {editor}" in comment and "beyond ticking boxes" in comment
    assert "accepted" not in world.labels(v) and world.issue(v).state == "open"


# -- 6. the SDK config on the release branch differs from the merge target's ----------


def test_release_branch_config_with_an_extra_target_is_refused(world: World) -> None:
    """A committer pre-creates the release branch (prepare resumes it) with a config
    that adds a target and moves pypi to their host: the request lists the merge
    target's targets only (prepare reads the config before it switches to the branch,
    and the request job takes them from prepare's outputs), so the extra target never
    reaches the issue and nothing reaches their host."""
    v = "2.3.0"
    with EvilRegistry() as evil:
        push_sdk(world, f"release/{v}", {".valet.yml": evil_config(evil.url)},
                 f"release: {v}")
        rel = world.release(v)
        assert "resume" in rel.stdout
        assert [k for k in world.checked(v)] == ["pypi", "npm", "github"]
        assert "mirror" not in world.issue(v).body
        assert evil.hits == []
    assert f"{DIST}-{v}.tar.gz" not in world.pypi_digests()
    assert world.npm_tarball_sha256(v) is None
    assert world.release_of(v).draft
    assert main_file(world, ".valet.yml") == MAIN_YML


def test_config_pushed_to_the_release_branch_after_the_request_is_ignored(world: World) -> None:
    """After the request, a committer pushes a config with an extra target and pypi on
    their host to the release branch: publish uses the merge target's config (the real
    registry, no extra target) and merges only the approved commit."""
    v = "2.4.0"
    world.release(v)
    world.set_ci(v, "completed", "success")
    sha = _request_sha(world, v)
    with EvilRegistry() as evil:
        late = push_sdk(world, f"release/{v}", {".valet.yml": evil_config(evil.url)},
                        "ci: move the registry", base=f"release/{v}")
        pub = world.label(v, world.approver)
        assert pub.ok, pub.describe()
        assert evil.hits == []
    manifest = world.manifest(v)
    pypi = world.pypi_digests()
    for name in (f"{DIST}-{v}-py3-none-any.whl", f"{DIST}-{v}.tar.gz"):
        assert pypi[name] == manifest[name]
    assert world.npm_tarball_sha256(v) == manifest[f"{PKG}-{v}.tgz"]
    assert list(world.checked(v)) == ["pypi", "npm", "github"]
    assert "mirror" not in publish_summary(pub)
    assert main_has(world, sha)
    _LATE_COMMIT["sha"] = late  # for the merge check below
    sync_main(world)


def test_only_the_approved_commit_is_merged(world: World) -> None:
    late = _LATE_COMMIT.get("sha")
    if late is None:
        pytest.skip("needs test_config_pushed_to_the_release_branch_after_the_request_is_ignored")
    assert not main_has(world, late)  # the commit pushed after approval is not in main
    assert main_file(world, ".valet.yml") == MAIN_YML


_LATE_COMMIT: dict[str, str] = {}


def _request_sha(world: World, version: str) -> str:
    from valet.issue_format import parse_issue

    issue = world.issue(version)
    sha = parse_issue(issue.title, issue.body).sha
    assert sha
    return sha


# -- 7. secrets: no token in any act log of this module -------------------------------


def test_no_token_appears_in_any_act_log(world: World) -> None:
    from tests.fixtures import secrets_guard

    known = secrets_guard.recorded_secrets()
    tokens = {"app": world.app_token, "request_app": world.request_app[1],
              "npm": world.regs.npm_token,
              "pypi": world.regs.pypi_password, "approver": world.approver[1],
              "requester": world.requester[1], "mallory": world.mallory[1], "bot": world.bot[1]}
    assert {k for k, t in tokens.items() if t not in known} == set()  # the guard knows them
    logs = sorted(world.work.glob("act-*/act.log"))
    assert len(logs) >= 10  # every run of this module kept its log
    leaks = [leak.describe() for p in logs
             for leak in secrets_guard.find_leaks(p.read_text(errors="replace"), str(p),
                                                  tokens.values())]
    assert leaks == []
    # The pypi password reaches the publish step as plain env, not as an act secret
    # (act would print *** for it itself): only valet's masking keeps it out.
    assert world.publish_env()["TWINE_PASSWORD"] == world.regs.pypi_password
