"""The prepare phase: compute a plan, then apply it.

`compute_plan` only reads: the config, the working tree, local refs and the
remote's refs (`git ls-remote`). It never fetches in a dry run, never refreshes
the index (`--no-optional-locks`), and holds the bumped files and the
changelog in memory, so `valet prepare --dry-run` leaves the repository
byte-identical.

`apply_plan` runs no project code. In the release workflow it holds the
request App's token, so the build and a custom bump command run in jobs of
their own that hold none (`valet build`, `valet bump`): the bump job's changed
files come back through `bumped`, checked against the files the config names,
and the build starts from the pushed release commit. Order, chosen so a
failure leaves nothing half-done on the remote: the request is rendered first
and refused if it cannot fit one issue → release branch from the merge target
→ bumped files and changelog → one commit `release: <version>` → push. A
re-run after a later failure finds its own release branch (tip
`release: <version>` on top of the merge target, no tag yet) and resumes it.

The rehearsal mode (`build_here`) also runs the pre-release command and the
build here, before the push, beside the token: it is for trying valet out, and
the request it leads to says in words that the build could reach a token.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from valet import gha
from valet.config import Config
from valet.errors import GitError, UsageError
from valet.git import BOT_EMAIL, BOT_NAME, Commit, Git, auth_env
from valet.manifest import Artifact, artifact_for
from valet.refs import release_branch, validate_branch, validate_repo, validate_tag

RELEASE_SUBJECT = "release: {version}"


@dataclass
class PrepareOptions:
    spec: str | None = None  # VERSION argument: semver, major/minor/patch, auto, calver, None
    cwd: Path = field(default_factory=Path.cwd)  # somewhere inside the repository
    path: str = "."  # monorepo sub-path of the project
    merge_target: str | None = None
    dry_run: bool = False
    push: bool = True
    config_file: str | None = None
    token: str | None = None
    repo: str | None = None  # owner/name; default from config, GITHUB_REPOSITORY or origin
    today: date | None = None
    out_dir: Path | None = None  # where the rehearsal build's files go (new or empty)
    # Rehearsal only: run the pre-release command and the build here, beside the token.
    build_here: bool = False
    bumped: Path | None = None  # the token-free bump job's output (`valet bump --out-dir`)
    offline: bool = False  # no fetch, no ls-remote (the bump job: no token, local refs)


@dataclass
class Plan:
    version: str
    previous_version: str | None
    previous_tag: str | None
    tag: str
    branch: str
    merge_target: str
    base_ref: str
    base_sha: str
    path: str
    repo: str | None
    files: list[str]  # repo-relative paths the bumps and the changelog change
    changelog: str  # the new section's text ("" when the policy is none)
    changelog_file: str | None
    build: list[Any]
    artifacts: list[str]
    require_names: list[str]
    artifact_store: dict[str, Any]
    pre_release_command: str | None
    targets: list[str] = field(default_factory=list)  # the config's target keys
    resume: bool = False  # the release branch exists from an earlier, unfinished run
    notes: list[str] = field(default_factory=list)
    # Not part of the JSON: the new content of each changed file (repo-relative path).
    contents: dict[str, str] = field(default_factory=dict, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "previous_version": self.previous_version,
            "previous_tag": self.previous_tag,
            "tag": self.tag,
            "branch": self.branch,
            "merge_target": self.merge_target,
            "base_sha": self.base_sha,
            "path": self.path,
            "repo": self.repo,
            "files": self.files,
            "changelog": self.changelog,
            "changelog_file": self.changelog_file,
            "build": self.build,
            "artifacts": self.artifacts,
            "require_names": self.require_names,
            "artifact_store": self.artifact_store,
            "pre_release_command": self.pre_release_command,
            "targets": self.targets,
            "resume": self.resume,
            "notes": self.notes,
        }

    @property
    def from_ci(self) -> bool:
        """The release's files are the workflow artifacts CI uploads for its commit."""
        return self.artifact_store.get("kind") == "workflow-artifacts" and bool(self.artifacts)

    def artifact_name(self, sha: str | None) -> str:
        """The workflow artifact the build job uploads and the request job downloads: the
        config's `artifact_store.name`, else the release commit (craft's convention)."""
        return str(self.artifact_store.get("name") or sha or "")


