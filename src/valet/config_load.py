"""Load `.valet.yml` (or `.craft.yml` in compatibility mode) into the Config model.

``parse_config`` is pure (text in, Config out) so the publish side can feed it
the file it read through the API from the protected merge target.
``load_config`` adds the file system: it finds the file under the project path.

YAML is read with a strict loader: no anchors/aliases (a config never needs
them and they allow exponential expansion), no duplicate keys (PyYAML would
silently keep the last one), a size cap.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from valet.config import ArtifactStoreConfig, Config, TargetConfig
from valet.errors import ConfigError
from valet.schemas.messages import Problem, render_problems, suggest

VALET_FILE = ".valet.yml"
CRAFT_FILE = ".craft.yml"
MAX_CONFIG_BYTES = 256 * 1024

# The target kinds valet can publish to now, and the options each one takes.
TARGET_OPTIONS: dict[str, tuple[str, ...]] = {
    "github": ("checksums",),
    "pypi": ("repository_url", "index_url", "trusted_publishing"),
    "npm": ("access", "tag", "prerelease_tag", "registry", "trusted_publishing"),
    "crates": ("registry_url", "trusted_publishing"),
    "docker": ("source", "target", "source_format", "target_format"),
    "gcs": ("bucket", "paths"),
    "aws-lambda-layer": ("layer_name", "compatible_runtimes", "compatible_architectures",
                         "license", "regions", "link_prereleases"),
    # targets that write to git repositories
    "registry": ("repository", "branch", "sdks", "apps"),
    "gh-pages": ("repository", "branch"),
    "commit-on-git-repository": ("repository", "branch", "strip_components", "create_tag"),
    "brew": ("tap", "template", "formula", "path"),
    "upm": ("repository", "branch"),
}
SUPPORTED_TARGETS: tuple[str, ...] = tuple(TARGET_OPTIONS)

_PATH_PART_RE = re.compile(r"^[A-Za-z0-9_@+][A-Za-z0-9._@+-]*$")

EXAMPLE_VALET_YML = """\
targets:
  - name: github
  - name: pypi
