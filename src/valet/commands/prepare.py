"""`valet prepare` (not implemented yet)."""

from __future__ import annotations

import argparse

from valet.errors import ValetError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prepare", help="prepare (not implemented yet)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise ValetError("valet prepare is not implemented yet")