@dataclass
class PrepareResult:
    plan: Plan
    sha: str
    pushed: bool = False
    # Rehearsal only (build_here): the build's files, in a fresh flat directory.
    artifacts_dir: Path | None = None
    artifacts: list[Artifact] = field(default_factory=list)

    @property
    def build_mode(self) -> str:
        """Request.build: where the files of this release were (or will be) built."""
        if self.artifacts_dir is not None:
            return "same-job"
        return "ci" if self.plan.from_ci else "isolated"


# -- git helpers --------------------------------------------------------------


_AUTH_FAILED = ("could not read Username", "terminal prompts disabled", "Authentication failed",
                "Invalid username or token", "The requested URL returned error: 401",
                "The requested URL returned error: 403")


def auth_failure(exc: GitError, *, token: str | None, url: str | None,
                 doing: str) -> GitError:
    """git's answer to a refused credential (a prompt it may not show) as what it means."""
    if not any(marker in exc.message for marker in _AUTH_FAILED):
        return exc
    host = urlparse(url or "").netloc.rsplit("@", 1)[-1] or "the remote"
    if token:
        return GitError(
            f"the token is invalid or expired: {host} refused it ({doing})",
            hint="pass a fresh token as github-token: the App token of "
            "actions/create-github-app-token lasts one hour, so mint it in the same job; "
            "locally, set GITHUB_TOKEN to a token with contents: write on the repository",
        )
    return GitError(
        f"{host} asks for credentials and no token was given ({doing})",
        hint="pass github-token to the action (the request App's token), or set "
        "GITHUB_TOKEN locally",
    )


def remote_git(git: Git, *args: str, token: str | None, url: str | None) -> str:
    """A git command that talks to `origin`; a refused credential reads as what it is."""
    try:
        return git.run(*args)
    except GitError as exc:
        raise auth_failure(exc, token=token, url=url, doing=f"git {args[0]}") from None


def local_remote_refs(git: Git) -> dict[str, str]:
    """What the checkout knows of the remote, without asking it: its remote-tracking
    branches as refs/heads/* and its tags (the token-free bump job)."""
    out = git.run("for-each-ref", "--format=%(objectname) %(refname)", "refs/remotes/origin/",
                  "refs/tags/")
    refs: dict[str, str] = {}
    for line in out.splitlines():
        sha, _, name = line.partition(" ")
        if name.startswith("refs/remotes/origin/") and not name.endswith("/HEAD"):
            refs["refs/heads/" + name[len("refs/remotes/origin/"):]] = sha
        elif name.startswith("refs/tags/"):
            refs[name] = sha
    return refs


def _readonly(git: Git) -> Git:
    # No index refresh on `git status`: a dry run must not even touch .git/index.
    return Git(git.cwd, env={**(git.env or {}), "GIT_OPTIONAL_LOCKS": "0"})


def dirty_paths(git: Git) -> list[str]:
    out = _readonly(git).run("--no-optional-locks", "status", "--porcelain=v1", "-z",
                             "--untracked-files=all")
    paths: list[str] = []
    entries = out.split("\0")
    i = 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if not entry:
            continue
        paths.append(entry[3:])
        if entry[0] in "RC":  # a rename's source path follows as its own entry
            i += 1
    return paths


def remote_url(git: Git, remote: str = "origin") -> str | None:
    out = git.run("remote", "get-url", remote, check=False).strip()
    return out or None


def remote_default_branch(git: Git) -> str | None:
    out = git.run("ls-remote", "--symref", "origin", "HEAD", check=False)
    for line in out.splitlines():
        m = re.match(r"^ref: refs/heads/(\S+)\tHEAD$", line)
        if m:
            return m.group(1)
    return None


def _local_default_branch(git: Git) -> str | None:
    out = git.run("symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD",
                  check=False).strip()
    return out.split("/", 1)[1] if out.startswith("origin/") else None


