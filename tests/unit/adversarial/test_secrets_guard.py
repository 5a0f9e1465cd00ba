"""The secrets guard itself: what it collects, what it counts as a leak, where it looks.

These tests only use the guard's pure ``find_leaks`` with their own secret pool,
so they never add a real leak to the session.
"""

from __future__ import annotations

import pytest

from tests.fixtures import secrets_guard as guard
from valet import gha

pytestmark = pytest.mark.adversarial

SECRET = "tok-" + "9f" * 16


def test_a_secret_in_a_line_is_found_with_its_line_number():
    found = guard.find_leaks("ok\nuploading with " + SECRET + "\nbye", "log.txt", {SECRET})
    assert [(leak.where, leak.line) for leak in found] == [("log.txt", 2)]
    assert SECRET not in found[0].describe()  # the report itself does not print the token


def test_a_mask_command_is_not_a_leak_but_the_same_secret_elsewhere_is():
    text = f"::add-mask::{SECRET}\n  ::add-mask::{SECRET}\n::debug::{SECRET}"
    assert [leak.line for leak in guard.find_leaks(text, "x", {SECRET})] == [3]


def test_short_values_are_not_recorded():
    guard.record_secret("abc")
    guard.record_secret(None)
    assert "abc" not in guard.recorded_secrets()


def test_scan_file_reads_runner_files(tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("## done\n")
    assert guard.scan_file(summary) == []
    assert guard.scan_file(tmp_path / "missing") == []


def test_valet_masks_keep_a_recorded_secret_out_of_annotations_and_summaries(
        tmp_path, monkeypatch, capsys):
    # the guard's own end-to-end case: a masked secret printed through gha in every way
    secret = "tok-" + "ab" * 16
    guard.record_secret(secret)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    gha.add_mask(secret)
    gha.error(f"upload failed with {secret}")
    gha.info(f"token={secret}")
    gha.print_untrusted(f"registry said: bad token {secret}")
    gha.summary(f"used {secret}")
    out = capsys.readouterr().out  # scanned by the guard too
    assert guard.find_leaks(out, "stdout", {secret}) == []
    assert guard.find_leaks((tmp_path / "summary.md").read_text(), "summary", {secret}) == []
    gha._masked.discard(secret)


def test_the_creators_of_secrets_are_wrapped():
    from valet.sandbox import registries, seed
    from valet.sandbox.act_runner import ActResult
    from valet.sandbox.client import AdminClient
    from valet.sandbox.crates_io import FakeCrates

    for fn in (seed.create_token, AdminClient.create_token, AdminClient.create_app,
               registries.start_registries, registries.Registries.stop, ActResult.__init__,
               FakeCrates.start):
        assert hasattr(fn, "__wrapped__"), fn


def test_a_leaky_act_result_would_be_reported(monkeypatch):
    from valet.sandbox.act_runner import ActResult

    found: list[tuple[str, str]] = []
    monkeypatch.setattr(guard, "scan_text", lambda text, where: found.append((where, text)) or [])
    monkeypatch.setattr(guard, "scan_file", lambda path, where=None: [])
    ActResult(returncode=0, stdout=f"[job] echo {SECRET}", duration=0.1,
              outputs={"run": {"token": SECRET}})
    assert any(w.endswith(": log") and t == f"[job] echo {SECRET}" for w, t in found)
    assert any("output run.token" in w and t == SECRET for w, t in found)
