"""The fault suite's world: one SDK repo and one publish repo on the sandbox, the real
registries behind a fault proxy each, and a fresh approved release per case.

A release is prepared the way prepare leaves it, without act or a build: a
release branch with one commit, green CI on it, a draft release holding the
artifacts and manifest.json (the store's own upload, prepare's last step) and
the approval issue rendered by ``issue_format``. Publish then runs in-process
through the CLI (``valet publish`` on an ``issues/labeled`` event), or as a
subprocess for the SIGKILL case, with short timeouts and backoff.

``check(release)`` is the invariant every case ends with: each target published
exactly once (uploads that reached each registry counted at the proxy), with the
approved digest (pypiserver's index, verdaccio's tarball and integrity, the
release assets' digests), one public release with no duplicate asset, the issue
closed as published and the branch merged.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import re
import tarfile
import uuid
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import requests

from tests.fault.proxy import FaultProxy

VALET_YML = """\
artifacts: [dist/*]
changelog_policy: auto
targets:
  - name: pypi
  - name: npm
  - name: github
"""
SLOTS = 256  # releases a world can cut: every fault module of a worker shares one world


def release_slots(*only: int) -> dict[str, str]:
    """A version file for each release the world cuts (releases/N/package.json at 0.0.0),
    or for the releases ``only`` names."""
    return {f"releases/{n}/package.json": '{\n  "version": "0.0.0"\n}\n'
            for n in (only or range(1, SLOTS + 1))}


# The github target then creates the release and uploads every asset itself.
VALET_YML_WA = VALET_YML + """\
artifact_store:
  kind: workflow-artifacts
  name: dist
"""

# Short enough that a hang costs seconds, long enough for loopback answers.
FAST_ENV = {"VALET_HTTP_TIMEOUT": "1", "VALET_RETRY_BACKOFF": "0.05", "VALET_RETRIES": "4",
            "VALET_SECONDARY_RATE_WAIT": "2"}
ALL_TARGETS = ("pypi", "npm", "github")


@dataclass
class User:
    login: str
    token: str


@dataclass
class Release:
    version: str
    number: int
    sha: str
    branch: str
    release_id: int
    manifest: dict[str, str]  # file -> approved sha256
    files: dict[str, Path]
    targets: tuple[str, ...]
    sdk: str
    store: str = "github-release"
    marks: dict[str, int] = field(default_factory=dict)  # proxy log positions at creation


def _wheel(dist: str, version: str) -> bytes:
    meta = f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\nSummary: fault case\n"
    info = f"{dist}-{version}.dist-info"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as whl:
        whl.writestr(f"{dist}/__init__.py", f"VERSION = {version!r}\n")
        whl.writestr(f"{info}/METADATA", meta)
        whl.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: fault\n"
                     "Root-Is-Purelib: true\nTag: py3-none-any\n")
        whl.writestr(f"{info}/RECORD", "")
    return buf.getvalue()


def _tgz(files: Mapping[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def build_artifacts(dest: Path, pkg: str, version: str) -> dict[str, Path]:
    dist = pkg.replace("-", "_")
    dest.mkdir(parents=True, exist_ok=True)
    meta = f"Metadata-Version: 2.1\nName: {pkg}\nVersion: {version}\nSummary: fault case\n"
    blobs = {
        f"{dist}-{version}-py3-none-any.whl": _wheel(dist, version),
        # twine wants one top-level directory: PKG-INFO alone would be its own root.
        f"{dist}-{version}.tar.gz": _tgz({f"{dist}-{version}/PKG-INFO": meta,
                                         f"{dist}-{version}/setup.py": "raise SystemExit(1)\n"}),
        f"{pkg}-{version}.tgz": _tgz({"package/package.json": json.dumps(
            {"name": pkg, "version": version, "main": "index.js", "license": "MIT"}),
            "package/index.js": "module.exports = 1;\n"}),
    }
    out = {}
    for name, data in blobs.items():
        (dest / name).write_bytes(data)
        out[name] = dest / name
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class FaultWorld:
    def __init__(self, sb: Any, regs: Any, work: Path) -> None:
        self.sb = sb
        self.regs = regs
        self.work = work
        tag = uuid.uuid4().hex[:6]
        self.org = f"fault-{tag}"
        self.pkg = f"valet-fault-{tag}"
        self.sdk = f"{self.org}/sdk"
        self.publish = f"{self.org}/publish"
        admin = sb.admin
        self.approver = self._user(f"approver-{tag}")
        self.requester = self._user(f"requester-{tag}")
        admin.create_repo(self.sdk, files={".valet.yml": VALET_YML, "README.md": "sdk\n",
                                           **release_slots()})
        self.served = [self.sdk]
        admin.create_repo(self.publish, files={"README.md": "publish\n",
                                               "valet-publish.yml": self._policy()})
        self.app_token = admin.create_app(f"valet-{self.org}", repos=[self.sdk, self.publish],
                                          permission="admin")
        # The request App opens the requests (the publish App's token is app_token).
        self.request_slug = f"request-{self.org}"
        self.request_token = admin.create_app(self.request_slug, repos=[self.sdk],
                                              permission="write")
        admin.set_permission(self.publish, f"{self.request_slug}[bot]", "triage")
        # publish reads its config only from a branch requiring reviewed PRs; the App bypasses
        admin.protect_branch(self.sdk, "main", bypass=[f"valet-{self.org}"])
        admin.set_permission(self.publish, self.approver.login, "maintain")
        admin.set_permission(self.publish, self.requester.login, "triage")
        admin.create_team(self.org, "release", [self.approver.login])
        self.pypi = FaultProxy(regs.pypi_url).start()
        self.npm = FaultProxy(regs.npm_url).start()
        self._minor = 0

    def _policy(self) -> str:
        """valet-publish.yml: the SDK repos of this world (sdk and each sdk-wa-N), the
        world's package, on the loopback proxies in front of the registries."""
        return ("repos:\n" + "".join(
            f"  {repo}:\n    targets: [pypi, npm, github]\n    packages:\n"
            f"      pypi: [{self.pkg}]\n      npm: [{self.pkg}]\n" for repo in self.served)
            + 'hosts:\n  pypi: ["127.0.0.1:*"]\n  npm: ["127.0.0.1:*"]\n')

    def serve(self, sdk: str) -> None:
        """Add ``sdk`` to valet-publish.yml (a commit on the publish repo's default branch)."""
        self.served.append(sdk)
        repo = self.gh().get_repo(self.publish)
        current = repo.get_contents("valet-publish.yml")
        repo.update_file("valet-publish.yml", f"serve {sdk}", self._policy(), current.sha)

    def stop(self) -> None:
        self.pypi.stop()
        self.npm.stop()
        self.sb.admin.clear_faults()

    def _user(self, login: str) -> User:
        self.sb.admin.create_user(login)
        return User(login, self.sb.admin.create_token(login))

    # -- clients ------------------------------------------------------------------
    def _commit_release(self, sdk: str, branch: str, version: str, slot: str,
                        changelog: str) -> str:
        """The release commit on ``branch`` through git: ``slot`` bumped and ``changelog``
        given the release's section, in one commit. Its sha."""
        from tests.sandbox.helpers import git

        work = self.work / f"checkout-{version}"
        git(self.work, "clone", "-q", "-b", branch, self.sb.git_url(sdk, self.app_token),
            str(work))
        git(work, "config", "user.name", "release")
        git(work, "config", "user.email", "release@valet.invalid")
        (work / slot).write_text((work / slot).read_text().replace("0.0.0", version))
        (work / changelog).write_text(f"## {version}\n")
        git(work, "add", slot, changelog)
        git(work, "commit", "-q", "-m", f"release: {version}")
        git(work, "push", "-q", "origin", branch)
        return git(work, "rev-parse", "HEAD").strip()

    def gh(self, token: str | None = None) -> Any:
        import github

        return github.Github(auth=github.Auth.Token(token or self.app_token),
                             base_url=self.sb.api_url, retry=None, per_page=100,
                             seconds_between_requests=None, seconds_between_writes=None)

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """What the publish step sees: the sandbox, the proxies in front of the registries."""
        env = {**self.sb.env(), **FAST_ENV,
               "GITHUB_REPOSITORY": self.publish, "INPUT_GITHUB_TOKEN": self.app_token,
               "INPUT_REQUEST_APP": self.request_slug,
               "INPUT_APPROVERS": f"{self.org}/release",
               "TWINE_REPOSITORY_URL": self.pypi.url,
               "PYPI_INDEX_URL": f"{self.pypi.url}simple/",
               "TWINE_USERNAME": self.regs.pypi_user, "TWINE_PASSWORD": self.regs.pypi_password,
               "NPM_REGISTRY": self.npm.url, "NPM_TOKEN": self.regs.npm_token,
               "RUNNER_TEMP": str(self.work / "runner")}
        env.update(extra or {})
        return env

    @contextlib.contextmanager
    def patched(self, extra: Mapping[str, str] | None = None) -> Iterator[dict[str, str]]:
        env = self.env(extra)
        drop = [k for k in os.environ if k.startswith(("INPUT_", "GITHUB_EVENT"))]
        with mock.patch.dict(os.environ, env):
            for k in drop:
                if k not in env:
                    os.environ.pop(k, None)
            yield env

    # -- a release ready to publish -----------------------------------------------
    def new_release(self, targets: tuple[str, ...] = ALL_TARGETS,
                    store: str = "github-release", shared: str | None = None) -> Release:
        """An approved-to-be release; ``shared``: a file it also writes, as every release
        writes its changelog (two releases cut from one main then collide on it)."""
        from valet import github_client
        from valet.issue_format import render_body
        from valet.manifest import Artifact, Manifest
        from valet.request import Request, TargetState
        from valet.store.github_release import GitHubReleaseStore

        self._minor += 1
        assert self._minor <= SLOTS, f"the world has version files for {SLOTS} releases: raise SLOTS"
        version = f"1.{self._minor}.0"
        branch = f"release/{version}"
        sdk = self.sdk
        if store == "workflow-artifacts":
            # One repo per such release: its artifact name (`dist`) is then unambiguous.
            sdk = f"{self.org}/sdk-wa-{self._minor}"
            self.sb.admin.create_repo(sdk, files={".valet.yml": VALET_YML_WA,
                                                     **release_slots(self._minor)})
            self.sb.admin.set_permission(sdk, f"valet-{self.org}[bot]", "admin")
            self.sb.admin.set_permission(sdk, f"{self.request_slug}[bot]", "write")
            self.sb.admin.protect_branch(sdk, "main", bypass=[f"valet-{self.org}"])
            self.serve(sdk)
        repo = self.gh().get_repo(sdk)
        main_sha = repo.get_branch("main").commit.sha
        repo.create_git_ref(f"refs/heads/{branch}", main_sha)
        # One version file per release, bumped as prepare bumps one: branches merge into
        # main without touching each other, and publish sees a release commit of prepare's.
        slot = f"releases/{self._minor}/package.json"
        if shared is None:
            current = repo.get_contents(slot, ref=branch)
            sha = repo.update_file(slot, f"release: {version}",
                                   current.decoded_content.decode().replace("0.0.0", version),
                                   current.sha, branch=branch)["commit"].sha
        else:  # one commit for both files, as prepare makes it
            sha = self._commit_release(sdk, branch, version, slot, shared)
        self.sb.admin.set_ci(sdk, sha, check_runs=[
            {"name": "tests", "status": "completed", "conclusion": "success"}])
        files = build_artifacts(self.work / "dist" / version, self.pkg, version)
        arts = tuple(Artifact(n, p.stat().st_size, sha256(p)) for n, p in sorted(files.items()))
        manifest = Manifest(version=version, artifacts=arts, repo=sdk, sha=sha)  # as `valet request`
        release_id: int | None = None
        if store == "github-release":
            with self.patched():
                ref = GitHubReleaseStore(gh=github_client.connect(self.app_token),
                                         session=github_client.session(self.app_token),
                                         repo=sdk, tag=version, version=version,
                                         ).upload(manifest, files, notes=f"- release {version}")
            release_id = ref.release_id
        else:
            self.sb.admin.add_workflow_artifact(sdk, "dist", {
                **{n: p.read_bytes() for n, p in files.items()},
                "manifest.json": manifest.dumps().encode()})
        # The prepare run (release.yml, run by the requester) writes the request.
        run = self.sb.admin.create_run(sdk, path=".github/workflows/release.yml",
                                       event="workflow_dispatch", actor=self.requester.login,
                                       head_sha=main_sha, head_branch="main")
        request = Request(repo=sdk, version=version, requested_by=self.requester.login,
                          sha=sha, branch=branch, changelog=f"- release {version}",
                          targets=[TargetState(t) for t in targets], artifacts=list(arts),
                          release_id=release_id, store=store, run_id=run["id"])
        body = render_body(request, server_url=self.sb.server_url)
        issue = self.gh(self.request_token).get_repo(self.publish).create_issue(
            request.title, body)
        self.sb.admin.seal_request(self.publish, issue.number, request, body)
        self.sb.admin.finish_run(sdk, run["id"], "success")
        return Release(version, issue.number, sha, branch, int(release_id or 0),
                       {a.name: a.sha256 for a in arts}, files, targets, sdk, store,
                       {"pypi": len(self.pypi.entries()), "npm": len(self.npm.entries())})

    # -- approval and publish -------------------------------------------------------
    def approve(self, rel: Release) -> Path:
        """The approver (re-)adds `accepted`; returns the issues/labeled event file."""
        # npm waits at least 10 s before its own retry of a failed request; a project
        # .npmrc in the npm target's scratch dir (its cwd) shortens only that wait.
        from valet.publish.apply import safe_dir
        from valet.sandbox.webhooks import issue_event

        scratch = self.work / "runner" / f"valet-{rel.number}" / "work" / safe_dir("npm")
        scratch.mkdir(parents=True, exist_ok=True)
        (scratch / ".npmrc").write_text("fetch-retry-mintimeout=200\nfetch-retry-maxtimeout=500\n")
        repo = self.gh(self.approver.token).get_repo(self.publish)
        issue = repo.get_issue(rel.number)
        if "accepted" in {x.name for x in issue.labels}:
            issue.remove_from_labels("accepted")
        issue.add_to_labels("accepted")
        fresh = self.gh().get_repo(self.publish)
        event = issue_event("labeled", repo=fresh.raw_data,
                            issue=fresh.get_issue(rel.number).raw_data,
                            sender={"login": self.approver.login, "type": "User", "id": 1},
                            label=repo.get_label("accepted").raw_data)
        path = self.work / "events" / f"{rel.version}-{uuid.uuid4().hex[:6]}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(event))
        return path

    def without_label(self, name: str) -> None:
        """Delete the publish repository's label ``name`` (if it exists)."""
        import github

        try:
            self.gh().get_repo(self.publish).get_label(name).delete()
        except github.UnknownObjectException:
            pass

    def run_publish(self, event: Path, *args: str) -> int:
        from valet.cli import main

        with self.patched({"GITHUB_EVENT_NAME": "issues", "GITHUB_EVENT_PATH": str(event)}):
            return main(["publish", *args])

    # -- reading back ---------------------------------------------------------------
    def issue(self, rel: Release) -> Any:
        return self.gh().get_repo(self.publish).get_issue(rel.number)

    def labels(self, rel: Release) -> set[str]:
        return {x.name for x in self.issue(rel).labels}

    def ticked(self, rel: Release) -> dict[str, bool]:
        from valet.issue_format import parse_issue

        issue = self.issue(rel)
        return {t.id: t.checked for t in parse_issue(issue.title, issue.body).targets}

    def last_comment(self, rel: Release) -> str:
        comments = list(self.issue(rel).get_comments())
        return comments[-1].body if comments else ""

    def pypi_uploads(self, rel: Release) -> int:
        """Uploads of this release's files the index accepted (through the proxy)."""
        return sum(1 for e in self.pypi.entries()[rel.marks["pypi"]:]
                   if e.method == "POST" and e.upstream is not None and 200 <= e.upstream < 300)

    def npm_uploads(self, rel: Release) -> int:
        name = "/" + self.pkg
        return sum(1 for e in self.npm.entries()[rel.marks["npm"]:]
                   if e.method == "PUT" and e.path.split("?")[0].rstrip("/").endswith(name)
                   and e.upstream is not None and 200 <= e.upstream < 300)

    def pypi_digests(self) -> dict[str, str]:
        page = requests.get(f"{self.regs.pypi_index_url}{self.pkg}/", timeout=30)
        if page.status_code == 404:
            return {}
        return {m.group(1): m.group(2) for m in
                re.finditer(r'href="[^"]*/([^/"#]+)#sha256=([0-9a-f]{64})"', page.text)}

    def npm_facts(self, version: str) -> dict[str, Any]:
        auth = {"Authorization": f"Bearer {self.regs.npm_token}"}
        meta = requests.get(f"{self.regs.npm_url.rstrip('/')}/{self.pkg}", headers=auth,
                            timeout=30)
        if meta.status_code == 404:
            return {}
        dist = meta.json().get("versions", {}).get(version, {}).get("dist")
        if not dist:
            return {}
        data = requests.get(dist["tarball"], headers=auth, timeout=30).content
        return {"sha256": hashlib.sha256(data).hexdigest(), "integrity": dist.get("integrity")}

    def releases(self, rel: Release) -> list[Any]:
        return [r for r in self.gh().get_repo(rel.sdk).get_releases()
                if r.tag_name == rel.version]

    def check(self, rel: Release) -> list[str]:
        """Every way the release is not 'published exactly once with the approved digests'."""
        bad: list[str] = []
        wheel_and_sdist = {n: d for n, d in rel.manifest.items() if n.endswith((".whl", ".tar.gz"))}
        tarball = next(n for n in rel.manifest if n.endswith(".tgz"))
        if "pypi" in rel.targets:
            index = self.pypi_digests()
            for name, digest in wheel_and_sdist.items():
                if index.get(name) != digest:
                    bad.append(f"pypi: {name} is {index.get(name)}, approved {digest}")
            if self.pypi_uploads(rel) != len(wheel_and_sdist):
                bad.append(f"pypi: {self.pypi_uploads(rel)} uploads accepted, "
                           f"expected {len(wheel_and_sdist)}")
        if "npm" in rel.targets:
            facts = self.npm_facts(rel.version)
            local = rel.files[tarball].read_bytes()
            integrity = "sha512-" + base64.b64encode(hashlib.sha512(local).digest()).decode()
            if facts.get("sha256") != rel.manifest[tarball]:
                bad.append(f"npm: tarball is {facts.get('sha256')}, approved {rel.manifest[tarball]}")
            if facts.get("integrity") != integrity:
                bad.append(f"npm: integrity {facts.get('integrity')} differs from the local file")
            if self.npm_uploads(rel) != 1:
                bad.append(f"npm: {self.npm_uploads(rel)} publishes accepted, expected 1")
        found = self.releases(rel)
        if len(found) != 1:
            bad.append(f"github: {len(found)} releases for {rel.version}")
        for release in found:
            if "github" in rel.targets and release.draft:
                bad.append(f"github: release {release.id} is still a draft")
            names = [a.name for a in release.get_assets()]
            if len(names) != len(set(names)):
                bad.append(f"github: duplicate assets {sorted(names)}")
            stored = ["manifest.json"] if rel.store == "github-release" else []
            if sorted(set(names)) != sorted([*rel.manifest, *stored]):
                bad.append(f"github: assets {sorted(names)}")
            for asset in release.get_assets():
                want = rel.manifest.get(asset.name)
                got = str(asset.raw_data.get("digest") or "").removeprefix("sha256:")
                if want is not None and got != want:
                    bad.append(f"github: asset {asset.name} is {got}, approved {want}")
        issue = self.issue(rel)
        if issue.state != "closed":
            bad.append(f"issue #{rel.number} is {issue.state}")
        if {x.name for x in issue.labels} != {"published"}:
            bad.append(f"issue labels {sorted(x.name for x in issue.labels)}")
        if not all(self.ticked(rel).values()):
            bad.append(f"unticked: {self.ticked(rel)}")
        repo = self.gh().get_repo(rel.sdk)
        if rel.branch in {b.name for b in repo.get_branches()}:
            bad.append(f"branch {rel.branch} still exists")
        if repo.compare("main", rel.sha).status not in ("identical", "behind"):
            bad.append(f"{rel.sha[:12]} is not merged into main")
        return bad
