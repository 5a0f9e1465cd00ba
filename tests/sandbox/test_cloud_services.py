"""The cloud services of the sandbox stop clean: stop(), and the parent's death."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from valet.sandbox.cloud import (
    docker_registry_executable,
    fake_gcs_executable,
    start_container_registry,
    start_gcs,
    start_moto,
)
from valet.sandbox.registries import processes_mentioning

pytestmark = pytest.mark.sandbox

WAIT = 20.0


def _gone(marker: str, timeout: float = WAIT) -> list[tuple[int, str]]:
    deadline = time.monotonic() + timeout
    while True:
        left = processes_mentioning(marker)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def _need_all() -> None:
    if docker_registry_executable() is None or fake_gcs_executable() is None:
        pytest.skip("docker-registry or fake-gcs-server is not installed (`make setup`)")


def test_stop_kills_each_service(tmp_path: Path) -> None:
    _need_all()
    state = tmp_path / "state"
    services = [start_container_registry(state, "reg"), start_gcs(state), start_moto(state)]
    pids = {s.service.pid for s in services}
    assert pids <= {pid for pid, _ in processes_mentioning(str(state))}
    for s in services:
        s.stop()
    assert processes_mentioning(str(state)) == []
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)


def test_a_killed_parent_takes_the_services_along(tmp_path: Path) -> None:
    _need_all()
    state = tmp_path / "state"
    script = textwrap.dedent(f"""\
        import time
        from pathlib import Path
        from valet.sandbox.cloud import start_container_registry, start_gcs, start_moto
        state = Path({str(state)!r})
        s = [start_container_registry(state, "reg"), start_gcs(state), start_moto(state)]
        print("ready", *[x.service.pid for x in s], flush=True)
        time.sleep(600)
        """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        assert line.startswith("ready"), line + (parent.stderr.read() if parent.stderr else "")
        assert len(processes_mentioning(str(state))) >= 3
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=WAIT)
        assert _gone(str(state)) == []
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
