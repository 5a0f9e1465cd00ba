"""Target ids in the approval issue: what a checkbox line may carry, and why.

The line ` - [ ] docker[Docker Hub (release)]` is what craft and getsentry/publish
write for sentry-cli's `id: Docker Hub (release)`. Inside the brackets valet
allows single spaces and parentheses; nothing that GitHub's markdown turns into
a link, a mention of an address, an emoji, emphasis, strikethrough, HTML, a second
checkbox or the end of the Targets list.
"""

from __future__ import annotations

import pytest

from valet.errors import NotARequestError
from valet.issue_format import (
    TARGET_ID_RE,
    parse_issue,
    render_body,
    set_target_checked,
    targets_section,
)
from valet.request import Request, TargetState

pytestmark = pytest.mark.adversarial

SHA = "c" * 40
CRAFT = ["docker[Docker Hub (release)]", "docker[Docker Hub (latest)]"]
VALID = [*CRAFT, "pypi", "npm[@sentry/browser]", "gcs[browser-cdn-bundles]", "docker[a (b) c]",
         "registry[a b]", "github[x(1)]", "npm[@s/p]", "x[a_b c_d]", "a_b", "x[ghcr.io/a:tag]",
         "x[a~b]", "x[" + "a" * 200 + "]", "x[" + "a " * 99 + "ab]"]


def _body(*lines: str) -> str:
    return "Requested by: @alice\n\n### Targets\n\n" + "\n".join(lines) + "\n"


@pytest.mark.parametrize("tid", VALID)
def test_ids_an_issue_can_carry(tid: str) -> None:
    assert TARGET_ID_RE.fullmatch(tid)
    body = _body(f" - [ ] {tid}", " - [x] github")
    assert [(t.id, t.checked) for t in targets_section(body)] == [(tid, False), ("github", True)]
    ticked = set_target_checked(body, tid, True)
    assert ticked == body.replace(f" - [ ] {tid}", f" - [x] {tid}")
    assert set_target_checked(ticked, tid, False) == body


def test_craft_and_getsentry_publish_lines_read_with_crlf_and_trailing_space() -> None:
    body = _body(*(f"- [X] {t}  " for t in CRAFT)).replace("\n", "\r\n")
    assert [(t.id, t.checked) for t in targets_section(body)] == [(t, True) for t in CRAFT]


def test_a_rendered_request_with_spaced_ids_round_trips() -> None:
    req = Request(repo="getsentry/sentry-cli", version="2.40.0", requested_by="alice", sha=SHA,
                  targets=[TargetState("gcs"), *(TargetState(t) for t in CRAFT)])
    body = render_body(req, server_url="https://github.com")
    assert " - [ ] docker[Docker Hub (release)]\n" in body
    assert [t.id for t in parse_issue(req.title, body).targets] == ["gcs", *CRAFT]
    one = set_target_checked(body, CRAFT[0], True)
    assert [t.checked for t in parse_issue(req.title, one).targets] == [False, True, False]


# Each tries to make the line (or the list) mean something else.
REFUSED = {
    "docker[Docker Hub] (release)]": "closes the bracket early",
    "docker[a] - [ ] pypi": "a second checkbox on the line",
    "docker[a] [x] pypi": "a second box",
    "docker[a]]": "a stray bracket",
    "docker[[a]]": "nested brackets",
    "docker[a](https://evil.example)": "an inline link",
    "docker[a][b]": "a reference link",
    "docker[ a]": "leading space",
    "docker[a ]": "trailing space",
    "docker[a  b]": "two spaces",
    "docker[a\tb]": "a tab",
    "docker[a\u00a0b]": "a no-break space",
    "docker[a\u200bb]": "a zero-width space",
    "docker[a\u200db]": "a zero-width joiner",
    "docker[a\u202eb]": "a right-to-left override",
    "docker[a\u2066b]": "an isolate",
    "docker[é]": "a letter outside ASCII",
    "docker[a<b>c]": "HTML",
    "docker[a`b`]": "a code span",
    "docker[a|b]": "a table pipe",
    "docker[a\\]b]": "a backslash escape",
    "docker[*a*]": "emphasis",
    "docker[a*b]": "an asterisk",
    "docker[_a b_]": "emphasis with underscores",
    "x_[a]": "an underscore at a word's edge",
    "docker[a__b]": "an underscore run",
    "docker[~a b~]": "strikethrough",
    "docker[a~b~c]": "strikethrough inside a word",
    "docker[https://evil.example/x]": "an autolinked URL",
    "docker[a:b https://evil.example]": "a URL after another colon",
    "docker[see www.evil.example]": "an autolinked www address",
    "docker[WWW.evil.example]": "an autolinked www address (any case)",
    "docker[mail me@evil.example]": "an autolinked e-mail address",
    "docker[a@b]": "an address-like @",
    "docker[:rocket:]": "an emoji shortcode",
    "docker[a #1]": "a cross-reference",
    "docker[a&amp;b]": "an HTML entity",
    "docker[<!-- x -->]": "an HTML comment",
    "docker[]": "empty brackets",
    "docker[" + "a" * 201 + "]": "over 200 characters",
    "docker": "",  # (valid: the control case)
}


