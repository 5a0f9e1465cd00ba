"""docs/security.md names a test for every row, and every test it names exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.adversarial

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "security.md"
NODE_ID = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def _table_rows() -> list[str]:
    rows = [line for line in DOC.read_text().splitlines() if line.startswith("| ")]
    return rows[1:]  # without the header


def _functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def test_every_named_test_exists():
    missing = []
    cache: dict[str, set[str]] = {}
    for file, name in NODE_ID.findall(DOC.read_text()):
        path = ROOT / file
        if not path.is_file():
            missing.append(f"{file} (no such file)")
            continue
        if name not in cache.setdefault(file, _functions(path)):
            missing.append(f"{file}::{name}")
    assert missing == []


def test_every_threat_row_names_a_test_or_says_why_not():
    rows = _table_rows()
    assert len(rows) >= 20
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == 4, row
        attacker, tries, stops, test = cells
        assert attacker and tries and stops, row
        assert NODE_ID.search(test) or "out of scope" in stops, row
        if "**open**" in stops:
            assert "xfail" in test, row  # an open gap is pinned by a strict xfail


def test_the_five_attackers_of_the_issue_each_have_rows():
    attackers = {[c.strip() for c in row.strip("|").split("|")][0] for row in _table_rows()}
    for who in ("SDK committer", "publish-repo triager", "malicious dependency in the build",
                "someone who can only open issues", "compromised or flaky registry"):
        assert who in attackers


def test_the_readme_states_the_number_of_trust_attacks():
    """README's security section counts the `test_attack_*` cases of the attack suites
    (the trust root's, and what the publish repository serves)."""
    attacks = {n for name in ("test_trust_attacks.py", "test_publish_policy.py")
               for n in _functions(ROOT / "tests" / "sandbox" / name)
               if n.startswith("test_attack_")}
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"\*\*(\d+) further attacks\*\*", readme)
    assert match and int(match.group(1)) == len(attacks) > 0
