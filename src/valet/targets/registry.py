"""`registry`: a new version in Sentry's release registry (a git repository).

The layout is the one getsentry/sentry-release-registry has and craft writes:

- an SDK ``npm:@sentry/browser`` lives in ``packages/npm/@sentry/browser/``, an
  app ``app:sentry-cli`` in ``apps/sentry-cli/`` (the canonical name split at
  ``:`` and ``/``);
- each release is ``<version>.json``: the package's previous ``latest.json``
  with ``version``, ``created_at`` and ``repo_url`` set, the configured
  metadata (``name``, ``package_url``, ``main_docs_url``, ``api_docs_url``), and
  ``files``: per artifact its ``url`` (from ``url_template``) and
  ``checksums`` (``"<algorithm>-<format>": value``). Apps also get
  ``file_urls`` (file -> url). No template and no checksums: no ``files``;
- ``latest.json``, ``<major>.json`` and ``<major>.<minor>.json`` are symlinks to
  the newest version file of their line. A link is moved only to a version at
  least as high as the one it points at (semver precedence): a patch of an old
  line never moves ``latest``.

Pre-releases are skipped unless ``link_prereleases``; a package whose
``only_if_present`` matches no approved artifact is skipped. Every package of
the target lands in one commit ``valet: release "<repo>", version "<v>"`` on
the registry's branch, pushed as a fast-forward (a moved branch is fetched and
looked at again, never overwritten).

The registry runs after every ``aws-lambda-layer`` target of the release
(``runs_after``) and, as craft does for its layers, adds per runtime of each
layer it published ``aws-lambda-layers/<runtime>/<version>.json``: the
runtime's previous ``latest.json`` with ``canonical`` (``aws-layer:<runtime>``),
``sdk_version``, ``account_number``, ``layer_name`` and ``regions`` (each
``region``, layer ``version`` and ``arn``), its links moved as above, in the
same commit. A layer file already there with other regions is a conflict.
It needs the receipt of every layer target of the release (``ctx.earlier``;
one ticked in an earlier run is re-read by publish): while one is missing it
is never published (status) and writes nothing (publish), so a resumed release
cannot end without its layer files.

Status, per package: ``<version>.json`` absent -> publish it; present with the
same files, URLs and checksums -> done; present with others -> conflict.
Checksums are computed from the verified files (the approved bytes).
"""

from __future__ import annotations

import base64
import hashlib
import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, ClassVar

from valet import gha
from valet.archive import Entry
from valet.errors import ConfigError, ConflictError, TargetError, VersionError
from valet.github_client import server_url
from valet.targets.base import (
    Destination,
    Receipt,
    State,
    StatusResult,
    TargetContext,
    option,
    select_files,
)
from valet.targets.git_destination import (
    RemoteRepo,
    check_branch,
    check_repo,
    git_host,
    push_with_retry,
    require_token,
)
from valet.template import check, render
from valet.version import Version, parse_version

DEFAULT_REPOSITORY = "getsentry/sentry-release-registry"
LAYERS_DIR = "aws-lambda-layers"
LAYER_TARGET = "aws-lambda-layer"
ALGORITHMS = ("sha256", "sha384", "sha512")
FORMATS = ("hex", "base64")
_PART_RE = re.compile(r"^[A-Za-z0-9@_+-][A-Za-z0-9@._+-]*$")
_KINDS = {"sdks": "sdk", "apps": "app"}
PACKAGE_KEYS = ("url_template", "checksums", "only_if_present", "include_names",
                "link_prereleases", "name", "sdk_name", "package_url", "main_docs_url",
                "api_docs_url")
_METADATA = (("name", "name"), ("package_url", "package_url"),
             ("main_docs_url", "main_docs_url"), ("api_docs_url", "api_docs_url"))


