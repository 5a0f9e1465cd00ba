"""`valet bump [VERSION]`: run the config's pre-release command where no token is."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bump",
        help="run the pre-release command (project code) in the token-free bump job",
        description="Resolve the version as prepare does (from this checkout alone: no "
        "fetch, no token), apply valet's own version bumps and changelog, run the config's "
        "pre-release command, and write the files it changed (bump.json + files/) to a new "
        "directory for actions/upload-artifact. The prepare job applies them with --bumped, "
        "and only the files the config names (bump_files).",
    )
    p.add_argument("version", nargs="?", default=None,
                   help="semver, major/minor/patch, auto, calver, or empty (config decides)")
    p.add_argument("--path", default=None, help="monorepo sub-path of the project (default .)")
    p.add_argument("--merge-target", default=None,
                   help="branch to release from (default: the checkout's origin/HEAD)")
    p.add_argument("--config", default=None, help="config file (default .valet.yml/.craft.yml)")
    p.add_argument("--out-dir", default=None, help="where bump.json and files/ go (new or "
                   "empty; default: a new directory under RUNNER_TEMP)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from valet import gha
    from valet.prepare import PrepareOptions, bump_job

    spec = args.version if args.version is not None else gha.get_input("version")
    opts = PrepareOptions(
        spec=spec, path=args.path or gha.get_input("path") or ".",
        merge_target=args.merge_target or gha.get_input("merge-target"),
        config_file=args.config or gha.get_input("config"), offline=True, push=False)
    plan, out, changed = bump_job(opts, Path(args.out_dir) if args.out_dir else None)
    for rel in changed:
        gha.info(f"  changed by the pre-release command: {rel}")
    gha.info(f"bump job output for {plan.version}: {out}")
    if os.environ.get("GITHUB_OUTPUT"):
        gha.set_outputs({"dir": str(out), "version": plan.version, "files": str(len(changed))})
    gha.summary(f"### Bump {gha.md_escape(plan.version)} (this job holds no token)\n\n"
                + ("\n".join(f"- `{gha.md_escape(r)}`" for r in changed)
                   or "The pre-release command changed no file."))
    return 0
