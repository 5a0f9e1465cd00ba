"""`crates`: the registry web API with the pre-built `.crate` (no cargo at all).

``PUT {api}/api/v1/crates/new`` takes one body: a u32 little-endian length, the
publish metadata as JSON, a u32 little-endian length, the `.crate` bytes. The
metadata is what cargo would send, read from the normalized ``Cargo.toml``
that ``cargo package`` put inside the `.crate` (``{name}-{version}/Cargo.toml``)
and, for ``readme``, the README file it names inside the same archive.

Status: ``GET {api}/api/v1/crates/{name}/{version}`` -> ``version.checksum``
is the sha256 of the `.crate` file, the very digest the manifest approved.

Several `.crate` files in one target (a workspace) are uploaded dependencies
first, so that a crate never arrives before a crate of this release it needs.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import struct
import sys
import tarfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote, urlparse

import requests

from valet import gha, trusted_publishing
from valet.errors import ConflictError, TargetError, TrustedPublishingError
from valet.targets.base import (
    Destination,
    Receipt,
    State,
    StatusResult,
    TargetContext,
    decide,
    host_of,
    option,
    secret_hint,
    select_files,
    upload_receipt,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_API = "https://crates.io"
USER_AGENT = "valet-release (+https://github.com/valet-release)"
TIMEOUT = 60.0
MAX_TOML = 2 * 1024 * 1024
MAX_README = 10 * 1024 * 1024
_CRATE_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_DEP_TABLES = {"dependencies": "normal", "dev-dependencies": "dev", "dev_dependencies": "dev",
               "build-dependencies": "build", "build_dependencies": "build"}


class CratesTarget:
    name: ClassVar[str] = "crates"
    default_include: ClassVar[re.Pattern[str]] = re.compile(r"\.crate$")
    credentials: ClassVar[tuple[str, ...]] = ("CARGO_REGISTRY_TOKEN",)

    # -- interface ----------------------------------------------------------

    def preflight(self, ctx: TargetContext) -> None:
        names = self._names(ctx)
        if not names:
            raise TargetError(f"{ctx.key}: no .crate file among the approved artifacts",
                              hint="run `cargo package` in prepare and list target/package/*.crate "
                                   "in `artifacts`, or fix this target's "
                                   + ctx.config.key_name("include_names"))
        gha.add_mask(ctx.env.get("CARGO_REGISTRY_TOKEN"))
        oidc = uses_oidc(ctx, announce=True)  # raises when neither the secret nor OIDC can work
        api = api_url(ctx)
        crates = [read_crate(ctx.files[n])["name"] for n in names]  # readable before any upload
        if oidc:
            new = [c for c in crates if not crate_exists(api, c)]
            if new:
                raise TrustedPublishingError(
                    f"{ctx.key}: {', '.join(new)} has no version on {urlparse(api).netloc} yet, "
                    "and a crate's first version cannot be published with trusted publishing: "
                    "the registry only lets an API token create a crate",
                    hint="publish this first version with a token: add CARGO_REGISTRY_TOKEN "
                         "(scope publish-new) to the `production` environment (the default "
                         "`trusted_publishing: auto` uses it when it is set), then register the "
                         "publish workflow as the crate's trusted publisher and delete the "
                         f"secret. See {trusted_publishing.DOCS}")
        for n in names:
            # The metadata must be readable before anything uploads, and name the crate
            # its file name says (the one the publish side's allow-list checked).
            meta = read_crate(ctx.files[n])
            declared = crate_of(n, ctx.request.version)
            if (meta["name"], meta["vers"]) != declared:
                raise TargetError(
                    f"{ctx.key}: {n} holds {meta['name']} {meta['vers']}, not {declared[0]} "
                    f"{declared[1]} as its file name says",
                    hint="build the .crate with `cargo package` (it names the file after the "
                         "crate)")

    def destinations(self, ctx: TargetContext) -> list[Destination]:
        """The registry API's host, and each crate of the approved `.crate` files."""
        names = select_files(ctx.target, self.default_include, list(ctx.artifacts))
        crates = sorted({crate_of(n, ctx.request.version)[0] for n in names})
        return [Destination("host", host_of(api_url(ctx))),
                *(Destination("package", c) for c in crates)]

    def status(self, ctx: TargetContext) -> StatusResult:
        names = self._names(ctx)
        remote = self._remote(ctx, names)
        return decide(ctx, names, remote, url=self._url(ctx, names))

    def publish(self, ctx: TargetContext) -> Receipt:
        names = self._names(ctx)
        remote = self._checked_remote(ctx, names)
        crates = {n: read_crate(ctx.files[n]) for n in names}
        todo = [n for n in upload_order(crates) if remote[n] is None]
        uploaded: list[str] = []
        if todo:
            with self._token(ctx, sorted({crates[n]["name"] for n in todo})) as token:
                uploaded = self._upload(ctx, todo, crates, token)
        return upload_receipt(ctx, names, self._checked_remote(ctx, names),
                              uploaded=len(uploaded), url=self._url(ctx, names), noun="crate",
                              where="registry")

    @contextlib.contextmanager
    def _token(self, ctx: TargetContext, crates: list[str]) -> Iterator[str]:
        """A token minted for this job and revoked when the uploads are done (trusted
        publishing), or the CARGO_REGISTRY_TOKEN secret."""
        if uses_oidc(ctx):
            with trusted_publishing.crates_token(ctx.key, api_url(ctx), crates,
                                                 ctx.env) as token:
                yield token
            return
        token = ctx.env.get("CARGO_REGISTRY_TOKEN") or ""
        if not token:  # preflight said so already
            raise TargetError(f"{ctx.key}: CARGO_REGISTRY_TOKEN is not set",
                              hint="see the preflight message")
        gha.add_mask(token)
        yield token

    def _upload(self, ctx: TargetContext, todo: list[str], crates: Mapping[str, Any],
                token: str) -> list[str]:
        uploaded: list[str] = []
        for n in todo:
            meta = crates[n]
            gha.info(f"{ctx.key}: uploading {n} ({meta['name']} {meta['vers']})")
            status, body = put_crate(api_url(ctx), token, meta, ctx.files[n].read_bytes())
            if status // 100 == 2:
                for warning in publish_warnings(body):
                    gha.warning(f"{ctx.key}: {meta['name']}: {warning}")
                uploaded.append(n)
                continue
            # crates.io says "already exists" as a 400 with a message: decide by digest.
            again = fetch_checksum(api_url(ctx), meta["name"], meta["vers"])
            if again == ctx.artifacts[n].sha256:
                gha.info(f"{ctx.key}: {n} is already there with the approved digest")
                continue
            if again is not None:
                raise ConflictError(f"{ctx.key}: {meta['name']} {meta['vers']} is already "
                                    "published with other content", hint=_CONFLICT_HINT)
            raise TargetError(f"{ctx.key}: uploading {n} failed: HTTP {status}: "
                              f"{error_detail(body)}", hint=_upload_hint(status))
        return uploaded

    # -- helpers ------------------------------------------------------------

    def _names(self, ctx: TargetContext) -> list[str]:
        return select_files(ctx.target, self.default_include, list(ctx.files))

    def _remote(self, ctx: TargetContext, names: list[str]) -> dict[str, str | None]:
        api = api_url(ctx)
        out: dict[str, str | None] = {}
        for n in names:
            name, vers = crate_identity(ctx.files[n])
            out[n] = fetch_checksum(api, name, vers)
        return out

    def _checked_remote(self, ctx: TargetContext, names: list[str]) -> dict[str, str | None]:
        remote = self._remote(ctx, names)
        current = decide(ctx, names, remote)
        if current.state is State.CONFLICT:
            raise ConflictError(f"{ctx.key}: {current.detail}", hint=_CONFLICT_HINT)
        return remote

    def _url(self, ctx: TargetContext, names: list[str]) -> str | None:
        if len(names) != 1:
            return None
        name, vers = crate_identity(ctx.files[names[0]])
        return f"{api_url(ctx)}/crates/{name}/{vers}"


