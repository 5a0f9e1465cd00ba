"""Runner I/O: what the GitHub runner would read from what valet.gha writes."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from valet import gha
from valet.errors import UsageError

from .runner_sim import commands, read_output_file

AWKWARD = [
    "plain",
    "50% done",
    "a:b,c",
    "line1\nline2",
    "cr\r\nlf",
    "%0A literal",
    "%25 and %3A and %2C",
    "trailing %",
    "::error::inside",
]


@pytest.fixture(autouse=True)
def _fresh_masks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gha, "_masked", set())


@pytest.fixture
def on_github(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")


# -- escaping ---------------------------------------------------------------


def test_escape_data_matches_the_runner_table() -> None:
    assert gha.escape_data("a%b\rc\nd:e,f") == "a%25b%0Dc%0Ad:e,f"


def test_escape_property_also_escapes_colon_and_comma() -> None:
    assert gha.escape_property("a%b\rc\nd:e,f") == "a%25b%0Dc%0Ad%3Ae%2Cf"


@pytest.mark.parametrize("message,title", list(itertools.product(AWKWARD, AWKWARD[:6])))
def test_annotation_round_trips_through_the_runner(
    on_github: None, capsys: pytest.CaptureFixture[str], message: str, title: str
) -> None:
    gha.error(message, title=title, file="src/a,b.py", line=7)
    out = capsys.readouterr().out
    assert out.count("\n") == 1, "an annotation must stay on one line"
    [cmd] = commands(out)
    assert cmd.name == "error"
    assert cmd.data == message
    assert cmd.props == {"title": title, "file": "src/a,b.py", "line": "7"}


def test_annotation_off_github_is_plain_text_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    gha.warning("disk nearly full", title="space")
    captured = capsys.readouterr()
    assert captured.err == "warning: space: disk nearly full\n"
    assert "::" not in captured.out


# -- outputs ----------------------------------------------------------------


def test_set_output_writes_heredoc_with_random_delimiter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "output"
    out.write_text("earlier=1\n")
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    gha.set_output("single", "v1")
    gha.set_output("multi", "first\nsecond\n\nfourth")
    gha.set_output("sneaky", "x\nEOF\nghadelimiter_\nmulti<<EOF\ny")
    gha.set_output("empty", "")
    text = out.read_text()
    assert read_output_file(text) == {
        "earlier": "1",
        "single": "v1",
        "multi": "first\nsecond\n\nfourth",
        "sneaky": "x\nEOF\nghadelimiter_\nmulti<<EOF\ny",
        "empty": "",
    }
    delimiters = [line.split("<<", 1)[1] for line in text.splitlines()
                  if "<<ghadelimiter_" in line]
    assert len(set(delimiters)) == 4, "each output gets a fresh delimiter"
    assert all(len(d) > 30 for d in delimiters)


def test_set_output_never_uses_a_delimiter_found_in_the_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    # The first "random" token collides with the value; the writer must draw again.
    tokens = iter(["aaaa", "bbbb"])
    monkeypatch.setattr(gha.secrets, "token_hex", lambda n=16: next(tokens))
    value = "before\nghadelimiter_aaaa\nafter"
    gha.set_output("name", value)
    text = out.read_text()
    assert text.startswith("name<<ghadelimiter_bbbb\n")
    assert read_output_file(text) == {"name": value}


def test_set_outputs_writes_each(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    gha.set_outputs({"a": "1", "b": "two\nlines"})
    assert read_output_file(out.read_text()) == {"a": "1", "b": "two\nlines"}


def test_set_output_without_output_file_prints_no_workflow_command(
    on_github: None, capsys: pytest.CaptureFixture[str]
) -> None:
    gha.set_output("name", "::error::x")
    assert commands(capsys.readouterr().out) == []


# -- masks ------------------------------------------------------------------


def test_add_mask_masks_each_line_and_redacts(on_github: None, capsys: pytest.CaptureFixture[str]) -> None:
    secret = "-----BEGIN KEY-----\nabc%def\n  indented-line  \nxy\n-----END KEY-----"
    gha.add_mask(secret)
    cmds = commands(capsys.readouterr().out)
    assert [c.name for c in cmds] == ["add-mask"] * 4
    # the runner must register the exact text of each line (the % survives unescaping)
    assert [c.data for c in cmds] == ["-----BEGIN KEY-----", "abc%def", "indented-line",
                                      "-----END KEY-----"]
    printed = gha.redact(f"token is abc%def and {secret}")
    assert "abc%def" not in printed
    assert "indented-line" not in printed
    assert printed.startswith("token is *** and ")


def test_add_mask_once_per_value_and_not_for_empty(on_github: None, capsys: pytest.CaptureFixture[str]) -> None:
    gha.add_mask("s3cr3t-value")
    gha.add_mask("s3cr3t-value")
    gha.add_mask("")
    gha.add_mask(None)
    assert len(commands(capsys.readouterr().out)) == 1


def test_add_mask_off_github_prints_nothing_but_still_redacts(capsys: pytest.CaptureFixture[str]) -> None:
    gha.add_mask("hunter2-token")
    assert capsys.readouterr().out == ""
    gha.info("using hunter2-token now")
    assert capsys.readouterr().out == "using *** now\n"


def test_redact_prefers_longest_secret(on_github: None) -> None:
    gha.add_mask("abcd")
    gha.add_mask("abcdefgh")
    assert gha.redact("x abcdefgh y") == "x *** y"


def test_masked_secret_never_reaches_annotations_or_summary(
    on_github: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    gha.add_mask("ghp_supersecret")
    capsys.readouterr()
    gha.error("auth with ghp_supersecret failed")
    gha.summary("token ghp_supersecret")
    assert "ghp_supersecret" not in capsys.readouterr().out
    assert "ghp_supersecret" not in summary.read_text()


# -- untrusted text ---------------------------------------------------------

HOSTILE = ("issue body\n::error::pwned\n  ::add-mask::x\n::set-output name=a::b\n"
           "legacy ##[error]pwned\n::endgroup::")


def test_print_untrusted_fences_commands_on_github(on_github: None, capsys: pytest.CaptureFixture[str]) -> None:
    gha.print_untrusted(HOSTILE)
    out = capsys.readouterr().out
    assert HOSTILE in out, "the text itself is shown unchanged"
    assert out.startswith("::stop-commands::")
    assert commands(out) == [], "no line of untrusted text may act as a command"
    # and command processing is back on afterwards
    gha.error("ours")
    assert [c.data for c in commands(out + capsys.readouterr().out)] == ["ours"]


def test_print_untrusted_token_never_occurs_in_the_text(
    on_github: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tokens = iter(["deadbeef", "cafebabe"])
    monkeypatch.setattr(gha.secrets, "token_hex", lambda n=16: next(tokens))
    gha.print_untrusted("resume me\n::deadbeef::\n::error::pwned")
    out = capsys.readouterr().out
    assert out.startswith("::stop-commands::cafebabe\n")
    assert commands(out) == []


def test_print_untrusted_off_github_is_verbatim(capsys: pytest.CaptureFixture[str]) -> None:
    gha.print_untrusted(HOSTILE)
    assert capsys.readouterr().out == HOSTILE + "\n"


@pytest.mark.parametrize("text", ["::error::x", "ok\n::warning::y", "  ::add-mask::z",
                                  "line ##[error]legacy"])
def test_info_never_lets_a_line_act_as_a_command(
    on_github: None, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    gha.info(text)
    out = capsys.readouterr().out
    assert commands(out) == []
    assert text in out


# -- inputs -----------------------------------------------------------------


def test_get_input_underscore_and_dash_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INPUT_GITHUB_TOKEN", "  from-underscore \n")
    monkeypatch.setenv("INPUT_DRY-RUN", "yes")
    assert gha.get_input("github-token") == "from-underscore"
    assert gha.get_input("dry-run") == "yes"
    assert gha.get_input("dry_run") is None  # INPUT_DRY_RUN is not set
    assert gha.get_input("missing", default="d") == "d"


def test_get_input_blank_means_default_and_underscore_form_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INPUT_PATH", "   ")
    assert gha.get_input("path", default=".") == "."
    monkeypatch.setenv("INPUT_MY_NAME", "underscore")
    monkeypatch.setenv("INPUT_MY-NAME", "dash")
    assert gha.get_input("my-name") == "underscore"


@pytest.mark.parametrize("raw,expected", [("true", True), ("TRUE", True), ("yes", True),
                                          ("1", True), ("On", True), ("false", False),
                                          ("No", False), ("0", False), ("off", False)])
def test_get_bool_input_values(monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool) -> None:
    monkeypatch.setenv("INPUT_DRY_RUN", raw)
    assert gha.get_bool_input("dry-run", default=not expected) is expected


def test_get_bool_input_default_and_error(monkeypatch: pytest.MonkeyPatch) -> None:
    assert gha.get_bool_input("dry-run", default=True) is True
    monkeypatch.setenv("INPUT_DRY_RUN", "maybe")
    with pytest.raises(UsageError) as info:
        gha.get_bool_input("dry-run")
    assert info.value.exit_code == 2
    assert "'maybe'" in info.value.message and "dry-run" in info.value.message
    assert info.value.hint and "dry-run: true" in info.value.hint


# -- summary and groups -----------------------------------------------------


def test_summary_appends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "summary.md"
    path.write_text("# earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(path))
    gha.summary("## one\n\n\n")
    gha.summary("## two")
    assert path.read_text() == "# earlier step\n## one\n\n## two\n\n"


def test_summary_without_file_is_a_no_op(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    gha.summary("## nothing")
    assert list(tmp_path.iterdir()) == []


def test_group_on_github_closes_even_on_error(on_github: None, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(RuntimeError), gha.group("upload\n::error::x"):
        print("inside")
        raise RuntimeError("boom")
    out = capsys.readouterr().out
    assert [(c.name, c.data) for c in commands(out)] == [("group", "upload\n::error::x"),
                                                         ("endgroup", "")]
    assert out.splitlines()[1] == "inside"


def test_group_off_github_prints_a_heading(capsys: pytest.CaptureFixture[str]) -> None:
    with gha.group("build"):
        pass
    assert capsys.readouterr().out == "== build\n"


# -- markdown and links -----------------------------------------------------


def test_md_escape_neutralises_table_and_markup() -> None:
    cell = gha.md_escape("a|b `c` *d* [l](u) <b>\n@team #1 \\")
    assert "\n" not in cell
    for raw in ("|", "`", "*", "[", "]", "<", ">", "@", "#"):
        assert raw not in cell.replace("\\" + raw, "")
    assert cell.endswith("\\\\")


def test_run_url(monkeypatch: pytest.MonkeyPatch) -> None:
    assert gha.run_url() is None
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.example")
    monkeypatch.setenv("GITHUB_REPOSITORY", "o/r")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    assert gha.run_url() == "https://github.example/o/r/actions/runs/42"
