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


# -- a resumed release: what it runs after was ticked in an earlier run -------------


class _Seen(_Reg):
    """_Reg that also records what each target's status saw in ``ctx.earlier``."""

    def __init__(self, base: Registry) -> None:
        super().__init__(base)
        self.at_status: dict[str, list[str]] = {}

    def resolve(self, name: str):  # type: ignore[override]
        target = super().resolve(name)
        status = target.status

        def recording(ctx):
            self.at_status[ctx.key] = sorted(ctx.earlier)
            return status(ctx)
        target.status = recording  # type: ignore[method-assign]
        return target


def test_rereads_names_the_ticked_targets_a_running_target_runs_after():
    from valet.publish.plan import Plan, rereads

    lam, node = _item("aws-lambda-layer[py]", "aws-lambda-layer"), _item(
        "aws-lambda-layer[node]", "aws-lambda-layer")
    reg, pypi = _item("registry", "registry"), _item("pypi", "pypi")
    after = {"registry": ("aws-lambda-layer",)}
    plan = Plan(run=[pypi, reg], ticked=[lam.key, node.key], done=[lam, node])
    assert rereads(plan, lambda name: after.get(name, ())) == {"registry": [lam, node]}
    # nothing runs after them: nothing is read again
    assert rereads(Plan(run=[pypi], ticked=[lam.key], done=[lam]),
                   lambda name: after.get(name, ())) == {}
    # a ticked target of a kind nobody runs after is not read either
    assert rereads(Plan(run=[reg], ticked=["pypi"], done=[pypi]),
                   lambda name: after.get(name, ())) == {}


def test_a_ticked_prerequisite_hands_over_its_receipt_from_a_status_read(tmp_path: Path):
    """The lambda target ticked in an earlier run: the registry still gets its receipt,
    from that target's read-only status; it is never published or ticked again."""
    req, base, plan = plan_for(["pypi", "npm"], checked=("npm",))
    assert plan.ticked == ["npm"] and plan.keys == ["pypi"]
    base.behaviour["npm"] = Behaviour(state=State.PUBLISHED)
    reg = _Seen(base)
    out, ticks = run(plan, reg, req, tmp_path)
    assert ("status", "npm") in reg.calls and reg.calls.count(("status", "npm")) == 1
    assert ("publish", "npm") not in reg.calls
    assert reg.at_status["pypi"] == ["npm"]  # its status already knows the layers
    assert reg.earlier["pypi"] == ["npm"]
    assert ticks == ["pypi"] and "npm" not in out.results  # npm's tick stays as it was
    assert out.results["pypi"].outcome == "published"


def test_a_ticked_target_nothing_runs_after_is_not_read_again(tmp_path: Path):
    req, base, plan = plan_for(["pypi", "npm"], checked=("pypi",))
    reg = _Seen(base)
    out, ticks = run(plan, reg, req, tmp_path)
    assert [c for c in reg.calls if c[1] == "pypi"] == []
    assert ticks == ["npm"]


def test_a_ticked_prerequisite_no_longer_published_fails_the_waiting_target(tmp_path: Path):
    """Its layers were deleted since it was ticked: the registry must not list them."""
    req, base, plan = plan_for(["pypi", "npm"], checked=("npm",))
    base.behaviour["npm"] = Behaviour(state=State.ABSENT)
    reg = _Seen(base)
    out, ticks = run(plan, reg, req, tmp_path)
    assert [c for c, _ in reg.calls if c == "publish"] == []
    assert "pypi" not in reg.at_status  # it was not even asked: it could not be right
    res = out.results["pypi"]
    assert res.outcome == "failed" and res.error is not None
    assert "npm" in res.error.message and "ticked in an earlier run" in res.error.message
    assert "uncheck" in res.error.hint and "accepted" in res.error.hint
    assert ticks == [] and "npm" not in out.results


def test_a_ticked_prerequisite_whose_status_fails_fails_the_waiting_target(tmp_path: Path):
    req, base, plan = plan_for(["pypi", "npm"], checked=("npm",))
    base.behaviour["npm"] = Behaviour(status_error="503 from the service")
    reg = _Seen(base)
    out, ticks = run(plan, reg, req, tmp_path)
    assert [c for c, _ in reg.calls if c == "publish"] == [] and ticks == []
    res = out.results["pypi"]
    assert res.outcome == "failed" and res.error is not None
    assert "503 from the service" in res.error.message and "npm" in res.error.message


def test_found_published_when_its_prerequisite_status_failed_it_is_not_ticked(
        tmp_path: Path):
    """The registry's own status cannot see layers it was not given: with the layer
    target's status failing, it is not taken as published (nor ticked)."""
    req, base, plan = plan_for(["pypi", "npm"])
    base.behaviour["pypi"] = Behaviour(state=State.PUBLISHED)
    base.behaviour["npm"] = Behaviour(status_error="503 from the service")
    reg = _Seen(base)
    out, ticks = run(plan, reg, req, tmp_path)
    assert ticks == [] and [c for c, _ in reg.calls if c == "publish"] == []
    assert out.results["npm"].outcome == "failed"
    assert out.results["pypi"].outcome == "not run"


def test_found_published_with_its_prerequisite_found_published_its_status_saw_the_receipt(
        tmp_path: Path):
    """The layer target published but its tick was lost: the registry's status is asked
    with its receipt, so a missing layer file is seen before anything is ticked."""
    req, base, plan = plan_for(["pypi", "npm"])
    base.behaviour["npm"] = Behaviour(state=State.PUBLISHED)
    base.behaviour["pypi"] = Behaviour(state=State.PUBLISHED)
    reg = _Seen(base)
    out, ticks = run(plan, reg, req, tmp_path)
    assert reg.at_status["pypi"] == ["npm"]
    assert sorted(ticks) == ["npm", "pypi"]
    assert {k: r.outcome for k, r in out.results.items()} == {
        "npm": "already published", "pypi": "already published"}
