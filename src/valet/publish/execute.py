"""Applying the plan: preflight every target, ask each registry, publish the absent ones.

Three steps, each over every target before the next begins, so nothing is
uploaded anywhere until every target passed its preflight and its status:

1. ``check``: each target's preflight (credentials, tools, its files) and status
   (already published? conflict?) start as soon as that target's own files are
   verified (``ready``), concurrently; the answers are handled in plan order.
2. ``publish_first``: the other targets concurrently, and the ``github``
   target's preparation with them (``stage``: fill the draft with its assets),
   which makes nothing public. A target that declares it runs after a kind
   (``Target.runs_after``; plan.prerequisites) starts once every target of that
   kind in the release is out, with their receipts in ``ctx.earlier``; if one of
   them failed, it does not run. A target found already published while one it
   runs after publishes now (or failed its status) is looked at again after it
   (the registry then adds the new layers).

A target's status is asked after the statuses of the targets it runs after,
with the receipts of those found published in ``ctx.earlier``, so the registry
sees a layer file that is missing. One ticked in an earlier run is not
published again, so it gives no receipt: its read-only preflight and status
are asked instead (plan.rereads), once, only when a target runs after it. Found
no longer published (its layers deleted), the target that runs after it fails
rather than list what is not there; the tick stays as it was.
3. ``publish_last``: ``github`` makes the release public, only when every other
   target succeeded.

Each success ticks its checkbox through the ``tick`` callback (a batch of ticks
is one write of the issue: publish.ticks). ``rows_for`` turns the outcome into
the summary table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial

from valet import summary
from valet.errors import ConflictError, TargetError, ValetError
from valet.manifest import Artifact
from valet.publish.plan import GITHUB, Plan, PlanItem, Resolve, prerequisites, rereads
from valet.targets.base import Receipt, State, StatusResult, Target, TargetContext, runs_after


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


def _as_error(exc: object, key: str) -> ValetError:
    if isinstance(exc, ValetError):
        return exc
    return TargetError(f"{key}: unexpected {type(exc).__name__}: {exc}",
                       hint="this is a bug in valet or the target; the log of the run has details")


Ready = Callable[[PlanItem], None]  # blocks until the item's files are verified; raises if not


class Execution:
    """One plan being applied, step by step (``execute`` runs all three)."""

    def __init__(self, plan: Plan, resolve: Resolve, make_ctx: Callable[[PlanItem], TargetContext],
                 *, tick: Callable[[str], None], max_parallel: int = 4, dry_run: bool = False,
                 ready: Ready | None = None) -> None:
        self.plan = plan
        self.tick = tick
        self.max_parallel = max(1, max_parallel)
        self.dry_run = dry_run
        self.ready = ready
        self.make_ctx = make_ctx
        self.impls: dict[str, Target] = {i.key: resolve(i.name) for i in plan.run}
        kinds = {i.name: runs_after(self.impls[i.key]) for i in plan.run}
        self.waits = prerequisites(plan.run, lambda name: kinds.get(name, ()))
        # Ticked targets a target that runs now runs after: re-read for their receipt.
        self.rereads = rereads(plan, lambda name: kinds.get(name, ()))
        self.reread_items = {d.key: d for ds in self.rereads.values() for d in ds}
        for key, d in self.reread_items.items():
            self.impls[key] = resolve(d.name)
        self.reread: dict[str, Receipt] = {}  # their receipts, by key
        self.ctxs: dict[str, TargetContext] = {}
        self.out = Outcome()
        self.absent: list[PlanItem] = []
        self._staged: dict[str, Future[None]] = {}

    # -- 1 ---------------------------------------------------------------------------
    def check(self) -> Outcome:
        """Preflight and status of every target, each once its files are verified."""
        out = self.out
        if not self.plan.run:
            return out
        # Checks only read (a registry's index, a local file): more at once than uploads.
        workers = min(len(self.plan.run) + len(self.reread_items), max(self.max_parallel, 8))
        asked: dict[str, Future[tuple[str, object]]] = {}
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="check") as pool:
            # Those waited for first: a worker takes the queue in order, so whatever a
            # check waits for was taken before it (running or done): no worker waits
            # on a check still queued behind it.
            for item in self.reread_items.values():
                asked[item.key] = pool.submit(self._check_one, item, {})
            for item in self._in_order():
                before = {k: asked[k] for k in self.waits[item.key]}
                before.update((d.key, asked[d.key]) for d in self.rereads.get(item.key, []))
                asked[item.key] = pool.submit(self._check_one, item, before)
            answers = [(item, asked[item.key].result()) for item in self.plan.run]
        for key in self.reread_items:
            found = _published(*asked[key].result())
            if found is not None and found.receipt is not None:
                self.reread[key] = found.receipt
        for item, (where, value) in answers:
            if where in ("ready", "preflight"):
                out.results[item.key] = Result(item.key, "failed",
                                               error=_as_error(value, item.key),
                                               detail="preflight")
        if out.results:
            out.preflight_failed = True
            for item in self.plan.run:
                out.results.setdefault(item.key, Result(
                    item.key, "not run", detail="another target failed its preflight"))
            return out
        # Found published, but it runs after a target that publishes now (or whose status
        # failed): looked at again after that one (what it records of it may be missing,
        # its status did not see it), not ticked now.
        absent = {item.key for item, answer in answers if _published(*answer) is None}
        # The answers, in plan order: already there (tick), conflict (fail), or absent.
        for item, (where, value) in answers:
            if where == "status":
                out.results[item.key] = Result(item.key, "failed",
                                               error=_as_error(value, item.key), detail="status")
                continue
            assert isinstance(value, StatusResult)
            if value.state is State.PUBLISHED and any(k in absent for k in self.waits[item.key]):
                self.absent.append(item)
            elif value.state is State.PUBLISHED:
                out.results[item.key] = Result(item.key, "already published",
                                               receipt=value.receipt, detail=value.detail)
                if not self.dry_run:
                    _tick(self.tick, out, item.key)
            elif value.state is State.CONFLICT:
                out.results[item.key] = Result(
                    item.key, "conflict", detail=value.detail,
                    error=ConflictError(f"{item.key}: {value.detail or 'published with other content'}",
                                        hint="a version is never overwritten: release a new version"))
            else:
                self.absent.append(item)
        if self.dry_run:
            for item in self.absent:
                out.results[item.key] = Result(item.key, "planned", detail=_files_detail(item))
            self.absent = []
        return out

    def _in_order(self) -> list[PlanItem]:
        """The items, each after those it runs after (plan order otherwise)."""
        done: set[str] = set()
        out: list[PlanItem] = []
        while len(out) < len(self.plan.run):  # prerequisites() refused circles
            for item in self.plan.run:
                if item.key not in done and all(k in done for k in self.waits[item.key]):
                    done.add(item.key)
                    out.append(item)
        return out

    def _check_one(self, item: PlanItem,
                   before: Mapping[str, Future[tuple[str, object]]]) -> tuple[str, object]:
        """("ok", StatusResult), or where it failed and the exception. Its status is
        asked once the checks of ``before`` (those it runs after) are in, with the
        receipts of those found published."""
        try:
            if self.ready is not None:
                self.ready(item)
            ctx = self.ctxs[item.key] = self.make_ctx(item)
        except Exception as exc:  # noqa: BLE001 - reported as this target's failure
            return "ready", exc
        try:
            self.impls[item.key].preflight(ctx)
        except Exception as exc:  # noqa: BLE001
            return "preflight", exc
        earlier: dict[str, Receipt] = {}
        for key, fut in before.items():
            where, value = fut.result()
            found = _published(where, value)
            if found is not None and found.receipt is not None:
                earlier[key] = found.receipt
            elif key in self.reread_items:  # ticked: no later publish gives its receipt
                return "status", _gone(item.key, key, where, value)
        ctx.earlier = earlier
        try:
            return "ok", self.impls[item.key].status(ctx)
        except Exception as exc:  # noqa: BLE001
            return "status", exc

    # -- 2 ---------------------------------------------------------------------------
    def publish_first(self) -> None:
        """The other targets concurrently, github's preparation with them; a target
        that runs after others starts once they are out."""
        first = [i for i in self.absent if i.name != GITHUB]
        last = [i for i in self.absent if i.name == GITHUB]
        if not first and not last:
            return
        with ThreadPoolExecutor(max_workers=self.max_parallel + len(last),
                                thread_name_prefix="target") as pool:
            for item in last:
                stage = getattr(self.impls[item.key], "stage", None)
                if stage is not None and not self.out.failed:
                    self._staged[item.key] = pool.submit(stage, self.ctxs[item.key])
            waiting = list(first)
            running: dict[Future[Receipt], PlanItem] = {}
            while waiting or running:
                for item in self._startable(waiting):
                    waiting.remove(item)
                    if item.key in self.out.results:  # one it runs after failed
                        continue
                    running[pool.submit(self.impls[item.key].publish, self.ctxs[item.key])] = item
                if not running:
                    for item in waiting:  # waits for what never publishes before it
                        self.out.results[item.key] = Result(item.key, "not run",
                                                            detail="nothing it runs after ran")
                    break
                settled, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in settled:
                    _settle(self.out, running.pop(fut), self.tick, fut.result)

    def _startable(self, waiting: list[PlanItem]) -> list[PlanItem]:
        """The waiting items whose prerequisites have all settled; one whose
        prerequisite failed gets its result ("not run") here."""
        out = []
        for item in waiting:
            before = [self.out.results.get(k) for k in self.waits[item.key]]
            if any(r is None for r in before):
                continue
            failed = [r.key for r in before if r is not None and not r.ok]
            if failed:
                self.out.results[item.key] = Result(
                    item.key, "not run", detail=f"it runs after {', '.join(failed)}, which "
                    "did not publish")
            else:
                earlier = {d.key: self.reread[d.key] for d in self.rereads.get(item.key, [])
                           if d.key in self.reread}
                earlier.update((r.key, r.receipt) for r in before
                               if r is not None and r.receipt is not None)
                self.ctxs[item.key].earlier = earlier
            out.append(item)
        return out

    @property
    def first_ok(self) -> bool:
        """Every target but github is out (or was already): github may make it public."""
        return not self.out.failed

    # -- 3 ---------------------------------------------------------------------------
    def publish_last(self) -> None:
        """github makes the release public: only when everything else is out."""
        for item in (i for i in self.absent if i.name == GITHUB):
            if self.out.failed:
                self.out.results[item.key] = Result(
                    item.key, "not run", detail="another target failed: the release stays a draft")
                continue
            staged = self._staged.get(item.key)
            if staged is not None:
                try:
                    staged.result()
                except Exception as exc:  # noqa: BLE001 - its preparation failed: the target did
                    self.out.results[item.key] = Result(item.key, "failed",
                                                        error=_as_error(exc, item.key),
                                                        detail="publish")
                    continue
            _settle(self.out, item, self.tick,
                    partial(self.impls[item.key].publish, self.ctxs[item.key]))


def execute(plan: Plan, resolve: Resolve, make_ctx: Callable[[PlanItem], TargetContext], *,
            tick: Callable[[str], None], max_parallel: int = 4, dry_run: bool = False,
            ready: Ready | None = None) -> Outcome:
    """Preflight all, status each, publish the absent ones (github last), tick each success."""
    run = Execution(plan, resolve, make_ctx, tick=tick, max_parallel=max_parallel,
                    dry_run=dry_run, ready=ready)
    out = run.check()
    if out.preflight_failed or dry_run:
        return out
    run.publish_first()
    run.publish_last()
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


def _published(where: str, value: object) -> StatusResult | None:
    """A check's answer (``Execution._check_one``) when its status found it published."""
    if where == "ok" and isinstance(value, StatusResult) and value.state is State.PUBLISHED:
        return value
    return None