def repo_from_url(url: str | None) -> str | None:
    if not url:
        return None
    m = re.search(r"[:/]([A-Za-z0-9][A-Za-z0-9-]*)/([A-Za-z0-9._-]+?)(?:\.git)?/?$", url)
    return f"{m.group(1)}/{m.group(2)}" if m else None


def _check_path(path: str) -> str:
    p = Path(path or ".")
    if p.is_absolute() or ".." in p.parts:
        raise UsageError(f"path {path!r} must be relative and inside the repository",
                         hint="pass the project's directory relative to the repository root")
    return p.as_posix()


# -- the colleagues' modules, behind small adapters -------------------------------


def _load_config(root: Path, path: str, config_file: str | None) -> tuple[Config, list[str]]:
    """The project's config; with no config file at all, the defaults (and a note)."""
    from valet.config_load import find_config_file, load_config

    if config_file is None and find_config_file(root, path) is None:
        return Config(source="(defaults)", path=path), [
            "no .valet.yml or .craft.yml found: using the defaults (no changelog, no build, "
            "artifacts dist/*)"]
    return load_config(root, path, config_file=config_file), []


def _plan_bumps(project_dir: Path, old: str | None, new: str,
                config: Config) -> tuple[dict[Path, str], list[str]]:
    """absolute path -> new content, plus notes (e.g. dynamic versions left alone)."""
    from valet.bump import plan_bumps

    result: Any = plan_bumps(project_dir, old, new, config)
    changes, notes = (result if isinstance(result, tuple) else (result, []))
    out: dict[Path, str] = {}
    for ch in changes:
        p = Path(ch.path)
        p = p if p.is_absolute() else project_dir / p
        if ch.new != ch.old:
            out[p] = ch.new
    return out, [str(n) for n in notes]


def _apply_changelog(config: Config, current: str, version: str, commits: Sequence[Commit],
                     repo_url: str | None, today: date, *, root: Path, filename: str,
                     repo: str | None, token: str | None) -> tuple[str, str]:
    from valet.changelog.github import changelog_for_release

    res = changelog_for_release(config, current, version, commits, root=root, filename=filename,
                                repo=repo, repo_url=repo_url, token=token, today=today)
    # text None: the file stays as it is (e.g. a hand-written section already there)
    return (current if res.text is None else res.text), res.section


# -- plan ---------------------------------------------------------------------------


@dataclass
class _Context:
    git: Git
    root: Path
    project_dir: Path
    config: Config
    commits: list[Commit]
    origin: str | None
    token: str | None


def _resumable(git: Git, branch: str, version: str, base: str) -> bool:
    """The remote branch is our own unfinished release: its tip is `release: <version>`
    and that commit's parent is in the merge target's history."""
    tip = git.rev_parse(f"refs/remotes/origin/{branch}")
    if not tip:
        return False
    subject = git.run("log", "-1", "--format=%s", tip).strip()
    if subject != RELEASE_SUBJECT.format(version=version):
        return False
    return git.succeeds("merge-base", "--is-ancestor", f"{tip}^", base)


def compute_changes(ctx: _Context, version: str, previous: str | None,
                    today: date, repo: str | None) -> tuple[dict[str, str], str, list[str]]:
    """Bumped files and changelog, in memory: (repo-relative path -> content, section, notes)."""
    bumps, notes = _plan_bumps(ctx.project_dir, previous, version, ctx.config)
    contents: dict[str, str] = {}
    for abs_path, text in bumps.items():
        contents[abs_path.resolve().relative_to(ctx.root.resolve()).as_posix()] = text
    section = ""
    if ctx.config.changelog_policy != "none":
        cl_path = (ctx.project_dir / ctx.config.changelog_file).resolve()
        if ctx.root.resolve() not in cl_path.parents:
            raise UsageError(f"changelog file {ctx.config.changelog_file!r} is outside the "
                             "repository")
        rel = cl_path.relative_to(ctx.root.resolve()).as_posix()
        current = contents.get(rel)
        if current is None:
            current = cl_path.read_text(encoding="utf-8") if cl_path.is_file() else ""
        from valet.github_client import server_url

        repo_url = f"{server_url()}/{repo}" if repo else None
        text, section = _apply_changelog(ctx.config, current, version, ctx.commits, repo_url,
                                         today, root=ctx.root, filename=rel, repo=repo,
                                         token=ctx.token)
        if text != current:
            contents[rel] = text
    return dict(sorted(contents.items())), section, notes


