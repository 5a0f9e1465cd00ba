"""The SDK-side checks before anything is downloaded or any token is used.

Each takes the run and what it needs, reads through the API, and either fills
the run (merge target, configuration, plan) or raises: ``Refused`` (the label
is removed and the reason commented) or a ValetError (the run fails).
"""

from __future__ import annotations

from typing import Any

from valet import gha
from valet.errors import ConfigError, NotAuthorizedError
from valet.publish.context import Refused, Run, Settings
from valet.publish.plan import GITHUB, Resolve, make_plan, require_known
from valet.publish.reviewed import COMPARE_FILES

__all__ = ["Refused", "config_and_plan", "merge_target", "release_commit", "reviewed"]


def merge_target(run: Run, sdk: Any, settings: Settings) -> None:
    """The merge target exists, is not the release branch, and its rules make it a
    trustworthy source of configuration (branch_rules.config_refusal)."""
    from valet import branch_rules

    request = run.request
    target = request.merge_target or sdk.default_branch()
    run.merge_target = target
    if request.branch and target == request.branch:
        # Any committer can push to the release branch: its config must never decide
        # which targets (and registry URLs) get the tokens.
        raise ConfigError(
            f"the merge target {target} is the release branch itself",
            hint="the configuration is read from the merge target, which must be a "
            "protected branch such as main: re-create the request with that merge target")
    # The publish App's slug finds it in a branch protection rule's allowances (a
    # ruleset says itself whether the caller may bypass it): Settings.app_slug once set.
    rules = branch_rules.read(sdk, target, getattr(settings, "app_slug", None) or None)
    if rules is None:
        raise ConfigError(f"the merge target {target} does not exist in {request.repo}",
                          hint="re-create the request with an existing, protected merge "
                          "target such as the default branch")
    run.branch_rules = rules
    why = branch_rules.config_refusal(rules)
    if why is None:
        return
    if settings.allow_unprotected_merge_target:
        gha.warning(f"the merge target {target} of {request.repo}: {why}; going on because "
                    "allow-unprotected-merge-target is true (rehearsals only)",
                    title="unprotected merge target")
        return
    # The requester writes the merge target, and its configuration decides the targets
    # and their registry URLs: a branch any writer can change would let them choose
    # where the tokens go.
    run.result = "refused: merge target not protected"
    raise Refused(NotAuthorizedError(
        f"the merge target {target} of {request.repo} is not a protected branch valet can "
        f"trust: {why}. Its configuration decides which targets get the registry tokens and "
        "where they upload",
        hint=branch_rules.CONFIG_HINT.format(branch=target)))


def landing(run: Run, sdk: Any) -> None:
    """Before anything is published: how the release will land on the merge target
    (branch_rules.plan_merge: a locked one fails here), and whether publishing it needs
    the Workflows permission (workflow_check)."""
    from valet import branch_rules, workflow_check

    rules = run.branch_rules
    if rules is None or rules.branch != run.merge_target:
        return
    plan = branch_rules.plan_merge(rules)
    if plan.mode == "blocked":
        raise ConfigError(f"the release cannot land on {run.merge_target}: {plan.note()}",
                          hint=plan.fix)
    gha.info(f"merge: {plan.note()}")
    run.merge_plan = plan
    request = run.request
    if request.sha and any(t.id == GITHUB for t in request.targets):
        workflow_check.check(sdk, default_branch=sdk.default_branch(), sha=request.sha,
                             release_id=request.release_id)


def config_and_plan(run: Run, sdk: Any, resolve: Resolve) -> None:
    """The configuration from the merge target, and the plan: every target configured."""
    from valet.sdk_config import read_sdk_config

    request = run.request
    assert run.merge_target is not None
    config = read_sdk_config(sdk, ref=run.merge_target, path=request.path)
    run.config = config
    if request.ignored_targets:
        gha.warning(
            "the Targets list names ids that are not part of the request (added to the "
            f"body by hand?): {', '.join(request.ignored_targets)}; they are ignored",
            title="ignored target lines")
    plan = make_plan(request, config, resolve)
    run.plan = plan
    require_known(plan, config)


