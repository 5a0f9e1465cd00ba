"""`docker`: copy an approved container image from one registry to another.

Never a build: the image was built and pushed by the SDK's own CI. The request
side reads the digest the source tag points at (``resolve_images``) and puts it
into the approval request; publish copies exactly that manifest -- a
multi-platform index with every image it lists -- by digest, so a source tag
moved after approval cannot ship something else. Both sides talk to the
registries through skopeo (``skopeo inspect --raw`` and
``skopeo copy --all --preserve-digests``), the containers project's client:
nothing here speaks the distribution protocol itself.

A manifest's digest is the sha256 of its exact bytes, so ``inspect --raw`` and
hashing what it prints is the digest the registry serves it under.

Options (craft's names in .craft.yml are mapped onto these):

- ``source`` / ``target``: an image name (``ghcr.io/org/app``, ``getsentry/app`` on
  Docker Hub) or an object ``{image, format, registry, username_var,
  password_var, skip_login}``;
- ``source_format`` (default ``{{{source}}}:{{{revision}}}``) and
  ``target_format`` (default ``{{{target}}}:{{{version}}}``): the references,
  with the placeholders source, target, image (the side's own image),
  revision (the release commit) and version.

A target tag rendered without ``{{{version}}}`` or ``{{{revision}}}`` (``latest``)
moves with every release: status finds it at another digest and publish moves
it. A tag that names the version never moves: another digest there is a conflict.

Credentials, per registry host, never on a command line: skopeo gets an auth
file (mode 0600) in the target's scratch dir. For each side, in order:
``username_var``/``password_var`` (both, names of environment variables),
``DOCKER_<HOST>_USERNAME``/``DOCKER_<HOST>_PASSWORD`` (the host upper-cased,
``.``, ``-`` and ``:`` as ``_``; ``DOCKER_GHCR_IO_USERNAME``), and for the
target only ``DOCKER_USERNAME``/``DOCKER_PASSWORD``. The target needs
credentials unless ``skip_login`` is set or it is a Google registry (gcr.io,
``*-docker.pkg.dev``); a side without any uses skopeo's own login files
(``docker login``, ``gcloud auth configure-docker``).
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
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from valet import gha
from valet.errors import ConfigError, ConflictError, TargetError
from valet.targets.base import (
    Destination,
    Receipt,
    State,
    StatusResult,
    TargetContext,
    child_env,
    secret_hint,
)
from valet.template import check, render, variables

NAME = "docker"
DEFAULT_SOURCE_FORMAT = "{{{source}}}:{{{revision}}}"
DEFAULT_TARGET_FORMAT = "{{{target}}}:{{{version}}}"
DOCKER_HUB = "docker.io"
_HUB_ALIASES = ("docker.io", "index.docker.io", "registry-1.docker.io")
_GOOGLE_REGISTRY = re.compile(r"^(?:gcr\.io|[a-z]+[.-]gcr\.io|[a-z][a-z0-9-]*-docker\.pkg\.dev)$")
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]", "::1")
INSPECT_TIMEOUT = 300
COPY_TIMEOUT = 3600
MAX_MANIFEST = 4 * 1024 * 1024
_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
# The distribution spec's reference grammar, without a digest (valet adds that).
_HOST = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]{1,5})?)"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_RE = re.compile(rf"^(?:{_HOST}/)?{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_VARS = frozenset({"source", "target", "image", "revision", "version"})
_REF_KEYS = ("image", "format", "registry", "username_var", "password_var", "skip_login")


# -- the configuration, read purely ------------------------------------------


@dataclass(frozen=True)
class ImageRef:
    """One side of a copy, as configured."""

    image: str
    format: str
    registry: str | None = None  # the host whose credentials apply (default: the image's)
    username_var: str | None = None
    password_var: str | None = None
    skip_login: bool = False

    @property
    def host(self) -> str:
        return self.registry or registry_host(self.image)


@dataclass(frozen=True)
class Spec:
    source: ImageRef
    target: ImageRef


def _side(options: Mapping[str, Any], side: str, where: str) -> ImageRef:
    raw = options.get(side)
    if raw is None:
        raise ConfigError(f"{where}: the docker target needs `{side}` (an image name)",
                          hint="for example:\n  - name: docker\n    source: ghcr.io/acme/app\n"
                               "    target: acme/app")
    fields: dict[str, Any] = {"format": options.get(f"{side}_format")}
    if isinstance(raw, str):
        fields["image"] = raw
    elif isinstance(raw, Mapping):
        unknown = sorted(set(raw) - set(_REF_KEYS))
        if unknown:
            raise ConfigError(f"{where}: {side}.{unknown[0]} is not an option of a docker image",
                              hint=f"an image object takes: {', '.join(_REF_KEYS)}")
        fields.update({k: v for k, v in raw.items() if v is not None})
    else:
        raise ConfigError(f"{where}: {side} must be an image name or an object with `image`")
    image = fields.get("image")
    if not isinstance(image, str) or not _IMAGE_RE.match(image) or "@" in image:
        raise ConfigError(f"{where}: {side} image {image!r} is not an image name",
                          hint="give registry/name without a tag (e.g. ghcr.io/acme/app): the "
                               "tag comes from the format")
    fmt = fields.get("format") or (DEFAULT_SOURCE_FORMAT if side == "source"
                                   else DEFAULT_TARGET_FORMAT)
    if not isinstance(fmt, str):
        raise ConfigError(f"{where}: {side}_format must be a string")
    registry = fields.get("registry")
    if registry is not None and (not isinstance(registry, str)
                                 or not re.fullmatch(_HOST, registry)):
        raise ConfigError(f"{where}: {side}.registry {registry!r} is not a registry host")
    user_var, pass_var = fields.get("username_var"), fields.get("password_var")
    if (user_var is None) != (pass_var is None):
        raise ConfigError(f"{where}: {side} sets only one of username_var and password_var",
                          hint="name both environment variables, or neither")
    for var in (user_var, pass_var):
        if var is not None and (not isinstance(var, str) or not _ENV_NAME_RE.match(var)):
            raise ConfigError(f"{where}: {var!r} is not an environment variable name")
    skip = fields.get("skip_login", False)
    if not isinstance(skip, bool):
        raise ConfigError(f"{where}: {side}.skip_login must be true or false")
    ref = ImageRef(image=image, format=fmt, registry=_canonical_host(registry) if registry else None,
                   username_var=user_var, password_var=pass_var, skip_login=skip)
    check(fmt, _VARS, where=f"{where}: {side}_format")
    return ref


def spec_of(options: Mapping[str, Any], where: str = "docker") -> Spec:
    return Spec(source=_side(options, "source", where), target=_side(options, "target", where))


def registry_host(image: str) -> str:
    """The registry an image name lives on (craft's rule: a first component with a
    dot or a colon, or ``localhost``, is a host; anything else is Docker Hub)."""
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return _canonical_host(first)
    return DOCKER_HUB


def full_name(image: str) -> str:
    """The image name with its registry host (``getsentry/app`` -> ``docker.io/getsentry/app``)."""
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return f"{_canonical_host(first)}/{rest}"
    return f"{DOCKER_HUB}/{image}"


def _canonical_host(host: str) -> str:
    return DOCKER_HUB if host.lower() in _HUB_ALIASES else host.lower()


def env_prefix(host: str) -> str:
    """``ghcr.io`` -> ``DOCKER_GHCR_IO``; ``127.0.0.1:5000`` -> ``DOCKER_127_0_0_1_5000``."""
    return "DOCKER_" + re.sub(r"[.\-:]", "_", host.upper())


def render_ref(spec: Spec, side: str, *, version: str, revision: str, where: str) -> str:
    ref = spec.source if side == "source" else spec.target
    values = {"source": spec.source.image, "target": spec.target.image, "image": ref.image,
              "revision": revision, "version": version}
    out = render(ref.format, values, where=f"{where}: {side}_format")
    name, tag = split_ref(out)
    if not _IMAGE_RE.match(name) or tag is None or not _TAG_RE.match(tag):
        raise ConfigError(f"{where}: {side}_format gives {out!r}, which is not image:tag",
                          hint="the format must give name:tag, e.g. {{{target}}}:{{{version}}}")
    return out


def split_ref(ref: str) -> tuple[str, str | None]:
    """``host:5000/a/b:tag`` -> (``host:5000/a/b``, ``tag``)."""
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        return ref[:colon], ref[colon + 1:]
    return ref, None


def moves(spec: Spec) -> bool:
    """Does the target tag move with each release (it names neither version nor commit)?"""
    return not ({"version", "revision"} & variables(spec.target.format))


def manifest_digest(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


# -- credentials ------------------------------------------------------------------


@dataclass(frozen=True)
class Login:
    host: str
    username: str
    password: str


def credentials(ref: ImageRef, env: Mapping[str, str], *, side: str) -> Login | None:
    """The login for one side (see the module docstring), or None."""
    if ref.skip_login:
        return None
    if ref.username_var and ref.password_var:
        user, password = env.get(ref.username_var), env.get(ref.password_var)
        if not user or not password:
            raise TargetError(f"{ref.username_var} / {ref.password_var} (the {side} registry "
                              f"{ref.host}'s login) are not set",
                              hint=secret_hint(ref.password_var, f"the {ref.host} password or token")
                              + f"\n          {ref.username_var}: ${{{{ vars.{ref.username_var} }}}}")
        return Login(ref.host, user, password)
    prefix = env_prefix(ref.host)
    user, password = env.get(f"{prefix}_USERNAME"), env.get(f"{prefix}_PASSWORD")
    if (not user or not password) and side == "target":
        user, password = env.get("DOCKER_USERNAME"), env.get("DOCKER_PASSWORD")
    if user and password:
        return Login(ref.host, user, password)
    return None


def needs_login(ref: ImageRef) -> bool:
    return not ref.skip_login and not _GOOGLE_REGISTRY.match(ref.host)


def write_auth_file(directory: Path, login: Login) -> Path:
    """A containers auth.json holding one login (mode 0600, a unique name)."""
    directory.mkdir(parents=True, exist_ok=True)
    token = base64.b64encode(f"{login.username}:{login.password}".encode()).decode()
    fd, name = tempfile.mkstemp(prefix="auth-", suffix=".json", dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"auths": {login.host: {"auth": token}}}, fh)
    return Path(name)


# -- skopeo -------------------------------------------------------------------------


class NotFound(Exception):
    """The registry has no manifest under that reference."""


def skopeo_executable(env: Mapping[str, str]) -> str | None:
    return shutil.which("skopeo", path=env.get("PATH"))


def _tls_flag(host: str, flag: str) -> list[str]:
    # Plain http only on loopback (the sandbox): everywhere else TLS is verified.
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    return [f"{flag}=false"] if name in _LOOPBACK else []


def _run_skopeo(env: Mapping[str, str], args: list[str], *, timeout: int,
                secrets: Iterable[str] = ()) -> subprocess.CompletedProcess[bytes]:
    exe = skopeo_executable(env)
    if exe is None:
        raise TargetError("`skopeo` is not on PATH",
                          hint="GitHub's Ubuntu runners have it; elsewhere `apt-get install skopeo`")
    for s in secrets:
        gha.add_mask(s)
    try:
        return subprocess.run([exe, *args], env=child_env(env, {}), capture_output=True,
                              timeout=timeout, check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise TargetError(f"skopeo {args[0]} did not finish within {timeout}s",
                          hint="check that the registry is reachable; retrying is safe") from None


def _stderr(proc: subprocess.CompletedProcess[bytes]) -> str:
    text = gha.redact((proc.stderr or b"").decode(errors="replace")).strip()
    return " | ".join(text.splitlines()[-3:])[:800]


def inspect_raw(env: Mapping[str, str], ref: str, *, host: str, auth: Path | None,
                secrets: Iterable[str] = ()) -> bytes:
    """The manifest (or index) bytes under ``ref`` (``name:tag`` or ``name@digest``);
    NotFound when the registry has none."""
    args = ["inspect", "--raw", *_tls_flag(host, "--tls-verify")]
    if auth is not None:
        args += ["--authfile", str(auth)]
    proc = _run_skopeo(env, [*args, f"docker://{ref}"], timeout=INSPECT_TIMEOUT, secrets=secrets)
    if proc.returncode == 0:
        if len(proc.stdout) > MAX_MANIFEST:
            raise TargetError(f"{ref}: the manifest is larger than {MAX_MANIFEST // 1024} KiB")
        return proc.stdout
    err = _stderr(proc)
    low = err.lower()
    if "manifest unknown" in low or "not found" in low and "manifest" in low:
        raise NotFound(ref)
    if "unauthorized" in low or "denied" in low or "authentication required" in low:
        raise TargetError(f"the registry {host} refused to show {ref}: {err}",
                          hint=f"check the {host} login ({env_prefix(host)}_USERNAME / _PASSWORD, "
                               "or the target's username_var / password_var)")
    raise TargetError(f"skopeo inspect {ref} failed: {err}",
                      hint=f"check that {host} is reachable; retrying is safe")


def copy_by_digest(env: Mapping[str, str], source: str, digest: str, dest: str, *,
                   src_host: str, dst_host: str, src_auth: Path | None, dst_auth: Path | None,
                   secrets: Iterable[str] = ()) -> None:
    """Copy the manifest ``source@digest`` (every platform of an index) to ``dest``,
    byte for byte (a conversion would change the digest: skopeo refuses it)."""
    name, _tag = split_ref(source)
    args = ["copy", "--all", "--preserve-digests", "--quiet",
            *_tls_flag(src_host, "--src-tls-verify"), *_tls_flag(dst_host, "--dest-tls-verify")]
    if src_auth is not None:
        args += ["--src-authfile", str(src_auth)]
    if dst_auth is not None:
        args += ["--dest-authfile", str(dst_auth)]
    proc = _run_skopeo(env, [*args, f"docker://{name}@{digest}", f"docker://{dest}"],
                       timeout=COPY_TIMEOUT, secrets=secrets)
    if proc.returncode != 0:
        err = _stderr(proc)
        hint = "retrying is safe: the copy is by digest"
        if "unauthorized" in err.lower() or "denied" in err.lower():
            hint = (f"check the {dst_host} login ({env_prefix(dst_host)}_USERNAME / _PASSWORD or "
                    "DOCKER_USERNAME / DOCKER_PASSWORD): it needs push rights")
        raise TargetError(f"skopeo copy {name}@{digest} -> {dest} failed: {err}", hint=hint)


# -- the request side ---------------------------------------------------------------


def resolve_images(config: Any, version: str, revision: str, env: Mapping[str, str],
                   keys: Iterable[str] | None = None) -> list[dict[str, str]]:
    """For each docker target of the config (only ``keys`` if given): the source
    reference and the digest it points at now -- the request's ``images``."""
    wanted = set(keys) if keys is not None else None
    out: list[dict[str, str]] = []
    for target in config.targets:
        if target.name != NAME or (wanted is not None and target.key not in wanted):
            continue
        spec = spec_of(target.options, target.key)
        source = render_ref(spec, "source", version=version, revision=revision, where=target.key)
        login = credentials(spec.source, env, side="source")
        with tempfile.TemporaryDirectory(prefix="valet-docker-") as tmp:
            auth = write_auth_file(Path(tmp), login) if login else None
            try:
                raw = inspect_raw(env, source, host=spec.source.host, auth=auth,
                                  secrets=[login.password] if login else [])
            except NotFound:
                raise TargetError(f"{target.key}: the source image {source} does not exist",
                                  hint="push the image (tagged as the source format says, by "
                                       "default with the release commit) before requesting the "
                                       "release") from None
        out.append({"id": target.key, "source": source, "digest": manifest_digest(raw)})
    return out


