"""A checkbox line added by hand is never a target, and the publish log says so."""

from __future__ import annotations

import pytest

from tests.unit.issue_format.test_render import make, render
from valet.issue_format import parse_issue


def test_a_hand_added_target_line_is_ignored_and_recorded() -> None:
    req = make()
    body = render(req)
    first = next(line for line in body.splitlines() if line.startswith(" - [ ] "))
    forged = body.replace(first, first + "\n - [ ] npm[@evil/pkg]", 1)
    parsed = parse_issue(req.title, forged)
    assert "npm[@evil/pkg]" not in [t.id for t in parsed.targets]
    assert parsed.ignored_targets == ["npm[@evil/pkg]"]


def test_an_untouched_body_ignores_nothing() -> None:
    req = make()
    assert parse_issue(req.title, render(req)).ignored_targets == []


def test_publish_warns_about_ignored_lines(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.unit.publish.test_publisher import N, World

    w = World(tmp_path)
    body = w.issues.store[N]["body"]
    w.issues.set_body(N, body.replace(" - [ ] pypi", " - [ ] pypi\n - [ ] crates[evil]", 1))
    assert w.label() == 0
    out = capsys.readouterr()
    text = out.out + out.err
    assert "crates[evil]" in text and "ignored" in text
    assert sorted(w.uploads()) == ["github", "npm", "pypi"]
