"""`npm`: `npm publish <tarball> --ignore-scripts` for each approved `.tgz`.

Nothing of the package runs: the name and version come from
``package/package.json`` read out of the tarball in memory, scripts are off
(flag and npmrc), and npm gets a private npmrc in the scratch dir as
``--userconfig`` with an empty ``--globalconfig``. The token never touches
disk: the npmrc (mode 0600) says ``_authToken=${NPM_TOKEN}`` and npm expands it
from the environment of the one child process that gets it; the line is scoped
to the registry's host and path, so npm sends it nowhere else.

Dist-tags (``dist_tag``): a pre-release goes to ``next`` (option
``prerelease_tag``); a release to the option ``tag`` (default ``latest``) --
except that ``latest`` never moves backwards: a version lower than the
registry's current ``latest`` is tagged ``v<major>-latest`` (an older major
line) or ``v<major>.<minor>-latest`` (a patch to an older minor line).

Status compares the registry's ``versions[v].dist.integrity`` (sha512, or
``shasum`` sha1 when a registry gives no integrity) with the same digest of our
file; the sha256 of the manifest is what let the file in here in the first place.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote, urlparse

import requests

from valet import gha, trusted_publishing
from valet.errors import ConflictError, TargetError, VersionError
from valet.targets.base import (
    Destination,
    Receipt,
    State,
    StatusResult,
    TargetContext,
    child_env,
    decide,
    env_first,
    host_of,
    option,
    secret_hint,
    select_files,
)
from valet.version import is_prerelease, is_valid_version, parse_version

DEFAULT_REGISTRY = "https://registry.npmjs.org/"
USER_AGENT = "valet-release"
TIMEOUT = 30.0
MAX_MANIFEST = 5 * 1024 * 1024
# npm's rules for a package name (lower case, url-safe, optional @scope/), at most 214 chars.
_NAME_RE = re.compile(r"^(?:@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$")
_TAG_RE = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    publish_config: dict[str, Any]


@dataclass(frozen=True)
class LocalDigests:
    integrity: str  # "sha512-<base64>"
    shasum: str  # sha1 hex


class NpmTarget:
    name: ClassVar[str] = "npm"
    default_include: ClassVar[re.Pattern[str]] = re.compile(r"\.tgz$")
    credentials: ClassVar[tuple[str, ...]] = ("NPM_TOKEN",)

    # -- interface ----------------------------------------------------------

    def preflight(self, ctx: TargetContext) -> None:
        names = self._names(ctx)
        if not names:
            raise TargetError(f"{ctx.key}: no npm tarball (*.tgz) among the approved artifacts",
                              hint="run `npm pack` in prepare, or fix this target's "
                                   + ctx.config.key_name("include_names"))
        gha.add_mask(ctx.env.get("NPM_TOKEN"))
        uses_oidc(ctx, announce=True)  # raises when neither the secret nor OIDC can work
        if not npm_executable(ctx.env):
            raise TargetError(f"{ctx.key}: `npm` is not on PATH",
                              hint="add `- uses: actions/setup-node@<sha>` before the publish step")
        registry = registry_url(ctx)
        access(ctx)
        stable_tag(ctx)
        prerelease_tag(ctx)
        for n in names:
            pkg = read_package(ctx.files[n])
            check_publish_config(pkg, registry, n)
            if is_prerelease(pkg.version) and prerelease_tag(ctx) == "latest":
                raise TargetError(f"{ctx.key}: prerelease_tag may not be `latest`",
                                  hint="pre-releases go to `next` (or another tag), never `latest`")
            check_declared_name(ctx, n, pkg)

    def destinations(self, ctx: TargetContext) -> list[Destination]:
        """The registry's host, and the package of each approved tarball (from its file
        name, or the target's id when that is the package the file name stands for)."""
        names = select_files(ctx.target, self.default_include, list(ctx.artifacts))
        packages = sorted({declared_package(ctx, n) for n in names})
        return [Destination("host", host_of(registry_url(ctx))),
                *(Destination("package", p) for p in packages)]

    def status(self, ctx: TargetContext) -> StatusResult:
        names = self._names(ctx)
        remote, local = self._compare(ctx, names)
        return decide(ctx, names, remote, local, url=self._url(ctx, names), what="integrity")

    def publish(self, ctx: TargetContext) -> Receipt:
        names = self._names(ctx)
        registry = registry_url(ctx)
        remote, local = self._compare(ctx, names)
        self._refuse_conflict(ctx, names, remote, local)
        npmrc, globalrc = self._write_npmrc(ctx, registry)
        uploaded: list[str] = []
        tags: list[str] = []
        for n in names:
            if remote[n] is not None:
                continue  # already there with our digest (partial rule)
            pkg = read_package(ctx.files[n])
            with self._token(ctx, registry, pkg.name) as token:
                packument = fetch_packument(registry, pkg.name, token)
                latest = ((packument or {}).get("dist-tags") or {}).get("latest")
                tag = dist_tag(pkg.version, latest if isinstance(latest, str) else None,
                               tag=stable_tag(ctx), prerelease=prerelease_tag(ctx))
                self._npm_publish(ctx, n, pkg, registry, npmrc, globalrc, tag, token)
            uploaded.append(n)
            tags.append(f"{pkg.name}@{pkg.version} -> {tag}")
        remote, local = self._compare(ctx, names)
        self._refuse_conflict(ctx, names, remote, local)
        after = decide(ctx, names, remote, local)
        if after.state is not State.PUBLISHED:
            gha.warning(f"{ctx.key}: published, but the registry does not show every version "
                        f"yet ({after.detail})")
        return Receipt(target=ctx.key, url=self._url(ctx, names),
                       digests={n: ctx.artifacts[n].sha256 for n in names},
                       detail="; ".join(tags) if tags else "already there")

    # -- helpers ------------------------------------------------------------

    def _names(self, ctx: TargetContext) -> list[str]:
        return select_files(ctx.target, self.default_include, list(ctx.files))

    def _compare(self, ctx: TargetContext,
                 names: list[str]) -> tuple[dict[str, str | None], dict[str, str]]:
        registry = registry_url(ctx)
        remote: dict[str, str | None] = {}
        local: dict[str, str] = {}
        for n in names:
            pkg = read_package(ctx.files[n])
            mine = local_digests(ctx.files[n])
            packument = fetch_packument(registry, pkg.name, read_token(ctx))
            theirs, ours = registry_digest(packument, pkg.version, mine)
            remote[n] = theirs
            local[n] = ours
        return remote, local

    def _refuse_conflict(self, ctx: TargetContext, names: list[str],
                         remote: Mapping[str, str | None], local: Mapping[str, str]) -> None:
        current = decide(ctx, names, remote, local, what="integrity")
        if current.state is State.CONFLICT:
            raise ConflictError(f"{ctx.key}: {current.detail}",
                                hint="npm never takes a version twice: if the published package "
                                     "is wrong, deprecate it and release a new version")

    def _url(self, ctx: TargetContext, names: list[str]) -> str | None:
        if len(names) != 1:
            return None
        pkg = read_package(ctx.files[names[0]])
        registry = registry_url(ctx)
        if urlparse(registry).hostname == "registry.npmjs.org":
            return f"https://www.npmjs.com/package/{pkg.name}/v/{pkg.version}"
        return f"{registry}{quote(pkg.name, safe='@')}"

    def _write_npmrc(self, ctx: TargetContext, registry: str) -> tuple[Path, Path]:
        # Unique files (mode 0600 from mkstemp): two npm targets may run at once.
        ctx.workdir.mkdir(parents=True, exist_ok=True)
        text = render_npmrc(registry, cache=ctx.workdir / "npm-cache")
        paths = []
        for prefix, body in (("npmrc-", text), ("npmrc-global-", "")):
            fd, name = tempfile.mkstemp(prefix=prefix, dir=ctx.workdir)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(body)
            paths.append(Path(name))
        return paths[0], paths[1]

    @contextlib.contextmanager
    def _token(self, ctx: TargetContext, registry: str, package: str) -> Iterator[str]:
        """The credential for publishing this package: a token the registry mints for it
        (trusted publishing) or the NPM_TOKEN secret."""
        if uses_oidc(ctx):
            with trusted_publishing.npm_token(ctx.key, registry, package, ctx.env) as token:
                yield token
            return
        token = ctx.env.get("NPM_TOKEN") or ""
        if not token:  # preflight said so already; never publish anonymously
            raise TargetError(f"{ctx.key}: NPM_TOKEN is not set", hint="see the preflight message")
        yield token

    def _npm_publish(self, ctx: TargetContext, name: str, pkg: Package, registry: str,
                     npmrc: Path, globalrc: Path, tag: str, token: str) -> None:
        npm = npm_executable(ctx.env)
        if not npm:
            raise TargetError(f"{ctx.key}: `npm` is not on PATH", hint="add actions/setup-node")
        argv = [npm, "publish", str(ctx.files[name].resolve()), "--ignore-scripts",
                "--registry", registry, "--userconfig", str(npmrc),
                "--globalconfig", str(globalrc), "--tag", tag]
        acc = access(ctx)
        if acc:
            argv += ["--access", acc]
        gha.add_mask(token)
        # Only this child gets the token, and none of the job's ACTIONS_ID_TOKEN_* (npm
        # would run its own exchange and fall back silently when it fails).
        env = child_env(ctx.env, {"NPM_TOKEN": token, "NO_UPDATE_NOTIFIER": "1"})
        gha.info(f"{ctx.key}: npm publish {name} ({pkg.name}@{pkg.version}, tag {tag})")
        proc = subprocess.run(argv, env=env, cwd=str(ctx.workdir), capture_output=True,
                              text=True, check=False, timeout=1800)
        output = gha.redact((proc.stdout or "") + (proc.stderr or ""))
        if output.strip():
            gha.print_untrusted(output)
        if proc.returncode == 0:
            return
        # "cannot publish over" (npmjs 403) / EPUBLISHCONFLICT (verdaccio 409): decide by digest.
        remote, local = self._compare(ctx, [name])
        if remote[name] is not None:
            if remote[name] == local[name]:
                gha.info(f"{ctx.key}: {pkg.name}@{pkg.version} is already there with our digest")
                return
            raise ConflictError(f"{ctx.key}: {pkg.name}@{pkg.version} is already published "
                                "with other content",
                                hint="npm never takes a version twice: release a new version")
        last = [line for line in output.strip().splitlines() if line.strip()][-3:]
        raise TargetError(f"{ctx.key}: npm publish {name} failed (exit {proc.returncode}): "
                          + " | ".join(last), hint=_publish_hint(output))