@dataclass(frozen=True)
class Package:
    kind: str  # sdk | app | layer (an aws-lambda-layer runtime, from that target's receipt)
    canonical: str
    url_template: str | None = None
    checksums: tuple[tuple[str, str], ...] = ()
    only_if_present: re.Pattern[str] | None = None
    include_names: re.Pattern[str] | None = None
    link_prereleases: bool = False
    metadata: dict[str, str] = field(default_factory=dict)  # name, package_url, ...
    sdk_name: str | None = None

    @property
    def directory(self) -> str:
        parts = parse_canonical(self.canonical)
        if self.kind == "layer":
            return "/".join([LAYERS_DIR, *parts[1:]])
        if self.kind == "app":
            if parts[0] != "app":
                raise TargetError(f"the app {self.canonical!r} must be named app:<name>")
            return "/".join(["apps", *parts[1:]])
        return "/".join(["packages", *parts])


class RegistryTarget:
    name: ClassVar[str] = "registry"
    # The registry lists every artifact of the release unless includeNames narrows it.
    default_include: ClassVar[re.Pattern[str]] = re.compile(r".")
    credentials: ClassVar[tuple[str, ...]] = ("REGISTRY_GITHUB_TOKEN",)
    # It lists the layer versions those targets made (their receipts' extra["layers"]).
    runs_after: ClassVar[tuple[str, ...]] = (LAYER_TARGET,)

    def __init__(self) -> None:
        self._repos: dict[str, RemoteRepo] = {}

    # -- interface ----------------------------------------------------------

    def preflight(self, ctx: TargetContext) -> None:
        repo = repository(ctx)
        if option(ctx, "branch") is not None:
            check_branch(ctx.key, option(ctx, "branch"))
        pkgs = packages(ctx)
        if not pkgs:
            raise TargetError(f"{ctx.key}: no package is configured",
                              hint="list the packages under `sdks:` (or `apps:`), e.g.\n"
                                   "    sdks:\n      'npm:@acme/sdk':")
        for pkg in pkgs:
            pkg.directory  # noqa: B018 - the canonical name must parse
        require_token(ctx, self.name, repo)
        parse_version(ctx.request.version)

    def status(self, ctx: TargetContext) -> StatusResult:
        unseen = unseen_layers(ctx)
        if unseen:  # its layer files cannot be checked yet: publish looks again after them
            return StatusResult(State.ABSENT, f"the layers of {', '.join(unseen)} are not "
                                "known yet")
        look = self._look(ctx)
        return look.status(ctx)

    def publish(self, ctx: TargetContext) -> Receipt:
        unseen = unseen_layers(ctx)
        if unseen:
            raise TargetError(
                f"{ctx.key}: the layer versions of {', '.join(unseen)} are not known, so their "
                "aws-lambda-layers files cannot be written",
                hint="add `accepted` again: publish reads those targets' layers again "
                     "before the registry runs")
        repo = self._repo(ctx)

        def attempt() -> Receipt | None:
            look = self._look(ctx)
            result = look.status(ctx)
            if result.state is State.CONFLICT:
                raise ConflictError(f"{ctx.key}: {result.detail}", hint=_CONFLICT_HINT)
            if result.state is State.PUBLISHED:
                assert result.receipt is not None
                return result.receipt
            entries: list[Entry] = []
            for item in look.todo:
                entries.extend(item.entries)
            message = f'valet: release "{ctx.request.repo.split("/")[1]}", version ' \
                      f'"{ctx.request.version}"'
            commit = repo.build(message, entries, parent=look.tip, replace=False)
            if not repo.push({f"refs/heads/{look.branch}": commit}):
                return None
            names = ", ".join(i.package.canonical for i in look.todo)
            gha.info(f"{ctx.key}: {repository(ctx)}@{look.branch}: {ctx.request.version} of "
                     f"{names}")
            return Receipt(target=ctx.key, url=_commit_url(repository(ctx), commit),
                           digests=look.digests(ctx),
                           detail=f"registry: {len(look.todo)} package(s) at "
                                  f"{ctx.request.version}")

        receipt: Receipt = push_with_retry(attempt, key=ctx.key, repo=repository(ctx))
        return receipt

    def destinations(self, ctx: TargetContext) -> list[Destination]:
        return [git_host(ctx), Destination("repository", repository(ctx))]

    # -- helpers ------------------------------------------------------------

    def _repo(self, ctx: TargetContext) -> RemoteRepo:
        if ctx.key not in self._repos:
            full = repository(ctx)
            self._repos[ctx.key] = RemoteRepo(full, require_token(ctx, self.name, full),
                                              ctx.workdir, key=ctx.key)
        return self._repos[ctx.key]

    def _look(self, ctx: TargetContext) -> _Look:
        repo = self._repo(ctx)
        branch = option(ctx, "branch") or repo.default_branch() or "master"
        branch = check_branch(ctx.key, branch)
        tip = repo.fetch_branch(branch, depth=1)
        if tip is None:
            raise TargetError(f"{ctx.key}: {repository(ctx)} has no branch {branch}",
                              hint="set the registry target's `branch` to the registry's "
                                   "default branch")
        version = parse_version(ctx.request.version)
        look = _Look(branch=branch, tip=tip)
        names = select_files(ctx.target, self.default_include, list(ctx.files))
        approved = [a.name for a in ctx.request.artifacts]
        digests = _Digests(ctx)
        for pkg in packages(ctx):
            skip = skip_reason(pkg, version, approved)
            if skip:
                look.skipped.append(f"{pkg.canonical}: {skip}")
                continue
            mine = [n for n in names if pkg.include_names is None or pkg.include_names.search(n)]
            look.add(ctx, repo, pkg, version, mine, digests)
        for data in layer_manifests(ctx.earlier.values(), ctx.request.version):
            look.add_layer(ctx, repo, version, data)
        return look


