"""No sandbox process outlives its owner: stop(), SIGTERM, SIGKILL, an act timeout."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from tests.fixtures.registries import session_survivors
from valet.sandbox.registries import processes_mentioning, start_registries

pytestmark = pytest.mark.sandbox

WAIT = 20.0


def _gone(marker: str, timeout: float = WAIT) -> list[tuple[int, str]]:
    """Processes still naming ``marker`` once ``timeout`` has passed (or none, earlier)."""
    deadline = time.monotonic() + timeout
    while True:
        left = processes_mentioning(marker)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def test_registries_stop_kills_both_servers(tmp_path: Path) -> None:
    regs = start_registries(tmp_path / "state")
    marker = str(tmp_path / "state")
    running = {pid for pid, _ in processes_mentioning(marker)}
    assert set(regs.pids()) <= running, running
    assert len(running) >= 2
    regs.stop()
    assert processes_mentioning(marker) == []
    for pid in regs.pids():
        assert not Path(f"/proc/{pid}").exists()


def _parent_script(state: Path) -> str:
    return textwrap.dedent(f"""\
        import sys, time
        from pathlib import Path
        from valet.sandbox.registries import start_registries
        regs = start_registries(Path({str(state)!r}))
        print("ready", *regs.pids(), flush=True)
        time.sleep(600)
        """)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_parent_killed_takes_the_registries_along(tmp_path: Path, sig: int) -> None:
    state = tmp_path / "state"
    parent = subprocess.Popen([sys.executable, "-c", _parent_script(state)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        assert line.startswith("ready"), line + (parent.stderr.read() if parent.stderr else "")
        pids = [int(p) for p in line.split()[1:]]
        assert {pid for pid, _ in processes_mentioning(str(state))} >= set(pids)
        parent.send_signal(sig)
        parent.wait(timeout=WAIT)
        assert _gone(str(state)) == []
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_sandbox_with_registries_stops_clean(tmp_path: Path) -> None:
    from valet.sandbox import Sandbox

    state = tmp_path / "sb"
    sb = Sandbox(state_dir=state, registries=True).start()
    try:
        assert sb.registries is not None and sb.registries.alive()
        assert len(processes_mentioning(str(state))) >= 2
    finally:
        sb.stop()
    assert _gone(str(state), timeout=5) == []


def test_valet_sandbox_killed_takes_every_service_along(tmp_path: Path) -> None:
    # SIGKILL cannot be handled: each service process dies of its parent-death signal.
    from valet.errors import SandboxError
    from valet.sandbox import catalog
    from valet.sandbox.service import check_tools

    try:
        check_tools(catalog.SERVICES)
    except SandboxError as exc:
        if os.environ.get("CI"):
            pytest.fail(exc.message)
        pytest.skip(exc.message)
    state = tmp_path / "cmd-state"
    proc = subprocess.Popen([sys.executable, "-m", "valet", "sandbox", "--all",
                             "--state", str(state)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # the admin URL is the last line, once everything runs
            if line.startswith("export VALET_SANDBOX_ADMIN_URL="):
                break
        else:
            raise AssertionError(proc.stderr.read() if proc.stderr else "no output")
        # pypiserver, verdaccio, two docker-registry, fake-gcs-server, moto
        assert len(processes_mentioning(str(state))) >= 6
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=WAIT)
        assert _gone(str(state)) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_act_timeout_kills_the_job_and_its_children(tmp_path: Path) -> None:
    from valet.sandbox.act_runner import run_workflow

    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    # A unique duration makes the background sleep findable in /proc.
    marker = f"{3600 + uuid.uuid4().int % 1000}.{os.getpid()}"
    (repo / ".github" / "workflows" / "hang.yml").write_text(textwrap.dedent(f"""\
        on: workflow_dispatch
        jobs:
          hang:
            runs-on: ubuntu-latest
            steps:
              - run: |
                  sleep {marker} &
                  echo started
                  sleep {marker}
        """))
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "remote", "add", "origin",
                    "http://127.0.0.1:9/acme/hang.git"], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "hang"], check=True)

    result = run_workflow(repo, ".github/workflows/hang.yml", "workflow_dispatch",
                          {"inputs": {}}, env={}, secrets={}, timeout=20,
                          work_dir=tmp_path / "act")
    assert result.timed_out and not result.ok, result.describe()
    assert "started" in result.stdout, result.describe()
    assert _gone(f"sleep {marker}") == []


def test_session_hook_reports_and_kills_a_leaked_process(tmp_path: Path) -> None:
    # A throwaway session whose only test leaks a child: the hook must fail the
    # session, name the process and kill it.
    marker = f"{7200 + uuid.uuid4().int % 1000}.{os.getpid()}"
    (tmp_path / "test_leak.py").write_text(textwrap.dedent(f"""\
        import pathlib
        import subprocess
        import time

        def test_leaks():
            child = subprocess.Popen(["sleep", "{marker}"])
            # Popen (vfork) may return before the kernel has written the child's new command
            # line and environment: wait until /proc shows its exec done, as it would for any
            # leak that lived a moment longer, so the hook has something to find.
            cmdline = pathlib.Path(f"/proc/{{child.pid}}/cmdline")
            while b"{marker}" not in cmdline.read_bytes():
                time.sleep(0.01)
        """))
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "tests.fixtures.registries", "--basetemp",
                           str(tmp_path / "bt"), str(tmp_path / "test_leak.py")],
                          cwd=root, capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "1 passed" in out and "survived" in out and f"sleep {marker}" in out, out
    assert _gone(f"sleep {marker}", timeout=5) == []


def test_survivor_scan_sees_this_sessions_children() -> None:
    marker = f"{9000 + uuid.uuid4().int % 1000}.{os.getpid()}"
    child = subprocess.Popen(["sleep", marker])
    try:
        # Popen (vfork) may return before the kernel has written the child's new command
        # line and environment to /proc, a window that widens under load: look until the
        # exec is visible (or a generous deadline passes).
        deadline = time.monotonic() + WAIT
        while child.pid not in {pid for pid, _ in session_survivors()}:
            assert time.monotonic() < deadline, "the scan never saw this session's child"
            time.sleep(0.05)
    finally:
        child.kill()
        child.wait()
    assert child.pid not in {pid for pid, _ in session_survivors()}
