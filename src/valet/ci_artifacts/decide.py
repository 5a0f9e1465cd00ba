"""Wait, fail or take: what the workflow runs of the release commit allow now (pure).

Only runs of the repository itself count (a fork's pull-request run can have
the same head commit), and of each workflow only its newest run (a workflow
dispatched again on the same commit replaces the earlier run; a re-run keeps
its run id and GitHub reports its latest attempt).

- The sha-named artifact (an ``exact`` rule): taken from the newest run that
  uploaded it, once that run has finished successfully. While no run holds it
  and some run is still going, wait; when every run is done without it, fail.
- Any other rule: wait until every run of its workflows has finished, then take
  every artifact of theirs whose name matches. Each name must match at least
  one artifact, and no artifact is taken from a run that did not succeed.

Nothing else of CI is judged here: the publish side's gate requires every check
of the commit to be green before anything is published, and waits for that
without holding a runner.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from valet.ci_artifacts.rules import Rule

OK_CONCLUSIONS = ("success", "neutral", "skipped")


@dataclass(frozen=True)
class Run:
    id: int
    name: str  # the workflow's name, as craft matches it
    status: str  # queued, in_progress, completed, ...
    conclusion: str | None
    url: str
    workflow: str  # what tells two workflows apart: the workflow id or file
    repo: str | None  # head_repository.full_name

    @property
    def done(self) -> bool:
        return self.status == "completed"

    @property
    def ok(self) -> bool:
        return self.done and self.conclusion in OK_CONCLUSIONS

    def label(self) -> str:
        return f"{self.name} (run {self.id})"


@dataclass(frozen=True)
class Artifact:
    id: int
    name: str
    size: int
    run_id: int
    expired: bool = False
    digest: str | None = None  # sha256 hex of the zip, when GitHub reports it


@dataclass(frozen=True)
class Wait:
    reason: str  # what is still missing, in words


@dataclass(frozen=True)
class Ready:
    artifacts: tuple[Artifact, ...]
    runs: Mapping[int, Run]


@dataclass(frozen=True)
class Failed:
    message: str
    ci_failed: bool = False  # a run the release takes from did not succeed


def current_runs(runs: Iterable[Run], repo: str, *, skip: int | None = None) -> list[Run]:
    """The newest run of each workflow, of ``repo`` itself, without run ``skip`` (the
    job's own run)."""
    newest: dict[str, Run] = {}
    for run in runs:
        if run.id == skip or (run.repo or "").lower() != repo.lower():
            continue
        if run.workflow not in newest or run.id > newest[run.workflow].id:
            newest[run.workflow] = run
    return sorted(newest.values(), key=lambda r: r.id)


def runs_to_list(rules: Sequence[Rule], runs: Sequence[Run]) -> list[Run]:
    """The runs whose artifacts ``decide`` needs now: every run for the sha-named
    artifact (it may appear while its run is going), the runs of a rule's workflows
    once they have all finished."""
    need: dict[int, Run] = {}
    for rule in rules:
        cands = [r for r in runs if rule.runs_of(r.name)]
        if rule.exact or all(r.done for r in cands):
            need.update({r.id: r for r in cands})
    return sorted(need.values(), key=lambda r: r.id)


def _names(arts: Iterable[Artifact]) -> str:
    listed = sorted({a.name for a in arts})
    return ", ".join(listed) if listed else "(none)"


def _going(runs: Iterable[Run]) -> str:
    return ", ".join(f"{r.label()} {r.status}" for r in runs)


def _newest_per_name(arts: Iterable[Artifact]) -> list[Artifact]:
    """One artifact per (run, name): a re-run attempt that uploads again replaces it."""
    best: dict[tuple[int, str], Artifact] = {}
    for a in arts:
        key = (a.run_id, a.name)
        if key not in best or a.id > best[key].id:
            best[key] = a
    return list(best.values())


def decide(rules: Sequence[Rule], runs: Sequence[Run],
           artifacts: Mapping[int, Sequence[Artifact]]) -> Wait | Ready | Failed:
    """``runs``: the current runs (``current_runs``); ``artifacts``: run id -> its
    artifacts, for (at least) the runs ``runs_to_list`` named."""
    if not runs:
        return Wait("no workflow run on the release commit yet")
    by_id = {r.id: r for r in runs}
    waits: list[str] = []
    errors: list[str] = []
    failed_runs: list[Run] = []
    taken: dict[int, Artifact] = {}
    for rule in rules:
        cands = [r for r in runs if rule.runs_of(r.name)]
        going = [r for r in cands if not r.done]
        if rule.exact:
            name = rule.names[0]
            holders = [a for r in cands for a in artifacts.get(r.id, ()) if a.name == name]
            if not holders:
                if going:
                    waits.append(f"no artifact named {name} yet; still running: {_going(going)}")
                else:
                    seen = [a for r in cands for a in artifacts.get(r.id, ())]
                    errors.append(
                        f"no workflow run of the release commit uploaded an artifact named "
                        f"{name}; runs: {', '.join(r.label() for r in cands)}; artifacts "
                        f"there: {_names(seen)}")
                continue
            art = max(holders, key=lambda a: a.id)
            run = by_id[art.run_id]
            if not run.done:
                waits.append(f"{run.label()} uploaded {name} and is still {run.status}")
            elif not run.ok:
                failed_runs.append(run)
            elif art.expired:
                errors.append(f"the artifact {name} of {run.label()} has expired")
            else:
                taken[art.id] = art
            continue
        if rule.workflow is not None and not cands:
            if any(not r.done for r in runs):
                waits.append(f"no run of workflow {rule.workflow} yet; still running: "
                             f"{_going(r for r in runs if not r.done)}")
            else:
                errors.append(f"workflow pattern {rule.workflow} matched no workflow run of "
                              "the release commit; workflows that ran: "
                              + ", ".join(sorted({r.name for r in runs})))
            continue
        if going:
            waits.append(f"still running: {_going(going)}")
            continue
        arts = _newest_per_name(a for r in cands for a in artifacts.get(r.id, ()))
        for index in range(len(rule.names)):
            matched = [a for a in arts if rule.matches(index, a.name)]
            if not matched:
                broken = [r for r in cands if not r.ok]
                note = (f" (did not succeed: {', '.join(r.label() for r in broken)})"
                        if broken else "")
                errors.append(f"artifact pattern {rule.describe(index)} matched no artifact"
                              f"{note}; artifacts there: {_names(arts)}")
                continue
            for art in matched:
                run = by_id[art.run_id]
                if not run.ok:
                    if run not in failed_runs:
                        failed_runs.append(run)
                elif art.expired:
                    errors.append(f"the artifact {art.name} of {run.label()} has expired")
                else:
                    taken[art.id] = art
    if failed_runs:
        listed = "; ".join(f"{r.label()} concluded {r.conclusion}: {r.url}" for r in failed_runs)
        return Failed(f"CI on the release commit did not succeed where the release's files "
                      f"come from: {listed}", ci_failed=True)
    if errors:
        return Failed("not every artifact the release takes is there:\n  - "
                      + "\n  - ".join(errors))
    if waits:
        return Wait("; ".join(waits))
    return Ready(tuple(sorted(taken.values(), key=lambda a: a.id)),
                 {a.run_id: by_id[a.run_id] for a in taken.values()})