_CONFLICT_HINT = ("a registry version file is never rewritten by valet: if it is wrong, fix it "
                  "in the registry repository by hand, or release a new version")


@dataclass
class _Item:
    package: Package
    state: State
    detail: str = ""
    entries: list[Entry] = field(default_factory=list)
    names: list[str] = field(default_factory=list)


@dataclass
class _Look:
    branch: str
    tip: str
    items: list[_Item] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def todo(self) -> list[_Item]:
        return [i for i in self.items if i.state is State.ABSENT]

    def digests(self, ctx: TargetContext) -> dict[str, str]:
        names = sorted({n for i in self.items for n in i.names})
        return {n: ctx.artifacts[n].sha256 for n in names if n in ctx.artifacts}

    def add(self, ctx: TargetContext, repo: RemoteRepo, pkg: Package, version: Version,
            names: list[str], digests: _Digests) -> None:
        directory = pkg.directory
        path = f"{directory}/{ctx.request.version}.json"
        files = files_data(pkg, names, digests, version=ctx.request.version,
                           revision=ctx.request.sha or "")
        urls = file_urls(pkg, names, version=ctx.request.version,
                         revision=ctx.request.sha or "")
        existing = repo.read(self.tip, path)
        if existing is not None:
            same, why = same_release(existing, pkg, ctx.request.version, files, urls)
            state = State.PUBLISHED if same else State.CONFLICT
            self.items.append(_Item(pkg, state, why or f"{path} is there", names=names))
            return
        previous_raw = read_followed(repo, self.tip, f"{directory}/latest.json")
        if previous_raw is None:
            previous = initial_manifest(ctx, pkg)
            entries = _sdk_link(repo, self.tip, pkg)
        else:
            previous = _json(previous_raw, f"{directory}/latest.json", repo)
            entries = []
        if previous.get("canonical") not in (None, pkg.canonical):
            raise TargetError(f"{ctx.key}: {directory}/latest.json names the canonical "
                              f"{previous.get('canonical')!r}, not {pkg.canonical!r}",
                              hint="the canonical name never changes: fix the configuration")
        manifest = version_manifest(previous, pkg, version=ctx.request.version,
                                    repo_url=f"{server_url()}/{ctx.request.repo}",
                                    files=files, urls=urls, created_at=created_at())
        text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
        entries.append(Entry(path, text.encode("utf-8")))
        current = {link: linked_version(repo, self.tip, f"{directory}/{link}")
                   for link in link_names(version)}
        for link in links_to_move(version, current):
            entries.append(Entry(f"{directory}/{link}", f"{ctx.request.version}.json".encode(),
                                 symlink=True))
        self.items.append(_Item(pkg, State.ABSENT, f"{path} not there yet", entries, names))

    def add_layer(self, ctx: TargetContext, repo: RemoteRepo, version: Version,
                  data: dict[str, Any]) -> None:
        pkg = Package("layer", data["canonical"])
        directory = pkg.directory
        path = f"{directory}/{ctx.request.version}.json"
        existing = repo.read(self.tip, path)
        if existing is not None:
            same, why = same_layer(existing, data)
            self.items.append(_Item(pkg, State.PUBLISHED if same else State.CONFLICT, why))
            return
        previous_raw = read_followed(repo, self.tip, f"{directory}/latest.json")
        previous = {} if previous_raw is None else _json(previous_raw,
                                                         f"{directory}/latest.json", repo)
        text = json.dumps({**previous, **data}, indent=2, ensure_ascii=False) + "\n"
        entries = [Entry(path, text.encode("utf-8"))]
        current = {link: linked_version(repo, self.tip, f"{directory}/{link}")
                   for link in link_names(version)}
        for link in links_to_move(version, current):
            entries.append(Entry(f"{directory}/{link}", f"{ctx.request.version}.json".encode(),
                                 symlink=True))
        self.items.append(_Item(pkg, State.ABSENT, f"{path} not there yet", entries))

    def status(self, ctx: TargetContext) -> StatusResult:
        conflicts = [i for i in self.items if i.state is State.CONFLICT]
        if conflicts:
            shown = "; ".join(f"{i.package.canonical}: {i.detail}" for i in conflicts)
            return StatusResult(State.CONFLICT, f"the registry holds other content for "
                                f"{ctx.request.version}: {shown}")
        if self.todo:
            done = len(self.items) - len(self.todo)
            return StatusResult(State.ABSENT, f"{len(self.todo)} package(s) to add"
                                + (f", {done} already there" if done else ""))
        if not self.items:
            detail = "nothing to publish: " + "; ".join(self.skipped)
            gha.notice(f"{ctx.key}: {detail}")
            return StatusResult(State.PUBLISHED, detail, receipt=Receipt(
                ctx.key, None, {}, detail="skipped: " + "; ".join(self.skipped)))
        return StatusResult(State.PUBLISHED, "every package is in the registry with the "
                            "approved content", receipt=Receipt(
                                ctx.key, None, self.digests(ctx), detail="already in the registry"))


