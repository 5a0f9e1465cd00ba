"""`valet request`: upload the build's files to the draft release and open the approval issue.

Every option is also an action input (INPUT_<NAME>, set through env: in
action-request-issue/action.yml); a flag given on the command line wins, and
prepare's JSON (`--from FILE`, or the `prepared` input) fills in what neither
gives. The order: render the request and refuse one that cannot fit an issue,
check the killswitch, upload, then open or update the issue — so nothing is
uploaded for a request that cannot be made.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# (flag/input name, help) — each becomes --NAME and reads INPUT_NAME
OPTIONS: list[tuple[str, str]] = [
    ("publish-repo", "owner/name of the publish repository (default: <owner>/publish)"),
    ("repo", "owner/name of the SDK repository (default: $GITHUB_REPOSITORY)"),
    ("version", "the version being released"),
    ("sha", "the release commit (40 hex)"),
    ("branch", "the release branch"),
    ("tag", "the release's tag, which names the draft release (default: from the config)"),
    ("merge-target", "the branch the release merges into (default: the repository's default)"),
    ("path", "monorepo sub-path of the project (default .)"),
    ("artifacts-dir", "directory holding the build's files (the downloaded build artifact)"),
    ("changelog", "the changelog text of this release"),
    ("changelog-file", "a file holding the changelog (for changelogs too large for an input)"),
    ("targets", "target ids, comma or space separated (default: the config's targets)"),
    ("previous-tag", "the previous release's tag, for the changes link"),
    ("requested-by", "the requesting login (default: $GITHUB_ACTOR)"),
    ("config", "config file relative to the project (default .valet.yml, then .craft.yml)"),
    ("ci-timeout-minutes", "how long to wait for CI on the release commit when the files are "
     "its workflow artifacts (default 60)"),
]
# prepare's JSON key -> option name
FROM_PREPARED = {
    "repo": "repo", "version": "version", "sha": "sha", "branch": "branch", "tag": "tag",
    "merge_target": "merge-target", "path": "path", "artifacts_dir": "artifacts-dir",
    "changelog": "changelog", "previous_tag": "previous-tag",
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "request",
        help="upload the build's files to the draft release and open the approval issue",
        description="Compute the manifest (sha256 of every file in --artifacts-dir), render "
        "the approval request, upload the files to the draft release and open the request "
        "as an issue in the publish repository, or update the open one with the same title "
        "in place (keeping ticked targets). An open `release-blocker` issue in the SDK "
        "repository stops the request unless --force. --from reads prepare's JSON.",
    )
    for name, text in OPTIONS:
        p.add_argument(f"--{name}", dest=name.replace("-", "_"), default=None, help=text)
    p.add_argument("--from", dest="from_file", default=None, metavar="FILE",
                   help="prepare's JSON (`valet prepare --json > FILE`; - for stdin)")
    p.add_argument("--force", action="store_true", default=None,
                   help="request even when a release-blocker issue is open")
    p.add_argument("--dry-run", action="store_true", default=None,
                   help="print the issue body; upload, create or change nothing")
    p.set_defaults(func=run)


def split_targets(text: str) -> list[str]:
    return [part for part in text.replace(",", " ").split() if part]


def read_prepared(args: argparse.Namespace) -> dict[str, Any]:
    """prepare's JSON from --from FILE, else the `prepared` input; {} when neither."""
    import sys

    from valet import gha
    from valet.errors import UsageError

    source = getattr(args, "from_file", None)
    if source:
        try:
            text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read {source}: {exc.strerror}",
                             hint="pass the file `valet prepare --json` wrote") from None
        what = source
    else:
        text = gha.get_input("prepared") or ""
        what = "the prepared input"
        if not text:
            return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{what} is not JSON: {exc}",
                         hint="pass what `valet prepare --json` prints (or prepare's "
                         "`prepared` output)") from None
    if not isinstance(data, dict) or not isinstance(data.get("version"), str):
        raise UsageError(f"{what} is not the JSON of `valet prepare`",
                         hint="pass what `valet prepare --json` prints")
    if data.get("sha") in (None, "") and data.get("pushed") is not True:
        raise UsageError(f"{what} is the JSON of a dry run: it holds no release commit",
                         hint="run `valet prepare` without --dry-run first")
    return data


