"""The `valet` command line: one sub-command module each, one error handler."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence

from valet import __version__, gha
from valet.errors import ValetError

# Each module in valet.commands defines register(subparsers); the parser it adds
# sets `func` to a callable taking the parsed args and returning an exit code.
COMMAND_MODULES = (
    "prepare",
    "bump",
    "build",
    "request",
    "publish",
    "issue",
    "config",
    "audit",
    "sandbox",
    "demo",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="valet",
        description="Release with a valet key: prepare, request approval, publish.",
    )
    parser.add_argument("--version", action="version", version=f"valet {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks and debug logs"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"valet.commands.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.debug:
        os.environ["VALET_DEBUG"] = "1"
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except ValetError as exc:
        if args.debug:
            traceback.print_exc()
        gha.error(str(exc), title=exc.title)
        if gha.on_github():
            gha.summary(f"### :x: {exc.title}\n\n{gha.md_escape(exc.message)}"
                        + (f"\n\n**How to fix:** {gha.md_escape(exc.hint)}" if exc.hint else ""))
        return exc.exit_code
    except KeyboardInterrupt:
        gha.error("interrupted")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
