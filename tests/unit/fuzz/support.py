"""Shared settings and helpers of the fuzz suite.

Every fuzz test runs a fixed number of examples, derandomized and without the
example database, so a run is deterministic and the whole suite stays well
under 30 seconds on CI.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings

from valet.errors import ValetError

T = TypeVar("T")

FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                           HealthCheck.data_too_large, HealthCheck.large_base_example],
)


def only_valet_errors(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | ValetError:
    """Call ``fn``; a ValetError is returned (and checked to be a clear message), anything
    else propagates and fails the test: that is a crash a user would see as a traceback."""
    try:
        return fn(*args, **kwargs)
    except ValetError as exc:
        assert isinstance(exc.message, str) and exc.message.strip(), f"empty message: {exc!r}"
        assert exc.exit_code > 0
        return exc