# -- pure helpers (unit tested) ---------------------------------------------


def uses_oidc(ctx: TargetContext, *, announce: bool = False) -> bool:
    """Trusted publishing (True) or the NPM_TOKEN secret (False)."""
    return trusted_publishing.choose(
        ctx, secret=ctx.env.get("NPM_TOKEN"), env_name="NPM_TOKEN", registry="npm",
        secret_hint=secret_hint("NPM_TOKEN", "an npm automation/granular token"),
        announce=announce)


def read_token(ctx: TargetContext) -> str | None:
    """The token for reading packuments outside a publish: the secret, unless this
    target publishes through trusted publishing (then the registry is read anonymously)."""
    return None if uses_oidc(ctx) else ctx.env.get("NPM_TOKEN") or None


def npm_executable(env: Mapping[str, str]) -> str | None:
    return shutil.which("npm", path=env.get("PATH"))


def registry_url(ctx: TargetContext) -> str:
    url = str(option(ctx, "registry") or env_first(ctx.env, ("NPM_REGISTRY", "VALET_NPM_REGISTRY"))
              or DEFAULT_REGISTRY)
    parts = urlparse(url)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.username:
        raise TargetError(f"{ctx.key}: registry {url!r} is not an http(s) URL",
                          hint="set the target option `registry` to e.g. https://registry.npmjs.org/")
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise TargetError(f"{ctx.key}: registry {url!r} is plain http",
                          hint="use https: the token must not travel in clear text")
    return url if url.endswith("/") else url + "/"