def _gone(key: str, ticked: str, where: str, value: object) -> TargetError:
    """Why ``key`` cannot run: ``ticked``, which it runs after and which an earlier run
    ticked, could not be read again or is not published any more."""
    uncheck = (f"if {ticked} must be published again, uncheck its box in the request's "
               "Targets list, then add `accepted` again")
    if where != "ok":
        err = _as_error(value, ticked)
        return TargetError(
            f"{key}: it runs after {ticked}, ticked in an earlier run, whose {where} failed "
            f"when read again for what {key} lists: {err.message}",
            hint=f"fix what {ticked} needs ({err.hint or 'see its message'}), then add "
                 f"`accepted` again; {uncheck}")
    detail = value.detail if isinstance(value, StatusResult) else ""
    return TargetError(
        f"{key}: it runs after {ticked}, ticked in an earlier run, which is not published "
        f"any more ({detail or 'its status found nothing'}): {key} does not list what is "
        "not there",
        hint=f"{uncheck}: it publishes again, then {key} lists it")


def _files_detail(item: PlanItem) -> str:
    return ", ".join(item.files) if item.files else "no files"


def rows_for(outcome: Outcome, plan: Plan, artifacts: Mapping[str, Artifact],
             ticked_by: Mapping[str, str]) -> list[summary.Row]:
    rows = [summary.Row(k, f"skipped: {ticked_by.get(k, 'ticked before approval')}")
            for k in plan.ticked]
    by_key = {i.key: i for i in plan.run}
    # In plan order (targets settle in any order; the summary lists them as the issue does).
    order = {k: n for n, k in enumerate(plan.keys)}
    for key, res in sorted(outcome.results.items(), key=lambda kv: order.get(kv[0], len(order))):
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
