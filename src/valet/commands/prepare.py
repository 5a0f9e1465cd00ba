"""`valet prepare [VERSION]`: release branch, bump, changelog, one commit, push."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prepare",
        help="create and push the release branch with the bumped files and the changelog",
        description="Resolve the version, create <prefix>/<version> from the merge target "
        "with the bumped files and changelog in one commit `release: <version>` and push it. "
        "No project code runs here: the build runs in a job of its own (`valet build`), a "
        "custom bump command too (`valet bump`, then --bumped). The request is rendered "
        "first: one that cannot fit a GitHub issue is refused before the push. --dry-run "
        "prints the plan and changes nothing.",
    )
    p.add_argument("version", nargs="?", default=None,
                   help="semver, major/minor/patch, auto, calver, or empty (config decides)")
    p.add_argument("--path", default=None, help="monorepo sub-path of the project (default .)")
    p.add_argument("--merge-target", default=None,
                   help="branch to release from (default: the remote's default branch)")
    p.add_argument("--dry-run", action="store_true", default=None,
                   help="print the plan; change nothing")
    p.add_argument("--json", action="store_true",
                   help="print the plan/result as one JSON object on stdout; logs (and a "
                   "rehearsal build's output) go to stderr")
    p.add_argument("--no-push", action="store_true",
                   help="commit locally; push nothing")
    p.add_argument("--config", default=None, help="config file (default .valet.yml/.craft.yml)")
    p.add_argument("--repo", default=None, help="owner/name of the repository on GitHub")
    p.add_argument("--bumped", default=None, metavar="DIR",
                   help="the token-free bump job's files (`valet bump --out-dir DIR`)")
    p.add_argument("--same-job-build", action="store_true", default=None,
                   help="rehearsal: also run the pre-release command and the build here, "
                   "where the token is reachable (the request says so)")
    p.add_argument("--out-dir", default=None,
                   help="with --same-job-build: where the build's files go (new or empty)")
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
        prepared_json,
        render_plan,
        summary_markdown,
    )

    # Action inputs arrive as INPUT_* (set through env: in action.yml); flags win.
    spec = args.version if args.version is not None else gha.get_input("version")
    dry_run = args.dry_run if args.dry_run is not None else gha.get_bool_input("dry-run")
    build_here = args.same_job_build if args.same_job_build is not None \
        else gha.get_bool_input("same-job-build")
    bumped = args.bumped or gha.get_input("bumped-files")
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
        build_here=build_here,
        bumped=Path(bumped) if bumped else None,
    )
    with logs_to_stderr(args.json):
        plan, result = prepare(opts)
        if os.environ.get("GITHUB_OUTPUT"):
            gha.set_outputs(outputs(plan, result))
        gha.summary(summary_markdown(plan, result))
        if not args.json:
            gha.print_untrusted(render_plan(plan))
            if result is None:
                gha.info("dry run: nothing was changed")
            else:
                gha.info(f"release commit {result.sha} on {plan.branch}"
                         + (" (pushed)" if result.pushed else " (not pushed)"))
                for a in result.artifacts:
                    gha.info(f"  {a.name}  {a.size} bytes  sha256 {a.sha256}")
                if result.artifacts_dir:
                    gha.info(f"built files: {result.artifacts_dir}")
    if args.json:
        print(json.dumps(prepared_json(plan, result), indent=2, sort_keys=True))
    return 0
