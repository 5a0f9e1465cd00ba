"""`valet sandbox admin ACTION ...`: seed a running sandbox from the shell.

Each action is one call of the sandbox's admin API (``valet.sandbox.AdminClient``)
against the sandbox named by ``--url`` or ``VALET_SANDBOX_ADMIN_URL`` (which
``valet sandbox`` prints); ``create-bucket`` asks the sandbox's fake-gcs-server
(``STORAGE_EMULATOR_HOST``) instead. Tokens are printed alone on stdout, so
``TOKEN=$(valet sandbox admin create-token alice)`` works; other actions print
one line saying what now exists.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

ADMIN_URL_ENV = "VALET_SANDBOX_ADMIN_URL"
GCS_ENV = "STORAGE_EMULATOR_HOST"
PERMISSIONS = ("admin", "maintain", "write", "triage", "read", "none")


def register(sandbox_actions: argparse._SubParsersAction) -> None:
    p = sandbox_actions.add_parser(
        "admin", help="seed a running sandbox: orgs, users, repos, apps, tokens, CI, "
                      "trusted publishers, buckets",
        description="Seed a running sandbox through its admin API.")
    p.add_argument("--url", default=None,
                   help=f"the sandbox's admin URL (default: ${ADMIN_URL_ENV})")
    actions = p.add_subparsers(dest="admin_action", metavar="ACTION")

    a = actions.add_parser("create-org", help="an organization")
    a.add_argument("login")
    a = actions.add_parser("create-user", help="a user (or an organization or bot)")
    a.add_argument("login")
    a.add_argument("--type", default="User", choices=("User", "Organization", "Bot"))
    a = actions.add_parser("create-token", help="a new token for a login (printed)")
    a.add_argument("login")
    a = actions.add_parser("create-app", help="a GitHub App; prints a token acting as SLUG[bot]")
    a.add_argument("slug")
    a.add_argument("--repo", action="append", default=[], metavar="OWNER/NAME",
                   help="a repository the app may use (repeatable)")
    a.add_argument("--permission", default="write", choices=PERMISSIONS,
                   help="its permission on those repositories (default write)")
    a = actions.add_parser("create-team", help="a team of an organization")
    a.add_argument("org")
    a.add_argument("slug")
    a.add_argument("--member", action="append", default=[], metavar="LOGIN",
                   help="a member (repeatable)")
    a = actions.add_parser("create-repo", help="a repository with one commit")
    a.add_argument("full_name", metavar="OWNER/NAME")
    a.add_argument("--from", dest="source_dir", type=Path, default=None, metavar="DIR",
                   help="commit the files of DIR (default: a README.md)")
    a.add_argument("--default-branch", default="main")
    a.add_argument("--private", action="store_true")
    a.add_argument("--description", default=None)
    a = actions.add_parser("set-permission",
                           help="a user's (or an org/team's) permission on a repository")
    a.add_argument("full_name", metavar="OWNER/NAME")
    a.add_argument("login", metavar="LOGIN|ORG/TEAM")
    a.add_argument("permission", choices=PERMISSIONS)
    a = actions.add_parser("protect-branch",
                           help="protect a branch with a ruleset (reviewed pull requests)")
    a.add_argument("full_name", metavar="OWNER/NAME")
    a.add_argument("branch")
    a.add_argument("--off", action="store_true", help="lift the protection")
    a.add_argument("--reviews", type=int, default=1, metavar="N",
                   help="approving reviews a pull request needs (default 1; -1: no pull "
                        "request rule, only no force-push and no deletion)")
    a.add_argument("--require-check", action="append", default=[], metavar="CONTEXT",
                   help="a status check that must pass before the branch is updated")
    a.add_argument("--bypass", action="append", default=[], metavar="APP|LOGIN",
                   help="an App (slug) or user on the ruleset's bypass list (it must exist)")
    a = actions.add_parser("set-ci", help="commit statuses and check runs on a commit")
    a.add_argument("full_name", metavar="OWNER/NAME")
    a.add_argument("ref", metavar="REF", help="a sha, branch or tag")
    a.add_argument("--status", action="append", default=[], metavar="CONTEXT=STATE",
                   help="a commit status: STATE is success, failure, error or pending")
    a.add_argument("--check", action="append", default=[], metavar="NAME=RESULT",
                   help="a check run: RESULT is a conclusion (success, failure, neutral, "
                        "skipped, cancelled, timed_out) or queued / in_progress")
    a = actions.add_parser("create-pull", help="a pull request with labels (changelog tests)")
    a.add_argument("full_name", metavar="OWNER/NAME")
    a.add_argument("title")
    a.add_argument("--user", required=True, help="its author")
    a.add_argument("--label", action="append", default=[], help="a label (repeatable)")
    a.add_argument("--head", default=None, help="its head branch (an open pull request)")
    a.add_argument("--merged-as", default=None, metavar="REF",
                   help="the commit it landed as on the base branch (a merged pull request)")
    a = actions.add_parser("add-trusted-publisher",
                           help="register a workflow as a package's trusted publisher "
                                "(needs --with trusted-publishing)")
    a.add_argument("registry", choices=("pypi", "npm", "crates"))
    a.add_argument("package")
    a.add_argument("full_name", metavar="OWNER/NAME", help="the publish repository")
    a.add_argument("--workflow", default="publish.yml",
                   help="the workflow's file name under .github/workflows (default publish.yml)")
    env = a.add_mutually_exclusive_group()
    env.add_argument("--environment", default="production",
                     help="the environment the job runs in (default production)")
    env.add_argument("--any-environment", action="store_true",
                     help="any environment, or none (what the registries allow, and advise "
                          "against)")
    a = actions.add_parser("create-oidc-token",
                           help="a publish job's ID-token request token (printed), for "
                                "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    a.add_argument("full_name", metavar="OWNER/NAME", help="the repository the job runs in")
    a.add_argument("--workflow", default="publish.yml",
                   help="the workflow's file name under .github/workflows (default publish.yml)")
    a.add_argument("--environment", default="production",
                   help="the job's environment (default production; '' for none)")
    a.add_argument("--ref", default="refs/heads/main", help="the ref the run is on")
    a = actions.add_parser("create-bucket",
                           help="a bucket on the sandbox's fake-gcs-server (needs --with gcs)")
    a.add_argument("bucket")
    a.add_argument("--gcs-url", default=None,
                   help=f"the server (default: ${GCS_ENV}, which `valet sandbox --with gcs` "
                        "exports)")
    a = actions.add_parser("requests", help="the sandbox's request log, oldest first")
    a.add_argument("--json", action="store_true", help="as JSON")
    a.add_argument("--clear", action="store_true", help="empty the log afterwards")
    p.set_defaults(func=run)


def _pairs(values: list[str], what: str) -> list[tuple[str, str]]:
    from valet.errors import UsageError

    out = []
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key or not val:
            raise UsageError(f"{what} {value!r} is not NAME=VALUE",
                             hint=f"write it as {what.lstrip('-')}=success, e.g. {what} ci=success")
        out.append((key, val))
    return out


def _check_runs(values: list[str]) -> list[dict[str, Any]]:
    runs = []
    for name, result in _pairs(values, "--check"):
        if result in ("queued", "in_progress"):
            runs.append({"name": name, "status": result})
        else:
            runs.append({"name": name, "status": "completed", "conclusion": result})
    return runs


def _client(url: str | None) -> Any:
    from valet.errors import UsageError
    from valet.sandbox.client import AdminClient

    url = url or os.environ.get(ADMIN_URL_ENV)
    if not url:
        raise UsageError("no sandbox to talk to",
                         hint=f"start one with `valet sandbox` and paste its export lines "
                              f"(they set {ADMIN_URL_ENV}), or pass --url")
    return AdminClient(url.rstrip("/").removesuffix("/_sandbox"))


def _do(client: Any, args: argparse.Namespace) -> str:
    action = args.admin_action
    if action == "create-org":
        return f"organization {client.create_org(args.login)['login']}"
    if action == "create-user":
        return f"{args.type.lower()} {client.create_user(args.login, type=args.type)['login']}"
    if action == "create-token":
        return str(client.create_token(args.login))
    if action == "create-app":
        return str(client.create_app(args.slug, repos=args.repo, permission=args.permission))
    if action == "create-team":
        team = client.create_team(args.org, args.slug, args.member)
        return f"team {team['org']}/{team['slug']}: {', '.join(team['members']) or '(no members)'}"
    if action == "create-repo":
        repo = client.create_repo(args.full_name, source_dir=args.source_dir,
                                  default_branch=args.default_branch, private=args.private,
                                  description=args.description)
        return f"repository {repo['full_name']}: {repo['clone_url']}"
    if action == "set-permission":
        client.set_permission(args.full_name, args.login, args.permission)
        return f"{args.login}: {args.permission} on {args.full_name}"
    if action == "protect-branch":
        client.protect_branch(args.full_name, args.branch, protected=not args.off,
                              reviews=None if args.reviews < 0 else args.reviews,
                              checks=args.require_check, bypass=args.bypass)
        return f"{args.full_name} {args.branch}: {'not ' if args.off else ''}protected"
    if action == "set-ci":
        statuses = [{"context": c, "state": s} for c, s in _pairs(args.status, "--status")]
        sha = client.set_ci(args.full_name, args.ref, statuses=statuses,
                            check_runs=_check_runs(args.check))
        return f"{args.full_name} {sha}: {len(statuses)} status(es), {len(args.check)} check run(s)"
    if action == "create-pull":
        pull = client.create_pull(args.full_name, args.title, user=args.user, labels=args.label,
                                  head=args.head, merged_as=args.merged_as)
        return f"pull request #{pull['number']}: {pull['html_url']}"
    if action == "add-trusted-publisher":
        environment = None if args.any_environment else args.environment
        pub = client.add_trusted_publisher(args.registry, args.package, args.full_name,
                                           workflow=args.workflow, environment=environment)
        where = (f"environment {pub['environment']}" if pub["environment"]
                 else "any environment")
        return (f"trusted publisher of {pub['registry']} {pub['package']}: "
                f"{pub['repository']} .github/workflows/{pub['workflow']} ({where})")
    if action == "create-oidc-token":
        return str(client.create_oidc_request_token(
            args.full_name, ref=args.ref, environment=args.environment or None,
            workflow=args.workflow))
    assert action == "requests"
    log = client.request_log()
    if args.clear:
        client.clear_request_log()
    if args.json:
        return json.dumps(log, indent=2)
    return "\n".join(f"{r['method']} {r['full_path']} {r['status']} {r.get('user') or '-'}"
                     for r in log)


def run(args: argparse.Namespace) -> int:
    from valet.errors import SandboxError, UsageError
    from valet.sandbox.client import SandboxAdminError

    if not getattr(args, "admin_action", None):
        raise UsageError("valet sandbox admin needs an action",
                         hint="see `valet sandbox admin --help`")
    if args.admin_action == "create-bucket":
        _print(create_bucket(args.gcs_url or os.environ.get(GCS_ENV), args.bucket))
        return 0
    client = _client(args.url)
    try:
        out = _do(client, args)
    except SandboxAdminError as exc:
        raise SandboxError(str(exc), hint="check the names: the sandbox answered as shown") \
            from None
    except OSError as exc:  # requests' ConnectionError is an OSError
        raise SandboxError(f"cannot reach the sandbox at {client.base}: {exc}",
                           hint="is `valet sandbox` still running? Its export lines name "
                                "the URL") from None
    finally:
        client.close()
    _print(out)
    return 0


def _print(out: str) -> None:
    from valet import gha

    if out:
        # names and tokens the sandbox made: data, fenced off from workflow commands
        if gha.on_github():
            gha.print_untrusted(out)
        else:
            sys.stdout.write(out + "\n")


def create_bucket(url: str | None, bucket: str) -> str:
    """A bucket on fake-gcs-server (the gcs target uploads into an existing bucket, as on
    Google Cloud Storage)."""
    import requests

    from valet.errors import SandboxError, UsageError

    if not url:
        raise UsageError("no fake-gcs-server to talk to",
                         hint=f"start one with `valet sandbox --with gcs` and paste its export "
                              f"lines (they set {GCS_ENV}), or pass --gcs-url")
    base = url.rstrip("/")
    try:
        with requests.Session() as http:
            http.trust_env = False  # loopback: never through a proxy
            resp = http.post(f"{base}/storage/v1/b", params={"project": "valet-sandbox"},
                             json={"name": bucket}, timeout=30)
    except OSError as exc:
        raise SandboxError(f"cannot reach fake-gcs-server at {base}: {exc}",
                           hint="is `valet sandbox --with gcs` still running?") from None
    if resp.status_code >= 400:
        raise SandboxError(f"fake-gcs-server refused bucket {bucket!r}: {resp.status_code} "
                           f"{resp.text[:300]}",
                           hint="bucket names are 3-63 lowercase letters, digits, '-', '_' "
                                "and '.'; each exists once")
    return f"bucket {resp.json().get('name', bucket)}: {base}/storage/v1/b/{bucket}"
