"""`valet request`: open or update the approval issue in the publish repository.

Every option is also an action input (INPUT_<NAME>, set through env: in
action-request-issue/action.yml); a flag given on the command line wins.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

# (flag/input name, help) — each becomes --NAME and reads INPUT_NAME
OPTIONS: list[tuple[str, str]] = [
    ("publish-repo", "owner/name of the publish repository (default: <owner>/publish)"),
    ("repo", "owner/name of the SDK repository (default: $GITHUB_REPOSITORY)"),
    ("version", "the version being released"),
    ("sha", "the release commit (40 hex)"),
    ("branch", "the release branch"),
    ("merge-target", "the branch the release merges into (default: the repository's default)"),
    ("path", "monorepo sub-path of the project (default .)"),
    ("manifest", "path to manifest.json (name, size, sha256 of every artifact)"),
    ("changelog", "the changelog text of this release"),
    ("changelog-file", "a file holding the changelog (for changelogs too large for an input)"),
    ("targets", "target ids, comma or space separated (default: the config's targets)"),
    ("release-id", "id of the draft release holding the artifacts"),
    ("previous-tag", "the previous release's tag, for the changes link"),
    ("requested-by", "the requesting login (default: $GITHUB_ACTOR)"),
    ("config", "config file relative to the project (default .valet.yml, then .craft.yml)"),
]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "request",
        help="open or update the approval issue in the publish repository",
        description="Render the approval request (targets, artifacts with sha256, changelog) "
        "and open it as an issue in the publish repository, or update the open one with "
        "the same title in place (keeping ticked targets). An open `release-blocker` issue "
        "in the SDK repository stops the request unless --force.",
    )
    for name, text in OPTIONS:
        p.add_argument(f"--{name}", dest=name.replace("-", "_"), default=None, help=text)
    p.add_argument("--force", action="store_true", default=None,
                   help="request even when a release-blocker issue is open")
    p.add_argument("--dry-run", action="store_true", default=None,
                   help="print the issue body; create or change nothing")
    p.set_defaults(func=run)


def _opt(args: argparse.Namespace, name: str) -> str | None:
    from valet import gha

    value = getattr(args, name.replace("-", "_"), None)
    if value is not None and str(value).strip() != "":
        return str(value).strip()
    return gha.get_input(name)


def split_targets(text: str) -> list[str]:
    return [part for part in text.replace(",", " ").split() if part]


def _int(value: str | None, what: str) -> int | None:
    from valet.errors import UsageError

    if value is None:
        return None
    if not value.isdigit() or int(value) <= 0:
        raise UsageError(f"{what} {value!r} is not a positive number")
    return int(value)


def _read_changelog(args: argparse.Namespace) -> str:
    from valet.errors import UsageError

    text = _opt(args, "changelog") or ""
    path = _opt(args, "changelog-file")
    if path:
        if text:
            raise UsageError("give the changelog as text or as a file, not both")
        try:
            return Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read the changelog file {path}: {exc.strerror}") from None
    return text


def _config_facts(path: str, config_file: str | None, need_targets: bool) -> tuple[list[str], str]:
    """(target keys, artifact store kind) from the project's config."""
    from valet.errors import ConfigError

    try:
        from valet.config_load import load_config
    except ImportError:  # pragma: no cover - config_load ships with valet
        if need_targets:
            raise ConfigError("no targets given and the config loader is not available",
                              hint="pass the `targets` input") from None
        return [], "github-release"
    try:
        config = load_config(Path.cwd(), path, config_file=config_file)
    except ConfigError:
        if need_targets:
            raise
        return [], "github-release"
    return [t.key for t in config.targets], config.artifact_store.kind


