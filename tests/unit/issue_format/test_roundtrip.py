"""render -> parse gives back the request, for generated requests (hypothesis)."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from valet.issue_format import (
    TARGET_ID_RE,
    parse_issue,
    render_body,
    set_target_checked,
    targets_section,
)
from valet.manifest import Artifact
from valet.request import Request, TargetState

ALNUM = string.ascii_letters + string.digits

owner = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9-]{0,20}\Z")
repo_name = st.from_regex(r"\A[A-Za-z0-9._-]{1,30}\Z").filter(lambda s: s not in (".", ".."))
segment = st.from_regex(r"\A[A-Za-z0-9._-]{1,12}\Z").filter(lambda s: s not in (".", ".."))
path = st.one_of(st.just("."), st.lists(segment, min_size=1, max_size=4).map("/".join))
version = st.one_of(
    st.from_regex(r"\A[0-9]{1,4}\.[0-9]{1,4}\.[0-9]{1,4}(-[0-9A-Za-z.-]{1,12})?(\+[0-9A-Za-z.-]{1,12})?\Z"),
    st.from_regex(r"\A[0-9A-Za-z][0-9A-Za-z._+-]{0,30}\Z"),
)
login = st.from_regex(r"\A[A-Za-z0-9](?:[A-Za-z0-9]|-[A-Za-z0-9]){0,15}(\[bot\])?\Z")
branch_part = st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9_+-]{0,10}\Z")
branch = st.lists(branch_part, min_size=1, max_size=3).map("/".join)
# Target keys as craft writes them: `name`, `name[id]`, ids with single spaces and
# parentheses (`docker[Docker Hub (release)]`); kept inside the grammar by its filter
# (no autolink, emoji, emphasis or strikethrough).
id_word = st.from_regex(r"\A[A-Za-z0-9@/._:+=~()-]{1,8}\Z")
target_id = st.builds(
    lambda name, words: name + (f"[{' '.join(words)}]" if words else ""),
    st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,10}\Z"),
    st.lists(id_word, max_size=4),
).filter(lambda t: TARGET_ID_RE.fullmatch(t) is not None)
sha = st.text(alphabet="0123456789abcdef", min_size=40, max_size=40)
artifact = st.builds(
    Artifact,
    name=st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._+-]{0,30}\Z"),
    size=st.integers(min_value=0, max_value=10**12),
    sha256=st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
)


@st.composite
def requests(draw: st.DrawFn) -> Request:
    ids = draw(st.lists(target_id, min_size=1, max_size=6, unique=True))
    return Request(
        repo=f"{draw(owner)}/{draw(repo_name)}",
        path=draw(path),
        version=draw(version),
        requested_by=draw(login),
        merge_target=draw(st.none() | branch),
        sha=draw(sha),
        targets=[TargetState(i, draw(st.booleans())) for i in ids],
        artifacts=draw(st.lists(artifact, max_size=5, unique_by=lambda a: a.name)),
        branch=draw(st.none() | branch),
        previous=draw(st.none() | branch),
        run_url=draw(st.none() | st.integers(1, 10**10).map(
            lambda n: f"https://github.com/o/r/actions/runs/{n}")),
        release_id=draw(st.none() | st.integers(1, 10**9)),
        store=draw(st.sampled_from(["github-release", "workflow-artifacts"])),
        changelog=draw(st.text(max_size=300)),
    )


def comparable(req: Request) -> dict:
    data = req.to_json()
    data.update(branch=req.branch, previous=req.previous, run_url=req.run_url,
                release_id=req.release_id, store=req.store)
    return data


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_render_then_parse_gives_the_request_back(req: Request) -> None:
    body = render_body(req, server_url="https://github.com")
    assert comparable(parse_issue(req.title, body)) == comparable(req)
    # and the same through CRLF, as GitHub's web editor saves it
    assert comparable(parse_issue(req.title, body.replace("\n", "\r\n"))) == comparable(req)


@settings(max_examples=50, deadline=None)
@given(requests(), st.data())
def test_ticking_one_target_changes_only_that_target(req: Request, data: st.DataObject) -> None:
    body = render_body(req, server_url="https://github.com")
    pick = data.draw(st.sampled_from([t.id for t in req.targets]))
    after = set_target_checked(body, pick, True)
    expected = [(t.id, True if t.id == pick else t.checked) for t in req.targets]
    assert [(t.id, t.checked) for t in targets_section(after)] == expected
    assert len(after) == len(body)


@settings(max_examples=80, deadline=None)
@given(requests(), st.text(max_size=200))
def test_no_changelog_text_changes_what_is_parsed(req: Request, extra: str) -> None:
    req.changelog = extra + "\n - [ ] evil\n### Targets\n - [x] evil\n<!-- valet-request {} -->"
    parsed = parse_issue(req.title, render_body(req, server_url="https://github.com"))
    assert comparable(parsed) == comparable(req)
