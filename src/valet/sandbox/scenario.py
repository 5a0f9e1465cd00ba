"""One whole release, end to end, in the sandbox: the scenario behind ``valet demo``.

World: a GitHub fake (``Sandbox``), a real pypiserver and verdaccio, an org
``acme`` with

* ``dana`` — a developer of the SDK (write on the SDK repo) who asks for the release;
* ``riley`` — a release manager: in team ``acme/release-engineers`` (the
  example publish.yml's approvers) and maintainer of the publish repo;
* ``morgan`` — a committer who is not an approver (triage on the publish repo);
* two GitHub Apps (bots): ``acme-release`` (the SDK side's App token: pushes the
  release branch, opens the issue) and ``acme-publish`` (the publish side's);
* ``acme/widget-sdk`` — the sample SDK (``sandbox/data/demo-sdk``) plus the
  example ``release.yml``;
* ``acme/publish`` — the example ``publish.yml`` and nothing else.

The example workflows run with act exactly as users copy them (with their org in
place of ``OWNER`` in the approvers team): release.yml in its three jobs —
prepare (the request App's token), build (no token: the sample SDK's own build)
and request (the token again: manifest, draft release, issue) — passing the
build's files through act's artifact server. ``OWNER/valet@v1`` is served from
this work tree and the pinned third-party actions (create-github-app-token,
checkout of the release commit, setup-python, upload-artifact,
download-artifact) from local stand-ins (``sandbox/data/standins``); the
``REQUEST_APP_PRIVATE_KEY`` secret holds a sandbox App token. Registry credentials are the publish workflow's secrets
``PYPI_TOKEN`` and ``NPM_TOKEN`` (pypiserver's one user is ``__token__``, as on
PyPI); only the registries' URLs reach the steps as plain environment.

Each phase returns a :class:`Phase` (seconds, API calls from the sandbox's
request log, facts); :meth:`Scenario.run` returns a :class:`ScenarioResult`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from valet.errors import SandboxError
from valet.sandbox.act_runner import ActResult, run_workflow, standin_actions
from valet.sandbox.registries import (
    REPO_ROOT,
    Registries,
    start_pypiserver,
    start_verdaccio,
)
from valet.sandbox.service import Sandbox

DATA = Path(__file__).resolve().parent / "data"
DEMO_SDK = DATA / "demo-sdk"
APP_TOKEN_STANDIN = DATA / "standins" / "create-github-app-token"
RELEASE_YML = REPO_ROOT / "examples" / "sdk-repo" / ".github" / "workflows" / "release.yml"
PUBLISH_YML = REPO_ROOT / "examples" / "publish-repo" / ".github" / "workflows" / "publish.yml"
# The pinned ref the example workflows use; it must match them exactly.
_APP_TOKEN_USES = re.compile(r"uses:\s*(actions/create-github-app-token@[0-9a-f]{40})")

ORG = "acme"
SDK_NAME = "widget-sdk"
PUBLISH_NAME = "publish"  # release.yml asks for a token for `<owner>/publish`
PY_PACKAGE = "acme-widget"
PY_DIST = "acme_widget"
NPM_PACKAGE = "acme-widget"
DEFAULT_VERSION = "1.0.0"

Log = Callable[[str], None]


# --------------------------------------------------------------------------- results
@dataclass
class User:
    login: str
    token: str
    role: str


@dataclass
class Phase:
    name: str
    seconds: float
    api_calls: int  # REST API + uploads requests to the GitHub fake
    git_requests: int  # git smart-HTTP requests (clone, fetch, push)
    by_user: dict[str, int] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class ScenarioResult:
    version: str
    sdk_repo: str
    publish_repo: str
    users: dict[str, User]
    phases: list[Phase] = field(default_factory=list)
    release_run: ActResult | None = None
    publish_run: ActResult | None = None
    issue: dict[str, Any] = field(default_factory=dict)
    approval: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, str] = field(default_factory=dict)  # file -> sha256 (the request)
    pypi: dict[str, str] = field(default_factory=dict)  # file -> sha256 (simple index)
    npm: dict[str, Any] = field(default_factory=dict)  # version, tarball sha256, integrity
    github_release: dict[str, Any] = field(default_factory=dict)
    merged: bool = False
    release_branch_left: bool = True

    def phase(self, name: str) -> Phase:
        for p in self.phases:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def summaries(self) -> list[tuple[str, str]]:
        """(step name, markdown) of prepare, build, request and publish, in run order."""
        out: list[tuple[str, str]] = []
        for run, workflow in ((self.release_run, RELEASE_YML), (self.publish_run, PUBLISH_YML)):
            if run is not None:
                names = step_names(workflow)
                out.extend((names.get(step, step), md) for step, md in run.summaries)
        return out

    def digest_rows(self) -> list[dict[str, str | None]]:
        """One row per manifest file: its sha256 in the request and where it was published."""
        assets = {a["name"]: a for a in self.github_release.get("assets", [])}
        rows: list[dict[str, str | None]] = []
        for name, sha in sorted(self.manifest.items()):
            asset = assets.get(name, {})
            npm = self.npm.get("sha256") if name.endswith(".tgz") else None
            rows.append({"file": name, "manifest": sha, "pypi": self.pypi.get(name),
                         "npm": npm, "github": asset.get("sha256"),
                         "github_api": asset.get("api_digest")})
        return rows

    def digest_mismatches(self) -> list[str]:
        """Every place a published file's digest differs from the request (empty: all equal)."""
        bad: list[str] = []
        for row in self.digest_rows():
            name, want = str(row["file"]), row["manifest"]
            wanted_on = ["github", "github_api"]
            if name.endswith((".whl", ".tar.gz")):
                wanted_on.append("pypi")
            if name.endswith(".tgz"):
                wanted_on.append("npm")
            bad.extend(f"{name}: {where} has {row[where] or 'nothing'}, the request {want}"
                       for where in wanted_on if row[where] != want)
        return bad