def access(ctx: TargetContext) -> str | None:
    value = option(ctx, "access")
    if value is None:
        return None
    if value not in ("public", "restricted"):
        raise TargetError(f"{ctx.key}: access must be `public` or `restricted`, got {value!r}",
                          hint="set `access: public` for a public scoped package")
    return str(value)


def stable_tag(ctx: TargetContext) -> str:
    return _valid_tag(ctx, str(option(ctx, "tag") or "latest"), "tag")


def prerelease_tag(ctx: TargetContext) -> str:
    return _valid_tag(ctx, str(option(ctx, "prerelease_tag") or "next"), "prerelease_tag")


def _valid_tag(ctx: TargetContext, tag: str, what: str) -> str:
    # Starting with a letter keeps it from being read as a version range (npm refuses those).
    if not _TAG_RE.match(tag) or tag[0] in "vV" and tag[1:2].isdigit() and "-" not in tag:
        raise TargetError(f"{ctx.key}: {what} {tag!r} is not a valid dist-tag",
                          hint="a dist-tag starts with a letter and is not a version range, e.g. next")
    return tag


def dist_tag(version: str, current_latest: str | None, *, tag: str = "latest",
             prerelease: str = "next") -> str:
    """The dist-tag for this version: see the module docstring."""
    if is_prerelease(version):
        return prerelease
    if tag != "latest" or not current_latest:
        return tag
    try:
        mine, theirs = parse_version(version), parse_version(current_latest)
    except VersionError:
        return "latest"  # a registry `latest` that is not semver cannot be compared
    if mine >= theirs:
        return "latest"
    if mine.major < theirs.major:
        return f"v{mine.major}-latest"
    return f"v{mine.major}.{mine.minor}-latest"


