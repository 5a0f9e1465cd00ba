"""The end-to-end world of the act tests: one org, one SDK repo, one publish repo.

Shared by tests/act/test_publish_e2e.py and tests/act/test_adversarial_e2e.py.
``world`` is a module-scoped fixture: each test module that imports it gets its
own org, repos, users and Apps in the session's sandbox, against the session's
registries; the tests of one module share it and each releases its own version.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from valet.sandbox.act_runner import app_token_stub

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_TOKEN_ACTION = "actions/create-github-app-token@d72941d797fd3113feb6b93fd0dec494b13a2547"


def build_py_for(pkg: str) -> str:
    """A build.py that writes a real (tiny) wheel, sdist and npm tarball of ``pkg`` at
    VALET_VERSION, with the standard library only: the SDK side needs no network here."""
    dist = pkg.replace("-", "_")
    return textwrap.dedent(f'''\
    import io, json, os, tarfile, zipfile
    v = os.environ["VALET_VERSION"]
    os.makedirs("dist", exist_ok=True)
    meta = "Metadata-Version: 2.1\\nName: {pkg}\\nVersion: " + v + "\\nSummary: demo\\n"
    info = "{dist}-" + v + ".dist-info"
    with zipfile.ZipFile("dist/{dist}-" + v + "-py3-none-any.whl", "w") as whl:
        whl.writestr("{dist}/__init__.py", "VERSION = %r\\n" % v)
        whl.writestr(info + "/METADATA", meta)
        whl.writestr(info + "/WHEEL", "Wheel-Version: 1.0\\nGenerator: e2e\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
        whl.writestr(info + "/RECORD", "")
    def tgz(path, files):
        with tarfile.open(path, "w:gz") as tar:
            for name, text in files.items():
                data = text.encode()
                ti = tarfile.TarInfo(name); ti.size = len(data); ti.mtime = 0
                tar.addfile(ti, io.BytesIO(data))
    tgz("dist/{dist}-" + v + ".tar.gz", {{"{dist}-" + v + "/PKG-INFO": meta,
        "{dist}-" + v + "/setup.py": "from setuptools import setup; setup()\\n"}})
    tgz("dist/{pkg}-" + v + ".tgz", {{"package/package.json": json.dumps(
        {{"name": "{pkg}", "version": v, "main": "index.js", "license": "MIT"}}),
        "package/index.js": "module.exports = 1;\\n"}})
''')

VALET_YML = """\
build: python build.py
artifacts: [dist/*]
targets:
  - name: pypi
  - name: npm
  - name: github
"""



def world_policy(sdk: str, org: str, pkg: str) -> str:
    """The publish repo's valet-publish.yml of a world: it serves the world's SDK repo with
    every target kind, the world's package (and the org's npm scope) and the repositories
    of its org, on the loopback registries the session runs (their ports differ per
    session, and a trusted-publishing front sits on a port of its own)."""
    kinds = ", ".join(["github", "pypi", "npm", "crates", "docker", "gcs", "aws-lambda-layer",
                       "registry", "gh-pages", "commit-on-git-repository", "brew", "upm"])
    loopback = '["127.0.0.1:*", "localhost:*"]'
    return textwrap.dedent(f"""\
        repos:
          {sdk}:
            targets: [{kinds}]
            packages:
              pypi: [{pkg}]
              npm: [{pkg}, "@{org}/*"]
              crates: [{pkg}]
            repositories:
              registry: ["{org}/*"]
              gh-pages: ["{org}/*"]
              commit-on-git-repository: ["{org}/*"]
              brew: ["{org}/*"]
              upm: ["{org}/*"]
        hosts:
          pypi: {loopback}
          npm: {loopback}
          crates: {loopback}
        """)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


@dataclass
class Runs:
    """A sweep and the runs it started, read as one result (act results, in order)."""

    results: list[Any]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def stdout(self) -> str:
        return "\n".join(r.stdout for r in self.results)

    def describe(self) -> str:
        return "\n\n".join(r.describe() for r in self.results)


@dataclass
class World:
    """``request_app`` is the SDK side's App (what release.yml mints: any SDK committer
    could act as it), ``publish_app`` the publish side's (its key only in `production`);
    each is (slug, token). ``app_token`` is the publish App's token (reads in tests).
    ``pkg`` is the package the SDK builds (``dist``, its wheel/sdist name): a name of
    this world's own, because pypiserver and verdaccio are the session's and every
    module's world uploads to them."""

    sb: Any
    regs: Any
    org: str
    sdk: str
    publish: str
    app_token: str
    request_app: tuple[str, str]
    publish_app: tuple[str, str]
    approver: tuple[str, str]
    requester: tuple[str, str]
    mallory: tuple[str, str]
    bot: tuple[str, str]
    sdk_dir: Path
    publish_dir: Path
    stub_dir: Path
    work: Path
    pkg: str
    issues: dict[str, int] = field(default_factory=dict)

    @property
    def dist(self) -> str:
        return self.pkg.replace("-", "_")

    # -- GitHub ---------------------------------------------------------------
    def gh(self, token: str | None = None) -> Any:
        import github

        return github.Github(auth=github.Auth.Token(token or self.app_token),
                             base_url=self.sb.api_url, retry=None, per_page=100)

    def release_of(self, version: str) -> Any:
        # Drafts are invisible to GET /releases/tags/{tag} on GitHub (and in the
        # sandbox): list the releases, as the store and the github target do.
        for rel in self.gh().get_repo(self.sdk).get_releases():
            if rel.tag_name == version:
                return rel
        raise AssertionError(f"no release for {version}")

    def issue(self, version: str) -> Any:
        return self.gh().get_repo(self.publish).get_issue(self.issues[version])

    def labels(self, version: str) -> set[str]:
        return {x.name for x in self.issue(version).labels}

    def comments(self, version: str) -> list[str]:
        return [c.body for c in self.issue(version).get_comments()]

    def manifest(self, version: str) -> dict[str, str]:
        from valet.issue_format import parse_issue

        issue = self.issue(version)
        return {a.name: a.sha256 for a in parse_issue(issue.title, issue.body).artifacts}

    def checked(self, version: str) -> dict[str, bool]:
        from valet.issue_format import parse_issue

        issue = self.issue(version)
        return {t.id: t.checked for t in parse_issue(issue.title, issue.body).targets}

    # -- act ------------------------------------------------------------------
    def act(self, repo_dir: Path, workflow: str, event_name: str, event: dict[str, Any], *,
            secrets: dict[str, str], env: dict[str, str] | None = None,
            id_token: dict[str, str] | None = None, work_dir: Path | None = None) -> Any:
        from valet.sandbox.act_runner import run_workflow, standin_actions

        standins = standin_actions((repo_dir / workflow).read_text())
        return run_workflow(
            repo_dir, workflow, event_name, event,
            env={**self.sb.env(), **(env or {})}, secrets=secrets, id_token=id_token,
            variables={"REQUEST_APP_ID": "1", "PUBLISH_APP_ID": "2"},
            local_actions={**standins, "OWNER/valet@v1": REPO_ROOT,
                           APP_TOKEN_ACTION: self.stub_dir},
            work_dir=work_dir or self.work / f"act-{uuid.uuid4().hex[:8]}", timeout=420)

    def release_run(self, version: str, who: tuple[str, str] | None = None) -> Any:
        """release.yml (prepare, build, request) as ``who`` (default: the requester);
        the ActResult, ok or not."""
        sender = (who or self.requester)[0]
        event = {"inputs": {"version": version}, "sender": {"login": sender},
                 "repository": {"full_name": self.sdk, "name": self.sdk.split("/")[1],
                                "owner": {"login": self.org}}}
        return self.act(self.sdk_dir, ".github/workflows/release.yml", "workflow_dispatch",
                        event, secrets={"REQUEST_APP_PRIVATE_KEY": self.request_app[1]})

    def release(self, version: str, who: tuple[str, str] | None = None) -> Any:
        """release.yml: prepare, build, request, as ``who`` (default: the requester);
        records the one open issue."""
        result = self.release_run(version, who)
        assert result.ok, result.describe()
        title = f"publish: {self.sdk}@{version}"
        (issue,) = [i for i in self.gh().get_repo(self.publish).get_issues(state="open")
                    if i.title == title]
        self.issues[version] = issue.number
        return result

    def set_ci(self, version: str, status: str, conclusion: str | None) -> None:
        from valet.issue_format import parse_issue

        issue = self.issue(version)
        sha = parse_issue(issue.title, issue.body).sha
        run = {"name": "tests", "status": status}
        if conclusion:
            run["conclusion"] = conclusion
        self.sb.admin.set_ci(self.sdk, sha, check_runs=[run])

    def publish_env(self) -> dict[str, str]:
        return {"TWINE_REPOSITORY_URL": self.regs.pypi_url,
                "PYPI_INDEX_URL": self.regs.pypi_index_url,
                "TWINE_USERNAME": self.regs.pypi_user,
                "TWINE_PASSWORD": self.regs.pypi_password,
                "NPM_REGISTRY": self.regs.npm_url}

    def label(self, version: str, who: tuple[str, str], *, npm_token: str | None = None,
              kind: str = "User", **publish: Any) -> Any:
        """Add `accepted` as ``who`` and run publish.yml on that labeled event."""
        event = self.labeled_event(version, who, kind=kind)
        return self.run_publish("issues", event, npm_token=npm_token, **publish)

    def labeled_event(self, version: str, who: tuple[str, str], *, label: str = "accepted",
                      kind: str = "User") -> dict[str, Any]:
        """Add ``label`` as ``who``; the `issues`/`labeled` payload GitHub would deliver
        (keep it to play a re-run of that run later: GitHub re-delivers the same one)."""
        from valet.sandbox.webhooks import issue_event

        login, token = who
        repo = self.gh(token).get_repo(self.publish)
        issue = repo.get_issue(self.issues[version])
        issue.add_to_labels(label)
        found = repo.get_label(label)
        fresh = self.gh().get_repo(self.publish).get_issue(issue.number)
        sender = {"login": login, "type": kind, "id": 1}
        return issue_event("labeled", repo=self.gh().get_repo(self.publish).raw_data,
                           issue=fresh.raw_data, sender=sender, label=found.raw_data)

    def sweep(self, workflow: str = ".github/workflows/publish.yml") -> Any:
        """publish.yml on its schedule, then every run it started, as GitHub starts them: the
        sweep looks at the requests waiting in ci-pending and hands each whose CI finished
        to its own run (workflow_dispatch with the issue number), which re-checks it."""
        from valet.sandbox.webhooks import dispatch_event, schedule_event

        before = set(self._dispatched(workflow))
        results = [self.run_publish("schedule", schedule_event(), workflow=workflow)]
        repo = self.gh().get_repo(self.publish).raw_data
        for run_id, inputs in self._dispatched(workflow).items():
            if run_id in before:
                continue
            results.append(self.run_publish(
                "workflow_dispatch", dispatch_event(inputs, repo=repo, sender={
                    "login": "github-actions[bot]", "type": "Bot", "id": 41898282},
                    workflow=workflow), workflow=workflow))
        return Runs(results)

    def _dispatched(self, workflow: str) -> dict[str, dict[str, str]]:
        """run id -> inputs of the workflow_dispatch runs a sweep started (a run the harness
        records itself has no inputs)."""
        rec = self.sb.admin.state()["repos"][self.publish.lower()]
        return {rid: run["inputs"] for rid, run in (rec.get("runs") or {}).items()
                if run.get("event") == "workflow_dispatch" and run.get("path") == workflow
                and isinstance(run.get("inputs"), dict)}

    def run_publish(self, event_name: str, event: dict[str, Any], *,
                    npm_token: str | None = None, secrets: dict[str, str] | None = None,
                    env: dict[str, str] | None = None,
                    id_token: dict[str, str] | None = None,
                    workflow: str = ".github/workflows/publish.yml") -> Any:
        """publish.yml; by default with the publish App's key and the registry secrets
        (``secrets``/``env`` replace them), and ``id_token`` for a job granted
        id-token: write."""
        if secrets is None:
            secrets = {"PUBLISH_APP_PRIVATE_KEY": self.publish_app[1],
                       "NPM_TOKEN": npm_token or self.regs.npm_token}
        return self.act(self.publish_dir, workflow, event_name, event,
                        secrets=secrets, env=self.publish_env() if env is None else env,
                        id_token=id_token)

    # -- registries -----------------------------------------------------------
    def pypi_digests(self) -> dict[str, str]:
        page = requests.get(f"{self.regs.pypi_index_url}{self.pkg}/", timeout=30)
        if page.status_code == 404:
            return {}
        return {m.group(1): m.group(2) for m in
                re.finditer(r'href="[^"]*/([^/"#]+)#sha256=([0-9a-f]{64})"', page.text)}

    def npm_tarball_sha256(self, version: str) -> str | None:
        meta = requests.get(f"{self.regs.npm_url.rstrip('/')}/{self.pkg}", timeout=30,
                            headers={"Authorization": f"Bearer {self.regs.npm_token}"})
        if meta.status_code == 404:
            return None
        dist = meta.json().get("versions", {}).get(version, {}).get("dist")
        if not dist:
            return None
        data = requests.get(dist["tarball"], timeout=30,
                            headers={"Authorization": f"Bearer {self.regs.npm_token}"}).content
        return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module", name="world")
def world_fixture(sandbox: Any, registries: Any, tmp_path_factory: pytest.TempPathFactory,
                  request: pytest.FixtureRequest) -> Iterator[World]:
    """A test module may set ``WORLD_SDK_FILES`` (path -> text, or None to leave a file
    out) to add, replace or drop files of the SDK repo (its build, more workflows)."""
    yield build_world(sandbox, registries, tmp_path_factory.mktemp("publish-e2e"),
                      sdk_files=getattr(request.module, "WORLD_SDK_FILES", None))


def build_world(sandbox: Any, registries: Any, work: Path, *, valet_yml: str = VALET_YML,
                build_py: str | None = None, pkg: str | None = None, org: str | None = None,
                app_repos: tuple[str, ...] = (),
                sdk_files: dict[str, str | None] | None = None) -> World:
    """The world: ``valet_yml`` and ``build_py`` in the SDK repo (``sdk_files`` adds,
    replaces or, with None, leaves out files); the App is installed on the SDK repo,
    the publish repo and ``app_repos`` (other repositories of ``org``). ``pkg`` (by
    default one named after the org) is what the default build writes; a custom
    ``build_py`` names its own and passes it here."""
    org = org or f"acme-{uuid.uuid4().hex[:6]}"
    pkg = pkg or f"valet-e2e-{org}"
    admin = sandbox.admin
    sdk, publish = f"{org}/sdk", f"{org}/publish"
    users = {}
    for role in ("approver", "requester", "mallory"):
        login = f"{role}-{uuid.uuid4().hex[:4]}"
        admin.create_user(login)
        users[role] = (login, admin.create_token(login))
    release_yml = (REPO_ROOT / "examples/sdk-repo/.github/workflows/release.yml").read_text()
    publish_yml = (REPO_ROOT / "examples/publish-repo/.github/workflows/publish.yml").read_text()
    request_slug, publish_slug = f"request-{org}", f"publish-{org}"
    publish_yml = (publish_yml.replace("OWNER/release-engineers", f"{org}/release-engineers")
                   .replace("OWNER-valet-request", request_slug))
    files: dict[str, str | None] = {".valet.yml": valet_yml,
                                    "build.py": build_py_for(pkg) if build_py is None else build_py,
                                    ".gitignore": "dist/\n",
                                    ".github/workflows/release.yml": release_yml}
    files.update(sdk_files or {})
    admin.create_repo(sdk, files={k: v for k, v in files.items() if v is not None})
    admin.create_repo(publish, files={"README.md": "publish",
                                      "valet-publish.yml": world_policy(sdk, org, pkg),
                                      ".github/workflows/publish.yml": publish_yml})
    # Two Apps, as the README sets them up: the request App writes the SDK repo and
    # opens issues; the publish App does everything publish does.
    request_token = admin.create_app(request_slug, repos=[sdk], permission="write")
    admin.set_permission(publish, f"{request_slug}[bot]", "triage")  # issues: write
    app_token = admin.create_app(publish_slug, repos=[sdk, publish, *app_repos],
                                 permission="admin")
    # The merge target requires reviewed pull requests, as publish requires (its config
    # decides the targets); the publish App is on the ruleset's bypass list and merges.
    admin.protect_branch(sdk, "main", bypass=[publish_slug])
    admin.create_team(org, "release-engineers", [users["approver"][0]])
    admin.set_permission(sdk, users["requester"][0], "write")
    for role in ("requester", "mallory"):
        admin.set_permission(publish, users[role][0], "triage")
    admin.set_permission(publish, users["approver"][0], "maintain")
    bot_token = admin.create_app(f"helper-{org}", repos=[publish], permission="maintain")
    bot = (f"helper-{org}[bot]", bot_token)
    dirs = {}
    for name in ("sdk", "publish"):
        dest = work / name
        git(work, "clone", "-q", sandbox.git_url(f"{org}/{name}", app_token), str(dest))
        git(dest, "remote", "set-url", "origin", sandbox.git_url(f"{org}/{name}"))
        dirs[name] = dest
    stub = app_token_stub(work / "stub-app-token")
    return World(sandbox, registries, org, sdk, publish, app_token, (request_slug, request_token),
                 (publish_slug, app_token), users["approver"], users["requester"],
                 users["mallory"], bot, dirs["sdk"], dirs["publish"], stub, work, pkg)
