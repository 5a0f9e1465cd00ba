"""Fuzz the approval-issue parser: only NotARequestError (a ValetError) may escape.

Three kinds of input: plain random text; bodies assembled from the grammar's own
line shapes with hostile values mixed in (so the fuzzer gets deep into the
header, targets, table and hidden-block code); and a real rendered body with
random text spliced into it.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from valet.errors import NotARequestError, ValetError
from valet.issue_format import (
    TARGET_ID_RE,
    parse_issue,
    parse_title,
    render_body,
    set_target_checked,
    targets_section,
)
from valet.manifest import Artifact
from valet.request import Request, TargetState

from .support import FUZZ, only_valet_errors

pytestmark = pytest.mark.adversarial

SHA = "c" * 40
HOSTILE = ["$(id)", "`id`", "${{ secrets.X }}", "\n::set-output name=x::y", "::add-mask::",
           "::stop-commands::t", "<!--", "-->", "](javascript:x)", "@everyone", "#1", "\r",
           "\u200d", "\x00", "[x]", "[ ]", "\\", "\"", "'", "|", "..", "/", "%0A", "é", "😀"]

atoms = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12))
hostile_text = st.lists(atoms, max_size=6).map("".join)
versions = st.one_of(st.sampled_from(["1.2.3", "1.0.0-rc.1", "4.2.6+sentry1", "v1", "1..2"]),
                     hostile_text)
titles = st.one_of(
    st.text(max_size=80),
    st.builds(lambda r, p, v: f"publish: {r}{p}@{v}",
              st.sampled_from(["org/sdk", "o/r", "-o/r", "org/..", "org", "a/b/c"]),
              st.sampled_from(["", "/pkg", "/../x", "/./x", "//", "/a/b"]), versions),
    hostile_text.map(lambda t: "publish: " + t),
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=15,
)
hidden_dicts = st.fixed_dictionaries(
    {"v": st.sampled_from([1, 2, "1"]), "repo": st.sampled_from(["org/sdk", "x/y", "org/sdk\n"]),
     "path": st.sampled_from([".", "pkg", "..", ""]), "version": versions,
     "requested_by": st.sampled_from(["alice", "al ice", "bob[bot]", ""]),
     "sha": st.sampled_from([SHA, "C" * 40, "x"]),
     "targets": st.lists(st.sampled_from(["pypi", "npm", "npm[@s/p]", "a b", ""]), max_size=3),
     "artifacts": st.lists(st.fixed_dictionaries(
         {"name": st.sampled_from(["a.whl", "../a", "a b", "-x"]),
          "size": st.sampled_from([0, 1, -1, 2**70, "1"]),
          "sha256": st.sampled_from(["a" * 64, "A" * 64, "z"])}), max_size=2)},
    optional={"merge_target": st.sampled_from([None, "main", "a..b", "-x", "refs/heads/x"]),
              "branch": st.sampled_from([None, "release/1.2.3", "x y"]),
              "previous": st.sampled_from([None, "1.2.2", "@{"]),
              "release_id": st.sampled_from([None, 1, 0, -1, "1"]),
              "store": st.sampled_from(["github-release", "workflow-artifacts", "evil"]),
              "run_url": st.sampled_from([None, "https://x/y", "javascript:alert(1)"]),
              "extra": json_values},
)
hidden_blocks = st.one_of(
    hidden_dicts.map(lambda d: "<!-- valet-request " + json.dumps(d) + " -->"),
    json_values.map(lambda d: "<!-- valet-request " + json.dumps(d) + " -->"),
    hostile_text.map(lambda t: "<!-- valet-request " + t),
)
target_ids = st.one_of(st.sampled_from(["pypi", "npm", "npm[@scope/pkg]", "github", "x[y", "a]b",
                                        "docker[Docker Hub (release)]", "docker[a] - [ ] pypi",
                                        "docker[a] (b)", "docker[ a]", "docker[a  b]",
                                        "docker[a\u200bb]", "docker[a\u202eb]", "docker[(a) [b]]",
                                        "docker[https://e.x]", "docker[:x:]", "docker[a (b]"]),
                       st.builds(lambda a, b: f"docker[{a} {b}]", hostile_text, hostile_text),
                       hostile_text)
lines = st.one_of(
    st.sampled_from(["### Targets", "### Artifacts", "---", "<details>", "</details>", "",
                     "| File | Size (bytes) | SHA-256 |", "|---|---:|---|", "Merge target: (default)",
                     "Requested by: @alice", f"- [View check runs](https://github.com/org/sdk/commit/{SHA}/checks)"]),
    hostile_text.map(lambda t: "Requested by: " + t),
    hostile_text.map(lambda t: "Merge target: " + t),
    st.builds(lambda lead, mark, tid: f"{lead}[{mark}] {tid}",
              st.sampled_from([" - ", "- ", "* ", "+ ", "    - ", "-\t"]),
              st.sampled_from([" ", "x", "X", "", "xx"]), target_ids),
    st.builds(lambda n, s, h: f"| `{n}` | {s} | `{h}` |", hostile_text,
              st.sampled_from(["1", "1,024", "-1", "99999999999999999999999", ""]),
              st.sampled_from(["a" * 64, "b" * 63, ""])),
    st.builds(lambda o, n, s: f"[c](https://github.com/{o}/{n}/commit/{s}/checks)",
              st.sampled_from(["org", "evil", "o(p"]), st.sampled_from(["sdk", "x"]),
              st.sampled_from([SHA, "d" * 40, "D" * 40])),
    hidden_blocks,
    hostile_text,
)
checkbox_lines = st.builds(lambda lead, mark, tid: f"{lead}[{mark}] {tid}",
                           st.sampled_from([" - ", "- ", "* "]), st.sampled_from([" ", "x", "X"]),
                           st.sampled_from(["pypi", "npm", "npm[@scope/pkg]", "github",
                                            "docker[Docker Hub (release)]",
                                            "docker[Docker Hub (latest)]"]))
header = st.one_of(
    st.just(["Requested by: @alice", "", "Merge target: main"]),
    st.lists(st.one_of(st.sampled_from(["Merge target: main", ""]), lines), max_size=3).map(
        lambda ls: ["Requested by: @alice", *ls]),
    st.lists(lines, min_size=1, max_size=5))
# The shape of a real request (header, heading, checkboxes, table, hidden block) with
# hostile lines mixed in at every level, so the parser gets past its first checks.
laid_out = st.builds(
    lambda head, boxes, rest, eol: eol.join([*head, "### Targets", "", *boxes, "", *rest]),
    header, st.builds(lambda a, b: a + b, st.lists(checkbox_lines, min_size=1, max_size=3),
                      st.lists(st.one_of(checkbox_lines, lines), max_size=3)),
    st.lists(st.one_of(lines, hidden_blocks), max_size=8), st.sampled_from(["\n", "\r\n"]))
bodies = st.one_of(
    st.text(max_size=300),
    st.builds(lambda ls, eol: eol.join(ls), st.lists(lines, max_size=25),
              st.sampled_from(["\n", "\r\n", "\r"])),
    laid_out,
)


def _rendered() -> str:
    req = Request(repo="org/sdk", version="1.2.3", requested_by="alice", sha=SHA,
                  targets=[TargetState("pypi"), TargetState("npm[@scope/pkg]")],
                  artifacts=[Artifact("sdk-1.2.3.tgz", 10, "b" * 64)], branch="release/1.2.3",
                  changelog="- fix\n- [ ] not a target")
    return render_body(req, server_url="https://github.com")


RENDERED = _rendered()


def _check_request(req: object) -> None:
    if isinstance(req, ValetError):
        assert isinstance(req, NotARequestError)
        return
    assert isinstance(req, Request)
    # whatever parses is inside the grammar: no forged id, no empty target list
    assert req.targets and all(TARGET_ID_RE.fullmatch(t.id) for t in req.targets)
    assert req.requested_by and "\n" not in req.requested_by


@FUZZ
@given(titles)
def test_parse_title_raises_only_not_a_request(title: str) -> None:
    out = only_valet_errors(parse_title, title)
    if isinstance(out, ValetError):
        assert isinstance(out, NotARequestError) and "\n" not in out.message
    else:
        repo, path, version = out
        assert "\n" not in repo + path + version and ".." not in path.split("/")


@FUZZ
@given(titles, bodies)
def test_parse_issue_random_bodies(title: str, body: str) -> None:
    _check_request(only_valet_errors(parse_issue, title, body))


@FUZZ
@given(laid_out)
def test_parse_issue_grammar_shaped_bodies_with_a_valid_title(body: str) -> None:
    _check_request(only_valet_errors(parse_issue, "publish: org/sdk@1.2.3", body))
    only_valet_errors(targets_section, body)


@FUZZ
@given(st.integers(min_value=0, max_value=len(RENDERED)), st.integers(min_value=0, max_value=40),
       st.one_of(lines, hostile_text))
def test_parse_issue_rendered_body_with_a_splice(at: int, cut: int, insert: str) -> None:
    body = RENDERED[:at] + insert + RENDERED[at + cut:]
    _check_request(only_valet_errors(parse_issue, "publish: org/sdk@1.2.3", body))


@FUZZ
@given(bodies, target_ids, st.booleans())
def test_set_target_checked_raises_only_valet_errors(body: str, target: str, checked: bool) -> None:
    out = only_valet_errors(set_target_checked, body, target, checked)
    if not isinstance(out, ValetError):
        assert len(out) == len(body)  # only one mark character per line changes


@FUZZ
@given(laid_out, st.booleans())
def test_ticking_a_parsed_target_changes_only_its_boxes(body: str, checked: bool) -> None:
    before = only_valet_errors(targets_section, body)
    if isinstance(before, ValetError):
        return
    for target in {t.id for t in before}:
        after = targets_section(set_target_checked(body, target, checked))
        assert [(t.id, t.checked) for t in after] == [
            (t.id, checked if t.id == target else t.checked) for t in before]
