"""Rendering valet's issue body: layout, hidden block precedence, injection, size."""

from __future__ import annotations

import json
import re

import pytest

from valet.errors import ArtifactError, NotARequestError, RequestTooLargeError, UsageError
from valet.issue_format import (
    GITHUB_BODY_LIMIT,
    ZWJ,
    parse_issue,
    render_body,
    render_title,
    set_target_checked,
    targets_section,
)
from valet.manifest import Artifact
from valet.request import Request, TargetState

SERVER = "https://github.example"
SHA = "3" * 40


def make(**changes) -> Request:
    base = dict(
        repo="octo-org/sdk", version="1.2.3", path=".", requested_by="alice", merge_target=None,
        sha=SHA, targets=[TargetState("pypi"), TargetState("npm[@scope/pkg]")],
        artifacts=[Artifact("sdk-1.2.3.tar.gz", 2048, "a" * 64), Artifact("sdk-1.2.3.tgz", 10, "b" * 64)],
        branch="release/1.2.3", run_url=f"{SERVER}/octo-org/sdk/actions/runs/9", release_id=12,
        previous="1.2.2", changelog="",
    )
    base.update(changes)
    return Request(**base)


def render(req: Request) -> str:
    return render_body(req, server_url=SERVER)


def hidden_json(body: str) -> dict:
    match = re.search(r"<!-- valet-request (.*?) -->", body)
    assert match
    return json.loads(match.group(1))


# -- layout --------------------------------------------------------------------------

def test_body_sections_come_in_the_documented_order() -> None:
    body = render(make(changelog="- a change"))
    order = ["Requested by: @alice", "Merge target: (default)", "Quick links:",
             "[View changes](", "[View check runs](", "[View the prepare run](",
             "**accepted**", "To retract the request, close this issue", "### Targets", " - [ ] pypi", "### Artifacts",
             "| `sdk-1.2.3.tar.gz` | 2,048 | `" + "a" * 64 + "` |", "<!-- valet-request ",
             "\n---\n", "<details>", "- a change", "</details>"]
    positions = [body.index(part) for part in order]
    assert positions == sorted(positions)


def test_quick_links_point_at_the_compare_the_commit_checks_and_the_run() -> None:
    body = render(make())
    assert f"({SERVER}/octo-org/sdk/compare/1.2.2...{SHA})" in body
    assert f"({SERVER}/octo-org/sdk/commit/{SHA}/checks)" in body
    assert f"({SERVER}/octo-org/sdk/actions/runs/9)" in body


def test_without_a_previous_release_the_changes_link_lists_commits() -> None:
    assert f"({SERVER}/octo-org/sdk/commits/{SHA})" in render(make(previous=None))


def test_merge_target_is_rendered() -> None:
    assert "\nMerge target: main\n" in render(make(merge_target="main"))


def test_title_matches_the_model() -> None:
    req = make(path="packages/js")
    assert render_title(req) == req.title == "publish: octo-org/sdk/packages/js@1.2.3"


def test_no_artifacts_says_so() -> None:
    body = render(make(artifacts=[]))
    assert "No files" in body and parse_issue(make().title, body).artifacts == []


# -- which part wins ---------------------------------------------------------------------

def test_checkboxes_are_the_state() -> None:
    req = make()
    body = set_target_checked(render(req), "npm[@scope/pkg]")
    assert [(t.id, t.checked) for t in parse_issue(req.title, body).targets] == [
        ("pypi", False), ("npm[@scope/pkg]", True)]


def test_a_visible_line_cannot_add_a_target() -> None:
    req = make()
    body = render(req).replace(" - [ ] pypi\n", " - [ ] pypi\n - [ ] crates\n")
    assert "crates" in [t.id for t in targets_section(body)]
    assert [t.id for t in parse_issue(req.title, body).targets] == ["pypi", "npm[@scope/pkg]"]


def test_removing_a_visible_line_drops_that_target() -> None:
    req = make()
    body = render(req).replace(" - [ ] pypi\n", "")
    assert [t.id for t in parse_issue(req.title, body).targets] == ["npm[@scope/pkg]"]


def test_no_target_in_both_is_not_a_request() -> None:
    req = make(targets=[TargetState("pypi")])
    body = render(req).replace(" - [ ] pypi\n", " - [ ] crates\n")
    with pytest.raises(NotARequestError, match="none of the Targets"):
        parse_issue(req.title, body)


