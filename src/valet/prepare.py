"""The prepare phase: compute a plan, then apply it.

`compute_plan` only reads: the config, the working tree, local refs and the
remote's refs (`git ls-remote`). It never fetches in a dry run, never refreshes
the index (`--no-optional-locks`), and holds the bumped files and the
changelog in memory, so `valet prepare --dry-run` leaves the repository
byte-identical.

`apply_plan` does the work, in an order chosen so a failure leaves nothing
half-done on the remote: release branch from the merge target → bumped files
and changelog → pre-release command → one commit `release: <version>` → build
→ artifacts → manifest.json → push the branch → upload to the artifact store.
A build failure therefore pushes nothing; an upload failure is repaired by a
re-run, which finds its own release branch (tip `release: <version>` on top of
the merge target, no tag yet), rebuilds and re-uploads without duplicates.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from valet import gha
from valet.config import Config
from valet.errors import GitError, UsageError
from valet.git import BOT_EMAIL, BOT_NAME, Commit, Git, auth_env
from valet.manifest import MANIFEST_NAME, Manifest, build_manifest
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
    out_dir: Path | None = None  # where manifest.json is written


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
            "resume": self.resume,
            "notes": self.notes,
        }


@dataclass
class PrepareResult:
    plan: Plan
    sha: str
    manifest: Manifest
    manifest_path: Path
    files: dict[str, Path]
    release_id: int | None = None
    release_url: str | None = None
    pushed: bool = False


# -- git helpers --------------------------------------------------------------


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
    if origin:
        git = Git(root, env=auth_env(origin, token))
        if not opts.dry_run:
            with gha.group("git fetch"):
                git.run("fetch", "-q", "--prune", "--tags", "origin")
    remote = git.remote_refs() if origin else {}
    remote_branches = [r[len("refs/heads/"):] for r in remote if r.startswith("refs/heads/")]
    remote_tags = [r[len("refs/tags/"):] for r in remote if r.startswith("refs/tags/")]

    target = opts.merge_target or (remote_default_branch(git) if origin else None) \
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
        artifact_store={"kind": store.kind, "name": store.name},
        pre_release_command=config.pre_release_command, resume=resume, notes=notes,
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


def _out_dir(opts: PrepareOptions) -> Path:
    if opts.out_dir:
        opts.out_dir.mkdir(parents=True, exist_ok=True)
        return opts.out_dir
    return Path(tempfile.mkdtemp(prefix="valet-prepare-", dir=os.environ.get("RUNNER_TEMP")))


def _run_pre_release(config: Config, old: str | None, new: str, cwd: Path) -> None:
    from valet.bump.command import run_pre_release_command

    assert config.pre_release_command
    run_pre_release_command(config.pre_release_command, old, new, cwd)


def apply_plan(plan: Plan, ctx: _Context, opts: PrepareOptions, *,
               store_factory: Any = None) -> PrepareResult:
    git = ctx.git
    store_kind = plan.artifact_store["kind"]
    upload = store_kind == "github-release" and opts.push
    if upload and not (opts.token and plan.repo):
        raise UsageError(
            "uploading to the draft release needs a GitHub token and the repository name",
            hint="pass github-token to the action (GITHUB_TOKEN locally), or run with "
            "--no-push to build without pushing or uploading",
        )
    if opts.push and not ctx.origin:
        raise GitError("the repository has no `origin` remote to push the release branch to",
                       hint="add the remote, or run with --no-push")

    local = Git(ctx.root, env={**(git.env or {}), **_commit_env(git)})
    original = local.current_branch() or local.head_sha()
    ours = not plan.resume and local.rev_parse(f"refs/heads/{plan.branch}") is None
    try:
        result = _commit_and_build(plan, ctx, opts, local)
    except BaseException:
        if ours:
            _rollback(local, original, plan.branch)
        raise
    sha, manifest, files = result.sha, result.manifest, result.files

    if opts.push:
        with gha.group(f"push {plan.branch}"):
            git.run("push", "-q", "origin", f"{sha}:refs/heads/{plan.branch}")
        result.pushed = True
    if upload:
        store = (store_factory or _open_store)(plan, ctx, opts)
        with gha.group(f"upload to the draft release {plan.tag}"):
            ref = store.upload(manifest, files, notes=plan.changelog or None)
        result.release_id, result.release_url = ref.release_id, ref.url
    elif store_kind == "workflow-artifacts":
        gha.notice(f"artifact store is workflow-artifacts: upload {result.manifest_path} and the artifacts with "
                   f"actions/upload-artifact named {plan.artifact_store.get('name') or sha!r}")
    return result


def _rollback(local: Git, original: str, branch: str) -> None:
    """Nothing was pushed yet: go back to where the run started and drop the local
    release branch, so a plain re-run starts clean."""
    try:
        local.run("checkout", "-q", "-f", original)
        local.run("branch", "-q", "-D", branch)
    except GitError as exc:  # pragma: no cover - best effort, the original error matters
        gha.warning(f"could not restore {original} after the failure: {exc.message}")


def _commit_and_build(plan: Plan, ctx: _Context, opts: PrepareOptions,
                      local: Git) -> PrepareResult:
    from valet.build import collect_artifacts, run_build

    if plan.resume:
        with gha.group(f"resume {plan.branch}"):
            local.run("checkout", "-q", "-B", plan.branch, f"refs/remotes/origin/{plan.branch}")
    else:
        with gha.group(f"release branch {plan.branch}"):
            local.run("checkout", "-q", "-b", plan.branch, plan.base_sha)
            # Re-read the files on the branch itself (HEAD may have differed from the target).
            contents, section, _ = compute_changes(ctx, plan.version, plan.previous_version,
                                                   opts.today or date.today(), plan.repo)
            plan.contents, plan.files, plan.changelog = contents, list(contents), section
            _write_changes(ctx.root, contents)
            if ctx.config.pre_release_command:
                _run_pre_release(ctx.config, plan.previous_version, plan.version,
                                 ctx.project_dir)
            changed = dirty_paths(local)
            plan.files = sorted(set(plan.files) | set(changed))
            if changed:
                local.run("add", "-A", "--", *changed)
            else:
                gha.warning("the release commit changes no file (no version file or "
                            "changelog found)")
            local.run("commit", "-q", "--allow-empty", "-m",
                      RELEASE_SUBJECT.format(version=plan.version))
    sha = local.head_sha()

    values = {"VALET_VERSION": plan.version, "VALET_PREVIOUS_VERSION": plan.previous_version or "",
              "VALET_BRANCH": plan.branch, "VALET_TAG": plan.tag, "VALET_SHA": sha,
              "CRAFT_NEW_VERSION": plan.version, "CRAFT_OLD_VERSION": plan.previous_version or ""}
    if ctx.config.build:
        run_build(ctx.config.build, ctx.project_dir, values=values)
    paths = collect_artifacts(ctx.project_dir, ctx.config.artifacts, ctx.config.require_names)
    manifest = build_manifest(plan.version, paths, repo=plan.repo, sha=sha)
    out = _out_dir(opts)
    manifest_path = out / MANIFEST_NAME
    manifest_path.write_text(manifest.dumps(), encoding="utf-8")
    files = {p.name: p for p in paths}
    return PrepareResult(plan=plan, sha=sha, manifest=manifest, manifest_path=manifest_path,
                         files=files)


def _open_store(plan: Plan, ctx: _Context, opts: PrepareOptions) -> Any:
    from valet.github_client import connect, session
    from valet.store import open_store

    assert plan.repo is not None
    return open_store(plan.artifact_store["kind"], gh=connect(opts.token),
                      session=session(opts.token), repo=plan.repo, tag=plan.tag,
                      version=plan.version, artifact_name=plan.artifact_store.get("name"))


# -- reporting ----------------------------------------------------------------------


def outputs(plan: Plan, result: PrepareResult | None) -> dict[str, str]:
    return {
        "version": plan.version,
        "branch": plan.branch,
        "sha": result.sha if result else "",
        "previous-tag": plan.previous_tag or "",
        "changelog": plan.changelog,
        "manifest": str(result.manifest_path) if result else "",
        "release-id": str(result.release_id) if result and result.release_id else "",
    }


def summary_markdown(plan: Plan, result: PrepareResult | None) -> str:
    esc = gha.md_escape
    head = "Dry run: " if result is None else ""
    lines = [f"### {head}release {esc(plan.version)}", "",
             f"- branch: `{esc(plan.branch)}`" + (f" at `{result.sha[:12]}`" if result else ""),
             f"- previous: {esc(plan.previous_tag or '(none)')}",
             f"- files changed: {', '.join(esc(f) for f in plan.files) or '(none)'}"]
    if result is not None:
        lines += ["", "| file | size | sha256 |", "|---|---:|---|"]
        lines += [f"| {esc(a.name)} | {a.size} | `{a.sha256}` |" for a in result.manifest.artifacts]
        if result.release_url:
            lines += ["", f"Draft release: {result.release_url}"]
    return "\n".join(lines)


@contextlib.contextmanager
def logs_to_stderr(enabled: bool) -> Iterator[None]:
    """Keep stdout for the JSON plan alone."""
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