def compute_plan(opts: PrepareOptions) -> tuple[Plan, _Context]:
    from valet.version import latest_tag, resolve_version, tag_name, tag_prefix

    start = Git(opts.cwd)
    root = start.toplevel()
    git = Git(root)
    path = _check_path(opts.path)
    project_dir = (root / path).resolve() if path != "." else root
    if not project_dir.is_dir():
        raise UsageError(f"path {path!r} is not a directory in {root}")
    config, config_notes = _load_config(root, path, opts.config_file)

    dirty = dirty_paths(git)
    if dirty:
        shown = ", ".join(dirty[:20]) + (f" and {len(dirty) - 20} more" if len(dirty) > 20 else "")
        raise GitError(
            f"the working tree has uncommitted changes: {shown}",
            hint="commit, stash or remove them first: a release is made only from committed "
            "history",
        )

    origin = remote_url(git)
    token = opts.token
    if origin and not opts.offline:
        git = Git(root, env=auth_env(origin, token))
        if not opts.dry_run:
            with gha.group("git fetch"):
                remote_git(git, "fetch", "-q", "--prune", "--tags", "origin", token=token,
                           url=origin)
        try:
            remote = git.remote_refs()
        except GitError as exc:
            raise auth_failure(exc, token=token, url=origin, doing="git ls-remote") from None
    else:
        remote = local_remote_refs(git) if origin else {}
    remote_branches = [r[len("refs/heads/"):] for r in remote if r.startswith("refs/heads/")]
    remote_tags = [r[len("refs/tags/"):] for r in remote if r.startswith("refs/tags/")]

    target = opts.merge_target or (remote_default_branch(git) if origin and not opts.offline
                                   else None) \
        or (_local_default_branch(git) if origin and opts.offline else None) \
        or start.current_branch()
    if not target:
        raise GitError("cannot tell the merge target: HEAD is detached and the remote names "
                       "no default branch", hint="pass --merge-target BRANCH")
    validate_branch(target, what="merge target")
    base_ref = f"refs/remotes/origin/{target}" if origin else f"refs/heads/{target}"
    base_sha = git.rev_parse(base_ref)
    if not base_sha:
        raise GitError(f"the merge target {target} does not exist"
                       + (" on origin" if origin else ""),
                       hint="pass an existing branch as --merge-target")

    tags = sorted(set(git.tags()) | set(remote_tags))
    prefix = tag_prefix(config)
    latest = latest_tag(tags, prefix=prefix)
    rev_range = f"refs/tags/{latest[0]}..{base_sha}" if latest and git.rev_parse(
        f"refs/tags/{latest[0]}") else base_sha
    commits = git.commits(rev_range, [path] if path != "." else [])

    existing = set(remote_branches) | set(git.local_branches())
    # Our own unfinished release branch (see the module doc) does not block a re-run.
    resumable = {b for b in remote_branches
                 if b.startswith(config.release_branch_prefix + "/")
                 and _resumable(git, b, b[len(config.release_branch_prefix) + 1:], base_sha)}
    resolved = resolve_version(opts.spec, config=config, tags=tags, commits=commits,
                               today=opts.today or date.today(),
                               existing_branches=sorted(existing - resumable))
    version = resolved.version
    branch = release_branch(config.release_branch_prefix, version)
    tag = validate_tag(tag_name(config, version))
    resume = branch in resumable

    repo = opts.repo or config.github_repo or os.environ.get("GITHUB_REPOSITORY") \
        or repo_from_url(origin)
    if repo:
        validate_repo(repo)

    ctx = _Context(git=git, root=root, project_dir=project_dir, config=config, commits=commits,
                   origin=origin, token=token)
    notes: list[str] = list(config_notes)
    head = start.rev_parse("HEAD")
    if head != base_sha and not resume:
        notes.append(f"HEAD ({(head or '?')[:12]}) is not the merge target's tip "
                     f"({base_sha[:12]}): the plan reads files from the working tree; the "
                     "release branch starts from the merge target")
    if resume:
        notes.append(f"the release branch {branch} exists from an unfinished run: it is "
                     "rebuilt and uploaded again, not re-created")
        contents: dict[str, str] = {}
        section = ""
    else:
        contents, section, bump_notes = compute_changes(ctx, version, resolved.previous,
                                                        opts.today or date.today(), repo)
        notes += bump_notes
    store = config.artifact_store
    plan = Plan(
        version=version, previous_version=resolved.previous, previous_tag=resolved.previous_tag,
        tag=tag, branch=branch, merge_target=target, base_ref=base_ref, base_sha=base_sha,
        path=path, repo=repo, files=list(contents), changelog=section,
        changelog_file=(None if config.changelog_policy == "none" else
                        (Path(path) / config.changelog_file).as_posix()),
        build=list(config.build), artifacts=list(config.artifacts),
        require_names=[p.pattern for p in config.require_names],
        artifact_store={"kind": store.kind, "name": store.name,
                        "workflows": {k: list(v) for k, v in store.workflows.items()}},
        pre_release_command=config.pre_release_command,
        targets=[t.key for t in config.targets], resume=resume, notes=notes,
        contents=contents,
    )
    return plan, ctx