def build_request(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """The Request from flags/inputs/env, plus the options of submit()."""
    import os

    from valet import gha
    from valet.errors import ArtifactError, UsageError
    from valet.issue_format import normalize_path
    from valet.manifest import Manifest, loads_manifest
    from valet.request import Request, TargetState

    repo = _opt(args, "repo") or os.environ.get("GITHUB_REPOSITORY")
    if not repo or "/" not in repo:
        raise UsageError("the SDK repository is unknown",
                         hint="run in GitHub Actions (GITHUB_REPOSITORY) or pass --repo owner/name")
    publish_repo = _opt(args, "publish-repo") or f"{repo.split('/')[0]}/publish"
    version = _opt(args, "version")
    if not version:
        raise UsageError("no version given", hint="pass `version: ${{ steps.prepare.outputs.version }}`")
    sha = _opt(args, "sha")
    if not sha:
        raise UsageError("no release commit given",
                         hint="pass `sha: ${{ steps.prepare.outputs.sha }}`")
    requested_by = _opt(args, "requested-by") or os.environ.get("GITHUB_ACTOR")
    if not requested_by:
        raise UsageError("the requester is unknown",
                         hint="run in GitHub Actions (GITHUB_ACTOR) or pass --requested-by LOGIN")
    path = normalize_path(_opt(args, "path"))

    given = _opt(args, "targets")
    keys, store = _config_facts(path, _opt(args, "config"), need_targets=not given)
    targets = split_targets(given) if given else keys
    if not targets:
        raise UsageError("the request names no target",
                         hint="add targets to .valet.yml or pass the `targets` input")

    manifest: Manifest | None = None
    manifest_path = _opt(args, "manifest")
    if manifest_path:
        try:
            text = Path(manifest_path).read_bytes()
        except OSError as exc:
            raise ArtifactError(f"cannot read the manifest {manifest_path}: {exc.strerror}",
                                hint="pass `manifest: ${{ steps.prepare.outputs.manifest }}`") from None
        manifest = loads_manifest(text)
        if manifest.version != version:
            raise ArtifactError(f"manifest.json is for version {manifest.version!r}, not {version!r}")
        if manifest.sha and manifest.sha != sha:
            raise ArtifactError(f"manifest.json was built from {manifest.sha}, not {sha}")
        if manifest.repo and manifest.repo.lower() != repo.lower():
            raise ArtifactError(f"manifest.json belongs to {manifest.repo}, not {repo}")
    else:
        gha.warning("no manifest given: the request lists no artifacts")

    req = Request(
        repo=repo, path=path, version=version, requested_by=requested_by,
        merge_target=_opt(args, "merge-target"), sha=sha.lower(),
        targets=[TargetState(t) for t in targets],
        artifacts=list(manifest.artifacts) if manifest else [],
        branch=_opt(args, "branch"), changelog=_read_changelog(args), run_url=gha.run_url(),
        run_id=gha.run_id(),  # publish reads who triggered this run from the Actions API
        release_id=_int(_opt(args, "release-id"), "release id"), store=store,
        previous=_opt(args, "previous-tag"),
    )
    force = args.force if args.force is not None else gha.get_bool_input("force")
    dry_run = args.dry_run if args.dry_run is not None else gha.get_bool_input("dry-run")
    return req, {"publish_repo": publish_repo, "force": force, "dry_run": dry_run}


def run(args: argparse.Namespace) -> int:
    import os

    from valet import gha
    from valet.github_client import connect, server_url
    from valet.issue_format import validate_request
    from valet.requester import submit, summary_markdown

    req, opts = build_request(args)
    from valet.targets.docker import request_images

    req.images = request_images(req, env=os.environ, config_file=_opt(args, "config"))
    # Fail on bad data before any API call.
    validate_request(req, server_url=server_url())
    token = gha.get_input("github-token") or os.environ.get("GITHUB_TOKEN") \
        or os.environ.get("GH_TOKEN")
    gh = connect(token) if (token or not opts["dry_run"]) else None
    result = submit(gh, req, publish_repo=opts["publish_repo"], server_url=server_url(),
                    force=opts["force"], dry_run=opts["dry_run"])
    if opts["dry_run"]:
        gha.info(f"dry run: would {'update #' + str(result.number) if result.number else 'open'} "
                 f"{result.title!r} in {opts['publish_repo']}")
        gha.print_untrusted(result.body)
    else:
        gha.info(f"{result.action} {result.url}")
    gha.set_outputs({"issue-number": str(result.number or ""), "issue-url": result.url or ""})
    gha.summary(summary_markdown(req, result))
    return 0
