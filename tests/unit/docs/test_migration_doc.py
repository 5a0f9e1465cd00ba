"""docs/migration-from-craft.md: every craft option valet knows has its row, and every
test the page cites (as what shows a step) exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.unit.docs.test_docs import section
from valet.craft_compat import (
    CRAFT_FIELDS,
    CRAFT_NESTED_FIELDS,
    CRAFT_OPTIONS,
    CRAFT_TARGET_ALIASES,
    CRAFT_TARGET_OPTIONS,
    CRAFT_TARGETS,
)

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "migration-from-craft.md").read_text(encoding="utf-8")
NODE_ID = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def _rows(table_text: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in table_text.splitlines() if line.startswith("| ")][1:]


def _named(cell: str) -> set[str]:
    """The names in backticks of a cell: `a.b.c: x` names a.b.c, its prefixes a and a.b,
    and its last part c."""
    out: set[str] = set()
    for code in re.findall(r"`([^`]+)`", cell):
        key = code.split(":")[0].strip().removeprefix("targets[].")
        parts = key.split(".")
        out |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)} | {parts[-1], code}
    return out


def test_every_craft_field_and_nested_key_has_a_row() -> None:
    options = section(DOC, "Every craft option")
    named: set[str] = set()
    for row in _rows(options):
        named |= _named(row[0])
    wanted = set(CRAFT_FIELDS) | {f"{parent}.{key}" for parent, keys in CRAFT_NESTED_FIELDS.items()
                                  for key in keys}
    # every target key is in the table of every target, the calver keys with their parent
    assert sorted(w for w in wanted if w not in named and w.rsplit(".", 1)[-1] not in named) == []


def test_every_target_and_each_of_its_craft_options_has_a_row() -> None:
    options = section(DOC, "Every craft option")
    by_target: dict[str, set[str]] = {}
    for row in _rows(options):
        if len(row) == 4:
            for target in _named(row[0]):
                by_target.setdefault(target, set()).update(_named(row[1]))
    missing = []
    for target in CRAFT_TARGETS:
        if target in CRAFT_TARGET_ALIASES:
            assert f"`{target}`" in options
            continue
        if target not in by_target:
            missing.append(f"target {target}")
            continue
        known = set(CRAFT_TARGET_OPTIONS.get(target, {})) | set(CRAFT_OPTIONS.get(target, ()))
        missing += [f"option {o} of {target}" for o in sorted(known - by_target[target])]
    assert missing == []


def test_every_cited_test_exists() -> None:
    cited = NODE_ID.findall(DOC)
    assert len(cited) >= 8
    missing = []
    for file, name in cited:
        path = ROOT / file
        names = ({n.name for n in ast.parse(path.read_text()).body
                  if isinstance(n, ast.FunctionDef)} if path.is_file() else set())
        if name not in names:
            missing.append(f"{file}::{name}")
    assert missing == []


def test_each_shape_points_at_the_release_workflow_to_copy() -> None:
    steps = section(DOC, "Step by step")
    assert "examples/sdk-repo/.github/workflows/release-from-ci.yml" in steps
    for shape in ("like getsentry/arroyo", "like getsentry/self-hosted",
                  "like getsentry/dotagents"):
        assert shape in steps
