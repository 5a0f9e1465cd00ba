"""The docs cannot drift from the code: each check compares a page with its source.

The checkers are plain functions (text and data in, a list of problems out) so
each one is also tested on an input where it must report something.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from valet import labels
from valet.cli import COMMAND_MODULES, build_parser
from valet.errors import EXIT_CODES

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs"
SCHEMA_PATH = ROOT / "src" / "valet" / "schemas" / "config.schema.json"
ACTIONS = ("action-prepare-release", "action-prepare-release/build",
           "action-prepare-release/bump", "action-request-issue", "action-publish")

# Pages other engineers own that the docs link to before they land. A link to one
# of these is checked as soon as the file exists.
OWNED_ELSEWHERE = {"docs/security.md"}


# -- markdown helpers -------------------------------------------------------------


def _outside_fences(text: str) -> Iterator[str]:
    fenced = False
    for line in text.splitlines():
        if re.match(r"^\s{0,3}(```|~~~)", line):
            fenced = not fenced
            continue
        if not fenced:
            yield line


def _cells(line: str) -> list[str]:
    inner = line.strip()[1:]
    if inner.endswith("|"):
        inner = inner[:-1]
    # `|` inside backticks is not a column separator
    parts, buf, in_code = [], "", False
    for ch in inner:
        if ch == "`":
            in_code = not in_code
        if ch == "|" and not in_code:
            parts.append(buf.strip())
            buf = ""
        else:
            buf += ch
    parts.append(buf.strip())
    return parts


def tables(text: str) -> list[list[list[str]]]:
    """Every markdown table as rows of cells; the header is row 0, the separator dropped."""
    found: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in _outside_fences(text):
        if line.strip().startswith("|"):
            cells = _cells(line)
            if all(re.fullmatch(r":?-{3,}:?", c) for c in cells):
                continue
            current.append(cells)
        elif current:
            found.append(current)
            current = []
    if current:
        found.append(current)
    return found


def section(text: str, heading: str) -> str:
    """The text under the first heading whose title contains ``heading``, up to the next
    heading of the same or a higher level ("" when there is none)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(#{1,6})\s+(.*)$", line)
        if m and heading in m.group(2):
            level = len(m.group(1))
            out = []
            for nxt in lines[i + 1:]:
                n = re.match(r"^(#{1,6})\s", nxt)
                if n and len(n.group(1)) <= level:
                    break
                out.append(nxt)
            return "\n".join(out)
    return ""


def first_cell_rows(text: str, header: str) -> dict[str, list[str]]:
    """Rows of the tables whose first header cell is ``header``, by their first cell
    without backticks."""
    rows: dict[str, list[str]] = {}
    for table in tables(text):
        if table[0][0].strip().lower() != header:
            continue
        for row in table[1:]:
            key = row[0].strip()
            if key.startswith("`") and key.endswith("`"):
                rows[key.strip("`")] = row
    return rows


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


# -- 1. configuration reference vs. the schema ---------------------------------------


def schema_properties(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every property of the schema, recursively, by its documented key:
    ``name``, ``parent.name``, and ``list[].name`` for properties of list items."""
    out: dict[str, dict[str, Any]] = {}

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = schema
            for part in ref[2:].split("/"):
                target = target[part]
            return resolve(target)
        return node

    def walk(node: dict[str, Any], base: str) -> None:
        node = resolve(node)
        for name, sub in (node.get("properties") or {}).items():
            key = f"{base}.{name}" if base else name
            out[key] = resolve(sub)
            walk(sub, key)
        items = node.get("items")
        if isinstance(items, dict):
            walk(items, f"{base}[]")
        for combo in ("oneOf", "anyOf", "allOf"):
            for alt in node.get(combo) or []:
                walk(alt, base)

    walk(schema, "")
    return out


def _enum_values(prop: dict[str, Any]) -> list[Any]:
    values = list(prop.get("enum") or [])
    items = prop.get("items")
    if isinstance(items, dict):
        values += list(items.get("enum") or [])
    return values


def config_doc_problems(schema: dict[str, Any], doc: str) -> list[str]:
    """What docs/configuration.md gets wrong about ``schema``: a key with no table row
    (first cell `` `key` `` in a table headed ``key``), an allowed value a row does not
    name, or a row for a key the schema does not have."""
    props = schema_properties(schema)
    rows = first_cell_rows(doc, "key")
    problems = []
    for key, prop in props.items():
        row = rows.get(key)
        if row is None:
            problems.append(f"{key}: not documented (add a table row starting with `{key}`)")
            continue
        text = " | ".join(row[1:])
        for value in _enum_values(prop):
            if f"`{value}`" not in text:
                problems.append(f"{key}: the allowed value {value!r} is not named in its row")
    for key in rows:
        if key not in props:
            problems.append(f"{key}: documented but not in the schema")
    return problems


def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _doc(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def test_schema_properties_are_found_recursively() -> None:
    keys = schema_properties(_schema())
    assert {"targets", "targets[].name", "targets[].registry_url", "artifact_store.kind",
            "artifact_store.workflows", "min_version"} <= set(keys)
    assert "name" not in keys  # target properties are qualified by their list


def test_configuration_reference_documents_every_schema_key() -> None:
    assert config_doc_problems(_schema(), _doc("configuration.md")) == []


@pytest.mark.parametrize("where, expected", [
    (("properties",), "brand_new_field"),
    (("$defs", "target", "properties"), "targets[].brand_new_field"),
    (("properties", "artifact_store", "properties"), "artifact_store.brand_new_field"),
])
def test_config_checker_fails_on_an_undocumented_field(where: tuple[str, ...], expected: str) -> None:
    schema = copy.deepcopy(_schema())
    node = schema
    for part in where:
        node = node[part]
    node["brand_new_field"] = {"type": "string", "description": "added without docs"}
    problems = config_doc_problems(schema, _doc("configuration.md"))
    assert [p for p in problems if p.startswith(f"{expected}:")] == [
        f"{expected}: not documented (add a table row starting with `{expected}`)"]


def test_config_checker_fails_on_an_undocumented_enum_value_and_a_stale_row() -> None:
    schema = copy.deepcopy(_schema())
    schema["properties"]["changelog_policy"]["enum"].append("fancy")
    del schema["properties"]["calver_offset_days"]
    problems = config_doc_problems(schema, _doc("configuration.md"))
    assert "changelog_policy: the allowed value 'fancy' is not named in its row" in problems
    assert "calver_offset_days: documented but not in the schema" in problems


# -- 2. actions.md vs. the three action.yml -----------------------------------------


def action_doc_problems(name: str, action: dict[str, Any], doc: str) -> list[str]:
    """Each input (with its required flag and default) and each output of ``action``
    has a row in the Inputs / Outputs table of its section; no row names anything else."""
    body = section(doc, f"`{name}`")
    if not body:
        return [f"{name}: no section (a heading containing `{name}`)"]
    problems = []
    inputs = first_cell_rows(section(body, "Inputs"), "input")
    for key, spec in (action.get("inputs") or {}).items():
        row = inputs.get(key)
        if row is None:
            problems.append(f"{name}: input {key} is not documented")
            continue
        required = "yes" if spec.get("required") else "no"
        if len(row) < 3 or row[1] != required:
            problems.append(f"{name}: input {key}: required should read {required!r}")
            continue
        default = str(spec.get("default", "") or "")
        if default and row[2] != f"`{default}`":
            problems.append(f"{name}: input {key}: default should read `{default}`")
        if not default and row[2] not in ("", "—", "-"):
            problems.append(f"{name}: input {key} has no default but the docs give {row[2]}")
    outputs = first_cell_rows(section(body, "Outputs"), "output")
    for key in action.get("outputs") or {}:
        if key not in outputs:
            problems.append(f"{name}: output {key} is not documented")
    for key in inputs:
        if key not in (action.get("inputs") or {}):
            problems.append(f"{name}: input {key} is documented but does not exist")
    for key in outputs:
        if key not in (action.get("outputs") or {}):
            problems.append(f"{name}: output {key} is documented but does not exist")
    return problems


def _action(name: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / name / "action.yml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ACTIONS)
def test_actions_doc_lists_every_input_and_output(name: str) -> None:
    assert action_doc_problems(name, _action(name), _doc("actions.md")) == []


def test_action_checker_fails_on_a_new_input_output_or_changed_default() -> None:
    action = copy.deepcopy(_action("action-publish"))
    action["inputs"]["brand-new-input"] = {"description": "x", "required": False, "default": ""}
    action["inputs"]["max-parallel"]["default"] = "8"
    action.setdefault("outputs", {})["brand-new-output"] = {"description": "x", "value": "y"}
    del action["inputs"]["allow-bots"]
    problems = action_doc_problems("action-publish", action, _doc("actions.md"))
    assert sorted(problems) == sorted([
        "action-publish: input brand-new-input is not documented",
        "action-publish: input max-parallel: default should read `8`",
        "action-publish: output brand-new-output is not documented",
        "action-publish: input allow-bots is documented but does not exist",
    ])


# -- 3. exit codes ----------------------------------------------------------------------


def exit_code_problems(codes: dict[str, int], doc: str) -> list[str]:
    rows = first_cell_rows(section(doc, "Exit codes"), "error class")
    problems = []
    for name, code in codes.items():
        row = rows.get(name)
        if row is None:
            problems.append(f"{name} ({code}) is not in the exit code table")
        elif len(row) < 2 or row[1] != str(code):
            problems.append(f"{name}: the table gives {row[1:2]}, the code is {code}")
    for name in rows:
        if name not in codes:
            problems.append(f"{name} is in the exit code table but not in EXIT_CODES")
    return problems


def test_cli_doc_lists_every_error_class_and_exit_code() -> None:
    assert exit_code_problems(EXIT_CODES, _doc("cli.md")) == []


def test_exit_code_checker_fails_on_a_new_class_or_a_changed_code() -> None:
    codes = dict(EXIT_CODES)
    codes["BrandNewError"] = 99
    codes["UsageError"] = 42
    problems = exit_code_problems(codes, _doc("cli.md"))
    assert "BrandNewError (99) is not in the exit code table" in problems
    assert "UsageError: the table gives ['2'], the code is 42" in problems


# -- 4. the label state machine ----------------------------------------------------------


def test_labels_doc_holds_the_current_state_machine() -> None:
    assert labels.render_markdown() in _doc("labels.md"), (
        "docs/labels.md is stale: paste the output of `valet publish --labels`")


def test_labels_doc_check_would_catch_a_new_label_meaning() -> None:
    rendered = labels.render_markdown().replace(
        labels.MEANING[labels.Label.FAILED], "something else entirely")
    assert rendered not in _doc("labels.md")


# -- 5. CLI sub-commands and their flags ----------------------------------------------------


def subcommands(parser: argparse.ArgumentParser, prefix: str = "valet") -> Iterator[
        tuple[str, argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{prefix} {name}", sub
                yield from subcommands(sub, f"{prefix} {name}")


def _long_flags(parser: argparse.ArgumentParser) -> list[str]:
    return [opt for action in parser._actions for opt in action.option_strings
            if opt.startswith("--") and opt != "--help"]


def command_doc_problems(commands: list[tuple[str, list[str]]], doc: str) -> list[str]:
    """Each command has a heading `` `valet name ...` `` and its section names each flag."""
    problems = []
    for command, flags in commands:
        body = section(doc, f"`{command}")
        if not body:
            problems.append(f"{command}: no heading containing `{command}")
            continue
        for flag in flags:
            if not re.search(rf"`{re.escape(flag)}(?![\w-])", body):
                problems.append(f"{command}: flag {flag} is not documented in its section")
    return problems


def _commands() -> list[tuple[str, list[str]]]:
    return [(name, _long_flags(sub)) for name, sub in subcommands(build_parser())]


def test_every_command_module_is_a_documented_command() -> None:
    names = {name for name, _ in _commands()}
    assert {f"valet {m}" for m in COMMAND_MODULES} <= names
    doc = _doc("cli.md")
    assert [m for m in COMMAND_MODULES if not section(doc, f"`valet {m}")] == []


def test_cli_doc_documents_every_command_and_flag() -> None:
    assert command_doc_problems(_commands(), _doc("cli.md")) == []


def test_command_checker_fails_on_a_new_command_or_flag() -> None:
    commands = _commands() + [("valet brand-new", []), ("valet publish", ["--brand-new-flag"])]
    problems = command_doc_problems(commands, _doc("cli.md"))
    assert problems == ["valet brand-new: no heading containing `valet brand-new",
                        "valet publish: flag --brand-new-flag is not documented in its section"]


# -- 6. relative links ---------------------------------------------------------------------


_LINK_RE = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def anchors(text: str) -> set[str]:
    return {slug(re.sub(r"^#+\s+", "", line)) for line in _outside_fences(text)
            if re.match(r"^#{1,6}\s", line)}


def link_problems(page: Path, text: str, root: Path) -> list[str]:
    problems = []
    for line in _outside_fences(text):
        line = re.sub(r"`[^`]*`", "", line)  # code spans hold no links
        for target in _LINK_RE.findall(line):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):
                continue  # https:, mailto:
            path_part, _, anchor = target.partition("#")
            dest = (page.parent / path_part).resolve() if path_part else page
            rel = dest.relative_to(root).as_posix() if dest.is_relative_to(root) else str(dest)
            if not dest.exists():
                if rel not in OWNED_ELSEWHERE:
                    problems.append(f"{page.relative_to(root)}: {target} -> {rel} does not exist")
                continue
            if anchor and dest.suffix == ".md":
                if anchor not in anchors(dest.read_text(encoding="utf-8")):
                    problems.append(f"{page.relative_to(root)}: {target}: no heading #{anchor}")
    return problems


def _pages() -> list[Path]:
    return sorted(DOCS.glob("*.md")) + [ROOT / "README.md"]


def test_relative_links_in_docs_and_readme_resolve() -> None:
    problems = [p for page in _pages() for p in link_problems(page, page.read_text(encoding="utf-8"), ROOT)]
    assert problems == []


def test_link_checker_fails_on_a_missing_file_and_a_missing_anchor(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A\n\n## Exit codes\n", encoding="utf-8")
    page = tmp_path / "docs" / "b.md"
    text = ("[ok](a.md#exit-codes) [gone](missing.md) [bad](a.md#nowhere) "
            "[web](https://example.com/x.md) `[code](nope.md)`\n")
    assert link_problems(page, text, tmp_path) == [
        "docs/b.md: missing.md -> docs/missing.md does not exist",
        "docs/b.md: a.md#nowhere: no heading #nowhere",
    ]


# -- the README's fixed parts ------------------------------------------------------------


def test_readme_keeps_the_two_commands_and_the_performance_heading() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    two = section(readme, "Two commands")
    assert "make test" in two and "make demo" in two
    assert readme.index("## Two commands") < readme.index("## Adopt valet")
    assert "## Performance" in readme


def test_readme_adoption_guide_matches_the_example_workflows() -> None:
    """Every secret, variable and action input the example workflows use is named in
    the adoption guide, so the guide cannot ask for other names than the files."""
    readme = section((ROOT / "README.md").read_text(encoding="utf-8"), "Adopt valet")
    wanted: set[str] = set()
    for rel in ("examples/sdk-repo/.github/workflows/release.yml",
                "examples/publish-repo/.github/workflows/publish.yml"):
        text = (ROOT / rel).read_text(encoding="utf-8")
        assert rel in readme
        wanted |= set(re.findall(r"\b(?:secrets|vars)\.([A-Z0-9_]+)", text))
    assert wanted and [name for name in sorted(wanted) if f"`{name}`" not in readme] == []


# -- the issue format page's example is a real issue ------------------------------------------


def test_issue_format_example_is_a_request_valet_parses() -> None:
    from valet.issue_format import parse_issue

    doc = _doc("issue-format.md")
    example = section(doc, "Example")
    title = re.search(r"Title `(publish: [^`]+)`", example)
    body = re.search(r"```markdown\n(.*?)\n```", example, re.DOTALL)
    assert title and body
    request = parse_issue(title.group(1), body.group(1))
    assert [t.id for t in request.targets] == ["pypi", "npm[@acme/sdk]", "github"]
    assert [a.name for a in request.artifacts] == ["acme_sdk-1.4.0-py3-none-any.whl",
                                                   "acme-sdk-1.4.0.tgz"]
    assert request.sha == "3f2a9c1e0b7d4a6f8e5c2b1a0d9e8f7c6b5a4d3e"


# -- the docs hold no internal notes -------------------------------------------------------


_INTERNAL_NOTE_RE = re.compile(r"\bplanned\b|\bissue \d+, item \d+|\bnot (?:yet )?implemented\b",
                               re.IGNORECASE)


def test_docs_say_what_is_not_what_is_planned() -> None:
    notes = [f"{page.relative_to(ROOT)}:{n}: {line.strip()[:80]}"
             for page in _pages()
             for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
             if _INTERNAL_NOTE_RE.search(line)]
    assert notes == []