class _Digests:
    """Checksums of the verified files, computed once per file and algorithm."""

    def __init__(self, ctx: TargetContext) -> None:
        self.ctx = ctx
        self.cache: dict[tuple[str, str], bytes] = {}

    def __call__(self, name: str, algorithm: str, fmt: str) -> str:
        key = (name, algorithm)
        if key not in self.cache:
            h = hashlib.new(algorithm)
            with open(self.ctx.files[name], "rb") as fh:
                for block in iter(lambda: fh.read(1024 * 1024), b""):
                    h.update(block)
            self.cache[key] = h.digest()
        raw = self.cache[key]
        return raw.hex() if fmt == "hex" else base64.b64encode(raw).decode()


def _commit_url(repo: str, sha: str) -> str:
    return f"{server_url()}/{repo}/commit/{sha}"


def read_followed(repo: RemoteRepo, tip: str, path: str) -> bytes | None:
    """A file's bytes, following symlinks inside the registry (latest.json is one)."""
    for _ in range(8):
        entry = repo.entry(tip, path)
        if entry is None:
            return None
        raw = repo.git.blob(entry[1])
        if entry[0] != "120000":
            return raw
        target = posixpath.normpath(posixpath.join(posixpath.dirname(path),
                                                   raw.decode("utf-8", "replace")))
        if target.startswith("../") or target.startswith("/"):
            return None
        path = target
    return None


def _json(raw: bytes, path: str, repo: RemoteRepo) -> dict[str, Any]:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise TargetError(f"{path} in {repo.full_name} is not valid JSON") from None
    if not isinstance(data, dict):
        raise TargetError(f"{path} in {repo.full_name} is not a JSON object")
    return data