def render_plan(plan: Plan) -> str:
    lines = [
        f"version:        {plan.version}"
        + (f" (previous {plan.previous_version}, tag {plan.previous_tag})"
           if plan.previous_version else " (first release)"),
        f"tag:            {plan.tag}",
        f"release branch: {plan.branch}" + (" (exists: resume)" if plan.resume else ""),
        f"merge target:   {plan.merge_target} @ {plan.base_sha[:12]}",
        f"files changed:  {', '.join(plan.files) or '(none)'}",
        f"pre-release:    {plan.pre_release_command or '(none)'}",
        f"build:          {'; '.join(map(str, plan.build)) or '(none)'}",
        f"artifacts:      {', '.join(plan.artifacts)}",
        f"artifact store: {plan.artifact_store['kind']}",
    ]
    lines += [f"note: {n}" for n in plan.notes]
    if plan.changelog:
        lines += ["changelog:", *("  " + ln for ln in plan.changelog.splitlines())]
    return "\n".join(lines)


# -- apply --------------------------------------------------------------------------


def _commit_env(git: Git) -> dict[str, str]:
    env: dict[str, str] = {}
    if not git.run("config", "user.email", check=False).strip() and \
            not os.environ.get("GIT_COMMITTER_EMAIL"):
        env = {"GIT_AUTHOR_NAME": BOT_NAME, "GIT_AUTHOR_EMAIL": BOT_EMAIL,
               "GIT_COMMITTER_NAME": BOT_NAME, "GIT_COMMITTER_EMAIL": BOT_EMAIL}
    return env


def _write_changes(root: Path, contents: dict[str, str]) -> None:
    for rel, text in contents.items():
        target = (root / rel).resolve()
        if root.resolve() not in target.parents:  # pragma: no cover - paths come from us
            raise UsageError(f"refusing to write outside the repository: {rel}")
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)


def _run_pre_release(config: Config, old: str | None, new: str, cwd: Path) -> None:
    from valet.bump.command import run_pre_release_command

    assert config.pre_release_command
    run_pre_release_command(config.pre_release_command, old, new, cwd)


BUMP_JOB_HINT = """\
run it in a job that holds no token and pass its files to prepare:

  bump:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    steps:
      - uses: actions/checkout@<sha>
        with: {fetch-depth: 0, persist-credentials: false}
      - id: bump
        uses: OWNER/valet/action-prepare-release/bump@v1
        with: {version: ${{ inputs.version }}}
      - uses: actions/upload-artifact@<sha>
        with: {name: valet-bump, path: ${{ steps.bump.outputs.dir }}}
  prepare:
    needs: bump
    steps: ...  # download valet-bump, then action-prepare-release with bumped-files

(docs/actions.md, "A custom bump command")"""


