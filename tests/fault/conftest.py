"""Fixtures of the fault suite and the table it prints: fault | where | outcome.

``fault_row(fault, where, outcome)`` records one row; ``pytest_terminal_summary``
prints every row recorded in this session (a case that failed before recording
shows up as failed in pytest's own report, not here).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fault.world import FaultWorld

_ROWS: list[tuple[str, str, str]] = []


@pytest.fixture
def fault_row(request: pytest.FixtureRequest) -> Callable[[str, str, str], None]:
    def add(fault: str, where: str, outcome: str) -> None:
        _ROWS.append((fault, where, outcome))
    return add


@pytest.fixture(scope="session")
def fault_world(sandbox: Any, registries: Any,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultWorld]:
    world = FaultWorld(sandbox, registries, Path(tmp_path_factory.mktemp("fault")))
    try:
        yield world
    finally:
        world.stop()


@pytest.fixture
def world(fault_world: FaultWorld) -> Iterator[FaultWorld]:
    """The shared world with no fault left over from a case that failed half-way."""
    fault_world.sb.admin.clear_faults()
    fault_world.pypi.clear()
    fault_world.npm.clear()
    yield fault_world
    fault_world.sb.admin.clear_faults()
    fault_world.pypi.clear()
    fault_world.npm.clear()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not _ROWS:
        return
    widths = [max(len(h), *(len(r[i]) for r in _ROWS)) for i, h in
              enumerate(("fault", "where", "outcome"))]
    tr = terminalreporter
    tr.section(f"fault injection: {len(_ROWS)} cases")
    line = " | ".join(h.ljust(w) for h, w in zip(("fault", "where", "outcome"), widths))
    tr.write_line(line)
    tr.write_line("-+-".join("-" * w for w in widths))
    for row in _ROWS:
        tr.write_line(" | ".join(c.ljust(w) for c, w in zip(row, widths)))
