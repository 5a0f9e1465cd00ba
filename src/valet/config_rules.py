"""What a configuration must satisfy beyond its schema (pure), checked when it is loaded.

Each rule here is a check that prepare, request or a target's preflight makes
later; it runs at load time too, so ``valet config check`` (and the first
step of prepare and publish) refuses what would otherwise be refused
half-way through a release. Rules read the normalized ``Config``, so a
``.valet.yml`` and a ``.craft.yml`` get the same checks, each reported under
the key its own file uses.

``config_problems`` needs nothing but the config; ``file_problems`` also
looks at the project directory (version files that must exist, a
pre-release script). tests/unit/config/test_refused_later.py holds, for
each rule, the later check it stands for.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

from valet.config import Config, TargetConfig
from valet.errors import ValetError
from valet.schemas.messages import Problem, describe, example_of, yaml_line

# Plain http is refused except to this machine: the sandbox and local registries
# listen there, and nothing else should ever see a token in clear text.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# Targets that publish files: with `artifacts: []` they have nothing to publish.
FILE_TARGETS = ("pypi", "npm", "crates")
_SAMPLE_VERSION = "1.2.3"


# -- the schema as a source of words ----------------------------------------------------


def _walk(node: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            if isinstance(sub, dict):
                yield name, sub
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


@cache
def _option_nodes() -> dict[str, dict[str, Any]]:
    """Every property of the config schema by name (the first one of each name)."""
    from valet import schemas

    found: dict[str, dict[str, Any]] = {}
    for name, node in _walk(schemas.load("config")):
        found.setdefault(name, node)
    return found


def url_options() -> frozenset[str]:
    """Target options that hold a URL valet sends credentials to: those whose schema
    says ``format: uri`` or requires an ``http(s)://`` prefix. A new option written
    that way gets the https rule without a line here."""
    names = set()
    for name, node in _option_nodes().items():
        pattern = str(node.get("pattern", ""))
        if node.get("format") in ("uri", "url") or pattern.startswith(("^https?://", "^https://")):
            names.add(name)
    return frozenset(names)


def _node(option: str) -> dict[str, Any]:
    return _option_nodes().get(option, {})


def _example(key: str, option: str | None = None) -> str | None:
    value = example_of(_node(option or key))
    return yaml_line((option or key).rpartition(".")[2], value) if value is not None else None


# -- the rules -------------------------------------------------------------------------


def url_problem(url: object) -> str | None:
    """Why valet would not send a token to this URL, or None. The same rule as every
    target's own check (see targets/pypi, npm, crates)."""
    if not isinstance(url, str):
        return "is not a URL"
    parts = urlparse(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        return f"{url!r} is not an https URL"
    if parts.username or parts.password:
        return f"{url!r} holds credentials: they belong in the publish job's secrets"
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        return (f"{url!r} is plain http: the registry token would travel in clear text "
                "(http is allowed only for a loopback host)")
    return None


def _url_allowed() -> str:
    return ("an https URL without credentials in it (plain http only for "
            + ", ".join(LOOPBACK_HOSTS) + ")")


def config_problems(config: Config) -> list[Problem]:
    """Everything in ``config`` a later step would refuse, in file order."""
    out: list[Problem] = []
    out += _calver(config)
    out += _refs(config)
    out += _artifacts(config)
    out += _artifact_store(config)
    out += _pre_release(config)
    out += _bump_files(config)
    for index, target in enumerate(config.targets):
        out += _target(config, index, target)
    return out


def _calver(config: Config) -> list[Problem]:
    from valet.version import check_calver_format

    try:
        check_calver_format(config.calver_format)
    except ValetError as exc:
        return [Problem(config.key_name("calver_format"),
                        exc.message.removeprefix("calver format "),
                        allowed=("the tokens %Y %y %m %-m %d %-d %j %V %G %U %W, making one or "
                                 "two numbers separated by a dot (the patch number is added "
                                 "after them)"),
                        example=yaml_line(config.key_name("calver_format").rpartition(".")[2],
                                          "%y.%-m"))]
    return []


def _refs(config: Config) -> list[Problem]:
    from valet.refs import release_branch, validate_repo, validate_tag
    from valet.version import tag_name

    out: list[Problem] = []
    try:
        release_branch(config.release_branch_prefix, _SAMPLE_VERSION)
    except ValetError as exc:
        out.append(Problem(config.key_name("release_branch_prefix"),
                           f"{config.release_branch_prefix!r} gives no valid branch name "
                           f"({exc.message})",
                           allowed="parts of letters, digits, '.', '_', '+', '-', separated by "
                                   "'/', none ending in '.lock'",
                           example=_example("release_branch_prefix")))
    try:
        validate_tag(tag_name(config, _SAMPLE_VERSION))
    except ValetError as exc:
        out.append(Problem(config.key_name("tag_prefix"),
                           f"{config.tag_prefix!r} gives no valid tag name ({exc.message})",
                           allowed="letters, digits, '.', '_', '+', '-' and '/' between parts",
                           example=_example("tag_prefix")))
    if config.github_repo is not None:
        try:
            validate_repo(config.github_repo)
        except ValetError:
            out.append(Problem(config.key_name("github_repo"),
                               f"{config.github_repo!r} is not a repository name",
                               allowed="owner/name as GitHub spells it",
                               example=_example("github_repo")))
    return out


def glob_problem(pattern: object) -> str | None:
    """Why prepare would refuse this artifact glob (build.collect_artifacts), or None."""
    if not isinstance(pattern, str) or not pattern.strip():
        return "is empty"
    if pattern.startswith(("/", "~")) or ".." in PurePosixPath(pattern).parts:
        return f"{pattern!r} points outside the project"
    return None


def _artifacts(config: Config) -> list[Problem]:
    out: list[Problem] = []
    for index, pattern in enumerate(config.artifacts):
        problem = glob_problem(pattern)
        if problem:
            out.append(Problem(config.key_name(f"artifacts[{index}]"), problem,
                               allowed="a glob relative to the project directory",
                               example="artifacts: [dist/*]"))
    if not config.artifacts:
        for index, target in enumerate(config.targets):
            if target.name in FILE_TARGETS:
                key = "artifacts" if not config.craft else "artifactProvider"
                out.append(Problem(
                    config.key_name(f"targets[{index}].name"),
                    f"the {target.name} target publishes files, but {key} says the release "
                    "ships none",
                    allowed=f"list the files the build produces in {config.key_name('artifacts')}",
                    example="artifacts: [dist/*]"))
    return out


def _artifact_store(config: Config) -> list[Problem]:
    """Every workflow and artifact name of ``workflows`` must be one valet request can
    match (ci_artifacts.name_pattern)."""
    from valet.ci_artifacts.rules import NAME_ALLOWED, name_pattern

    out: list[Problem] = []
    for workflow, names in config.artifact_store.workflows.items():
        key = config.key_name("artifact_store") + f".workflows.{workflow}"
        if not names:
            out.append(Problem(key, "names no artifact", allowed="a list of artifact names",
                               example="workflows: {CI: [dist]}"))
        named = [(f"{key} (the workflow's name)", workflow)] if workflow != "*" else []
        for where, text in named + [(f"{key}[{i}]", n) for i, n in enumerate(names)]:
            try:
                name_pattern(text)
            except ValueError as exc:
                out.append(Problem(where, str(exc), allowed=NAME_ALLOWED,
                                   example="workflows: {CI: [npm-package]}"))
    return out


def _pre_release(config: Config) -> list[Problem]:
    command = config.pre_release_command
    if command is None:
        return []
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        return [Problem(config.key_name("pre_release_command"),
                        f"{command!r} cannot be split into arguments ({exc})",
                        allowed="a command line with balanced quotes (it runs without a shell)",
                        example=_example("pre_release_command"))]
    if not argv:
        return [Problem(config.key_name("pre_release_command"), "is blank",
                        allowed="a command line, or no key at all",
                        example=_example("pre_release_command"))]
    return []


def _bump_files(config: Config) -> list[Problem]:
    from valet.bump import is_version_file

    out: list[Problem] = []
    if config.pre_release_command:
        return out  # the files valet cannot update are the command's (it may change them)
    for index, rel in enumerate(config.bump_files):
        if not is_version_file(rel):
            out.append(Problem(
                config.key_name(f"bump_files[{index}]"),
                f"valet does not know how to set the version in {rel!r}",
                allowed=("pyproject.toml, package.json, package-lock.json, npm-shrinkwrap.json, "
                         "Cargo.toml, Cargo.lock or a .py file holding __version__ (use "
                         f"{config.key_name('pre_release_command')} for other files)"),
                example="bump_files: [pyproject.toml]"))
    return out


def _target(config: Config, index: int, target: TargetConfig) -> list[Problem]:
    from valet.issue_format import TARGET_ID_RE

    out: list[Problem] = []
    where = f"targets[{index}]"
    if not TARGET_ID_RE.fullmatch(target.key):
        out.append(Problem(config.key_name(f"{where}.id"),
                           f"{target.id!r} cannot appear in an approval issue",
                           allowed=("letters, digits, single spaces and @ / . _ : + = ~ ( ) -, "
                                    "up to 200 characters; no brackets, no URL, no x@y, no "
                                    ":word:, one ~ at most, _ only between letters or digits"),
                           example="id: '@scope/pkg'"))
    for option in sorted(url_options() & set(target.options)):
        problem = url_problem(target.options[option])
        if problem:
            out.append(Problem(config.key_name(f"{where}.{option}"), problem,
                               allowed=_url_allowed(), example=_example(option)))
    if target.name == "pypi":
        out += _pypi(config, where, target)
    if target.name == "npm":
        out += _npm(config, where, target)
    return out


def _pypi(config: Config, where: str, target: TargetConfig) -> list[Problem]:
    from valet.targets.pypi import KNOWN_INDEXES

    upload = target.options.get("repository_url")
    if not isinstance(upload, str) or "index_url" in target.options:
        return []
    if (upload if upload.endswith("/") else upload + "/") in KNOWN_INDEXES:
        return []
    return [Problem(config.key_name(f"{where}.index_url"),
                    f"is missing: valet must read the published files' digests from the index "
                    f"behind {upload!r}, and knows it only for PyPI and TestPyPI",
                    allowed=describe(_node("index_url"), kind=False),
                    example=yaml_line("index_url", "https://pypi.example.com/simple/"))]


def npm_tag_problem(tag: str) -> str | None:
    """Why npm (or valet) would refuse this dist-tag, or None (targets/npm._valid_tag)."""
    from valet.targets.npm import _TAG_RE

    if not _TAG_RE.match(tag):
        return f"{tag!r} is not a dist-tag"
    if tag[0] in "vV" and tag[1:2].isdigit() and "-" not in tag:
        return f"{tag!r} reads as a version range, which npm refuses as a dist-tag"
    return None


def _npm(config: Config, where: str, target: TargetConfig) -> list[Problem]:
    out: list[Problem] = []
    for option in ("tag", "prerelease_tag"):
        value = target.options.get(option)
        if value is None:
            continue
        problem = npm_tag_problem(str(value))
        if problem is None and option == "prerelease_tag" and value == "latest":
            problem = "'latest' would make every pre-release the default install"
        if problem:
            out.append(Problem(config.key_name(f"{where}.{option}"), problem,
                               allowed="a name starting with a letter that is not a version, "
                                       "and for pre-releases not latest",
                               example=_example(option)))
    return out


# -- rules that read the project directory ---------------------------------------------------


def file_problems(config: Config, project_dir: Path, root: Path | None = None) -> list[Problem]:
    """What prepare would refuse about files the config names (load_config only: the
    publish side reads no working tree). ``root``: the repository (default: the project)."""
    out: list[Problem] = []
    base = Path(project_dir)
    for index, rel in enumerate(config.bump_files):
        path = base / rel
        key = config.key_name(f"bump_files[{index}]")
        if path.is_symlink():
            out.append(Problem(key, f"{rel} is a symbolic link, which valet does not follow",
                               allowed="the real file, relative to the project directory"))
        elif not path.is_file():
            out.append(Problem(key, f"{rel} does not exist in {base}",
                               allowed="a file relative to the project directory"))
    if not out:
        out += _version_files(config, base)
    out += _script(config, base)
    if config.changelog_policy != "none":
        repo = (root or base).resolve()
        target = (base / config.changelog_file).resolve()
        if repo != target and repo not in target.parents:
            out.append(Problem(config.key_name("changelog_file"),
                               f"{config.changelog_file} leads outside the repository "
                               "(through a symbolic link)",
                               allowed="a file inside the repository"))
    return out


def _version_files(config: Config, base: Path) -> list[Problem]:
    """Read the version files the way prepare will (pure reads): a manifest that does not
    parse, or is not UTF-8, would stop the release half-way."""
    from valet.bump import plan_bumps

    try:
        plan_bumps(base, None, "0.0.0", config)
    except ValetError as exc:
        key = config.key_name("bump_files") if config.bump_files else "version files"
        return [Problem(key, exc.message, allowed=exc.hint or "files valet can read")]
    return []


def _script(config: Config, base: Path) -> list[Problem]:
    command = config.pre_release_command
    if not command:
        return []
    try:
        program = shlex.split(command)[0]
    except (ValueError, IndexError):
        return []  # config_problems says so
    # A path to a script of the project (./scripts/bump.sh): it must be there, and runnable.
    if "/" not in program or program.startswith("/"):
        return []
    key = config.key_name("pre_release_command")
    path = base / program
    if not path.is_file():
        return [Problem(key, f"{program} does not exist in {base}",
                        allowed="a command on PATH, or a script path relative to the "
                                "project directory")]
    if not os.access(path, os.X_OK):
        return [Problem(key, f"{program} is not executable",
                        allowed=f"an executable script (chmod +x {program}), or the script "
                                f"run through its interpreter: bash {program}")]
    return []
