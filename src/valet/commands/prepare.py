"""`valet prepare [VERSION]`: release branch, bump, changelog, build, manifest, upload."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prepare",
        help="create the release branch, bump, build and upload the artifacts",
        description="Resolve the version, create <prefix>/<version> from the merge target "
        "with the bumped files and changelog in one commit `release: <version>`, run the "
        "build, write manifest.json and upload everything to the artifact store. "
        "--dry-run prints the plan and changes nothing.",
    )
    p.add_argument("version", nargs="?", default=None,
                   help="semver, major/minor/patch, auto, calver, or empty (config decides)")
    p.add_argument("--path", default=None, help="monorepo sub-path of the project (default .)")
    p.add_argument("--merge-target", default=None,
                   help="branch to release from (default: the remote's default branch)")
    p.add_argument("--dry-run", action="store_true", default=None,
                   help="print the plan; change nothing")
    p.add_argument("--json", action="store_true", help="print the plan/result as one JSON object")
    p.add_argument("--no-push", action="store_true",
                   help="commit and build locally; push nothing, upload nothing")
    p.add_argument("--config", default=None, help="config file (default .valet.yml/.craft.yml)")
    p.add_argument("--repo", default=None, help="owner/name of the repository on GitHub")
    p.add_argument("--out-dir", default=None, help="where to write manifest.json")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    import os
    from pathlib import Path

    from valet import gha
    from valet.prepare import (
        PrepareOptions,
        logs_to_stderr,
        outputs,
        prepare,
        render_plan,
        summary_markdown,
    )

    # Action inputs arrive as INPUT_* (set through env: in action.yml); flags win.
    spec = args.version if args.version is not None else gha.get_input("version")
    dry_run = args.dry_run if args.dry_run is not None else gha.get_bool_input("dry-run")
    token = gha.get_input("github-token") or os.environ.get("GITHUB_TOKEN") \
        or os.environ.get("GH_TOKEN")
    if token:
        gha.add_mask(token)
    opts = PrepareOptions(
        spec=spec,
        path=args.path or gha.get_input("path") or ".",
        merge_target=args.merge_target or gha.get_input("merge-target"),
        dry_run=dry_run,
        push=not args.no_push,
        config_file=args.config or gha.get_input("config"),
        token=token,
        repo=args.repo,
        out_dir=Path(args.out_dir) if args.out_dir else None,
    )
    with logs_to_stderr(args.json):
        plan, result = prepare(opts)
    if os.environ.get("GITHUB_OUTPUT"):
        gha.set_outputs(outputs(plan, result))
    gha.summary(summary_markdown(plan, result))
    if args.json:
        data = plan.to_json()
        if result is not None:
            data.update({"sha": result.sha, "manifest": str(result.manifest_path),
                         "release_id": result.release_id, "pushed": result.pushed,
                         "artifacts": [a.to_json() for a in result.manifest.artifacts]})
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        gha.print_untrusted(render_plan(plan))
        if result is not None:
            gha.info(f"release commit {result.sha} on {plan.branch}"
                     + (" (pushed)" if result.pushed else " (not pushed)"))
            for a in result.manifest.artifacts:
                gha.info(f"  {a.name}  {a.size} bytes  sha256 {a.sha256}")
            gha.info(f"manifest: {result.manifest_path}")
        else:
            gha.info("dry run: nothing was changed")
    return 0