def _check_inputs(plan: Plan, ctx: _Context, opts: PrepareOptions) -> None:
    """Refuse, before any change, what this run cannot do."""
    command = ctx.config.pre_release_command
    if plan.resume:
        if opts.bumped is not None:
            gha.notice("the release branch exists from an earlier run: the bump job's files "
                       "are not applied again")
        return
    if command and not opts.build_here and opts.bumped is None:
        raise UsageError(
            f"the config's pre-release command ({command}) is project code: valet runs it "
            "only in a job that holds no token, and no bump job's files were given",
            hint=BUMP_JOB_HINT)
    if opts.bumped is not None and not command:
        from valet.bump.command import bump_output_files

        if bump_output_files(opts.bumped):
            raise UsageError("bumped files were given, but the config names no pre-release "
                             "command", hint="drop the bump job (and the bumped-files input), "
                             "or set pre_release_command in the config")
        # One release workflow fits every project: a bump job that had nothing to run
        # hands over nothing (it is still checked against this version and base).
        gha.notice("the config names no pre-release command: the bump job ran none and "
                   "changed no file")
    if opts.bumped is not None and opts.build_here:
        raise UsageError("give the bump job's files or build here, not both")


def check_fits(plan: Plan, artifacts: Sequence[Artifact], *, sha: str | None = None,
               build: str = "isolated") -> None:
    """Render the approval request as far as it is known and refuse one that cannot fit
    one GitHub issue, before anything is pushed or uploaded."""
    from valet.github_client import server_url
    from valet.issue_format import render_body
    from valet.request import Request, TargetState

    if not plan.repo or not plan.targets:
        return  # the request itself reports these, with their own fix
    req = Request(
        repo=plan.repo, version=plan.version, path=plan.path,
        requested_by=os.environ.get("GITHUB_ACTOR") or "x" * 39,
        merge_target=plan.merge_target, sha=sha or plan.base_sha,
        targets=[TargetState(t) for t in plan.targets], artifacts=list(artifacts),
        branch=plan.branch, changelog=plan.changelog, run_url=gha.run_url(),
        release_id=9_999_999_999, store=str(plan.artifact_store.get("kind") or "github-release"),
        previous=plan.previous_tag, run_id=int(os.environ.get("GITHUB_RUN_ID") or 0) or None,
        build=build)
    render_body(req, server_url=server_url())


def apply_plan(plan: Plan, ctx: _Context, opts: PrepareOptions) -> PrepareResult:
    git = ctx.git
    if opts.push and not ctx.origin:
        raise GitError("the repository has no `origin` remote to push the release branch to",
                       hint="add the remote, or run with --no-push")
    _check_inputs(plan, ctx, opts)
    bumped = None
    if opts.bumped is not None and not plan.resume:
        from valet.bump.command import read_bump_output

        bumped = read_bump_output(opts.bumped, ctx.root, ctx.config, plan.version,
                                  plan.base_sha, project=plan.path,
                                  changelog_file=plan.changelog_file)
    check_fits(plan, [])

    local = Git(ctx.root, env={**(git.env or {}), **_commit_env(git)})
    original = local.current_branch() or local.head_sha()
    ours = not plan.resume and local.rev_parse(f"refs/heads/{plan.branch}") is None
    try:
        sha = _commit(plan, ctx, opts, local, bumped)
        result = PrepareResult(plan=plan, sha=sha)
        if opts.build_here:
            _build_here(plan, ctx, opts, result)
    except BaseException:
        if ours:
            _rollback(local, original, plan.branch)
        raise

    if opts.push:
        with gha.group(f"push {plan.branch}"):
            remote_git(git, "push", "-q", "origin", f"{sha}:refs/heads/{plan.branch}",
                       token=ctx.token, url=ctx.origin)
        result.pushed = True
    return result