@pytest.mark.parametrize(
    ("old", "new", "what"),
    [
        (f"/commit/{SHA}/checks", f"/commit/{'4' * 40}/checks", "release commit"),
        ("Requested by: @alice", "Requested by: @bob", "requester"),
        ("Merge target: (default)", "Merge target: evil", "merge target"),
        ("| 2,048 |", "| 2,049 |", "Artifacts table"),
        ("`" + "a" * 64 + "`", "`" + "c" * 64 + "`", "Artifacts table"),
    ],
)
def test_visible_facts_that_disagree_with_the_hidden_block_are_refused(old: str, new: str, what: str) -> None:
    req = make()
    body = render(req)
    assert old in body
    with pytest.raises(NotARequestError, match=what):
        parse_issue(req.title, body.replace(old, new))


def test_title_that_disagrees_with_the_hidden_block_is_refused() -> None:
    body = render(make())
    with pytest.raises(NotARequestError, match="version"):
        parse_issue("publish: octo-org/sdk@1.2.4", body)


def test_a_second_hidden_block_is_refused() -> None:
    body = render(make())
    block = re.search(r"<!-- valet-request .*? -->", body).group(0)
    with pytest.raises(NotARequestError, match="2 'valet-request' blocks"):
        parse_issue(make().title, body + "\n" + block + "\n")


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: d.update(sha="zz"), "'valet-request' block"),
        (lambda d: d.update(targets=[]), "'valet-request' block"),
        (lambda d: d.update(extra=1), "'valet-request' block"),
        (lambda d: d.update(branch="a..b"), "branch"),
        (lambda d: d["artifacts"].append({"name": "../x", "size": 1, "sha256": "a" * 64}), r"artifacts\[0\]\.name"),
    ],
)
def test_a_hidden_block_outside_the_schema_is_refused(mutate, reason: str) -> None:
    req = make(artifacts=[])
    body = render(req)
    data = hidden_json(body)
    mutate(data)
    forged = re.sub(r"<!-- valet-request .*? -->",
                    lambda _: "<!-- valet-request " + json.dumps(data) + " -->", body)
    with pytest.raises(NotARequestError, match=reason):
        parse_issue(req.title, forged)


def test_a_broken_hidden_block_is_refused() -> None:
    body = render(make())
    with pytest.raises(NotARequestError, match="not valid JSON"):
        parse_issue(make().title, body.replace('{"v":1', '{"v":1,,'))
    with pytest.raises(NotARequestError, match="not closed"):
        parse_issue(make().title, body.replace(" -->", ""))


def test_hidden_block_carries_the_facts_publish_needs() -> None:
    data = hidden_json(render(make()))
    assert data["sha"] == SHA and data["branch"] == "release/1.2.3" and data["release_id"] == 12
    assert data["targets"] == ["pypi", "npm[@scope/pkg]"]
    assert data["artifacts"][0] == {"name": "sdk-1.2.3.tar.gz", "size": 2048, "sha256": "a" * 64}


# -- injection -------------------------------------------------------------------------

EVIL_CHANGELOG = "\n".join([
    "## 1.2.3",
    "- thanks @everyone and @octo-org/all-staff",
    " - [ ] crates",
    "- [x] pypi",
    "### Targets",
    "### Artifacts",
    "<!-- valet-request {\"v\":1} -->",
    "</details>",
    "-->",
    "<img src=x onerror=alert(1)>",
    "&#64;everyone",
    "Requested by: @mallory",
    "```",
    "an unclosed fence",
])


def test_changelog_cannot_forge_targets_blocks_mentions_or_html() -> None:
    req = make(changelog=EVIL_CHANGELOG)
    body = render(req)
    parsed = parse_issue(req.title, body)
    assert [t.id for t in parsed.targets] == ["pypi", "npm[@scope/pkg]"]
    assert [t.checked for t in parsed.targets] == [False, False]
    assert parsed.requested_by == "alice"
    assert body.count("<!--") == 1 and "&lt;!-- valet-request" in body
    assert body.count("<details>") == 1 and body.count("</details>") == 1
    assert "<img" not in body and "&#64;" not in body
    # no '@' in the changelog is followed directly by a name: GitHub sees no mention
    changelog = body.split("<details>", 1)[1]
    assert re.search(r"@[A-Za-z0-9]", changelog) is None
    assert f"@{ZWJ}everyone" in changelog and f"@{ZWJ}octo-org/all-staff" in changelog
    # the unclosed fence is closed before </details>
    assert changelog.count("```") % 2 == 0


