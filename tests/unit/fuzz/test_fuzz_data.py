"""Fuzz the version parser, the manifest reader and the event parser.

Only the project's own errors may escape: VersionError, ArtifactError and
UsageError (all ValetError subclasses); what parses must be inside the grammar.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from valet.errors import ArtifactError, UsageError, ValetError, VersionError
from valet.events import Ignored, Labeled, Sweep, parse_event
from valet.manifest import Manifest, loads_manifest, validate_name
from valet.refs import validate_version
from valet.version import parse_version

from .support import FUZZ, only_valet_errors

pytestmark = pytest.mark.adversarial

NUMS = st.one_of(st.sampled_from(["0", "1", "01", "10", "99999999999999999999999", "", "-1"]),
                 st.integers(min_value=0).map(str))
IDENTS = st.one_of(st.sampled_from(["rc", "rc.1", "0", "00", "a-b", "", "..", "$(id)", "\n", "é"]),
                   st.text(alphabet="0123456789abcXYZ-.+", max_size=8))
semverish = st.builds(
    lambda v, a, b, c, pre, build, tail: f"{v}{a}.{b}.{c}{pre}{build}{tail}",
    st.sampled_from(["", "v", "V", " ", "=", "\t"]), NUMS, NUMS, NUMS,
    st.one_of(st.just(""), IDENTS.map(lambda t: "-" + t)),
    st.one_of(st.just(""), IDENTS.map(lambda t: "+" + t)),
    st.sampled_from(["", " ", "\n", "\x00", ".0", "-", "+", "\u0661"]),
)


@FUZZ
@given(st.one_of(st.text(max_size=60), semverish, st.text(alphabet="0123456789.-+a", max_size=140)),
       st.booleans())
def test_parse_version(text: str, tag: bool) -> None:
    out = only_valet_errors(parse_version, text, tag=tag)
    if isinstance(out, ValetError):
        assert isinstance(out, VersionError)
        return
    # what parses prints back as plain semver, usable in a branch or tag name
    printed = str(out)
    assert printed.isascii() and "\n" not in printed and len(printed) <= 128
    assert parse_version(printed) == out
    assert validate_version(printed) == printed


@FUZZ
@given(st.one_of(st.none(), st.integers(), st.lists(st.integers(), max_size=2), st.binary(max_size=8)))
def test_parse_version_of_a_non_string(value: object) -> None:
    out = only_valet_errors(parse_version, value)  # type: ignore[arg-type]
    assert isinstance(out, VersionError)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
file_entries = st.fixed_dictionaries(
    {"name": st.one_of(st.sampled_from(["a.whl", "../etc/passwd", "a b", "-x", ".", "manifest.json",
                                        "a" * 300, "x;rm -rf", "é.tgz", "a\nb"]), st.text(max_size=10)),
     "size": st.one_of(st.integers(), st.floats(), st.sampled_from(["1", None, True])),
     "sha256": st.sampled_from(["a" * 64, "A" * 64, "a" * 63, "", None, 1])},
    optional={"extra": json_values})
manifests = st.fixed_dictionaries(
    {"schema": st.sampled_from([1, 2, "1", None]),
     "version": st.one_of(st.sampled_from(["1.2.3", "", "$(id)"]), json_values),
     "files": st.one_of(st.lists(file_entries, max_size=4), json_values)},
    optional={"repo": json_values, "sha": st.sampled_from(["a" * 40, "x", 5]), "more": json_values})


def _check_manifest(out: object) -> None:
    if isinstance(out, ValetError):
        assert isinstance(out, ArtifactError)
        return
    assert isinstance(out, Manifest)
    names = [a.name for a in out.artifacts]
    assert len(set(names)) == len(names)
    for art in out.artifacts:
        assert validate_name(art.name) == art.name
        assert isinstance(art.size, int) and art.size >= 0


@FUZZ
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_loads_manifest_random_bytes(raw: str | bytes) -> None:
    _check_manifest(only_valet_errors(loads_manifest, raw))


@FUZZ
@given(st.one_of(manifests, json_values))
def test_loads_manifest_structured(data: object) -> None:
    _check_manifest(only_valet_errors(loads_manifest, json.dumps(data)))


logins = st.one_of(st.sampled_from(["alice", "bot[bot]", "-x", "a" * 40, "al ice", "", "$(id)"]),
                   st.text(max_size=10), st.integers(), st.none())
issue_payloads = st.fixed_dictionaries(
    {"action": st.sampled_from(["labeled", "opened", "edited", None, 1]),
     "issue": st.one_of(json_values, st.fixed_dictionaries(
         {"number": st.one_of(st.integers(), st.sampled_from([True, "5", None, 1.5])),
          "title": st.one_of(st.text(max_size=30), st.none(), st.integers()),
          "body": st.one_of(st.text(max_size=30), st.none(), st.integers()),
          "state": st.sampled_from(["open", "closed", None, 3]),
          "labels": st.one_of(json_values, st.lists(st.fixed_dictionaries(
              {"name": st.one_of(st.text(max_size=10), st.integers())}), max_size=3))},
         optional={"pull_request": json_values})),
     "label": st.one_of(json_values, st.fixed_dictionaries(
         {"name": st.one_of(st.sampled_from(["accepted", "x" * 101]), st.text(max_size=10),
                            st.integers())})),
     "sender": st.one_of(json_values, st.fixed_dictionaries(
         {"login": logins, "type": st.one_of(st.sampled_from(["User", "Bot"]), st.integers())})),
     "repository": st.one_of(json_values, st.fixed_dictionaries(
         {"full_name": st.sampled_from(["org/publish", "org/..", "org", "a/b/c", "", None, 7])}))})
dispatch_payloads = st.fixed_dictionaries(
    {"inputs": st.one_of(json_values, st.fixed_dictionaries(
        {"issue": st.one_of(st.sampled_from(["", "5", "0", "-1", "5 ", "٥"]), st.integers(),
                            json_values)}))},
    optional={"repository": st.fixed_dictionaries(
        {"full_name": st.sampled_from(["org/publish", "bad"])})})
event_names = st.sampled_from(["issues", "schedule", "workflow_dispatch", "push", "", "issue_comment"])


@FUZZ
@given(event_names, st.one_of(issue_payloads, dispatch_payloads, json_values),
       st.sampled_from([None, "org/publish", "bad"]))
def test_parse_event(name: str, payload: object, repository: str | None) -> None:
    out = only_valet_errors(parse_event, name, payload, repository=repository)
    if isinstance(out, ValetError):
        assert isinstance(out, UsageError)
        return
    assert isinstance(out, (Labeled, Sweep, Ignored))
    if isinstance(out, Labeled):
        assert isinstance(out.number, int) and out.number > 0
        assert isinstance(out.title, str) and isinstance(out.body, str)
        assert "\n" not in out.sender.login and "/" in out.repo
    if isinstance(out, Sweep) and out.issue is not None:
        assert out.issue > 0
