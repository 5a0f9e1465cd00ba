"""The publish benchmarks' world: approved releases ready to publish, without act.

One SDK repo per release shape and one publish repo on the sandbox (in its own
process, ``env.SandboxProcess``), the real pypiserver and verdaccio behind a
``LatencyProxy`` each. A release is left the way prepare and request leave it:
a release branch with one commit, green (or pending) CI on it, the artifacts in
the store (assets of a draft release, or a workflow artifact), a prepare run
recorded with its triggering actor, and the approval issue opened by the
request App. ``approve`` adds ``accepted`` as a release engineer and writes the
``issues/labeled`` payload; ``publish`` then runs ``valet publish`` on it
in this process (the code the action runs, minus the runner) and returns its
wall time and the sandbox's request log of the run.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import tarfile
import time
import uuid
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from bench.env import LatencyProxy, SandboxProcess

API = r"^/api/(v3|uploads|graphql)(/|$)"  # every GitHub API request (not git, not storage)
UPLOADS = r"^/api/uploads/"

# What publish reads about itself: short timeouts keep a stuck call from hiding in a
# figure; everything else is the action's default.
BASE_ENV = {"VALET_HTTP_TIMEOUT": "60"}

# The publish repo's workflow, as far as GitHub checks it for a dispatch: the sweep
# hands a request whose CI decided to its own run (workflow_dispatch with `issue`).
POLICY = "valet-publish.yml"  # what the publish repo releases (docs/publish-policy.md)

PUBLISH_YML = """name: publish
on:
  issues:
    types: [labeled]
  schedule:
    - cron: "*/15 * * * *"
  workflow_dispatch:
    inputs:
      issue:
        description: the request to publish
        required: false
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - run: "true"
"""


@contextlib.contextmanager
def own_pacer(enabled: bool) -> Iterator[None]:
    """The process's write pacer (valet.pacing) for one stretch of the bench, then the old
    one back. Each publish run is a job of its own in production, with a pacer of its own
    (``enabled``); the world's set-up is prepare and request, other jobs with other tokens
    (not paced here). One pacer for the whole bench process counted every write of every
    earlier part against one hour: past 500, a run waited up to an hour, silently (its
    output is captured), which is how the sweep part looked hung."""
    from valet import pacing

    with pacing._default_lock:
        saved = pacing._default
        pacing._default = pacing.WritePacer(enabled=enabled, on_wait=pacing._say_waiting)
    try:
        # every write asks VALET_PACE_WRITES again (pacing.before_write)
        with mock.patch.dict(os.environ, {} if enabled else {"VALET_PACE_WRITES": "0"}):
            yield
    finally:
        with pacing._default_lock:
            pacing._default = saved


@dataclass
class Release:
    version: str
    number: int
    sha: str
    sdk: str
    targets: list[str]
    store: str
    files: dict[str, Path] = field(default_factory=dict)


@dataclass
class Run:
    code: int
    seconds: float
    log: list[dict[str, Any]]


def _tgz(members: Mapping[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def python_dists(dest: Path, project: str, version: str) -> dict[str, Path]:
    """A wheel and an sdist of ``project`` (metadata only: nothing is ever installed)."""
    dist = project.replace("-", "_")
    meta = f"Metadata-Version: 2.1\nName: {project}\nVersion: {version}\nSummary: bench\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as whl:
        whl.writestr(f"{dist}/__init__.py", f"VERSION = {version!r}\n")
        whl.writestr(f"{dist}-{version}.dist-info/METADATA", meta)
        whl.writestr(f"{dist}-{version}.dist-info/WHEEL", "Wheel-Version: 1.0\n"
                     "Generator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        whl.writestr(f"{dist}-{version}.dist-info/RECORD", "")
    out = {f"{dist}-{version}-py3-none-any.whl": buf.getvalue(),
           # twine wants one top-level directory: PKG-INFO alone would be its own root.
           f"{dist}-{version}.tar.gz": _tgz({f"{dist}-{version}/PKG-INFO": meta.encode(),
                                            f"{dist}-{version}/setup.py": b"raise SystemExit(1)\n"})}
    dest.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, data in out.items():
        (dest / name).write_bytes(data)
        paths[name] = dest / name
    return paths


def npm_package(dest: Path, package: str, version: str) -> Path:
    data = _tgz({"package/package.json": json.dumps(
        {"name": package, "version": version, "main": "index.js", "license": "MIT"}).encode(),
        "package/index.js": b"module.exports = 1;\n"})
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"{package}-{version}.tgz"
    path.write_bytes(data)
    return path


def valet_yml(*, pypi: bool, npm: list[str], github: bool, store: str) -> str:
    lines = ["artifacts: [dist/*]", "targets:"]
    if pypi:
        lines.append("  - name: pypi")
    for pkg in npm:
        lines += ["  - name: npm", f"    id: {pkg}",
                  f"    include_names: '^{re.escape(pkg)}-[0-9].*[.]tgz$'"]
    if github:
        lines.append("  - name: github")
    if store == "workflow-artifacts":
        lines += ["artifact_store:", "  kind: workflow-artifacts", "  name: dist"]
    return "\n".join(lines) + "\n"


class PublishWorld:
    """Releases of a few shapes, each in its own SDK repo, one publish repo for all."""

    def __init__(self, sb: SandboxProcess, work: Path, *, upload_latency: float = 0.0) -> None:
        self.sb = sb
        self.work = work
        self.admin = sb.admin
        tag = uuid.uuid4().hex[:6]
        self.org = f"bench-{tag}"
        self.pkg = f"valet-bench-{tag}"
        self.publish = f"{self.org}/publish"
        self.api_url = sb.info["api_url"]
        self.server_url = sb.info["server_url"]
        env = sb.env
        self.approver = self._user(f"riley-{tag}")
        self.requester = self._user(f"dana-{tag}")
        self.admin.create_repo(self.publish, files={"README.md": "publish\n",
                                                    ".github/workflows/publish.yml": PUBLISH_YML})
        self.admin.set_permission(self.publish, self.approver[0], "maintain")
        self.admin.create_team(self.org, "release-engineers", [self.approver[0]])
        self.request_app = f"request-{self.org}"
        self.publish_app = f"publish-{self.org}"
        self.request_token = self.admin.create_app(self.request_app, repos=[self.publish],
                                                   permission="write")
        self.publish_token = self.admin.create_app(self.publish_app, repos=[self.publish],
                                                   permission="admin")
        # The publish repository as its setup makes it (docs/labels.md): valet's six labels
        # exist before the first release.
        from valet.labels import Label

        publish_repo = self.gh(self.publish_token).get_repo(self.publish)
        for label in Label:
            publish_repo.create_label(str(label), "ededed")
        self.regs = {"pypi_url": env["VALET_PYPI_URL"], "npm_url": env["VALET_NPM_REGISTRY"],
                     "pypi_user": env["TWINE_USERNAME"], "pypi_password": env["TWINE_PASSWORD"],
                     "npm_token": env["NPM_TOKEN"]}
        # Uploads: a twine POST to pypiserver, an npm PUT to verdaccio (reads pass).
        self.pypi_proxy = LatencyProxy(self.regs["pypi_url"], upload_latency, methods=("POST",))
        self.npm_proxy = LatencyProxy(self.regs["npm_url"], upload_latency, methods=("PUT",))
        self.pypi_proxy.__enter__()
        self.npm_proxy.__enter__()
        self._repos: dict[str, str] = {}
        self._minor = 0

    def close(self) -> None:
        self.pypi_proxy.__exit__()
        self.npm_proxy.__exit__()
        self.admin.clear_faults()

    def __enter__(self) -> PublishWorld:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _user(self, login: str) -> tuple[str, str]:
        self.admin.create_user(login)
        return login, self.admin.create_token(login)

    def gh(self, token: str | None = None) -> Any:
        import github

        return github.Github(auth=github.Auth.Token(token or self.publish_token),
                             base_url=self.api_url, retry=None, per_page=100,
                             seconds_between_requests=None, seconds_between_writes=None)

    def set_upload_latency(self, seconds: float) -> None:
        self.pypi_proxy.seconds = seconds
        self.npm_proxy.seconds = seconds

    # -- releases -----------------------------------------------------------------
    def _sdk(self, shape: str, config: str) -> str:
        if shape not in self._repos:
            repo = f"{self.org}/sdk-{len(self._repos)}"
            self.admin.create_repo(repo, files={".valet.yml": config, "README.md": "sdk\n"})
            self.admin.protect_branch(repo, "main", bypass=[self.publish_app])
            self.admin.set_permission(repo, f"{self.publish_app}[bot]", "admin")
            self.admin.set_permission(repo, self.requester[0], "write")
            self._repos[shape] = repo
            self._serve()
        return self._repos[shape]

    def _serve(self) -> None:
        """valet-publish.yml of the publish repo: every SDK repo of the bench, its packages,
        on the loopback registries (a commit on the publish repo's default branch)."""
        text = "repos:\n" + "".join(
            f"  {repo}:\n    targets: [pypi, npm, github]\n    packages:\n"
            f"      pypi: [{self.pkg}]\n      npm: [\"{self.pkg}-*\"]\n"
            for repo in self._repos.values()) + \
            'hosts:\n  pypi: ["127.0.0.1:*"]\n  npm: ["127.0.0.1:*"]\n'
        repo = self.gh().get_repo(self.publish)
        try:
            current = repo.get_contents(POLICY)
        except Exception:  # noqa: BLE001 - the first SDK repo: the file is new
            repo.create_file(POLICY, "serve the bench's SDK repos", text)
        else:
            repo.update_file(POLICY, "serve the bench's SDK repos", text, current.sha)

    def new_release(self, *, pypi: bool = True, npm: int = 1, github: bool = True,
                    store: str = "github-release", ci: str = "success") -> Release:
        """An approved-to-be release in the SDK repo of its shape (one repo per shape)."""
        with own_pacer(False):  # prepare's and request's writes: not the run measured
            return self._new_release(pypi=pypi, npm=npm, github=github, store=store, ci=ci)

    def _new_release(self, *, pypi: bool, npm: int, github: bool, store: str,
                     ci: str) -> Release:
        from valet import github_client
        from valet.issue_format import render_body
        from valet.manifest import Artifact, Manifest
        from valet.request import Request, TargetState
        from valet.store.github_release import GitHubReleaseStore

        packages = [f"{self.pkg}-n{i}" for i in range(npm)]
        config = valet_yml(pypi=pypi, npm=packages, github=github, store=store)
        shape = f"{pypi}-{npm}-{github}-{store}"
        if store == "workflow-artifacts":  # one artifact name per repo: one repo per release
            shape += f"-{self._minor}"
        sdk = self._sdk(shape, config)
        self._minor += 1
        version = f"1.{self._minor}.0"
        branch = f"release/{version}"
        repo = self.gh().get_repo(sdk)
        # The release commit is prepare's: one version file bumped on a commit of main. A
        # version file of its own per release (added to main first, as a reviewed change
        # would) keeps releases cut from one main from colliding when they merge.
        slot = f"releases/{self._minor}/package.json"
        repo.create_file(slot, f"add {slot}", '{\n  "version": "0.0.0"\n}\n', branch="main")
        main_sha = repo.get_branch("main").commit.sha
        repo.create_git_ref(f"refs/heads/{branch}", main_sha)
        current = repo.get_contents(slot, ref=branch)
        sha = repo.update_file(slot, f"release: {version}",
                               current.decoded_content.decode().replace("0.0.0", version),
                               current.sha, branch=branch)["commit"].sha
        if ci == "success":
            self.admin.set_ci(sdk, sha, check_runs=[
                {"name": "tests", "status": "completed", "conclusion": "success"}])
        else:
            self.admin.set_ci(sdk, sha, check_runs=[{"name": "tests", "status": "in_progress"}])
        dest = self.work / "dist" / f"{self.org}-{version}"
        files: dict[str, Path] = {}
        if pypi:
            files.update(python_dists(dest, self.pkg, version))
        for pkg in packages:
            path = npm_package(dest, pkg, version)
            files[path.name] = path
        if not files:  # github alone still publishes one asset
            (dest / "notes.txt").parent.mkdir(parents=True, exist_ok=True)
            (dest / "notes.txt").write_text(version)
            files["notes.txt"] = dest / "notes.txt"
        arts = tuple(Artifact(n, p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
                     for n, p in sorted(files.items()))
        manifest = Manifest(version=version, artifacts=arts, repo=sdk, sha=sha)  # as `valet request`
        release_id: int | None = None
        if store == "github-release":
            with self._env():
                ref = GitHubReleaseStore(
                    gh=github_client.connect(self.publish_token),
                    session=github_client.session(self.publish_token), repo=sdk, tag=version,
                    version=version).upload(manifest, files, notes=f"- release {version}")
            release_id = ref.release_id
        else:
            self.admin.add_workflow_artifact(sdk, "dist", {
                **{n: p.read_bytes() for n, p in files.items()},
                "manifest.json": manifest.dumps().encode()})
        run = self.admin.create_run(sdk, path=".github/workflows/release.yml",
                                    event="workflow_dispatch", actor=self.requester[0],
                                    head_sha=main_sha, head_branch="main", name="release")
        targets = (["pypi"] if pypi else []) + [f"npm[{p}]" for p in packages] + \
            (["github"] if github else [])
        request = Request(repo=sdk, version=version, requested_by=self.requester[0], sha=sha,
                          branch=branch, merge_target="main", changelog=f"- release {version}",
                          targets=[TargetState(t) for t in targets], artifacts=list(arts),
                          release_id=release_id, store=store, run_id=int(run["id"]))
        body = render_body(request, server_url=self.server_url)
        issue = self.gh(self.request_token).get_repo(self.publish).create_issue(request.title,
                                                                              body)
        self.admin.seal_request(self.publish, issue.number, request, body)
        return Release(version, issue.number, sha, sdk, targets, store, files)

    def set_ci(self, rel: Release, conclusion: str = "success") -> None:
        self.admin.set_ci(rel.sdk, rel.sha, check_runs=[
            {"name": "tests", "status": "completed", "conclusion": conclusion}])

    def approve(self, rel: Release) -> Path:
        """The release engineer adds `accepted`; the issues/labeled payload, as a file."""
        from valet.sandbox.webhooks import issue_event

        repo = self.gh(self.approver[1]).get_repo(self.publish)
        issue = repo.get_issue(rel.number)
        issue.add_to_labels("accepted")
        fresh = self.gh().get_repo(self.publish)
        event = issue_event("labeled", repo=fresh.raw_data,
                            issue=fresh.get_issue(rel.number).raw_data,
                            sender={"login": self.approver[0], "type": "User", "id": 1},
                            label=repo.get_label("accepted").raw_data)
        path = self.work / "events" / f"{rel.number}-{uuid.uuid4().hex[:6]}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(event))
        return path

    def schedule_event(self) -> Path:
        path = self.work / "events" / f"schedule-{uuid.uuid4().hex[:6]}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"schedule": "*/15 * * * *",
                                    "repository": {"full_name": self.publish}}))
        return path

    # -- publish --------------------------------------------------------------------
    def publish_env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The publish step's environment, as publish.yml gives it."""
        env = {**self.sb.env, **BASE_ENV,
               "GITHUB_REPOSITORY": self.publish, "GITHUB_WORKFLOW_REF":
                   f"{self.publish}/.github/workflows/publish.yml@refs/heads/main",
               "GITHUB_REF": "refs/heads/main",
               "INPUT_GITHUB_TOKEN": self.publish_token, "INPUT_SDK_TOKEN": self.publish_token,
               "INPUT_APP_SLUG": self.publish_app, "INPUT_REQUEST_APP": self.request_app,
               "INPUT_APPROVERS": f"{self.org}/release-engineers",
               "TWINE_REPOSITORY_URL": self.pypi_proxy.url,
               "PYPI_INDEX_URL": f"{self.regs['pypi_url']}simple/",
               "TWINE_USERNAME": self.regs["pypi_user"],
               "TWINE_PASSWORD": self.regs["pypi_password"],
               "NPM_REGISTRY": self.npm_proxy.url, "NPM_TOKEN": self.regs["npm_token"],
               "RUNNER_TEMP": str(self.work / "runner")}
        env.update(extra or {})
        return env

    @contextlib.contextmanager
    def _env(self, extra: Mapping[str, str] | None = None) -> Iterator[dict[str, str]]:
        env = self.publish_env(extra)
        drop = [k for k in os.environ if k.startswith(("INPUT_", "GITHUB_"))]
        with mock.patch.dict(os.environ, env):
            for k in drop:
                if k not in env:
                    os.environ.pop(k, None)
            yield env

    def publish_run(self, event_name: str, event: Path,
                    extra: Mapping[str, str] | None = None) -> Run:
        """``valet publish`` on one event, in this process; its wall time and request log."""
        from valet import pacing
        from valet.cli import main

        mark = len(self.admin.request_log())
        with own_pacer(pacing.enabled_by_env()), \
                self._env({"GITHUB_EVENT_NAME": event_name, "GITHUB_EVENT_PATH": str(event),
                           **(extra or {})}), \
                contextlib.redirect_stdout(io.StringIO()):
            start = time.monotonic()
            code = main(["publish"])
            seconds = time.monotonic() - start
        return Run(code, seconds, self.admin.request_log()[mark:])

    def last_comment(self, rel: Release) -> str:
        comments = list(self.gh().get_repo(self.publish).get_issue(rel.number).get_comments())
        return str(comments[-1].body) if comments else ""

    def issue(self, rel: Release) -> dict[str, Any]:
        return dict(self.gh().get_repo(self.publish).get_issue(rel.number).raw_data)
