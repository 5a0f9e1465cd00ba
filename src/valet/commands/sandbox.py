"""`valet sandbox`: run the local GitHub fake (and the registries) in the foreground.

Prints ``export`` lines for the environment that points the actions (and
PyGithub, git, twine, npm) at it, then serves until Ctrl-C or SIGTERM and
stops everything it started.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import Any

SEED_USER = "octocat"
SEED_APP = "valet-release"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sandbox",
        help="run the local GitHub + registries sandbox in the foreground",
        description="Run a stateful GitHub REST fake on real git (and pypiserver + verdaccio) "
                    "on 127.0.0.1, print the environment pointing at it, serve until "
                    "Ctrl-C/SIGTERM.",
    )
    p.add_argument("--port", type=int, default=0, help="port to listen on (default: any free)")
    p.add_argument("--state", type=Path, default=None, metavar="DIR",
                   help="keep repos and state in DIR across restarts (default: a temp dir)")
    p.add_argument("--no-registries", action="store_true",
                   help="do not start pypiserver and verdaccio")
    p.set_defaults(func=run)
    from valet.commands import sandbox_admin

    sandbox_admin.register(p.add_subparsers(dest="sandbox_action", metavar="ACTION"))


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


def render_exports(env: dict[str, str], tokens: dict[str, str], server_url: str) -> str:
    lines = ["# valet sandbox: paste these lines into a shell (or eval them)"]
    for key, value in env.items():
        lines.append(f"export {key}={shlex.quote(value)}")
    lines.append(f"# {SEED_USER} (a user; owns nothing yet; create repos via the admin API)")
    lines.append(f"export VALET_SANDBOX_USER_TOKEN={shlex.quote(tokens['user'])}")
    lines.append(f"# {SEED_APP}[bot] (an app; grant it repos with set_permission)")
    lines.append(f"export VALET_SANDBOX_APP_TOKEN={shlex.quote(tokens['app'])}")
    lines.append(f"export VALET_SANDBOX_ADMIN_URL={shlex.quote(server_url + '/_sandbox')}")
    lines.append("# OIDC (trusted publishing): ACTIONS_ID_TOKEN_REQUEST_URL="
                 f"{server_url}/_sandbox/oidc/token with a token from "
                 "AdminClient.create_oidc_request_token(repo) as ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from valet.errors import UsageError
    from valet.sandbox import Sandbox

    if not 0 <= args.port <= 65535:
        raise UsageError(f"invalid port {args.port}", hint="pass --port 0..65535 (0: any free)")
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    sandbox = Sandbox(state_dir=args.state, port=args.port, registries=False)
    try:
        try:
            sandbox.start()
        except OSError as exc:
            raise UsageError(f"cannot listen on 127.0.0.1:{args.port}: {exc}",
                             hint="pick another --port, or 0 for any free port") from None
        if not args.no_registries:
            _start_registries(sandbox)
        tokens = seed(sandbox)
        env = sandbox.env()
        sys.stdout.write(render_exports(env, tokens, sandbox.server_url))
        sys.stdout.flush()
        print(f"valet sandbox: serving {sandbox.server_url} (Ctrl-C to stop)", file=sys.stderr,
              flush=True)
        while not stop.wait(0.5):
            pass
        print("valet sandbox: stopping", file=sys.stderr, flush=True)
        return 0
    finally:
        sandbox.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)


def _start_registries(sandbox: Any) -> None:
    """Start the registries next to the GitHub fake; warn and go on if they cannot start."""
    try:
        from valet.sandbox.registries import start_registries
    except ImportError as exc:
        print(f"valet sandbox: registries unavailable ({exc}); continuing without them "
              "(--no-registries hides this)", file=sys.stderr)
        return
    root = Path(sandbox.app.root).parent / "registries"  # next to github/, as Sandbox does
    sandbox.registries = start_registries(root)