def release_compare(run: Run, sdk: Any) -> dict[str, Any]:
    """``<merge target>...<release commit>``, read once per run and kept on it."""
    assert run.merge_target is not None and run.request.sha
    if run.release_compare is None:
        run.release_compare = sdk.compare(run.merge_target, run.request.sha)
    return run.release_compare


def reviewed(run: Run, sdk: Any) -> None:
    """The release commit is prepare's own commit on the merge target (publish.reviewed):
    one commit whose parent is in the merge target's history, changing only the
    changelog and version numbers. An SDK committer holding the request App's token can
    push a branch of their own; only the merge target's history was reviewed."""
    from valet.errors import UnreviewedCommitError
    from valet.publish import reviewed as rule
    from valet.version import tag_prefix

    request, target, config = run.request, run.merge_target, run.config
    assert target is not None and config is not None
    sha = release_commit(run)
    previous = rule.previous_version(request.previous, tag_prefix(config))
    found = rule.problems(release_compare(run, sdk), sha=sha, version=request.version,
                          previous=previous, files=rule.release_files(config, request.path))
    if not found:
        return
    run.result = "refused: release commit not reviewed"
    raise Refused(UnreviewedCommitError(
        f"the release commit {sha[:12]} is not only valet prepare's version bump and "
        f"changelog on {target}: {rule.describe(found)}. Anything else it carries was never "
        f"reviewed on {target}, so nothing was downloaded or published",
        hint=f"merge the change into {target} through a reviewed pull request, then run the "
        "release workflow again (it cuts the release commit from the current "
        f"{target}); a file a pre_release_command rewrites may only change the version "
        "in it"))


def merges_cleanly(run: Run, sdk: Any) -> None:
    """Before anything is published: the release commit will merge into the merge target.

    Publish merges the approved commit once every target is out; a merge that
    conflicts would leave a version on the registries whose release cannot land (two
    releases cut from one main: the second's version bump and changelog conflict with
    the first's, merged meanwhile). GitHub has no dry-run merge; its compare says
    whether the merge target moved since the release was cut and what each side
    changed. Not moved, or no file changed on both sides: the merge is clean. A file
    changed on both sides: refused now, before any download or upload."""
    from valet.errors import MergeConflictError

    request, target = run.request, run.merge_target
    if not request.sha or not target or not request.branch:
        return
    ahead = release_compare(run, sdk)
    if ahead.get("status") != "diverged":  # ahead, identical, behind: nothing can conflict
        return
    base = (ahead.get("merge_base_commit") or {}).get("sha")
    if not isinstance(base, str):
        return
    moved = sdk.compare(base, target)
    ours, theirs = _changed(ahead), _changed(moved)
    both = sorted(ours & theirs)
    if not both:
        if len(ahead.get("files") or []) >= COMPARE_FILES or \
                len(moved.get("files") or []) >= COMPARE_FILES:
            gha.warning(f"{target} moved since {request.branch} was cut and one side changed "
                        f"more than {COMPARE_FILES} files: whether the merge is clean is "
                        "only known when it is made", title="merge not checked")
        return
    shown = ", ".join(both[:5]) + (f" and {len(both) - 5} more" if len(both) > 5 else "")
    raise MergeConflictError(
        f"{target} moved since {request.branch} was cut ({moved.get('ahead_by', '?')} "
        f"commit(s), another release perhaps) and both changed {shown}: the release could "
        "not be merged, so nothing was published",
        hint=f"run the release workflow again from the current {target} for a new request "
        "(close this one): a release is merged into the branch it was cut from, and this "
        "one's changes collide with what landed there since")




def _changed(compare: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for item in compare.get("files") or []:
        if isinstance(item, dict):
            for key in ("filename", "previous_filename"):
                if isinstance(item.get(key), str):
                    out.add(item[key])
    return out


def release_commit(run: Run) -> str:
    if not run.request.sha:
        raise ConfigError("the request names no release commit (sha)",
                          hint="re-create the request with `valet request`")
    return run.request.sha
