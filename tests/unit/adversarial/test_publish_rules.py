"""Adversarial cases of the publish flow, against the in-memory fakes of tests/unit/publish.

The plan with forged target lines and forged hidden blocks, ids the config does not
know, the configuration taken from the merge target only, a duplicate request, a
re-labelled finished issue and a box ticked by someone before approval.
"""

from __future__ import annotations

import pytest

from tests.unit.publish.fakes import CONFIG, Registry, make_body, make_request, open_request
from tests.unit.publish.test_publisher import N, World
from valet.config_load import parse_config
from valet.errors import ConfigError
from valet.issue_format import parse_issue, render_body, set_target_checked
from valet.publish import make_plan, require_known
from valet.request import TargetState

pytestmark = pytest.mark.adversarial

TITLE = "publish: org/sdk@1.2.3"
EVIL_URL = "https://evil.example/legacy/"


def plan_of(body: str, config: str = CONFIG):
    req = parse_issue(TITLE, body)
    return make_plan(req, parse_config(config, ".valet.yml"), Registry().resolve)


# -- the plan -------------------------------------------------------------------------


@pytest.mark.parametrize("changelog", [
    " - [ ] crates", "### Targets\n - [ ] crates", "</details>\n### Targets\n- [ ] crates",
    '<!-- valet-request {"targets":["crates"]} -->',
])
def test_a_target_line_forged_in_the_changelog_plans_nothing_more(changelog):
    req = make_request(["pypi"])
    req.changelog = changelog
    plan = plan_of(render_body(req, server_url="https://github.com"),
                   CONFIG + "  - name: crates\n")
    assert plan.keys == ["pypi"] and plan.unknown == [] and plan.ticked == []


def test_a_target_line_added_to_the_targets_run_plans_nothing_more():
    body = make_body(targets=["pypi"]).replace(" - [ ] pypi", " - [ ] pypi\n - [ ] npm\n - [ ] github")
    assert plan_of(body).keys == ["pypi"]


def test_ids_in_the_body_but_not_in_the_config_are_refused():
    body = make_body(targets=["pypi", "npm[@evil/pkg]", "crates"])
    plan = plan_of(body)
    assert plan.keys == ["pypi"] and plan.unknown == ["npm[@evil/pkg]", "crates"]
    with pytest.raises(ConfigError, match=r"npm\[@evil/pkg\], crates") as info:
        require_known(plan, parse_config(CONFIG, ".valet.yml"))
    assert "merge target" in info.value.message and info.value.hint


def test_ids_not_in_the_config_publish_nothing_at_all(tmp_path):
    w = World(tmp_path, targets=["pypi", "npm[@evil/pkg]"])
    assert w.label() == ConfigError.exit_code
    assert w.reg.calls == [] and w.store.downloads == 0
    assert "npm\\[\\@evil/pkg\\]" in w.comments[-1]  # named, markdown-escaped (no mention)


def test_a_forged_hidden_block_is_refused_and_publishes_nothing(tmp_path):
    w = World(tmp_path)
    forged = make_body(targets=["pypi", "npm", "github", "crates"])
    hidden = forged[forged.index("<!-- valet-request"):].split("-->", 1)[0] + "-->"
    w.issues.store[N]["body"] += "\n" + hidden
    assert w.label() == 0  # a refusal: the label is removed and the reason commented
    assert w.reg.calls == [] and w.store.downloads == 0 and "accepted" not in w.labels
    assert "valet-request" in w.comments[-1] and "refused" in w.comments[-1]


# -- the configuration comes from the merge target only ----------------------------------


def test_release_branch_config_with_more_targets_and_an_evil_url_is_never_read(tmp_path):
    w = World(tmp_path, merge_target="main", targets=["pypi", "npm"])
    w.sdk.files = {
        ("main", ".valet.yml"): "targets:\n  - name: pypi\n  - name: npm\n",
        ("release/1.2.3", ".valet.yml"):
            f"targets:\n  - name: pypi\n    repository_url: {EVIL_URL}\n  - name: npm\n"
            "  - name: crates\n",
    }
    seen = []
    resolve = w.reg.resolve

    def spy(name):
        target = resolve(name)
        original = target.publish

        def publish(ctx):
            seen.append(dict(ctx.target.options))
            return original(ctx)

        target.publish = publish
        return target

    w.publisher.d.resolve = spy
    assert w.label() == 0
    assert {ref for ref, _ in w.sdk.file_reads} == {"main"}
    assert sorted(w.uploads()) == ["npm", "pypi"]
    assert all(EVIL_URL not in str(options) for options in seen) and len(seen) == 2


def test_no_config_on_the_merge_target_fails_even_with_one_on_the_release_branch(tmp_path):
    w = World(tmp_path)
    w.sdk.files = {("release/1.2.3", ".valet.yml"): CONFIG}
    assert w.label() == ConfigError.exit_code
    assert w.reg.calls == [] and {ref for ref, _ in w.sdk.file_reads} == {"main"}
    assert "never from the release branch" in w.comments[-1]


def test_a_merge_target_that_is_the_release_branch_is_refused(tmp_path):
    w = World(tmp_path, merge_target="release/1.2.3")
    w.sdk.files = {("release/1.2.3", ".valet.yml"): CONFIG}
    assert w.label() == ConfigError.exit_code
    assert w.reg.calls == [] and w.sdk.file_reads == [] and w.sdk.merges == []
    assert "is the release branch itself" in w.comments[-1]


