"""`valet config check [DIR] [--json] [--path P] [--file F]`: validate and show the config."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="check the project configuration")
    actions = p.add_subparsers(dest="config_action", metavar="ACTION")
    check = actions.add_parser(
        "check", help="validate .valet.yml (or .craft.yml) and print the normalized config")
    check.add_argument("dir", nargs="?", default=".", metavar="DIR",
                       help="the repository (default: the current directory)")
    check.add_argument("--path", default=".",
                       help="the project's directory inside the repository (monorepo)")
    check.add_argument("--file", dest="config_file", default=None,
                       help="read this config file (relative to the project directory)")
    check.add_argument("--json", action="store_true", help="print the config as JSON")
    check.set_defaults(func=run)
    p.set_defaults(func=run)


def _artifacts_line(data: dict[str, Any]) -> str:
    store = data["artifact_store"]
    if not data["artifacts"]:
        return "(none: the release ships no files)"
    if store["kind"] != "workflow-artifacts":
        return ", ".join(data["artifacts"]) + " (built by the build job, kept in the draft release)"
    taken = "; ".join(f"{'any workflow' if wf == '*' else 'workflow ' + wf}: {', '.join(names)}"
                      for wf, names in store["workflows"].items())
    return ("from the release commit's CI, waited for by valet request: "
            + (taken or f"the workflow artifact named {store['name'] or 'after the commit sha'}"))


def render_text(data: dict[str, Any]) -> str:
    lines = [f"config: {data['source']} (project path: {data['path']})", "targets:"]
    for t in data["targets"] or []:
        extra = []
        if t["include_names"]:
            extra.append(f"include {t['include_names']}")
        if t["exclude_names"]:
            extra.append(f"exclude {t['exclude_names']}")
        extra += [f"{k}={v}" for k, v in sorted(t["options"].items())]
        lines.append(f"  - {t['key']}" + (f"  ({'; '.join(extra)})" if extra else ""))
    if not data["targets"]:
        lines.append("  (none)")
    versioning = data["versioning"]
    calver = (f" (format {versioning['calver_format']}, offset "
              f"{versioning['calver_offset_days']} days)"
              if versioning["policy"] == "calver" else "")
    lines += [
        f"changelog: {data['changelog']['policy']} ({data['changelog']['file']})",
        f"versioning: {versioning['policy']}{calver}",
        f"release branch: {data['release_branch_prefix']}/<version>",
        f"tag: {data['tag_prefix']}<version>",
        "artifacts: " + _artifacts_line(data),
    ]
    if data["build"]:
        lines.append("build: " + " && ".join(data["build"]))
    if data["require_names"]:
        lines.append("required names: " + ", ".join(data["require_names"]))
    for key in ("pre_release_command", "post_release_command", "github", "min_version"):
        if data.get(key):
            lines.append(f"{key.replace('_', ' ')}: {data[key]}")
    for note in data.get("notes") or []:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    import json
    import sys
    from pathlib import Path

    from valet import gha
    from valet.config_load import load_config
    from valet.errors import UsageError

    if getattr(args, "config_action", None) != "check":
        raise UsageError("valet config needs an action", hint="use: valet config check [DIR]")
    root = Path(args.dir)
    if not root.is_dir():
        raise UsageError(f"{args.dir} is not a directory")
    config = load_config(root, args.path, config_file=args.config_file, file_flag="--file")
    data = config.to_json()
    if args.json:
        # every line of indented JSON starts with a space, a bracket or a quote, so no
        # value can start a workflow command: printed raw so stdout stays valid JSON
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        # the file's values are data: fenced so none acts as a workflow command
        gha.print_untrusted(render_text(data))
    return 0