def _sdk_link(repo: RemoteRepo, tip: str, pkg: Package) -> list[Entry]:
    """The ``sdks/<sdk_name>`` link of a new SDK package, unless it is there already."""
    if not pkg.sdk_name:
        return []
    path = f"sdks/{pkg.sdk_name}"
    if repo.entry(tip, path) is not None:
        return []
    return [Entry(path, f"../{pkg.directory}".encode(), symlink=True)]


def linked_version(repo: RemoteRepo, tip: str, path: str) -> Version | None:
    """The version a link (or a copied manifest) in the registry stands for."""
    entry = repo.entry(tip, path)
    if entry is None:
        return None
    raw = repo.git.blob(entry[1])
    if entry[0] == "120000":
        name = raw.decode("utf-8", "replace").rsplit("/", 1)[-1]
        return _version_or_none(name.removesuffix(".json"))
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return _version_or_none(data.get("version")) if isinstance(data, dict) else None


def _version_or_none(text: Any) -> Version | None:
    if not isinstance(text, str):
        return None
    try:
        return parse_version(text)
    except VersionError:
        return None


# -- pure helpers (unit tested) ---------------------------------------------------


def repository(ctx: TargetContext) -> str:
    return check_repo(ctx.key, option(ctx, "repository", DEFAULT_REPOSITORY), "repository")


def parse_canonical(canonical: str) -> list[str]:
    """``npm:@sentry/browser`` -> [npm, @sentry, browser]; ``maven:io.sentry:sentry`` ->
    [maven, io.sentry, sentry]. Every part must be a plain path component."""
    registry, sep, rest = canonical.partition(":")
    parts = [registry, *re.split(r"[:/]", rest)] if sep else []
    if not parts or any(not _PART_RE.fullmatch(p) or p in (".", "..") for p in parts):
        raise TargetError(f"the canonical name {canonical!r} is not <registry>:<name>",
                          hint="e.g. npm:@sentry/browser, pypi:sentry-sdk or app:sentry-cli")
    return parts


def packages(ctx: TargetContext) -> list[Package]:
    """The packages of the target's ``sdks`` and ``apps`` maps, in order."""
    return packages_of(ctx.target.options, ctx.key)


def packages_of(options: Mapping[str, Any], where: str) -> list[Package]:
    out: list[Package] = []
    for key, kind in _KINDS.items():
        table = options.get(key) or {}
        if not isinstance(table, Mapping):
            raise TargetError(f"{where}: {key} must map canonical names to settings")
        for canonical, raw in table.items():
            out.append(_package(where, kind, str(canonical), raw or {}))
    return out


def check_options(options: Mapping[str, Any], where: str) -> list[str]:
    """The registry target's options, checked when the configuration is loaded: every
    package's name, directory, checksums, regular expressions and URL placeholders."""
    try:
        pkgs = packages_of(options, where)
        for pkg in pkgs:
            pkg.directory  # noqa: B018 - the canonical name must make a directory
    except TargetError as exc:
        raise ConfigError(exc.message, hint=exc.hint) from None
    if not pkgs:
        return [f"{where} lists no package under sdks or apps: publishing refuses it"]
    for pkg in pkgs:
        if pkg.url_template:
            check(pkg.url_template, {"file", "version", "revision"},
                  where=f"{where}: url_template of {pkg.canonical}")
    return []


