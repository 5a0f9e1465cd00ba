"""Parsing issues written by valet, action-prepare-release and craft's action."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from valet.errors import NotARequestError
from valet.issue_format import parse_issue, parse_title, targets_section

FIXTURES = Path(__file__).parent / "fixtures"
FORMATS = ["valet", "prepare_release", "craft_action", "craft_compact"]
SHA = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"


def load(name: str) -> tuple[str, str, dict]:
    title = (FIXTURES / f"{name}.title").read_text().rstrip("\n")
    body = (FIXTURES / f"{name}.md").read_bytes().decode("utf-8")
    expected = json.loads((FIXTURES / f"{name}.expected.json").read_text())
    return title, body, expected


@pytest.mark.parametrize("name", FORMATS)
def test_fixture_parses_to_the_documented_json(name: str) -> None:
    title, body, expected = load(name)
    assert parse_issue(title, body).to_json() == expected


@pytest.mark.parametrize("name", FORMATS)
def test_crlf_body_reads_the_same_as_lf(name: str) -> None:
    title, body, expected = load(name)
    crlf = body.replace("\r\n", "\n").replace("\n", "\r\n")
    assert parse_issue(title, crlf).to_json() == expected


# -- titles ------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("publish: o/r@1.2.3", ("o/r", ".", "1.2.3")),
        ("publish: octo-org/sdk.py@4.2.6+sentry1", ("octo-org/sdk.py", ".", "4.2.6+sentry1")),
        ("publish: octo-org/sdk@1.0.0-beta.1", ("octo-org/sdk", ".", "1.0.0-beta.1")),
        ("publish: octo-org/mono/packages/browser@7.0.0", ("octo-org/mono", "packages/browser", "7.0.0")),
        ("publish: a/b/c/d_e/f.g@24.1.0", ("a/b", "c/d_e/f.g", "24.1.0")),
    ],
)
def test_title_grammar_accepts(title: str, expected: tuple[str, str, str]) -> None:
    assert parse_title(title) == expected


@pytest.mark.parametrize(
    "title",
    [
        "publish: o/r@1.2.3;rm -rf /",
        "publish: o/r@$(id)",
        "publish: o/r@1.2.3 ",
        " publish: o/r@1.2.3",
        "publish: o/r @1.2.3",
        "publish: o/r@1.2.3\n",
        "publish: o/r@`id`",
        "publish: r@1.2.3",  # no owner
        "publish: o/r/../x@1.2.3",
        "publish: o/r/./x@1.2.3",
        "publish: o/r//x@1.2.3",
        "publish: o/r@",
        "publish: o/r@-1",
        "publish:o/r@1.2.3",
        "Publish: o/r@1.2.3",
        "publish: o/r@1.2.3@4",
        "publish: o/r@1.2\u00b73",
        "release 1.2.3",
        'publish: o/r [workspace: "x"] @1.2.3',
    ],
)
def test_title_outside_the_grammar_is_not_a_request(title: str) -> None:
    with pytest.raises(NotARequestError) as info:
        parse_title(title)
    assert "\n" not in info.value.message


# -- the Targets section -------------------------------------------------------------

HEADER = (
    "Requested by: @alice\n\nMerge target: (default)\n\n"
    f"- [View check runs](https://github.com/o/r/commit/{SHA}/checks)\n\n"
)


def body_with(targets: str, before: str = HEADER) -> str:
    return before + "### Targets\n\n" + targets


def test_checked_marks_x_and_capital_x_and_leading_space_optional() -> None:
    states = targets_section(body_with(" - [ ] a\n- [x] b\n - [X] c\n"))
    assert [(t.id, t.checked) for t in states] == [("a", False), ("b", True), ("c", True)]


def test_only_the_first_run_after_the_first_heading_counts() -> None:
    text = body_with(" - [ ] a\n - [x] b\n\n - [ ] c\n\n### Targets\n\n - [ ] d\n")
    assert [t.id for t in targets_section(text)] == ["a", "b"]


def test_checkboxes_above_the_heading_are_ignored() -> None:
    text = HEADER + " - [x] above\n\n### Targets\n - [ ] below\n"
    assert [t.id for t in targets_section(text)] == ["below"]


def test_repeated_ids_are_kept_in_order() -> None:
    text = body_with(" - [ ] npm[@s/p]\n - [x] pypi\n - [x] npm[@s/p]\n")
    assert [(t.id, t.checked) for t in targets_section(text)] == [
        ("npm[@s/p]", False), ("pypi", True), ("npm[@s/p]", True)]


@pytest.mark.parametrize("target_id", ["docker[release]", "npm[@scope/pkg]", "gcs[bucket/a.b]",
                                       "commit-on-git-repository[x:y]", "maven"])
def test_odd_target_ids_parse(target_id: str) -> None:
    assert targets_section(body_with(f" - [ ] {target_id}\n"))[0].id == target_id


@pytest.mark.parametrize("line", [" - [ ] npm pypi", " - [ ] <img>", " - [ ] `x`", " - [ ] a[b",
                                  " - [ ] [x](http://e)", " - [ ] a[b  c]", " - [ ] a[b c ]",
                                  " - [ ] a[b\tc]", " - [ ] a[b] c", " - [ ] -x"])
def test_a_checkbox_line_with_an_id_outside_the_grammar_is_refused(line: str) -> None:
    with pytest.raises(NotARequestError, match="target line"):
        targets_section(body_with(line + "\n"))


def test_changelog_checkboxes_and_headings_are_never_targets() -> None:
    text = body_with(" - [ ] pypi\n\n---\n\n<details>\n\n### Targets\n\n - [x] evil\n</details>\n")
    assert [t.id for t in targets_section(text)] == ["pypi"]


def test_an_empty_targets_section_does_not_borrow_the_changelogs_checkboxes() -> None:
    text = body_with("\n---\n\n<details>\n\n - [ ] evil\n</details>\n")
    with pytest.raises(NotARequestError, match="no ' - \\[ \\] target' lines"):
        parse_issue("publish: o/r@1.0.0", text)


def test_prose_between_heading_and_checkboxes_is_skipped() -> None:
    assert [t.id for t in targets_section(body_with("Pick what to publish:\n\n - [ ] a\n"))] == ["a"]


def test_no_targets_heading_is_not_a_request() -> None:
    with pytest.raises(NotARequestError, match="no '### Targets' heading"):
        parse_issue("publish: o/r@1.0.0", "Requested by: @alice\n - [ ] a\n")


def test_retract_sentence_and_both_footers_do_not_disturb_parsing() -> None:
    for footer in ("Targets marked with a tick already ran.", "Checked targets will be skipped."):
        text = (HEADER + "Leave a comment with `#retract` to retract it.\n\n"
                + "### Targets\n\n - [ ] a\n - [x] b\n\n" + footer + "\n")
        req = parse_issue("publish: o/r@1.0.0", text)
        assert [(t.id, t.checked) for t in req.targets] == [("a", False), ("b", True)]


# -- header fields ----------------------------------------------------------------------

def test_requester_merge_target_and_sha_come_from_above_the_targets() -> None:
    text = body_with(" - [ ] a\n\nRequested by: @mallory\nMerge target: evil\n"
                     "- [View check runs](https://github.com/o/r/commit/" + "e" * 40 + "/checks)\n")
    req = parse_issue("publish: o/r@1.0.0", text)
    assert (req.requested_by, req.merge_target, req.sha) == ("alice", None, SHA)


def test_missing_requester_is_not_a_request() -> None:
    with pytest.raises(NotARequestError, match="Requested by"):
        parse_issue("publish: o/r@1.0.0", "### Targets\n - [ ] a\n")


@pytest.mark.parametrize("value", ["alice", "@alice bob", "@-alice", "@a--b", "@[x](http://e)", "@"])
def test_requester_outside_the_login_grammar_is_refused(value: str) -> None:
    with pytest.raises(NotARequestError, match="Requested by"):
        parse_issue("publish: o/r@1.0.0", f"Requested by: {value}\n### Targets\n - [ ] a\n")


def test_two_different_requesters_are_refused() -> None:
    text = "Requested by: @alice\nRequested by: @bob\n### Targets\n - [ ] a\n"
    with pytest.raises(NotARequestError, match="two different"):
        parse_issue("publish: o/r@1.0.0", text)


@pytest.mark.parametrize("branch", ["a..b", "-x", "x y", "$(id)", "x.lock", "refs/heads/x", "a;b"])
def test_merge_target_outside_the_branch_grammar_is_refused(branch: str) -> None:
    text = f"Requested by: @alice\nMerge target: {branch}\n### Targets\n - [ ] a\n"
    with pytest.raises(NotARequestError, match="merge target"):
        parse_issue("publish: o/r@1.0.0", text)


def test_merge_target_default_and_absent_are_none() -> None:
    for line in ("Merge target: (default)\n", ""):
        req = parse_issue("publish: o/r@1.0.0", f"Requested by: @alice\n{line}### Targets\n - [ ] a\n")
        assert req.merge_target is None
    req = parse_issue("publish: o/r@1.0.0", "Requested by: @alice\nMerge target: releases/v2\n"
                      "### Targets\n - [ ] a\n")
    assert req.merge_target == "releases/v2"


def test_check_runs_link_of_another_repo_is_refused() -> None:
    text = ("Requested by: @alice\n- [View check runs](https://github.com/evil/r/commit/"
            f"{SHA}/checks)\n### Targets\n - [ ] a\n")
    with pytest.raises(NotARequestError, match="evil/r"):
        parse_issue("publish: o/r@1.0.0", text)


def test_two_different_check_runs_shas_are_refused() -> None:
    text = (f"Requested by: @alice\n- [checks](https://github.com/o/r/commit/{SHA}/checks)\n"
            f"- [checks](https://github.com/o/r/commit/{'a' * 40}/checks/)\n### Targets\n - [ ] a\n")
    with pytest.raises(NotARequestError, match="two different release commits"):
        parse_issue("publish: o/r@1.0.0", text)


def test_sha_is_optional_for_foreign_formats() -> None:
    assert parse_issue("publish: o/r@1.0.0", "Requested by: @a\n### Targets\n - [ ] x\n").sha is None


def test_huge_body_is_refused() -> None:
    with pytest.raises(NotARequestError, match="characters long"):
        parse_issue("publish: o/r@1.0.0", body_with(" - [ ] a\n") + "x" * 300_000)
