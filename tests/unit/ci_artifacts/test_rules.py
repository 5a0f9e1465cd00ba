"""craft's artifact and workflow names: /regex/flags, globs, exact names."""

from __future__ import annotations

import pytest

from valet.ci_artifacts import make_rules, name_pattern
from valet.errors import ConfigError

SHA = "a" * 40


@pytest.mark.parametrize(("pattern", "name", "matches"), [
    ("npm-package", "npm-package", True),
    ("npm-package", "npm-package-2", False),  # exact: the whole name
    ("npm.package", "npmXpackage", False),  # the dot is a dot
    ("sentry-*", "sentry-cli-Linux", True),
    ("sentry-*", "my-sentry-cli", False),  # a glob is anchored
    ("build-?", "build-1", True),
    ("build-?", "build-12", False),
    ("/^sentry-.*\\.tgz$/", "sentry-1.0.tgz", True),
    ("/tgz/", "sentry-1.0.tgz", True),  # a regex is searched, as JavaScript's test()
    ("/^CI$/i", "ci", True),
    ("/^CI$/", "ci", False),
])
def test_names_match_as_craft_matches_them(pattern: str, name: str, matches: bool) -> None:
    assert bool(name_pattern(pattern).search(name)) is matches


@pytest.mark.parametrize(("bad", "why"), [("", "empty"), ("   ", "empty"),
                                        ("/(unclosed/", "not a valid regular expression"),
                                        ("/a/g", "flag")])
def test_a_name_that_is_no_pattern_says_why(bad: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        name_pattern(bad)
    with pytest.raises(ConfigError, match=why):
        make_rules({"CI": [bad]}, sha=SHA)


def test_without_workflows_the_rule_is_the_sha_named_artifact() -> None:
    (rule,) = make_rules({}, sha=SHA)
    assert rule.exact and rule.names == (SHA,) and rule.workflow is None
    assert rule.matches(0, SHA) and not rule.matches(0, SHA + "-x")
    (named,) = make_rules({}, sha=SHA, name="dist")
    assert named.names == ("dist",)


def test_workflow_map_and_the_any_workflow_form() -> None:
    ci, anyone = make_rules({"CI": ["npm-package"], "*": "docs-*"}, sha=SHA)
    assert ci.runs_of("CI") and not ci.runs_of("CI nightly")
    assert anyone.workflow is None and anyone.runs_of("whatever")
    assert anyone.names == ("docs-*",) and anyone.matches(0, "docs-html")
    assert ci.describe(0) == "npm-package (from workflow CI)"


def test_a_workflow_without_names_is_refused() -> None:
    with pytest.raises(ConfigError, match="not named"):
        make_rules({"CI": []}, sha=SHA)