def _build_here(plan: Plan, ctx: _Context, opts: PrepareOptions, result: PrepareResult) -> None:
    from valet.build import build_release

    gha.warning("rehearsal mode: the build runs in this job, where the token is reachable; "
                "the request will say so (release.yml's build job holds no token)")
    values = {"VALET_VERSION": plan.version, "VALET_PREVIOUS_VERSION": plan.previous_version or "",
              "VALET_BRANCH": plan.branch, "VALET_TAG": plan.tag, "VALET_SHA": result.sha,
              "CRAFT_NEW_VERSION": plan.version, "CRAFT_OLD_VERSION": plan.previous_version or ""}
    out, paths = build_release(ctx.config, ctx.project_dir, version=plan.version, values=values,
                               out_dir=opts.out_dir)
    result.artifacts_dir = out
    result.artifacts = [artifact_for(p) for p in paths]
    check_fits(plan, result.artifacts, sha=result.sha, build="same-job")


def _rollback(local: Git, original: str, branch: str) -> None:
    """Nothing was pushed yet: go back to where the run started and drop the local
    release branch, so a plain re-run starts clean."""
    try:
        local.run("checkout", "-q", "-f", original)
        local.run("branch", "-q", "-D", branch)
    except GitError as exc:  # pragma: no cover - best effort, the original error matters
        gha.warning(f"could not restore {original} after the failure: {exc.message}")


def _commit(plan: Plan, ctx: _Context, opts: PrepareOptions, local: Git,
            bumped: dict[str, bytes] | None) -> str:
    if plan.resume:
        with gha.group(f"resume {plan.branch}"):
            local.run("checkout", "-q", "-B", plan.branch, f"refs/remotes/origin/{plan.branch}")
        return local.head_sha()
    with gha.group(f"release branch {plan.branch}"):
        local.run("checkout", "-q", "-b", plan.branch, plan.base_sha)
        # Re-read the files on the branch itself (HEAD may have differed from the target).
        contents, section, _ = compute_changes(ctx, plan.version, plan.previous_version,
                                               opts.today or date.today(), plan.repo)
        plan.contents, plan.files, plan.changelog = contents, list(contents), section
        _write_changes(ctx.root, contents)
        if ctx.config.pre_release_command and opts.build_here:
            _run_pre_release(ctx.config, plan.previous_version, plan.version, ctx.project_dir)
        elif bumped:
            _write_bytes(ctx.root, bumped)
        changed = dirty_paths(local)
        plan.files = sorted(set(plan.files) | set(changed))
        if changed:
            local.run("add", "-A", "--", *changed)
        else:
            gha.warning("the release commit changes no file (no version file or "
                        "changelog found)")
        local.run("commit", "-q", "--allow-empty", "-m",
                  RELEASE_SUBJECT.format(version=plan.version))
    return local.head_sha()


