"""Nothing `valet config check` accepts is refused later for a reason it could have seen.

Each entry below is one check a later step makes (prepare, request, a target's
preflight) that depends only on the config (or files the config names). For
every value listed, the config loader and that later check are run: both
accept it or both refuse it. A check added later without a rule in
valet.config_rules fails here as soon as one refused value is listed for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

import pytest
import yaml

from tests.unit.targets.ctx import make_ctx
from valet.config import Config
from valet.config_load import load_config
from valet.errors import ConfigError, ValetError


class Later(NamedTuple):
    config: Callable[[Any], dict[str, Any]]  # value -> the .valet.yml holding it
    check: Callable[[Any, Path], object]  # value, project dir -> raises if refused later
    accepted: tuple[Any, ...]
    refused: tuple[Any, ...]


def _target_ctx(tmp_path: Path, name: str, options: dict[str, Any], files: tuple[str, ...] = ()):
    paths = []
    for n in files:
        (tmp_path / n).write_bytes(b"x")
        paths.append(tmp_path / n)
    return make_ctx(tmp_path, paths, name=name, options=options, env={})


def _calver(fmt: str, _: Path) -> object:
    from valet.version import next_calver

    return next_calver(date(2026, 1, 31), fmt, 0, [])


def _branch(prefix: str, _: Path) -> object:
    from valet.refs import release_branch

    return release_branch(prefix, "1.2.3")


def _tag(prefix: str, _: Path) -> object:
    from valet.refs import validate_tag
    from valet.version import tag_name

    return validate_tag(tag_name(Config(tag_prefix=prefix), "1.2.3"))


def _repo(repo: str, _: Path) -> object:
    from valet.refs import validate_repo

    return validate_repo(repo)


def _glob(pattern: str, root: Path) -> object:
    from valet.build import collect_artifacts

    (root / "dist").mkdir(exist_ok=True)
    (root / "dist" / "a-1.0.0.tar.gz").write_bytes(b"x")
    try:
        return collect_artifacts(root, [pattern])
    except ValetError as exc:
        if isinstance(exc, ConfigError):
            raise
        return None  # "no file matched": about the build, not the config


def _pre_release_split(command: str, _: Path) -> object:
    from valet.bump.command import command_argv

    return command_argv(command, "1.0.0", "1.0.1")


VERSION_FILES = {
    "pyproject.toml": '[project]\nname = "a"\nversion = "1.0.0"\n',
    "package.json": '{"name": "a", "version": "1.0.0"}\n',
    "Cargo.lock": 'version = 3\n\n[[package]]\nname = "a"\nversion = "1.0.0"\n',
}


def _bump_file(name: str, root: Path) -> object:
    from valet.bump import plan_bumps

    target = root / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        target.write_text(VERSION_FILES.get(PurePosixPath(name).name, "__version__ = '1.0.0'\n"))
    return plan_bumps(root, "1.0.0", "1.0.1", Config(bump_files=[name]))


def _pyproject(content: str, root: Path) -> object:
    from valet.bump import plan_bumps

    (root / "pyproject.toml").write_text(content)
    return plan_bumps(root, "1.0.0", "1.0.1", Config())


def _bump_file_exists(name: str, root: Path) -> object:
    from valet.bump import plan_bumps

    return plan_bumps(root, "1.0.0", "1.0.1", Config(bump_files=[name]))


def _script(command: str, root: Path) -> object:
    from valet.bump.command import run_pre_release_command

    return run_pre_release_command(command, "1.0.0", "1.0.1", root)


def _script_mode(mode: int, root: Path) -> object:
    from valet.bump.command import run_pre_release_command

    script = root / "scripts" / "bump.sh"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(mode)
    return run_pre_release_command("./scripts/bump.sh", "1.0.0", "1.0.1", root)


def _target_id(target_id: str, _: Path) -> object:
    from valet.issue_format import validate_request
    from valet.request import Request, TargetState

    return validate_request(Request(repo="acme/sdk", version="1.2.3", sha="a" * 40,
                                    requested_by="octocat",
                                    targets=[TargetState(f"npm[{target_id}]")]),
                            server_url="https://github.com")


def _pypi(option: str) -> Callable[[Any, Path], object]:
    def check(url: str, root: Path) -> object:
        from valet.targets.pypi import index_url, repository_url

        opts = {option: url}
        if option == "repository_url":
            opts["index_url"] = "https://pypi.example/simple/"
        ctx = _target_ctx(root, "pypi", opts)
        return repository_url(ctx), index_url(ctx)
    return check


def _custom_index(upload: str, root: Path) -> object:
    from valet.targets.pypi import index_url

    return index_url(_target_ctx(root, "pypi", {"repository_url": upload}))


def _npm_registry(url: str, root: Path) -> object:
    from valet.targets.npm import registry_url

    return registry_url(_target_ctx(root, "npm", {"registry": url}))


def _npm_tag(option: str) -> Callable[[Any, Path], object]:
    def check(tag: str, root: Path) -> object:
        from valet.targets.npm import prerelease_tag, stable_tag

        ctx = _target_ctx(root, "npm", {option: tag})
        return stable_tag(ctx), prerelease_tag(ctx)
    return check


def _crates(url: str, root: Path) -> object:
    from valet.targets.crates import api_url

    return api_url(_target_ctx(root, "crates", {"registry_url": url}))


def _file_target(name: str, root: Path) -> object:
    from valet.targets import get_target

    # `artifacts: []`: the request approves no file, so the target has none to publish
    ctx = _target_ctx(root, name, {})
    return get_target(name).preflight(ctx)


LATER: dict[str, Later] = {
    "calver format (prepare: next_calver)": Later(
        lambda v: {"calver_format": v}, _calver,
        accepted=("%y.%-m", "%Y.%m", "%Y", "%G.%V", "%y%m"),
        refused=("%Q", "%Y.%m.%d", "v%Y", "%y-%m", "%Y.%b")),
    "release branch prefix (prepare: refs.release_branch)": Later(
        lambda v: {"release_branch_prefix": v}, _branch,
        accepted=("release", "releases/sdk", "r_1"),
        refused=("rel.lock", "a/b.lock", "release.")),
    "tag prefix (prepare: refs.validate_tag)": Later(
        lambda v: {"tag_prefix": v}, _tag,
        accepted=("", "v", "sdk-", "pkg/v"),
        refused=("x.lock/",)),
    "github repo (prepare: refs.validate_repo)": Later(
        lambda v: {"github_repo": v}, _repo,
        accepted=("octo-org/sdk",), refused=("octo-org/sdk.",)),
    "artifact glob (prepare: build.collect_artifacts)": Later(
        lambda v: {"artifacts": [v]}, _glob,
        accepted=("dist/*", "dist/*.tar.gz", "*"),
        refused=("~/dist/*", "/tmp/*", "../dist/*", "dist/../../x", " ")),
    "pre-release command (prepare: bump.command.command_argv)": Later(
        lambda v: {"pre_release_command": v}, _pre_release_split,
        accepted=("bash bump.sh", "python -c 'print(1)'"),
        refused=("bump 'x", " ")),
    "bump file kind (prepare: bump.update_content)": Later(
        lambda v: {"bump_files": [v]}, _bump_file,
        accepted=("pyproject.toml", "pkg/__init__.py", "package.json", "Cargo.lock"),
        refused=("setup.cfg", "VERSION", "build.gradle")),
    "version file content (prepare: bump.plan_bumps)": Later(
        lambda v: {}, _pyproject,
        accepted=(VERSION_FILES["pyproject.toml"], "[tool.x]\n"),
        refused=("[project\n", 'version = "1"\nversion = "2"\n')),
    "bump file exists (prepare: bump.plan_bumps)": Later(
        lambda v: {"bump_files": [v]}, _bump_file_exists,
        accepted=(), refused=("missing/pyproject.toml",)),
    "pre-release script exists (prepare: run_pre_release_command)": Later(
        lambda v: {"pre_release_command": v}, _script,
        accepted=(), refused=("./scripts/missing.sh", "scripts/missing.sh 1")),
    "pre-release script runnable (prepare: run_pre_release_command)": Later(
        lambda v: {"pre_release_command": "./scripts/bump.sh"}, _script_mode,
        accepted=(0o755,), refused=(0o644,)),
    "target id (request: issue_format.validate_request)": Later(
        lambda v: {"targets": [{"name": "npm", "id": v}]}, _target_id,
        accepted=("@scope/pkg", "pkg.js", "a+b", "my pkg", "pkg (beta)"),
        refused=("my  pkg", "pkg_ (beta)", "www.pkg.example")),
    "pypi repository_url (publish: pypi.repository_url)": Later(
        lambda v: {"targets": [{"name": "pypi", "repository_url": v,
                               "index_url": "https://pypi.example/simple/"}]}, _pypi("repository_url"),
        accepted=("https://upload.pypi.org/legacy/", "http://127.0.0.1:8080/",
                  "http://localhost/legacy/"),
        refused=("http://pypi.example/legacy/", "https://me:pw@pypi.example/", "ftp://x",
                 "https://")),
    "pypi index_url (publish: pypi.index_url)": Later(
        lambda v: {"targets": [{"name": "pypi", "index_url": v}]}, _pypi("index_url"),
        accepted=("https://pypi.org/pypi", "http://[::1]:3141/simple/"),
        refused=("http://mirror.example/simple/", "https://u@x.example/simple/")),
    "pypi index for a custom repository (publish: pypi.index_url)": Later(
        lambda v: {"targets": [{"name": "pypi", "repository_url": v}]}, _custom_index,
        accepted=("https://upload.pypi.org/legacy/", "https://test.pypi.org/legacy/",
                  "https://upload.pypi.org/legacy"),
        refused=("https://pypi.example/legacy/", "http://127.0.0.1:9/")),
    "npm registry (publish: npm.registry_url)": Later(
        lambda v: {"targets": [{"name": "npm", "registry": v}]}, _npm_registry,
        accepted=("https://registry.npmjs.org/", "http://127.0.0.1:4873"),
        refused=("http://npm.example/", "https://tok@npm.example/", "npm.example")),
    "npm tag (publish: npm.stable_tag)": Later(
        lambda v: {"targets": [{"name": "npm", "tag": v}]}, _npm_tag("tag"),
        accepted=("latest", "beta", "v2-latest", "next"),
        refused=("v2", "V10", "1.0", "-x")),
    "npm prerelease_tag (publish: npm.prerelease_tag)": Later(
        lambda v: {"targets": [{"name": "npm", "prerelease_tag": v}]},
        _npm_tag("prerelease_tag"),
        accepted=("next", "rc"), refused=("v3", "2")),
    "crates registry_url (publish: crates.api_url)": Later(
        lambda v: {"targets": [{"name": "crates", "registry_url": v}]}, _crates,
        accepted=("https://crates.io", "http://localhost:8000"),
        refused=("http://crates.example", "https://u:p@crates.example")),
    "a file target with no artifacts (publish: preflight)": Later(
        lambda v: {"artifacts": [], "targets": [{"name": v}]}, _file_target,
        accepted=(), refused=("pypi", "npm", "crates")),
}

# Refused at load although the later check would pass in some release: each with why.
STRICTER = {
    "npm prerelease_tag latest": (
        {"targets": [{"name": "npm", "prerelease_tag": "latest"}]},
        "publish refuses it for every pre-release (npm preflight), and a stable release "
        "never uses it: the setting can only ever fail"),
}

CASES = [(name, value, refused) for name, later in LATER.items()
         for refused, values in ((False, later.accepted), (True, later.refused))
         for value in values]


def _loads(data: dict[str, Any], root: Path) -> bool:
    (root / ".valet.yml").write_text(yaml.safe_dump(data), encoding="utf-8")
    try:
        load_config(root)
    except ConfigError:
        return False
    return True


def _later_accepts(later: Later, value: Any, root: Path) -> bool:
    try:
        later.check(value, root)
    except ValetError:
        return False
    return True


@pytest.mark.parametrize(("name", "value", "refused"), CASES,
                         ids=[f"{n.split(' (')[0]}={v!r}" for n, v, _ in CASES])
def test_config_check_and_the_later_check_agree(tmp_path: Path, name: str, value: Any,
                                                refused: bool) -> None:
    later = LATER[name]
    # the later check first: it leaves behind what prepare would find (a version file)
    assert _later_accepts(later, value, tmp_path) is not refused, f"later check of {value!r}"
    assert _loads(later.config(value), tmp_path) is not refused, later.config(value)


def test_every_later_check_has_a_refused_value() -> None:
    assert [name for name, later in LATER.items() if not later.refused] == []


@pytest.mark.parametrize("name", list(STRICTER))
def test_stricter_rules_refuse_at_load(tmp_path: Path, name: str) -> None:
    text, _why = STRICTER[name]
    assert not _loads(text, tmp_path)


def test_the_rules_cover_every_url_option_of_the_schema() -> None:
    from valet.config_rules import url_options

    assert {"repository_url", "index_url", "registry", "registry_url"} <= url_options()


@pytest.mark.parametrize("url", ["http://127.0.0.1:1/", "http://localhost/", "http://[::1]/"])
def test_loopback_http_is_allowed_for_the_sandbox(url: str, tmp_path: Path) -> None:
    assert _loads({"targets": [{"name": "npm", "registry": url}]}, tmp_path)


def test_a_craft_file_gets_the_same_rules_under_its_own_names(tmp_path: Path) -> None:
    (tmp_path / ".craft.yml").write_text("versioning:\n  calver:\n    format: '%Y.%m.%d'\n"
                                         "releaseBranchPrefix: rel.lock\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert re.search(r"versioning\.calver\.format: '%Y\.%m\.%d' gives '\d+\.\d+\.\d+'",
                     str(info.value))
    assert "releaseBranchPrefix: 'rel.lock'" in str(info.value)


def test_a_changelog_that_leads_outside_the_repository_is_refused(tmp_path: Path) -> None:
    repo, outside = tmp_path / "repo", tmp_path / "elsewhere.md"
    repo.mkdir()
    outside.write_text("# Changelog\n")
    (repo / "CHANGELOG.md").symlink_to(outside)
    (repo / ".valet.yml").write_text("changelog_policy: auto\n")
    with pytest.raises(ConfigError, match="CHANGELOG.md leads outside the repository"):
        load_config(repo)
    assert _loads({"changelog_policy": "none"}, repo)  # not read: no problem
