"""valet.template: values in, nothing evaluated; unknown names and logic are errors."""

from __future__ import annotations

import pytest

from valet.errors import ConfigError
from valet.template import check, render, variables

VALUES = {"version": "1.2.3", "file": "a&b/c.tgz",
          "checksums": {"sentry-cli-Darwin-universal": "ab" * 32, "x__tar__gz": "cd"}}


def test_the_forms_the_corpus_uses() -> None:
    text = 'version "{{version}}"\nsha256 "{{checksums.sentry-cli-Darwin-universal}}"\n'
    assert render(text, VALUES, where="t") == f'version "1.2.3"\nsha256 "{"ab" * 32}"\n'
    assert render("{{{target}}}:latest", {"target": "getsentry/relay"}, where="t") == \
        "getsentry/relay:latest"
    assert render("{{ version }}/{{&file}}-{{{ version }}}", VALUES, where="t") == \
        "1.2.3/a&b/c.tgz-1.2.3"


def test_values_are_inserted_verbatim_in_every_form() -> None:
    # mustache would HTML-escape {{file}}; in a URL or a Ruby file that would corrupt it
    assert render("{{file}}|{{{file}}}", VALUES, where="t") == "a&b/c.tgz|a&b/c.tgz"


def test_ruby_interpolation_and_lone_closing_braces_are_left_alone() -> None:
    text = 'shell_output("#{bin}/x --version") { |a| {b: a} }}'
    assert render(text, VALUES, where="t") == text


@pytest.mark.parametrize("name", ["versoin", "checksums.nope", "checksums", "version.major"])
def test_an_unknown_name_is_an_error_naming_it_and_what_exists(name: str) -> None:
    with pytest.raises(ConfigError) as info:
        render("a {{" + name + "}} b", VALUES, where="brew template")
    assert "unknown placeholder" in info.value.message
    assert "{{" + name + "}}" in info.value.message and "brew template" in info.value.message
    assert info.value.hint and "{{checksums.sentry-cli-Darwin-universal}}" in info.value.hint


@pytest.mark.parametrize("tag", ["{{#checksums}}x{{/checksums}}", "{{^version}}",
                                 "{{> partial}}", "{{! comment }}", "{{=<% %>=}}",
                                 "{{{version}}", "{{version}}}", "{{version", "{{&{version}}}"])
def test_logic_partials_comments_and_broken_tags_are_refused(tag: str) -> None:
    with pytest.raises(ConfigError) as info:
        render(f"x {tag} y", VALUES, where="t")
    assert "not a placeholder" in info.value.message


def test_every_unknown_name_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        render("{{a}} {{b}} {{a}}", VALUES, where="t")
    assert info.value.message.endswith("{{a}}, {{b}}")


def test_check_before_the_values_exist_and_variables() -> None:
    check("/{{version}}/{{checksums.x}}", {"version", "checksums"}, where="t")
    with pytest.raises(ConfigError, match="unknown placeholder"):
        check("/{{tag}}/", {"version"}, where="t")
    with pytest.raises(ConfigError, match="not a placeholder"):
        check("/{{#version}}/", {"version"}, where="t")
    assert variables("{{{target}}}:{{version}}-{{checksums.a}}") == {"target", "version",
                                                                   "checksums.a"}