_CONFLICT_HINT = ("a registry never takes a crate version twice: if the published crate is "
                  "wrong, yank it and release a new version")


# -- pure helpers (unit tested) ---------------------------------------------


def uses_oidc(ctx: TargetContext, *, announce: bool = False) -> bool:
    """Trusted publishing (True) or the CARGO_REGISTRY_TOKEN secret (False)."""
    return trusted_publishing.choose(
        ctx, secret=ctx.env.get("CARGO_REGISTRY_TOKEN"), env_name="CARGO_REGISTRY_TOKEN",
        registry="crates.io", announce=announce,
        secret_hint=secret_hint("CARGO_REGISTRY_TOKEN",
                                "a crates.io API token (scope: publish-update)"))


def api_url(ctx: TargetContext) -> str:
    url = str(option(ctx, "registry_url") or option(ctx, "api_url")
              or ctx.env.get("CRATES_API_URL") or DEFAULT_API)
    parts = urlparse(url)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.username:
        raise TargetError(f"{ctx.key}: api_url {url!r} is not an http(s) URL",
                          hint="set the target option `registry_url` to e.g. https://crates.io")
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise TargetError(f"{ctx.key}: api_url {url!r} is plain http",
                          hint="use https: the token must not travel in clear text")
    return url.rstrip("/")


