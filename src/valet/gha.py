"""All runner I/O in one place: inputs, outputs, annotations, masks, groups, summary.

On GitHub (``GITHUB_ACTIONS=true``) workflow commands are written to stdout and
files named by ``GITHUB_OUTPUT`` / ``GITHUB_STEP_SUMMARY`` are appended to. Off
GitHub the same calls print plain text, so the CLI reads well in a terminal.

Untrusted text (issue bodies, branch names, registry answers) is never printed
raw on GitHub: a line starting with ``::`` would be read as a workflow command.
``print_untrusted`` fences such text with ``::stop-commands::``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from collections.abc import Iterator
from typing import IO, TextIO

_masked: set[str] = set()


def on_github() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def _out() -> TextIO:
    return sys.stdout


# -- inputs -----------------------------------------------------------------


def get_input(name: str, default: str | None = None) -> str | None:
    """Read an action input passed as ``INPUT_<NAME>`` (dashes as underscores).

    Composite actions receive no ``INPUT_*`` on GitHub, so our action.yml files
    set them explicitly in ``env:``; act sets the dashed form itself.
    """
    upper = name.upper()
    for key in (f"INPUT_{upper.replace('-', '_')}", f"INPUT_{upper}"):
        value = os.environ.get(key)
        if value is not None and value.strip() != "":
            return value.strip()
    return default


def get_bool_input(name: str, default: bool = False) -> bool:
    from valet.errors import UsageError

    raw = get_input(name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in ("true", "yes", "1", "on"):
        return True
    if lowered in ("false", "no", "0", "off"):
        return False
    raise UsageError(
        f"input {name!r} must be true or false, got {raw!r}",
        hint=f"set `{name}: true` or `{name}: false` in the workflow",
    )


# -- escaping ---------------------------------------------------------------


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def _command(name: str, message: str, **props: str | int | None) -> str:
    rendered = ",".join(
        f"{key}={escape_property(str(val))}" for key, val in props.items() if val is not None
    )
    head = f"::{name} {rendered}" if rendered else f"::{name}"
    return f"{head}::{escape_data(message)}"


# -- outputs ----------------------------------------------------------------


def set_output(name: str, value: str, *, stream: IO[str] | None = None) -> None:
    """Write an output with a random heredoc delimiter that cannot occur in the value."""
    path = os.environ.get("GITHUB_OUTPUT")
    if stream is None and not path:
        _out().write(f"{name}={value}\n" if "\n" not in value else f"{name}<<\n{value}\n")
        return
    delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
    while delimiter in value:  # pragma: no cover - 128 random bits
        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
    text = f"{name}<<{delimiter}\n{value}\n{delimiter}\n"
    if stream is not None:
        stream.write(text)
        return
    with open(path, "a", encoding="utf-8") as fh:  # type: ignore[arg-type]
        fh.write(text)


def set_outputs(values: dict[str, str]) -> None:
    for key, val in values.items():
        set_output(key, val)


# -- annotations and logs ---------------------------------------------------


def _annotate(kind: str, message: str, title: str | None, file: str | None, line: int | None) -> None:
    message = redact(message)
    if on_github():
        _out().write(_command(kind, message, title=title, file=file, line=line) + "\n")
    else:
        prefix = f"{kind}: {title}: " if title else f"{kind}: "
        sys.stderr.write(prefix + message + "\n")
    _out().flush()


def error(message: str, *, title: str | None = None, file: str | None = None, line: int | None = None) -> None:
    _annotate("error", message, title, file, line)


def warning(message: str, *, title: str | None = None, file: str | None = None, line: int | None = None) -> None:
    _annotate("warning", message, title, file, line)


def notice(message: str, *, title: str | None = None, file: str | None = None, line: int | None = None) -> None:
    _annotate("notice", message, title, file, line)


def info(message: str) -> None:
    """A log line of our own making (may still embed data: use print_untrusted for raw data)."""
    message = redact(message)
    if on_github() and _looks_like_command(message):
        # The runner trims leading blanks and also honours the legacy `##[cmd]` form
        # anywhere in a line, so only a stop-commands fence makes such text inert.
        print_untrusted(message)
        return
    _out().write(message + "\n")
    _out().flush()


def _looks_like_command(text: str) -> bool:
    return any(line.lstrip().startswith("::") or "##[" in line for line in text.splitlines())


def debug(message: str) -> None:
    if on_github():
        _out().write(_command("debug", redact(message)) + "\n")
    elif os.environ.get("VALET_DEBUG"):
        sys.stderr.write("debug: " + redact(message) + "\n")


def print_untrusted(text: str) -> None:
    """Print text we did not write (an issue body, a registry's answer) without letting
    any line of it act as a workflow command."""
    text = redact(text)
    if not on_github():
        _out().write(text + ("" if text.endswith("\n") else "\n"))
        return
    token = secrets.token_hex(16)
    while token in text:  # pragma: no cover
        token = secrets.token_hex(16)
    _out().write(f"::stop-commands::{token}\n{text}\n::{token}::\n")
    _out().flush()


# -- secrets ----------------------------------------------------------------


def add_mask(value: str | None) -> None:
    """Mask a secret in the runner's log (each line separately, as the runner needs)."""
    if not value:
        return
    for part in value.splitlines():
        part = part.strip()
        if len(part) < 4 or part in _masked:
            continue
        _masked.add(part)
        if on_github():
            _out().write(f"::add-mask::{escape_data(part)}\n")
    _out().flush()


def redact(text: str) -> str:
    """Remove masked secrets from text we print ourselves, on GitHub or not."""
    for secret in sorted(_masked, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


# -- groups and summary -----------------------------------------------------


@contextlib.contextmanager
def group(title: str) -> Iterator[None]:
    if on_github():
        _out().write(f"::group::{escape_data(title)}\n")
    else:
        _out().write(f"== {title}\n")
    _out().flush()
    try:
        yield
    finally:
        if on_github():
            _out().write("::endgroup::\n")
            _out().flush()


def summary(markdown: str) -> None:
    """Append markdown to the step summary (no-op off GitHub unless the file is set)."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(redact(markdown).rstrip("\n") + "\n\n")


def md_escape(text: str) -> str:
    """Escape text for a markdown table cell or inline position."""
    out = text.replace("\\", "\\\\")
    for ch in "|`*_[]<>#@!":
        out = out.replace(ch, "\\" + ch)
    return out.replace("\r", " ").replace("\n", " ")


def run_id() -> int | None:
    """This workflow run's id (GITHUB_RUN_ID), or None outside a workflow."""
    raw = os.environ.get("GITHUB_RUN_ID") or ""
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


def run_url() -> str | None:
    server = os.environ.get("GITHUB_SERVER_URL")
    repo = os.environ.get("GITHUB_REPOSITORY")
    run_id = os.environ.get("GITHUB_RUN_ID")
    if server and repo and run_id:
        return f"{server}/{repo}/actions/runs/{run_id}"
    return None