def _package(key: str, kind: str, canonical: str, raw: Any) -> Package:
    where = f"{key}: {canonical}"
    if not isinstance(raw, Mapping):
        raise TargetError(f"{where}: the settings must be a mapping (or empty)")
    unknown = sorted(set(raw) - set(PACKAGE_KEYS))
    if unknown:
        raise TargetError(f"{where}: unknown setting(s) {', '.join(unknown)}",
                          hint=f"a package takes: {', '.join(PACKAGE_KEYS)}")
    checksums = []
    for entry in raw.get("checksums") or []:
        algo = entry.get("algorithm") if isinstance(entry, Mapping) else None
        fmt = entry.get("format") if isinstance(entry, Mapping) else None
        if algo not in ALGORITHMS or fmt not in FORMATS:
            raise TargetError(f"{where}: checksum {entry!r} is not supported",
                              hint="algorithm sha256, sha384 or sha512; format hex or base64")
        checksums.append((str(algo), str(fmt)))
    metadata = {}
    for opt, field_name in _METADATA:
        value = raw.get(opt)
        if value is not None:
            metadata[field_name] = str(value)
    sdk_name = raw.get("sdk_name")
    if sdk_name is not None and not _PART_RE.fullmatch(str(sdk_name)):
        raise TargetError(f"{where}: sdk_name {sdk_name!r} is not a plain name")
    template = raw.get("url_template")
    return Package(
        kind=kind, canonical=canonical,
        url_template=str(template) if template else None,
        checksums=tuple(checksums),
        only_if_present=_regex(where, "only_if_present", raw.get("only_if_present")),
        include_names=_regex(where, "include_names", raw.get("include_names")),
        link_prereleases=bool(raw.get("link_prereleases", False)),
        metadata=metadata, sdk_name=str(sdk_name) if sdk_name else None)


def _regex(where: str, what: str, value: Any) -> re.Pattern[str] | None:
    if value is None:
        return None
    try:
        return re.compile(str(value))
    except re.error as exc:
        raise TargetError(f"{where}: {what} {value!r} is not a valid regular expression "
                          f"({exc})") from None


def skip_reason(pkg: Package, version: Version, approved: list[str]) -> str | None:
    if version.prerelease and not pkg.link_prereleases:
        return "a pre-release (set link_prereleases to list it)"
    if pkg.only_if_present and not any(pkg.only_if_present.search(n) for n in approved):
        return f"no artifact matches only_if_present {pkg.only_if_present.pattern!r}"
    return None


def _url(pkg: Package, name: str, version: str, revision: str) -> str:
    assert pkg.url_template
    return render(pkg.url_template, {"file": name, "version": version, "revision": revision},
                  where=f"url_template of {pkg.canonical}")


def files_data(pkg: Package, names: list[str], digest: Any, *, version: str,
               revision: str) -> dict[str, Any] | None:
    """The ``files`` of a version file: per file its url and checksums (None: neither)."""
    if (not pkg.url_template and not pkg.checksums) or not names:
        return None
    files: dict[str, Any] = {}
    for n in sorted(names):
        data: dict[str, Any] = {}
        if pkg.url_template:
            data["url"] = _url(pkg, n, version, revision)
        if pkg.checksums:
            data["checksums"] = {f"{a}-{f}": digest(n, a, f) for a, f in pkg.checksums}
        files[n] = data
    return files


def file_urls(pkg: Package, names: list[str], *, version: str,
              revision: str) -> dict[str, str] | None:
    """An app's ``file_urls`` (file -> url), as craft writes them for apps."""
    if pkg.kind != "app" or not pkg.url_template or not names:
        return None
    return {n: _url(pkg, n, version, revision) for n in sorted(names)}


def initial_manifest(ctx: TargetContext, pkg: Package) -> dict[str, Any]:
    """The base of a package's first version file (the registry has no latest.json)."""
    repo_url = f"{server_url()}/{ctx.request.repo}"
    if "name" not in pkg.metadata:
        raise TargetError(f"{ctx.key}: {pkg.canonical} is new in the registry: it needs a "
                          "`name`", hint=f"add name to {pkg.canonical} in the registry target "
                                         "(and main_docs_url)")
    if pkg.sdk_name and "package_url" not in pkg.metadata:
        raise TargetError(f"{ctx.key}: the new SDK {pkg.canonical} needs a `package_url`",
                          hint="add package_url (its page on npm, PyPI, ...)")
    out: dict[str, Any] = {"canonical": pkg.canonical, "repo_url": repo_url}
    out.update(pkg.metadata)
    if "main_docs_url" not in pkg.metadata:
        gha.warning(f"{ctx.key}: {pkg.canonical} has no main_docs_url; using {repo_url}")
        out["main_docs_url"] = repo_url
    return out


