"""`valet config` (not implemented yet)."""

from __future__ import annotations

import argparse

from valet.errors import ValetError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="config (not implemented yet)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise ValetError("valet config is not implemented yet")
