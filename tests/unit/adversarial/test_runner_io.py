"""Hostile values through the runner I/O (valet.gha), checked with the runner model.

What must hold on GitHub: a value written with set_output is read back as
exactly one output with exactly that value (no second output, no env); text we
did not write, printed with print_untrusted or info, makes the runner act on
nothing; an annotation carries the hostile text as its data only.
"""

from __future__ import annotations

import io

import pytest

from tests.unit.foundation.runner_sim import commands, read_output_file
from valet import gha

pytestmark = pytest.mark.adversarial

COMMAND_PAYLOADS = [
    "::set-output name=version::6.6.6",
    "::add-mask::everything",
    "::stop-commands::abc\n::set-env name=A::b\n::abc::",
    "::abc::\n::error::resumed?",
    "   ::error title=x::leading blanks",
    "\t::warning::tab first",
    "##[set-output name=a;]b",
    "prefix ##[add-path]/tmp/evil",
    "::set-env name=LD_PRELOAD::/tmp/x.so",
    "::add-path::/tmp/evil",
    "::save-state name=s::v",
    "::add-matcher::/tmp/m.json",
    "::echo::on",
    "::debug::%0A::error::escaped newline",
    "line\r\n::error::after a CR",
    "ok\n::endgroup::\n::group::fake",
    "${{ secrets.TOKEN }} $(id) `id`",
]
OUTPUT_VALUES = [
    "1.2.3\nversion=6.6.6",
    "x\nother<<EOF\nforged\nEOF",
    "ghadelimiter_00000000000000000000000000000000",
    "a\nghadelimiter_\nb=c",
    "=\n<<\n=",
    "\n\n",
    "",
    "x\r\ny=z",
    "%0Ay=z",
    "name<<ghadelimiter_x",
]


@pytest.fixture
def on_github(monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    out = tmp_path / "output"
    out.write_text("")
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    return out


@pytest.mark.parametrize("value", OUTPUT_VALUES + COMMAND_PAYLOADS)
def test_a_hostile_output_value_is_one_output_with_that_value(on_github, value):
    gha.set_output("version", value)
    gha.set_output("after", "untouched")
    parsed = read_output_file(on_github.read_bytes().decode())
    assert parsed == {"version": value, "after": "untouched"}


@pytest.mark.parametrize("value", OUTPUT_VALUES)
def test_set_outputs_of_several_hostile_values(on_github, value):
    gha.set_outputs({"a": value, "b": value + "\nc=d", "c": "plain"})
    assert read_output_file(on_github.read_bytes().decode()) == {"a": value, "b": value + "\nc=d", "c": "plain"}


@pytest.mark.parametrize("payload", COMMAND_PAYLOADS)
def test_print_untrusted_makes_the_runner_act_on_nothing(on_github, capsys, payload):
    gha.print_untrusted(payload)
    out = capsys.readouterr().out
    assert commands(out) == []
    assert payload.replace("\r\n", "\n") in out.replace("\r\n", "\n")  # shown, not swallowed


@pytest.mark.parametrize("payload", COMMAND_PAYLOADS)
def test_info_with_untrusted_text_makes_the_runner_act_on_nothing(on_github, capsys, payload):
    gha.info(f"target pypi said: {payload}")
    assert commands(capsys.readouterr().out) == []


@pytest.mark.parametrize("payload", COMMAND_PAYLOADS)
@pytest.mark.parametrize("kind", ["error", "warning", "notice"])
def test_an_annotation_carries_hostile_text_as_data_only(on_github, capsys, kind, payload):
    getattr(gha, kind)(f"refused: {payload}", title=f"title {payload}")
    acted = commands(capsys.readouterr().out)
    assert len(acted) == 1 and acted[0].name == kind
    assert acted[0].data == f"refused: {payload}"
    assert acted[0].props == {"title": f"title {payload}"}


@pytest.mark.parametrize("payload", COMMAND_PAYLOADS)
def test_a_group_title_is_one_group(on_github, capsys, payload):
    with gha.group(f"#{payload}"):
        pass
    acted = commands(capsys.readouterr().out)
    assert [c.name for c in acted] == ["group", "endgroup"]


def test_a_hostile_secret_is_masked_per_line_and_cannot_issue_a_command(on_github, capsys):
    secret = "tok-abc\n::set-output name=x::y"
    gha.add_mask(secret)
    acted = commands(capsys.readouterr().out)
    assert [(c.name, c.data) for c in acted] == [("add-mask", "tok-abc"),
                                                 ("add-mask", "::set-output name=x::y")]
    gha._masked.discard("tok-abc")
    gha._masked.discard("::set-output name=x::y")


@pytest.mark.parametrize("value", OUTPUT_VALUES)
def test_a_stream_output_is_still_one_output(value):
    buf = io.StringIO()
    gha.set_output("v", value, stream=buf)
    assert read_output_file(buf.getvalue()) == {"v": value}


def test_off_github_an_output_value_prints_no_workflow_command(monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    gha.set_output("v", "::set-output name=x::y")
    # printed as plain "v=..." text, which the runner does not read as a command
    assert commands(capsys.readouterr().out) == []