def render_npmrc(registry: str, *, cache: Path) -> str:
    parts = urlparse(registry)
    nerf = f"//{parts.netloc}{parts.path if parts.path.endswith('/') else parts.path + '/'}"
    return (
        f"registry={registry}\n"
        # Literal ${NPM_TOKEN}: npm reads it from its environment; no secret on disk.
        f"{nerf}:_authToken=${{NPM_TOKEN}}\n"
        "ignore-scripts=true\n"
        "audit=false\n"
        "fund=false\n"
        "update-notifier=false\n"
        "provenance=false\n"
        f"cache={cache}\n"
    )


def read_package(path: Path) -> Package:
    """Name and version from the tarball's package.json, read in memory (nothing extracted)."""
    try:
        with tarfile.open(path, "r:gz") as tar:
            member = None
            for m in tar:
                parts = m.name.lstrip("./").split("/")
                if len(parts) == 2 and parts[1] == "package.json" and m.isfile():
                    member = m
                    if parts[0] == "package":
                        break
            if member is None:
                raise TargetError(f"{path.name}: no package/package.json in the tarball",
                                  hint="build the tarball with `npm pack`")
            if member.size > MAX_MANIFEST:
                raise TargetError(f"{path.name}: package.json is larger than 5 MiB")
            fh = tar.extractfile(member)
            if fh is None:
                raise TargetError(f"{path.name}: package.json is not a regular file")
            data = json.loads(fh.read(MAX_MANIFEST))
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise TargetError(f"{path.name}: not a readable npm tarball ({exc})",
                          hint="build the tarball with `npm pack`") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise TargetError(f"{path.name}: package.json is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise TargetError(f"{path.name}: package.json is not a JSON object")
    name, version = data.get("name"), data.get("version")
    if not isinstance(name, str) or len(name) > 214 or not _NAME_RE.match(name):
        raise TargetError(f"{path.name}: package.json has no valid npm package name ({name!r})")
    if not isinstance(version, str) or not is_valid_version(version):
        raise TargetError(f"{path.name}: package.json has no valid semver version ({version!r})")
    pc = data.get("publishConfig")
    return Package(name=name, version=version, publish_config=pc if isinstance(pc, dict) else {})


def pack_stem(name: str) -> str:
    """How `npm pack` names the tarball of a package: ``@scope/pkg`` -> ``scope-pkg``."""
    return name[1:].replace("/", "-", 1) if name.startswith("@") else name


def tarball_stem(filename: str, version: str) -> str:
    """The package part of a tarball's file name ``<stem>-<version>.tgz``."""
    base = filename[:-len(".tgz")] if filename.endswith(".tgz") else filename
    if base.endswith(f"-{version}"):
        return base[:-len(version) - 1]
    m = _STEM_RE.match(base)
    if m is None:
        raise TargetError(f"{filename}: not a tarball name `npm pack` writes (<name>-<version>.tgz)",
                          hint="build the tarball with `npm pack`")
    return m.group(1)


_STEM_RE = re.compile(r"^(.+?)-(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?)$")


def declared_package(ctx: TargetContext, filename: str) -> str:
    """The package a tarball is published as, as far as its file name tells: the
    target's id when it is a package whose tarball carries this name (``npm[@scope/pkg]``
    and ``scope-pkg-1.2.3.tgz``), else the name in the file name. A scoped package is
    therefore declared through the target's id; preflight holds the tarball to it."""
    stem = tarball_stem(filename, ctx.request.version)
    wanted = ctx.target.id
    if wanted and _NAME_RE.match(wanted) and len(wanted) <= 214 and pack_stem(wanted) == stem:
        return wanted
    if not _NAME_RE.match(stem) or stem.startswith("@"):
        raise TargetError(f"{filename}: {stem!r} is not an npm package name",
                          hint="build the tarball with `npm pack`")
    return stem


def check_declared_name(ctx: TargetContext, filename: str, pkg: Package) -> None:
    """The package.json inside the tarball names the package that was allowed."""
    declared = declared_package(ctx, filename)
    if pkg.name == declared:
        return
    if pack_stem(pkg.name) == declared:
        raise TargetError(
            f"{ctx.key}: {filename} holds the package {pkg.name!r}; from the file name alone "
            f"the publish side can only tell {declared!r}",
            hint=f"give the target the package name as its id, so that it is checked before "
                 f"anything is downloaded:\n  - name: npm\n    id: \"{pkg.name}\"")
    raise TargetError(
        f"{ctx.key}: {filename} holds the package {pkg.name!r}, not {declared!r} as its file "
        "name says", hint="build the tarball with `npm pack` (it names the file after the "
        "package)")


def check_publish_config(pkg: Package, registry: str, filename: str) -> None:
    """publishConfig in the tarball must not send the package (and so its token)
    elsewhere, nor pick a dist-tag behind our back."""
    other = pkg.publish_config.get("registry")
    if other is not None and str(other).rstrip("/") != registry.rstrip("/"):
        raise TargetError(
            f"{filename}: publishConfig.registry ({other!r}) differs from the target's "
            f"registry ({registry})",
            hint="remove publishConfig.registry from package.json, or set the target option "
                 "`registry` to the same URL",
        )
    for key in ("tag", "defaultTag"):
        if key in pkg.publish_config:
            raise TargetError(f"{filename}: publishConfig.{key} is set in package.json",
                              hint="valet decides the dist-tag (options `tag` / `prerelease_tag`): "
                                   f"remove publishConfig.{key}")


def local_digests(path: Path) -> LocalDigests:
    sha512, sha1 = hashlib.sha512(), hashlib.sha1()  # noqa: S324 - npm's legacy shasum
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            sha512.update(block)
            sha1.update(block)
    return LocalDigests(integrity="sha512-" + base64.b64encode(sha512.digest()).decode(),
                        shasum=sha1.hexdigest())


def registry_digest(packument: Mapping[str, Any] | None, version: str,
                    mine: LocalDigests) -> tuple[str | None, str]:
    """(the registry's digest of this version or None, ours in the same algorithm)."""
    if not packument:
        return None, mine.integrity
    entry = (packument.get("versions") or {}).get(version)
    if not isinstance(entry, dict):
        return None, mine.integrity
    dist = entry.get("dist") or {}
    integrity = dist.get("integrity")
    if isinstance(integrity, str):
        for item in integrity.split():
            if item.startswith("sha512-"):
                return item, mine.integrity
    shasum = dist.get("shasum")
    if isinstance(shasum, str) and shasum:
        return shasum.lower(), mine.shasum
    # A version with no digest we can check cannot be proven equal: a conflict.
    return "unknown", mine.integrity


def fetch_packument(registry: str, name: str, token: str | None) -> dict[str, Any] | None:
    url = f"{registry}{quote(name, safe='@')}"
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        resp = requests.get(url, headers=headers, timeout=TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        raise TargetError(f"cannot reach the npm registry at {registry}: {exc}",
                          hint="check the target option `registry` / NPM_REGISTRY") from None
    if resp.status_code == 404:
        return None
    if resp.status_code != 200:
        raise TargetError(f"the npm registry answered HTTP {resp.status_code} for {name}",
                          hint="check NPM_TOKEN (it must be able to read the package) and `registry`")
    try:
        data = resp.json()
    except ValueError:
        raise TargetError(f"the npm registry sent no JSON for {name}") from None
    return data if isinstance(data, dict) else None


def _publish_hint(output: str) -> str:
    low = output.lower()
    if "e401" in low or "e403" in low or "unauthorized" in low or "forbidden" in low:
        return ("the registry refused the token: check the NPM_TOKEN secret (publish rights on "
                "this package, 2FA bypass for automation tokens)")
    if "e402" in low:
        return "a scoped package is private by default: set `access: public` on the npm target"
    return "read npm's output above; re-adding the `accepted` label retries only this target"
