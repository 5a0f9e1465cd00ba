from __future__ import annotations

from pathlib import Path

import pytest

from valet.config_load import parse_config
from valet.errors import ConfigError
from valet.publish import PlanItem, execute, make_plan, require_known
from valet.request import TargetState
from valet.targets.base import State, TargetContext

from .fakes import CONFIG, Behaviour, Registry, artifacts, make_request


def plan_for(targets, config=CONFIG, checked=()):
    req = make_request(targets)
    for t in req.targets:
        t.checked = t.id in checked
    reg = Registry()
    return req, reg, make_plan(req, parse_config(config, ".valet.yml"), reg.resolve)


def test_targets_are_configured_and_unchecked_in_issue_order():
    _, _, plan = plan_for(["github", "npm", "pypi"], checked=("npm",))
    assert plan.keys == ["github", "pypi"]
    assert plan.ticked == ["npm"] and plan.unknown == []


def test_configured_target_missing_from_issue_is_not_published():
    _, _, plan = plan_for(["pypi"])
    assert plan.keys == ["pypi"]


def test_issue_target_missing_from_config_is_an_error():
    _, _, plan = plan_for(["pypi", "crates"])
    assert plan.unknown == ["crates"]
    with pytest.raises(ConfigError, match="crates"):
        require_known(plan, parse_config(CONFIG, ".valet.yml"))


def test_repeated_checkbox_lines_name_one_target():
    req, reg, _ = plan_for(["pypi"])
    req.targets = [TargetState("pypi"), TargetState("pypi")]
    plan = make_plan(req, parse_config(CONFIG, ".valet.yml"), reg.resolve)
    assert plan.keys == ["pypi"]


def test_files_follow_default_include_and_config_filters():
    config = CONFIG.replace("  - name: pypi\n", "  - name: pypi\n    exclude_names: '\\.tar\\.gz$'\n")
    _, _, plan = plan_for(["pypi", "npm", "github"], config=config)
    files = {i.key: i.files for i in plan.run}
    assert files == {"pypi": ["pkg-1.2.3-py3-none-any.whl"], "npm": ["pkg-1.2.3.tgz"],
                     "github": sorted(a.name for a in artifacts())}


def run(plan, reg, req, tmp_path: Path, **kw):
    ticks: list[str] = []
    for art in req.artifacts:
        (tmp_path / art.name).write_bytes(b"x")

    def make_ctx(item: PlanItem) -> TargetContext:
        by = {a.name: a for a in req.artifacts}
        return TargetContext(request=req, config=parse_config(CONFIG, ".valet.yml"), target=item.target,
                             files={n: tmp_path / n for n in item.files},
                             artifacts={n: by[n] for n in item.files}, workdir=tmp_path, env={},
                             dry_run=kw.get("dry_run", False))

    out = execute(plan, reg.resolve, make_ctx, tick=ticks.append, **kw)
    return out, ticks


def test_one_failed_preflight_means_nothing_is_uploaded_anywhere(tmp_path):
    req, reg, plan = plan_for(["pypi", "npm", "github"])
    reg.behaviour["npm"] = Behaviour(preflight_error="NPM_TOKEN is not set")
    out, ticks = run(plan, reg, req, tmp_path)
    assert out.preflight_failed
    # each target's status read may follow its own preflight; no upload follows any
    assert [c for c in reg.calls if c[0] == "publish"] == []
    assert sorted(k for c, k in reg.calls if c == "preflight") == ["github", "npm", "pypi"]
    assert ticks == []
    assert out.results["npm"].outcome == "failed" and out.results["pypi"].outcome == "not run"


def test_statuses_are_all_asked_before_any_upload_and_github_publishes_last(tmp_path):
    req, reg, plan = plan_for(["github", "pypi", "npm"])
    out, ticks = run(plan, reg, req, tmp_path, max_parallel=2)
    kinds = [c[0] for c in reg.calls]
    assert kinds.index("publish") > max(i for i, k in enumerate(kinds) if k == "status")
    assert reg.calls[-1] == ("publish", "github")
    assert sorted(ticks[:2]) == ["npm", "pypi"] and ticks[2] == "github"
    assert all(r.outcome == "published" for r in out.results.values())


def test_already_published_is_ticked_not_uploaded(tmp_path):
    req, reg, plan = plan_for(["pypi", "npm"])
    reg.behaviour["pypi"] = Behaviour(state=State.PUBLISHED)
    out, ticks = run(plan, reg, req, tmp_path)
    assert ("publish", "pypi") not in reg.calls and ("publish", "npm") in reg.calls
    assert sorted(ticks) == ["npm", "pypi"]
    assert out.results["pypi"].outcome == "already published"


def test_conflict_fails_that_target_and_keeps_the_release_a_draft(tmp_path):
    req, reg, plan = plan_for(["pypi", "npm", "github"])
    reg.behaviour["npm"] = Behaviour(state=State.CONFLICT)
    out, ticks = run(plan, reg, req, tmp_path)
    assert ("publish", "npm") not in reg.calls and ("publish", "github") not in reg.calls
    assert ticks == ["pypi"]
    assert out.results["npm"].outcome == "conflict" and out.results["github"].outcome == "not run"
    assert [r.key for r in out.failed] == ["npm"]


def test_failed_upload_blocks_github_but_keeps_other_ticks(tmp_path):
    req, reg, plan = plan_for(["pypi", "npm", "github"])
    reg.behaviour["npm"] = Behaviour(publish_error="403 Forbidden")
    out, ticks = run(plan, reg, req, tmp_path)
    assert ticks == ["pypi"]
    assert out.results["npm"].error.message == "403 Forbidden"
    assert ("publish", "github") not in reg.calls


def test_dry_run_checks_everything_and_uploads_nothing(tmp_path):
    req, reg, plan = plan_for(["pypi", "npm", "github"])
    reg.behaviour["pypi"] = Behaviour(state=State.PUBLISHED)
    out, ticks = run(plan, reg, req, tmp_path, dry_run=True)
    assert {c[0] for c in reg.calls} == {"preflight", "status"}
    assert ticks == []
    assert {k: r.outcome for k, r in out.results.items()} == {
        "pypi": "already published", "npm": "planned", "github": "planned"}


def test_a_crashing_target_is_reported_not_raised(tmp_path):
    req, reg, plan = plan_for(["pypi", "npm"])

    class Boom(Exception):
        pass

    real = reg.resolve

    def resolve(name):
        t = real(name)
        if name == "npm":
            t.publish = lambda ctx: (_ for _ in ()).throw(Boom("kaput"))
        return t

    ticks = []
    out = execute(plan, resolve, lambda item: TargetContext(
        request=req, config=parse_config(CONFIG, ".valet.yml"), target=item.target, files={},
        artifacts={}, workdir=tmp_path, env={}), tick=ticks.append)
    assert ticks == ["pypi"]
    assert "Boom" in out.results["npm"].error.message
