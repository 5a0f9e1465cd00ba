"""A target that runs after another kind: the plan rule and its execution."""

from __future__ import annotations

from pathlib import Path

import pytest

from valet.config import TargetConfig
from valet.errors import ConfigError
from valet.publish import PlanItem
from valet.publish.plan import prerequisites
from valet.targets import get_target
from valet.targets.base import State, runs_after

from .fakes import Behaviour, Registry
from .test_plan import plan_for, run


def _item(key: str, name: str) -> PlanItem:
    return PlanItem(key, TargetConfig(name=name, id=key.partition("[")[2].rstrip("]") or None),
                    [])


def test_only_a_declared_kind_is_waited_for_and_every_target_of_it():
    items = [_item("aws-lambda-layer[py]", "aws-lambda-layer"), _item("registry", "registry"),
             _item("pypi", "pypi"), _item("aws-lambda-layer[node]", "aws-lambda-layer")]
    after = {"registry": ("aws-lambda-layer",)}
    waits = prerequisites(items, lambda name: after.get(name, ()))
    assert waits == {"aws-lambda-layer[py]": [], "pypi": [], "aws-lambda-layer[node]": [],
                     "registry": ["aws-lambda-layer[py]", "aws-lambda-layer[node]"]}
    # without a layer target in the release the registry waits for nothing
    assert prerequisites(items[1:3], lambda name: after.get(name, ())) == {
        "registry": [], "pypi": []}


def test_declarations_in_a_circle_are_refused():
    items = [_item("a", "npm"), _item("b", "pypi")]
    after = {"npm": ("pypi",), "pypi": ("npm",)}
    with pytest.raises(ConfigError, match="each run after another"):
        prerequisites(items, lambda name: after.get(name, ()))


def test_the_registry_target_declares_it_runs_after_lambda_layers():
    assert runs_after(get_target("registry")) == ("aws-lambda-layer",)
    assert runs_after(get_target("pypi")) == ()


def _after_npm(reg: Registry):
    real = reg.resolve

    def resolve(name: str):
        target = real(name)
        if name == "pypi":
            target.runs_after = ("npm",)  # type: ignore[attr-defined]
        return target
    return resolve


class _Reg(Registry):
    def __init__(self, base: Registry) -> None:
        super().__init__(base.behaviour, base.calls, base.published)
        self._resolve = _after_npm(base)
        self.earlier: dict[str, list[str]] = {}

    def resolve(self, name: str):  # type: ignore[override]
        target = self._resolve(name)
        publish = target.publish

        def recording(ctx):
            self.earlier[ctx.key] = sorted(ctx.earlier)
            return publish(ctx)
        target.publish = recording  # type: ignore[method-assign]
        return target


def test_the_waiting_target_publishes_after_with_the_receipt_and_github_stays_last(
        tmp_path: Path):
    req, base, plan = plan_for(["pypi", "npm", "github"])
    reg = _Reg(base)
    out, ticks = run(plan, reg, req, tmp_path)
    published = [k for c, k in reg.calls if c == "publish"]
    assert published == ["npm", "pypi", "github"]
    assert reg.earlier == {"npm": [], "pypi": ["npm"], "github": []}
    assert ticks == ["npm", "pypi", "github"]
    assert all(r.outcome == "published" for r in out.results.values())


def test_a_failed_prerequisite_means_the_waiting_target_does_not_run(tmp_path: Path):
    req, base, plan = plan_for(["pypi", "npm", "github"])
    base.behaviour["npm"] = Behaviour(publish_error="403 Forbidden")
    reg = _Reg(base)
    out, ticks = run(plan, reg, req, tmp_path)
    assert ("publish", "pypi") not in reg.calls and ("publish", "github") not in reg.calls
    assert out.results["pypi"].outcome == "not run"
    assert "runs after npm" in out.results["pypi"].detail
    assert ticks == []


def test_found_published_while_its_prerequisite_publishes_now_it_is_looked_at_again(
        tmp_path: Path):
    req, base, plan = plan_for(["pypi", "npm"])
    base.behaviour["pypi"] = Behaviour(state=State.PUBLISHED)
    reg = _Reg(base)
    out, ticks = run(plan, reg, req, tmp_path)
    assert [k for c, k in reg.calls if c == "publish"] == ["npm", "pypi"]
    assert reg.earlier["pypi"] == ["npm"] and ticks == ["npm", "pypi"]


def test_an_already_published_prerequisite_hands_over_its_receipt_from_status(
        tmp_path: Path):
    req, base, plan = plan_for(["pypi", "npm"])
    base.behaviour["npm"] = Behaviour(state=State.PUBLISHED)
    reg = _Reg(base)
    out, _ = run(plan, reg, req, tmp_path)
    assert [k for c, k in reg.calls if c == "publish"] == ["pypi"]
    assert reg.earlier["pypi"] == ["npm"]
    assert out.results["npm"].outcome == "already published"
