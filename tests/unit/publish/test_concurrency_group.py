"""publish.yml puts every run of one issue in one concurrency group.

The run an approval starts (``issues: labeled``) and the run a scheduled sweep
starts for that issue (``workflow_dispatch`` with its number) must wait for each
other: then the second finds the issue published (closed) and does nothing.
The sweep itself is in a group of its own: it only looks and starts runs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

WORKFLOW = Path(__file__).resolve().parents[3] / "examples/publish-repo/.github/workflows/publish.yml"
_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def _value(path: str, ctx: dict[str, Any]) -> Any:
    node: Any = ctx
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def evaluate(text: str, ctx: dict[str, Any]) -> str:
    """The few expressions a concurrency group uses: context paths, 'literals' and ||."""
    def one(m: re.Match[str]) -> str:
        for term in (t.strip() for t in m.group(1).split("||")):
            value = term[1:-1] if term.startswith("'") else _value(term, ctx)
            if value not in (None, "", 0, False):
                return str(value)
        return ""
    return _EXPR.sub(one, text)


def group(ctx: dict[str, Any]) -> str:
    doc = yaml.safe_load(WORKFLOW.read_text())
    concurrency = doc.get("concurrency") or doc["jobs"]["publish"].get("concurrency")
    assert concurrency.get("cancel-in-progress") is False  # a publish is never cut off
    return evaluate(concurrency["group"], ctx)


def labeled(number: int) -> dict[str, Any]:
    return {"github": {"event_name": "issues", "event": {"issue": {"number": number}}}}


def dispatched(issue: str) -> dict[str, Any]:
    return {"github": {"event_name": "workflow_dispatch", "event": {"inputs": {"issue": issue}}},
            "inputs": {"issue": issue}}


def test_an_approval_and_the_run_a_sweep_starts_share_the_issues_group() -> None:
    assert group(labeled(42)) == group(dispatched("42")) == "publish-42"


def test_other_issues_and_the_sweep_have_groups_of_their_own() -> None:
    sweep = {"github": {"event_name": "schedule", "event": {"schedule": "*/15 * * * *"}}}
    assert len({group(labeled(42)), group(labeled(43)), group(sweep),
                group(dispatched(""))}) == 3  # a dispatch without an issue is a sweep
    assert group(sweep) == group(dispatched(""))