@dataclass
class Inputs:
    req: Any  # valet.request.Request
    publish_repo: str
    force: bool
    dry_run: bool
    tag: str
    store: str
    artifact_name: str | None
    artifacts_dir: Path | None
    require_names: list[str] = field(default_factory=list)
    expect_files: bool = True
    # the files are CI's workflow artifacts: artifact_store.workflows (empty: sha-named)
    from_ci: bool = False
    workflows: dict[str, list[str]] = field(default_factory=dict)
    ci_timeout_minutes: float = 60
    config_file: str | None = None


class _Options:
    """Flag, then action input, then prepare's JSON."""

    def __init__(self, args: argparse.Namespace, prepared: dict[str, Any]) -> None:
        self.args, self.prepared = args, prepared
        self.reverse = {v: k for k, v in FROM_PREPARED.items()}

    def get(self, name: str) -> str | None:
        from valet import gha

        value = getattr(self.args, name.replace("-", "_"), None)
        if value is not None and str(value).strip() != "":
            return str(value).strip()
        given = gha.get_input(name)
        if given:
            return given
        key = self.reverse.get(name)
        raw = self.prepared.get(key) if key else None
        if raw is None or raw == "":
            return None
        if not isinstance(raw, str):
            from valet.errors import UsageError

            raise UsageError(f"prepare's JSON holds a {type(raw).__name__} as {key}")
        return raw.strip() if name != "changelog" else raw


def _read_changelog(opts: _Options) -> str:
    from valet.errors import UsageError

    text = opts.get("changelog") or ""
    path = opts.get("changelog-file")
    if path:
        if text and getattr(opts.args, "changelog", None):
            raise UsageError("give the changelog as text or as a file, not both")
        try:
            return Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read the changelog file {path}: {exc.strerror}") from None
    return text


def _config_facts(path: str, config_file: str | None, version: str,
                  need_targets: bool) -> dict[str, Any]:
    """What the request needs from the project's config when prepare's JSON is absent."""
    from valet.config_load import load_config
    from valet.errors import ConfigError
    from valet.version import tag_name

    try:
        config = load_config(Path.cwd(), path, config_file=config_file)
    except ConfigError:
        if need_targets:
            raise
        return {"targets": [], "store": "github-release", "tag": version, "require_names": [],
                "artifact_name": None, "artifacts": ["dist/*"], "workflows": {}}
    return {"targets": [t.key for t in config.targets], "store": config.artifact_store.kind,
            "tag": tag_name(config, version), "artifact_name": config.artifact_store.name,
            "require_names": [p.pattern for p in config.require_names],
            "artifacts": list(config.artifacts),
            "workflows": dict(config.artifact_store.workflows)}


