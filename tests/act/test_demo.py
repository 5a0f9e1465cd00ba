"""The scenario behind `valet demo`, run once: the example workflows with act, a real
approval through the API, real registries; then the proof the demo prints.

The scenario starts and stops its own sandbox and registries (as the demo does),
so the module can also check that nothing it started is left running.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from valet.sandbox.registries import processes_mentioning
from valet.sandbox.scenario import Scenario, ScenarioResult

pytestmark = [pytest.mark.act, pytest.mark.sandbox]

VERSION = "1.4.0"


@dataclass
class Ran:
    result: ScenarioResult
    work: Path
    pids: list[int]
    pip: tuple[bool, str]
    npm: tuple[bool, str]
    secrets: list[str]


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ran]:
    work = tmp_path_factory.mktemp("demo")
    scenario = Scenario(work, version=VERSION)
    try:
        result = scenario.run()
        pids = scenario.pids()
        assert scenario.registries is not None
        secrets = [scenario.registries.pypi_password, scenario.registries.npm_token,
                   *(u.token for u in scenario.users.values())]
        pip = scenario.pip_install()
        npm = scenario.npm_view()
    finally:
        scenario.stop()
    yield Ran(result, work, pids, pip, npm, secrets)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


def test_same_digests_on_every_registry(ran: Ran) -> None:
    r = ran.result
    assert set(r.manifest) == {f"acme-widget-{VERSION}.tgz",
                               f"acme_widget-{VERSION}-py3-none-any.whl",
                               f"acme_widget-{VERSION}.tar.gz"}
    assert r.digest_mismatches() == []
    assert r.pypi == {n: d for n, d in r.manifest.items() if n.startswith("acme_widget-")}
    assert r.npm["version"] == VERSION and r.npm["dist_tags"]["latest"] == VERSION
    assert r.npm["sha256"] == r.manifest[f"acme-widget-{VERSION}.tgz"]
    release = r.github_release
    assert release["tag"] == VERSION and release["draft"] is False
    by_name = {a["name"]: a for a in release["assets"]}
    for name, sha in r.manifest.items():
        assert by_name[name]["sha256"] == sha == by_name[name]["api_digest"]


def test_released_packages_install_and_show_from_the_sandbox(ran: Ran) -> None:
    ok, transcript = ran.pip
    assert ok, transcript
    assert transcript.rstrip().endswith(VERSION)
    ok, transcript = ran.npm
    assert ok, transcript


def test_issue_closed_published_and_branch_merged(ran: Ran) -> None:
    issue = ran.result.issue
    assert issue["title"] == f"publish: acme/widget-sdk@{VERSION}"
    assert issue["requested_by"] == "dana"
    assert ran.result.approval["by"] == "riley"
    assert issue["state"] == "closed" and issue["labels"] == ["published"]
    assert issue["closed_targets"] == {"pypi": True, "npm": True, "github": True}
    assert ran.result.merged and not ran.result.release_branch_left


def test_the_release_ran_in_three_jobs_and_the_build_without_a_token(ran: Ran) -> None:
    run = ran.result.release_run
    assert run is not None and run.jobs == {"prepare": "success", "build": "success",
                                            "request": "success"}
    issue = ran.result.issue
    assert "token was reachable" not in issue["body"]
    from valet.issue_format import parse_issue

    assert parse_issue(issue["title"], issue["body"]).build == "isolated"


def test_each_side_acts_with_its_own_app_and_phases_are_counted(ran: Ran) -> None:
    r = ran.result
    assert [p.name for p in r.phases] == ["start", "seed", "release", "ci", "request",
                                          "approve", "publish", "verify"]
    assert set(r.phase("release").by_user) == {"acme-release[bot]"}
    assert set(r.phase("publish").by_user) == {"acme-publish[bot]"}
    assert r.phase("release").api_calls > 0 and r.phase("release").git_requests > 0
    assert r.phase("publish").api_calls > 0
    assert r.phase("approve").by_user == {"riley": r.phase("approve").api_calls}


def test_step_summaries_of_prepare_request_and_publish(ran: Ran) -> None:
    summaries = dict(ran.result.summaries)
    assert set(summaries) >= {"Prepare the release", "Build", "Request approval", "Publish"}
    wheel = ran.result.manifest[f"acme_widget-{VERSION}-py3-none-any.whl"]
    assert "without a token" in summaries["Prepare the release"]
    assert wheel in summaries["Build"] and "holds no token" in summaries["Build"]
    assert VERSION in summaries["Request approval"]
    assert wheel in summaries["Publish"] and "published" in summaries["Publish"]


def test_no_secret_in_the_logs(ran: Ran) -> None:
    runs = [ran.result.release_run, ran.result.publish_run]
    for run in runs:
        assert run is not None
        for secret in ran.secrets:
            assert secret not in run.stdout


def test_nothing_left_running(ran: Ran) -> None:
    assert len(ran.pids) == 2
    assert [pid for pid in ran.pids if _alive(pid)] == []
    assert processes_mentioning(str(ran.work)) == []
