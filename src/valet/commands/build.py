"""`valet build`: run the project's build for the release commit, in a job that holds no token."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "build",
        help="build the release commit into a fresh directory (the token-free build job)",
        description="Check out the release commit if the checkout is elsewhere, run the "
        "config's `build` commands with this job's own tools (never valet's runtime), and "
        "copy the files they wrote that match `artifacts` into a new flat directory for "
        "actions/upload-artifact. A wheel, sdist, npm tarball or crate whose name carries "
        "another version is refused. Reads prepare's JSON (--from, or the `prepared` input).",
    )
    p.add_argument("--from", dest="from_file", default=None, metavar="FILE",
                   help="prepare's JSON (`valet prepare --json > FILE`; - for stdin)")
    p.add_argument("--version", default=None, help="the version (default: from prepare's JSON)")
    p.add_argument("--sha", default=None, help="the release commit (default: from prepare's JSON)")
    p.add_argument("--path", default=None, help="monorepo sub-path of the project (default .)")
    p.add_argument("--config", default=None, help="config file (default .valet.yml/.craft.yml)")
    p.add_argument("--out-dir", default=None, help="where the files go (new or empty; default: "
                   "a new directory under RUNNER_TEMP)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from valet import gha
    from valet.build import build_release, checkout_release_commit
    from valet.commands.request import read_prepared
    from valet.config_load import load_config
    from valet.errors import UsageError
    from valet.git import Git
    from valet.manifest import artifact_for

    prepared = read_prepared(args)
    version = args.version or prepared.get("version")
    sha = args.sha or prepared.get("sha")
    if not isinstance(version, str) or not version:
        raise UsageError("no version given",
                         hint="pass prepare's JSON (`prepared: ${{ needs.prepare.outputs.prepared "
                         "}}` or --from), or --version")
    if not isinstance(sha, str) or not sha:
        raise UsageError("no release commit given", hint="pass prepare's JSON, or --sha")
    path = args.path or gha.get_input("path") or str(prepared.get("path") or ".")
    root = Git(Path.cwd()).toplevel()
    checkout_release_commit(root, sha)
    config = load_config(root, path, config_file=args.config or gha.get_input("config"))
    previous = str(prepared.get("previous_version") or "")
    values = {"VALET_VERSION": version, "VALET_PREVIOUS_VERSION": previous,
              "VALET_BRANCH": str(prepared.get("branch") or ""),
              "VALET_TAG": str(prepared.get("tag") or ""), "VALET_SHA": sha,
              "CRAFT_NEW_VERSION": version, "CRAFT_OLD_VERSION": previous}
    project = (root / path).resolve() if path != "." else root
    out, files = build_release(config, project, version=version, values=values,
                               out_dir=Path(args.out_dir) if args.out_dir else None)
    arts = [artifact_for(f) for f in files]
    for a in arts:
        gha.info(f"  {a.name}  {a.size} bytes  sha256 {a.sha256}")
    gha.info(f"built files: {out}")
    if os.environ.get("GITHUB_OUTPUT"):
        gha.set_outputs({"dir": str(out), "files": str(len(arts))})
    esc = gha.md_escape
    gha.summary("\n".join([
        f"### Built {esc(version)} at `{sha[:12]}` (this job holds no token)", "",
        "| file | size | sha256 |", "|---|---:|---|",
        *(f"| {esc(a.name)} | {a.size} | `{a.sha256}` |" for a in arts), "",
        "The request job computes these digests again from the uploaded files."]))
    return 0