@pytest.mark.parametrize("tid,why", [(k, v) for k, v in REFUSED.items() if v])
def test_ids_that_would_change_the_line_are_refused(tid: str, why: str) -> None:
    assert not TARGET_ID_RE.fullmatch(tid), why
    with pytest.raises(NotARequestError):
        targets_section(_body(f" - [ ] {tid}", " - [ ] github"))


def test_a_refused_id_cannot_be_rendered() -> None:
    for tid in ("docker[a] - [ ] pypi", "docker[https://evil.example]", "docker[a\u200bb]"):
        req = Request(repo="o/r", version="1.0.0", requested_by="alice", sha=SHA,
                      targets=[TargetState(tid)])
        with pytest.raises(Exception) as info:
            render_body(req, server_url="https://github.com")
        assert type(info.value).__name__.endswith("Error")


def test_the_hidden_block_schema_has_the_same_grammar() -> None:
    import json
    from importlib import resources

    from valet import issue_format

    schema = json.loads(resources.files("valet.schemas").joinpath("request.schema.json")
                        .read_text(encoding="utf-8"))
    props = schema["properties"]
    expected = f"^{issue_format._TARGET_ID}$"
    assert props["targets"]["items"]["pattern"] == expected
    assert props["images"]["items"]["properties"]["id"]["pattern"] == expected


# -- what GitHub's markdown makes of the line (CommonMark, with GFM strikethrough) ----

markdown_it = pytest.importorskip("markdown_it")


def _html(markdown: str) -> str:
    return str(markdown_it.MarkdownIt("commonmark").enable("strikethrough").render(markdown))


@pytest.mark.parametrize("tid", VALID)
def test_the_rendered_line_shows_the_id_as_plain_text(tid: str) -> None:
    import html

    out = _html(f" - [ ] {tid}\n")
    assert out == f"<ul>\n<li>[ ] {html.escape(tid, quote=False)}</li>\n</ul>\n"


EVIL = "https://evil.example/"
DEFINITIONS = [f"[Docker Hub (release)]: {EVIL}", f"[docker hub (RELEASE)]: {EVIL}",
               f"[Docker\nHub (release)]: {EVIL}", f"> [Docker Hub (release)]: {EVIL}",
               f"- [Docker Hub (release)]: {EVIL}", f"  [Docker Hub (release)]:\n  {EVIL}"]


@pytest.mark.parametrize("definition", DEFINITIONS)
def test_a_link_definition_in_the_changelog_does_not_turn_a_target_into_a_link(
        definition: str) -> None:
    line = " - [ ] docker[Docker Hub (release)]"
    assert EVIL in _html(f"{line}\n\n{definition}\n"), "the attack works on raw markdown"
    req = Request(repo="getsentry/sentry-cli", version="2.40.0", requested_by="alice", sha=SHA,
                  targets=[TargetState(CRAFT[0])], changelog=f"- fix\n\n{definition}\n")
    body = render_body(req, server_url="https://github.com")
    assert line in body.splitlines()
    assert f'href="{EVIL}"' not in _html(body)
    assert parse_issue(req.title, body).targets == [TargetState(CRAFT[0])]


def test_a_definition_inside_a_fenced_block_is_left_as_it_is() -> None:
    from valet.issue_format import neutralize_changelog

    text = f"```\n[a]: {EVIL}\n```\n[b]: {EVIL}"
    assert neutralize_changelog(text) == f"```\n[a]: {EVIL}\n```\n[b]\\: {EVIL}"


@pytest.mark.parametrize("tid", CRAFT + ["npm[@s/p]", "x[a~b]", "x[a_b c]"])
def test_the_key_is_one_plain_cell_in_publishs_summary_and_the_audit(tid: str) -> None:
    import html

    from valet import summary
    from valet.audit.render import render_md
    from valet.audit.rows import AuditRow, TargetRow

    md = markdown_it.MarkdownIt("commonmark").enable("table")
    out = md.render(summary.table([summary.Row(tid, "published", "uploaded")]))
    assert f"<td><code>{html.escape(tid, quote=False)}</code></td>" in out
    row = AuditRow(number=1, url=None, repo="o/r", version="1", requester="a", approver="b",
                   approved_at=None, published_at=None, publisher=None, state="open",
                   targets=[TargetRow(tid, "not done")], artifacts=[], run_url=None, flags=[])
    audit_html = md.render(render_md([row]))
    assert f"<td>{html.escape(tid, quote=False)}: not done</td>" in audit_html
    assert "<a " not in audit_html and "<em>" not in audit_html