def gather(args: argparse.Namespace) -> Inputs:
    """The Request and the run's options from flags, inputs, prepare's JSON and env."""
    import os

    from valet import gha
    from valet.errors import UsageError
    from valet.issue_format import normalize_path
    from valet.request import Request, TargetState

    prepared = read_prepared(args)
    opts = _Options(args, prepared)
    repo = opts.get("repo") or os.environ.get("GITHUB_REPOSITORY")
    if not repo or "/" not in repo:
        raise UsageError("the SDK repository is unknown",
                         hint="run in GitHub Actions (GITHUB_REPOSITORY) or pass --repo owner/name")
    publish_repo = opts.get("publish-repo") or f"{repo.split('/')[0]}/publish"
    version = opts.get("version")
    if not version:
        raise UsageError("no version given",
                         hint="pass prepare's JSON (`prepared: ${{ needs.prepare.outputs.prepared "
                         "}}`, or --from prepare.json), or --version")
    sha = opts.get("sha")
    if not sha:
        raise UsageError("no release commit given",
                         hint="pass prepare's JSON (`prepared` input or --from), or --sha")
    requested_by = opts.get("requested-by") or os.environ.get("GITHUB_ACTOR")
    if not requested_by:
        raise UsageError("the requester is unknown",
                         hint="run in GitHub Actions (GITHUB_ACTOR) or pass --requested-by LOGIN")
    path = normalize_path(opts.get("path"))

    given = opts.get("targets")
    if prepared:
        store = prepared.get("artifact_store") or {}
        facts = {"targets": prepared.get("targets") or [],
                 "store": store.get("kind") if isinstance(store, dict) else None,
                 "workflows": (store.get("workflows") or {}) if isinstance(store, dict) else {},
                 "artifact_name": prepared.get("artifact_name"),
                 "tag": prepared.get("tag") or version,
                 "require_names": prepared.get("require_names") or [],
                 "artifacts": prepared.get("artifacts", ["dist/*"])}
    else:
        facts = _config_facts(path, opts.get("config"), version, need_targets=not given)
    targets = split_targets(given) if given else list(facts["targets"])
    if not targets:
        raise UsageError("the request names no target",
                         hint="add targets to .valet.yml or pass the `targets` input")

    artifacts_dir = opts.get("artifacts-dir")
    expect_files = bool(facts.get("artifacts"))
    from_ci = facts["store"] == "workflow-artifacts" and not artifacts_dir and expect_files \
        and prepared.get("build_mode") != "same-job"
    build = "ci" if from_ci else (prepared.get("build_mode") or "isolated")
    if build == "ci" and not from_ci:
        build = "isolated"  # prepare's guess; the build job's files are given here
    req = Request(
        repo=repo, path=path, version=version, requested_by=requested_by,
        merge_target=opts.get("merge-target"), sha=sha.lower(),
        targets=[TargetState(t) for t in targets],
        branch=opts.get("branch"), changelog=_read_changelog(opts), run_url=gha.run_url(),
        # the request side always fills the draft release, wherever the files come from
        store="github-release", previous=opts.get("previous-tag"),
        run_id=gha.run_id(),  # publish reads who triggered this run from the Actions API
        build=str(build),
    )
    force = args.force if args.force is not None else gha.get_bool_input("force")
    dry_run = args.dry_run if args.dry_run is not None else gha.get_bool_input("dry-run")
    return Inputs(req=req, publish_repo=publish_repo, force=force, dry_run=dry_run,
                  tag=opts.get("tag") or str(facts["tag"]), store=req.store,
                  artifact_name=facts.get("artifact_name"),
                  artifacts_dir=Path(artifacts_dir) if artifacts_dir else None,
                  require_names=[str(p) for p in facts["require_names"]],
                  expect_files=expect_files, from_ci=from_ci, config_file=opts.get("config"),
                  workflows=_workflows(facts.get("workflows")),
                  ci_timeout_minutes=_minutes(opts.get("ci-timeout-minutes")))


def _workflows(raw: Any) -> dict[str, list[str]]:
    from valet.errors import UsageError

    if not isinstance(raw, dict) or not all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(n, str) for n in v)
            for k, v in raw.items()):
        raise UsageError("prepare's JSON holds artifact_store.workflows in another form than "
                         "workflow -> list of names",
                         hint="pass what `valet prepare --json` prints")
    return {k: list(v) for k, v in raw.items()}


