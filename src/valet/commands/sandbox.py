"""`valet sandbox`: run the local GitHub fake, the registries and the services asked for.

``--with`` / ``--all`` pick the services beside the GitHub fake (the catalog is
``valet.sandbox.catalog``; pypiserver and verdaccio run unless ``--no-registries``).
Prints, per service, its endpoints and the ``export`` lines that point the actions,
the targets (and PyGithub, git, twine, npm, skopeo, boto3) at it, then serves until
Ctrl-C, SIGTERM or SIGHUP and stops everything it started.
"""

from __future__ import annotations

import argparse
import errno
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import Any

SEED_USER = "octocat"
SEED_APP = "valet-release"


def register(sub: argparse._SubParsersAction) -> None:
    from valet.sandbox import catalog

    services = "\n".join(f"  {spec.name:<19} {spec.summary}" for spec in catalog.SERVICES.values())
    groups = "\n".join(f"  {name:<19} {', '.join(names)}" for name, names in catalog.GROUPS.items())
    p = sub.add_parser(
        "sandbox",
        help="run the local GitHub + registries sandbox in the foreground",
        description="Run a stateful GitHub REST fake on real git (and pypiserver + verdaccio, "
                    "and the services asked for with --with) on 127.0.0.1, print the "
                    "environment pointing at it, serve until Ctrl-C/SIGTERM.",
        epilog=f"services (--with NAME,...):\n{services}\ngroups:\n{groups}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--port", type=int, default=0, help="port to listen on (default: any free)")
    p.add_argument("--state", type=Path, default=None, metavar="DIR",
                   help="keep repos and state in DIR across restarts (default: a temp dir)")
    p.add_argument("--no-registries", action="store_true",
                   help="do not start pypiserver and verdaccio")
    p.add_argument("--with", dest="with_services", action="append", default=[],
                   metavar="NAME,...",
                   help=f"also start these services (repeatable): {catalog.known()}")
    p.add_argument("--all", dest="all_services", action="store_true",
                   help="start every service (with --no-registries: all but the registries)")
    p.set_defaults(func=run)
    from valet.commands import sandbox_admin

    sandbox_admin.register(p.add_subparsers(dest="sandbox_action", metavar="ACTION"))


def services_of(args: argparse.Namespace) -> tuple[str, ...]:
    """The services the command line asks for, in start order."""
    from valet.sandbox import catalog

    return catalog.resolve(args.with_services, everything=args.all_services,
                           registries=not args.no_registries)


def _token_for(state: dict[str, Any], login: str) -> str | None:
    for token, who in state.get("tokens", {}).items():
        if who.lower() == login.lower() and not token.startswith("oidc_"):
            return str(token)
    return None


def seed(sandbox: Any) -> dict[str, str]:
    """A user and an app with tokens (reused when the state already has them)."""
    state = sandbox.admin.state()
    user_token = _token_for(state, SEED_USER)
    if user_token is None:
        sandbox.admin.create_user(SEED_USER)
        user_token = sandbox.admin.create_token(SEED_USER)
    bot = f"{SEED_APP}[bot]"
    app_token = _token_for(state, bot) or sandbox.admin.create_app(SEED_APP)
    return {"user": user_token, "app": app_token}


def render_exports(sections: list[Any], tokens: dict[str, str], server_url: str) -> str:
    """``export`` lines, grouped by service, each group headed by the service's endpoints,
    then the seeded identities; ``VALET_SANDBOX_ADMIN_URL`` is the last line. A variable
    is printed once, in the last section that sets it (the value ``Sandbox.env()`` has)."""
    last: dict[str, int] = {}
    for i, section in enumerate(sections):
        for key in section.env:
            last[key] = i
    lines = ["# valet sandbox: paste these lines into a shell (or eval them)"]
    for i, section in enumerate(sections):
        lines.append(f"# -- {section.title}")
        lines.extend(f"#    {endpoint}" for endpoint in section.endpoints)
        lines.extend(f"export {key}={shlex.quote(value)}" for key, value in section.env.items()
                     if last[key] == i)
        if "ACTIONS_ID_TOKEN_REQUEST_URL" in section.env:
            lines.append("#    a publish job's ID token: export ACTIONS_ID_TOKEN_REQUEST_TOKEN="
                         "$(valet sandbox admin create-oidc-token OWNER/PUBLISH-REPO)")
            lines.append("#    its trusted publisher: valet sandbox admin add-trusted-publisher "
                         "REGISTRY PACKAGE OWNER/PUBLISH-REPO")
    lines.append("# -- identities")
    lines.append(f"# {SEED_USER} (a user; owns nothing yet; create repos with "
                 "`valet sandbox admin`)")
    lines.append(f"export VALET_SANDBOX_USER_TOKEN={shlex.quote(tokens['user'])}")
    lines.append(f"# {SEED_APP}[bot] (an app; grant it repos with set-permission)")
    lines.append(f"export VALET_SANDBOX_APP_TOKEN={shlex.quote(tokens['app'])}")
    lines.append(f"export VALET_SANDBOX_ADMIN_URL={shlex.quote(server_url + '/_sandbox')}")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from valet.errors import UsageError
    from valet.sandbox import Sandbox

    if not 0 <= args.port <= 65535:
        raise UsageError(f"invalid port {args.port}", hint="pass --port 0..65535 (0: any free)")
    services = services_of(args)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    # SIGHUP too: closing the terminal stops the services as Ctrl-C does. SIGKILL cannot
    # be caught: every service process gets a parent-death signal instead (Linux).
    previous = {s: signal.signal(s, on_signal)
                for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    sandbox = Sandbox(state_dir=args.state, port=args.port, services=services)
    try:
        try:
            sandbox.start()
        except OSError as exc:
            if exc.errno not in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
                raise
            raise UsageError(f"cannot listen on 127.0.0.1:{args.port}: {exc}",
                             hint="pick another --port, or 0 for any free port") from None
        tokens = seed(sandbox)
        sys.stdout.write(render_exports(sandbox.sections(), tokens, sandbox.server_url))
        sys.stdout.flush()
        print(f"valet sandbox: serving {sandbox.server_url} with "
              f"{', '.join(services) or 'no other service'} (Ctrl-C to stop)",
              file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
        print("valet sandbox: stopping", file=sys.stderr, flush=True)
        return 0
    finally:
        sandbox.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
