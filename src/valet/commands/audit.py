"""`valet audit` (not implemented yet)."""

from __future__ import annotations

import argparse

from valet.errors import ValetError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="audit (not implemented yet)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise ValetError("valet audit is not implemented yet")