def _write_bytes(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        target = (root / rel).resolve()
        if root.resolve() not in target.parents:  # pragma: no cover - checked on reading
            raise UsageError(f"refusing to write outside the repository: {rel}")
        target.write_bytes(data)


def bump_job(opts: PrepareOptions, out_dir: Path | None) -> tuple[Plan, Path, list[str]]:
    """The token-free bump job: valet's own changes, then the pre-release command; write
    what the command changed for `apply_plan(bumped=...)`. (plan, directory, paths)."""
    from valet.build import fresh_out_dir
    from valet.bump.command import (
        allowed_paths,
        check_bump_path,
        run_pre_release_command,
        write_bump_output,
    )

    opts.offline, opts.push = True, False
    plan, ctx = compute_plan(opts)
    dest = fresh_out_dir(out_dir, "valet-bump-")
    command = ctx.config.pre_release_command
    if plan.resume or not command:
        gha.notice("nothing to run: " + ("the release branch exists from an earlier run"
                                         if plan.resume else "the config names no "
                                         "pre-release command"))
        write_bump_output(dest, version=plan.version, base_sha=plan.base_sha, files={})
        return plan, dest, []
    git = Git(ctx.root)
    if git.head_sha() != plan.base_sha:
        git.run("checkout", "-q", "--detach", plan.base_sha)
    _write_changes(ctx.root, plan.contents)
    run_pre_release_command(command, plan.previous_version, plan.version, ctx.project_dir)
    allowed = allowed_paths(ctx.config, plan.path)
    changed: dict[str, bytes] = {}
    for rel in dirty_paths(git):
        path = ctx.root / rel
        exists = path.is_file() and not path.is_symlink()
        now = path.read_bytes() if exists else None
        ours = plan.contents.get(rel)
        if ours is not None and now == ours.encode("utf-8"):
            continue  # valet's own change, untouched by the command
        tracked = exists and git.succeeds("cat-file", "-e", f"{plan.base_sha}:{rel}")
        check_bump_path(rel, allowed=allowed, project=plan.path,
                        changelog_file=plan.changelog_file, tracked=tracked)
        assert now is not None
        changed[rel] = now
    write_bump_output(dest, version=plan.version, base_sha=plan.base_sha, files=changed)
    return plan, dest, sorted(changed)


# -- reporting ----------------------------------------------------------------------


def prepared_json(plan: Plan, result: PrepareResult | None) -> dict[str, Any]:
    """`valet prepare --json`, the action's `prepared` output and `valet request --from`."""
    data = plan.to_json()
    data["artifact_name"] = plan.artifact_name(result.sha if result else None)
    if result is not None:
        data.update({"sha": result.sha, "pushed": result.pushed,
                     "build_mode": result.build_mode,
                     "artifacts_dir": str(result.artifacts_dir) if result.artifacts_dir else None,
                     "built": [a.to_json() for a in result.artifacts]})
    return data


def outputs(plan: Plan, result: PrepareResult | None) -> dict[str, str]:
    import json

    return {
        "version": plan.version,
        "branch": plan.branch,
        "tag": plan.tag,
        "sha": result.sha if result else "",
        "previous-tag": plan.previous_tag or "",
        "changelog": plan.changelog,
        "artifact-name": plan.artifact_name(result.sha if result else None),
        "artifacts-dir": str(result.artifacts_dir) if result and result.artifacts_dir else "",
        "prepared": json.dumps(prepared_json(plan, result), separators=(",", ":"),
                               sort_keys=True),
    }


SAME_JOB_WARNING = ("The build ran in the same job as the token (rehearsal mode): project "
                    "code could read the token and change the draft release or this request. "
                    "Release with the three-job release.yml, whose build job holds no token.")


def summary_markdown(plan: Plan, result: PrepareResult | None) -> str:
    esc = gha.md_escape
    head = "Dry run: " if result is None else ""
    lines = [f"### {head}release {esc(plan.version)}", "",
             f"- branch: `{esc(plan.branch)}`" + (f" at `{result.sha[:12]}`" if result else ""),
             f"- previous: {esc(plan.previous_tag or '(none)')}",
             f"- files changed: {', '.join(esc(f) for f in plan.files) or '(none)'}"]
    if result is not None and result.artifacts_dir is not None:
        lines += ["", f"> [!WARNING]\n> {SAME_JOB_WARNING}", ""]
        lines += ["| file | size | sha256 |", "|---|---:|---|"]
        lines += [f"| {esc(a.name)} | {a.size} | `{a.sha256}` |" for a in result.artifacts]
    elif result is not None and plan.from_ci:
        lines += ["", "Next: CI builds this commit (a push to the release branch starts it); "
                  "the request job waits for its workflow artifacts, then uploads them and "
                  "asks for approval."]
    elif result is not None:
        lines += ["", "Next: the build job builds this commit without a token; the request "
                  "job then uploads its files and asks for approval."]
    return "\n".join(lines)


@contextlib.contextmanager
def logs_to_stderr(enabled: bool) -> Iterator[None]:
    """Keep stdout for the JSON alone: our logs, git's and the build's output go to stderr."""
    if not enabled:
        yield
        return
    import sys

    with contextlib.redirect_stdout(sys.stderr):
        yield


def prepare(opts: PrepareOptions) -> tuple[Plan, PrepareResult | None]:
    plan, ctx = compute_plan(opts)
    if opts.dry_run:
        return plan, None
    return plan, apply_plan(plan, ctx, opts)
