"""Pure parts of the git targets: registry layout and links, brew names, destinations."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from valet.errors import TargetError
from valet.targets import get_target
from valet.targets.base import Destination
from valet.targets.brew import checksum_values, formula_name, formula_path, tap_repo
from valet.targets.git_destination import quote_path, token_var
from valet.targets.registry import (
    Package,
    created_at,
    file_urls,
    files_data,
    links_to_move,
    packages,
    parse_canonical,
    same_release,
    skip_reason,
    version_manifest,
)
from valet.version import parse_version

from .ctx import make_ctx


@pytest.mark.parametrize("canonical,parts", [
    ("npm:@sentry/browser", ["npm", "@sentry", "browser"]),
    ("maven:io.sentry:sentry", ["maven", "io.sentry", "sentry"]),
    ("pypi:sentry-sdk", ["pypi", "sentry-sdk"]),
    ("app:sentry-cli", ["app", "sentry-cli"]),
])
def test_canonical_names_split_into_directories(canonical: str, parts: list[str]) -> None:
    assert parse_canonical(canonical) == parts


@pytest.mark.parametrize("bad", ["npm", "npm:", "npm:a//b", "npm:../x", "npm:a/..", ":x",
                                 "npm:a b", "npm:.git/x/.."])
def test_canonical_names_that_would_leave_their_directory_are_refused(bad: str) -> None:
    with pytest.raises(TargetError):
        parse_canonical(bad)


def test_directories_of_sdks_and_apps() -> None:
    assert Package("sdk", "npm:@acme/sdk").directory == "packages/npm/@acme/sdk"
    assert Package("app", "app:acme-cli").directory == "apps/acme-cli"
    with pytest.raises(TargetError, match="app:<name>"):
        Package("app", "npm:acme").directory  # noqa: B018


@pytest.mark.parametrize("new,current,moved", [
    ("1.2.0", {}, ["latest.json", "1.json", "1.2.json"]),
    ("1.2.1", {"latest.json": "2.0.0", "1.json": "1.3.0", "1.2.json": "1.2.0"}, ["1.2.json"]),
    ("1.1.5", {"latest.json": "1.2.0", "1.json": "1.2.0"}, ["1.1.json"]),
    ("2.0.0", {"latest.json": "2.0.0-rc.1", "2.json": "2.0.0-rc.1"},
     ["latest.json", "2.json", "2.0.json"]),
    ("2.0.0-rc.2", {"latest.json": "1.9.0"}, ["latest.json", "2.json", "2.0.json"]),
    ("1.0.0", {"latest.json": "1.0.0"}, ["latest.json", "1.json", "1.0.json"]),
])
def test_links_move_only_to_a_version_at_least_as_high(new: str, current: dict[str, str],
                                                       moved: list[str]) -> None:
    versions = {k: parse_version(v) for k, v in current.items()}
    assert links_to_move(parse_version(new), versions) == moved


def _digest(name: str, algo: str, fmt: str) -> str:
    return f"{algo}:{fmt}:{name}"


def test_files_data_urls_checksums_and_nothing_without_either() -> None:
    pkg = Package("app", "app:acme", url_template="https://dl/{{version}}/{{file}}?r={{revision}}",
                  checksums=(("sha256", "hex"), ("sha384", "base64")))
    assert files_data(pkg, ["b", "a"], _digest, version="1.0.0", revision="abc") == {
        "a": {"url": "https://dl/1.0.0/a?r=abc",
              "checksums": {"sha256-hex": "sha256:hex:a", "sha384-base64": "sha384:base64:a"}},
        "b": {"url": "https://dl/1.0.0/b?r=abc",
              "checksums": {"sha256-hex": "sha256:hex:b", "sha384-base64": "sha384:base64:b"}}}
    assert file_urls(pkg, ["a"], version="1.0.0", revision="abc") == {"a": "https://dl/1.0.0/a?r=abc"}
    assert files_data(Package("sdk", "npm:x"), ["a"], _digest, version="1", revision="") is None
    assert file_urls(Package("sdk", "npm:x", url_template="u/{{file}}"), ["a"], version="1",
                     revision="") is None  # only apps carry file_urls


def test_version_manifest_builds_on_the_previous_latest() -> None:
    previous = {"canonical": "npm:x", "name": "Old", "version": "1.0.0", "package_url": "p",
                "repo_url": "r0", "created_at": "then", "file_urls": {"old": "u"},
                "files": {"old": {}}}
    pkg = Package("sdk", "npm:x", metadata={"name": "New"})
    out = version_manifest(previous, pkg, version="1.1.0", repo_url="https://github.com/a/b",
                           files={"f": {"checksums": {"sha256-hex": "00"}}}, urls=None,
                           created_at="now")
    assert out == {"canonical": "npm:x", "name": "New", "version": "1.1.0", "package_url": "p",
                   "repo_url": "https://github.com/a/b", "created_at": "now",
                   "files": {"f": {"checksums": {"sha256-hex": "00"}}}}
    assert list(out)[:3] == ["canonical", "name", "version"]  # the previous order is kept


def test_same_release_compares_files_and_urls_not_timestamps() -> None:
    import json

    pkg = Package("sdk", "npm:x")
    files = {"f": {"checksums": {"sha384-base64": "A"}}}
    there = json.dumps({"canonical": "npm:x", "version": "1.0.0", "created_at": "x",
                        "name": "whatever", "files": files}).encode()
    assert same_release(there, pkg, "1.0.0", files, None)[0]
    assert not same_release(there, pkg, "1.0.0", {"f": {"checksums": {"sha384-base64": "B"}}},
                            None)[0]
    assert not same_release(there, Package("sdk", "npm:y"), "1.0.0", files, None)[0]
    assert not same_release(b"not json", pkg, "1.0.0", files, None)[0]


def test_skips_and_created_at() -> None:
    v = parse_version("1.0.0-rc.1")
    assert "pre-release" in str(skip_reason(Package("sdk", "npm:x"), v, []))
    assert skip_reason(Package("sdk", "npm:x", link_prereleases=True), v, []) is None
    import re
    only = Package("sdk", "npm:x", only_if_present=re.compile(r"\.whl$"))
    assert "only_if_present" in str(skip_reason(only, parse_version("1.0.0"), ["a.tgz"]))
    assert skip_reason(only, parse_version("1.0.0"), ["a.whl"]) is None
    moment = datetime(2026, 8, 21, 20, 29, 33, 1500, tzinfo=timezone.utc)
    assert created_at(moment) == "2026-08-21T20:29:33.001Z"


def test_registry_packages_from_options(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, [], name="registry", options={
        "sdks": {"npm:a": None, "pypi:b": {"checksums": [{"algorithm": "sha512",
                                                         "format": "hex"}]}},
        "apps": {"app:c": {"url_template": "u/{{file}}", "name": "C"}}})
    got = packages(ctx)
    assert [(p.kind, p.canonical) for p in got] == [("sdk", "npm:a"), ("sdk", "pypi:b"),
                                                    ("app", "app:c")]
    assert got[1].checksums == (("sha512", "hex"),) and got[2].metadata == {"name": "C"}
    bad = make_ctx(tmp_path, [], name="registry",
                   options={"sdks": {"npm:a": {"checksums": [{"algorithm": "md5"}]}}})
    with pytest.raises(TargetError, match="not supported"):
        packages(bad)


@pytest.mark.parametrize("tap,repo", [("getsentry/tools", "getsentry/homebrew-tools"),
                                      ("acme/homebrew-tap", "acme/homebrew-tap")])
def test_tap_names_follow_homebrew(tmp_path: Path, tap: str, repo: str) -> None:
    assert tap_repo(make_ctx(tmp_path, [], name="brew", options={"tap": tap})) == repo


def test_formula_name_and_path(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, [], name="brew", version="10.2.3", repo="acme/sentry-cli",
                   options={"tap": "a/b", "formula": "acme-v{{major}}", "path": "HomebrewFormula"})
    assert formula_name(ctx) == "acme-v10"
    assert formula_path(ctx) == "HomebrewFormula/acme-v10.rb"
    plain = make_ctx(tmp_path, [], name="brew", repo="acme/sentry-cli", options={"tap": "a/b"})
    assert formula_path(plain) == "Formula/sentry-cli.rb"
    for bad in ({"formula": "../x"}, {"path": "../up"}, {"formula": "{{nope}}"}):
        with pytest.raises(Exception):  # noqa: B017 - TargetError or ConfigError
            formula_path(make_ctx(tmp_path, [], name="brew", options={"tap": "a/b", **bad}))


def test_checksum_keys_as_craft_writes_them() -> None:
    got = checksum_values(["acme-1.2.3.tar.gz", "acme-Darwin", "acme-1.2.3-1.2.3.whl"], "1.2.3",
                          {"acme-1.2.3.tar.gz": "A", "acme-Darwin": "B",
                           "acme-1.2.3-1.2.3.whl": "C"})
    assert got == {"acme-__VERSION__.tar.gz": "A", "acme-__VERSION____tar__gz": "A",
                   "acme-Darwin": "B",
                   "acme-__VERSION__-1.2.3.whl": "C", "acme-__VERSION__-1__2__3__whl": "C"}


@pytest.mark.parametrize("name,options,repo", [
    ("registry", {"sdks": {"npm:a": None}}, "getsentry/sentry-release-registry"),
    ("registry", {"repository": "acme/registry"}, "acme/registry"),
    ("gh-pages", {}, "acme/sdk"),
    ("gh-pages", {"repository": "acme/site"}, "acme/site"),
    ("commit-on-git-repository", {"repository": "acme/deno", "branch": "main"}, "acme/deno"),
    ("brew", {"tap": "acme/tools"}, "acme/homebrew-tools"),
    ("upm", {"repository": "acme/unity"}, "acme/unity"),
])
def test_destinations_name_the_github_host_and_the_repository_written_to(tmp_path: Path, name: str,
                                                     options: dict[str, object],
                                                     repo: str) -> None:
    ctx = make_ctx(tmp_path, [], name=name, options=options)
    hosts = {"brew": ["api.github.com"], "upm": ["github.com", "api.github.com"]}.get(
        name, ["github.com"])
    assert get_target(name).destinations(ctx) == [
        *(Destination("host", h) for h in hosts), Destination("repository", repo)]
    ghes = make_ctx(tmp_path, [], name=name, options=options,
                    env={"GITHUB_SERVER_URL": "https://ghe.acme.test",
                         "GITHUB_API_URL": "https://ghe.acme.test/api/v3"})
    assert {d.value for d in get_target(name).destinations(ghes) if d.kind == "host"} == \
        {"ghe.acme.test"}


def test_token_variables_and_path_quoting() -> None:
    assert token_var("commit-on-git-repository") == "COMMIT_ON_GIT_REPOSITORY_GITHUB_TOKEN"
    assert token_var("gh-pages") == "GH_PAGES_GITHUB_TOKEN"
    for name in ("registry", "gh-pages", "commit-on-git-repository", "brew", "upm"):
        assert get_target(name).credentials == (token_var(name),)
    assert quote_path('a "b"\\c\nd\x01é') == b'"a \\"b\\"\\\\c\\nd\\001\xc3\xa9"'