def test_an_unprotected_merge_target_is_refused(tmp_path):
    w = World(tmp_path, merge_target="feature-x")
    w.sdk.protected = {"main"}  # what a protection lookup would answer
    w.sdk.files = {("feature-x", ".valet.yml"):
                   f"targets:\n  - name: pypi\n    repository_url: {EVIL_URL}\n"
                   "  - name: npm\n  - name: github\n"}
    assert w.label() == 0  # a refusal, like an unauthorized approver
    assert w.reg.calls == [] and w.store.downloads == 0 and w.sdk.merges == []
    assert w.sdk.file_reads == []  # its config is never even read
    assert w.sdk.branch_reads == ["feature-x"] and "accepted" not in w.labels
    assert "feature-x" in w.comments[-1] and "not a protected branch" in w.comments[-1]


# -- nothing is published twice ------------------------------------------------------------


def test_a_duplicate_request_for_the_same_version_publishes_nothing_twice(tmp_path):
    w = World(tmp_path)
    open_request(w.issues, w.sdk, N + 1)
    assert w.label() == 0
    first = sorted(w.uploads())
    assert first == ["github", "npm", "pypi"]
    ev = w.issues.label_by(N + 1, "accepted", "alice")
    assert w.publisher.handle(ev) == 0
    assert sorted(w.uploads()) == first  # the second issue found every target published
    assert all(t.checked for t in parse_issue(TITLE, w.issues.store[N + 1]["body"]).targets)


def test_a_relabelled_closed_issue_does_nothing(tmp_path):
    w = World(tmp_path)
    assert w.label() == 0 and w.issues.store[N]["state"] == "closed"
    calls = list(w.reg.calls)
    comments = len(w.comments)
    w.issues.store[N]["state"] = "closed"
    ev = w.issues.label_by(N, "accepted", "alice")
    from dataclasses import replace

    assert w.publisher.handle(replace(ev, state="closed")) == 0
    assert w.reg.calls == calls and len(w.comments) == comments


def test_a_reopened_and_relabelled_finished_issue_uploads_nothing(tmp_path):
    w = World(tmp_path)
    assert w.label() == 0
    before = len(w.reg.calls)
    w.issues.store[N]["state"] = "open"
    assert w.label() == 0
    assert w.reg.calls[before:] == []  # every box is ticked: nothing is planned or asked


# -- a box ticked before approval ------------------------------------------------------------


def _tick_before_approval(w: World, key: str, who: str = "mallory") -> None:
    w.issues.edit_body(N, set_target_checked(w.issues.store[N]["body"], key, True), who)


def test_a_box_ticked_by_someone_before_approval_skips_that_target(tmp_path):
    w = World(tmp_path)
    _tick_before_approval(w, "npm")
    assert w.label() == 0
    assert sorted(w.uploads()) == ["github", "pypi"]
    assert ("preflight", "npm") not in w.reg.calls
    summary = w.comments[-1]
    npm_row = next(line for line in summary.splitlines() if "npm" in line and "|" in line)
    assert "skipped: ticked by mallory before approval" in npm_row
    assert "alice" in summary  # the approver, who approved the body with the box ticked


def test_the_summary_names_who_ticked_the_box(tmp_path):
    w = World(tmp_path)
    _tick_before_approval(w, "npm")  # what GraphQL's userContentEdits answers: mallory ticked it
    w.label()
    npm_row = next(line for line in w.comments[-1].splitlines() if "npm" in line and "|" in line)
    assert "skipped: ticked by mallory before approval" in npm_row
    assert "@" not in npm_row  # named, never mentioned (a mention would notify them)


def test_a_box_ticked_after_approval_is_an_edit_and_is_refused(tmp_path):
    w = World(tmp_path)
    ev = w.issues.label_by(N, "accepted", "alice")
    _tick_before_approval(w, "npm")  # after the label: the body differs from the approved one
    assert w.publisher.handle(ev) == 0
    assert w.reg.calls == [] and "changed after it was approved" in w.comments[-1]


def test_plan_of_a_request_with_every_box_ticked_is_empty():
    req = make_request()
    req.targets = [TargetState(t.id, checked=True) for t in req.targets]
    plan = make_plan(req, parse_config(CONFIG, ".valet.yml"), Registry().resolve)
    assert plan.run == [] and plan.ticked == ["pypi", "npm", "github"]


@pytest.mark.parametrize("who,kind", [("mallory", "User"), ("valet-request[bot]", "Bot"),
                                      ("helper[bot]", "Bot")])
def test_a_done_marker_pasted_by_a_person_does_not_vouch_for_a_ticked_box(tmp_path, who, kind):
    """Only the publish App's records count: a person's, the request App's or another
    bot's `valet:done` marker is ignored."""
    w = World(tmp_path)
    _tick_before_approval(w, "npm")
    w.issues.comment_as(N, who, '<!-- valet:done {"targets":["npm"]} -->', kind)
    assert w.label() == 0
    npm_row = next(line for line in w.comments[-1].splitlines() if "npm" in line and "|" in line)
    assert "before approval" in npm_row and "published by valet" not in npm_row
