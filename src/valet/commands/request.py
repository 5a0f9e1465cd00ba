"""`valet request` (not implemented yet)."""

from __future__ import annotations

import argparse

from valet.errors import ValetError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("request", help="request (not implemented yet)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise ValetError("valet request is not implemented yet")
