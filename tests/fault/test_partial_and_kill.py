"""Half-states: a release asset upload that was cut off, and the publish process
killed (SIGKILL) between two targets. A re-run must finish the release from what
is there, publishing nothing twice."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest

from tests.fault.world import FaultWorld, Release

pytestmark = [pytest.mark.fault, pytest.mark.sandbox]


def interrupted_upload(world: FaultWorld, rel: Release, name: str) -> None:
    """Announce the whole file, send half of it, hang up: what a runner killed
    mid-upload leaves behind."""
    (draft,) = [r for r in world.releases(rel) if r.draft]
    data = rel.files[name].read_bytes()
    url = urlsplit(draft.upload_url.split("{", 1)[0])
    head = (f"POST {url.path}?name={name} HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Authorization: Bearer {world.app_token}\r\n"
            "Content-Type: application/octet-stream\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(head + data[: len(data) // 2])
        sock.shutdown(socket.SHUT_WR)
        sock.recv(1024)  # wait until the sandbox has handled what it got


def test_partial_release_asset_is_repaired(world: FaultWorld, fault_row) -> None:
    rel = world.new_release(("github",), store="workflow-artifacts")
    wheel = next(n for n in rel.manifest if n.endswith(".whl"))
    # First run: every asset upload fails (502 until the retries run out).
    world.sb.admin.add_fault(path=r"^/api/uploads/.*/releases/\d+/assets$", method="POST",
                             count=0)
    assert world.run_publish(world.approve(rel)) != 0
    world.sb.admin.clear_faults()
    first = world.last_comment(rel)
    assert "failed" in world.labels(rel) and "github" in first
    assert "accepted" in first and "bug in valet" not in first, first
    interrupted_upload(world, rel, wheel)
    (draft,) = world.releases(rel)
    partial = {a.name: a.size for a in draft.get_assets()}
    # The sandbox keeps what it received of a cut-off upload under the asset's name.
    assert 0 < partial[wheel] < rel.files[wheel].stat().st_size
    assert world.run_publish(world.approve(rel)) == 0, world.last_comment(rel)
    assert world.check(rel) == []
    fault_row("asset upload cut off (partial asset)", "POST release asset upload (github)",
              "failed clearly, re-run replaced the partial asset, published once")


def test_sigkill_between_two_targets(world: FaultWorld, fault_row) -> None:
    rel = world.new_release()
    event = world.approve(rel)
    # npm's publish never reaches verdaccio in the killed run (dropped after 5 s).
    world.npm.add(path=r"^/valet-fault-", method="PUT", kind="hang", seconds=5)
    env = {**os.environ, **world.env({"GITHUB_EVENT_NAME": "issues",
                                      "GITHUB_EVENT_PATH": str(event),
                                      "INPUT_MAX_PARALLEL": "1"})}
    log = world.work / f"killed-{rel.version}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "valet", "publish"], env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            # pypi is out (both files taken); its tick waits for the next write of the
            # issue (publish.ticks), which the kill comes before
            while world.pypi_uploads(rel) < 2:
                assert proc.poll() is None, "publish ended before pypi was published"
                assert time.monotonic() < deadline, "pypi was never published"
                time.sleep(0.05)
            os.killpg(proc.pid, signal.SIGKILL)  # the whole group: npm dies with it
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    world.npm.clear()
    assert proc.returncode == -signal.SIGKILL
    assert world.ticked(rel) == {"pypi": False, "npm": False, "github": False}
    assert world.pypi_uploads(rel) == 2 and world.npm_uploads(rel) == 0
    assert world.issue(rel).state == "open"
    (draft,) = world.releases(rel)
    assert draft.draft
    pypi_marks = len(world.pypi.entries())

    assert world.run_publish(world.approve(rel)) == 0, world.last_comment(rel)
    # The re-run never asked pypiserver to take a file again.
    assert not [e for e in world.pypi.entries()[pypi_marks:] if e.method == "POST"]
    assert world.check(rel) == []
    fault_row("SIGKILL between two targets", "after pypi published, before npm (max-parallel 1)",
              "re-run found pypi published (ticked it), published npm + github, nothing twice")
