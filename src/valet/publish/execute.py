"""Applying the plan: preflight every target, ask each registry, publish the absent ones.

``github`` (which makes the release public) runs last and only when every other
target succeeded; each success ticks its checkbox through the ``tick`` callback.
``rows_for`` turns the outcome into the summary table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import partial

from valet import summary
from valet.errors import ConflictError, TargetError, ValetError
from valet.manifest import Artifact
from valet.publish.plan import GITHUB, Plan, PlanItem, Resolve
from valet.targets.base import Receipt, State, TargetContext


@dataclass
class Result:
    key: str
    outcome: str  # published, already published, planned, failed, conflict, not run
    receipt: Receipt | None = None
    error: ValetError | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome in ("published", "already published", "planned")


@dataclass
class Outcome:
    results: dict[str, Result] = field(default_factory=dict)
    preflight_failed: bool = False

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results.values() if not r.ok and r.outcome != "not run"]

    @property
    def done(self) -> list[str]:
        return [k for k, r in self.results.items() if r.outcome in ("published", "already published")]


def _as_error(exc: BaseException, key: str) -> ValetError:
    if isinstance(exc, ValetError):
        return exc
    return TargetError(f"{key}: unexpected {type(exc).__name__}: {exc}",
                       hint="this is a bug in valet or the target; the log of the run has details")


def execute(plan: Plan, resolve: Resolve, make_ctx: Callable[[PlanItem], TargetContext], *,
            tick: Callable[[str], None], max_parallel: int = 4, dry_run: bool = False) -> Outcome:
    """Preflight all, status each, publish the absent ones (github last), tick each success."""
    out = Outcome()
    impls = {i.key: resolve(i.name) for i in plan.run}
    ctxs = {i.key: make_ctx(i) for i in plan.run}

    # 1. Preflight every target before anything is uploaded anywhere.
    for item in plan.run:
        try:
            impls[item.key].preflight(ctxs[item.key])
        except Exception as exc:  # noqa: BLE001 - one target's failure is reported, not raised
            out.results[item.key] = Result(item.key, "failed", error=_as_error(exc, item.key),
                                           detail="preflight")
    if out.results:
        out.preflight_failed = True
        for item in plan.run:
            out.results.setdefault(item.key, Result(item.key, "not run",
                                                    detail="another target failed its preflight"))
        return out

    # 2. Ask every registry first: already there (tick), conflict (fail), or absent.
    # The questions go out concurrently (they only read); the answers are handled
    # here, in plan order, so ticks stay on this thread.
    with ThreadPoolExecutor(max_workers=max(1, max_parallel), thread_name_prefix="status") as pool:
        asked = [(item, pool.submit(impls[item.key].status, ctxs[item.key])) for item in plan.run]
    absent: list[PlanItem] = []
    for item, answer in asked:
        try:
            st = answer.result()
        except Exception as exc:  # noqa: BLE001
            out.results[item.key] = Result(item.key, "failed", error=_as_error(exc, item.key),
                                           detail="status")
            continue
        if st.state is State.PUBLISHED:
            out.results[item.key] = Result(item.key, "already published", receipt=st.receipt,
                                           detail=st.detail)
            if not dry_run:
                _tick(tick, out, item.key)
        elif st.state is State.CONFLICT:
            out.results[item.key] = Result(
                item.key, "conflict", detail=st.detail,
                error=ConflictError(f"{item.key}: {st.detail or 'published with other content'}",
                                    hint="a version is never overwritten: release a new version"))
        else:
            absent.append(item)
    if dry_run:
        for item in absent:
            out.results[item.key] = Result(item.key, "planned", detail=_files_detail(item))
        return out

    # 3. Independent targets concurrently; ticks happen here, on this thread, one at a time.
    first = [i for i in absent if i.name != GITHUB]
    last = [i for i in absent if i.name == GITHUB]
    if first:
        with ThreadPoolExecutor(max_workers=max(1, max_parallel), thread_name_prefix="target") as pool:
            futures = {pool.submit(impls[i.key].publish, ctxs[i.key]): i for i in first}
            for fut in as_completed(futures):
                _settle(out, futures[fut], tick, fut.result)

    # 4. github makes the release public: only when everything else is out.
    for item in last:
        if out.failed:
            out.results[item.key] = Result(item.key, "not run",
                                           detail="another target failed: the release stays a draft")
            continue
        _settle(out, item, tick, partial(impls[item.key].publish, ctxs[item.key]))
    return out


def _settle(out: Outcome, item: PlanItem, tick: Callable[[str], None],
            publish: Callable[[], Receipt]) -> None:
    """Record one target's publish (its receipt or its error); tick it on success."""
    try:
        receipt = publish()
    except Exception as exc:  # noqa: BLE001 - any failure of one target is that target's failure
        out.results[item.key] = Result(item.key, "failed", error=_as_error(exc, item.key),
                                       detail="publish")
        return
    out.results[item.key] = Result(item.key, "published", receipt=receipt,
                                   detail=receipt.detail if receipt else "")
    _tick(tick, out, item.key)


def _tick(tick: Callable[[str], None], out: Outcome, key: str) -> None:
    try:
        tick(key)
    except ValetError as exc:
        prev = out.results[key]
        out.results[key] = Result(key, "failed", receipt=prev.receipt, detail="tick", error=TargetError(
            f"{key} was published but its checkbox could not be ticked: {exc.message}",
            hint="add `accepted` again: the target will be found published and ticked"))


def _files_detail(item: PlanItem) -> str:
    return ", ".join(item.files) if item.files else "no files"


def rows_for(outcome: Outcome, plan: Plan, artifacts: Mapping[str, Artifact],
             ticked_by: Mapping[str, str]) -> list[summary.Row]:
    rows = [summary.Row(k, f"skipped: {ticked_by.get(k, 'ticked before approval')}")
            for k in plan.ticked]
    by_key = {i.key: i for i in plan.run}
    for key, res in outcome.results.items():
        item = by_key.get(key)
        digests = dict(res.receipt.digests) if res.receipt and res.receipt.digests else {}
        if not digests and item is not None and res.outcome in ("published", "planned",
                                                                  "already published"):
            digests = {n: artifacts[n].sha256 for n in item.files if n in artifacts}
        detail = res.detail
        if res.error is not None:
            detail = res.error.message
        elif res.receipt and res.receipt.detail:
            detail = res.receipt.detail
        elif item is not None and res.outcome in ("published", "planned") and not detail:
            detail = _files_detail(item)
        rows.append(summary.Row(key, res.outcome, detail, digests,
                                res.receipt.url if res.receipt else None))
    return rows