_CRATE_FILE_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_-]{0,63}?)-(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?)"
                            r"\.crate$")


def crate_of(filename: str, version: str) -> tuple[str, str]:
    """(crate, version) from `cargo package`'s file name ``<name>-<version>.crate``.

    A crate name holds no dot, so the version starts at the first ``-`` followed by
    ``N.N.N``; the release's own version is tried first."""
    if filename.endswith(f"-{version}.crate"):
        name = filename[:-len(f"-{version}.crate")]
        if _CRATE_NAME_RE.match(name):
            return name, version
    m = _CRATE_FILE_RE.match(filename)
    if m is None:
        raise TargetError(f"{filename}: not a file name `cargo package` writes "
                          "(<crate>-<version>.crate)",
                          hint="build the .crate with `cargo package`")
    return m.group(1), m.group(2)


def read_crate(path: Path) -> dict[str, Any]:
    """The publish metadata for a `.crate`, from the Cargo.toml (and README) inside it."""
    toml_text, readme_text, prefix = _read_archive(path)
    try:
        manifest = tomllib.loads(toml_text)
    except tomllib.TOMLDecodeError as exc:
        raise TargetError(f"{path.name}: Cargo.toml inside the crate is not valid TOML ({exc})") from None
    meta = metadata_from_manifest(manifest, readme=readme_text)
    expected = f"{meta['name']}-{meta['vers']}"
    if prefix != expected:
        raise TargetError(f"{path.name}: the archive's folder {prefix!r} does not match "
                          f"{expected!r} from its Cargo.toml",
                          hint="build the .crate with `cargo package`")
    return meta


def crate_identity(path: Path) -> tuple[str, str]:
    meta = read_crate(path)
    return meta["name"], meta["vers"]


def _read_archive(path: Path) -> tuple[str, str | None, str]:
    """(Cargo.toml text, README text or None, top folder) without extracting anything."""
    try:
        with tarfile.open(path, "r:gz") as tar:
            members = {m.name: m for m in tar.getmembers() if m.isfile()}
            tops = {name.split("/", 1)[0] for name in members}
            if len(tops) != 1:
                raise TargetError(f"{path.name}: a .crate holds exactly one top folder",
                                  hint="build the .crate with `cargo package`")
            prefix = tops.pop()
            toml_member = members.get(f"{prefix}/Cargo.toml")
            if toml_member is None:
                raise TargetError(f"{path.name}: no {prefix}/Cargo.toml in the crate",
                                  hint="build the .crate with `cargo package`")
            toml_text = _read_member(tar, toml_member, MAX_TOML, path)
            readme_name = _readme_path(toml_text)
            readme_text = None
            if readme_name:
                member = members.get(f"{prefix}/{readme_name}")
                if member is not None:
                    readme_text = _read_member(tar, member, MAX_README, path)
            return toml_text, readme_text, prefix
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise TargetError(f"{path.name}: not a readable .crate ({exc})",
                          hint="build the .crate with `cargo package`") from None


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo, limit: int, path: Path) -> str:
    if member.size > limit:
        raise TargetError(f"{path.name}: {member.name} is larger than {limit // (1024 * 1024)} MiB")
    fh = tar.extractfile(member)
    if fh is None:
        raise TargetError(f"{path.name}: cannot read {member.name}")
    try:
        return fh.read(limit).decode("utf-8")
    except UnicodeDecodeError:
        raise TargetError(f"{path.name}: {member.name} is not UTF-8") from None