def request_images(request: Any, config: Callable[[], Any], *,
                   env: Mapping[str, str]) -> list[dict[str, str]]:
    """``Request.images`` for a request about to be opened: empty unless it names a
    docker target (then ``config()``, the release's configuration, says which images
    to read; it is only loaded then)."""
    keys = [t.id for t in request.targets if t.id == NAME or t.id.startswith(f"{NAME}[")]
    if not keys:
        return []
    return resolve_images(config(), request.version, request.sha or "", env, keys)


# -- the target -----------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """One docker target of one release: what is copied where, with which logins."""

    spec: Spec
    source: str  # the rendered source reference (name:tag), as approved
    dest: str  # the rendered target reference (name:tag)
    digest: str  # the approved manifest digest
    src_login: Login | None
    dst_login: Login | None

    @property
    def secrets(self) -> list[str]:
        return [x.password for x in (self.src_login, self.dst_login) if x is not None]


def approved_digest(images: list[dict[str, str]], key: str, source: str) -> str:
    """The digest the request approved for this target; the approved source must be the
    one the configuration (from the protected merge target) names now."""
    approved = [i for i in images if i.get("id") == key]
    if len(approved) != 1:
        raise TargetError(
            f"{key}: the request {'approves no' if not approved else 'lists more than one'} "
            "image digest for this target",
            hint="the request side records the source image's digest: request the release "
                 "again (the docker target must be in the configuration when requesting)")
    digest = str(approved[0].get("digest", ""))
    if not _DIGEST_RE.match(digest):
        raise TargetError(f"{key}: the approved digest {digest[:80]!r} is not sha256:<64 hex>")
    if approved[0].get("source") != source:
        raise TargetError(f"{key}: the request approved {approved[0].get('source')!r} but the "
                          f"configuration on the merge target names {source!r}",
                          hint="request the release again: the approved image and the "
                               "configured source must be the same")
    return digest