changelog_policy: auto
build: python -m build
artifacts: [dist/*]
"""


# -- strict YAML --------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    pass



def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise ConfigError(f"line {key_node.start_mark.line + 1}: a key must be a plain value")
        if key in result:
            raise ConfigError(
                f"line {key_node.start_mark.line + 1}: the key {key!r} appears twice",
                hint="keep one of them: YAML would silently use the last")
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                              _construct_mapping)  # type: ignore[arg-type]


def load_yaml(text: str, source: str) -> Any:
    if len(text.encode("utf-8", "replace")) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{source} is larger than {MAX_CONFIG_BYTES // 1024} KiB",
                          hint="a release config is a few dozen lines; check the file")
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise ConfigError(f"{source}: YAML anchors and aliases (&name, *name) are "
                                  "not supported", hint="write the values out in full")
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except ConfigError as exc:
        if exc.message.startswith(source):
            raise
        raise ConfigError(f"{source}: {exc.message}", hint=exc.hint) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{source} is not valid YAML{where}: {problem}",
                          hint="fix the YAML syntax (indentation, quoting)") from None


# -- helpers shared with craft_compat ---------------------------------------------


def validate_path(path: str) -> str:
    """A monorepo sub-path: relative, '/'-separated, no '..', no odd characters."""
    if path in ("", ".", "./"):
        return "."
    raw = path.strip()
    parts = [p for p in PurePosixPath(raw).parts if p != "."]
    if (raw.startswith("/") or "\\" in raw or not parts
            or any(p == ".." or not _PATH_PART_RE.fullmatch(p) for p in parts)):
        raise ConfigError(
            f"project path {path!r} is not allowed",
            hint="give a relative directory inside the repository such as packages/foo "
                 "(letters, digits, '.', '_', '-', '@', '+'; no '..')")
    return "/".join(parts)


def _regex(pattern: str, where: str, problems: list[Problem]) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error as exc:
        problems.append(Problem(where, f"{pattern!r} is not a valid regular expression ({exc})",
                                allowed="a Python regular expression, searched in each file "
                                        "name"))
        return None


def compile_regex(pattern: str, where: str, source: str) -> re.Pattern[str]:
    problems: list[Problem] = []
    compiled = _regex(pattern, where, problems)
    if compiled is None:
        raise ConfigError(render_problems(problems, source), hint="fix the regular expression")
    return compiled


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3])


# -- .valet.yml ---------------------------------------------------------------------

CONFIG_HINT = ("every key, what it takes and an example are in the configuration reference "
               "(docs/configuration.md); `valet config check` shows the result")


def raise_problems(problems: list[Problem], source: str) -> None:
    if problems:
        raise ConfigError(render_problems(problems, source), hint=CONFIG_HINT)


def _target_options(name: str, options: dict[str, Any], where: str,
                    problems: list[Problem]) -> list[str]:
    """The checks a target kind makes of its own options (templates, names, paths) when
    the file loads; returns its notes for `valet config check`."""
    from valet.targets import check_options

    try:
        return check_options(name, options, where)
    except ConfigError as exc:
        wrong = exc.message.removeprefix(f"{where}: ") if exc.message.startswith(where) \
            else exc.message
        problems.append(Problem(where, wrong, allowed=exc.hint or ""))
        return []


def _parse_valet(data: dict[str, Any], source: str, path: str) -> Config:
    from valet import schemas

    raise_problems(schemas.problems("config", data), source)
    min_version = data.get("min_version")
    if min_version:
        from valet import __version__

        if _version_tuple(__version__) < _version_tuple(min_version):
            raise ConfigError(
                f"{source} needs valet {min_version} or newer; this is valet {__version__}",
                hint="update the valet actions to a newer ref")
    problems: list[Problem] = []
    notes: list[str] = []
    targets: list[TargetConfig] = []
    seen: set[str] = set()
    for index, raw in enumerate(data.get("targets") or []):
        name = raw["name"]
        where = f"targets[{index}]"
        options = {k: v for k, v in raw.items()
                   if k not in ("name", "id", "include_names", "exclude_names")}
        allowed = TARGET_OPTIONS[name]
        for key in options:
            if key not in allowed:
                owners = [t for t, opts in TARGET_OPTIONS.items() if key in opts]
                problems.append(Problem(
                    f"{where}.{key}",
                    f"is an option of the {' and '.join(owners)} target, not of {name}"
                    if owners else f"is not an option of the {name} target",
                    allowed=(f"the options of {name}: {', '.join(allowed)}" if allowed
                             else f"no options for {name}"),
                    suggestion=suggest(key, allowed)))
        if not problems:
            notes += _target_options(name, options, where, problems)
        include = (_regex(raw["include_names"], f"{where}.include_names", problems)
                   if raw.get("include_names") else None)
        exclude = (_regex(raw["exclude_names"], f"{where}.exclude_names", problems)
                   if raw.get("exclude_names") else None)
        target = TargetConfig(name=name, id=raw.get("id"), options=options,
                              include_names=include, exclude_names=exclude)
        if target.key in seen:
            problems.append(Problem(f"{where}", f"the target {target.key} is listed twice",
                                    allowed="each target once; give two targets of the same "
                                            "kind each its own id",
                                    example="id: '@scope/pkg'"))
        seen.add(target.key)
        targets.append(target)
    require = [_regex(p, f"require_names[{i}]", problems)
               for i, p in enumerate(data.get("require_names") or [])]
    raise_problems(problems, source)
    store_raw = data.get("artifact_store") or {}
    store = ArtifactStoreConfig(
        kind=store_raw.get("kind", "github-release"), name=store_raw.get("name"),
        workflows={k: list(v) for k, v in (store_raw.get("workflows") or {}).items()})
    defaults = Config()
    return Config(
        source=source,
        path=path,
        targets=targets,
        changelog_policy=data.get("changelog_policy", defaults.changelog_policy),
        changelog_file=data.get("changelog_file", defaults.changelog_file),
        versioning_policy=data.get("versioning_policy", defaults.versioning_policy),
        calver_format=data.get("calver_format", defaults.calver_format),
        calver_offset_days=data.get("calver_offset_days", defaults.calver_offset_days),
        release_branch_prefix=data.get("release_branch_prefix", defaults.release_branch_prefix),
        tag_prefix=data.get("tag_prefix", defaults.tag_prefix),
        build=_list(data.get("build")),
        artifacts=_list(data["artifacts"]) if "artifacts" in data else defaults.artifacts,
        require_names=[p for p in require if p is not None],
        pre_release_command=data.get("pre_release_command") or None,
        post_release_command=data.get("post_release_command") or None,
        bump_files=list(data.get("bump_files") or []),
        artifact_store=store,
        github_repo=data.get("github_repo"),
        min_version=min_version,
        status_contexts=list(data.get("status_contexts") or []),
        ci=data.get("ci", defaults.ci),
        notes=notes,
    )


# -- entry points -------------------------------------------------------------------


def parse_config(text: str, source: str, *, path: str = ".") -> Config:
    """Parse config text. ``source`` is the file name it came from (shown in errors);
    a name ending in ``.craft.yml`` selects craft compatibility mode."""
    path = validate_path(path)
    data = load_yaml(text, source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source} must hold a mapping of settings at the top level, "
                          f"not a {type(data).__name__}",
                          hint="start from: targets: [{name: github}] (see `valet config check`)")
    if PurePosixPath(source).name.endswith(CRAFT_FILE):
        from valet import craft_compat

        config = craft_compat.parse_craft(data, source, path=path)
    else:
        config = _parse_valet(data, source, path)
    from valet.config_rules import config_problems

    raise_problems(config_problems(config), source)
    return config


def find_config_file(project_dir: Path, path: str = ".") -> Path | None:
    """Under the project path first, then (in a monorepo) at the repository root:
    the same order the publish side reads them through the API."""
    path = validate_path(path)
    dirs = [project_dir / path] + ([project_dir] if path != "." else [])
    for base in dirs:
        for name in (VALET_FILE, CRAFT_FILE):
            candidate = base / name
            if candidate.is_file():
                return candidate
    return None


def load_config(project_dir: Path, path: str = ".", *, config_file: str | None = None,
                file_flag: str = "the `config` input / --config") -> Config:
    """Read ``<project_dir>/<path>/.valet.yml``, else ``.craft.yml`` (compatibility mode).

    ``config_file`` names another file (relative to the project directory); its
    name decides the mode (``*.craft.yml`` is read as craft's format); ``file_flag``
    names the way the caller was given it, for the message when it is missing."""
    path = validate_path(path)
    base = Path(project_dir) / path
    if config_file:
        file = base / config_file
        if not file.is_file():
            raise ConfigError(f"the config file {config_file} does not exist in {base}",
                              hint=f"check the path given to {file_flag} (relative to the "
                                   "project directory)")
    else:
        found = find_config_file(Path(project_dir), path)
        if found is None:
            where = "the repository root" if path == "." else f"{path}/"
            raise ConfigError(
                f"no {VALET_FILE} (or {CRAFT_FILE}) found in {where}",
                hint=f"create {path + '/' if path != '.' else ''}{VALET_FILE}, for example:\n"
                     + EXAMPLE_VALET_YML)
        file = found
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {file}: {exc}") from None
    rel = file.relative_to(Path(project_dir)).as_posix() if file.is_relative_to(
        Path(project_dir)) else str(file)
    config = parse_config(text, rel, path=path)
    if config.source.endswith(CRAFT_FILE):
        from valet import craft_compat

        craft_compat.apply_file_defaults(config, text, base)
    from valet.config_rules import file_problems

    raise_problems(file_problems(config, base, Path(project_dir)), config.source)
    return config