def _minutes(text: str | None) -> float:
    from valet.ci_artifacts import DEFAULT_TIMEOUT_MINUTES
    from valet.errors import UsageError

    if not text:
        return DEFAULT_TIMEOUT_MINUTES
    try:
        value = float(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 24 * 60:
        raise UsageError(f"ci-timeout-minutes {text!r} is not a number of minutes (0 to 1440)",
                         hint="for example `ci-timeout-minutes: 30`")
    return value



def release_config(req: Any, config_file: str | None, token: str | None) -> Any:
    """The release's configuration: the checked-out project's when there is one, else
    (the request job checks nothing out) the release commit's, read through the API."""
    from valet.config_load import find_config_file, load_config

    if config_file or find_config_file(Path.cwd(), req.path) is not None:
        return load_config(Path.cwd(), req.path, config_file=config_file)
    from valet.github_client import require_token
    from valet.publish_api import Rest, SdkAPI
    from valet.sdk_config import read_sdk_config

    sdk = SdkAPI(Rest(token=require_token(token, "github-token")), req.repo)
    return read_sdk_config(sdk, ref=req.sha, path=req.path)


def run(args: argparse.Namespace) -> int:
    import os
    from dataclasses import replace

    from valet import gha
    from valet.approval_issue import check_killswitch, submit, summary_markdown
    from valet.artifact_source import BuildOutputDir, release_manifest
    from valet.ci_artifacts import CiArtifacts
    from valet.github_client import connect, server_url
    from valet.issue_format import render_body, validate_request
    from valet.targets.docker import request_images

    inp = gather(args)
    req = inp.req
    token = gha.get_input("github-token") or os.environ.get("GITHUB_TOKEN") \
        or os.environ.get("GH_TOKEN")
    if token:
        gha.add_mask(token)
    # A docker target approves image digests: read now, from the registry the config names.
    req = replace(req, images=request_images(
        req, lambda: release_config(req, inp.config_file, token), env=os.environ))
    validate_request(req, server_url=server_url())  # bad data fails before any API call
    source: Any = None
    if inp.from_ci:
        # CI may take a while: nothing to wait for when a release-blocker stops us anyway.
        gh = connect(token)
        check_killswitch(gh, req.repo, force=inp.force)
        source = _ci_source(token, req, inp)
    elif inp.artifacts_dir is not None:
        source = BuildOutputDir(inp.artifacts_dir, build=req.build)
    elif inp.expect_files:
        gha.warning("no artifacts directory given: the request lists no files")
    files: dict[str, Path] = {}
    manifest = None
    if source is None and not inp.expect_files:
        from valet.manifest import build_manifest

        # Still a draft release (holding only manifest.json): the github target publishes it.
        gha.info("the config ships no files (artifacts: [], or craft's artifactProvider: none)")
        manifest = build_manifest(req.version, [], repo=req.repo, sha=req.sha)
    try:
        if source is not None:
            manifest, files = release_manifest(source, version=req.version, repo=req.repo,
                                               sha=req.sha, require_names=inp.require_names,
                                               expect_files=inp.expect_files)
            req = replace(req, artifacts=list(manifest.artifacts))
        # The whole request must fit one issue before anything is uploaded.
        render_body(replace(req, release_id=req.release_id or 9_999_999_999),
                    server_url=server_url())
        if not inp.from_ci:
            gh = connect(token) if (token or not inp.dry_run) else None
            if gh is not None:
                check_killswitch(gh, req.repo, force=inp.force)
        if manifest is not None and not inp.dry_run:
            ref = _upload(gh, token, req, inp, manifest, files)
            req = replace(req, release_id=ref.release_id)
    finally:
        if isinstance(source, CiArtifacts):
            source.close()
    result = submit(gh, req, publish_repo=inp.publish_repo, server_url=server_url(),
                    force=inp.force, dry_run=inp.dry_run, check_blockers=False)
    if inp.dry_run:
        gha.info(f"dry run: would {'update #' + str(result.number) if result.number else 'open'} "
                 f"{result.title!r} in {inp.publish_repo}")
        gha.print_untrusted(result.body)
    else:
        gha.info(f"{result.action} {result.url}")
    # The run's word that it wrote this request (valet.seal): the job uploads the file.
    sealed = "" if inp.dry_run or not result.number else \
        write_seal(inp.publish_repo, int(result.number), req, result.body)
    gha.set_outputs({"issue-number": str(result.number or ""), "issue-url": result.url or "",
                     "release-id": str(req.release_id or ""), "seal": sealed})
    gha.summary(summary_markdown(req, result))
    return 0


def write_seal(publish_repo: str, number: int, req: Any, body: str) -> str:
    """Write valet-request.json (valet.seal) for the run to upload as its artifact
    `valet-request`: publish reads it back to know this run wrote the request.
    Returns its path (under RUNNER_TEMP; the working directory outside Actions)."""
    import os

    from valet import gha, seal

    text = seal.make(publish_repo, number, req, body).dumps()
    folder = Path(os.environ.get("RUNNER_TEMP") or Path.cwd()) / "valet-seal"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / seal.FILE
    path.write_text(text, encoding="utf-8")
    gha.info(f"sealed the request in {path}: upload it as the artifact `{seal.ARTIFACT}`")
    return str(path)


def _ci_source(token: str | None, req: Any, inp: Inputs) -> Any:
    """The workflow artifacts of the release commit, as the config names them."""
    from valet import gha
    from valet.ci_artifacts import CiArtifacts, make_rules
    from valet.github_client import require_token, session

    rules = make_rules(inp.workflows, sha=req.sha, name=inp.artifact_name,
                       source="artifact_store (prepare's JSON)")
    return CiArtifacts(session=session(require_token(token)), repo=req.repo, sha=req.sha,
                       rules=rules, timeout=inp.ci_timeout_minutes * 60, own_run=gha.run_id())


def _upload(gh: Any, token: str | None, req: Any, inp: Inputs, manifest: Any,
            files: dict[str, Path]) -> Any:
    from valet import gha
    from valet.github_client import session
    from valet.store import open_store

    store = open_store(inp.store, gh=gh, session=session(token), repo=req.repo, tag=inp.tag,
                       version=req.version, artifact_name=inp.artifact_name)
    with gha.group(f"upload {len(files)} file(s) to the draft release {inp.tag}"):
        return store.upload(manifest, files, notes=req.changelog or None)