def test_changelog_task_items_are_plain_text() -> None:
    body = render(make(changelog=" - [ ] crates\n- [X] x"))
    assert " - \\[ ] crates" in body and "- \\[X] x" in body


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("merge_target", "main\n - [ ] crates"),
        ("merge_target", "main -->"),
        ("merge_target", "[x](http://evil)"),
        ("branch", "release/1.2.3\n<!-- valet-request {} -->"),
        ("branch", "a b"),
        ("previous", "$(id)"),
        ("requested_by", "alice\n - [ ] crates"),
        ("requested_by", "octo-org/everyone"),
        ("requested_by", "[alice](http://evil)"),
        ("requested_by", None),
        ("version", "1.2.3 -->"),
        ("version", "1.2.3\n"),
        ("path", "../x"),
        ("path", "a/ b"),
        ("repo", "octo-org/sdk)"),
        ("sha", "g" * 40),
        ("sha", None),
        ("run_url", "https://x/y) [click](http://evil"),
        ("run_url", "javascript:alert(1)"),
        ("release_id", 0),
        ("targets", []),
        ("targets", [TargetState("pypi"), TargetState("pypi")]),
        ("targets", [TargetState("pypi\n - [ ] crates")]),
        ("targets", [TargetState("npm[a  b]")]),
        ("targets", [TargetState("npm[a] - [ ] crates")]),
    ],
)
def test_untrusted_fields_outside_their_grammar_are_refused_before_rendering(field: str, value) -> None:
    with pytest.raises(UsageError):
        render(make(**{field: value}))


@pytest.mark.parametrize("name", ["../etc/passwd", "a b.tgz", "x`y.tgz", "-x.tgz"])
def test_bad_artifact_names_are_refused(name: str) -> None:
    with pytest.raises(ArtifactError):
        render(make(artifacts=[Artifact(name, 1, "a" * 64)]))


def test_bad_artifact_digest_is_refused() -> None:
    with pytest.raises(ArtifactError):
        render(make(artifacts=[Artifact("a.tgz", 1, "A" * 64)]))


# -- size -----------------------------------------------------------------------------

def test_long_changelog_is_cut_to_fit_with_a_note() -> None:
    lines = [f"- change number {i} with some words about it" for i in range(5000)]
    req = make(changelog="\n".join(lines))
    body = render(req)
    assert len(body.encode("utf-16-le")) // 2 <= GITHUB_BODY_LIMIT
    assert "was cut here" in body and body.rstrip().endswith("</details>")
    assert "- change number 0 with" in body and "- change number 4999 with" not in body
    assert parse_issue(req.title, body).to_json() == req.to_json()


def test_cut_counts_utf16_units() -> None:
    req = make(changelog="\n".join(["- 🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀"] * 3000))
    body = render(req)
    assert len(body.encode("utf-16-le")) // 2 <= GITHUB_BODY_LIMIT
    assert "was cut here" in body


def test_short_changelog_is_not_cut() -> None:
    assert "was cut here" not in render(make(changelog="- one\n- two"))


def test_too_many_artifacts_for_one_issue_is_an_error() -> None:
    arts = [Artifact(f"pkg-{i:05d}-very-long-name-for-a-file.tar.gz", i, f"{i:064x}") for i in range(400)]
    with pytest.raises(RequestTooLargeError, match="400 file"):
        render(make(artifacts=arts))


# -- set_target_checked ---------------------------------------------------------------------

def test_set_target_checked_changes_only_that_mark_and_keeps_crlf() -> None:
    body = ("Requested by: @a\r\n### Targets\r\n - [ ] pypi  \r\n- [ ] npm[@s/p]\r\n"
            "\r\n<details>\r\n - [ ] pypi\r\n</details>\r\n")
    out = set_target_checked(body, "pypi")
    assert out == body.replace(" - [ ] pypi  \r\n", " - [x] pypi  \r\n", 1)
    assert set_target_checked(out, "pypi", checked=False) == body


def test_set_target_checked_leaves_capital_x_alone_and_ticks_all_repeats() -> None:
    body = "### Targets\n - [X] a\n - [ ] b\n - [ ] a\n"
    assert set_target_checked(body, "a") == "### Targets\n - [X] a\n - [ ] b\n - [x] a\n"
    assert set_target_checked(body, "b", True) == "### Targets\n - [X] a\n - [x] b\n - [ ] a\n"


def test_set_target_checked_of_an_unknown_id_is_an_error() -> None:
    with pytest.raises(NotARequestError, match="not in the Targets section"):
        set_target_checked("### Targets\n - [ ] a\n\n - [ ] b\n", "b")


def test_set_target_checked_on_a_rendered_body_round_trips() -> None:
    req = make()
    body = render(req)
    ticked = set_target_checked(body, "pypi")
    assert len(ticked) == len(body)
    assert [i for i, (x, y) in enumerate(zip(body, ticked)) if x != y] == [body.index(" - [ ] pypi") + 4]


def test_changelog_issue_numbers_do_not_cross_reference_the_publish_repo() -> None:
    body = render(make(changelog="- fix (#12) and octo-org/other#7"))
    changelog = body.split("<details>", 1)[1]
    assert re.search(r"#[0-9]", changelog) is None and f"#{ZWJ}12" in changelog
