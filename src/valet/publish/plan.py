"""The plan (pure): which targets of the request run, which are done, which are unknown."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from valet.config import Config, TargetConfig
from valet.errors import ConfigError
from valet.request import Request
from valet.targets.base import Target, select_files

GITHUB = "github"
Resolve = Callable[[str], Target]


@dataclass
class PlanItem:
    key: str
    target: TargetConfig
    files: list[str]

    @property
    def name(self) -> str:
        return self.target.name


@dataclass
class Plan:
    run: list[PlanItem] = field(default_factory=list)  # configured, in the issue, unchecked
    ticked: list[str] = field(default_factory=list)  # already checked in the issue
    # The ticked targets with their files: never published again, but one a target
    # runs after is re-read (its status) for the receipt that target needs (rereads).
    done: list[PlanItem] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # in the issue, not in the configuration

    @property
    def keys(self) -> list[str]:
        return [i.key for i in self.run]


def make_plan(request: Request, config: Config, resolve: Resolve) -> Plan:
    """Targets = configured ∩ in the issue ∩ unchecked, each with the files it takes."""
    plan = Plan()
    names = [a.name for a in request.artifacts]
    seen: set[str] = set()
    for state in request.targets:
        if state.id in seen:  # a repeated checkbox line names one target
            continue
        seen.add(state.id)
        tc = config.target(state.id)
        if tc is None:
            plan.unknown.append(state.id)
        else:
            impl = resolve(tc.name)
            item = PlanItem(state.id, tc, select_files(tc, impl.default_include, names))
            if state.checked:
                plan.ticked.append(state.id)
                plan.done.append(item)
            else:
                plan.run.append(item)
    return plan


def prerequisites(items: list[PlanItem],
                  runs_after: Callable[[str], tuple[str, ...]]) -> dict[str, list[str]]:
    """Which items each item waits for: those of a kind it declares it runs after.

    ``runs_after(name)`` is a target kind's declaration (``Target.runs_after``): the
    registry runs after every ``aws-lambda-layer`` target of the release, to list the
    layers they made. An item that declares nothing waits for nothing, so everything
    else stays concurrent. Declarations that wait on each other in a circle are a
    bug in the targets, refused here rather than left to hang a publish.
    """
    waits = {i.key: [j.key for j in items if j.key != i.key and j.name in runs_after(i.name)]
             for i in items}
    done: set[str] = set()
    left = dict(waits)
    while left:
        free = [k for k, w in left.items() if all(d in done for d in w)]
        if not free:
            raise ConfigError(f"the targets {', '.join(sorted(left))} each run after another "
                              "of them",
                              hint="this is a bug in valet's targets: report it with the "
                                   "configuration")
        for k in free:
            done.add(k)
            del left[k]
    return waits


def rereads(plan: Plan, runs_after: Callable[[str], tuple[str, ...]]) -> dict[str, list[PlanItem]]:
    """The ticked targets each target that runs now must see the receipt of.

    A ticked target is not published again, so it gives no receipt; one of a kind
    a target declares it runs after (the registry: every ``aws-lambda-layer``) is
    asked its read-only status instead, and a target that runs after nothing ticked
    asks nothing. Keyed by the waiting target, in plan order; only those with one.
    """
    out: dict[str, list[PlanItem]] = {}
    for item in plan.run:
        before = [d for d in plan.done if d.name in runs_after(item.name)]
        if before:
            out[item.key] = before
    return out


def require_known(plan: Plan, config: Config) -> None:
    if plan.unknown:
        configured = ", ".join(t.key for t in config.targets) or "none"
        raise ConfigError(
            f"the issue lists target(s) {', '.join(plan.unknown)} that the SDK's "
            f"{config.source} on its merge target does not configure (configured: {configured})",
            hint="targets are read from the protected merge target: add the target there and "
            "re-run the prepare workflow, or remove its line from the request",
        )
