"""A small model of how the GitHub Actions runner reads a step's stdout.

It follows the runner's documented behaviour: a line is a command when, after
leading whitespace is trimmed, it starts with ``::NAME ...::`` (or, legacy form,
holds ``##[NAME ...]`` anywhere); ``::stop-commands::TOKEN`` ignores every
command until a line ``::TOKEN::``. Properties and data are unescaped in the
runner's order. Tests use it to check what the runner would *do* with our
output, rather than comparing strings only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

REGISTERED = {
    "stop-commands", "add-mask", "error", "warning", "notice", "debug", "group",
    "endgroup", "set-output", "set-env", "add-path", "save-state", "add-matcher",
    "remove-matcher", "echo",
}

_DATA = [("%0D", "\r"), ("%0A", "\n"), ("%25", "%")]
_PROP = [("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")]
_LEGACY = [("%3B", ";"), ("%0D", "\r"), ("%0A", "\n"), ("%5D", "]"), ("%25", "%")]


def _unescape(text: str, table: list[tuple[str, str]]) -> str:
    for escaped, raw in table:
        text = text.replace(escaped, raw)
    return text


@dataclass
class Command:
    name: str
    props: dict[str, str] = field(default_factory=dict)
    data: str = ""


def _parse_v2(line: str, registered: set[str]) -> Command | None:
    line = line.lstrip()
    if not line.startswith("::"):
        return None
    end = line.find("::", 2)
    if end < 0:
        return None
    info = line[2:end]
    name, _, rest = info.partition(" ")
    if name.lower() not in registered:
        return None
    props: dict[str, str] = {}
    for item in rest.strip().split(","):
        key, sep, value = item.partition("=")
        if sep and key and value:
            props[key] = _unescape(value, _PROP)
    return Command(name, props, _unescape(line[end + 2:], _DATA))


def _parse_legacy(line: str, registered: set[str]) -> Command | None:
    start = line.find("##[")
    if start < 0:
        return None
    close = line.find("]", start)
    if close < 0:
        return None
    name, _, _ = line[start + 3:close].partition(" ")
    if name.lower() not in registered:
        return None
    return Command(name, {}, _unescape(line[close + 1:], _LEGACY))


def commands(output: str) -> list[Command]:
    """The commands the runner would act on (stop/resume themselves left out)."""
    registered = set(REGISTERED)
    stop_token: str | None = None
    acted: list[Command] = []
    for line in output.split("\n"):
        cmd = _parse_v2(line, registered) or _parse_legacy(line, registered)
        if cmd is None:
            continue
        if stop_token is not None:
            if cmd.name.lower() == stop_token.lower():
                registered.discard(stop_token.lower())
                stop_token = None
            continue
        if cmd.name == "stop-commands":
            stop_token = cmd.data
            registered.add(stop_token.lower())
            continue
        acted.append(cmd)
    return acted


def read_output_file(text: str) -> dict[str, str]:
    """Parse a GITHUB_OUTPUT file as the runner does (name=value and heredoc forms)."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body: list[str] = []
            while lines[i] != delimiter:
                body.append(lines[i])
                i += 1
            i += 1
            values[name] = "\n".join(body)
        else:
            name, value = line.split("=", 1)
            values[name] = value
    return values