def version_manifest(previous: Mapping[str, Any], pkg: Package, *, version: str, repo_url: str,
                     files: dict[str, Any] | None, urls: dict[str, str] | None,
                     created_at: str) -> dict[str, Any]:
    """A version file: the previous latest with this release's facts on top."""
    out: dict[str, Any] = {**previous, "version": version, "created_at": created_at}
    out["repo_url"] = repo_url
    out.update(pkg.metadata)
    out.pop("file_urls", None)  # the previous version's URLs never carry over
    out.pop("files", None)
    if urls:
        out["file_urls"] = urls
    if files:
        out["files"] = files
    return out


def _json_object(raw: bytes) -> dict[str, Any] | str:
    """The JSON object ``raw`` holds, or what it is instead ("not valid JSON", ...)."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return "not valid JSON"
    return data if isinstance(data, dict) else "not a JSON object"


def same_release(existing: bytes, pkg: Package, version: str, files: dict[str, Any] | None,
                 urls: dict[str, str] | None) -> tuple[bool, str]:
    """Does an existing version file describe the same release? (same, why not)."""
    data = _json_object(existing)
    if isinstance(data, str):
        return False, f"the existing version file is {data}"
    for key, ours in (("canonical", pkg.canonical), ("version", version)):
        if data.get(key) != ours:
            return False, f"its {key} is {data.get(key)!r}, not {ours!r}"
    if (data.get("files") or None) != files:
        return False, "its files or checksums differ from the approved artifacts"
    if (data.get("file_urls") or None) != urls:
        return False, "its file_urls differ"
    return True, "already there with the approved content"


def unseen_layers(ctx: TargetContext) -> list[str]:
    """The release's aws-lambda-layer targets whose receipt the registry was not given:
    those the request lists and the configuration has, missing from ``ctx.earlier``."""
    out = []
    for state in ctx.request.targets:
        tc = ctx.config.target(state.id)
        if tc is not None and tc.name == LAYER_TARGET and state.id not in ctx.earlier \
                and state.id not in out:
            out.append(state.id)
    return out


def layer_manifests(receipts: Any, version: str) -> list[dict[str, Any]]:
    """The registry's data of each runtime of the aws-lambda-layer receipts given:
    what ``aws-lambda-layers/<runtime>/<version>.json`` holds on top of its previous
    latest.json. A receipt without layers (a skipped pre-release) gives none."""
    out: dict[str, dict[str, Any]] = {}
    for receipt in receipts:
        extra = receipt.extra or {}
        for layer in extra.get("layers") or []:
            runtime = str(layer["runtime"])
            data = out.setdefault(runtime, {
                "canonical": f"aws-layer:{runtime}", "sdk_version": version,
                "account_number": extra.get("account"), "layer_name": extra.get("layer_name"),
                "regions": []})
            data["regions"].append({"region": layer["region"], "version": str(layer["version"]),
                                    "arn": layer["arn"]})
    for data in out.values():
        data["regions"].sort(key=lambda r: r["region"])
    return [out[k] for k in sorted(out)]


def same_layer(existing: bytes, data: Mapping[str, Any]) -> tuple[bool, str]:
    """Does an existing layer file list the same layer versions? (same, why not)."""
    have = _json_object(existing)
    if isinstance(have, str):
        return False, f"the existing layer file is {have}"
    for key in ("canonical", "sdk_version", "account_number", "layer_name", "regions"):
        if have.get(key) != data[key]:
            return False, f"its {key} differs from the layer versions published"
    return True, "already there with the published layer versions"


def link_names(version: Version) -> list[str]:
    return ["latest.json", f"{version.major}.json", f"{version.major}.{version.minor}.json"]


def links_to_move(version: Version, current: Mapping[str, Version | None]) -> list[str]:
    """The links that point at this version after it is added: those with no version
    yet, or one this version is not lower than (semver precedence)."""
    return [link for link in link_names(version)
            if current.get(link) is None or not version < current[link]]  # type: ignore[operator]


def created_at(now: datetime | None = None) -> str:
    """ISO 8601 UTC with milliseconds and Z, as the registry's files carry it."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