def _readme_path(toml_text: str) -> str | None:
    try:
        readme = tomllib.loads(toml_text).get("package", {}).get("readme")
    except tomllib.TOMLDecodeError:
        return None
    if not isinstance(readme, str) or not readme:
        return None
    clean = readme.replace("\\", "/")
    while clean.startswith("./"):
        clean = clean[2:]
    if ".." in clean.split("/"):
        return None
    return clean


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _str_list(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def version_req(raw: str) -> str:
    """Cargo's rendering of a requirement: a bare `1.2` means `^1.2`."""
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    out = []
    for p in parts:
        out.append(f"^{p}" if p[0].isdigit() else p)
    return ", ".join(out) if out else "*"


def _deps(table: Mapping[str, Any], kind: str, target: str | None) -> list[dict[str, Any]]:
    deps = []
    for key, spec in table.items():
        if isinstance(spec, str):
            spec = {"version": spec}
        if not isinstance(spec, dict):
            raise TargetError(f"dependency {key!r} in the crate's Cargo.toml is not a table")
        if "version" not in spec:
            # cargo package removes path/git dev-dependencies without a version; a normal
            # one without a version cannot be published at all.
            if kind == "dev":
                continue
            raise TargetError(f"dependency {key!r} has no version requirement",
                              hint="every published dependency needs `version = ...`")
        package = spec.get("package")
        default_features = spec.get("default-features", spec.get("default_features", True))
        deps.append({
            "name": package if isinstance(package, str) else key,
            "version_req": version_req(str(spec["version"])),
            "features": _str_list(spec.get("features")),
            "optional": bool(spec.get("optional", False)),
            "default_features": bool(default_features),
            "target": target,
            "kind": kind,
            "registry": _str_or_none(spec.get("registry-index")),
            "explicit_name_in_toml": key if isinstance(package, str) else None,
        })
    return deps


def metadata_from_manifest(manifest: Mapping[str, Any], *, readme: str | None) -> dict[str, Any]:
    """Map a normalized Cargo.toml to the publish metadata cargo sends."""
    pkg = manifest.get("package") or manifest.get("project")
    if not isinstance(pkg, dict):
        raise TargetError("the crate's Cargo.toml has no [package] table")
    name, vers = pkg.get("name"), pkg.get("version")
    if not isinstance(name, str) or not _CRATE_NAME_RE.match(name):
        raise TargetError(f"the crate's Cargo.toml has no valid package name ({name!r})")
    if not isinstance(vers, str) or not re.match(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$", vers):
        raise TargetError(f"the crate's Cargo.toml has no valid version ({vers!r})",
                          hint="a .crate built by `cargo package` has a literal version")
    deps: list[dict[str, Any]] = []
    for table, kind in _DEP_TABLES.items():
        if isinstance(manifest.get(table), dict):
            deps += _deps(manifest[table], kind, None)
    for target, section in (manifest.get("target") or {}).items():
        if not isinstance(section, dict):
            continue
        for table, kind in _DEP_TABLES.items():
            if isinstance(section.get(table), dict):
                deps += _deps(section[table], kind, target)
    features = manifest.get("features") or {}
    badges = manifest.get("badges") or {}
    readme_file = pkg.get("readme")
    return {
        "name": name,
        "vers": vers,
        "deps": sorted(deps, key=lambda d: (d["kind"], d["target"] or "", d["name"])),
        "features": {str(k): _str_list(v) for k, v in features.items()},
        "authors": _str_list(pkg.get("authors")),
        "description": _str_or_none(pkg.get("description")),
        "documentation": _str_or_none(pkg.get("documentation")),
        "homepage": _str_or_none(pkg.get("homepage")),
        "readme": readme,
        "readme_file": readme_file if isinstance(readme_file, str) else None,
        "keywords": _str_list(pkg.get("keywords")),
        "categories": _str_list(pkg.get("categories")),
        "license": _str_or_none(pkg.get("license")),
        "license_file": _str_or_none(pkg.get("license-file")),
        "repository": _str_or_none(pkg.get("repository")),
        "badges": {str(k): {str(a): str(b) for a, b in v.items()}
                   for k, v in badges.items() if isinstance(v, dict)},
        "links": _str_or_none(pkg.get("links")),
        "rust_version": _str_or_none(pkg.get("rust-version")),
    }


def encode_body(metadata: Mapping[str, Any], crate: bytes) -> bytes:
    """u32 LE length + metadata JSON + u32 LE length + the .crate bytes."""
    meta = json.dumps(metadata, separators=(",", ":"), sort_keys=True).encode("utf-8")
    if len(meta) >= 2**32 or len(crate) >= 2**32:
        raise TargetError("the crate is too large for the publish API")
    return struct.pack("<I", len(meta)) + meta + struct.pack("<I", len(crate)) + crate


def decode_body(body: bytes) -> tuple[dict[str, Any], bytes]:
    """The inverse of encode_body (used by the test fake; strict about framing)."""
    buf = io.BytesIO(body)
    (n,) = struct.unpack("<I", buf.read(4))
    meta = json.loads(buf.read(n))
    (m,) = struct.unpack("<I", buf.read(4))
    crate = buf.read(m)
    if len(crate) != m or buf.read(1):
        raise ValueError("body framing is wrong")
    return meta, crate


def upload_order(crates: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """File names ordered so that a crate comes after the crates of this set it depends on."""
    by_crate = {meta["name"].replace("-", "_"): n for n, meta in crates.items()}
    needs = {
        n: {by_crate[d["name"].replace("-", "_")] for d in meta["deps"]
            if d["kind"] != "dev" and d["name"].replace("-", "_") in by_crate
            and by_crate[d["name"].replace("-", "_")] != n}
        for n, meta in crates.items()
    }
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(crates):
        ready = sorted(n for n in crates if n not in done and needs[n] <= done)
        if not ready:  # a cycle (only possible through dev-deps we ignored): keep name order
            ready = sorted(n for n in crates if n not in done)[:1]
        for n in ready:
            order.append(n)
            done.add(n)
    return order


def crate_exists(api: str, name: str) -> bool:
    """Does the registry know this crate at all (any version)?"""
    url = f"{api}/api/v1/crates/{quote(name, safe='')}"
    try:
        resp = requests.get(url, headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                            timeout=TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        raise TargetError(f"cannot reach the crates registry at {api}: {exc}",
                          hint="check the target option `api_url` / CRATES_API_URL") from None
    if resp.status_code == 404:
        return False
    if resp.status_code != 200:
        raise TargetError(f"the crates registry answered HTTP {resp.status_code} for {name}",
                          hint="check `api_url` and the registry's status")
    return True


def fetch_checksum(api: str, name: str, vers: str) -> str | None:
    url = f"{api}/api/v1/crates/{quote(name, safe='')}/{quote(vers, safe='')}"
    try:
        resp = requests.get(url, headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                            timeout=TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        raise TargetError(f"cannot reach the crates registry at {api}: {exc}",
                          hint="check the target option `api_url` / CRATES_API_URL") from None
    if resp.status_code == 404:
        return None
    if resp.status_code != 200:
        raise TargetError(f"the crates registry answered HTTP {resp.status_code} for "
                          f"{name} {vers}", hint="check `api_url` and the registry's status")
    try:
        checksum = resp.json()["version"]["checksum"]
    except (ValueError, KeyError, TypeError):
        raise TargetError(f"the crates registry's answer for {name} {vers} has no checksum") from None
    return str(checksum).lower() if checksum else "unknown"


def put_crate(api: str, token: str, metadata: Mapping[str, Any],
              crate: bytes) -> tuple[int, Any]:
    headers = {"Authorization": token, "User-Agent": USER_AGENT, "Accept": "application/json",
               "Content-Type": "application/octet-stream"}
    try:
        resp = requests.put(f"{api}/api/v1/crates/new", data=encode_body(metadata, crate),
                            headers=headers, timeout=300, allow_redirects=False)
    except requests.RequestException as exc:
        raise TargetError(f"cannot reach the crates registry at {api}: {exc}",
                          hint="check `api_url`; re-adding `accepted` retries only this target") from None
    try:
        body: Any = resp.json()
    except ValueError:
        body = resp.text[:500]
    # cargo's rule: an `errors` array means failure even with a 200.
    if isinstance(body, dict) and body.get("errors") and resp.status_code // 100 == 2:
        return 400, body
    return resp.status_code, body


def error_detail(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return "; ".join(str(e.get("detail", e)) if isinstance(e, dict) else str(e)
                         for e in body["errors"])[:500]
    return str(body)[:500]


def publish_warnings(body: Any) -> list[str]:
    if not isinstance(body, dict) or not isinstance(body.get("warnings"), dict):
        return []
    w = body["warnings"]
    out = []
    if w.get("invalid_categories"):
        out.append(f"invalid categories ignored: {', '.join(map(str, w['invalid_categories']))}")
    if w.get("invalid_badges"):
        out.append(f"invalid badges ignored: {', '.join(map(str, w['invalid_badges']))}")
    out += [str(x) for x in w.get("other") or []]
    return out


def _upload_hint(status: int) -> str:
    if status in (401, 403):
        return ("the registry refused the token: check the CARGO_REGISTRY_TOKEN secret "
                "(scope publish-update or publish-new, and crate ownership)")
    if status == 429:
        return "the registry rate-limited the upload: re-add `accepted` later"
    return "read the registry's message; re-adding `accepted` retries only this target"