class DockerTarget:
    name: ClassVar[str] = NAME
    default_include: ClassVar[re.Pattern[str]] = re.compile(r"(?!)")  # takes no files
    credentials: ClassVar[tuple[str, ...]] = ("DOCKER_USERNAME", "DOCKER_PASSWORD")

    def preflight(self, ctx: TargetContext) -> None:
        if skopeo_executable(ctx.env) is None:
            raise TargetError(f"{ctx.key}: `skopeo` is not on PATH",
                              hint="GitHub's Ubuntu runners have it; elsewhere "
                                   "`apt-get install skopeo`")
        plan = self._plan(ctx)
        if needs_login(plan.spec.target) and plan.dst_login is None:
            prefix = env_prefix(plan.spec.target.host)
            raise TargetError(
                f"{ctx.key}: no login for {plan.spec.target.host} (set {prefix}_USERNAME and "
                f"{prefix}_PASSWORD, or DOCKER_USERNAME and DOCKER_PASSWORD)",
                hint=secret_hint(f"{prefix}_PASSWORD", f"a {plan.spec.target.host} token with "
                                 "push rights") + f"\n          {prefix}_USERNAME: <the user>")
        # The approved manifest must still be in the source registry: otherwise nothing
        # may ship, and every target is preflighted before anything is uploaded.
        with self._auth(ctx, plan) as (src_auth, _dst):
            try:
                raw = inspect_raw(ctx.env, f"{split_ref(plan.source)[0]}@{plan.digest}",
                                  host=plan.spec.source.host, auth=src_auth,
                                  secrets=plan.secrets)
            except NotFound:
                raise TargetError(
                    f"{ctx.key}: the approved image {plan.source} ({plan.digest}) is no longer "
                    "in the source registry", hint="nothing was published; request the release "
                    "again so that the current image is approved") from None
            if manifest_digest(raw) != plan.digest:
                raise TargetError(f"{ctx.key}: the source registry served other bytes for "
                                  f"{plan.digest}", hint="the source registry is not trustworthy")
            try:
                now = manifest_digest(inspect_raw(ctx.env, plan.source, host=plan.spec.source.host,
                                                  auth=src_auth, secrets=plan.secrets))
            except NotFound:
                now = None
        if now != plan.digest:
            gha.warning(f"{ctx.key}: {plan.source} points at {now or 'nothing'} now, not at the "
                        f"approved {plan.digest}; the approved image is the one published")

    def status(self, ctx: TargetContext) -> StatusResult:
        plan = self._plan(ctx)
        with self._auth(ctx, plan) as (_src, dst_auth):
            there = self._dest_digest(ctx, plan, dst_auth)
        return self._decide(ctx, plan, there)

    def publish(self, ctx: TargetContext) -> Receipt:
        plan = self._plan(ctx)
        with self._auth(ctx, plan) as (src_auth, dst_auth):
            before = self._decide(ctx, plan, self._dest_digest(ctx, plan, dst_auth))
            if before.state is State.PUBLISHED and before.receipt is not None:
                return before.receipt
            if before.state is State.CONFLICT:
                raise ConflictError(f"{ctx.key}: {before.detail}",
                                    hint="a versioned tag is never moved: release a new version")
            gha.info(f"{ctx.key}: skopeo copy {split_ref(plan.source)[0]}@{plan.digest} -> "
                     f"{plan.dest}")
            copy_by_digest(ctx.env, plan.source, plan.digest, plan.dest,
                           src_host=plan.spec.source.host, dst_host=plan.spec.target.host,
                           src_auth=src_auth, dst_auth=dst_auth, secrets=plan.secrets)
            after = self._dest_digest(ctx, plan, dst_auth)
        if after != plan.digest:
            raise TargetError(f"{ctx.key}: after the copy {plan.dest} points at "
                              f"{after or 'nothing'}, not at {plan.digest}",
                              hint="someone else pushed the same tag meanwhile; check the registry")
        return self._receipt(ctx, plan, "copied")

    def destinations(self, ctx: TargetContext) -> list[Destination]:
        spec = spec_of(ctx.target.options, ctx.key)
        name, _tag = split_ref(render_ref(spec, "target", version=ctx.request.version,
                                          revision=ctx.request.sha or "", where=ctx.key))
        full = full_name(name)
        return [Destination("host", full.split("/", 1)[0]), Destination("package", full)]

    # -- helpers ---------------------------------------------------------------

    def _plan(self, ctx: TargetContext) -> Plan:
        spec = spec_of(ctx.target.options, ctx.key)
        version, revision = ctx.request.version, ctx.request.sha or ""
        source = render_ref(spec, "source", version=version, revision=revision, where=ctx.key)
        dest = render_ref(spec, "target", version=version, revision=revision, where=ctx.key)
        digest = approved_digest(ctx.request.images, ctx.key, source)
        return Plan(spec, source, dest, digest, credentials(spec.source, ctx.env, side="source"),
                    credentials(spec.target, ctx.env, side="target"))

    @contextlib.contextmanager
    def _auth(self, ctx: TargetContext, plan: Plan) -> Iterator[tuple[Path | None, Path | None]]:
        """The auth files of both sides, in the private scratch dir, removed afterwards."""
        src = write_auth_file(ctx.workdir, plan.src_login) if plan.src_login else None
        dst = write_auth_file(ctx.workdir, plan.dst_login) if plan.dst_login else None
        try:
            yield src, dst
        finally:
            for path in (src, dst):
                if path is not None:
                    path.unlink(missing_ok=True)

    def _dest_digest(self, ctx: TargetContext, plan: Plan,
                     dst_auth: Path | None) -> str | None:
        try:
            return manifest_digest(inspect_raw(ctx.env, plan.dest, host=plan.spec.target.host,
                                               auth=dst_auth, secrets=plan.secrets))
        except NotFound:
            return None

    def _decide(self, ctx: TargetContext, plan: Plan,
                there: str | None) -> StatusResult:
        if there is None:
            return StatusResult(State.ABSENT, f"{plan.dest} does not exist yet")
        if there == plan.digest:
            return StatusResult(State.PUBLISHED, f"{plan.dest} is at the approved digest",
                                receipt=self._receipt(ctx, plan, "already there"))
        if moves(plan.spec):
            return StatusResult(State.ABSENT, f"{plan.dest} points at {there[:19]}…; publish "
                                "moves it to the approved image")
        return StatusResult(State.CONFLICT, f"{plan.dest} already exists at {there[:19]}…, not "
                            f"at the approved {plan.digest[:19]}…")

    def _receipt(self, ctx: TargetContext, plan: Plan, what: str) -> Receipt:
        name, tag = split_ref(plan.dest)
        url = (f"https://hub.docker.com/r/{name}/tags" if registry_host(name) == DOCKER_HUB
               and name.count("/") == 1 else None)
        return Receipt(target=ctx.key, url=url, detail=f"{what}: {plan.dest} @ {plan.digest}",
                       extra={"image": plan.dest, "digest": plan.digest, "source": plan.source})
