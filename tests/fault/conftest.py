"""Fixtures of the fault suite. Its table (fault | where | outcome) is printed by
tests/fixtures/reports.py from the rows each case records with ``fault_row``
(a case that failed before recording shows up as failed in pytest's own report)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fault.world import FaultWorld


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