# --------------------------------------------------------------------------- helpers
def _git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False)
    if proc.returncode != 0:
        raise SandboxError(f"git {args[0]} failed in {cwd}: {proc.stderr.strip()[-400:]}")
    return proc.stdout


def _auth_header(token: str) -> str:
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return f"Authorization: Basic {basic}"


def read_tree(root: Path) -> dict[str, str | bytes]:
    """Every file under ``root`` (relative posix path -> bytes), skipping build leftovers."""
    skip = {"dist", "build", "__pycache__", "node_modules"}
    files: dict[str, str | bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        leftover = set(rel.parts) & skip or any(part.endswith(".egg-info") for part in rel.parts)
        if path.is_file() and not leftover:
            files[rel.as_posix()] = path.read_bytes()
    return files


def app_token_action_ref(workflow_text: str) -> str:
    """The pinned ``actions/create-github-app-token@<sha>`` a workflow uses."""
    found = set(_APP_TOKEN_USES.findall(workflow_text))
    if len(found) != 1:
        raise SandboxError(f"expected one pinned actions/create-github-app-token in the example "
                           f"workflows, found {sorted(found) or 'none'}")
    return found.pop()


def step_names(workflow: Path) -> dict[str, str]:
    """act's top-level step ids (the ``id:``, else the index) -> the step's ``name:``."""
    import yaml

    data = yaml.safe_load(workflow.read_text())
    names: dict[str, str] = {}
    for job in (data.get("jobs") or {}).values():
        for index, step in enumerate(job.get("steps") or []):
            label = str(step.get("name") or step.get("uses") or index)
            names[str(index)] = label
            if step.get("id"):
                names[str(step["id"])] = label
    return names


def count_requests(entries: list[dict[str, Any]]) -> tuple[int, int, dict[str, int]]:
    """(API calls, git requests, API calls per user) of a slice of the request log."""
    api = git = 0
    users: Counter[str] = Counter()
    for entry in entries:
        # Newer sandboxes say what each request was (``kind``); older ones log the full path.
        path = str(entry.get("full_path") or entry.get("path", ""))
        kind = entry.get("kind")
        if kind in ("api", "uploads") or (kind is None
                                          and path.startswith(("/api/v3", "/api/uploads"))):
            api += 1
            users[str(entry.get("user") or "-anonymous")] += 1
        elif kind == "git" or (kind is None and re.search(
                r"/(info/refs|git-upload-pack|git-receive-pack)$", path)):
            git += 1
    return api, git, dict(users)


def simple_index_digests(index_url: str, project: str) -> dict[str, str]:
    """file -> sha256 from a PEP 503 page (the ``#sha256=`` fragments)."""
    resp = requests.get(f"{index_url.rstrip('/')}/{project}/", timeout=30)
    if resp.status_code == 404:
        return {}
    resp.raise_for_status()
    return {m.group(1): m.group(2) for m in
            re.finditer(r'href="[^"]*/([^/"#]+)#sha256=([0-9a-f]{64})"', resp.text)}


def npm_version_facts(registry: str, package: str, version: str, token: str) -> dict[str, Any]:
    """The packument's facts for ``version`` and the sha256 of the tarball it serves."""
    auth = {"Authorization": f"Bearer {token}"}
    resp = requests.get(f"{registry.rstrip('/')}/{package}", headers=auth, timeout=30)
    if resp.status_code == 404:
        return {}
    resp.raise_for_status()
    meta = resp.json()
    dist = meta.get("versions", {}).get(version, {}).get("dist")
    if not dist:
        return {"dist_tags": meta.get("dist-tags", {})}
    tarball = requests.get(dist["tarball"], headers=auth, timeout=30)
    tarball.raise_for_status()
    return {"version": version, "tarball": dist["tarball"], "integrity": dist.get("integrity"),
            "sha256": hashlib.sha256(tarball.content).hexdigest(),
            "dist_tags": meta.get("dist-tags", {})}


# --------------------------------------------------------------------------- the scenario
class Scenario:
    """Start the world, run the release, collect the facts, stop everything.

    ``with Scenario(work_dir) as sc: result = sc.run()``; ``stop()`` is idempotent
    and safe to call from a ``finally`` after an interrupt.
    """

    def __init__(self, work_dir: Path, *, version: str = DEFAULT_VERSION,
                 state_dir: Path | None = None, log: Log | None = None,
                 act_timeout: float = 420) -> None:
        self.work = Path(work_dir)
        self.version = version
        self.state_dir = Path(state_dir) if state_dir else None
        self.log: Log = log or (lambda _msg: None)
        self.act_timeout = act_timeout
        self.sandbox: Sandbox | None = None
        self.registries: Registries | None = None
        self.sdk = f"{ORG}/{SDK_NAME}"
        self.publish = f"{ORG}/{PUBLISH_NAME}"
        self.users: dict[str, User] = {}
        self.result = ScenarioResult(version, self.sdk, self.publish, self.users)
        self._log_mark = 0

    # -- lifecycle ----------------------------------------------------------------
    def __enter__(self) -> Scenario:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        regs, self.registries = self.registries, None
        sb, self.sandbox = self.sandbox, None
        try:
            if regs is not None:
                regs.stop()
        finally:
            if sb is not None:
                sb.stop()

    def pids(self) -> list[int]:
        return self.registries.pids() if self.registries else []

    @contextmanager
    def _phase(self, name: str) -> Iterator[Phase]:
        phase = Phase(name, 0.0, 0, 0)
        started = time.monotonic()
        try:
            yield phase
        finally:
            phase.seconds = time.monotonic() - started
            if self.sandbox is not None:
                entries = self.sandbox.admin.request_log()
                phase.api_calls, phase.git_requests, phase.by_user = count_requests(
                    entries[self._log_mark:])
                self._log_mark = len(entries)
            self.result.phases.append(phase)

    def run(self) -> ScenarioResult:
        self.start_world()
        self.seed()
        self.release()
        self.ci_green()
        self.read_request()
        self.approve()
        self.run_publish()
        self.collect()
        return self.result

    # -- phases -------------------------------------------------------------------
    def start_world(self) -> Phase:
        with self._phase("start") as phase:
            self.work.mkdir(parents=True, exist_ok=True)
            root = self.state_dir or self.work / "state"
            self.sandbox = Sandbox(state_dir=root / "github").start()
            regs_dir = (root / "registries").resolve()
            regs_dir.mkdir(parents=True, exist_ok=True)
            pypi, pypi_user, pypi_password = start_pypiserver(regs_dir)  # user __token__
            try:
                npm, npm_token = start_verdaccio(regs_dir)
            except BaseException:
                pypi.stop()
                raise
            self.registries = Registries(regs_dir, pypi.url, pypi_user, pypi_password, npm.url,
                                         "valet-npm", npm_token, [pypi, npm])
            phase.facts = {"github": self.sandbox.server_url, "pypi": pypi.url, "npm": npm.url}
        return phase

    def _publish_policy(self) -> str:
        """valet-publish.yml of the publish repo: it releases the sample SDK's packages, on
        the sandbox's own registries (loopback hosts beyond the official ones)."""
        from valet.targets.base import host_of

        regs = self.registries
        assert regs is not None
        return (f"# What {self.publish} releases (docs/publish-policy.md).\n"
                f"repos:\n  {self.sdk}:\n    targets: [pypi, npm, github]\n"
                f"    packages:\n      pypi: [{PY_PACKAGE}]\n      npm: [{NPM_PACKAGE}]\n"
                f"hosts:\n  pypi: [\"{host_of(regs.pypi_url)}\"]\n"
                f"  npm: [\"{host_of(regs.npm_url)}\"]\n")

    def seed(self) -> Phase:
        sb = self._sb()
        admin = sb.admin
        with self._phase("seed") as phase:
            admin.create_org(ORG)
            for login, role in (("dana", "developer (requests the release)"),
                                ("riley", "release manager (approver)"),
                                ("morgan", "committer, not an approver")):
                admin.create_user(login)
                self.users[login] = User(login, admin.create_token(login), role)
            release_yml = RELEASE_YML.read_text()
            # What a user does when copying publish.yml: name their own approvers team.
            # and the slug of their request App.
            publish_yml = (PUBLISH_YML.read_text()
                           .replace("OWNER/release-engineers", f"{ORG}/release-engineers")
                           .replace("OWNER-valet-request", "acme-release"))
            files = read_tree(DEMO_SDK)
            files[".github/workflows/release.yml"] = release_yml
            sdk_data = admin.create_repo(self.sdk, files=files,
                                         description="the sample SDK of valet demo")
            publish_data = admin.create_repo(
                self.publish, files={"README.md": "# publish\n\nReleases of acme's SDKs.\n",
                                     "valet-publish.yml": self._publish_policy(),
                                     ".github/workflows/publish.yml": publish_yml},
                description="holds the registry secrets; publishes approved releases")
            admin.set_permission(self.sdk, "dana", "write")
            admin.set_permission(self.sdk, "morgan", "write")
            admin.set_permission(self.sdk, "riley", "maintain")
            admin.set_permission(self.publish, "riley", "maintain")
            for login in ("dana", "morgan"):
                admin.set_permission(self.publish, login, "triage")
            admin.create_team(ORG, "release-engineers", ["riley"])
            release_app = admin.create_app("acme-release", repos=[self.sdk, self.publish],
                                           permission="write")
            publish_app = admin.create_app("acme-publish", repos=[self.sdk, self.publish],
                                           permission="write")
            # publish reads the SDK's config only from a merge target whose rules require
            # reviewed pull requests; the publish App is on its bypass list and merges
            admin.protect_branch(self.sdk, sdk_data["default_branch"], bypass=["acme-publish"])
            self.users["acme-release[bot]"] = User("acme-release[bot]", release_app,
                                                   "GitHub App of the SDK side")
            self.users["acme-publish[bot]"] = User("acme-publish[bot]", publish_app,
                                                   "GitHub App of the publish side")
            # valet's six labels, made before the first release as docs/labels.md asks
            from valet.labels import Label

            labels = self._gh(self.users["riley"].token).get_repo(self.publish)
            for label in Label:
                labels.create_label(str(label), "ededed")
            self._repo_data = {self.sdk: sdk_data, self.publish: publish_data}
            self._action_ref = app_token_action_ref(release_yml + publish_yml)
            self.sdk_dir = self._clone(self.sdk, self.users["dana"].token)
            self.publish_dir = self._clone(self.publish, self.users["riley"].token)
            phase.facts = {"users": {u.login: u.role for u in self.users.values()},
                           "repos": [self.sdk, self.publish]}
        return phase

    def release(self) -> Phase:
        from valet.sandbox.webhooks import dispatch_event

        dana = self.users["dana"]
        with self._phase("release") as phase:
            event = dispatch_event({"version": self.version}, repo=self._repo_data[self.sdk],
                                   sender=self._simple_user(dana.login),
                                   workflow=".github/workflows/release.yml")
            run = self._act(self.sdk_dir, ".github/workflows/release.yml", "workflow_dispatch",
                            event, secrets={"REQUEST_APP_PRIVATE_KEY":
                                            self.users["acme-release[bot]"].token}, name="release")
            self.result.release_run = run
            if not run.ok:
                raise SandboxError(f"the SDK release workflow failed ({run.describe()})",
                                   hint=f"full log: {run.work_dir}/act.log")
            phase.facts = {"act_seconds": run.duration, "jobs": dict(run.jobs),
                           "outputs": dict(run.outputs.get("prepare", {})),
                           "build": dict(run.outputs.get("build", {})),
                           "request": dict(run.outputs.get("request", {}))}
        return phase

    def ci_green(self) -> Phase:
        with self._phase("ci") as phase:
            sha = self.result.release_run.output("prepare", "sha") if self.result.release_run \
                else None
            if not sha:
                raise SandboxError("the release workflow reported no release commit sha")
            self._sb().admin.set_ci(self.sdk, sha, check_runs=[
                {"name": "tests", "status": "completed", "conclusion": "success"},
                {"name": "lint", "status": "completed", "conclusion": "success"}])
            phase.facts = {"sha": sha}
        return phase

    def read_request(self) -> Phase:
        from valet.issue_format import parse_issue

        title = f"publish: {self.sdk}@{self.version}"
        with self._phase("request") as phase:
            repo = self._gh(self.users["riley"].token).get_repo(self.publish)
            found = [i for i in repo.get_issues(state="open") if i.title == title]
            if len(found) != 1:
                raise SandboxError(f"expected one open issue {title!r} in {self.publish}, "
                                   f"found {len(found)}")
            issue = found[0]
            req = parse_issue(issue.title, issue.body)
            self.result.manifest = {a.name: a.sha256 for a in req.artifacts}
            self.result.issue = {"number": issue.number, "title": issue.title,
                                 "body": issue.body, "url": issue.html_url,
                                 "requested_by": req.requested_by, "sha": req.sha,
                                 "targets": {t.id: t.checked for t in req.targets}}
            phase.facts = dict(self.result.issue)
        return phase

    def approve(self) -> Phase:
        riley = self.users["riley"]
        with self._phase("approve") as phase:
            repo = self._gh(riley.token).get_repo(self.publish)
            issue = repo.get_issue(self.result.issue["number"])
            issue.add_to_labels("accepted")
            label = repo.get_label("accepted")
            self._labeled = {"repo": repo.raw_data, "issue": repo.get_issue(issue.number).raw_data,
                             "label": label.raw_data}
            self.result.approval = {"by": riley.login, "label": "accepted",
                                    "labels": [x["name"] for x in self._labeled["issue"]["labels"]]}
            phase.facts = dict(self.result.approval)
        return phase

    def run_publish(self) -> Phase:
        from valet.sandbox.webhooks import issue_event

        regs = self._regs()
        with self._phase("publish") as phase:
            event = issue_event("labeled", repo=self._labeled["repo"],
                                issue=self._labeled["issue"],
                                sender=self._simple_user(self.users["riley"].login),
                                label=self._labeled["label"])
            run = self._act(self.publish_dir, ".github/workflows/publish.yml", "issues", event,
                            secrets={"PUBLISH_APP_PRIVATE_KEY": self.users["acme-publish[bot]"].token,
                                     "PYPI_TOKEN": regs.pypi_password,
                                     "NPM_TOKEN": regs.npm_token},
                            env={"TWINE_REPOSITORY_URL": regs.pypi_url,
                                 "PYPI_INDEX_URL": regs.pypi_index_url,
                                 "NPM_REGISTRY": regs.npm_url},
                            name="publish")
            self.result.publish_run = run
            phase.facts = {"act_seconds": run.duration, "ok": run.ok, "jobs": dict(run.jobs)}
            if not run.ok:
                raise SandboxError(f"the publish workflow failed ({run.describe()})",
                                   hint=f"full log: {run.work_dir}/act.log")
        return phase

    def collect(self) -> Phase:
        """Read back what shipped: the issue, the release, the merge, both registries."""
        from valet.issue_format import parse_issue

        regs = self._regs()
        res = self.result
        with self._phase("verify") as phase:
            gh = self._gh(self.users["riley"].token)
            issue = gh.get_repo(self.publish).get_issue(res.issue["number"])
            comments = [c.body for c in issue.get_comments()]
            res.issue.update({
                "state": issue.state, "labels": sorted(x.name for x in issue.labels),
                "closed_targets": {t.id: t.checked
                                   for t in parse_issue(issue.title, issue.body).targets},
                "last_comment": comments[-1] if comments else ""})
            sdk = gh.get_repo(self.sdk)
            release = sdk.get_release(self.version)
            assets = []
            for asset in release.get_assets():
                data = requests.get(asset.browser_download_url, timeout=60).content
                assets.append({"name": asset.name, "size": asset.size,
                               "api_digest": str(asset.raw_data.get("digest") or "")
                               .removeprefix("sha256:") or None,
                               "sha256": hashlib.sha256(data).hexdigest(),
                               "url": asset.browser_download_url})
            res.github_release = {"tag": release.tag_name, "draft": release.draft,
                                  "prerelease": release.prerelease, "url": release.html_url,
                                  "assets": sorted(assets, key=lambda a: a["name"])}
            sha = res.issue.get("sha")
            compare = sdk.compare(sdk.default_branch, sha) if sha else None
            res.merged = compare is not None and compare.status in ("identical", "behind")
            branches = {b.name for b in sdk.get_branches()}
            res.release_branch_left = f"release/{self.version}" in branches
            res.pypi = simple_index_digests(regs.pypi_index_url, PY_PACKAGE)
            res.npm = npm_version_facts(regs.npm_url, NPM_PACKAGE, self.version, regs.npm_token)
            phase.facts = {"issue_state": issue.state, "merged": res.merged,
                           "mismatches": res.digest_mismatches()}
        return phase

    # -- proofs a person can run (the demo shows them; the test runs them too) --------
    def pip_install(self, venv_dir: Path | None = None) -> tuple[bool, str]:
        """``pip install --index-url <sandbox simple> --no-deps PKG==V`` into a throwaway venv,
        then import it there and print its version. (ok, transcript)."""
        regs = self._regs()
        target = venv_dir or Path(tempfile.mkdtemp(prefix="demo-venv-", dir=self.work))
        venv.EnvBuilder(with_pip=False).create(target)
        py = target / "bin" / "python"
        # pip from this interpreter installs into the throwaway venv (--python).
        argv = [sys.executable, "-m", "pip", "--python", str(py), "install", "--quiet",
                "--disable-pip-version-check", "--no-cache-dir", "--no-deps",
                "--index-url", regs.pypi_index_url, f"{PY_PACKAGE}=={self.version}"]
        show = " ".join(["pip", "install", "--index-url", regs.pypi_index_url, "--no-deps",
                         f"{PY_PACKAGE}=={self.version}"])
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False,
                              env=_plain_env(target))
        if proc.returncode != 0:
            return False, f"$ {show}\n{proc.stdout}{proc.stderr}"
        code = ("import acme_widget as w; assert w.Widget('a') == w.Widget('a'); "
                "print(w.__version__)")
        check = subprocess.run([str(py), "-c", code], capture_output=True, text=True,
                               timeout=60, check=False, env=_plain_env(target))
        got = check.stdout.strip()
        ok = check.returncode == 0 and got == self.version
        return ok, (f"$ {show}\n$ python -c \"import acme_widget; print(acme_widget.__version__)\""
                    f"\n{got or check.stderr.strip()}")

    def npm_view(self) -> tuple[bool, str]:
        """``npm view PKG@V version dist.shasum --registry <verdaccio>`` with its own config."""
        regs = self._regs()
        npm = shutil.which("npm")
        if npm is None:
            return False, "npm is not on PATH"
        home = Path(tempfile.mkdtemp(prefix="demo-npm-", dir=self.work))
        (home / ".npmrc").write_text(regs.npmrc_text())
        argv = [npm, "view", f"{NPM_PACKAGE}@{self.version}", "version", "dist.tarball",
                "--registry", regs.npm_url, "--userconfig", str(home / ".npmrc"),
                "--cache", str(home / "cache"), "--json"]
        show = f"$ npm view {NPM_PACKAGE}@{self.version} --registry {regs.npm_url}"
        env = {**_plain_env(None), "HOME": str(home), "npm_config_update_notifier": "false"}
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False,
                              env=env)
        out = proc.stdout.strip()
        ok = proc.returncode == 0 and f'"{self.version}"' in out
        return ok, f"{show}\n{out or proc.stderr.strip()}"

    # -- internals ----------------------------------------------------------------------
    def _sb(self) -> Sandbox:
        if self.sandbox is None:
            raise SandboxError("the sandbox is not running")
        return self.sandbox

    def _regs(self) -> Registries:
        if self.registries is None:
            raise SandboxError("the registries are not running")
        return self.registries

    def _gh(self, token: str) -> Any:
        import github

        return github.Github(auth=github.Auth.Token(token), base_url=self._sb().api_url,
                             timeout=30, retry=None, per_page=100,
                             seconds_between_requests=None, seconds_between_writes=None)

    def _simple_user(self, login: str) -> dict[str, Any]:
        return self._sb().admin.create_user(login)  # idempotent: returns its simple-user JSON

    def _clone(self, full_name: str, token: str) -> Path:
        dest = self.work / "checkouts" / full_name.replace("/", "--")
        if dest.exists():
            shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        url = self._sb().git_url(full_name)
        _git(self.work, "-c", f"http.extraHeader={_auth_header(token)}", "clone", "-q", url,
             str(dest))
        return dest

    def _act(self, repo_dir: Path, workflow: str, event_name: str, event: dict[str, Any], *,
             secrets: dict[str, str], name: str, env: dict[str, str] | None = None) -> ActResult:
        sb = self._sb()
        self.log(f"act {event_name} {workflow} ...")
        standins = standin_actions(RELEASE_YML.read_text(), PUBLISH_YML.read_text())
        return run_workflow(
            repo_dir, workflow, event_name, event,
            env={**{k: v for k, v in sb.env().items() if k.startswith("GITHUB_")},
                 **(env or {})},
            secrets=secrets, variables={"REQUEST_APP_ID": "1", "PUBLISH_APP_ID": "2"},
            local_actions={**standins, "OWNER/valet@v1": REPO_ROOT,
                           self._action_ref: APP_TOKEN_STANDIN},
            work_dir=self.work / f"act-{name}", timeout=self.act_timeout)


def _plain_env(venv_dir: Path | None) -> dict[str, str]:
    """A child environment without our venv, proxies or pip configuration."""
    path = os.environ.get("PATH", "/usr/bin:/bin")
    if venv_dir is not None:
        path = f"{venv_dir / 'bin'}:{path}"
    env = {"PATH": path, "HOME": os.environ.get("HOME") or tempfile.gettempdir(), "LANG": "C.UTF-8",
           "PIP_CONFIG_FILE": os.devnull, "NO_PROXY": "127.0.0.1,localhost"}
    return env
